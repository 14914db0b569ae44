"""Conic forms (cvxpy atoms) of the risk measures of ``qrp.finance.risk_measures`` for constrained risk budgeting.

``risk_form(measure, x, ...)`` returns R(x) as a cvxpy expression with its auxiliary constraints, in the forms
skfolio's ``ConvexOptimization`` uses (``skfolio/optimization/convex/_base.py``): the Rockafellar-Uryasev linear
program for CVaR and CDaR, the exponential cone of the entropic measures (EVaR, EDaR; Ahmadi-Javid 2012, Cajas
2021: EVaR = min_{zeta, s >= 0} zeta - s log(T (1 - alpha)) s.t. sum_t u_t <= s, u_t >= s exp((L_t - zeta) / s)),
the drawdown recursion v_t >= v_{t-1} - p_t, v_t >= 0, v_0 = 0 (v_t >= DD_t, tight where it matters), the
second-order cone of the semi-deviation and ulcer index, and ``cp.dotsort`` for the Gini mean difference.

``Form.tail`` is the constraint whose dual variables are the tail weights q_t of the tail measures (CVaR, CDaR,
worst realization, maximum drawdown: sum q = 1), used to certify the subgradient at the optimum and to polish it
(``qrp.finance.polish``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qrp.finance.risk_measures import DRAWDOWN


@dataclass
class Form:
    """R(x) as cvxpy: ``risk`` (homogeneous of ``degree``), its ``constraints``, and the ``tail`` constraint."""

    risk: object
    constraints: list = field(default_factory=list)
    degree: int = 1
    tail: object = None
    cap: float = 1.0


def _entropic(cp, losses, alpha: float) -> tuple[object, list]:
    t = losses.shape[0]
    zeta, s, u = cp.Variable(), cp.Variable(nonneg=True), cp.Variable(t)
    cons = [cp.sum(u) <= s, cp.constraints.ExpCone(losses - zeta, s * np.ones(t), u)]
    return zeta - s * np.log(t * (1.0 - alpha)), cons


def _tail(cp, losses, alpha: float | None, cons: list) -> Form:
    """CVaR at ``alpha`` (None: the maximum) of the affine ``losses``, tail constraint recorded."""
    t = losses.shape[0]
    zeta = cp.Variable()
    if alpha is None:
        tail = zeta >= losses
        return Form(zeta, [*cons, tail], tail=tail, cap=1.0)
    u = cp.Variable(t, nonneg=True)
    tail = u >= losses - zeta
    return Form(zeta + cp.sum(u) / ((1.0 - alpha) * t), [*cons, tail], tail=tail, cap=1.0 / ((1.0 - alpha) * t))


def _drawdown_form(cp, measure: str, port, alpha: float) -> Form:
    t = port.shape[0]
    v = cp.Variable(t + 1)
    cons = [v[0] == 0, v[1:] >= v[:-1] - port, v[1:] >= 0]
    dd = v[1:]
    if measure == "max_drawdown":
        return _tail(cp, dd, None, cons)
    if measure == "cdar":
        return _tail(cp, dd, alpha, cons)
    if measure == "average_drawdown":
        return Form(cp.sum(dd) / t, cons)
    if measure == "edar":
        risk, extra = _entropic(cp, dd, alpha)
        return Form(risk, cons + extra)
    return Form(cp.norm(dd, 2) / np.sqrt(t), cons)  # ulcer index


def risk_form(measure: str, x, *, factor=None, scenarios=None, alpha: float = 0.95, pi=None) -> Form:
    """The conic form of canonical ``measure`` at the cvxpy variable ``x`` (module docstring).

    ``factor`` F (F'F = S) for volatility: 1/2 |F x|^2 (degree 2, the same family x*(lambda) up to lambda's scale)
    or, with expected returns ``pi``, -pi'x + |F x| (Roncalli 2015).
    """
    import cvxpy as cp  # optional heavy dependency (finance extra)

    if measure == "volatility":
        if pi is None:
            return Form(0.5 * cp.sum_squares(factor @ x), degree=2)
        return Form(-pi @ x + cp.norm(factor @ x, 2))
    r = scenarios
    t = r.shape[0]
    if measure in DRAWDOWN:
        return _drawdown_form(cp, measure, r @ x, alpha)
    if measure == "cvar":
        return _tail(cp, -r @ x, alpha, [])
    if measure == "worst_realization":
        return _tail(cp, -r @ x, None, [])
    if measure == "evar":
        risk, cons = _entropic(cp, -r @ x, alpha)
        return Form(risk, cons)
    if measure == "gini_mean_difference":
        # 2 / (T (T - 1)) sum_{i < j} |p_i - p_j| (= skfolio's OWA form sum_k a_k p_(k)); Clarabel fails on
        # cp.dotsort at these tolerances, the pairwise linear program solves
        i, j = np.triu_indices(t, 1)
        return Form(2.0 * cp.sum(cp.abs((r[i] - r[j]) @ x)) / (t * (t - 1)))
    z = (r - r.mean(axis=0)) @ x
    if measure == "mean_absolute_deviation":
        return Form(cp.sum(cp.abs(z)) / t)
    if measure == "first_lower_partial_moment":
        return Form(cp.sum(cp.pos(-z)) / t)
    v = cp.Variable(t, nonneg=True)  # semi-deviation
    return Form(cp.norm(v, 2) / np.sqrt(t - 1), [v >= -z])


__all__ = ["Form", "risk_form"]
