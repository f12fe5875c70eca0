"""A fifth game through the public path only: its env module, its study module, one row.

A toy "coin or wait" game (take one coin now, or wait one step for ``later`` coins) is
written to a temporary directory as two modules, the env and its study, and registered
with :func:`~subrational_gym.registration.register_game` and
:func:`~subrational_gym.studies.register_study`; nothing in the library is edited. A
subprocess (so the registration does not leak into the other tests) then runs what the
generic modules derive for it: ``gym.make`` and ``make_vec``, the behaviour summary, the
hypothesis on its controls (the known answers), an inference fit and comparison, the
human-fidelity score, the prompts and the planted theories.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ENV_MODULE = '''
"""Coin or wait: one coin now, or ``later`` coins after waiting one step."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from subrational_gym.core import Outcome, SubrationalEnv
from subrational_gym.errors import UnknownObservationError


class Move(IntEnum):
    TAKE = 0
    WAIT = 1


class CoinState(NamedTuple):
    t: int
    status: str  # "deciding", "waiting", "took", "paid"


_STATES = (CoinState(0, "deciding"), CoinState(1, "waiting"), CoinState(1, "took"),
           CoinState(2, "took"), CoinState(2, "paid"))


class CoinOrWaitEnv(SubrationalEnv[CoinState]):
    """Take one coin now, or wait a step and get ``later`` coins."""

    game = "coin_or_wait"
    env_id = "Toy/CoinOrWait-v0"
    Action = Move

    def __init__(self, *, later: float = 2.0, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        self.later = float(later)
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)

    @property
    def horizon(self) -> int:
        return 2

    def _kwargs(self) -> dict[str, Any]:
        return {"later": self.later}

    def _start_states(self) -> list[CoinState]:
        return [_STATES[0]]

    def _initial_outcomes(self, options: Mapping[str, Any]) -> list[tuple[float, CoinState]]:
        return [(1.0, _STATES[0])]

    def _outcomes(self, state: CoinState, action: int) -> list[Outcome]:
        if state.status == "deciding":
            if action == Move.TAKE:
                return [(1.0, CoinState(1, "took"), 1.0)]
            return [(1.0, CoinState(1, "waiting"), 0.0)]
        if state.status == "waiting":
            return [(1.0, CoinState(2, "paid"), self.later)]
        return [(1.0, CoinState(state.t + 1, state.status), 0.0)]

    def _observe(self, state: CoinState) -> np.ndarray:
        return np.array([state.t / 2, float(state.status in ("took",)),
                         float(state.status == "paid")], dtype=np.float32)

    def _decode(self, observation: np.ndarray) -> CoinState:
        for state in _STATES:
            if np.array_equal(self._observe(state), observation):
                return state
        raise UnknownObservationError(f"{observation.tolist()} is not a coin-or-wait state")

    def _describe(self, state: CoinState) -> str:
        if state.status == "deciding":
            return (f"You can take one coin now, or wait and get {self.later:g} coins "
                    f"later.")
        return f"You are {state.status}."

    def _labels(self, state: CoinState) -> tuple[str, ...]:
        return ("take", "wait")
'''

STUDY_MODULE = '''
"""The coin-or-wait study: the patient persona waits more often than the impatient one."""

from __future__ import annotations

from typing import Any

from subrational_gym import policies
from subrational_gym.controls import flat_policy, pairs, standard_expected, uniform_policy
from subrational_gym.human_figures import HumanFigure
from subrational_gym.registration import register_game
from subrational_gym.studies import PersonaSpec, Sesoi, Study, Variant, register_study

GAME = "coin_or_wait"
ENV_ID = "Toy/CoinOrWait-v0"
register_game(GAME, ENV_ID, "coin_or_wait_env:CoinOrWaitEnv")

SESOI = Sesoi(0.25, "difference in the share waiting", "a toy margin")


def summary(env, model, probs, occ, meanings) -> dict[str, Any]:
    wait = float(probs[0, 1])
    return {"choice": [0], "wait": [wait], "waited": wait}


def rule(patient, impatient) -> Any:
    """The patient persona waits more often than the impatient one."""
    from subrational_gym.hypotheses import decision_counts, make_verdict
    from subrational_gym.verdicts import behaviour_effect

    def first(m):
        return m.t == 0

    effect = behaviour_effect(
        {"patient": decision_counts(patient, first),
         "impatient": decision_counts(impatient, first)},
        {"patient": 1.0, "impatient": 0.0}, sesoi=SESOI.value,
        name="share waiting, patient minus impatient persona")
    return make_verdict(GAME, "The patient persona waits more often.", effect, None, [], {},
                        "the two personas wait alike")


def controls():
    def agent(gamma: float) -> Any:
        return policies.exponential_discounter(ENV_ID, gamma=gamma, temperature=0.3)

    patient, impatient = agent(0.9), agent(0.4)
    return pairs("patient", "impatient", [
        ("theory personas, human-size effect", patient, impatient),
        ("outside the fitted families", flat_policy(ENV_ID, 0.9), flat_policy(ENV_ID, 0.2)),
        ("persona-blind, human-like noise", agent(0.5), agent(0.5)),
        ("reversed effect", impatient, patient),
        ("effect below the SESOI", flat_policy(ENV_ID, 0.55), flat_policy(ENV_ID, 0.5)),
        ("state- and persona-blind constant", flat_policy(ENV_ID, 0.5),
         flat_policy(ENV_ID, 0.5)),
        ("uniform random", uniform_policy(ENV_ID), uniform_policy(ENV_ID)),
    ])


STUDY = register_study(Study(
    game=GAME, title="Coin or wait", axes=("choice", "P(wait)"),
    personas=(PersonaSpec("patient", "a patient adult", {"patience": "high"}),
              PersonaSpec("impatient", "an impatient adult", {"patience": "low"})),
    variants=(Variant("plain"),), hypothesis_variant="plain", default_persona="patient",
    key_metric_name="P(wait)", summary_fn=summary,
    curve_fn=lambda s: (s["choice"], s["wait"]), key_metric_fn=lambda s: s["waited"],
    headline_fn=lambda s: f"waits {s['waited']:.2f}",
    references_fn=lambda env: [policies.exponential_discounter(env, gamma=0.9)],
    contrast_fn=lambda: [],
    rule=rule,
    judge_fn=lambda st, data, seed: rule(st.role(data, "patience", "high"),
                                         st.role(data, "patience", "low")),
    sesoi=SESOI, criterion=f"patient minus impatient share waiting above {SESOI.value:g}",
    controls_fn=controls, controls_key=None, expected=standard_expected(),
    figures=(HumanFigure(GAME, "adults waiting for twice the coins", 0.6, 0.8, "a toy source",
                         "waited", population="adults"),),
    extractors={"waited": lambda s: s["waited"]},
    scored_populations=("adults",), scored_population="adults",
    prompt_version="coin_or_wait-1", scene="{c} is offered coins.",
    chat_scene="You are offered coins.",
    planted={"patient": ("exponential", {"gamma": 0.9, "temperature": 0.3}),
             "impatient": ("exponential", {"gamma": 0.4, "temperature": 0.3})},
    families=("exponential",),
))
'''

SCRIPT = '''
import json
import gymnasium as gym
import numpy as np

import coin_or_wait_study  # the game's study module registers the game and its study
from subrational_gym import ENV_IDS, controls, hypotheses, make_env, policies
from subrational_gym.evaluation import behaviour_summary
from subrational_gym.human_data import figures_for, game_score
from subrational_gym.inference import FAMILIES, ActionCounts, compare, fit
from subrational_gym.studies import STUDIES, get_study
from subrational_gym.vector import SubrationalVectorEnv
from llm_experts.personas import get_persona, preset_names
from llm_experts.planted import planted_policy, planted_prompts
from llm_experts.prompts import PROMPT_VERSIONS, build_prompt

out = {"env_ids": dict(ENV_IDS), "studies": list(STUDIES)}
env = gym.make("Toy/CoinOrWait-v0")
obs, _ = env.reset(seed=0)
out["step"] = env.step(1)[1:3]
out["vector"] = type(SubrationalVectorEnv("Toy/CoinOrWait-v0", 3)).__name__
study = get_study("Toy/CoinOrWait-v0")
game = make_env("coin_or_wait")
patient = policies.exponential_discounter(game, gamma=0.9, temperature=0.3)
out["summary"] = behaviour_summary(game, patient)
out["known_answers"] = [(r["control"], r["verdict"], r["expected"])
                        for r in controls.known_answers(1000, seed=0, games=["coin_or_wait"])]
out["sesoi"] = hypotheses.SESOI["coin_or_wait"].value
counts = ActionCounts.sample(patient, 2000, seed=1)
result = fit("exponential", counts)
out["fit"] = {"gamma": result.params["gamma"], "ci": list(result.ci["gamma"]),
              "game": result.game}
out["families"] = list(FAMILIES["coin_or_wait"])
out["best"] = compare(counts, ci=False).best.family
judged = study.judge({"patient": counts,
                      "impatient": ActionCounts.sample(
                          policies.exponential_discounter(game, gamma=0.4, temperature=0.3),
                          2000, seed=2)})
out["judged"] = judged.verdict
out["figures"] = len(figures_for("coin_or_wait"))
score = game_score("coin_or_wait", {None: patient})
out["score"] = [len(score.figures), score.informative, score.figures[0].value]
out["personas"] = list(preset_names("coin_or_wait"))
out["prompt"] = build_prompt(get_persona("patient", game="coin_or_wait"), "coin_or_wait",
                             game.describe(obs), ("take", "wait")).text
out["prompt_version"] = PROMPT_VERSIONS["coin_or_wait"]
out["planted"] = planted_policy("coin_or_wait", "patient").probs[0].tolist()
out["planted_prompts"] = len(planted_prompts([("coin_or_wait", {})]))
print(json.dumps(out))
'''


def test_fifth_game_through_the_public_path(tmp_path: Path) -> None:
    (tmp_path / "coin_or_wait_env.py").write_text(textwrap.dedent(ENV_MODULE))
    (tmp_path / "coin_or_wait_study.py").write_text(textwrap.dedent(STUDY_MODULE))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)]),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT)], env=env,
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["env_ids"]["coin_or_wait"] == "Toy/CoinOrWait-v0"
    assert out["studies"][:4] == ["ultimatum", "marshmallow", "double_or_nothing",
                                  "procrastination"] and out["studies"][4] == "coin_or_wait"
    assert out["step"] == [0.0, False] and out["vector"] == "SubrationalVectorEnv"
    # gamma 0.9 values 2 coins later at 1.8 against 1 now: mostly waits.
    assert 0.9 < out["summary"]["waited"] < 1.0
    # The hypothesis on its controls: every known answer as expected.
    assert len(out["known_answers"]) == 7
    assert all(v == e for _, v, e in out["known_answers"]), out["known_answers"]
    assert out["sesoi"] == 0.25
    # The fit: gamma is identified only through the wait/take odds; the truth is inside.
    lo, hi = out["fit"]["ci"]
    assert lo <= 0.9 <= hi and out["fit"]["game"] == "coin_or_wait"
    assert out["families"] == ["exponential"] and out["best"] == "exponential"
    assert out["judged"] == "reproduced"
    # One figure, scored on the patient policy; a constant matches a single range, so
    # the game is not informative (the generic rule, applied to the new game).
    assert out["figures"] == 1 and out["score"][:2] == [1, False]
    assert abs(out["score"][2] - out["summary"]["waited"]) < 1e-12
    assert out["personas"] == ["patient", "impatient"]
    assert out["prompt"].startswith("Jerry is a patient adult. Jerry is offered coins.\n")
    assert out["prompt_version"] == "coin_or_wait-1"
    assert out["planted"][1] > 0.9 and out["planted_prompts"] == 4
