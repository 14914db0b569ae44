"""Bundled example data and readers for user files (offline: nothing is downloaded)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd


def example_covariance() -> pd.DataFrame:
    """An illustrative annualized covariance of 8 asset classes (US, international and EM equity, US Treasuries,
    corporate bonds, commodities, gold, REITs), built from round-number volatilities (5%-22%) and correlations.
    Not estimated from data: use it for examples and smoke tests."""
    return read_covariance_csv(files("qrp") / "data" / "example_cov.csv")


def read_covariance_csv(path) -> pd.DataFrame:
    """A covariance matrix from CSV: the first column and the header row hold the asset names."""
    if not Path(str(path)).exists():
        raise ValueError(f"covariance file not found: {path}")
    frame = pd.read_csv(path, index_col=0)
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    return frame

