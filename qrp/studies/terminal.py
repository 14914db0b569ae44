"""Terminal output of ``qrp run``: the progress bar and the per-solver summary table (rich)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from qrp.studies.table import summarize

#: seconds between redraws of the progress bar.
REDRAW_SECONDS = 0.1


@contextmanager
def progress_bar(description: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[], None]]:
    """A progress bar (done / total, elapsed, ETA); yields the function that advances it by one."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    # redrawn by the caller's advances (at most every REDRAW_SECONDS), not by a thread: the runner may then fork
    with Progress(*columns, disable=not enabled, auto_refresh=False) as bar:
        job = bar.add_task(description, total=total)
        last = time.monotonic()

        def advance() -> None:
            nonlocal last
            bar.advance(job)
            if time.monotonic() - last >= REDRAW_SECONDS:
                bar.refresh()
                last = time.monotonic()

        bar.refresh()
        yield advance


def print_summary(frame: pd.DataFrame, *, title: str) -> None:
    """The per-solver medians of ``qrp.studies.table.summarize`` as a table."""
    table = Table(title=title)
    summary = summarize(frame) if not frame.empty else pd.DataFrame()
    table.add_column("solver")
    for col in summary.columns:  # two-line headers ("classical\nrc"): 8 solvers and 7 columns fit 80 columns
        table.add_column(str(col).replace("_", "\n"), justify="right")
    for solver, rec in summary.iterrows():
        table.add_row(str(solver), *(f"{v:.3g}" if isinstance(v, float) else str(v) for v in rec))
    Console().print(table)
