"""The box of a discrete problem: the (lo, hi) bounds per asset that the binary encoding spans (see
``qrp.discrete.problem`` for the encoding). The default box brackets the classical guess; a given box is checked;
``box_resolvable`` tells whether its 2^K levels are still distinct floats (what stops refinement)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from qrp.classical.ccd import spinu_start
from qrp.discrete.options import DEFAULTS, Discretization


def box_centre(cov: np.ndarray, budgets: np.ndarray, formulation: str) -> np.ndarray:
    """The classical guess the default box brackets: Spinu's start y (log_barrier) or inverse-vol weights."""
    if formulation == "log_barrier":
        return spinu_start(cov, budgets)
    w = budgets / np.sqrt(np.diag(cov))
    return w / w.sum()


def default_box(cov: np.ndarray, budgets: np.ndarray, formulation: str, radius: float = DEFAULTS.radius):
    """(lo, hi) = (c (1 - radius), c (1 + radius)) around ``box_centre``; radius in (0, 1) (validated by
    ``Discretization``: below 1 so that the box excludes zero weights)."""
    c = box_centre(cov, budgets, formulation)
    if not np.all(np.isfinite(c) & (c > 0)):
        raise ValueError(f"the default box centre {c.tolist()} is not finite and positive (a covariance that is not "
                         "positive semi-definite, passed with check_psd=False?); pass box=")
    lo, hi = c * (1.0 - radius), c * (1.0 + radius)
    if np.any(lo >= hi):
        raise ValueError(f"radius {radius!r} is too small: the box c (1 -/+ radius) collapses to a point in float64")
    return lo, hi


def box_resolvable(lo: np.ndarray, hi: np.ndarray, bits: int) -> bool:
    """Whether every asset's 2^bits levels are distinct floats (the step (hi - lo) / (2^bits - 1) does not vanish
    against lo)."""
    step = (hi - lo) / (2.0**bits - 1.0)
    return bool(np.all(lo + step > lo))


def check_box_resolvable(lo: np.ndarray, hi: np.ndarray, bits: int) -> None:
    """``ValueError`` unless ``box_resolvable`` (a box too narrow for its levels gives equal energies, not answers)."""
    if not box_resolvable(lo, hi, bits):
        raise ValueError(f"box is too narrow for 2^{bits} distinct levels in float64 (lo={lo.tolist()}, "
                         f"hi={hi.tolist()}); widen it or use fewer bits")


def validate_box(box, n_assets: int, formulation: str) -> tuple[np.ndarray, np.ndarray]:
    """A box as fresh (lo, hi) float64 arrays. The one accepted shape is the pair ``(lo, hi)``, each a scalar or a
    length-N array (an array of shape (2,) or (2, N)), or a mapping ``{"lo": ..., "hi": ...}``; per-asset rows (an
    (N, 2) array, the convention of ``bounds``) are rejected. At N = 2 a 2 x 2 array would read either way, so it
    must come as a tuple ``(lo, hi)`` or the mapping (a 2 x 2 ndarray or list of lists is refused). Requires finite
    lo < hi, hi > 0, lo > 0 for log_barrier (log y) and lo >= 0 for pairwise (long-only)."""
    if isinstance(box, Mapping):
        if set(box) != {"lo", "hi"}:
            raise ValueError(f"box as a mapping needs exactly the keys 'lo' and 'hi', got {sorted(map(str, box))}")
        box = (box["lo"], box["hi"])
    try:
        arr = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"box could not be read as numbers: {exc}") from None
    if n_assets == 2 and arr.shape == (2, 2) and not isinstance(box, tuple):
        raise ValueError("box: a 2 x 2 array is ambiguous at N = 2 (rows (lo, hi) here, one row per asset in "
                         "bounds); pass a tuple (lo, hi) or {'lo': [...], 'hi': [...]}")
    if arr.shape == (2,):
        lo, hi = np.full(n_assets, arr[0]), np.full(n_assets, arr[1])
    elif arr.shape == (2, n_assets):
        lo, hi = arr[0].copy(), arr[1].copy()
    else:
        hint = "; per-asset rows of shape (N, 2) are not accepted, pass their transpose" if arr.shape == (
            n_assets, 2) else ""
        raise ValueError(
            f"box must be a (lo, hi) pair of scalars or of length-{n_assets} arrays (shape (2,) or (2, {n_assets})), "
            f"got shape {arr.shape}{hint}"
        )
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("box contains NaN or inf")
    checks = [
        (hi <= 0, "upper bound is not positive, so the box excludes positive weights"),
        (lo >= hi, "lower bound is not below its upper bound"),
    ]
    if formulation == "log_barrier":
        checks.append((lo <= 0, "lower bound is not positive (log_barrier needs y > 0)"))
    else:
        checks.append((lo < 0, "lower bound is negative (qrp is long-only)"))
    for bad, what in checks:
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(f"box: asset {k} {what}: lo={lo[k]!r}, hi={hi[k]!r}")
    return lo, hi


def initial_box(cov: np.ndarray, budgets: np.ndarray, options: Discretization) -> tuple[np.ndarray, np.ndarray]:
    """The first box of ``options``: its ``box`` validated, else ``default_box`` with its ``radius``."""
    if options.box is None:
        return default_box(cov, budgets, options.formulation, options.radius)
    return validate_box(options.box, cov.shape[0], options.formulation)



__all__ = ["box_centre", "box_resolvable", "check_box_resolvable", "default_box", "initial_box", "validate_box"]
