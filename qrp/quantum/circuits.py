"""QAOA circuits for diagonal costs, their hardware resources, and noise models (qiskit / qiskit-aer).

``qaoa_circuit`` builds the parametrized ansatz (standard or warm-start mixer) for any Z-only ``SparsePauliOp``;
``circuit_resources`` transpiles it to an IBM-like basis with all-to-all and heavy-hex coupling and counts depth
and two-qubit gates, once per circuit structure in a process (``resource_cache_info``); ``noise_model`` turns a
user's noise description into an Aer ``NoiseModel``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from qrp.quantum.mixers import Mixer, mixer_for

#: Basis for resource counts (IBM-like, all-to-all or heavy-hex coupling).
RESOURCE_BASIS = ("cx", "rz", "sx", "x")
#: Aer simulation methods and devices offered through ``qrp.quantum.primitives``.
AER_METHODS = ("automatic", "statevector", "matrix_product_state", "density_matrix")
DEVICES = ("CPU", "GPU")
#: How a backend's noise is simulated: Aer's noise model from its calibration, or the global white-noise model on
#: the exact state (``qrp.quantum.primitives.depolarized``; for 12-21 qubits, where Aer's trajectories are too slow).
NOISE_METHODS = ("aer", "white")
#: Structures whose resource counts a process keeps (``circuit_resources``; oldest dropped first).
RESOURCE_CACHE_SIZE = 256
_RESOURCES: dict[tuple, dict[str, Any]] = {}
_RESOURCE_STATS = {"hits": 0, "misses": 0}


def noise_model(noise):
    """An Aer ``NoiseModel`` (and the backend whose coupling the circuit must follow, or None) from ``noise``:
    a ``NoiseModel``; a qiskit ``BackendV2`` such as ``GenericBackendV2(n, noise_info=True, seed=...)`` (its
    calibrated errors via ``NoiseModel.from_backend``); or a dict ``{"p1": ..., "p2": ..., "readout": ...}`` of
    depolarizing probabilities on the one-qubit gates (sx, x), on cx, and a symmetric readout flip probability."""
    from qiskit.providers import BackendV2  # qiskit (heavy) is imported when a circuit is first needed
    from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

    if isinstance(noise, NoiseModel):
        return noise, None
    if isinstance(noise, BackendV2):
        return NoiseModel.from_backend(noise), noise
    if not isinstance(noise, dict) or not set(noise) <= {"p1", "p2", "readout"} or not noise:
        raise ValueError(
            f"noise must be a NoiseModel, a BackendV2 or a dict with keys p1, p2, readout; got {noise!r}"
        )
    for k, v in noise.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            raise ValueError(f"noise[{k!r}] must be a probability in [0, 1], got {v!r}")
    model = NoiseModel(basis_gates=list(RESOURCE_BASIS))
    if noise.get("p1", 0.0) > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(noise["p1"], 1), ["sx", "x"])
    if noise.get("p2", 0.0) > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(noise["p2"], 2), ["cx"])
    if noise.get("readout", 0.0) > 0:
        r = noise["readout"]
        model.add_all_qubit_readout_error(ReadoutError([[1 - r, r], [r, 1 - r]]))
    return model, None


def qaoa_circuit(cost, reps: int, thetas: np.ndarray | None = None, *, mixer: Mixer | None = None):
    """The parametrized QAOA circuit for a Z-only ``SparsePauliOp`` ``cost`` (already normalized): returns
    (circuit, gammas, betas) with ``ParameterVector``s gammas, betas of length ``reps``.

    Cost layer: ``PauliEvolutionGate(cost, gamma_l)`` = exp(-i gamma_l cost) (its Z terms commute: exact); mixer:
    ``mixer`` (default ``mixer_for(n, thetas)``): RX(2 beta_l) = exp(-i beta_l X) on every qubit, or RY(theta)
    RZ(2 beta_l) RY(-theta) = exp(-i beta_l (cos theta Z + sin theta X)) for the warm start.
    """
    from qiskit.circuit import ParameterVector, QuantumCircuit  # qiskit (heavy): imported on first use
    from qiskit.circuit.library import PauliEvolutionGate

    n = cost.num_qubits
    mixer = mixer_for(n, thetas) if mixer is None else mixer
    gammas, betas = ParameterVector("gamma", reps), ParameterVector("beta", reps)
    qc = QuantumCircuit(n, name="QAOA")
    mixer.prepare(qc)
    for layer in range(reps):
        qc.append(PauliEvolutionGate(cost, time=gammas[layer]), range(n))
        mixer.evolve(qc, betas[layer])
    return qc, gammas, betas


def _heavy_hex_distance(n: int) -> int:
    d = 3
    while (5 * d * d - 2 * d - 1) // 2 < n:
        d += 2
    return d


def circuit_resources(cost, reps: int, *, seed: int | None = 0, heavy_hex: bool = True) -> dict[str, Any]:
    """Hardware cost of the depth-``reps`` QAOA circuit for ``cost``: qubits, depth and two-qubit (cx) gate count
    after transpiling (optimization level 1, seeded) to the basis (cx, rz, sx, x) with all-to-all and,
    when ``heavy_hex``, IBM's heavy-hex coupling (``CouplingMap.from_heavy_hex(d)``, smallest odd d that fits).

    Computed once per circuit structure in a process and then copied from a cache (``resource_cache_info``): the
    key is (qubits, the cost's Pauli labels in their order, reps, seed, heavy_hex). The coefficients are not in
    the key: the circuit's angles are the unbound parameters gamma_l times the coefficients, so which gates the
    transpiler keeps, and how it routes them, does not depend on their values (tested on random coefficients).
    The caller gets its own copy."""
    key = (cost.num_qubits, tuple(cost.paulis.to_labels()), int(reps), seed, bool(heavy_hex))
    hit = _RESOURCES.get(key)
    if hit is None:
        _RESOURCE_STATS["misses"] += 1
        hit = _transpiled_resources(cost, reps, seed, heavy_hex)
        while len(_RESOURCES) >= RESOURCE_CACHE_SIZE:
            del _RESOURCES[next(iter(_RESOURCES))]
        _RESOURCES[key] = hit
    else:
        _RESOURCE_STATS["hits"] += 1
    return copy.deepcopy(hit)


def resource_cache_info() -> dict[str, int]:
    """{"hits", "misses", "size"} of ``circuit_resources``'s cache in this process."""
    return {**_RESOURCE_STATS, "size": len(_RESOURCES)}


def clear_resource_cache() -> None:
    """Empty ``circuit_resources``'s cache (and its counters)."""
    _RESOURCES.clear()
    _RESOURCE_STATS.update(hits=0, misses=0)


def _transpiled_resources(cost, reps: int, seed: int | None, heavy_hex: bool) -> dict[str, Any]:
    """``circuit_resources`` without the cache: two transpiles (all-to-all, heavy-hex)."""
    from qiskit import transpile  # qiskit (heavy): imported on first use
    from qiskit.transpiler import CouplingMap

    qc, _, _ = qaoa_circuit(cost, reps)
    out: dict[str, Any] = {"qubits": qc.num_qubits, "reps": reps, "cost_terms": len(cost)}
    maps = {"all_to_all": None}
    if heavy_hex:
        maps["heavy_hex"] = CouplingMap.from_heavy_hex(_heavy_hex_distance(qc.num_qubits))
    for name, cmap in maps.items():
        t = transpile(qc, basis_gates=list(RESOURCE_BASIS), coupling_map=cmap, optimization_level=1,
                      seed_transpiler=seed)
        out[name] = {"depth": t.depth(), "two_qubit_gates": int(t.count_ops().get("cx", 0)),
                     "physical_qubits": t.num_qubits}
    return out
