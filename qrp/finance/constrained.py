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
constraints but converges linearly to about 1e-5. For smooth and tail measures one conic solve, x*(1) (the risk is
scaled so that lambda* is near 1), gives the active constraints and Newton's method on the KKT system with lambda and
sum x = 1 gives lambda* (``polish.kkt_polish``, ``kkt_tail_polish``: the active set corrected where it moves between
1 and lambda*, certified); when that fails, one or two more solves at secant estimates of lambda*, and otherwise
lambda* is found by Brent's method on log(lambda), one conic solve per evaluation (the problem is compiled once with
lambda a cvxpy Parameter).

Not the same as skfolio's ``RiskBudgeting`` with constraints: skfolio minimizes R(x) s.t. b'log(x) >= 0 with
homogenized constraints C x <= d (1'x), whose KKT conditions shift every asset's marginal risk by the same
multiplier, so assets untouched by a binding constraint no longer have risk contributions proportional to their
budgets. Without binding constraints both definitions give the same portfolio.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from qrp.core.measures import rc_error_kernel
from qrp.core.result import RiskParityResult
from qrp.core.validation import align_labels, positive_real, validate_budgets, validate_cov, validate_weights
from qrp.finance.concentration import LS_FORMULATIONS, least_squares_portfolio
from qrp.finance.conic_model import (
    CLARABEL_SETTINGS,
    FIRST_SETTINGS,
    FIRST_SETTINGS_SMOOTH,
    RETRY_SETTINGS,
    BarrierModel,
)
from qrp.finance.constrained_certificate import Measure, certify
from qrp.finance.constraint_set import constraint_set, validate_signs
from qrp.finance.risk_measures import SMOOTH, TAIL, canonical_measure, check_alpha, risk_gradient, scenario_matrix

FORMULATIONS = ("richard_roncalli", "homogeneous")
#: Tolerance on |sum x*(lambda*) - 1| for ``converged``.
SUM_TOL = 1e-8
#: Default tolerance on the KKT residual (``conic_model``; without constraints: max_i |RC_i / R - b_i|).
KKT_TOL = 1e-8
#: Translation-invariant measures: a constant asset contributes 0 to them.
DEVIATIONS = ("semi_deviation", "mean_absolute_deviation", "first_lower_partial_moment", "gini_mean_difference")


def _factor(s: np.ndarray) -> np.ndarray:
    """F with F'F = S: the upper-triangular Cholesky factor (half the nonzeros of a dense factor in the conic
    problem), or from the eigen-decomposition where S is singular."""
    try:
        return np.linalg.cholesky(s).T
    except np.linalg.LinAlgError:
        pass
    vals, vecs = np.linalg.eigh(s)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))).T


def _find_lambda(model: BarrierModel, start: float) -> tuple[float, np.ndarray]:
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
    lam = float(np.exp(root))
    return lam, cache[root] if model.last_lam == lam else model.solve(lam)  # the model holds the root's duals


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
    if risk_measure in DEVIATIONS and not moves.all():
        k = int(np.argmin(moves))
        raise ValueError(f"returns of asset {names[k] if names else k} are constant: its {risk_measure} "
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
    tol: float = KKT_TOL,
    w0=None,
    sum_weights: float = 1.0,
    lmd_mu: float = 0.0,
    lmd_var: float = 0.0,
) -> RiskParityResult:
    """Constrained risk-budgeting portfolio (module docstring: definition, KKT conditions, solver).

    Parameters
    ----------
    cov : (N, N) covariance (DataFrame labels become asset names); needed for ``risk_measure="volatility"``.
    budgets : (N,) risk budgets b > 0 summing to 1; None for equal risk contributions.
    returns : (T, N) scenario returns; needed for every measure but volatility.
    risk_measure : a name of ``qrp.finance.risk_measures.RISK_MEASURES`` (skfolio's ``RiskMeasure`` values in lower
        case: "cvar", "evar", "cdar", "mean_absolute_deviation", ...; or its enum members).
    alpha : level of CVaR, EVaR, CDaR and EDaR (0.95: the mean of the worst 5% losses; skfolio's ``*_beta``).
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
    tol : tolerance on the KKT residual for ``converged`` (``qrp.finance.conic_model``; without constraints the
        residual is max_i |RC_i / R(w) - b_i| after polishing, ``qrp.finance.polish``).

    Returns
    -------
    RiskParityResult with ``solver="clarabel"``, ``risk_contributions`` the Euler contributions of the measure (for
    CVaR, of the tail weights certified by the solver's dual variables), ``rc_error`` against the budgets (non-zero
    when constraints bind, by design), ``volatility`` sqrt(w'Sw) (S = ``cov``, else the sample covariance of
    ``returns``) and stats ``lambda`` (for R in units of its equal-weight value), ``risk_measure``, ``risk``
    (R(w)), ``conic_solves``, ``sum_error``, ``solver_status``, ``signs``, ``constrained``, ``kkt_residual``,
    ``tol``, ``polished``. ``converged`` is True only when the KKT residual is at most ``tol`` (Clarabel's
    "optimal_inaccurate" is polished, re-solved, or reported as not converged).
    """
    start = time.perf_counter()
    risk_measure = canonical_measure(risk_measure)
    alpha = check_alpha(alpha)
    tol = positive_real(tol, "tol")
    s, names, scen = _risk_inputs(cov, returns, risk_measure)
    n = s.shape[0]
    b = validate_budgets(budgets, n, names)
    sg = validate_signs(signs, n)
    cons = constraint_set(n, names, bounds=bounds,
                          linear_constraints=linear_constraints, equality_constraints=equality_constraints,
                          groups=groups, turnover=turnover, previous_weights=previous_weights, leverage=leverage)
    if cons.lo is not None and np.any((sg > 0) & (cons.hi <= 0) | (sg < 0) & (cons.lo >= 0)):
        raise ValueError("bounds leave no room for a position on the side that signs prescribes")
    pi = _expected_returns(expected_returns, risk_measure, names, n)
    c_ra = positive_real(risk_aversion, "risk_aversion")
    if formulation not in FORMULATIONS + LS_FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS + LS_FORMULATIONS}, got {formulation!r}")
    sum_weights = positive_real(sum_weights, "sum_weights")
    if formulation in LS_FORMULATIONS:
        return _least_squares(s, b, formulation, cons, names, start, risk_measure, signs, pi, w0, sum_weights,
                              lmd_mu, lmd_var)
    if w0 is not None or lmd_mu or lmd_var:
        raise ValueError("w0, lmd_mu and lmd_var apply to the least-squares formulations "
                         f"{LS_FORMULATIONS} (formulation={formulation!r} is convex: no initial point)")
    if sum_weights != 1.0 and not cons.empty:
        raise ValueError("sum_weights other than 1 with constraints needs a least-squares formulation; the "
                         "log-barrier ones define the budget sum(w) = 1 through lambda*")
    homogeneous = formulation == "homogeneous"

    # Scale the risk to O(1) at the equal-weight portfolio: lambda* scales with it, x*(lambda*) does not.
    scale = _scale(risk_measure, s, scen, alpha)
    factor = _factor(s) / scale if risk_measure == "volatility" else None
    # With expected returns, R / c = -(pi / c)'x + sigma(x) has the same minimizers (lambda / c for lambda), and
    # stays O(1) for any risk aversion c (pyrb's c = 1e6 is the limit of no expected returns).
    model = BarrierModel(risk_measure, b, sg, cons, factor=factor, scenarios=None if scen is None else scen / scale,
                         alpha=alpha, pi=None if pi is None else pi / (scale * c_ra), homogeneous=homogeneous)
    ray = cons.empty or homogeneous
    measure = Measure(risk_measure, s, scen, alpha, sg, pi, c_ra)
    if ray:  # x*(lambda) is a ray: normalize one solve
        lam = 1.0
        sol = _ray(model, measure, b, pi, scale, tol, polish=cons.empty and pi is None)
    else:
        lam, sol = _richard_roncalli(model, measure, cons, b, pi, scale, c_ra, tol)
    for settings in RETRY_SETTINGS:  # Clarabel stopped short of the tolerance: re-solve (``conic_model``)
        if sol["kkt"] <= tol:
            break
        model.settings = settings
        if ray:
            x = model.solve(lam)
        else:
            lam, x = _find_lambda(model, lam)
        retry = certify(model, measure, x, b, pi, scale, polish=cons.empty and pi is None)
        sol = retry if retry["kkt"] < sol["kkt"] else sol
    x = sol["x"]
    sum_error = 0.0 if ray else abs(float(x.sum()) - 1.0)
    lam = 1.0 / float(x.sum()) ** model.degree if ray else lam
    w = x / x.sum() * sum_weights  # sum_weights != 1 only without constraints: the same portfolio, scaled
    lam = lam * c_ra if pi is not None else lam
    if pi is not None:
        sw = s @ w
        rc = w * (-pi + c_ra * sw / np.sqrt(float(w @ sw)))
    else:
        rc = sol["rc"]
    err = rc_error_kernel(rc, b)
    finite = bool(np.all(np.isfinite(w)) and np.isfinite(err))
    return RiskParityResult(
        weights=w,
        risk_contributions=rc,
        volatility=float(np.sqrt(w @ s @ w)),
        rc_error=err,
        converged=finite and sum_error <= SUM_TOL and sol["kkt"] <= tol,
        iterations=model.solves,
        solver="clarabel",
        elapsed=time.perf_counter() - start,
        budgets=b,
        asset_names=names,
        stats={"lambda": lam, "risk_measure": risk_measure, "risk": float(rc.sum()), "conic_solves": model.solves,
               "sum_error": sum_error, "solver_status": sol["status"], "signs": sg.tolist(),
               "constrained": not cons.empty, "formulation": formulation, "kkt_residual": sol["kkt"],
               "tol": tol, "polished": sol["polished"]},
    )


def _polishable(measure: Measure, pi) -> bool:
    """Whether Newton's method on the KKT conditions refines the solve (``polish``): smooth and tail measures."""
    return measure.name in SMOOTH + TAIL or pi is not None


def _first_settings(measure: Measure, pi) -> dict:
    """The first solve's settings of a polished measure (``conic_model.FIRST_SETTINGS``)."""
    return FIRST_SETTINGS_SMOOTH if measure.name in SMOOTH or pi is not None else FIRST_SETTINGS


def _ray(model: BarrierModel, measure: Measure, b, pi, scale: float, tol: float, *, polish: bool) -> dict:
    """The certified solution x*(1) of a ray problem (no constraints, or the homogeneous form): a first solve at
    ``FIRST_SETTINGS`` (smooth measures: ``FIRST_SETTINGS_SMOOTH``) where Newton's method polishes the answer,
    repeated at ``CLARABEL_SETTINGS`` when that does not certify within ``tol`` (the better of the two kept)."""
    sol = None
    for settings in ((_first_settings(measure, pi), CLARABEL_SETTINGS) if _polishable(measure, pi)
                     else (CLARABEL_SETTINGS,)):
        model.settings = settings
        x = model.solve(1.0)
        if x.sum() <= 0:
            raise ValueError(f"the prescribed-sign portfolio has non-positive net exposure ({x.sum():.6g}); it "
                             "cannot be normalized to sum(w) = 1: flip the signs or add a leverage cap")
        out = certify(model, measure, x, b, pi, scale, polish=polish)
        sol = out if sol is None or out["kkt"] < sol["kkt"] else sol
        if sol["kkt"] <= tol:
            break
    return sol


def _richard_roncalli(model: BarrierModel, measure: Measure, cons, b, pi, scale: float, c_ra: float, tol: float):
    """(lambda*, certified solution): one to three conic solves and Newton for smooth and tail measures (the first
    at ``FIRST_SETTINGS`` or ``FIRST_SETTINGS_SMOOTH``, then at ``CLARABEL_SETTINGS``), else Brent."""
    if _polishable(measure, pi):
        for settings, solves in ((_first_settings(measure, pi), 1), (CLARABEL_SETTINGS, 3)):
            model.settings = settings
            fast = _newton_path(model, measure, b, pi, scale, c_ra, tol, solves)
            if fast is not None:
                return fast
        model.settings = CLARABEL_SETTINGS
    try:
        lam, x = _find_lambda(model, 1.0)
    except ValueError as exc:
        if cons.a_eq is None:
            raise
        raise ValueError(f"{exc}. Equality constraints on the final weights often leave no such lambda: "
                         "formulation='homogeneous' imposes them on w = x / sum(x) and solves once") from None
    return lam, certify(model, measure, x, b, pi, scale, polish=False)


def _newton_path(model: BarrierModel, measure: Measure, b: np.ndarray, pi, scale: float, c_ra: float, tol: float,
                 solves: int = 3):
    """(lambda*, certified solution) of the Richard-Roncalli problem for a smooth or tail measure from one to three
    conic solves, or None. Newton's method on the KKT system with lambda and sum x = 1 (``polish.kkt_polish`` /
    ``kkt_tail_polish``, which correct the active set) from x*(1) finds the root; accepted only when certified
    (multipliers >= 0, the other constraints hold) and within ``tol``. Else sum x*(lambda) ~ lambda^(1/degree)
    sum x*(1) (exact without constraints) gives a second lambda, then the log-log secant estimate a third, each
    solve followed by Newton; then Brent's method on lambda takes over."""
    try:  # sum x*(lambda) ~ lambda^(1/degree): a log-log secant step per solve, Newton on the KKT system after each
        x1 = model.solve(1.0)
        s1 = float(x1.sum())
        if not s1 > 0:
            return None
        sol = certify(model, measure, x1, b, pi, scale, polish=False)  # lambda* ~ 1 (the risk is scaled to O(1)):
        if sol["polished"] and sol["kkt"] <= tol:  # x*(1)'s active set is often lambda*'s; Newton moves lambda
            return _model_lambda(model, measure, sol, pi, scale, c_ra), sol
        if solves == 1:
            return None
        pts = [(0.0, float(np.log(s1)))]
        for _ in range(solves - 1):
            if len(pts) == 1:
                log_lam = -model.degree * pts[0][1]
            else:
                (a, fa), (c, fc) = pts[-2], pts[-1]
                log_lam = c - fc * (c - a) / (fc - fa) if fc != fa else c
                log_lam = float(np.clip(log_lam, c - 5.0, c + 5.0))  # sum x may saturate (leverage): no wild steps
            x0 = model.solve(float(np.exp(log_lam)))
            sol = certify(model, measure, x0, b, pi, scale, polish=False)
            if sol["polished"] and sol["kkt"] <= tol:
                break
            if not x0.sum() > 0:
                return None
            pts.append((log_lam, float(np.log(x0.sum()))))
        else:
            return None
    except (ValueError, FloatingPointError):
        return None
    return _model_lambda(model, measure, sol, pi, scale, c_ra), sol


def _model_lambda(model: BarrierModel, measure: Measure, sol: dict, pi, scale: float, c_ra: float) -> float:
    """lambda* in the model's units from the polished lambda of R (``polish.kkt_polish``'s ``lambda``)."""
    lam_r, x = sol["lambda_r"], sol["x"]
    if pi is not None:  # the model's risk is (-pi'x / c + sigma(x)) / scale
        return lam_r / (c_ra * scale)
    if model.degree == 2:  # the model's risk is x'Sx / (2 scale^2): lambda_model = lambda_R sigma(x) / scale^2
        return lam_r * measure.grad_x(x)[0] / scale**2
    return lam_r / scale


def _expected_returns(expected_returns, risk_measure: str, names, n: int):
    if expected_returns is None:
        return None
    if risk_measure != "volatility":
        raise ValueError("expected_returns apply to risk_measure='volatility' only")
    return validate_weights(align_labels(expected_returns, names, "expected_returns"), n, what="expected_returns")


def _least_squares(s, b, formulation, cons, names, start, risk_measure, signs, pi, w0, sum_weights, lmd_mu,
                   lmd_var) -> RiskParityResult:
    if risk_measure != "volatility" or signs is not None:
        raise ValueError(f"formulation={formulation!r} is defined on the variance contributions of a long "
                         "portfolio: not with another risk_measure or signs")
    return least_squares_portfolio(s, b, formulation, cons, names=names, start=start, w0=w0,
                                   sum_weights=sum_weights, mu=pi, lmd_mu=lmd_mu, lmd_var=lmd_var)


def _scale(measure: str, s, scen, alpha: float) -> float:
    value = risk_gradient(np.full(s.shape[0], 1.0 / s.shape[0]), measure, cov=s, returns=scen, alpha=alpha)[0]
    return value if np.isfinite(value) and value > 0 else 1.0
