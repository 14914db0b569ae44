"""Polishing the interior-point solution of unconstrained risk budgeting to the KKT conditions.

Without constraints the risk-budgeting portfolio is y* / 1'y* with y* = argmin_y f(y) = R(y) - b'log(y) (R convex,
positively homogeneous of degree 1; Bruder & Roncalli 2012). Its optimality condition 0 in dR(y) - b / y says that
a subgradient g of R at y has y_i g_i = b_i: the Euler contributions are the budgets (and R(y*) = 1). An
interior-point solver reaches it to about the square root of its gap on degenerate scenario problems (rc_error
1e-6 where the gap is 1e-12), so the solution is refined here:

* smooth measures (``risk_measures.SMOOTH``): damped Newton's method on f (gradient g(y) - b / y, Hessian of R by
  central differences of its analytic gradient plus diag(b / y^2); Armijo backtracking keeps y > 0). Quadratic
  convergence near y*; the final residual is max_i |y_i g_i(y) / R(y) - b_i| at the returned point.
* tail measures (the CVaR of losses L = M y at level alpha, or their maximum: CVaR, CDaR, worst realization,
  maximum drawdown): an active-set Newton step on the KKT system. The solver's tail weights q (duals) split the
  scenarios into the tail (q_t = cap), the ones at the VaR level (0 < q_t < cap) and the rest (q_t = 0); with that
  split fixed the system y_i (M'q)_i = b_i, M_t y = zeta (t at the VaR level), sum q = 1 is square in
  (y, q_tied, zeta) and bilinear. Its root is accepted only if the split is consistent there (tied weights in
  [0, cap], tail losses above zeta, the rest below), which certifies it as the exact optimum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GradFn = Callable[[np.ndarray], tuple[float, np.ndarray]]


def budget_residual(y: np.ndarray, g: np.ndarray, b: np.ndarray) -> float:
    """max_i |y_i g_i / (g'y) - b_i|: the distance of the Euler shares from the budgets."""
    rc = y * g
    return float(np.max(np.abs(rc / rc.sum() - b)))


def _hessian(grad: GradFn, y: np.ndarray) -> np.ndarray:
    n = y.shape[0]
    h = np.empty((n, n))
    for j in range(n):
        step = 1e-5 * max(abs(y[j]), 1e-12)
        e = np.zeros(n)
        e[j] = step
        h[:, j] = (grad(y + e)[1] - grad(y - e)[1]) / (2.0 * step)
    return 0.5 * (h + h.T)


def _hessian_of(grad: GradFn, hess, y: np.ndarray) -> np.ndarray:
    """The Hessian of R at y: ``hess(y)`` where given and defined, else central differences of ``grad``."""
    h = None if hess is None else hess(y)
    return _hessian(grad, y) if h is None else h


def newton_polish(grad: GradFn, y0: np.ndarray, b: np.ndarray, *, max_iter: int = 30, hess=None) -> np.ndarray:
    """Damped Newton on f(y) = R(y) - b'log y from y0 > 0 (module docstring); the best point found. ``hess``: the
    analytic Hessian of R (None, or returning None: central differences of ``grad``)."""
    y = y0 / grad(y0)[0]  # R(y*) = 1 at the optimum: start on that level
    best, best_res = y, budget_residual(y, grad(y)[1], b)
    for _ in range(max_iter):
        r, g = grad(y)
        res = budget_residual(y, g, b)
        if res < best_res:
            best, best_res = y, res
        if res < 1e-14:
            break
        f0 = r - b @ np.log(y)
        step_g = g - b / y
        h = _hessian_of(grad, hess, y) + np.diag(b / y**2)
        try:
            d = -np.linalg.solve(h, step_g)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while np.any(y + t * d <= 0):
            t *= 0.5
        slope = float(step_g @ d)
        for _ in range(40):
            yn = y + t * d
            if grad(yn)[0] - b @ np.log(yn) <= f0 + 1e-4 * t * slope + 1e-15 * abs(f0):
                break
            t *= 0.5
        else:
            break
        y = yn
    return best


def tail_split(q0: np.ndarray, cap: float, eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The active-set split of tail weights ``q0`` (sum 1) of the CVaR with weight cap ``cap`` = 1 / ((1 - alpha) T):
    (upper, tied), ``upper`` the boolean mask of the tail (q_t at the cap, to a relative eps) and ``tied`` the
    indices of the scenarios at the VaR level (0 < q_t < cap, above eps of min(cap, 1)). For cap >= 1 the CVaR is
    the maximum of the losses (q_t <= 1 <= cap never binds): no tail, every weight above eps is tied. ``eps``: the
    relative margin (1e-6 for a solve at gap 1e-12; ``kkt_tail_polish`` takes 1e-4, for solves at gap 1e-8, whose
    tail weights sit up to ~1e-5 of the cap inside [0, cap])."""
    if cap >= 1.0:
        return np.zeros(q0.shape[0], dtype=bool), np.flatnonzero(q0 > eps)
    upper = q0 >= cap * (1.0 - eps)
    return upper, np.flatnonzero((q0 > cap * eps) & ~upper)


def tail_polish(losses_jacobian: np.ndarray, y0: np.ndarray, q0: np.ndarray, cap: float, b: np.ndarray,
                *, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray] | None:
    """Active-set Newton for the CVaR (``cap`` = 1 / ((1 - alpha) T); cap = 1: the maximum) of losses M y.

    ``losses_jacobian`` M (T, N), ``y0`` the solver's point, ``q0`` its tail weights (sum 1). Returns (y, q) at a
    certified optimum (module docstring) or None when the split is inconsistent or Newton fails.
    """
    m = losses_jacobian
    q0 = q0 / q0.sum()
    upper, tied_idx = tail_split(q0, cap)
    tied = np.zeros(q0.shape[0], dtype=bool)
    tied[tied_idx] = True
    n, k = y0.shape[0], tied_idx.shape[0]
    if k == 0:
        return None
    q_fixed = np.where(upper, cap, 0.0)
    q_fixed[tied_idx] = 0.0
    mt = m[tied_idx]
    scale = float(q0 @ (m @ y0))
    y = y0 / scale
    qf = q0[tied_idx].copy()
    zeta = float(np.mean(mt @ y))
    for _ in range(max_iter):
        q = q_fixed.copy()
        q[tied_idx] = qf
        g = m.T @ q
        res = np.concatenate([y * g - b, mt @ y - zeta, [q.sum() - 1.0]])
        if np.max(np.abs(res)) < 1e-15:
            break
        jac = np.zeros((n + k + 1, n + k + 1))
        jac[:n, :n] = np.diag(g)
        jac[:n, n:n + k] = y[:, None] * mt.T
        jac[n:n + k, :n] = mt
        jac[n:n + k, n + k] = -1.0
        jac[n + k, n:n + k] = 1.0
        try:
            step = np.linalg.lstsq(jac, -res, rcond=None)[0]
        except np.linalg.LinAlgError:
            return None
        y, qf, zeta = y + step[:n], qf + step[n:n + k], zeta + step[n + k]
        if np.any(y <= 0):
            return None
    q = q_fixed.copy()
    q[tied_idx] = qf
    losses = m @ y
    tol = 1e-9 * max(abs(zeta), float(np.abs(losses).max()))
    consistent = (np.all(qf >= -1e-12) and np.all(qf <= cap + 1e-12) and np.all(losses[upper] >= zeta - tol)
                  and np.all(losses[~upper & ~tied] <= zeta + tol) if cap < 1.0 else
                  np.all(qf >= -1e-12) and np.all(losses <= zeta + tol))
    if not consistent or budget_residual(y, m.T @ q, b) > 1e-12:
        return None
    return y, q


def _multipliers(g: np.ndarray, b: np.ndarray, x: np.ndarray, ax: np.ndarray, at: np.ndarray
                 ) -> tuple[float, np.ndarray]:
    """(lambda, mu): the least-squares fit of the stationarity rows g - lambda b / x + ax' mu = 0, at' mu = 0 at x
    (g a (sub)gradient of R there; at's columns: the auxiliary variables), where Newton's method on the KKT system
    starts."""
    k = at.shape[1]
    lhs = np.vstack([np.hstack([-(b / x)[:, None], ax.T]), np.hstack([np.zeros((k, 1)), at.T])])
    sol = np.linalg.lstsq(lhs, -np.concatenate([g, np.zeros(k)]), rcond=None)[0]
    return float(sol[0]), sol[1:]


def kkt_polish(grad: GradFn, x0: np.ndarray, t0: np.ndarray, b: np.ndarray, rows: dict, *,
               max_iter: int = 30, hess=None) -> tuple[np.ndarray, float, float] | None:
    """Newton's method on the KKT system of min R(x) - lambda b'log(s x) s.t. affine rows, with sum x = 1.

    ``rows``: ``jx`` (m, N) and ``jt`` (m, K) Jacobians of the affine constraint rows c(x, t) = jx x + jt t + c0
    (``c0``), ``eq`` (m,) True for equalities; ``t0`` the auxiliary variables (turnover, leverage). Rows with
    c(x0, t0) within 1e-7 of 0 are taken as active: the square system
        grad R(x) - lambda b / x + jx_A' mu = 0,  jt_A' mu = 0,  c_A(x, t) = 0,  1'x = 1
    in (x, t, mu, lambda) is solved by Newton (Hessian of R: ``hess``, or central differences of ``grad``), and the
    root is accepted only if mu >= 0 on active inequalities and every other row holds (a certified KKT point).
    Where the root contradicts the active set (mu < 0, a violated row) those rows change sides and Newton reruns
    from the root (at most ``SPLIT_ROUNDS`` times; x0 may be x*(lambda) at a lambda other than lambda*). Returns
    (x, residual, lambda) or None.
    """
    jx, jt, c0, eq = rows["jx"], rows["jt"], rows["c0"], rows["eq"]
    act = eq | (jx @ x0 + jt @ t0 + c0 >= -1e-7)
    lam, mu_act = _multipliers(grad(x0)[1], b, x0, jx[act], jt[act])
    mu = np.zeros(jx.shape[0])
    mu[act] = mu_act
    x, t, sign = x0 / x0.sum(), t0 / x0.sum(), np.sign(x0)
    for _ in range(SPLIT_ROUNDS):
        out = _smooth_newton(grad, hess, x, t, sign, b, jx[act], jt[act], c0[act], mu[act], lam, max_iter)
        if out is None:
            return None
        x, t, mu_act, lam = out
        mu = np.zeros(jx.shape[0])
        mu[act] = mu_act
        value = jx @ x + jt @ t + c0
        unit = lam * float(b.sum())
        if lam <= 0:
            return None
        drop = act & ~eq & (mu < -1e-12 * unit)
        add = ~act & (value > 1e-12)
        if not (drop.any() or add.any()):
            ax, at = jx[act], jt[act]
            g = grad(x)[1]
            stat = np.concatenate([x * (g - lam * b / x + ax.T @ mu[act]) / unit,
                                   at.T @ mu[act] * np.max(np.abs(x)) / unit, value[act], [x.sum() - 1.0]])
            return x, float(np.max(np.abs(stat))), lam
        act = (act | add) & ~drop
        mu[drop] = 0.0
    return None


def _smooth_newton(grad: GradFn, hess, x, t, sign, b, ax, at, ac, mu, lam, max_iter):
    """Newton's method on ``kkt_polish``'s square system for the active rows (ax, at, ac) from (x, t, mu, lambda).
    Returns (x, t, mu, lambda) at the root, or None when x leaves the orthant."""
    n, k, m = x.shape[0], t.shape[0], ax.shape[0]
    size = n + k + m + 1
    for _ in range(max_iter):
        g = grad(x)[1]
        res = np.concatenate([g - lam * b / x + ax.T @ mu, at.T @ mu, ax @ x + at @ t + ac, [x.sum() - 1.0]])
        if np.max(np.abs(res)) < 1e-15:
            break
        jac = np.zeros((size, size))
        jac[:n, :n] = _hessian_of(grad, hess, x) + np.diag(lam * b / x**2)
        jac[:n, n + k:n + k + m] = ax.T
        jac[:n, -1] = -b / x
        jac[n:n + k, n + k:n + k + m] = at.T
        jac[n + k:n + k + m, :n] = ax
        jac[n + k:n + k + m, n:n + k] = at
        jac[-1, :n] = 1.0
        step = _newton_step(jac, res)
        x, t = x + step[:n], t + step[n:n + k]
        mu, lam = mu + step[n + k:n + k + m], lam + step[-1]
        if np.any(x * sign <= 0):
            return None
    return x, t, mu, lam


def _newton_step(jac: np.ndarray, res: np.ndarray) -> np.ndarray:
    """The Newton step jac d = -res: LU, or the least-squares step where the system is singular (redundant active
    rows) and LU's step does not solve it."""
    try:
        step = np.linalg.solve(jac, -res)
        if np.all(np.isfinite(step)) and np.linalg.norm(jac @ step + res) <= 1e-10 * max(np.linalg.norm(res), 1e-300):
            return step
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(jac, -res, rcond=None)[0]


#: Active-set rounds of ``kkt_tail_polish`` (a split that is inconsistent at the Newton root is corrected and
#: Newton rerun): the tied scenarios and active rows of x*(lambda) move as lambda moves to lambda*.
SPLIT_ROUNDS = 8


def kkt_tail_polish(losses_jacobian: np.ndarray, q0: np.ndarray, cap: float, x0: np.ndarray, t0: np.ndarray,
                    b: np.ndarray, rows: dict, *, max_iter: int = 30):
    """``kkt_polish`` for a tail measure (the CVaR at ``cap`` of losses M x, as ``tail_polish``): the subgradient
    M'q with q = cap on the tail, free on the scenarios at the VaR level (their losses equal zeta), 0 elsewhere, and
    the square system
        M'q - lambda b / x + jx_A' mu = 0,  jt_A' mu = 0,  M_F x = zeta,  sum q = 1,  c_A(x, t) = 0,  1'x = 1
    in (x, t, q_F, zeta, mu, lambda) solved by Newton; accepted only when the tail split and the constraints are
    consistent at the root (a certified KKT point). The split starts from the solver's tail weights q0 and active
    rows; where the root contradicts it (a free q_t outside [0, cap], a loss on the wrong side of zeta, mu < 0, a
    violated row) the offending scenarios and rows change sides and Newton reruns from the root (a primal-dual
    active-set step, at most ``SPLIT_ROUNDS`` times): x0 may be x*(lambda) at a lambda other than lambda*.
    Returns (x, residual, lambda, M'q) or None."""
    m = losses_jacobian
    jx, jt, c0, eq = rows["jx"], rows["jt"], rows["c0"], rows["eq"]
    q0 = q0 / q0.sum()
    upper, tied_idx = tail_split(q0, cap, 1e-4)
    tied = np.zeros(q0.shape[0], dtype=bool)
    tied[tied_idx] = True
    act = eq | (jx @ x0 + jt @ t0 + c0 >= -1e-7)
    x, t, q = x0 / x0.sum(), t0 / x0.sum(), q0.copy()
    mu = None
    for _ in range(SPLIT_ROUNDS):
        out = _tail_newton(m, cap, x, t, q, upper, tied, b, jx, jt, c0, act, mu, max_iter)
        if out is None:
            return None
        x, t, q, zeta, mu_act, lam = out
        mu = np.zeros(jx.shape[0])
        mu[act] = mu_act
        losses = m @ x
        if lam <= 0:
            return None
        zeta, to_upper, to_rest, to_tied = _tail_moves(losses, q, cap, zeta, upper, tied)
        value = jx @ x + jt @ t + c0
        unit = lam * float(b.sum())
        drop = act & ~eq & (mu < -1e-12 * unit)
        add = ~act & (value > 1e-12)
        if not (to_upper.any() or to_rest.any() or to_tied.any() or drop.any() or add.any()):
            g = m.T @ q
            ax, at = jx[act], jt[act]
            stat = np.concatenate([x * (g - lam * b / x + ax.T @ mu[act]) / unit,
                                   at.T @ mu[act] * np.max(np.abs(x)) / unit, value[act],
                                   [x.sum() - 1.0, q.sum() - 1.0]])
            return x, float(np.max(np.abs(stat))), lam, g
        upper = (upper | to_upper) & ~to_tied
        tied = (tied | to_tied) & ~to_upper & ~to_rest
        q = np.where(to_upper, cap, np.where(to_rest, 0.0, q))
        act = (act | add) & ~drop
        mu = np.where(drop, 0.0, mu)
    return None


def _tail_moves(losses, q, cap, zeta, upper, tied):
    """The scenarios whose side of ``kkt_tail_polish``'s split the Newton root contradicts: (zeta, to_upper,
    to_rest, to_tied). A free weight above the cap joins the tail, one below 0 the rest; a tail loss below zeta or a
    rest loss above it joins the VaR level; with no free weight and sum q != 1, the scenario next to the VaR level
    joins it. Without tied scenarios zeta is anywhere between the tail's smallest loss and the rest's largest."""
    rest = ~tied & ~upper
    if not tied.any():
        zeta = (0.5 * (float(losses[upper].min()) + float(losses[~upper].max())) if upper.any()
                else float(losses.max()))
    span = max(abs(zeta), float(np.abs(losses).max()))
    to_upper = tied & (q > cap + 1e-12) if cap < 1.0 else np.zeros_like(tied)
    to_rest = tied & (q < -1e-12)
    to_tied = upper & (losses < zeta - 1e-9 * span) | rest & (losses > zeta + 1e-9 * span)
    if not tied.any() and abs(q.sum() - 1.0) > 1e-12:
        side = rest if q.sum() < 1.0 else upper
        if side.any():
            to_tied[np.flatnonzero(side)[np.argmax(losses[side]) if q.sum() < 1.0 else np.argmin(losses[side])]] = True
    return zeta, to_upper, to_rest, to_tied


def _tail_newton(m, cap, x, t, q, upper, tied, b, jx, jt, c0, act, mu, max_iter):
    """Newton's method on ``kkt_tail_polish``'s square system for one split (tail ``upper``, ``tied`` at the VaR
    level, active rows ``act``) from (x, t, q, mu) (mu None: the least-squares multipliers). Returns
    (x, t, q, zeta, mu on the active rows, lambda) at the root, or None when x leaves the orthant."""
    n, k = x.shape[0], t.shape[0]
    tied_idx = np.flatnonzero(tied)
    ax, at, ac = jx[act], jt[act], c0[act]
    nf, na = tied_idx.shape[0], ax.shape[0]
    nz = 1 if nf else 0  # no scenario at the VaR level: q is fixed (cap on the tail), no zeta, sum q = 1 holds
    q_fixed = np.where(upper, cap, 0.0)
    mf = m[tied_idx]
    sign = np.sign(x)
    qf = q[tied_idx].copy()
    zeta = float(np.mean(mf @ x)) if nf else 0.0
    lam, mu_fit = _multipliers(m.T @ (q_fixed + np.bincount(tied_idx, qf, q.shape[0])), b, x, ax, at)
    mu = mu_fit if mu is None else mu[act]
    size = n + k + nf + nz + na + 1
    o_q, o_z, o_mu = n + k, n + k + nf, n + k + nf + nz
    for _ in range(max_iter):
        qq = q_fixed.copy()
        qq[tied_idx] = qf
        g = m.T @ qq
        res = np.concatenate([g - lam * b / x + ax.T @ mu, at.T @ mu, mf @ x - zeta, [qq.sum() - 1.0] * nz,
                              ax @ x + at @ t + ac, [x.sum() - 1.0]])
        if np.max(np.abs(res)) < 1e-15:
            break
        jac = np.zeros((size, size))
        jac[:n, :n] = np.diag(lam * b / x**2)
        jac[:n, o_q:o_z] = mf.T
        jac[:n, o_mu:o_mu + na] = ax.T
        jac[:n, -1] = -b / x
        jac[n:n + k, o_mu:o_mu + na] = at.T
        if nf:
            jac[o_q:o_z, :n] = mf
            jac[o_q:o_z, o_z] = -1.0
            jac[o_z, o_q:o_z] = 1.0
        jac[o_mu:o_mu + na, :n] = ax
        jac[o_mu:o_mu + na, n:n + k] = at
        jac[-1, :n] = 1.0
        step = _newton_step(jac, res)
        x, t = x + step[:n], t + step[n:n + k]
        qf, zeta = qf + step[o_q:o_z], zeta + (step[o_z] if nf else 0.0)
        mu, lam = mu + step[o_mu:o_mu + na], lam + step[-1]
        if np.any(x * sign <= 0):
            return None
    qq = q_fixed.copy()
    qq[tied_idx] = qf
    return x, t, qq, zeta, mu, lam


__all__ = ["budget_residual", "kkt_polish", "kkt_tail_polish", "newton_polish", "tail_polish", "tail_split"]
