"""Issue 22: rebalance() on unsorted or duplicate dates; qrp rebalance writes its CSV and JSON as one directory."""

import json

import numpy as np
import pandas as pd
import pytest

from qrp.cli import main
from qrp.finance.rebalance import rebalance, write_rebalance


def _frame(t=160, seed=7):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0.0004, 0.01, size=(t, 3)) @ (np.eye(3) + 0.3),
                        index=pd.bdate_range("2023-01-02", periods=t, name="date"), columns=list("ABC"))


def test_rebalance_sorts_by_date():
    frame = _frame()
    ref = rebalance(frame, window=100)
    shuffled = frame.sample(frac=1.0, random_state=1)
    before = shuffled.copy()
    got = rebalance(shuffled, window=100)
    pd.testing.assert_frame_equal(shuffled, before)  # the caller's frame is not sorted in place
    assert got.target.metadata["as_of"] == str(frame.index[-1].date())
    np.testing.assert_array_equal(got.target.weights.to_numpy(), ref.target.weights.to_numpy())
    assert got.target.input_hash == ref.target.input_hash
    # newest first (a common export order): the window is still the last 100 days
    assert rebalance(frame.iloc[::-1], window=100).target.metadata["window_start"] == str(frame.index[-100])


def test_rebalance_refuses_duplicate_dates():
    frame = _frame()
    dup = pd.concat([frame, frame.iloc[[-1]] * 2.0])
    with pytest.raises(ValueError, match="duplicate dates"):
        rebalance(dup, window=100)


def test_write_rebalance_swaps_one_directory(tmp_path):
    out = tmp_path / "targets"
    a = rebalance(_frame(seed=1), window=100)
    b = rebalance(_frame(seed=2), window=100)
    write_rebalance(a, out)
    csv_path, json_path = write_rebalance(b, out)
    doc = json.loads(json_path.read_text())
    csv = pd.read_csv(csv_path)
    assert doc["input_hash"] == b.target.input_hash == csv["input_hash"].iloc[0]
    assert sorted(p.name for p in out.iterdir()) == ["target_weights.csv", "target_weights.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["targets"]  # no .tmp nor lock left beside it


def test_write_rebalance_refuses_a_directory_of_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an output of this command"):
        write_rebalance(rebalance(_frame(), window=100), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_rebalance_cli_unsorted_csv(tmp_path, capsys):
    frame = _frame()
    path = tmp_path / "r.csv"
    frame.iloc[::-1].to_csv(path)
    assert main(["rebalance", "--returns", str(path), "--window", "100", "--out", str(tmp_path / "o")]) == 0
    doc = json.loads((tmp_path / "o" / "target_weights.json").read_text())
    assert doc["metadata"]["as_of"] == str(frame.index[-1].date())
