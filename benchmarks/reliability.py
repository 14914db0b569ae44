"""Reliability of the API (issue 9, API half): bad or extreme inputs, each a clean error or a correct answer.

Usage (from the repository root):
    python -m benchmarks.reliability cases [--out FILE]
    python -m benchmarks.reliability memory --qubits 16 18 20 [--out FILE]

``cases`` runs every case below through the public API and classifies the outcome:
 * "clean error": ``ValueError`` / ``TypeError`` whose message names the parameter (the case's ``names``),
   raised before any solver work;
 * "correct": the call returns and the case's check of the answer holds (finite, and the stated property);
 * "silent wrong": the call returned an answer that fails the case's check (or returned where it must raise);
 * "FAILED": anything else (another exception, a message not naming the parameter).
The cases of issue 22 (``NEW_CASES``) cover constrained risk budgeting, the estimator, rebalance, dimod and the
block decomposition, and the numeric edges of the measures and strategies.
It prints one line per case and the counts; the reliability figures of docs/guide/reliability.md are these counts.

``memory`` measures the peak memory of one QAOA optimization on the fast exact path (``engine="fast"``, depth 2,
20 evaluations, readout included) per amplitude, in a fresh subprocess per size: ``tracemalloc``'s traced peak
(numpy's allocations) and the growth of the process's peak resident set (``getrusage`` max RSS, which also sees
numba's and the allocator's), both divided by 2^n. ``qrp.quantum.statevector.BYTES_PER_AMPLITUDE`` is set from it.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pandas as pd

import qrp
from qrp.core.provenance import atomic_write

COV = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]])
NAMES = ["a", "b", "c"]
COV_DF = pd.DataFrame(COV, index=NAMES, columns=NAMES)
W = pd.Series([0.5, 0.3, 0.2], index=NAMES)


def _returns(scale: float) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(0).normal(size=(60, 3)) * scale, columns=NAMES)


def _rp(**kw):
    return lambda: qrp.risk_parity(kw.pop("cov", COV), **kw)


def _finite(res) -> bool:
    return bool(np.all(np.isfinite(res.weights)) and np.isfinite(res.volatility))


# (label, call, names the message must contain (any of), check of a returned answer or None: must raise)
CASES = [
    ("non-PSD matrix, check_psd=False", _rp(cov=[[1.0, -1.0], [-1.0, 1.0]], check_psd=False), ["not finite"], None),
    ("target_volatility=1e308", _rp(target_volatility=1e308), ["not finite"], None),
    ("leverage=1e308", _rp(leverage=1e308), [], lambda r: _finite(r) and r.rc_error < 1e-10),
    ("leverage=1e-300 then target 0.1", _rp(leverage=1e-300, target_volatility=0.1), [],
     lambda r: abs(r.volatility - 0.1) < 1e-15),
    ("leverage=Fraction(1, 2)", _rp(leverage=Fraction(1, 2)), [], lambda r: abs(r.weights.sum() - 0.5) < 1e-14),
    ("leverage=nan", _rp(leverage=float("nan")), ["leverage"], None),
    ("leverage=True", _rp(leverage=True), ["leverage"], None),
    ("leverage=10**400", _rp(leverage=10**400), ["leverage"], None),
    ("seed=-1 (auto)", _rp(seed=-1), ["seed"], None),
    ("seed=-1 (ccd)", _rp(solver="ccd", seed=-1), ["seed"], None),
    ("seed=-1 (sa)", _rp(solver="sa", seed=-1), ["seed"], None),
    ("seed=1.5", _rp(seed=1.5), ["seed"], None),
    ("max_iter=2**63", _rp(max_iter=2**63), ["max_iter"], None),
    ("max_iter=0", _rp(max_iter=0), ["max_iter"], None),
    ("tol=nan", _rp(tol=float("nan")), ["tol"], None),
    ("tol=-1", _rp(tol=-1.0), ["tol"], None),
    ("slsqp ftol=nan", _rp(solver="slsqp", ftol=float("nan")), ["ftol"], None),
    ("bits=10**9", _rp(solver="exact", bits=10**9), ["bits"], None),
    ("bits=2**63", _rp(solver="sa", bits=2**63), ["bits"], None),
    ("num_reads=10**9", _rp(solver="sa", num_reads=10**9), ["num_reads"], None),
    ("reps=10**6", _rp(solver="qaoa", reps=10**6), ["reps"], None),
    ("shots=10**9", _rp(solver="qaoa", shots=10**9), ["shots"], None),
    ("rounds=10**9", _rp(solver="exact", rounds=10**9), ["rounds"], None),
    ("rounds=3, max_iter=5", _rp(solver="exact", rounds=3, max_iter=5), ["rounds"], None),
    ("budgets Series reversed", lambda: qrp.risk_parity(COV_DF, W[::-1]), [],
     lambda r: np.array_equal(r.weights, qrp.risk_parity(COV_DF, W).weights)),
    ("bounds DataFrame reversed",
     lambda: qrp.risk_parity(COV_DF, bounds=pd.DataFrame({"lo": [0, 0, 0.3], "hi": [1, 1, 1]}, index=NAMES)[::-1]),
     [], lambda r: abs(r.weights[2] - 0.3) < 1e-9),
    ("budgets with a foreign label", lambda: qrp.risk_parity(COV_DF, W.rename({"c": "x"})), ["'x'"], None),
    ("weights Series reversed (rc_error)", lambda: qrp.rc_error(W[::-1], COV_DF), [],
     lambda r: r == qrp.rc_error(W.to_numpy(), COV)),
    ("expected_returns reversed", lambda: qrp.portfolio_stats(W, COV_DF, W[::-1] / 10), [],
     lambda r: abs(r.expected_return - float(W @ W) / 10) < 1e-15),
    ("weights_series labels", lambda: qrp.risk_parity(COV_DF).weights_series, [],
     lambda s: list(s.index) == NAMES),
    ("rc_error at weights 1e200", lambda: qrp.rc_error(W.to_numpy() * 1e200, COV), [],
     lambda r: abs(r - qrp.rc_error(W.to_numpy(), COV)) < 1e-15),
    ("rc_error at weights 1e-200", lambda: qrp.rc_error(W.to_numpy() * 1e-200, COV), [],
     lambda r: abs(r - qrp.rc_error(W.to_numpy(), COV)) < 1e-15),
    ("portfolio_stats negative variance", lambda: qrp.portfolio_stats([1, 1], [[1, -2], [-2, 1]]), ["negative"],
     None),
    ("estimate_covariance returns x 1e160", lambda: qrp.estimate_covariance(_returns(1e160), periods_per_year=1),
     ["overflow", "usable"], None),
    ("estimate_covariance returns x 1e-160", lambda: qrp.estimate_covariance(_returns(1e-160), periods_per_year=1),
     ["usable"], None),
    ("estimate_covariance periods_per_year=1e-320",
     lambda: qrp.estimate_covariance(_returns(1.0), periods_per_year=1e-320), ["usable"], None),
    ("2-asset box as (N, 2) rows, N = 3", lambda: qrp.discretize(COV, 2, box=[[0.1, 0.8], [0.2, 0.9], [0.3, 1.0]]),
     ["box"], None),
    ("radius=1e-300", lambda: qrp.discretize(COV, 2, radius=1e-300), ["radius"], None),
    ("budgets 1e-300 (exact)", _rp(solver="exact", budgets=[1e-300, 0.5, 0.5]), ["budgets"], None),
    ("cov x 1e-306 (exact)", _rp(cov=COV * 1e-306, solver="exact"), ["variance"], None),
    ("cov x 1e300 pairwise (sa)", _rp(cov=COV * 1e300, solver="sa", formulation="pairwise"), ["variance"], None),
    ("20 assets, lower bounds 0.05", lambda: qrp.risk_parity(np.cov(np.random.default_rng(0).normal(
        size=(40, 20)), rowvar=False), bounds=(0.05, 1.0)), [], lambda r: np.allclose(r.weights, 0.05, rtol=1e-12)),
    ("7 assets, upper bounds 1/7", lambda: qrp.risk_parity(np.diag(np.arange(1.0, 8.0)), bounds=(0.0, 1 / 7)), [],
     lambda r: np.allclose(r.weights, 1 / 7, rtol=1e-12)),
    ("lower bounds summing to 1.02", lambda: qrp.risk_parity(np.eye(20), bounds=(0.051, 1.0)), ["lower bounds"],
     None),
    ("factor_risk_parity tol=-1", lambda: qrp.factor_risk_parity(np.eye(3), COV, tol=-1), ["tol"], None),
    ("factor_risk_parity tol=nan", lambda: qrp.factor_risk_parity(np.eye(3), COV, tol=float("nan")), ["tol"], None),
    ("factor_risk_parity max_iter=0", lambda: qrp.factor_risk_parity(np.eye(3), COV, max_iter=0), ["max_iter"],
     None),
    ("DiscreteProblem.levels([0, 2, 1, 0])", lambda: qrp.discretize(COV[:2, :2], 2).levels([0, 2, 1, 0]),
     ["0 and 1"], None),
    ("leverage=2: weights sum to 2 (backtest targets)", lambda: qrp.risk_parity(COV, leverage=2.0), [],
     lambda r: abs(r.weights.sum() - 2.0) < 1e-12),
]


# Issue 22: the surfaces added since (constrained risk budgeting, the estimator, rebalance, dimod, decomposition)
# and the numeric edge cases of the measures and strategies.
S3 = qrp.factor_covariance(3, seed=1)
MU3 = pd.Series([0.02, 0.06, 0.1], index=S3.columns)
V2 = np.array([[0.04, 0.01], [0.01, 0.09]])


def _crb(*args, **kw):
    from qrp.finance.constrained import constrained_risk_budgeting  # optional dependency (cvxpy): only here

    return constrained_risk_budgeting(*args, **kw)


def _x(n=4, t=250, seed=3, names="abcd"):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0, 0.01, size=(t, n)) * np.linspace(1, 3, n), columns=list(names)[:n])


def _x20():
    rng = np.random.default_rng(5)
    vol = np.r_[np.full(3, 0.03), np.full(5, 0.01), np.full(12, 0.004)]
    return pd.DataFrame(rng.normal(0, 1, size=(300, 20)) * vol, columns=[f"A{i}" for i in range(20)])


def _rp_est(**kw):
    return qrp.RiskParity(**kw)


def _dated(t=160):
    frame = _x(3, t)
    return frame.set_axis(pd.bdate_range("2023-01-02", periods=t), axis=0)


def _rebalance(frame, **kw):
    from qrp.finance.rebalance import rebalance

    return rebalance(frame, **kw)


def _same(a, b, tol=1e-9):
    return bool(np.max(np.abs(np.asarray(a) - np.asarray(b))) <= tol)


GROUPS20 = [["Equity"] * 3 + ["Fund"] * 5 + ["Bond"] * 12]
R_EQ_COV = 0.04 * np.array([[1, 0.5, -0.5], [0.5, 1, -0.5], [-0.5, -0.5, 1]])

NEW_CASES = [
    ("crb expected_returns Series reversed", lambda: _crb(S3, expected_returns=MU3[::-1]), [],
     lambda r: _same(r.weights, _crb(S3, expected_returns=MU3.to_numpy()).weights)),
    ("crb previous_weights Series reversed",
     lambda: _crb(S3, turnover=0.2, previous_weights=pd.Series([0.6, 0.3, 0.1], index=S3.columns)[::-1]), [],
     lambda r: _same(r.weights, _crb(S3, turnover=0.2, previous_weights=[0.6, 0.3, 0.1]).weights, 1e-8)),
    ("crb bounds DataFrame reversed",
     lambda: _crb(S3, bounds=pd.DataFrame({"lo": [0, 0, 0], "hi": [0.2, 1, 1]}, index=S3.columns)[::-1]), [],
     lambda r: r.weights[0] <= 0.2 + 1e-9),
    ("crb returns columns reordered (cvar)",
     lambda: _crb(S3, returns=_x(3, names=list(S3.columns))[list(S3.columns)[::-1]], risk_measure="cvar"), [],
     lambda r: _same(r.weights, _crb(S3, returns=_x(3, names=list(S3.columns)), risk_measure="cvar").weights, 1e-8)),
    ("crb returns with foreign labels", lambda: _crb(S3, returns=_x(3), risk_measure="cvar"), ["returns columns"],
     None),
    ("crb all-zero returns (cvar)", lambda: _crb(S3, returns=np.zeros((200, 3)), risk_measure="cvar"),
     ["no risk"], None),
    ("crb semi-deviation returns x 1e-300",
     lambda: _crb(S3, returns=_x(3, names=list(S3.columns)) * 1e-300, risk_measure="semi_deviation"),
     [], lambda r: _finite(r) and r.rc_error < 1e-5),
    ("crb infeasible equality (R case)", lambda: _crb(R_EQ_COV, equality_constraints=([[1, 1, 0]], [0.99])),
     ["homogeneous"], None),
    ("crb alpha=1", lambda: _crb(S3, returns=_x(3), risk_measure="cvar", alpha=1.0), ["alpha"], None),
    ("RiskParity risk_budget Series reversed",
     lambda: _rp_est(risk_budget=pd.Series([0.1, 0.2, 0.3, 0.4], index=list("abcd"))[::-1]).fit(_x()), [],
     lambda e: _same(e.risk_contributions_ / e.risk_contributions_.sum(), [0.1, 0.2, 0.3, 0.4], 1e-8)),
    ("RiskParity max_weights Series reversed",
     lambda: _rp_est(max_weights=pd.Series([0.15, 1, 1, 1], index=list("abcd"))[::-1]).fit(_x()), [],
     lambda e: e.weights_[0] <= 0.15 + 1e-12),
    ("RiskParity risk_budget foreign labels",
     lambda: _rp_est(risk_budget=pd.Series([0.1, 0.2, 0.3, 0.4], index=list("wxyz"))).fit(_x()), ["risk_budget"],
     None),
    ("RiskParity 'Equity <= 0.6' is an inequality",
     lambda: _rp_est(groups=GROUPS20, linear_constraints=["Equity <= 0.6"]).fit(_x20()), [],
     lambda e: _same(e.weights_, _rp_est().fit(_x20()).weights_, 1e-7)),
    ("RiskParity 'A19 <= 0.05' without groups",
     lambda: _rp_est(linear_constraints=["A19 <= 0.05"]).fit(_x20()), [], lambda e: abs(e.weights_[19] - 0.05) < 1e-8),
    ("RiskParity unknown group in an equation",
     lambda: _rp_est(linear_constraints=["Nope <= 0.3"]).fit(_x20()), ["equation 'Nope"], None),
    ("RiskParity constant column", lambda: _rp_est().fit(_x().assign(b=0.001)), ["zero variance"], None),
    ("rebalance on unsorted dates", lambda: _rebalance(_dated().iloc[::-1], window=100), [],
     lambda r: r.target.metadata["as_of"] == str(_dated().index[-1].date())),
    ("rebalance on duplicate dates", lambda: _rebalance(pd.concat([_dated(), _dated().iloc[[-1]]]), window=100),
     ["duplicate"], None),
    ("dimod ExactSolver at 48 qubits", lambda: qrp.risk_parity(np.asarray(qrp.factor_covariance(8, seed=1)),
     solver="dimod", sampler=__import__("dimod").ExactSolver(), bits=6), ["max_qubits"], None),
    ("dimod without a sampler", _rp(solver="dimod"), ["sampler"], None),
    ("sa num_sweeps=10**9", _rp(solver="sa", num_sweeps=10**9), ["num_sweeps"], None),
    ("sa max_iter=10**9 (rounds)", _rp(solver="sa", max_iter=10**9), ["max_iter"], None),
    ("block_sweeps=10**9", _rp(solver="sa", block_size=2, block_sweeps=10**9), ["block_sweeps"], None),
    ("risk_contributions at 1e200", lambda: qrp.risk_contributions([1e200, 1e200], V2), [],
     lambda r: _same(r / 1e200, qrp.risk_contributions([1.0, 1.0], V2), 1e-15)),
    ("portfolio_stats at 1e-200", lambda: qrp.portfolio_stats([1e-200, 1e-200], V2), [],
     lambda r: abs(r.volatility / 1e-200 - np.sqrt(V2.sum())) < 1e-14),
    ("mean_variance risk_aversion=1e-300",
     lambda: __import__("qrp.finance.strategies").finance.strategies.mean_variance(V2, [0.05, 0.08],
                                                                                   risk_aversion=1e-300),
     [], lambda w: _same(w, [0.0, 1.0], 0.0)),
    ("historical_cvar alpha=1", lambda: __import__("qrp.finance.strategies").finance.strategies.historical_cvar(
        [0.5, 0.5], _x(2).to_numpy(), alpha=1), ["alpha"], None),
    ("historical_cvar alpha=0", lambda: __import__("qrp.finance.strategies").finance.strategies.historical_cvar(
        [0.5, 0.5], _x(2).to_numpy(), alpha=0), ["alpha"], None),
    ("discrete objective([nan, 1])", lambda: qrp.discretize(V2, 2).objective([np.nan, 1.0]), ["NaN"], None),
    ("box 2 x 2 at N = 2", lambda: qrp.discretize(V2, 2, box=[[0.1, 0.2], [0.3, 0.4]]), ["ambiguous"], None),
    ("leverage=1e-320 (subnormal weights)", _rp(leverage=1e-320), ["subnormal"], None),
    ("target_volatility=1e-320", _rp(target_volatility=1e-320), ["subnormal"], None),
    ("semi-deviation contributions, returns x 1e-300",
     lambda: __import__("qrp.finance.risk_measures").finance.risk_measures.euler_contributions(
         [0.2, 0.3, 0.5], "semi_deviation", returns=_x(3).to_numpy() * 1e-300), [],
     lambda rc: np.all(np.isfinite(rc)) and rc.sum() > 0),
]
CASES += NEW_CASES


def run_cases(verbose: bool = True) -> dict:
    rows = []
    for label, call, names, check in CASES:
        if verbose:
            print(f"... {label}", flush=True)
        try:
            out = call()
        except (ValueError, TypeError) as exc:
            msg = str(exc).splitlines()[0]
            ok = check is None and (not names or any(n in msg for n in names))
            rows.append({"case": label, "outcome": "clean error" if ok else "FAILED", "detail": msg[:160]})
            continue
        except Exception as exc:
            rows.append({"case": label, "outcome": "FAILED", "detail": f"{type(exc).__name__}: {exc}"[:160]})
            continue
        try:
            ok = check is not None and bool(check(out))
        except Exception:  # the answer could not even be checked (NaN, wrong shape): wrong
            ok = False
        # an answer where an error was due, or one failing its check: a silent wrong answer
        rows.append({"case": label, "outcome": "correct" if ok else "silent wrong", "detail": repr(out)[:160]})
    counts = {k: sum(r["outcome"] == k for r in rows) for k in ("clean error", "correct", "silent wrong", "FAILED")}
    return {"cases": len(rows), "counts": counts, "rows": rows}


_MEMORY_CHILD = """
import json, resource, sys, tracemalloc
import numpy as np
from benchmarks.qaoa import dense_qubo_ising
from qrp.quantum.qaoa import QAOA
n = int(sys.argv[1])
op, offset = dense_qubo_ising(n, 0)
q = QAOA(op, offset, reps=2, engine="fast", seed=0)
q.objective(np.full(4, 0.1))  # compile the kernels outside the measurement
base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
q = QAOA(op, offset, reps=2, engine="fast", seed=0)
q.optimize(optimizer="COBYLA", init="ramp", max_evals=20, multistart=1, readout_shots=1024)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"qubits": n, "traced_peak_bytes": peak, "rss_growth_bytes": rss - base_rss}))
"""


def run_memory(qubits: list[int]) -> dict:
    rows = []
    for n in qubits:
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(n)], check=True, capture_output=True,
                             text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["traced_bytes_per_amplitude"] = row["traced_peak_bytes"] / 2**n
        row["rss_bytes_per_amplitude"] = row["rss_growth_bytes"] / 2**n
        rows.append(row)
        print(f"n = {n}: traced peak {row['traced_bytes_per_amplitude']:.1f} B/amplitude, "
              f"peak RSS growth {row['rss_bytes_per_amplitude']:.1f} B/amplitude", flush=True)
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("cases")
    mem = sub.add_parser("memory")
    mem.add_argument("--qubits", type=int, nargs="+", default=[16, 18, 20])
    for p in sub.choices.values():
        p.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.command == "cases":
        result = run_cases()
        for r in result["rows"]:
            print(f"{r['outcome']:12s} {r['case']:45s} {r['detail']}")
        print(f"{result['cases']} cases: {result['counts']}")
    else:
        result = run_memory(args.qubits)
    result |= {"command": " ".join(sys.argv[1:]), "python": platform.python_version(), "qrp": qrp.__version__}
    if args.out:
        text = json.dumps(result, indent=2, default=str) + "\n"
        atomic_write(args.out, lambda p: p.write_text(text))


if __name__ == "__main__":
    main()
