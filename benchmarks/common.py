"""Shared helpers of the benchmark scripts: covariance families, timing, result tables, environment record."""

from __future__ import annotations

import csv
import platform
import statistics
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from qrp.core.provenance import atomic_write
from qrp.data.synthetic import gaussian_factor_covariance

#: Random factor-model families (qrp.data.synthetic.gaussian_factor_covariance keyword arguments), annualized.
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


def interleaved(funcs: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each callable, calls interleaved round-robin after one warm-up call each."""
    return interleaved_cpu(funcs, repeats)[0]


def interleaved_cpu(funcs: dict, repeats: int, raw: dict | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(median wall seconds, median CPU seconds of this process) of each callable, interleaved as ``interleaved``;
    ``raw``, when given, receives every wall time (a list per callable)."""
    for f in funcs.values():
        f()
    wall: dict[str, list[float]] = {k: [] for k in funcs}
    cpu: dict[str, list[float]] = {k: [] for k in funcs}
    for _ in range(repeats):
        for k, f in funcs.items():
            t, c = time.perf_counter(), time.process_time()
            f()
            cpu[k].append(time.process_time() - c)
            wall[k].append(time.perf_counter() - t)
    if raw is not None:
        raw.update(wall)
    return ({k: statistics.median(v) for k, v in wall.items()}, {k: statistics.median(v) for k, v in cpu.items()})


def versions(*packages: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


def write_tables(out: Path, markdown: str, rows: list[dict], fields: list[str] | None = None) -> None:
    """Write ``out``.md (the printed table) and ``out``.csv (the rows), each atomically."""

    def write_csv(path: Path) -> None:
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields or list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(out.with_suffix(".md"), lambda p: p.write_text(markdown))
    atomic_write(out.with_suffix(".csv"), write_csv)
