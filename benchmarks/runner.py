"""Study runner overhead: per-row cost of the results table, 1000 cheap runs against a plain loop, workers 1 vs 2.

Run from the repository root: ``python -m benchmarks.runner`` (``--runs N`` to change the study size, ``--repeats
R`` the rounds). Prints one table and writes it to benchmarks/results/runner.md (+ .csv).

* table: ``ResultTable.add`` of real study rows, mean seconds per row over rows 40-60 and 940-960 of a 1000-row
  table (journal append; consolidations included where they fall), the consolidation at 1000 rows, and the old
  behaviour for comparison (the whole parquet + CSV rewritten after every row, i.e. ``consolidate`` per row);
* study: ``run_study`` on a grid of cheap classical runs (N = 8; the grid lists 250 points of each solver in turn,
  newton, ccd, slsqp, auto, so the cost per point changes along the grid) against a plain loop calling
  ``qrp.risk_parity`` with the same arguments and the same one-thread BLAS limit (the runner also solves the cached
  baseline, compares, records and journals each row);
* workers: the same study with ``workers=1`` and ``workers=2`` in this process (worker start-up included), the CPU
  seconds of the parent process during the ``workers=2`` run against those of its workers (the parent is not the
  bottleneck when its share is small), and ``qrp run STUDY --workers 1`` / ``--workers 2`` end to end in fresh
  processes (start-up, imports and each worker's solver warm-up included), the default command a user waits for.

Every wall time is the minimum over ``--repeats`` rounds (the least disturbed by other jobs on a shared machine),
the variants interleaved within each round; the medians are printed beside them. The load average is recorded
before and after, and the cores the ``workers=2`` run obtained (its CPU seconds over its wall seconds): with
Linux's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) the CPUs are shared between sessions,
not processes, so while another session keeps one core busy two workers get about one core between them, and
``nice`` does not change that.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from benchmarks.common import versions, write_tables
from qrp.api import risk_parity
from qrp.studies.runner import run_study
from qrp.studies.study import load_study
from qrp.studies.table import ResultTable

OUT = Path(__file__).parent / "results" / "runner"

STUDY = """
description = "runner benchmark: cheap classical runs"
seeds = {seeds}
[covariance]
source = "synthetic"
seed = 3
[[grid]]
solver = ["newton", "ccd", "slsqp", "auto"]
n_assets = 8
"""


def _study(tmp: Path, runs: int) -> Path:
    path = tmp / "bench.toml"
    path.write_text(STUDY.format(seeds=list(range(runs // 4))))
    return path


def _table_cost(rows: list[dict], tmp: Path) -> dict[str, float]:
    """Mean seconds per ``add`` at rows 40-60 and 940-960, the final consolidation, and per-row rewriting."""
    out: dict[str, float] = {}
    template = rows[0]
    with ResultTable(tmp / "table") as table:
        times = []
        for i in range(1000):
            row = {**rows[i % len(rows)], "run_id": f"{i:016x}"}
            start = time.perf_counter()
            table.add(row)
            times.append(time.perf_counter() - start)
        out["add_rows_40_60"] = statistics.median(times[40:60])
        out["add_rows_940_960"] = statistics.median(times[940:960])
        out["add_mean_1000"] = statistics.fmean(times)
        start = time.perf_counter()
        table.consolidate()
        out["consolidate_1000"] = time.perf_counter() - start
    with ResultTable(tmp / "old") as old:  # the previous behaviour: rewrite everything after every row
        times = []
        for i in range(960):
            old.add({**template, "run_id": f"{i:016x}"})
            if i in range(40, 60) or i in range(940, 960):
                start = time.perf_counter()
                old.consolidate()
                times.append(time.perf_counter() - start)
            elif i % 50 == 0:
                old.consolidate()
        out["rewrite_rows_40_60"] = statistics.median(times[:20])
        out["rewrite_rows_940_960"] = statistics.median(times[20:])
    return out


def _cli_seconds(study: Path, out: Path, workers: int) -> float:
    """Wall seconds of ``python -m qrp run STUDY --out OUT --workers K`` in a fresh interpreter of this checkout."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qrp", "run", str(study), "--out", str(out), "--workers", str(workers)],
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _rounds(study, path: Path, tmp: Path, repeats: int) -> dict[str, list[float]]:
    """Wall seconds of the plain loop, run_study with 1 and 2 workers and ``qrp run`` with 1 and 2 workers, the
    five interleaved in each of ``repeats`` rounds; also the parent / worker CPU seconds of the last run_study(2)."""
    cov = study.covariance_matrix(8)
    out: dict[str, list[float]] = {k: [] for k in ("loop", "one", "two", "cli1", "cli2", "cpu_parent", "cpu_workers")}
    for rep in range(repeats):
        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):
            for spec in study.runs:
                risk_parity(cov, solver=spec.solver, seed=spec.seed)
        out["loop"].append(time.perf_counter() - start)
        start = time.perf_counter()
        frame = run_study(study, tmp / f"w1-{rep}", workers=1, progress=False)
        out["one"].append(time.perf_counter() - start)
        assert len(frame) == len(study.runs) and (frame["status"] == "ok").all()
        parent0, children0 = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        start = time.perf_counter()
        frame2 = run_study(study, tmp / f"w2-{rep}", workers=2, progress=False)
        out["two"].append(time.perf_counter() - start)
        parent1, children1 = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        assert len(frame2) == len(study.runs) and (frame2["status"] == "ok").all()
        out["cpu_parent"].append(parent1.ru_utime + parent1.ru_stime - parent0.ru_utime - parent0.ru_stime)
        out["cpu_workers"].append(children1.ru_utime + children1.ru_stime - children0.ru_utime - children0.ru_stime)
        out["cli1"].append(_cli_seconds(path, tmp / f"c1-{rep}", 1))
        out["cli2"].append(_cli_seconds(path, tmp / f"c2-{rep}", 2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="grid points of the cheap study (multiple of 4)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds of the study timings")
    args = parser.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        path = _study(tmp, args.runs)
        study = load_study(path)
        cov = study.covariance_matrix(8)
        for spec in study.runs[:8]:  # warm: imports and numba compilation out of the in-process timings below
            risk_parity(cov, solver=spec.solver, seed=spec.seed)
        t = _rounds(study, path, tmp, args.repeats)
        frame = run_study(study, tmp / "rows", workers=1, progress=False)
        cost = _table_cost(frame.to_dict("records"), tmp)
    n = len(study.runs)
    load = os.getloadavg()
    best = {k: min(v) for k, v in t.items()}
    med = {k: statistics.median(v) for k, v in t.items()}

    def timed(measure: str, key: str) -> dict:
        return {"measure": measure, "value": best[key], "median": med[key]}

    def ratio(measure: str, top: str, bottom: str) -> dict:
        return {"measure": measure, "value": best[top] / best[bottom], "median": med[top] / med[bottom]}

    rows = [
        {"measure": "table: add, median of rows 40-60 (ms/row)", "value": cost["add_rows_40_60"] * 1e3},
        {"measure": "table: add, median of rows 940-960 (ms/row)", "value": cost["add_rows_940_960"] * 1e3},
        {"measure": "table: add, mean over 1000 rows (ms/row)", "value": cost["add_mean_1000"] * 1e3},
        {"measure": "table: consolidation at 1000 rows (ms, every >= 3 s)", "value": cost["consolidate_1000"] * 1e3},
        {"measure": "old: rewrite per row, median of rows 40-60 (ms/row)",
         "value": cost["rewrite_rows_40_60"] * 1e3},
        {"measure": "old: rewrite per row, median of rows 940-960 (ms/row)",
         "value": cost["rewrite_rows_940_960"] * 1e3},
        timed(f"plain loop, {n} risk_parity calls (s)", "loop"),
        timed(f"run_study workers=1, {n} runs (s)", "one"),
        ratio("ratio run_study(workers=1) / plain loop", "one", "loop"),
        timed(f"run_study workers=2, {n} runs (s)", "two"),
        ratio("ratio run_study workers=2 / workers=1", "two", "one"),
        timed("run_study workers=2: parent CPU s", "cpu_parent"),
        timed("run_study workers=2: worker processes' CPU s", "cpu_workers"),
        {"measure": "run_study workers=2: cores obtained (parent + worker CPU s / wall s, fastest round)",
         "value": (t["cpu_parent"][t["two"].index(best["two"])] + t["cpu_workers"][t["two"].index(best["two"])])
         / best["two"]},
        timed(f"qrp run --workers 1, {n} runs, fresh process (s)", "cli1"),
        timed(f"qrp run --workers 2, {n} runs, fresh process (s)", "cli2"),
        ratio("ratio qrp run --workers 2 / --workers 1", "cli2", "cli1"),
    ]
    lines = [
        "## Study runner overhead",
        "",
        f"Command: `python -m benchmarks.runner --runs {args.runs} --repeats {args.repeats}`; grid: {n // 4} points "
        f"each of newton, ccd, slsqp, auto at N = 8 (synthetic factor covariance), {n} grid points. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load0[0]:.1f} / {load0[1]:.1f} / "
        f"{load0[2]:.1f} (1 / 5 / 15 min) at the start and {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the "
        f"end (a shared machine). Times: the minimum (and the median) over {args.repeats} interleaved rounds. "
        f"Versions: {versions('numpy', 'pandas', 'pyarrow')}.",
        "",
        "| measure | value | median |",
        "|---|---:|---:|",
        *(f"| {r['measure']} | {r['value']:.3g} | {'' if 'median' not in r else format(r['median'], '.3g')} |"
          for r in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    write_tables(OUT, text, rows, ["measure", "value", "median"])


if __name__ == "__main__":
    main()
