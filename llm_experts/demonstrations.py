"""Save and load demonstrations (imitation ``Trajectory`` sequences) with clear errors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_experts.errors import DemonstrationFileError

__all__ = ["load_demonstrations", "save_demonstrations"]


def save_demonstrations(path: str | os.PathLike[str], trajectories: Sequence[Any]) -> Path:
    """Write trajectories with ``imitation.data.serialize.save`` (a HuggingFace dataset folder).

    Args:
        path: Destination folder.
        trajectories: ``imitation.data.types.Trajectory`` objects, e.g. from ``rollout``.

    Returns:
        The path written.

    Raises:
        DemonstrationFileError: ``trajectories`` is empty.
    """
    from imitation.data import serialize

    if len(trajectories) == 0:
        raise DemonstrationFileError(
            "no trajectories to save; run rollout.rollout(...) with min_episodes >= 1 first"
        )
    path = Path(path)
    serialize.save(path, trajectories)
    return path


def load_demonstrations(path: str | os.PathLike[str]) -> Sequence[Any]:
    """Read trajectories written by :func:`save_demonstrations`.

    Raises:
        DemonstrationFileError: The path is missing or is not a demonstrations dataset.
    """
    from imitation.data import serialize

    path = Path(path)
    if not path.exists():
        raise DemonstrationFileError(
            f"demonstrations file {str(path)!r} does not exist; check the path or create it "
            "with save_demonstrations(path, trajectories)"
        )
    try:
        trajectories = serialize.load(path)
    except Exception as exc:  # noqa: BLE001 - datasets/pickle raise many types
        raise DemonstrationFileError(
            f"{str(path)!r} is not a demonstrations dataset ({type(exc).__name__}: {exc}); "
            "expected a folder written by save_demonstrations / imitation.data.serialize.save"
        ) from exc
    if len(trajectories) == 0:
        raise DemonstrationFileError(f"{str(path)!r} holds no trajectories; re-create it")
    return trajectories
