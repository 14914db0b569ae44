"""Where the default call's time goes at small N (issue 23.4, N = 5 and 20): ``qrp.risk_parity(cov)`` on the
weak-factor benchmark matrix against rpp's ``vanilla.design`` (tol 1e-12), built up stage by stage.

Wall time, every stage interleaved with the others and with rpp in one process (median of each round of
``--calls`` calls, then the smallest median of ``--rounds`` rounds; the empty call's time subtracted):

1. the compiled kernel (``qrp.classical.default._small_certified``: scan, certificate, coordinate descent,
   measures) on a buffer allocated once, numba's dispatch included;
2. + the (4, N) buffer the call allocates;
3. + the three row views (weights, budgets, contributions) the result holds;
4. ``default_erc``: + the route tests (types of the arguments, dtype, layout) and the result object
   (``RiskParityResult.classical``, the stats dict, the clock);
5. ``qrp.risk_parity(cov)``: + the argument tests and solver lookup of ``qrp.api``.

Beside them: ``check_psd=False``, rpp, and the route the call takes from ``CHOLESKY_MAX_N`` on (scan,
``certify_positive_definite``, solve, as separate calls): from ``LAPACK_DIRECT_MIN_N`` (64) that certificate is
LAPACK's, which the compiled route replaces below ``CHOLESKY_MAX_N``.

Then the compiled pieces, each run ``--loop`` times inside one compiled loop (CPU time, no dispatch), and numba's
dispatch of an empty function with the kernel's two arguments.

    python -m benchmarks.default_small [N ...] [--out PATH]   # default: 5 20; prints markdown tables
    python -m benchmarks.default_small --out benchmarks/results/default_small.md   # the committed run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numba
import numpy as np

import qrp
from benchmarks.common import family_covariance
from qrp.classical.ccd import auto_ccd_into
from qrp.classical.default import CHOLESKY_MAX_N, _small_certified, _solve, default_erc
from qrp.classical.newton import AUTO_CHUNK, AUTO_FIRST, newton_cost_in_sweeps
from qrp.core.certificate import SYMMETRY_RTOL, certify_positive_definite, compiled_certifies, scan_matrix
from qrp.core.measures import measures_into
from qrp.core.registry import get_solver


@numba.njit
def _empty(s, out):  # pragma: no cover - compiled
    return 0, 0.0, 0.0, 0


@numba.njit
def _loop(piece, s, reps, budget):  # pragma: no cover - compiled
    """``reps`` runs of one compiled piece (0 scan, 1 certificate, 2 coordinate descent, 3 measures)."""
    n = s.shape[0]
    work = np.empty((4, n))
    b = work[1]
    b[:] = 1.0 / n
    total = 0.0
    auto_ccd_into(s, b, work[0], work[2], work[3], 1e-12, AUTO_FIRST, AUTO_CHUNK, budget)
    w = work[0] / work[0].sum()
    for _ in range(reps):
        if piece == 0:
            total += scan_matrix(s, SYMMETRY_RTOL)[0]
        elif piece == 1:
            total += compiled_certifies(s)
        elif piece == 2:
            total += auto_ccd_into(s, b, work[0], work[2], work[3], 1e-12, AUTO_FIRST, AUTO_CHUNK, budget)[0]
        else:
            total += measures_into(w, s, b, work[2])[0]
    return total


def stages(n: int, calls: int, rounds: int) -> dict[str, float]:
    """Median wall microseconds of each stage (see the module docstring), interleaved."""
    from riskparityportfolio import vanilla

    cov = family_covariance("weak", n, seed=2024 + n)
    b = np.full(n, 1.0 / n)
    spec = get_solver("auto")
    buf = np.empty((4, n))

    def kernel_alloc():
        return _small_certified(cov, np.empty((4, n)))

    def kernel_views():
        out = np.empty((4, n))
        _small_certified(cov, out)
        return out[0], out[2], out[1]

    def separate_steps():  # ``default._separate_steps`` without its thread (used from OVERLAP_MIN_N only)
        scan_matrix(cov, SYMMETRY_RTOL)
        certify_positive_definite(cov)
        return _solve(cov, spec, None, None, 0.0)

    funcs = {
        "empty call": lambda: None,
        "1 compiled kernel": lambda: _small_certified(cov, buf),
        "2 + (4, N) buffer": kernel_alloc,
        "3 + row views": kernel_views,
        "4 + route tests, result object (default_erc)": lambda: default_erc(cov, spec, 1.0, True, None, 0.0),
        "5 + qrp.api (signature, solver lookup): qrp.risk_parity(cov)": lambda: qrp.risk_parity(cov),
        "qrp.risk_parity(cov, check_psd=False)": lambda: qrp.risk_parity(cov, check_psd=False),
        "rpp vanilla.design(tol=1e-12)": lambda: vanilla.design(cov, b, tol=1e-12),
        "the route from CHOLESKY_MAX_N on: scan, certify_positive_definite, solve (separate calls)": separate_steps,
    }
    for f in funcs.values():
        f()
    best: dict[str, float] = {k: float("inf") for k in funcs}
    clock = time.perf_counter_ns
    for _ in range(rounds):
        times: dict[str, list[int]] = {k: [] for k in funcs}
        for _ in range(calls):
            for k, f in funcs.items():
                t = clock()
                f()
                times[k].append(clock() - t)
        for k in funcs:
            best[k] = min(best[k], statistics.median(times[k]))
    base = best.pop("empty call")
    return {k: (v - base) / 1e3 for k, v in best.items()}


def pieces(n: int, loop: int, calls: int) -> dict[str, float]:
    """CPU microseconds of each compiled piece inside one compiled loop, and the dispatch of a 2-argument call."""
    cov = family_covariance("weak", n, seed=2024 + n)
    out = {}
    for piece, name in enumerate(("scan (finite, symmetric, variances)", "certificate (compiled Crout)",
                                  "coordinate descent (auto_ccd_into)", "measures (rc, volatility, rc_error)")):
        _loop(piece, cov, 1, newton_cost_in_sweeps(n))
        start = time.process_time()
        _loop(piece, cov, loop, newton_cost_in_sweeps(n))
        out[name] = (time.process_time() - start) / loop * 1e6
    buf = np.empty((4, n))
    _empty(cov, buf)
    clock = time.perf_counter_ns
    times = []
    for _ in range(calls):
        t = clock()
        _empty(cov, buf)
        times.append(clock() - t)
    base = []
    for _ in range(calls):
        t = clock()
        base.append(clock() - t)
    out["numba dispatch, 2 arguments (wall)"] = (statistics.median(times) - statistics.median(base)) / 1e3
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[5, 20], metavar="N",
                        help=f"matrix sizes, 1 to {CHOLESKY_MAX_N - 1} (the compiled route); default 5 20")
    parser.add_argument("--out", default="", metavar="PATH",
                        help="also write the tables, with the command, time and load, to this markdown file")
    args = parser.parse_args(argv)
    sizes = args.sizes
    for n in sizes:
        if not 1 <= n < CHOLESKY_MAX_N:
            parser.error(f"N must be 1 to {CHOLESKY_MAX_N - 1} (the default call's compiled route), got {n}")
    calls, rounds, loop = 5000, 5, 100_000
    t, c = time.perf_counter(), time.process_time()
    results = {n: (stages(n, calls, rounds), pieces(n, loop, calls)) for n in sizes}
    cores = (time.process_time() - c) / (time.perf_counter() - t)
    lines = [f"load {os.getloadavg()[0]:.1f}, {cores:.2f} cores obtained; wall us, median of {calls} interleaved "
             f"calls, best of {rounds} rounds, the empty call subtracted", "",
             "| stage (us) | " + " | ".join(f"N = {n}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    lines += [f"| {k} | " + " | ".join(f"{results[n][0][k]:.2f}" for n in sizes) + " |" for k in results[sizes[0]][0]]
    lines += ["", f"compiled pieces, CPU us per run over {loop} runs in one compiled loop", "",
              "| piece (us) | " + " | ".join(f"N = {n}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    lines += [f"| {k} | " + " | ".join(f"{results[n][1][k]:.2f}" for n in sizes) + " |" for k in results[sizes[0]][1]]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        from pathlib import Path

        from qrp.core.provenance import atomic_write

        command = "python -m benchmarks.default_small " + " ".join(argv if argv is not None else sys.argv[1:])
        head = (f"# The default call at small N, stage by stage (issue 23.4)\n\nCommand: `{command.strip()}`, "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n")
        atomic_write(Path(args.out), lambda p: p.write_text(head + text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
