"""Reliability of the API (issue 9, API half): bad or extreme inputs, each a clean error or a correct answer.

Usage (from the repository root):
    python -m benchmarks.reliability cases [--out FILE]
    python -m benchmarks.reliability memory --qubits 16 18 20 [--out FILE]

``cases`` runs every case below through the public API and classifies the outcome:
 * "clean error": ``ValueError`` / ``TypeError`` whose message names the parameter (the case's ``names``),
   raised before any solver work;
 * "correct": the call returns and the case's check of the answer holds (finite, and the stated property);
 * "FAILED": anything else (another exception, a message not naming the parameter, a wrong or non-finite answer).
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
        ok = check is not None and bool(check(out))
        rows.append({"case": label, "outcome": "correct" if ok else "FAILED", "detail": repr(out)[:160]})
    counts = {k: sum(r["outcome"] == k for r in rows) for k in ("clean error", "correct", "FAILED")}
    return {"cases": len(rows), "counts": counts, "rows": rows}


_MEMORY_CHILD = """
import json, resource, sys, tracemalloc
import numpy as np
from benchmarks.qaoa import dense_qubo_ising
from qrp.discrete.qaoa import QAOA
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
