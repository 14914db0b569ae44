"""QAOA angle schedules and warm-start angles (no problem knowledge: any diagonal cost).

* ``ramp_angles``: the linear ramp gamma_l = t_l delta, beta_l = -(1 - t_l) delta, t_l = (l - 1/2)/p, a discretized
  anneal to the minimum (Sack & Serbyn 2021, Quantum 5, 491).
* ``interp_angles``: INTERP, the depth-p optimum extrapolated to depth p + 1 (Zhou et al. 2020, PRX 10, 021067).
* ``warm_start_thetas``: the initial-state angles of Egger, Marecek & Woerner (2021, Quantum 5, 479).
* ``minimize_angles`` / ``interp_schedule``: SciPy minimization of any angle objective, from one start or depth by
  depth with INTERP starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

from qrp.core.registry import real_option

#: SciPy ``minimize`` methods accepted as ``optimizer`` (derivative-free first; gradient ones use finite
#: differences, each difference costing one circuit evaluation per angle).
OPTIMIZERS = ("COBYLA", "COBYQA", "Nelder-Mead", "Powell", "L-BFGS-B", "BFGS", "SLSQP")
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


def scipy_options(optimizer: str, max_evals: int) -> dict[str, Any]:
    """``minimize`` options capping evaluations at ``max_evals``, with an initial step of 0.3 rad for the
    trust-region methods (the scale of useful angle changes on the normalized cost)."""
    opts: dict[str, Any] = {"maxiter": max_evals}
    if optimizer == "COBYLA":
        opts["rhobeg"] = 0.3
    elif optimizer == "COBYQA":
        opts["initial_tr_radius"] = 0.3
    elif optimizer in ("Nelder-Mead", "Powell"):
        opts["maxfev"] = max_evals
    return opts


def minimize_angles(objective: Callable[[np.ndarray], float], optimizer: str, x0: np.ndarray,
                    max_evals: int) -> tuple[np.ndarray, int]:
    """(angles, iterations): SciPy ``minimize`` of ``objective`` from ``x0``."""
    res = minimize(objective, x0, method=optimizer, options=scipy_options(optimizer, max_evals))
    return np.asarray(res.x, dtype=np.float64), int(getattr(res, "nit", 0) or res.nfev)


def interp_schedule(objective: Callable[[np.ndarray], float], reps: int, optimizer: str,
                    max_evals: int) -> tuple[np.ndarray, int]:
    """(angles, iterations): optimize depth 1, 2, ..., ``reps`` in turn, each from the INTERP extrapolation of the
    previous optimum. Depth d < p is the depth-p circuit with layers d+1..p at zero angles (identities), so
    ``objective`` (of 2 ``reps`` angles) serves every depth."""
    p, total = reps, 0
    x = ramp_angles(1)
    for depth in range(1, p + 1):
        def padded(y, depth=depth):
            full = np.zeros(2 * p)
            full[:depth], full[p : p + depth] = y[:depth], y[depth:]
            return full

        x, it = minimize_angles(lambda y, f=padded: objective(f(y)), optimizer, x, max_evals)
        total += it
        if depth < p:
            x = interp_angles(x)
    return x, total
