"""Input validation at the package boundary.

Every public entry point (``risk_parity``, ``discretize``, the estimators) calls these helpers before any work
starts. They raise ``ValueError`` naming the problem and the offending value, and never mutate their inputs: the
arrays they return are fresh float64 copies (or the caller's array untouched when it is already float64 and
C-contiguous and is only read).

The O(N^2) checks (finite, symmetric, positive diagonal) run in one compiled pass with no temporaries, so that
validation stays cheap beside an O(N^2) solver; the O(N^3) positive semi-definiteness certificate is separate and
optional (``check_psd``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numba
import numpy as np
import pandas as pd

#: Relative tolerance for symmetry: |S_ij - S_ji| <= SYMMETRY_RTOL * max_k |S_kk|.
SYMMETRY_RTOL = 1e-10
#: Relative tolerance for the smallest eigenvalue: lambda_min >= -PSD_RTOL * lambda_max counts as PSD.
PSD_RTOL = 1e-10
#: Absolute tolerance on sum(budgets) == 1.
BUDGET_ATOL = 1e-8


@dataclass(frozen=True)
class Covariance:
    """A validated covariance: float64 C-contiguous matrix and optional asset names."""

    matrix: np.ndarray
    names: tuple[str, ...] | None


def as_float_array(x, what: str) -> np.ndarray:
    if isinstance(x, (pd.DataFrame, pd.Series)):
        x = x.to_numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{what} could not be converted to an array: {exc}") from None
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{what} must be real, got dtype {arr.dtype}")
    return arr


# Hand-written because numpy needs three O(N^2) temporaries (isfinite, S - S.T, abs) for the same answer; this
# single pass keeps validation well under the solver's own cost at N >= 1000.
@numba.njit(cache=True, nogil=True)
def _scan_matrix(s, rtol):  # pragma: no cover - compiled
    n = s.shape[0]
    dmax = 0.0
    for i in range(n):
        d = s[i, i]
        if not np.isfinite(d):
            return 1, i, i
        if d <= 0.0:
            return 2, i, i
        if d > dmax:
            dmax = d
    atol = rtol * dmax
    for i in range(n):
        for j in range(i + 1, n):
            a = s[i, j]
            b = s[j, i]
            if not (np.isfinite(a) and np.isfinite(b)):
                return 1, i, j
            if abs(a - b) > atol:
                return 3, i, j
    return 0, 0, 0


def validate_cov(cov, *, check_psd: bool = True, name: str = "cov") -> Covariance:
    """Validate a covariance matrix and return it as float64 with its asset names.

    Checks (all raise ``ValueError``): 2-D, square, non-empty, numeric, finite, symmetric to
    ``SYMMETRY_RTOL * max(diag)``, strictly positive variances, and (``check_psd=True``) positive semi-definite to
    ``PSD_RTOL * lambda_max``, the message quoting the smallest eigenvalue. The PSD certificate is a Cholesky
    factorization, O(N^3/3); only when it fails are the eigenvalues computed.
    """
    names = None
    if isinstance(cov, pd.DataFrame):
        if list(cov.index) != list(cov.columns):
            raise ValueError(f"{name} DataFrame must have identical index and columns (asset names)")
        names = tuple(str(c) for c in cov.columns)
    arr = as_float_array(cov, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    code, i, j = _scan_matrix(arr, SYMMETRY_RTOL)
    if code == 1:
        raise ValueError(f"{name} contains NaN or inf at [{i}, {j}]: {float(arr[i, j])!r}")
    if code == 2:
        raise ValueError(f"{name} has a zero or negative variance at [{i}, {i}]: {float(arr[i, i])!r}")
    if code == 3:
        raise ValueError(
            f"{name} is not symmetric: [{i}, {j}] = {float(arr[i, j])!r} but [{j}, {i}] = {float(arr[j, i])!r} "
            f"(tolerance {SYMMETRY_RTOL:g} x max variance)"
        )
    if check_psd:
        check_psd_matrix(arr, name=name)
    return Covariance(arr, names)


def check_psd_matrix(arr: np.ndarray, *, name: str = "cov") -> None:
    """Raise ``ValueError`` unless ``arr`` is positive semi-definite (smallest eigenvalue >= -PSD_RTOL * max)."""
    try:
        np.linalg.cholesky(arr)
        return
    except np.linalg.LinAlgError:
        pass
    eig = np.linalg.eigvalsh(arr)
    if eig[0] < -PSD_RTOL * max(eig[-1], 0.0):
        raise ValueError(
            f"{name} is not positive semi-definite: smallest eigenvalue {eig[0]:.6g} "
            f"(largest {eig[-1]:.6g})"
        )


def check_erc_exists(cov: np.ndarray) -> None:
    """``ValueError`` if Spinu's problem is unbounded, i.e. no ERC portfolio exists for a singular PSD ``cov``.

    1/2 y'Sy - b'log y is bounded below on y > 0 iff the null space of S holds no non-zero v >= 0 (a long-only
    portfolio with zero variance). Checked by a linear program over the null space (only when S is singular).
    """
    from scipy.optimize import linprog  # scipy.optimize adds ~0.1 s to import; only singular matrices need it

    eig, vec = np.linalg.eigh(cov)
    null = vec[:, eig <= PSD_RTOL * max(eig[-1], 0.0) * len(eig)]
    if null.shape[1] == 0:
        return
    k = null.shape[1]
    # find c with v = null @ c >= 0 and sum(v) = 1
    res = linprog(
        np.zeros(k), A_ub=-null, b_ub=np.zeros(len(eig)), A_eq=null.sum(axis=0, keepdims=True), b_eq=[1.0],
        bounds=[(None, None)] * k, method="highs",
    )
    if res.status == 0:
        v = null @ res.x
        raise ValueError(
            "cov is singular and no ERC portfolio exists: the long-only portfolio "
            f"{np.round(v, 6).tolist()} has zero variance, so risk cannot be split in the given budgets"
        )


def validate_budgets(budgets, n: int, names: tuple[str, ...] | None = None) -> np.ndarray:
    """Risk budgets b: length n, finite, strictly positive, summing to 1 within ``BUDGET_ATOL``.

    ``None`` gives 1/n each. A pandas Series is aligned to ``names`` when both carry labels.
    """
    if budgets is None:
        return np.full(n, 1.0 / n)
    if isinstance(budgets, pd.Series) and names is not None:
        missing = set(names) - {str(k) for k in budgets.index}
        if missing:
            raise ValueError(f"budgets lack assets {sorted(missing)}")
        budgets = budgets.set_axis([str(k) for k in budgets.index]).loc[list(names)]
    b = as_float_array(budgets, "budgets").astype(np.float64)
    if b.ndim != 1:
        raise ValueError(f"budgets must be 1-D, got shape {b.shape}")
    if b.shape[0] != n:
        raise ValueError(f"budgets must have length {n} (one per asset), got {b.shape[0]}")
    bad = ~np.isfinite(b)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"budgets contain NaN or inf at {k}: {float(b[k])!r}")
    if (b <= 0).any():
        k = int(np.argmax(b <= 0))
        raise ValueError(f"budgets must be strictly positive; budgets[{k}] = {float(b[k])!r}")
    total = float(b.sum())
    if abs(total - 1.0) > BUDGET_ATOL:
        raise ValueError(f"budgets must sum to 1, got {total!r}")
    return b


def validate_bounds(bounds, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-asset weight bounds as ``(lo, hi)`` arrays, or ``None``.

    Accepts ``None``, a pair ``(lo, hi)`` of scalars applied to every asset, or a sequence of ``n`` pairs
    (an (n, 2) array). Requires 0 <= lo <= hi, hi > 0 and sum(lo) <= 1 <= sum(hi) (else infeasible).
    """
    if bounds is None:
        return None
    arr = as_float_array(bounds, "bounds").astype(np.float64)
    if arr.shape == (2,):
        lo, hi = np.full(n, arr[0]), np.full(n, arr[1])
    elif arr.shape == (n, 2):
        lo, hi = arr[:, 0].copy(), arr[:, 1].copy()
    else:
        raise ValueError(f"bounds must be a (lo, hi) pair or an ({n}, 2) array, got shape {arr.shape}")
    bad = ~np.isfinite(lo) | np.isnan(hi)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"bounds of asset {k} are ({float(lo[k])!r}, {float(hi[k])!r}): NaN, or an infinite lower bound"
        )
    if (lo < 0).any():
        k = int(np.argmax(lo < 0))
        raise ValueError(f"bounds: lower bound of asset {k} is negative ({float(lo[k])!r}); qrp is long-only")
    if (hi <= 0).any():
        k = int(np.argmax(hi <= 0))
        raise ValueError(f"bounds: upper bound of asset {k} is not positive ({float(hi[k])!r})")
    if (lo > hi).any():
        k = int(np.argmax(lo > hi))
        raise ValueError(f"bounds: asset {k} has lower bound {float(lo[k])!r} above upper bound {float(hi[k])!r}")
    if lo.sum() > 1.0 + 1e-12:
        raise ValueError(f"bounds are infeasible: lower bounds sum to {float(lo.sum())!r} > 1")
    if hi.sum() < 1.0 - 1e-12:
        raise ValueError(f"bounds are infeasible: upper bounds sum to {float(hi.sum())!r} < 1")
    return lo, np.minimum(hi, 1.0)


def plain(value):
    """numpy scalars as Python scalars, so messages read ``0.0`` rather than ``np.float64(0.0)``."""
    return value.item() if isinstance(value, np.generic) else value


def positive_real(value, what: str) -> float:
    """A finite real number > 0 (not bool), else ``ValueError`` naming ``what`` and the value."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a finite number > 0, got {plain(value)!r}")
    return float(value)


def positive_int(value, what: str, *, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (not bool), else ``ValueError`` naming ``what`` and the value."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {plain(value)!r}")
    return int(value)


def validate_weights(weights, n: int | None = None, *, what: str = "weights") -> np.ndarray:
    """A finite 1-D float64 vector (of length ``n`` when given), a fresh copy."""
    w = as_float_array(weights, what).astype(np.float64)
    if w.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {w.shape}")
    if n is not None and w.shape[0] != n:
        raise ValueError(f"{what} must have length {n} to match cov, got {w.shape[0]}")
    if not np.all(np.isfinite(w)):
        k = int(np.argmax(~np.isfinite(w)))
        raise ValueError(f"{what} contain NaN or inf at {k}: {float(w[k])!r}")
    return w


def read_toml(path, *, what: str) -> dict:
    """Parse a TOML file (a study or backtest definition); ``ValueError`` naming ``what`` and the path if it is
    missing, or the path and the parser's message if it is not valid TOML."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} file not found: {path}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
