"""Transport: one request through the answer cache, bounded retries and the call budget.

Every request is answered from the durable cache when it can be; otherwise it goes to the
endpoint through the ``openai`` package, with retries (exponential backoff and jitter) on
timeouts, dropped connections, 429 (honouring ``Retry-After``), 5xx and malformed JSON. A
client error (4xx) is not retried: when its message names a limit of the endpoint (too many
log-probabilities, no completions endpoint, one prompt per request, an unsupported field) it
is raised as :class:`~llm_experts.errors.EndpointLimitError` so the planner can degrade once;
anything else is a :class:`~llm_experts.errors.ModelCallError`. The API key is redacted from
every message, and an answer is committed to the cache the moment it arrives.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import openai

from llm_experts.cache import AnswerCache, cache_key
from llm_experts.errors import (
    CallBudgetError,
    ConfigurationError,
    EndpointLimitError,
    EndpointUnreachableError,
    ModelCallError,
)
from llm_experts.usage import Usage

__all__ = ["BASE_URL_HINT", "RetryPolicy", "Transport", "classify_limit", "connection_failure"]

logger = logging.getLogger("llm_experts")

BASE_URL_HINT = "check BASE_URL (--base-url / OPENAI_BASE_URL)"
_UNREACHABLE = ("connection refused", "host not found (DNS)")
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_NUMBER_AFTER = re.compile(
    r"(?:max(?:imum)?(?: value)?(?: allowed)?(?: is| of)?:?|<=|at most|between 0 and|"
    r"up to|no more than|less than or equal to)\s*(\d+)"
)


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures (timeouts, connection errors, 429, 5xx, malformed JSON) are retried.

    Attributes:
        max_retries: Retries after the first try; the last failure raises ModelCallError.
        backoff_base: Seconds before the first retry; doubles at each retry.
        backoff_max: Upper bound of one backoff.
        jitter: Random extra fraction of each backoff (0.25: up to +25 %).
        max_retry_after: Upper bound on a server's ``Retry-After``.
        seed: Seed of the jitter (None: fresh entropy).

    A refused connection or an unknown host is never retried: nothing is there to answer.
    """

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    seed: int | None = None

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


def classify_limit(status: int, message: str, kind: str) -> tuple[str, int | None] | None:
    """Which endpoint limit a 4xx names, if any: ``(reason, number)``.

    Example:
        >>> classify_limit(400, "Requested sample logprobs of 100, which is greater than "
        ...                "max allowed: 20", "completion")
        ('logprobs', 20)
        >>> classify_limit(404, "This is a chat model and not supported in the "
        ...                "v1/completions endpoint.", "completion")
        ('no-completions', None)
        >>> classify_limit(400, "Field 'n': Value must be between 1 <= value <= 1, but got 4",
        ...                "completion")
        ('n', 1)
        >>> classify_limit(401, "invalid key", "chat") is None
        True
    """
    if status not in (400, 404, 405, 422, 501):
        return None
    text = message.lower()
    if "chat model" in text and "completions" in text and "not a chat model" not in text:
        return ("no-completions", None)
    if "not a chat model" in text or ("chat" in text and "not supported" in text
                                      and kind == "chat" and "logprob" not in text):
        return ("no-chat", None)
    if "logprob" in text:
        if any(w in text for w in ("not supported", "unsupported", "does not support")):
            return ("no-logprobs", None)
        found = _NUMBER_AFTER.search(text)
        return ("logprobs", int(found.group(1)) if found else None)
    if re.search(r"(field|parameter|argument) '?n'?\b|'n' must|\bn must be", text):
        found = _NUMBER_AFTER.search(text)
        return ("n", int(found.group(1)) if found else 1)
    if "prompt" in text and any(w in text for w in ("only accepts a string", "must be a string",
                                                    "list of prompts", "array")):
        return ("prompt-list", None)
    for field in ("grammar", "guided_choice", "response_format", "json_schema", "cache_prompt"):
        if field in text and any(w in text for w in ("unrecognized", "not supported",
                                                     "unsupported", "unknown", "not permitted",
                                                     "extra inputs")):
            return ("unsupported-field", None)
    if status == 404 and kind == "completion" and ("/completions" in text or "no route" in text):
        return ("no-completions", None)
    return None


@dataclass(frozen=True)
class _Failure:
    """How one failed request is handled: its reason, the advice, and whether to retry."""

    reason: str
    advice: str
    retryable: bool = False
    wait: float = 0.0
    unreachable: bool = False
    limit: tuple[int, str, int | None] | None = None


def connection_failure(exc: BaseException, timeout: float) -> tuple[str, str]:
    """What a failed connection was, and the advice: ``(what, advice)``.

    Reads the cause chain of an ``openai.APIConnectionError`` (refused, DNS, timeout, reset).

    Example:
        >>> connection_failure(ConnectionRefusedError(111, "Connection refused"), 5.0)
        ('connection refused', 'start the server, or check BASE_URL (--base-url / OPENAI_BASE_URL)')
    """
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(e, ConnectionRefusedError) for e in seen):
        return _UNREACHABLE[0], f"start the server, or {BASE_URL_HINT}"
    if any(isinstance(e, socket.gaierror) for e in seen):
        return _UNREACHABLE[1], BASE_URL_HINT
    if any(isinstance(e, TimeoutError | openai.APITimeoutError)
           or "timeout" in type(e).__name__.lower() for e in seen):
        return (f"no answer within {timeout:g} s (timeout)",
                f"{BASE_URL_HINT}, and that the server is up and not overloaded")
    last = seen[-1]
    return (f"connection failed ({type(last).__name__}: {str(last)[:120]})",
            f"start the server, or {BASE_URL_HINT}")


class Transport:
    """Sends requests to one endpoint: cache first, then the model, retried and accounted.

    Args:
        base_url: The endpoint.
        api_key: Never logged, cached or put in a message.
        model: Model name sent with every request.
        endpoint_id: Stable identity of the endpoint in cache keys.
        timeout: Seconds per request.
        retry: Retry policy.
        cache: Durable answer cache (None: none).
        max_calls: Most model calls (None: no limit); the next one raises CallBudgetError.
        key_material: Extra fields of every cache key (parser version).
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        endpoint_id: str,
        timeout: float,
        retry: RetryPolicy,
        cache: AnswerCache | None,
        max_calls: int | None,
        key_material: Mapping[str, Any],
    ) -> None:
        if max_calls is not None and (not isinstance(max_calls, int) or max_calls < 0):
            raise ConfigurationError(
                f"max_calls must be an integer >= 0 or None, got {max_calls!r}"
            )
        self.base_url = base_url
        self.model = model
        self.endpoint_id = endpoint_id
        self.timeout = float(timeout)
        self.retry = retry
        self.cache = cache
        self.max_calls = max_calls
        self._key_material = dict(key_material)
        self._api_key = api_key
        self._rng = random.Random(retry.seed)
        self._lock = threading.Lock()
        self._usage = Usage()
        self._started_calls = 0
        self._openai = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=self.timeout, max_retries=0
        )

    # -- accounting ----------------------------------------------------------------------

    @property
    def usage(self) -> Usage:
        """Snapshot of the usage so far."""
        with self._lock:
            return self._usage

    def count(self, **deltas: Any) -> None:
        """Add ``deltas`` to the usage."""
        with self._lock:
            self._usage = self._usage + Usage(**deltas)

    def redact(self, text: str) -> str:
        """Return ``text`` with the API key replaced by ``***``."""
        key = self._api_key
        if key and key != "none" and len(key) >= 4:
            text = text.replace(key, "***")
        return text

    def _reserve_call(self) -> None:
        with self._lock:
            if self.max_calls is not None and self._started_calls >= self.max_calls:
                raise CallBudgetError(
                    f"max_calls={self.max_calls} model calls reached ({self.base_url}, model "
                    f"{self.model!r}); every answer received so far is cached: run again with "
                    "a higher max_calls (or --max-calls) to go on without repeating a call"
                )
            self._started_calls += 1

    # -- requests ------------------------------------------------------------------------

    def key(self, kind: str, payload: Mapping[str, Any], prompt_version: str | None) -> str:
        """Cache key of a request: everything that changes its answer, never the key."""
        return cache_key({"kind": kind, "model": self.model, "endpoint": self.endpoint_id,
                          "payload": dict(payload), "prompt_version": prompt_version,
                          **self._key_material})

    def cached(self, key: str) -> dict[str, Any] | None:
        """The cached answer under ``key`` (counted as a cache hit), or None."""
        if self.cache is None:
            return None
        found = self.cache.get(key)
        if found is not None:
            self.count(cache_hits=1)
        return found

    def request(
        self, kind: str, payload: dict[str, Any], prompt_version: str | None
    ) -> tuple[dict[str, Any], str, bool]:
        """Answer one request from the cache or the model; returns (response, key, fresh).

        Raises:
            EndpointLimitError: A 4xx naming a limit of the endpoint.
            ModelCallError: Any other failure, after the last retry where retryable.
            CallBudgetError: ``max_calls`` reached (nothing is sent).
        """
        key = self.key(kind, payload, prompt_version)
        found = self.cached(key)
        if found is not None:
            return found, key, False
        self._reserve_call()
        response = self._call_with_retries(kind, payload)
        usage = response.get("usage") or {}
        self.count(
            model_calls=1,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
        if self.cache is not None:
            self.cache.put(key, response)
        return response, key, True

    def _call_with_retries(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        attempts = self.retry.max_retries + 1
        where = f"{kind} request to {self.base_url} (model {self.model!r})"
        for attempt in range(attempts):
            try:
                return self._call(kind, payload)
            except Exception as exc:  # noqa: BLE001 - sorted into retryable or not below
                failure = self._classify(exc, attempt, kind)
            # Raised outside the except block, so the original exception (whose text may carry
            # the API key, e.g. echoed by a server) is not even attached as __context__.
            if failure.limit is not None:
                status, why, number = failure.limit
                raise EndpointLimitError(self.redact(f"{where} refused: {failure.reason}"),
                                         status=status, reason=why, limit=number,
                                         detail=failure.reason)
            if failure.unreachable:
                raise EndpointUnreachableError(
                    self.redact(f"cannot use {self.base_url}: {failure.reason}; "
                                f"{failure.advice}"),
                    url=self.base_url, what=failure.reason, advice=failure.advice)
            if not failure.retryable:
                raise ModelCallError(self.redact(f"{where} failed: {failure.reason}; "
                                                 f"{failure.advice}"))
            if attempt == attempts - 1:
                raise ModelCallError(self.redact(
                    f"{where} failed {attempts} times, last: {failure.reason}; "
                    f"{failure.advice}"))
            self.count(retries=1)
            logger.warning(self.redact(
                f"{failure.reason}; retry {attempt + 1}/{attempts - 1} in {failure.wait:.2f} s "
                f"({self.base_url})"))
            time.sleep(failure.wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _classify(self, exc: Exception, attempt: int, kind: str) -> _Failure:
        backoff = self.retry.backoff(attempt, self._rng)
        retries = "raise RetryPolicy.max_retries"
        if isinstance(exc, openai.APIConnectionError):  # APITimeoutError included
            what, advice = connection_failure(exc, self.timeout)
            if what in _UNREACHABLE:
                return _Failure(what, advice, unreachable=True)
            if isinstance(exc, openai.APITimeoutError):
                return _Failure(f"timed out after {self.timeout:g} s", "raise the timeout "
                                "(timeout=), or check that the server is not overloaded",
                                retryable=True, wait=backoff)
            return _Failure(f"connection error ({type(exc.__cause__).__name__})",
                            f"check that the server is up; {retries}", retryable=True,
                            wait=backoff)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            reason = f"HTTP {status}: {self.redact(str(exc))[:300]}"
            if status not in _RETRY_STATUS:
                found = classify_limit(status, self.redact(str(exc)), kind)
                advice = ("check OPENAI_API_KEY" if status in (401, 403) else
                          "check the endpoint, model name and API key")
                return _Failure(reason, advice,
                                limit=(status, *found) if found is not None else None)
            if status == 429:
                after = _retry_after(exc.response.headers.get("retry-after"))
                return _Failure(reason, f"the endpoint rate-limits: {retries} or lower the "
                                "concurrency", retryable=True,
                                wait=backoff if after is None
                                else min(after, self.retry.max_retry_after))
            return _Failure(reason, f"the server is failing: check its log, or {retries}",
                            retryable=True, wait=backoff)
        if isinstance(exc, ValueError):  # json.JSONDecodeError: a malformed 200 answer
            return _Failure(f"malformed JSON answer ({exc})", f"check the endpoint; {retries}",
                            retryable=True, wait=backoff)
        return _Failure(f"{type(exc).__name__}: {self.redact(str(exc))[:300]}",
                        "check the endpoint, model name and API key")

    def _call(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        args = dict(payload)
        extra = args.pop("extra_body", None)
        create: Callable[..., Any] = (self._openai.chat.completions.create if kind == "chat"
                                      else self._openai.completions.create)
        response = create(model=self.model, extra_body=extra, **args)
        return response.model_dump(mode="json")


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
