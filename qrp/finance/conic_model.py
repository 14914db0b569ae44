"""The inner problem of constrained risk budgeting as one compiled cvxpy problem, and its KKT residual.

x*(lambda) = argmin_{x in Omega} R(x) - lambda * b'log(s x) (``qrp.finance.constrained``) with lambda a cvxpy
Parameter. R is evaluated at a copy x_R = x of the weights (``risk_measures`` / ``measure_cones``), so the dual nu of
x_R = x is minus a subgradient of R certified by the solver. Turnover and leverage are written with explicit
variables (t >= |x - w0 k|, 1't <= tau k; k = 1 in the Richard-Roncalli form, and in the homogeneous form an
auxiliary variable k with k = 1'x, one dense row rather than 1'x in every constraint row), so every constraint on x
is affine and the KKT conditions can be checked from the solver's duals y_c of the constraints c(x, t) (<= or ==) 0
(t: every auxiliary variable):

    stationarity   -lambda b / x + sum_c J_c(x)' y_c = 0,    sum_c J_c(t)' y_c = 0,
    feasibility    c(x, t) <= 0 (== 0),    complementarity  y_c * c(x, t) = 0,    y_c >= 0 on inequalities.

``kkt_residual`` is the largest violation, scaled to units of the contributions (each x_i times its stationarity
row, over lambda sum b).
"""

from __future__ import annotations

import warnings

import numpy as np

from qrp.finance.constraint_set import Constraints
from qrp.finance.measure_cones import risk_form

#: Clarabel settings: gaps and feasibility to 1e-12 (defaults 1e-8 leave rc_error ~1e-5 on the unconstrained
#: problem; these reach ~1e-10 in about 25 interior-point iterations). What they miss is polished
#: (``qrp.finance.polish``) or re-solved.
CLARABEL_SETTINGS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10,
                     "max_iter": 500}
#: The first solve of a measure whose answer is polished by Newton's method on its KKT conditions (tail measures:
#: CVaR, CDaR, worst realization, maximum drawdown; ``qrp.finance.polish``): gaps and feasibility 1e-6 take 11-16
#: interior-point iterations where 1e-12 takes 30-90 (the last digits at short steps); the solver's tail weights
#: there split the scenarios (at 1e-4 of the cap, corrected by the polish's active-set rounds) and Newton's method
#: takes the point to a KKT residual ~1e-15. Where the polish does not certify within ``tol``, the solve is
#: repeated at ``CLARABEL_SETTINGS``. Measured on benchmarks.constrained_vs_peers's problems (N = 20, 100): every
#: one certified from gaps 1e-6; from 1e-5 none of the CVaR ones.
FIRST_SETTINGS = {"tol_gap_abs": 1e-6, "tol_gap_rel": 1e-6, "tol_feas": 1e-6, "tol_ktratio": 1e-4, "max_iter": 500}
#: The same for the smooth measures (volatility, semi-deviation, EVaR, expected returns), whose polish needs only the
#: active constraint rows: gaps 1e-5 (8-20 iterations); every problem above certified from 1e-4 as well.
FIRST_SETTINGS_SMOOTH = {"tol_gap_abs": 1e-5, "tol_gap_rel": 1e-5, "tol_feas": 1e-5, "tol_ktratio": 1e-3,
                         "max_iter": 500}
#: The re-solves, in order, when an answer misses the KKT tolerance or the solver fails: less static
#: regularization of the KKT matrix (1e-10 instead of 1e-8: pyrb's expected-return case goes from a KKT residual
#: 1.5e-6 to 2.8e-10), looser gaps that Clarabel can certify where 1e-12 ends "optimal_inaccurate", and
#: Clarabel's defaults.
RETRY_SETTINGS = ({**CLARABEL_SETTINGS, "static_regularization_constant": 1e-10},
                  {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "tol_ktratio": 1e-8,
                   "max_iter": 500},
                  {"max_iter": 500})


class BarrierModel:
    """The inner problem x*(lambda) as a compiled cvxpy problem with lambda a Parameter (module docstring)."""

    def __init__(self, measure: str, b: np.ndarray, signs: np.ndarray, cons: Constraints, *, factor=None,
                 scenarios=None, alpha=0.95, pi=None, homogeneous: bool = False):
        import cvxpy as cp  # optional heavy dependency (finance extra)

        n = b.shape[0]
        self.b, self.signs = b, signs
        self.x = x = cp.Variable(n)
        xr = cp.Variable(n)
        self.lam = cp.Parameter(nonneg=True, value=1.0)
        form = risk_form(measure, xr, factor=factor, scenarios=scenarios, alpha=alpha, pi=pi)
        self.degree, self.tail, self.cap = form.degree, form.tail, form.cap
        self.copy = xr == x
        eye = np.eye(n)
        # every constraint on x with its rows c(x, aux) = jx x + sum_a J_a a + c0 in cvxpy's orientation (``a <= b``
        # and ``b >= a`` are stored as a - b <= 0, ``a == b`` as a - b == 0): the KKT checks read them from here
        on_x, rows = [self.copy, cp.multiply(signs, x) >= 0], [(-eye, {}, None), (-np.diag(signs), {}, np.zeros(n))]
        self.aux = []
        k = None
        if homogeneous and not cons.empty:  # constraints on w = x / k, multiplied through by k = 1'x: k is a
            k = cp.Variable()  # variable (one dense row k = 1'x instead of 1'x in every bound row: N^2 nonzeros)
            on_x.append(k - cp.sum(x) == 0)
            rows.append((-np.ones((1, n)), {k: np.ones((1, 1))}, np.zeros(1)))
            self.aux.append(k)

        def scaled(v, sign):
            """The term sign * v * k: (its k block, its constant)."""
            v = np.atleast_1d(np.asarray(v, dtype=np.float64))
            return ({k: sign * v[:, None]}, np.zeros(v.shape[0])) if k is not None else ({}, sign * v)

        kk = 1.0 if k is None else k
        if cons.lo is not None:
            on_x += [x >= cons.lo * kk, x <= cons.hi * kk]
            rows += [(-eye, *scaled(cons.lo, 1.0)), (eye, *scaled(cons.hi, -1.0))]
        if cons.c_ub is not None:
            on_x.append(cons.c_ub @ x <= cons.d_ub * kk)
            rows.append((np.asarray(cons.c_ub, dtype=np.float64), *scaled(cons.d_ub, -1.0)))
        if cons.a_eq is not None:
            on_x.append(cons.a_eq @ x - cons.e_eq * kk == 0)  # (lhs == rhs may store rhs - lhs: a subclass's ==)
            rows.append((np.asarray(cons.a_eq, dtype=np.float64), *scaled(cons.e_eq, -1.0)))
        for cap, centre in ((cons.turnover, cons.previous), (cons.leverage, None)):
            if cap is None:
                continue
            t = cp.Variable(n)
            dev = x if centre is None else x - centre * kk
            on_x += [t >= dev, t >= -dev, cp.sum(t) <= cap * kk]
            plus, minus = (({}, np.zeros(n)), ({}, np.zeros(n))) if centre is None else (scaled(centre, -1.0),
                                                                                        scaled(centre, 1.0))
            top = scaled([cap], -1.0)
            rows += [(eye, {**plus[0], t: -eye}, plus[1]), (-eye, {**minus[0], t: -eye}, minus[1]),
                     (np.zeros((1, n)), {**top[0], t: np.ones((1, n))}, top[1])]
            self.aux.append(t)
        self._rows = rows
        self.on_x = on_x
        self.sign_row = on_x[1]
        objective = cp.Minimize(form.risk - self.lam * (b @ cp.log(cp.multiply(signs, x))))
        self.problem = cp.Problem(objective, on_x + form.constraints)
        self.solves = 0
        self.last_lam = None
        self.settings = CLARABEL_SETTINGS
        self._blocks = None

    def solve(self, lam: float, settings: dict | None = None) -> np.ndarray:
        """x*(lam); ``ValueError`` when the solver fails or finds no solution."""
        import cvxpy as cp  # optional heavy dependency (finance extra)

        self.lam.value = lam
        tries = (settings or self.settings, *RETRY_SETTINGS)
        for i, attempt in enumerate(tries):  # a failed solve is retried with the next settings
            try:
                with warnings.catch_warnings():  # "may be inaccurate": the KKT residual is checked instead
                    warnings.simplefilter("ignore", UserWarning)
                    self.problem.solve(solver=cp.CLARABEL, **attempt)
                break
            except cp.error.SolverError as exc:
                if i == len(tries) - 1:
                    raise ValueError(f"constrained risk budgeting: the conic solver failed at lambda={lam:.6g}: "
                                     f"{exc}") from None
        self.solves += 1
        self.last_lam = lam
        status = self.problem.status
        if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
            raise ValueError("constrained risk budgeting: the risk measure is not positive on every long "
                             "portfolio of these returns (the log-barrier problem is unbounded; e.g. an asset "
                             "with constant returns, or worst_realization with an asset that never loses)")
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise ValueError(f"constrained risk budgeting: the constraints admit no solution with the prescribed "
                             f"signs (solver status {status!r} at lambda={lam:.6g})")
        return np.asarray(self.x.value, dtype=np.float64)

    def subgradient(self) -> np.ndarray:
        """The solver-certified subgradient of the (scaled) risk at the last solution: minus the copy's dual."""
        return -np.asarray(self.copy.dual_value, dtype=np.float64)

    def tail_weights(self) -> np.ndarray | None:
        """The tail weights q (sum 1) of the tail measures at the last solution, else None."""
        if self.tail is None:
            return None
        q = np.clip(np.asarray(self.tail.dual_value, dtype=np.float64), 0.0, None)
        return q / q.sum() if q.sum() > 0 else None

    def _aux_values(self) -> np.ndarray:
        return (np.concatenate([np.asarray(a.value, dtype=np.float64).ravel() for a in self.aux]) if self.aux
                else np.zeros(0))

    def _row_blocks(self) -> list:
        """(constraint, jx, jt, c0, equality) of every constraint on x: c(x, t) = jx x + jt t + c0, dense, as the
        model wrote them (``__init__``; the same as cvxpy's gradients of ``c.expr``, tested), t every auxiliary
        variable in ``self.aux`` order (c0 not defined for the copy x_R = x, which involves x_R)."""
        if self._blocks is None:
            blocks = []
            for c, (jx, parts, c0) in zip(self.on_x, self._rows, strict=True):
                m = jx.shape[0]
                jt = (np.hstack([parts.get(a, np.zeros((m, a.size))) for a in self.aux]) if self.aux
                      else np.zeros((m, 0)))
                blocks.append((c, jx, jt, c0, c.__class__.__name__ == "Equality"))
            self._blocks = blocks
        return self._blocks

    def affine_rows(self) -> tuple[dict, np.ndarray]:
        """The affine constraints c(x, t) <= 0 (== 0) on the weights at the last solution, for
        ``polish.kkt_polish``: ({jx, jt, c0, eq}, t) (not the copy x_R = x nor the sign constraint)."""
        t = self._aux_values()
        rows = [blk for blk in self._row_blocks() if blk[0] is not self.copy and blk[0] is not self.sign_row]
        if not rows:
            return {"jx": np.zeros((0, self.b.shape[0])), "jt": np.zeros((0, t.shape[0])), "c0": np.zeros(0),
                    "eq": np.zeros(0, dtype=bool)}, t
        return {"jx": np.vstack([r[1] for r in rows]), "jt": np.vstack([r[2] for r in rows]),
                "c0": np.concatenate([r[3] for r in rows]),
                "eq": np.concatenate([np.full(r[1].shape[0], r[4]) for r in rows])}, t

    def kkt_residual(self) -> float:
        """The largest violation of the KKT conditions at the last solution (module docstring)."""
        x = np.asarray(self.x.value, dtype=np.float64)
        lam = float(self.lam.value)
        unit = lam * float(self.b.sum())
        if not unit > 0.0:  # lambda = 0: no scale to measure the residual in; never certified
            return np.inf
        t = self._aux_values()
        grad_x = -lam * self.b / x
        grad_t = np.zeros(t.shape[0])
        worst = 0.0
        for c, jx, jt, c0, equality in self._row_blocks():
            y = np.atleast_1d(np.asarray(c.dual_value, dtype=np.float64))
            grad_x = grad_x + jx.T @ y
            grad_t = grad_t + jt.T @ y
            if c is self.copy:
                continue
            value = jx @ x + jt @ t + c0
            if equality:
                worst = max(worst, float(np.max(np.abs(value))))
            else:
                worst = max(worst, float(np.max(value)), float(np.max(-y)) / unit,
                            float(np.max(np.abs(y * value))) / unit)
        worst = max(worst, float(np.max(np.abs(x * grad_x))) / unit)
        if grad_t.size:
            worst = max(worst, float(np.max(np.abs(grad_t))) * float(np.max(np.abs(x))) / unit)
        return worst


__all__ = ["CLARABEL_SETTINGS", "FIRST_SETTINGS", "FIRST_SETTINGS_SMOOTH", "RETRY_SETTINGS", "BarrierModel"]
