from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys

import openai
import pytest

from llm_experts.cache import AnswerCache
from llm_experts.client import LLMClient
from llm_experts.errors import ConfigurationError
from llm_experts.server import EmbeddedServer, default_server, model_path

PROMPT = (
    "Jerry is an adult who cares a lot about fairness. A proposer has $10 to split and offers "
    'Jerry $2, keeping $8. Jerry can either "accept" or "reject" the offer.\nJerry decides to "'
)
LABELS = ("reject", "accept")


def test_unknown_model_lists_valid_ones():
    with pytest.raises(ConfigurationError, match="gemma-3-270m"):
        EmbeddedServer("gpt-5")


@pytest.mark.llm
def test_model_file_is_assembled_once(embedded):
    path = model_path()
    assert path.is_file() and path.stat().st_size > 200_000_000
    assert model_path() == path


@pytest.mark.llm
def test_embedded_server_answers_through_openai_client(embedded):
    assert default_server() is embedded
    client = openai.OpenAI(base_url=embedded.base_url, api_key="none", max_retries=0)
    response = client.completions.create(
        model="gemma-3-270m", prompt=PROMPT, max_tokens=1, logprobs=20, temperature=0
    )
    # llama.cpp uses the newer logprobs format: the legacy fields are empty.
    choice = response.choices[0]
    assert choice.logprobs is None or choice.logprobs.tokens is None
    top = choice.model_dump()["logprobs"]["content"][0]["top_logprobs"]
    assert len(top) == 20
    assert {"accept", "reject"} <= {entry["token"] for entry in top}
    assert sum(math.exp(entry["logprob"]) for entry in top) <= 1.0 + 1e-6


@pytest.mark.llm
def test_score_gives_a_valid_distribution(embedded, no_endpoint_env, tmp_path):
    client = LLMClient(cache=AnswerCache(tmp_path / "c.sqlite"))
    assert client.endpoint_id == embedded.endpoint_id  # stable across ports: cache keys too
    result = client.score(PROMPT, LABELS)
    assert result.valid and result.error is None
    assert len(result.probs) == 2 and sum(result.probs) == pytest.approx(1.0)
    assert all(0 < p < 1 for p in result.probs)
    assert 0.5 < result.coverage <= 1.0 + 1e-9
    usage = client.usage
    assert usage.model_calls >= 1 and usage.prompt_tokens > 20 and usage.completion_tokens >= 1
    again = LLMClient(cache=AnswerCache(tmp_path / "c.sqlite"))
    assert again.score(PROMPT, LABELS) == result
    assert again.usage.model_calls == 0


@pytest.mark.llm
def test_sample_mode_with_grammar_gives_labels(embedded, no_endpoint_env):
    client = LLMClient()
    result = client.sample_labels(PROMPT, LABELS, n=6, temperature=1.0, seed=1)
    assert sum(result.counts) == 6 and result.invalid == 0
    unconstrained = client.sample_labels(PROMPT, LABELS, n=4, seed=1, constrain=False)
    assert sum(unconstrained.counts) + unconstrained.invalid == 4


@pytest.mark.llm
@pytest.mark.slow
def test_openai_base_url_routes_to_second_instance(embedded, monkeypatch):
    with EmbeddedServer("smollm2-135m-instruct") as second:
        monkeypatch.setenv("OPENAI_BASE_URL", second.base_url)
        monkeypatch.setenv("SUBRATIONAL_LLM_MODEL", "smollm2")
        client = LLMClient()
        assert client.base_url == second.base_url and client.model == "smollm2"
        assert client.score(PROMPT, LABELS).valid
        models = openai.OpenAI(base_url=second.base_url, api_key="none").models.list()
        assert "SmolLM2" in models.data[0].id
        assert client.usage.model_calls >= 1
    assert second.closed


@pytest.mark.llm
@pytest.mark.slow
def test_cli_prints_base_url_and_stops_on_sigterm():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llm_experts.server",
            "--port",
            "0",
            "--model",
            "smollm2-135m-instruct",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        # The start message names everything needed to use it: URL, model and provider.
        message = "".join(proc.stdout.readline() for _ in range(3))
        assert f"OPENAI_BASE_URL={base_url}" in message
        assert "SUBRATIONAL_LLM_MODEL=smollm2-135m-instruct" in message
        assert "PROVIDER=llamacpp" in message
        listed = openai.OpenAI(base_url=base_url, api_key="none").models.list()
        assert json.loads(listed.model_dump_json())["data"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _state_prompts(n_per_game=3):
    from llm_experts.personas import get_persona
    from llm_experts.prompts import build_prompt
    from subrational_gym import make_env

    prompts = []
    for game, persona in (("ultimatum", "fairness"), ("marshmallow", "child-4")):
        model = make_env(game).tabular_model()
        states = [s for s in range(model.n_states) if model.decision_mask[s]][:n_per_game]
        for s in states:
            for order in ((0, 1), (1, 0)):
                prompts.append(build_prompt(get_persona(persona, game=game), game,
                                            model.descriptions[s], model.action_labels[s],
                                            order=order).text)
    return prompts


@pytest.mark.llm
def test_scores_do_not_depend_on_server_history_or_concurrency(no_endpoint_env):
    """The same prompt gives the same distribution on a fresh and a warm server, in any
    order, at concurrency 1 and 4 (llama.cpp's defaults moved them by up to 0.1), and with
    another number of inference threads."""
    from concurrent.futures import ThreadPoolExecutor

    prompts = _state_prompts(n_per_game=2)

    def top(client, i):
        response = client.completions.create(
            model="gemma-3-270m", prompt=prompts[i], max_tokens=1, logprobs=20,
            temperature=0)
        logprobs = response.choices[0].model_dump()["logprobs"]
        entries = logprobs["content"][0]["top_logprobs"]
        return {e["token"]: math.exp(e["logprob"]) for e in entries}

    with EmbeddedServer("gemma-3-270m", n_threads=1) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="none", max_retries=0)
        fresh = [top(client, i) for i in range(len(prompts))]
        warm = {i: top(client, i) for i in reversed(range(len(prompts)))}
        with ThreadPoolExecutor(4) as pool:
            order = [5, 0, 7, 3, 1, 6, 2, 4]
            concurrent = dict(zip(order, pool.map(lambda i: top(client, i), order),
                                  strict=True))
    with EmbeddedServer("gemma-3-270m", n_threads=2) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="none", max_retries=0)
        two_threads = {i: top(client, i) for i in range(0, len(prompts), 2)}  # one per game
    for i, expected in enumerate(fresh):
        for other in (warm[i], concurrent[i], two_threads.get(i, warm[i])):
            assert set(other) == set(expected)
            for token, p in expected.items():
                assert abs(other[token] - p) <= 1e-6, (i, token, other[token], p)


def test_thread_count_comes_from_the_environment(monkeypatch):
    from llm_experts.errors import ConfigurationError
    from llm_experts.server import default_threads

    monkeypatch.delenv("SUBRATIONAL_LLM_THREADS", raising=False)
    assert default_threads() == 1
    monkeypatch.setenv("SUBRATIONAL_LLM_THREADS", "3")
    assert default_threads() == 3
    for bad in ("0", "two"):
        monkeypatch.setenv("SUBRATIONAL_LLM_THREADS", bad)
        with pytest.raises(ConfigurationError, match=f"got '{bad}'.*SUBRATIONAL_LLM_THREADS=1"):
            default_threads()
