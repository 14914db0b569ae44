"""The experiment runner behind ``qrp run``: one row per grid point in ``DIR/runs.parquet``, resumable.

Every grid point (``qrp.studies.study.RunSpec``) is solved with
``qrp.risk_parity(cov, solver=..., seed=..., **options)``
(no solver is special-cased) beside

* the classical baseline (the study's ``baseline`` solver) on the same covariance: ``classical_rc_error`` and
  ``weight_distance`` = max_i |w_i - w_classical_i|;
* for discrete solvers whose sub-problem has at most ``reference_max_qubits`` binary variables, the study's
  ``reference`` solver ("exact" enumeration) on the same discrete problem (``reference_options``: the options
  both take, with the run's values or the run solver's defaults): ``exact_energy``, ``exact_rc_error`` and, when
  both ran a single round (refinement rounds follow each solver's own path, so only one-round runs solve the very
  same problem), ``energy_gap`` = E(run) - E(exact) >= 0 and ``ground_state`` (gap <= 1e-9 relative).

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
import functools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from qrp.api import risk_parity
from qrp.core.provenance import DirectoryLock, package_versions
from qrp.core.registry import get_solver
from qrp.core.result import RiskParityResult
from qrp.studies.grid import PROBLEM_KEYS
from qrp.studies.ground_state import run_ground_state
from qrp.studies.study import Study, load_study
from qrp.studies.table import JOURNAL, RUNS_CSV, RUNS_PARQUET, ResultTable, json_default, read_table
from qrp.studies.tasks import Chunker, Task, build_tasks
from qrp.studies.terminal import print_summary, progress_bar
from qrp.studies.tracking import MlflowLogger

#: lock file inside a study's result directory (held for the run's lifetime).
LOCK_FILE = ".qrp.lock"
#: relative tolerance for ``ground_state``: |E - E_exact| <= GROUND_RTOL * max(1, |E_exact|).
GROUND_RTOL = 1e-9
#: pool rebuilds allowed after worker processes die before the runner gives up (the rest stays for a resume).
MAX_POOL_RESTARTS = 3
#: the chunks kept in flight per local worker.
CHUNKS_PER_WORKER = 2

_CACHE: dict[tuple, RiskParityResult] = {}


def _cached(key: tuple, compute: Callable[[], RiskParityResult]) -> RiskParityResult:
    """Per-process memo of baseline and reference solves (shared by the grid points of one covariance)."""
    if key not in _CACHE:
        _CACHE[key] = compute()
    return _CACHE[key]




def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, (bool, np.bool_)):
        out[prefix] = bool(value)
    elif isinstance(value, (int, float, np.integer, np.floating)) or value is None:
        out[prefix] = None if value is None else float(value)
    elif isinstance(value, str):
        out[prefix] = value
    else:
        out[prefix] = json.dumps(value, default=json_default)


def run_task(task: Task) -> dict[str, Any]:
    """Solve one grid point, its baseline and (when small enough) its exact reference; return its table row.

    A solver error becomes a row with ``status = "error"`` and the message (rerun on resume). BLAS runs on one
    thread: a row is then bit-for-bit the same whether it ran in this process, a worker process or a Dask worker
    thread (multi-threaded BLAS sums in a different order, enough to change SLSQP's iteration count), and K
    parallel workers use K cores, not K x cores threads. OpenMP (Aer's statevector threads) is left alone."""
    _warm_up(task)
    with _blas().limit(limits=1, user_api="blas"):
        if task.kind == "ground_state":
            return run_ground_state(task, base_row(task))
        return _run_task(task)


def run_chunk(tasks: list[Task]) -> tuple[list[dict[str, Any]], list[float]]:
    """``run_task`` on each task of a chunk; returns the rows and the seconds each took (a solver's one-off
    warm-up excluded: it says nothing about the cost of the next grid points)."""
    rows, seconds = [], []
    for task in tasks:
        _warm_up(task)
        start = time.perf_counter()
        rows.append(run_task(task))
        seconds.append(time.perf_counter() - start)
    return rows, seconds


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's thread-pool controller, made once (2 ms) after the solvers' libraries are loaded (a controller
    only sees the libraries loaded when it is made; ``_warm_up`` clears it when a new solver is loaded)."""
    return ThreadpoolController()


_WARM: set[str] = set()
#: a 2-asset covariance for the warm-up solve of a discrete solver.
_WARM_COV = np.array([[0.04, 0.006], [0.006, 0.09]])


def _warm_calls(task: Task, *, discrete: bool = True) -> list[tuple[str, Callable[[], Any]]]:
    """(key, call) of each warm-up that ``task``'s timed calls need (``_warm_up``). Classical solvers (the run's,
    and the baseline) make the very call that will be timed, on the task's own covariance, once per (solver, N,
    options) and process: a numba kernel compiles on its first call per argument types, and which kernels a call
    reaches depends on the call's shape (``risk_parity(cov)`` with every argument at its default runs the one
    compiled pass of ``qrp.classical.default``, below and above ``CHOLESKY_MAX_N``; a ``seed=`` sends it down the
    general path), so a warm-up of another shape left the baseline's first call to compile (13 s on a fresh
    install). A classical solve costs milliseconds, so repeating one per size is free. A discrete solver is warmed
    once per (solver, options) on a 2-asset problem (its imports and engine kernels), not on the task's problem,
    whose solve may cost seconds; ``discrete=False`` leaves it out."""
    spec = task.spec
    calls: list[tuple[str, Callable[[], Any]]] = []
    if task.kind != "ground_state":
        calls.append((json.dumps(["baseline", task.baseline, spec.n_assets]),
                      lambda: risk_parity(task.cov, solver=task.baseline)))
    options = {k: v for k, v in spec.options.items() if k not in PROBLEM_KEYS}
    if get_solver(spec.solver).kind == "classical":
        key = json.dumps(["run", spec.solver, spec.n_assets, options, spec.run_args], sort_keys=True, default=str)
        calls.append((key, lambda: risk_parity(task.cov, solver=spec.solver, seed=spec.seed, **spec.run_args,
                                               **options)))
    elif discrete:
        key = json.dumps(["run", spec.solver, options], sort_keys=True, default=str)
        calls.append((key, lambda: risk_parity(_WARM_COV, solver=spec.solver, seed=spec.seed, **options)))
    return calls


def _warm_up(task: Task, *, discrete: bool = True) -> None:
    """Make every call that ``task`` times once before it is timed (``_warm_calls``), so that ``elapsed`` and
    ``classical_elapsed`` hold no one-off import or numba compilation time."""
    for key, call in _warm_calls(task, discrete=discrete):
        if key in _WARM:
            continue
        _WARM.add(key)
        _blas.cache_clear()
        try:
            call()
        except Exception:  # the timed run itself reports any real error; the warm-up only imports and compiles
            continue


def base_row(task: Task) -> dict[str, Any]:
    """The fields every row starts with: identity, grid point, options and covariance instance."""
    spec = task.spec
    return {
        "run_id": spec.run_id, "study": task.study, "config_hash": task.config_hash, "solver": spec.solver,
        "solver_kind": get_solver(spec.solver).kind, "n_assets": spec.n_assets, "seed": spec.seed,
        "bits": spec.options.get("bits"), "rounds": spec.options.get("rounds"), "reps": spec.options.get("reps"),
        "options": json.dumps(spec.options, sort_keys=True), **{f"opt.{k}": _cell(v) for k, v in spec.options.items()},
        **spec.run_args, **spec.instance, "instance": task.cov_key,
    }


def _run_task(task: Task) -> dict[str, Any]:
    spec = task.spec
    row = base_row(task)
    try:
        res = risk_parity(task.cov, solver=spec.solver, seed=spec.seed, **spec.run_args, **spec.options)
        base = _cached(("baseline", task.cov_key, task.baseline), lambda: risk_parity(task.cov, solver=task.baseline))
    except Exception as exc:  # recorded, not raised: one failing point must not stop a study
        row.update(status="error", error=f"{type(exc).__name__}: {exc}", finished_at=_now())
        return row
    row.update(
        status="ok", error="", num_qubits=res.num_qubits, energy=res.energy, rc_error=res.rc_error,
        classical_rc_error=base.rc_error, weight_distance=float(np.max(np.abs(res.weights - base.weights))),
        converged=res.converged, iterations=res.iterations, elapsed=res.elapsed, classical_elapsed=base.elapsed,
        volatility=res.volatility, weights=json.dumps(res.weights.tolist()),
        risk_contributions=json.dumps(res.risk_contributions.tolist()),
        classical_weights=json.dumps(base.weights.tolist()),
        history=json.dumps([h.to_dict() for h in res.history], default=json_default),
        exact_energy=None, exact_rc_error=None, energy_gap=None, ground_state=None,
    )
    if (task.reference and res.num_qubits is not None and res.num_qubits <= task.reference_max_qubits
            and res.energy is not None):
        ref_opts = reference_options(spec.solver, task.reference, spec.options)
        key = ("reference", task.cov_key, task.reference, json.dumps(ref_opts, sort_keys=True), spec.seed)
        if spec.solver == task.reference and ref_opts == spec.options:
            _CACHE.setdefault(key, res)
        try:
            ref = _cached(key, lambda: risk_parity(task.cov, solver=task.reference, seed=spec.seed, **ref_opts))
        except ValueError as exc:  # the reference refused this problem: recorded, the run itself stands
            row["error"] = f"reference: {exc}"
        else:
            row.update(exact_energy=ref.energy, exact_rc_error=ref.rc_error)
            if len(res.history) <= 1 and len(ref.history) <= 1 and ref.energy is not None:
                gap = float(res.energy - ref.energy)
                row.update(energy_gap=gap, ground_state=bool(gap <= GROUND_RTOL * max(1.0, abs(ref.energy))))
    _flatten("stats", res.stats, row)
    row["versions"] = json.dumps(package_versions(), sort_keys=True)
    row["finished_at"] = _now()
    return row


def reference_options(solver: str, reference: str, options: dict[str, Any]) -> dict[str, Any]:
    """Options for the reference solver so that it builds the same discrete problem as ``solver`` with
    ``options``: every option both take, with the run's value, or else ``solver``'s own default (two solvers may
    default differently, e.g. on the log-term fit); options whose default is None (limits, "automatic") are left
    to the reference's own default unless the run set them."""
    mine, theirs = get_solver(solver).defaults(), get_solver(reference).defaults()
    out = {}
    for name in theirs:
        if name in options:
            out[name] = options[name]
        elif name in mine and mine[name] is not None:
            out[name] = mine[name]
    return out


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
    (the runs' and the baseline's, per size, ``_warm_calls``: imports and numba kernels, 1.5-13 s of CPU on an
    empty numba cache), the thread-pool controller (0.1 s of
    library scanning) and the package versions every row records (git and package metadata, 0.2-0.5 s). Classical
    solvers only: numba and SciPy start no threads, whereas a discrete solver's engine may (Aer's OpenMP pool), and
    forking a process after that is unsafe."""
    for task in tasks:
        _warm_up(task, discrete=False)
    _blas()
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
    if not isinstance(study, Study):
        study = load_study(study)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    out = Path(out_dir) if out_dir is not None else Path("results") / study.name
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a directory")
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
        names = {t.spec.run_id: list(t.cov.columns) for t in tasks}
        errors = 0
        with progress_bar(f"{study.name} ({len(study.runs) - len(tasks)} done before)", len(tasks),
                       enabled=progress) as advance:
            for row in rows:
                table.add(row)
                errors += row["status"] != "ok"
                if logger is not None:
                    logger.log(row, names[row["run_id"]])
                advance()
        frame = table.frame
    if logger is not None:
        logger.finish(frame)
    if progress:
        print_summary(frame, title=f"{study.name}: {len(frame)} runs in {out}, {errors} errors")
    return frame


#: RUNS_PARQUET / RUNS_CSV re-exported: the file names are part of this module's documented contract.
__all__ = ["LOCK_FILE", "RUNS_CSV", "RUNS_PARQUET", "Task", "build_tasks", "reference_options", "run_chunk",
           "run_study", "run_task"]
