from __future__ import annotations

import logging
import time

import pytest

from llm_experts.cache import AnswerCache, ProvenanceLog
from llm_experts.client import (
    EndpointConfig,
    LLMClient,
    RetryPolicy,
    SampleSettings,
    parse_answer,
)
from llm_experts.errors import ConfigurationError, ModelCallError
from llm_experts.scorer import ScoreSettings
from llm_experts.testing import FAKE_API_KEY as FAKE_KEY
from llm_experts.testing import FakeLLMServer

LABELS = ("reject", "accept")


def make_client(server, tmp_path=None, *, retry=None, timeout=None, structured=None):
    retry = retry or RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
    stores = {}
    if tmp_path is not None:
        stores = {"cache": AnswerCache(tmp_path / "cache.sqlite"),
                  "provenance": ProvenanceLog(tmp_path / "prov.jsonl")}
    endpoint = EndpointConfig(base_url=server.base_url, model="fake", api_key=FAKE_KEY,
                              retry=retry, timeout=timeout)
    return LLMClient(endpoint, sampling=SampleSettings(structured=structured), **stores)


class TestParseAnswer:
    @pytest.mark.parametrize(
        ("text", "open_quote", "label"),
        [
            ('accept" the offer because', True, "accept"),
            ("Reject", False, "reject"),
            ('{"decision": "accept"}', False, "accept"),
            ("Reject and accept are both fine...\nAnswer: accept", False, "accept"),
            ("I will ACCEPT.", False, "accept"),
        ],
    )
    def test_valid(self, text, open_quote, label):
        assert parse_answer(text, LABELS, open_quote=open_quote).label == label

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("", "empty answer"),
            ("I'm sorry, but I can't help with that.", "refusal"),
            ("think about it", "names no action"),
            ("accept or reject", "names several actions"),
            ("acceptance", "names no action"),
        ],
    )
    def test_invalid(self, text, error):
        parsed = parse_answer(text, LABELS)
        assert parsed.label is None and not parsed.valid
        assert error in parsed.error and '"reject" or "accept"' in parsed.error

    def test_bad_labels(self):
        with pytest.raises(ConfigurationError, match="differ ignoring case"):
            parse_answer("x", ["a", "A"])


class TestScoreFolding:
    def test_folds_case_space_and_multi_token_labels(self, tmp_path):
        probs = {"re": 0.4, "Accept": 0.2, " accept": 0.1, "acc": 0.05, "accepted": 0.05}
        continuations = {"re": {"ject": 0.5, "jected": 0.1}, "acc": {"ept": 0.8}}
        with FakeLLMServer(token_probs=probs, continuations=continuations) as server:
            result = make_client(server, tmp_path).score('He decides to "', LABELS)
        assert result.valid
        assert result.mass[0] == pytest.approx(0.4 * 0.5)
        assert result.mass[1] == pytest.approx(0.2 + 0.1 + 0.05 * 0.8)
        assert sum(result.probs) == pytest.approx(1.0)
        assert result.requests == 3  # first token, then the prefixes "re" and "acc"

    def test_label_with_no_mass_is_invalid(self, fake_server, tmp_path):
        fake_server.script(["missing-label"])
        client = make_client(fake_server, tmp_path)
        result = client.score("p", LABELS)
        assert not result.valid and result.probs is None
        assert "['reject'] got no probability" in result.error
        assert client.usage.invalid_answers == 1


class TestFaults:
    @pytest.mark.parametrize(
        "fault", ["429", "429-no-retry-after", "500", "502", "503", "504", "drop", "malformed"]
    )
    def test_transient_fault_is_retried(self, fake_server, fault):
        fake_server.script([fault, fault])
        client = make_client(fake_server)
        result = client.score("p", LABELS)
        assert result.valid
        assert client.usage.retries == 2 and client.usage.model_calls == 1
        assert fake_server.request_count == 3

    def test_retry_after_is_honoured(self, fake_server):
        fake_server.retry_after = "0.5"
        fake_server.script(["429"])
        client = make_client(fake_server)
        start = time.monotonic()
        client.score("p", LABELS)
        assert time.monotonic() - start >= 0.5

    def test_timeout_is_retried(self, fake_server):
        fake_server.delay = 1.0
        fake_server.script(["delay"])
        client = make_client(fake_server, timeout=0.3)
        assert client.score("p", LABELS).valid
        assert client.usage.retries == 1

    def test_clear_error_after_last_try(self, fake_server):
        fake_server.default_fault = "503"
        client = make_client(fake_server, retry=RetryPolicy(max_retries=2, backoff_base=0.01))
        with pytest.raises(ModelCallError, match="failed 3 times, last: HTTP 503"):
            client.score("p", LABELS)
        assert fake_server.request_count == 3

    def test_client_error_is_not_retried_and_key_redacted(self, fake_server, tmp_path, caplog):
        fake_server.script(["401-echo-key"])
        client = make_client(fake_server, tmp_path)
        with caplog.at_level(logging.DEBUG), pytest.raises(ModelCallError) as info:
            client.score("p", LABELS)
        assert fake_server.request_count == 1
        assert "HTTP 401" in str(info.value) and "***" in str(info.value)
        assert FAKE_KEY not in str(info.value) and FAKE_KEY not in repr(info.value)
        assert (
            info.value.__cause__ is None
            and info.value.__context__ is None
            or (FAKE_KEY not in str(info.value.__context__))
        )

    @pytest.mark.parametrize("fault", ["refusal", "no-label", "several-labels"])
    def test_invalid_answer_is_reasked(self, fault, tmp_path):
        with FakeLLMServer(text="accept") as server:
            server.script([fault])
            client = make_client(server, tmp_path, structured=False)
            result = client.sample_labels("Q?", LABELS, n=1, max_reasks=2)
            assert result.counts == (0, 1) and result.invalid == 0
            assert client.usage.reasks == 1
            reask = server.bodies[-1]["prompt"]
            assert "That answer is invalid" in reask and '"reject" or "accept"' in reask

    def test_invalid_after_reasks_is_counted_never_an_action(self, tmp_path):
        with FakeLLMServer(default_fault="no-label") as server:
            client = make_client(server, tmp_path, structured=False)
            result = client.sample_labels("Q?", LABELS, n=2, max_reasks=2)
            assert result.counts == (0, 0) and result.invalid == 2
            assert result.probs is None and not result.valid
            assert client.usage.invalid_answers == 2
            assert server.request_count == 1 + 2 * 2


def test_api_key_never_stored_or_logged(tmp_path, caplog):
    with FakeLLMServer(texts=["accept", "maybe"]) as server:
        server.script(["429", "401-echo-key"])
        client = make_client(server, tmp_path, structured=False)
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(ModelCallError) as info:
                client.score("p", LABELS)
            client.score("q", LABELS)
            client.sample_labels("r", LABELS, n=3)
    files = [tmp_path / "cache.sqlite", tmp_path / "prov.jsonl"]
    files += list(tmp_path.glob("cache.sqlite-*"))  # WAL and shared-memory files
    assert (tmp_path / "prov.jsonl").stat().st_size > 0
    for path in files:
        assert FAKE_KEY.encode() not in path.read_bytes(), path
    assert FAKE_KEY not in caplog.text and FAKE_KEY not in str(info.value)
    assert FAKE_KEY not in repr(client)


def test_cache_replays_without_calls(fake_server, tmp_path):
    client = make_client(fake_server, tmp_path)
    first = client.score("p", LABELS)
    again = make_client(fake_server, tmp_path)
    assert again.score("p", LABELS) == first
    assert again.usage.model_calls == 0 and again.usage.cache_hits == 1
    assert fake_server.request_count == 1


def test_configuration_errors(monkeypatch):
    monkeypatch.delenv("SUBRATIONAL_LLM_MODEL", raising=False)
    with pytest.raises(ConfigurationError, match="SUBRATIONAL_LLM_MODEL"):
        LLMClient(EndpointConfig(base_url="http://127.0.0.1:9/v1"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="not built in"):
        LLMClient(EndpointConfig(model="gpt-x"))
    with pytest.raises(ConfigurationError, match="timeout must be > 0"):
        EndpointConfig(timeout=0)
    with pytest.raises(ConfigurationError, match="top_logprobs must be in"):
        ScoreSettings(top_logprobs=0)
