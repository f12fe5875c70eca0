"""Client over the ``openai`` package: label scoring by log-probabilities and answer sampling.

Configuration, most specific first: constructor arguments, then ``OPENAI_BASE_URL``,
``OPENAI_API_KEY``, ``SUBRATIONAL_LLM_MODEL`` and ``SUBRATIONAL_LLM_PROVIDER``; with no base
URL at all the process-wide embedded llama.cpp server (:func:`llm_experts.server.default_server`)
answers.

The client is a thin facade over one module per concern:

* :mod:`llm_experts.providers`: what the endpoint supports (its :class:`ProviderProfile`);
  every request is planned within it.
* :mod:`llm_experts.transport`: cache, retries, the call budget and 4xx classification.
* :mod:`llm_experts.scoring`: score planning and label folding (:meth:`LLMClient.score`).
* :mod:`llm_experts.parsing`: mapping sampled answers to labels, re-asks
  (:meth:`LLMClient.sample_labels`).
* :mod:`llm_experts.usage`: accounting.

A 4xx that names a limit of the endpoint (too many log-probabilities, one prompt per request,
an unsupported constraint field) makes the client degrade once: fewer alternatives, single
prompts, or unconstrained sampling. The change is recorded in :attr:`Usage.degradations` and
logged; the same refusal after degrading raises :class:`~llm_experts.errors.EndpointLimitError`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_experts.cache import AnswerCache, ProvenanceLog, ProvenanceRecord
from llm_experts.errors import ConfigurationError, EndpointLimitError
from llm_experts.parsing import ParsedAnswer, check_labels, parse_answer, reask
from llm_experts.providers import ProviderProfile, detect_provider, get_profile, resolve_provider
from llm_experts.scoring import (
    DEFAULT_MIN_COVERAGE,
    Asked,
    ScoreResult,
    read_top_logprobs,
    score_labels,
)
from llm_experts.server import BUILTIN_MODELS, DEFAULT_MODEL, default_server
from llm_experts.transport import RetryPolicy, Transport
from llm_experts.usage import Usage

__all__ = [
    "PARSER_VERSION",
    "LLMClient",
    "ParsedAnswer",
    "RetryPolicy",
    "SampleResult",
    "ScoreResult",
    "Usage",
    "parse_answer",
]

PARSER_VERSION = "1"
"""Version of :func:`parse_answer` and of the label folding; part of every cache key."""

logger = logging.getLogger("llm_experts")

Messages = Sequence[Mapping[str, str]]
PromptLike = str | Messages


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


class LLMClient:
    """An OpenAI-compatible endpoint, cached, retried, planned within its limits, accounted.

    Args:
        base_url: Endpoint such as ``http://host:8000/v1``; default ``$OPENAI_BASE_URL``, else
            the embedded server.
        api_key: Default ``$OPENAI_API_KEY``; never logged, cached or put in an error message.
        model: Model name; default ``$SUBRATIONAL_LLM_MODEL``, or the built-in
            ``gemma-3-270m`` with the embedded server.
        provider: ``openai``, ``vllm``, ``ollama``, ``llamacpp`` or ``generic`` (see
            :mod:`llm_experts.providers`); default ``$SUBRATIONAL_LLM_PROVIDER``, else
            ``llamacpp`` for the embedded server and, for a remote endpoint, detected where
            safe (OpenAI's host; ``owned_by`` of ``GET /models`` for vLLM and llama.cpp),
            otherwise ``generic``.
        timeout: Seconds per request; default 60 for a remote endpoint and 600 for the
            embedded server (one slot on a shared CPU: a request may wait its turn, and a
            list of prompts is several prompts' work).
        retry: Retry policy for transient failures.
        cache: Durable answer cache; None disables caching.
        provenance: JSONL log of every fresh answer; None disables it.
        top_logprobs: Alternatives wanted per token when scoring (50 to 100 for small models);
            capped by the provider's documented limit.
        structured: Constrain sampled answers to the labels (llama.cpp grammar, vLLM
            ``guided_choice``, or a JSON schema); default: where the provider supports one.
        min_extend_prob: A label prefix is followed up only if its path probability is at least
            this (a label with no mass at all always gets its best prefixes followed). Each
            followed prefix costs a request; a prefix below 0.01 can move a label's
            probability by less than 0.01. Measured on Gemma 3 270M (the four games' default
            personas): 0.01 instead of 0.001 changed no probability by more than 0.0006 and
            cut the calls per state from 2.0 to 1.0 (ultimatum) and 1.1 (marshmallow).
        max_label_tokens: Longest label spelling followed, in tokens.
        max_n_per_request: Most answers asked for in one request; default the provider's.
        min_coverage: Least share of the probability mass the labels must get for a valid
            score (default 0.5).
        max_calls: Most model calls this client makes (None: no limit); the next raises
            :class:`~llm_experts.errors.CallBudgetError`, with every answer so far cached.
        seed: Seed of the retry jitter.

    Raises:
        ConfigurationError: No model name for a remote endpoint, an unknown provider, or bad
            arguments.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        cache: AnswerCache | None = None,
        provenance: ProvenanceLog | None = None,
        top_logprobs: int = 100,
        structured: bool | None = None,
        min_extend_prob: float = 1e-2,
        max_label_tokens: int = 4,
        max_n_per_request: int | None = None,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
        max_calls: int | None = None,
        seed: int | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        model = model or os.environ.get("SUBRATIONAL_LLM_MODEL") or None
        self.embedded = base_url is None
        provider_name = resolve_provider(provider, embedded=self.embedded)
        if self.embedded:
            model = model or DEFAULT_MODEL
            if model not in BUILTIN_MODELS:
                raise ConfigurationError(
                    f"model {model!r} is not built in and no endpoint is configured; set "
                    f"OPENAI_BASE_URL (or base_url=) to serve it, or pick one of "
                    f"{sorted(BUILTIN_MODELS)}"
                )
            server = default_server(model)
            base_url = server.base_url
            endpoint_id = server.endpoint_id
            # llama.cpp refuses n above its slot count.
            max_n_per_request = max_n_per_request or server.n_parallel
            slots: int | None = server.n_parallel
        else:
            if not model:
                raise ConfigurationError(
                    f"no model name for endpoint {base_url!r}; pass model= or set "
                    "SUBRATIONAL_LLM_MODEL"
                )
            endpoint_id = base_url.rstrip("/")
            slots = None
        if timeout is None:
            timeout = 600.0 if self.embedded else 60.0
        if timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout}")
        if not 1 <= top_logprobs <= 1000:
            raise ConfigurationError(f"top_logprobs must be in [1, 1000], got {top_logprobs}")
        if not 0.0 <= min_coverage <= 1.0:
            raise ConfigurationError(
                f"min_coverage must be in [0, 1], got {min_coverage}; 0.5 is the default"
            )
        self.base_url = base_url
        self.model = model
        self.endpoint_id = endpoint_id
        self.chat_model = BUILTIN_MODELS[model].chat if self.embedded else None
        #: Requests the embedded server answers at once (None: a remote endpoint).
        self.slots = slots
        self.provenance = provenance
        self.top_logprobs = int(top_logprobs)
        self.min_extend_prob = float(min_extend_prob)
        self.max_label_tokens = int(max_label_tokens)
        self.min_coverage = float(min_coverage)
        self.transport = Transport(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
            model=model,
            endpoint_id=endpoint_id,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            cache=cache,
            max_calls=max_calls,
            seed=seed,
            key_material={"parser_version": PARSER_VERSION},
        )
        if provider_name is None:
            provider_name = detect_provider(base_url, self.transport.owned_by())
            self.provider_detected = True
        else:
            self.provider_detected = False
        self.profile: ProviderProfile = get_profile(provider_name)
        self._lock = threading.Lock()
        # What the planner may use now; a 4xx naming a limit lowers these once.
        self._caps = {
            kind: min(self.top_logprobs, cap) if cap is not None else self.top_logprobs
            for kind, cap in (("completion", self.profile.completions_logprobs),
                              ("chat", self.profile.chat_logprobs))
        }
        self.prompt_lists = self.profile.prompt_lists
        has_constraint = (self.profile.grammar or self.profile.guided_choice
                          or self.profile.json_schema)
        self.structured = has_constraint if structured is None else bool(structured)
        self.max_n_per_request = max_n_per_request or self.profile.max_n
        self._degraded: set[str] = set()

    def __repr__(self) -> str:
        return (f"LLMClient(model={self.model!r}, endpoint={self.endpoint_id!r}, "
                f"provider={self.profile.name!r})")

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
        """Most model calls allowed (None: no limit)."""
        return self.transport.max_calls

    @max_calls.setter
    def max_calls(self, value: int | None) -> None:
        self.transport.max_calls = value

    def redact(self, text: str) -> str:
        """Return ``text`` with the API key replaced by ``***``."""
        return self.transport.redact(text)

    def logprobs_cap(self, kind: str) -> int:
        """Top log-probabilities asked per token on ``kind`` requests now."""
        with self._lock:
            return self._caps[kind]

    def _log(self, record: ProvenanceRecord) -> None:
        if self.provenance is not None:
            self.provenance.append(record)

    def degrade(self, key: str, what: str, error: EndpointLimitError) -> bool:
        """Record degradation ``key`` once, in the usage and the log.

        Returns:
            False if it already happened: the caller must not degrade again (no loops).
        """
        with self._lock:
            if key in self._degraded:
                return False
            self._degraded.add(key)
        note = f"{what} ({error.detail[:200]})"
        self.transport.count(degradations=(note,))
        logger.warning(self.redact(f"{self.base_url}: {note}"))
        return True

    # -- scoring -------------------------------------------------------------------------

    def _score_payload(self, kind: str, prompts: list[str] | list[list[dict[str, str]]],
                       k: int) -> dict[str, Any]:
        if kind == "completion":
            return {"prompt": prompts[0] if len(prompts) == 1 else prompts, "max_tokens": 1,
                    "temperature": 0.0, "logprobs": k}
        return {"messages": prompts[0], "max_tokens": 1, "temperature": 0.0,
                "logprobs": True, "top_logprobs": k}

    def _ask_top(
        self,
        prompts: Sequence[PromptLike],
        asked: Sequence[tuple[int, str]],
        prompt_version: str | None,
    ) -> list[Asked]:
        """Top tokens after each (prompt index, prefix): batched where the endpoint allows."""
        kind = "completion" if isinstance(prompts[0], str) else "chat"
        texts: list[Any] = []
        for j, prefix in asked:
            prompt = prompts[j]
            if isinstance(prompt, str):
                texts.append(prompt + prefix)
            else:
                messages = [dict(m) for m in prompt]
                if prefix:  # llama.cpp continues a final assistant message (prefill)
                    messages.append({"role": "assistant", "content": prefix})
                texts.append(messages)
        while True:
            k = self.logprobs_cap(kind)
            batched = kind == "completion" and self.prompt_lists and len(texts) > 1
            try:
                if batched:
                    payload = self._score_payload(kind, texts, k)
                    response, key, fresh = self.transport.request(kind, payload, prompt_version)
                    return [(read_top_logprobs(response, i), {"key": key, "prefix": prefix},
                             fresh) for i, (_, prefix) in enumerate(asked)]
                out: list[Asked] = []
                for text, (_, prefix) in zip(texts, asked, strict=True):
                    payload = self._score_payload(kind, [text], k)
                    response, key, fresh = self.transport.request(kind, payload, prompt_version)
                    out.append((read_top_logprobs(response), {"key": key, "prefix": prefix},
                                fresh))
                return out
            except EndpointLimitError as error:
                if not self._handle_score_limit(error, kind, k, batched):
                    raise

    def _handle_score_limit(self, error: EndpointLimitError, kind: str, used: int,
                            batched: bool) -> bool:
        """Lower the plan after a refusal naming a limit; False when nothing is left to try."""
        if error.reason == "logprobs":
            with self._lock:
                if self._caps[kind] < used:  # another thread degraded already
                    return True
            new = error.limit if error.limit is not None and error.limit < used else (
                20 if used > 20 else 5 if used > 5 else None)
            if new is None or new < 1:
                return False
            if not self.degrade(f"logprobs:{kind}",
                                 f"{kind} top_logprobs {used} -> {new}", error):
                return False
            with self._lock:
                self._caps[kind] = min(self._caps[kind], new)
            return True
        if error.reason == "prompt-list" and batched:
            if not self.prompt_lists:
                return True
            if not self.degrade("prompt-list", "one prompt per request", error):
                return False
            self.prompt_lists = False
            return True
        return False

    def score(
        self,
        prompt: PromptLike,
        labels: Sequence[str],
        *,
        persona: str | None = None,
        prompt_version: str | None = None,
        min_coverage: float | None = None,
    ) -> ScoreResult:
        """Probability of each label as the continuation of ``prompt``.

        Args:
            prompt: Completion-style prompt ending where the label should come (or chat
                messages; the label is then the start of the assistant's reply).
            labels: Action labels (or answer options) in action order.
            persona: Recorded in the provenance log.
            prompt_version: Part of the cache key and the provenance.
            min_coverage: Override of the client's ``min_coverage``.

        Returns:
            A :class:`ScoreResult`; ``valid`` is False when a label got no probability or
            the labels' coverage is below ``min_coverage``.

        Raises:
            ModelCallError: A request failed after the last retry.
            EndpointLimitError: The endpoint refused even after degrading once, or cannot
                score this prompt style at all (reason ``no-completions`` / ``no-chat`` /
                ``no-logprobs``).
        """
        return self.score_orders([prompt], labels, persona=persona,
                                 prompt_version=prompt_version, min_coverage=min_coverage)[0]

    def score_orders(
        self,
        prompts: Sequence[PromptLike],
        labels: Sequence[str],
        *,
        persona: str | None = None,
        prompt_version: str | None = None,
        min_coverage: float | None = None,
    ) -> list[ScoreResult]:
        """Score several prompts of one state (its label orders) together.

        Where the endpoint takes a list of prompts per request (llama.cpp, vLLM), each depth
        of the label search is one request for all prompts: one call per state when every
        label is a single token.

        Returns:
            One :class:`ScoreResult` per prompt, in order.
        """
        labels = check_labels(labels)
        if not prompts:
            raise ConfigurationError("prompts must not be empty; pass at least one prompt")
        chat = not isinstance(prompts[0], str)
        if any(isinstance(p, str) == chat for p in prompts):
            raise ConfigurationError("prompts must be all completion text or all chat messages")
        kind = "chat" if chat else "completion"
        depth = self.max_label_tokens if (not chat or self.profile.prefill) else 1
        raw: list[list[dict[str, Any]]] = []
        results, fresh = score_labels(
            lambda asked: self._ask_top(prompts, asked, prompt_version),
            labels,
            top_k=self.logprobs_cap(kind),
            n_prompts=len(prompts),
            min_extend_prob=self.min_extend_prob,
            max_label_tokens=depth,
            min_coverage=self.min_coverage if min_coverage is None else float(min_coverage),
            endpoint=self.base_url,
            raw=raw,
        )
        invalid = sum(not r.valid for r in results)
        if invalid:
            self.transport.count(invalid_answers=invalid)
        if fresh:
            for result, tops in zip(results, raw, strict=True):
                self._log(
                    ProvenanceRecord(
                        model=self.model,
                        endpoint=self.endpoint_id,
                        operation="score",
                        key=tops[0]["key"] if tops else "",
                        raw=tops,
                        parsed=(dict(zip(labels, result.probs, strict=True))
                                if result.probs else None),
                        valid=result.valid,
                        error=result.error,
                        persona=persona,
                        prompt_version=prompt_version,
                    )
                )
        return results

    # -- sampling ------------------------------------------------------------------------

    def sample(
        self,
        prompt: PromptLike,
        *,
        n: int = 1,
        temperature: float = 1.0,
        seed: int = 0,
        max_tokens: int = 16,
        labels: Sequence[str] | None = None,
        constrain: bool | None = None,
        prompt_version: str | None = None,
    ) -> list[str]:
        """Sample ``n`` raw answers (requests of at most ``max_n_per_request``, cached).

        Args:
            prompt: Completion prompt or chat messages.
            n: Answers wanted.
            temperature: Sampling temperature.
            seed: Sampling seed (part of the cache key).
            max_tokens: Longest answer.
            labels: The labels, needed when ``constrain`` is on.
            constrain: Constrain answers to the labels (llama.cpp grammar, vLLM
                ``guided_choice``, or a JSON schema); default: the client's ``structured``
                setting when labels are given.
            prompt_version: Part of the cache key.

        Returns:
            The ``n`` answer texts.

        Raises:
            ModelCallError: The request failed after the last retry.
        """
        return self._sample_many(
            prompt, n, temperature, seed, max_tokens, labels, constrain, prompt_version
        )[0]

    def _sample_many(
        self,
        prompt: PromptLike,
        n: int,
        temperature: float,
        seed: int,
        max_tokens: int,
        labels: Sequence[str] | None,
        constrain: bool | None,
        prompt_version: str | None,
    ) -> tuple[list[str], str]:
        # Servers cap n per request (llama.cpp: its slot count), so ask in chunks.
        texts: list[str] = []
        first_key = ""
        chunk = 0
        if n < 1:
            raise ConfigurationError(f"n must be >= 1, got {n}")
        while len(texts) < n:
            size = min(self.max_n_per_request, n - len(texts))
            retried = False
            while True:
                kind, payload = self._sample_payload(
                    prompt, size, temperature, seed + 7919 * chunk, max_tokens, labels,
                    constrain
                )
                try:
                    got, key = self._sample(kind, payload, prompt_version)
                    break
                except EndpointLimitError as error:
                    if error.reason == "n" and error.limit and error.limit < size and (
                            self.degrade("n", f"answers per request {size} -> {error.limit}",
                                          error) or self.max_n_per_request < size):
                        self.max_n_per_request = min(self.max_n_per_request, error.limit)
                        size = min(self.max_n_per_request, n - len(texts))
                        continue
                    # A constraint field the endpoint refuses: sample unconstrained, once.
                    if error.reason != "unsupported-field" or retried or not (
                            "extra_body" in payload or "response_format" in payload):
                        raise
                    self.degrade("structured", "unconstrained sampling", error)
                    self.structured = False
                    constrain = False
                    retried = True
            first_key = first_key or key
            if not got:
                break
            texts.extend(got[:size])
            chunk += 1
        return texts, first_key

    def _sample_payload(
        self,
        prompt: PromptLike,
        n: int,
        temperature: float,
        seed: int,
        max_tokens: int,
        labels: Sequence[str] | None,
        constrain: bool | None,
    ) -> tuple[str, dict[str, Any]]:
        # n >= 1 is checked once, by _sample_many, the only caller.
        if temperature < 0:
            raise ConfigurationError(f"temperature must be >= 0, got {temperature}")
        constrain = (self.structured and labels is not None) if constrain is None else constrain
        if constrain and labels is None:
            raise ConfigurationError("constrain=True needs labels=; pass the action labels")
        payload: dict[str, Any] = {
            "n": n,
            "temperature": temperature,
            "seed": seed,
            "max_tokens": max_tokens,
        }
        profile = self.profile
        if isinstance(prompt, str):
            payload["prompt"] = prompt
            if constrain:
                assert labels is not None
                if profile.grammar:
                    grammar = "root ::= " + " | ".join(json.dumps(x) for x in labels)
                    payload["extra_body"] = {"grammar": grammar}
                elif profile.guided_choice:
                    payload["extra_body"] = {"guided_choice": list(labels)}
        else:
            payload["messages"] = [dict(m) for m in prompt]
            if constrain:
                assert labels is not None
                if profile.json_schema:
                    payload["response_format"] = {
                        "type": "json_schema",
                        "json_schema": {
                            "name": "decision",
                            "strict": True,
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "decision": {"type": "string", "enum": list(labels)}
                                },
                                "required": ["decision"],
                                "additionalProperties": False,
                            },
                        },
                    }
                    payload["max_tokens"] = max(max_tokens, 32)
                elif profile.guided_choice:
                    payload["extra_body"] = {"guided_choice": list(labels)}
        return ("completion" if isinstance(prompt, str) else "chat"), payload

    def _sample(
        self, kind: str, payload: dict[str, Any], prompt_version: str | None
    ) -> tuple[list[str], str]:
        response, key, _ = self.transport.request(kind, payload, prompt_version)
        texts = []
        for choice in response.get("choices") or []:
            if kind == "chat":
                texts.append(str(((choice.get("message") or {}).get("content")) or ""))
            else:
                texts.append(str(choice.get("text") or ""))
        return texts, key

    def sample_labels(
        self,
        prompt: PromptLike,
        labels: Sequence[str],
        *,
        n: int = 10,
        temperature: float = 1.0,
        seed: int = 0,
        max_tokens: int = 16,
        max_reasks: int = 2,
        constrain: bool | None = None,
        persona: str | None = None,
        prompt_version: str | None = None,
    ) -> SampleResult:
        """Sample ``n`` answers and count the label each names.

        An invalid answer (refusal, no label, several labels) is re-asked up to
        ``max_reasks`` times with the error appended; then it counts as invalid and never as
        an action.

        Args:
            prompt: Completion prompt (ending where the label comes) or chat messages.
            labels: Action labels in action order.
            n: Answers wanted.
            temperature: Sampling temperature.
            seed: Base seed; re-asks use derived seeds.
            max_tokens: Longest answer (raise it for chain-of-thought prompts).
            max_reasks: Re-asks per invalid answer.
            constrain: See :meth:`sample`.
            persona: Recorded in the provenance log.
            prompt_version: Part of the cache key and the provenance.

        Returns:
            A :class:`SampleResult`.

        Raises:
            ModelCallError: A request failed after the last retry.
        """
        labels = check_labels(labels)
        if max_reasks < 0:
            raise ConfigurationError(f"max_reasks must be >= 0, got {max_reasks}")
        open_quote = isinstance(prompt, str) and prompt.rstrip(" ").endswith('"')
        before = self.usage.model_calls
        texts, first_key = self._sample_many(
            prompt, n, temperature, seed, max_tokens, labels, constrain, prompt_version
        )
        answers = []
        for index, text in enumerate(texts):
            parsed = parse_answer(text, labels, open_quote=open_quote)
            current: PromptLike = prompt
            for attempt in range(max_reasks):
                if parsed.valid:
                    break
                self.transport.count(reasks=1)
                current = reask(current, parsed, labels)
                reply = self.sample(
                    current,
                    n=1,
                    temperature=temperature,
                    seed=seed * 1_000_003 + (index + 1) * 101 + attempt,
                    max_tokens=max_tokens,
                    labels=labels,
                    constrain=constrain,
                    prompt_version=prompt_version,
                )
                parsed = parse_answer(reply[0] if reply else "", labels, open_quote=open_quote)
            if not parsed.valid:
                self.transport.count(invalid_answers=1)
            answers.append(parsed)
        counts = tuple(sum(a.label == label for a in answers) for label in labels)
        result = SampleResult(labels, counts, tuple(answers), sum(not a.valid for a in answers))
        if self.usage.model_calls > before:
            for answer in answers:
                self._log(
                    ProvenanceRecord(
                        model=self.model,
                        endpoint=self.endpoint_id,
                        operation="sample",
                        key=first_key,
                        raw=answer.raw,
                        parsed=answer.label,
                        valid=answer.valid,
                        error=answer.error,
                        persona=persona,
                        prompt_version=prompt_version,
                    )
                )
        return result
