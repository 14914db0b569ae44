"""The outcome of one QAOA optimization and readout (``qrp.quantum.qaoa.QAOA.optimize`` / ``fixed``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class QAOAResult:
    """Outcome of ``QAOA.optimize`` then readout.

    Attributes
    ----------
    angles : (2p,) optimized [gamma_1..gamma_p, beta_1..beta_p] (for the Hamiltonian normalized by ``scale``).
    value : optimized objective (expectation or CVaR_alpha, problem units).
    expectation : exact <H_C> at ``angles`` when the state is available (n within the fast path), else the
        sample mean of the readout.
    best_state : (n,) 0/1 int8 array, lowest-energy bitstring among the readout samples (qubit i = entry i).
    best_energy : its energy.
    ground_energy : exact minimum of H_C (None when not computed).
    ground_state_probability : probability of measuring a ground state (exact from the state when available,
        else readout frequency; None when ``ground_energy`` is None).
    ground_state : whether ``best_state`` is a ground state (None when ``ground_energy`` is None); decided on the
        normalized diagonal (offset removed), so it stays meaningful when the offset dwarfs the spread.
    approximation_ratio : (E_max - <H_C>) / (E_max - E_min) in [0, 1], 1 = ground state (None without the
        exact spectrum).
    evaluations : objective (circuit) evaluations, an adjoint value-and-gradient counting ``GRADIENT_EVALUATIONS``
        (3: its state evolutions); iterations : optimizer iterations (sum over restarts/depths).
    wall_time : seconds for optimization and readout; simulation_seconds : the part of it spent simulating
        circuits (objective evaluations and readout sampling), the rest being optimizer overhead and diagnostics;
    stats : engine, seed, settings, per-start values.
    """

    angles: np.ndarray
    value: float
    expectation: float
    best_state: np.ndarray
    best_energy: float
    ground_energy: float | None
    ground_state_probability: float | None
    ground_state: bool | None
    approximation_ratio: float | None
    evaluations: int
    iterations: int
    wall_time: float
    simulation_seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


__all__ = ["QAOAResult"]
