"""benchmarks.reproduce: committed study rows re-executed with the current code and compared bit for bit."""

import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.reproduce import EXEMPT, compare_rows, coretype, main, recorded_blas, rerun_rows, sample_rows, verify
from qrp.core.provenance import package_versions
from qrp.studies.study import load_study
from qrp.studies.table import ResultTable, read_table

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "results" / "quickstart"
STUDY_FILE = ROOT / "experiments" / "quickstart.toml"


def cheap_rows() -> list[str]:
    """run_ids of four cheap quickstart rows: classical, exact, simulated annealing and QAOA, one round each."""
    frame = read_table(QUICKSTART)
    picks = [(frame.solver == "auto") & (frame.n_assets == 4),
             (frame.solver == "exact") & (frame.bits == 2) & (frame.rounds == 1),
             (frame.solver == "sa") & (frame.n_assets == 4) & (frame.bits == 2) & (frame.rounds == 1),
             (frame.solver == "qaoa") & (frame.reps == 1) & (frame.rounds == 1)]
    ids = [frame.loc[p, "run_id"] for p in picks]
    assert [len(i) for i in ids] == [1, 1, 1, 1]
    return [str(i.iat[0]) for i in ids]


def test_compare_rows_bit_for_bit_and_exempt_fields():
    row = {"run_id": "a", "rc_error": 0.1 + 0.2, "weights": json.dumps([0.25, 0.75]), "iterations": 7,
           "history": json.dumps([{"energy": -1.0, "elapsed": 0.5, "stats": {"wall_time": 0.2, "evaluations": 81}}]),
           "elapsed": 1.0, "finished_at": "2026-11-24T03:57:41+00:00", "versions": "{}", "config_hash": "x",
           "stats.resources.simulation_seconds": 0.01, "energy": math.nan}
    same = {**row, "elapsed": 2.0, "finished_at": "now", "versions": "{\"qrp\": \"1\"}", "config_hash": "y",
            "history": json.dumps([{"energy": -1.0, "elapsed": 9.0, "stats": {"wall_time": 3.0, "evaluations": 81.0}}]),
            "stats.resources.simulation_seconds": 0.02, "energy": None, "iterations": np.int64(7)}
    assert compare_rows(row, same) == []
    assert {"elapsed", "finished_at", "versions", "config_hash", "wall_time"} <= set(EXEMPT)

    ulp = np.nextafter(0.75, 1.0)
    changed = {**row, "rc_error": 0.3, "weights": json.dumps([0.25, float(ulp)]),
               "history": json.dumps([{"energy": -1.0, "stats": {"evaluations": 79}}]), "stats.new": 1.0}
    diffs = {d.field: d for d in compare_rows(row, changed)}
    assert set(diffs) == {"rc_error", "weights", "history", "stats.new"}
    assert diffs["weights"].leaves == [("weights[1]", 0.75, float(ulp))] and diffs["weights"].total == 2
    assert "max abs 1.11e-16" in diffs["weights"].line()
    assert diffs["history"].leaves == [("history[0].stats.evaluations", 81, 79)]
    assert "new in rerun" in diffs["stats.new"].line()
    assert diffs["rc_error"].leaves == [("rc_error", 0.1 + 0.2, 0.3)]  # one ulp apart


def test_compare_rows_reports_a_changed_length_and_a_removed_field():
    row = {"weights": json.dumps([0.5, 0.5]), "stats.old": 2.0}
    diffs = {d.field: d for d in compare_rows(row, {"weights": json.dumps([1.0])})}
    assert diffs["weights"].leaves[0] == ("len(weights)", 2, 1)
    assert "gone in rerun" in diffs["stats.old"].line()


def test_sample_rows_is_seeded_and_round_robin_over_solvers():
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(10)], "solver": ["auto"] * 7 + ["sa"] * 2 + ["qaoa"]})
    picked = sample_rows(frame, 3, seed=5)
    assert picked == sample_rows(frame, 3, seed=5)
    assert {frame.set_index("run_id").solver[r] for r in picked} == {"auto", "sa", "qaoa"}
    assert sorted(sample_rows(frame, 50, seed=1)) == sorted(frame.run_id)


def test_bad_input_is_exit_2(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "no runs.parquet" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--sample"):
        verify(str(QUICKSTART), sample=0, study_file=str(STUDY_FILE))


def test_fresh_rerun_verifies_and_a_one_ulp_change_is_caught(tmp_path, capsys):
    """Rows rerun now, stored as ``qrp run`` stores them, re-execute identically (exit 0); the same rows with one
    weight moved by one ulp do not (exit 1, the field and its difference named)."""
    ids = cheap_rows()
    fresh = rerun_rows(load_study(STUDY_FILE), ids).drop(columns="_seconds")
    with ResultTable(tmp_path) as table:
        for row in fresh.to_dict("records"):
            table.add(row)
    assert main([str(tmp_path), "--study-file", str(STUDY_FILE), "--sample", "8"]) == 0
    out = capsys.readouterr().out
    assert out.count("identical  ") == 4 and "every checked row is identical" in out

    frame = read_table(tmp_path)
    weights = json.loads(frame.loc[0, "weights"])
    weights[0] = float(np.nextafter(weights[0], 1.0))
    frame.loc[0, "weights"] = json.dumps(weights)
    frame.to_parquet(tmp_path / "runs.parquet", index=False)
    v = verify(str(tmp_path), run_ids=[frame.loc[0, "run_id"]], study_file=str(STUDY_FILE))
    assert not v.ok
    (check,) = v.checks
    assert [d.field for d in check.diffs] == ["weights"] and check.diffs[0].count == 1

    # a committed row without a field the code now fills (a diagnostic added since) passes as "new fields"; a
    # committed value the rerun no longer has fails
    frame = read_table(tmp_path)
    frame.loc[0, "weights"] = fresh.loc[fresh["run_id"] == frame.loc[0, "run_id"], "weights"].iloc[0]
    frame.loc[0, "iterations"] = None
    frame.to_parquet(tmp_path / "runs.parquet", index=False)
    v = verify(str(tmp_path), run_ids=[frame.loc[0, "run_id"]], study_file=str(STUDY_FILE))
    assert v.ok and v.checks[0].verdict == "new fields"
    frame.loc[0, "iterations"] = 12345
    frame.to_parquet(tmp_path / "runs.parquet", index=False)
    v = verify(str(tmp_path), run_ids=[frame.loc[0, "run_id"]], study_file=str(STUDY_FILE))
    assert not v.ok and v.checks[0].verdict == "differs"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OpenBLAS core types of x86-64")
def test_blas_kernel_is_recorded_and_follows_openblas_coretype():
    assert package_versions()["blas"].startswith("openblas ")
    code = "import scipy.linalg; from qrp.core.provenance import package_versions as p; print(p()['blas'])"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "OPENBLAS_CORETYPE": "Nehalem"},
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    assert out == "openblas Nehalem" and coretype(out) == "Nehalem"
    assert coretype("mkl ?, openblas Haswell") is None and coretype(None) is None
    versions = pd.DataFrame({"versions": [json.dumps({"blas": "openblas SkylakeX"}), "{}", None]})
    assert recorded_blas(versions) == "openblas SkylakeX" and recorded_blas(versions.iloc[1:]) is None


# results/quickstart: rerun at 57f9b00 (2026-12-07, OpenBLAS Haswell kernels, recorded in versions['blas']); its
# rows of 6d7ad1c (2026-11-24, SkylakeX kernels) no longer re-ran with later code (benchmarks/results/reproduce.md).
def test_committed_quickstart_reproduces():
    """Four cheap committed rows re-execute bit for bit, under the BLAS kernel they recorded (a subprocess with
    ``OPENBLAS_CORETYPE`` when it is not this process's)."""
    ids = cheap_rows()
    kernel = recorded_blas(read_table(QUICKSTART))
    if kernel is not None and kernel != package_versions()["blas"] and coretype(kernel):
        args = [sys.executable, "-m", "benchmarks.reproduce", str(QUICKSTART), "--study-file", str(STUDY_FILE)]
        proc = subprocess.run([*args, *(f"--run-id={i}" for i in ids)], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "OPENBLAS_CORETYPE": coretype(kernel)})
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        return
    v = verify(str(QUICKSTART), run_ids=ids, study_file=str(STUDY_FILE))
    assert [c.verdict for c in v.checks] == ["identical"] * 4, [d.line() for c in v.checks for d in c.diffs]
