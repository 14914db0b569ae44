"""Issue 22: worker processes of ``qrp run --workers 2`` exit when the runner is killed with SIGKILL (they stayed
alive, idle at about 350 MB each, 90 s and more)."""

import signal
import time

import pytest

from tests.studies.test_runner import _start_slow_study

psutil = pytest.importorskip("psutil")


def test_workers_exit_when_the_runner_is_sigkilled(tmp_path):
    _, _, proc = _start_slow_study(tmp_path, seeds=8, workers=2)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120  # the runner imports and warms up first (slow on a loaded box)
    workers = []
    while time.monotonic() < deadline and proc.poll() is None:
        workers = [c for c in parent.children(recursive=True) if c.is_running()]
        if len(workers) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None and len(workers) >= 2, "no worker processes to orphan: make the study slower"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)  # at once with PR_SET_PDEATHSIG; 0.5 s polls otherwise
    for p in alive:
        p.kill()
    assert not alive, f"{len(alive)} worker(s) outlived the runner"
