"""Today's target weights from a returns history: the production path behind ``qrp rebalance``.

``rebalance(returns, estimator=, window=, solver=, ...)`` takes the last ``window`` rows of the (T, N) daily returns,
estimates the covariance with ``qrp.data.covariance.estimate_covariance`` (annualized by ``periods_per_year``),
solves risk budgeting with ``qrp.risk_parity`` and stamps the weights with ``qrp.finance.execution.target_weights``:
a UTC timestamp and the SHA-256 of every input (the returns window, estimator and its options, solver and its
options, budgets, bounds), so an execution layer can check that the targets match the data it expects. The weights
computed at the close of the last date are the targets for the next trading day, as in the backtest (no look-ahead:
the covariance uses the window only).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qrp.api import risk_parity
from qrp.core.provenance import DirectoryLock, atomic_directory, qrp_version
from qrp.core.result import RiskParityResult
from qrp.core.validation import positive_int
from qrp.data.covariance import estimate_covariance
from qrp.finance.execution import TargetWeights, target_weights, write_target_weights

#: a line per step (``qrp rebalance`` shows them on stderr).
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rebalance:
    """What ``rebalance`` produced: the targets, the solver result and the covariance it used."""

    target: TargetWeights
    result: RiskParityResult
    covariance: pd.DataFrame
    window: pd.DataFrame


def rebalance(returns: pd.DataFrame, *, estimator: str = "ledoit_wolf", window: int = 252, solver: str = "auto",
              budgets=None, bounds=None, estimator_options: dict[str, Any] | None = None,
              solver_options: dict[str, Any] | None = None, periods_per_year: float = 252.0,
              seed: int | None = None) -> Rebalance:
    """Target weights for the day after the last date of ``returns`` (module docstring).

    ``returns`` : (T, N) DataFrame of periodic returns indexed by date (T >= ``window``).
    ``window`` : rows of history for the covariance. ``estimator`` : a name of ``qrp.data.covariance.ESTIMATORS``
    with ``estimator_options``. ``solver``, ``budgets``, ``bounds``, ``seed``, ``solver_options`` : as
    ``qrp.risk_parity``. The caller's frame is not modified.
    """
    if not isinstance(returns, pd.DataFrame):
        raise ValueError(f"returns must be a DataFrame indexed by date, got {type(returns).__name__}")
    window = positive_int(window, "window", minimum=2)
    returns = _by_date(returns)
    if len(returns) < window:
        raise ValueError(f"window={window} needs at least {window} rows of returns, got {len(returns)}")
    hist = returns.iloc[-window:]
    est_opts, sol_opts = dict(estimator_options or {}), dict(solver_options or {})
    log.info("rebalance: %s covariance of the last %d rows (to %s)", estimator, window, hist.index[-1])
    cov = estimate_covariance(hist, method=estimator, periods_per_year=periods_per_year, **est_opts)
    log.info("rebalance: solving with %s", solver)
    res = risk_parity(cov, budgets, solver=solver, bounds=bounds, seed=seed, **sol_opts)
    as_of = hist.index[-1]
    inputs = {"returns": hist, "estimator": estimator, "estimator_options": est_opts, "solver": solver,
              "solver_options": sol_opts, "budgets": None if budgets is None else list(map(float, res.budgets)),
              "bounds": None if bounds is None else pd.DataFrame(bounds).to_numpy().tolist(),
              "periods_per_year": periods_per_year, "seed": seed}
    metadata = {"as_of": str(getattr(as_of, "date", lambda: as_of)()), "window": window,
                "window_start": str(hist.index[0]), "estimator": estimator, "solver": solver,
                "rc_error": res.rc_error, "converged": res.converged, "volatility": res.volatility,
                "seed": seed, "qrp_version": qrp_version()}
    return Rebalance(target_weights(res, inputs=inputs, metadata=metadata), res, cov, hist)


def _by_date(returns: pd.DataFrame) -> pd.DataFrame:
    """``returns`` in date order (a sorted copy when it is not; the caller's frame is left as it was);
    ``ValueError`` on a duplicate date (two rows for one day: which one is the return is not for qrp to guess)."""
    index = returns.index
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(f"returns have duplicate dates (first: {dup}); keep one row per date")
    if not index.is_monotonic_increasing:
        try:
            returns = returns.sort_index(kind="stable")
        except TypeError as exc:
            raise ValueError(f"returns must be indexed by date (sortable), got index of dtype {index.dtype}: "
                             f"{exc}") from None
    return returns


#: the files of a ``qrp rebalance`` output directory; a directory holding anything else is never replaced.
REBALANCE_FILES = ("target_weights.csv", "target_weights.json")


def _is_rebalance_output(path: Path) -> bool:
    names = {p.name for p in path.iterdir()}
    return "target_weights.json" in names and names <= set(REBALANCE_FILES)


def write_rebalance(reb: Rebalance, out_dir) -> tuple[Path, Path]:
    """Write ``<out_dir>/target_weights.csv`` and ``.json`` (``write_target_weights``) into a fresh directory that
    replaces ``out_dir`` as a whole, under an exclusive lock (``.NAME.lock`` beside it): a reader (or a run killed
    at any moment) sees both files of one run, never run B's CSV beside run A's JSON. ``out_dir`` must be new,
    empty or an earlier ``qrp rebalance`` output (only ``REBALANCE_FILES``), else ``ValueError``."""
    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with DirectoryLock(out.parent / f".{out.name}.lock", what=str(out)), \
            atomic_directory(out, replaceable=_is_rebalance_output) as tmp:
        write_target_weights(reb.target, tmp / "target_weights")
    return out / REBALANCE_FILES[0], out / REBALANCE_FILES[1]
