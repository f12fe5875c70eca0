"""The study records: one per game, validated, and judged on personas read as data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from subrational_gym import ENV_IDS, ParameterError, policies
from subrational_gym.controls import uniform_policy
from subrational_gym.evaluation import behaviour_summary
from subrational_gym.hypotheses import NOT_REPRODUCED, REPRODUCED
from subrational_gym.inference import ActionCounts
from subrational_gym.studies import STUDIES, PersonaSpec, get_study

pytestmark = pytest.mark.core  # runs on the core install (Gymnasium 1.x in make test)


def test_one_study_per_registered_game():
    assert list(STUDIES) == list(ENV_IDS)
    for game, study in STUDIES.items():
        assert study.env_id == ENV_IDS[game] and get_study(study.env_id) is study
        assert study.variants[0].name == "plain" and study.criterion
        assert study.default_persona in study.persona_names
        assert all(f.game == game for f in study.human_figures)


def test_unknown_game_names_the_valid_ones():
    with pytest.raises(ParameterError, match="no study for 'poker'.*ultimatum"):
        get_study("poker")


@pytest.mark.parametrize("game", list(STUDIES))
def test_curves_key_metrics_and_references_on_every_game(game):
    study = STUDIES[game]
    for variant in study.variants:
        env = study.make_env(variant.name)
        chance = behaviour_summary(env, uniform_policy(study.env_id, variant.env_kwargs))
        xs, ys = study.curve(chance)
        assert len(xs) == len(ys) > 1 and all(0.0 <= y <= 1.0 for y in ys)
        assert np.isfinite(study.key_metric(chance)) and study.headline(chance)
        refs = study.reference_policies(env)
        assert refs and all(p.model.n_states == env.tabular_model().n_states for p in refs)
    for kwargs, pol in study.contrast_policies():
        assert pol.model.n_states == study.make_env(
            next(v.name for v in study.variants if dict(v.env_kwargs) == kwargs)
        ).tabular_model().n_states


def test_invalid_records_are_refused_with_the_fix():
    study = STUDIES["ultimatum"]
    with pytest.raises(ParameterError, match="default_persona 'child-4'.*fairness"):
        dataclasses.replace(study, default_persona="child-4")
    with pytest.raises(ParameterError, match="duplicate persona names"):
        dataclasses.replace(study, personas=study.personas * 2)
    with pytest.raises(ParameterError, match="hypothesis_variant 'commit'"):
        dataclasses.replace(study, hypothesis_variant="commit")
    with pytest.raises(ParameterError, match="persona name must be a non-empty string"):
        PersonaSpec("", "an adult")
    with pytest.raises(ParameterError, match="no persona 'gpa-2.0'.*fairness"):
        study.persona("gpa-2.0")


def test_judge_reads_the_roles_from_the_persona_attributes():
    """The same data under swapped persona names flips the verdict: roles are data."""
    study = STUDIES["ultimatum"]
    env = study.make_env()
    fair = ActionCounts.sample(policies.inequity_averse_responder(env, temperature=0.5), 500,
                               seed=0)
    income = ActionCounts.sample(policies.income_maximiser(env, temperature=0.5), 500, seed=1)
    assert study.judge({"fairness": fair, "income": income}).verdict == REPRODUCED
    assert study.judge({"fairness": income, "income": fair}).verdict == NOT_REPRODUCED
    with pytest.raises(KeyError, match="motive='income'"):
        study.judge({"fairness": fair})
    with pytest.raises(ParameterError, match="no persona 'child-4'"):
        study.judge({"fairness": fair, "child-4": income})
