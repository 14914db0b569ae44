"""Ground-state studies (``kind = "ground_state"``): does a solver's readout find the discrete ground state, with
what probability per sample, and at what time-to-solution, as the number of qubits grows.

Each grid point is one discrete problem and one solver call, not a refinement run:

* the problem is ``qrp.discretize``'s for the grid point's covariance instance (``covariance_seed`` /
  ``subset_seed``) and discretization options (``bits``, ``formulation``, ``log_fit``, ``radius``, ``penalty``), on
  the box of refinement round ``box_round``: 0 is the default box (round 0 of every refinement run); r >= 1 is the
  box that round r of the refinement loop driven by ``BOX_SOLVER`` (simulated annealing with ``BOX_OPTIONS``, seed
  ``BOX_SEED``) solves, so "refined boxes" are the same for every solver of the study;
* its exact ground state comes from enumeration (``qrp.discrete.exact.exact_minimum``) up to
  ``REFERENCE_MAX_EXACT_QUBITS`` and from the chunked cost diagonal beyond
  (``qrp.discrete.diagonal.reference_minimum``; column ``reference_method``), with the degeneracy g, so the
  uniform-sampling baseline is exact: p_uniform = g / 2^n per sample;
* the solver's sample solver (the registry's discrete solvers' per-problem samplers, with the grid point's own
  options) runs once on it with the row's seed.

Recorded per row: ``found`` (the returned sample is a ground state), ``ground_state_probability`` p per sample of
the solver's final distribution (QAOA: exact, from the optimized state; samplers: the fraction of their samples at
the ground energy, 0 when none was, so p < 1 / samples there), ``uniform_probability``, ``training_samples`` (a
variational optimizer's circuit evaluations x shots per evaluation; an exact-expectation evaluation is charged
``NOMINAL_SHOTS`` shots, the size of the readout) and ``samples`` (training plus readout),
``tts_shots`` = ln(0.01) / ln(1 - p) (samples from the final distribution, Shaydulin et al. 2024's TTS for fixed
angles), ``tts`` = training_samples + tts_shots (optimizer shots counted too), ``tts_evaluations`` = the same in
energy evaluations, the one unit of every method (``evaluation_cost``: training + evaluations per sample x
tts_shots; ``oracle_evaluations`` those of the call), ``encoding``, ``uniform_tts``, ``tts_seconds`` =
wall time of the call x max(1, ln(0.01) / ln(1 - P)), P = 1 - (1 - p)^readout the probability that one call's
readout holds a ground state (the annealing benchmarks' TTS, Ronnow et al. 2014), the approximation
ratio (E_max - <E>) / (E_max - E_min) when the solver reports it, next to ``uniform_approximation_ratio`` (the
same for the uniform distribution, by enumeration, n <= ``SPECTRUM_MAX_QUBITS``), and the wall time of the call.
``qrp report`` turns the rows into medians with bootstrap intervals and fitted exponents TTS ~ 2^(c n)
(``qrp.studies.statistics``).
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from qrp.api import risk_parity
from qrp.core.provenance import package_versions
from qrp.core.registry import get_solver
from qrp.discrete.diagonal import reference_minimum
from qrp.discrete.driver import factory_options
from qrp.discrete.exact import MAX_EXACT_QUBITS
from qrp.discrete.problem import discretize
from qrp.studies.statistics import NOMINAL_SHOTS, time_to_solution

#: discretization options that define a ground-state problem (rounds, box and shrink are not used: the box is
#: box_round's).
DISCRETIZATION = ("bits", "formulation", "log_fit", "radius", "penalty", "encoding")
#: the refinement loop that defines the boxes of box_round >= 1.
BOX_SOLVER = "sa"
BOX_OPTIONS = {"num_reads": 10, "num_sweeps": 1000}
BOX_SEED = 0
#: largest n whose whole spectrum is enumerated for the uniform approximation ratio.
SPECTRUM_MAX_QUBITS = 16
#: largest n whose reference ground state is enumerated; above it, read off the chunked cost diagonal.
REFERENCE_MAX_EXACT_QUBITS = MAX_EXACT_QUBITS
#: relative tolerance (of the energy spread) for "is a ground state".
GROUND_RTOL = 1e-9
_CACHE: dict[str, dict[str, Any]] = {}


def sample_solver(name: str, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(sample solver, discretization) of discrete solver ``name`` with the grid point's ``options``, validated by
    its registry entry: its factory called with its own options, and the discretization options (``DISCRETIZATION``,
    the solver's defaults filled in, so that the problem is the one the solver itself would build)."""
    spec = get_solver(name)
    if spec.kind != "discrete":
        raise ValueError(f"solver {name!r} is {spec.kind}; ground-state studies take discrete solvers")
    checked = spec.validate_options(options)
    return spec.load()(**factory_options(checked)), {k: checked[k] for k in DISCRETIZATION}


def instance_box(cov, box_round: int, disc: dict[str, Any]):
    """The box of refinement round ``box_round`` (None for round 0: the default box), module docstring; the last
    round's box when the loop reached rc_error = 0 earlier (possible at N = 2)."""
    if isinstance(box_round, bool) or not isinstance(box_round, int) or box_round < 0:
        raise ValueError(f"box_round must be an integer >= 0, got {box_round!r}")
    if box_round == 0:
        return None
    disc = {k: v for k, v in disc.items() if k != "encoding"}  # the same boxes whatever the encoding: binary's
    res = risk_parity(cov, solver=BOX_SOLVER, rounds=box_round + 1, tol=0.0, seed=BOX_SEED, **BOX_OPTIONS, **disc)
    lo, hi = res.history[min(box_round, len(res.history) - 1)].box
    return np.asarray(lo), np.asarray(hi)


def spectrum(problem, max_qubits: int = SPECTRUM_MAX_QUBITS, chunk: int = 2**16) -> tuple[float, float] | None:
    """(E_max, mean E over all 2^n states), relative to the problem's offset, or None above ``max_qubits``."""
    n = problem.num_qubits
    if n > max_qubits:
        return None
    top, total = -np.inf, 0.0
    for start in range(0, 2**n, chunk):
        idx = np.arange(start, min(start + chunk, 2**n), dtype=np.int64)
        e = problem.relative_energies((idx[:, None] >> np.arange(n)[None, :]) & 1)
        top, total = max(top, float(e.max())), total + float(e.sum())
    return top, total / 2**n


def reference(key: str, cov, box_round: int, disc: dict[str, Any]) -> dict[str, Any]:
    """The instance's problem and its exact ground state (memoized per process by ``key``)."""
    if key not in _CACHE:
        problem = discretize(cov, box=instance_box(cov, box_round, disc), **disc)
        t0 = time.perf_counter()
        x0, _, degeneracy, atol, method = reference_minimum(problem, max_exact_qubits=REFERENCE_MAX_EXACT_QUBITS)
        e0 = float(problem.relative_energies(x0[None, :])[0])
        spec = spectrum(problem)
        _CACHE[key] = {"problem": problem, "e0": e0, "atol": atol, "degeneracy": degeneracy,
                       "exact_seconds": time.perf_counter() - t0, "spectrum": spec, "method": method}
    return _CACHE[key]


def _samples(res) -> tuple[int, int]:
    """(training, readout) samples of one call (module docstring), from its ``Resources``."""
    used = res.resources
    if used.circuit_executions == 0:  # a classical sampler: every sample it drew is read out
        return 0, int(used.samples)
    readout = int(res.stats["readout_shots"])
    charged = int(used.samples) + (0 if res.stats.get("shots") else int(used.evaluations) * NOMINAL_SHOTS)
    return charged - readout, readout


def evaluation_cost(res, training: int, readout: int) -> tuple[float, float]:
    """(energy evaluations of the call, evaluations per sample), the one resource unit of every method: an energy
    evaluation of the cost function (an oracle query). A QAOA shot is one (the readout's and the optimizer's:
    ``training`` = evaluations x shots); a classical sampler's are its ``Resources.evaluations`` (one per SA
    Metropolis proposal, greedy / tabu flip evaluated, random string; rounding's polish), spread over its samples."""
    used = res.resources
    if used.circuit_executions:
        return float(training + readout), 1.0
    total = float(used.evaluations or used.samples)
    return total, total / max(int(used.samples), 1)


def run_ground_state(task, row: dict[str, Any]) -> dict[str, Any]:
    """One ground-state grid point (module docstring): ``row`` (the runner's identity fields) completed."""
    spec = task.spec
    opts = dict(spec.options)
    box_round = int(opts.pop("box_round", 0))
    try:
        solve, disc = sample_solver(spec.solver, opts)
        key = json.dumps({"instance": task.cov_key, "box_round": box_round, **disc}, sort_keys=True, default=str)
        ref = reference(key, task.cov, box_round, disc)
        problem = ref["problem"]
        t0 = time.perf_counter()
        res = solve(problem, seed=spec.seed, state=None)
        elapsed = time.perf_counter() - t0
    except Exception as exc:  # recorded, not raised: one failing point must not stop a study
        row.update(status="error", error=f"{type(exc).__name__}: {exc}", finished_at=_now())
        return row
    n = problem.num_qubits
    e = float(problem.relative_energies(np.asarray(res.sample)[None, :])[0])
    found = bool(e <= ref["e0"] + ref["atol"])
    stats = res.stats
    if stats.get("ground_state_probability") is not None:
        p, source = float(stats["ground_state_probability"]), "state"
    else:
        p, source = (float(stats.get("best_fraction", 0.0)) if found else 0.0), "samples"
    training, readout = _samples(res)
    oracle, per_sample = evaluation_cost(res, training, readout)
    tts_shots = time_to_solution(p)
    per_call = -math.expm1(readout * math.log1p(-p)) if p < 1.0 else 1.0  # P(a call's readout holds a ground state)
    uniform = ref["degeneracy"] / 2.0**n
    ratio_uniform = None
    if ref["spectrum"] is not None:
        top, mean = ref["spectrum"]
        ratio_uniform = (top - mean) / (top - ref["e0"]) if top > ref["e0"] else 1.0
    row.update(
        status="ok", error="", num_qubits=n, box_round=box_round, found=found, energy_gap=e - ref["e0"],
        ground_state_probability=p, probability_source=source, uniform_probability=uniform,
        probability_ratio=p / uniform, degeneracy=ref["degeneracy"], training_samples=training,
        samples=training + readout, tts_shots=tts_shots, tts=training + tts_shots,
        encoding=disc["encoding"], oracle_evaluations=oracle, evaluations_per_sample=per_sample,
        tts_evaluations=training + per_sample * tts_shots,
        uniform_tts=time_to_solution(uniform), tts_seconds=time_to_solution(per_call, samples=elapsed),
        approximation_ratio=stats.get("approximation_ratio"),
        uniform_approximation_ratio=ratio_uniform, evaluations=stats.get("evaluations"), elapsed=elapsed,
        exact_seconds=ref["exact_seconds"], reference_method=ref["method"],
        stats=json.dumps({k: v for k, v in stats.items() if k != "angles"}, default=str),
        angles=json.dumps(stats["angles"]) if "angles" in stats else None,
        versions=json.dumps(package_versions(), sort_keys=True), finished_at=_now(),
    )
    return row


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = ["instance_box", "reference", "run_ground_state", "sample_solver", "spectrum"]
