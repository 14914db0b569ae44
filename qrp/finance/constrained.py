"""Constrained risk budgeting (Richard & Roncalli 2019): linear, group, turnover and leverage constraints, signed
(long-short) budgets, expected returns, and risk measures beyond volatility.

Definition (Richard & Roncalli 2019, "Constrained risk budgeting portfolios", eq. 14; the same definition as
``qrp.classical.bounded`` for box bounds). For a convex risk measure R, homogeneous of degree 1, and lambda > 0,

    x*(lambda) = argmin_{x in Omega}  R(x) - lambda * sum_i b_i log(s_i x_i),

and the constrained risk-budgeting portfolio is w = x*(lambda*) with lambda* a root of sum_i x*_i(lambda) = 1.
Omega holds every constraint on the final weights: bounds lo <= x <= hi, C x <= d, A x = e, groups
(lo_g <= sum_{i in g} x_i <= hi_g), turnover sum_i |x_i - w0_i| <= tau, leverage sum_i |x_i| <= L. The signs s_i
(+1 long, -1 short; default all +1) prescribe each position's side: with signs the problem is the prescribed-sign
long-short risk budgeting of Bai, Scheinberg & Tutuncu (2016, "Least-squares approach to risk parity in
portfolio selection", Quantitative Finance 16(3)), convex on the orthant s_i x_i > 0, and weights sum to 1 net.
KKT: an asset in no binding constraint has RC_i = lambda* b_i, the same multiple of its budget for all of them;
assets pushed by a constraint take more or less. Without constraints x*(lambda) is a ray (R is homogeneous), so one
solve and a normalization give the unconstrained risk-budgeting portfolio (RC_i / R(w) = b_i exactly).

Risk measures (``qrp.finance.risk_measures``): "volatility" (with the equivalent smooth objective 1/2 x'Sx, whose
family x*(lambda) is the same up to lambda's scale), "cvar" (Rockafellar-Uryasev linear program for the historical
expected shortfall of -r_t'x) and "semi_deviation" (second-order cone). Expected returns (Roncalli 2015,
"Introducing expected returns into risk parity portfolios"; pyrb's ``pi`` and ``c``): R(x) = -pi'x + c sigma(x),
with generalized contributions RC_i = x_i (-pi_i + c (S x)_i / sigma(x)).

Why a conic solver: every inner problem is a convex program with an exponential cone (the log barrier) plus linear
or second-order cone constraints, which Clarabel (an interior-point conic solver, through cvxpy; the solver skfolio
uses) solves to 1e-9 in a few dozen iterations for any polyhedral Omega. ADMM (pyrb's algorithm) handles the same
constraints but converges linearly to about 1e-5. lambda* is found by Brent's method on log(lambda), one conic solve
per evaluation (the problem is compiled once with lambda a cvxpy Parameter).

Not the same as skfolio's ``RiskBudgeting`` with constraints: skfolio minimizes R(x) s.t. b'log(x) >= 0 with
homogenized constraints C x <= d (1'x), whose KKT conditions shift every asset's marginal risk by the same
multiplier, so assets untouched by a binding constraint no longer have risk contributions proportional to their
budgets. Without binding constraints both definitions give the same portfolio.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from qrp.core.measures import rc_error_kernel
from qrp.core.result import RiskParityResult
from qrp.core.validation import align_labels, positive_real, validate_budgets, validate_cov, validate_weights
from qrp.finance.constraint_set import Constraints, constraint_set, validate_signs
from qrp.finance.risk_measures import RISK_MEASURES, check_alpha, euler_contributions, scenario_matrix

#: Clarabel settings: gaps and feasibility to 1e-12 (defaults 1e-8 leave rc_error ~1e-5 on the unconstrained
#: problem; these reach ~1e-10 in about 25 interior-point iterations).
CLARABEL_SETTINGS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10,
                     "max_iter": 500}
FORMULATIONS = ("richard_roncalli", "homogeneous")
#: Tolerance on |sum x*(lambda*) - 1| for ``converged``.
SUM_TOL = 1e-8


class _Model:
    """The inner problem x*(lambda) as a compiled cvxpy problem with lambda a Parameter."""

    def __init__(self, measure: str, b: np.ndarray, signs: np.ndarray, cons: Constraints, *, factor=None,
                 scenarios=None, alpha=0.95, pi=None, homogeneous: bool = False):
        import cvxpy as cp  # optional heavy dependency (finance extra)

        n = b.shape[0]
        self.x = x = cp.Variable(n)
        self.lam = cp.Parameter(nonneg=True, value=1.0)
        constraints = [cp.multiply(signs, x) >= 0]
        self.tail = None
        if measure == "volatility" and pi is None:
            risk = 0.5 * cp.sum_squares(factor @ x)
            self.degree = 2
        elif measure == "volatility":
            risk = -pi @ x + cp.norm(factor @ x, 2)
            self.degree = 1
        elif measure == "cvar":
            t = scenarios.shape[0]
            zeta, u = cp.Variable(), cp.Variable(t, nonneg=True)
            self.tail = u >= -scenarios @ x - zeta
            constraints.append(self.tail)
            risk = zeta + cp.sum(u) / ((1.0 - alpha) * t)
            self.degree = 1
        else:
            centred = scenarios - scenarios.mean(axis=0)
            v = cp.Variable(scenarios.shape[0], nonneg=True)
            constraints.append(v >= -centred @ x)
            risk = cp.norm(v, 2) / np.sqrt(scenarios.shape[0] - 1)
            self.degree = 1
        k = cp.sum(x) if homogeneous else 1.0  # constraints on w = x / k, multiplied through by k = 1'x
        if cons.lo is not None:
            constraints += [x >= cons.lo * k, x <= cons.hi * k]
        if cons.c_ub is not None:
            constraints.append(cons.c_ub @ x <= cons.d_ub * k)
        if cons.a_eq is not None:
            constraints.append(cons.a_eq @ x == cons.e_eq * k)
        if cons.turnover is not None:
            constraints.append(cp.norm(x - cons.previous * k, 1) <= cons.turnover * k)
        if cons.leverage is not None:
            constraints.append(cp.norm(x, 1) <= cons.leverage * k)
        objective = cp.Minimize(risk - self.lam * (b @ cp.log(cp.multiply(signs, x))))
        self.problem = cp.Problem(objective, constraints)
        self.solves = 0

    def solve(self, lam: float) -> np.ndarray:
        import cvxpy as cp  # optional heavy dependency (finance extra)

        self.lam.value = lam
        try:
            with warnings.catch_warnings():  # "may be inaccurate": the status is checked and recorded instead
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
        except cp.error.SolverError as exc:
            raise ValueError(f"constrained risk budgeting: the conic solver failed at lambda={lam:.6g}: "
                             f"{exc}") from None
        self.solves += 1
        if self.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise ValueError(f"constrained risk budgeting: the constraints admit no solution with the prescribed "
                             f"signs (solver status {self.problem.status!r} at lambda={lam:.6g})")
        return np.asarray(self.x.value, dtype=np.float64)


def _factor(s: np.ndarray) -> np.ndarray:
    """F with F'F = S (eigen-decomposition: works for singular PSD S)."""
    vals, vecs = np.linalg.eigh(s)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))).T


def _find_lambda(model: _Model, start: float) -> tuple[float, np.ndarray]:
    """lambda* with sum x*(lambda*) = 1 by bracketing then Brent on log(lambda)."""
    cache: dict[float, np.ndarray] = {}

    def excess(log_lam: float) -> float:
        x = model.solve(float(np.exp(log_lam)))
        cache[log_lam] = x
        return float(x.sum()) - 1.0

    a = np.log(start)
    fa = excess(a)
    if abs(fa) < 1e-12:
        return float(np.exp(a)), cache[a]
    step = 0.5 if fa < 0 else -0.5
    b, fb = a, fa
    while np.sign(fb) == np.sign(fa):
        a, fa = b, fb
        b += step
        step *= 2.0
        message = (f"constrained risk budgeting: no lambda makes the weights sum to 1 under these constraints "
                   f"(sum(x) = {fb + 1.0:.6g} at lambda = {np.exp(b):.3g})")
        if abs(b - np.log(start)) > 60:
            raise ValueError(message)
        try:
            fb = excess(b)
        except ValueError as exc:  # the conic solver gives up at extreme lambda: no root in reach
            raise ValueError(f"{message}; {exc}") from None
    root = brentq(excess, min(a, b), max(a, b), xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200)
    return float(np.exp(root)), cache[root] if root in cache else model.solve(float(np.exp(root)))


def _risk_inputs(cov, returns, risk_measure: str):
    """(covariance, asset names, scenario matrix or None): ``cov`` validated, or estimated from the scenarios."""
    s = names = scen = None
    if cov is not None:
        c = validate_cov(cov)
        s, names = c.matrix, c.names
    elif risk_measure == "volatility":
        raise ValueError("risk_measure='volatility' needs cov")
    if risk_measure != "volatility":
        if returns is None:
            raise ValueError(f"risk_measure={risk_measure!r} needs the scenario returns")
        if isinstance(returns, pd.DataFrame):  # columns aligned to cov's labels, mismatches refused
            if names is None:
                names = tuple(str(x) for x in returns.columns)
            else:
                returns = align_labels(returns.T, names, "returns columns").T
        scen = scenario_matrix(returns, None if s is None else s.shape[0])
        _check_scenarios(scen, risk_measure, names)
        if s is None:
            s = np.cov(scen, rowvar=False).reshape(scen.shape[1], scen.shape[1])
            if not np.all(np.diag(s) >= np.finfo(np.float64).tiny):
                k = int(np.argmin(np.diag(s)))
                raise ValueError(f"returns of asset {names[k] if names else k} have variance {float(s[k, k])!r} "
                                 "(zero or below the float range): no covariance; rescale the returns or pass cov")
    return s, names, scen


def _check_scenarios(scen: np.ndarray, risk_measure: str, names) -> None:
    """``ValueError`` for scenarios without risk to budget: every scenario alike (the measure is then linear in x,
    and x*(lambda) unbounded or zero risk), or, for semi-deviation, an asset whose returns never move (its marginal
    risk is 0, so no lambda b_i can equal its contribution)."""
    moves = np.ptp(scen, axis=0) > 0.0
    if not moves.any():
        raise ValueError("returns are the same in every scenario: there is no risk to budget")
    if risk_measure == "semi_deviation" and not moves.all():
        k = int(np.argmin(moves))
        raise ValueError(f"returns of asset {names[k] if names else k} are constant: its semi-deviation "
                         "contribution is 0 whatever its weight, so no portfolio meets its budget")


def constrained_risk_budgeting(
    cov=None,
    budgets=None,
    *,
    returns=None,
    risk_measure: str = "volatility",
    alpha: float = 0.95,
    bounds=None,
    linear_constraints=None,
    equality_constraints=None,
    groups=None,
    signs=None,
    leverage: float | None = None,
    turnover: float | None = None,
    previous_weights=None,
    expected_returns=None,
    risk_aversion: float = 1.0,
    formulation: str = "richard_roncalli",
) -> RiskParityResult:
    """Constrained risk-budgeting portfolio (module docstring: definition, KKT conditions, solver).

    Parameters
    ----------
    cov : (N, N) covariance (DataFrame labels become asset names); needed for ``risk_measure="volatility"``.
    budgets : (N,) risk budgets b > 0 summing to 1; None for equal risk contributions.
    returns : (T, N) scenario returns; needed for ``"cvar"`` and ``"semi_deviation"``.
    risk_measure : one of ``qrp.finance.risk_measures.RISK_MEASURES``.
    alpha : CVaR level (0.95: the mean of the worst 5% losses).
    bounds : (lo, hi) for every asset or an (N, 2) array; negative lo only with short ``signs``.
    linear_constraints : (C, d) for C w <= d.  equality_constraints : (A, e) for A w = e.
    groups : {name: (members, lo, hi)}: lo <= sum of the members' weights <= hi
        (``qrp.finance.constraint_set.group_constraints``).
    signs : (N,) of +1 / -1, the prescribed side of each position (Bai, Scheinberg & Tutuncu 2016).
    leverage : cap L >= 1 on sum |w_i|.  turnover : cap on sum |w_i - previous_weights_i|.
    expected_returns, risk_aversion : pi and c of R(w) = -pi'w + c sigma(w) (volatility only; pyrb's ``pi``, ``c``).
    formulation : ``"richard_roncalli"`` (default; the module's definition, as pyrb and ``qrp.classical.bounded``)
        or ``"homogeneous"``: one solve of min R(x) - b'log(s x) with every constraint on w = x / 1'x multiplied
        through by 1'x (C x <= d 1'x, ...), the form skfolio's and Riskfolio-Lib's risk budgeting use.

    Returns
    -------
    RiskParityResult with ``solver="clarabel"``, ``risk_contributions`` the Euler contributions of the measure (for
    CVaR, of the tail weights certified by the solver's dual variables), ``rc_error`` against the budgets (non-zero
    when constraints bind, by design), ``volatility`` sqrt(w'Sw) (S = ``cov``, else the sample covariance of
    ``returns``) and stats ``lambda`` (for R in units of its equal-weight value), ``risk_measure``, ``risk``
    (R(w)), ``conic_solves``, ``sum_error``, ``solver_status``, ``signs``, ``constrained``.
    """
    start = time.perf_counter()
    if risk_measure not in RISK_MEASURES:
        raise ValueError(f"unknown risk_measure {risk_measure!r}; available: {', '.join(RISK_MEASURES)}")
    alpha = check_alpha(alpha)
    s, names, scen = _risk_inputs(cov, returns, risk_measure)
    n = s.shape[0]
    b = validate_budgets(budgets, n, names)
    sg = validate_signs(signs, n)
    cons = constraint_set(n, names, bounds=bounds,
                          linear_constraints=linear_constraints, equality_constraints=equality_constraints,
                          groups=groups, turnover=turnover, previous_weights=previous_weights, leverage=leverage)
    if cons.lo is not None and np.any((sg > 0) & (cons.hi <= 0) | (sg < 0) & (cons.lo >= 0)):
        raise ValueError("bounds leave no room for a position on the side that signs prescribes")
    pi = None
    if expected_returns is not None:
        if risk_measure != "volatility":
            raise ValueError("expected_returns apply to risk_measure='volatility' only")
        pi = validate_weights(align_labels(expected_returns, names, "expected_returns"), n, what="expected_returns")
    c_ra = positive_real(risk_aversion, "risk_aversion")
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")
    homogeneous = formulation == "homogeneous"

    # Scale the risk to O(1) at the equal-weight portfolio: lambda* scales with it, x*(lambda*) does not.
    w_eq = np.full(n, 1.0 / n)
    scale = float(euler_contributions(w_eq, risk_measure, cov=s, returns=scen, alpha=alpha).sum())
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    factor = _factor(s) / scale if risk_measure == "volatility" else None
    # With expected returns, R / c = -(pi / c)'x + sigma(x) has the same minimizers (lambda / c for lambda), and
    # stays O(1) for any risk aversion c (pyrb's c = 1e6 is the limit of no expected returns).
    model = _Model(risk_measure, b, sg, cons, factor=factor, scenarios=None if scen is None else scen / scale,
                   alpha=alpha, pi=None if pi is None else pi / (scale * c_ra), homogeneous=homogeneous)
    if cons.empty or homogeneous:  # x*(lambda) is a ray: normalize one solve
        x = model.solve(1.0)
        if x.sum() <= 0:
            raise ValueError(f"the prescribed-sign portfolio has non-positive net exposure ({x.sum():.6g}); it "
                             "cannot be normalized to sum(w) = 1: flip the signs or add a leverage cap")
        lam, sum_error = 1.0 / float(x.sum()) ** model.degree, 0.0
    else:
        try:
            lam, x = _find_lambda(model, 1.0)
        except ValueError as exc:
            if cons.a_eq is None:
                raise
            raise ValueError(f"{exc}. Equality constraints on the final weights often leave no such lambda: "
                             "formulation='homogeneous' imposes them on w = x / sum(x) and solves once") from None
        sum_error = abs(float(x.sum()) - 1.0)
    w = x / x.sum()
    lam = lam * c_ra if pi is not None else lam

    tail = None
    if risk_measure == "cvar":
        tail = np.asarray(model.tail.dual_value, dtype=np.float64)
        tail = tail / tail.sum()
    if pi is not None:
        sw = s @ w
        rc = w * (-pi + c_ra * sw / np.sqrt(float(w @ sw)))
    else:
        rc = euler_contributions(w, risk_measure, cov=s, returns=scen, alpha=alpha, tail_weights=tail)
    risk = float(rc.sum())
    err = rc_error_kernel(rc, b)
    finite = bool(np.all(np.isfinite(w)) and np.isfinite(err))
    return RiskParityResult(
        weights=w,
        risk_contributions=rc,
        volatility=float(np.sqrt(w @ s @ w)),
        rc_error=err,
        converged=finite and model.problem.status in ("optimal", "optimal_inaccurate") and sum_error <= SUM_TOL,
        iterations=model.solves,
        solver="clarabel",
        elapsed=time.perf_counter() - start,
        budgets=b,
        asset_names=names,
        stats={"lambda": lam, "risk_measure": risk_measure, "risk": risk, "conic_solves": model.solves,
               "sum_error": sum_error, "solver_status": model.problem.status, "signs": sg.tolist(),
               "constrained": not cons.empty, "formulation": formulation},
    )
