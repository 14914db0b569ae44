"""The line, resource and crossover figures of ``qrp report`` (listed in ``qrp.studies.report``): one panel per
solver (or per N), each point a grid configuration's median over covariance instances and seeds with its bootstrap
95% interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qrp.studies.configs import (
    config_intervals,
    config_label,
    config_medians,
    fmt_value,
    grid_axes,
    interval_label,
    varying,
)
from qrp.studies.render import Margins, legend_height, pyplot, save_figure, shade_interval, suptitle

#: first-round diagnostics drawn against depth when a solver reports them: (stats key, axis label).
ROUND0_PLOTS = (("ground_state_probability", "ground-state probability of the optimized state"),
                ("approximation_ratio", "approximation ratio"))
#: at most this many lines per panel (the rest are listed as left out in the panel title).
MAX_LINES = 16
#: at most this many N panels in the resource plots.
MAX_PANELS = 4
#: panel titles: 10 pt, at the top of the panel (y = 1 in axes coordinates, matplotlib's place for a title when no
#: x tick labels or y offset text are above the panel, as in every panel here). Given, the title is not placed
#: automatically, which measured the panel's whole y axis, every tick label, at each draw (a tenth of the drawing).
TITLE = {"fontsize": 10, "y": 1.0}
#: the line figures' legends of many lines hang under their panel: their top this far below it (inches, under the
#: x tick labels and label), in this font size (points).
LEGEND_DROP, LEGEND_FONT = 0.5, 7


def line_figure(frame, x, y, *, title, xlabel, ylabel, logx=False, logy=True, baseline=None, ignore=(), path):
    """``y`` against ``x``, one panel per solver, one line per configuration of the other varying axes (except
    ``ignore``): medians with shaded bootstrap 95% intervals; ``baseline``: a column drawn as a dashed line."""
    plt = pyplot()  # Agg, imported on the first figure

    solvers = list(dict.fromkeys(frame["solver"]))
    ncols = min(3, len(solvers))
    nrows = -(-len(solvers) // ncols)
    many = max(frame.groupby("solver").size()) > 4 * frame[x].nunique()  # many lines: room for the legend below
    height = 4.0 + (2.0 if many else 0.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, height * nrows), squeeze=False, sharey=True)
    for ax in axes.flat[len(solvers):]:
        ax.set_visible(False)
    below = [Margins.bottom] * nrows  # inches under each row of panels: its x labels and legends hung there
    for i, (ax, solver) in enumerate(zip(axes.flat, solvers, strict=False)):
        sub = frame[(frame["solver"] == solver) & frame[x].notna() & frame[y].notna()]
        lines = _draw_lines(ax, frame, sub, x, y, solver=solver, baseline=baseline, ignore=ignore)
        extra = f" (first {MAX_LINES} of {lines} lines)" if lines > MAX_LINES else ""
        entries = _style_panel(ax, sub, x, title=f"{solver}{extra}", xlabel=xlabel, logx=logx, logy=logy,
                               many=lines > 4)
        if entries:
            below[i // ncols] = max(below[i // ncols], LEGEND_DROP + legend_height(entries, LEGEND_FONT) + 0.15)
    for row in axes:
        row[0].set_ylabel(ylabel)
    suptitle(fig, title)
    title_room = Margins.hspace - Margins.bottom  # above a panel: its title
    save_figure(fig, path, margins=Margins(bottom=below[-1], hspace=max(below[:-1], default=0.0) + title_room))


def _draw_lines(ax, frame, sub, x, y, *, solver, baseline, ignore) -> int:
    """One solver's panel of ``line_figure``: a line per configuration of the other varying axes (the first
    ``MAX_LINES``) with its shaded interval, and the ``baseline`` column dashed; returns how many configurations."""
    others = varying(sub, [a for a in grid_axes(frame) if a != x and a not in ignore])
    med = config_intervals(sub, [*others, x], y)
    groups = list(med.groupby(others, sort=True)) if others else [((), med)]
    for keys, g in groups[:MAX_LINES]:
        keys = keys if isinstance(keys, tuple) else (keys,)
        g = g.sort_values(x)
        label = config_label(keys, others) or solver
        line, = ax.plot(g[x].astype(float), g[y].astype(float), marker="o", label=label)
        shade_interval(ax, g[x].astype(float), g[f"{y}_lo"], g[f"{y}_hi"], color=line.get_color(), alpha=0.15, lw=0)
    if baseline is not None:
        base = config_medians(sub, [x], baseline).sort_values(x)
        ax.plot(base[x].astype(float), base[baseline].astype(float), "k--", lw=1.5, label="classical baseline")
    return len(groups)


def _style_panel(ax, sub, x, *, title, xlabel, logx, logy, many) -> int:
    """Title, log scales, the x values as ticks (up to 12), grid and legend (``many`` lines: under the panel, its
    top ``LEGEND_DROP`` inches below the panel); returns the number of entries of a legend under the panel, else 0."""
    from matplotlib.ticker import NullLocator  # matplotlib: only when a report draws
    from matplotlib.transforms import ScaledTranslation

    ax.set_title(title, **TITLE)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ticks = sorted(sub[x].astype(float).unique())
    if len(ticks) <= 12:
        ax.set_xticks(ticks, [fmt_value(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.yaxis.set_tick_params(labelleft=True)
    if not many:
        ax.legend(fontsize=LEGEND_FONT)
        return 0
    # many lines: the legend goes under the panel, not over the curves
    under = ax.transAxes + ScaledTranslation(0.0, -LEGEND_DROP, ax.figure.dpi_scale_trans)
    legend = ax.legend(fontsize=LEGEND_FONT, loc="upper left", bbox_to_anchor=(0.0, 0.0), bbox_transform=under,
                       ncol=1, borderaxespad=0.0)
    return len(legend.get_texts())


def resource_figure(frame: pd.DataFrame, x: str, xlabel: str, path: Path) -> bool:
    """rc_error against a resource (total samples or wall time), one panel per N with every solver on its axis:
    each configuration's median with its bootstrap 95% interval, each solver's best median reached within a budget
    (a step line), and the classical baseline (dashed line; on the time axis its own point)."""
    plt = pyplot()  # Agg, imported on the first figure

    disc = frame[frame["bits"].notna() & pd.to_numeric(frame[x], errors="coerce").gt(0)]
    if disc.empty:
        return False
    sizes = sorted(disc["n_assets"].unique())[:MAX_PANELS]
    fig, axes = plt.subplots(1, len(sizes), figsize=(6.0 * len(sizes), 5.0), squeeze=False)
    # one colour per solver in every panel (the colour cycle restarts per axis: a solver absent at one N shifted
    # every later solver's colour there)
    colors = {solver: f"C{i % 10}" for i, solver in enumerate(disc["solver"].unique())}
    for ax, n in zip(axes[0], sizes, strict=True):
        at_n = frame[frame["n_assets"] == n]
        for solver, sub in disc[disc["n_assets"] == n].groupby("solver", sort=False):
            sub = sub.assign(**{x: pd.to_numeric(sub[x], errors="coerce")})
            keys = varying(sub, grid_axes(frame)) or ["solver"]
            rc, xs = config_intervals(sub, keys, "rc_error"), config_intervals(sub, keys, x)
            xv, yv = xs[x].to_numpy(float), rc["rc_error"].to_numpy(float)
            err = np.vstack([yv - rc["rc_error_lo"].to_numpy(float), rc["rc_error_hi"].to_numpy(float) - yv])
            ax.errorbar(xv, yv, yerr=err, fmt="o", ms=4, alpha=0.6, label=solver, color=colors[solver])
            order = np.argsort(xv)
            ax.step(xv[order], np.minimum.accumulate(yv[order]), where="post", color=colors[solver], lw=1.5)
        base = at_n["classical_rc_error"].median()
        ax.axhline(base, color="k", ls="--", lw=1.2, label=f"classical ({base:.1e})")
        if x == "elapsed":
            ax.plot(at_n["classical_elapsed"].median(), base, "k*", ms=12, label="classical solve")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(f"N = {fmt_value(n)}", **TITLE)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(f"rc_error ({interval_label(disc, grid_axes(frame))})")
    suptitle(fig, f"rc_error against {xlabel} (points: configurations; steps: each solver's best median within "
                 "the budget)", fontsize=10)
    save_figure(fig, path, margins=Margins())
    return True


def crossover_figure(frame: pd.DataFrame, threshold: float, path: Path) -> bool:
    plt = pyplot()  # Agg, imported on the first figure

    disc = frame[frame["bits"].notna()]
    solvers = list(dict.fromkeys(disc["solver"]))
    if not solvers:
        return False
    fig, axes = plt.subplots(1, len(solvers), figsize=(5.5 * len(solvers), 4.5), squeeze=False)
    for ax, solver in zip(axes[0], solvers, strict=True):
        sub = disc[disc["solver"] == solver]
        others = varying(sub, [a for a in grid_axes(frame) if a not in ("n_assets", "bits")])
        med = config_medians(sub, ["n_assets", "bits", *others], "rc_error")
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
                text[i][j] = f"R={fmt_value(pd.to_numeric(ok['rounds'], errors='coerce').min())}"
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
        ax.set_title(solver, **TITLE)
        fig.colorbar(im, ax=ax, label="log10 best median rc_error")
    suptitle(fig, f"crossover map: smallest rounds R reaching rc_error <= {threshold:g}\n"
                 "(ok: reached, x: never in grid)", fontsize=10)
    # short y tick labels (bits); right of each panel its colour bar, with tick labels and a label; two title lines
    save_figure(fig, path, margins=Margins(left=0.6, right=0.45, top=0.9, wspace=0.85))
    return True


def axis_figures(frame: pd.DataFrame, out: Path) -> tuple[list[Path], list[str]]:
    """The rc_error / time line figures against each grid axis: (paths written, names skipped)."""
    written: list[Path] = []
    plots = [
        ("rc_vs_n.png", "n_assets", "rc_error", "rc_error vs number of assets", "assets N", True, "classical_rc_error"),
        ("rc_vs_bits.png", "bits", "rc_error", "rc_error vs bits per asset", "bits per asset K", False,
         "classical_rc_error"),
        ("rc_vs_rounds.png", "rounds", "rc_error", "rc_error vs refinement rounds", "rounds R", False,
         "classical_rc_error"),
        ("rc_vs_depth.png", "reps", "rc_error", "rc_error vs QAOA depth", "QAOA depth p", False, "classical_rc_error"),
        ("time_vs_n.png", "n_assets", "elapsed", "wall time per run vs number of assets", "assets N", True,
         "classical_elapsed"),
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
        line_figure(sub, x, y, title=title, xlabel=xlabel, ylabel=ylabel, logx=logx, baseline=base, ignore=ignore,
                    path=out / name)
        written.append(out / name)
    return written, skipped


def round0_figures(frame: pd.DataFrame, out: Path) -> list[Path]:
    """First-round diagnostics (``round0.<key>`` columns of ``ROUND0_PLOTS``) against depth p, when a solver
    reports them at two depths or more: the paths written."""
    written = []
    for key, label in ROUND0_PLOTS:
        col = f"round0.{key}"
        if col in frame and frame.loc[frame[col].notna(), "reps"].nunique() >= 2:
            name = f"round0_{key}_vs_depth.png"
            line_figure(frame[frame[col].notna() & frame["reps"].notna()], "reps", col,
                        title=f"first round: {label}", xlabel="QAOA depth p", ylabel=label,
                        logy=False, ignore=("rounds",), path=out / name)
            written.append(out / name)
    return written


__all__ = ["MAX_LINES", "MAX_PANELS", "ROUND0_PLOTS", "axis_figures", "crossover_figure", "line_figure",
           "resource_figure", "round0_figures"]
