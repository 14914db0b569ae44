"""Riskfolio-Lib, riskparity.py and R riskParityPortfolio examples, run by ``python -m benchmarks.constrained_peers``.

Each case qrp can express is computed and compared with the peer's expected numbers (from its tests) or, where the
peer's test asserts only properties, with those properties and with the installed peer run on the same inputs.
``NOT_EXPRESSIBLE`` lists the peers' cases qrp cannot state, with the reason. Sources: see
``tests/finance/test_peer_cases.py`` (which asserts the cheap cases).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import riskfolio as rf

import qrp
from qrp.finance.constrained import constrained_risk_budgeting
from tests.finance.test_constrained import COV
from tests.finance.test_peer_cases import RISKFOLIO_MEASURES, r_sigma, riskfolio_returns, riskfolio_weights, rpp_sigma

#: Sectors of the 10 Riskfolio test stocks, for the asset-class constraints of its Tutorial 33.
SECTORS = {"AMZN": "Consumer", "APA": "Energy", "CMCSA": "Communication", "CPB": "Staples", "JCI": "Industrials",
           "JPM": "Financials", "MMC": "Financials", "MO": "Staples", "TGT": "Consumer", "ZION": "Financials"}

#: Riskfolio's other risk-budgeting measures that qrp has (issue 24.1), by its rm code.
MORE_RISKFOLIO = {"MAD": "mean_absolute_deviation", "EVaR": "evar", "CDaR": "cdar", "EDaR": "edar",
                  "UCI": "ulcer_index"}

NOT_EXPRESSIBLE = [
    ("Riskfolio test_classic_riskparity_optimization: TG, CVRG, TGRG (3 of its 14 measures)", "tail Gini and the "
     "range measures are not in qrp; GMD is (Riskfolio 7.4's own rp_optimization fails on it here), FLPM / SLPM are "
     "skfolio's (minimum acceptable return the mean; Riskfolio's threshold differs: 3.7e-2 / 1.8e-2 apart)"),
    ("Riskfolio Tutorials 10, 33, 43, 47 (their printed weights)", "their data are downloaded from Yahoo Finance at "
     "run time and not stored; the constraint tools are reproduced on the test data instead"),
    ("Riskfolio model='FC' / 'FM' (risk factors), rrp_optimization (relaxed risk parity)", "not in qrp (factor risk "
     "parity exists only as a backtest strategy on principal components)"),
    ("riskparity.py 0.5 <= sum(w) <= 1 with a mean-return term", "qrp's weights sum to 1 by definition"),
    ("riskparity.py dummy variables (w, u) and explicit sum(w) = 1 rows", "qrp's variables are the weights; the "
     "budget row is implied (an equality row fixing sum(w) is refused)"),
    ("riskparity.py add_mean_return / add_variance trade-off profiles; R formulations 'rc-over-var' etc. with "
     "sca / alabama / slsqp, and R's sca with constraints", "a different objective (risk concentration plus "
     "penalties); qrp solves the log-barrier / Richard-Roncalli definition (without constraints every formulation "
     "has the same solution: the newton / ccd / slsqp agreement above)"),
    ("R internal helpers (projectBudgetLineAndBox, rpp_*_constraints_iteration, isFeasiblePortfolio)",
     "internal QP steps of the R solver, no portfolio to compare"),
]


def _timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def _riskfolio_portfolio(y: pd.DataFrame):
    port = rf.Portfolio(returns=y)
    port.assets_stats(method_mu="hist", method_cov="hist")
    port.alpha = 0.05
    port.solvers = ["CLARABEL"]
    return port


def riskfolio() -> None:
    y, stored = riskfolio_returns(), riskfolio_weights()
    port = _riskfolio_portfolio(y)
    for rm, measure in {**RISKFOLIO_MEASURES, **MORE_RISKFOLIO}.items():
        res, secs = _timed(constrained_risk_budgeting, y.cov() if measure == "volatility" else None, returns=y,
                           risk_measure=measure)
        live = port.rp_optimization(model="Classic", rm=rm, rf=0, b=None, hist=True)
        itself = "fails" if live is None else f"{np.abs(live['weights'].to_numpy() - stored[rm]).max():.1e}"
        print(f"Riskfolio test_classic_riskparity_optimization {rm}: max|w - Classic_RP.csv| "
              f"{np.abs(res.weights - stored[rm]).max():.1e} (Riskfolio {rf.__version__} itself: {itself}), "
              f"rc_error {res.rc_error:.1e}, {secs:.2f} s")
    # Tutorial 33's constraint tools on the test data: a cap per asset, caps per class, a minimum return
    classes = pd.DataFrame({"Assets": list(SECTORS), "Sector": list(SECTORS.values())})
    rows = [("All Assets", "", "", "<=", 0.15), ("Classes", "Sector", "Financials", "<=", 0.2),
            ("Classes", "Sector", "Staples", "<=", 0.2)]
    cons = pd.DataFrame([{"Disabled": False, "Type": t, "Set": s, "Position": p, "Sign": g, "Weight": v,
                          "Type Relative": "", "Relative Set": "", "Relative": "", "Factor": ""}
                         for t, s, p, g, v in rows])
    a, b = rf.assets_constraints(cons, classes)
    mu = y.mean().to_numpy()
    free = port.rp_optimization(model="Classic", rm="MV", rf=0, b=None, hist=True)["weights"].to_numpy()
    floor = 1.2 * float(mu @ free)
    port.ainequality, port.binequality, port.lowerret = a, b, floor
    names = list(y.columns)
    groups = {g: ([k for k in names if SECTORS[k] == g], None, 0.2) for g in ("Financials", "Staples")}
    for rm, measure in RISKFOLIO_MEASURES.items():
        live = port.rp_optimization(model="Classic", rm=rm, rf=0, b=None, hist=True)["weights"].to_numpy()
        args = {"returns": y, "risk_measure": measure, "bounds": (0.0, 0.15), "groups": groups,
                "linear_constraints": (-mu[None, :], [-floor])}
        cov = y.cov() if measure == "volatility" else None
        hom, secs = _timed(constrained_risk_budgeting, cov, formulation="homogeneous", **args)
        rr = constrained_risk_budgeting(cov, **args)
        print(f"Riskfolio Tutorial 33 constraints (asset <= 15%, Financials, Staples <= 20%, return >= "
              f"{floor:.2e}) {rm}: homogeneous vs Riskfolio {np.abs(hom.weights - live).max():.1e} ({secs:.2f} s); "
              f"richard_roncalli vs Riskfolio {np.abs(rr.weights - live).max():.1e}")


def riskparity_py() -> None:
    import riskparityportfolio as rpp  # heavy optional dependency (needs jax): main() reports it when missing

    s = np.array([[1.0, 0.0015, -0.0119], [0.0015, 1.0, -0.0308], [-0.0119, -0.0308, 1.0]])
    res = qrp.risk_parity(s, budgets=[0.1594, 0.0126, 0.8280])
    ans = np.array([0.2798628, 0.08774909, 0.63238811])
    print(f"riskparity.py test_on_tricky_example: max relative |w - ans| {np.abs(res.weights / ans - 1).max():.1e} "
          f"(test: rtol 1e-5), rc_error {res.rc_error:.1e}")
    for name, sigma in (("test_random_covmat", rpp_sigma(100)), ("test_singularity (rank 70 of 100)",
                                                                  rpp_sigma(100, ridge=0.0))):
        res, secs = _timed(qrp.risk_parity, sigma)
        port = rpp.RiskParityPortfolio(sigma, budget=np.full(100, 0.01))
        port.design(verbose=False)
        print(f"riskparity.py {name}: rc_error {res.rc_error:.1e} ({secs * 1e3:.1f} ms), max relative |w - rpp| "
              f"{np.abs(res.weights / port.weights - 1).max():.1e} (rpp's test: rtol 1e-3)")
    n = 1000
    x = np.random.default_rng(0).standard_normal((n, 1000))  # its test: 1000 n draws as an (n, 1000) matrix
    corr = x @ x.T / x.shape[1]
    res, secs = _timed(qrp.risk_parity, corr)
    rc = res.risk_contributions / res.risk_contributions.sum()
    print(f"riskparity.py test_vanilla_rpp (N = 1000): max relative |RC share - 1/N| {np.abs(rc * n - 1).max():.1e} "
          f"(test: rtol 1e-4), {secs:.2f} s")
    sigma = rpp_sigma(50)
    w1 = qrp.risk_parity(sigma).weights
    w3 = constrained_risk_budgeting(sigma, linear_constraints=(-np.eye(50), np.zeros(50))).weights
    d, dv = np.vstack([np.eye(50), -np.eye(50)]), np.r_[np.full(50, 0.03), np.zeros(50)]
    up, secs = _timed(constrained_risk_budgeting, sigma, linear_constraints=(d, dv))
    port = rpp.RiskParityPortfolio(sigma)
    port.design(Cmat=np.ones((1, 50)), cvec=np.array([1.0]), Dmat=d, dvec=dv, verbose=False)
    print(f"riskparity.py test_constraints: D = -I equals the default to {np.abs(w3 / w1 - 1).max():.1e} (test: "
          f"rtol 1e-5); w <= 0.03 (binds: unconstrained max {w1.max():.3f}): max w {up.weights.max():.6f}, "
          f"sum {up.weights.sum():.12f}, {secs:.2f} s; vs rpp's risk-concentration optimum "
          f"{np.abs(up.weights - port.weights).max():.1e}")


def r_package() -> None:
    answer = np.array([26.8306, 28.6769, 11.4095, 9.7985, 5.6135, 5.9029, 6.656, 5.1121]) / 100
    res = qrp.risk_parity(COV)
    print(f"R test-pyrb unconstrained: max|w - answer| {np.abs(res.weights - answer).max():.1e} (test: 1e-4)")
    d1 = np.array([[0, 0, 0, 0, -1.0, -1, -1, -1]])
    d2 = np.vstack([d1, [1, -1, 0, 0, 1, -1, 0, 0]])
    for label, dmat, dvec in (("constrained", d1, [-0.3]), ("another constrained", d2, [-0.3, -0.05])):
        w = constrained_risk_budgeting(COV, linear_constraints=(dmat, dvec)).weights
        print(f"R test-pyrb {label}: |sum w - 1| {abs(w.sum() - 1):.1e}, max(D w - d) {np.max(dmat @ w - dvec):.1e}")
    sigma = r_sigma()
    refused = 0
    for bounds in ((0.5, 1.0), (2.0, 3.0), (0.0, 0.01)):
        try:
            qrp.risk_parity(sigma, bounds=bounds)
        except ValueError:
            refused += 1
    w = qrp.risk_parity(sigma, bounds=(0.05, 0.3)).weights
    wide = constrained_risk_budgeting(sigma, bounds=(-1.0, 2.0)).weights
    print(f"R test-constraints box feasibility: {refused} of 3 infeasible boxes refused; (0.05, 0.3) solved, "
          f"w in [{w.min():.4f}, {w.max():.4f}]; (-1, 2): w in [{wide.min():.4f}, {wide.max():.4f}]")
    row = np.zeros((1, 10))
    row[0, :2] = 1.0
    for share in (0.5416816, 0.1):
        eq = constrained_risk_budgeting(sigma, equality_constraints=(row, [share])).weights
        ineq = constrained_risk_budgeting(sigma, linear_constraints=(row, [share])).weights
        print(f"R test-constraints w1 + w2 = {share}: error {abs(row @ eq - share)[0]:.1e}; w1 + w2 <= {share}: "
              f"{(row @ ineq)[0]:.4f}, min w {ineq.min():.4f}, |sum - 1| {abs(ineq.sum() - 1):.1e}")
    rng = np.random.default_rng(5)
    v = rng.standard_normal((5, 100))
    s5, mu = v @ v.T, rng.uniform(size=5)
    res = constrained_risk_budgeting(s5, expected_returns=mu, risk_aversion=1e6)
    gap = np.abs(res.weights - qrp.risk_parity(s5).weights).max()
    print(f"R test-meanReturn (tradeoff 1e6): max|w - vanilla| {gap:.1e} (test: 1e-4)")
    v = np.random.default_rng(6).standard_normal((100, 100))
    s100 = v @ v.T
    ws = {m: qrp.risk_parity(s100, solver=m).weights for m in ("newton", "ccd", "slsqp")}
    print("R test-newton-cyclical (N = 100): max|w_newton - w_ccd| "
          f"{np.abs(ws['newton'] - ws['ccd']).max():.1e}, - w_slsqp {np.abs(ws['newton'] - ws['slsqp']).max():.1e} "
          "(test: 1e-4)")


def main() -> None:
    riskfolio()
    try:
        riskparity_py()
    except ModuleNotFoundError as exc:
        print(f"riskparity.py examples skipped: {exc} (pip install riskparityportfolio jax)")
    r_package()
    print("Not expressible in qrp:")
    for case, reason in NOT_EXPRESSIBLE:
        print(f"  - {case}: {reason}")
