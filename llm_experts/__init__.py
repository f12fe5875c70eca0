"""LLM persona experts for subrational-gym.

A language model (the embedded llama.cpp Gemma 270M, or any OpenAI-compatible endpoint) plays
a persona in a Subrational game; its answers become an action distribution per state, usable
as an imitation / stable-baselines3 policy. Importing this package does not start a server;
the embedded one starts on first use.
"""

from __future__ import annotations

from llm_experts.cache import AnswerCache, ProvenanceLog, ProvenanceRecord
from llm_experts.client import LLMClient, SampleResult, SampleSettings
from llm_experts.cost import CallPlan
from llm_experts.demonstrations import load_demonstrations, save_demonstrations
from llm_experts.endpoint import EndpointConfig
from llm_experts.errors import (
    CacheCorruptError,
    CallBudgetError,
    ConfigurationError,
    DemonstrationFileError,
    EndpointLimitError,
    EndpointUnreachableError,
    InvalidAnswerError,
    InvalidStateError,
    LLMExpertError,
    ModelCallError,
    ServerStartError,
)
from llm_experts.parsing import ParsedAnswer, parse_answer
from llm_experts.personas import PRESETS, Persona, custom_persona, get_persona
from llm_experts.prompts import PROMPT_VERSIONS, Prompt, build_prompt
from llm_experts.providers import PROFILES, PROVIDERS, ProviderProfile, get_profile
from llm_experts.scorer import ScoreSettings
from llm_experts.scoring import ScoreResult
from llm_experts.server import EmbeddedServer, default_server
from llm_experts.transport import RetryPolicy
from llm_experts.usage import Usage

__all__ = [
    "PRESETS",
    "PROFILES",
    "PROMPT_VERSIONS",
    "PROVIDERS",
    "AnswerCache",
    "CacheCorruptError",
    "CallBudgetError",
    "CallPlan",
    "ConfigurationError",
    "DemonstrationFileError",
    "EmbeddedServer",
    "EndpointConfig",
    "EndpointLimitError",
    "EndpointUnreachableError",
    "ExpertConfig",
    "InvalidAnswerError",
    "InvalidStateError",
    "LLMClient",
    "LLMExpert",
    "LLMExpertError",
    "ModelCallError",
    "ParsedAnswer",
    "Persona",
    "Prompt",
    "ProviderProfile",
    "ProvenanceLog",
    "ProvenanceRecord",
    "RetryPolicy",
    "SampleResult",
    "SampleSettings",
    "ScoreResult",
    "ScoreSettings",
    "ServerStartError",
    "Usage",
    "build_prompt",
    "custom_persona",
    "default_server",
    "get_persona",
    "get_profile",
    "load_demonstrations",
    "parse_answer",
    "save_demonstrations",
]


def __getattr__(name: str) -> object:
    # LLMExpert needs subrational_gym; import it lazily so the client layer works without it.
    if name in ("LLMExpert", "ExpertConfig"):
        from llm_experts import expert

        return getattr(expert, name)
    raise AttributeError(f"module 'llm_experts' has no attribute {name!r}")
