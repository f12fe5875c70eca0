"""How local worker processes start and end, and what their driver refuses to do in one.

Local workers (forkserver) import the driver's main script again as they start, as
spawn's do: a runner built at the top level of a script without ``if __name__ ==
"__main__":`` is refused there (:func:`refuse_in_a_starting_worker`) instead of starting
a sweep in every worker and hanging. Each worker ignores Ctrl-C (the driver handles it)
and exits as soon as the driver dies (:func:`start_worker`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading

from subrational_gym.runner.errors import RunnerError


def start_worker() -> None:
    """Initializer of each local worker process."""
    _leave_ctrl_c_to_the_driver()
    _exit_with_the_driver()


def _leave_ctrl_c_to_the_driver() -> None:
    """Make a worker ignore Ctrl-C.

    SIGINT reaches the terminal's whole process group; the driver, interrupted, records
    what finished and terminates the workers.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_with_the_driver() -> None:
    """Make a worker exit as soon as the process that started it dies.

    A killed driver (SIGKILL, out of memory) cannot terminate its workers, and a pool's
    workers would otherwise finish their call and then wait for the next one forever.
    The parent's sentinel (a pipe whose other end only the driver holds) becomes
    readable when it dies; a daemon thread waits on it.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always set in a pool's worker
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-the-driver", daemon=True).start()


def main_script() -> str | None:
    """What spawned and forkserver workers import again as they start (None: nothing).

    The main module's name under ``python -m``, else its file; mirrors
    :func:`multiprocessing.spawn.get_preparation_data`.
    """
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:  # python -m: a package's __main__ is not imported again
        return None if name == "__main__" or name.endswith(".__main__") else str(name)
    path = getattr(main, "__file__", None)
    return None if path is None else str(path)


def refuse_in_a_starting_worker(error: type[RunnerError] = RunnerError) -> None:
    """Raise if this process is a worker still importing its driver's main script.

    Spawned and forkserver workers run the driver's main script again (as
    ``__mp_main__``) before they take work, with the ``_inheriting`` flag that
    :mod:`multiprocessing` itself checks before starting processes set on the current
    process. A runner built there would start workers of its own and wait for them;
    before this check it hung every worker and the driver with it.

    Args:
        error: The exception class to raise.

    Raises:
        RunnerError: (``error``) naming the script and the fix (the ``__main__`` guard).
    """
    if not getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    script = getattr(sys.modules.get("__mp_main__"), "__file__", None) or "the main script"
    raise error(
        f"a Runner was built while a worker process was starting: workers import "
        f"{script} again as they start, and it builds a Runner at import time, so each "
        f"worker would start a sweep of its own. Put the code that builds the Runner under "
        f'`if __name__ == "__main__":` in {script} (see "Safe importing of main module" in '
        f"the multiprocessing docs)")


def died_too_often(attempts: int) -> str:
    """Why a call whose local worker died ``attempts`` times has no value."""
    message = f"its worker process died {attempts} times"
    script = main_script()
    if script is not None:
        message += (f"; workers import {script} again as they start: if they died there, "
                    f"their error is on this process's stderr (a script that builds a "
                    f'Runner needs `if __name__ == "__main__":`)')
    return message
