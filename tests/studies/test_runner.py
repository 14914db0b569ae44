"""The runner contract (issue 5): one row per grid point, resume without loss or duplicates (also after SIGKILL),
Dask LocalCluster rows equal local rows (MLflow logging: test_tracking.py)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qrp.studies.runner import run_study
from qrp.studies.study import load_study
from qrp.studies.table import JOURNAL, RUNS_CSV, RUNS_PARQUET, ResultTable, read_table

ROOT = Path(__file__).resolve().parents[2]
#: columns that measure time or the moment a run finished: they differ between two runs of the same grid.
TIMING = ["elapsed", "classical_elapsed", "finished_at"]

SMALL = """
seeds = [0, 1]
[covariance]
source = "synthetic"
seed = 11
[[grid]]
solver = ["auto", "newton", "slsqp"]
n_assets = [4, 9]
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def test_run_records_one_row_per_grid_point_and_resumes(small, tmp_path):
    out = tmp_path / "out"
    frame = run_study(small, out, progress=False)
    study = load_study(small)
    assert len(frame) == len(study.runs) == 12
    assert sorted(frame["run_id"]) == sorted(r.run_id for r in study.runs)
    assert (frame["status"] == "ok").all()
    for col in ("solver", "n_assets", "bits", "rounds", "reps", "num_qubits", "rc_error", "classical_rc_error",
                "weight_distance", "energy_gap", "elapsed", "seed", "versions", "config_hash"):
        assert col in frame.columns, col
    assert json.loads(frame["versions"].iloc[0])["numpy"] == np.__version__
    # the baseline compared with itself: same weights, same accuracy
    auto = frame[frame["solver"] == "auto"]
    assert (auto["weight_distance"] == 0).all()
    assert (auto["rc_error"] == auto["classical_rc_error"]).all()
    assert (frame["classical_rc_error"] < 1e-10).all()
    # weight_distance is max |w - w_classical| of the stored weights
    row = frame[frame["solver"] == "slsqp"].iloc[0]
    w, wc = np.array(json.loads(row["weights"])), np.array(json.loads(row["classical_weights"]))
    assert row["weight_distance"] == pytest.approx(np.abs(w - wc).max(), abs=0)
    # the table on disk is the table returned, CSV copy included
    disk = pd.read_parquet(out / RUNS_PARQUET)
    assert len(disk) == 12 and len(pd.read_csv(out / RUNS_CSV)) == 12
    # resume: nothing to run, nothing duplicated, old rows untouched
    again = run_study(small, out, progress=False)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), disk.reset_index(drop=True), check_dtype=False)
    # a larger grid on the same DIR runs only the new points
    small.write_text(SMALL.replace("[4, 9]", "[4, 9, 6]"))
    grown = run_study(small, out, progress=False)
    assert len(grown) == 18 and grown["run_id"].is_unique
    kept = grown.set_index("run_id").loc[disk["run_id"], "finished_at"]
    assert list(kept) == list(disk["finished_at"])


def _start_slow_study(tmp_path, *, seeds: int, workers: int):
    """Write a study of 2 x ``seeds`` slow grid points (SciPy's SLSQP at N = 150, 200: 0.17 and 0.38 s a solve on
    the 2-core sandbox; the seed's SLSQP at N = 60, 70, used before, had become 6 ms a solve, so a run ended before
    the tests could act on it) and start ``qrp run`` on it in a subprocess; returns (study path, output directory,
    process)."""
    study = tmp_path / "slow.toml"
    study.write_text(f"""
seeds = {list(range(seeds))}
[covariance]
source = "synthetic"
seed = 2
[[grid]]
solver = "slsqp"
n_assets = [150, 200]
""")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "qrp", "run", str(study), "--out", str(out), "--workers",
                             str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return study, out, proc


def test_sigkill_mid_study_loses_and_duplicates_nothing(tmp_path):
    study, out, proc = _start_slow_study(tmp_path, seeds=4, workers=1)
    deadline = time.monotonic() + 60
    rows = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / RUNS_PARQUET).exists():
            rows = len(read_table(out))  # readable at every moment
            if rows >= 2:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the study finished before it could be killed: make it slower"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_table(out)  # the consolidated rows and the journalled ones
    assert 2 <= len(before) < 8
    after = run_study(study, out, progress=False)
    assert len(after) == 8 and after["run_id"].is_unique
    assert sorted(after["run_id"]) == sorted(r.run_id for r in load_study(study).runs)
    # rows written before the kill are kept as they were, not recomputed
    kept = after.set_index("run_id").loc[before["run_id"], "finished_at"]
    assert list(kept) == list(before["finished_at"])


def test_lost_worker_process_loses_and_duplicates_nothing(tmp_path):
    """SIGKILL one local worker process mid-study: the runner rebuilds the pool, resubmits the unfinished grid points
    and finishes with every run_id exactly once."""
    psutil = pytest.importorskip("psutil")
    study, out, proc = _start_slow_study(tmp_path, seeds=6, workers=2)
    deadline = time.monotonic() + 120
    killed = None
    while time.monotonic() < deadline and proc.poll() is None and killed is None:
        if (out / RUNS_PARQUET).exists() and len(read_table(out)) >= 1:
            # worker processes: forked (the parent's command line) or spawned, not multiprocessing's helper
            workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                       if "resource_tracker" not in " ".join(c.cmdline())]
            if workers:
                killed = workers[0].pid
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    assert killed is not None, "no worker process was killed: the study finished too early or never started"
    rows_at_kill = len(read_table(out))
    assert rows_at_kill < 12, "the study finished before a worker could be killed: make it slower"
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    after = pd.read_parquet(out / RUNS_PARQUET)
    assert len(after) == 12 and after["run_id"].is_unique
    assert sorted(after["run_id"]) == sorted(r.run_id for r in load_study(study).runs)
    assert (after["status"] == "ok").all()


def _comparable(frame):
    return frame.drop(columns=TIMING).sort_values("run_id").reset_index(drop=True)


def test_dask_local_cluster_rows_equal_local_rows(small, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = run_study(small, tmp_path / "local", progress=False)
    # one thread per worker: BLAS thread limits are process-wide, so two runs sharing a process could see each
    # other's limit lifted mid-run (multi-threaded BLAS changes SLSQP's iteration count): seen once in CI here
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")  # the address `qrp run --scheduler` takes
        remote = run_study(small, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(_comparable(remote), _comparable(local))


def test_worker_processes_rows_equal_in_process_rows(small, tmp_path):
    local = run_study(small, tmp_path / "one", progress=False)
    pool = run_study(small, tmp_path / "two", workers=2, progress=False)
    pd.testing.assert_frame_equal(_comparable(pool), _comparable(local))


def test_discrete_runs_record_the_gap_to_the_exact_optimum(tmp_path, failing_solver):
    study = tmp_path / "disc.toml"
    study.write_text("""
seeds = [0]
reference_max_qubits = 6
[covariance]
source = "synthetic"
seed = 5
[[grid]]
solver = ["exact", "sa"]
n_assets = [3, 4]
bits = 2
rounds = [1, 3]
[[grid]]
solver = "qaoa"
n_assets = 3
bits = 2
reps = 1
rounds = 1
[[grid]]
solver = "toy_failing"
n_assets = 3
bits = 2
""")
    frame = run_study(study, tmp_path / "out", progress=False)
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == 9 and (ok["num_qubits"] == 2 * ok["n_assets"]).all()
    small = ok[ok["n_assets"] == 3]  # 6 qubits: within reference_max_qubits
    one = small[small["rounds"] == 1]
    # the gap is to the minimum of the very same problem, so never negative (QAOA included: its defaults are used)
    assert one["energy_gap"].notna().all() and (one["energy_gap"] >= -1e-12).all()
    assert set(one["solver"]) == {"exact", "sa", "qaoa"}
    exact = one[one["solver"] == "exact"]
    assert (exact["energy_gap"] == 0).all() and exact["ground_state"].all()
    # (N = 2 would be solved exactly in one round: a 2-asset box centred on inverse volatility is ERC)
    assert small[small["rounds"] == 3]["energy_gap"].isna().all()  # different refinement paths: no gap
    assert small["exact_rc_error"].notna().all()
    assert ok[ok["n_assets"] == 4]["exact_energy"].isna().all()  # 8 qubits > reference_max_qubits
    # a point the solver rejects at run time is recorded as an error, and retried (not duplicated) on resume
    bad = frame[frame["status"] == "error"]
    assert len(bad) == 1 and "toy_failing refuses" in bad["error"].iloc[0]
    again = run_study(study, tmp_path / "out", progress=False)
    assert len(again) == 10 and again["run_id"].is_unique


def test_reference_options_follow_the_run_solvers_defaults(registered):
    from qrp.core.options import choice_option, int_option
    from qrp.studies.runner import reference_options
    from tests.conftest import zeros_sampler

    registered("toy_run", zeros_sampler, kind="discrete", options=(
        int_option("bits", 2), choice_option("fit", "a", ("a", "b")), int_option("reads", 5),
        int_option("max_qubits", None)))
    registered("toy_ref", zeros_sampler, kind="discrete", options=(
        int_option("bits", 3), choice_option("fit", "b", ("a", "b")), int_option("max_qubits", 20)))
    # the run's value, else the run solver's default; a None default (a limit) is left to the reference
    # every discrete solver also takes the block composite's options (the registry adds them to each table)
    blocks = {"block_order": "energy_impact", "block_sweeps": 4}
    assert reference_options("toy_run", "toy_ref", {"bits": 4, "reads": 9}) == {"bits": 4, "fit": "a", **blocks}
    assert reference_options("toy_run", "toy_ref", {"max_qubits": 12}) == {"bits": 2, "fit": "a", "max_qubits": 12,
                                                                           **blocks}


def test_bad_option_values_are_refused_when_the_study_loads(write_study):
    text = ('seeds = [0]\n[covariance]\nsource = "synthetic"\n[[grid]]\nsolver = "sa"\nn_assets = 3\nbits = 2\n'
            'num_reads = [5, 0]\n')
    with pytest.raises(ValueError, match=r"grid\[0\]: num_reads must be an integer >= 1, got 0"):
        load_study(write_study(text))


def test_column_order_does_not_depend_on_completion_order(tmp_path):
    rows = [{"run_id": "a", "status": "ok", "opt.bits": 2, "stats.zeta": 1.0, "versions": "v", "finished_at": "t"},
            {"run_id": "b", "status": "ok", "stats.alpha": 2.0, "opt.reps": 1, "versions": "v", "finished_at": "t"}]
    with ResultTable(tmp_path / "1") as first, ResultTable(tmp_path / "2") as second:
        for row in rows:
            first.add(row)
        for row in reversed(rows):
            second.add(row)
    expected = ["run_id", "status", "opt.bits", "opt.reps", "stats.alpha", "stats.zeta", "versions", "finished_at"]
    assert list(first.frame.columns) == list(second.frame.columns) == expected
    assert list(pd.read_parquet(tmp_path / "2" / RUNS_PARQUET).columns) == expected


def _row(run_id, status="ok", **extra):
    return {"run_id": run_id, "status": status, "rc_error": 1e-12, **extra}


def test_rows_are_journalled_not_rewritten_and_consolidated_at_the_end(tmp_path):
    """Adding a row appends one journal line (the parquet is not rewritten); readers see it at once; closing
    consolidates the table into runs.parquet / runs.csv and removes the journal."""
    out = tmp_path / "out"
    with ResultTable(out, consolidate_every=3600) as table:
        inode = (out / RUNS_PARQUET).stat().st_ino
        for i in range(50):
            table.add(_row(f"r{i}", x=np.float64(i), n=np.int64(i)))
        table.add(_row("r3"))  # a second delivery of a finished run_id is ignored
        assert (out / RUNS_PARQUET).stat().st_ino == inode  # not rewritten per row
        assert len(pd.read_parquet(out / RUNS_PARQUET)) == 0
        assert len((out / JOURNAL).read_text().splitlines()) == 50
        assert list(read_table(out)["run_id"]) == [f"r{i}" for i in range(50)]
    disk = pd.read_parquet(out / RUNS_PARQUET)
    assert list(disk["run_id"]) == [f"r{i}" for i in range(50)] and len(pd.read_csv(out / RUNS_CSV)) == 50
    assert not (out / JOURNAL).exists()  # emptied, then removed: nothing left behind
    assert disk["x"].iloc[7] == 7.0 and disk["n"].iloc[7] == 7


def test_opening_recovers_what_a_killed_run_left(tmp_path):
    """A torn last journal line is skipped, rows both consolidated and journalled (a kill between the two steps)
    count once, error rows are dropped for a rerun, and temporary files of interrupted atomic writes are removed."""
    out = tmp_path / "out"
    with ResultTable(out) as table:
        table.add(_row("a"))
        table.add(_row("b"))
    lines = [json.dumps(_row("b")), json.dumps(_row("c")), json.dumps(_row("d", "error")), '{"run_id": "e", "sta']
    (out / JOURNAL).write_text("\n".join(lines))
    for name in (".runs.parquet.abc123.tmp", ".runs.csv.x9.tmp"):
        (out / name).write_bytes(b"half a file")
    assert list(read_table(out)["run_id"]) == ["a", "b", "c", "d"]
    table = ResultTable(out)
    assert table.done() == {"a", "b", "c"}
    table.close()
    assert list(pd.read_parquet(out / RUNS_PARQUET)["run_id"]) == ["a", "b", "c"]
    assert not list(out.glob("*.tmp")) and not (out / JOURNAL).exists()


def test_a_foreign_runs_parquet_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pd.DataFrame({"x": [1, 2]}).to_parquet(out / RUNS_PARQUET)
    with pytest.raises(ValueError, match="not a qrp runs table"):
        ResultTable(out)
    (out / RUNS_PARQUET).write_text("not parquet")
    with pytest.raises(ValueError, match="not a readable parquet file"):
        read_table(out)


def test_two_qrp_run_processes_on_one_out_lose_nothing(tmp_path):
    """Two `qrp run` started together on one directory: one runs the study, the other stops at once (exit 2,
    naming the holder's PID); every row is there exactly once; the same study again afterwards computes nothing.
    The second starts once the first has journalled a row, so holds the lock: started at once, it could find the
    first already finished under load (both exited 0 in a CI run of the whole suite on two cores)."""
    seeds = 10
    study, out, first = _start_slow_study(tmp_path, seeds=seeds, workers=1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None and not len(read_table(out)):
        time.sleep(0.02)
    assert first.poll() is None, "the study finished before the second run could start: make it slower"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "qrp", "run", str(study), "--out", str(out), "--workers", "1"]
    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    errors = {proc.pid: proc.communicate(timeout=300)[1].decode() for proc in (first, second)}
    codes = {first.pid: first.returncode, second.pid: second.returncode}
    assert sorted(codes.values()) == [0, 2], errors
    winner, loser = sorted(codes, key=codes.get)
    assert f"PID {winner}" in errors[loser] and len(errors[loser].strip().splitlines()) == 1, errors[loser]
    assert "Traceback" not in errors[loser]
    frame = read_table(out)
    assert len(frame) == 2 * seeds and frame["run_id"].is_unique and (frame["status"] == "ok").all()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    pd.testing.assert_frame_equal(read_table(out), frame)
