"""The constraints of constrained risk budgeting (``qrp.finance.constrained``), validated once: bounds, linear
inequalities C w <= d and equalities A w = e, groups (asset classes: lo_g <= sum_{i in g} w_i <= hi_g, as rows of
C w <= d), turnover sum_i |w_i - w0_i| <= tau against previous weights, a leverage cap sum_i |w_i| <= L, and the
prescribed signs of a long-short portfolio. All are constraints on the final weights w (which sum to 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from qrp.core.validation import align_labels, as_float_array, positive_real, validate_weights


@dataclass(frozen=True)
class Constraints:
    """Validated constraints on the final weights (each ``None`` when absent); see ``constraint_set``."""

    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    c_ub: np.ndarray | None = None
    d_ub: np.ndarray | None = None
    a_eq: np.ndarray | None = None
    e_eq: np.ndarray | None = None
    turnover: float | None = None
    previous: np.ndarray | None = None
    leverage: float | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in ("lo", "hi", "c_ub", "a_eq", "turnover", "leverage"))


def _matrix_pair(pair, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{what} must be a pair (matrix, vector), got {type(pair).__name__}")
    m = np.atleast_2d(as_float_array(pair[0], f"{what} matrix").astype(np.float64))
    v = np.atleast_1d(as_float_array(pair[1], f"{what} vector").astype(np.float64))
    if m.ndim != 2 or m.shape[1] != n or v.shape != (m.shape[0],):
        raise ValueError(f"{what}: matrix must be (p, {n}) and vector (p,), got {m.shape} and {v.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(v))):
        raise ValueError(f"{what} contain NaN or inf")
    return m, v


def group_constraints(groups: Mapping, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rows (C, d) of ``C w <= d`` for ``groups = {name: (members, lo, hi)}`` (lo or hi may be None).

    ``members`` are asset names (or integer positions); a group constrains lo <= sum of its members' weights <= hi.
    """
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(f"groups must be a non-empty mapping name -> (members, lo, hi), got {groups!r}")
    index = {name: i for i, name in enumerate(names)}
    rows, rhs = [], []
    for gname, spec in groups.items():
        if not isinstance(spec, (tuple, list)) or len(spec) != 3:
            raise ValueError(f"group {gname!r} must be (members, lo, hi), got {spec!r}")
        members, lo, hi = spec
        row = _group_row(gname, members, index, len(names))
        if lo is None and hi is None:
            raise ValueError(f"group {gname!r} has neither a lower nor an upper bound")
        if hi is not None:
            rows.append(row)
            rhs.append(float(hi))
        if lo is not None:
            rows.append(-row)
            rhs.append(-float(lo))
    return np.array(rows), np.array(rhs)


def _group_row(gname, members, index: dict, n: int) -> np.ndarray:
    """The indicator row (n,) of a group's ``members`` (asset names, looked up in ``index``, or integer positions)."""
    row = np.zeros(n)
    for m in members:
        k = m if isinstance(m, (int, np.integer)) and not isinstance(m, bool) else index.get(str(m))
        if k is None or not 0 <= k < n:
            raise ValueError(f"group {gname!r} names an unknown asset {m!r}")
        row[k] = 1.0
    return row


def constraint_set(n: int, names: tuple[str, ...] | None, *, bounds=None, linear_constraints=None,
                   equality_constraints=None, groups=None, turnover=None, previous_weights=None,
                   leverage=None) -> Constraints:
    """Validate the constraint arguments of ``constrained_risk_budgeting`` (see there) into ``Constraints``.

    ``names`` are the covariance's asset labels (None: positions): a labelled ``bounds`` DataFrame (one row per
    asset) and ``previous_weights`` Series are aligned to them by label, mismatched labels refused
    (``qrp.core.validation.align_labels``); groups name assets by label or by position.
    """
    c_ub = d_ub = a_eq = e_eq = None
    labels = names if names is not None else tuple(str(i) for i in range(n))
    lo, hi = _bounds(bounds, names, n) if bounds is not None else (None, None)
    rows = []
    if linear_constraints is not None:
        rows.append(_matrix_pair(linear_constraints, n, "linear_constraints"))
    if groups is not None:
        rows.append(group_constraints(groups, labels))
    if rows:
        c_ub = np.vstack([r[0] for r in rows])
        d_ub = np.concatenate([r[1] for r in rows])
    if equality_constraints is not None:
        a_eq, e_eq = _equalities(equality_constraints, n)
    turnover, prev = _turnover(turnover, previous_weights, names, n)
    if leverage is not None:
        leverage = positive_real(leverage, "leverage")
        if leverage < 1.0:
            raise ValueError(f"leverage caps sum|w| and must be >= 1 (weights sum to 1), got {leverage!r}")
    return Constraints(lo, hi, c_ub, d_ub, a_eq, e_eq, turnover, prev, leverage)


def _bounds(bounds, names, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of a (lo, hi) pair or an (n, 2) array or labelled DataFrame, lo <= hi, no NaN."""
    arr = as_float_array(align_labels(bounds, names, "bounds"), "bounds").astype(np.float64)
    if arr.shape == (2,):
        arr = np.tile(arr, (n, 1))
    if arr.shape != (n, 2) or np.isnan(arr).any():
        raise ValueError(f"bounds must be a (lo, hi) pair or an ({n}, 2) array without NaN, got {arr.shape}")
    lo, hi = arr[:, 0].copy(), arr[:, 1].copy()
    if (lo > hi).any():
        k = int(np.argmax(lo > hi))
        raise ValueError(f"bounds: asset {k} has lower bound {lo[k]!r} above upper bound {hi[k]!r}")
    return lo, hi


def _equalities(equality_constraints, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, e) of A w = e, refused when its rows fix sum(w) (the budget sum(w) = 1 is set by lambda*)."""
    a_eq, e_eq = _matrix_pair(equality_constraints, n, "equality_constraints")
    ones_fit = np.linalg.lstsq(a_eq.T, np.ones(n), rcond=None)[0]
    if np.allclose(a_eq.T @ ones_fit, 1.0, atol=1e-10):
        raise ValueError("equality_constraints fix the total weight sum(w); the budget sum(w) = 1 is set by "
                         "lambda* (drop that row)")
    return a_eq, e_eq


def _turnover(turnover, previous_weights, names, n: int) -> tuple[float | None, np.ndarray | None]:
    """(tau, w0): the turnover cap and the previous weights it is measured from (each needs the other)."""
    if turnover is None:
        if previous_weights is not None:
            raise ValueError("previous_weights given without turnover")
        return None, None
    turnover = positive_real(turnover, "turnover")
    if previous_weights is None:
        raise ValueError("turnover needs previous_weights")
    return turnover, validate_weights(align_labels(previous_weights, names, "previous_weights"), n,
                                      what="previous_weights")


def validate_signs(signs, n: int) -> np.ndarray:
    """The prescribed side of each position: (N,) of +1 / -1 (default all +1), else ``ValueError``."""
    if signs is None:
        return np.ones(n)
    s = as_float_array(signs, "signs").astype(np.float64)
    if s.shape != (n,) or not np.all(np.isin(s, (-1.0, 1.0))):
        raise ValueError(f"signs must be {n} values, each +1 (long) or -1 (short), got {signs!r}")
    return s


__all__ = ["Constraints", "constraint_set", "group_constraints", "validate_signs"]
