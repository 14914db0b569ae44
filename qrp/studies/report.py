"""``qrp report DIR``: PNG plots and ``summary.md`` from a study's ``runs.parquet``.

Plots (each written only when its x axis takes at least two values in the table; one panel per solver):

* ``rc_vs_n.png``: rc_error against the number of assets N (log y), with the classical baseline's rc_error;
* ``rc_vs_bits.png``, ``rc_vs_rounds.png``, ``rc_vs_depth.png``: rc_error against bits per asset, refinement rounds
  and QAOA depth p (``reps``);
* ``time_vs_n.png``, ``time_vs_qubits.png``: wall time of a run (s, log y) against N and against num_qubits;
* ``round0_ground_state_probability_vs_depth.png``, ``round0_approximation_ratio_vs_depth.png``: when a solver
  reports them in its first round's statistics (QAOA), against depth p;
* ``crossover.png``: per discrete solver, the N x bits map of the best median rc_error (colour, log10) with the
  smallest number of rounds reaching the threshold written in each cell ("x": never within the grid).

* ``rc_vs_samples.png``, ``rc_vs_time.png``: rc_error against total samples and against wall time, every solver on
  one axis per N with the classical baseline (the equal-resources view).

Every point is the median over the study's covariance instances and seeds of one grid configuration, with a
bootstrap 95% interval (shaded; ``qrp.studies.statistics``); the lines of a panel are the
configurations that differ in the other grid axes. ``summary.md`` gives the grid each solver covers, per-solver
medians, and the crossover table: for each solver and N, the smallest bits, rounds and depth at which the median
rc_error reaches the classical-accuracy threshold (default 1e-6), with the configuration that does, or the statement
that it never did and the best rc_error it reached.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write
from qrp.studies.ground_state_report import write_ground_state_report
from qrp.studies.render import markdown_table, save_figure
from qrp.studies.statistics import format_interval, grouped_intervals, median_interval
from qrp.studies.table import RUNS_PARQUET, read_table, summarize

#: the grid axes of the crossover map: (column, label in the table).
DEPTH_AXES = (("bits", "bits"), ("rounds", "rounds"), ("reps", "depth p"))
#: first-round diagnostics drawn against depth when a solver reports them: (stats key, axis label).
ROUND0_PLOTS = (("ground_state_probability", "ground-state probability of the optimized state"),
                ("approximation_ratio", "approximation ratio"))
#: at most this many lines per panel (the rest are listed as left out in the panel title).
MAX_LINES = 16


def _axes(frame: pd.DataFrame) -> list[str]:
    """Grid-axis columns: n_assets, bits, rounds, reps and every other solver option (``opt.*``)."""
    extra = [c for c in frame.columns if c.startswith("opt.") and c[4:] not in ("bits", "rounds", "reps")]
    return ["n_assets", "bits", "rounds", "reps", *extra]


def _varying(frame: pd.DataFrame, cols: list[str]) -> list[str]:
    return [c for c in cols if c in frame.columns and frame[c].astype(str).nunique(dropna=False) > 1]


def _label(keys: tuple, cols: list[str]) -> str:
    """``N=4, bits=3, ...`` for a configuration (options left at the solver's default are not named)."""
    parts = []
    for c, v in zip(cols, keys, strict=True):
        if v == "default":
            continue
        name = c.removeprefix("opt.").replace("n_assets", "N").replace("reps", "p")
        parts.append(f"{name}={_fmt(v)}")
    return ", ".join(parts)


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _medians(frame: pd.DataFrame, keys: list[str], y: str) -> pd.DataFrame:
    filled = frame.copy()
    for k in keys:  # NaN axes (an option a solver does not take) must stay a group, not vanish
        filled[k] = filled[k].astype(object).where(filled[k].notna(), "default")
    return filled.groupby(keys, sort=True, dropna=False)[y].median().reset_index()


def _intervals(frame: pd.DataFrame, keys: list[str], y: str) -> pd.DataFrame:
    """Per configuration: the median of ``y`` over instances and seeds with its bootstrap 95% interval."""
    filled = frame.copy()
    for k in keys:  # NaN axes (an option a solver does not take) must stay a group, not vanish
        filled[k] = filled[k].astype(object).where(filled[k].notna(), "default")
    return grouped_intervals(filled, keys, y)


def _line_figure(frame, x, y, *, title, xlabel, ylabel, logx=False, logy=True, baseline=None, ignore=(), path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    solvers = list(dict.fromkeys(frame["solver"]))
    ncols = min(3, len(solvers))
    nrows = -(-len(solvers) // ncols)
    many = max(frame.groupby("solver").size()) > 4 * frame[x].nunique()  # many lines: room for the legend below
    height = 4.0 + (2.0 if many else 0.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, height * nrows), squeeze=False, sharey=True)
    for ax in axes.flat[len(solvers):]:
        ax.set_visible(False)
    for ax, solver in zip(axes.flat, solvers, strict=False):
        sub = frame[(frame["solver"] == solver) & frame[x].notna() & frame[y].notna()]
        others = _varying(sub, [a for a in _axes(frame) if a != x and a not in ignore])
        med = _intervals(sub, [*others, x], y)
        groups = list(med.groupby(others, sort=True)) if others else [((), med)]
        for keys, g in groups[:MAX_LINES]:
            keys = keys if isinstance(keys, tuple) else (keys,)
            g = g.sort_values(x)
            label = _label(keys, others) or solver
            line, = ax.plot(g[x].astype(float), g[y].astype(float), marker="o", label=label)
            ax.fill_between(g[x].astype(float), g[f"{y}_lo"].astype(float), g[f"{y}_hi"].astype(float),
                            color=line.get_color(), alpha=0.15, lw=0)
        if baseline is not None:
            base = _medians(sub, [x], baseline).sort_values(x)
            ax.plot(base[x].astype(float), base[baseline].astype(float), "k--", lw=1.5, label="classical baseline")
        extra = f" (first {MAX_LINES} of {len(groups)} lines)" if len(groups) > MAX_LINES else ""
        ax.set_title(f"{solver}{extra}", fontsize=10)
        if logy:
            ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ticks = sorted(sub[x].astype(float).unique())
        if len(ticks) <= 12:
            ax.set_xticks(ticks, [_fmt(t) for t in ticks])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(xlabel)
        ax.grid(True, which="both", alpha=0.3)
        if len(groups) > 4:  # many lines: the legend goes under the panel, not over the curves
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.18), ncol=1)
        else:
            ax.legend(fontsize=7)
        ax.yaxis.set_tick_params(labelleft=True)
    for row in axes:
        row[0].set_ylabel(ylabel)
    fig.suptitle(title)
    save_figure(fig, path)


#: candidate columns holding a run's total samples (refinement: summed over rounds by qrp.refine).
SAMPLE_COLUMNS = ("stats.resources.samples", "samples")
#: accuracy targets of the ensemble table.
TARGETS = (1e-6, 1e-8)
#: at most this many N panels in the resource plots.
MAX_PANELS = 4


def _instance_count(g: pd.DataFrame) -> int:
    return int(g["instance"].nunique()) if "instance" in g else 1


def ensemble_table(frame: pd.DataFrame, samples: str | None) -> pd.DataFrame:
    """Per solver, N and configuration: runs, instances, rc_error median [lo, hi] (bootstrap 95% over instances and
    seeds), the fraction of runs reaching each of ``TARGETS``, median total samples, wall time median [lo, hi]."""
    rows = []
    for solver, sub in frame.groupby("solver", sort=False):
        others = _varying(sub, [a for a in _axes(frame) if a != "n_assets"])
        keys = ["n_assets", *others]
        filled = sub.copy()
        for k in keys:
            filled[k] = filled[k].astype(object).where(filled[k].notna(), "default")
        for k, g in filled.groupby(keys, sort=True, dropna=False):
            rc, tm = median_interval(g["rc_error"]), median_interval(g["elapsed"])
            rec = {"solver": solver, "N": _fmt(k[0]), "configuration": _label(k[1:], others) or "-",
                   "runs": len(g), "instances": _instance_count(g),
                   "rc_error median [95% CI]": format_interval(*rc)}
            for target in TARGETS:
                rec[f"≤ {target:g}"] = f"{float(np.mean(g['rc_error'] <= target)):.2f}"
            if samples is not None:
                s_med = pd.to_numeric(g[samples], errors="coerce").median()
                rec["samples (median)"] = "-" if np.isnan(s_med) else f"{s_med:.3g}"
            rec["time s median [95% CI]"] = format_interval(*tm, ".3g")
            rows.append(rec)
    return pd.DataFrame(rows)


def _resource_figure(frame: pd.DataFrame, x: str, xlabel: str, path: Path) -> bool:
    """rc_error against a resource (total samples or wall time), one panel per N with every solver on its axis:
    each configuration's median with its bootstrap 95% interval, each solver's best median reached within a budget
    (a step line), and the classical baseline (dashed line; on the time axis its own point)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    disc = frame[frame["bits"].notna() & pd.to_numeric(frame[x], errors="coerce").gt(0)]
    if disc.empty:
        return False
    sizes = sorted(disc["n_assets"].unique())[:MAX_PANELS]
    fig, axes = plt.subplots(1, len(sizes), figsize=(6.0 * len(sizes), 5.0), squeeze=False)
    for ax, n in zip(axes[0], sizes, strict=True):
        at_n = frame[frame["n_assets"] == n]
        for solver, sub in disc[disc["n_assets"] == n].groupby("solver", sort=False):
            sub = sub.assign(**{x: pd.to_numeric(sub[x], errors="coerce")})
            keys = _varying(sub, _axes(frame)) or ["solver"]
            rc, xs = _intervals(sub, keys, "rc_error"), _intervals(sub, keys, x)
            xv, yv = xs[x].to_numpy(float), rc["rc_error"].to_numpy(float)
            err = np.vstack([yv - rc["rc_error_lo"].to_numpy(float), rc["rc_error_hi"].to_numpy(float) - yv])
            pts = ax.errorbar(xv, yv, yerr=err, fmt="o", ms=4, alpha=0.6, label=solver)
            order = np.argsort(xv)
            ax.step(xv[order], np.minimum.accumulate(yv[order]), where="post", color=pts[0].get_color(), lw=1.5)
        base = at_n["classical_rc_error"].median()
        ax.axhline(base, color="k", ls="--", lw=1.2, label=f"classical ({base:.1e})")
        if x == "elapsed":
            ax.plot(at_n["classical_elapsed"].median(), base, "k*", ms=12, label="classical solve")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(f"N = {_fmt(n)}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("rc_error (median, 95% CI)")
    fig.suptitle(f"rc_error against {xlabel} (points: configurations; steps: each solver's best median within "
                 "the budget)", fontsize=10)
    save_figure(fig, path)
    return True


def crossover_table(frame: pd.DataFrame, threshold: float = 1e-6) -> pd.DataFrame:
    """For each solver and N: the smallest bits, rounds and depth whose configuration reaches median rc_error <=
    ``threshold`` (with that configuration), or "never"; and the best median rc_error with its configuration."""
    rows = []
    for solver, sub in frame.groupby("solver", sort=False):
        others = _varying(sub, [a for a in _axes(frame) if a != "n_assets"])
        for n, g in sub.groupby("n_assets", sort=True):
            med = _medians(g, others, "rc_error") if others else pd.DataFrame({"rc_error": [g["rc_error"].median()]})
            ok = med[med["rc_error"] <= threshold]
            best = med.loc[med["rc_error"].idxmin()]
            rec = {"solver": solver, "N": int(n),
                   "reached": "yes" if not ok.empty else "never",
                   "best rc_error": f"{best['rc_error']:.2e} ({_label(tuple(best[others]), others) or 'all'})"}
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
        return f"{_fmt(values[0])} (fixed)"
    first = ok.loc[pd.to_numeric(ok[col], errors="coerce").idxmin()]
    rest = [o for o in others if o != col]
    label = _label(tuple(first[rest]), rest)
    return f"{_fmt(first[col])} ({label})" if label else _fmt(first[col])


def _crossover_figure(frame: pd.DataFrame, threshold: float, path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    disc = frame[frame["bits"].notna()]
    solvers = list(dict.fromkeys(disc["solver"]))
    if not solvers:
        return False
    fig, axes = plt.subplots(1, len(solvers), figsize=(5.5 * len(solvers), 4.5), squeeze=False)
    for ax, solver in zip(axes[0], solvers, strict=True):
        sub = disc[disc["solver"] == solver]
        others = _varying(sub, [a for a in _axes(frame) if a not in ("n_assets", "bits")])
        med = _medians(sub, ["n_assets", "bits", *others], "rc_error")
        ns = sorted(med["n_assets"].astype(int).unique())
        bits = sorted(med["bits"].astype(int).unique())
        grid = np.full((len(bits), len(ns)), np.nan)
        text = [["" for _ in ns] for _ in bits]
        for (n, b), g in med.groupby(["n_assets", "bits"]):
            i, j = bits.index(int(b)), ns.index(int(n))
            grid[i, j] = np.log10(max(g["rc_error"].min(), 1e-16))
            ok = g[g["rc_error"] <= threshold]
            if ok.empty:
                text[i][j] = "x"
            elif "rounds" in others:
                text[i][j] = f"R={_fmt(pd.to_numeric(ok['rounds'], errors='coerce').min())}"
            else:
                text[i][j] = "ok"
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis_r", vmin=-16, vmax=0)
        for i in range(len(bits)):
            for j in range(len(ns)):
                ax.text(j, i, text[i][j], ha="center", va="center", color="w", fontsize=8)
        ax.set_xticks(range(len(ns)), [str(n) for n in ns])
        ax.set_yticks(range(len(bits)), [str(b) for b in bits])
        ax.set_xlabel("assets N")
        ax.set_ylabel("bits per asset K")
        ax.set_title(solver, fontsize=10)
        fig.colorbar(im, ax=ax, label="log10 best median rc_error")
    fig.suptitle(f"crossover map: smallest rounds R reaching rc_error <= {threshold:g}\n"
                 "(ok: reached, x: never in grid)", fontsize=10)
    save_figure(fig, path)
    return True


def _coverage(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for solver, sub in frame.groupby("solver", sort=False):
        rec = {"solver": solver, "runs": len(sub)}
        for col in ("n_assets", "bits", "rounds", "reps", "seed"):
            vals = sorted(sub[col].dropna().unique()) if col in sub else []
            rec[col] = ", ".join(_fmt(float(v)) for v in vals) if vals else "-"
        rec["num_qubits max"] = _fmt(float(sub["num_qubits"].max())) if sub["num_qubits"].notna().any() else "-"
        rows.append(rec)
    return pd.DataFrame(rows)


def _axis_figures(frame: pd.DataFrame, out: Path) -> tuple[list[Path], list[str]]:
    """The rc_error / time line figures against each grid axis: (paths written, names skipped)."""
    written: list[Path] = []
    plots = [
        ("rc_vs_n.png", "n_assets", "rc_error", "rc_error vs number of assets", "assets N", True, "classical_rc_error"),
        ("rc_vs_bits.png", "bits", "rc_error", "rc_error vs bits per asset", "bits per asset K", False, None),
        ("rc_vs_rounds.png", "rounds", "rc_error", "rc_error vs refinement rounds", "rounds R", False, None),
        ("rc_vs_depth.png", "reps", "rc_error", "rc_error vs QAOA depth", "QAOA depth p", False, None),
        ("time_vs_n.png", "n_assets", "elapsed", "wall time per run vs number of assets", "assets N", True, None),
        ("time_vs_qubits.png", "num_qubits", "elapsed", "wall time per run vs qubits", "qubits (binary variables)",
         True, None),
    ]
    skipped = []
    for name, x, y, title, xlabel, logx, base in plots:
        counts = frame[frame[x].notna()].groupby("solver")[x].nunique()
        sub = frame[frame["solver"].isin(counts[counts >= 2].index) & frame[x].notna()]
        if sub.empty:
            skipped.append(name)
            continue
        ylabel = "wall time per run (s)" if y == "elapsed" else "rc_error = max_i |RC_i/ΣRC - b_i|"
        # qubits = N x bits: the lines of the qubit plot are the other axes, not N or bits themselves
        ignore = ("n_assets", "bits") if x == "num_qubits" else ()
        _line_figure(sub, x, y, title=title, xlabel=xlabel, ylabel=ylabel, logx=logx, baseline=base, ignore=ignore,
                     path=out / name)
        written.append(out / name)
    return written, skipped


def write_report(out_dir, *, threshold: float = 1e-6) -> list[Path]:
    """Write the plots and ``summary.md`` into ``out_dir`` (holding ``runs.parquet``); return the paths written."""
    out = Path(out_dir)
    if not (out / RUNS_PARQUET).is_file():
        raise ValueError(f"no {RUNS_PARQUET} in {out}: run a study there first (qrp run ... --out {out})")
    if not (isinstance(threshold, float | int) and np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    table = read_table(out)  # the consolidated table and any rows still in the journal
    frame = table[table["status"] == "ok"].copy()
    if frame.empty:
        raise ValueError(f"{out / RUNS_PARQUET} holds no successful run")
    if "ground_state_probability" in frame:
        return write_ground_state_report(out, table, frame)
    for col in ("bits", "rounds", "reps", "num_qubits", "energy_gap"):
        if col not in frame:
            frame[col] = np.nan
        frame[col] = pd.to_numeric(frame[col])
    written, skipped = _axis_figures(frame, out)
    frame = frame.join(_first_round_stats(frame))
    for key, label in ROUND0_PLOTS:
        col = f"round0.{key}"
        if col in frame and frame.loc[frame[col].notna(), "reps"].nunique() >= 2:
            name = f"round0_{key}_vs_depth.png"
            _line_figure(frame[frame[col].notna() & frame["reps"].notna()], "reps", col,
                         title=f"first round: {label}", xlabel="QAOA depth p", ylabel=label,
                         logy=False, ignore=("rounds",), path=out / name)
            written.append(out / name)
    if _crossover_figure(frame, threshold, out / "crossover.png"):
        written.append(out / "crossover.png")
    samples = next((c for c in SAMPLE_COLUMNS if c in frame), None)
    resource_plots = [("elapsed", "wall time per run (s)", "rc_vs_time.png")]
    if samples is not None:
        resource_plots.insert(0, (samples, "total samples per run", "rc_vs_samples.png"))
    for col, label, name in resource_plots:
        if _resource_figure(frame, col, label, out / name):
            written.append(out / name)

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
        "rounds) and the wall time.",
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
    atomic_write(out / "summary.md", lambda p: p.write_text("\n".join(md) + "\n"))
    written.append(out / "summary.md")
    return written


__all__ = ["crossover_table", "write_report"]
