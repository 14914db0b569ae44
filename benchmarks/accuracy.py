"""Accuracy sweep of the default solver: rc_error of ``qrp.risk_parity(cov)`` (solver "auto", tol 1e-12) on random
factor-model covariances for N = 2..4000, condition numbers 1e2..1e8, annualized and daily scale.

The idiosyncratic variances are U(c, 10c) with c = top / cond, top = N (loading_mean^2 + loading_scale^2) the
approximate largest eigenvalue, so that cond(S) is about the target; the measured cond is reported for N <= 1000.
Where rc_error misses 1e-10 the table also gives the rounding floor eps * max_i (|C||y|)_i / |(Cy)_i| that
``qrp.classical.newton`` reports: how far rc_error moves when the weights move by one ulp.
The "weak" family is left out by
default: with idiosyncratic variances tied to the condition number it is the "strong" one times a constant, and
rc_error is scale invariant.

    python -m benchmarks.accuracy          # writes benchmarks/results/accuracy.{md,csv}
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.common import FAMILIES, family_covariance, versions, write_tables
from qrp.api import risk_parity

SIZES = (2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 4000)
CONDS = (1e2, 1e4, 1e6, 1e8)
SCALES = {"annualized": 1.0, "daily": 1.0 / 252}


def run(sizes, families, conds, *, seed: int) -> list[dict]:
    rows = []
    for family in families:
        spec = FAMILIES[family]
        top_per_asset = spec.get("loading_mean", 0.0) ** 2 + spec["loading_scale"] ** 2
        for n in sizes:
            for cond in conds:
                c = max(n, 3) * top_per_asset / cond
                base = family_covariance(family, n, seed=seed + n, idiosyncratic=(c, 10 * c))
                measured = None
                if n <= 1000:
                    eig = np.linalg.eigvalsh(base)
                    measured = float(eig[-1] / eig[0])
                for scale_name, scale in SCALES.items():
                    cov = base * scale
                    start = time.perf_counter()
                    res = risk_parity(cov)
                    row = {
                        "family": family, "n": n, "cond_target": cond, "cond": measured, "scale": scale_name,
                        "rc_error": res.rc_error, "converged": res.converged, "seconds": time.perf_counter() - start,
                        "ccd_sweeps": res.stats.get("ccd_sweeps"),
                        "newton_iterations": res.stats.get("newton_iterations"),
                        "floor": res.stats.get("rc_error_floor"),
                    }
                    rows.append(row)
                    print(f"{family:6s} N={n:5d} cond~{cond:.0e} {scale_name:10s} rc_error={res.rc_error:.1e} "
                          f"{res.elapsed:.3f}s floor={row['floor']}", flush=True)
    return rows


def markdown(rows, header: str) -> str:
    out = io.StringIO()
    out.write(header)
    worst = max(r["rc_error"] for r in rows)
    misses = [r for r in rows if r["rc_error"] > 1e-10]
    out.write(f"\nWorst rc_error over all {len(rows)} problems: {worst:.1e}; above 1e-10: {len(misses)}.\n")
    for r in misses:
        out.write(f"- {r['family']} N={r['n']} cond~{r['cond_target']:.0e} {r['scale']}: rc_error "
                  f"{r['rc_error']:.1e}, rounding floor {r['floor']:.1e}\n")
    sizes = sorted({r["n"] for r in rows})
    for family in dict.fromkeys(r["family"] for r in rows):
        out.write(f"\n### {family} ({FAMILIES[family]}): max rc_error over both scales\n\n")
        out.write("| cond | " + " | ".join(f"N={n}" for n in sizes) + " |\n")
        out.write("|---|" + "---:|" * len(sizes) + "\n")
        for cond in sorted({r["cond_target"] for r in rows}):
            cells = []
            for n in sizes:
                errs = [r["rc_error"] for r in rows if r["family"] == family and r["n"] == n
                        and r["cond_target"] == cond]
                cells.append(f"{max(errs):.0e}" if errs else "")
            out.write(f"| {cond:.0e} | " + " | ".join(cells) + " |\n")
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--families", default="strong,market")
    parser.add_argument("--conds", default=",".join(f"{c:g}" for c in CONDS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "accuracy"))
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        rows = run([int(x) for x in args.sizes.split(",")], args.families.split(","),
                   [float(x) for x in args.conds.split(",")], seed=args.seed)
    header = (
        "## Accuracy of the default solver (`qrp.risk_parity(cov)`, tol 1e-12)\n\n"
        f"Command: `python -m benchmarks.accuracy {' '.join(argv or sys.argv[1:])}`; seed {args.seed} "
        f"(size N uses seed + N); scales: annualized and daily (/252). "
        f"Versions: {versions('qrp', 'numpy', 'scipy', 'numba')}.\n"
    )
    md = markdown(rows, header)
    print(md)
    write_tables(Path(args.out), md, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
