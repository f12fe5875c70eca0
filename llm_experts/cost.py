"""Cost planning: how many states, calls and tokens a tabulation will need, before it runs.

Estimates, not promises: tokens are counted as about four characters each, and score mode
counts one follow-up request per label order (or per list of prompts) for labels split over
tokens, which a model whose labels are single tokens does not need (the choice style's
letters are single tokens): an upper estimate there. Requests already in the answer cache
cost nothing and are not counted.

Example:
    >>> plan = CallPlan(states=11, calls=22, prompt_tokens=2200, completion_tokens=22,
    ...                 cached_calls=0)
    >>> plan.with_prices(0.15, 0.6).cost
    0.0003432
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from llm_experts.scorer import score_payload

if TYPE_CHECKING:  # pragma: no cover
    from llm_experts.expert import LLMExpert

__all__ = ["CallPlan", "plan_calls"]

CHARS_PER_TOKEN = 4.0


@dataclass(frozen=True)
class CallPlan:
    """Estimated model use of a tabulation.

    Attributes:
        states: Decision states still to ask.
        calls: Model calls expected (cached requests excluded).
        prompt_tokens: Prompt tokens expected.
        completion_tokens: Completion tokens expected (an upper bound in sample mode).
        cached_calls: First requests already answered by the cache.
        price_per_million_input: Price of a million prompt tokens, if given.
        price_per_million_output: Price of a million completion tokens, if given.
    """

    states: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cached_calls: int = 0
    price_per_million_input: float | None = None
    price_per_million_output: float | None = None

    def __add__(self, other: CallPlan) -> CallPlan:
        return CallPlan(self.states + other.states, self.calls + other.calls,
                        self.prompt_tokens + other.prompt_tokens,
                        self.completion_tokens + other.completion_tokens,
                        self.cached_calls + other.cached_calls,
                        self.price_per_million_input or other.price_per_million_input,
                        self.price_per_million_output or other.price_per_million_output)

    def with_prices(self, per_million_input: float | None,
                    per_million_output: float | None) -> CallPlan:
        """The same plan priced."""
        return replace(self, price_per_million_input=per_million_input,
                       price_per_million_output=per_million_output)

    @property
    def cost(self) -> float | None:
        """Estimated cost in the prices' currency (None without prices)."""
        if self.price_per_million_input is None and self.price_per_million_output is None:
            return None
        return (self.prompt_tokens * (self.price_per_million_input or 0.0)
                + self.completion_tokens * (self.price_per_million_output or 0.0)) / 1e6

    def describe(self) -> str:
        """One line for the terminal."""
        line = (f"{self.states} states to ask, up to ~{self.calls} model calls, "
                f"~{self.prompt_tokens:,} prompt + ~{self.completion_tokens:,} completion "
                f"tokens")
        if self.cached_calls:
            line += f" ({self.cached_calls} first requests already cached)"
        if self.cost is not None:
            line += f", estimated cost {self.cost:.4f}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (with the cost when priced)."""
        return {**asdict(self), "cost": self.cost}


def _chars(payload: Any) -> int:
    if isinstance(payload, str):
        return len(payload)
    return sum(len(m.get("content", "")) + 8 for m in payload)


def plan_calls(expert: LLMExpert, states: Sequence[int], *,
               price_per_million_input: float | None = None,
               price_per_million_output: float | None = None) -> CallPlan:
    """Estimate the calls and tokens of asking ``expert`` about ``states``.

    Args:
        expert: The expert (its mode, style, label orders and client's provider profile).
        states: Decision states to ask.
        price_per_million_input: Optional price of a million prompt tokens.
        price_per_million_output: Optional price of a million completion tokens.

    Returns:
        A :class:`CallPlan`.
    """
    client = expert.client
    cache = client.cache
    calls = prompt_tokens = completion_tokens = cached = 0
    for state in states:
        prompts = expert.prompts_for(state)
        kind = "completion" if isinstance(prompts[0].payload, str) else "chat"
        first_keys = []
        if expert.mode == "score":
            payloads = [p.payload for p in prompts]
            batched = kind == "completion" and client.limits.prompt_lists and len(payloads) > 1
            groups = [payloads] if batched else [[p] for p in payloads]
            for group in groups:
                payload = score_payload(kind, group, client.logprobs_cap(kind))
                first_keys.append(client.transport.key(kind, payload, prompts[0].version))
            # One request per group, and for labels split over tokens one follow-up each.
            depth = 1 if prompts[0].options else 2
            per_group = [depth] * len(groups)
            tokens = [sum(_chars(p) for p in group) / CHARS_PER_TOKEN * depth
                      for group in groups]
            out_tokens = [len(group) * depth for group in groups]
        else:
            per_order = max(1, expert.config.n_samples // len(prompts))
            requests = math.ceil(per_order / max(client.limits.max_n_per_request, 1))
            max_tokens = 160 if expert.prompt_style == "cot" else 16
            per_group = [requests] * len(prompts)
            tokens = [_chars(p.payload) / CHARS_PER_TOKEN * requests for p in prompts]
            out_tokens = [per_order * max_tokens for _ in prompts]
            first_keys = [None] * len(prompts)
        for key, n, tok, out in zip(first_keys, per_group, tokens, out_tokens, strict=True):
            if key is not None and cache is not None and cache.get(key) is not None:
                cached += 1
                continue
            calls += n
            prompt_tokens += math.ceil(tok)
            completion_tokens += out
    return CallPlan(len(states), calls, prompt_tokens, completion_tokens, cached,
                    price_per_million_input, price_per_million_output)
