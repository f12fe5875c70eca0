"""LLMClient: one OpenAI-compatible endpoint, cached, retried, planned within its limits.

The client is a thin facade over one module per concern:

* :mod:`llm_experts.endpoint`: which server answers (:class:`EndpointConfig`, the
  environment, the embedded server) and the pre-flight check of a remote one.
* :mod:`llm_experts.transport`: cache, retries, the call budget and 4xx classification.
* :mod:`llm_experts.providers`: what the endpoint supports; its :class:`Limits` now.
* :mod:`llm_experts.scorer`: label probabilities from log-probabilities (:meth:`score`).
* :mod:`llm_experts.sampler`: sampled answers mapped to labels, re-asks
  (:meth:`sample_labels`).
* :mod:`llm_experts.usage`: accounting.

A 4xx that names a limit of the endpoint (too many log-probabilities, one prompt per request,
an unsupported constraint field) makes the client degrade once: fewer alternatives, single
prompts, or unconstrained sampling. The change is recorded in :attr:`Usage.degradations` and
logged; the same refusal after degrading raises :class:`~llm_experts.errors.EndpointLimitError`.

Example:
    >>> from llm_experts.testing import FakeLLMServer
    >>> with FakeLLMServer(token_probs={"accept": 0.6, "reject": 0.3}) as server:
    ...     client = LLMClient(EndpointConfig(base_url=server.base_url, model="fake"))
    ...     [round(p, 2) for p in client.score('He decides to "', ["reject", "accept"]).probs]
    [0.33, 0.67]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llm_experts.cache import AnswerCache, ProvenanceLog
from llm_experts.endpoint import Endpoint, EndpointConfig, resolve_endpoint
from llm_experts.errors import EndpointLimitError
from llm_experts.parsing import ParsedAnswer, parse_answer
from llm_experts.providers import Limits, ProviderProfile
from llm_experts.sampler import Sampler, SampleRequest, SampleResult
from llm_experts.scorer import Scorer, ScoreRequest, ScoreSettings
from llm_experts.scoring import ScoreResult
from llm_experts.transport import RetryPolicy, Transport
from llm_experts.usage import Usage

__all__ = [
    "PARSER_VERSION",
    "EndpointConfig",
    "LLMClient",
    "ParsedAnswer",
    "RetryPolicy",
    "SampleResult",
    "SampleSettings",
    "ScoreResult",
    "ScoreSettings",
    "Usage",
    "parse_answer",
]

PARSER_VERSION = "1"
"""Version of :func:`parse_answer` and of the label folding; part of every cache key."""

logger = logging.getLogger("llm_experts")

Messages = Sequence[Mapping[str, str]]
PromptLike = str | Messages


@dataclass(frozen=True)
class SampleSettings:
    """How answers are sampled.

    Attributes:
        structured: Constrain sampled answers to the labels (llama.cpp grammar, vLLM
            ``guided_choice``, or a JSON schema); default: where the provider supports one.
        max_n_per_request: Most answers asked for in one request; default the provider's
            (the embedded server's slot count).
    """

    structured: bool | None = None
    max_n_per_request: int | None = None


class LLMClient:
    """An OpenAI-compatible endpoint, cached, retried, planned within its limits, accounted.

    Args:
        endpoint: Where the model is served (default: the environment, else the embedded
            server), or an already resolved :class:`~llm_experts.endpoint.Endpoint`.
        scoring: How labels are scored (alternatives per token, coverage, ...).
        sampling: How answers are sampled (constraints, answers per request).
        cache: Durable answer cache; None disables caching.
        provenance: JSONL log of every fresh answer; None disables it.
        max_calls: Most model calls this client makes (None: no limit); the next raises
            :class:`~llm_experts.errors.CallBudgetError`, with every answer so far cached.

    Raises:
        ConfigurationError: No model name for a remote endpoint, an unknown provider, or bad
            settings.
        EndpointUnreachableError: A remote endpoint failed its pre-flight check (one line:
            the URL, what failed, what to do).
    """

    def __init__(
        self,
        endpoint: EndpointConfig | Endpoint | None = None,
        *,
        scoring: ScoreSettings | None = None,
        sampling: SampleSettings | None = None,
        cache: AnswerCache | None = None,
        provenance: ProvenanceLog | None = None,
        max_calls: int | None = None,
    ) -> None:
        if not isinstance(endpoint, Endpoint):
            endpoint = resolve_endpoint(endpoint)
        self.endpoint = endpoint
        sampling = sampling or SampleSettings()
        self.transport = Transport(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            model=endpoint.model,
            endpoint_id=endpoint.endpoint_id,
            timeout=endpoint.timeout,
            retry=endpoint.retry,
            cache=cache,
            max_calls=max_calls,
            key_material={"parser_version": PARSER_VERSION},
        )
        # llama.cpp refuses n above its slot count.
        self.limits = Limits(
            endpoint.profile,
            top_logprobs=(scoring or ScoreSettings()).top_logprobs,
            structured=sampling.structured,
            max_n_per_request=sampling.max_n_per_request or endpoint.slots,
            on_degrade=self._degraded,
        )
        self.scorer = Scorer(self.transport, self.limits, scoring or ScoreSettings(), provenance)
        self.sampler = Sampler(self.transport, self.limits, provenance)

    def __repr__(self) -> str:
        return (f"LLMClient(model={self.model!r}, endpoint={self.endpoint_id!r}, "
                f"provider={self.profile.name!r})")

    # -- the endpoint --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The URL requests go to."""
        return self.endpoint.base_url

    @property
    def model(self) -> str:
        """Model name sent with every request."""
        return self.endpoint.model

    @property
    def endpoint_id(self) -> str:
        """Stable identity of the endpoint in cache keys."""
        return self.endpoint.endpoint_id

    @property
    def embedded(self) -> bool:
        """Whether the embedded llama.cpp server answers."""
        return self.endpoint.embedded

    @property
    def slots(self) -> int | None:
        """Requests the embedded server answers at once (None: a remote endpoint)."""
        return self.endpoint.slots

    @property
    def profile(self) -> ProviderProfile:
        """What the endpoint supports."""
        return self.endpoint.profile

    @property
    def provider_detected(self) -> bool:
        """Whether the provider was detected rather than named."""
        return self.endpoint.provider_detected

    # -- accounting ----------------------------------------------------------------------

    @property
    def usage(self) -> Usage:
        """Snapshot of the usage so far."""
        return self.transport.usage

    @property
    def cache(self) -> AnswerCache | None:
        """The answer cache (None: none)."""
        return self.transport.cache

    @property
    def max_calls(self) -> int | None:
        """Most model calls allowed (None: no limit); settable."""
        return self.transport.max_calls

    @max_calls.setter
    def max_calls(self, value: int | None) -> None:
        self.transport.max_calls = value

    def redact(self, text: str) -> str:
        """Return ``text`` with the API key replaced by ``***``."""
        return self.transport.redact(text)

    def logprobs_cap(self, kind: str) -> int:
        """Top log-probabilities asked per token on ``kind`` requests now."""
        return self.limits.logprobs_cap(kind)

    def degrade(self, key: str, what: str, error: EndpointLimitError) -> bool:
        """Record degradation ``key`` once, in the usage and the log (see :class:`Limits`)."""
        return self.limits.degrade(key, what, error)

    def _degraded(self, note: str) -> None:
        self.transport.count(degradations=(note,))
        logger.warning(self.redact(f"{self.base_url}: {note}"))

    # -- requests ------------------------------------------------------------------------

    def score(self, prompt: PromptLike, labels: Sequence[str], *, persona: str | None = None,
              prompt_version: str | None = None,
              min_coverage: float | None = None) -> ScoreResult:
        """Probability of each label as the continuation of ``prompt``.

        Args:
            prompt: Completion-style prompt ending where the label should come (or chat
                messages; the label is then the start of the assistant's reply).
            labels: Action labels (or answer options) in action order.
            persona: Recorded in the provenance log.
            prompt_version: Part of the cache key and the provenance.
            min_coverage: Override of the scoring settings' ``min_coverage``.

        Returns:
            A :class:`ScoreResult`; ``valid`` is False when a label got no probability or
            the labels' coverage is below ``min_coverage``.

        Raises:
            ModelCallError: A request failed after the last retry.
            EndpointLimitError: The endpoint refused even after degrading once, or cannot
                score this prompt style at all.
        """
        return self.score_orders([prompt], labels, persona=persona,
                                 prompt_version=prompt_version, min_coverage=min_coverage)[0]

    def score_orders(self, prompts: Sequence[PromptLike], labels: Sequence[str], *,
                     persona: str | None = None, prompt_version: str | None = None,
                     min_coverage: float | None = None) -> list[ScoreResult]:
        """Score several prompts of one state (its label orders) together; see :meth:`score`.

        Returns:
            One :class:`ScoreResult` per prompt, in order.
        """
        return self.scorer.score(ScoreRequest(tuple(prompts), tuple(labels), persona,
                                              prompt_version, min_coverage))

    def sample(self, prompt: PromptLike, *, n: int = 1, temperature: float = 1.0,
               seed: int = 0, max_tokens: int = 16, labels: Sequence[str] | None = None,
               constrain: bool | None = None,
               prompt_version: str | None = None) -> list[str]:
        """Sample ``n`` raw answers (requests of at most ``max_n_per_request``, cached).

        The arguments are the fields of :class:`~llm_experts.sampler.SampleRequest`.

        Raises:
            ModelCallError: The request failed after the last retry.
        """
        return self.sampler.sample(SampleRequest(
            prompt, tuple(labels) if labels is not None else None, n=n, temperature=temperature,
            seed=seed, max_tokens=max_tokens, constrain=constrain,
            prompt_version=prompt_version))

    def sample_labels(self, prompt: PromptLike, labels: Sequence[str], *, n: int = 10,
                      temperature: float = 1.0, seed: int = 0, max_tokens: int = 16,
                      max_reasks: int = 2, constrain: bool | None = None,
                      persona: str | None = None,
                      prompt_version: str | None = None) -> SampleResult:
        """Sample ``n`` answers and count the label each names.

        An invalid answer (refusal, no label, several labels) is re-asked up to
        ``max_reasks`` times with the error appended; then it counts as invalid and never as
        an action. The arguments are the fields of
        :class:`~llm_experts.sampler.SampleRequest`.

        Raises:
            ModelCallError: A request failed after the last retry.
        """
        return self.sampler.sample_labels(SampleRequest(
            prompt, tuple(labels), n=n, temperature=temperature, seed=seed,
            max_tokens=max_tokens, max_reasks=max_reasks, constrain=constrain,
            persona=persona, prompt_version=prompt_version))
