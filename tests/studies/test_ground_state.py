"""Covariance ensembles (covariance_seed / subset_seed axes) and ground-state studies (issue 11)."""

import math

import numpy as np
import pandas as pd
import pytest

from qrp.data.synthetic import factor_covariance
from qrp.discrete.problem import discretize
from qrp.studies.ground_state import instance_box, spectrum
from qrp.studies.ground_state_report import UNIFORM, exponent_table, methods, stops_table
from qrp.studies.report import write_report
from qrp.studies.runner import build_tasks, run_study
from qrp.studies.statistics import time_to_solution
from qrp.studies.study import load_study


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


SYNTHETIC = '[covariance]\nsource = "synthetic"\nseed = 9\n'


def test_covariance_seed_axis_yields_distinct_recorded_instances(tmp_path):
    study = load_study(write(tmp_path, SYNTHETIC + '[[grid]]\nsolver = "auto"\nn_assets = 4\n'
                                                   'covariance_seed = [0, 1, 2]\n'))
    assert len({r.run_id for r in study.runs}) == 3
    tasks = build_tasks(study)
    for task, seed in zip(tasks, [0, 1, 2], strict=True):
        assert task.spec.instance == {"covariance_seed": seed}
        np.testing.assert_array_equal(task.cov.to_numpy(), factor_covariance(4, seed=seed).to_numpy())
    assert len({t.cov_key for t in tasks}) == 3
    assert not np.allclose(tasks[0].cov.to_numpy(), tasks[1].cov.to_numpy())
    frame = run_study(study, tmp_path / "out", progress=False)
    assert sorted(frame["covariance_seed"]) == [0, 1, 2]
    assert frame["rc_error"].nunique() == 3


def test_studies_without_an_instance_axis_keep_their_run_ids(tmp_path):
    study = load_study(write(tmp_path, SYNTHETIC + '[[grid]]\nsolver = "auto"\nn_assets = 4\n'))
    assert "instance" not in study.runs[0].params()
    assert study.runs[0].instance == {}


def test_instance_axes_are_validated(tmp_path):
    with pytest.raises(ValueError, match=r"grid\[0\].subset_seed: applies to covariance sources"):
        load_study(write(tmp_path, SYNTHETIC + '[[grid]]\nsolver = "auto"\nn_assets = 4\nsubset_seed = 1\n'))
    with pytest.raises(ValueError, match=r"grid\[0\].covariance_seed: must be >= 0"):
        load_study(write(tmp_path, SYNTHETIC + '[[grid]]\nsolver = "auto"\nn_assets = 4\ncovariance_seed = -1\n'))
    with pytest.raises(ValueError, match=r"grid\[0\].covariance_seed: expected Integral"):
        load_study(write(tmp_path, SYNTHETIC + '[[grid]]\nsolver = "auto"\nn_assets = 4\ncovariance_seed = 1.5\n'))
    with pytest.raises(ValueError, match="kind: expected one of"):
        load_study(write(tmp_path, 'kind = "magic"\n' + SYNTHETIC + '[[grid]]\nsolver = "auto"\nn_assets = 4\n'))


def test_subset_seed_draws_random_subsets_of_the_sp500_assets(tmp_path):
    study = load_study(write(tmp_path, '[covariance]\nsource = "sp500"\nstart = "2020-01-01"\nend = "2021-12-31"\n'
                                       '[[grid]]\nsolver = "auto"\nn_assets = 5\nsubset_seed = [0, 1, 2]\n'))
    full = study.covariance.full()
    subsets = [study.covariance_matrix(5, {"subset_seed": s}) for s in (0, 1, 2)]
    names = [tuple(c.columns) for c in subsets]
    assert len(set(names)) == 3
    for cov in subsets:
        assert cov.shape == (5, 5) and set(cov.columns) <= set(full.columns)
        np.testing.assert_array_equal(cov.to_numpy(), full.loc[cov.index, cov.columns].to_numpy())
    assert tuple(study.covariance_matrix(5, {"subset_seed": 1}).columns) == names[1]  # seeded


GROUND = """kind = "ground_state"
seeds = [0]
[covariance]
source = "synthetic"
[[grid]]
solver = "sa"
n_assets = 2
bits = 2
covariance_seed = [3, 4]
box_round = [0, 3]
num_reads = 40
[[grid]]
solver = "qaoa"
n_assets = 2
bits = 2
covariance_seed = [3, 4]
box_round = [0, 3]
reps = 1
"""


def test_ground_state_study_rows(tmp_path):
    frame = run_study(load_study(write(tmp_path, GROUND)), tmp_path / "gs", progress=False)
    assert len(frame) == 8 and set(frame["status"]) == {"ok"}
    for rec in frame.itertuples():
        cov = factor_covariance(2, seed=int(rec.covariance_seed))
        problem = discretize(cov, 2, box=instance_box(cov, int(rec.box_round), {"bits": 2}))
        e = problem.relative_energies((np.arange(16)[:, None] >> np.arange(4)) & 1)
        ground = np.isclose(e, e.min(), rtol=0, atol=1e-9 * (e.max() - e.min()))
        assert rec.num_qubits == 4
        assert rec.uniform_probability == pytest.approx(ground.sum() / 16)
        assert rec.uniform_approximation_ratio == pytest.approx((e.max() - e.mean()) / (e.max() - e.min()))
        assert rec.found  # 4 qubits: every solver's readout finds it
        assert 0 < rec.ground_state_probability <= 1
        assert rec.tts_shots == pytest.approx(time_to_solution(rec.ground_state_probability))
        assert rec.tts == pytest.approx(rec.training_samples + rec.tts_shots)
        assert rec.uniform_tts == pytest.approx(time_to_solution(rec.uniform_probability))
    qaoa = frame[frame["solver"] == "qaoa"]
    assert (qaoa["probability_source"] == "state").all()
    assert (qaoa["training_samples"] == qaoa["evaluations"] * 1024).all()
    sa = frame[frame["solver"] == "sa"]
    assert (sa["training_samples"] == 0).all() and (sa["samples"] == 40).all()
    assert (qaoa["approximation_ratio"] > qaoa["uniform_approximation_ratio"]).all()


def test_ground_truth_from_the_cost_diagonal_gives_the_same_rows(tmp_path, monkeypatch):
    import qrp.studies.ground_state as gs

    keys = ["run_id", "found", "degeneracy", "uniform_probability", "ground_state_probability", "energy_gap"]
    enumerated = run_study(load_study(write(tmp_path, GROUND)), tmp_path / "a", progress=False, workers=1)
    monkeypatch.setattr(gs, "REFERENCE_MAX_EXACT_QUBITS", 3)
    monkeypatch.setattr(gs, "_CACHE", {})
    diagonal = run_study(load_study(write(tmp_path, GROUND)), tmp_path / "b", progress=False, workers=1)
    assert set(enumerated["reference_method"]) == {"enumeration"} and set(diagonal["reference_method"]) == {"diagonal"}
    pd.testing.assert_frame_equal(enumerated.sort_values("run_id")[keys].reset_index(drop=True),
                                  diagonal.sort_values("run_id")[keys].reset_index(drop=True))


def test_refined_boxes_are_narrower_than_the_default_box():
    cov = factor_covariance(3, seed=1)
    lo, hi = discretize(cov, 2).box
    rlo, rhi = instance_box(cov, 4, {"bits": 2})
    assert np.all(rhi - rlo < hi - lo)
    assert instance_box(cov, 0, {"bits": 2}) is None
    with pytest.raises(ValueError, match="box_round"):
        instance_box(cov, -1, {"bits": 2})


def test_spectrum_is_refused_above_its_limit():
    problem = discretize(factor_covariance(3, seed=0), 2)
    top, mean = spectrum(problem)
    assert top > mean and math.isfinite(top)
    assert spectrum(problem, max_qubits=5) is None


def _fake_rows(tmp_path):
    """A ground-state table with known answers: TTS = 2^(0.5 n) exactly, found in every run up to n = 8 and in
    none from n = 10."""
    rows = []
    for n in (4, 6, 8, 10, 12):
        for inst in range(5):
            p = 1.0 - 0.01 ** (1.0 / 2.0 ** (0.5 * n))  # time_to_solution(p) = 2^(0.5 n)
            rows.append({
                "run_id": f"{n}-{inst}", "study": "fake", "config_hash": "x", "solver": "sa", "status": "ok",
                "instance": f"i{inst}", "num_qubits": n, "box_round": 0, "found": n <= 8,
                "ground_state_probability": p, "probability_ratio": 2.0, "tts": 2.0 ** (0.5 * n),
                "tts_shots": 2.0 ** (0.5 * n), "uniform_probability": 2.0**-n, "uniform_tts": 2.0**n,
                "approximation_ratio": None, "uniform_approximation_ratio": 0.5, "elapsed": 0.1,
                "opt.bits": 2, "opt.box_round": 0, "versions": "{}",
            })
    path = tmp_path / "fake"
    path.mkdir()
    pd.DataFrame(rows).to_parquet(path / "runs.parquet")
    return path


def test_ground_state_report_fits_the_known_exponent_and_finds_the_stop(tmp_path):
    out = _fake_rows(tmp_path)
    written = write_report(out)
    assert {p.name for p in written} >= {"summary.md", "tts_vs_qubits.png", "ground_state_probability_vs_qubits.png"}
    frame = pd.read_parquet(out / "runs.parquet")
    frame["method"] = methods(frame)
    _, fits = exponent_table(frame)
    assert fits[("sa", 0, "tts")]["exponent"] == pytest.approx(0.5)
    assert fits[(UNIFORM, 0, "tts")]["exponent"] == pytest.approx(1.0)
    stops = stops_table(frame)
    assert stops.iloc[0]["stops finding the ground state at n"] == "10"
    text = (out / "summary.md").read_text()
    assert "| sa | 0 | 0.500 |" in text


def test_refinement_report_has_intervals_and_resource_plots(tmp_path):
    study = load_study(write(tmp_path, SYNTHETIC + '[[grid]]\nsolver = ["auto", "exact"]\nn_assets = 3\nbits = 2\n'
                                                   'rounds = [1, 3]\ncovariance_seed = [0, 1, 2, 3]\n'
                             .replace('solver = ["auto", "exact"]', 'solver = "exact"')
                             + '[[grid]]\nsolver = "auto"\nn_assets = 3\ncovariance_seed = [0, 1, 2, 3]\n'))
    run_study(study, tmp_path / "r", progress=False)
    written = {p.name for p in write_report(tmp_path / "r")}
    assert "rc_vs_time.png" in written and "rc_vs_rounds.png" in written
    text = (tmp_path / "r" / "summary.md").read_text()
    assert "## Ensemble medians with bootstrap 95% intervals" in text
    line = next(s for s in text.splitlines() if s.startswith("| exact | 3 | rounds=3 |"))
    assert "| 4 | 4 |" in line and " [" in line  # 4 runs over 4 instances, median [lo, hi]
