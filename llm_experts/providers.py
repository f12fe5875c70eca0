"""Provider profiles: what each kind of OpenAI-compatible endpoint supports, from its own docs.

The client plans every request within its endpoint's profile (how many top log-probabilities
it may ask for, which prompt style can be scored, how answers can be constrained, whether a
list of prompts fits in one request). The limits below are the documented ones; where a
deployment is configured differently (vLLM ``--max-logprobs``, an older Ollama), the HTTP 400
that names the limit makes the client degrade once and record it in its usage
(:attr:`llm_experts.usage.Usage.degradations`).

Sources (checked for this module):

* OpenAI: chat ``top_logprobs`` is an integer from 0 to 20 and needs ``logprobs: true``; the
  legacy completions endpoint allows ``logprobs`` up to 5 and current chat models have no
  completions endpoint (HTTP 404 "This is a chat model and not supported in the
  v1/completions endpoint"); structured outputs by ``response_format`` JSON schema.
* vLLM: at most ``--max-logprobs`` alternatives (default 20; HTTP 400 "Requested sample
  logprobs of N, which is greater than max allowed: 20"); completions and chat;
  ``guided_choice`` and JSON schema; ``n``; ``seed``; a list of prompts per completions
  request.
* Ollama (OpenAI-compatible ``/v1``): completions and chat, ``logprobs`` with
  ``top_logprobs`` from 0 to 20 ("top_logprobs must be between 0 and 20"); ``seed``;
  ``response_format``; the completions ``prompt`` only accepts a string.
* llama.cpp server: completions and chat, ``n_probs`` alternatives (no documented cap),
  GBNF ``grammar`` and ``json_schema``, ``n`` up to its slots, ``seed``, a list of prompts per
  completions request, continuation of a final assistant message (prefill), and
  ``cache_prompt``.

Example:
    >>> get_profile("vllm").max_logprobs
    20
    >>> get_profile("openai").completions_logprobs
    5
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from llm_experts.errors import ConfigurationError, EndpointLimitError

__all__ = [
    "PROFILES",
    "PROVIDERS",
    "Limits",
    "ProviderProfile",
    "detect_provider",
    "get_profile",
    "resolve_provider",
]


@dataclass(frozen=True)
class ProviderProfile:
    """What one kind of endpoint supports.

    Attributes:
        name: One of :data:`PROVIDERS`.
        completions: Serves ``/v1/completions`` (base-model prompts can be scored).
        chat: Serves ``/v1/chat/completions``.
        completions_logprobs: Most top log-probabilities per token on completions (None:
            no documented cap; the client then asks for its own ``top_logprobs``).
        chat_logprobs: Most ``top_logprobs`` on chat (None: no documented cap).
        guided_choice: Accepts vLLM's ``guided_choice`` (answers restricted to the labels).
        json_schema: Honours ``response_format`` with a JSON schema.
        grammar: Accepts a llama.cpp GBNF ``grammar``.
        max_n: Most answers per request (``n``); 1 when ``n`` is not supported.
        seed: Honours ``seed``.
        prompt_lists: Accepts a list of prompts in one completions request.
        prefill: Continues a final assistant message in chat (multi-token label scoring).
        default_style: Prompt style used when the expert names none.
        notes: One line for reports and ``--help``.
    """

    name: str
    completions: bool
    chat: bool
    completions_logprobs: int | None
    chat_logprobs: int | None
    guided_choice: bool
    json_schema: bool
    grammar: bool
    max_n: int
    seed: bool
    prompt_lists: bool
    prefill: bool
    default_style: str
    notes: str

    @property
    def max_logprobs(self) -> int | None:
        """The tighter of the two log-probability caps (None: neither is capped)."""
        caps = [c for c in (self.completions_logprobs, self.chat_logprobs) if c is not None]
        return min(caps) if caps else None

    def logprobs_cap(self, kind: str) -> int | None:
        """Cap for a request ``kind`` (``"completion"`` or ``"chat"``)."""
        return self.chat_logprobs if kind == "chat" else self.completions_logprobs


PROFILES: dict[str, ProviderProfile] = {
    "openai": ProviderProfile(
        "openai", completions=True, chat=True, completions_logprobs=5, chat_logprobs=20,
        guided_choice=False, json_schema=True, grammar=False, max_n=16, seed=True,
        prompt_lists=False, prefill=False, default_style="choice",
        notes="chat models only (legacy completions: logprobs <= 5); top_logprobs <= 20",
    ),
    "vllm": ProviderProfile(
        "vllm", completions=True, chat=True, completions_logprobs=20, chat_logprobs=20,
        guided_choice=True, json_schema=True, grammar=False, max_n=16, seed=True,
        prompt_lists=True, prefill=False, default_style="completion",
        notes="--max-logprobs 20 by default; guided_choice; lists of prompts",
    ),
    "ollama": ProviderProfile(
        "ollama", completions=True, chat=True, completions_logprobs=20, chat_logprobs=20,
        guided_choice=False, json_schema=True, grammar=False, max_n=16, seed=True,
        prompt_lists=False, prefill=False, default_style="completion",
        notes="top_logprobs <= 20 (Ollama >= 0.12.11); one prompt per request",
    ),
    "llamacpp": ProviderProfile(
        "llamacpp", completions=True, chat=True, completions_logprobs=None,
        chat_logprobs=None, guided_choice=False, json_schema=True, grammar=True, max_n=4,
        seed=True, prompt_lists=True, prefill=True, default_style="completion",
        notes="n_probs uncapped; GBNF grammars; lists of prompts; assistant prefill",
    ),
    "generic": ProviderProfile(
        "generic", completions=True, chat=True, completions_logprobs=20, chat_logprobs=20,
        guided_choice=False, json_schema=False, grammar=False, max_n=16, seed=True,
        prompt_lists=False, prefill=False, default_style="completion",
        notes="unknown server: OpenAI's documented limits (20 alternatives), no extensions",
    ),
}

PROVIDERS = tuple(PROFILES)
"""Valid provider names."""


def get_profile(name: str) -> ProviderProfile:
    """The profile called ``name``.

    Raises:
        ConfigurationError: ``name`` is not a provider.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown provider {name!r}; expected one of {list(PROVIDERS)} "
            "(provider=, $SUBRATIONAL_LLM_PROVIDER or --provider)"
        ) from None


def detect_provider(base_url: str, owned_by: str | None = None) -> str:
    """Guess the provider where it is safe: the host is OpenAI's, or the server says so.

    Args:
        base_url: The endpoint.
        owned_by: ``owned_by`` of the first model in ``GET /v1/models`` (vLLM answers
            ``"vllm"``, llama.cpp ``"llamacpp"``), if known.

    Returns:
        A provider name; ``"generic"`` when nothing identifies the server.

    Example:
        >>> detect_provider("https://api.openai.com/v1")
        'openai'
        >>> detect_provider("http://gpu:8000/v1", owned_by="vllm")
        'vllm'
        >>> detect_provider("http://127.0.0.1:9/v1")
        'generic'
    """
    host = (urlparse(base_url).hostname or "").lower()
    if host == "api.openai.com":
        return "openai"
    owner = (owned_by or "").lower()
    if owner in ("vllm", "llamacpp"):
        return owner
    return "generic"


def resolve_provider(provider: str | None, *, embedded: bool) -> str | None:
    """The provider named by the argument, else ``$SUBRATIONAL_LLM_PROVIDER``.

    Returns ``"llamacpp"`` for the embedded server, None when the endpoint must be detected.

    Raises:
        ConfigurationError: The name is not a provider, or contradicts the embedded server.
    """
    name = provider or os.environ.get("SUBRATIONAL_LLM_PROVIDER") or None
    if name is not None:
        get_profile(name)
    if embedded:
        if name not in (None, "llamacpp"):
            raise ConfigurationError(
                f"provider {name!r} does not fit the embedded llama.cpp server; leave it "
                "unset (or 'llamacpp'), or set OPENAI_BASE_URL to the endpoint it describes"
            )
        return "llamacpp"
    return name


logger = logging.getLogger("llm_experts")


class Limits:
    """What requests to one endpoint may use now: its profile's limits, lowered on refusals.

    A 4xx naming a limit (too many alternatives, one prompt per request, fewer answers per
    request, a refused constraint field) lowers the matching setting once
    (:meth:`degrade`); the scorer and the sampler of one client share these, thread-safely.

    Args:
        profile: The endpoint's provider profile.
        top_logprobs: Alternatives wanted per token; capped by the profile.
        structured: Constrain sampled answers to the labels (None: where the profile can).
        max_n_per_request: Most answers per request (None: the profile's).
        on_degrade: Called with a note for each degradation (accounting and logging).
    """

    def __init__(self, profile: ProviderProfile, *, top_logprobs: int,
                 structured: bool | None, max_n_per_request: int | None,
                 on_degrade: Callable[[str], None]) -> None:
        self.profile = profile
        self._lock = threading.Lock()
        self._caps = {kind: top_logprobs if cap is None else min(top_logprobs, cap)
                      for kind, cap in (("completion", profile.completions_logprobs),
                                        ("chat", profile.chat_logprobs))}
        #: A list of prompts may go in one completions request.
        self.prompt_lists = profile.prompt_lists
        can_constrain = profile.grammar or profile.guided_choice or profile.json_schema
        #: Sampled answers are constrained to the labels by default.
        self.structured = can_constrain if structured is None else bool(structured)
        #: Most answers asked for in one request.
        self.max_n_per_request = max_n_per_request or profile.max_n
        self._degraded: set[str] = set()
        self._on_degrade = on_degrade

    def logprobs_cap(self, kind: str) -> int:
        """Top log-probabilities asked per token on ``kind`` requests now."""
        with self._lock:
            return self._caps[kind]

    def lower_logprobs(self, kind: str, value: int) -> None:
        """Ask for at most ``value`` alternatives on ``kind`` requests from now on."""
        with self._lock:
            self._caps[kind] = min(self._caps[kind], value)

    def degrade(self, key: str, what: str, error: EndpointLimitError) -> bool:
        """Record degradation ``key`` once (usage and log).

        Returns:
            False if it already happened: the caller must not degrade again (no loops).
        """
        with self._lock:
            if key in self._degraded:
                return False
            self._degraded.add(key)
        self._on_degrade(f"{what} ({error.detail[:200]})")
        return True
