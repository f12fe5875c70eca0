"""Versioned prompt templates: a persona meets the natural-language description of a state.

Three styles:

* ``"completion"`` for base models (the default; Gemma 270M has no chat template): the
  prompt ends right where the action label comes, ``... Jerry decides to "``.
* ``"cot"`` (chain of thought, for sample mode): the model reasons, then writes
  ``Answer: <label>``.
* ``"chat"`` for chat models: a role-play system message and the question.

Any change to a template must bump its version: the version is part of every cache key.

Example:
    >>> from llm_experts.personas import get_persona
    >>> prompt = build_prompt(get_persona("fairness"), "ultimatum",
    ...                       "The proposer offers you $3, keeping $7.", ("reject", "accept"))
    >>> prompt.text.endswith('Jerry decides to "')
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llm_experts.errors import ConfigurationError
from llm_experts.personas import GAMES, Persona

__all__ = ["PROMPT_VERSIONS", "STYLES", "Prompt", "build_prompt"]

STYLES = ("completion", "cot", "chat")

PROMPT_VERSIONS: dict[str, str] = {
    "ultimatum": "ultimatum-1",
    "marshmallow": "marshmallow-1",
    "double_or_nothing": "double_or_nothing-1",
    "procrastination": "procrastination-1",
}
"""Template version per game; bump on any change of wording."""

_CONTEXT = {
    "ultimatum": "{c} is playing a one-shot ultimatum game with a stranger.",
    "marshmallow": "{c} is taking part in the marshmallow test.",
    "double_or_nothing": "{c} is playing a double-or-nothing game.",
    "procrastination": "{c} has a report to write before a deadline.",
}

_CHAT_CONTEXT = {
    "ultimatum": "You are playing a one-shot ultimatum game with a stranger.",
    "marshmallow": "You are taking part in the marshmallow test.",
    "double_or_nothing": "You are playing a double-or-nothing game.",
    "procrastination": "You have a report to write before a deadline.",
}


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt.

    Attributes:
        text: Completion prompt (None for chat style).
        messages: Chat messages (None unless chat style).
        version: Template version, e.g. ``"ultimatum-1/completion"``.
        style: One of :data:`STYLES`.
    """

    text: str | None
    messages: tuple[dict[str, str], ...] | None
    version: str
    style: str

    @property
    def payload(self) -> str | list[dict[str, str]]:
        """What the client sends: the text, or the list of messages."""
        if self.text is not None:
            return self.text
        assert self.messages is not None
        return [dict(m) for m in self.messages]


def _choices(labels: Sequence[str]) -> str:
    quoted = [f'"{x}"' for x in labels]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def build_prompt(
    persona: Persona,
    game: str,
    description: str,
    labels: Sequence[str],
    *,
    style: str = "completion",
) -> Prompt:
    """Render the prompt for one decision state.

    Args:
        persona: The character played.
        game: One of :data:`~llm_experts.personas.GAMES`.
        description: The state's description, in the second person.
        labels: Action labels in action order.
        style: One of :data:`STYLES`.

    Returns:
        The rendered :class:`Prompt`.

    Raises:
        ConfigurationError: Unknown game or style, or empty labels.
    """
    if game not in GAMES:
        raise ConfigurationError(f"unknown game {game!r}; expected one of {GAMES}")
    if style not in STYLES:
        raise ConfigurationError(f"unknown prompt style {style!r}; expected one of {STYLES}")
    if not labels:
        raise ConfigurationError("labels must not be empty; pass the state's action labels")
    c = persona.character
    version = f"{PROMPT_VERSIONS[game]}/{style}"
    situation = description.strip().replace('"', "'")
    choices = _choices(labels)
    if style == "chat":
        system = f"{persona.second_person()} {_CHAT_CONTEXT[game]} Stay in character."
        user = (
            f"{situation}\nWhat do you do: {choices}? "
            "Reply with exactly one of these words and nothing else."
        )
        messages = ({"role": "system", "content": system}, {"role": "user", "content": user})
        return Prompt(None, messages, version, style)
    head = (
        f"{persona.third_person()} {_CONTEXT[game].format(c=c)}\n"
        f'{c} is told: "{situation}"\n'
        f"{c} can either {choices}.\n"
    )
    if style == "cot":
        text = (
            head + f"{c} thinks it over step by step, in character, and ends with a line "
            f"'Answer: ' followed by exactly one of {choices}.\n{c}'s thoughts:"
        )
    else:
        text = head + f'{c} decides to "'
    return Prompt(text, None, version, style)
