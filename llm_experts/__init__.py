"""LLM persona experts for subrational-gym.

A language model (the embedded llama.cpp Gemma 270M, or any OpenAI-compatible endpoint) plays
a persona in a Subrational game; its answers become an action distribution per state, usable
as an imitation / stable-baselines3 policy. Importing this package does not start a server;
the embedded one starts on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from subrational_gym._lazy import lazy_names

#: Where each public name lives: the package imports a module when one of its names is
#: first used, so ``import llm_experts`` (and a command's ``--help``) does not load the
#: openai client, scipy or the games until they are needed.
_WHERE = {
    "AnswerCache": "llm_experts.cache",
    "ProvenanceLog": "llm_experts.cache",
    "ProvenanceRecord": "llm_experts.cache",
    "LLMClient": "llm_experts.client",
    "SampleResult": "llm_experts.client",
    "SampleSettings": "llm_experts.client",
    "CallPlan": "llm_experts.cost",
    "load_demonstrations": "llm_experts.demonstrations",
    "save_demonstrations": "llm_experts.demonstrations",
    "EndpointConfig": "llm_experts.endpoint",
    "CacheCorruptError": "llm_experts.errors",
    "CallBudgetError": "llm_experts.errors",
    "ConfigurationError": "llm_experts.errors",
    "DemonstrationFileError": "llm_experts.errors",
    "EndpointLimitError": "llm_experts.errors",
    "EndpointUnreachableError": "llm_experts.errors",
    "InvalidAnswerError": "llm_experts.errors",
    "InvalidStateError": "llm_experts.errors",
    "LLMExpertError": "llm_experts.errors",
    "ModelCallError": "llm_experts.errors",
    "ServerStartError": "llm_experts.errors",
    "ExpertConfig": "llm_experts.expert",
    "LLMExpert": "llm_experts.expert",
    "ParsedAnswer": "llm_experts.parsing",
    "parse_answer": "llm_experts.parsing",
    "PRESETS": "llm_experts.personas",
    "Persona": "llm_experts.personas",
    "custom_persona": "llm_experts.personas",
    "get_persona": "llm_experts.personas",
    "PROMPT_VERSIONS": "llm_experts.prompts",
    "Prompt": "llm_experts.prompts",
    "build_prompt": "llm_experts.prompts",
    "PROFILES": "llm_experts.providers",
    "PROVIDERS": "llm_experts.providers",
    "ProviderProfile": "llm_experts.providers",
    "get_profile": "llm_experts.providers",
    "ScoreSettings": "llm_experts.scorer",
    "ScoreResult": "llm_experts.scoring",
    "EmbeddedServer": "llm_experts.server",
    "default_server": "llm_experts.server",
    "RetryPolicy": "llm_experts.transport",
    "Usage": "llm_experts.usage",
}

if TYPE_CHECKING:  # the names as static tools see them
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
    from llm_experts.expert import ExpertConfig, LLMExpert
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


__getattr__, __dir__ = lazy_names(__name__, _WHERE, __all__)
