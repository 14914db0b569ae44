"""The QAOA state-vector kernel against its streaming bound (issue 23, item 2).

Usage (from the repository root):
    python -m benchmarks.kernel --qubits 16 18 20 22 24 26 --reps 3 --repeat 3 --out benchmarks/results/kernel

One exact evaluation (p layers, then the probabilities and the expectation) of a dense QUBO cost (all Z and ZZ
terms, ``benchmarks.qaoa.dense_qubo_ising``, normalized) at each n, median of ``--repeat`` interleaved runs of

* before: the previous complex128 kernel (``kernels.reference_layer``: one sweep per qubit above 11, libm cos/sin),
  its probabilities and expectation, as ``QAOA.objective`` ran it;
* fast: ``simulators.NumbaSimulator`` (engine "fast": split state, cache-blocked sweeps, libm phase);
* poly: ``simulators.PolyPhaseSimulator`` (engine "fast_poly": the same with the vectorized polynomial sincos).

Checks at every n: the "fast" state equals the previous kernel's to the bit, "fast_poly" to 1e-12 (max |diff|).
The streaming bound: one read+write sweep of the split state (32 bytes per amplitude) is timed by ``_sweep`` to
give the bandwidth B; the bound is (p (sweeps(n) x 32 + 8) + 24) x 2^n / B (``kernels.sweeps`` sweeps a layer, the
first also reading the 8-byte diagonal; the expectation reads the state and the diagonal). ``one-pass`` is the
bound of one sweep a layer. Times are CPU seconds of the (serial) thread, ``time.thread_time``, so that a loaded
machine does not inflate them; prints a table with the load average; ``--out`` writes .md and .csv.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numba
import numpy as np

from benchmarks.common import write_tables
from benchmarks.qaoa import dense_qubo_ising
from qrp.quantum import kernels
from qrp.quantum import statevector as sv
from qrp.quantum.engine_options import engine_settings
from qrp.quantum.mixers import XMixer
from qrp.quantum.simulators import DiagonalCost, NumbaSimulator, PolyPhaseSimulator


@numba.njit(cache=True, nogil=True)
def _sweep(re, im):  # pragma: no cover - compiled
    """One read+write sweep of the split state (the bandwidth probe): x <- x (1 + 2^-40)."""
    c = 1.0 + 2.0**-40
    for t in range(re.shape[0]):
        re[t] = re[t] * c
        im[t] = im[t] * c


def before(d: np.ndarray, angles: np.ndarray, p: int) -> tuple[float, np.ndarray]:
    """The previous evaluation: complex kernel, probabilities, expectation (returns value and state)."""
    n = d.shape[0].bit_length() - 1
    mixer = XMixer(n)
    psi = mixer.initial_state()
    for gamma, beta in zip(angles[:p], angles[p:], strict=True):
        kernels.reference_layer(psi, d, float(gamma), mixer.matrices(float(beta)), kernels.BLOCK_QUBITS)
    probs = sv.probabilities(psi)
    return sv.cvar(d, probs, 1.0), psi


def bandwidth(n: int, repeat: int) -> float:
    """Bytes per second of one read+write sweep over the 2^n split state (best of ``repeat``)."""
    re, im = np.ones(1 << n), np.zeros(1 << n)
    _sweep(re, im)
    best = min(_timed(lambda: _sweep(re, im)) for _ in range(max(repeat, 3)))
    return 32 * (1 << n) / best


def _timed(func) -> float:
    """CPU seconds of this thread in ``func`` (the kernels are serial: the time they would take on an unshared
    core, not the time other processes on a shared machine take from it)."""
    t0 = time.thread_time()
    func()
    return time.thread_time() - t0


def measure(n: int, reps: int, repeat: int) -> dict:
    op, _ = dense_qubo_ising(n, seed=n)
    coeffs = np.asarray(op.coeffs.real)
    d = sv.cost_diagonal(op) / float(np.sqrt(coeffs @ coeffs))
    angles = np.concatenate([np.linspace(0.2, 0.6, reps), np.linspace(-0.5, -0.1, reps)])
    settings = engine_settings(reps=reps, shots=None, alpha=1.0, engine="fast", noise=None)
    cost = DiagonalCost(None, diagonal=d)
    fast = NumbaSimulator(cost, XMixer(n), settings)
    poly = PolyPhaseSimulator(cost, XMixer(n), settings)
    value, ref = before(d, angles, reps)
    state = fast.state(angles)
    exact = bool(np.array_equal(state, ref)) and fast.objective(angles) == value
    poly_diff = float(np.abs(poly.state(angles) - ref).max())
    del state, ref
    times: dict[str, list[float]] = {"before": [], "fast": [], "poly": []}
    for _ in range(repeat):  # interleaved
        times["before"].append(_timed(lambda: before(d, angles, reps)))
        times["fast"].append(_timed(lambda: fast.objective(angles)))
        times["poly"].append(_timed(lambda: poly.objective(angles)))
    bw = bandwidth(n, repeat)
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    bound = 1e3 * (reps * (kernels.sweeps(n) * 32 + 8) + 24) * (1 << n) / bw
    one_pass = 1e3 * (reps * 40 + 24) * (1 << n) / bw
    return {"n": n, "p": reps, "before_ms": ms["before"], "fast_ms": ms["fast"], "poly_ms": ms["poly"],
            "speedup_fast": ms["before"] / ms["fast"], "speedup_poly": ms["before"] / ms["poly"],
            "sweeps_per_layer": kernels.sweeps(n), "bandwidth_GBs": bw / 1e9, "bound_ms": bound,
            "ratio_fast": ms["fast"] / bound, "ratio_poly": ms["poly"] / bound, "one_pass_bound_ms": one_pass,
            "fast_equals_before_bitwise": exact, "poly_max_abs_diff": poly_diff,
            "load": os.getloadavg()[0]}


def table(rows: list[dict]) -> str:
    head = ("| n | p | before CPU ms | fast CPU ms | fast_poly CPU ms | x fast | x poly | sweeps/layer | GB/s | "
            "bound ms | fast / bound | poly / bound | one-pass bound ms | fast = before (bits) | poly max diff | "
            "load |")
    lines = [head, "|" + "---|" * 16]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['p']} | {r['before_ms']:.2f} | {r['fast_ms']:.2f} | {r['poly_ms']:.2f} | "
            f"{r['speedup_fast']:.2f} | {r['speedup_poly']:.2f} | {r['sweeps_per_layer']} | {r['bandwidth_GBs']:.1f} | "
            f"{r['bound_ms']:.2f} | {r['ratio_fast']:.2f} | {r['ratio_poly']:.2f} | {r['one_pass_bound_ms']:.2f} | "
            f"{r['fast_equals_before_bitwise']} | {r['poly_max_abs_diff']:.1e} | {r['load']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[16, 18, 20, 22, 24])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if any(n < 1 or n > 30 for n in args.qubits) or args.reps < 1 or args.repeat < 1:
        ap.error("qubits must be in 1..30, reps and repeat at least 1")
    rows = []
    for n in args.qubits:
        rows.append(measure(n, args.reps, args.repeat))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    md = table(rows)
    print(md)
    if args.out is not None:
        note = (f"python -m benchmarks.kernel --qubits {' '.join(map(str, args.qubits))} --reps {args.reps} "
                f"--repeat {args.repeat}; {os.cpu_count()} cores, numba {numba.__version__}\n\n")
        write_tables(args.out, note + md, rows)


if __name__ == "__main__":
    main()
