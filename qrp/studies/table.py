"""A study's results table on disk: ``DIR/runs.parquet`` + ``DIR/runs.csv``, fed by a journal of finished rows.

A finished row is appended as one JSON line to ``DIR/runs.journal.jsonl`` (one ``write`` of a complete line to a
file opened for appending): O(1) per row, whatever the size of the table. Every few seconds, and when the run
ends, the journal is consolidated: ``runs.parquet`` (the table) and ``runs.csv`` (a copy) are rewritten atomically
(``qrp.core.provenance.atomic_write``) with every row, then the journal is emptied. The consolidation interval
grows with the table (at least 20 times the last rewrite), so rewriting costs at most about 5% of the run.

Kill safety: a SIGKILL at any moment leaves a complete ``runs.parquet`` and a journal whose complete lines are
finished rows (a torn last line is ignored). ``read_table`` reads the journal first, then the parquet, so it sees
every finished row even while a consolidation replaces the parquet and empties the journal; rows present in both
(a kill between the two steps) count once. Opening a ``ResultTable`` consolidates what a killed run left, drops
error rows (they are rerun) and removes the temporary files of interrupted atomic writes. Only the one process
holding the directory's lock (``qrp.studies.runner``) writes.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write, open_regular, read_regular

RUNS_PARQUET = "runs.parquet"
RUNS_CSV = "runs.csv"
JOURNAL = "runs.journal.jsonl"
#: columns every qrp runs table has (a runs.parquet without them was written by something else).
REQUIRED_COLUMNS = ("run_id", "status")
#: seconds between consolidations (at least; see the module docstring).
CONSOLIDATE_EVERY = 3.0
#: the interval is at least this many times the duration of the last rewrite.
CONSOLIDATE_FACTOR = 20.0


def json_default(obj: Any) -> Any:
    """JSON for numpy values (arrays as lists) and anything else as its text."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    return str(obj)


def _read_journal(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a journal; a torn last line (a writer killed mid-line) is skipped."""
    data = read_regular(path, what="journal")
    if data is None:
        return []
    rows = []
    for line in data.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "run_id" in row:
            rows.append(row)
    return rows


def _read_parquet(path: Path) -> pd.DataFrame:
    """``runs.parquet`` read from one open file (one inode, even while it is being replaced), checked to be a qrp
    runs table; an empty frame when there is none."""
    data = read_regular(path, what="runs table")
    if data is None:
        return pd.DataFrame()
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own error types for a file that is not parquet
        raise ValueError(f"{path}: not a readable parquet file ({exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a qrp runs table (no {', '.join(missing)} column); "
                         "use another --out or move the file away")
    return frame


def _merge(frame: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``frame`` followed by the ``rows`` whose run_id it does not hold (the first of duplicates kept)."""
    if rows:
        new = pd.DataFrame(rows)
        frame = new if frame.empty else pd.concat([frame, new], ignore_index=True)
    if frame.empty:
        return frame
    frame = frame[~frame["run_id"].duplicated()].reset_index(drop=True)
    return _numeric_columns(frame[column_order(frame.columns)])


def read_table(out_dir) -> pd.DataFrame:
    """Every finished row of the study in ``out_dir`` (the consolidated table plus the journal), without writing."""
    out = Path(out_dir)
    rows = _read_journal(out / JOURNAL)  # journal first: see the module docstring
    return _merge(_read_parquet(out / RUNS_PARQUET), rows)


class ResultTable:
    """The table of ``out_dir``, opened for appending rows (see the module docstring)."""

    def __init__(self, out_dir, *, consolidate_every: float = CONSOLIDATE_EVERY) -> None:
        self.dir = Path(out_dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise ValueError(f"--out {self.dir}: is a file, not a directory")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / RUNS_PARQUET
        self.journal_path = self.dir / JOURNAL
        for name in (RUNS_PARQUET, RUNS_CSV, JOURNAL):  # a planted link or FIFO: never read or written through
            p = self.dir / name
            if p.is_symlink() or (p.exists() and not p.is_file()):
                raise ValueError(f"{p}: is a symbolic link or not a regular file; refusing to use it (remove it)")
        self.every = float(consolidate_every)
        for leftover in [*self.dir.glob(f".{RUNS_PARQUET}.*.tmp"), *self.dir.glob(f".{RUNS_CSV}.*.tmp")]:
            leftover.unlink(missing_ok=True)  # interrupted atomic writes of a killed run
        on_disk = read_table(self.dir)
        # error rows are retried: dropped now, their run_id is then missing
        self._base = on_disk if on_disk.empty else on_disk[on_disk["status"] == "ok"].reset_index(drop=True)
        self._new: list[dict[str, Any]] = []
        self._done = set() if self._base.empty else set(self._base["run_id"])
        self._seen = set(self._done)
        self._fd = open_regular(self.journal_path, os.O_WRONLY | os.O_APPEND, what="journal")
        self._interval = self.every
        self._last = time.monotonic()
        if len(on_disk) != len(self._base) or self.journal_path.stat().st_size or not self.path.exists():
            self.consolidate()

    def done(self) -> set[str]:
        """run_ids of the successful rows."""
        return self._done

    def __len__(self) -> int:
        return len(self._base) + len(self._new)

    def add(self, row: dict[str, Any]) -> None:
        """Journal one finished row (a run_id already present, a retried task's second delivery, is ignored)."""
        if row["run_id"] in self._seen:
            return
        os.write(self._fd, (json.dumps(row, default=json_default) + "\n").encode())
        self._new.append(row)
        self._seen.add(row["run_id"])
        if row.get("status") == "ok":
            self._done.add(row["run_id"])
        if time.monotonic() - self._last >= self._interval:
            self.consolidate()

    @property
    def frame(self) -> pd.DataFrame:
        """The whole table (consolidated rows, then the journalled ones), in the on-disk column order."""
        self._base = _merge(self._base, self._new)
        self._new = []
        return self._base

    def consolidate(self) -> None:
        """Rewrite runs.parquet and runs.csv with every row, then empty the journal."""
        start = time.monotonic()
        frame = _arrow_safe(self.frame)
        if frame.empty:  # no row yet: an empty table that still reads as a qrp runs table
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in REQUIRED_COLUMNS})
        atomic_write(self.path, lambda p: frame.to_parquet(p, index=False))
        atomic_write(self.dir / RUNS_CSV, lambda p: frame.to_csv(p, index=False))
        os.ftruncate(self._fd, 0)
        self._last = time.monotonic()
        self._interval = max(self.every, CONSOLIDATE_FACTOR * (self._last - start))

    def close(self) -> None:
        """Consolidate, close the journal and remove it (empty once consolidated: nothing is left behind)."""
        if self._fd >= 0:
            self.consolidate()
            os.close(self._fd)
            self._fd = -1
            self.journal_path.unlink(missing_ok=True)

    def __enter__(self) -> ResultTable:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def column_order(columns) -> list[str]:
    """Row fields first, then solver options and solver statistics sorted by name, then provenance: the same
    order however the runs of a grid finished (rows arrive in completion order from parallel workers, and each
    solver adds its own ``stats.*`` columns)."""
    tail = [c for c in ("versions", "finished_at") if c in columns]
    dynamic = sorted(c for c in columns if c.startswith("opt.")) + sorted(c for c in columns if c.startswith("stats."))
    return [c for c in columns if c not in dynamic and c not in tail] + dynamic + tail


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _numeric_text(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        float(v)
    except ValueError:
        return False
    return True


def _numeric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns whose values are numbers and None (an option like ``reps``, set for some solvers and None for
    others; a batch of None rows made the column object, and a later int row then sat beside the parquet's floats),
    or the "1" / "1.0" text an older table stored for them, as float64: a column's type then does not depend on
    which rows landed first, or on where a run was killed and resumed. Other columns are left as they are."""
    out = frame
    for col in frame.columns:
        if frame[col].dtype == object:
            values = [v for v in frame[col] if not _is_null(v)]
            if values and any(map(_is_number, values)) and all(_is_number(v) or _numeric_text(v) for v in values):
                if out is frame:
                    out = frame.copy()
                out[col] = np.array([np.nan if _is_null(v) else float(v) for v in frame[col]], dtype=np.float64)
    return out


def _arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns made storable: numbers as float64 (``_numeric_columns``), other mixed types (a stat that is a number
    for one solver and text for another) as text."""
    out = _numeric_columns(frame).copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if not _is_null(v)}
            if len(kinds) > 1:
                out[col] = [None if _is_null(v) else str(v) for v in out[col]]
    return out


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per solver: runs, median and max rc_error, medians of classical_rc_error, weight_distance (w_dist) and
    elapsed (time_s). Ground-state studies (``qrp.studies.ground_state``): runs, the fraction whose sample is a ground
    state (found), medians of p, p / p_uniform, TTS and wall time."""
    ok = frame[frame["status"] == "ok"]
    if ok.empty:  # every grid point failed: error rows lack the result columns (no KeyError, an empty summary)
        return pd.DataFrame(index=pd.Index([], name="solver"))
    if "ground_state_probability" in ok:
        return ok.groupby("solver", sort=False).agg(
            runs=("run_id", "size"), found=("found", "mean"), p_median=("ground_state_probability", "median"),
            p_over_uniform=("probability_ratio", "median"), tts_median=("tts", "median"), time_s=("elapsed", "median"),
        )
    return ok.groupby("solver", sort=False).agg(
        runs=("run_id", "size"), rc_median=("rc_error", "median"), rc_max=("rc_error", "max"),
        classical_rc=("classical_rc_error", "median"), w_dist=("weight_distance", "median"),
        time_s=("elapsed", "median"),
    )


__all__ = ["JOURNAL", "RUNS_CSV", "RUNS_PARQUET", "ResultTable", "column_order", "read_table", "summarize"]
