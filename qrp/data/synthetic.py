"""Synthetic covariance matrices, all seeded: the studies' market factor model (``factor_covariance``), the
benchmarks' Gaussian factor families (``gaussian_factor_covariance``) and small random test matrices
(``random_covariance``).

``factor_covariance``: a seeded linear factor model,

    S = B F B' + D,   B: (N, k) loadings,  F = diag(f_1^2, ..., f_k^2),  D = diag(d_1^2, ..., d_N^2)

Factor 1 is a market factor (volatility ``market_vol``, loadings N(1, 0.3^2), as equity betas); factors 2..k are
style/sector factors (volatility ``factor_vol``, loadings N(0, 1)); idiosyncratic volatilities d_i are uniform on
``idio_vol``. All in annualized units (0.16 = 16% a year). S is symmetric positive definite (D > 0), and the same
(N, seed, parameters) always gives the same matrix, bit for bit; the first N' < N assets of a seed are *not* the
N'-asset matrix of that seed (each N draws afresh), so studies name the pair (N, seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qrp.core.memory import check_memory
from qrp.core.validation import positive_int, positive_real


def _check_size(n: int, k: int) -> None:
    """``ValueError`` before allocating when the (n, k) loadings (three arrays of them live at once) and the (n, n)
    covariance (three: the product, its transpose sum and the result) would not fit in memory (``check_memory``):
    n_factors = 1e8 took 493 s and 7.4 GB, n = 200000 asked for 320 GB."""
    check_memory(8.0 * (3.0 * n * k + 3.0 * n * n), f"a {n}-asset, {k}-factor covariance")


def factor_covariance(
    n: int,
    *,
    n_factors: int = 3,
    seed: int = 0,
    market_vol: float = 0.16,
    factor_vol: float = 0.08,
    idio_vol: tuple[float, float] = (0.10, 0.30),
) -> pd.DataFrame:
    """An (n, n) annualized covariance from a k-factor model (see the module docstring), as a DataFrame labelled
    ``A0 .. A{n-1}``.

    Parameters
    ----------
    n : number of assets, >= 1.
    n_factors : k >= 1 (factor 1 is the market).
    seed : seed of ``numpy.random.default_rng``.
    market_vol, factor_vol : > 0, annualized factor volatilities.
    idio_vol : (lo, hi) with 0 < lo <= hi, range of the uniform idiosyncratic volatilities.
    """
    n = positive_int(n, "n")
    k = positive_int(n_factors, "n_factors")
    _check_size(n, k)
    market_vol = positive_real(market_vol, "market_vol")
    factor_vol = positive_real(factor_vol, "factor_vol")
    lo, hi = (positive_real(v, "idio_vol") for v in idio_vol)
    if lo > hi:
        raise ValueError(f"idio_vol must be (lo, hi) with lo <= hi, got {idio_vol!r}")
    rng = np.random.default_rng(seed)
    loadings = np.empty((n, k))
    loadings[:, 0] = rng.normal(1.0, 0.3, n)
    loadings[:, 1:] = rng.normal(0.0, 1.0, (n, k - 1))
    fvar = np.array([market_vol**2] + [factor_vol**2] * (k - 1))
    idio = rng.uniform(lo, hi, n)
    cov = (loadings * fvar) @ loadings.T + np.diag(idio**2)
    cov = 0.5 * (cov + cov.T)
    names = [f"A{i}" for i in range(n)]
    return pd.DataFrame(cov, index=names, columns=names)


def gaussian_factor_covariance(
    n: int,
    *,
    n_factors: int = 3,
    loading_scale: float = 0.2,
    loading_mean: float = 0.0,
    idiosyncratic: tuple[float, float] = (0.01, 0.1),
    scale: float = 1.0,
    seed: int | None = None,
) -> np.ndarray:
    """A random Gaussian factor-model covariance S = scale * (B B' + diag(d)), shape (n, n), positive definite.

    B is (n, n_factors) with i.i.d. N(loading_mean, loading_scale^2) entries and d_i ~ U(idiosyncratic) are
    idiosyncratic variances. ``loading_scale=0.2`` gives a strongly factor-driven matrix with mixed-sign
    correlations up to ~0.8 (the hard case for coordinate descent), ``loading_scale=0.05`` a weak-factor one, and a
    positive ``loading_mean`` a market-like factor (all assets positively correlated). Shrinking ``idiosyncratic``
    raises the condition number (about n * (loading_mean^2 + loading_scale^2) / min(d) for the top eigenvalue
    over the smallest); ``scale=1/252`` turns annualized into daily units.
    """
    n = positive_int(n, "n")
    n_factors = positive_int(n_factors, "n_factors")
    _check_size(n, n_factors)
    lo, hi = (positive_real(v, "idiosyncratic variance") for v in idiosyncratic)
    if lo > hi:
        raise ValueError(f"idiosyncratic must be a (low, high) pair with low <= high, got {idiosyncratic!r}")
    rng = np.random.default_rng(seed)
    loadings = rng.normal(float(loading_mean), positive_real(loading_scale, "loading_scale"), size=(n, n_factors))
    cov = loadings @ loadings.T
    cov.flat[:: n + 1] += rng.uniform(lo, hi, size=n)
    return cov * positive_real(scale, "scale")


def random_covariance(n: int, seed: int | None = None) -> np.ndarray:
    """A small random covariance for discrete-solver tests and benchmarks, shape (n, n), positive definite.

    Correlation from a 3-factor model C = normalize(L L' + diag(u)), L_ij ~ N(0, 1), u_i ~ U(0.5, 1.5), then
    volatilities sigma_i ~ U(0.1, 0.4): S = diag(sigma) C diag(sigma) (annualized-like units).
    """
    rng = np.random.default_rng(seed)
    load = rng.normal(size=(positive_int(n, "n"), 3))
    c = load @ load.T + np.diag(rng.uniform(0.5, 1.5, n))
    d = np.sqrt(np.diag(c))
    vol = rng.uniform(0.1, 0.4, n)
    return c / np.outer(d, d) * np.outer(vol, vol)
