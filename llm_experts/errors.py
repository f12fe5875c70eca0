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
    "EndpointLimitError",
    "EndpointUnreachableError",
    "CallBudgetError",
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


class EndpointLimitError(ModelCallError):
    """An HTTP 4xx that names a limit of the endpoint; the client may degrade once.

    Attributes:
        status: HTTP status.
        reason: ``"logprobs"`` (too many alternatives), ``"no-completions"`` (no completions
            endpoint for this model), ``"no-chat"``, ``"no-logprobs"``, ``"prompt-list"``
            (one prompt per request), ``"n"`` (fewer answers per request) or
            ``"unsupported-field"``.
        limit: The number the endpoint named (e.g. 20 alternatives), if any.
        detail: The endpoint's message (API key redacted).
    """

    def __init__(self, message: str, *, status: int, reason: str, limit: int | None,
                 detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.limit = limit
        self.detail = detail


class EndpointUnreachableError(ModelCallError):
    """The endpoint cannot be used at all, and no retry would change that.

    Nothing listens, no such host, no answer in time, an HTTP status that no retry fixes (key
    refused, wrong path), or the model is not served. Raised before any work (the pre-flight
    check of :mod:`llm_experts.endpoint`) and, without retries, when a connection is refused
    mid-run. The message is one line: the URL, what failed and what to do.

    Attributes:
        url: The URL asked.
        what: What failed (``"connection refused"``, ``"host not found (DNS)"``, ...).
        advice: The fix.
    """

    def __init__(self, message: str, *, url: str, what: str, advice: str) -> None:
        super().__init__(message)
        self.url = url
        self.what = what
        self.advice = advice


class CallBudgetError(LLMExpertError, RuntimeError):
    """The run reached its ``max_calls``; every answer received so far is cached."""
