"""Conformance: every game tabulates within each provider's documented limits.

The project's test server reproduces each provider's limits and error payloads
(``FakeLLMServer(profile=...)``); the expert must plan within them, degrade once where a 4xx
names a limit (recorded in the usage), and never loop or stop on an unhandled 4xx.
"""

from __future__ import annotations

import numpy as np
import pytest

from llm_experts import (
    CallBudgetError,
    EndpointConfig,
    EndpointLimitError,
    ExpertConfig,
    LLMClient,
    LLMExpert,
)
from llm_experts.personas import preset_names
from llm_experts.planted import VARIANTS
from llm_experts.testing import FakeLLMServer
from subrational_gym.registration import ENV_IDS

IDS = ENV_IDS
CASES = [("openai-chat", "openai"), ("openai-completions", "openai"), ("vllm", "vllm"),
         ("ollama", "ollama"), ("llamacpp", "llamacpp")]


def expert(server, tmp_path, game="ultimatum", kwargs=None, provider=None, **options):
    options.setdefault("progress", False)
    return LLMExpert(IDS[game], preset_names(game)[0], env_kwargs=kwargs or {},
                     endpoint=EndpointConfig(base_url=server.base_url, model="fake",
                                             api_key="none", provider=provider),
                     config=ExpertConfig(cache_path=tmp_path / "cache.sqlite", **options))


@pytest.mark.parametrize("mode", ["score", "sample"])
@pytest.mark.parametrize(("profile", "provider"), CASES)
def test_every_game_tabulates_within_the_profile(profile, provider, mode, tmp_path):
    with FakeLLMServer(profile=profile) as server:
        for game, kwargs in VARIANTS:
            e = expert(server, tmp_path, game, kwargs, provider=provider, mode=mode,
                       n_samples=4, concurrency=4)
            report = e.tabulate()
            assert report.complete, (profile, game, report.invalid[:1])
            rows = e.probs[e.model.decision_mask]
            np.testing.assert_allclose(rows.sum(axis=1), 1.0)
            if mode == "score":
                # The server prefers whatever is listed first (0.5 vs 0.3): both orders
                # averaged cancel it, and the report shows the order effect.
                np.testing.assert_allclose(rows, 0.5, atol=1e-9)
                assert report.order_effect_summary()["mean"] == pytest.approx(0.25)
                assert report.coverage_summary()["min"] == pytest.approx(0.8)
        degradations = e.usage.degradations
    if profile == "openai-completions":
        # A legacy completions model has no chat: the choice style falls back once.
        assert len(degradations) == 1 and "prompt style choice -> completion" in degradations[0]
    else:
        assert degradations == ()


@pytest.mark.parametrize(("profile", "provider", "expected"), [
    ("openai-completions", "generic", "completion top_logprobs 20 -> 5"),
    ("vllm", "llamacpp", "completion top_logprobs 100 -> 20"),
    ("ollama", "vllm", "one prompt per request"),
])
def test_a_refusal_naming_a_limit_degrades_once_and_is_recorded(profile, provider, expected,
                                                                tmp_path):
    with FakeLLMServer(profile=profile) as server:
        e = expert(server, tmp_path, provider=provider, concurrency=1)
        report = e.tabulate()
        assert report.complete
        assert len(report.usage.degradations) == 1 and expected in report.usage.degradations[0]
        refused = server.request_count - report.usage.model_calls
        assert refused == 1


def test_the_same_refusal_after_degrading_raises_instead_of_looping(tmp_path):
    class StubbornVLLM(FakeLLMServer):
        def _refusal(self, path, body):
            return 400, {"object": "error", "message": "Requested sample logprobs of 5, "
                         "which is greater than max allowed: 20", "type": "BadRequestError",
                         "param": None, "code": 400}

    with StubbornVLLM(profile="vllm") as server:
        client = LLMClient(EndpointConfig(base_url=server.base_url, model="fake",
                                          provider="llamacpp"))
        with pytest.raises(EndpointLimitError, match="max allowed: 20"):
            client.score("He decides to \"", ("reject", "accept"))
        assert server.request_count == 2
        assert len(client.usage.degradations) == 1


def test_detects_vllm_and_llamacpp_from_the_models_list():
    for profile, expected in (("vllm", "vllm"), ("llamacpp", "llamacpp"),
                              ("ollama", "generic")):
        with FakeLLMServer(profile=profile) as server:
            client = LLMClient(EndpointConfig(base_url=server.base_url, model="fake"))
            assert client.profile.name == expected and client.provider_detected


def test_low_coverage_state_is_invalid_with_its_coverage(tmp_path):
    with FakeLLMServer(default_fault="low-coverage") as server:
        report = expert(server, tmp_path).tabulate()
        assert not report.complete and len(report.invalid) == 11
        first = report.invalid[0]
        assert first.coverage == pytest.approx(0.05) and "below min_coverage 0.5" in first.error
        summary = report.coverage_summary()
        assert summary["below"] == 11 and summary["max"] == pytest.approx(0.05)
        lenient = expert(server, tmp_path, min_coverage=0.01).tabulate()
        assert lenient.complete and lenient.usage.model_calls == 0  # from the cache


def test_a_run_stopped_by_max_calls_resumes_without_repeating_a_call(tmp_path):
    with FakeLLMServer(profile="vllm") as server:
        stopped = expert(server, tmp_path, provider="generic", max_calls=7, concurrency=3)
        plan = stopped.plan()
        assert (plan.states, plan.calls) == (11, 44)  # two orders, up to two requests each
        with pytest.raises(CallBudgetError, match="max_calls=7"):
            stopped.tabulate()
        assert server.request_count == 7
        first = [b["prompt"] for b in server.bodies]
        resumed = expert(server, tmp_path, provider="generic")
        assert resumed.plan().cached_calls == 7
        report = resumed.tabulate()
        assert report.complete and report.usage.cache_hits == 7
        prompts = [b["prompt"] for b in server.bodies]
        assert len(prompts) == 22 and len(set(prompts)) == 22  # nothing asked twice
        assert set(first) <= set(prompts)


@pytest.fixture(scope="module")
def smollm2():
    """One SmolLM2-135M-Instruct server for the three flows below (each keeps its own answer
    cache; scores do not depend on the server's history, test_llm_server checks)."""
    from llm_experts import EmbeddedServer

    with EmbeddedServer("smollm2-135m-instruct") as server:
        yield server


@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.parametrize(("mode", "style"), [("score", "completion"), ("score", "choice"),
                                             ("sample", "choice")])
def test_the_real_embedded_server_behind_a_limit_of_20_alternatives(mode, style, tmp_path,
                                                                     smollm2):
    """SmolLM2-135M-Instruct serves completions and chat; treated as a vLLM endpoint (20
    alternatives, lists of prompts, guided_choice) the flow runs without a 4xx, and every
    state is either valid or invalid with its reason (and coverage, in score mode)."""
    e = LLMExpert(IDS["double_or_nothing"], "cautious",
                  endpoint=EndpointConfig(base_url=smollm2.base_url,
                                          model="smollm2-135m-instruct", provider="vllm"),
                  config=ExpertConfig(mode=mode, prompt_style=style, n_samples=2,
                                      cache_path=tmp_path / "c.sqlite", progress=False,
                                      concurrency=1))
    report = e.tabulate()
    assert e.client.logprobs_cap("completion") == e.client.logprobs_cap("chat") == 20
    assert report.tabulated + len(report.invalid) == 5
    assert report.usage.degradations == ()
    if mode == "score":
        assert set(report.coverage) == set(np.flatnonzero(e.model.decision_mask))
        for bad in report.invalid:
            assert bad.coverage is not None and bad.error
    else:
        assert report.tabulated == 5  # guided by the JSON schema, every answer is a letter


def test_an_endpoint_without_log_probabilities_switches_score_mode_to_sampling(tmp_path):
    """Score mode where the endpoint refuses log-probabilities: the expert switches to
    sample mode once, says so in the usage record, and every state gets a distribution."""
    with FakeLLMServer(profile="no-logprobs") as server:
        e = expert(server, tmp_path, provider="generic", mode="score", n_samples=4)
        report = e.tabulate()
        assert report.complete and e.mode == "sample"
        assert any("score -> sample" in d for d in report.usage.degradations)
        rows = e.probs[e.model.decision_mask]
        np.testing.assert_allclose(rows.sum(axis=1), 1.0)
        # A second tabulation (all cached) asks nothing and does not switch again.
        again = e.tabulate()
        assert again.usage.model_calls == 0 and not again.usage.degradations
    # Control: an endpoint with log-probabilities keeps score mode, with no switch.
    with FakeLLMServer(profile="llamacpp") as server:
        e = expert(server, tmp_path / "b", provider="llamacpp", mode="score")
        report = e.tabulate()
        assert report.complete and e.mode == "score" and not report.usage.degradations
