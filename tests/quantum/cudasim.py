"""Run Python under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM must be set before numba is imported, hence a
subprocess), skipping the test when the simulator itself is unavailable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_on_cuda_simulator(args: list[str], *, timeout: float = 600, cwd: str | None = None):
    """``python *args`` with NUMBA_ENABLE_CUDASIM=1 and QRP_GPU=1; the completed process, or a skip when the
    failure is numba's CUDA simulator missing."""
    pytest.importorskip("numba.cuda")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", QRP_GPU="1")
    out = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if "CUDA" in out.stderr and "simulator" in out.stderr.lower() and out.returncode != 0:
        pytest.skip(f"numba's CUDA simulator is unavailable: {out.stderr.strip().splitlines()[-1]}")
    return out


def assert_script_prints_ok(script: str, *, timeout: float = 600) -> None:
    """``script`` run under the CUDA simulator exits 0 and prints exactly "ok"."""
    out = run_on_cuda_simulator(["-c", script], timeout=timeout)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
