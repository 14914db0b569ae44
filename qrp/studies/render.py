"""Output helpers shared by the study reports: markdown tables and atomically written PNG figures."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from qrp.core.figures import write_png

#: resolution of the report figures (dots per inch).
DPI = 110
#: zlib level 1 (Pillow's default is 6): the same pixels, 0.05 s less CPU a report, files about 15% larger.
PNG_OPTIONS = {"compress_level": 1}
#: one line per figure written (``qrp report`` shows them on stderr while it draws).
log = logging.getLogger(__name__)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table of ``frame`` (floats to 3 significant digits, everything else as text)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in rec) + " |")
    return "\n".join(lines)


def _power_label(base: float):
    """Tick label "2^17" for an exact power of a non-decimal ``base``, "" otherwise (plain text, no mathtext)."""

    def label(value: float, _pos=None) -> str:
        if value <= 0:
            return ""
        k = round(math.log(value, base))
        return f"{int(base)}^{k}" if math.isclose(value, base**k, rel_tol=1e-9) else ""

    return label


def plain_log_labels(fig) -> None:
    """Plain-text tick labels on every log axis of ``fig``, in place of matplotlib's default
    ``LogFormatterSciNotation``, whose labels are mathtext ("$10^{-5}$"), parsed and laid out per tick at every
    draw (a tenth of a report's time): "1e-05" on decimal axes (minor ticks keep the default's rule: labelled when
    few decades show), "2^17" on base-2 axes (a decimal label there would round 2^17 = 131072 to "1e+05")."""
    from matplotlib.ticker import (  # heavy: only when a report draws
        FuncFormatter,
        LogFormatter,
        LogFormatterSciNotation,
        NullFormatter,
    )

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            base = float(getattr(axis.get_transform(), "base", 10.0))
            decimal = base == 10.0
            if type(axis.get_major_formatter()) is LogFormatterSciNotation:  # not a figure's own labels
                axis.set_major_formatter(LogFormatter(labelOnlyBase=False) if decimal
                                         else FuncFormatter(_power_label(base)))
            if type(axis.get_minor_formatter()) is LogFormatterSciNotation:
                axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)) if decimal
                                         else NullFormatter())


def sparse_log_minor_ticks(fig) -> None:
    """No minor ticks (nor minor grid lines) on a log axis of ``fig`` whose view spans two decades of its base or
    more, where the figure keeps matplotlib's default minor locator: there at least two labelled major ticks and
    their grid lines give the scale, and the eight minor ticks a decade were half the tick objects of a report (a
    tick is two lines, a grid line and two texts, built, laid out and drawn; 0.3 s of a quickstart report). Axes
    spanning less keep them: their minor ticks may carry the only labels."""
    from matplotlib.ticker import LogLocator, NullLocator  # heavy: only when a report draws

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if type(axis.get_minor_locator()) is not LogLocator:  # linear, or a figure's own minor ticks
                continue
            base = float(getattr(axis.get_transform(), "base", 10.0))
            lo, hi = sorted(axis.get_view_interval())
            if lo > 0 and math.log(hi / lo, base) >= 2.0:
                axis.set_minor_locator(NullLocator())


def pyplot():
    """``matplotlib.pyplot`` on the headless Agg backend (set before pyplot is first imported). Heavy (0.3-0.5 s):
    imported only when a report draws, never by ``qrp run`` or the runner."""
    import matplotlib  # heavy: only when a report draws

    matplotlib.use("Agg")  # headless; before pyplot's first import
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, *, rect: tuple[float, float, float, float] | None = None) -> None:
    """Lay out ``fig`` (within ``rect`` of the figure, (left, bottom, right, top) fractions: room for a figure
    legend), write it to ``path`` as a PNG (atomically) and close it."""
    plt = pyplot()
    plain_log_labels(fig)
    sparse_log_minor_ticks(fig)
    # laid out at the PNG's resolution: savefig then keeps the figure's renderer and its cached text extents (laid
    # out at 100 dpi and drawn at 110, every label was measured twice)
    fig.set_dpi(DPI)
    write_png(fig, path, dpi=DPI, rect=rect, pil_kwargs=PNG_OPTIONS, opaque_rgb=True)
    plt.close(fig)
    log.info("report: wrote %s", path.name)


__all__ = ["markdown_table", "plain_log_labels", "pyplot", "save_figure", "sparse_log_minor_ticks"]
