"""Where a study's covariance matrices come from: the ``[covariance]`` table of a study file, checked, and the
``CovarianceSource`` that builds each grid point's matrix (see ``qrp.studies.study`` for the file format)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.validation import validate_cov
from qrp.data.covariance import ESTIMATORS, estimate_covariance
from qrp.data.loaders import read_covariance_csv
from qrp.data.returns import load_sp500_returns
from qrp.data.synthetic import factor_covariance
from qrp.studies.checks import check_seed, check_table, check_type

#: the keys of the ``[covariance]`` table, per source.
SOURCES = {
    "synthetic": {"source", "seed", "n_factors", "market_vol", "factor_vol", "idio_vol"},
    "covariance_csv": {"source", "path"},
    "returns_csv": {"source", "path", "annualization"},
    "sp500": {"source", "start", "end", "method"},
}
#: default estimator of the "sp500" source (a qrp.data.covariance method name).
SP500_METHOD = "ledoit_wolf"
#: grid keys that pick the covariance instance (not solver options), and the sources each applies to.
INSTANCE_KEYS = {"covariance_seed": ("synthetic",), "subset_seed": ("covariance_csv", "returns_csv", "sp500")}


@dataclass(frozen=True)
class CovarianceSource:
    """Where a study's covariance matrices come from. ``matrix(n)`` gives the (n, n) DataFrame."""

    source: str
    params: dict[str, Any]
    path: Path | None = None

    @property
    def key(self) -> dict[str, Any]:
        """Canonical identity: the parameters, with a CSV's content hash in place of its path."""
        key = {k: v for k, v in self.params.items() if k != "path"}
        if self.path is not None:
            key["sha256"] = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return key

    def full(self) -> pd.DataFrame | None:
        """The whole matrix of a CSV or dataset source (None for synthetic)."""
        if self.source == "covariance_csv":
            return read_covariance_csv(self.path)
        if self.source == "returns_csv":
            returns = pd.read_csv(self.path, index_col=0)
            returns.columns = returns.columns.astype(str)
            return returns.cov() * float(self.params.get("annualization", 1.0))
        if self.source == "sp500":
            returns = load_sp500_returns(start=self.params.get("start"), end=self.params.get("end"))
            return estimate_covariance(returns, method=self.params.get("method", SP500_METHOD), periods_per_year=252)
        return None

    def matrix(self, n: int | None, instance: dict[str, int] | None = None) -> pd.DataFrame:
        """The (n, n) covariance: a synthetic factor model with N = n (seed ``instance["covariance_seed"]`` when
        given), or the first n assets of the file, or with ``instance["subset_seed"]`` the n assets drawn without
        replacement by ``numpy.random.default_rng(subset_seed)`` (in file order)."""
        instance = instance or {}
        if self.source == "synthetic":
            kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in self.params.items() if k != "source"}
            if "covariance_seed" in instance:
                kwargs["seed"] = instance["covariance_seed"]
            return factor_covariance(n, **kwargs)
        full = self.full()
        if "subset_seed" in instance:
            pick = np.sort(np.random.default_rng(instance["subset_seed"]).choice(full.shape[0], n, replace=False))
            return full.iloc[pick, pick]
        return full if n is None else full.iloc[:n, :n]


def _check_synthetic(raw: dict[str, Any]) -> None:
    if "seed" in raw:
        check_seed(raw["seed"], "covariance.seed")
    if "n_factors" in raw:
        check_type(raw["n_factors"], Integral, "covariance.n_factors")
    for key in ("market_vol", "factor_vol"):
        if key in raw:
            check_type(raw[key], Real, f"covariance.{key}")
    if "idio_vol" in raw:
        iv = raw["idio_vol"]
        if not (isinstance(iv, list) and len(iv) == 2):
            raise ValueError(f"covariance.idio_vol: expected a [lo, hi] pair, got {iv!r}")
        for v in iv:
            check_type(v, Real, "covariance.idio_vol")


def _check_sp500(raw: dict[str, Any]) -> None:
    for key in ("start", "end", "method"):
        if key in raw:
            check_type(raw[key], str, f"covariance.{key}")
    if raw.get("method", SP500_METHOD) not in ESTIMATORS:
        raise ValueError(f"covariance.method: expected one of {list(ESTIMATORS)}, got {raw['method']!r}")


def _check_file(raw: dict[str, Any], source: str, base: Path) -> Path:
    """The CSV sources: the file (relative to the study file's folder ``base``) exists; its resolved path."""
    if "path" not in raw:
        raise ValueError(f"covariance.path: required for source {source!r}")
    check_type(raw["path"], str, "covariance.path")
    path = (base / raw["path"]).resolve()
    if not path.is_file():
        raise ValueError(f"covariance.path: file not found: {path}")
    if "annualization" in raw:
        check_type(raw["annualization"], Real, "covariance.annualization")
    return path


def load_covariance(raw: Any, base: Path) -> CovarianceSource:
    """The checked ``[covariance]`` table of a study file in folder ``base``. ``ValueError`` names the bad key."""
    check_table(raw, "covariance")
    source = raw.get("source")
    if source not in SOURCES:
        raise ValueError(f"covariance.source: expected one of {sorted(SOURCES)}, got {source!r}")
    unknown = sorted(set(raw) - SOURCES[source])
    if unknown:
        raise ValueError(f"covariance.{unknown[0]}: unknown key for source {source!r} "
                         f"(allowed: {sorted(SOURCES[source])})")
    path = None
    if source == "synthetic":
        _check_synthetic(raw)
    elif source == "sp500":
        _check_sp500(raw)
    else:
        path = _check_file(raw, source, base)
    return CovarianceSource(source, dict(raw), path)


def checked_full(cov: CovarianceSource) -> pd.DataFrame | None:
    """The whole matrix of a CSV or dataset source, validated as a covariance (numeric, finite, symmetric, positive
    variances, positive semi-definite: every leading block a grid point takes is then one too)."""
    where = "covariance" if cov.path is None else f"covariance.path {cov.path}"
    try:
        full = cov.full()
        # a synthetic source is dry-run at N = 2: its generator checks every parameter (seed included)
        validate_cov(cov.matrix(2) if full is None else full, check_psd=True, name="the matrix")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return full


__all__ = ["INSTANCE_KEYS", "SOURCES", "SP500_METHOD", "CovarianceSource", "checked_full", "load_covariance"]
