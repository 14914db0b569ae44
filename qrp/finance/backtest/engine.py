"""Dynamic risk parity backtest: rolling re-estimation and rebalancing, transaction costs, metrics and plots.

The engine of ``qrp backtest CONFIG.toml [--out DIR]`` and ``run_backtest``. Contract:

* Returns R are simple daily (periodic) returns, (T, N). Rebalance days are the first day of each period
  (``"daily"``, ``"weekly"`` ISO weeks, ``"monthly"``) with at least ``window`` earlier days. At rebalance day p the
  covariance is estimated from rows p - window ... p - 1 only (no look-ahead) and the new target weights earn
  R[p] onwards.
* Between rebalances the holdings drift with prices: starting from target w at the open of day p, after days
  p..q the value of asset i is w_i prod_{s=p..q} (1 + R[s, i]); the drifted weights are these values over their sum.
* Turnover at a rebalance is sum_i |w_target,i - w_drift,i| (two-way; the first allocation from cash counts
  sum_i w_i = 1). Costs are ``cost_bps`` / 1e4 times turnover, paid from wealth before investing, so the first day's
  return is (1 - c)(1 + w'R[p]) - 1.
* Leverage and target volatility (a risk_parity strategy with ``leverage`` or ``target_volatility`` in its params,
  the latter annualized like the covariance): the targets then sum to L = sum_i w_i != 1, and the remainder 1 - L is
  cash earning the risk-free rate, ``risk_free_rate`` / ``periods_per_year`` per day (borrowed at that rate when
  L > 1), compounded daily until the next rebalance: wealth after days p..q is
  sum_i w_i prod (1 + R[s, i]) + (1 - L)(1 + r_f / ppy)^(q - p + 1). A wealth <= 0 is a ``ValueError``.
* Wealth is V_t = prod_{s <= t} (1 + r_s) with the daily portfolio return r_s above, V_0 = 1.
* Metrics per strategy (ppy = ``periods_per_year``): annualized return V_T^(ppy/T) - 1; annualized volatility
  std(r) sqrt(ppy) (ddof 1); Sharpe (mean(r) - r_f/ppy) ppy / volatility; maximum drawdown
  max_t (1 - V_t / max_{s <= t} V_s) with V_0 = 1 included; annual turnover (sum of turnover after the first
  allocation, per year); total cost; average rc_error max_i |RC_i/sum RC - b_i| of the target weights under the
  estimated covariance (b = the strategy's risk budgets, 1/N unless a risk_parity strategy sets ``budgets``).
* Regime-specific covariance (a strategy with ``regime = true``): by default the signal is the annualized
  volatility of the equal-weight portfolio over the trailing ``signal_window`` days; a day is "stress" when it
  exceeds ``threshold``, else "calm" (``[regime] method = "markov"`` or ``"labels"``: a Markov-switching model or
  the user's labels, ``qrp.finance.regimes``). At rebalance day p the regime is that of day p - 1, and the
  covariance is estimated from the days among the last ``lookback`` (before p) that share this regime; when fewer than
  ``min_observations`` such days exist it falls back to the plain ``window`` (recorded per rebalance).
* Each estimated covariance is certified once, by the estimator (``qrp.data.covariance``: Cholesky, recorded in
  ``attrs[POSITIVE_DEFINITE]``): a risk_parity strategy then solves a strictly positive definite estimate with
  ``check_psd=False``, and a singular PSD one with the solver's eigenvalue and ERC-existence checks.
* Every random thing is seeded: the solver seed of rebalance k of strategy j derives from the config seed by
  ``numpy.random.SeedSequence([seed, j, k])``.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.measures import contributions_kernel, rc_error_kernel
from qrp.core.validation import validate_budgets
from qrp.data.covariance import POSITIVE_DEFINITE, estimate_covariance
from qrp.finance.backtest.config import REBALANCE_FREQUENCIES, BacktestConfig, config_to_dict
from qrp.finance.regimes import RegimeLabeller
from qrp.finance.strategies import compute_weights

#: progress: a line every tenth of the rebalance dates (``qrp backtest`` shows them on stderr).
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BacktestResult:
    """Output of ``run_backtest``.

    returns : daily portfolio returns, dates x strategies (net of costs).
    weights / risk_shares : per strategy, rebalance dates x assets: target weights and their risk shares
        RC_i / sum RC under the covariance estimated at that date.
    rebalances : one row per (strategy, rebalance date): turnover, cost, rc_error, converged, regime,
        n_observations (rows used by the estimator), elapsed (seconds to compute the weights).
    metrics : strategies x metrics (see the module docstring).
    config : the config as a dict. seed : the config seed. elapsed : wall time of the backtest in seconds.
    """

    returns: pd.DataFrame
    weights: dict[str, pd.DataFrame]
    risk_shares: dict[str, pd.DataFrame]
    rebalances: pd.DataFrame
    metrics: pd.DataFrame
    config: dict[str, Any]
    seed: int | None
    elapsed: float

    @property
    def equity(self) -> pd.DataFrame:
        """Wealth V_t = prod (1 + r_s), V_0 = 1."""
        return (1.0 + self.returns).cumprod()


def rebalance_positions(index: pd.DatetimeIndex, frequency: str, window: int) -> np.ndarray:
    """Row positions p >= window that open a new day / ISO week / month."""
    if frequency not in REBALANCE_FREQUENCIES:
        raise ValueError(f"rebalance must be one of {REBALANCE_FREQUENCIES}, got {frequency!r}")
    if frequency == "daily":
        starts = np.arange(len(index))
    else:
        period = index.to_period("W" if frequency == "weekly" else "M").to_numpy()
        starts = np.flatnonzero(np.concatenate([[True], period[1:] != period[:-1]]))
    return starts[starts >= window]


def simulate(returns: np.ndarray, positions: np.ndarray, targets: np.ndarray, cost_rate: float,
             cash_rate: float = 0.0):
    """Portfolio accounting of the module docstring.

    returns (T, N) simple returns; positions (K,) rebalance rows; targets (K, N) target weights; cost_rate = bps/1e4;
    cash_rate: per-period rate earned by the cash 1 - sum(w) of each target (paid on borrowing when sum(w) > 1).
    Returns (daily portfolio returns for rows positions[0]..T-1, turnover per rebalance (K,)).
    """
    t_end = returns.shape[0]
    bounds = np.append(positions, t_end)
    out = np.empty(t_end - positions[0])
    turnover = np.empty(len(positions))
    drift = np.zeros(returns.shape[1])
    for k, (p, q) in enumerate(itertools.pairwise(bounds)):
        w = targets[k]
        turnover[k] = np.abs(w - drift).sum()
        values = w * np.cumprod(1.0 + returns[p:q], axis=0)
        cash = (1.0 - w.sum()) * (1.0 + cash_rate) ** np.arange(1, q - p + 1)
        wealth = values.sum(axis=1) + cash
        if np.any(wealth <= 0):
            row = p + int(np.argmax(wealth <= 0))
            raise ValueError(f"the leveraged portfolio is wiped out (wealth <= 0) at row {row}")
        daily = wealth / np.concatenate([[1.0], wealth[:-1]]) - 1.0
        daily[0] = (1.0 - cost_rate * turnover[k]) * (1.0 + daily[0]) - 1.0
        out[p - positions[0]: q - positions[0]] = daily
        drift = values[-1] / wealth[-1]
    return out, turnover


def performance_metrics(daily: np.ndarray, *, periods_per_year: float, risk_free_rate: float = 0.0) -> dict:
    """Annualized return, volatility, Sharpe and maximum drawdown of daily simple returns."""
    wealth = np.cumprod(1.0 + daily)
    vol = float(np.std(daily, ddof=1) * np.sqrt(periods_per_year))
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))
    return {
        "annualized_return": float(wealth[-1] ** (periods_per_year / len(daily)) - 1.0),
        "annualized_volatility": vol,
        "sharpe": float((daily.mean() - risk_free_rate / periods_per_year) * periods_per_year / vol),
        "max_drawdown": float(np.max(1.0 - np.concatenate([[1.0], wealth]) / peak)),
        "final_wealth": float(wealth[-1]),
    }


def _cov_sample(r: np.ndarray, p: int, cfg: BacktestConfig, regimes: RegimeLabeller | None) -> tuple[np.ndarray, str]:
    """Rows used to estimate the covariance at rebalance row p, and the regime label."""
    if regimes is None:
        return r[p - cfg.window: p], "all"
    start = max(0, p - cfg.regime.lookback)
    labels = regimes.window(p, start)
    label = str(labels[-1])
    same = np.flatnonzero(labels == labels[-1]) + start
    if len(same) < cfg.regime.min_observations:
        return r[p - cfg.window: p], f"{label}-fallback"
    return r[same], label


def _certified(kind: str, params: dict[str, Any], definite: bool) -> dict[str, Any]:
    """A risk_parity strategy's params with ``check_psd=False`` when the estimator's Cholesky certificate of this
    very covariance succeeded (strictly positive definite), so that each covariance is certified once, not twice;
    a singular PSD estimate keeps the solver's checks (eigenvalues and ERC existence), and so does a strategy
    that sets ``check_psd`` itself."""
    if kind != "risk_parity" or not definite or "check_psd" in params:
        return params
    return {**params, "check_psd": False}


def run_backtest(returns: pd.DataFrame, config: BacktestConfig) -> BacktestResult:
    """Run every strategy of ``config`` on ``returns`` (dates x assets, simple returns, no NaN)."""
    start_time = time.perf_counter()
    r = _checked_returns(returns)
    positions = rebalance_positions(returns.index, config.rebalance, config.window)
    if len(positions) == 0:
        raise ValueError(f"no rebalance date: {len(returns)} rows but window = {config.window}")
    targets, share, info_rows = _rebalance_weights(returns, r, positions, config, start_time)
    dates = returns.index[positions]
    names = [str(c) for c in returns.columns]
    ppy = float(config.periods_per_year)
    daily, weights, shares, rows = {}, {}, {}, []
    for j, s in enumerate(config.strategies):
        port, turnover = simulate(r, positions, targets[j], config.cost_bps * 1e-4, config.risk_free_rate / ppy)
        for k, row in enumerate(info_rows[j]):
            row.update(turnover=float(turnover[k]), cost=float(turnover[k] * config.cost_bps * 1e-4))
        rows.extend(info_rows[j])
        daily[s.name] = port
        weights[s.name] = pd.DataFrame(targets[j], index=dates, columns=names)
        shares[s.name] = pd.DataFrame(share[j], index=dates, columns=names)

    out_returns = pd.DataFrame(daily, index=returns.index[positions[0]:])
    out_returns.index.name = "date"
    reb = pd.DataFrame(rows)
    return BacktestResult(
        returns=out_returns, weights=weights, risk_shares=shares, rebalances=reb,
        metrics=_metrics(out_returns, reb, config), config=config_to_dict(config), seed=config.seed,
        elapsed=time.perf_counter() - start_time,
    )


def _checked_returns(returns: pd.DataFrame) -> np.ndarray:
    """The returns as a float64 array, after refusing a frame without strictly increasing dates, NaN / inf, or a
    simple return <= -1 (naming the date and asset)."""
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise ValueError("returns must be a DataFrame indexed by dates (DatetimeIndex)")
    if not returns.index.is_monotonic_increasing or returns.index.has_duplicates:
        raise ValueError("returns dates must be strictly increasing")
    r = returns.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(r)):
        i, j = np.argwhere(~np.isfinite(r))[0]
        raise ValueError(f"returns contain NaN or inf at {returns.index[i]}, asset {returns.columns[j]!r}")
    if (r <= -1).any():
        i, j = np.argwhere(r <= -1)[0]
        raise ValueError(f"simple returns must be > -1; got {r[i, j]!r} at {returns.index[i]}")
    return r


def _rebalance_weights(returns: pd.DataFrame, r: np.ndarray, positions, config: BacktestConfig, start_time: float):
    """(target weights, risk shares: (strategies, dates, assets), per-strategy rebalance rows) of every strategy at
    every rebalance date."""
    names = [str(c) for c in returns.columns]
    n = len(names)
    ppy = float(config.periods_per_year)
    regimes = None
    if config.regime is not None:
        rc = config.regime
        regimes = RegimeLabeller(r, returns.index, method=rc.method, signal_window=rc.signal_window,
                                 threshold=rc.threshold, periods_per_year=ppy, labels=rc.labels)
    n_strat, n_reb = len(config.strategies), len(positions)
    budgets = [validate_budgets(s.params.get("budgets"), n) if s.kind == "risk_parity" else np.full(n, 1.0 / n)
               for s in config.strategies]
    targets = np.empty((n_strat, n_reb, n))
    share = np.empty((n_strat, n_reb, n))
    info_rows: list[list[dict[str, Any]]] = [[] for _ in range(n_strat)]
    dates = returns.index[positions]
    # rebalance dates outside, strategies inside: the estimates of one date are shared by the strategies that use
    # the same estimator and dropped afterwards, and a bad option of any strategy fails at the first date
    step = max(1, n_reb // 10)
    for k, p in enumerate(positions):
        if k % step == 0 and k:
            log.info("backtest: rebalance date %d/%d (%s), %d strategies, %.0f s", k, n_reb, dates[k].date(),
                     n_strat, time.perf_counter() - start_time)
        cache: dict[tuple, tuple[np.ndarray, np.ndarray, str, bool]] = {}
        for j, s in enumerate(config.strategies):
            est = s.estimator or config.estimator
            opts = config.estimator_options if s.estimator_options is None else s.estimator_options
            key = (est, json.dumps(opts, sort_keys=True), s.regime)
            if key not in cache:
                sample, label = _cov_sample(r, int(p), config, regimes if s.regime else None)
                cov = estimate_covariance(pd.DataFrame(sample, columns=names), method=est, periods_per_year=ppy,
                                          **opts)
                cache[key] = (cov.to_numpy(), sample, label, cov.attrs[POSITIVE_DEFINITE])
            cov, sample, label, definite = cache[key]
            seed = None if config.seed is None else int(
                np.random.SeedSequence([config.seed, j, k]).generate_state(1)[0])
            t0 = time.perf_counter()
            w, info = compute_weights(s.kind, cov=cov, returns=sample, periods_per_year=ppy, seed=seed,
                                      **_certified(s.kind, s.params, definite))
            elapsed = time.perf_counter() - t0
            rc = contributions_kernel(w, cov)
            targets[j, k], share[j, k] = w, rc / rc.sum()
            info_rows[j].append({"strategy": s.name, "date": dates[k], "rc_error": rc_error_kernel(rc, budgets[j]),
                                 "converged": bool(info.get("converged", True)), "regime": label,
                                 "n_observations": len(sample), "elapsed": elapsed})
    return targets, share, info_rows


def _metrics(out_returns: pd.DataFrame, reb: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    """Per strategy: the performance metrics of its daily returns and its rebalance statistics."""
    ppy = float(config.periods_per_year)
    years = len(out_returns) / ppy
    metrics = {}
    for s in config.strategies:
        sub = reb[reb.strategy == s.name]
        m = performance_metrics(out_returns[s.name].to_numpy(), periods_per_year=ppy,
                                risk_free_rate=config.risk_free_rate)
        m.update(annual_turnover=float(sub.turnover.iloc[1:].sum() / years), total_cost=float(sub.cost.sum()),
                 avg_rc_error=float(sub.rc_error.mean()), max_rc_error=float(sub.rc_error.max()),
                 n_rebalances=len(sub), not_converged=int((~sub.converged).sum()),
                 weights_seconds=float(sub.elapsed.sum()))
        metrics[s.name] = m
    return pd.DataFrame(metrics).T.rename_axis("strategy")


