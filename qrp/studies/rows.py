"""One grid point of a study -> its table row (``qrp run``; the runner, ``qrp.studies.runner``, schedules them).

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

Every timed call is made once before it is timed (``warm_up``), in the process that times it (a forked worker
repeats the calls its parent warmed: see ``warm_up``), and BLAS runs on one thread (``run_task``), so that a row is
the same in this process, a worker process or a Dask worker.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from qrp.api import risk_parity
from qrp.core.provenance import package_versions
from qrp.core.registry import get_solver
from qrp.core.result import RiskParityResult
from qrp.discrete.driver import warm_solve, warms
from qrp.studies.grid import PROBLEM_KEYS
from qrp.studies.ground_state import run_ground_state
from qrp.studies.table import json_default
from qrp.studies.tasks import Task

#: relative tolerance for ``ground_state``: |E - E_exact| <= GROUND_RTOL * max(1, |E_exact|).
GROUND_RTOL = 1e-9

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
    warm_up(task)
    with blas_controller().limit(limits=1, user_api="blas"):
        if task.kind == "ground_state":
            return run_ground_state(task, base_row(task))
        return _run_task(task)


def run_chunk(tasks: list[Task]) -> tuple[list[dict[str, Any]], list[float]]:
    """``run_task`` on each task of a chunk; returns the rows and the seconds each took (a solver's one-off
    warm-up excluded: it says nothing about the cost of the next grid points)."""
    rows, seconds = [], []
    for task in tasks:
        warm_up(task)
        start = time.perf_counter()
        rows.append(run_task(task))
        seconds.append(time.perf_counter() - start)
    return rows, seconds


@functools.cache
def blas_controller() -> ThreadpoolController:
    """The process's thread-pool controller, made once (2 ms) after the solvers' libraries are loaded (a controller
    only sees the libraries loaded when it is made; ``warm_up`` clears it when a new solver is loaded)."""
    return ThreadpoolController()


#: the warm-up keys whose call ran in this process.
_WARM: set[str] = set()
#: the warm-up keys whose call ran in the process this one was forked from (their libraries are loaded).
_INHERITED: set[str] = set()


def _forget_warm_calls() -> None:
    """In a forked child: the parent's warm-ups count as inherited, not as run here (``warm_up``)."""
    _INHERITED.update(_WARM)
    _WARM.clear()


os.register_at_fork(after_in_child=_forget_warm_calls)
#: a 2-asset covariance for the warm-up solve of a discrete solver.
_WARM_COV = np.array([[0.04, 0.006], [0.006, 0.09]])


def _warm_calls(task: Task, *, discrete: bool = True) -> list[tuple[str, Callable[[], Any]]]:
    """(key, call) of each warm-up that ``task``'s timed calls need (``warm_up``). Classical solvers (the run's,
    and the baseline) make the very call that will be timed, on the task's own covariance, once per (solver, N,
    options) and process: a numba kernel compiles on its first call per argument types, and which kernels a call
    reaches depends on the call's shape (``risk_parity(cov)`` with every argument at its default runs the one
    compiled pass of ``qrp.classical.default``, below and above ``CHOLESKY_MAX_N``; a ``seed=`` sends it down the
    general path), so a warm-up of another shape left the baseline's first call to compile (13 s on a fresh
    install). A classical solve costs milliseconds, so repeating one per size is free. A discrete solver is warmed
    once per (solver, options) on a 2-asset problem (its imports and engine kernels), not on the task's problem,
    whose solve may cost seconds, and its cached one-off work on the task's first problem is done once per (solver,
    covariance, options) without solving (``_warm_solve``: the "qaoa" solver's circuit resource count, two qiskit
    transpiles, otherwise in the first timed run of each circuit structure); ``discrete=False`` leaves them out."""
    spec = task.spec
    calls: list[tuple[str, Callable[[], Any]]] = []
    options = {k: v for k, v in spec.options.items() if k not in PROBLEM_KEYS}
    if get_solver(spec.solver).kind == "classical":
        key = json.dumps(["run", spec.solver, spec.n_assets, options, spec.run_args], sort_keys=True, default=str)
        calls.append((key, lambda: risk_parity(task.cov, solver=spec.solver, seed=spec.seed, **spec.run_args,
                                               **options)))
    elif discrete:
        key = json.dumps(["run", spec.solver, options], sort_keys=True, default=str)
        calls.append((key, lambda: risk_parity(_WARM_COV, solver=spec.solver, seed=spec.seed, **options)))
        if task.kind != "ground_state" and warms(get_solver(spec.solver)):
            key = json.dumps(["prepare", spec.solver, spec.n_assets, task.cov_key, options], sort_keys=True,
                             default=str)
            calls.append((key, lambda: _warm_solve(task, options)))
    if task.kind != "ground_state":  # last: the baseline is timed first (``_run_task``), its caches still warm
        calls.append((json.dumps(["baseline", task.baseline, spec.n_assets]),
                      lambda: risk_parity(task.cov, solver=task.baseline)))
    return calls


def _warm_solve(task: Task, options: dict[str, Any]) -> None:
    """``qrp.discrete.driver.warm_solve`` on the task's covariance (ERC budgets, as the timed call): the solver's
    cached one-off work on its first problem (the "qaoa" solver's circuit resource count), ahead of the timed
    call."""
    spec = get_solver(task.spec.solver)
    warm_solve(spec, task.cov, options=spec.validate_options(options))


def warm_up(task: Task, *, discrete: bool = True) -> None:
    """Make every call that ``task`` times once before it is timed (``_warm_calls``), so that ``elapsed`` and
    ``classical_elapsed`` hold no one-off import or numba compilation time.

    Once per process: a worker forked after its parent warmed a call (``runner._warm_before_fork``) makes it again
    before its first timed call. Its imports and compiled kernels are inherited, but the first call in the child
    writes to the parent's memory pages (reference counts, caches) and so copies them, page fault by page fault:
    240-580 minor faults and 1-6 ms on a classical call of a few hundred microseconds (ccd N = 4: 1.0 ms with 246
    faults, then 0.2 ms with 1; slsqp N = 4: 6.7 ms with 563, then 1.1 ms), charged to the first timed point of each
    kind in each worker. That repeat runs as the timed call will, BLAS on one thread (``run_task``), with the
    controller inherited: unlimited, OpenBLAS would start its threads in the worker, whose spinning after the call
    took the 2 cores from the timed call (slsqp N = 4-8: 30-40 ms instead of 1-2 ms in half the runs). A call new to
    the process tree runs first; if it imported a module (a new solver's libraries may have loaded with it) the
    controller is cleared, to be made again after them. A call that imported nothing loaded no library (every BLAS
    comes in with an extension module), so the controller stays: making it scans every loaded library, about 3 ms,
    31 times on the quickstart before."""
    for key, call in _warm_calls(task, discrete=discrete):
        if key in _WARM:
            continue
        _WARM.add(key)
        if key in _INHERITED:
            with blas_controller().limit(limits=1, user_api="blas"):
                _try(call)
        else:
            loaded = len(sys.modules)
            _try(call)
            if len(sys.modules) != loaded:
                blas_controller.cache_clear()


def _try(call: Callable[[], Any]) -> None:
    """``call()``, its errors ignored: the timed run itself reports any real error; a warm-up only imports and
    compiles."""
    try:
        call()
    except Exception:
        return


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
        # the baseline first, right after its warm-up call: timed after a discrete solve, its first call found the
        # CPU caches filled by that solve (quickstart, N = 3 after QAOA: 0.18-0.2 ms against 0.02-0.05 ms)
        base = _cached(("baseline", task.cov_key, task.baseline), lambda: risk_parity(task.cov, solver=task.baseline))
        res = risk_parity(task.cov, solver=spec.solver, seed=spec.seed, **spec.run_args, **spec.options)
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


__all__ = ["GROUND_RTOL", "base_row", "blas_controller", "reference_options", "run_chunk", "run_task", "warm_up"]
