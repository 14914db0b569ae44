"""``qrp report DIR``: PNG plots and ``summary.md`` from a study's ``runs.parquet``.

Plots (each written only when its x axis takes at least two values in the table; one panel per solver):

* ``rc_vs_n.png``: rc_error against the number of assets N (log y), with the classical baseline's rc_error;
* ``rc_vs_bits.png``, ``rc_vs_rounds.png``, ``rc_vs_depth.png``: rc_error against bits per asset, refinement rounds
  and QAOA depth p (``reps``), with the classical baseline's rc_error;
* ``time_vs_n.png``, ``time_vs_qubits.png``: wall time of a run (s, log y) against N (with the classical
  baseline's time) and against num_qubits;
* ``round0_ground_state_probability_vs_depth.png``, ``round0_approximation_ratio_vs_depth.png``: when a solver
  reports them in its first round's statistics (QAOA), against depth p;
* ``crossover.png``: per discrete solver, the N x bits map of the best median rc_error (colour, log10) with the
  smallest number of rounds reaching the threshold written in each cell ("x": never within the grid).

* ``rc_vs_samples.png``, ``rc_vs_time.png``: rc_error against total samples and against wall time, every solver on
  one axis per N with the classical baseline (the equal-resources view).
* ``compare_vs_n.png``: rc_error and wall time against N, every solver (its most accurate configuration at each N)
  and the classical baseline on one axis (``qrp.studies.plots_compare``).

Every point is the median over the study's covariance instances and seeds of one grid configuration, with a
bootstrap 95% interval (shaded; ``qrp.studies.statistics``); the lines of a panel are the
configurations that differ in the other grid axes. ``summary.md`` gives the grid each solver covers, per-solver
medians, and the crossover table: for each solver and N, the smallest bits, rounds and depth at which the median
rc_error reaches the classical-accuracy threshold (default 1e-6), with the configuration that does, or the statement
that it never did and the best rc_error it reached.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.cores import core_left, usable_cores
from qrp.core.provenance import atomic_write
from qrp.studies.configs import config_label, config_medians, fmt_value, grid_axes, varying, with_defaults
from qrp.studies.plots_compare import comparison_figure
from qrp.studies.render import markdown_table, pyplot
from qrp.studies.report_plots import axis_figures, crossover_figure, resource_figure, round0_figures
from qrp.studies.statistics import NOMINAL_SHOTS, format_interval, median_interval
from qrp.studies.table import RUNS_PARQUET, read_table, summarize

log = logging.getLogger(__name__)

#: the grid axes of the crossover map: (column, label in the table).
DEPTH_AXES = (("bits", "bits"), ("rounds", "rounds"), ("reps", "depth p"))
#: candidate columns holding a run's total samples (refinement: summed over rounds by qrp.refine).
SAMPLE_COLUMNS = ("stats.resources.samples", "samples")
#: the column ``energy_evaluations`` adds to a refinement frame (``energy_evaluations``).
EVALUATIONS = "energy_evaluations"
#: accuracy targets of the ensemble table.
TARGETS = (1e-6, 1e-8)


def energy_evaluations(frame: pd.DataFrame) -> pd.Series | None:
    """Each run's energy evaluations of the cost function, the one resource unit (issue 19), from its summed
    ``Resources``: a classical solver's ``evaluations`` (``samples`` when it counts none, e.g. exact enumeration's
    2^n states); a circuit solver's shots, its optimizer's included: ``samples`` (evaluations x shots + readout)
    plus, for exact-expectation runs (no ``shots`` option), each evaluation charged ``NOMINAL_SHOTS`` shots. None
    when the frame lacks the resource columns."""
    cols = ("stats.resources.evaluations", "stats.resources.samples", "stats.resources.circuit_executions")
    if not all(c in frame for c in cols):
        return None
    ev, sm, ce = (pd.to_numeric(frame[c], errors="coerce") for c in cols)
    shots = pd.to_numeric(frame["opt.shots"], errors="coerce") if "opt.shots" in frame else ev * np.nan
    quantum = ce > 0
    charged = sm + ev.where(quantum & shots.isna(), 0.0) * NOMINAL_SHOTS
    out = ev.where(~quantum, charged)
    return out.where(out > 0, sm)


def _instance_count(g: pd.DataFrame) -> int:
    return int(g["instance"].nunique()) if "instance" in g else 1


def ensemble_table(frame: pd.DataFrame, samples: str | None) -> pd.DataFrame:
    """Per solver, N and configuration: runs, instances, rc_error median [lo, hi] (bootstrap 95% over instances and
    seeds), the fraction of runs reaching each of ``TARGETS``, median total samples, wall time median [lo, hi]."""
    rows = []
    for solver, sub in frame.groupby("solver", sort=False):
        others = varying(sub, [a for a in grid_axes(frame) if a != "n_assets"])
        keys = ["n_assets", *others]
        for k, g in with_defaults(sub, keys).groupby(keys, sort=True, dropna=False):
            rc, tm = median_interval(g["rc_error"]), median_interval(g["elapsed"])
            rec = {"solver": solver, "N": fmt_value(k[0]), "configuration": config_label(k[1:], others) or "-",
                   "runs": len(g), "instances": _instance_count(g),
                   "rc_error median [95% CI]": format_interval(*rc)}
            for target in TARGETS:
                rec[f"≤ {target:g}"] = f"{float(np.mean(g['rc_error'] <= target)):.2f}"
            for col, name in ((samples, "samples (median)"), (EVALUATIONS, "energy evaluations (median)")):
                if col is not None and col in g:
                    med = pd.to_numeric(g[col], errors="coerce").median()
                    rec[name] = "-" if np.isnan(med) else f"{med:.3g}"
            rec["time s median [95% CI]"] = format_interval(*tm, ".3g")
            rows.append(rec)
    return pd.DataFrame(rows)


def crossover_table(frame: pd.DataFrame, threshold: float = 1e-6) -> pd.DataFrame:
    """For each solver and N: the smallest bits, rounds and depth whose configuration reaches median rc_error <=
    ``threshold`` (with that configuration), or "never"; and the best median rc_error with its configuration."""
    rows = []
    for solver, sub in frame.groupby("solver", sort=False):
        others = varying(sub, [a for a in grid_axes(frame) if a != "n_assets"])
        for n, g in sub.groupby("n_assets", sort=True):
            med = (config_medians(g, others, "rc_error") if others
                   else pd.DataFrame({"rc_error": [g["rc_error"].median()]}))
            ok = med[med["rc_error"] <= threshold]
            best = med.loc[med["rc_error"].idxmin()]
            rec = {"solver": solver, "N": int(n),
                   "reached": "yes" if not ok.empty else "never",
                   "best rc_error": f"{best['rc_error']:.2e} ({config_label(tuple(best[others]), others) or 'all'})"}
            for col, name in DEPTH_AXES:
                rec[f"smallest {name}"] = _smallest(g, ok, col, others)
            rows.append(rec)
    return pd.DataFrame(rows)


def _first_round_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric diagnostics of each run's first round (``history[0]["stats"]``) as ``round0.<key>`` columns; the
    first round solves the very problem ``qrp.discretize`` builds, so they compare across runs."""
    if "history" not in frame:
        return pd.DataFrame(index=frame.index)
    rows = []
    for text in frame["history"]:
        hist = json.loads(text) if isinstance(text, str) else []
        stats = hist[0].get("stats", {}) if hist and isinstance(hist[0], dict) else {}
        rows.append({f"round0.{k}": float(v) for k, v in stats.items()
                     if isinstance(v, int | float) and not isinstance(v, bool)})
    return pd.DataFrame(rows, index=frame.index)


def _has_depth(frame: pd.DataFrame) -> pd.Series:
    """Rows of solvers that have a bits, rounds or reps value somewhere in the table."""
    has = frame[["bits", "rounds", "reps"]].notna().any(axis=1)
    solvers = set(frame.loc[has, "solver"])
    return frame["solver"].isin(solvers)


def _reach_table(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per solver: the N whose median rc_error reaches ``threshold`` and those that do not (with the worst)."""
    rows = []
    for solver, sub in frame.groupby("solver", sort=False):
        med = sub.groupby("n_assets")["rc_error"].median()
        bad = med[med > threshold]
        rows.append({"solver": solver,
                     "N reaching": ", ".join(str(int(n)) for n in med.index if n not in bad.index) or "none",
                     "N not reaching": ", ".join(f"{int(n)} ({v:.1e})" for n, v in bad.items()) or "none"})
    return pd.DataFrame(rows)


def _smallest(group: pd.DataFrame, ok: pd.DataFrame, col: str, others: list[str]) -> str:
    """The smallest value of axis ``col`` among the configurations in ``ok`` (those reaching the threshold)."""
    values = group[col].dropna().unique() if col in group else []
    if len(values) == 0:
        return "-"  # not an axis of this solver
    if ok.empty:
        return "never"
    if col not in others:
        return f"{fmt_value(values[0])} (fixed)"
    first = ok.loc[pd.to_numeric(ok[col], errors="coerce").idxmin()]
    rest = [o for o in others if o != col]
    label = config_label(tuple(first[rest]), rest)
    return f"{fmt_value(first[col])} ({label})" if label else fmt_value(first[col])


def _coverage(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for solver, sub in frame.groupby("solver", sort=False):
        rec = {"solver": solver, "runs": len(sub)}
        for col in ("n_assets", "bits", "rounds", "reps", "seed"):
            vals = sorted(sub[col].dropna().unique()) if col in sub else []
            rec[col] = ", ".join(fmt_value(float(v)) for v in vals) if vals else "-"
        rec["num_qubits max"] = fmt_value(float(sub["num_qubits"].max())) if sub["num_qubits"].notna().any() else "-"
        rows.append(rec)
    return pd.DataFrame(rows)


def _idle_core() -> bool:
    """Whether a second core is free: more cores available to this process than the 1-minute load average + 1.
    On a busy machine a forked drawer only adds its own start-up (CPU) and finishes no sooner."""
    return core_left(usable_cores(), os.getloadavg()[0])


def _in_parallel(function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """Start ``function(*args)`` in a forked process and return the function that waits for its result, so that a
    second core draws one group of figures while this process draws the rest (matplotlib is single-threaded; Agg
    figures are independent). Where forking is unsafe (not Linux, threads running) or no second core is free
    (``_idle_core``), it runs here and now. Either way the figures are the same files. Called under
    ``collector_frozen``: the child's collections then never walk the objects it shares with this process, and so
    never copy their pages (the fork cost 0.3 s CPU without, about 0.1 s with)."""
    if sys.platform == "linux" and threading.active_count() == 1 and _idle_core():
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        future = pool.submit(function, *args)  # forks the worker

        def result() -> Any:
            try:
                return future.result()
            finally:
                pool.shutdown()

        return result
    value = function(*args)
    return lambda: value


#: How many ``collector_frozen`` blocks are open: only the outermost unfreezes.
_frozen_depth = 0


@contextmanager
def collector_frozen():
    """The objects alive on entry (modules, matplotlib, the table: ~150,000) out of the garbage collector's walks
    until exit (``gc.freeze``, ``gc.unfreeze``): drawing allocates enough to run some 200 collections, and the full
    ones walked all of them (0.1-0.2 s CPU of a quickstart report); nothing frozen is lost, only left uncollected
    until exit. Nested (write_report's drawing inside ``qrp report``), an inner block freezes what was made since and
    the outermost unfreezes. gc.unfreeze thaws every frozen object: when objects frozen by the caller itself are
    there on entry (a server that froze before forking), nothing is frozen or unfrozen here."""
    global _frozen_depth
    if _frozen_depth == 0 and gc.get_freeze_count():
        yield
        return
    _frozen_depth += 1
    gc.freeze()
    try:
        yield
    finally:
        _frozen_depth -= 1
        if _frozen_depth == 0:
            gc.unfreeze()


def write_report(out_dir, *, threshold: float = 1e-6) -> list[Path]:
    """Write the plots and ``summary.md`` into ``out_dir`` (holding ``runs.parquet``); return the paths written."""
    out = Path(out_dir)
    if not (out / RUNS_PARQUET).is_file():
        raise ValueError(f"no {RUNS_PARQUET} in {out}: run a study there first (qrp run ... --out {out})")
    if not (isinstance(threshold, float | int) and np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    table = read_table(out)  # the consolidated table and any rows still in the journal
    log.info("report: %d rows from %s; drawing the figures", len(table), out / RUNS_PARQUET)
    frame = table[table["status"] == "ok"].copy()
    if frame.empty:
        raise ValueError(f"{out / RUNS_PARQUET} holds no successful run")
    if "ground_state_probability" in frame:
        # a ground-state study's report: its module (and the encodings report's discretization stack, numba
        # included: 0.5 s) is imported only for one
        from qrp.studies.ground_state_report import write_ground_state_report

        return write_ground_state_report(out, table, frame)
    for col in ("bits", "rounds", "reps", "num_qubits", "energy_gap"):
        if col not in frame:
            frame[col] = np.nan
        frame[col] = pd.to_numeric(frame[col])
    pyplot()  # before the collector is frozen and the drawing forked: both then include matplotlib
    with collector_frozen():
        frame, written, skipped, samples = _figures(frame, out, threshold)
    md = _summary_lines(table, frame, out, threshold, samples, written, skipped)
    atomic_write(out / "summary.md", lambda p: p.write_text("\n".join(md) + "\n"))
    written.append(out / "summary.md")
    return written


def _figures(frame: pd.DataFrame, out: Path, threshold: float):
    """Draw every figure of a refinement study's report: (the frame with the first-round statistics and energy
    evaluations joined, the figures written in summary order, the axis figures skipped, the samples column)."""
    # matplotlib imported before the fork (write_report): the child inherits it (imported after, each process paid
    # 0.3-0.5 s CPU)
    axis_results = _in_parallel(axis_figures, frame, out)  # 8 of the 11 figures, on a second core
    written: list[Path] = []
    if comparison_figure(frame, out / "compare_vs_n.png"):
        written.append(out / "compare_vs_n.png")
    frame = frame.join(_first_round_stats(frame))
    written += round0_figures(frame, out)
    if crossover_figure(frame, threshold, out / "crossover.png"):
        written.append(out / "crossover.png")
    samples = next((c for c in SAMPLE_COLUMNS if c in frame), None)
    resource_plots = [("elapsed", "wall time per run (s)", "rc_vs_time.png")]
    if samples is not None:
        resource_plots.insert(0, (samples, "total samples per run", "rc_vs_samples.png"))
    evaluations = energy_evaluations(frame)
    if evaluations is not None:
        frame[EVALUATIONS] = evaluations
        resource_plots.insert(0, (EVALUATIONS, "energy evaluations per run (QAOA: optimizer shots included)",
                                  "rc_vs_evaluations.png"))
    for col, label, name in resource_plots:
        if resource_figure(frame, col, label, out / name):
            written.append(out / name)
    axis_written, skipped = axis_results()
    return frame, axis_written + written, skipped, samples  # the summary lists the axis figures first, as before


def _summary_lines(table, frame, out: Path, threshold: float, samples, written: list[Path], skipped) -> list[str]:
    """The lines of ``summary.md``."""
    first = table.iloc[0]
    versions = json.loads(first["versions"]) if "versions" in table and isinstance(first["versions"], str) else {}
    md = [
        f"# Study `{first['study']}`",
        "",
        f"{len(frame)} successful runs ({len(table) - len(frame)} errors) from `{out / RUNS_PARQUET}`, config "
        f"hash(es) {', '.join(f'`{h}`' for h in dict.fromkeys(table['config_hash']))} (a study grown and resumed "
        "keeps each row's own). Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "rc_error = max_i |RC_i / sum(RC) - b_i| (0 = exact risk parity); every figure below is a median over "
        "covariance instances and seeds (plots: shaded bootstrap 95% intervals).",
        "",
        "## Grid covered",
        "",
        markdown_table(_coverage(frame)),
        "",
        "## Per solver",
        "",
        markdown_table(summarize(frame).reset_index()),
        "",
        "## Ensemble medians with bootstrap 95% intervals",
        "",
        "Per configuration, over covariance instances and solver seeds: rc_error median [95% CI], the fraction of "
        "runs reaching each target, the median total samples (optimizer evaluations x shots + readout, summed over "
        "rounds; each method's own unit), the median energy evaluations of the cost function (one unit for every "
        "method: a random string, a greedy / tabu flip evaluated, an SA Metropolis proposal, an enumerated state, a "
        "QAOA shot, an exact-expectation optimizer evaluation charged 1024 shots) and the wall time.",
        "",
        markdown_table(ensemble_table(frame, samples)),
        "",
        f"## Crossover map (threshold rc_error <= {threshold:g})",
        "",
        "For each solver and N: the smallest bits per asset, refinement rounds and QAOA depth p among the grid's "
        "configurations whose median rc_error reaches the threshold (with the rest of that configuration), or never.",
        "",
        markdown_table(crossover_table(frame[_has_depth(frame)], threshold)) if _has_depth(frame).any() else
        "No solver in this grid has a bits, rounds or depth axis.",
        "",
        "Solvers without such an axis (classical):",
        "",
        markdown_table(_reach_table(frame[~_has_depth(frame)], threshold)) if (~_has_depth(frame)).any() else "none.",
        "",
        "## Plots",
        "",
        *[f"![{p.stem}]({p.name})" for p in written],
    ]
    if skipped:
        md += ["", "Not drawn (no solver has two values of their x axis in this grid): " + ", ".join(skipped) + "."]
    return md


__all__ = ["crossover_table", "ensemble_table", "write_report"]
