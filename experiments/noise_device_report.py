"""Noise that can matter: the table and plot of ``results/noise_device`` (rows of experiments/qaoa_fixed_angles.py).

Per qubit count n, depth p and noise model (noiseless exact state; FakeTorino's global white-noise model, exact; Aer
with FakeTorino's full noise model, ``shots`` trajectories): the ground-state probability p per shot (median over the
covariances, bootstrap 95% interval), p over the uniform distribution's g / 2^n, the approximation ratio of the
measured distribution next to the uniform one's, and the fraction of calls whose readout (1024 shots; Aer: its shots)
held a ground state, beside uniform sampling's probability of that at the same shot count, 1 - (1 - g / 2^n)^shots.
Writes ``DIR/summary.md`` and ``DIR/ground_state_probability.png``.

Usage: python experiments/noise_device_report.py results/noise_device
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write
from qrp.studies.render import markdown_table, save_figure
from qrp.studies.statistics import format_interval, median_interval


def table(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (n, reps, noise), g in rows.groupby(["num_qubits", "reps", "noise"], sort=True):
        shots = g["samples"].to_numpy(float)
        uniform_found = 1.0 - (1.0 - g["uniform_probability"].to_numpy(float)) ** shots
        fid = pd.to_numeric(g["white_fidelity"], errors="coerce")
        out.append({
            "n": int(n), "p": int(reps), "model": noise, "covariances": len(g), "shots": int(np.median(shots)),
            "P(ground) per shot [95% CI]": format_interval(*median_interval(g["ground_state_probability"]), ".3g"),
            "P / uniform": f"{(g['ground_state_probability'] / g['uniform_probability']).median():.3g}",
            "approx. ratio (uniform)": f"{g['approximation_ratio'].median():.3f} "
                                      f"({g['uniform_approximation_ratio'].median():.3f})",
            "readout found": f"{g['found'].astype(float).mean():.2f}",
            "uniform found, same shots": f"{np.median(uniform_found):.2f}",
            "F (white model)": "-" if fid.isna().all() else f"{fid.median():.3g}",
            "time s": f"{g['elapsed'].median():.3g}",
        })
    return pd.DataFrame(out)


def plot(rows: pd.DataFrame, path: Path) -> None:
    import matplotlib  # heavy: only when drawing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.8))
    for (reps, noise), g in rows.groupby(["reps", "noise"], sort=True):
        med = g.groupby("num_qubits")["ground_state_probability"].median()
        ax.plot(med.index, med.to_numpy(), "o-", label=f"p = {reps}, {noise}")
    uni = rows.groupby("num_qubits")["uniform_probability"].median()
    ax.plot(uni.index, uni.to_numpy(), "k--", label="uniform g / 2^n")
    ax.set_yscale("log")
    ax.set_xlabel("qubits n")
    ax.set_ylabel("ground-state probability per shot (median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def main(out: Path) -> str:
    rows = pd.read_json(out / "rows.jsonl", lines=True)
    text = "\n".join([
        "# Noise that can matter: QAOA on FakeTorino's noise, against noiseless and uniform sampling", "",
        f"`python experiments/noise_device_report.py {out}` from `{out / 'rows.jsonl'}` "
        f"({len(rows)} rows of experiments/qaoa_fixed_angles.py). Synthetic 3-factor covariances "
        "(covariance_seed 0-4), 2 bits per asset, default box; QAOA at the shipped transferred angles evaluated "
        "once (no optimizer). Models: noiseless (exact state), FakeTorino white (the engine's global white-noise "
        "model of FakeTorino's calibration, exact), FakeTorino aer (Aer's full noise model of FakeTorino, "
        "AerSimulator.from_backend through the backend, trajectories, the shots stated).", "",
        markdown_table(table(rows)), "", "![ground-state probability](ground_state_probability.png)", ""])
    plot(rows, out / "ground_state_probability.png")
    atomic_write(out / "summary.md", lambda p: p.write_text(text))
    return text


if __name__ == "__main__":
    print(main(Path(sys.argv[1])))
