"""The comparison figure of ``qrp report``: every solver against the classical baseline on one axis.

``compare_vs_n.png``, two panels against the number of assets N (log scale): rc_error, and wall time per run. Per
solver and N, the configuration of the grid (bits, rounds, depth, options) with the lowest median rc_error at that
N, its median over covariance instances and seeds with the bootstrap 95% interval (shaded), and the same
configuration's wall time; the legend says how many configurations each solver had, since the best of several is a
selection. The classical baseline (the study's ``baseline`` solver on the same covariances: ``classical_rc_error``
and ``classical_elapsed``, one value per covariance instance) is the dashed black line with its interval. The
per-solver panels of ``report_plots`` show every configuration; this figure answers "which solver is closer to the
classical accuracy, and at what cost, as N grows".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qrp.studies.configs import config_intervals, fmt_value, grid_axes, interval_label, varying
from qrp.studies.render import Margins, pyplot, save_figure, shade_interval, suptitle
from qrp.studies.statistics import grouped_intervals

#: the two panels: (row column, classical column, y label).
PANELS = (("rc_error", "classical_rc_error", "rc_error (median, 95% CI)"),
          ("elapsed", "classical_elapsed", "wall time per run (s)"))


def best_per_n(sub: pd.DataFrame, axes: list[str]) -> tuple[pd.DataFrame, int]:
    """One solver's rows -> per N, the intervals of rc_error and elapsed of its configuration with the lowest median
    rc_error at that N (columns n_assets, rc_error, rc_error_lo/_hi, elapsed, elapsed_lo/_hi), and the number of
    configurations compared."""
    keys = [*varying(sub, [a for a in axes if a != "n_assets"]), "n_assets"]
    rc = config_intervals(sub, keys, "rc_error").drop(columns="count")
    time = config_intervals(sub, keys, "elapsed").drop(columns="count")
    both = rc.merge(time, on=keys)
    best = both.loc[both.groupby("n_assets")["rc_error"].idxmin()].sort_values("n_assets")
    configs = len(both[keys[:-1]].drop_duplicates()) if len(keys) > 1 else 1
    return best, configs


def baseline_per_n(frame: pd.DataFrame) -> pd.DataFrame:
    """Per N, the classical baseline's rc_error and wall time with bootstrap intervals, one value per covariance
    instance (every row of an instance repeats the same baseline solve)."""
    rows = frame.drop_duplicates("instance") if "instance" in frame else frame
    rc = grouped_intervals(rows, ["n_assets"], "classical_rc_error").drop(columns="count")
    time = grouped_intervals(rows, ["n_assets"], "classical_elapsed").drop(columns="count")
    return rc.merge(time, on="n_assets").sort_values("n_assets")


def compared_solvers(frame: pd.DataFrame) -> list[str]:
    """The solvers ``compare_vs_n.png`` draws, in table order: every solver with a finite rc_error at some N (a
    solver run at one N only, such as QAOA in a small study, is drawn as points), provided at least one solver has
    two values of N; else none."""
    frame = frame[frame["n_assets"].notna() & frame["rc_error"].notna()]
    counts = frame.groupby("solver")["n_assets"].nunique()
    if not (counts >= 2).any():
        return []
    return [s for s in dict.fromkeys(frame["solver"]) if counts.get(s, 0) >= 1]


def comparison_figure(frame: pd.DataFrame, path: Path) -> bool:
    """Draw ``compare_vs_n.png`` (module docstring) at ``path``; False (nothing drawn) when no solver has two
    values of N or the table lacks the baseline columns."""
    needed = {"n_assets", "rc_error", "elapsed", "classical_rc_error", "classical_elapsed"}
    if not needed <= set(frame.columns):
        return False
    solvers = compared_solvers(frame)
    if not solvers:
        return False
    frame = frame[frame["n_assets"].notna() & frame["rc_error"].notna()]
    plt = pyplot()  # Agg, imported on the first figure
    from matplotlib.ticker import NullLocator  # matplotlib: only when a report draws

    axes_cols = grid_axes(frame)
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.8), squeeze=False)
    base = baseline_per_n(frame[frame["solver"].isin(solvers)])
    for solver in solvers:
        best, configs = best_per_n(frame[frame["solver"] == solver], axes_cols)
        label = solver if configs == 1 else f"{solver} (best of {configs} configurations)"
        for ax, (col, _, _) in zip(axes[0], PANELS, strict=True):
            x = best["n_assets"].astype(float)
            line, = ax.plot(x, best[col].astype(float), marker="o", label=label)
            shade_interval(ax, x, best[f"{col}_lo"], best[f"{col}_hi"], color=line.get_color(), alpha=0.15, lw=0)
    for ax, (_, col, ylabel) in zip(axes[0], PANELS, strict=True):
        x = base["n_assets"].astype(float)
        ax.plot(x, base[col].astype(float), "k--", lw=1.5, label="classical baseline")
        shade_interval(ax, x, base[f"{col}_lo"], base[f"{col}_hi"], color="k", alpha=0.1, lw=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted(base["n_assets"].astype(float).unique())
        if len(ticks) <= 12:
            ax.set_xticks(ticks, [fmt_value(t) for t in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("assets N")
        ax.set_ylabel(ylabel.replace("median, 95% CI", interval_label(frame, axes_cols)))
        ax.grid(True, which="both", alpha=0.3)
    # the legend under the panels, not over the data (solvers and the baseline span the whole plot area)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=min(4, len(labels)), frameon=False)
    rows = -(-len(labels) // min(4, len(labels)))
    suptitle(fig, "every solver against the classical baseline (per N: each solver's most accurate configuration)",
                 fontsize=10)
    # under the panels their x labels, then the legend's rows; above them the suptitle (no panel titles)
    save_figure(fig, path, margins=Margins(bottom=Margins.bottom + 0.15 + 0.2 * rows, top=0.45))
    return True


__all__ = ["baseline_per_n", "best_per_n", "compared_solvers", "comparison_figure"]
