"""Durable answer cache (SQLite) and provenance log (JSONL).

Each model answer is committed as its own row the moment it arrives, so a run killed part-way
loses at most the answers in flight, and a rerun replays the rest without model calls. The file
is opened in WAL mode with a busy timeout, so several threads and several processes can write
the same cache. A failed read or write only warns: the run goes on without that entry. Only a
file that is not a cache at all is an error, raised when it is opened.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "answers.sqlite"
    >>> with AnswerCache(path) as cache:
    ...     key = cache_key({"model": "m", "prompt": "p"})
    ...     stored = cache.put(key, {"text": "accept"})
    ...     cache.get(key)
    {'text': 'accept'}
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llm_experts.errors import CacheCorruptError

__all__ = [
    "AnswerCache",
    "CacheWarning",
    "ProvenanceLog",
    "ProvenanceRecord",
    "cache_key",
    "canonical_json",
]

_SCHEMA_VERSION = 1


class CacheWarning(UserWarning):
    """A cache or provenance read/write failed; the run continues without it."""


def canonical_json(value: Any) -> str:
    """Serialise ``value`` to JSON with sorted keys and no insignificant whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(material: Mapping[str, Any]) -> str:
    """Hash everything that changes an answer into a hex SHA-256 cache key.

    Args:
        material: Model, endpoint, prompt or messages, sampling parameters, prompt and parser
            versions. It must never contain credentials.

    Returns:
        64 hex characters.
    """
    return hashlib.sha256(canonical_json(dict(material)).encode("utf-8")).hexdigest()


class AnswerCache:
    """Key-value store of raw model answers in one SQLite file.

    Args:
        path: Cache file; created (with parent folders) if missing.
        busy_timeout: Seconds a writer waits for another writer's lock before giving up
            (the answer is then not cached, with a warning).

    Raises:
        CacheCorruptError: ``path`` exists but is not an SQLite answer cache.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            _retry_locked(self._setup, self.busy_timeout)
        except sqlite3.OperationalError as exc:
            self.close()
            if not _is_locked(exc):
                raise CacheCorruptError(
                    f"answer cache {str(self.path)!r} cannot be opened ({exc}); "
                    "check the path and permissions, or move the file away"
                ) from exc
            raise CacheCorruptError(
                f"answer cache {str(self.path)!r} stayed locked for {self.busy_timeout:g} s "
                f"({exc}); another process holds it: wait for it or raise busy_timeout"
            ) from exc
        except sqlite3.DatabaseError as exc:
            self.close()
            raise CacheCorruptError(
                f"answer cache {str(self.path)!r} is not a valid SQLite cache ({exc}); "
                "move or delete the file to start a fresh cache"
            ) from exc

    def _setup(self) -> None:
        conn = self._conn()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS answers ("
            "key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        conn.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(_SCHEMA_VERSION),)
        )
        conn.commit()
        result = conn.execute("PRAGMA quick_check").fetchone()
        if result is None or result[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check reported {result}")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # One connection per thread: sqlite3 connections must not be shared across threads.
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                # Switching to WAL needs a moment of exclusive access, which the busy handler
                # does not always wait for: retry while another process holds the file.
                _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"), self.busy_timeout)
                conn.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error:
                conn.close()
                raise
            conn.isolation_level = "DEFERRED"
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def get(self, key: str) -> Any | None:
        """Return the cached value of ``key``, or None if absent or unreadable (warns)."""
        try:
            row = self._conn().execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
            return None if row is None else json.loads(row[0])
        except (sqlite3.Error, ValueError) as exc:
            warnings.warn(
                f"answer cache read of key {key[:12]}... in {str(self.path)!r} failed ({exc}); "
                "asking the model instead",
                CacheWarning,
                stacklevel=2,
            )
            return None

    def put(self, key: str, value: Any) -> bool:
        """Store ``value`` (JSON-serialisable) under ``key`` and commit at once.

        An existing row is kept (the first answer wins), so replays never rewrite history.

        Returns:
            True if the row is stored, False if the write failed (a warning says why).
        """
        try:
            conn = self._conn()
            with conn:
                conn.execute(
                    "INSERT OR IGNORE INTO answers (key, value, created) VALUES (?, ?, ?)",
                    (key, canonical_json(value), time.time()),
                )
            return True
        except (sqlite3.Error, TypeError, ValueError) as exc:
            warnings.warn(
                f"answer cache write of key {key[:12]}... to {str(self.path)!r} failed ({exc}); "
                "the answer is used but not cached",
                CacheWarning,
                stacklevel=2,
            )
            return False

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def keys(self) -> Iterator[str]:
        """Iterate over every stored key."""
        for (key,) in self._conn().execute("SELECT key FROM answers").fetchall():
            yield key

    def integrity_check(self) -> str:
        """Run SQLite's full integrity check; returns ``"ok"`` for a sound file."""
        return str(self._conn().execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AnswerCache({str(self.path)!r})"


def _is_locked(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _retry_locked(fn: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@dataclass(frozen=True)
class ProvenanceRecord:
    """One raw model answer and what was made of it.

    Attributes:
        model: Model name sent to the endpoint.
        endpoint: Endpoint identity (base URL, or ``embedded:...`` for the embedded server).
        operation: ``"score"`` or ``"sample"``.
        key: Cache key of the request.
        raw: The raw answer (text, or the top log-probabilities read).
        parsed: What the parser made of it (label probabilities, a label, or None).
        valid: Whether the answer maps to an action.
        error: Why it is invalid, else None.
        persona: Persona name, if any.
        prompt_version: Prompt template version, if any.
        time: Unix time the answer arrived.
    """

    model: str
    endpoint: str
    operation: str
    key: str
    raw: Any
    parsed: Any
    valid: bool
    error: str | None = None
    persona: str | None = None
    prompt_version: str | None = None
    time: float = field(default_factory=time.time)


class ProvenanceLog:
    """Append-only JSONL log of raw answers, one line per answer, safe across processes.

    Each record is written with a single ``write`` on a file opened with ``O_APPEND``, so
    lines from concurrent writers never interleave.

    Args:
        path: The ``.jsonl`` file; created with parent folders if missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: ProvenanceRecord) -> None:
        """Append ``record``; on failure warn and continue."""
        try:
            line = (canonical_json(asdict(record)) + "\n").encode("utf-8")
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
        except (OSError, TypeError, ValueError) as exc:
            warnings.warn(
                f"provenance log write to {str(self.path)!r} failed ({exc}); continuing",
                CacheWarning,
                stacklevel=2,
            )

    def read(self) -> list[dict[str, Any]]:
        """Return every well-formed record (a torn last line from a killed run is skipped)."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def __repr__(self) -> str:
        return f"ProvenanceLog({str(self.path)!r})"
