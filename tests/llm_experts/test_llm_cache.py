from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import warnings

import pytest

from llm_experts.cache import (
    AnswerCache,
    CacheWarning,
    ProvenanceLog,
    ProvenanceRecord,
    cache_key,
)
from llm_experts.errors import CacheCorruptError


def test_key_is_canonical_and_sensitive():
    a = cache_key({"model": "m", "payload": {"t": 1.0, "p": "x"}})
    assert a == cache_key({"payload": {"p": "x", "t": 1.0}, "model": "m"})
    assert a != cache_key({"model": "m", "payload": {"t": 0.5, "p": "x"}})
    assert len(a) == 64


def test_roundtrip_and_first_answer_wins(tmp_path):
    with AnswerCache(tmp_path / "c.sqlite") as cache:
        assert cache.get("k") is None
        assert cache.put("k", {"v": 1})
        assert cache.put("k", {"v": 2})
        assert cache.get("k") == {"v": 1}
        assert len(cache) == 1 and list(cache.keys()) == ["k"]
        assert cache.integrity_check() == "ok"
    with AnswerCache(tmp_path / "c.sqlite") as cache:  # durable across opens
        assert cache.get("k") == {"v": 1}
        mode = sqlite3.connect(cache.path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_corrupt_file_raises_clear_error(tmp_path):
    path = tmp_path / "bad.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheCorruptError, match="move or delete the file"):
        AnswerCache(path)


def test_locked_write_warns_and_continues(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = AnswerCache(path, busy_timeout=0.1)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.warns(CacheWarning, match="not cached"):
            assert cache.put("k", {"v": 1}) is False
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert cache.put("k", {"v": 1}) is True
    cache.close()


def test_many_threads_write_one_cache(tmp_path):
    cache = AnswerCache(tmp_path / "c.sqlite")

    def work(t):
        for i in range(50):
            cache.put(f"{t}-{i}", {"t": t, "i": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert len(cache) == 300
    assert cache.integrity_check() == "ok"
    cache.close()


def test_two_processes_write_one_cache(tmp_path):
    path = tmp_path / "c.sqlite"
    script = textwrap.dedent(
        f"""
        import sys, warnings
        from llm_experts.cache import AnswerCache, CacheWarning
        warnings.simplefilter("error", CacheWarning)
        cache = AnswerCache({str(path)!r})
        tag = sys.argv[1]
        for i in range(200):
            cache.put(f"{{tag}}-{{i}}", {{"i": i}})
            cache.put(f"shared-{{i}}", {{"by": tag}})
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, tag]) for tag in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    with AnswerCache(path) as cache:
        assert len(cache) == 600
        assert cache.integrity_check() == "ok"


def test_provenance_appends_jsonl(tmp_path):
    log = ProvenanceLog(tmp_path / "p.jsonl")
    log.append(ProvenanceRecord("m", "e", "score", "k", raw=[1], parsed={"a": 1.0}, valid=True))
    log.append(ProvenanceRecord("m", "e", "sample", "k", raw="x", parsed=None, valid=False))
    with open(log.path, "a") as f:
        f.write('{"torn": ')  # a run killed mid-line
    records = log.read()
    assert [r["operation"] for r in records] == ["score", "sample"]
    assert json.loads(log.path.read_text().splitlines()[0])["valid"] is True
