"""Scoring: the probability of each answer option, read from the endpoint's log-probabilities.

:class:`Scorer` sends the requests of one :class:`ScoreRequest` (the prompts of one state, its
label orders) through the transport, within the endpoint's current :class:`Limits`, and folds
the answers into one :class:`~llm_experts.scoring.ScoreResult` per prompt with
:func:`~llm_experts.scoring.score_labels` (the pure folding maths). A 4xx that names a limit
(too many alternatives, one prompt per request) lowers the plan once and the request is sent
again; the same refusal after that is raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_experts.cache import ProvenanceLog, ProvenanceRecord
from llm_experts.errors import ConfigurationError, EndpointLimitError
from llm_experts.parsing import check_labels
from llm_experts.providers import Limits
from llm_experts.scoring import (
    DEFAULT_MIN_COVERAGE,
    Asked,
    ScoreResult,
    read_top_logprobs,
    score_labels,
)
from llm_experts.transport import Transport

__all__ = ["ScoreRequest", "ScoreSettings", "Scorer", "score_payload"]

Messages = Sequence[Mapping[str, str]]
PromptLike = str | Messages


@dataclass(frozen=True)
class ScoreSettings:
    """How labels are scored.

    Attributes:
        top_logprobs: Alternatives wanted per token (50 to 100 for small models); capped by
            the provider's documented limit.
        min_extend_prob: A label prefix is followed up only if its path probability is at
            least this (a label with no mass at all always gets its best prefixes followed).
            Each followed prefix costs a request; a prefix below 0.01 can move a label's
            probability by less than 0.01. Measured on Gemma 3 270M (the four games' default
            personas): 0.01 instead of 0.001 changed no probability by more than 0.0006 and
            cut the calls per state from 2.0 to 1.0 and 1.1 in the two games measured
            (which is which: ``docs/llm-experts.md``).
        max_label_tokens: Longest label spelling followed, in tokens.
        min_coverage: Least share of the probability mass the labels must get for a valid
            score.
    """

    top_logprobs: int = 100
    min_extend_prob: float = 1e-2
    max_label_tokens: int = 4
    min_coverage: float = DEFAULT_MIN_COVERAGE

    def __post_init__(self) -> None:
        if not 1 <= self.top_logprobs <= 1000:
            raise ConfigurationError(
                f"top_logprobs must be in [1, 1000], got {self.top_logprobs}")
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ConfigurationError(
                f"min_coverage must be in [0, 1], got {self.min_coverage}; 0.5 is the default")
        if self.max_label_tokens < 1:
            raise ConfigurationError(
                f"max_label_tokens must be >= 1, got {self.max_label_tokens}")


@dataclass(frozen=True)
class ScoreRequest:
    """The prompts of one state (its label orders), scored together on the same labels.

    Attributes:
        prompts: Completion prompts ending where the label comes, or chat messages (the label
            then starts the assistant's reply); all of one kind.
        labels: Action labels (or answer options) in action order.
        persona: Recorded in the provenance log.
        prompt_version: Part of the cache key and the provenance.
        min_coverage: Override of the settings' ``min_coverage``.
    """

    prompts: tuple[PromptLike, ...]
    labels: tuple[str, ...]
    persona: str | None = None
    prompt_version: str | None = None
    min_coverage: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompts", tuple(self.prompts))
        object.__setattr__(self, "labels", check_labels(self.labels))
        if not self.prompts:
            raise ConfigurationError("prompts must not be empty; pass at least one prompt")
        chat = not isinstance(self.prompts[0], str)
        if any(isinstance(p, str) == chat for p in self.prompts):
            raise ConfigurationError("prompts must be all completion text or all chat messages")

    @property
    def kind(self) -> str:
        """``"completion"`` or ``"chat"``."""
        return "completion" if isinstance(self.prompts[0], str) else "chat"


def score_payload(kind: str, prompts: Sequence[Any], k: int) -> dict[str, Any]:
    """The request body that asks for the top ``k`` alternatives of the next token.

    Example:
        >>> score_payload("completion", ["a", "b"], 20)["prompt"]
        ['a', 'b']
    """
    if kind == "completion":
        return {"prompt": prompts[0] if len(prompts) == 1 else list(prompts), "max_tokens": 1,
                "temperature": 0.0, "logprobs": k}
    return {"messages": prompts[0], "max_tokens": 1, "temperature": 0.0,
            "logprobs": True, "top_logprobs": k}


class Scorer:
    """Scores labels at one endpoint.

    Args:
        transport: Sends requests (cache, retries, budget).
        limits: The endpoint's current limits (shared with the sampler).
        settings: How labels are scored.
        provenance: JSONL log of every fresh answer (None: none).
    """

    def __init__(self, transport: Transport, limits: Limits, settings: ScoreSettings,
                 provenance: ProvenanceLog | None = None) -> None:
        self.transport = transport
        self.limits = limits
        self.settings = settings
        self.provenance = provenance

    def score(self, request: ScoreRequest) -> list[ScoreResult]:
        """Score every prompt of ``request``; one :class:`ScoreResult` per prompt, in order.

        Where the endpoint takes a list of prompts per request (llama.cpp, vLLM), each depth
        of the label search is one request for all prompts: one call per state when every
        label is a single token.

        Raises:
            ModelCallError: A request failed after the last retry.
            EndpointLimitError: The endpoint refused even after degrading once, or cannot
                score this prompt style at all (reason ``no-completions`` / ``no-chat`` /
                ``no-logprobs``).
        """
        kind, settings = request.kind, self.settings
        depth = settings.max_label_tokens if (
            kind == "completion" or self.limits.profile.prefill) else 1
        min_coverage = (settings.min_coverage if request.min_coverage is None
                        else float(request.min_coverage))
        raw: list[list[dict[str, Any]]] = []
        results, fresh = score_labels(
            lambda asked: self._ask_top(request, asked),
            request.labels,
            top_k=self.limits.logprobs_cap(kind),
            n_prompts=len(request.prompts),
            min_extend_prob=settings.min_extend_prob,
            max_label_tokens=depth,
            min_coverage=min_coverage,
            endpoint=self.transport.base_url,
            raw=raw,
        )
        invalid = sum(not r.valid for r in results)
        if invalid:
            self.transport.count(invalid_answers=invalid)
        if fresh and self.provenance is not None:
            for result, tops in zip(results, raw, strict=True):
                self.provenance.append(ProvenanceRecord(
                    model=self.transport.model,
                    endpoint=self.transport.endpoint_id,
                    operation="score",
                    key=tops[0]["key"] if tops else "",
                    raw=tops,
                    parsed=(dict(zip(request.labels, result.probs, strict=True))
                            if result.probs else None),
                    valid=result.valid,
                    error=result.error,
                    persona=request.persona,
                    prompt_version=request.prompt_version,
                ))
        return results

    def _ask_top(self, request: ScoreRequest, asked: Sequence[tuple[int, str]]) -> list[Asked]:
        """Top tokens after each (prompt index, prefix): batched where the endpoint allows."""
        kind, version = request.kind, request.prompt_version
        texts: list[Any] = []
        for j, prefix in asked:
            prompt = request.prompts[j]
            if isinstance(prompt, str):
                texts.append(prompt + prefix)
            else:
                messages = [dict(m) for m in prompt]
                if prefix:  # llama.cpp continues a final assistant message (prefill)
                    messages.append({"role": "assistant", "content": prefix})
                texts.append(messages)
        while True:
            k = self.limits.logprobs_cap(kind)
            batched = kind == "completion" and self.limits.prompt_lists and len(texts) > 1
            try:
                if batched:
                    response, key, fresh = self.transport.request(
                        kind, score_payload(kind, texts, k), version)
                    return [(read_top_logprobs(response, i), {"key": key, "prefix": prefix},
                             fresh) for i, (_, prefix) in enumerate(asked)]
                out: list[Asked] = []
                for text, (_, prefix) in zip(texts, asked, strict=True):
                    response, key, fresh = self.transport.request(
                        kind, score_payload(kind, [text], k), version)
                    out.append((read_top_logprobs(response), {"key": key, "prefix": prefix},
                                fresh))
                return out
            except EndpointLimitError as error:
                if not self._lower_plan(error, kind, k, batched):
                    raise

    def _lower_plan(self, error: EndpointLimitError, kind: str, used: int,
                    batched: bool) -> bool:
        """Lower the plan after a refusal naming a limit; False when nothing is left to try."""
        limits = self.limits
        if error.reason == "logprobs":
            if limits.logprobs_cap(kind) < used:  # another thread degraded already
                return True
            new = error.limit if error.limit is not None and error.limit < used else (
                20 if used > 20 else 5 if used > 5 else None)
            if new is None or new < 1:
                return False
            if not limits.degrade(f"logprobs:{kind}", f"{kind} top_logprobs {used} -> {new}",
                                  error):
                return False
            limits.lower_logprobs(kind, new)
            return True
        if error.reason == "prompt-list" and batched:
            if not limits.prompt_lists:
                return True
            if not limits.degrade("prompt-list", "one prompt per request", error):
                return False
            limits.prompt_lists = False
            return True
        return False
