"""Time to target accuracy of the noise study: modelled device seconds against the classical solver's wall time.

Reads ``DIR/runs.parquet`` of ``experiments/noise_fake_backend.toml`` and writes ``DIR/time_to_target.md``: for each
QAOA run, the refinement round at which rc_error first reaches each target and the device time summed up to it
(``history[r].stats.device_seconds``: shots x (depth x t_2q + t_readout) + latency per circuit, FakeTorino's
durations; noiseless runs are priced with the same backend's circuit so the two columns compare like with like).
Usage: python experiments/noise_time_to_target.py results/noise_fake_backend
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write

TARGETS = (1e-4, 1e-6)


def _rounds(history) -> list[dict]:
    return json.loads(history) if isinstance(history, str) else list(history)


def main(out: Path) -> str:
    runs = pd.read_parquet(out / "runs.parquet")
    classical = runs[runs.solver == "auto"].set_index("n_assets")
    qaoa = runs[runs.solver == "qaoa"]
    noisy = qaoa[qaoa.options.str.contains("white")]
    per_qubit = {}
    for _, row in noisy.iterrows():
        hist = _rounds(row.history)
        per_qubit[row.n_assets] = np.mean([h["stats"]["device_seconds"] for h in hist])
    lines = ["| qubits | solver | rounds run | best rc_error | " + " | ".join(
        f"rounds to {t:.0e} | device s to {t:.0e}" for t in TARGETS) + " | classical s (its rc_error) |",
        "|---:|---|---:|---:|" + "---:|---:|" * len(TARGETS) + "---:|"]
    for _, row in qaoa.sort_values(["n_assets", "options"]).iterrows():
        hist = _rounds(row.history)
        white = "white" in row.options
        errs = [h["rc_error"] for h in hist]
        # device time of each round: measured by the run (white noise), else the noisy run's per-round figure
        secs = [h["stats"].get("device_seconds", per_qubit.get(row.n_assets, np.nan)) for h in hist]
        cells = []
        for t in TARGETS:
            hit = next((i for i, e in enumerate(errs) if e <= t), None)
            cells += ["not reached", "-"] if hit is None else [str(hit + 1), f"{sum(secs[:hit + 1]):.0f}"]
        c = classical.loc[row.n_assets]
        lines.append(f"| {int(row.num_qubits)} | qaoa, {'FakeTorino white noise' if white else 'noiseless'} | "
                     f"{len(hist)} | {min(errs):.1e} | " + " | ".join(cells) +
                     f" | {c.elapsed:.1e} ({c.rc_error:.0e}) |")
    text = "\n".join(lines) + "\n"
    atomic_write(out / "time_to_target.md", lambda tmp: tmp.write_text(text))
    return text


if __name__ == "__main__":
    print(main(Path(sys.argv[1])))
