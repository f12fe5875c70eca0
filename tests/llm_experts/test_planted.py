"""The end-to-end positive control: a planted-behaviour endpoint behind the real experts.

The planted server answers the experts' real prompts with known theory behaviour that
depends on the persona; through the whole model path (prompts, the openai client, score
mode, the answer cache) the structural hypotheses must come out reproduced and the fits
must recover the planted parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

from llm_experts import EndpointConfig, ExpertConfig, LLMExpert
from llm_experts.personas import preset_names
from llm_experts.planted import (
    PLANTED,
    SCENARIOS,
    PlantedLLMServer,
    planted_policy,
    planted_prompts,
)
from subrational_gym import hypotheses
from subrational_gym.inference import ActionCounts, fit
from subrational_gym.registration import ENV_IDS
from subrational_gym.studies import STUDIES

IDS = ENV_IDS


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    cache = tmp_path_factory.mktemp("planted") / "answers.sqlite"
    with PlantedLLMServer() as server:
        experts = _experts(server, cache)
        yield experts


def _counts(experts, game, seed=0):
    return {name: ActionCounts.sample(e, 500, seed=seed + i)
            for i, ((g, name), e) in enumerate(experts.items()) if g == game}


def test_the_prompts_carry_every_fact_of_the_state(planted):
    """The expert reads back exactly the planted behaviour from the prompts alone."""
    for (game, name), expert in planted.items():
        study = STUDIES[game]
        truth = planted_policy(game, name, study.variant(study.hypothesis_variant).env_kwargs)
        mask = expert.model.decision_mask
        np.testing.assert_allclose(expert.probs[mask], truth.probs[mask], atol=1e-6)


def test_every_finding_is_reproduced_through_the_model_path(planted):
    """Each study judges its personas' choices (keyed by name, roles read from the
    persona attributes) as the replication does."""
    for game, study in STUDIES.items():
        v = study.judge(_counts(planted, game))
        assert v.verdict == hypotheses.REPRODUCED, (v.game, v.reasons)


def _experts(server, cache):
    """Every persona's expert on its study's judged variant, tabulated through ``server``."""
    experts = {}
    for game, study in STUDIES.items():
        kwargs = dict(study.variant(study.hypothesis_variant).env_kwargs)
        for name in preset_names(game):
            expert = LLMExpert(IDS[game], name, env_kwargs=kwargs,
                               endpoint=EndpointConfig(base_url=server.base_url,
                                                       model="planted", api_key="none"),
                               config=ExpertConfig(cache_path=cache, progress=False))
            report = expert.tabulate()
            assert report.complete, report.invalid
            experts[(game, name)] = expert
    return experts


#: Misses on these draws, stated in docs/findings.md: at double or nothing's planned 297
#: episodes the gamblers of loss aversion 3.0 and 1.3 show the gamble gap, but the joint
#: fit does not order their loss aversion (+0.62 [-0.01, +1.73]); over 20 seeds such
#: gamblers are "reproduced" in 17 (docs/benchmarks/known_answers_planned.md).
KNOWN_MISSES = {("other-sizes", "double_or_nothing"): "inconclusive"}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "human-size"])
def test_each_scenario_gets_its_verdict_in_every_game(scenario, tmp_path):
    """Through the whole model path, at the demo budget (200 episodes per persona, or the
    study's planned number when more): one
    theory for every persona and reversed effects come out "not reproduced"; effects of
    other sizes and behaviour outside the fitted families "reproduced" (the human-size
    scenario is the test above)."""
    with PlantedLLMServer(scenario=scenario) as server:
        experts = _experts(server, tmp_path / "answers.sqlite")
    for game, study in STUDIES.items():
        data = {name: ActionCounts.sample(e, study.judged_episodes(200), seed=100 + i)
                for i, ((g, name), e) in enumerate(experts.items()) if g == game}
        v = study.judge(data)
        due = KNOWN_MISSES.get((scenario, game), SCENARIOS[scenario])
        assert v.verdict == due, (scenario, game, v.bottom_line, v.reasons)
        if (scenario, game) in KNOWN_MISSES:  # the gap is shown; only its mechanism is not
            assert v.interval[0] > 0 and "not shown more loss-averse" in v.bottom_line


def test_the_planted_prompts_tell_the_states_apart():
    """Two decision states may share a prompt only where every planted theory answers them
    alike (a commitment already met reads as none); else the table refuses to build."""
    import llm_experts.planted as planted_module

    for scenario in SCENARIOS:
        # The odds variant adds 30 states per persona (its 50% states read as the plain ones).
        assert len(planted_prompts(scenario=scenario)) == 296 + 2 * 2 * 30
    real = planted_module.planted_policy

    def state_dependent(game, persona, env_kwargs=None, scenario="human-size"):
        policy = real(game, persona, env_kwargs, scenario)
        probs = policy.probs.copy()
        probs[:, 1] = np.linspace(0.05, 0.95, len(probs))  # every state answered differently
        probs[:, 0] = 1 - probs[:, 1]
        return type(policy)(policy.model, probs)

    try:
        planted_module.planted_policy = state_dependent
        with pytest.raises(ValueError, match="send the same prompt"):
            planted_prompts([("procrastination", {"self_imposed_deadline": True})])
    finally:
        planted_module.planted_policy = real


def test_the_planted_server_lists_its_model_as_planted():
    import httpx

    with PlantedLLMServer() as server:
        models = httpx.get(f"{server.base_url}/models").json()
    assert [m["id"] for m in models["data"]] == ["planted"]


@pytest.mark.parametrize("key", [("ultimatum", "fairness"), ("marshmallow", "child-2"),
                                 ("marshmallow", "child-6"), ("procrastination", "gpa-2.0"),
                                 ("procrastination", "gpa-4.0")])
def test_fits_recover_the_planted_parameters(planted, key):
    """On the expert's expected choices over 500 episodes the fit lands on the planted
    parameters, inside intervals of that data size (coverage on sampled data is measured
    by benchmarks/model_recovery.py)."""
    family, params = PLANTED[key]
    result = fit(family, ActionCounts.from_policy(planted[key], 500))
    for name, value in params.items():
        assert result.covers(name, value), (name, value, result.ci[name])
        assert result.params[name] == pytest.approx(value, abs=0.01), name


def test_check_card_compares_planted_values_with_the_card(planted):
    """The check passes on a card fitted to the planted ultimatum personas, fails when a
    card's interval misses the planted value."""
    from llm_experts.planted import check_card
    from subrational_gym.model_card import card_entry

    entries = [card_entry(ActionCounts.from_policy(planted[("ultimatum", p)], 500),
                          variant="plain", persona=p).to_dict() for p in ("fairness", "income")]
    rows = check_card({"personas": entries})
    assert {r["parameter"] for r in rows} == {"alpha", "beta", "temperature"}
    assert all(r["inside"] for r in rows), rows
    entries[0]["ci"]["alpha"] = [0.0, 0.5]  # a card that missed the planted envy of 0.85
    assert not next(r for r in check_card({"personas": entries})
                    if r["parameter"] == "alpha")["inside"]
