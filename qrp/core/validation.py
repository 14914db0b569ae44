"""Input validation at the package boundary.

Every public entry point (``risk_parity``, ``discretize``, the estimators) calls these helpers before any work
starts. They raise ``ValueError`` naming the problem and the offending value, and never mutate their inputs: the
arrays they return are fresh float64 copies (or the caller's array untouched when it is already float64 and
C-contiguous and is only read).

The O(N^2) checks (finite, symmetric, positive diagonal) run in one compiled pass with no temporaries, so that
validation stays cheap beside an O(N^2) solver; the O(N^3) positive semi-definiteness certificate is separate and
optional (``check_psd``). Both live in ``qrp.core.certificate``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from qrp.core.certificate import (
    MIN_VARIANCE,
    SCAN_ASYMMETRIC,
    SCAN_BAD_VARIANCE,
    SCAN_NOT_FINITE,
    SYMMETRY_RTOL,
    certify_psd,
    check_psd_matrix,
    scan_matrix,
)
from qrp.core.frames import is_frame, is_labelled

#: Absolute tolerance on sum(budgets) == 1.
BUDGET_ATOL = 1e-8
#: Slack on sum(lo) <= 1 <= sum(hi) for bounds; within it of 1 the only feasible point is lo (or hi) itself.
BOUNDS_SUM_ATOL = 1e-12

# Upper limits of the integer options, checked before anything is allocated (``bounded_int``). They are far above
# anything that runs in reasonable time and memory, and far below what overflows an int64 or a float.
#: Bits per asset of a binary encoding (2^bits levels; 2^32 levels already exceed float64 resolution of a box).
MAX_BITS = 32
#: Refinement rounds (a seed is spawned per round before the first one runs).
MAX_ROUNDS = 10_000
#: Samples of one solve: annealing reads, circuit shots, readout shots.
MAX_SAMPLES = 10**7
#: QAOA layers (2 angles each).
MAX_REPS = 1000
#: Discretized problems need variances in [1/DISCRETE_SCALE_LIMIT, DISCRETE_SCALE_LIMIT] and budgets >=
#: 1/DISCRETE_SCALE_LIMIT: the pairwise energies are quadratic in the covariance and the log surrogate divides by
#: squared box centres, so beyond that range they leave the float range (ERC weights do not depend on the scale of
#: the covariance: rescale its units).
DISCRETE_SCALE_LIMIT = 1e100
#: Iteration / evaluation caps of the classical solvers and optimizers (fits a C int and a Python float exactly).
MAX_ITERATIONS = 10**9


@dataclass(frozen=True)
class Covariance:
    """A validated covariance: float64 C-contiguous matrix and optional asset names."""

    matrix: np.ndarray
    names: tuple[str, ...] | None


def as_float_array(x, what: str) -> np.ndarray:
    if is_labelled(x):
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


def frame_names(cov, name: str = "cov") -> tuple[str, ...]:
    """The asset names of a covariance DataFrame (its columns, as strings); ``ValueError`` unless its index equals
    its columns."""
    if not cov.index.equals(cov.columns):  # one vectorized comparison, not N Python ones
        raise ValueError(f"{name} DataFrame must have identical index and columns (asset names)")
    return tuple(map(str, cov.columns.tolist()))


def validate_cov(cov, *, check_psd: bool = True, name: str = "cov") -> Covariance:
    """Validate a covariance matrix and return it as float64 with its asset names.

    Checks (all raise ``ValueError``): 2-D, square, non-empty, numeric, finite, symmetric to
    ``SYMMETRY_RTOL * max(diag)``, variances >= the smallest normal float (2.2e-308), and (``check_psd=True``)
    positive semi-definite to ``PSD_RTOL * lambda_max``, the message quoting the smallest eigenvalue. The PSD
    certificate is a Cholesky factorization, O(N^3/3); only when it fails are the eigenvalues computed.
    """
    names = frame_names(cov, name) if is_frame(cov) else None
    arr = as_float_array(cov, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    code, i, j = scan_matrix(arr, SYMMETRY_RTOL)
    if code == SCAN_NOT_FINITE:
        raise ValueError(f"{name} contains NaN or inf at [{i}, {j}]: {float(arr[i, j])!r}")
    if code == SCAN_BAD_VARIANCE:
        kind = "zero or negative" if arr[i, i] <= 0 else f"subnormal (below {MIN_VARIANCE:.3g})"
        raise ValueError(f"{name} has a {kind} variance at [{i}, {i}]: {float(arr[i, i])!r}")
    if code == SCAN_ASYMMETRIC:
        raise ValueError(
            f"{name} is not symmetric: [{i}, {j}] = {float(arr[i, j])!r} but [{j}, {i}] = {float(arr[j, i])!r} "
            f"(tolerance {SYMMETRY_RTOL:g} x max variance)"
        )
    if check_psd:
        check_psd_matrix(arr, name=name)
    return Covariance(arr, names)


def align_labels(x, names: tuple[str, ...] | None, what: str):
    """Reorder a labelled pandas input (a Series, or a DataFrame by rows) to the covariance's asset ``names``.

    Alignment is by label, exactly: every asset must appear once and no other label may (``ValueError`` naming the
    missing and unexpected labels). Positional use stays for plain arrays, for inputs whose index is the default
    ``RangeIndex`` and when the covariance carries no names. Anything else is returned unchanged.
    """
    if names is None or not is_labelled(x):
        return x
    import pandas as pd  # costs nothing here: x is a pandas object, so pandas is loaded

    if x.index.equals(pd.RangeIndex(len(x))):
        return x
    labels = [str(k) for k in x.index]
    if len(set(labels)) != len(labels):
        raise ValueError(f"{what} have duplicate labels: {sorted({k for k in labels if labels.count(k) > 1})}")
    missing = [k for k in names if k not in set(labels)]
    extra = [k for k in labels if k not in set(names)]
    if missing or extra:
        raise ValueError(
            f"{what} labels do not match the assets of cov: missing {missing}, unexpected {extra}"
        )
    return x.set_axis(labels, axis=0).loc[list(names)]


def validate_budgets(budgets, n: int, names: tuple[str, ...] | None = None) -> np.ndarray:
    """Risk budgets b: length n, finite, strictly positive, summing to 1 within ``BUDGET_ATOL``.

    ``None`` gives 1/n each. A labelled Series is aligned to ``names`` (``align_labels``).
    """
    if budgets is None:
        return np.full(n, 1.0 / n)
    b = as_float_array(align_labels(budgets, names, "budgets"), "budgets").astype(np.float64)
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


def validate_bounds(bounds, n: int, names: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-asset weight bounds as ``(lo, hi)`` arrays, or ``None``.

    Accepts ``None``, a pair ``(lo, hi)`` of scalars applied to every asset, or a sequence of ``n`` pairs
    (an (n, 2) array; a DataFrame with one row per asset is aligned to ``names`` by its index). Requires
    0 <= lo <= hi, hi > 0 and sum(lo) <= 1 <= sum(hi) within ``BOUNDS_SUM_ATOL`` (else infeasible).
    """
    if bounds is None:
        return None
    arr = as_float_array(align_labels(bounds, names, "bounds"), "bounds").astype(np.float64)
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
    if lo.sum() > 1.0 + BOUNDS_SUM_ATOL:
        raise ValueError(f"bounds are infeasible: lower bounds sum to {float(lo.sum())!r} > 1")
    if hi.sum() < 1.0 - BOUNDS_SUM_ATOL:
        raise ValueError(f"bounds are infeasible: upper bounds sum to {float(hi.sum())!r} < 1")
    return lo, np.minimum(hi, 1.0)


def bounds_fixed_point(lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """The only feasible weights when sum(lo) or sum(hi) is 1 within ``BOUNDS_SUM_ATOL`` (every asset at its lower,
    or every asset at its upper bound: 20 assets in [0.05, 1], or 7 assets in [0, 1/7]), normalized to sum 1
    exactly; None when the feasible set has more than one point."""
    for edge in (lo, hi):
        total = float(edge.sum())
        if abs(total - 1.0) <= BOUNDS_SUM_ATOL:
            return edge / total
    return None


@dataclass(frozen=True)
class ValidatedProblem:
    """A risk-budgeting problem validated once at the boundary (``validate_problem``) and passed down as is.

    cov : (N, N) float64, read-only. budgets : (N,) float64, read-only. names : asset labels or None.
    bounds : (lo, hi) read-only arrays or None. seed : None or an int >= 0. check_psd : whether the PSD certificate
    (and, for a singular matrix, the ERC existence check) ran.
    """

    cov: np.ndarray
    budgets: np.ndarray
    names: tuple[str, ...] | None
    bounds: tuple[np.ndarray, np.ndarray] | None
    seed: int | None
    check_psd: bool

    @property
    def n_assets(self) -> int:
        return int(self.cov.shape[0])


def _read_only(a: np.ndarray) -> np.ndarray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


def validate_problem(cov, budgets=None, *, bounds=None, seed=None, check_psd: bool = True) -> ValidatedProblem:
    """Every check of a risk-budgeting problem, once: ``validate_cov`` (O(N^2) checks always; with ``check_psd`` the
    Cholesky certificate, on failure the eigenvalue test and ``check_erc_exists``), ``validate_budgets`` and
    ``validate_bounds`` (labelled pandas inputs aligned to the covariance's names), ``check_seed``.

    Given a ``ValidatedProblem`` it returns it unchanged (nothing is checked twice), so ``qrp.risk_parity``,
    ``qrp.discretize``, ``qrp.refine`` and the discrete solvers can all call it and ``check_psd=False`` at the
    boundary holds all the way down. ``budgets`` must then be None or equal to the problem's.
    """
    if isinstance(cov, ValidatedProblem):
        if budgets is not None and not np.array_equal(np.asarray(budgets, dtype=np.float64), cov.budgets):
            raise ValueError("budgets differ from those of the validated problem passed as cov")
        if bounds is not None or seed is not None:
            raise ValueError("pass bounds and seed to validate_problem with the covariance, not with a validated "
                             "problem")
        return cov
    if not isinstance(check_psd, (bool, np.bool_)):
        raise ValueError(f"check_psd must be True or False, got {check_psd!r}")
    c = validate_cov(cov, check_psd=False)
    s = c.matrix
    n = s.shape[0]
    b = validate_budgets(budgets, n, c.names)
    box = validate_bounds(bounds, n, c.names)
    seed = check_seed(seed)
    if check_psd:
        certify_psd(s)
    return ValidatedProblem(
        cov=_read_only(s), budgets=_read_only(b), names=c.names,
        bounds=None if box is None else (_read_only(box[0]), _read_only(box[1])), seed=seed, check_psd=bool(check_psd),
    )


def check_discretizable(cov: np.ndarray, budgets: np.ndarray) -> None:
    """``ValueError`` unless a validated covariance and budgets can be binary-encoded without the energies leaving
    the float range (``DISCRETE_SCALE_LIMIT``): largest variance within [1e-100, 1e100], every budget >= 1e-100."""
    vmax = float(np.max(np.diag(cov)))
    if not 1.0 / DISCRETE_SCALE_LIMIT <= vmax <= DISCRETE_SCALE_LIMIT:
        raise ValueError(
            f"cov: largest variance {vmax!r} is outside [{1 / DISCRETE_SCALE_LIMIT:g}, {DISCRETE_SCALE_LIMIT:g}], "
            "where discrete energies would over- or underflow; rescale the covariance (ERC weights do not depend on "
            "its scale)"
        )
    bmin = float(np.min(budgets))
    if bmin < 1.0 / DISCRETE_SCALE_LIMIT:
        k = int(np.argmin(budgets))
        raise ValueError(f"budgets[{k}] = {bmin!r} is below {1 / DISCRETE_SCALE_LIMIT:g}: too small to discretize "
                         "(the encoded box of that asset underflows)")


def check_finite_result(**values) -> None:
    """``ValueError`` naming the first non-finite value (weights, volatility, risk contributions, ...): a result
    holding NaN or inf is an error, never a converged answer. The one check every ``RiskParityResult`` passes."""
    for name, v in values.items():
        arr = np.asarray(v, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            k = int(np.argmax(~np.isfinite(arr.ravel())))
            raise ValueError(
                f"the result is not finite: {name}{'' if arr.ndim == 0 else f'[{k}]'} = "
                f"{float(arr.ravel()[k])!r} (the covariance is not positive semi-definite, or the scaling by "
                "leverage / target_volatility leaves the float range)"
            )


def plain(value):
    """numpy scalars as Python scalars, so messages read ``0.0`` rather than ``np.float64(0.0)``."""
    return value.item() if isinstance(value, np.generic) else value


def finite_float(value) -> float | None:
    """``float(value)`` for a real number that is finite as a float (Fraction, Decimal and numpy scalars included),
    else None (bool, non-numbers, NaN, inf, and values beyond the float range)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        return None
    try:
        x = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    return x if math.isfinite(x) else None


def positive_real(value, what: str) -> float:
    """A finite real number > 0 (not bool; any ``numbers.Real`` such as ``Fraction``), returned as a float, else
    ``ValueError`` naming ``what`` and the value."""
    x = finite_float(value)
    if x is None or x <= 0:
        raise ValueError(f"{what} must be a finite number > 0, got {plain(value)!r}")
    return x


def nonnegative_real(value, what: str) -> float:
    """A finite real number >= 0 (not bool), as a float, else ``ValueError`` naming ``what`` and the value."""
    x = finite_float(value)
    if x is None or x < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {plain(value)!r}")
    return x


def positive_int(value, what: str, *, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (not bool), else ``ValueError`` naming ``what`` and the value."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {plain(value)!r}")
    return int(value)


def bounded_int(value, what: str, *, minimum: int = 1, maximum: int) -> int:
    """An integer in [``minimum``, ``maximum``] (not bool), else ``ValueError`` naming ``what``, the value and the
    range. The limits (``MAX_BITS``, ``MAX_ROUNDS``, ``MAX_SAMPLES``, ``MAX_REPS``, ``MAX_ITERATIONS``) are checked
    before anything is allocated, so ``bits=10**9`` or ``num_reads=10**9`` fail at once instead of exhausting
    memory."""
    v = positive_int(value, what, minimum=minimum)
    if v > maximum:
        raise ValueError(f"{what} must be an integer in [{minimum}, {maximum}], got {v!r}")
    return v


def check_seed(seed) -> int | None:
    """The one seed check of qrp: None or an integer >= 0 (not bool), else ``ValueError`` naming the value."""
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be None or an integer >= 0, got {plain(seed)!r}")
    return int(seed)


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
