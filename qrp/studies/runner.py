"""The experiment runner behind ``qrp run``: one row per grid point in ``DIR/runs.parquet``, resumable.

Each grid point becomes one row (``qrp.studies.rows``: the run, its classical baseline and, when small
enough, its exact reference).

Each finished row is journalled at once and consolidated into ``runs.parquet`` (source of truth) and ``runs.csv``
(a copy) every few seconds and at the end (``qrp.studies.table``): O(1) work per row, and a SIGKILL at any moment
loses no finished row. Only the parent process writes, holding an exclusive lock on DIR (``DIR/.qrp.lock``) for the
whole run: a second run on the same DIR stops at once with ``DirectoryInUse`` naming the holder's PID. Running
again on the same DIR runs only the run_ids that are missing (or that recorded an error), so nothing is duplicated.

Execution: in-process (``workers=1``), a local ``ProcessPoolExecutor`` (``workers=K``; a pool broken by a lost
worker is rebuilt and the unfinished points resubmitted), or a Dask distributed cluster (``scheduler=ADDRESS``;
Dask reschedules the tasks of a lost worker). Either way a point's row is written once, when its result arrives.
Local workers are forked where that is safe (``_context``: no re-import per worker), after this process has done
the one-off work they would each repeat (``_warm_before_fork``: classical solvers' imports and numba kernels, the
thread-pool controller, the package versions), and get grid points in chunks (``Chunker``) of about
``CHUNK_SECONDS`` of work, sized from the measured seconds per point of each kind of point (solver, size,
options), one point at a time for slow kinds, so that cheap runs are not dominated by worker start-up and
inter-process messages and a slow kind following a cheap one is not sent out in one huge chunk.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd

from qrp.core.provenance import DirectoryLock, package_versions
from qrp.studies.rows import blas_controller, reference_options, run_chunk, run_task, warm_up
from qrp.studies.study import Study, load_study
from qrp.studies.table import JOURNAL, RUNS_CSV, RUNS_PARQUET, ResultTable, read_table
from qrp.studies.tasks import Chunker, Task, build_tasks
from qrp.studies.terminal import print_summary, progress_bar
from qrp.studies.tracking import MlflowLogger

#: lock file inside a study's result directory (held for the run's lifetime).
LOCK_FILE = ".qrp.lock"
#: pool rebuilds allowed after worker processes die before the runner gives up (the rest stays for a resume).
MAX_POOL_RESTARTS = 3
#: the chunks kept in flight per local worker.
CHUNKS_PER_WORKER = 2
#: modules whose native thread pools do not survive a fork: once imported here (a QAOA run in this process, or a
#: transpile), a forked worker can hang in them (qiskit's Rust rayon pool: seen after run_study(workers=1) on a
#: QAOA grid, then workers=2 in the same process; Aer's OpenMP pool).
FORK_UNSAFE_MODULES = ("qiskit", "qiskit_aer")


def _context() -> multiprocessing.context.BaseContext:
    """How to start worker processes: fork on Linux when this process runs a single thread and has not loaded a
    library whose native thread pool a fork breaks (``FORK_UNSAFE_MODULES``; ``qrp run`` never has: the parent
    warms classical solvers only), so the workers start in milliseconds with every module already imported,
    instead of importing qrp, numba and SciPy again; forking a process with threads is unsafe, and fork is unsafe
    on macOS; spawn otherwise."""
    if (sys.platform == "linux" and threading.active_count() == 1
            and not any(name in sys.modules for name in FORK_UNSAFE_MODULES)):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _warm_before_fork(tasks: list[Task]) -> None:
    """Do this process's one-off work before the workers are forked from it, so that they inherit it instead of
    each paying it again (K workers then cost one warm-up, as one worker does): the warm-up of every classical call
    (the runs' and the baseline's, per size, ``rows.warm_up``: imports and numba kernels, 1.5-13 s of CPU on an
    empty numba cache), the thread-pool controller (0.1 s of
    library scanning) and the package versions every row records (git and package metadata, 0.2-0.5 s). Classical
    solvers only: numba and SciPy start no threads, whereas a discrete solver's engine may (Aer's OpenMP pool), and
    forking a process after that is unsafe."""
    for task in tasks:
        warm_up(task, discrete=False)
    blas_controller()
    package_versions()


#: seconds between a worker's checks that the process which started it is still alive.
PARENT_POLL_SECONDS = 0.5
#: Linux prctl option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: the worker ends when the runner that started it dies, even by SIGKILL (which runs no
    cleanup: two idle workers of about 350 MB each stayed alive 90 s and more). On Linux the kernel sends SIGKILL
    at the parent's death (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also checks every
    ``PARENT_POLL_SECONDS`` that the parent is still this worker's parent, and exits when it is not."""
    if sys.platform == "linux":
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread below still watches
            pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="qrp-parent-watch", daemon=True).start()


def _run_local(tasks: list[Task], workers: int) -> Iterable[dict[str, Any]]:
    if workers <= 1:
        for task in tasks:
            yield run_task(task)
        return
    if _context().get_start_method() == "fork":
        _warm_before_fork(tasks)
    queue = Chunker(tasks)
    restarts = 0
    while queue.pending:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures: dict = {}
            try:
                while queue.pending or futures:
                    while queue.pending and len(futures) < CHUNKS_PER_WORKER * workers:
                        chunk = queue.peek()
                        futures[pool.submit(run_chunk, chunk)] = chunk  # raises BrokenProcessPool if broken
                        queue.take(chunk)
                    finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        rows, seconds = fut.result()  # raises BrokenProcessPool with the chunk still in futures
                        queue.record(futures.pop(fut), seconds)
                        yield from rows
            except BrokenProcessPool:
                for chunk in futures.values():  # the chunks in flight are lost: resubmit them
                    queue.give_back(chunk)
                restarts += 1
                if restarts > MAX_POOL_RESTARTS:
                    raise RuntimeError(f"worker processes died {restarts} times; {len(queue.pending)} grid points "
                                       "left unrun (run again to resume)") from None


def _run_dask(tasks: list[Task], address: str, timeout: float) -> Iterable[dict[str, Any]]:
    """Run the tasks on the Dask cluster at ``address`` (retried twice if a worker is lost). Rows are bit-identical
    to local ones when each worker runs one thread: ``run_task``'s BLAS limit is process-wide, so runs sharing a
    worker process in several threads can lift each other's limit, and multi-threaded BLAS changes SLSQP's path."""
    from distributed import Client, as_completed  # optional heavy dependency (the "distributed" extra)

    try:
        client = Client(address, set_as_default=False, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(f"--scheduler {address!r}: cannot reach the Dask scheduler ({exc})") from None
    with client:
        futures = [client.submit(run_task, t, key=f"qrp-run-{t.spec.run_id}", pure=False, retries=2)
                   for t in tasks]
        for fut in as_completed(futures, loop=client.loop):
            yield fut.result()
            fut.release()


def _check_existing(study: Study, out: Path, force: bool) -> pd.DataFrame | None:
    """Look at what ``out`` already holds, without writing: ``ValueError`` when it holds rows of another study
    (another study name; ``force`` adds this study's rows anyway; the same study grown, with a new config hash,
    resumes as before and each row keeps its own hash); the table when every grid point of this study is there and
    ok (nothing to run), else None."""
    if not (out / RUNS_PARQUET).is_file() and not (out / JOURNAL).is_file():
        return None
    frame = read_table(out)
    if frame.empty:
        return None
    if "study" in frame and not force:
        foreign = frame[frame["study"].astype(str) != study.name]
        if not foreign.empty:
            names = sorted(set(foreign["study"].astype(str)))
            hashes = sorted(set(foreign["config_hash"].astype(str))) if "config_hash" in foreign else ["?"]
            raise ValueError(f"--out {out} holds runs of another study ({', '.join(names)}, config hash "
                             f"{', '.join(hashes)}; this is {study.name}, config hash {study.config_hash}); choose "
                             "another --out, or pass --force to add this study's runs to it")
    ok = set(frame.loc[frame["status"] == "ok", "run_id"])
    return frame if all(spec.run_id in ok for spec in study.runs) else None


def run_study(
    study: Study | str | Path,
    out_dir: str | Path | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    mlflow_uri: str | None = None,
    progress: bool = True,
    scheduler_timeout: float = 10.0,
    force: bool = False,
) -> pd.DataFrame:
    """Run every grid point of ``study`` missing from ``out_dir`` (default ``results/<study name>``); return the
    full table. See the module docstring for the guarantees. ``scheduler_timeout``: seconds to wait for the Dask
    scheduler at ``scheduler``. ``out_dir`` holding rows of another study (another config hash) is refused unless
    ``force``; a study already complete there is read, not written (a read-only ``out_dir`` is fine)."""
    study, out = _study_and_dir(study, out_dir, workers)
    existing = _check_existing(study, out, force)
    if existing is not None and mlflow_uri is None:  # complete: nothing to run, nothing written
        if progress:
            print_summary(existing, title=f"{study.name}: {len(existing)} runs in {out} (complete; nothing to run)")
        return existing
    out.mkdir(parents=True, exist_ok=True)
    with DirectoryLock(out / LOCK_FILE, what=str(out)), ResultTable(out) as table:
        tasks = build_tasks(study, skip=table.done())
        logger = MlflowLogger(mlflow_uri, study, out) if mlflow_uri else None
        rows = _run_dask(tasks, scheduler, scheduler_timeout) if scheduler else _run_local(tasks, workers)
        errors = _record(table, rows, tasks, logger, f"{study.name} ({len(study.runs) - len(tasks)} done before)",
                         progress)
        frame = table.frame
    if logger is not None:
        logger.finish(frame)
    if progress:
        print_summary(frame, title=f"{study.name}: {len(frame)} runs in {out}, {errors} errors")
    return frame


def _study_and_dir(study, out_dir, workers) -> tuple[Study, Path]:
    """``run_study``'s arguments checked: the ``Study`` (loaded from a file) and its output directory."""
    if not isinstance(study, Study):
        study = load_study(study)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    out = Path(out_dir) if out_dir is not None else Path("results") / study.name
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a directory")
    return study, out


def _record(table, rows, tasks, logger, title: str, progress: bool) -> int:
    """Add each finished row to ``table`` (and to MLflow through ``logger``) as it comes, with a progress bar;
    returns the number of rows that are not ok."""
    names = {t.spec.run_id: list(t.cov.columns) for t in tasks}
    errors = 0
    with progress_bar(title, len(tasks), enabled=progress) as advance:
        for row in rows:
            table.add(row)
            errors += row["status"] != "ok"
            if logger is not None:
                logger.log(row, names[row["run_id"]])
            advance()
    return errors


#: RUNS_PARQUET / RUNS_CSV, Task / build_tasks and the row functions re-exported: this module's documented contract.
__all__ = ["LOCK_FILE", "RUNS_CSV", "RUNS_PARQUET", "Task", "build_tasks", "reference_options", "run_chunk",
           "run_study", "run_task"]
