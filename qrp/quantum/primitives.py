"""Run a parametrized, measured circuit on any Qiskit sampler primitive or backend; a hardware time model.

``SamplerRunner`` is how the QAOA engine reaches everything beyond its own state vector:

* ``sampler=``: any ``qiskit.primitives.BaseSamplerV2`` (``StatevectorSampler``, Aer's ``SamplerV2``,
  ``BackendSamplerV2``, qiskit-ibm-runtime's ``SamplerV2(mode=backend)`` for IBM hardware);
* ``backend=``: any ``BackendV2`` (a real IBM device, a fake one from ``qiskit_ibm_runtime.fake_provider`` with its
  coupling map, basis gates and calibrated noise, an ``AerSimulator``). The circuit is transpiled once by
  ``generate_preset_pass_manager(optimization_level, backend=backend, seed_transpiler=...)`` (or the user's
  ``pass_manager=``) to the backend's instruction set (ISA), and run by ``sampler`` when given (e.g. a runtime
  sampler on that backend) or by ``BackendSamplerV2(backend=backend)``;
* neither: qiskit-aer's ``SamplerV2`` with ``aer_options(method, bond_dimension, device, noise_model)``:
  ``method="matrix_product_state"`` with ``matrix_product_state_max_bond_dimension = bond_dimension`` (truncated
  MPS, Vidal 2003; beyond the state-vector limit when the entanglement allows), ``device="GPU"`` passed to Aer
  (needs the ``qiskit-aer-gpu`` build; refused with the devices this build offers otherwise).

This module imports qiskit and qiskit-aer at the top: it is loaded only when a circuit runs on a primitive.

The circuit must end with ``measure_all()`` (register ``meas``): classical bit i is virtual qubit i whatever layout
the transpiler picks, so counts come back as integers with bit i = qubit i of the logical circuit.

Hardware time model (``circuit_seconds``): seconds for one circuit on a device,
t = shots x (depth x t_2q + t_readout) + latency, with the depth of the transpiled circuit, t_2q and t_readout the
median two-qubit-gate and measurement durations of the backend's target (calibration data of the fake backends),
and ``latency`` the per-circuit overhead of submitting a job (an assumption the caller states; qrp's default
``DEFAULT_LATENCY`` is a round figure, not a measurement). Depth x t_2q over-counts single-qubit layers by charging
them a two-qubit duration; it leaves out the repetition delay between shots (device-specific, ~250 us on IBM
devices), so it is a lower bound on shot time whenever t_2q times depth is below that delay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from qiskit.primitives import BackendSamplerV2, BaseSamplerV2
from qiskit.providers import BackendV2
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from qrp.core.validation import positive_int

AER_METHODS = ("automatic", "statevector", "matrix_product_state", "density_matrix")
DEVICES = ("CPU", "GPU")
TWO_QUBIT_GATES = ("cx", "ecr", "cz", "rzz")
#: Default per-circuit latency (s) of ``circuit_seconds``: an assumed round figure for job submission overhead.
DEFAULT_LATENCY = 1.0


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


def check_backend(backend) -> None:
    """``ValueError`` unless ``backend`` is a ``BackendV2``."""
    if not isinstance(backend, BackendV2):
        raise ValueError(f"backend must be a qiskit BackendV2 (e.g. qiskit_ibm_runtime.fake_provider.FakeTorino()), "
                         f"got {backend!r}")


class SamplerRunner:
    """One measured, parametrized circuit bound and sampled repeatedly (module docstring).

    Attributes: ``circuit`` (what runs: transpiled for the backend when there is one), ``sampler``,
    ``backend`` (or None), ``kind`` ("sampler", "backend" or "aer").
    """

    def __init__(self, circuit, *, sampler=None, backend=None, pass_manager=None, optimization_level: int = 1,
                 seed: int | None = None, aer: Mapping[str, Any] | None = None):
        if "meas" not in {c.name for c in circuit.cregs}:
            raise ValueError("the circuit must end with measure_all() (classical register 'meas')")
        if sampler is not None:
            check_sampler(sampler)
        if backend is not None:
            check_backend(backend)
        level = positive_int(optimization_level, "optimization_level", minimum=0)
        if level > 3:
            raise ValueError(f"optimization_level must be 0, 1, 2 or 3, got {optimization_level!r}")
        seed_t = 0 if seed is None else int(seed)
        self.backend = backend
        if backend is not None and pass_manager is None:
            pass_manager = generate_preset_pass_manager(optimization_level=level, backend=backend,
                                                        seed_transpiler=seed_t)
        if sampler is not None:
            self.kind, self.sampler = "sampler", sampler
        elif backend is not None:
            opts = {} if seed is None else {"seed_simulator": int(seed)}
            self.kind, self.sampler = "backend", BackendSamplerV2(backend=backend, options=opts)
        else:
            backend_options = dict(aer or {})
            self.kind = "aer"
            self.sampler = AerSamplerV2(seed=seed, options={"backend_options": backend_options})
            if pass_manager is None:
                sim = AerSimulator(**{k: v for k, v in backend_options.items() if k != "noise_model"})
                target = {"basis_gates": sorted(backend_options["noise_model"].basis_gates)} \
                    if "noise_model" in backend_options else {"backend": sim}
                pass_manager = generate_preset_pass_manager(optimization_level=level, seed_transpiler=seed_t,
                                                            **target)
        self.circuit = circuit if pass_manager is None else pass_manager.run(circuit)
        self.parameters = list(self.circuit.parameters)

    def sample(self, values: Mapping[Any, float], shots: int) -> tuple[np.ndarray, np.ndarray]:
        """(states, counts) of ``shots`` runs with parameters bound by ``values`` ({Parameter: value});
        states are integers with bit i = logical qubit i."""
        bound = [float(values[p]) for p in self.parameters]
        res = self.sampler.run([(self.circuit, bound)], shots=int(shots)).result()
        got = res[0].data.meas.get_int_counts()
        return np.fromiter(got.keys(), np.int64, len(got)), np.fromiter(got.values(), np.int64, len(got))

    def depth(self) -> int:
        """Depth of the circuit that runs (after transpiling, measurements included)."""
        return int(self.circuit.depth())

    def two_qubit_gates(self) -> int:
        ops = self.circuit.count_ops()
        return int(sum(ops.get(g, 0) for g in TWO_QUBIT_GATES))


def backend_timings(backend) -> dict[str, float]:
    """Median two-qubit-gate and measurement durations (s) and errors of ``backend``'s target."""
    target = backend.target
    two = next((g for g in TWO_QUBIT_GATES if g in target.operation_names), None)
    if two is None or "measure" not in target.operation_names:
        raise ValueError(f"backend {backend.name!r} has no two-qubit gate among {TWO_QUBIT_GATES} or no measure")

    def median(name: str, attr: str) -> float:
        vals = [getattr(p, attr) for p in target[name].values() if p is not None and getattr(p, attr) is not None]
        if not vals:
            raise ValueError(f"backend {backend.name!r} reports no {attr} for {name!r}")
        return float(np.median(vals))

    return {"two_qubit_gate": two, "t_2q": median(two, "duration"), "t_readout": median("measure", "duration"),
            "error_2q": median(two, "error"), "error_readout": median("measure", "error")}


def circuit_seconds(depth: int, shots: int, timings: Mapping[str, float], latency: float = DEFAULT_LATENCY) -> float:
    """The hardware time model: shots x (depth x t_2q + t_readout) + latency, in seconds (module docstring)."""
    return float(shots) * (int(depth) * timings["t_2q"] + timings["t_readout"]) + float(latency)


# -- a device error model for exact state vectors ----------------------------------------------------------------
def error_budget(circuit, backend) -> dict[str, Any]:
    """The calibrated error of ``circuit`` (transpiled for ``backend``) on that device: gate fidelity
    F = prod_g (1 - e_g) over its gates with their calibrated errors on the physical qubits they act on, and the
    readout flip probability of each logical qubit (the measurement error of the physical qubit it lands on)."""
    target = backend.target
    log_f = 0.0
    flips: dict[int, float] = {}
    for inst in circuit.data:
        name = inst.operation.name
        qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
        if name == "barrier" or name not in target.operation_names:
            continue
        props = target[name].get(qubits)
        err = 0.0 if props is None or props.error is None else float(props.error)
        if name == "measure":
            flips[circuit.find_bit(inst.clbits[0]).index] = err
        else:
            log_f += np.log1p(-min(err, 1.0 - 1e-15))
    n = circuit.num_clbits
    return {"fidelity": float(np.exp(log_f)), "readout": np.array([flips.get(i, 0.0) for i in range(n)])}


def depolarized(probs: np.ndarray, fidelity: float, readout: np.ndarray) -> np.ndarray:
    """Measured distribution under the global white-noise model: F p + (1 - F) / 2^n (deep noisy circuits turn
    local noise into global white noise: Dalzell, Hunter-Jones & Brandao 2021, arXiv:2111.14907), then an
    independent flip of bit q with probability ``readout[q]`` (index bit q = qubit q)."""
    n = len(readout)
    p = fidelity * np.asarray(probs, dtype=np.float64) + (1.0 - fidelity) / probs.size
    t = p.reshape((2,) * n)  # axis n - 1 - q is qubit q (C order: the highest qubit varies slowest)
    for q, r in enumerate(readout):
        if r > 0:
            ax = n - 1 - q
            t = (1.0 - r) * t + r * np.flip(t, axis=ax)
    return t.reshape(-1)
