"""A backend's calibration as a device model: the hardware time of a circuit and the global white-noise model.

No qiskit import: these read a ``BackendV2``'s ``target`` and a transpiled circuit's instructions.

Hardware time model (``circuit_seconds``): seconds for one circuit on a device,
t = shots x (depth x t_2q + t_readout) + latency, with the depth of the transpiled circuit, t_2q and t_readout the
median two-qubit-gate and measurement durations of the backend's target (calibration data of the fake backends),
and ``latency`` the per-circuit overhead of submitting a job (an assumption the caller states; qrp's default
``DEFAULT_LATENCY`` is a round figure, not a measurement). Depth x t_2q over-counts single-qubit layers by charging
them a two-qubit duration; it leaves out the repetition delay between shots (device-specific, ~250 us on IBM
devices), so it is a lower bound on shot time whenever t_2q times depth is below that delay.

White-noise model (``error_budget``, ``depolarized``): the measured distribution of a circuit with gate fidelity
F = prod_g (1 - e_g) (calibrated errors of its gates on the physical qubits they act on) is F p + (1 - F) / 2^n, then
each bit flipped with its qubit's measurement error: deep noisy circuits turn local noise into global white noise
(Dalzell, Hunter-Jones & Brandao 2021, arXiv:2111.14907). It leaves out T1 relaxation's bias towards 0 and
asymmetric readout, which Aer's full noise model has; tests/quantum compare the two on a QAOA circuit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

TWO_QUBIT_GATES = ("cx", "ecr", "cz", "rzz")
#: Default per-circuit latency (s) of ``circuit_seconds``: an assumed round figure for job submission overhead.
DEFAULT_LATENCY = 1.0


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
