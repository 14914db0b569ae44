"""Backtest settings: the dataclasses, their validation, and the TOML layout (``load_config``).

A backtest TOML file has the top-level keys ``seed``, ``[data]`` (see ``qrp.finance.backtest.io.load_returns``),
``[backtest]`` (the fields of ``BacktestConfig``), ``[regime]`` (``RegimeConfig``) and ``[[strategies]]`` (one table
per ``StrategyConfig``: ``name``, ``type``, ``params``, ``estimator``, ``estimator_options``, ``regime``). Every
table is checked for its shape and keys before anything runs (``ValueError`` naming the table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qrp.core.validation import positive_int, positive_real, read_toml
from qrp.data.covariance import ESTIMATORS
from qrp.finance.strategies import STRATEGIES

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
    """Regime signal (``qrp.finance.regimes``): ``method`` "volatility" (threshold, an annualized volatility, on the
    trailing ``signal_window``-day volatility), "markov" (two-state Markov switching) or "labels" (``labels``: a CSV
    of dates and labels, relative to the config file)."""

    signal_window: int = 21
    threshold: float = 0.25
    lookback: int = 1260
    min_observations: int = 60
    method: str = "volatility"
    labels: str | None = None


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
        self._check_settings()
        self._check_strategies()
        if self.regime is not None:
            positive_int(self.regime.signal_window, "regime.signal_window", minimum=2)
            positive_real(self.regime.threshold, "regime.threshold")
            positive_int(self.regime.lookback, "regime.lookback", minimum=2)
            positive_int(self.regime.min_observations, "regime.min_observations", minimum=2)

    def _check_settings(self) -> None:
        """The scalar settings: rebalance frequency, window, periods per year, cost, risk-free rate, seed."""
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

    def _check_strategies(self) -> None:
        """At least one strategy, unique names, known types and estimators, regime only with a [regime] section."""
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


def _table(value: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """``value`` checked to be a TOML table with only ``allowed`` keys."""
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a table, got {type(value).__name__} {value!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return value


def _optional_table(table: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = table.get(key)
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"{where}.{key}: expected a table, got {type(value).__name__} {value!r}")
    return value


def load_config(path) -> tuple[BacktestConfig, dict[str, Any], Path]:
    """Parse a backtest TOML file: returns (config, the [data] table, the file's directory). Paths in [data] are
    relative to that directory."""
    path = Path(path)
    raw = _table(read_toml(path, what="config"), _TOP_KEYS, str(path))
    data = _data_table(raw)
    bt = _table(raw.get("backtest", {}), _BACKTEST_KEYS, "[backtest]")
    if _optional_table(bt, "estimator_options", "[backtest]") is None:
        bt = {k: v for k, v in bt.items() if k != "estimator_options"}
    regime = None
    if "regime" in raw:
        table = _table(raw["regime"], set(RegimeConfig.__dataclass_fields__), "[regime]")
        if isinstance(table.get("labels"), str):
            table["labels"] = str(path.parent / table["labels"])
        regime = RegimeConfig(**table)
    listed = raw.get("strategies", [])
    if not isinstance(listed, list):
        raise ValueError(f"strategies: expected [[strategies]] tables, got {type(listed).__name__} {listed!r}")
    strategies = [_strategy(s, f"[[strategies]] #{i + 1}") for i, s in enumerate(listed)]
    return BacktestConfig(strategies=tuple(strategies), regime=regime, seed=raw.get("seed"), **bt), data, path.parent


def _data_table(raw: dict[str, Any]) -> dict[str, Any]:
    """The [data] table (default: the S&P 500 source), its assets a list of names and its other keys strings."""
    data = _table(raw.get("data", {"source": "sp500"}), _DATA_KEYS, "[data]")
    if "assets" in data and not (isinstance(data["assets"], list) and all(isinstance(a, str) for a in data["assets"])):
        raise ValueError(f"[data].assets: expected a list of asset names, got {data['assets']!r}")
    for key in ("source", "path", "kind", "start", "end"):
        if key in data and not isinstance(data[key], str):
            raise ValueError(f"[data].{key}: expected a string, got {type(data[key]).__name__} {data[key]!r}")
    return data


def _strategy(s: Any, where: str) -> StrategyConfig:
    """One [[strategies]] table as a ``StrategyConfig`` (a type is required; name defaults to it)."""
    _table(s, _STRATEGY_KEYS, where)
    if "type" not in s:
        raise ValueError(f"{where} has no type; one of {', '.join(STRATEGIES)}")
    for key in ("name", "type", "estimator"):
        if key in s and not isinstance(s[key], str):
            raise ValueError(f"{where}.{key}: expected a string, got {type(s[key]).__name__} {s[key]!r}")
    return StrategyConfig(name=s.get("name", s["type"]), kind=s["type"],
                          params=_optional_table(s, "params", where) or {}, estimator=s.get("estimator"),
                          estimator_options=_optional_table(s, "estimator_options", where),
                          regime=bool(s.get("regime", False)))
