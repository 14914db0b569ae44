"""Small value checks of study files: each raises ``ValueError`` naming where in the file the bad value is."""

from __future__ import annotations

import hashlib
import json
from numbers import Integral, Real
from typing import Any


def canonical_hash(obj: Any) -> str:
    """The first 16 hex digits of the SHA-256 of ``obj``'s canonical JSON (sorted keys): run ids, config hashes."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def type_name(value: Any) -> str:
    return type(value).__name__


def check_type(value: Any, expected: type | tuple, where: str) -> None:
    """``value`` is an instance of ``expected`` (a bool is not a number here)."""
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected in (Real, Integral))
    if not ok:
        exp = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise ValueError(f"{where}: expected {exp}, got {type_name(value)} {value!r}")


def check_seed(value: Any, where: str) -> None:
    check_type(value, Integral, where)
    if value < 0:
        raise ValueError(f"{where}: a seed must be an integer >= 0, got {value}")


def check_seeds(values: Any, where: str) -> list[Any]:
    """A seed or a non-empty list of seeds, as a list."""
    seeds = axis(values, where)
    for s in seeds:
        check_seed(s, where)
    return seeds


def axis(value: Any, where: str) -> list[Any]:
    """A grid value as an axis: a list stays (it must not be empty), a scalar is one point."""
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{where}: empty list (the grid would be empty)")
        return value
    return [value]


def check_table(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a table, got {type_name(value)}")


__all__ = ["axis", "canonical_hash", "check_seed", "check_seeds", "check_table", "check_type", "type_name"]
