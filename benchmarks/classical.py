"""qrp's classical risk-parity solver against riskparityportfolio, riskfolio-lib, skfolio and the seed's SLSQP.

One process, the same seeded covariances for everyone, BLAS pinned to ``--threads`` threads (1 by default: the
benchmark machine is shared, and multi-threaded BLAS under contention makes timings meaningless). For each
covariance family (random factor models, ``benchmarks/common.py``) and size N, every method is timed over
repeats (median reported) and its ``rc_error`` = max_i |RC_i / sum RC - 1/N| computed by qrp on the same matrix.
A method whose predicted time at the next N (extrapolated as N^4 from its last time) exceeds ``--limit`` seconds
is skipped there and marked so; a method taking over 10 s is timed once. Peers need the ``bench`` extra
(riskparityportfolio, jax, quadprog, riskfolio-lib, skfolio).

    python -m benchmarks.classical            # writes benchmarks/results/classical.{md,csv}
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import qrp
from benchmarks.common import FAMILIES, family_covariance, timed, versions, write_tables
from qrp.core.measures import contributions_kernel, rc_error_kernel

SIZES = (5, 20, 100, 500, 1000, 4000)
#: Time is extrapolated as t(N) ~ N^GROWTH to skip a method: cubic linear algebra, plus iteration counts that grow
#: with N for the iterative peers.
GROWTH = 4.0


def _returns_with_covariance(cov: np.ndarray) -> np.ndarray:
    """T x N returns whose sample covariance (ddof=1) is exactly ``cov`` (peers that only take returns)."""
    n = len(cov)
    t = max(n + 10, 30)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((t, n))
    z -= z.mean(axis=0)
    q, _ = np.linalg.qr(z)  # orthonormal columns orthogonal to the constant vector
    return np.sqrt(t - 1) * q @ np.linalg.cholesky(cov).T


def _methods():
    """name -> (setup(cov) -> state, run(state) -> weights). Setup is not timed."""
    from riskparityportfolio import vanilla

    def qrp_fast(c):
        return qrp.risk_parity(c, check_psd=False).weights

    def qrp_default(c):
        return qrp.risk_parity(c).weights

    def ident(c):
        return c

    methods = {
        "qrp (check_psd=False)": (ident, qrp_fast),
        "qrp (default call)": (ident, qrp_default),
        "rpp tol=1e-12": (ident, lambda c: vanilla.design(c, np.full(len(c), 1 / len(c)), tol=1e-12)),
        "rpp tol=1e-12 maxiter=1e6": (
            ident, lambda c: vanilla.design(c, np.full(len(c), 1 / len(c)), tol=1e-12, maxiter=1_000_000)),
        "rpp default": (ident, lambda c: vanilla.design(c, np.full(len(c), 1 / len(c)))),
        "qrp slsqp_seed": (ident, lambda c: qrp.risk_parity(c, solver="slsqp_seed", check_psd=False).weights),
    }

    def riskfolio_setup(c):
        import riskfolio as rp

        port = rp.Portfolio(returns=pd.DataFrame(_returns_with_covariance(c)))
        port.assets_stats(method_mu="hist", method_cov="hist")
        return port

    def riskfolio_run(port):
        return port.rp_optimization(model="Classic", rm="MV", hist=True).to_numpy().ravel()

    def skfolio_setup(c):
        from skfolio.optimization import RiskBudgeting

        return _returns_with_covariance(c), RiskBudgeting

    def skfolio_run(state):
        x, risk_budgeting = state
        return risk_budgeting().fit(x).weights_

    methods["riskfolio rp_optimization"] = (riskfolio_setup, riskfolio_run)
    methods["skfolio RiskBudgeting"] = (skfolio_setup, skfolio_run)
    return methods


def _repeats_for(seconds: float, base: int) -> int:
    return base if seconds < 1.0 else (3 if seconds < 10.0 else 1)


def run(sizes, families, *, seed: int, repeats: int, limit: float, rounds: int) -> list[dict]:
    methods = _methods()
    rows = []
    for family in families:
        last: dict[str, tuple[int, float]] = {}
        for n in sizes:
            cov = family_covariance(family, n, seed=seed + n)
            b = np.full(n, 1.0 / n)
            for name, (setup, func) in methods.items():
                row = {"family": family, "n": n, "method": name}
                if name in last:
                    n0, t0 = last[name]
                    if t0 * (n / n0) ** GROWTH > limit:
                        rows.append({**row, "status": f"skipped (predicted > {limit:g} s)"})
                        continue
                try:
                    state = setup(cov)
                    t_first, _, w = timed(lambda s=state, f=func: f(s), repeats=1)  # warm-up (JIT, caches)
                    if t_first > 10.0:  # slow: the single (warm-up) run is the measurement
                        t, reps_total = t_first, 1
                    else:
                        reps = _repeats_for(t_first, repeats)
                        medians = [timed(lambda s=state, f=func: f(s), repeats=reps)[0] for _ in range(rounds)]
                        t, reps_total = float(np.median(medians)), reps * rounds
                        w = func(state)
                    err = rc_error_kernel(contributions_kernel(np.asarray(w, dtype=float), cov), b)
                    rows.append({**row, "seconds": t, "repeats": reps_total, "rc_error": err, "status": "ok"})
                    last[name] = (n, t)
                except Exception as exc:  # a peer failing is a result to report, not a crash
                    rows.append({**row, "status": f"failed: {type(exc).__name__}: {str(exc)[:80]}"})
                    last[name] = (n, math.inf)
                print(f"{family:6s} N={n:5d} {name:28s} {rows[-1].get('seconds', float('nan')):10.5f} s "
                      f"rc_error={rows[-1].get('rc_error', float('nan')):.1e} {rows[-1]['status']}", flush=True)
            base = next(r for r in rows if r["family"] == family and r["n"] == n and r["method"].startswith("qrp (c"))
            for r in rows:
                if r["family"] == family and r["n"] == n and "seconds" in r:
                    r["ratio_to_qrp"] = r["seconds"] / base["seconds"]
    return rows


def markdown(rows, header: str) -> str:
    out = io.StringIO()
    out.write(header)
    for family in dict.fromkeys(r["family"] for r in rows):
        out.write(f"\n### {family}-factor covariance ({FAMILIES[family]})\n\n")
        out.write("| N | method | median time | time / qrp (check_psd=False) | rc_error |\n|---:|---|---:|---:|---:|\n")
        for r in rows:
            if r["family"] != family:
                continue
            if r["status"] != "ok":
                out.write(f"| {r['n']} | {r['method']} | {r['status']} | | |\n")
                continue
            t = r["seconds"]
            ts = f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"
            out.write(f"| {r['n']} | {r['method']} | {ts} | {r['ratio_to_qrp']:.2f} | {r['rc_error']:.1e} |\n")
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--families", default="weak,strong")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=5, help="calls per round for fast methods")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per method; the median of round medians")
    parser.add_argument("--limit", type=float, default=60.0, help="skip a method predicted past this (s)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "classical"))
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    families = args.families.split(",")
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise SystemExit(f"unknown families {sorted(unknown)}; known: {sorted(FAMILIES)}")
    warnings.filterwarnings("ignore")
    with threadpool_limits(args.threads):
        rows = run(sizes, families, seed=args.seed, repeats=args.repeats, limit=args.limit, rounds=args.rounds)
    env = versions("qrp", "numpy", "scipy", "numba", "riskparityportfolio", "riskfolio-lib", "skfolio", "cvxpy")
    header = (
        "## qrp vs peers: ERC (b = 1/N), median wall time and rc_error\n\n"
        f"Command: `python -m benchmarks.classical {' '.join(argv or sys.argv[1:])}`; "
        f"seed {args.seed} (covariance of size N uses seed + N), BLAS threads {args.threads}, "
        f"{args.rounds} rounds x up to {args.repeats} calls (median of round medians; one call past 10 s). "
        f"Versions: {env}.\n"
        "rpp = riskparityportfolio.vanilla.design (maxiter 50 unless stated). riskfolio and skfolio are given "
        "returns whose sample covariance is exactly the matrix; skfolio's time includes its covariance estimate.\n"
    )
    md = markdown(rows, header)
    print(md)
    fields = ["family", "n", "method", "seconds", "repeats", "ratio_to_qrp", "rc_error", "status"]
    write_tables(Path(args.out), md, rows, fields)
    return 0


if __name__ == "__main__":
    sys.exit(main())
