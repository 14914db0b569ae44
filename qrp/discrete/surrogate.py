"""The quadratic surrogate of the log barrier of ``log_barrier`` problems (the math: ``qrp.discrete.problem``'s module
docstring, "Formulations"): per asset, q_i(y) = q0 + q1 d + q2 d^2 in d = y - lo_i, standing for -b_i log y, by a
second-order Taylor expansion about the box centre ("taylor") or a least-squares fit over the 2^K levels ("lsq")."""

from __future__ import annotations

import numpy as np


def log_surrogate(budgets, lo, hi, bits: int, log_fit: str) -> np.ndarray:
    """(N, 3) coefficients (q0, q1, q2) of q_i(y) = q0 + q1 d + q2 d^2, d = y - lo_i, standing for -b_i log y."""
    d = hi - lo
    if log_fit == "taylor":
        c = 0.5 * (lo + hi)
        r = c - lo  # expansion point in d
        q2 = budgets / (2.0 * c * c)
        return np.column_stack([-budgets * np.log(c) + budgets * r / c + q2 * r * r, -budgets / c - 2.0 * q2 * r, q2])
    levels = 2**bits
    t = np.arange(levels) / (levels - 1)  # levels as t in [0, 1]: y = lo + d t
    deg = 2 if levels > 2 else 1
    design = np.vander(t, deg + 1, increasing=True)  # (L, deg + 1)
    rel = -budgets[:, None] * np.log1p((d / lo)[:, None] * t[None, :])  # -b log(y / lo), (N, L)
    p = rel @ np.linalg.pinv(design).T  # least squares, (N, deg + 1) in powers of t
    if deg == 1:
        p = np.column_stack([p, np.zeros(len(lo))])
    return np.column_stack([p[:, 0] - budgets * np.log(lo), p[:, 1] / d, p[:, 2] / (d * d)])
