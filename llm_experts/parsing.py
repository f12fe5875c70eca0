"""Answer parsing: map a sampled answer to exactly one action label, and re-ask on failure.

Example:
    >>> parse_answer('reject" it.', ["reject", "accept"], open_quote=True).label
    'reject'
    >>> parse_answer("accept or reject?", ["reject", "accept"]).valid
    False
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llm_experts.errors import ConfigurationError

__all__ = ["ParsedAnswer", "check_labels", "parse_answer", "quote_labels", "reask"]

Messages = Sequence[Mapping[str, str]]
PromptLike = str | Messages

_REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i cannot|i can'?t|i won'?t|i will not|as an ai|"
    r"i am unable|i'?m unable|i must decline)\b"
)


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


def check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """Validate action labels: non-empty strings, distinct ignoring case."""
    labels = tuple(labels)
    if not labels or any(not isinstance(x, str) or not x.strip() for x in labels):
        raise ConfigurationError(
            f"labels must be a non-empty sequence of non-empty strings, got {labels!r}"
        )
    lowered = [x.strip().lower() for x in labels]
    if len(set(lowered)) != len(lowered):
        raise ConfigurationError(f"labels must differ ignoring case, got {labels!r}")
    return labels


def quote_labels(labels: Sequence[str]) -> str:
    """``"a", "b" or "c"``."""
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
    """
    labels = check_labels(labels)
    expected = f"expected exactly one of {quote_labels(labels)}"
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


def reask(prompt: PromptLike, parsed: ParsedAnswer, labels: Sequence[str]) -> PromptLike:
    """The prompt with the invalid answer and the reason appended, asking again."""
    note = f"That answer is invalid: {parsed.error}."
    if isinstance(prompt, str):
        # Restate the question's last line so a base model continues right at the label again.
        last_line = prompt.rstrip("\n").rsplit("\n", 1)[-1]
        closing = '"' if prompt.rstrip(" ").endswith('"') and '"' not in parsed.raw else ""
        return (
            f"{prompt}{parsed.raw.strip()}{closing}\n({note} The answer must be exactly one of "
            f"{quote_labels(labels)}.)\n{last_line}"
        )
    return [
        *[dict(m) for m in prompt],
        {"role": "assistant", "content": parsed.raw},
        {"role": "user", "content": f"{note} Reply with exactly one of {quote_labels(labels)}."},
    ]
