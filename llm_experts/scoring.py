"""Score planning and label folding: label probabilities from top log-probabilities.

A label's probability is read from the top alternatives of the first answer token. Labels
tokenise differently by context (``accept`` / `` accept`` / ``Accept``; ``reject`` split as
``re`` + ``ject``), so every top token that is the label, or a prefix of it, is followed with
further requests until the whole label is spelled out, and the probabilities of all spellings
are added up. All prefixes of one depth go out together: as one request with a list of prompts
where the endpoint accepts it (llama.cpp, vLLM), else one request each.

The labels' total share of the probability mass (``coverage``) is a validity check: below
``min_coverage`` the model mostly answers something else, and the state is invalid with its
coverage reported, never renormalised silently.

Example:
    >>> top = [(" Accept", math.log(0.5)), ("reject", math.log(0.3)), ("the", math.log(0.1))]
    >>> [r], _ = score_labels(lambda asked: [(top, {"key": "k", "prefix": ""}, False)],
    ...                       ("reject", "accept"), top_k=20)
    >>> [round(p, 3) for p in r.probs], round(r.coverage, 2)
    ([0.375, 0.625], 0.8)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MIN_COVERAGE", "ScoreResult", "read_top_logprobs", "score_labels"]

DEFAULT_MIN_COVERAGE = 0.5
"""Least share of the probability mass the labels must get for a score to be valid."""

Top = list[tuple[str, float]]
Asked = tuple[Top | None, dict[str, Any], bool]
#: Answers the top tokens after each (prompt index, prefix), one result each, in order.
AskPrefixes = Callable[[Sequence[tuple[int, str]]], Sequence[Asked]]

_OPENING = " \t\n*(\"'`"


@dataclass(frozen=True)
class ScoreResult:
    """Probabilities of the action labels as the continuation of a prompt.

    Attributes:
        labels: The labels scored, in action order.
        probs: Label probabilities normalised to sum to 1, or None when invalid.
        mass: Raw probability of each label (all spellings added up) before normalising.
        coverage: Total raw probability on the labels (how much of the answer they explain).
        valid: False when some label got no probability, or coverage is below the minimum.
        error: Why the answer is invalid, else None.
        requests: Requests made (cached or not).
        min_coverage: The coverage a valid score needs.
    """

    labels: tuple[str, ...]
    probs: tuple[float, ...] | None
    mass: tuple[float, ...]
    coverage: float
    valid: bool
    error: str | None = None
    requests: int = 0
    min_coverage: float = DEFAULT_MIN_COVERAGE


def _matches(norm: str, rest: str) -> bool:
    return norm == rest or (norm.startswith(rest) and not norm[len(rest)].isalnum())


def score_labels(
    ask: AskPrefixes,
    labels: Sequence[str],
    *,
    top_k: int,
    n_prompts: int = 1,
    min_extend_prob: float = 1e-2,
    max_label_tokens: int = 4,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    endpoint: str = "the endpoint",
    raw: list[list[dict[str, Any]]] | None = None,
) -> tuple[list[ScoreResult], bool]:
    """Fold the top alternatives after each prefix into one probability per label.

    Several prompts (the label orders of one state) are scored together, so each depth of
    the search is one batch of requests for all of them.

    Args:
        ask: Answers the top tokens after a list of ``(prompt index, answer prefix)``.
        labels: Action labels in action order (the same for every prompt).
        top_k: Alternatives asked per token (named in the error when a label is missing).
        n_prompts: Prompts scored together.
        min_extend_prob: A label prefix is followed up only if its path probability is at
            least this (a label with no mass at all always gets its best prefixes followed).
        max_label_tokens: Longest label spelling followed, in tokens.
        min_coverage: Least total label probability of a valid score.
        endpoint: Named in errors.
        raw: Receives the raw top lists of each prompt, for the provenance log.

    Returns:
        One :class:`ScoreResult` per prompt and whether any request was answered fresh.
    """
    labels = tuple(labels)
    targets = {i: label.strip().lower() for i, label in enumerate(labels)}
    mass = [[0.0] * len(labels) for _ in range(n_prompts)]
    raws: list[list[dict[str, Any]]] = [[] for _ in range(n_prompts)]
    requests = [0] * n_prompts
    missing = [False] * n_prompts
    fresh_any = False
    # Frontier of (prompt, continuation text so far, its probability, remaining per label).
    frontier = [(j, "", 1.0, dict(targets)) for j in range(n_prompts)]
    for depth in range(max_label_tokens):
        candidates: list[tuple[int, str, float, dict[int, str]]] = []
        answers = ask([(j, prefix) for j, prefix, _, _ in frontier])
        for (j, prefix, path_p, remaining), (top, info, fresh) in zip(frontier, answers,
                                                                       strict=True):
            requests[j] += 1
            fresh_any |= fresh
            if top is None:
                missing[j] = True
                continue
            raws[j].append({**info, "top": top[:20]})
            for token, logprob in top:
                p = path_p * math.exp(logprob)
                norm = token.lower()
                if depth == 0:
                    norm = norm.lstrip(_OPENING)
                if not norm:
                    continue
                extend: dict[int, str] = {}
                for i, rest in remaining.items():
                    if _matches(norm, rest):
                        mass[j][i] += p
                    elif rest.startswith(norm):
                        extend[i] = rest[len(norm):]
                if extend:
                    candidates.append((j, prefix + token, p, extend))
        # Follow likely prefixes; for a label with no mass yet, its two best prefixes too.
        chosen = {id(c): c for c in candidates if c[2] >= min_extend_prob}
        for j in range(n_prompts):
            for i in range(len(labels)):
                if mass[j][i] == 0.0:
                    mine = (c for c in candidates if c[0] == j and i in c[3])
                    chosen.update({id(c): c for c in sorted(mine, key=lambda c: -c[2])[:2]})
        if not chosen:
            break
        frontier = list(chosen.values())
    if raw is not None:
        raw.extend(raws)
    results = []
    for j in range(n_prompts):
        m = mass[j]
        coverage = float(sum(m))
        error = None
        if missing[j] and not raws[j]:
            error = (
                f"endpoint {endpoint} returned no log-probabilities; use mode='sample' "
                "or an endpoint that supports logprobs"
            )
        elif any(x == 0.0 for x in m):
            zero = [labels[i] for i, x in enumerate(m) if x == 0.0]
            error = (
                f"labels {zero} got no probability in the top {top_k} tokens; "
                "raise top_logprobs, rephrase the prompt so the labels are likely, "
                "or use mode='sample'"
            )
        elif coverage < min_coverage:
            error = (
                f"the labels got {coverage:.3f} of the probability mass, below min_coverage "
                f"{min_coverage:g}: the model mostly answers something else here; use the "
                "'choice' prompt style or a stronger model, or lower min_coverage knowingly"
            )
        probs = tuple(x / coverage for x in m) if error is None else None
        results.append(ScoreResult(labels, probs, tuple(m), coverage, error is None, error,
                                   requests[j], min_coverage))
    return results, fresh_any


def read_top_logprobs(response: Mapping[str, Any], index: int = 0) -> Top | None:
    """Top alternatives of the first generated token of choice ``index``, in either format.

    Example:
        >>> read_top_logprobs({"choices": [{"logprobs": {"top_logprobs": [{"a": -0.1}]}}]})
        [('a', -0.1)]
    """
    choices = response.get("choices") or []
    choice = next((c for c in choices if c.get("index", 0) == index), None)
    if choice is None and index < len(choices):
        choice = choices[index]
    if choice is None:
        return None
    logprobs = choice.get("logprobs")
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
