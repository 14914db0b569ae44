"""Output helpers shared by the study reports: markdown tables and atomically written PNG figures."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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


def shade_interval(ax, x, lo, hi, **style) -> None:
    """``ax.fill_between(x, lo, hi, **style)``: the band of an interval along a line, left out where every interval
    is a point (``lo == hi``, or NaN: one run per point, as in the quickstart), whose band has no area and draws no
    pixel (a polygon collection built, laid out and drawn for nothing; the same PNG without it)."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if np.all((lo == hi) | np.isnan(lo) | np.isnan(hi)):
        return
    ax.fill_between(x, lo, hi, **style)


def pyplot():
    """``matplotlib.pyplot`` on the headless Agg backend (set before pyplot is first imported). Heavy (0.3-0.5 s):
    imported only when a report draws, never by ``qrp run`` or the runner."""
    import matplotlib  # heavy: only when a report draws

    matplotlib.use("Agg")  # headless; before pyplot's first import
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class Margins:
    """Fixed margins of a figure's grid of panels, in inches: around the grid (``left``: the y tick labels, such as
    "1e-16", and the y label; ``right``: half an x tick label; ``bottom``: the x tick labels and label; ``top``: a
    suptitle over the panel titles) and between its columns (``wspace``: the next panel's y tick labels) and rows
    (``hspace``: x tick labels and label, then the next row's titles). The defaults are what ``tight_layout``
    measured on the quickstart report's figures (left 0.85-0.94, right 0.15-0.24, bottom 0.58, top 0.63-0.66,
    0.72-0.87 between columns), rounded up.

    The report's figures are laid out with these instead of ``tight_layout``, which measured every tick label,
    title and legend of a figure for the layout, and the draw then measured them again (a sixth of a quickstart
    report's CPU)."""

    left: float = 0.95
    right: float = 0.3
    bottom: float = 0.62
    top: float = 0.68
    wspace: float = 0.8
    hspace: float = 0.95

    def apply(self, fig) -> None:
        """``fig.subplots_adjust`` to these margins (its grid: that of its first axes)."""
        nrows, ncols = fig.axes[0].get_subplotspec().get_topmost_subplotspec().get_gridspec().get_geometry()
        width, height = fig.get_size_inches()
        inner_w = width - self.left - self.right
        inner_h = height - self.bottom - self.top
        if inner_w <= (ncols - 1) * self.wspace or inner_h <= (nrows - 1) * self.hspace:
            raise ValueError(f"margins {self} leave no room for {nrows} x {ncols} panels in a {width:g} x "
                             f"{height:g} in figure")
        cell_w = (inner_w - (ncols - 1) * self.wspace) / ncols
        cell_h = (inner_h - (nrows - 1) * self.hspace) / nrows
        fig.subplots_adjust(left=self.left / width, right=1.0 - self.right / width, bottom=self.bottom / height,
                            top=1.0 - self.top / height, wspace=self.wspace / cell_w, hspace=self.hspace / cell_h)


#: the top of a figure's suptitle, inches under the figure's top edge.
SUPTITLE_TOP = 0.08


def suptitle(fig, text: str, **kwargs) -> None:
    """``fig.suptitle(text, **kwargs)`` with its top ``SUPTITLE_TOP`` inches under the figure's top edge, whatever
    the figure's height (matplotlib's default, 2% of the height, ran into the panel titles of figures of three rows
    and more under ``Margins``' fixed top margin)."""
    fig.suptitle(text, y=1.0 - SUPTITLE_TOP / fig.get_figheight(), **kwargs)


def legend_height(entries: int, fontsize: float) -> float:
    """Height in inches of a one-column legend of ``entries`` rows at ``fontsize`` points (matplotlib's default
    spacing: a row is a line of text, 1.08 em in DejaVu Sans, and 0.5 em between rows; 0.4 em of border above and
    below): what a legend placed under a panel needs."""
    return (entries * 1.58 + 0.3) * fontsize / 72.0


def unplaced_empty_labels(fig) -> None:
    """Axis labels without text (the y labels of a row's later panels) given a fixed place: matplotlib places every
    axis label clear of its tick labels at each draw, measuring all of them again, even for a label that draws
    nothing (a twentieth of a report's drawing). Labels with text keep their automatic place."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.label.get_text():
                axis.set_label_coords(0.0, 0.0)


def save_figure(fig, path: Path, *, rect: tuple[float, float, float, float] | None = None,
                margins: Margins | None = None) -> None:
    """Lay out ``fig`` (with ``margins``; else by ``tight_layout`` within ``rect`` of the figure, (left, bottom,
    right, top) fractions: room for a figure legend), write it to ``path`` as a PNG (atomically) and close it."""
    plt = pyplot()
    plain_log_labels(fig)
    sparse_log_minor_ticks(fig)
    # laid out at the PNG's resolution: savefig then keeps the figure's renderer and its cached text extents (laid
    # out at 100 dpi and drawn at 110, every label was measured twice)
    fig.set_dpi(DPI)
    unplaced_empty_labels(fig)
    if margins is not None:
        margins.apply(fig)
    write_png(fig, path, dpi=DPI, rect=rect, pil_kwargs=PNG_OPTIONS, opaque_rgb=True, tight=margins is None)
    plt.close(fig)
    log.info("report: wrote %s", path.name)


__all__ = ["Margins", "legend_height", "markdown_table", "plain_log_labels", "pyplot", "save_figure",
           "shade_interval", "sparse_log_minor_ticks", "suptitle",
           "unplaced_empty_labels"]
