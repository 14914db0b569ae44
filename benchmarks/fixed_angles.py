"""Fixed-angle and linear-ramp QAOA tables per encoding: ``qrp/discrete/fixed_angles.json``.

Usage (from the repository root):
    python -m benchmarks.fixed_angles build      # writes qrp/discrete/fixed_angles.json
    python -m benchmarks.fixed_angles ramp       # recalibrates only its "ramp" slopes

Training problems: ``qrp.discretize(factor_covariance(N, n_factors=3, seed), 2, encoding=E)`` on the round-0 default
box, covariance seeds ``TRAIN_SEEDS`` = 2000-2007 (disjoint from the studies' 0-99 and from the transfer table's
1000-1009), N = 4 for binary and gray (8 qubits) and N = 3 for unary and domain_wall (9 qubits).

``fixed`` (Shaydulin et al. 2024, Sci. Adv. 10, eadm6761; Wurtz & Lykov 2021, PRA 104, 052419: angles optimized
once over a family and reused without any evaluation on the instance): for p = 1..``MAX_REPS`` the angles minimizing
the mean normalized energy <(H - E_min) / (E_max - E_min)> over the training set (exact state vector), by COBYLA
(``EVALS`` evaluations) from the linear ramp at p = 1 and from the INTERP extrapolation of depth p - 1's optimum
(Zhou et al. 2020) above, sign gauge sum(gamma) > 0.

``ramp`` (linear-ramp QAOA, Montanez-Barrera & Michielsen, arXiv:2405.09169): gamma_l = t_l dg, beta_l = -(1 - t_l)
db, t_l = (l - 1/2) / p, with p = n layers (one per qubit); (dg, db) chosen once on the training set from the grid
``GAMMA_DELTAS`` x ``BETA_DELTAS`` at p = n by the same mean normalized energy. Both fits see only the training
covariances.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

import qrp
from qrp.core.provenance import atomic_write, package_versions
from qrp.data.synthetic import factor_covariance
from qrp.discrete.encodings import ENCODINGS
from qrp.quantum import statevector as sv
from qrp.quantum.angles import interp_angles, ramp_angles
from qrp.quantum.qaoa import QAOA

TRAIN_SEEDS = tuple(range(2000, 2008))
ASSETS = {"binary": 4, "gray": 4, "unary": 3, "domain_wall": 3}
MAX_REPS = 8
EVALS = 300
GAMMA_DELTAS = tuple(float(np.round(2.0 ** (k / 2), 3)) for k in range(-2, 15))  # 0.5 .. 128, factor sqrt(2)
BETA_DELTAS = tuple(np.round(np.arange(0.1, 1.51, 0.1), 2))
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "qrp" / "discrete" / "fixed_angles.json"


def diagonals(encoding: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per training problem: the engine's cost diagonal (normalized by its standard deviation, what the angles
    multiply) and the same rescaled to [0, 1] (0 = ground, what is averaged)."""
    out = []
    for seed in TRAIN_SEEDS:
        p = qrp.discretize(np.asarray(factor_covariance(ASSETS[encoding], n_factors=3, seed=seed)), 2,
                           encoding=encoding)
        op, offset = p.to_ising()
        d = QAOA(op, offset, reps=1, engine="fast").diagonal()
        out.append((d, (d - d.min()) / (d.max() - d.min())))
    return out


def mean_energy(diags, angles: np.ndarray) -> float:
    p = len(angles) // 2
    return float(np.mean([sv.probabilities(sv.qaoa_state(d, angles[:p], angles[p:], None)) @ unit
                          for d, unit in diags]))


def fixed_table(diags) -> dict[str, list[float]]:
    table, x = {}, ramp_angles(1)
    for p in range(1, MAX_REPS + 1):
        if p > 1:
            x = interp_angles(x)
        res = minimize(lambda a: mean_energy(diags, a), x, method="COBYLA", options={"maxiter": EVALS, "rhobeg": 0.3})
        x = np.asarray(res.x)
        if x[:p].sum() < 0:
            x = -x
        table[str(p)] = [float(v) for v in x]
        print(f"  p={p}: mean normalized energy {res.fun:.4f}", flush=True)
    return table


def ramp_slopes(diags) -> dict[str, float]:
    n = int(np.log2(len(diags[0][0])))
    t = (np.arange(n) + 0.5) / n
    best = min((mean_energy(diags, np.concatenate([t * dg, -(1 - t) * db])), dg, db)
                for dg in GAMMA_DELTAS for db in BETA_DELTAS)
    print(f"  ramp p={n}: mean normalized energy {best[0]:.4f} at dg={best[1]}, db={best[2]}", flush=True)
    return {"delta_gamma": float(best[1]), "delta_beta": float(best[2]), "training_energy": best[0]}


def build() -> None:
    out = {"fixed": {}, "ramp": {}}
    for enc in ENCODINGS:
        print(enc, flush=True)
        diags = diagonals(enc)
        out["fixed"][enc] = fixed_table(diags)
        out["ramp"][enc] = ramp_slopes(diags)
    out["training"] = {"covariance_seeds": list(TRAIN_SEEDS), "n_assets": ASSETS, "bits": 2, "box": "round 0",
                       "objective": "mean normalized energy (H - E_min) / (E_max - E_min), exact state",
                       "optimizer": f"COBYLA {EVALS} evaluations, INTERP between depths",
                       "ramp_deltas": [list(GAMMA_DELTAS), list(BETA_DELTAS)]}
    out["versions"] = package_versions()
    out["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    text = json.dumps(out, indent=1) + "\n"
    atomic_write(OUT, lambda path: path.write_text(text))


def ramp_only() -> None:
    out = json.loads(OUT.read_text())
    for enc in ENCODINGS:
        out["ramp"][enc] = ramp_slopes(diagonals(enc))
    out["training"]["ramp_deltas"] = [list(GAMMA_DELTAS), list(BETA_DELTAS)]
    text = json.dumps(out, indent=1) + "\n"
    atomic_write(OUT, lambda path: path.write_text(text))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "ramp"])
    args = parser.parse_args(argv)
    build() if args.command == "build" else ramp_only()


if __name__ == "__main__":
    main()
