from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import gymnasium as gym
import numpy as np
import pytest

from llm_experts.testing import FAKE_API_KEY as FAKE_KEY

pytest.importorskip("subrational_gym.policies")

from llm_experts import (  # noqa: E402
    AnswerCache,
    DemonstrationFileError,
    EndpointConfig,
    ExpertConfig,
    InvalidStateError,
    LLMExpert,
    load_demonstrations,
    save_demonstrations,
)
from llm_experts.errors import ConfigurationError  # noqa: E402
from llm_experts.personas import PRESETS, get_persona  # noqa: E402
from llm_experts.prompts import build_prompt  # noqa: E402
from llm_experts.testing import FakeLLMServer  # noqa: E402

ENV = "Subrational/Ultimatum-v0"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fake_expert(server, tmp_path, **kwargs):
    kwargs.setdefault("progress", False)
    return LLMExpert(
        ENV,
        "fairness",
        endpoint=EndpointConfig(base_url=server.base_url, model="fake", api_key=FAKE_KEY),
        config=ExpertConfig(cache_path=tmp_path / "cache.sqlite", **kwargs),
    )


def test_no_progress_bar_escape_codes_off_a_terminal(tmp_path, capsys):
    # Under pytest stderr is captured (not a terminal): the bar must not draw there.
    with FakeLLMServer(token_probs={"reject": 0.2, "accept": 0.6}) as server:
        assert fake_expert(server, tmp_path, progress=True).tabulate().complete
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b[" not in err and "state/s" not in err


class TestPersonasAndPrompts:
    def test_presets_of_the_paper(self):
        assert {"fairness", "income", "cautious", "risk-seeking"} <= set(PRESETS)
        assert [PRESETS[f"child-{a}"].attributes["age"] for a in range(2, 7)] == [2, 3, 4, 5, 6]
        assert PRESETS["gpa-3.0"].attributes["gpa"] == 3.0

    def test_unknown_persona_lists_valid_ones(self):
        with pytest.raises(ConfigurationError, match=r"'fairness', 'income'"):
            get_persona("greedy", game="ultimatum")
        with pytest.raises(ConfigurationError, match="made for marshmallow"):
            get_persona("child-3", game="ultimatum")

    @pytest.mark.parametrize("style", ["completion", "cot", "chat"])
    def test_prompt_styles(self, style):
        prompt = build_prompt(
            PRESETS["fairness"], "ultimatum", "Offer: $3.", ("reject", "accept"), style=style
        )
        assert prompt.version == f"ultimatum-2/{style}"
        rendered = str(prompt.payload)
        assert '"reject" or "accept"' in rendered and "fairness" in rendered
        if style == "completion":
            assert prompt.text.endswith('Jerry decides to "')
        reversed_ = build_prompt(PRESETS["fairness"], "ultimatum", "Offer: $3.",
                                 ("reject", "accept"), style=style, order=(1, 0))
        assert '"accept" or "reject"' in str(reversed_.payload)
        assert reversed_.version == prompt.version and reversed_.order == (1, 0)

    def test_choice_style_letters_follow_the_order(self):
        labels = ("reject", "accept")
        for order, options in (((0, 1), ("A", "B")), ((1, 0), ("B", "A"))):
            prompt = build_prompt(PRESETS["fairness"], "ultimatum", "Offer: $3.", labels,
                                  style="choice", order=order)
            assert prompt.options == options
            user = prompt.messages[1]["content"]
            for action, letter in enumerate(options):
                assert f"{letter}) {labels[action]}" in user
        with pytest.raises(ConfigurationError, match="permutation"):
            build_prompt(PRESETS["fairness"], "ultimatum", "x", labels, order=(0, 0))


class TestExpertWithFakeServer:
    def test_distribution_rollout_and_cache(self, tmp_path):
        with FakeLLMServer(token_probs={"reject": 0.2, "accept": 0.6}) as server:
            expert = fake_expert(server, tmp_path, concurrency=3)
            report = expert.tabulate()
            assert report.complete and report.n_decision_states == 11
            # Both label orders of every state; this generic server takes one prompt a call.
            assert server.request_count == 22 and report.usage.model_calls == 22
            assert report.orders == 2 and report.calls_per_state == 2.0
            probs = expert.probs
            decision = expert.model.decision_mask
            np.testing.assert_allclose(probs[decision], [[0.25, 0.75]] * 11)
            np.testing.assert_allclose(probs[~decision], 0.5)
            # Rollouts after tabulation need no calls; a second expert replays the cache.
            env = gym.make(ENV)
            obs, _ = env.reset(seed=0)
            assert expert.action_distribution(obs[None]).shape == (1, 2)
            again = fake_expert(server, tmp_path)
            again.tabulate()
            assert again.usage.model_calls == 0 and again.usage.cache_hits == 22
            assert server.request_count == 22

    def test_invalid_state_is_reported_and_raises_in_rollout(self, tmp_path):
        with FakeLLMServer(default_fault="missing-label") as server:
            expert = fake_expert(server, tmp_path)
            report = expert.tabulate()
            assert not report.complete and len(report.invalid) == 11
            assert "got no probability" in report.invalid[0].error
            obs, _ = gym.make(ENV).reset(seed=0)
            with pytest.raises(InvalidStateError, match="no valid answer.*Fix:"):
                expert(obs[None])
            # Reading probs never calls the model: the unanswered rows are NaN.
            asked = server.request_count
            assert np.isnan(expert.probs[expert.model.decision_mask]).all()
            assert server.request_count == asked
            with pytest.raises(InvalidStateError, match="no valid answer"):
                expert.complete_table()

    def test_sample_mode_counts_answers(self, tmp_path):
        with FakeLLMServer(texts=['accept"', 'reject"', "I'm sorry, I can't."]) as server:
            expert = fake_expert(server, tmp_path, mode="sample", n_samples=4, max_reasks=1)
            expert.tabulate()
            rows = expert.probs[expert.model.decision_mask]
            assert np.allclose(rows.sum(axis=1), 1.0)
            assert expert.usage.reasks > 0


def _run_tabulation(url, cache, tag):
    script = textwrap.dedent(
        f"""
        from llm_experts import EndpointConfig, ExpertConfig, LLMExpert
        e = LLMExpert({ENV!r}, "fairness",
                      endpoint=EndpointConfig(base_url={url!r}, model="fake",
                                              api_key={FAKE_KEY!r}),
                      config=ExpertConfig(cache_path={str(cache)!r}, concurrency=2,
                                          progress=False))
        print({tag!r}, e.tabulate().tabulated, flush=True)
        """
    )
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )


@pytest.mark.slow
def test_killed_tabulation_resumes_without_repeating(tmp_path):
    cache_path = tmp_path / "cache.sqlite"
    with FakeLLMServer(default_fault="delay", delay=0.25) as server:
        proc = _run_tabulation(server.base_url, cache_path, "first")
        deadline = time.monotonic() + 60
        while server.answered < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        with AnswerCache(cache_path) as cache:
            assert cache.integrity_check() == "ok"
            cached = len(cache)
            committed = {cache.get(key)["id"] for key in cache.keys()}
        assert 1 <= cached < 22  # 11 states, two label orders each
        # A request cut off by the kill may arrive without its body.
        asked_before = {b["prompt"] for b in server.bodies if "prompt" in b}
        server.reset_counts()
        proc = _run_tabulation(server.base_url, cache_path, "second")
        out, _ = proc.communicate(timeout=60)
        assert out.split() == ["second", "11"]
        # Only what was not cached is asked again: never an answer already committed.
        assert server.request_count == 22 - cached
        asked_again = {
            "fake-" + hashlib.sha256(b["prompt"].encode()).hexdigest()[:16] for b in server.bodies
        }
        assert not committed & asked_again
        assert len(asked_before | {b["prompt"] for b in server.bodies}) == 22
    with AnswerCache(cache_path) as cache:
        assert len(cache) == 22 and cache.integrity_check() == "ok"


@pytest.mark.slow
def test_two_processes_tabulate_into_one_cache(tmp_path):
    cache_path = tmp_path / "cache.sqlite"
    with FakeLLMServer(default_fault="delay", delay=0.05) as server:
        procs = [_run_tabulation(server.base_url, cache_path, tag) for tag in ("a", "b")]
        outs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert sorted(outs) == [["a", "11"], ["b", "11"]]
    with AnswerCache(cache_path) as cache:
        assert len(cache) == 22 and cache.integrity_check() == "ok"


def test_malformed_demonstrations_file(tmp_path):
    with pytest.raises(DemonstrationFileError, match="does not exist"):
        load_demonstrations(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dataset_info.json").write_text("{not json")
    with pytest.raises(DemonstrationFileError, match="not a demonstrations dataset"):
        load_demonstrations(bad)


@pytest.mark.llm
def test_embedded_expert_rollout_and_demonstrations(embedded, no_endpoint_env, tmp_path):
    from imitation.data import rollout
    from imitation.data.wrappers import RolloutInfoWrapper
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([lambda: RolloutInfoWrapper(gym.make(ENV))])
    config = ExpertConfig(cache_path=tmp_path / "c.sqlite", progress=False)
    expert = LLMExpert(ENV, persona="fairness", config=config)
    report = expert.tabulate()
    assert report.complete, report.invalid
    calls = expert.usage.model_calls
    trajectories = rollout.rollout(
        expert, venv, rollout.make_sample_until(min_episodes=20), rng=np.random.default_rng(0)
    )
    assert expert.usage.model_calls == calls  # rollouts need no further calls
    probs = expert.action_distribution(venv.reset()[0])
    assert probs.shape == (1, 2) and np.isclose(probs.sum(), 1.0)
    path = save_demonstrations(tmp_path / "demos", trajectories)
    assert len(load_demonstrations(path)) == len(trajectories) >= 20
    second = LLMExpert(ENV, persona="fairness", config=config)
    second.tabulate()
    assert second.usage.model_calls == 0
    np.testing.assert_allclose(second.probs, expert.probs)


def test_presets_are_the_study_personas():
    """The model plays exactly the personas the study records declare, with their data."""
    from llm_experts.personas import PRESETS, preset_names
    from subrational_gym.studies import STUDIES

    for game, study in STUDIES.items():
        assert preset_names(game) == study.persona_names
        for spec in study.personas:
            preset = PRESETS[spec.name]
            assert (preset.traits, dict(preset.attributes), preset.game) == (
                spec.traits, dict(spec.attributes), game)
