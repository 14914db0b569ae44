"""Constrained risk budgeting: the Richard-Roncalli formulation against the homogeneous one when constraints bind
(issue 23.1). ``python -m benchmarks.constrained_speed [--sizes 20 100 500] [--out DIR/NAME]`` (the committed
table: ``--out benchmarks/results/constrained_speed``).

Both formulations of ``qrp.constrained_risk_budgeting`` on the same problem, interleaved in one process (median of
``--repeats`` calls each, after one warm-up call), BLAS on one thread, with the load average printed beside every
ratio. Problems: the
seeded "market" factor covariance of ``benchmarks.common`` (volatility), or T = 1000 Gaussian scenarios drawn from it
(semi-deviation, CVaR), with a group cap that binds (the first fifth of the assets <= 10%) and bounds w <= 3/N.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from benchmarks.common import family_covariance, timed, write_tables
from qrp.finance.constrained import constrained_risk_budgeting

MEASURES = ("volatility", "semi_deviation", "cvar")


def problem(n: int, measure: str) -> dict:
    cov = family_covariance("market", n, seed=n)
    kwargs = {"groups": {"first": (list(range(n // 5)), None, 0.1)}, "bounds": (0.0, 3.0 / n)}
    if measure == "volatility":
        return {"cov": cov, **kwargs}
    rng = np.random.default_rng(n)
    returns = rng.multivariate_normal(np.zeros(n), np.asarray(cov) / 252, size=1000)
    return {"returns": returns, "risk_measure": measure, **kwargs}


def main(argv=None) -> None:
    import scipy.linalg.lapack  # noqa: F401  (SciPy's BLAS loaded before the one-thread pin covers it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small LAPACK calls on a shared machine: threads only contend
        _run(argv)


def _run(argv) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 500])
    parser.add_argument("--measures", nargs="+", default=list(MEASURES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    lines = ["| measure | N | richard_roncalli s (solves) | homogeneous s | ratio | RR KKT residual | load 1 min |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for measure in args.measures:
        for n in args.sizes:
            kw = problem(n, measure)
            constrained_risk_budgeting(**kw)  # warm-up: imports and first compilations outside the timings
            t_rr, t_hom = [], []
            for _ in range(args.repeats):  # interleaved
                t_rr.append(timed(lambda kw=kw: constrained_risk_budgeting(**kw), repeats=1)[0])
                t_hom.append(timed(lambda kw=kw: constrained_risk_budgeting(formulation="homogeneous", **kw),
                                   repeats=1)[0])
            rr = constrained_risk_budgeting(**kw)
            load = os.getloadavg()[0]
            row = {"measure": measure, "n": n, "rr_seconds": float(np.median(t_rr)), "rr_solves": rr.iterations,
                   "homogeneous_seconds": float(np.median(t_hom)),
                   "ratio": float(np.median(t_rr) / np.median(t_hom)), "rr_kkt": rr.stats["kkt_residual"],
                   "rr_converged": rr.converged, "load": load}
            rows.append(row)
            line = (f"| {measure} | {n} | {row['rr_seconds']:.3f} ({rr.iterations}) | {row['homogeneous_seconds']:.3f}"
                    f" | {row['ratio']:.2f} | {row['rr_kkt']:.1e} | {load:.1f} |")
            lines.append(line)
            print(line, flush=True)
    if args.out is not None:
        write_tables(args.out, "\n".join(lines) + "\n", rows)


if __name__ == "__main__":
    main()
