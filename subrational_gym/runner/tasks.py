"""What a runner runs: calls, their outcomes, and the tasks that wait for them.

A :class:`Call` is a function and its arguments; :func:`call_safely` runs it on a worker
and returns an :class:`Outcome` (the value and its seconds, or a :class:`Failure`), so
an exception reaches the driver as data and the sweep goes on. A :class:`Shared`
argument travels once per key where the executor can share it (Ray's object store) and
by value elsewhere. A :class:`Task` is the driver's handle on one call.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from subrational_gym.runner.runner import Runner


@dataclasses.dataclass(frozen=True, kw_only=True)
class Shared:
    """An argument that many calls share (e.g. an expert's table).

    Attributes:
        key: Equal keys, equal values: the Ray executor puts the value into its object
            store once per key; the local executors pass the value itself.
        value: The argument.
    """

    key: str
    value: Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class Call:
    """A function and its arguments, to run on a worker.

    Attributes:
        fn: A function the workers can import (a module-level function of an installed
            package, or a bound method of a picklable object).
        args: Positional arguments (picklable; :class:`Shared` ones are resolved by the
            executor).
        kwargs: Keyword arguments (picklable).
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Failure:
    """Why a call has no value.

    Attributes:
        type: Name of the exception it raised, or ``"WorkerDied"`` (its worker died
            more often than the executor retries) or ``"CouldNotRun"`` (e.g. an argument
            that cannot be pickled).
        message: The exception's message.
        traceback: The worker's traceback (or the message, where there is none).
    """

    type: str
    message: str
    traceback: str

    @classmethod
    def current(cls, type_name: str | None = None) -> Failure:
        """The exception being handled, as a failure (under ``type_name`` if given)."""
        exc = sys.exc_info()[1]
        text = traceback.format_exc()
        if type_name is None:
            return cls(type=type(exc).__name__, message=str(exc), traceback=text)
        last = (text.strip().splitlines() or ["unknown error"])[-1]
        return cls(type=type_name, message=last, traceback=text)

    @classmethod
    def worker_died(cls, message: str) -> Failure:
        """A call whose worker died (killed, out of memory) too often."""
        return cls(type="WorkerDied", message=message, traceback=message)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a call gave: its value and seconds, or its failure.

    Attributes:
        value: The return value (None if it failed).
        seconds: How long the function ran on its worker (None if it failed).
        failure: Why it has no value (None if it succeeded).
    """

    value: Any = None
    seconds: float | None = None
    failure: Failure | None = None


def call_safely(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Outcome:
    """``fn(*args, **kwargs)`` as an :class:`Outcome`: what workers run.

    The arguments are flat (not a :class:`Call`) so that Ray resolves the object
    references among them before the function starts.
    """
    started = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - reported to whoever waits for the result
        return Outcome(failure=Failure.current())
    return Outcome(value=value, seconds=time.perf_counter() - started)


class Task:
    """The pending result of a call run by a :class:`~subrational_gym.runner.Runner`.

    Attributes:
        name: What the task is, for messages (and Ray's process titles).
        serial: Its number among the runner's tasks.
        call: The function and its arguments.
        counted: Whether the progress bar counts it (the runs of a sweep are counted,
            plain calls are not).
        done: Whether it finished (or failed).
        seconds: How long the function ran on its worker (None until done, or if it failed).
        exception_type: Name of the exception it raised (None if it did not).
        exception_message: That exception's message.
    """

    def __init__(self, runner: Runner, *, name: str, serial: int, call: Call,
                 counted: bool = False) -> None:
        self._runner = runner
        self.name = name
        self.serial = serial
        self.call = call
        self.counted = counted
        self.done = False
        self.seconds: float | None = None
        self.exception_type: str | None = None
        self.exception_message: str | None = None
        self.traceback: str | None = None
        self._value: Any = None

    def settle(self, outcome: Outcome) -> None:
        """Record the call's outcome (the runner does this)."""
        if outcome.failure is None:
            self._value, self.seconds = outcome.value, outcome.seconds
        else:
            self.exception_type = outcome.failure.type
            self.exception_message = outcome.failure.message
            self.traceback = outcome.failure.traceback
        self.done = True

    def result(self) -> Any:
        """The function's return value (waits for it).

        Raises:
            RunnerError: (the runner's error class) the function raised (its traceback is
                in the message) or its worker died more often than the runner retries.
        """
        self._runner.wait_until(lambda: self.done)
        if self.exception_type is not None:
            raise self._runner.error(f"{self.name} failed:\n{self.traceback}")
        return self._value

    def __repr__(self) -> str:
        state = ("running" if not self.done else
                 "failed" if self.exception_type is not None else "done")
        return f"<Task {self.serial} {self.name!r} {state}>"
