"""Client over the ``openai`` package: label scoring by log-probabilities and answer sampling.

Configuration, most specific first: constructor arguments, then ``OPENAI_BASE_URL``,
``OPENAI_API_KEY`` and ``SUBRATIONAL_LLM_MODEL``; with no base URL at all the process-wide
embedded llama.cpp server (:func:`llm_experts.server.default_server`) answers.

Two operations:

* :meth:`LLMClient.score` reads the probability of each action label as the continuation of a
  completion-style prompt. Labels tokenise differently by context (``accept`` / `` accept`` /
  ``Accept``; ``reject`` split as ``re`` + ``ject``), so every top token that is the label,
  or a prefix of it, is followed with extra requests until the whole label is spelled out, and
  the probabilities of all spellings are added up.
* :meth:`LLMClient.sample_labels` samples answers, maps each to exactly one label with
  :func:`parse_answer`, and re-asks a bounded number of times with the error appended.

Every request goes through the durable :class:`~llm_experts.cache.AnswerCache` and bounded
retries with exponential backoff and jitter. The API key is redacted from every message.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import openai

from llm_experts.cache import AnswerCache, ProvenanceLog, ProvenanceRecord, cache_key
from llm_experts.errors import ConfigurationError, ModelCallError
from llm_experts.server import BUILTIN_MODELS, DEFAULT_MODEL, default_server

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

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i cannot|i can'?t|i won'?t|i will not|as an ai|"
    r"i am unable|i'?m unable|i must decline)\b"
)


@dataclass(frozen=True)
class Usage:
    """Accounting of a client's (or an expert's) model use.

    Attributes:
        model_calls: Requests answered by the model (retries not included).
        cache_hits: Requests answered from the cache.
        prompt_tokens: Prompt tokens the endpoint reported.
        completion_tokens: Completion tokens the endpoint reported.
        retries: Requests repeated after a transient failure.
        invalid_answers: Answers that named no single action (after re-asks).
        reasks: Requests repeated because an answer was invalid.
    """

    model_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    invalid_answers: int = 0
    reasks: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures (timeouts, connection errors, 429, 5xx, malformed JSON) are retried.

    Attributes:
        max_retries: Retries after the first try; the last failure raises ModelCallError.
        backoff_base: Seconds before the first retry; doubles at each retry.
        backoff_max: Upper bound of one backoff.
        jitter: Random extra fraction of each backoff (0.25: up to +25 %).
        max_retry_after: Upper bound on a server's ``Retry-After``.
    """

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.jitter < 0:
            raise ConfigurationError(
                f"backoff_base, backoff_max and jitter must be >= 0, got {self.backoff_base}, "
                f"{self.backoff_max}, {self.jitter}"
            )

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        base = min(self.backoff_max, self.backoff_base * 2**attempt)
        return base * (1.0 + self.jitter * rng.random())


@dataclass(frozen=True)
class ScoreResult:
    """Probabilities of the action labels as the continuation of a prompt.

    Attributes:
        labels: The labels scored, in action order.
        probs: Label probabilities normalised to sum to 1, or None when invalid.
        mass: Raw probability of each label (all spellings added up) before normalising.
        coverage: Total raw probability on the labels (how much of the answer they explain).
        valid: False when some label got no probability at all.
        error: Why the answer is invalid, else None.
        requests: Requests made (cached or not).
    """

    labels: tuple[str, ...]
    probs: tuple[float, ...] | None
    mass: tuple[float, ...]
    coverage: float
    valid: bool
    error: str | None = None
    requests: int = 0


@dataclass(frozen=True)
class ParsedAnswer:
    """A raw answer and the single label it names (None when invalid)."""

    raw: str
    label: str | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        """Whether the answer names exactly one label."""
        return self.label is not None


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


def _check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    labels = tuple(labels)
    if not labels or any(not isinstance(x, str) or not x.strip() for x in labels):
        raise ConfigurationError(
            f"labels must be a non-empty sequence of non-empty strings, got {labels!r}"
        )
    lowered = [x.strip().lower() for x in labels]
    if len(set(lowered)) != len(lowered):
        raise ConfigurationError(f"labels must differ ignoring case, got {labels!r}")
    return labels


def _quote_labels(labels: Sequence[str]) -> str:
    quoted = [f'"{x}"' for x in labels]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def parse_answer(text: str, labels: Sequence[str], *, open_quote: bool = False) -> ParsedAnswer:
    """Map a raw answer to the single label it names.

    Accepted forms: a JSON object with a ``decision``/``action``/``answer``/``choice`` field;
    a chain of thought ending in ``Answer: <label>``; free text naming one label. With
    ``open_quote`` (the prompt ended inside a quotation), only the text up to the closing quote
    counts, so ``accept" the offer because ...`` is ``accept``.

    Args:
        text: The model's answer.
        labels: Valid labels (matched as whole words, ignoring case).
        open_quote: Whether the prompt ended with an opening quote.

    Returns:
        The label, or None with an error (empty answer, refusal, no label, several labels).

    Example:
        >>> parse_answer('reject" it.', ["reject", "accept"], open_quote=True).label
        'reject'
        >>> parse_answer("accept or reject?", ["reject", "accept"]).valid
        False
    """
    labels = _check_labels(labels)
    expected = f"expected exactly one of {_quote_labels(labels)}"
    stripped = text.strip()
    if not stripped:
        return ParsedAnswer(text, None, f"empty answer; {expected}")
    segment = stripped
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            for name in ("decision", "action", "answer", "choice"):
                if isinstance(obj.get(name), str):
                    segment = obj[name]
                    break
    lower = segment.lower()
    if _REFUSAL.search(lower.replace("\u2019", "'")):
        return ParsedAnswer(text, None, f"answer is a refusal; {expected}")
    marker = lower.rfind("answer:")
    if marker >= 0:
        lower = lower[marker + len("answer:") :]
    elif open_quote and segment is stripped:
        lower = lower.split('"', 1)[0] if '"' in lower else lower.splitlines()[0]
    found = [
        label for label in labels if re.search(rf"\b{re.escape(label.strip().lower())}\b", lower)
    ]
    if len(found) == 1:
        return ParsedAnswer(text, found[0])
    if not found:
        return ParsedAnswer(text, None, f"answer names no action; {expected}")
    return ParsedAnswer(
        text, None, f"answer names several actions ({', '.join(sorted(found))}); {expected}"
    )


class LLMClient:
    """An OpenAI-compatible endpoint, cached, retried and accounted for.

    Args:
        base_url: Endpoint such as ``http://host:8000/v1``; default ``$OPENAI_BASE_URL``, else
            the embedded server.
        api_key: Default ``$OPENAI_API_KEY``; never logged, cached or put in an error message.
        model: Model name; default ``$SUBRATIONAL_LLM_MODEL``, or the built-in
            ``gemma-3-270m`` with the embedded server.
        timeout: Seconds per request.
        retry: Retry policy for transient failures.
        cache: Durable answer cache; None disables caching.
        provenance: JSONL log of every fresh answer; None disables it.
        top_logprobs: Alternatives read per token when scoring (50 to 100 for small models).
        structured: Constrain sampled answers to the labels (llama.cpp grammar for prompts,
            ``response_format`` JSON schema for chat); default True with the embedded server.
        min_extend_prob: A label prefix is followed up only if its path probability is at least
            this (a label with no mass at all always gets its best prefixes followed).
        max_label_tokens: Longest label spelling followed, in tokens.
        max_n_per_request: Most answers asked for in one request (llama.cpp allows as many
            as it has slots); default 4 with the embedded server, else 16.
        seed: Seed of the retry jitter.

    Raises:
        ConfigurationError: No model name for a remote endpoint, or bad arguments.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        cache: AnswerCache | None = None,
        provenance: ProvenanceLog | None = None,
        top_logprobs: int = 100,
        structured: bool | None = None,
        min_extend_prob: float = 1e-3,
        max_label_tokens: int = 4,
        max_n_per_request: int | None = None,
        seed: int | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        model = model or os.environ.get("SUBRATIONAL_LLM_MODEL") or None
        self.embedded = base_url is None
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
            self.endpoint_id = server.endpoint_id
        else:
            if not model:
                raise ConfigurationError(
                    f"no model name for endpoint {base_url!r}; pass model= or set "
                    "SUBRATIONAL_LLM_MODEL"
                )
            self.endpoint_id = base_url.rstrip("/")
        if timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout}")
        if not 1 <= top_logprobs <= 1000:
            raise ConfigurationError(f"top_logprobs must be in [1, 1000], got {top_logprobs}")
        self.base_url = base_url
        self.model = model
        self.chat_model = BUILTIN_MODELS[model].chat if self.embedded else None
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or "none"
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.cache = cache
        self.provenance = provenance
        self.top_logprobs = int(top_logprobs)
        self.structured = self.embedded if structured is None else bool(structured)
        self.min_extend_prob = float(min_extend_prob)
        self.max_label_tokens = int(max_label_tokens)
        self.max_n_per_request = max_n_per_request or (4 if self.embedded else 16)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._usage = Usage()
        self._openai = openai.OpenAI(
            base_url=base_url, api_key=self._api_key, timeout=self.timeout, max_retries=0
        )

    def __repr__(self) -> str:
        return f"LLMClient(model={self.model!r}, endpoint={self.endpoint_id!r})"

    # -- accounting ----------------------------------------------------------------------

    @property
    def usage(self) -> Usage:
        """Snapshot of the usage so far."""
        with self._lock:
            return self._usage

    def _count(self, **deltas: int) -> None:
        with self._lock:
            self._usage = self._usage + Usage(**deltas)

    def redact(self, text: str) -> str:
        """Return ``text`` with the API key replaced by ``***``."""
        key = self._api_key
        if key and key != "none" and len(key) >= 4:
            text = text.replace(key, "***")
        return text

    # -- requests ------------------------------------------------------------------------

    def _key(self, kind: str, payload: Mapping[str, Any], prompt_version: str | None) -> str:
        return cache_key(
            {
                "kind": kind,
                "model": self.model,
                "endpoint": self.endpoint_id,
                "payload": dict(payload),
                "prompt_version": prompt_version,
                "parser_version": PARSER_VERSION,
            }
        )

    def _request(
        self, kind: str, payload: dict[str, Any], prompt_version: str | None
    ) -> tuple[dict[str, Any], str, bool]:
        """Answer one request from the cache or the model; returns (response, key, fresh)."""
        key = self._key(kind, payload, prompt_version)
        if self.cache is not None:
            cached = self.cache.get(key)
            if cached is not None:
                self._count(cache_hits=1)
                return cached, key, False
        response = self._call_with_retries(kind, payload)
        usage = response.get("usage") or {}
        self._count(
            model_calls=1,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
        if self.cache is not None:
            self.cache.put(key, response)
        return response, key, True

    def _call_with_retries(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        attempts = self.retry.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._call(kind, payload)
            except Exception as exc:  # noqa: BLE001 - sorted into retryable or not below
                retryable, wait, reason = self._classify(exc, attempt)
            # Raised outside the except block, so the original exception (whose text may carry
            # the API key, e.g. echoed by a server) is not even attached as __context__.
            if not retryable:
                raise ModelCallError(
                    self.redact(
                        f"{kind} request to {self.base_url} (model {self.model!r}) failed: "
                        f"{reason}; check the endpoint, model name and API key"
                    )
                )
            if attempt == attempts - 1:
                raise ModelCallError(
                    self.redact(
                        f"{kind} request to {self.base_url} (model {self.model!r}) failed "
                        f"{attempts} times, last: {reason}; raise RetryPolicy.max_retries "
                        "or the timeout, or check the endpoint"
                    )
                )
            self._count(retries=1)
            logger.warning(
                self.redact(
                    f"{reason}; retry {attempt + 1}/{attempts - 1} in {wait:.2f} s "
                    f"({self.base_url})"
                )
            )
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _classify(self, exc: Exception, attempt: int) -> tuple[bool, float, str]:
        backoff = self.retry.backoff(attempt, self._rng)
        if isinstance(exc, openai.APITimeoutError):
            return True, backoff, f"timed out after {self.timeout:g} s"
        if isinstance(exc, openai.APIConnectionError):
            return True, backoff, f"connection error ({type(exc.__cause__).__name__})"
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            reason = f"HTTP {status}: {self.redact(str(exc))[:300]}"
            if status not in _RETRY_STATUS:
                return False, 0.0, reason
            if status == 429:
                after = _retry_after(exc.response.headers.get("retry-after"))
                if after is not None:
                    return True, min(after, self.retry.max_retry_after), reason
            return True, backoff, reason
        if isinstance(exc, ValueError):  # json.JSONDecodeError: a malformed 200 answer
            return True, backoff, f"malformed JSON answer ({exc})"
        return False, 0.0, f"{type(exc).__name__}: {self.redact(str(exc))[:300]}"

    def _call(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        args = dict(payload)
        extra = args.pop("extra_body", None)
        if kind == "chat":
            response = self._openai.chat.completions.create(
                model=self.model, extra_body=extra, **args
            )
        else:
            response = self._openai.completions.create(model=self.model, extra_body=extra, **args)
        return response.model_dump(mode="json")

    def _log(self, record: ProvenanceRecord) -> None:
        if self.provenance is not None:
            self.provenance.append(record)

    # -- scoring -------------------------------------------------------------------------

    def _top_tokens(
        self, prompt: PromptLike, prefix: str, prompt_version: str | None
    ) -> tuple[list[tuple[str, float]] | None, dict[str, Any], bool]:
        if isinstance(prompt, str):
            kind = "completion"
            payload: dict[str, Any] = {
                "prompt": prompt + prefix,
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": self.top_logprobs,
            }
        else:
            kind = "chat"
            messages = [dict(m) for m in prompt]
            if prefix:  # llama.cpp continues a final assistant message (prefill)
                messages.append({"role": "assistant", "content": prefix})
            payload = {
                "messages": messages,
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": True,
                "top_logprobs": min(self.top_logprobs, 20) if not self.embedded else 100,
            }
        response, key, fresh = self._request(kind, payload, prompt_version)
        return _read_top_logprobs(response), {"key": key, "prefix": prefix}, fresh

    def score(
        self,
        prompt: PromptLike,
        labels: Sequence[str],
        *,
        persona: str | None = None,
        prompt_version: str | None = None,
    ) -> ScoreResult:
        """Probability of each label as the continuation of ``prompt``.

        Args:
            prompt: Completion-style prompt ending where the label should come (or chat
                messages; the label is then the start of the assistant's reply).
            labels: Action labels in action order.
            persona: Recorded in the provenance log.
            prompt_version: Part of the cache key and the provenance.

        Returns:
            A :class:`ScoreResult`; ``valid`` is False when a label got no probability.

        Raises:
            ModelCallError: A request failed after the last retry.
        """
        labels = _check_labels(labels)
        targets = {i: label.strip().lower() for i, label in enumerate(labels)}
        mass = [0.0] * len(labels)
        raw: list[dict[str, Any]] = []
        requests = 0
        fresh_any = False
        missing_logprobs = False
        # Frontier of (continuation text so far, its probability, remaining text per label).
        frontier: list[tuple[str, float, dict[int, str]]] = [("", 1.0, dict(targets))]
        for depth in range(self.max_label_tokens):
            next_frontier: list[tuple[str, float, dict[int, str]]] = []
            candidates: list[tuple[str, float, dict[int, str]]] = []
            for prefix, path_p, remaining in frontier:
                top, info, fresh = self._top_tokens(prompt, prefix, prompt_version)
                requests += 1
                fresh_any |= fresh
                if top is None:
                    missing_logprobs = True
                    continue
                raw.append({**info, "top": top[:20]})
                for token, logprob in top:
                    p = path_p * math.exp(logprob)
                    norm = token.lower()
                    if depth == 0:
                        norm = norm.lstrip()
                    if not norm:
                        continue
                    extend: dict[int, str] = {}
                    for i, rest in remaining.items():
                        if norm == rest or (
                            norm.startswith(rest) and not norm[len(rest)].isalnum()
                        ):
                            mass[i] += p
                        elif rest.startswith(norm):
                            extend[i] = rest[len(norm) :]
                    if extend:
                        candidates.append((prefix + token, p, extend))
            # Follow likely prefixes; for a label with no mass yet, its two best prefixes too.
            chosen = {id(c): c for c in candidates if c[1] >= self.min_extend_prob}
            for i in range(len(labels)):
                if mass[i] == 0.0:
                    best = sorted((c for c in candidates if i in c[2]), key=lambda c: -c[1])[:2]
                    chosen.update({id(c): c for c in best})
            next_frontier = list(chosen.values())
            if not next_frontier:
                break
            frontier = next_frontier
        coverage = float(sum(mass))
        error = None
        if missing_logprobs and not raw:
            error = (
                f"endpoint {self.base_url} returned no log-probabilities; use mode='sample' "
                "or an endpoint that supports logprobs"
            )
        elif any(m == 0.0 for m in mass):
            zero = [labels[i] for i, m in enumerate(mass) if m == 0.0]
            error = (
                f"labels {zero} got no probability in the top {self.top_logprobs} tokens; "
                "raise top_logprobs, rephrase the prompt so the labels are likely, "
                "or use mode='sample'"
            )
        probs = tuple(m / coverage for m in mass) if error is None else None
        result = ScoreResult(labels, probs, tuple(mass), coverage, error is None, error, requests)
        if error is not None:
            self._count(invalid_answers=1)
        if fresh_any:
            self._log(
                ProvenanceRecord(
                    model=self.model,
                    endpoint=self.endpoint_id,
                    operation="score",
                    key=raw[0]["key"] if raw else "",
                    raw=raw,
                    parsed=dict(zip(labels, probs, strict=True)) if probs else None,
                    valid=error is None,
                    error=error,
                    persona=persona,
                    prompt_version=prompt_version,
                )
            )
        return result

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
        """Sample ``n`` raw answers (one request, cached).

        Args:
            prompt: Completion prompt or chat messages.
            n: Answers wanted.
            temperature: Sampling temperature.
            seed: Sampling seed (part of the cache key).
            max_tokens: Longest answer.
            labels: The labels, needed when ``constrain`` is on.
            constrain: Constrain answers to the labels (llama.cpp grammar, or a JSON schema for
                chat); default: the client's ``structured`` setting when labels are given.
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
            kind, payload = self._sample_payload(
                prompt, size, temperature, seed + 7919 * chunk, max_tokens, labels, constrain
            )
            got, key = self._sample(kind, payload, prompt_version)
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
        if isinstance(prompt, str):
            payload["prompt"] = prompt
            if constrain:
                assert labels is not None
                grammar = "root ::= " + " | ".join(json.dumps(x) for x in labels)
                payload["extra_body"] = {"grammar": grammar}
        else:
            payload["messages"] = [dict(m) for m in prompt]
            if constrain:
                assert labels is not None
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
                payload["max_tokens"] = max(max_tokens, 32)
        return ("completion" if isinstance(prompt, str) else "chat"), payload

    def _sample(
        self, kind: str, payload: dict[str, Any], prompt_version: str | None
    ) -> tuple[list[str], str]:
        response, key, _ = self._request(kind, payload, prompt_version)
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
        labels = _check_labels(labels)
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
                self._count(reasks=1)
                current = _reask(current, parsed, labels)
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
                self._count(invalid_answers=1)
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


def _reask(prompt: PromptLike, parsed: ParsedAnswer, labels: Sequence[str]) -> PromptLike:
    note = f"That answer is invalid: {parsed.error}."
    if isinstance(prompt, str):
        # Restate the question's last line so a base model continues right at the label again.
        last_line = prompt.rstrip("\n").rsplit("\n", 1)[-1]
        closing = '"' if prompt.rstrip(" ").endswith('"') and '"' not in parsed.raw else ""
        return (
            f"{prompt}{parsed.raw.strip()}{closing}\n({note} The answer must be exactly one of "
            f"{_quote_labels(labels)}.)\n{last_line}"
        )
    return [
        *[dict(m) for m in prompt],
        {"role": "assistant", "content": parsed.raw},
        {"role": "user", "content": f"{note} Reply with exactly one of {_quote_labels(labels)}."},
    ]


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _read_top_logprobs(response: Mapping[str, Any]) -> list[tuple[str, float]] | None:
    """Top alternatives of the first generated token, in either logprobs format."""
    choices = response.get("choices") or []
    if not choices:
        return None
    logprobs = choices[0].get("logprobs")
    if not isinstance(logprobs, Mapping):
        return None
    content = logprobs.get("content")
    if content:  # llama.cpp and chat format: content[i].top_logprobs
        top = content[0].get("top_logprobs") or []
        return [(str(e["token"]), float(e["logprob"])) for e in top if "token" in e]
    legacy = logprobs.get("top_logprobs")
    if legacy:  # OpenAI legacy completions: top_logprobs[i] is {token: logprob}
        return [(str(t), float(lp)) for t, lp in legacy[0].items()]
    return None
