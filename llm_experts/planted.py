"""A planted-behaviour endpoint: an OpenAI-compatible "model" that is known theory.

The end-to-end positive control of the study. :class:`PlantedLLMServer` (an extension of
:class:`~llm_experts.testing.FakeLLMServer`) answers the experts' real completion prompts
with the label probabilities of theory policies whose parameters depend on the persona:
inequity aversion for the fairness persona and none for the income persona, patience
rising with the child's age, loss aversion for the cautious persona and loss seeking for
the risk-seeking one, present bias falling as the GPA rises (sophisticated, so it shows
in the commitment variant). It recognises the game state only from the prompt text, so a
run against it also proves that the prompts carry every fact of the state.

Point the replication at it and every finding must come out ``reproduced``, and the
model card must recover the planted parameters::

    python -m llm_experts.planted --port 8765 &
    make demo BASE_URL=http://127.0.0.1:8765/v1 MODEL=planted

The other scenarios (:data:`SCENARIOS`) plant known answers of every kind: effects of
other sizes and behaviour outside the fitted families (``reproduced``), one theory for
every persona and reversed effects (``not reproduced``)::

    python -m llm_experts.planted --port 8765 --scenario persona-blind &
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from llm_experts.personas import get_persona, preset_names
from llm_experts.prompts import build_prompt, label_orders
from llm_experts.testing import FakeLLMServer
from subrational_gym import make_env, policies
from subrational_gym.policies import TabularPolicy
from subrational_gym.studies import STUDIES

__all__ = ["PLANTED", "SCENARIOS", "PlantedLLMServer", "planted_policy",
           "planted_prompts", "planted_theory"]



def __getattr__(name: str) -> Any:
    """``VARIANTS``: the game variants the replication runs, ``(game, env kwargs)``."""
    if name == "VARIANTS":
        return _variants()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _variants() -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((game, dict(variant.env_kwargs)) for game, study in STUDIES.items()
                 for variant in study.variants)


Theory = tuple[str, Mapping[str, float]]


class _Planted(Mapping[tuple[str, str], Theory]):
    """``{(game, persona): theory}`` over the registered studies' planted tables."""

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def _table(self) -> dict[tuple[str, str], Theory]:
        return {(game, persona): theory for game, study in STUDIES.items()
                for persona, theory in getattr(study, self._attribute).items()}

    def __getitem__(self, key: tuple[str, str]) -> Theory:
        return self._table()[key]

    def __iter__(self) -> Any:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: Per (game, persona): the inference family that generates its answers and its parameters
#: (the scenario ``"human-size"``); each game's study plants its own.
PLANTED: Mapping[tuple[str, str], Theory] = _Planted("planted")
#: Behaviour outside the fitted families, and effects of other sizes (the scenarios
#: ``"outside-families"`` and ``"other-sizes"``); personas not named keep ``PLANTED``.
_OUTSIDE: Mapping[tuple[str, str], Theory] = _Planted("planted_outside")
_SIZES: Mapping[tuple[str, str], Theory] = _Planted("planted_sizes")
#: What each scenario plants, and the verdict every finding must then get.
SCENARIOS: Mapping[str, str] = {
    "human-size": "reproduced",
    "other-sizes": "reproduced",
    "outside-families": "reproduced",
    "persona-blind": "not reproduced",
    "reversed": "not reproduced",
}


def planted_theory(game: str, persona: str, scenario: str = "human-size") -> Theory:
    """The family and parameters planted for ``persona`` of ``game`` in ``scenario``.

    ``"persona-blind"`` plants the study's default persona's theory for every persona;
    ``"reversed"`` gives each persona the theory of its mirror in the study's order (the
    oldest child's to the youngest, the income persona's to the fairness persona). The
    theories are data of each game's study (``planted``, ``planted_outside``,
    ``planted_sizes``).

    Raises:
        ValueError: for an unknown scenario.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {list(SCENARIOS)}")
    study = STUDIES[game]
    names = list(study.persona_names)
    if scenario == "persona-blind":
        return PLANTED[(game, study.default_persona)]
    if scenario == "reversed":
        return PLANTED[(game, names[len(names) - 1 - names.index(persona)])]
    extra = {"outside-families": _OUTSIDE, "other-sizes": _SIZES}.get(scenario, {})
    return extra.get((game, persona), PLANTED[(game, persona)])


def planted_policy(game: str, persona: str, env_kwargs: Mapping[str, Any] | None = None,
                   scenario: str = "human-size") -> TabularPolicy:
    """The theory policy planted for ``persona`` in ``game``, via the reference policies."""
    env = make_env(game, **dict(env_kwargs or {}))
    family, p = planted_theory(game, persona, scenario)
    if family == "constant":
        from subrational_gym.controls import flat_policy

        return flat_policy(env.env_id, p["p"], env_kwargs)
    if family == "inequity_aversion":
        return policies.inequity_averse_responder(env, alpha=p["alpha"], beta=p["beta"],
                                                  temperature=p["temperature"])
    if family == "inequity_aversion_mixture":
        return policies.fehr_schmidt_population(env, temperature=p["temperature"])
    if family == "income_maximiser":
        return policies.income_maximiser(env, temperature=p["temperature"])
    if family == "exponential":
        return policies.exponential_discounter(env, gamma=p["gamma"],
                                               temperature=p["temperature"])
    if family == "prospect_theory":
        return policies.prospect_theory_gambler(
            env, alpha=p["curvature"], beta=p["curvature"], loss_aversion=p["loss_aversion"],
            gamma=p["weighting"], delta=p["weighting"], temperature=p["temperature"])
    return policies.beta_delta(env, beta=p["beta"], delta=p["delta"],
                               sophisticated=family == "beta_delta_sophisticated",
                               temperature=p["temperature"])


def planted_prompts(variants: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
                    scenario: str = "human-size") -> dict[str, dict[str, float]]:
    """Every completion prompt the experts send, with the planted label probabilities.

    Raises:
        ValueError: two decision states of a game variant and persona send the same prompt
            but the planted theory answers them differently (no model could then answer
            from the prompt alone). States that share a prompt must be equivalent, such as
            a commitment already met and no commitment at all.
    """
    table: dict[str, dict[str, float]] = {}
    for game, kwargs in _variants() if variants is None else variants:
        model = make_env(game, **dict(kwargs)).tabular_model()
        for name in preset_names(game):
            persona = get_persona(name, game=game)
            probs = planted_policy(game, name, kwargs, scenario).probs
            seen: dict[str, int] = {}
            for s in range(model.n_states):
                if not model.decision_mask[s]:
                    continue
                labels = model.action_labels[s]
                # Both label orders: the planted model has no position bias.
                for order in label_orders(len(labels)):
                    text = build_prompt(persona, game, model.descriptions[s], labels,
                                        order=order).text
                    first = seen.setdefault(text, s)
                    if first != s and not np.allclose(probs[first], probs[s], atol=1e-9):
                        raise ValueError(
                            f"{game} {dict(kwargs)} {name}: decision states {first} and {s} "
                            f"send the same prompt but call for different answers; the "
                            f"prompt must tell them apart")
                    # A probability of exactly 0 has no log-probability: floor it far below
                    # anything a fit could see.
                    table[text] = {label: max(float(p), 1e-12)
                                   for label, p in zip(labels, probs[s], strict=True)}
    return table


class PlantedLLMServer(FakeLLMServer):
    """An OpenAI-compatible server answering the experts' prompts with planted behaviour.

    A prompt it does not know gets no label among its top log-probabilities, so the
    expert reports that state invalid rather than inventing an answer.

    Args:
        port: Port on 127.0.0.1 (0: a free one).
        scenario: What is planted (a key of :data:`SCENARIOS`).
    """

    def __init__(self, *, port: int = 0, scenario: str = "human-size") -> None:
        super().__init__(token_probs={"hmm": 0.9},
                         continuations=planted_prompts(scenario=scenario), port=port,
                         model_id="planted")
        self.scenario = scenario

    def _probs_for(self, prompt: str) -> dict[str, float]:
        # Exact prompts only: a suffix match could answer a state it does not know.
        return dict(self.continuations.get(prompt, self.token_probs))


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the planted model until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m llm_experts.planted",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1")
    parser.add_argument("--scenario", default="human-size", choices=list(SCENARIOS),
                        help="what is planted; every finding must then come out: "
                        + ", ".join(f"{k}: {v}" for k, v in SCENARIOS.items())
                        + " (default: %(default)s)")
    args = parser.parse_args(argv)
    server = PlantedLLMServer(port=args.port, scenario=args.scenario)
    print(f"planted model ({args.scenario}) serving at {server.base_url} (model name: "
          f"planted); Ctrl-C to stop", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())


def check_card(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each planted parameter against the model card's fitted interval.

    Args:
        card: ``results/model_card.json`` of a replication against the planted endpoint.

    Returns:
        One row per (game, variant, persona, parameter): the planted family and value, the
        card's best family, its interval (None where the best family does not have the
        parameter) and ``inside``.
    """
    rows = []
    for entry in card["personas"]:
        family, params = PLANTED[(entry["game"], entry["persona"])]
        for name, value in params.items():
            ci = entry["ci"].get(name)
            rows.append({"game": entry["game"], "variant": entry["variant"],
                         "persona": entry["persona"], "planted_family": family,
                         "best_family": entry["best_family"], "parameter": name,
                         "planted": value, "interval": ci,
                         "inside": ci is not None and ci[0] <= value <= ci[1]})
    return rows
