"""The certificate of a constrained risk-budgeting solve (``qrp.finance.constrained``): the risk measure on the
original data, the solution's Euler contributions and its KKT residual, polished when that lowers the residual.

For a convex risk measure R, homogeneous of degree 1, Euler's theorem gives R(w) = sum_i w_i g_i for a (sub)gradient
g of R at w, so the contributions RC_i = w_i g_i sum to R(w) (Richard & Roncalli 2019, "Constrained risk budgeting
portfolios", section 2). ``certify`` takes the analytic gradient for smooth measures (``risk_measures.SMOOTH``) and
the subgradient the conic solver certifies (the dual of x_R = x) for the others, checks g'w = R(w), and refines the
solution with ``qrp.finance.polish`` (Newton's method on the unconstrained budget conditions, or on the KKT system
with lambda and sum x = 1).
"""

from __future__ import annotations

import numpy as np

from qrp.finance.conic_model import BarrierModel
from qrp.finance.polish import budget_residual, kkt_polish, kkt_tail_polish, newton_polish, tail_polish
from qrp.finance.risk_measures import DRAWDOWN, SMOOTH, TAIL, drawdowns, risk_gradient


class Measure:
    """R and its gradient on the original data, in the variable u = s * x > 0 (signs s)."""

    def __init__(self, name: str, cov, scen, alpha: float, signs: np.ndarray, pi=None, c_ra: float = 1.0):
        self.name, self.cov, self.scen, self.alpha, self.signs = name, cov, scen, alpha, signs
        self.pi, self.c_ra = pi, c_ra
        self._centred = None  # the centred scenarios for the semi-deviation's Hessian, once

    def grad_x(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """R(x) and its gradient in x (with expected returns: -pi'x + c sigma(x))."""
        value, g = risk_gradient(x, self.name, cov=self.cov, returns=self.scen, alpha=self.alpha)
        if self.pi is None:
            return value, g
        return -self.pi @ x + self.c_ra * value, -self.pi + self.c_ra * g

    def hess_x(self, x: np.ndarray) -> np.ndarray | None:
        """The Hessian of R in x where it is analytic, else None (``polish`` then takes central differences of the
        gradient, 2N gradients): volatility S / sigma - g g' / sigma (g = S x / sigma); semi-deviation
        D_-'D_- / ((T - 1) sigma_-) - g g' / sigma_- (D the centred returns, D_- its rows with D_t x < 0: the
        second derivative where no scenario sits at the mean); times c with expected returns."""
        if self.name == "volatility":
            sx = self.cov @ x
            sigma = float(np.sqrt(x @ sx))
            g = sx / sigma
            h = (self.cov - np.outer(g, g)) / sigma
        elif self.name == "semi_deviation":
            if self._centred is None:
                rc = self.scen - self.scen.mean(axis=0)
                m = float(np.max(np.abs(rc)))
                self._centred = (rc / m, m)  # scaled as risk_measures._semi_deviation (no underflow)
            rc, m = self._centred
            z = rc @ x
            d = rc[z < 0.0]
            t = rc.shape[0]
            sigma = float(np.sqrt(float(z[z < 0.0] @ z[z < 0.0]) / (t - 1)))
            if not sigma > 0.0:
                return None
            g = d.T @ z[z < 0.0] / ((t - 1) * sigma)
            h = (d.T @ d / ((t - 1) * sigma) - np.outer(g, g) / sigma) * m
        else:
            return None
        return h if self.pi is None else self.c_ra * h

    def hess(self, u: np.ndarray) -> np.ndarray | None:
        """``hess_x`` in the variable u = s * x."""
        h = self.hess_x(self.signs * u)
        return None if h is None else h * np.outer(self.signs, self.signs)

    def grad(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = risk_gradient(self.signs * u, self.name, cov=self.cov, returns=self.scen, alpha=self.alpha)
        return value, self.signs * g

    def loss_jacobian(self, u: np.ndarray) -> np.ndarray:
        """M with the tail measure's losses = M u near u (scenario losses, or drawdowns)."""
        m = drawdowns(self.scen, self.signs * u)[1] if self.name in DRAWDOWN else -self.scen
        return m * self.signs


def _peaks_hold(measure: Measure, m: np.ndarray, y: np.ndarray, x: np.ndarray) -> bool:
    """For a drawdown measure, whether the linearized losses m y (m taken at the solver's point) are still the
    drawdowns at the weights ``x``: False when a running peak moved, so the linearization does not hold at the new
    point. True for the other measures (their losses are linear everywhere)."""
    if measure.name not in DRAWDOWN:
        return True
    losses = m @ y
    return np.allclose(losses, drawdowns(measure.scen, x)[0], rtol=1e-12, atol=1e-14 * float(np.abs(losses).max()))


def _polish(model: BarrierModel, measure: Measure, u: np.ndarray, b: np.ndarray):
    """(u, subgradient) refined to the unconstrained KKT conditions (``qrp.finance.polish``), or None."""
    if measure.name in SMOOTH:
        y = newton_polish(measure.grad, u, b, hess=measure.hess)
        return y, measure.grad(y)[1]
    q = model.tail_weights()
    if q is None:
        return None
    m = measure.loss_jacobian(u)
    out = tail_polish(m, u, q, model.cap, b)
    if out is None:  # the split of a solve at gap 1e-8 may be off: the KKT polish (no rows) corrects it
        kkt = _tail_kkt(model, measure, measure.signs * u, b)
        return None if kkt is None else (measure.signs * kkt[0], measure.signs * kkt[3])
    y, q = out
    if not _peaks_hold(measure, m, y, measure.signs * y):
        return None
    return y, m.T @ q


def _tail_kkt(model: BarrierModel, measure: Measure, x: np.ndarray, b: np.ndarray):
    """``polish.kkt_tail_polish`` at the model's solution (drawdowns: only while the running peaks stay put)."""
    rows, t = model.affine_rows()
    m = measure.loss_jacobian(measure.signs * x) * measure.signs  # losses = m x
    out = kkt_tail_polish(m, model.tail_weights(), model.cap, x, t, b, rows)
    if out is None:
        return None
    if not _peaks_hold(measure, m, out[0], out[0]):
        return None
    return out


def _kkt_accept(out, kkt: float, signs: np.ndarray, gradient):
    """A KKT polish ``out`` = (x, residual, lambda, ...) (``polish.kkt_polish`` / ``_tail_kkt``), accepted when its
    residual is below ``kkt``: (x, residual, lambda, u, g) with u = s x and g = gradient(u, out) the subgradient of
    R in u at the polished point; None when ``out`` is None or does not lower the residual."""
    if out is None or not out[1] < kkt:
        return None
    u = signs * out[0]
    return out[0], out[1], out[2], u, gradient(u, out)


def certify(model: BarrierModel, measure: Measure, x: np.ndarray, b: np.ndarray, pi, scale: float, *,
             polish: bool) -> dict:
    """The solution, its Euler contributions and KKT residual; unconstrained: polished (``qrp.finance.polish``).

    Smooth measures take the analytic gradient at the returned weights, the others the subgradient the solver
    certifies (the dual of x_R = x), checked to reproduce R(w) (g'w = R(w) for a subgradient of a homogeneous R).
    """
    status = model.problem.status
    u = measure.signs * x
    if measure.name in SMOOTH or pi is not None:
        g = measure.grad(u)[1]
    else:
        g = measure.signs * model.subgradient() * scale  # the model's risk is R / scale
    kkt = model.kkt_residual()
    polished, lam_r = False, None
    acc = None
    if not polish and kkt > 1e-13 and (measure.name in SMOOTH or pi is not None):
        rows, t = model.affine_rows()
        acc = _kkt_accept(kkt_polish(measure.grad_x, x, t, b, rows, hess=measure.hess_x), kkt, measure.signs,
                          lambda u, out: measure.grad(u)[1])
    elif not polish and kkt > 1e-13 and measure.name in TAIL and model.tail_weights() is not None:
        acc = _kkt_accept(_tail_kkt(model, measure, x, b), kkt, measure.signs,
                          lambda u, out: measure.signs * out[3])
    if acc is not None:
        x, kkt, lam_r, u, g = acc
        polished = True
    if polish:
        kkt = budget_residual(u, g, b)
        out = _polish(model, measure, u, b) if kkt > 1e-13 else None
        if out is not None and budget_residual(out[0], out[1], b) < kkt:
            u, g = out
            kkt, polished = budget_residual(u, g, b), True
    x = measure.signs * u
    w = x / x.sum()
    value = measure.grad(u / x.sum())[0] if pi is None else float("nan")
    rc = w * (measure.signs * g)
    if pi is None:
        kkt = max(kkt, abs(float(rc.sum()) / value - 1.0))  # g is a subgradient at w only if g'w = R(w)
        rc = rc * (value / rc.sum())
    return {"x": x, "rc": rc, "kkt": float(kkt), "status": status, "polished": polished, "lambda_r": lam_r}


__all__ = ["Measure", "certify"]
