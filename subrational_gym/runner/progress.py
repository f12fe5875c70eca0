"""Progress over a runner's counted runs: a bar on a terminal, plain lines elsewhere.

On a terminal (and with tqdm installed) :class:`Progress` draws one tqdm bar with
finished / failed / running / queued counts. Anywhere else (output to a file or a pipe,
as in ``make demo > demo.log``) a bar's carriage returns and escape codes would pile up
as hundreds of lines; there it writes a plain line when runs finish, at most one per
``interval`` seconds, and always the last.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """Counts of a runner's runs, shown as a bar or as plain lines.

    Attributes:
        total: Runs submitted so far (including those found finished in the store).
        finished: Runs finished (or found finished).
        failed: Runs that failed.
        running: Runs running now.
        queued: Runs waiting for a worker.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> progress = Progress(label="runs", stream=out, interval=0)
        >>> progress.grow(2)
        >>> progress.update(finished=1, started=(1, 0))
        >>> progress.update(finished=1, started=(0, 0))
        >>> progress.close()
        >>> print(out.getvalue(), end="")
        runs: 1/2 finished, 0 failed, 1 running, 0 queued
        runs: 2/2 finished, 0 failed, 0 running, 0 queued

    Args:
        enabled: Show anything at all.
        label: What is counted (the bar's description).
        stream: Where to write (default ``sys.stderr``, as tqdm does).
        interval: Least seconds between two plain lines (the last line is always written).
        bar: Draw a bar (True), plain lines (False), or decide by whether ``stream`` is
            a terminal (None).
    """

    def __init__(self, *, enabled: bool = True, label: str = "runs",
                 stream: TextIO | None = None, interval: float = 10.0,
                 bar: bool | None = None) -> None:
        self.enabled = enabled
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.total = self.finished = self.failed = self.running = self.queued = 0
        self._bar: Any = None
        self._said: tuple[int, int, int] | None = None  # (finished, failed, total) last written
        self._said_at = -float("inf")
        if enabled and (bar if bar is not None else _is_terminal(self.stream)):
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm comes with the llm and imitation extras
                return
            self._bar = tqdm(total=0, desc=label, leave=False, file=self.stream)

    def grow(self, n: int) -> None:
        """Count ``n`` more runs in the total."""
        if not n:
            return
        self.total += n
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def update(self, *, finished: int = 0, failed: int = 0,
               started: tuple[int, int] | None = None) -> None:
        """Count finished and failed runs; ``started`` is (running, queued) now."""
        self.finished += finished
        self.failed += failed
        if started is not None:
            self.running, self.queued = started
        if self._bar is not None:
            self._bar.update(finished)
            self._bar.set_postfix(failed=self.failed, running=self.running,
                                  queued=self.queued)
        elif finished or failed:
            last = self.finished + self.failed >= self.total
            if last or time.monotonic() - self._said_at >= self.interval:
                self._say()

    def close(self) -> None:
        """Close the bar, or write the last line if it was not written yet."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.total and self._said != (self.finished, self.failed, self.total):
            self._say()

    def line(self) -> str:
        """The counts as one line."""
        return (f"{self.label}: {self.finished}/{self.total} finished, {self.failed} failed, "
                f"{self.running} running, {self.queued} queued")

    def _say(self) -> None:
        if not self.enabled:
            return
        self.stream.write(self.line() + "\n")
        self.stream.flush()
        self._said = (self.finished, self.failed, self.total)
        self._said_at = time.monotonic()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
