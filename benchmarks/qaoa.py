"""QAOA speed: one exact expectation and full optimizations (issue 4).

Usage (from the repository root):
    python -m benchmarks.qaoa eval --qubits 20 --reps 3 --repeat 5
    python -m benchmarks.qaoa optimize --qubits 16 --reps 2 --evals 100
    python -m benchmarks.qaoa quality
    python -m benchmarks.qaoa resources --reps 2

``eval``: one expectation of the depth-p QAOA state for a dense 20-qubit cost (all linear and pairwise Z terms of
a random PSD QUBO x'Qx + h'x, the structure of the ``log_barrier`` formulation), median of ``--repeat`` runs, by
 (a) qrp's path (``QAOA.objective``, engine "auto" = the numba fast path),
 (a2) qrp's Aer path (engine "aer": transpiled-once circuit, EstimatorV2, exact),
 (b) qiskit-optimization's ``QAOA`` with qiskit-aer's ``SamplerV2`` (default 1024 shots) and the preset pass
     manager for ``AerSimulator`` that it asks for with V2 samplers,
     one call of the energy function it hands its optimizer (timed inside a SciPy-like minimizer callable),
 (c) the state-vector lower bound: a plain numpy loop of p layers, each one phase pass and n mixer passes.
``optimize``: one full QAOA optimization (COBYLA, ``--evals`` evaluations, linear-ramp start) by qrp's path,
with wall time and the process's peak resident memory.
``quality``: ground-state probability and approximation ratio of the "qaoa" solver on small ERC problems.
``resources``: qubits, depth and CX count after transpiling (all-to-all and heavy-hex) for ERC problems.
Prints one JSON object; ``--out FILE`` also writes it (atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time

import numba
import numpy as np
import qiskit
import qiskit_aer
from qiskit.quantum_info import SparsePauliOp

import qrp
from qrp.core.provenance import atomic_write, package_versions
from qrp.data.loaders import example_covariance
from qrp.quantum.circuits import circuit_resources
from qrp.quantum.qaoa import QAOA


def dense_qubo_ising(n: int, seed: int):
    """Z-only SparsePauliOp and offset of x'Qx + h'x (Q random PSD / n, h normal), x_i = (1 - z_i) / 2."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    q = a @ a.T / n
    h = rng.normal(size=n)
    # x'Qx + h'x = sum_i (Q_ii + h_i) x_i + sum_{i<j} 2 Q_ij x_i x_j
    lin = np.diag(q) + h
    offset = lin.sum() / 2 + sum(q[i, j] / 2 for i in range(n) for j in range(i + 1, n))
    terms = []
    for i in range(n):
        zi = -lin[i] / 2 - sum(q[i, j] / 2 for j in range(n) if j != i)
        terms.append(("Z", [i], zi))
        terms += [("ZZ", [i, j], q[i, j] / 2) for j in range(i + 1, n)]
    return SparsePauliOp.from_sparse_list(terms, n), float(offset)


def numpy_lower_bound(diag: np.ndarray, gammas, betas) -> float:
    """Plain numpy QAOA: p layers of one phase pass and n mixer passes over 2^n amplitudes."""
    n = diag.size.bit_length() - 1
    psi = np.full(diag.size, 2.0 ** (-n / 2), dtype=np.complex128)
    for g, b in zip(gammas, betas, strict=True):
        psi *= np.exp(-1j * g * diag)
        c, s = np.cos(b), -1j * np.sin(b)
        for q in range(n):
            v = psi.reshape(-1, 2, 1 << q)
            a0 = v[:, 0, :].copy()
            v[:, 0, :] = c * a0 + s * v[:, 1, :]
            v[:, 1, :] = s * a0 + c * v[:, 1, :]
    return float((psi.real**2 + psi.imag**2) @ diag)


def median_time(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def bench_eval(n: int, reps: int, repeat: int, seed: int, with_aer: bool) -> dict:
    # the peer of eval only: qiskit-optimization is the interop extra
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import SamplerV2
    from qiskit_optimization.minimum_eigensolvers import QAOA as QiskitQAOA
    from qiskit_optimization.optimizers import OptimizerResult

    op, offset = dense_qubo_ising(n, seed)
    x = np.random.default_rng(seed).uniform(0, 1, 2 * reps)
    out: dict = {"qubits": n, "reps": reps, "terms": len(op), "repeat": repeat}

    t = time.perf_counter()
    fast = QAOA(op, offset, reps=reps)
    out["a_setup_s"] = time.perf_counter() - t
    fast.objective(x)  # numba compile / warm caches
    out["a_qrp_fast_s"], out["a_times"] = median_time(lambda: fast.objective(x), repeat)

    if with_aer:
        t = time.perf_counter()
        aer = QAOA(op, offset, reps=reps, engine="aer")
        out["a2_setup_s"] = time.perf_counter() - t
        out["a2_qrp_aer_s"], _ = median_time(lambda: aer.objective(x), repeat)
        out["a_vs_a2_abs_diff"] = abs(float(aer.objective(x)) - float(fast.objective(x)))

    calls: list[float] = []

    def timing_minimizer(fun, x0, jac=None, bounds=None):
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            fun(x)
            calls.append(time.perf_counter() - t0)
        res = OptimizerResult()
        res.x, res.fun, res.nfev = x, float(fun(x)), repeat + 2
        return res

    t = time.perf_counter()
    pass_manager = generate_preset_pass_manager(optimization_level=1, backend=AerSimulator())
    QiskitQAOA(sampler=SamplerV2(seed=seed), optimizer=timing_minimizer, reps=reps,
               pass_manager=pass_manager).compute_minimum_eigenvalue(op)
    out["b_qiskit_opt_total_s"] = time.perf_counter() - t
    out["b_qiskit_opt_s"] = statistics.median(calls[1:])
    out["b_times"] = calls

    diag = fast.diagonal()  # normalized: the angles act on (H_C - offset) / scale
    out["c_numpy_s"], out["c_times"] = median_time(lambda: numpy_lower_bound(diag, x[:reps], x[reps:]), repeat)
    lower = fast.offset + fast.scale * numpy_lower_bound(diag, x[:reps], x[reps:])
    out["c_vs_a_abs_diff"] = abs(lower - fast.objective(x))
    out["speedup_a_over_b"] = out["b_qiskit_opt_s"] / out["a_qrp_fast_s"]
    out["ratio_a_over_c"] = out["a_qrp_fast_s"] / out["c_numpy_s"]
    return out


def bench_optimize(n: int, reps: int, evals: int, seed: int) -> dict:
    op, offset = dense_qubo_ising(n, seed)
    t = time.perf_counter()
    qaoa = QAOA(op, offset, reps=reps, seed=seed)
    res = qaoa.optimize(max_evals=evals)
    return {
        "qubits": n, "reps": reps, "wall_s": time.perf_counter() - t, "evaluations": res.evaluations,
        "iterations": res.iterations, "value": res.value, "ground_energy": res.ground_energy,
        "ground_state_probability": res.ground_state_probability,
        "approximation_ratio": res.approximation_ratio,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


#: The one-shot quality variants: name and the "qaoa" solver options that make it.
VARIANTS = (("cold", {}), ("warm", {"warm_start": True}), ("oracle", {"warm_start": "oracle"}),
            ("cvar0.2", {"alpha": 0.2}))


def bench_quality(reps_list: list[int], seed: int) -> dict:
    """Ground-state probability and approximation ratio of one-shot QAOA (exact mode, COBYLA, 100 evaluations) on
    the bundled example covariance's first N assets, 2 bits each: cold start (linear ramp), warm start from the
    QUBO's continuous relaxation (``warm_start=True``), warm start from the classical ERC solution's nearest level
    (``warm_start="oracle"``: an upper bound, it hands QAOA the answer) and exact CVaR(0.2)."""
    cov = np.asarray(example_covariance())
    rows = []
    for formulation, sizes in (("log_barrier", (2, 3, 4)), ("pairwise", (2, 3))):
        for n_assets in sizes:
            for reps in reps_list:
                for variant, opts in VARIANTS:
                    res = qrp.risk_parity(cov[:n_assets, :n_assets], solver="qaoa", bits=2, formulation=formulation,
                                          reps=reps, seed=seed, resources=False, **opts)
                    st = res.history[0].stats
                    rows.append({"formulation": formulation, "qubits": 2 * n_assets, "reps": reps,
                                 "variant": variant, "ground_state_probability": st["ground_state_probability"],
                                 "uniform": 2.0 ** (-2 * n_assets), "approximation_ratio": st["approximation_ratio"],
                                 "ground_state_found": st["ground_state"], "evaluations": st["evaluations"]})
    return {"rows": rows}


def bench_resources(reps: int) -> dict:
    """Transpiled QAOA circuit cost (``qrp.quantum.circuits.circuit_resources``)
    for ERC problems of the example covariance."""
    cov = np.asarray(example_covariance())
    rows = []
    cases = (("log_barrier", [(2, 2), (3, 2), (4, 2), (4, 3), (4, 4), (5, 4)]),
             ("pairwise", [(2, 2), (3, 2), (4, 2), (3, 3)]))
    for formulation, sizes in cases:
        for n_assets, bits in sizes:
            op, _ = qrp.discretize(cov[:n_assets, :n_assets], bits, formulation=formulation).to_ising()
            t = time.perf_counter()
            r = circuit_resources(op, reps)
            rows.append({"formulation": formulation, "assets": n_assets, "bits": bits, **r,
                         "transpile_s": time.perf_counter() - t})
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["eval", "optimize", "quality", "resources"])
    parser.add_argument("--qubits", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-aer", action="store_true", help="skip qrp's Aer path (a2) in eval")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.mode == "eval":
        out = bench_eval(args.qubits, args.reps, args.repeat, args.seed, not args.no_aer)
    elif args.mode == "optimize":
        out = bench_optimize(args.qubits, args.reps, args.evals, args.seed)
    elif args.mode == "quality":
        out = bench_quality([1, 2, 3], args.seed)
    else:
        out = bench_resources(args.reps)
    out["versions"] = package_versions()
    out["config"] = vars(args) | {"cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                                  "python": platform.python_version(), "numpy": np.__version__,
                                  "qiskit": qiskit.__version__, "qiskit_aer": qiskit_aer.__version__}
    text = json.dumps(out, indent=1, default=float)
    print(text)
    if args.out:
        atomic_write(args.out, lambda p: p.write_text(text))


if __name__ == "__main__":
    main()
