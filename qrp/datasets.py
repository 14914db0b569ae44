"""Bundled example data and readers for user files (offline: nothing is downloaded)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
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


def factor_covariance(
    n: int,
    *,
    n_factors: int = 3,
    loading_scale: float = 0.2,
    loading_mean: float = 0.0,
    idiosyncratic: tuple[float, float] = (0.01, 0.1),
    scale: float = 1.0,
    seed: int | None = None,
) -> np.ndarray:
    """A random factor-model covariance S = scale * (B B' + diag(d)), shape (n, n), positive definite.

    B is (n, n_factors) with i.i.d. N(loading_mean, loading_scale^2) entries and d_i ~ U(idiosyncratic) are
    idiosyncratic variances. ``loading_scale=0.2`` gives a strongly factor-driven matrix with mixed-sign
    correlations up to ~0.8 (the hard case for coordinate descent), ``loading_scale=0.05`` a weak-factor one, and a
    positive ``loading_mean`` a market-like factor (all assets positively correlated). Shrinking ``idiosyncratic``
    raises the condition number (about n * (loading_mean^2 + loading_scale^2) / min(d) for the top eigenvalue
    over the smallest); ``scale=1/252`` turns annualized into daily units.
    """
    from qrp.validation import positive_int, positive_real

    n = positive_int(n, "n")
    n_factors = positive_int(n_factors, "n_factors")
    lo, hi = (positive_real(v, "idiosyncratic variance") for v in idiosyncratic)
    if lo > hi:
        raise ValueError(f"idiosyncratic must be a (low, high) pair with low <= high, got {idiosyncratic!r}")
    rng = np.random.default_rng(seed)
    loadings = rng.normal(float(loading_mean), positive_real(loading_scale, "loading_scale"), size=(n, n_factors))
    cov = loadings @ loadings.T
    cov.flat[:: n + 1] += rng.uniform(lo, hi, size=n)
    return cov * positive_real(scale, "scale")
