"""QAOA angle schedules and warm-start angles (no problem knowledge: any diagonal cost).

* ``ramp_angles``: the linear ramp gamma_l = t_l delta, beta_l = -(1 - t_l) delta, t_l = (l - 1/2)/p, a discretized
  anneal to the minimum (Sack & Serbyn 2021, Quantum 5, 491).
* ``interp_angles``: INTERP, the depth-p optimum extrapolated to depth p + 1 (Zhou et al. 2020, PRX 10, 021067).
* ``warm_start_thetas``: the initial-state angles of Egger, Marecek & Woerner (2021, Quantum 5, 479).
"""

from __future__ import annotations

import numpy as np

from qrp.core.options import real_option

#: Linear-ramp angle scale delta (in units of the normalized Hamiltonian) used by ``init="ramp"``: calibrated on
#: small ERC problems (``python -m benchmarks.qaoa_angles calibrate``: the start's median ground-state probability
#: over uniform, p = 1..5, peaks at delta = 1 to 1.25 and collapses by 2).
RAMP_DELTA = 1.0
#: Warm-start regularization: c_q is clipped to [epsilon, 1 - epsilon].
EPSILON = real_option("epsilon", 0.25, "warm-start regularization c in [epsilon, 1 - epsilon]", high=0.5,
                      low_open=False)


def warm_start_thetas(bits: np.ndarray, epsilon: float = EPSILON.default) -> np.ndarray:
    """Egger et al.'s initial-state angles theta_q = 2 arcsin sqrt(c_q) from a relaxed or hard 0/1 guess ``bits``,
    regularized to c_q in [epsilon, 1 - epsilon] (epsilon = 0.5 gives the standard |+> start)."""
    epsilon = EPSILON.check(epsilon)
    c = np.clip(np.asarray(bits, dtype=np.float64), epsilon, 1.0 - epsilon)
    return 2.0 * np.arcsin(np.sqrt(c))


def ramp_angles(reps: int, delta: float = RAMP_DELTA) -> np.ndarray:
    """Linear-ramp angles [gamma_1..gamma_p, beta_1..beta_p]: gamma_l = t_l delta, beta_l = -(1 - t_l) delta,
    t_l = (l - 1/2) / p (Sack & Serbyn 2021, the trotterized-annealing start).

    The layers trotterize the anneal H(t) = -(1 - t) B + t H_C, whose ground state moves from |+>^n (the *top*
    eigenstate of B = sum_q X_q, and of the warm mixer for its start) to the ground state of H_C: exp(-i dt H(t))
    splits into exp(-i t dt H_C) and exp(+i (1 - t) dt B), so beta carries the sign opposite to gamma. (With both
    positive the ramp anneals towards the *maximum* of H_C: its start had 0.02x to 0.2x the uniform ground-state
    probability on ERC problems, ``python -m benchmarks.qaoa_angles measure``.)"""
    t = (np.arange(reps) + 0.5) / reps
    return np.concatenate([t * delta, -(1.0 - t) * delta])


def interp_angles(angles: np.ndarray) -> np.ndarray:
    """INTERP (Zhou et al. 2020, eq. B1): depth-p angles [gamma, beta] -> depth-(p+1) start,
    x'_i = (i-1)/p x_{i-1} + (p-i+1)/p x_i for i = 1..p+1, with x_0 = x_{p+1} = 0."""
    p = len(angles) // 2
    out = []
    for x in (angles[:p], angles[p:]):
        padded = np.concatenate([[0.0], x, [0.0]])
        i = np.arange(1, p + 2)
        out.append((i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i])
    return np.concatenate(out)
