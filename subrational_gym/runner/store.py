"""A resumable store of finished runs: one JSON record per run key, and its log."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


class RunStore:
    """One JSON record per finished run, and per-run logs, under ``root``.

    Layout: ``jobs/<key>.json`` (the record), ``logs/<key>.log`` (what the run printed,
    its ``log`` field, or its traceback). Records are written atomically (a temporary
    file, then a rename, the log first), so a run killed part-way leaves nothing that
    looks finished, and a rerun skips every run whose record exists.

    Example:
        >>> import tempfile
        >>> store = RunStore(tempfile.mkdtemp())
        >>> path = store.save({"key": "abc", "value": 1.5, "log": "hello"})
        >>> store.has("abc"), store.load("abc"), store.keys()
        (True, {'key': 'abc', 'value': 1.5}, ['abc'])
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        (self.root / "jobs").mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where the record of ``key`` lives."""
        return self.root / "jobs" / f"{key}.json"

    def has(self, key: str) -> bool:
        """Whether the run ``key`` finished."""
        return self.path(key).exists()

    def load(self, key: str) -> dict[str, Any]:
        """The record of a finished run."""
        return json.loads(self.path(key).read_text())

    def keys(self) -> list[str]:
        """Keys of every finished run."""
        return sorted(p.stem for p in (self.root / "jobs").glob("*.json"))

    def save(self, record: Mapping[str, Any]) -> Path:
        """Write a finished run's record (its ``key`` names it) and its log, atomically.

        The ``log`` field goes to the log file, not the record; ``reused`` is dropped
        (it says where a record came from, not what it is).
        """
        key = record["key"]
        _write_atomically(self.root / "logs" / f"{key}.log", str(record.get("log", "")))
        body = {k: v for k, v in record.items() if k not in ("log", "reused")}
        _write_atomically(self.path(key), json.dumps(body, default=_jsonable))
        return self.path(key)

    def fail(self, key: str, error: str, *, heading: str = "") -> None:
        """Write a failed run's traceback to its log (no record: a rerun retries it)."""
        text = f"{heading}\n{error}" if heading else error
        _write_atomically(self.root / "logs" / f"{key}.log", text)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
