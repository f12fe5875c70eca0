"""Versioned prompt templates: a persona meets the natural-language description of a state.

Four styles:

* ``"completion"`` for base models (the default; Gemma 270M has no chat template): the
  prompt ends right where the action label comes, ``... Jerry decides to "``.
* ``"cot"`` (chain of thought, for sample mode): the model reasons, then writes
  ``Answer: <label>``.
* ``"chat"`` for chat models: a role-play system message and the question.
* ``"choice"`` for chat models scored within a few alternatives (OpenAI's 20, or 5): a
  forced choice whose options are lettered ``A``, ``B``, ...; the answer's first token is
  the letter, so the model's choice is read from the first token's top log-probabilities
  (:attr:`Prompt.options` are the letters, in action order).

Every style lists the labels in an ``order`` (a permutation of the actions); the expert asks
both orders and averages them by default, so position bias cancels.

Any change to a template must bump its version: the version is part of every cache key.

Example:
    >>> from llm_experts.personas import get_persona
    >>> fairness = get_persona("fairness")   # a preset of the game fairness.game
    >>> prompt = build_prompt(fairness, fairness.game,
    ...                       "The proposer offers you $3, keeping $7.", ("reject", "accept"))
    >>> prompt.text.endswith('Jerry decides to "')
    True
    >>> choice = build_prompt(fairness, fairness.game, "Offer: $3.",
    ...                       ("reject", "accept"), style="choice", order=(1, 0))
    >>> choice.options, "A) accept" in choice.messages[1]["content"]
    (('B', 'A'), True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llm_experts.errors import ConfigurationError
from llm_experts.personas import Persona
from subrational_gym._per_game import PerGame

__all__ = ["LETTERS", "PROMPT_VERSIONS", "STYLES", "Prompt", "build_prompt", "label_orders"]

STYLES = ("completion", "cot", "chat", "choice")
LETTERS = "ABCDEFGH"

# Version 2: labels listed in a given order (both orders asked by default); "choice" style.
#: Template version per game (each game's study holds its own); bump on any change of wording.
PROMPT_VERSIONS: Mapping[str, str] = PerGame(lambda study: study.prompt_version)


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt.

    Attributes:
        text: Completion prompt (None for chat styles).
        messages: Chat messages (None unless a chat style).
        version: Template version, ``"<the study's prompt_version>/<style>"``.
        style: One of :data:`STYLES`.
        order: The actions in the order the prompt lists them.
        options: What is scored for each action, in action order: the letters of the
            ``choice`` style, else None (the labels themselves).
    """

    text: str | None
    messages: tuple[dict[str, str], ...] | None
    version: str
    style: str
    order: tuple[int, ...] = ()
    options: tuple[str, ...] | None = None

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


def label_orders(n_labels: int, counterbalance: bool = True) -> list[tuple[int, ...]]:
    """The label orders asked: action order, and reversed when counterbalancing.

    Example:
        >>> label_orders(2), label_orders(2, counterbalance=False)
        ([(0, 1), (1, 0)], [(0, 1)])
    """
    forward = tuple(range(n_labels))
    return [forward, forward[::-1]] if counterbalance and n_labels > 1 else [forward]


def build_prompt(
    persona: Persona,
    game: str,
    description: str,
    labels: Sequence[str],
    *,
    style: str = "completion",
    order: Sequence[int] | None = None,
) -> Prompt:
    """Render the prompt for one decision state.

    Args:
        persona: The character played.
        game: A game of :data:`~subrational_gym.studies.STUDIES` (its study gives the scene).
        description: The state's description, in the second person.
        labels: Action labels in action order.
        style: One of :data:`STYLES`.
        order: The action indices in the order the prompt lists them (default: action
            order).

    Returns:
        The rendered :class:`Prompt`.

    Raises:
        ConfigurationError: Unknown game or style, empty labels, or an order that is not a
            permutation of the actions.
    """
    from subrational_gym.studies import STUDIES

    if game not in STUDIES:
        raise ConfigurationError(f"unknown game {game!r}; expected one of {tuple(STUDIES)}")
    study = STUDIES[game]
    if style not in STYLES:
        raise ConfigurationError(f"unknown prompt style {style!r}; expected one of {STYLES}")
    if not labels:
        raise ConfigurationError("labels must not be empty; pass the state's action labels")
    order = tuple(range(len(labels))) if order is None else tuple(order)
    if sorted(order) != list(range(len(labels))):
        raise ConfigurationError(
            f"order must be a permutation of 0..{len(labels) - 1}, got {order}; "
            "pass e.g. order=(1, 0) for two labels"
        )
    c = persona.character
    version = f"{study.prompt_version}/{style}"
    situation = description.strip().replace('"', "'")
    listed = [labels[i] for i in order]
    choices = _choices(listed)
    if style in ("chat", "choice"):
        system = f"{persona.second_person()} {study.chat_scene} Stay in character."
        options = None
        if style == "chat":
            user = (
                f"{situation}\nWhat do you do: {choices}? "
                "Reply with exactly one of these words and nothing else."
            )
        else:
            letter = {action: LETTERS[pos] for pos, action in enumerate(order)}
            lines = "\n".join(f"{LETTERS[pos]}) {label}" for pos, label in enumerate(listed))
            user = (
                f"{situation}\nWhat do you do?\n{lines}\n"
                "Answer with the letter of your choice only."
            )
            options = tuple(letter[i] for i in range(len(labels)))
        messages = ({"role": "system", "content": system}, {"role": "user", "content": user})
        return Prompt(None, messages, version, style, order, options)
    head = (
        f"{persona.third_person()} {study.scene.format(c=c)}\n"
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
    return Prompt(text, None, version, style, order)
