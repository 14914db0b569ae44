"""QAOA starting angles on ERC problems: build the transferred-angle table, calibrate the ramp, measure starts.

Usage (from the repository root):
    python -m benchmarks.qaoa_angles build       # writes qrp/discrete/transfer_angles.json (the shipped table)
    python -m benchmarks.qaoa_angles calibrate   # median start ground-state probability / uniform vs ramp delta
    python -m benchmarks.qaoa_angles measure     # writes results/qaoa_angles/measure.{csv,md}
    python -m benchmarks.qaoa_angles warm        # writes results/qaoa_angles/warm.{csv,md}

Problems: ``qrp.discretize(factor_covariance(N, seed), K)`` (round-0 default box, log_barrier, Taylor fit) for
(N, K) in ``SHAPES`` (n = 4..9 qubits). Training (``build``, ``calibrate``) uses covariance seeds 1000-1009,
measurement seeds 0-9 (the studies' range), so transferred angles are never measured on their own instances.

``measure`` reports, per depth p, the median over problems (and the 25% / 75% quantiles) of the ground-state
probability divided by the uniform superposition's, g / 2^n (g = degeneracy), for three starts (the angles before
any optimization) and after optimizing from each (COBYLA, ``EVALS`` evaluations, exact expectation):
``ramp_plus`` the linear ramp as shipped before (delta 0.75, beta > 0: anneals towards the maximum),
``ramp`` the sign-corrected, calibrated ramp (``qrp.quantum.angles.ramp_angles``), and ``transfer`` the table
(after-optimization columns for p in ``OPTIMIZED``).

``warm`` compares, from the ramp, the cold start with the two warm starts of the "qaoa" solver: the relaxation
(``qrp.discrete.relax.relaxed_bits``, the default of ``warm_start=True``) and the oracle (the classical ERC
solution's nearest level, ``warm_start="oracle"``, an upper bound: it is handed the answer), next to the uniform
state's approximation ratio.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

import qrp
from benchmarks.common import write_tables
from qrp.core.provenance import atomic_write, package_versions
from qrp.data.synthetic import factor_covariance
from qrp.discrete.angles import TABLE, transfer_angles
from qrp.discrete.exact import exact_minimum
from qrp.discrete.qaoa import continuous_solution
from qrp.discrete.relax import nearest_sample, relaxed_bits
from qrp.quantum import statevector as sv
from qrp.quantum.angles import ramp_angles, warm_start_thetas
from qrp.quantum.qaoa import QAOA

SHAPES = ((2, 2), (3, 2), (4, 2), (2, 3), (3, 3))
TRAIN_SEEDS = tuple(range(1000, 1010))
MEASURE_SEEDS = tuple(range(10))
REPS = (1, 2, 3, 4, 5)
#: depths also optimized by ``measure`` and ``warm`` (COBYLA's own overhead, ~15 ms an iteration, dominates here)
OPTIMIZED = (1, 2, 3)
EVALS = 100
DELTAS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5)
ROOT = Path(__file__).resolve().parents[1]


def problems(seeds):
    """((N, K), seed, QAOA factory) for every shape and seed."""
    for n_assets, bits in SHAPES:
        for seed in seeds:
            op, offset = qrp.discretize(factor_covariance(n_assets, seed=seed).to_numpy(), bits).to_ising()
            yield (n_assets, bits), seed, lambda p, op=op, offset=offset: QAOA(op, offset, reps=p, seed=0)


def ground_ratio(qaoa: QAOA, angles: np.ndarray) -> float:
    """P(ground state) at ``angles`` over the uniform superposition's g / 2^n."""
    d = qaoa.diagonal()
    ground = d <= d.min() + 1e-9 * max(abs(d.min()), 1.0)
    return float(sv.probabilities(qaoa.state(angles))[ground].sum() / ground.mean())


def gauge(angles: np.ndarray) -> np.ndarray:
    """Fix the sign symmetry (gamma, beta) -> (-gamma, -beta) by sum(gamma) > 0."""
    return -angles if angles[: len(angles) // 2].sum() < 0 else angles


def build(reps) -> None:
    table, per = {}, {}
    for p in reps:
        found = []
        for _, _, make in problems(TRAIN_SEEDS):
            res = make(p).optimize(optimizer="COBYLA", init="ramp", max_evals=EVALS, exact_reference=False)
            found.append(gauge(res.angles))
        table[str(p)] = np.median(np.array(found), axis=0).tolist()
        per[str(p)] = len(found)
        print(f"p={p}: {np.round(table[str(p)], 3).tolist()}")
    doc = {
        "description": "median optimized QAOA angles [gamma_1..gamma_p, beta_1..beta_p] (normalized cost) over "
                       "training ERC problems; see qrp.discrete.angles",
        "command": "python -m benchmarks.qaoa_angles build",
        "training": {"shapes (N, K)": [list(s) for s in SHAPES], "covariance": "qrp.data.synthetic.factor_covariance",
                     "seeds": [TRAIN_SEEDS[0], TRAIN_SEEDS[-1]], "problems_per_depth": per,
                     "optimizer": "COBYLA", "init": "ramp", "max_evals": EVALS, "objective": "expectation"},
        "angles": table,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
    }
    atomic_write(ROOT / "qrp" / "discrete" / TABLE, lambda t: t.write_text(json.dumps(doc, indent=1) + "\n"))


def calibrate() -> None:
    rows = [(p, delta, ground_ratio(q, ramp_angles(p, delta)))
            for _, _, make in problems(TRAIN_SEEDS) for p in REPS for q in [make(p)] for delta in DELTAS]
    df = pd.DataFrame(rows, columns=["p", "delta", "ratio"])
    print(df.pivot_table(index="delta", columns="p", values="ratio", aggfunc="median").round(2).to_string())


def cell(s: pd.Series) -> str:
    return f"{s.median():.2f} [{s.quantile(0.25):.2f}, {s.quantile(0.75):.2f}]"


def report(name: str, title: str, rows: list[dict], label: str, columns: dict[str, str]) -> None:
    """Write results/qaoa_angles/``name``.{md,csv}: one table row per (p, ``label``), median [25%, 75%] cells."""
    df = pd.DataFrame(rows)
    lines = ["| p | " + " | ".join([label, *columns]) + " |", "|---" * (2 + len(columns)) + "|"]
    for (p, key), g in df.groupby(["p", label], sort=False):
        cells = [cell(g[c]) if g[c].notna().any() else "-" for c in columns.values()]
        lines.append(f"| {p} | {key} | " + " | ".join(cells) + " |")
    md = (f"{title}: median [25%, 75%] over {df.groupby(['N', 'K', 'seed']).ngroups} ERC problems (n = "
          f"{df.n.min()}..{df.n.max()}, covariance seeds {MEASURE_SEEDS[0]}-{MEASURE_SEEDS[-1]}). "
          f"`python -m benchmarks.qaoa_angles {name}`\n\n" + "\n".join(lines) + "\n")
    write_tables(ROOT / "results" / "qaoa_angles" / name, md, rows)
    print(md)


def optimized(q: QAOA, x0: np.ndarray) -> np.ndarray:
    # SciPy directly: QAOA.optimize would swap a given start for the ramp when the ramp starts lower
    return minimize(q.objective, x0, method="COBYLA", options={"maxiter": EVALS, "rhobeg": 0.3}).x


def measure() -> None:
    rows = []
    for (n_assets, bits), seed, make in problems(MEASURE_SEEDS):
        for p in REPS:
            q = make(p)
            plus = ramp_angles(p, 0.75)
            plus[p:] *= -1
            for start, x0 in (("ramp_plus", plus), ("ramp", ramp_angles(p)), ("transfer", transfer_angles(p))):
                rows.append({"N": n_assets, "K": bits, "n": n_assets * bits, "seed": seed, "p": p, "start": start,
                             "start_ratio": ground_ratio(q, x0),
                             "optimized_ratio": ground_ratio(q, optimized(q, x0)) if p in OPTIMIZED else None})
    report("measure", f"P(ground state) / uniform (g / 2^n) at the start angles and after COBYLA ({EVALS} "
           "evaluations, exact expectation)", rows, "start",
           {"at the start angles": "start_ratio", "after COBYLA": "optimized_ratio"})


def warm() -> None:
    """Cold start against the relaxation warm start and the oracle (the classical ERC solution's nearest level),
    all from the ramp, epsilon = 0.25."""
    rows = []
    for n_assets, bits in SHAPES:
        for seed in MEASURE_SEEDS:
            cov = factor_covariance(n_assets, seed=seed).to_numpy()
            problem = qrp.discretize(cov, bits)
            op, offset = problem.to_ising()
            oracle = nearest_sample(problem, continuous_solution(problem.cov, problem.budgets, "log_barrier"))
            exact_x, _, _, _ = exact_minimum(problem)
            for variant, thetas in (("cold", None), ("relaxation", warm_start_thetas(relaxed_bits(problem))),
                                    ("oracle", warm_start_thetas(oracle))):
                for p in OPTIMIZED:
                    q = QAOA(op, offset, reps=p, warm_thetas=thetas, seed=0)
                    x = optimized(q, ramp_angles(p))
                    d = q.diagonal()
                    ratio = (d.max() - float(sv.probabilities(q.state(x)) @ d)) / (d.max() - d.min())
                    rows.append({"N": n_assets, "K": bits, "n": n_assets * bits, "seed": seed, "p": p,
                                 "variant": variant,
                                 "oracle_is_ground": bool(np.array_equal(oracle, exact_x)),
                                 "start_ratio": ground_ratio(q, np.zeros(2 * p)), "optimized_ratio": ground_ratio(q, x),
                                 "approximation_ratio": ratio, "uniform_approximation_ratio":
                                 (d.max() - d.mean()) / (d.max() - d.min())})
    first = pd.DataFrame(rows).drop_duplicates(["N", "K", "seed"])
    report("warm", f"Warm starts from the ramp (epsilon 0.25, COBYLA {EVALS} evaluations); uniform-state "
           f"approximation ratio {cell(first.uniform_approximation_ratio)}; the oracle's bitstring is the ground "
           f"state in {int(first.oracle_is_ground.sum())} of {len(first)}", rows, "variant",
           {"P(ground)/uniform at angle 0": "start_ratio", "after COBYLA": "optimized_ratio",
            "approximation ratio": "approximation_ratio"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("build", "calibrate", "measure", "warm"))
    ap.add_argument("--reps", type=int, nargs="+", default=list(REPS))
    args = ap.parse_args()
    if args.command == "build":
        build(args.reps)
    elif args.command == "calibrate":
        calibrate()
    elif args.command == "measure":
        measure()
    else:
        warm()


if __name__ == "__main__":
    main()
