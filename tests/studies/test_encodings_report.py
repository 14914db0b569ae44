"""The encoding sections of a ground-state report: exponents on common n-ranges and the QAOA / classical crossing."""

import json

import numpy as np
import pandas as pd
import pytest

from qrp.studies.encodings_report import common_sizes, crossing, encoding_sections, exponent_rows, landscape_rows


def _rows(method, encoding, slope, intercept, sizes, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        for c in range(10):
            tts = 2.0 ** (intercept + slope * n + rng.normal(0, noise))
            out.append({"method": method, "encoding": encoding, "box_round": 0, "num_qubits": n,
                        "tts_evaluations": tts, "training_samples": 0,
                        "instance": json.dumps({"covariance_seed": c, "n": n // 2})})
    return out


@pytest.fixture
def frame():
    sizes = [4, 6, 8, 10, 12]
    rows = (_rows("qaoa angles=ramp", "binary", 0.2, 2.0, sizes) + _rows("sa", "binary", 0.4, 0.0, sizes, seed=1)
            + _rows("greedy", "binary", 0.6, 0.0, [*sizes, 14], seed=2))
    return pd.DataFrame(rows)


def test_exponents_on_the_common_range_and_crossing(frame):
    assert common_sizes(frame) == [4, 6, 8, 10, 12]
    rows, crossings = exponent_rows(frame)
    by = {r["method"]: r for r in rows}
    def exponent(method):
        return float(by[method]["c on n = 4-12 [95% CI]"].split()[0])

    assert exponent("sa") == pytest.approx(0.4, abs=0.02)
    assert exponent("greedy") == pytest.approx(0.6, abs=0.02)  # n = 14 is outside the common range
    (cr,) = crossings
    assert cr["best classical (smallest c)"] == "sa"
    # lines 2 + 0.2 n and 0.4 n meet at n* = 10, inside the measured range: no crossing ahead
    q, c = frame[frame.method == "qaoa angles=ramp"], frame[frame.method == "sa"]
    got = crossing(q, c, [4, 6, 8, 10, 12])
    assert got["flatter"] == 1.0 and got["below"] == 1.0  # flatter, and below at n = 12 (they met at 10)
    assert got["ahead"] == 0.0 and np.isnan(got["n"])
    later = crossing(q.assign(tts_evaluations=q["tts_evaluations"] * 2**4), c, [4, 6, 8, 10, 12])  # a = 6: n* = 30
    assert later["ahead"] == 1.0 and later["n"] == pytest.approx(30, abs=3) and later["lo"] < later["n"] < later["hi"]
    lines = encoding_sections(frame.assign(**{"opt.bits": 2}))
    assert any("crossing" in line for line in lines)


def test_no_crossing_when_quantum_is_steeper(frame):
    q = frame[frame.method == "greedy"]
    c = frame[frame.method == "sa"]
    got = crossing(q, c, [4, 6, 8, 10, 12])
    assert got["ahead"] == 0.0 and got["flatter"] == 0.0 and np.isnan(got["n"])


def test_landscape_rows_from_the_study_covariances(frame):
    rows = landscape_rows(frame.assign(encoding=np.where(frame.index % 2, "binary", "gray")))
    assert [r["encoding"] for r in rows] == ["binary", "gray"]
    assert rows[0]["qubits per asset"] == 2 and rows[0]["N"] == 4
