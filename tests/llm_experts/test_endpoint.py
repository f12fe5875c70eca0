"""Endpoint resolution and the pre-flight check: an unusable endpoint is one line, at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from llm_experts import (
    EndpointConfig,
    EndpointUnreachableError,
    LLMClient,
    ModelCallError,
    RetryPolicy,
)
from llm_experts.testing import FakeLLMServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABELS = ("reject", "accept")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replicate_cli(base_url: str, model: str, out) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SUBRATIONAL_LLM_MODEL",
                        "SUBRATIONAL_LLM_PROVIDER", "SUBRATIONAL_LLM_PREFLIGHT")}
    env.update(PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.replicate", "--budget", "tiny", "--games",
         "ultimatum", "--base-url", base_url, "--model", model, "--out", str(out / "results"),
         "--cache", str(out / "answers.sqlite"), "--no-progress", "--no-perf"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - started


@pytest.mark.slow
def test_cli_names_a_closed_port_in_one_line_without_retrying(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    proc, _ = replicate_cli(url, "x", tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert url in lines[0] and "connection refused" in lines[0]
    assert "start the server" in lines[0] and "BASE_URL" in lines[0]
    assert "max_retries" not in lines[0]
    # That it is not retried is shown without a clock in test_each_failure_is_named...
    assert not (tmp_path / "results" / "jobs").exists()  # stopped before any work


@pytest.mark.slow
def test_cli_names_a_model_the_server_does_not_serve(tmp_path):
    with FakeLLMServer(profile="vllm", model_id="served", strict_model=True) as server:
        proc, _ = replicate_cli(server.base_url, "x", tmp_path)
        assert server.request_count == 0  # not one model request was sent
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "model 'x' is not listed (it lists 'served')" in lines[0]
    assert "check the model name" in lines[0] and server.base_url in lines[0]


def _refusal(config: EndpointConfig) -> tuple[EndpointUnreachableError, float]:
    started = time.monotonic()
    with pytest.raises(EndpointUnreachableError) as info:
        LLMClient(config)
    return info.value, time.monotonic() - started


def test_each_failure_is_named_with_its_advice():
    # A first backoff of 60 s: one retry would take a minute, so any answer well under
    # that (whatever the machine's load) shows it was not retried.
    error, seconds = _refusal(EndpointConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1",
                                             model="x", retry=RetryPolicy(backoff_base=60.0)))
    assert error.what == "connection refused" and "start the server" in error.advice
    assert seconds < 30 and "\n" not in str(error)
    error, _ = _refusal(EndpointConfig(base_url="http://no-such-host.invalid/v1", model="x"))
    assert error.what == "host not found (DNS)" and "check BASE_URL" in error.advice
    with FakeLLMServer() as server:
        # The base URL without /v1: the model list is not there.
        error, _ = _refusal(EndpointConfig(base_url=server.root_url, model="fake"))
        assert error.what.startswith("HTTP 404") and "ends in /v1" in error.advice
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        error, seconds = _refusal(EndpointConfig(base_url=url, model="x", timeout=0.5))
    assert "timeout" in error.what and 0.4 < seconds < 5
    assert isinstance(error, ModelCallError)  # callers catching ModelCallError still do


def test_a_model_not_listed_is_refused_before_any_request():
    with FakeLLMServer(profile="vllm", model_id="served", strict_model=True) as server:
        error, _ = _refusal(EndpointConfig(base_url=server.base_url, model="x"))
        assert "model 'x' is not listed (it lists 'served')" in error.what
        assert server.request_count == 0
        # Without the pre-flight, the server's own 404 comes back at once, not retried.
        client = LLMClient(EndpointConfig(base_url=server.base_url, model="x",
                                          provider="vllm", preflight=False))
        with pytest.raises(ModelCallError, match="does not exist.*check the") as info:
            client.score("p", LABELS)
        assert "failed:" in str(info.value) and server.request_count == 1
        # The served name passes.
        assert LLMClient(EndpointConfig(base_url=server.base_url, model="served")).score(
            "p", LABELS).valid


def test_names_that_serve_without_being_listed():
    # llama.cpp answers any model name with the model it has loaded.
    with FakeLLMServer(profile="llamacpp", model_id="/models/x.gguf") as server:
        assert LLMClient(EndpointConfig(base_url=server.base_url, model="any")).profile.name \
            == "llamacpp"
    # Ollama lists tags; the bare name means ":latest".
    with FakeLLMServer(profile="ollama", model_id="llama3:latest") as server:
        LLMClient(EndpointConfig(base_url=server.base_url, model="llama3"))
        _refusal(EndpointConfig(base_url=server.base_url, model="llama2"))


def test_a_refused_connection_mid_run_is_not_retried():
    server = FakeLLMServer()
    client = LLMClient(EndpointConfig(
        base_url=server.base_url, model="fake",
        retry=RetryPolicy(max_retries=4, backoff_base=1.0)))
    server.close()  # (a kept-alive connection would still be served: none is open yet)
    started = time.monotonic()
    with pytest.raises(EndpointUnreachableError, match="connection refused; start the server"):
        client.score("q", LABELS)
    assert time.monotonic() - started < 1 and client.usage.retries == 0


def test_the_preflight_can_be_turned_off(monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    monkeypatch.setenv("SUBRATIONAL_LLM_PREFLIGHT", "0")
    client = LLMClient(EndpointConfig(base_url=url, model="x", provider="vllm"))
    assert client.base_url == url
    with pytest.raises(EndpointUnreachableError):
        client.score("p", LABELS)
    assert client.usage.retries == 0
