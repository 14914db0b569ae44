"""Modelled device time of QAOA rows (qrp.studies.device_time): the shot-time model, the depth cache, the table."""

import json

import numpy as np
import pandas as pd
import pytest

from qrp.quantum.device_model import circuit_seconds
from qrp.studies.device_time import (
    device_time_medians,
    device_time_rows,
    load_depths,
    needed_shapes,
    save_depths,
    shot_seconds,
)

TIMINGS = {"two_qubit_gate": "cz", "t_2q": 6.8e-8, "t_readout": 1.56e-6, "error_2q": 4e-3, "error_readout": 2e-2}


def test_shot_seconds_positive_and_increasing_with_depth():
    times = [shot_seconds(d, TIMINGS) for d in (0, 1, 10, 100, 1000)]
    assert times[0] == pytest.approx(TIMINGS["t_readout"])
    assert all(t > 0 for t in times)
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(1000 * 6.8e-8 + 1.56e-6)
    with pytest.raises(ValueError, match="depth"):
        shot_seconds(-1, TIMINGS)


def _cache(tmp_path):
    shapes = [{"encoding": "gray", "n": 4, "p": 2, "depth": 300, "two_qubit_gates": 40, "fidelity": 0.5},
              {"encoding": "binary", "n": 4, "p": 1, "depth": 89, "two_qubit_gates": 21, "fidelity": 0.9},
              {"encoding": "binary", "n": 4, "p": 4, "depth": 150, "two_qubit_gates": 60, "fidelity": 0.8}]
    record = {"backend": "fake_test", "timings": TIMINGS, "latency": 1.0, "command": "cmd", "shapes": shapes}
    save_depths(tmp_path / "device_time.json", record)
    return record


def test_depth_cache_round_trips(tmp_path):
    record = _cache(tmp_path)
    back = load_depths(tmp_path / "device_time.json")
    assert {k: back[k] for k in ("backend", "timings", "latency", "command")} == \
        {k: record[k] for k in ("backend", "timings", "latency", "command")}
    key = lambda s: (s["encoding"], s["n"], s["p"])  # noqa: E731
    assert sorted(back["shapes"], key=key) == sorted(record["shapes"], key=key)
    assert back["by_shape"][("binary", 4, 4)]["depth"] == 150
    with pytest.raises(ValueError, match="depth"):
        save_depths(tmp_path / "bad.json", record | {"shapes": [{"encoding": "binary", "n": 4, "p": 1}]})
    assert not (tmp_path / "bad.json").exists()


def _frame():
    rows = []
    for seed in range(3):
        for enc, method, reps, shots in (("binary", "qaoa reps=1", 1.0, 100.0 * (seed + 1)),
                                         ("binary", "qaoa angles=ramp", np.nan, 10.0),
                                         ("gray", "qaoa reps=2", 2.0, 50.0)):
            p = 4 if np.isnan(reps) else int(reps)
            rows.append({"solver": "qaoa", "method": method, "encoding": enc, "box_round": 0.0, "num_qubits": 4.0,
                         "reps": reps, "stats": json.dumps({"reps": p}), "tts_shots": shots, "tts_seconds": 9.0})
        for method, secs in (("sa", 0.5), ("rounding", 0.01)):
            for enc in ("binary", "gray"):
                rows.append({"solver": method, "method": method, "encoding": enc, "box_round": 0.0,
                             "num_qubits": 4.0, "reps": np.nan, "stats": "{}", "tts_shots": 1.0,
                             "tts_seconds": secs * (seed + 1)})
    return pd.DataFrame(rows)


def test_table_has_a_row_per_qaoa_configuration(tmp_path):
    _cache(tmp_path)
    cache = load_depths(tmp_path / "device_time.json")
    frame = _frame()
    assert needed_shapes(frame) == [("binary", 4, 1), ("binary", 4, 4), ("gray", 4, 2)]
    med = device_time_medians(frame, cache)
    assert len(med) == 3 and set(zip(med["encoding"], med["method"], strict=True)) == {
        ("binary", "qaoa reps=1"), ("binary", "qaoa angles=ramp"), ("gray", "qaoa reps=2")}
    one = med[med["method"] == "qaoa reps=1"].iloc[0]
    assert one["depth"] == 89 and one["tts_shots"] == 200.0
    assert one["device_s"] == pytest.approx(circuit_seconds(89, 200.0, TIMINGS, 1.0))
    assert one["device_s_no_latency"] == pytest.approx(200.0 * (89 * 6.8e-8 + 1.56e-6))
    assert one["classical_s"] == pytest.approx(0.02) and one["classical"] == "rounding"
    deeper = med[med["method"] == "qaoa angles=ramp"].iloc[0]
    assert deeper["p"] == 4 and deeper["shot_s"] > one["shot_s"]
    rows = device_time_rows(frame, cache)
    assert len(rows) == 3 and all(r["TTS device s (modelled, median)"] for r in rows)
    with pytest.raises(ValueError, match="no cached depth"):
        device_time_rows(frame.assign(num_qubits=6.0), cache)


def test_transpiled_depth_grows_with_p():
    pytest.importorskip("qiskit_ibm_runtime")
    from qrp.data.synthetic import factor_covariance
    from qrp.discrete.problem import discretize
    from qrp.quantum.primitives import resolve_backend, white_noise_budget

    op, _ = discretize(np.asarray(factor_covariance(2, n_factors=3, seed=0)), 2).to_ising()
    backend = resolve_backend("FakeTorino")
    depths = [white_noise_budget(op / float(np.linalg.norm(op.coeffs)), p, None, backend, seed=0)["depth"]
              for p in (1, 2, 4)]
    assert np.all(np.diff(depths) > 0)
    secs = [shot_seconds(d, white_noise_budget(op / float(np.linalg.norm(op.coeffs)), 1, None, backend,
                                               seed=0)["timings"]) for d in depths]
    assert np.all(np.diff(secs) > 0)
