"""Personas the model role-plays, with the presets of Coletta et al. (2024).

A persona is a character (by default "Jerry", as in the paper) with traits phrased so they
read both as "Jerry is <traits>." and "You are Jerry, <traits>."

Example:
    >>> get_persona("fairness").third_person()
    'Jerry is an adult who cares a lot about fairness.'
    >>> get_persona("child-4").attributes["age"]
    4

References:
    Coletta, A., Dwarakanath, K., Liu, P., Vyetrenko, S., Balch, T. (2024). LLM-driven
    imitation of subrational behavior: Illusion or reality? arXiv:2402.08755.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_experts.errors import ConfigurationError
from subrational_gym.errors import ParameterError
from subrational_gym.studies import STUDIES, PersonaSpec

__all__ = ["PRESETS", "Persona", "custom_persona", "get_persona", "preset_names"]


def __getattr__(name: str) -> Any:
    """``GAMES``: the games personas can be made for (those with a registered study)."""
    if name == "GAMES":
        return tuple(STUDIES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Persona:
    """A character the model plays.

    Attributes:
        name: Short identifier (``"fairness"``, ``"child-4"``), part of cache provenance.
        traits: Who the character is, as a noun phrase: ``"a 4-year-old child"``.
        character: The character's first name.
        attributes: Structured attributes (age, GPA, ...) for analysis.
        game: The game this persona is meant for, or None if any.
    """

    name: str
    traits: str
    character: str = "Jerry"
    attributes: Mapping[str, Any] = field(default_factory=dict)
    game: str | None = None

    def __post_init__(self) -> None:
        try:  # name, traits and attributes: checked and frozen as a study's persona is
            spec = PersonaSpec(self.name, self.traits, self.attributes)
        except ParameterError as exc:
            raise ConfigurationError(str(exc)) from exc
        object.__setattr__(self, "attributes", spec.attributes)
        if not self.character.strip() or '"' in self.character:
            raise ConfigurationError(
                f"persona character must be a name without quotes, got {self.character!r}"
            )
        if self.game is not None and self.game not in STUDIES:
            raise ConfigurationError(
                f"persona game must be None or one of {tuple(STUDIES)}, got {self.game!r}"
            )

    def third_person(self) -> str:
        """Return ``"Jerry is <traits>."``."""
        return f"{self.character} is {self.traits.rstrip('.')}."

    def second_person(self) -> str:
        """Return ``"You are Jerry, <traits>."``."""
        return f"You are {self.character}, {self.traits.rstrip('.')}."


def _presets() -> dict[str, Persona]:
    # The personas are data of each game's study record (subrational_gym.studies).
    return {spec.name: Persona(spec.name, spec.traits, game=study.game,
                               attributes=spec.attributes)
            for study in STUDIES.values() for spec in study.personas}


class _Presets(Mapping[str, Persona]):
    """The presets of every registered study, rebuilt when a study is registered."""

    def __init__(self) -> None:
        self._games: tuple[str, ...] = ()
        self._table: dict[str, Persona] = {}

    def _now(self) -> dict[str, Persona]:
        if self._games != tuple(STUDIES):
            self._table, self._games = _presets(), tuple(STUDIES)
        return self._table

    def __getitem__(self, name: str) -> Persona:
        return self._now()[name]

    def __iter__(self) -> Any:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())


#: The personas of every study, by name (read-only).
PRESETS: Mapping[str, Persona] = _Presets()


def preset_names(game: str | None = None) -> tuple[str, ...]:
    """Names of the presets, for ``game`` only if given."""
    return tuple(n for n, p in PRESETS.items() if game is None or p.game == game)


def get_persona(persona: str | Persona, *, game: str | None = None) -> Persona:
    """Return a preset by name (or ``persona`` itself), checking it fits ``game``.

    Args:
        persona: A preset name or a :class:`Persona`.
        game: The game it will play; a preset made for another game is refused.

    Raises:
        ConfigurationError: Unknown name (the message lists the valid ones), or a preset made
            for another game.
    """
    if isinstance(persona, Persona):
        return persona
    if persona not in PRESETS:
        valid = preset_names(game) or preset_names()
        raise ConfigurationError(
            f"unknown persona {persona!r}; expected one of {list(valid)}"
            + (f" for {game}" if game else "")
            + ", or build your own with custom_persona(name, traits)"
        )
    preset = PRESETS[persona]
    if game is not None and preset.game is not None and preset.game != game:
        raise ConfigurationError(
            f"persona {persona!r} is made for {preset.game}, not {game}; use one of "
            f"{list(preset_names(game))} or custom_persona(...)"
        )
    return preset


def custom_persona(
    name: str, traits: str, *, character: str = "Jerry", game: str | None = None, **attributes: Any
) -> Persona:
    """Build a free-form persona, e.g. ``custom_persona("nurse", "a nurse aged 40", age=40)``."""
    return Persona(name, traits, character=character, attributes=attributes, game=game)
