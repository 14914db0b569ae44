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

Every point is the median over the study's seeds of one grid configuration; the lines of a panel are the
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
        med = _medians(sub, [*others, x], y)
        groups = list(med.groupby(others, sort=True)) if others else [((), med)]
        for keys, g in groups[:MAX_LINES]:
            keys = keys if isinstance(keys, tuple) else (keys,)
            g = g.sort_values(x)
            label = _label(keys, others) or solver
            ax.plot(g[x].astype(float), g[y].astype(float), marker="o", label=label)
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
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


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
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return True


def _markdown(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in rec) + " |")
    return "\n".join(lines)


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
    for col in ("bits", "rounds", "reps", "num_qubits", "energy_gap"):
        if col not in frame:
            frame[col] = np.nan
        frame[col] = pd.to_numeric(frame[col])
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

    first = table.iloc[0]
    versions = json.loads(first["versions"]) if "versions" in table and isinstance(first["versions"], str) else {}
    md = [
        f"# Study `{first['study']}`",
        "",
        f"{len(frame)} successful runs ({len(table) - len(frame)} errors) from `{out / RUNS_PARQUET}`, config "
        f"hash(es) {', '.join(f'`{h}`' for h in dict.fromkeys(table['config_hash']))} (a study grown and resumed "
        "keeps each row's own). Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "rc_error = max_i |RC_i / sum(RC) - b_i| (0 = exact risk parity); every figure below is a median over seeds.",
        "",
        "## Grid covered",
        "",
        _markdown(_coverage(frame)),
        "",
        "## Per solver",
        "",
        _markdown(summarize(frame).reset_index()),
        "",
        f"## Crossover map (threshold rc_error <= {threshold:g})",
        "",
        "For each solver and N: the smallest bits per asset, refinement rounds and QAOA depth p among the grid's "
        "configurations whose median rc_error reaches the threshold (with the rest of that configuration), or never.",
        "",
        _markdown(crossover_table(frame[_has_depth(frame)], threshold)) if _has_depth(frame).any() else
        "No solver in this grid has a bits, rounds or depth axis.",
        "",
        "Solvers without such an axis (classical):",
        "",
        _markdown(_reach_table(frame[~_has_depth(frame)], threshold)) if (~_has_depth(frame)).any() else "none.",
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
