"""Dynamic risk parity backtest: rolling re-estimation and rebalancing, transaction costs, metrics and plots.

Contract (``qrp backtest CONFIG.toml [--out DIR]`` and ``run_backtest``):

* Returns R are simple daily (periodic) returns, (T, N). Rebalance days are the first day of each period
  (``"daily"``, ``"weekly"`` ISO weeks, ``"monthly"``) with at least ``window`` earlier days. At rebalance day p the
  covariance is estimated from rows p - window ... p - 1 only (no look-ahead) and the new target weights earn
  R[p] onwards.
* Between rebalances the holdings drift with prices: starting from target w at the open of day p, after days
  p..q the value of asset i is w_i prod_{s=p..q} (1 + R[s, i]); the drifted weights are these values over their sum.
* Turnover at a rebalance is sum_i |w_target,i - w_drift,i| (two-way; the first allocation from cash counts
  sum_i w_i = 1). Costs are ``cost_bps`` / 1e4 times turnover, paid from wealth before investing, so the first day's
  return is (1 - c)(1 + w'R[p]) - 1.
* Wealth is V_t = prod_{s <= t} (1 + r_s) with the daily portfolio return r_s above, V_0 = 1.
* Metrics per strategy (ppy = ``periods_per_year``): annualized return V_T^(ppy/T) - 1; annualized volatility
  std(r) sqrt(ppy) (ddof 1); Sharpe (mean(r) - r_f/ppy) ppy / volatility; maximum drawdown
  max_t (1 - V_t / max_{s <= t} V_s) with V_0 = 1 included; annual turnover (sum of turnover after the first
  allocation, per year); total cost; average rc_error max_i |RC_i/sum RC - b_i| of the target weights under the
  estimated covariance (b = the strategy's risk budgets, 1/N unless a risk_parity strategy sets ``budgets``).
* Regime-specific covariance (a strategy with ``regime = true``): the signal is the annualized volatility of the
  equal-weight portfolio over the trailing ``signal_window`` days; a day is "stress" when it exceeds
  ``threshold``, else "calm". At rebalance day p the regime is that of day p - 1, and the covariance is estimated
  from the days among the last ``lookback`` (before p) that share this regime; when fewer than
  ``min_observations`` such days exist it falls back to the plain ``window`` (recorded per rebalance).
* Every random thing is seeded: the solver seed of rebalance k of strategy j derives from the config seed by
  ``numpy.random.SeedSequence([seed, j, k])``.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.measures import contributions_kernel, rc_error_kernel
from qrp.core.provenance import atomic_write, package_versions
from qrp.core.validation import positive_int, positive_real, read_toml, validate_budgets
from qrp.data.covariance import ESTIMATORS, estimate_covariance
from qrp.finance.execution import target_weights, write_target_weights
from qrp.finance.strategies import STRATEGIES, compute_weights

REBALANCE_FREQUENCIES = ("daily", "weekly", "monthly")


@dataclass(frozen=True)
class StrategyConfig:
    """One strategy of a backtest.

    name : label in results and plots (unique). kind : one of ``qrp.finance.strategies.STRATEGIES``.
    params : passed to ``qrp.finance.strategies.compute_weights`` (for risk_parity: ``solver``, solver options, ...).
    estimator / estimator_options : override the backtest's covariance estimator. regime : use the
    regime-specific covariance.
    """

    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    estimator: str | None = None
    estimator_options: dict[str, Any] | None = None
    regime: bool = False


@dataclass(frozen=True)
class RegimeConfig:
    """Volatility-threshold regime signal (see the module docstring); threshold is an annualized volatility."""

    signal_window: int = 21
    threshold: float = 0.25
    lookback: int = 1260
    min_observations: int = 60


@dataclass(frozen=True)
class BacktestConfig:
    """Backtest settings; see the module docstring for their meaning. ``cost_bps`` in basis points of turnover,
    ``risk_free_rate`` annualized."""

    strategies: tuple[StrategyConfig, ...]
    rebalance: str = "monthly"
    window: int = 252
    periods_per_year: float = 252.0
    estimator: str = "ledoit_wolf"
    estimator_options: dict[str, Any] = field(default_factory=dict)
    cost_bps: float = 0.0
    risk_free_rate: float = 0.0
    regime: RegimeConfig | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.rebalance not in REBALANCE_FREQUENCIES:
            raise ValueError(f"rebalance must be one of {REBALANCE_FREQUENCIES}, got {self.rebalance!r}")
        positive_int(self.window, "window", minimum=2)
        positive_real(self.periods_per_year, "periods_per_year")
        if isinstance(self.cost_bps, bool) or not isinstance(self.cost_bps, (int, float)) or not (
            0 <= self.cost_bps < 1e4
        ):
            raise ValueError(f"cost_bps must be a number in [0, 10000), got {self.cost_bps!r}")
        if not np.isfinite(self.risk_free_rate):
            raise ValueError(f"risk_free_rate must be finite, got {self.risk_free_rate!r}")
        if self.seed is not None:
            positive_int(self.seed, "seed", minimum=0)
        if not self.strategies:
            raise ValueError("a backtest needs at least one strategy")
        names = [s.name for s in self.strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"strategy names must be unique, got {names}")
        for s in self.strategies:
            if s.kind not in STRATEGIES:
                raise ValueError(f"strategy {s.name!r}: unknown type {s.kind!r}; available: {', '.join(STRATEGIES)}")
            if (s.estimator or self.estimator) not in ESTIMATORS:
                raise ValueError(f"strategy {s.name!r}: unknown estimator {s.estimator or self.estimator!r}; "
                                 f"available: {', '.join(ESTIMATORS)}")
            if s.regime and self.regime is None:
                raise ValueError(f"strategy {s.name!r} sets regime = true but the config has no [regime] section")
        if self.regime is not None:
            positive_int(self.regime.signal_window, "regime.signal_window", minimum=2)
            positive_real(self.regime.threshold, "regime.threshold")
            positive_int(self.regime.lookback, "regime.lookback", minimum=2)
            positive_int(self.regime.min_observations, "regime.min_observations", minimum=2)


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


def regime_signal(returns: np.ndarray, *, signal_window: int, periods_per_year: float) -> np.ndarray:
    """Annualized trailing volatility of the equal-weight portfolio over ``signal_window`` days ending at each
    day (NaN for the first ``signal_window - 1`` days)."""
    ew = pd.Series(returns.mean(axis=1))
    return (ew.rolling(signal_window).std() * np.sqrt(periods_per_year)).to_numpy()


def simulate(returns: np.ndarray, positions: np.ndarray, targets: np.ndarray, cost_rate: float):
    """Portfolio accounting of the module docstring.

    returns (T, N) simple returns; positions (K,) rebalance rows; targets (K, N) target weights; cost_rate = bps/1e4.
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
        wealth = values.sum(axis=1)
        daily = wealth / np.concatenate([[w.sum()], wealth[:-1]]) - 1.0
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


def _cov_sample(r: np.ndarray, p: int, cfg: BacktestConfig, regimes: np.ndarray | None) -> tuple[np.ndarray, str]:
    """Rows used to estimate the covariance at rebalance row p, and the regime label."""
    if regimes is None:
        return r[p - cfg.window: p], "all"
    start = max(0, p - cfg.regime.lookback)
    current = regimes[p - 1]
    same = np.flatnonzero(regimes[start:p] == current) + start
    label = "stress" if current else "calm"
    if len(same) < cfg.regime.min_observations:
        return r[p - cfg.window: p], f"{label}-fallback"
    return r[same], label


def run_backtest(returns: pd.DataFrame, config: BacktestConfig) -> BacktestResult:
    """Run every strategy of ``config`` on ``returns`` (dates x assets, simple returns, no NaN)."""
    start_time = time.perf_counter()
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
    names = [str(c) for c in returns.columns]
    n = len(names)
    positions = rebalance_positions(returns.index, config.rebalance, config.window)
    if len(positions) == 0:
        raise ValueError(f"no rebalance date: {len(returns)} rows but window = {config.window}")
    ppy = float(config.periods_per_year)
    regimes = None
    if config.regime is not None:
        signal = regime_signal(r, signal_window=config.regime.signal_window, periods_per_year=ppy)
        regimes = signal > config.regime.threshold  # NaN (warm-up) compares False: calm
    n_strat, n_reb = len(config.strategies), len(positions)
    budgets = [validate_budgets(s.params.get("budgets"), n) if s.kind == "risk_parity" else np.full(n, 1.0 / n)
               for s in config.strategies]
    targets = np.empty((n_strat, n_reb, n))
    share = np.empty((n_strat, n_reb, n))
    info_rows: list[list[dict[str, Any]]] = [[] for _ in range(n_strat)]
    dates = returns.index[positions]
    # rebalance dates outside, strategies inside: the estimates of one date are shared by the strategies that use
    # the same estimator and dropped afterwards, and a bad option of any strategy fails at the first date
    for k, p in enumerate(positions):
        cache: dict[tuple, tuple[np.ndarray, np.ndarray, str]] = {}
        for j, s in enumerate(config.strategies):
            est = s.estimator or config.estimator
            opts = config.estimator_options if s.estimator_options is None else s.estimator_options
            key = (est, json.dumps(opts, sort_keys=True), s.regime)
            if key not in cache:
                sample, label = _cov_sample(r, int(p), config, regimes if s.regime else None)
                cov = estimate_covariance(pd.DataFrame(sample, columns=names), method=est, periods_per_year=ppy,
                                          **opts)
                cache[key] = (cov.to_numpy(), sample, label)
            cov, sample, label = cache[key]
            seed = None if config.seed is None else int(
                np.random.SeedSequence([config.seed, j, k]).generate_state(1)[0])
            t0 = time.perf_counter()
            w, info = compute_weights(s.kind, cov=cov, returns=sample, periods_per_year=ppy, seed=seed, **s.params)
            elapsed = time.perf_counter() - t0
            rc = contributions_kernel(w, cov)
            targets[j, k], share[j, k] = w, rc / rc.sum()
            info_rows[j].append({"strategy": s.name, "date": dates[k], "rc_error": rc_error_kernel(rc, budgets[j]),
                                 "converged": bool(info.get("converged", True)), "regime": label,
                                 "n_observations": len(sample), "elapsed": elapsed})
    daily, weights, shares, rows = {}, {}, {}, []
    for j, s in enumerate(config.strategies):
        port, turnover = simulate(r, positions, targets[j], config.cost_bps * 1e-4)
        for k, row in enumerate(info_rows[j]):
            row.update(turnover=float(turnover[k]), cost=float(turnover[k] * config.cost_bps * 1e-4))
        rows.extend(info_rows[j])
        daily[s.name] = port
        weights[s.name] = pd.DataFrame(targets[j], index=dates, columns=names)
        shares[s.name] = pd.DataFrame(share[j], index=dates, columns=names)

    out_returns = pd.DataFrame(daily, index=returns.index[positions[0]:])
    out_returns.index.name = "date"
    reb = pd.DataFrame(rows)
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
    return BacktestResult(
        returns=out_returns, weights=weights, risk_shares=shares, rebalances=reb,
        metrics=pd.DataFrame(metrics).T.rename_axis("strategy"), config=config_to_dict(config), seed=config.seed,
        elapsed=time.perf_counter() - start_time,
    )


def config_to_dict(config: BacktestConfig) -> dict[str, Any]:
    """The config as a JSON-friendly dict (the TOML layout)."""
    out = {k: getattr(config, k) for k in ("seed", "rebalance", "window", "periods_per_year", "estimator",
                                          "estimator_options", "cost_bps", "risk_free_rate")}
    out["regime"] = None if config.regime is None else vars(config.regime).copy()
    out["strategies"] = [
        {"name": s.name, "type": s.kind, "params": s.params, "estimator": s.estimator,
         "estimator_options": s.estimator_options, "regime": s.regime}
        for s in config.strategies
    ]
    return out


_TOP_KEYS = {"seed", "data", "backtest", "regime", "strategies"}
_DATA_KEYS = {"source", "path", "kind", "start", "end", "assets"}
_BACKTEST_KEYS = {"rebalance", "window", "periods_per_year", "estimator", "estimator_options", "cost_bps",
                  "risk_free_rate"}
_STRATEGY_KEYS = {"name", "type", "params", "estimator", "estimator_options", "regime"}


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def load_config(path) -> tuple[BacktestConfig, dict[str, Any], Path]:
    """Parse a backtest TOML file: returns (config, the [data] table, the file's directory)."""
    path = Path(path)
    raw = read_toml(path, what="config")
    _check_keys(raw, _TOP_KEYS, str(path))
    data = raw.get("data", {"source": "sp500"})
    _check_keys(data, _DATA_KEYS, "[data]")
    bt = raw.get("backtest", {})
    _check_keys(bt, _BACKTEST_KEYS, "[backtest]")
    regime = None
    if "regime" in raw:
        _check_keys(raw["regime"], set(RegimeConfig.__dataclass_fields__), "[regime]")
        regime = RegimeConfig(**raw["regime"])
    strategies = []
    for i, s in enumerate(raw.get("strategies", [])):
        _check_keys(s, _STRATEGY_KEYS, f"[[strategies]] #{i + 1}")
        if "type" not in s:
            raise ValueError(f"[[strategies]] #{i + 1} has no type; one of {', '.join(STRATEGIES)}")
        strategies.append(StrategyConfig(name=s.get("name", s["type"]), kind=s["type"], params=s.get("params", {}),
                                         estimator=s.get("estimator"), estimator_options=s.get("estimator_options"),
                                         regime=bool(s.get("regime", False))))
    return BacktestConfig(strategies=tuple(strategies), regime=regime, seed=raw.get("seed"), **bt), data, path.parent


def load_returns(data: dict[str, Any], base: Path) -> pd.DataFrame:
    """Returns for a [data] table: ``source = "sp500"`` (bundled) or ``"csv"`` (``path`` relative to ``base``)."""
    from qrp.data.returns import load_sp500_returns, read_csv, select_dates

    source = data.get("source", "sp500")
    if source == "sp500":
        frame = load_sp500_returns()
    elif source == "csv":
        if "path" not in data:
            raise ValueError("[data] source = 'csv' needs a path")
        frame = read_csv(base / data["path"], kind=data.get("kind", "prices"))
    else:
        raise ValueError(f"[data] source must be 'sp500' or 'csv', got {source!r}")
    if "assets" in data:
        missing = sorted(set(data["assets"]) - set(frame.columns))
        if missing:
            raise ValueError(f"[data] assets not in the data: {missing}")
        frame = frame[list(data["assets"])]
    return select_dates(frame, start=data.get("start"), end=data.get("end"))



def write_results(result: BacktestResult, out_dir, *, data: dict[str, Any] | None = None,
                  inputs: pd.DataFrame | None = None, config_file: str | None = None) -> Path:
    """Write returns.parquet, weights.parquet (long: date, strategy, asset, weight, risk_share), rebalances.csv,
    metrics.csv, three PNG plots, the last targets of every strategy under targets/ (via ``qrp.finance.execution``) and,
    last, summary.json (metrics, seed, config, data, package versions). Every file is written atomically."""
    out = Path(out_dir)
    atomic_write(out / "returns.parquet", lambda p: result.returns.to_parquet(p))
    long = pd.concat(
        [pd.DataFrame({"weight": result.weights[k].stack(), "risk_share": result.risk_shares[k].stack()})
         .rename_axis(["date", "asset"]).reset_index().assign(strategy=k) for k in result.weights],
        ignore_index=True,
    )[["date", "strategy", "asset", "weight", "risk_share"]]
    atomic_write(out / "weights.parquet", lambda p: long.to_parquet(p, index=False))
    atomic_write(out / "rebalances.csv", lambda p: result.rebalances.to_csv(p, index=False, float_format="%.10g"))
    atomic_write(out / "metrics.csv", lambda p: result.metrics.to_csv(p, float_format="%.10g"))
    plot_results(result, out)
    for name, frame in result.weights.items():
        as_of = frame.index[-1]
        tw = target_weights(frame.iloc[-1], timestamp=None, inputs={
            "strategy": next(s for s in result.config["strategies"] if s["name"] == name),
            "backtest": {k: v for k, v in result.config.items() if k != "strategies"},
            "data": data or {}, "as_of": str(as_of),
            "returns": inputs.loc[:as_of].iloc[:-1] if inputs is not None else None,
        }, metadata={"strategy": name, "as_of": str(as_of.date()),
                     "rc_error": float(result.rebalances.query("strategy == @name").rc_error.iloc[-1])})
        write_target_weights(tw, out / "targets" / _slug(name))
    summary = {
        "metrics": result.metrics.to_dict(orient="index"), "seed": result.seed, "config": result.config,
        "data": data, "period": [str(result.returns.index[0].date()), str(result.returns.index[-1].date())],
        "n_assets": next(iter(result.weights.values())).shape[1],
        "elapsed_seconds": result.elapsed, "versions": package_versions(), "config_file": config_file,
    }
    atomic_write(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=2, default=str)))
    return out


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def plot_results(result: BacktestResult, out_dir) -> None:
    """equity.png (log wealth), weights.png and risk_contributions.png (stacked, one panel per strategy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    fig, ax = plt.subplots(figsize=(10, 5))
    result.equity.plot(ax=ax, logy=True, lw=1)
    ax.set_ylabel("wealth (log scale, start = 1)")
    ax.set_title("Equity curves (net of costs)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(out / "equity.png", lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    for attr, fname, label in (("weights", "weights.png", "weight"),
                               ("risk_shares", "risk_contributions.png", "risk share RC_i / sum RC")):
        frames = getattr(result, attr)
        k = len(frames)
        cols = 2
        rows = (k + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows), sharex=True, squeeze=False)
        for ax, (name, frame) in zip(axes.ravel(), frames.items(), strict=False):
            ax.stackplot(frame.index, np.clip(frame.to_numpy().T, 0, None), step="post", lw=0,
                         labels=list(frame.columns), colors=plt.get_cmap("tab20").colors)
            ax.set_title(name, fontsize=9)
            ax.set_ylim(0, 1)
            ax.set_ylabel(label, fontsize=8)
        for ax in axes.ravel()[k:]:
            ax.set_visible(False)
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=10, fontsize=7)
        fig.suptitle(f"{label} at each rebalance", fontsize=11)
        fig.tight_layout(rect=(0, 0.05, 1, 0.97))
        atomic_write(out / fname, lambda p, f=fig: f.savefig(p, dpi=100, format="png"))
        plt.close(fig)


def run_backtest_config(path, out_dir=None) -> BacktestResult:
    """Load a TOML config and its data, run the backtest and (``out_dir``) write the results."""
    config, data, base = load_config(path)
    returns = load_returns(data, base)
    result = run_backtest(returns, config)
    if out_dir is not None:
        write_results(result, out_dir, data=data, inputs=returns, config_file=str(path))
    return result
