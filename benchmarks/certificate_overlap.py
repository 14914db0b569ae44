"""What running the PSD certificate in a second thread beside the solve buys the default call (issue 23.4):
``qrp.risk_parity(cov)`` on the weak-factor benchmark matrix three ways, interleaved in one process (median wall
time, one BLAS thread): the certificate always in a second thread ("forced"), as the call decides
(``qrp.classical.default.certificate_overlaps``: from ``OVERLAP_MIN_N`` when a second core is free; "checked") and
always first in the calling thread ("sequential"). The three give the same weights (checked). The load average and
the share of the calls that found a free core are printed beside the ratios: the overlap needs an idle core.

    python -m benchmarks.certificate_overlap [N ...]     # default: 300 500 700 1000 2000
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import scipy.linalg  # noqa: F401  (scipy's own OpenBLAS must be loaded before threadpool_limits pins it)
from threadpoolctl import threadpool_limits

import qrp
from benchmarks.common import family_covariance, interleaved
from qrp.classical import default


def measure(n: int, repeats: int) -> dict:
    """Median wall seconds of the three ways at N = ``n`` (``interleaved``) and the share of "checked" calls that
    found a free core (None below ``OVERLAP_MIN_N``, where the call does not ask)."""
    cov = family_covariance("weak", n, seed=2024 + n)
    checked, free = default._second_core_free, []

    def way(forced: bool, thread: bool):
        def call():
            default._second_core_free = (lambda: True) if forced else counted
            default.CERT_THREAD = thread
            try:
                return qrp.risk_parity(cov).weights
            finally:
                default._second_core_free, default.CERT_THREAD = checked, True
        return call

    def counted() -> bool:
        free.append(checked())
        return free[-1]

    calls = {"forced": way(True, True), "checked": way(False, True), "sequential": way(False, False)}
    reference = calls["sequential"]()
    if not all(np.array_equal(f(), reference) for f in calls.values()):
        raise AssertionError(f"the three ways gave different weights at N = {n}")
    free.clear()
    out = interleaved(calls, repeats)  # its warm-up call of "checked" counts in ``free`` too
    out["free"] = sum(free) / len(free) if free else None  # None: below OVERLAP_MIN_N, never asked
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[300, 500, 700, 1000, 2000], metavar="N",
                        help=f"matrix sizes, at least {default.CHOLESKY_MAX_N} (the LAPACK certificate)")
    sizes = parser.parse_args(argv).sizes
    for n in sizes:
        if n < default.CHOLESKY_MAX_N:
            parser.error(f"N must be at least {default.CHOLESKY_MAX_N} (below it the certificate is compiled into "
                         f"the solve), got {n}")
    print(f"{os.cpu_count()} logical CPUs, one BLAS thread, OVERLAP_MIN_N = {default.OVERLAP_MIN_N}; wall ms, median")
    print("| N | forced | checked | sequential | forced / sequential | checked / sequential | free core | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with threadpool_limits(1):
        for n in sizes:
            m = measure(n, 200 if n <= 500 else 60 if n <= 1000 else 8)
            print(f"| {n} | {m['forced'] * 1e3:.3f} | {m['checked'] * 1e3:.3f} | {m['sequential'] * 1e3:.3f} | "
                  f"{m['forced'] / m['sequential']:.2f}x | {m['checked'] / m['sequential']:.2f}x | "
                  f"{'-' if m['free'] is None else format(m['free'], '.0%')} | {os.getloadavg()[0]:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
