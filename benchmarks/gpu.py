"""One QAOA evaluation on a GPU (numba.cuda, and Aer's GPU device when qiskit-aer-gpu is installed) against the CPU
path (issue 20, item 3).

Usage (from the repository root, on a machine with a CUDA GPU):
    python -m benchmarks.gpu                       # n = 24, 26, 28, 30; p = 1, 3, 5; CPU at n = 24
    python -m benchmarks.gpu --qubits 24 26 --reps 1 3 --out benchmarks/results/gpu

Without a GPU (numba.cuda.is_available() False, or QRP_GPU=0) it prints why and exits with status 0, measuring
nothing. Per n: the normalized cost diagonal of a dense QUBO (all Z and ZZ terms, ``benchmarks.qaoa.dense_qubo_ising``)
is built on the device (``statevector_gpu.cost_diagonal_gpu``), then per p one evaluation = the |+>^n state built on
the device, p layers (a phase kernel and n mixer kernels each), the expectation reduced on the device (16 bytes
copied back, never the state): median of ``--repeat`` runs after one warm-up. Aer: ``QAOA(engine="aer",
device="GPU")`` (EstimatorV2 on Aer's GPU state vector), one objective call. CPU: engines "fast" and "fast_poly" at
``--cpu-qubits`` (one thread), and the GPU's value at that n beside the CPU's (their difference is printed).

Bound: state bytes x passes / device bandwidth, with p (40 + 32 n) + 24 bytes per amplitude (phase: read psi and d,
write psi; each mixer pass: read and write psi; expectation: read psi and d) and the bandwidth of a measured
read+write kernel over a 2^min(n) complex128 array. Memory: 24 bytes per amplitude on the device (n = 30: 24 GiB);
sizes that do not fit in the free device memory are reported as skipped. Prints a table (with the device's name)
and the load average; ``--out`` writes .md and .csv.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_tables
from benchmarks.qaoa import dense_qubo_ising
from qrp.quantum import statevector as sv
from qrp.quantum.angles import ramp_angles
from qrp.quantum.engine_options import engine_settings
from qrp.quantum.mixers import XMixer, mixer_matrices
from qrp.quantum.simulators import DiagonalCost, NumbaSimulator, PolyPhaseSimulator

#: Device bytes per amplitude (complex128 state + float64 diagonal).
DEVICE_BYTES = 24


def normalized_terms(n: int) -> tuple[np.ndarray, np.ndarray, object]:
    """(Z-masks, coefficients / s, operator) of the dense QUBO at n (no identity term)."""
    op, _ = dense_qubo_ising(n, seed=n)
    masks, coeffs = sv.z_masks(op)
    keep = masks != 0
    masks, coeffs = masks[keep], coeffs[keep]
    return masks, coeffs / float(np.sqrt(coeffs @ coeffs)), op


def _median_seconds(func, repeat: int) -> float:
    func()  # warm-up (compilation, allocation)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def device_bandwidth(gpu, cuda, n: int) -> float:
    """Bytes per second of one read+write kernel over 2^n complex128 amplitudes (best of 5 after a warm-up)."""
    psi = gpu.initial_state_gpu(n)
    best = np.inf
    for _ in range(6):
        cuda.synchronize()
        t0 = time.perf_counter()
        gpu.sweep_gpu(psi)
        cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 32 * (1 << n) / best


def device_info(cuda) -> tuple[str, int]:
    """(device name, free device bytes); numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) has neither: it is named
    as such, with the host's available memory."""
    try:
        name = cuda.get_current_device().name
        free = int(cuda.current_context().get_memory_info()[0])
    except AttributeError:  # the CUDA simulator
        host = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return "numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1)", host
    return (name.decode() if isinstance(name, bytes) else str(name)), free


def gpu_rows(gpu, args, bandwidth: float, free: int) -> list[dict]:
    rows = []
    for n in args.qubits:
        if DEVICE_BYTES << n > 0.9 * free:
            rows.append({"path": "numba.cuda", "n": n, "p": "-", "ms": None,
                         "note": f"skipped: needs {DEVICE_BYTES * 2**n / 2**30:.0f} GiB, {free / 2**30:.0f} free"})
            continue
        masks, coeffs, _ = normalized_terms(n)
        d = gpu.cost_diagonal_gpu(masks, coeffs, n)
        for p in args.reps:
            angles = ramp_angles(p)

            def run(n=n, d=d, p=p, angles=angles):
                psi = gpu.evolve_gpu(gpu.initial_state_gpu(n), d, angles[:p], angles[p:],
                                     lambda beta, n=n: mixer_matrices(beta, n))
                return gpu.expectation_gpu(psi, d)

            sec = _median_seconds(run, args.repeat)
            bound = (p * (40 + 32 * n) + 24) * 2**n / bandwidth
            rows.append({"path": "numba.cuda", "n": n, "p": p, "ms": 1e3 * sec, "bound_ms": 1e3 * bound,
                         "ratio": sec / bound, "value": run(), "note": ""})
        del d
    return rows


def aer_rows(args) -> list[dict]:
    try:
        from qiskit_aer import AerSimulator  # optional: only to ask whether this build has a GPU device
    except ImportError:
        return [{"path": "aer GPU", "n": "-", "p": "-", "ms": None, "note": "qiskit-aer not installed"}]
    if "GPU" not in AerSimulator().available_devices():
        return [{"path": "aer GPU", "n": "-", "p": "-", "ms": None,
                 "note": "this qiskit-aer build has no GPU device (install qiskit-aer-gpu)"}]
    from qrp.quantum.qaoa import QAOA  # qiskit (heavy): only when Aer's GPU device exists

    rows = []
    for n in args.qubits:
        _, _, op = normalized_terms(n)
        for p in args.reps:
            try:
                qaoa = QAOA(op, reps=p, engine="aer", device="GPU", max_qubits=n)
                angles = ramp_angles(p)
                sec = _median_seconds(lambda q=qaoa, a=angles: q.objective(a), args.repeat)
                rows.append({"path": "aer GPU", "n": n, "p": p, "ms": 1e3 * sec,
                             "value": (qaoa.objective(angles) - qaoa.offset) / qaoa.scale, "note": ""})
            except Exception as exc:  # a size Aer cannot hold (memory, device) is reported, not fatal
                rows.append({"path": "aer GPU", "n": n, "p": p, "ms": None, "note": f"failed: {exc!s:.80}"})
    return rows


def cpu_rows(args) -> list[dict]:
    from qrp.quantum.qaoa import QAOA  # qiskit (heavy): the engine normalizes the cost as a study run does

    n = args.cpu_qubits
    _, _, op = normalized_terms(n)
    cost = DiagonalCost(None, diagonal=QAOA(op, reps=1, engine="fast", max_qubits=n).diagonal())
    rows = []
    for p in args.reps:
        settings = engine_settings(reps=p, shots=None, alpha=1.0, engine="fast", noise=None)
        angles = ramp_angles(p)
        for sim in (NumbaSimulator(cost, XMixer(n), settings), PolyPhaseSimulator(cost, XMixer(n), settings)):
            sec = _median_seconds(lambda s=sim, a=angles: s.objective(a), args.repeat)
            rows.append({"path": f"CPU {sim.name}", "n": n, "p": p, "ms": 1e3 * sec, "value": sim.objective(angles),
                         "note": "1 thread"})
    return rows


def table(rows: list[dict], device: str) -> str:
    lines = [f"device: {device}", "", "| path | n | p | ms | bound ms | ms / bound | value | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ms = "-" if r.get("ms") is None else f"{r['ms']:.2f}"
        bound = f"{r['bound_ms']:.2f}" if "bound_ms" in r else "-"
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "-"
        value = f"{r['value']:.12f}" if "value" in r else "-"
        lines.append(f"| {r['path']} | {r['n']} | {r['p']} | {ms} | {bound} | {ratio} | {value} | {r['note']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[24, 26, 28, 30])
    ap.add_argument("--reps", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--cpu-qubits", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if any(n < 2 or n > 34 for n in [*args.qubits, args.cpu_qubits]) or min(args.reps) < 1 or args.repeat < 1:
        ap.error("qubits must be in 2..34, reps and repeat at least 1")
    if not sv.gpu_available():
        print("benchmarks.gpu: no CUDA GPU (numba.cuda.is_available() is False, or QRP_GPU=0): nothing measured. "
              "Run it on a machine with an NVIDIA GPU and a CUDA driver.")
        return 0
    from numba import cuda  # optional: only with a GPU (gpu_available above)

    from qrp.quantum import statevector_gpu as gpu  # optional: imports numba.cuda

    name, free = device_info(cuda)
    bandwidth = device_bandwidth(gpu, cuda, min(args.qubits))
    rows = gpu_rows(gpu, args, bandwidth, free) + aer_rows(args) + cpu_rows(args)
    on_gpu = {(r["n"], r["p"]): r["value"] for r in rows if r["path"] == "numba.cuda" and "value" in r}
    for r in rows:
        if r["path"].startswith("CPU") and (r["n"], r["p"]) in on_gpu:
            r["note"] += f"; |numba.cuda - CPU| = {abs(on_gpu[r['n'], r['p']] - r['value']):.1e}"
    load = os.getloadavg()[0]
    md = table(rows, f"{name}; measured read+write bandwidth {bandwidth / 1e9:.0f} GB/s; load {load:.1f}")
    print(md)
    if args.out is not None:
        note = (f"python -m benchmarks.gpu --qubits {' '.join(map(str, args.qubits))} --reps "
                f"{' '.join(map(str, args.reps))} --cpu-qubits {args.cpu_qubits} --repeat {args.repeat}\n\n")
        write_tables(args.out, note + md, [{k: r.get(k) for k in ("path", "n", "p", "ms", "bound_ms", "ratio",
                                                                  "value", "note")} for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
