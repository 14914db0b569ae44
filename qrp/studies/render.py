"""Output helpers shared by the study reports: markdown tables and atomically written PNG figures."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from qrp.core.provenance import atomic_write

#: one line per figure written (``qrp report`` shows them on stderr while it draws).
log = logging.getLogger(__name__)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table of ``frame`` (floats to 3 significant digits, everything else as text)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in rec) + " |")
    return "\n".join(lines)


def plain_log_labels(fig) -> None:
    """Plain-text tick labels ("1e-05") on every log axis of ``fig``, in place of matplotlib's default
    ``LogFormatterSciNotation``, whose labels are mathtext ("$10^{-5}$"), parsed and laid out per tick at every
    draw (a tenth of a report's time); minor ticks keep the default's rule (labelled when few decades show)."""
    from matplotlib.ticker import LogFormatter, LogFormatterSciNotation  # heavy: only when a report draws

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if type(axis.get_major_formatter()) is LogFormatterSciNotation:  # not a figure's own labels
                axis.set_major_formatter(LogFormatter(labelOnlyBase=False))
            if type(axis.get_minor_formatter()) is LogFormatterSciNotation:
                axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def save_figure(fig, path: Path, *, rect: tuple[float, float, float, float] | None = None) -> None:
    """Lay out ``fig`` (within ``rect`` of the figure, (left, bottom, right, top) fractions: room for a figure
    legend), write it to ``path`` as a PNG (atomically) and close it."""
    import matplotlib.pyplot as plt  # optional heavy dependency, imported only when a report draws

    plain_log_labels(fig)
    fig.tight_layout(rect=rect)
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    log.info("report: wrote %s", path.name)


__all__ = ["markdown_table", "save_figure"]
