"""Target weights for an execution layer: CSV and JSON files stamped with a UTC timestamp and an input hash.

``input_hash`` is the SHA-256 of a canonical serialization of the inputs that produced the weights (covariance,
returns window, budgets, solver and its options, ...): arrays and DataFrames contribute their shape, labels and
float64 bytes (C order), other values their JSON with sorted keys, each under its key in sorted key order. Equal
inputs give equal hashes on any machine with IEEE-754 little-endian floats, so an execution layer can tell whether
a target file matches the data it expects, and two runs on the same data can be matched.

Every file is written atomically: to a temporary name in the same directory, then ``os.replace``-d, so a reader
never sees a partial file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write
from qrp.core.result import RiskParityResult
from qrp.core.validation import validate_weights


def _hash_value(h: Any, value: Any) -> None:
    if isinstance(value, (pd.DataFrame, pd.Series)):
        h.update(json.dumps([str(x) for x in value.index]).encode())
        if isinstance(value, pd.DataFrame):
            h.update(json.dumps([str(x) for x in value.columns]).encode())
        value = value.to_numpy()
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value, dtype=np.float64)
        h.update(repr(arr.shape).encode())
        h.update(arr.astype("<f8").tobytes())
    else:
        h.update(json.dumps(value, sort_keys=True, default=str).encode())


def hash_inputs(inputs: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of ``inputs`` (see the module docstring); ``inputs`` is only read."""
    if not isinstance(inputs, Mapping) or not inputs:
        raise ValueError(f"inputs must be a non-empty mapping of name -> value, got {type(inputs).__name__}")
    h = hashlib.sha256()
    for key in sorted(inputs, key=str):
        h.update(f"\x00{key}\x00".encode())
        _hash_value(h, inputs[key])
    return h.hexdigest()


@dataclass(frozen=True)
class TargetWeights:
    """Target weights for execution.

    Attributes
    ----------
    weights : weight per asset (index: asset names), in fractions of capital.
    timestamp : ISO-8601 UTC time the targets were produced.
    input_hash : ``hash_inputs`` of the inputs that produced them.
    metadata : JSON-serializable context (strategy, solver, rc_error, as-of date, ...).
    """

    weights: pd.Series
    timestamp: str
    input_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "input_hash": self.input_hash,
            "weights": {str(k): float(v) for k, v in self.weights.items()},
            "metadata": self.metadata,
        }


def target_weights(weights, *, inputs: Mapping[str, Any], asset_names=None, timestamp: datetime | None = None,
                   metadata: Mapping[str, Any] | None = None) -> TargetWeights:
    """Stamp ``weights`` (array, Series or ``RiskParityResult``) with ``timestamp`` (default: now, UTC) and the hash
    of ``inputs``. A ``RiskParityResult`` gives its weights and asset names, and its solver, rc_error and converged
    flag to ``metadata`` (entries of ``metadata`` win)."""
    if isinstance(weights, RiskParityResult):
        metadata = {"solver": weights.solver, "rc_error": weights.rc_error, "converged": weights.converged,
                    **(metadata or {})}
        if asset_names is None and weights.asset_names is not None:
            asset_names = weights.asset_names
        weights = weights.weights
    if isinstance(weights, pd.Series):
        names = [str(k) for k in weights.index] if asset_names is None else list(asset_names)
    else:
        names = None if asset_names is None else [str(a) for a in asset_names]
    w = validate_weights(weights)
    if names is None:
        names = [str(i) for i in range(len(w))]
    if len(names) != len(w):
        raise ValueError(f"asset_names has {len(names)} names for {len(w)} weights")
    stamp = (timestamp or datetime.now(UTC)).astimezone(UTC).isoformat()
    return TargetWeights(pd.Series(w, index=pd.Index(names, name="asset"), name="weight"), stamp,
                         hash_inputs(inputs), dict(metadata or {}))


def write_target_weights(target: TargetWeights, path_stem) -> tuple[Path, Path]:
    """Write ``<path_stem>.csv`` (columns asset, weight, timestamp, input_hash) and ``<path_stem>.json``."""
    stem = Path(path_stem)
    frame = target.weights.to_frame().assign(timestamp=target.timestamp, input_hash=target.input_hash)
    csv_path = atomic_write(stem.with_name(stem.name + ".csv"), lambda p: frame.to_csv(p, float_format="%.17g"))
    json_path = atomic_write(stem.with_name(stem.name + ".json"),
                             lambda p: p.write_text(json.dumps(target.to_dict(), indent=2, default=str)))
    return csv_path, json_path
