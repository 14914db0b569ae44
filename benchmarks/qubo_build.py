"""Build time of the log_barrier QUBO: qrp's vectorized numpy build vs qiskit-optimization, side by side.

qrp: ``qrp.discretize(cov, bits)`` plus ``to_bqm()`` (dimod's array constructor). qiskit-optimization: the same QUBO
as a ``QuadraticProgram`` (``to_quadratic_program()``, given the same numpy arrays) converted by
``QuadraticProgramToQubo``. Median of ``--repeats`` runs each; a random factor-model covariance (seeded).

    python -m benchmarks.qubo_build --assets 100 --bits 8 --repeats 15 --qiskit-repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import qrp
from qrp.core.provenance import atomic_write, package_versions
from qrp.data.synthetic import random_covariance


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=100)
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--qiskit-repeats", type=int, default=3, help="the qiskit path takes tens of seconds at 800 bits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="results/qubo_build/qubo_build.json")
    args = ap.parse_args()
    from qiskit_optimization.converters import QuadraticProgramToQubo

    cov = random_covariance(args.assets, args.seed)
    t_qrp, bqm = timed(lambda: qrp.discretize(cov, args.bits).to_bqm(), args.repeats)
    problem = qrp.discretize(cov, args.bits)
    t_build_qp, qp = timed(problem.to_quadratic_program, args.qiskit_repeats)
    t_convert, qubo = timed(lambda: QuadraticProgramToQubo().convert(qp), args.qiskit_repeats)
    t_qp = t_build_qp + t_convert
    # both encode the same energy
    x = np.random.default_rng(args.seed).integers(0, 2, problem.num_qubits)
    e = problem.energy(x)
    assert abs(bqm.energy(dict(enumerate(x))) - e) <= 1e-9 * abs(e)
    assert abs(qubo.objective.evaluate(x) - e) <= 1e-9 * abs(e)
    result = {
        "assets": args.assets, "bits": args.bits, "num_qubits": problem.num_qubits,
        "interactions": bqm.num_interactions, "repeats": args.repeats, "qiskit_repeats": args.qiskit_repeats,
        "seed": args.seed,
        "qrp_discretize_to_bqm_s": t_qrp, "qiskit_quadratic_program_s": t_build_qp,
        "qiskit_quadratic_program_to_qubo_convert_s": t_convert, "qiskit_total_s": t_qp, "ratio": t_qp / t_qrp,
        "versions": package_versions(),
    }
    print(json.dumps(result, indent=2))
    atomic_write(args.out, lambda p: p.write_text(json.dumps(result, indent=2)))


if __name__ == "__main__":
    main()
