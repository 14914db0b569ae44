"""Offline return data: the S&P 500 sample bundled in skfolio's wheel, and users' CSV files of prices or returns.

Nothing is downloaded. ``load_sp500_prices`` reads ``sp500_dataset.csv.gz``, which ships inside the skfolio wheel
(daily adjusted closes of 20 S&P 500 constituents, 1990-01-02 to 2022-12-28, 8313 dates; install with
``pip install qrp[data]``); skfolio itself flags the data as stale and for examples only.

Prices P_t become simple returns r_t = P_t / P_{t-1} - 1 (``kind="simple"``, the default: portfolio returns are
then w' r_t) or log returns log(P_t / P_{t-1}) (``kind="log"``); the first date is dropped.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.validation import as_float_array

RETURN_KINDS = ("simple", "log")
#: The file skfolio ships in its wheel (skfolio >= 0.7).
SP500_FILE = "sp500_dataset.csv.gz"


def load_sp500_prices() -> pd.DataFrame:
    """Daily prices of 20 S&P 500 stocks (dates x tickers), from skfolio's bundled file (no network).

    The gzip CSV is read straight from the installed skfolio package (``skfolio/datasets/data``), the same file
    and parsing as ``skfolio.datasets.load_sp500_dataset``, because importing skfolio itself pulls in cvxpy and
    jax (seconds of start-up); if the file is not at that place the skfolio loader is called instead.
    """
    spec = importlib.util.find_spec("skfolio")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the S&P 500 dataset needs skfolio: pip install 'qrp[data]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / SP500_FILE
    if path.is_file():
        prices = pd.read_csv(path, sep=",", index_col=0)
    else:  # pragma: no cover - a skfolio release that moved its data
        from skfolio.datasets import load_sp500_dataset

        prices = load_sp500_dataset()
    prices.index = pd.DatetimeIndex(pd.to_datetime(prices.index, format="%Y-%m-%d"), name="date")
    prices.columns = [str(c) for c in prices.columns]
    return prices


def load_sp500_returns(*, start=None, end=None, kind: str = "simple") -> pd.DataFrame:
    """Returns of the bundled S&P 500 prices between ``start`` and ``end`` (inclusive dates or None)."""
    prices = load_sp500_prices()
    return select_dates(prices_to_returns(prices, kind=kind), start=start, end=end)


def prices_to_returns(prices, *, kind: str = "simple") -> pd.DataFrame:
    """(T, N) prices -> (T-1, N) simple or log returns; the caller's frame is not modified.

    ``ValueError`` for an unknown ``kind``, fewer than 2 dates, and NaN, inf or non-positive prices (naming the
    date and asset).
    """
    if kind not in RETURN_KINDS:
        raise ValueError(f"kind must be one of {RETURN_KINDS}, got {kind!r}")
    frame = _numeric_frame(prices, "prices")
    values = frame.to_numpy()
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"prices must be finite and > 0; got {float(values[r, c])!r} at {frame.index[r]}, "
            f"asset {frame.columns[c]!r}"
        )
    if len(frame) < 2:
        raise ValueError(f"prices need at least 2 dates to give returns, got {len(frame)}")
    ratio = values[1:] / values[:-1]
    out = np.log(ratio) if kind == "log" else ratio - 1.0
    return pd.DataFrame(out, index=frame.index[1:], columns=frame.columns)


def read_csv(path, *, kind: str = "prices", date_column: str | int = 0, return_kind: str = "simple") -> pd.DataFrame:
    """A user's CSV of ``kind="prices"`` or ``kind="returns"`` with one date column and one column per asset.

    Dates are parsed, must be unique, and are sorted ascending. Prices are converted with ``prices_to_returns``
    (``return_kind``); returns are checked to be numeric and > -1 (a simple return below -100% is impossible).
    Returns a (T, N) float64 returns DataFrame indexed by date.
    """
    if kind not in ("prices", "returns"):
        raise ValueError(f"kind must be 'prices' or 'returns', got {kind!r}")
    if not Path(str(path)).is_file():
        raise ValueError(f"CSV file not found: {path}")
    raw = pd.read_csv(path)
    if isinstance(date_column, int):
        if not 0 <= date_column < raw.shape[1]:
            raise ValueError(f"date_column {date_column} is out of range for {raw.shape[1]} columns")
        date_column = raw.columns[date_column]
    if date_column not in raw.columns:
        raise ValueError(f"date column {date_column!r} is not one of the {raw.shape[1]} columns of {path}")
    dates = parse_dates(raw.pop(date_column), f"{path}: the date column")
    if dates.duplicated().any():
        raise ValueError(f"duplicate dates in {path}: {dates[dates.duplicated()].iloc[0]}")
    frame = raw.set_axis(pd.DatetimeIndex(dates, name="date")).sort_index()
    if kind == "prices":
        return prices_to_returns(frame, kind=return_kind)
    frame = _numeric_frame(frame, "returns")
    low = frame.to_numpy() <= -1.0
    if low.any():
        r, c = np.argwhere(low)[0]
        raise ValueError(f"returns must be > -1; got {float(frame.iat[r, c])!r} at {frame.index[r]}, "
                         f"asset {frame.columns[c]!r}")
    return frame


def parse_dates(values: pd.Series, what: str) -> pd.Series:
    """``values`` parsed as dates; ``ValueError`` naming ``what`` and the first row (1-based, after the header) that
    is not a date, never the row's text (a file passed by mistake, say one holding ``API_KEY=...``, must not be
    echoed to the terminal)."""
    try:
        return pd.to_datetime(values)
    except (ValueError, TypeError, OverflowError):
        pass
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    row = f"row {int(bad[0]) + 1}" if bad.size else "a row"
    raise ValueError(f"{what}: {row} is not a date (type {type(values.iloc[bad[0] if bad.size else 0]).__name__})")


def select_dates(frame: pd.DataFrame, *, start=None, end=None) -> pd.DataFrame:
    """Rows with start <= date <= end (either may be None); ``ValueError`` if none remain."""
    out = frame.loc[pd.Timestamp(start) if start is not None else None: pd.Timestamp(end) if end is not None else None]
    if out.empty:
        raise ValueError(f"no dates between start={start!r} and end={end!r} (data cover {frame.index[0]} to "
                         f"{frame.index[-1]})")
    return out


def _numeric_frame(data, what: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame (dates x assets), got {type(data).__name__}")
    arr = as_float_array(data, what).astype(np.float64)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"{what} must have at least one asset column, got shape {arr.shape}")
    return pd.DataFrame(arr, index=data.index, columns=[str(c) for c in data.columns])
