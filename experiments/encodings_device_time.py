"""Transpiled depth of every QAOA circuit shape of a ground-state study, cached for its device-time table.

For each (encoding, n, p) of the study's QAOA rows (``qrp.studies.device_time.needed_shapes``: fixed angles at their
p, linear ramp at p = n), the depth-p QAOA circuit of ``problem.to_ising()`` for covariance seed 0 on the round-0 box
(``factor_covariance(N, n_factors=3, seed=0)``, bits 2, the encoding; the gates depend on the Ising terms present, not
on their coefficients, so one instance stands for the shape) is transpiled for a fake heavy-hex IBM backend by
``qrp.quantum.primitives.white_noise_budget`` (qiskit's preset pass manager, ``optimization_level`` 1,
``seed_transpiler`` = ``--seed``). Recorded per shape: depth, two-qubit gate count, the estimated circuit fidelity
F = prod(1 - e_g), the transpile seconds; with the backend's timings (``backend_timings``) and the latency
(``DEFAULT_LATENCY``). Written to ``DIR/device_time.json`` (``qrp.studies.device_time.save_depths``) after every
shape; shapes already there are kept (resume). ``qrp report DIR`` reads it.

Usage: nice -n 10 python experiments/encodings_device_time.py results/encodings [--backend FakeTorino] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from qrp.core.provenance import package_versions
from qrp.data.synthetic import factor_covariance
from qrp.discrete.encodings import ENCODINGS
from qrp.discrete.problem import discretize
from qrp.quantum.device_model import DEFAULT_LATENCY, backend_timings
from qrp.quantum.primitives import resolve_backend, white_noise_budget
from qrp.studies.device_time import DEPTHS_FILE, load_depths, needed_shapes, save_depths
from qrp.studies.table import read_table

BITS = 2


def measure(encoding: str, n: int, p: int, backend, seed: int) -> dict:
    """One shape: the transpiled depth-``p`` QAOA circuit of the ``encoding`` problem with ``n`` qubits."""
    per_asset = discretize(np.asarray(factor_covariance(2, n_factors=3, seed=0)), BITS,
                           encoding=encoding).num_qubits // 2
    if n % per_asset:
        raise ValueError(f"{n} qubits is not a whole number of assets at {per_asset} qubits per asset ({encoding})")
    problem = discretize(np.asarray(factor_covariance(n // per_asset, n_factors=3, seed=0)), BITS, encoding=encoding)
    if problem.num_qubits != n:
        raise ValueError(f"{encoding} with {n // per_asset} assets has {problem.num_qubits} qubits, not {n}")
    op, _ = problem.to_ising()
    t0 = time.perf_counter()
    budget = white_noise_budget(op / float(np.linalg.norm(op.coeffs)), p, None, backend, seed=seed)
    return {"encoding": encoding, "n": n, "p": p, "terms": len(op), "depth": int(budget["depth"]),
            "two_qubit_gates": int(budget["two_qubit_gates"]), "fidelity": float(budget["fidelity"]),
            "transpile_s": round(time.perf_counter() - t0, 2)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--backend", default="FakeTorino")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    frame = read_table(args.dir)
    frame = frame[frame["status"] == "ok"]
    path = args.dir / DEPTHS_FILE
    backend = resolve_backend(args.backend)
    shapes = load_depths(path)["shapes"] if path.exists() else []
    done = {(s["encoding"], s["n"], s["p"]) for s in shapes}
    record = {"backend": backend.name, "timings": backend_timings(backend), "latency": DEFAULT_LATENCY,
              "seed_transpiler": args.seed, "optimization_level": 1,
              "command": f"python experiments/encodings_device_time.py {args.dir} --backend {args.backend} "
                         f"--seed {args.seed}",
              "versions": {k: v for k, v in package_versions().items() if k in ("qiskit", "qrp")}}
    order = {e: i for i, e in enumerate(ENCODINGS)}
    for enc, n, p in sorted(needed_shapes(frame), key=lambda s: (s[1] * s[2], order.get(s[0], 99))):
        if (enc, n, p) in done:
            continue
        shapes.append(measure(enc, n, p, backend, args.seed))
        save_depths(path, record | {"shapes": shapes})
        s = shapes[-1]
        print(f"{enc} n={n} p={p}: depth {s['depth']}, 2q gates {s['two_qubit_gates']}, F = {s['fidelity']:.3g} "
              f"({s['transpile_s']} s, load {os.getloadavg()[0]:.1f})", flush=True)
    save_depths(path, record | {"shapes": shapes})


if __name__ == "__main__":
    main()
