import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from qrp.core.provenance import atomic_write
from qrp.finance.execution import hash_inputs, target_weights, write_target_weights


def _inputs():
    cov = pd.DataFrame([[0.04, 0.01], [0.01, 0.09]], index=["x", "y"], columns=["x", "y"])
    return {"cov": cov, "budgets": np.array([0.5, 0.5]), "solver": "auto", "options": {"tol": 1e-12}}


def test_hash_is_deterministic_sensitive_and_read_only():
    a = _inputs()
    before = a["cov"].copy()
    h = hash_inputs(a)
    assert h == hash_inputs(_inputs()) and len(h) == 64
    pd.testing.assert_frame_equal(a["cov"], before)
    b = _inputs()
    b["cov"].iloc[0, 1] = b["cov"].iloc[1, 0] = 0.0100000001
    assert hash_inputs(b) != h
    c = _inputs()
    c["cov"] = c["cov"].rename(columns={"y": "z"}, index={"y": "z"})
    assert hash_inputs(c) != h
    assert hash_inputs({**_inputs(), "options": {"tol": 1e-10}}) != h
    reordered = dict(reversed(list(_inputs().items())))
    assert hash_inputs(reordered) == h


def test_write_csv_and_json(tmp_path):
    stamp = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    w = pd.Series([0.6, 0.4], index=["x", "y"])
    tw = target_weights(w, inputs=_inputs(), timestamp=stamp, metadata={"strategy": "ERC"})
    csv_path, json_path = write_target_weights(tw, tmp_path / "targets" / "erc")
    frame = pd.read_csv(csv_path, index_col=0)
    np.testing.assert_array_equal(frame.weight.to_numpy(), [0.6, 0.4])
    assert set(frame.input_hash) == {hash_inputs(_inputs())}
    assert set(frame.timestamp) == {"2024-05-01T12:00:00+00:00"}
    doc = json.loads(json_path.read_text())
    assert doc["weights"] == {"x": 0.6, "y": 0.4} and doc["metadata"]["strategy"] == "ERC"
    assert doc["input_hash"] == tw.input_hash
    assert sorted(p.name for p in (tmp_path / "targets").iterdir()) == ["erc.csv", "erc.json"]


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, lambda p: p.write_text("old"))

    def broken(p):
        p.write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_bad_inputs():
    with pytest.raises(ValueError, match="inputs must be a non-empty mapping"):
        hash_inputs({})
    with pytest.raises(ValueError, match="weights contain NaN or inf at 1"):
        target_weights([0.5, np.nan], inputs={"a": 1})
    with pytest.raises(ValueError, match="asset_names has 3 names for 2 weights"):
        target_weights([0.5, 0.5], inputs={"a": 1}, asset_names=["a", "b", "c"])
