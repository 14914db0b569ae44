"""rc_error vs refinement round, per solver, formulation, log fit and bits.

Writes results/refinement/curves.csv (one row per run and round) and results/refinement/rc_error_vs_round.png
(median over covariance seeds). Round 0 is the one-shot (rounds=1) answer of ``qrp.discretize``'s problem.

    python -m benchmarks.refinement            # the full study (a few minutes on 2 cores)
    python -m benchmarks.refinement --quick    # a smoke run
    python -m benchmarks.refinement --oneshot --seeds 5   # one-shot rc_error per bits, log fit
    python -m benchmarks.refinement --coverage            # does the default box contain y*?
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

import qrp
from qrp.core.provenance import atomic_write
from qrp.data.synthetic import random_covariance

#: (solver, formulation, log_fit, n_assets, bits, options); every config runs on each covariance seed.
STUDY = (
    [("exact", "log_barrier", fit, 4, k, {}) for fit in ("lsq", "taylor") for k in (1, 2, 3, 4)]
    + [("exact", "pairwise", "lsq", 3, k, {}) for k in (1, 2, 3)]
    + [("sa", "log_barrier", "lsq", 20, k, {"num_reads": 10, "num_sweeps": 1000}) for k in (2, 4, 6)]
    + [("sa", "log_barrier", "taylor", 20, 4, {"num_reads": 10, "num_sweeps": 1000})]
)
LARGE = [("sa", "log_barrier", "taylor", 100, 4, {"num_reads": 10, "num_sweeps": 1000})]
#: one-shot study: (solver, n_assets, bits list, options)
ONESHOT = [("exact", 4, (1, 2, 3, 4, 5), {}), ("sa", 20, (2, 4, 6, 8), {"num_reads": 10, "num_sweeps": 1000})]


def coverage(draws: int = 50) -> None:
    """How far the Spinu solution y* lies from the default box centre y0 (``qrp.classical.ccd.spinu_start``):
    max_i |y*_i / y0_i - 1| over random covariances; the default box (radius 0.5) contains y* iff this is <= 0.5."""
    from qrp.classical.ccd import spinu_start

    for n in (4, 20, 100):
        dev = []
        for seed in range(draws):
            cov = random_covariance(n, seed)
            w = qrp.risk_parity(cov).weights
            dev.append(np.abs(w / np.sqrt(w @ cov @ w) / spinu_start(cov, np.full(n, 1.0 / n)) - 1).max())
        print(f"N={n}: max_i |y*_i/y0_i - 1| median {np.median(dev):.2f}, max {np.max(dev):.2f}, "
              f"inside the default box in {np.mean(np.array(dev) <= 0.5):.0%} of {draws} covariances")


def oneshot(seeds: int) -> pd.DataFrame:
    """rounds=1 rc_error per bits and log fit, on the default box and on a box centred on the true Spinu solution y*
    (which isolates grid + surrogate error from the box missing y*). The centred box has the same absolute
    half-width h = min(y*) / 2 for every asset: a box proportional to y* would make "every asset at the same level"
    decode to the exact ERC weights, hiding the grid error."""
    rows = []
    for solver, n, bit_list, options in ONESHOT:
        for seed in range(seeds):
            cov = random_covariance(n, seed)
            w = qrp.risk_parity(cov).weights
            y_star = w / np.sqrt(w @ cov @ w)
            h = 0.5 * y_star.min()
            for bits in bit_list:
                for fit in ("lsq", "taylor"):
                    for box_name, box in (("default", None), ("centred_on_solution", (y_star - h, y_star + h))):
                        res = qrp.risk_parity(cov, solver=solver, bits=bits, log_fit=fit, box=box, seed=seed,
                                              **options)
                        rows.append({"solver": solver, "n_assets": n, "bits": bits, "log_fit": fit, "box": box_name,
                                     "cov_seed": seed, "rc_error": res.rc_error, "elapsed": res.elapsed})
            print(f"one-shot {solver} N={n} seed={seed} done", flush=True)
    return pd.DataFrame(rows)


def run(config, cov_seed: int, rounds: int, tol: float) -> list[dict]:
    solver, formulation, fit, n, bits, options = config
    cov = random_covariance(n, cov_seed)
    t = time.perf_counter()
    res = qrp.risk_parity(cov, solver=solver, formulation=formulation, log_fit=fit, bits=bits, rounds=rounds,
                          tol=tol, seed=cov_seed, **options)
    elapsed = time.perf_counter() - t
    rows = []
    for h in (r.to_dict() for r in res.history):
        st = h["stats"]
        rows.append({
            "solver": solver, "formulation": formulation, "log_fit": fit, "n_assets": n, "bits": bits,
            "num_qubits": res.num_qubits, "cov_seed": cov_seed, "round": h["round"], "rc_error": h["rc_error"],
            "energy": h["energy"], "on_edge": h["on_edge"], "round_elapsed": h["elapsed"], "run_elapsed": elapsed,
            "ground_state": st.get("ground_state"), "best_fraction": st.get("best_fraction"),
            "degeneracy": st.get("degeneracy"), "options": json.dumps(options),
        })
    return rows



def plot(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(df.groupby(["solver", "formulation", "log_fit", "n_assets", "bits"]))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for (solver, form, fit, n, bits), g in groups:
        ax = axes[0] if solver == "exact" else axes[1]
        med = g.groupby("round")["rc_error"].median()
        ax.semilogy(med.index, med.values, marker=".", label=f"{form}/{fit} N={n} K={bits}")
    for ax, title in zip(axes, ("exact enumeration", "simulated annealing"), strict=True):
        ax.axhline(1e-8, color="grey", lw=0.8, ls="--")
        ax.set(title=title, xlabel="refinement round", ylabel="rc_error (median over covariances)")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--tol", type=float, default=1e-10)
    ap.add_argument("--seeds", type=int, default=3, help="covariance seeds per config")
    ap.add_argument("--large", action="store_true", help="also run SA on N=100 (one seed)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--oneshot", action="store_true", help="only the one-shot study (writes oneshot.csv)")
    ap.add_argument("--coverage", action="store_true", help="only: does the default box contain the solution?")
    ap.add_argument("--out", default="results/refinement")
    args = ap.parse_args()
    out = Path(args.out)
    if args.coverage:
        coverage()
        return
    if args.oneshot:
        df = oneshot(args.seeds)
        atomic_write(out / "oneshot.csv", lambda tmp: df.to_csv(tmp, index=False))
        print(df.groupby(["solver", "n_assets", "box", "log_fit", "bits"])["rc_error"].median().unstack("bits")
              .to_string(float_format=lambda v: f"{v:.2e}"))
        return
    configs = STUDY[:2] if args.quick else STUDY
    rows = []
    for config in configs:
        for seed in range(1 if args.quick else args.seeds):
            rows += run(config, seed, 3 if args.quick else args.rounds, args.tol)
            last = rows[-1]
            print(f"{config[:5]} seed={seed}: one-shot {rows[-last['round'] - 1]['rc_error']:.2e}, "
                  f"best {min(r['rc_error'] for r in rows[-last['round'] - 1:]):.2e} after {last['round'] + 1} "
                  f"rounds, {last['run_elapsed']:.1f}s", flush=True)
    for config in LARGE if args.large else []:
        rows += run(config, 0, args.rounds, args.tol)
        print(f"{config[:5]}: best {min(r['rc_error'] for r in rows if r['n_assets'] == 100):.2e}, "
              f"{rows[-1]['round'] + 1} rounds, {rows[-1]['run_elapsed']:.1f}s", flush=True)
    df = pd.DataFrame(rows)
    df["qrp_version"] = qrp.__version__
    df["python"] = platform.python_version()
    atomic_write(out / "curves.csv", lambda tmp: df.to_csv(tmp, index=False))
    plot(df, out / "rc_error_vs_round.png")
    print(f"wrote {out / 'curves.csv'} ({len(df)} rows) and {out / 'rc_error_vs_round.png'}")


if __name__ == "__main__":
    main()
