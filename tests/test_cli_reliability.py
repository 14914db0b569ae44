"""Issue 22, CLI: every grid point failing, dry runs a study cannot run, MemoryError, an unreachable MLflow server,
a complete study in a read-only --out, another study's --out."""

import os
import socket
import stat
import time

import pytest

from qrp.cli import main

STUDY = """
[covariance]
source = "synthetic"
seed = 11
[[grid]]
solver = ["{solver}"]
n_assets = [3]
"""


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_every_grid_point_failing_prints_an_empty_summary(write_study, failing_solver, tmp_path, capsys):
    path = write_study(STUDY.format(solver=failing_solver) + "bits = [1]\n")
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert "KeyError" not in captured.err and "internal error" not in captured.err
    assert "errors" in captured.out and "solver" in captured.out  # the (empty) summary table was printed


@pytest.mark.parametrize("text, match", [
    (STUDY.format(solver="dimod"), r"'dimod' needs sampler="),
    ('kind = "ground_state"\n' + STUDY.format(solver="newton"), r"ground_state.*'newton' is a classical solver"),
])
def test_dry_run_refuses_a_study_that_cannot_run(write_study, capsys, text, match):
    assert main(["run", str(write_study(text)), "--dry-run"]) == 2
    import re

    assert re.search(match, _err_line(capsys))


def test_memory_error_is_a_one_line_exit_2(monkeypatch, capsys):
    import qrp.api

    def boom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(qrp.api, "risk_parity", boom)
    assert main(["solve", "--solver", "newton"]) == 2
    assert "out of memory" in _err_line(capsys)


def test_study_too_large_for_memory_exits_2(write_study, tmp_path, capsys):
    path = write_study(STUDY.format(solver="newton").replace("[3]", "[200000]"))
    code = main(["run", str(path), "--out", str(tmp_path / "o"), "--workers", "1"])
    assert code == 2
    assert "GiB" in _err_line(capsys)


def test_solve_num_sweeps_too_large_exits_2(capsys):
    assert main(["solve", "--solver", "sa", "--options", '{"num_sweeps": 1000000000}']) == 2
    assert "num_sweeps" in _err_line(capsys)


def test_unreachable_mlflow_server_fails_fast(capsys):
    pytest.importorskip("mlflow")
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        t0 = time.monotonic()
        assert main(["solve", "--solver", "newton", "--mlflow", f"http://127.0.0.1:{port}"]) == 2
        assert time.monotonic() - t0 < 60  # MLflow's own retries took 251 s
    assert f"cannot connect to 127.0.0.1:{port}" in _err_line(capsys)


def test_complete_study_in_a_read_only_out_is_not_written(write_study, tmp_path, capsys):
    path = write_study(STUDY.format(solver="newton"))
    out = tmp_path / "o"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    read_only = os.geteuid() != 0  # root writes into read-only directories: then the mtimes alone tell
    if read_only:
        out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
        assert "complete; nothing to run" in capsys.readouterr().out
    finally:
        out.chmod(0o755)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_another_study_into_an_existing_out_is_refused_unless_forced(write_study, tmp_path, capsys):
    first = write_study(STUDY.format(solver="newton"), name="first.toml")
    second = write_study(STUDY.format(solver="ccd"), name="second.toml")
    out = tmp_path / "o"
    assert main(["run", str(first), "--out", str(out), "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["run", str(second), "--out", str(out), "--workers", "1"]) == 2
    err = _err_line(capsys)
    assert "holds runs of another study (first, config hash" in err and "--force" in err
    assert main(["run", str(second), "--out", str(out), "--workers", "1", "--force"]) == 0
    grown = write_study(STUDY.format(solver="newton").replace("[3]", "[3, 4]"), name="first.toml")
    assert main(["run", str(grown), "--out", str(out), "--workers", "1", "--force"]) == 0


def test_progress_lines_follow_the_current_stderr(tmp_path, capsys):
    """The flaky-suite cause: progress lines went to the stderr of the first command run in the process."""
    import io
    import sys

    returns = tmp_path / "r.csv"
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(np.random.default_rng(0).normal(0, 0.01, size=(120, 3)), columns=list("abc"),
                         index=pd.bdate_range("2023-01-02", periods=120, name="date"))
    frame.to_csv(returns)
    first = io.StringIO()
    old, sys.stderr = sys.stderr, first
    try:
        assert main(["rebalance", "--returns", str(returns), "--window", "100", "--out", str(tmp_path / "a")]) == 0
    finally:
        sys.stderr = old
    assert "qrp: " in first.getvalue()
    capsys.readouterr()
    assert main(["rebalance", "--returns", str(returns), "--window", "100", "--out", str(tmp_path / "b")]) == 0
    assert "qrp: " in capsys.readouterr().err  # the second command's lines reach the stderr of now


def test_collector_frozen_only_when_the_program_ends(monkeypatch):
    """main() on the program's own command line (``qrp``, ``python -m qrp``: the process exits next) freezes the
    collector as it ends, so that the shutdown does not walk every object the command built; main(argv) called in a
    process that goes on (a test, a notebook) leaves nothing frozen, on success and on error alike."""
    import gc

    import qrp.cli as cli

    ended = []
    monkeypatch.setattr(cli, "_ending_process", lambda: ended.append(True))
    before = gc.get_freeze_count()
    assert main(["solvers"]) == 0
    assert main(["report", "/nonexistent/dir"]) == 2  # failed after the report's imports were frozen
    assert ended == [] and gc.get_freeze_count() == before
    monkeypatch.setattr("sys.argv", ["qrp", "solvers"])
    assert main() == 0
    assert ended == [True]


def test_report_leaves_a_disabled_collector_disabled():
    """``qrp report`` turns the collector off for its imports and back on after them: only if it was on (main() in
    a process that turned it off keeps it off), on success and on error alike."""
    import gc

    gc.disable()
    try:
        assert main(["report", "/nonexistent/dir"]) == 2
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert main(["report", "/nonexistent/dir"]) == 2
    assert gc.isenabled()


def test_report_keeps_objects_the_caller_froze_frozen():
    """gc.unfreeze thaws every frozen object, also those a process froze itself (a server before it forks): ``qrp
    report`` run inside it freezes nothing of its own then, and leaves the caller's objects frozen."""
    import gc

    gc.freeze()  # the caller's own frozen objects
    try:
        before = gc.get_freeze_count()
        assert before > 0
        assert main(["report", "/nonexistent/dir"]) == 2
        assert gc.get_freeze_count() > before // 2  # not thawed (refcounting may still free a few frozen objects)
    finally:
        gc.unfreeze()


def test_collector_frozen_nests_and_unfreezes_once():
    """``report.collector_frozen``: the outermost one freezes and unfreezes; one inside it (write_report's drawing
    inside ``qrp report``) freezes more and leaves the unfreezing to the outer; with the caller's objects frozen on
    entry it freezes nothing."""
    import gc

    from qrp.studies.report import collector_frozen

    gc.unfreeze()
    with collector_frozen():
        outer = gc.get_freeze_count()
        assert outer > 0
        with collector_frozen():
            assert gc.get_freeze_count() > outer // 2
        assert gc.get_freeze_count() > outer // 2  # still frozen: the outer one unfreezes
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        mine = gc.get_freeze_count()
        with collector_frozen():
            pass
        assert gc.get_freeze_count() > mine // 2
    finally:
        gc.unfreeze()
