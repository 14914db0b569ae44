"""QAOA at angles evaluated once (no optimization on the instance): ground-state probability per shot, on the same
instances and discrete problems as a ground-state study (``kind = "ground_state"``, box round 0), with resume.

What runs, per (covariance instance, n, depth p): the problem ``qrp.discretize(cov, bits)`` (the default box, the
solver defaults of every other discretization option: the problem every solver of the study sees), its Ising form,
and QAOA (``qrp.quantum.qaoa.QAOA``, the exact state vector) at the shipped transferred angles
``qrp.discrete.angles.transfer_angles(p)`` (medians of optimized angles on training covariances 1000-1009, never
the measured ones), evaluated ONCE: no optimizer, no objective evaluation on the instance (the fixed-angle setting
of Shaydulin et al. 2024; label ``angles=transfer, 0 evaluations``). The ground states are read off the engine's
cost diagonal (d <= d_min + 1e-9 of the unit spread, as the engine's readout does), so the degeneracy g and the
uniform baseline p_u = g / 2^n are exact at any n the state fits; p = the state's probability on them (exact);
a 1024-shot readout says whether the call found a ground state. TTS(99%) = ln(0.01) / ln(1 - p) shots, and with
one cost-function evaluation per shot that is also TTS in oracle evaluations (issue 19's unit).

``--noise BACKEND`` (a fake IBM backend name, e.g. FakeTorino): the same circuit, transpiled for the backend, run by
Aer with the backend's full noise model (``AerSimulator.from_backend``: depolarizing and thermal-relaxation gate
errors, readout errors; trajectories, ``shots`` of them); p is then the fraction of the ``shots`` measured samples
in a ground state (``noise_method = "aer"``), and ``--white`` adds the engine's global white-noise model of the same
backend (``noise_method = "white"``: exact p under F p + (1 - F) / 2^n with readout flips).

Rows (JSON lines, appended as they finish) go to ``OUT/rows.jsonl``; a rerun skips the keys already there.
Usage:
    python experiments/qaoa_fixed_angles.py --out results/scaling_frontier/qaoa_fixed --study \
        experiments/scaling_frontier.toml --n-assets 7 8 9 10 11 12 --instances 0-19 --reps 1 3 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from qrp.core.provenance import package_versions
from qrp.discrete.angles import transfer_angles
from qrp.discrete.problem import discretize
from qrp.quantum.qaoa import QAOA
from qrp.studies.sources import INSTANCE_KEYS
from qrp.studies.statistics import time_to_solution
from qrp.studies.study import load_study

READOUT = 1024


def _instances(spec: str) -> list[int]:
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def _ground(d: np.ndarray) -> np.ndarray:
    dmin = float(d.min())
    return d <= dmin + 1e-9 * max(abs(dmin), 1.0)


def point(cov, bits: int, reps: int, *, noise: str | None, white: bool, shots: int, seed: int) -> dict:
    """One row's measured fields (module docstring)."""
    problem = discretize(cov, bits)
    op, offset = problem.to_ising()
    angles = transfer_angles(reps)
    t0 = time.perf_counter()
    if noise is None:
        qaoa = QAOA(op, offset, reps=reps, seed=seed)
    elif white:
        qaoa = QAOA(op, offset, reps=reps, seed=seed, backend=noise, noise_method="white")
    else:
        qaoa = QAOA(op, offset, reps=reps, seed=seed, shots=shots, backend=noise, noise_method="aer")
    d = qaoa.diagonal()
    ground = _ground(d)
    g = int(ground.sum())
    if noise is None or white:
        probs = qaoa.probabilities(angles)
        p = float(probs[ground].sum())
        mean = float(probs @ d)
        states, counts = qaoa.sample(angles, READOUT)
        readout = READOUT
    else:
        states, counts = qaoa.sample(angles, shots)
        p = float(counts[ground[states]].sum() / counts.sum())
        mean = float(d[states] @ counts / counts.sum())
        readout = shots
    elapsed = time.perf_counter() - t0
    n = problem.num_qubits
    dmin, dmax = float(d.min()), float(d.max())
    found = bool(ground[states].any())
    uniform = g / 2.0**n
    return {
        "num_qubits": n, "found": found, "ground_state_probability": p, "uniform_probability": uniform,
        "probability_ratio": p / uniform, "degeneracy": g, "training_samples": 0, "samples": readout,
        "oracle_evaluations": readout, "evaluations": 0, "tts_shots": time_to_solution(p), "tts": time_to_solution(p),
        "uniform_tts": time_to_solution(uniform), "approximation_ratio": (dmax - mean) / (dmax - dmin),
        "uniform_approximation_ratio": (dmax - float(d.mean())) / (dmax - dmin), "elapsed": elapsed,
        "white_fidelity": None if qaoa.white is None else qaoa.white["fidelity"],
        "transpiled_depth": None if qaoa.white is None else qaoa.white["depth"],
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", required=True, help="the ground-state study whose covariance source is used")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-assets", type=int, nargs="+", required=True)
    ap.add_argument("--bits", type=int, default=2)
    ap.add_argument("--instances", default="0-19", help="covariance_seed / subset_seed range, e.g. 0-19")
    ap.add_argument("--reps", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--noise", default=None, help="fake backend name (Aer's full noise model)")
    ap.add_argument("--white", action="store_true", help="the white-noise model of --noise instead of Aer's")
    ap.add_argument("--shots", type=int, default=READOUT)
    args = ap.parse_args(argv)
    study = load_study(args.study)
    source = study.covariance
    instance_key = next(k for k, srcs in INSTANCE_KEYS.items() if source.source in srcs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    journal = out / "rows.jsonl"
    done = set()
    if journal.exists():
        done = {json.loads(line)["key"] for line in journal.read_text().splitlines() if line.strip()}
    versions = json.dumps(package_versions(), sort_keys=True)
    noise_label = "noiseless" if args.noise is None else f"{args.noise} {'white' if args.white else 'aer'}"
    for n_assets in args.n_assets:
        for inst in _instances(args.instances):
            cov = source.matrix(n_assets, {instance_key: inst})
            for reps in args.reps:
                key = json.dumps([source.source, instance_key, inst, n_assets, args.bits, reps, noise_label,
                                  args.shots])
                if key in done:
                    continue
                row = point(cov, args.bits, reps, noise=args.noise, white=args.white, shots=args.shots, seed=inst)
                row |= {"key": key, "solver": "qaoa", "method": f"qaoa transfer-once p={reps}",
                        "angles": "transfer, 0 evaluations", "noise": noise_label, "reps": reps,
                        "n_assets": n_assets, "bits": args.bits, instance_key: inst, "box_round": 0,
                        "instance": f"{instance_key}={inst}", "source": source.source,
                        "load": os.getloadavg()[0], "versions": versions,
                        "finished_at": datetime.now(UTC).isoformat(timespec="seconds")}
                row = {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in row.items()} | {
                    "tts": row["tts"] if math.isfinite(row["tts"]) else "inf",
                    "tts_shots": row["tts_shots"] if math.isfinite(row["tts_shots"]) else "inf"}
                with journal.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"n={row['num_qubits']} {row['instance']} p={reps} {noise_label}: "
                      f"P={row['ground_state_probability']:.3g} ({row['probability_ratio']:.3g}x uniform) "
                      f"{row['elapsed']:.2f}s", flush=True)


if __name__ == "__main__":
    main()
