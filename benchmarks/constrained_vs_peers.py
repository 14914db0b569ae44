"""Constrained risk budgeting against skfolio and Riskfolio-Lib, time and accuracy side by side (issue 23.1):
``python -m benchmarks.constrained_vs_peers [--sizes 20 100] [--repeats 3] [--out benchmarks/results/NAME]``.

Problems: ``benchmarks.constrained_speed.problem`` (T = 1000 Gaussian scenarios of the seeded "market" covariance;
"groups": the first fifth of the assets <= 10% and every weight <= 3/N, which bind; "none": no constraint), and for
volatility the sample covariance of those scenarios, so that every package budgets the same risk. Calls, one
process, interleaved round-robin (median of ``--repeats`` after one warm-up call each), BLAS on one thread:

* qrp ``constrained_risk_budgeting`` (default Richard-Roncalli formulation, and ``formulation="homogeneous"``);
* skfolio ``RiskBudgeting`` (``min_weights=0, max_weights=3/N``, the group as ``linear_constraints``; VARIANCE,
  CVAR, SEMI_DEVIATION at beta 0.95), its defaults otherwise (Clarabel through cvxpy, tolerances 1e-8);
* Riskfolio-Lib ``Portfolio.rp_optimization`` (model "Classic", rm MV / CVaR / MSV, alpha 0.05, ``hist=True``,
  the bounds and group from ``assets_constraints``, solver Clarabel).

skfolio and Riskfolio solve the homogeneous form (their constraints multiplied through by sum x). Accuracy, one
definition for all: ``w_err`` = max_i |w_i - w*_i| against the homogeneous optimum certified by qrp (KKT residual
printed; without constraints the homogeneous and the Richard-Roncalli forms coincide) and ``rc_err`` = max_i
|RC_i / R(w) - b_i| (Euler contributions of the measure on the same data; non-zero by design when constraints bind).
"Equal accuracy": qrp's answers are certified to the KKT residual printed, at or below the peers' errors, so a time
ratio <= 1 is at equal or better accuracy. The load average is printed beside every ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

MEASURES = ("volatility", "cvar", "semi_deviation")
SKFOLIO = {"volatility": "VARIANCE", "cvar": "CVAR", "semi_deviation": "SEMI_DEVIATION"}
RISKFOLIO = {"volatility": "MV", "cvar": "CVaR", "semi_deviation": "MSV"}


def _inputs(n: int, measure: str, constrained: bool) -> dict:
    from benchmarks.constrained_speed import problem

    kw = problem(n, "cvar")  # the scenarios; for volatility their sample covariance
    returns = pd.DataFrame(kw["returns"], columns=[f"a{i}" for i in range(n)])
    out = {"returns": returns, "measure": measure, "n": n, "constrained": constrained,
           "first": list(returns.columns[: n // 5]), "hi": 3.0 / n}
    return out


def qrp_call(p: dict, formulation: str):
    from qrp.finance.constrained import constrained_risk_budgeting

    r = p["returns"]
    kw = {"groups": {"first": (list(range(p["n"] // 5)), None, 0.1)}, "bounds": (0.0, p["hi"])} \
        if p["constrained"] else {}
    cov = r.cov() if p["measure"] == "volatility" else None
    return lambda: constrained_risk_budgeting(cov, returns=None if cov is not None else r,
                                              risk_measure=p["measure"], formulation=formulation, **kw)


def skfolio_call(p: dict):
    from skfolio import RiskMeasure
    from skfolio.optimization import RiskBudgeting

    kw = {}
    if p["constrained"]:
        groups = np.array([["first" if c in p["first"] else "rest" for c in p["returns"].columns]])
        kw = {"min_weights": 0.0, "max_weights": p["hi"], "groups": groups, "linear_constraints": ["first <= 0.1"]}
    rm = getattr(RiskMeasure, SKFOLIO[p["measure"]])
    return lambda: RiskBudgeting(risk_measure=rm, cvar_beta=0.95, **kw).fit(p["returns"]).weights_


def riskfolio_call(p: dict):
    import riskfolio as rf

    r = p["returns"]
    port = rf.Portfolio(returns=r)
    port.assets_stats(method_mu="hist", method_cov="hist")
    port.alpha = 0.05
    port.solvers = ["CLARABEL"]
    if p["constrained"]:
        classes = pd.DataFrame({"Assets": list(r.columns),
                                "Group": ["first" if c in p["first"] else "rest" for c in r.columns]})
        rows = [("All Assets", "", "", "<=", p["hi"]), ("Classes", "Group", "first", "<=", 0.1)]
        cons = pd.DataFrame([{"Disabled": False, "Type": t, "Set": s, "Position": q, "Sign": g, "Weight": v,
                              "Type Relative": "", "Relative Set": "", "Relative": "", "Factor": ""}
                             for t, s, q, g, v in rows])
        port.ainequality, port.binequality = rf.assets_constraints(cons, classes)
    rm = RISKFOLIO[p["measure"]]
    return lambda: port.rp_optimization(model="Classic", rm=rm, rf=0, b=None, hist=True)["weights"].to_numpy().ravel()


def _weights(out) -> np.ndarray:
    return np.asarray(out.weights if hasattr(out, "weights") else out, dtype=np.float64).ravel()


def rc_err(p: dict, w: np.ndarray) -> float:
    from qrp.finance.risk_measures import risk_gradient

    r = p["returns"].to_numpy()
    _, g = risk_gradient(w, p["measure"], cov=np.cov(r, rowvar=False), returns=r, alpha=0.95)
    rc = w * g
    return float(np.max(np.abs(rc / rc.sum() - 1.0 / w.shape[0])))


def measure_case(p: dict, repeats: int) -> dict:
    calls = {"rr": qrp_call(p, "richard_roncalli"), "hom": qrp_call(p, "homogeneous"), "skfolio": skfolio_call(p),
             "riskfolio": riskfolio_call(p)}
    outs = {k: f() for k, f in calls.items()}  # warm-up, and the answers whose accuracy is reported
    secs: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(repeats):
        for k, f in calls.items():
            t = time.perf_counter()
            f()
            secs[k].append(time.perf_counter() - t)
    ref = outs["hom"]
    row = {"measure": p["measure"], "n": p["n"], "constraints": "groups + bounds" if p["constrained"] else "none",
           "qrp_hom_kkt": ref.stats["kkt_residual"], "qrp_rr_kkt": outs["rr"].stats["kkt_residual"],
           "load": os.getloadavg()[0], "cores": len(os.sched_getaffinity(0))}
    for k in calls:
        w = _weights(outs[k])
        row[f"{k}_s"] = statistics.median(secs[k])
        row[f"{k}_w_err"] = float(np.max(np.abs(w - ref.weights)))
        row[f"{k}_rc_err"] = rc_err(p, w)
    return row


HEADER = ("| measure | N | constraints | qrp RR s | qrp homogeneous s (KKT) | skfolio s (w_err, rc_err) | "
          "Riskfolio s (w_err, rc_err) | RR / skfolio | RR / Riskfolio | hom / skfolio | hom / Riskfolio | load |\n"
          "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def line(r: dict) -> str:
    return (f"| {r['measure']} | {r['n']} | {r['constraints']} | {r['rr_s']:.3f} | {r['hom_s']:.3f} "
            f"({r['qrp_hom_kkt']:.0e}) | {r['skfolio_s']:.3f} ({r['skfolio_w_err']:.0e}, {r['skfolio_rc_err']:.0e}) | "
            f"{r['riskfolio_s']:.3f} ({r['riskfolio_w_err']:.0e}, {r['riskfolio_rc_err']:.0e}) | "
            f"{r['rr_s'] / r['skfolio_s']:.2f} | {r['rr_s'] / r['riskfolio_s']:.2f} | "
            f"{r['hom_s'] / r['skfolio_s']:.2f} | {r['hom_s'] / r['riskfolio_s']:.2f} | {r['load']:.1f} |")


def main(argv=None) -> None:
    import scipy.linalg.lapack  # noqa: F401  (its BLAS loaded before the one-thread pin)
    from threadpoolctl import threadpool_limits

    from benchmarks.common import write_tables

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--measures", nargs="+", default=list(MEASURES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    print(HEADER, flush=True)
    with threadpool_limits(1):
        for measure in args.measures:
            for n in args.sizes:
                for constrained in (False, True):
                    rows.append(measure_case(_inputs(n, measure, constrained), args.repeats))
                    print(line(rows[-1]), flush=True)
    if args.out is not None:
        text = (f"`python -m benchmarks.constrained_vs_peers --sizes {' '.join(map(str, args.sizes))} --repeats "
                f"{args.repeats}`, {len(os.sched_getaffinity(0))} cores, BLAS one thread; seconds are medians of "
                "interleaved calls; w_err against qrp's certified homogeneous optimum, rc_err max_i |RC_i/R - 1/N|."
                "\n\n" + HEADER + "\n" + "\n".join(line(r) for r in rows) + "\n")
        write_tables(args.out, text, rows)


if __name__ == "__main__":
    main()
