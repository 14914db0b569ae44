"""qrp.launcher: ``qrp run`` starts OpenBLAS on one thread (read when numpy loads); other commands, a caller's own
setting and a process that already loaded numpy are left alone."""

import os
import sys

import pytest

import qrp.cli
import qrp.launcher


@pytest.mark.parametrize(("argv", "before", "numpy_loaded", "after"), [
    (["qrp", "run", "study.toml"], None, False, "1"),
    (["qrp", "run", "study.toml", "--workers", "2"], "4", False, "4"),  # the caller's setting stands
    (["qrp", "solve"], None, False, None),
    (["qrp", "report", "out"], None, False, None),
    (["qrp"], None, False, None),
    (["qrp", "run", "study.toml"], None, True, None),  # too late to matter: nothing set
])
def test_qrp_run_starts_openblas_on_one_thread(monkeypatch, argv, before, numpy_loaded, after):
    seen = {}

    def cli_main():
        seen["env"] = os.environ.get("OPENBLAS_NUM_THREADS")
        return 7

    monkeypatch.setattr(qrp.cli, "main", cli_main)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "placeholder")  # so that the test's change is undone
    if before is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", before)
    if not numpy_loaded:
        monkeypatch.delitem(sys.modules, "numpy")  # restored after the test; qrp.cli is imported already
    monkeypatch.setattr(sys, "argv", argv)
    assert qrp.launcher.main() == 7
    assert seen["env"] == after
