"""Large N over an ensemble, in one resource unit: the table of ``results/large_n_ensemble``.

Per solver (with its block setting) and N, over covariances x solver seeds: rc_error after the rounds run (median,
bootstrap 95% interval), the fraction of runs reaching 1e-6 and 1e-8, the rounds to 1e-6 (median), the oracle
evaluations charged (median, summed over rounds) and the wall time. Oracle evaluations (cost-function evaluations,
issue 19's unit), from each row's summed ``Resources``: a QAOA shot is one (readout shots; plus objective
evaluations x 1024 shots for an exact-expectation optimizer: none at fixed angles), exact enumeration one per state
visited (``samples``: 2^12 per block solve), SA one per Metropolis proposal, random one per string, greedy / tabu /
rounding their flip evaluations (``evaluations``; ``samples`` when a solver reports none).
Writes ``DIR/ensemble.md``.

Usage: python experiments/large_n_summary.py results/large_n_ensemble
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write
from qrp.studies.render import markdown_table
from qrp.studies.statistics import format_interval, median_interval

NOMINAL_SHOTS = 1024
TARGETS = (1e-6, 1e-8)


def oracle_evaluations(row) -> float:
    """The row's oracle evaluations (module docstring)."""
    samples = float(row.get("stats.resources.samples") or 0.0)
    evals = float(row.get("stats.resources.evaluations") or 0.0)
    if float(row.get("stats.resources.circuit_executions") or 0.0) > 0:  # QAOA
        shots = json.loads(row["options"]).get("shots") if isinstance(row.get("options"), str) else None
        return samples + (0.0 if shots else evals * NOMINAL_SHOTS)
    return evals or samples


def rounds_to(history, target: float) -> float:
    hist = json.loads(history) if isinstance(history, str) else list(history or [])
    return next((i + 1.0 for i, h in enumerate(hist) if h.get("rc_error", np.inf) <= target), np.inf)


def label(row) -> str:
    opts = json.loads(row["options"]) if isinstance(row.get("options"), str) else {}
    text = row["solver"]
    if opts.get("angles"):
        text += f" {opts['angles']} p={opts.get('reps', '')}"
    return text + (f", blocks of {opts['block_size']}" if opts.get("block_size") else ", whole problem")


def main(out: Path) -> str:
    from qrp.studies.table import read_table

    t = read_table(out)
    t = t[(t["status"] == "ok") & (t["solver_kind"] == "discrete")].copy()
    t["label"] = t.apply(label, axis=1)
    t["oracle"] = t.apply(oracle_evaluations, axis=1)
    t["rounds_1e-6"] = t["history"].map(lambda h: rounds_to(h, 1e-6))
    auto = read_table(out)
    auto = auto[auto["solver"] == "auto"].groupby("n_assets")["rc_error"].median()
    rows = []
    for (n, lab), g in t.groupby(["n_assets", "label"], sort=True):
        rc = median_interval(g["rc_error"])
        ev = median_interval(g["oracle"])
        rows.append({"N": int(n), "solver": lab, "runs": len(g), "covariances": g["instance"].nunique(),
                     "seeds": g["seed"].nunique(), "rc_error [95% CI]": format_interval(*rc),
                     **{f"<= {x:g}": f"{(g['rc_error'] <= x).mean():.2f}" for x in TARGETS},
                     "rounds to 1e-6": f"{g['rounds_1e-6'].median():.0f}",
                     "oracle evaluations [95% CI]": format_interval(*ev, ".3g"),
                     "time s": f"{g['elapsed'].median():.3g}",
                     "classical auto rc_error": f"{auto.get(n, np.nan):.2g}"})
    text = "\n".join([
        f"# Large N over an ensemble ({out})", "",
        f"`python experiments/large_n_summary.py {out}`. Medians over covariances x solver seeds with bootstrap 95% "
        "intervals; resources in oracle (cost-function) evaluations summed over the rounds (module docstring of "
        "experiments/large_n_summary.py).", "", markdown_table(pd.DataFrame(rows)), ""])
    atomic_write(out / "ensemble.md", lambda p: p.write_text(text))
    return text


if __name__ == "__main__":
    print(main(Path(sys.argv[1])))
