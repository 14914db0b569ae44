"""The continuous relaxation of a discrete ERC problem: its box minimizer, the nearest grid sample, relaxed bits.

A ``DiscreteProblem`` encodes v = lo + A x (x in {0,1}^n, ``qrp.discrete.problem``) and minimizes the surrogate
G(v) over the 2^K levels of every asset. Relaxing the levels to the whole box [lo, hi] gives a continuous problem:

* log_barrier: with d = v - lo, G(v) - G(lo) = g0'd + 1/2 d'(S + 2 diag(q2)) d, g0 = S lo + q1, a strictly convex
  quadratic (S positive definite, q2 >= 0 for both log fits) over the box 0 <= d <= hi - lo: solved exactly by
  bounded-variable least squares (``scipy.optimize.lsq_linear``, method "bvls") on its Cholesky form, in the scaled
  variable t = d / (hi - lo) in [0, 1]^N, relative to G(lo), so it stays accurate however narrow the box.
* pairwise: P(w) (degree 4, non-convex, offset 0) over the box, by L-BFGS-B from the box centre.

The same relaxation read in the bits is Egger, Marecek & Woerner's (2021, Quantum 5, 479) continuous relaxation of
the QUBO over [0,1]^n when the diagonal of x'Mx is kept quadratic: for log_barrier, h'x + x'Qx with x_p^2 = x_p
folded back is exactly G(lo + A x) - G(lo), a convex function of x in [0,1]^n whose minimum is that of the box
problem. Its minimizers are every x with A x = d* (K bits per asset carry one number), so ``relaxed_bits`` picks the
one of maximal entropy: independent bits with P(x_ik = 1) = c_ik whose expected level sum_k 2^k c_ik equals the
relaxed level d*_i / step_i, which gives c_ik = sigmoid(lambda_i 2^k) (a Lagrange condition; lambda_i by
bisection). That is the least committal bit-probability vector consistent with the relaxation (c = 1/2 at the box
centre). Note what it knows: the box problem is a discretized convex problem, so its continuous minimizer is close
to the classical ERC solution whenever that lies in the box (nothing is supplied from outside the QUBO, but the
relaxation already carries most of the answer; the ``rounding`` baseline uses the same information).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear, minimize

#: Bisection steps for the maximal-entropy multipliers (the bracket [-LAMBDA_MAX, LAMBDA_MAX] halves each step).
BISECTION_STEPS = 100
#: |lambda| beyond which sigmoid(lambda 2^k) is 0 or 1 to double precision for every k >= 0.
LAMBDA_MAX = 40.0


def box_minimizer(problem) -> tuple[np.ndarray, int]:
    """(v*, iterations): the minimizer of the problem's surrogate objective over its box (module docstring) and
    the iterations (log_barrier: BVLS active-set iterations; pairwise: objective evaluations of L-BFGS-B)."""
    lo, hi = problem.box
    width = hi - lo
    if problem.formulation == "log_barrier":
        g0 = problem.cov @ lo + problem.log_coef[:, 1]
        hess = (problem.cov + 2.0 * np.diag(problem.log_coef[:, 2])) * np.outer(width, width)
        lin = width * g0
        chol = np.linalg.cholesky(hess)  # f(t) = lin't + 1/2 t'Ht = 1/2 ||L't + L^-1 lin||^2 + const
        res = lsq_linear(chol.T, -np.linalg.solve(chol, lin), bounds=(0.0, 1.0), method="bvls")
        return lo + width * np.clip(res.x, 0.0, 1.0), int(res.nit)
    res = minimize(lambda t: problem.objective(lo + width * t), np.full(problem.n_assets, 0.5), method="L-BFGS-B",
                   bounds=[(0.0, 1.0)] * problem.n_assets)
    return lo + width * np.clip(res.x, 0.0, 1.0), int(res.nfev)


def nearest_sample(problem, v: np.ndarray) -> np.ndarray:
    """The 0/1 sample (n,) of the level nearest to v on each asset's grid, m_i = clip(round((v_i - lo_i) /
    step_i), 0, 2^K - 1), asset-major as the problem's variables (the encoding's canonical string)."""
    lo, _ = problem.box
    m = np.clip(np.rint((np.asarray(v, dtype=np.float64) - lo) / problem.step), 0, 2**problem.bits - 1)
    return problem.sample_of_levels(m.astype(np.int64))


def relaxed_bits(problem) -> np.ndarray:
    """c in [0, 1]^n: the maximal-entropy minimizer of the relaxed QUBO (module docstring), asset-major; for any
    linear encoding (its weights in place of 2^k; ``ValueError`` for gray with K >= 2, not linear)."""
    weights = problem.encoding.weights
    v, _ = box_minimizer(problem)
    lo, _ = problem.box
    top = 2**problem.bits - 1
    level = np.clip((v - lo) / problem.step, 0.0, top)

    def expected(lam):
        return (weights / (1.0 + np.exp(-lam[:, None] * weights))).sum(axis=1)

    a, b = np.full(problem.n_assets, -LAMBDA_MAX), np.full(problem.n_assets, LAMBDA_MAX)
    for _ in range(BISECTION_STEPS):  # expected level is increasing in lambda
        mid = 0.5 * (a + b)
        low = expected(mid) < level
        a, b = np.where(low, mid, a), np.where(low, b, mid)
    lam = 0.5 * (a + b)
    return (1.0 / (1.0 + np.exp(-lam[:, None] * weights))).ravel()
