"""Run a parametrized, measured circuit on any Qiskit sampler primitive or backend; a hardware time model.

``SamplerRunner`` is how the QAOA engine reaches everything beyond its own state vector:

* ``sampler=``: any ``qiskit.primitives.BaseSamplerV2`` (``StatevectorSampler``, Aer's ``SamplerV2``,
  ``BackendSamplerV2``, qiskit-ibm-runtime's ``SamplerV2(mode=backend)`` for IBM hardware);
* ``backend=``: any ``BackendV2`` (a real IBM device, a fake one from ``qiskit_ibm_runtime.fake_provider`` with its
  coupling map, basis gates and calibrated noise, an ``AerSimulator``). The circuit is transpiled once by
  ``generate_preset_pass_manager(optimization_level, backend=backend, seed_transpiler=...)`` (or the user's
  ``pass_manager=``) to the backend's instruction set (ISA), and run by ``sampler`` when given (e.g. a runtime
  sampler on that backend) or by ``BackendSamplerV2(backend=backend)``; a ``sampler=`` without a backend runs the
  circuit decomposed to (cx, rz, sx, x); a fake backend (qiskit-ibm-runtime's
  ``FakeBackendV2``, e.g. ``FakeTorino()``) is simulated by one ``AerSimulator.from_backend(backend)`` per backend
  object (``simulator_for``: its noise model built once, not by every job of the fake backend's own ``run``;
  253 s for a 4-qubit QAOA solve on ``FakeTorino()`` before);
* neither: qiskit-aer's ``SamplerV2`` with ``aer_options(method, bond_dimension, device, noise_model)``:
  ``method="matrix_product_state"`` with ``matrix_product_state_max_bond_dimension = bond_dimension`` (truncated
  MPS, Vidal 2003; beyond the state-vector limit when the entanglement allows), ``device="GPU"`` passed to Aer
  (needs the ``qiskit-aer-gpu`` build; refused with the devices this build offers otherwise).

This module imports qiskit and qiskit-aer at the top: it is loaded only when a circuit runs on a primitive.

The circuit must end with ``measure_all()`` (register ``meas``): classical bit i is virtual qubit i whatever layout
the transpiler picks, so counts come back as integers with bit i = qubit i of the logical circuit.

Waiting is announced: a circuit job that takes a second or more prints one line to stderr (backend, job number,
shots, seconds, total so far), and when the first job of a runner predicts that a solve's jobs will exceed a minute
(``SLOW_SOLVE_SECONDS``: the job's time x the default evaluation budget ``max_evals`` + the readout) a
``UserWarning`` says so before the solve goes on.

The device time and error models of a backend are in ``qrp.quantum.device_model``.
"""

from __future__ import annotations

import sys
import time
import warnings
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
from qiskit.primitives import BackendSamplerV2, BaseSamplerV2
from qiskit.providers import BackendV2
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from qrp.core.validation import positive_int
from qrp.quantum.circuits import AER_METHODS, DEVICES, RESOURCE_BASIS, noise_model, qaoa_circuit
from qrp.quantum.device_model import TWO_QUBIT_GATES, backend_timings, error_budget
from qrp.quantum.engine_options import OPTIMIZE_DEFAULTS

#: a solve predicted to run its circuit jobs longer than this (seconds) is announced by a warning.
SLOW_SOLVE_SECONDS = 60.0
#: a circuit job at least this long (seconds) prints a progress line to stderr.
SLOW_JOB_SECONDS = 1.0
#: ``AerSimulator.from_backend`` of each fake backend object (kept with the backend: the id stays valid).
_FAKE_SIMULATORS: dict[int, tuple[Any, Any]] = {}


def is_fake_backend(backend) -> bool:
    """Whether ``backend`` is one of qiskit-ibm-runtime's fake backends (``FakeBackendV2``), whose own ``run``
    rebuilds a noisy simulator's setup for every job."""
    return any(cls.__name__ == "FakeBackendV2" and cls.__module__.startswith("qiskit_ibm_runtime")
               for cls in type(backend).__mro__)


def simulator_for(backend):
    """What runs ``backend``'s jobs: for a fake backend one ``AerSimulator.from_backend(backend)`` (its noise
    model, coupling map and basis gates), made once per backend object and reused by every solve; else
    ``backend`` itself."""
    if not is_fake_backend(backend):
        return backend
    entry = _FAKE_SIMULATORS.get(id(backend))
    if entry is None or entry[0] is not backend:
        entry = _FAKE_SIMULATORS[id(backend)] = (backend, AerSimulator.from_backend(backend))
    return entry[1]


def aer_options(*, method: str = "automatic", bond_dimension: int | None = None, device: str = "CPU",
                noise_model=None) -> dict[str, Any]:
    """Aer backend options, validated: ``method`` in ``AER_METHODS``; ``bond_dimension`` >= 1 only with
    ``method="matrix_product_state"``; ``device`` one of this qiskit-aer build's devices (``"GPU"`` needs
    qiskit-aer-gpu)."""
    if method not in AER_METHODS:
        raise ValueError(f"method must be one of {AER_METHODS}, got {method!r}")
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    available = tuple(AerSimulator().available_devices())
    if device not in available:
        raise ValueError(f"device={device!r} is not offered by this qiskit-aer build (devices: {available}); "
                         f"install qiskit-aer-gpu on a machine with a CUDA GPU")
    out: dict[str, Any] = {"method": method, "device": device}
    if bond_dimension is not None:
        if method != "matrix_product_state":
            raise ValueError(f"bond_dimension needs method='matrix_product_state', got method={method!r}")
        out["matrix_product_state_max_bond_dimension"] = positive_int(bond_dimension, "bond_dimension")
    if noise_model is not None:
        out["noise_model"] = noise_model
    return out


def check_sampler(sampler) -> None:
    """``ValueError`` unless ``sampler`` is a ``BaseSamplerV2``."""
    if not isinstance(sampler, BaseSamplerV2):
        raise ValueError(f"sampler must be a qiskit BaseSamplerV2 (e.g. StatevectorSampler(), "
                         f"qiskit_ibm_runtime.SamplerV2(mode=backend)), got {sampler!r}")


def resolve_backend(backend):
    """A ``BackendV2``, or the fake IBM backend named by a string (``"FakeTorino"``: a class of
    ``qiskit_ibm_runtime.fake_provider``, so that study files can name one); ``ValueError`` otherwise."""
    if isinstance(backend, str):
        from qiskit_ibm_runtime import fake_provider  # the backends extra: only when a fake backend is named

        cls = getattr(fake_provider, backend, None)
        if not (isinstance(cls, type) and backend.startswith("Fake")):
            raise ValueError(f"backend {backend!r} is not a fake backend of qiskit_ibm_runtime.fake_provider "
                             f"(e.g. 'FakeTorino', 'FakeSherbrooke', 'FakeKolkataV2')")
        backend = cls()
    check_backend(backend)
    return backend


def check_backend(backend) -> None:
    """``ValueError`` unless ``backend`` is a ``BackendV2``."""
    if not isinstance(backend, BackendV2):
        raise ValueError(f"backend must be a qiskit BackendV2 (e.g. qiskit_ibm_runtime.fake_provider.FakeTorino()), "
                         f"got {backend!r}")


class _NoRun(BaseSamplerV2):
    """A sampler that is never run: lets ``SamplerRunner`` transpile for a backend without building one."""

    def run(self, pubs, *, shots=None):  # pragma: no cover - never called
        raise RuntimeError("not a sampler")


_NO_RUN = _NoRun()


def _check_runner(circuit, sampler, backend, optimization_level) -> int:
    """``SamplerRunner``'s arguments checked (a measured circuit, a sampler, a backend, a level 0-3): the level."""
    if "meas" not in {c.name for c in circuit.cregs}:
        raise ValueError("the circuit must end with measure_all() (classical register 'meas')")
    if sampler is not None:
        check_sampler(sampler)
    if backend is not None:
        check_backend(backend)
    level = positive_int(optimization_level, "optimization_level", minimum=0)
    if level > 3:
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3, got {optimization_level!r}")
    return level


def _runner_sampler(sampler, backend, pass_manager, level: int, seed, aer, aer_backend) -> tuple[str, Any, Any]:
    """(kind, sampler, pass manager) of a ``SamplerRunner``: the user's sampler, Aer with a backend's noise, the
    backend's sampler, or Aer; the pass manager given, else the preset one for the backend or the basis."""
    seed_t = 0  # one layout whatever the simulator seed (rounds and blocks transpile alike)
    if backend is not None and pass_manager is None:
        pass_manager = generate_preset_pass_manager(optimization_level=level, backend=backend, seed_transpiler=seed_t)
    if sampler is not None:
        if backend is None and pass_manager is None:
            # no instruction set to target: decompose to (cx, rz, sx, x) all the same, so that a reference
            # sampler does not build each PauliEvolutionGate's matrix by a sparse matrix exponential per
            # evaluation (slow, and a SciPy SparseEfficiencyWarning each time)
            pass_manager = generate_preset_pass_manager(optimization_level=level, seed_transpiler=seed_t,
                                                        basis_gates=list(RESOURCE_BASIS))
        return "sampler", sampler, pass_manager
    if aer_backend is not None:  # Aer with a backend's calibrated noise, on its coupling map, with Aer's options
        options = {k: v for k, v in (aer or {}).items() if k != "noise_model"}
        simulator = AerSimulator.from_backend(aer_backend, **options)
        return "aer", AerSamplerV2.from_backend(simulator, seed=seed), pass_manager or generate_preset_pass_manager(
            optimization_level=level, backend=aer_backend, seed_transpiler=seed_t)
    if backend is not None:
        opts = {} if seed is None else {"seed_simulator": int(seed)}
        return "backend", BackendSamplerV2(backend=simulator_for(backend), options=opts), pass_manager
    return _aer_sampler(dict(aer or {}), pass_manager, level, seed, seed_t)


def _aer_sampler(backend_options: dict, pass_manager, level: int, seed, seed_t: int) -> tuple[str, Any, Any]:
    """Aer's sampler with ``backend_options`` (method, device, a noise model), and the preset pass manager for its
    basis unless one is given."""
    aer_sampler = AerSamplerV2(seed=seed, options={"backend_options": backend_options})
    if pass_manager is None:
        sim = AerSimulator(**{k: v for k, v in backend_options.items() if k != "noise_model"})
        # with a noise model, gates are those the model attaches errors to; else Aer's own basis
        target = {"basis_gates": list(RESOURCE_BASIS)} if "noise_model" in backend_options else {"backend": sim}
        pass_manager = generate_preset_pass_manager(optimization_level=level, seed_transpiler=seed_t, **target)
    return "aer", aer_sampler, pass_manager


class SamplerRunner:
    """One measured, parametrized circuit bound and sampled repeatedly (module docstring).

    Attributes: ``circuit`` (what runs: transpiled for the backend when there is one), ``sampler``,
    ``backend`` (or None), ``kind`` ("sampler", "backend" or "aer").
    """

    def __init__(self, circuit, *, sampler=None, backend=None, pass_manager=None, optimization_level: int = 1,
                 seed: int | None = None, aer: Mapping[str, Any] | None = None, aer_backend=None):
        level = _check_runner(circuit, sampler, backend, optimization_level)
        self.backend = backend
        self.kind, self.sampler, pass_manager = _runner_sampler(sampler, backend, pass_manager, level, seed, aer,
                                                                aer_backend)
        self.circuit = circuit if pass_manager is None else pass_manager.run(circuit)
        self.parameters = list(self.circuit.parameters)
        self.jobs, self.seconds = 0, 0.0
        where = getattr(backend, "name", None) if backend is not None else None
        self.label = where or type(self.sampler).__name__

    def sample(self, values: Mapping[Any, float], shots: int) -> tuple[np.ndarray, np.ndarray]:
        """(states, counts) of ``shots`` runs with parameters bound by ``values`` ({Parameter: value});
        states are integers with bit i = logical qubit i."""
        bound = [float(values[p]) for p in self.parameters]
        start = time.perf_counter()
        res = self.sampler.run([(self.circuit, bound)], shots=int(shots)).result()
        self._announce(time.perf_counter() - start, int(shots))
        got = res[0].data.meas.get_int_counts()
        return np.fromiter(got.keys(), np.int64, len(got)), np.fromiter(got.values(), np.int64, len(got))

    def _announce(self, seconds: float, shots: int) -> None:
        """A progress line for a slow job; after the first job, a warning when the solve will exceed a minute."""
        self.jobs += 1
        self.seconds += seconds
        if self.jobs == 1:
            jobs = OPTIMIZE_DEFAULTS["max_evals"] + 1
            if seconds * jobs > SLOW_SOLVE_SECONDS:
                warnings.warn(f"QAOA on {self.label}: the first circuit job took {seconds:.1f} s; a solve runs up "
                              f"to max_evals + 1 = {jobs} jobs per optimizer run (default max_evals), about "
                              f"{seconds * jobs / 60:.0f} min", UserWarning, stacklevel=4)
        if seconds >= SLOW_JOB_SECONDS:
            print(f"qrp: {self.label} circuit job {self.jobs}: {shots} shots in {seconds:.1f} s "
                  f"({self.seconds:.0f} s so far)", file=sys.stderr, flush=True)

    def depth(self) -> int:
        """Depth of the circuit that runs (after transpiling, measurements included)."""
        return int(self.circuit.depth())

    def two_qubit_gates(self) -> int:
        ops = self.circuit.count_ops()
        return int(sum(ops.get(g, 0) for g in TWO_QUBIT_GATES))


class CircuitEngine:
    """The QAOA circuit of a normalized cost, built and transpiled once, bound per evaluation: exact expectations
    by Aer's EstimatorV2 (``shots=None``; statevector or MPS), samples by ``SamplerRunner`` (a user's sampler, a
    backend, or Aer with ``method`` / ``bond_dimension`` / ``device`` and a noise model or a backend's noise)."""

    def __init__(self, normalized, reps: int, warm_thetas, *, shots, noise, seed, sampler=None, backend=None,
                 pass_manager=None, optimization_level: int = 1, method: str = "automatic",
                 bond_dimension: int | None = None, device: str = "CPU"):
        qc, self.gammas, self.betas = qaoa_circuit(normalized, reps, warm_thetas)
        self.reps = reps
        model, noise_backend = (None, None) if noise is None else noise_model(noise)
        self._device = backend if backend is not None else noise_backend  # what the circuit is transpiled for
        self._timing: dict[str, Any] | None = None
        opts = aer_options(method=method, bond_dimension=bond_dimension, device=device)
        if shots is None:
            sim = AerSimulator(**opts)
            self._circuit = generate_preset_pass_manager(optimization_level=1, backend=sim,
                                                         seed_transpiler=0).run(qc)
            self._estimator = AerEstimatorV2(options={"backend_options": opts})
            self._observable = normalized.apply_layout(self._circuit.layout)
        measured = qc.copy()
        measured.measure_all()
        self.runner = SamplerRunner(measured, sampler=sampler, backend=backend, pass_manager=pass_manager,
                                    optimization_level=optimization_level, seed=seed,
                                    aer={**opts, **({"noise_model": model} if model is not None else {})},
                                    aer_backend=noise_backend)

    def _values(self, angles: np.ndarray) -> dict:
        p = self.reps
        return {self.gammas[k]: angles[k] for k in range(p)} | {self.betas[k]: angles[p + k] for k in range(p)}

    def sample(self, angles: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
        return self.runner.sample(self._values(angles), shots)

    def device_timing(self) -> dict[str, Any] | None:
        """{"depth", "timings"} of the circuit transpiled for ``backend=`` (or ``noise=BackendV2``): the sampled
        circuit's depth and the backend's durations (``backend_timings``), as in the white-noise budget
        (``white_noise_budget``), so that ``qrp.discrete.qaoa.device_seconds`` models both alike; None without a
        backend or when it reports no two-qubit-gate or readout durations."""
        if self._device is None:
            return None
        if self._timing is None:
            try:
                timings = backend_timings(self._device)
            except ValueError:  # no durations (e.g. an AerSimulator): no device time to model
                return None
            self._timing = {"depth": self.runner.depth(), "timings": timings}
        return self._timing

    def expectation(self, angles: np.ndarray) -> float:
        """<normalized cost> at ``angles``, exact (Aer EstimatorV2, precision 0)."""
        values = self._values(angles)
        pub = (self._circuit, self._observable, [float(values[p]) for p in self._circuit.parameters])
        return float(self._estimator.run([pub]).result()[0].data.evs)


#: ``white_noise_budget`` per backend object, by id with a reference to the object itself (weak where the backend
#: allows it, else strong): a later backend that reuses the id of a collected one finds a dead reference, not its
#: budgets (before: keyed by id and name, so two backends of one name, e.g. GenericBackendV2 of other seeds, could
#: collide); then per (term structure, depth, warm start, level, pass manager): refinement rounds and blocks share
#: one transpilation (the coefficients only set rotation angles, which do not change the gates or errors). Each
#: entry keeps its pass manager, so that an id is never matched by another object's.
_BUDGETS: dict[int, tuple[Any, dict[tuple, tuple[Any, dict[str, Any]]]]] = {}


def _budgets_of(backend) -> dict[tuple, tuple[Any, dict[str, Any]]]:
    """``_BUDGETS``'s entries of this backend object (identity, never equality or name)."""
    held = _BUDGETS.get(id(backend))
    if held is None or held[0]() is not backend:
        try:
            ref = weakref.ref(backend)
        except TypeError:  # not weakly referenceable: held strongly, so its id is not reused while cached

            def ref(b=backend):
                return b
        held = _BUDGETS[id(backend)] = (ref, {})
    return held[1]


def white_noise_budget(normalized, reps: int, warm_thetas, backend, *, optimization_level: int = 1,
                       seed: int | None = None, pass_manager=None) -> dict[str, Any]:
    """``error_budget`` of the QAOA circuit transpiled for ``backend`` (by ``pass_manager`` when given, else the
    preset one at ``optimization_level``, as ``SamplerRunner``; angles do not change which gates run), with its depth
    and two-qubit gate count and the backend's timings (``backend_timings``); cached (``_BUDGETS``)."""
    key = (tuple(normalized.paulis.to_labels()), reps,
           None if warm_thetas is None else tuple(np.round(warm_thetas, 12)), optimization_level, id(pass_manager))
    budgets = _budgets_of(backend)
    entry = budgets.get(key)
    if entry is None or entry[0] is not pass_manager:
        entry = budgets[key] = (pass_manager, _white_noise_budget(normalized, reps, warm_thetas, backend,
                                                                  optimization_level, seed, pass_manager))
    return entry[1]


def _white_noise_budget(normalized, reps, warm_thetas, backend, optimization_level, seed,
                        pass_manager) -> dict[str, Any]:
    qc = qaoa_circuit(normalized, reps, warm_thetas)[0]
    qc.measure_all()
    runner = SamplerRunner(qc, backend=backend, pass_manager=pass_manager, optimization_level=optimization_level,
                           seed=seed, sampler=_NO_RUN)
    bound = runner.circuit.assign_parameters([0.1] * len(runner.parameters))
    return {**error_budget(bound, backend), "depth": runner.depth(), "two_qubit_gates": runner.two_qubit_gates(),
            "timings": backend_timings(backend)}


