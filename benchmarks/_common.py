"""Shared helpers of the benchmark scripts: covariance families, timing, atomic writes, environment record."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from qrp.synthetic import gaussian_factor_covariance

#: Random factor-model families (qrp.synthetic.gaussian_factor_covariance keyword arguments), annualized.
FAMILIES = {
    "weak": {"loading_scale": 0.05},
    "strong": {"loading_scale": 0.2},
    "market": {"loading_scale": 0.1, "loading_mean": 0.15},
}


def family_covariance(family: str, n: int, *, seed: int, **overrides):
    """The seeded covariance of ``family`` (see FAMILIES) at size n."""
    return gaussian_factor_covariance(n, seed=seed, **{**FAMILIES[family], **overrides})


def timed(func, *, repeats: int):
    """(median seconds, list of seconds, last return value) over ``repeats`` calls."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, out


def versions(*packages: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
