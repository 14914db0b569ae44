"""The issue-20 analysis scripts in experiments/: fixed-angle QAOA rows and the extrapolated crossing."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qrp.data.synthetic import factor_covariance
from qrp.discrete.angles import transfer_angles
from qrp.discrete.exact import exact_minimum
from qrp.discrete.problem import discretize
from qrp.quantum.qaoa import QAOA

ROOT = Path(__file__).resolve().parents[2] / "experiments"


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_transfer_once_row_is_the_engines_fixed_readout_and_the_exact_degeneracy():
    script = load("qaoa_fixed_angles")
    cov = factor_covariance(3, seed=4)
    row = script.point(cov, 2, 2, noise=None, white=False, shots=1024, seed=0)
    problem = discretize(cov, 2)
    op, offset = problem.to_ising()
    res = QAOA(op, offset, reps=2, seed=0).fixed(transfer_angles(2))
    assert row["ground_state_probability"] == pytest.approx(res.ground_state_probability, rel=1e-12)
    assert res.evaluations == 0 and row["evaluations"] == 0
    degeneracy = exact_minimum(problem)[2]
    assert row["uniform_probability"] == degeneracy / 2**6
    assert row["tts"] == pytest.approx(np.log(0.01) / np.log1p(-row["ground_state_probability"]))


def test_crossing_of_two_known_lines():
    script = load("frontier_exponents")
    sizes = np.repeat(np.arange(4, 13, 2), 5)
    rows = [pd.DataFrame({"method": m, "num_qubits": sizes, "instance": np.tile(np.arange(5), 5),
                          "tts_eval": 2.0 ** (a + c * sizes)}) for m, a, c in (("qaoa x", 1.0, 0.5),
                                                                                ("sa", 5.0, 0.25))]
    frame = pd.concat(rows, ignore_index=True)
    out = script.crossings(frame, 4, 12, 28).iloc[0]
    assert out["QAOA cheaper at the largest n (fraction of draws)"] == "1.00"
    assert out["lines meet beyond the data at n* median [95%]"] == "16 [16, 16]"  # (5 - 1) / (0.5 - 0.25)
    assert out["n* - 28"] == "-12"
    fits = script.exponents(frame, [(4, 12)]).set_index("method")["c, n = 4-12"]
    assert fits["qaoa x"] == "0.500" and fits["sa"] == "0.250"
