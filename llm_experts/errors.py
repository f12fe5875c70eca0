"""Exception hierarchy of :mod:`llm_experts`.

Every error names the bad value, what was expected and how to fix it. Messages never contain
an API key: the client redacts it before raising.
"""

from __future__ import annotations

__all__ = [
    "LLMExpertError",
    "ConfigurationError",
    "ServerStartError",
    "ModelCallError",
    "CacheCorruptError",
    "InvalidAnswerError",
    "InvalidStateError",
    "DemonstrationFileError",
]


class LLMExpertError(Exception):
    """Base class of every error raised by :mod:`llm_experts`."""


class ConfigurationError(LLMExpertError, ValueError):
    """A setting (model name, persona, endpoint, argument) is not valid."""


class ServerStartError(LLMExpertError, RuntimeError):
    """The embedded llama.cpp server did not start or did not become healthy."""


class ModelCallError(LLMExpertError, RuntimeError):
    """A model request still failed after the last retry."""


class CacheCorruptError(LLMExpertError, RuntimeError):
    """The answer cache file exists but is not a readable SQLite answer cache."""


class InvalidAnswerError(LLMExpertError, ValueError):
    """A model answer could not be mapped to exactly one action label."""


class InvalidStateError(LLMExpertError, RuntimeError):
    """A rollout reached a state for which the model gave no valid answer."""


class DemonstrationFileError(LLMExpertError, ValueError):
    """A demonstrations file is missing or malformed."""
