"""Where the default call's CPU goes at large N (issue 23.4): ``qrp.risk_parity(cov)`` on the weak-factor benchmark
matrix, then each of its pieces called alone (median CPU time, one BLAS thread): the symmetry scan, the PSD
certificate (float32 fill, spotrf, Collatz-Wielandt bound), coordinate descent, and Newton (float32 build, range
finder, CG products, float64 gradient products), and the result's measures. Pieces called alone do not add up
exactly to the call (caches, allocation).

    python -m benchmarks.default_breakdown [N ...]     # default: 1000 4000; prints a markdown table
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import scipy.linalg  # noqa: F401  (scipy's own OpenBLAS must be loaded before threadpool_limits pins it)
from threadpoolctl import threadpool_limits

import qrp
from benchmarks.common import family_covariance
from qrp.classical import ccd
from qrp.classical import newton as nw
from qrp.core import certificate as cert
from qrp.core.measures import measures_kernel


def _cpu_ms(func, repeats: int) -> float:
    func()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        func()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1e3


def _certificate_pieces(cov, repeats: int) -> dict[str, float]:
    n = cov.shape[0]
    t = cert._scales(cov)
    out = {"- float32 fill of D S D (fresh buffer)": _cpu_ms(
        lambda: cert._fill_rows(cov, t, np.empty((n, n), np.float32), np.zeros(n)), repeats)}
    work, rows = np.empty((n, n), np.float32), np.zeros(n)
    _, _, mean_row, max_row = cert._fill_rows(cov, t, work, rows)
    shift = cert._shift_diagonal(work, cert.F32_SHIFT_UNITS * cert._gamma(n + 3.0, cert.U32) * mean_row)
    shifted = work.copy()
    out["- spotrf (with one copy of its input)"] = _cpu_ms(lambda: cert._potrf("spotrf", shifted.copy()), repeats)
    cert._potrf("spotrf", work)  # L in the lower triangle of work, as _certify_f32 hands it to _cw_bound
    target = (shift - (cert.U32 + 2 * cert.U64) * max_row * cert.BOUND_INFLATE - n * 2.0**-125
              - n * 4.0 * (n + 3.0) * cert.REALMIN32)
    out["- Collatz-Wielandt bound"] = _cpu_ms(lambda: cert._cw_bound(work, target, cert.CW_MAX_ITER, rows), repeats)
    return out


def _newton_pieces(cov, stats, repeats: int) -> dict[str, float]:
    inv_d = 1.0 / np.sqrt(np.diag(cov))
    lower = nw._lower_f32(cov, inv_d)
    product = nw._single_products(lower)
    v = np.ones(cov.shape[0])
    one = _cpu_ms(lambda: product(v), 3 * repeats)
    grad = _cpu_ms(lambda: inv_d * (cov @ (inv_d * v)), 3 * repeats)
    return {"- float32 lower-triangle build": _cpu_ms(lambda: nw._lower_f32(cov, inv_d), repeats),
            "- range finder (2 products of 15 columns, QR, eigh)": _cpu_ms(
                lambda: nw._top_eigen(cov, inv_d, nw.PRECOND_RANK, lower), repeats),
            "- CG products (iterations x one float32 product)": one * stats["cg_iterations"],
            "- float64 gradient products (steps + 1)": grad * (stats["newton_iterations"] + 1),
            "(count) CG iterations": stats["cg_iterations"]}


def breakdown(n: int, repeats: int) -> dict[str, float]:
    cov = family_covariance("weak", n, seed=2024 + n)  # benchmarks.all's bench_classical matrix
    b = np.full(n, 1.0 / n)

    def handover():
        return ccd.auto_ccd(cov, b, tol=1e-12, first=nw.AUTO_FIRST, chunk=nw.AUTO_CHUNK,
                            budget=nw.newton_cost_in_sweeps(n))

    y, sweeps, _, _ = handover()
    res = nw.finish_auto(cov, b, y, sweeps, tol=1e-12, max_iter=100)
    return {"whole call (certificate on)": _cpu_ms(lambda: qrp.risk_parity(cov), repeats),
            "whole call, check_psd=False": _cpu_ms(lambda: qrp.risk_parity(cov, check_psd=False), repeats),
            "symmetry / finiteness scan": _cpu_ms(lambda: cert.scan_matrix(cov, cert.SYMMETRY_RTOL), repeats),
            "certificate": _cpu_ms(lambda: cert.certify_positive_definite(cov), repeats),
            **_certificate_pieces(cov, repeats),
            "coordinate descent": _cpu_ms(handover, repeats),
            "(count) coordinate-descent sweeps": sweeps,
            "Newton": _cpu_ms(
                lambda: nw.finish_auto(cov, b, y, sweeps, tol=1e-12, max_iter=100), repeats),
            "(count) Newton steps": res.stats["newton_iterations"],
            **_newton_pieces(cov, res.stats, repeats),
            "measures": _cpu_ms(lambda: measures_kernel(res.weights, cov, b), repeats)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 4000], metavar="N",
                        help=f"matrix sizes, at least {nw.F32_CG_MIN_N} (Newton-CG on float32 products); "
                             "default 1000 4000")
    sizes = parser.parse_args(argv).sizes
    for n in sizes:
        if n < nw.F32_CG_MIN_N:
            parser.error(f"N must be at least {nw.F32_CG_MIN_N} (the pieces broken down are those of Newton-CG on "
                         f"float32 products), got {n}")
    with threadpool_limits(1):
        tables = {n: breakdown(n, 21 if n <= 1000 else 5) for n in sizes}
    print(f"load {os.getloadavg()[0]:.1f}, {os.cpu_count()} logical CPUs, one BLAS thread; ms of CPU, median")
    print("| piece | " + " | ".join(f"N = {n}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for key in tables[sizes[0]]:
        cells = [f"{tables[n][key]:.2f}" if key[0] != "(" else f"{tables[n][key]}" for n in sizes]
        print(f"| {key} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
