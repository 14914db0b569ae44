"""The configurations of a study's results table: its grid axes, the groups of rows that share every axis value
(one grid configuration, over covariance instances and seeds), their labels and medians. Used by the report's
tables and plots."""

from __future__ import annotations

import pandas as pd

from qrp.studies.statistics import grouped_intervals


def grid_axes(frame: pd.DataFrame) -> list[str]:
    """Grid-axis columns: n_assets, bits, rounds, reps and every other solver option (``opt.*``)."""
    extra = [c for c in frame.columns if c.startswith("opt.") and c[4:] not in ("bits", "rounds", "reps")]
    return ["n_assets", "bits", "rounds", "reps", *extra]


def varying(frame: pd.DataFrame, cols: list[str]) -> list[str]:
    """The columns of ``cols`` that take more than one value in ``frame`` (NaN counted as a value)."""
    return [c for c in cols if c in frame.columns and frame[c].astype(str).nunique(dropna=False) > 1]


def config_label(keys: tuple, cols: list[str]) -> str:
    """``N=4, bits=3, ...`` for a configuration (options left at the solver's default are not named)."""
    parts = []
    for c, v in zip(cols, keys, strict=True):
        if v == "default":
            continue
        name = c.removeprefix("opt.").replace("n_assets", "N").replace("reps", "p")
        parts.append(f"{name}={fmt_value(v)}")
    return ", ".join(parts)


def fmt_value(v) -> str:
    """A grid value as text: integral floats without their ".0"."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def with_defaults(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """A copy of ``frame`` whose NaN values in the ``keys`` columns (an option a solver does not take) read
    "default", so that they stay a group of their own instead of vanishing from a groupby."""
    filled = frame.copy()
    for k in keys:
        filled[k] = filled[k].astype(object).where(filled[k].notna(), "default")
    return filled


def _columns(frame: pd.DataFrame, keys: list[str], y: str) -> pd.DataFrame:
    """The ``keys`` and ``y`` columns of ``frame``: what a configuration's statistic reads (copying and grouping
    the whole table, 100 columns, cost 3x as much for the same numbers)."""
    return frame[list(dict.fromkeys([*keys, y]))]


def config_medians(frame: pd.DataFrame, keys: list[str], y: str) -> pd.DataFrame:
    """Per configuration (the distinct values of ``keys``): the median of ``y``."""
    filled = with_defaults(_columns(frame, keys, y), keys)
    return filled.groupby(keys, sort=True, dropna=False)[y].median().reset_index()


def config_intervals(frame: pd.DataFrame, keys: list[str], y: str) -> pd.DataFrame:
    """Per configuration: the median of ``y`` over instances and seeds with its bootstrap 95% interval."""
    return grouped_intervals(with_defaults(_columns(frame, keys, y), keys), keys, y)


def interval_label(frame: pd.DataFrame, axes: list[str]) -> str:
    """What a point and its bars are: "median, 95% CI" when some configuration has several runs (covariance
    instances or seeds), "one run per point" when none has (an interval of one value is no interval)."""
    keys = [a for a in ["solver", *axes] if a in frame]
    runs = frame.groupby(keys, dropna=False).size() if keys else pd.Series([len(frame)])
    return "median, 95% CI" if (runs > 1).any() else "one run per point"


__all__ = ["config_intervals", "config_label", "config_medians", "fmt_value", "grid_axes", "interval_label",
           "varying", "with_defaults"]
