"""Covariance estimators from a (T, N) table of periodic returns (rows: dates, columns: assets).

Every estimator returns an (N, N) positive semi-definite ``pandas.DataFrame`` labelled by asset, certified once
(``attrs[POSITIVE_DEFINITE]`` records whether it is strictly positive definite), **annualized explicitly**: the
per-period estimate is multiplied by ``periods_per_year`` (252 for daily returns, 52 weekly, 12 monthly, 1 to keep
per-period units). ``periods_per_year`` has no default, so the units are always stated.

Estimators (``estimate_covariance(returns, method=..., periods_per_year=...)``):

* ``"sample"``: S = X_c' X_c / (T - ddof), X_c the column-demeaned returns (``numpy.cov``).
* ``"ledoit_wolf"``: scikit-learn's ``LedoitWolf``, the optimal shrinkage to a scaled identity
  (1 - d) S_mle + d mu I, mu = tr(S_mle)/N (Ledoit & Wolf 2004, J. Multivariate Anal. 88:365-411).
* ``"ewma"``: RiskMetrics (J.P. Morgan 1996) exponentially weighted covariance with decay lambda:
  S_1 = r_1 r_1',  S_t = lambda S_{t-1} + (1 - lambda) r_t r_t'  (zero mean by default), i.e. weights
  lambda^(T-1) on r_1 and (1 - lambda) lambda^(T-t) on r_t, t >= 2, which sum to 1.
* ``"garch"``: GARCH(1,1) per asset, sigma_t^2 = omega + alpha eps_{t-1}^2 + beta sigma_{t-1}^2, fitted by the
  ``arch`` package (Gaussian quasi-likelihood, constant mean), with constant conditional correlation
  (Bollerslev 1990): S = D R D, D = diag of the one-step-ahead GARCH volatility forecasts, R the correlation of
  the standardized residuals eps_t / sigma_t.
* ``"dcc"``: the same univariate GARCH(1,1) fits, then dynamic conditional correlation DCC(1,1) (Engle 2002):
  S = D R_{T+1} D with R_{T+1} the one-step-ahead DCC correlation, a and b fitted by quasi-maximum likelihood on
  the standardized residuals (``qrp.data.dcc``); the fitted a, b are in ``attrs["dcc_a"]``, ``attrs["dcc_b"]``.
* ``"pca"``: statistical factor model with k factors: S = V_k Lambda_k V_k' + diag(S - V_k Lambda_k V_k'), the
  top-k eigenpairs of the sample covariance plus the specific (diagonal) residual variances, so the variances
  equal the sample ones and the matrix is positive definite when every specific variance is > 0.

Bad returns (``ValueError`` naming the problem and the value, before any work): non-numeric or non-2-D input,
inf, NaN (unless ``nan_policy="drop"``, which removes every date with a NaN in any asset and is documented as
listwise deletion), fewer observations than the estimator needs (``T > N`` for sample and EWMA, whose estimates
are singular otherwise; ``T >= 2`` for Ledoit-Wolf and PCA, which stay positive definite; ``T >= 100`` and
``T > N`` for GARCH and DCC), and constant columns (zero variance: no risk contribution is defined).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qrp.core.validation import as_float_array, check_psd_matrix, positive_int, positive_real
from qrp.data import ESTIMATORS
from qrp.data.dcc import dcc_correlations, fit_dcc

#: ``cov.attrs[POSITIVE_DEFINITE]`` of every estimate: True when its Cholesky factorization succeeded (strictly
#: positive definite, the certificate ``qrp.risk_parity(check_psd=True)`` runs), False when it is only positive
#: semi-definite (singular: the solver must still check that an ERC portfolio exists). It describes the matrix as
#: returned: a caller passing that very matrix on may skip the solver's certificate (``check_psd=False``) when
#: True, as the backtest does; nothing in qrp reads it from a matrix it did not just estimate.
POSITIVE_DEFINITE = "positive_definite"
#: The RiskMetrics decay for daily returns (J.P. Morgan/Reuters 1996, RiskMetrics Technical Document).
RISKMETRICS_DECAY = 0.94
#: Fewest observations accepted for a GARCH(1,1) fit (three parameters per asset by quasi-maximum likelihood).
GARCH_MIN_OBSERVATIONS = 100
#: Returns are scaled by this factor before the GARCH fit, as the ``arch`` documentation recommends for
#: optimizer conditioning; the forecast variance is scaled back.
_GARCH_SCALE = 100.0


def validate_returns(returns, *, nan_policy: str = "raise", min_observations: int = 2) -> pd.DataFrame:
    """Check a (T, N) returns table and return it as a float64 DataFrame (a copy; the input is not modified).

    Arrays get asset names ``"0"..."N-1"``. ``nan_policy``: ``"raise"`` (default) or ``"drop"`` (remove every
    row holding a NaN). Raises ``ValueError`` for non-2-D or non-numeric input, inf, NaN (``"raise"``), fewer than
    ``min_observations`` rows (after dropping) and constant columns.
    """
    if nan_policy not in ("raise", "drop"):
        raise ValueError(f"nan_policy must be 'raise' or 'drop', got {nan_policy!r}")
    frame = _returns_frame(returns)
    arr, names = frame.to_numpy(), list(frame.columns)
    if np.isinf(arr).any():
        r, c = np.argwhere(np.isinf(arr))[0]
        raise ValueError(f"returns contain inf at row {frame.index[r]}, asset {names[c]!r}")
    nan_rows = np.isnan(arr).any(axis=1)
    if nan_rows.any():
        if nan_policy == "raise":
            r, c = np.argwhere(np.isnan(arr))[0]
            raise ValueError(
                f"returns contain NaN at row {frame.index[r]}, asset {names[c]!r} "
                f"({int(nan_rows.sum())} rows with NaN; pass nan_policy='drop' to remove them)"
            )
        frame = frame.loc[~nan_rows]
    if len(frame) < min_observations:
        raise ValueError(
            f"too few observations: {len(frame)} rows for {frame.shape[1]} assets, this estimator needs at least "
            f"{min_observations}"
        )
    _check_usable(frame.to_numpy(), names)
    return frame


def _returns_frame(returns) -> pd.DataFrame:
    """``returns`` as a float64 (T, N) DataFrame (a copy), its index kept and its asset names as strings (arrays:
    ``"0"..."N-1"``); ValueError for non-2-D or non-numeric input, no assets, duplicate names."""
    if isinstance(returns, pd.DataFrame):
        index, names = returns.index, [str(c) for c in returns.columns]
    else:
        index, names = None, None
    arr = as_float_array(returns, "returns").astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"returns must be a 2-D (observations, assets) table, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"returns have no assets (shape {arr.shape})")
    if names is None:
        names = [str(i) for i in range(arr.shape[1])]
    if len(set(names)) != len(names):
        raise ValueError(f"returns have duplicate asset names: {sorted({n for n in names if names.count(n) > 1})}")
    return pd.DataFrame(arr, index=index, columns=names)


def _check_usable(values: np.ndarray, names: list[str]) -> None:
    """ValueError, naming the asset, when a column's sums of squares overflow float64 or a column is constant."""
    peak = np.max(np.abs(values), axis=0)
    too_big = peak**2 * len(values) > np.finfo(np.float64).max / 16  # sums of squares would overflow
    if too_big.any():
        k = int(np.argmax(too_big))
        raise ValueError(f"returns of asset {names[k]!r} reach {float(peak[k])!r}: their sums of squares overflow "
                         "float64, so no covariance estimate is usable; rescale the returns")
    constant = np.all(values == values[0], axis=0)
    if constant.any():
        bad = [names[i] for i in np.flatnonzero(constant)]
        value = float(values[0, constant][0])
        raise ValueError(f"returns of asset(s) {bad} are constant (value {value!r}): zero variance")


def _finish(matrix: np.ndarray, names, periods_per_year: float) -> pd.DataFrame:
    """Symmetrize, annualize, check as every covariance is checked (``validate_cov``: finite, variances >= the
    smallest normal float), certify PSD and label. Returns scaled by 1e160 overflow to inf and returns scaled by
    1e-160 (or ``periods_per_year=1e-320``) underflow to zero or subnormal variances: both are rejected here, as
    constant columns are, naming the asset, instead of returning a matrix no solver can use."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = (matrix + matrix.T) * (0.5 * periods_per_year)
    diag = np.diag(out)
    bad = ~np.isfinite(out).all(axis=0) | ~(diag >= np.finfo(np.float64).tiny)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"estimated covariance of asset {list(names)[k]!r} is not usable (variance {float(diag[k])!r}): the "
            "returns or periods_per_year are so large or small that the estimate over- or underflows float64; "
            "rescale the returns"
        )
    frame = pd.DataFrame(out, index=list(names), columns=list(names))
    frame.attrs[POSITIVE_DEFINITE] = check_psd_matrix(out, name="estimated covariance")
    return frame


def sample_covariance(returns, *, periods_per_year: float, ddof: int = 1, nan_policy: str = "raise") -> pd.DataFrame:
    """Sample covariance X_c' X_c / (T - ddof) times ``periods_per_year``; needs T > N observations."""
    ppy = positive_real(periods_per_year, "periods_per_year")
    ddof = positive_int(ddof, "ddof", minimum=0)
    n = _n_assets(returns)
    frame = validate_returns(returns, nan_policy=nan_policy, min_observations=max(n + 1, ddof + 1))
    return _finish(np.cov(frame.to_numpy(), rowvar=False, ddof=ddof).reshape(n, n), frame.columns, ppy)


def ledoit_wolf_covariance(returns, *, periods_per_year: float, nan_policy: str = "raise") -> pd.DataFrame:
    """scikit-learn's Ledoit-Wolf shrinkage estimate (demeaned returns) times ``periods_per_year``."""
    from sklearn.covariance import LedoitWolf  # optional heavy dependency (the "finance" extra): this estimator only

    ppy = positive_real(periods_per_year, "periods_per_year")
    frame = validate_returns(returns, nan_policy=nan_policy, min_observations=2)
    # no precision matrix: its pseudo-inverse (an O(N^3) eigendecomposition, the estimate's largest cost) is unused
    return _finish(LedoitWolf(store_precision=False).fit(frame.to_numpy()).covariance_, frame.columns, ppy)


def ewma_weights(n_obs: int, decay: float) -> np.ndarray:
    """Weights of r_1 ... r_T in the RiskMetrics recursion: lambda^(T-1), then (1-lambda) lambda^(T-t); sum 1."""
    w = (1.0 - decay) * decay ** np.arange(n_obs - 1, -1, -1, dtype=np.float64)
    w[0] = decay ** (n_obs - 1)
    return w


def ewma_covariance(
    returns, *, periods_per_year: float, decay: float = RISKMETRICS_DECAY, demean: bool = False,
    nan_policy: str = "raise",
) -> pd.DataFrame:
    """RiskMetrics EWMA covariance S_T (see the module docstring) times ``periods_per_year``; needs T > N.

    ``decay`` lambda in (0, 1); ``demean=True`` subtracts the column means first (RiskMetrics assumes zero mean).
    """
    ppy = positive_real(periods_per_year, "periods_per_year")
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be in (0, 1), got {decay!r}")
    frame = validate_returns(returns, nan_policy=nan_policy, min_observations=_n_assets(returns) + 1)
    x = frame.to_numpy()
    if demean:
        x = x - x.mean(axis=0)
    w = ewma_weights(x.shape[0], float(decay))
    return _finish((x * w[:, None]).T @ x, frame.columns, ppy)


def garch_residuals(returns, *, nan_policy: str = "raise") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Univariate GARCH(1,1) fits of each asset: (the validated returns, the (T, N) standardized residuals
    eps_t / sigma_t, the (N,) one-step-ahead volatility forecasts in the returns' units). Needs
    T >= ``GARCH_MIN_OBSERVATIONS`` and T > N. Each fit uses ``arch.arch_model(100 r, mean="Constant",
    vol="GARCH", p=1, q=1, dist="normal")``; a fit whose optimizer does not converge raises ``ValueError`` naming
    the asset."""
    from arch import arch_model  # optional heavy dependency (the "finance" extra), before any other work

    n = _n_assets(returns)
    frame = validate_returns(returns, nan_policy=nan_policy, min_observations=max(GARCH_MIN_OBSERVATIONS, n + 1))
    x = frame.to_numpy() * _GARCH_SCALE
    z = np.empty_like(x)
    vol_next = np.empty(x.shape[1])
    for j, name in enumerate(frame.columns):
        res = arch_model(x[:, j], mean="Constant", vol="GARCH", p=1, q=1, dist="normal").fit(disp="off")
        if res.convergence_flag != 0:
            raise ValueError(f"GARCH(1,1) fit of asset {name!r} did not converge (flag {res.convergence_flag})")
        z[:, j] = res.resid / res.conditional_volatility
        vol_next[j] = np.sqrt(float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]))
    return frame, z, vol_next / _GARCH_SCALE


def garch_ccc_covariance(returns, *, periods_per_year: float, nan_policy: str = "raise") -> pd.DataFrame:
    """GARCH(1,1) constant-conditional-correlation covariance of the next period, times ``periods_per_year``
    (``garch_residuals`` fits each asset; T >= ``GARCH_MIN_OBSERVATIONS`` and T > N)."""
    ppy = positive_real(periods_per_year, "periods_per_year")
    frame, z, d = garch_residuals(returns, nan_policy=nan_policy)
    n = frame.shape[1]
    corr = np.corrcoef(z, rowvar=False).reshape(n, n)
    return _finish(corr * np.outer(d, d), frame.columns, ppy)


def garch_dcc_covariance(returns, *, periods_per_year: float, nan_policy: str = "raise") -> pd.DataFrame:
    """GARCH(1,1)-DCC(1,1) covariance of the next period (Engle 2002), times ``periods_per_year``: S = D R_{T+1} D,
    D the GARCH volatility forecasts (``garch_residuals``), R_{T+1} the DCC correlation forecast with a, b fitted
    by ``qrp.data.dcc.fit_dcc`` (recorded in ``attrs["dcc_a"]``, ``attrs["dcc_b"]``). Needs N >= 2, T >= 100, T > N.
    """
    ppy = positive_real(periods_per_year, "periods_per_year")
    if _n_assets(returns) < 2:
        raise ValueError(f"method='dcc' needs at least 2 assets, got {_n_assets(returns)}")
    frame, z, d = garch_residuals(returns, nan_policy=nan_policy)
    a, b, _ = fit_dcc(z)
    _, corr = dcc_correlations(z, a, b)
    out = _finish(corr * np.outer(d, d), frame.columns, ppy)
    out.attrs.update(dcc_a=a, dcc_b=b)
    return out


def pca_factor_covariance(
    returns, *, periods_per_year: float, n_factors: int = 3, nan_policy: str = "raise"
) -> pd.DataFrame:
    """PCA statistical factor model with ``n_factors`` (1 <= k < N) factors, times ``periods_per_year``.

    S = V_k Lambda_k V_k' + diag(S - V_k Lambda_k V_k') with S the sample covariance (ddof=1).
    """
    ppy = positive_real(periods_per_year, "periods_per_year")
    n = _n_assets(returns)
    k = positive_int(n_factors, "n_factors")
    if k >= n:
        raise ValueError(f"n_factors must be smaller than the number of assets {n}, got {k}")
    frame = validate_returns(returns, nan_policy=nan_policy, min_observations=2)
    s = np.cov(frame.to_numpy(), rowvar=False).reshape(n, n)
    eig, vec = np.linalg.eigh(s)
    vk, lk = vec[:, -k:], np.clip(eig[-k:], 0.0, None)
    systematic = (vk * lk) @ vk.T
    specific = np.clip(np.diag(s) - np.diag(systematic), 0.0, None)
    return _finish(systematic + np.diag(specific), frame.columns, ppy)


#: The declared option table of the estimators: method -> (function, keyword options besides periods_per_year).
#: Each function validates its own values; ``estimate_covariance`` refuses names outside the table.
ESTIMATOR_OPTIONS = {
    "sample": (sample_covariance, ("ddof", "nan_policy")),
    "ledoit_wolf": (ledoit_wolf_covariance, ("nan_policy",)),
    "ewma": (ewma_covariance, ("decay", "demean", "nan_policy")),
    "garch": (garch_ccc_covariance, ("nan_policy",)),
    "dcc": (garch_dcc_covariance, ("nan_policy",)),
    "pca": (pca_factor_covariance, ("n_factors", "nan_policy")),
}


def estimator_covariance(estimator, returns, *, periods_per_year: float, nan_policy: str = "raise") -> pd.DataFrame:
    """Covariance from any scikit-learn-style estimator object: a clone is fitted to the (T, N) returns and its
    ``covariance_`` (scikit-learn and skfolio covariance estimators) or ``return_distribution_.covariance`` (skfolio
    priors) is annualized by ``periods_per_year``. The caller's estimator is never fitted."""
    from sklearn.base import clone  # optional heavy dependency (finance extra)

    ppy = positive_real(periods_per_year, "periods_per_year")
    frame = validate_returns(returns, nan_policy=nan_policy, min_observations=2)
    fitted = clone(estimator).fit(frame.to_numpy())
    cov = getattr(fitted, "covariance_", None)
    if cov is None and hasattr(fitted, "return_distribution_"):
        cov = fitted.return_distribution_.covariance
    if cov is None:
        raise ValueError(f"covariance method {type(estimator).__name__} set neither covariance_ nor "
                         "return_distribution_ when fitted")
    return _finish(np.asarray(cov, dtype=np.float64), frame.columns, ppy)


def estimate_covariance(returns, *, method="sample", periods_per_year: float, **options) -> pd.DataFrame:
    """Dispatch to one estimator of ``ESTIMATORS`` by name (``options`` are that estimator's keyword arguments,
    ``ESTIMATOR_OPTIONS``), or to ``estimator_covariance`` when ``method`` is an estimator object (anything with a
    ``fit`` method)."""
    if not isinstance(method, str) and callable(getattr(method, "fit", None)):
        unknown = sorted(set(options) - {"nan_policy"})
        if unknown:
            raise ValueError(f"an estimator object takes only the option nan_policy, got {unknown}")
        return estimator_covariance(method, returns, periods_per_year=periods_per_year, **options)
    try:
        func, allowed = ESTIMATOR_OPTIONS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown covariance method {method!r}; available: {', '.join(ESTIMATORS)}") from None
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"covariance method {method!r} does not take option(s) {unknown}; it takes {list(allowed)}")
    return func(returns, periods_per_year=periods_per_year, **options)


def _n_assets(returns) -> int:
    shape = np.shape(returns)
    if len(shape) != 2:
        raise ValueError(f"returns must be a 2-D (observations, assets) table, got shape {shape}")
    return int(shape[1])
