"""The QAOA state-vector kernel against its streaming bound (issue 23, item 2).

Usage (from the repository root):
    python -m benchmarks.kernel --qubits 16 18 20 22 24 26 28 --reps 3 --repeat 3 --large-repeat 1 \
        --out benchmarks/results/kernel

One exact evaluation (p layers, then the probabilities and the expectation) of a dense QUBO cost (all Z and ZZ
terms, ``benchmarks.qaoa.dense_qubo_ising``, normalized) at each n, median of ``--repeat`` interleaved runs of

* before: the previous complex128 kernel (``kernels.reference_layer``: one sweep per qubit above 11, libm cos/sin),
  its probabilities and expectation, as ``QAOA.objective`` ran it;
* fast: ``simulators.NumbaSimulator`` (engine "fast", the default: split state, cache-blocked sweeps, libm phase);
* split poly: ``kernels.split_layer`` with the polynomial sincos (engine "fast_poly" before ``qrp.quantum.fused``);
* poly: ``simulators.PolyPhaseSimulator`` (engine "fast_poly": from 13 qubits the X-mixer layer of
  ``qrp.quantum.fused``, tan form, three qubits at a time in registers; this cost being quadratic in the bits, the
  factored phase of ``fused.RowQuadratic``, found by its first evaluation), after one untimed evaluation (it keeps
  its state arrays and the decomposition from one evaluation to the next, as in an optimization).

fast_poly is also timed ``--repeat`` times back to back after the interleaved runs ("back to back"), as an optimizer
calls it: at n <= 20 its state and diagonal (24 MiB at n = 20) then stay in L3, where the bandwidth of the bound is
measured, while the interleaved runs find them evicted by the other kernels' arrays (no difference from n = 22 on,
where they do not fit in L3). The interleaved median stays the headline ratio.

Checks at every n: the "fast" state equals the previous kernel's to the bit, "fast_poly" to 1e-12 (max |diff|).
The streaming bound: one read+write sweep of the split state (32 bytes per amplitude) is timed by ``_sweep`` to
give the bandwidth B; the bound is (p (sweeps(n) x 32 + 8) + 24) x 2^n / B with sweeps(n) = ``kernels.sweeps`` (the
bound of the issue; the first sweep also reads the 8-byte diagonal; the expectation reads the state and the
diagonal). ``fused bound`` is the same with ``fused.sweeps`` (the fused layer's direct sweeps of up to 3 qubits are
more sweeps from n = 22 on, each at the speed of a sequential one). ``one-pass`` is the bound of one sweep a layer.
``flop floor``: (p (4 n + 18) + 5) x 2^n flops at the peak of an FMA loop measured alongside (``_fma_peak``): 4 FMA
(8 flops) per amplitude pair and qubit in tan form, 18 for the factored phase of this quadratic cost (three complex
products, ``fused.RowQuadratic``; its 10 sincos a row of 512 are 1 flop an amplitude, left out), 5 for |psi|^2 and
the expectation (with the polynomial sincos of a cost that is not quadratic, 51 instead of 18: the floor of the
kernel that runs, not a bound; before the factored phase the table used 51). Times are CPU seconds of the (serial)
thread, ``time.thread_time``, so that a loaded machine does not inflate them; BLAS on one thread; prints a table
with the load average; ``--out`` writes .md and .csv.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.common import write_tables
from benchmarks.qaoa import dense_qubo_ising
from qrp.quantum import fused, kernels
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


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _fma(x, iters):  # pragma: no cover - compiled
    """iters x len(x) x 16 independent FMAs (x <- x c + e; every lane its own chain)."""
    c = 1.0 + 2.0**-30
    e = 2.0**-40
    for _ in range(iters):
        for t in range(x.shape[0]):
            v = x[t]
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            v = v * c + e
            x[t] = v
    return x[0]


def fma_peak(repeat: int = 5) -> float:
    """Flops per second of ``_fma`` on 256 L1-resident lanes (2 flops an FMA; best of ``repeat``)."""
    x = np.ones(256)
    _fma(x, 1)
    iters = 20000
    best = min(_timed(lambda: _fma(x, iters)) for _ in range(repeat))
    return 2 * 16 * 256 * iters / best


#: Flops an amplitude of the factored phase (three complex products) and of the polynomial sincos with its product.
PHASE_FLOPS = {"factored": 18, "poly": 51}


def flops(n: int, p: int, phase: str = "factored") -> int:
    """Flops of one fused evaluation (module docstring: tan-form rotations, the phase, expectation)."""
    return (p * (4 * n + PHASE_FLOPS[phase]) + 5) << n


def split_poly(d: np.ndarray, angles: np.ndarray, p: int) -> float:
    """The evaluation with ``kernels.split_layer`` and the polynomial phase (engine "fast_poly" before
    ``qrp.quantum.fused``)."""
    n = d.shape[0].bit_length() - 1
    mixer = XMixer(n)
    re, im = mixer.initial_split()
    for gamma, beta in zip(angles[:p], angles[p:], strict=True):
        kernels.split_layer(re, im, d, float(gamma), kernels.real_matrices(mixer.matrices(float(beta))), True)
    re *= re
    im *= im
    re += im
    return sv.cvar(d, re, 1.0)


def _max_abs_diff(ref: np.ndarray, re: np.ndarray, im: np.ndarray, chunk: int = 1 << 22) -> float:
    """max |ref - (re + i im)| in chunks (no full-size temporaries at n = 26-28)."""
    return max(float(np.abs(ref[i:i + chunk] - (re[i:i + chunk] + 1j * im[i:i + chunk])).max())
               for i in range(0, ref.shape[0], chunk))


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


def measure(n: int, reps: int, repeat: int, light: bool = False) -> dict:
    """One p-layer evaluation of every kernel, interleaved, against the streaming bound and the flop floor.
    ``light``: fast_poly and fast only (the previous kernels, 17-20 s an evaluation at n = 26, left out): fast_poly's
    difference is then taken against fast's state and the ``before_*`` / ``split_*`` entries are NaN."""
    op, _ = dense_qubo_ising(n, seed=n)
    coeffs = np.asarray(op.coeffs.real)
    d = sv.cost_diagonal(op) / float(np.sqrt(coeffs @ coeffs))
    angles = np.concatenate([np.linspace(0.2, 0.6, reps), np.linspace(-0.5, -0.1, reps)])
    settings = engine_settings(reps=reps, shots=None, alpha=1.0, engine="fast", noise=None)
    cost = DiagonalCost(None, diagonal=d)
    fast = NumbaSimulator(cost, XMixer(n), settings)
    poly = PolyPhaseSimulator(cost, XMixer(n), settings)
    if light:
        re, im = fast.split_state(angles)
        ref = re + 1j * im
        del re, im
        exact = None
    else:
        value, ref = before(d, angles, reps)
        re, im = fast.split_state(angles)
        exact = bool(np.array_equal(re, ref.real) and np.array_equal(im, ref.imag)) and fast.objective(angles) == value
        del re, im
    poly_diff = _max_abs_diff(ref, *poly.split_state(angles))
    del ref
    poly.objective(angles)  # its state arrays, kept from one evaluation to the next as in an optimization
    kernels_timed = {"fast": lambda: fast.objective(angles), "poly": lambda: poly.objective(angles)}
    if not light:
        kernels_timed = {"before": lambda: before(d, angles, reps), **kernels_timed,
                         "split": lambda: split_poly(d, angles, reps)}
    times: dict[str, list[float]] = {k: [] for k in kernels_timed}
    for _ in range(repeat):  # interleaved
        for key, func in kernels_timed.items():
            times[key].append(_timed(func))
    warm = [_timed(kernels_timed["poly"]) for _ in range(repeat)]  # back to back, as an optimizer calls it
    bw = bandwidth(n, repeat)
    peak = fma_peak()
    ms = {"before": float("nan"), "split": float("nan")} | {k: 1e3 * statistics.median(v) for k, v in times.items()}
    bound = 1e3 * (reps * (kernels.sweeps(n) * 32 + 8) + 24) * (1 << n) / bw
    fused_bound = 1e3 * (reps * (fused.sweeps(n) * 32 + 8) + 24) * (1 << n) / bw
    one_pass = 1e3 * (reps * 40 + 24) * (1 << n) / bw
    floor = 1e3 * flops(n, reps) / peak
    return {"n": n, "p": reps, "before_ms": ms["before"], "fast_ms": ms["fast"], "split_poly_ms": ms["split"],
            "poly_ms": ms["poly"], "speedup_fast": ms["before"] / ms["fast"], "speedup_poly": ms["before"] / ms["poly"],
            "poly_vs_split_poly": ms["split"] / ms["poly"],
            "sweeps_per_layer": kernels.sweeps(n), "fused_sweeps_per_layer": fused.sweeps(n),
            "bandwidth_GBs": bw / 1e9, "bound_ms": bound, "fused_bound_ms": fused_bound,
            "ratio_fast": ms["fast"] / bound, "ratio_poly": ms["poly"] / bound,
            "ratio_poly_fused_bound": ms["poly"] / fused_bound, "one_pass_bound_ms": one_pass,
            "poly_warm_ms": 1e3 * statistics.median(warm), "ratio_poly_warm": 1e3 * statistics.median(warm) / bound,
            "fma_peak_GFs": peak / 1e9, "flop_floor_ms": floor, "floor_over_bound": floor / bound,
            "fast_equals_before_bitwise": exact, "poly_max_abs_diff": poly_diff,
            "load": os.getloadavg()[0]}


def breakdown(n: int, repeat: int) -> dict:
    """One fused layer (``fused.x_layer``, an X mixer at beta = 0.3, gamma = 0.4, the state from |+>, the cost of
    ``measure``: the factored phase) split into its parts by ``x_layer(timings=...)``, CPU ns an amplitude, median
    of ``repeat`` (each run also times the whole layer without the laps, interleaved), each part against its own
    floor: the first sweep (phase and qubits 0-14) against its 18 + 4 x 15 flops an amplitude at the measured FMA
    peak and against a 32-byte streaming pass (the factored phase does not read d); the direct sweeps against as
    many 32-byte streaming passes; qubits 15-17 chunk by chunk (in L3) are listed."""
    op, _ = dense_qubo_ising(n, seed=n)
    coeffs = np.asarray(op.coeffs.real)
    d = sv.cost_diagonal(op) / float(np.sqrt(coeffs @ coeffs))
    quad = fused.RowQuadratic.of(d)
    re, im = fused.empty_split(n)
    t, scale = fused.x_form(XMixer(n).matrices(0.3))
    fused.x_layer(re, im, d, 0.4, t, scale, True, plus=True, quad=quad)
    parts: dict[str, list[float]] = {"first": [], "chunked": [], "direct": [], "whole": []}
    for _ in range(repeat):
        laps: dict[str, float] = {}
        fused.x_layer(re, im, d, 0.4, t, scale, True, timings=laps, quad=quad)
        for key in ("first", "chunked", "direct"):
            parts[key].append(laps.get(key, 0.0))
        parts["whole"].append(_timed(lambda: fused.x_layer(re, im, d, 0.4, t, scale, True, quad=quad)))
    bw, peak = bandwidth(n, 3), fma_peak()
    ns = {k: 1e9 * statistics.median(v) / (1 << n) for k, v in parts.items()}
    direct = len(fused._plan(n))
    first_flops = 1e9 * (PHASE_FLOPS["factored"] + 4 * min(fused.BLOCK, n)) / peak
    first_stream = 1e9 * 32 / bw
    direct_stream = 1e9 * 32 * direct / bw
    return {"n": n, "layer_ns": ns["whole"], "first_ns": ns["first"], "first_flop_floor_ns": first_flops,
            "first_stream_floor_ns": first_stream, "first_over_floor": ns["first"] / max(first_flops, first_stream),
            "chunked_ns": ns["chunked"], "direct_sweeps": direct, "direct_ns": ns["direct"],
            "direct_stream_floor_ns": direct_stream,
            "direct_over_floor": ns["direct"] / direct_stream if direct else float("nan"),
            "first_share": ns["first"] / (ns["first"] + ns["chunked"] + ns["direct"]),
            "bandwidth_GBs": bw / 1e9, "fma_peak_GFs": peak / 1e9, "load": os.getloadavg()[0]}


def breakdown_table(rows: list[dict]) -> str:
    head = ("| n | layer CPU ns/amp | first sweep ns/amp | its flop floor | its 32 B stream floor | first / floor | "
            "first share | qubits 15-17 (18) in L3 chunks ns/amp | direct sweeps | direct ns/amp | "
            "their stream floor | direct / floor | GB/s | FMA peak GFLOP/s | load |")
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['layer_ns']:.2f} | {r['first_ns']:.2f} | {r['first_flop_floor_ns']:.2f} | "
            f"{r['first_stream_floor_ns']:.2f} | {r['first_over_floor']:.2f} | {r['first_share']:.0%} | "
            f"{r['chunked_ns']:.2f} | {r['direct_sweeps']} | {r['direct_ns']:.2f} | "
            f"{r['direct_stream_floor_ns']:.2f} | {r['direct_over_floor']:.2f} | {r['bandwidth_GBs']:.1f} | "
            f"{r['fma_peak_GFs']:.0f} | {r['load']:.1f} |")
    return "\n".join(lines) + "\n"


def table(rows: list[dict]) -> str:
    head = ("| n | p | before CPU ms | fast CPU ms | split poly CPU ms | fast_poly (fused) CPU ms | x fast | x fused | "
            "fused vs split poly | sweeps/layer (fused) | GB/s | bound ms | fast / bound | fused / bound | "
            "fused bound ms | fused / fused bound | fused back to back ms | back to back / bound | one-pass bound ms | "
            "FMA peak GFLOP/s | flop floor ms | floor / bound | fast = before (bits) | fused max diff | load |")
    lines = [head, "|" + "---|" * 25]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['p']} | {r['before_ms']:.2f} | {r['fast_ms']:.2f} | {r['split_poly_ms']:.2f} | "
            f"{r['poly_ms']:.2f} | {r['speedup_fast']:.2f} | {r['speedup_poly']:.2f} | {r['poly_vs_split_poly']:.2f} | "
            f"{r['sweeps_per_layer']} ({r['fused_sweeps_per_layer']}) | {r['bandwidth_GBs']:.1f} | "
            f"{r['bound_ms']:.2f} | {r['ratio_fast']:.2f} | {r['ratio_poly']:.2f} | {r['fused_bound_ms']:.2f} | "
            f"{r['ratio_poly_fused_bound']:.2f} | {r['poly_warm_ms']:.2f} | {r['ratio_poly_warm']:.2f} | "
            f"{r['one_pass_bound_ms']:.2f} | {r['fma_peak_GFs']:.0f} | "
            f"{r['flop_floor_ms']:.2f} | {r['floor_over_bound']:.2f} | {r['fast_equals_before_bitwise']} | "
            f"{r['poly_max_abs_diff']:.1e} | {r['load']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[16, 18, 20, 22, 24])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--large-repeat", type=int, default=None,
                    help="repeats from n = 26 on (2-4 GiB of state per copy; default --repeat)")
    ap.add_argument("--breakdown", type=int, nargs="*", default=None, metavar="N",
                    help="also time one fused layer's parts (first sweep, chunked, direct sweeps) at these n")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    large = args.repeat if args.large_repeat is None else args.large_repeat
    if any(n < 1 or n > 30 for n in args.qubits) or args.reps < 1 or args.repeat < 1 or large < 1:
        ap.error("qubits must be in 1..30, reps, repeat and large-repeat at least 1")
    rows = []
    with threadpool_limits(1):  # the expectation's dot product on this thread (as benchmarks.all)
        for n in args.qubits:
            rows.append(measure(n, args.reps, large if n >= 26 else args.repeat))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    md = table(rows)
    if args.breakdown:
        with threadpool_limits(1):
            parts = [breakdown(n, max(args.repeat, 5)) for n in args.breakdown]
        md += ("\nOne fused layer by parts (``--breakdown``; CPU ns an amplitude, median of "
               f"{max(args.repeat, 5)}):\n\n" + breakdown_table(parts))
    print(md)
    if args.out is not None:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        extra = f" --breakdown {' '.join(map(str, args.breakdown))}" if args.breakdown else ""
        note = (f"python -m benchmarks.kernel --qubits {' '.join(map(str, args.qubits))} --reps {args.reps} "
                f"--repeat {args.repeat} --large-repeat {large}{extra}; {when}; {os.cpu_count()} cores, numba "
                f"{numba.__version__}; times in CPU ms of the serial thread (time.thread_time), load in the last "
                f"column\n\n")
        write_tables(args.out, note + md, rows)


if __name__ == "__main__":
    main()
