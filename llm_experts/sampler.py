"""Sampling: answers drawn from the model, mapped to labels, re-asked when invalid.

:class:`Sampler` asks for the ``n`` answers of one :class:`SampleRequest` in requests of at
most the endpoint's answers per request, constrained to the labels where the endpoint can
(llama.cpp grammar, vLLM ``guided_choice``, a JSON schema), and maps each answer to a label
with :func:`~llm_experts.parsing.parse_answer`. An invalid answer (a refusal, no label,
several labels) is re-asked with the error appended, a bounded number of times; then it is
counted as invalid, never as an action. A 4xx that names a limit (fewer answers per request,
a refused constraint field) lowers the plan once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_experts.cache import ProvenanceLog, ProvenanceRecord
from llm_experts.errors import ConfigurationError, EndpointLimitError
from llm_experts.parsing import ParsedAnswer, check_labels, parse_answer, reask
from llm_experts.providers import Limits
from llm_experts.transport import Transport

__all__ = ["SampleRequest", "SampleResult", "Sampler"]

Messages = Sequence[Mapping[str, str]]
PromptLike = str | Messages


@dataclass(frozen=True)
class SampleRequest:
    """Answers wanted for one prompt.

    Attributes:
        prompt: Completion prompt (ending where the label comes) or chat messages.
        labels: Action labels in action order (needed to constrain or parse answers).
        n: Answers wanted.
        temperature: Sampling temperature.
        seed: Sampling seed (part of the cache key); re-asks use derived seeds.
        max_tokens: Longest answer (raise it for chain-of-thought prompts).
        max_reasks: Re-asks per invalid answer.
        constrain: Constrain answers to the labels; default: the endpoint's ``structured``
            setting when labels are given.
        persona: Recorded in the provenance log.
        prompt_version: Part of the cache key and the provenance.
    """

    prompt: PromptLike
    labels: tuple[str, ...] | None = None
    n: int = 1
    temperature: float = 1.0
    seed: int = 0
    max_tokens: int = 16
    max_reasks: int = 2
    constrain: bool | None = None
    persona: str | None = None
    prompt_version: str | None = None

    def __post_init__(self) -> None:
        if self.labels is not None:
            object.__setattr__(self, "labels", check_labels(self.labels))
        if self.n < 1:
            raise ConfigurationError(f"n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ConfigurationError(f"temperature must be >= 0, got {self.temperature}")
        if self.max_reasks < 0:
            raise ConfigurationError(f"max_reasks must be >= 0, got {self.max_reasks}")
        if self.constrain and self.labels is None:
            raise ConfigurationError("constrain=True needs labels=; pass the action labels")

    @property
    def kind(self) -> str:
        """``"completion"`` or ``"chat"``."""
        return "completion" if isinstance(self.prompt, str) else "chat"


@dataclass(frozen=True)
class SampleResult:
    """Counts of sampled answers per label.

    Attributes:
        labels: The labels, in action order.
        counts: Valid answers per label.
        answers: Every final answer (after re-asks), parsed.
        invalid: Answers still invalid after the last re-ask.
    """

    labels: tuple[str, ...]
    counts: tuple[int, ...]
    answers: tuple[ParsedAnswer, ...] = field(repr=False)
    invalid: int

    @property
    def valid(self) -> bool:
        """Whether at least one answer named a label."""
        return sum(self.counts) > 0

    @property
    def probs(self) -> tuple[float, ...] | None:
        """Empirical label frequencies over valid answers, or None if there is none."""
        total = sum(self.counts)
        return tuple(c / total for c in self.counts) if total else None

    @property
    def errors(self) -> tuple[str, ...]:
        """Errors of the invalid answers."""
        return tuple(a.error for a in self.answers if a.error is not None)


class Sampler:
    """Samples answers at one endpoint.

    Args:
        transport: Sends requests (cache, retries, budget).
        limits: The endpoint's current limits (shared with the scorer).
        provenance: JSONL log of every fresh answer (None: none).
    """

    def __init__(self, transport: Transport, limits: Limits,
                 provenance: ProvenanceLog | None = None) -> None:
        self.transport = transport
        self.limits = limits
        self.provenance = provenance

    def sample(self, request: SampleRequest) -> list[str]:
        """The ``request.n`` raw answer texts (no parsing, no re-asks).

        Raises:
            ModelCallError: A request failed after the last retry.
        """
        return self._sample_many(request)[0]

    def sample_labels(self, request: SampleRequest) -> SampleResult:
        """Sample ``request.n`` answers, re-ask the invalid ones, count the label each names.

        Raises:
            ConfigurationError: The request has no labels.
            ModelCallError: A request failed after the last retry.
        """
        labels = request.labels
        if labels is None:
            raise ConfigurationError("sample_labels needs labels=; pass the action labels")
        open_quote = isinstance(request.prompt, str) and request.prompt.rstrip(" ").endswith('"')
        before = self.transport.usage.model_calls
        texts, first_key = self._sample_many(request)
        answers = []
        for index, text in enumerate(texts):
            parsed = parse_answer(text, labels, open_quote=open_quote)
            current = request.prompt
            for attempt in range(request.max_reasks):
                if parsed.valid:
                    break
                self.transport.count(reasks=1)
                current = reask(current, parsed, labels)
                again = SampleRequest(
                    current, labels, n=1, temperature=request.temperature,
                    seed=request.seed * 1_000_003 + (index + 1) * 101 + attempt,
                    max_tokens=request.max_tokens, constrain=request.constrain,
                    prompt_version=request.prompt_version)
                reply = self.sample(again)
                parsed = parse_answer(reply[0] if reply else "", labels, open_quote=open_quote)
            if not parsed.valid:
                self.transport.count(invalid_answers=1)
            answers.append(parsed)
        counts = tuple(sum(a.label == label for a in answers) for label in labels)
        result = SampleResult(labels, counts, tuple(answers), sum(not a.valid for a in answers))
        if self.transport.usage.model_calls > before and self.provenance is not None:
            for answer in answers:
                self.provenance.append(ProvenanceRecord(
                    model=self.transport.model,
                    endpoint=self.transport.endpoint_id,
                    operation="sample",
                    key=first_key,
                    raw=answer.raw,
                    parsed=answer.label,
                    valid=answer.valid,
                    error=answer.error,
                    persona=request.persona,
                    prompt_version=request.prompt_version,
                ))
        return result

    def _sample_many(self, request: SampleRequest) -> tuple[list[str], str]:
        # Servers cap n per request (llama.cpp: its slot count), so ask in chunks.
        limits = self.limits
        texts: list[str] = []
        first_key = ""
        chunk = 0
        constrain = request.constrain
        while len(texts) < request.n:
            size = min(limits.max_n_per_request, request.n - len(texts))
            retried = False
            while True:
                payload = self.payload(request, size, request.seed + 7919 * chunk, constrain)
                try:
                    got, key = self._send(request.kind, payload, request.prompt_version)
                    break
                except EndpointLimitError as error:
                    if error.reason == "n" and error.limit and error.limit < size and (
                            limits.degrade("n", f"answers per request {size} -> {error.limit}",
                                           error) or limits.max_n_per_request < size):
                        limits.max_n_per_request = min(limits.max_n_per_request, error.limit)
                        size = min(limits.max_n_per_request, request.n - len(texts))
                        continue
                    # A constraint field the endpoint refuses: sample unconstrained, once.
                    if error.reason != "unsupported-field" or retried or not (
                            "extra_body" in payload or "response_format" in payload):
                        raise
                    limits.degrade("structured", "unconstrained sampling", error)
                    limits.structured = False
                    constrain = False
                    retried = True
            first_key = first_key or key
            if not got:
                break
            texts.extend(got[:size])
            chunk += 1
        return texts, first_key

    def payload(self, request: SampleRequest, n: int, seed: int,
                constrain: bool | None) -> dict[str, Any]:
        """The request body for ``n`` answers to ``request`` with ``seed``."""
        labels = request.labels
        if constrain is None:
            constrain = self.limits.structured and labels is not None
        payload: dict[str, Any] = {"n": n, "temperature": request.temperature, "seed": seed,
                                   "max_tokens": request.max_tokens}
        profile = self.limits.profile
        prompt = request.prompt
        if isinstance(prompt, str):
            payload["prompt"] = prompt
            if constrain and labels is not None:
                if profile.grammar:
                    grammar = "root ::= " + " | ".join(json.dumps(x) for x in labels)
                    payload["extra_body"] = {"grammar": grammar}
                elif profile.guided_choice:
                    payload["extra_body"] = {"guided_choice": list(labels)}
            return payload
        payload["messages"] = [dict(m) for m in prompt]
        if constrain and labels is not None:
            if profile.json_schema:
                payload["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "decision",
                        "strict": True,
                        "schema": {
                            "type": "object",
                            "properties": {"decision": {"type": "string", "enum": list(labels)}},
                            "required": ["decision"],
                            "additionalProperties": False,
                        },
                    },
                }
                payload["max_tokens"] = max(request.max_tokens, 32)
            elif profile.guided_choice:
                payload["extra_body"] = {"guided_choice": list(labels)}
        return payload

    def _send(self, kind: str, payload: dict[str, Any],
              prompt_version: str | None) -> tuple[list[str], str]:
        response, key, _ = self.transport.request(kind, payload, prompt_version)
        texts = []
        for choice in response.get("choices") or []:
            if kind == "chat":
                texts.append(str(((choice.get("message") or {}).get("content")) or ""))
            else:
                texts.append(str(choice.get("text") or ""))
        return texts, key
