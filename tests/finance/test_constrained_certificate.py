"""qrp.finance.constrained_certificate: the KKT-polish accept rule shared by the smooth and the tail sites."""

from types import SimpleNamespace

import numpy as np
import pytest

from qrp.finance import constrained_certificate as cc
from qrp.finance.constrained_certificate import Measure, _kkt_accept, certify

COV = np.array([[0.04, 0.006], [0.006, 0.09]])
SCEN = np.array([[0.01, -0.02], [-0.03, 0.01], [0.02, 0.02], [-0.01, -0.04]])
B = np.array([0.5, 0.5])
X = np.array([0.55, 0.45])
X_NEW = np.array([0.6, 0.4])


class _Model:
    """The parts of ``conic_model.BarrierModel`` that ``certify`` reads, with a fixed KKT residual."""

    def __init__(self, kkt: float):
        self.problem, self.cap, self._kkt = SimpleNamespace(status="optimal"), 0.5, kkt

    def kkt_residual(self):
        return self._kkt

    def affine_rows(self):
        rows = {"jx": np.zeros((0, 2)), "jt": np.zeros((0, 0)), "c0": np.zeros(0), "eq": np.zeros(0, dtype=bool)}
        return rows, np.zeros(0)

    def tail_weights(self):
        return np.array([0.5, 0.5, 0.0, 0.0])

    def subgradient(self):
        return np.array([0.02, 0.03])


def test_kkt_accept_rule():
    signs = np.array([1.0, -1.0])
    out = (X_NEW, 1e-9, 0.7, np.array([3.0, 4.0]))
    acc = _kkt_accept(out, 1e-6, signs, lambda u, o: signs * o[3])
    assert acc[0] is X_NEW and acc[1] == 1e-9 and acc[2] == 0.7
    assert acc[3].tolist() == [0.6, -0.4] and acc[4].tolist() == [3.0, -4.0]
    assert _kkt_accept(out, 1e-9, signs, lambda u, o: o[3]) is None  # not lower: rejected
    assert _kkt_accept(None, 1e-6, signs, lambda u, o: o[3]) is None
    assert _kkt_accept((X_NEW, float("nan"), 0.7), 1e-6, signs, lambda u, o: o[3]) is None


@pytest.mark.parametrize("residual, accepted", [(1e-10, True), (1e-6, False)])
def test_smooth_site_accepts_only_a_lower_residual(monkeypatch, residual, accepted):
    measure = Measure("volatility", COV, None, 0.95, np.ones(2))
    monkeypatch.setattr(cc, "kkt_polish", lambda *a, **k: (X_NEW, residual, 0.3))
    res = certify(_Model(1e-6), measure, X.copy(), B, None, 1.0, polish=False)
    assert res["polished"] is accepted
    x = X_NEW if accepted else X
    assert np.array_equal(res["x"], x) and res["lambda_r"] == (0.3 if accepted else None)
    g = measure.grad(x)[1]
    np.testing.assert_allclose(res["rc"], x * g / x.sum() * (measure.grad(x / x.sum())[0] / (x * g / x.sum()).sum()))
    assert res["kkt"] >= (residual if accepted else 1e-6)


@pytest.mark.parametrize("residual, accepted", [(1e-10, True), (1e-6, False)])
def test_tail_site_accepts_only_a_lower_residual(monkeypatch, residual, accepted):
    measure = Measure("cvar", None, SCEN, 0.5, np.ones(2))
    g_new = np.array([0.025, 0.02])
    monkeypatch.setattr(cc, "_tail_kkt", lambda *a, **k: (X_NEW, residual, 0.3, g_new))
    res = certify(_Model(1e-6), measure, X.copy(), B, None, 1.0, polish=False)
    assert res["polished"] is accepted
    x = X_NEW if accepted else X
    g = g_new if accepted else _Model(0).subgradient()
    assert np.array_equal(res["x"], x) and res["lambda_r"] == (0.3 if accepted else None)
    rc = x / x.sum() * g
    np.testing.assert_allclose(res["rc"], rc * (measure.grad(x / x.sum())[0] / rc.sum()))
