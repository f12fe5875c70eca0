"""Usage accounting: model calls, cache hits, tokens, retries, invalid answers, degradations.

Example:
    >>> a = Usage(model_calls=2, degradations=("top_logprobs 100 -> 20",))
    >>> (a + Usage(model_calls=1)).model_calls
    3
    >>> (a + Usage(degradations=("x",)) - a).degradations
    ('x',)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Usage"]


@dataclass(frozen=True)
class Usage:
    """Accounting of a client's (or an expert's) model use.

    Attributes:
        model_calls: Requests answered by the model (retries not included).
        cache_hits: Requests answered from the cache.
        prompt_tokens: Prompt tokens the endpoint reported (llama.cpp reports only the first
            prompt of a request that carries a list of prompts).
        completion_tokens: Completion tokens the endpoint reported.
        retries: Requests repeated after a transient failure.
        invalid_answers: Answers that named no single action (after re-asks), or scores
            whose labels got too little probability mass.
        reasks: Requests repeated because an answer was invalid.
        degradations: What was changed, once, after an HTTP 4xx that named a limit of the
            endpoint (for example ``"completion top_logprobs 100 -> 20 (HTTP 400: ...)"``).
    """

    model_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    invalid_answers: int = 0
    reasks: int = 0
    degradations: tuple[str, ...] = ()

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Usage) -> Usage:
        # Counters subtract; degradations only grow, so the difference is what was appended.
        values = []
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            values.append(mine[len(theirs):] if isinstance(mine, tuple) else mine - theirs)
        return Usage(*values)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready record."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}
