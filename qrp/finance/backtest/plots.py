"""The backtest's PNG plots: equity curves, weights and risk contributions at each rebalance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qrp.core.figures import write_png

if TYPE_CHECKING:
    from qrp.finance.backtest.engine import BacktestResult


def plot_results(result: BacktestResult, out_dir) -> None:
    """equity.png (log wealth), weights.png and risk_contributions.png (stacked, one panel per strategy)."""
    import matplotlib  # heavy: imported only when a backtest draws its plots

    matplotlib.use("Agg")  # headless; set before pyplot is imported
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    fig, ax = plt.subplots(figsize=(10, 5))
    result.equity.plot(ax=ax, logy=True, lw=1)
    ax.set_ylabel("wealth (log scale, start = 1)")
    ax.set_title("Equity curves (net of costs)")
    ax.grid(alpha=0.3)
    write_png(fig, out / "equity.png", dpi=110)
    plt.close(fig)
    for attr, fname, label in (("weights", "weights.png", "weight"),
                               ("risk_shares", "risk_contributions.png", "risk share RC_i / sum RC")):
        frames = getattr(result, attr)
        k = len(frames)
        cols = 2
        rows = (k + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows), sharex=True, squeeze=False)
        for ax, (name, frame) in zip(axes.ravel(), frames.items(), strict=False):
            ax.stackplot(frame.index, np.clip(frame.to_numpy().T, 0, None), step="post", lw=0,
                         labels=list(frame.columns), colors=plt.get_cmap("tab20").colors)
            ax.set_title(name, fontsize=9)
            ax.set_ylim(0, 1)
            ax.set_ylabel(label, fontsize=8)
        for ax in axes.ravel()[k:]:
            ax.set_visible(False)
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=10, fontsize=7)
        fig.suptitle(f"{label} at each rebalance", fontsize=11)
        write_png(fig, out / fname, dpi=100, rect=(0, 0.05, 1, 0.97))
        plt.close(fig)
