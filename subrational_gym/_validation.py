"""Small validators for public parameters: each error names the value, the expectation and a fix."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from subrational_gym.errors import ParameterError


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking its type and range.

    Raises:
        ParameterError: if ``value`` is not an integer (bools are refused) or is out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(
            f"{name} must be an integer, got {value!r} of type {type(value).__name__}; "
            f"pass a whole number such as {name}={low if low is not None else 1}"
        )
    value = int(value)
    _check_range(name, value, low, high)
    return value


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite ``float`` after checking its type and range.

    Raises:
        ParameterError: if ``value`` is not a real number, is NaN or infinite, or is out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"{name} must be a real number, got {value!r} of type {type(value).__name__}; "
            f"pass a float such as {name}={low if low is not None else 1.0}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}; pass a finite float")
    _check_range(name, value, low, high, low_inclusive, high_inclusive)
    return value


def _check_range(
    name: str,
    value: float,
    low: float | None,
    high: float | None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ParameterError(
            f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}; "
            f"choose a value inside that range"
        )


def check_real_vector(
    name: str, value: object, *, length: int, low: float | None = None
) -> tuple[float, ...]:
    """Return ``value`` as a tuple of ``length`` finite floats, each at least ``low``.

    Raises:
        ParameterError: if ``value`` is not a sequence of that length of finite reals.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ParameterError(
            f"{name} must be a sequence of {length} numbers, got {value!r}; "
            f"pass a list such as {name}=[1.0] * {length}"
        )
    items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
    if len(items) != length:
        raise ParameterError(
            f"{name} must have {length} entries (one per step), got {len(items)}: {value!r}; "
            f"pass exactly {length} numbers or leave it unset for the default"
        )
    return tuple(
        check_real(f"{name}[{i}]", item, low=low) for i, item in enumerate(items)
    )


def check_probability_vector(name: str, value: object, *, length: int) -> np.ndarray:
    """Return ``value`` as a float64 probability vector of ``length`` entries summing to 1.

    Raises:
        ParameterError: on wrong length, negative or non-finite entries, or a sum far from 1.
    """
    probs = np.asarray(
        check_real_vector(name, value, length=length, low=0.0), dtype=np.float64
    )
    total = probs.sum()
    if not np.isclose(total, 1.0, atol=1e-6):
        raise ParameterError(
            f"{name} must sum to 1, got a sum of {total!r}: {value!r}; "
            f"normalise it (divide by its sum)"
        )
    return probs / total


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool.

    Raises:
        ParameterError: if ``value`` is not ``True`` or ``False``.
    """
    if not isinstance(value, bool | np.bool_):
        raise ParameterError(
            f"{name} must be True or False, got {value!r} of type {type(value).__name__}"
        )
    return bool(value)
