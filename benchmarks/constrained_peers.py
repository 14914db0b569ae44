"""Constrained and CVaR risk budgeting against the peers: ``python -m benchmarks.constrained_peers``.

Reproduces pyrb's documented Table 9 cases (inputs and printed outputs in ``tests/finance/test_constrained``),
compares with skfolio's ``RiskBudgeting`` on 8 S&P 500 stocks (2020-2021), then runs the Riskfolio-Lib,
riskparity.py and R riskParityPortfolio examples (``benchmarks.peer_examples``); prints the figures of
docs/guide/constrained.md.
"""

import time
import warnings

import numpy as np
from skfolio import RiskMeasure
from skfolio.optimization import RiskBudgeting

from benchmarks import peer_examples
from qrp.data.returns import load_sp500_returns
from qrp.finance.constrained import constrained_risk_budgeting
from qrp.finance.risk_measures import RISK_MEASURES
from tests.finance.test_constrained import COV, PYRB
from tests.finance.test_peer_cases import riskfolio_returns

MEASURES = {"cvar": RiskMeasure.CVAR, "semi_deviation": RiskMeasure.SEMI_DEVIATION,
            "volatility": RiskMeasure.VARIANCE}


def _timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    warnings.simplefilter("ignore")
    constrained_risk_budgeting(COV)  # imports and first compilation outside the timings
    for i, (kwargs, weights, shares) in enumerate(PYRB):
        res, secs = _timed(constrained_risk_budgeting, COV, **kwargs)
        dw = np.abs(res.weights - np.array(weights) / 100).max()
        ds = np.abs(res.risk_contributions / res.risk_contributions.sum() - np.array(shares) / 100).max()
        print(f"pyrb case {i}: max|w - pyrb| {dw:.1e}, max|share - pyrb| {ds:.1e}, {res.iterations} solves, "
              f"{secs:.2f} s, rc_error {res.rc_error:.2e}")
    x = load_sp500_returns(start="2020-01-01", end="2021-12-31").iloc[:, :8]
    groups = np.array([["tech"] * 4 + ["other"] * 4])
    for name, measure in MEASURES.items():
        cov = x.cov() if name == "volatility" else None
        sk, t_sk = _timed(RiskBudgeting(risk_measure=measure).fit, x)
        res, t_q = _timed(constrained_risk_budgeting, cov, returns=x, risk_measure=name)
        contrib = sk.predict(x).contribution(measure=measure)
        sk_err = np.abs(contrib / contrib.sum() - 1 / 8).max()
        print(f"{name}: max|w - skfolio| {np.abs(res.weights - sk.weights_).max():.1e}; qrp rc_error "
              f"{res.rc_error:.1e} ({t_q:.2f} s), skfolio rc_error {sk_err:.1e} ({t_sk:.2f} s)")
        sk = RiskBudgeting(risk_measure=measure, groups=groups, linear_constraints=["tech <= 0.3"]).fit(x)
        group = {"tech": ([0, 1, 2, 3], None, 0.3)}
        hom = constrained_risk_budgeting(cov, returns=x, risk_measure=name, groups=group, formulation="homogeneous")
        rr = constrained_risk_budgeting(cov, returns=x, risk_measure=name, groups=group)
        print(f"   tech <= 0.3: homogeneous vs skfolio {np.abs(hom.weights - sk.weights_).max():.1e}; "
              f"richard_roncalli vs skfolio {np.abs(rr.weights - sk.weights_).max():.1e}")
    all_measures()
    peer_examples.main()


def all_measures() -> None:
    """Every scenario measure against skfolio's RiskBudgeting on Riskfolio's test returns (10 stocks, 200 days)."""
    y = riskfolio_returns()
    for name in RISK_MEASURES[1:]:
        res, t_q = _timed(constrained_risk_budgeting, returns=y, risk_measure=name)
        try:
            sk, t_sk = _timed(RiskBudgeting(risk_measure=RiskMeasure(name)).fit, y)
        except Exception as exc:
            print(f"{name}: skfolio fails ({type(exc).__name__}); qrp rc_error {res.rc_error:.1e}, KKT residual "
                  f"{res.stats['kkt_residual']:.1e}, converged {res.converged} ({t_q:.2f} s)")
            continue
        print(f"{name}: max|w - skfolio| {np.abs(res.weights - sk.weights_).max():.1e}; qrp rc_error "
              f"{res.rc_error:.1e}, KKT residual {res.stats['kkt_residual']:.1e}, converged {res.converged}, "
              f"polished {res.stats['polished']} ({t_q:.2f} s; skfolio {t_sk:.2f} s)")


if __name__ == "__main__":
    main()
