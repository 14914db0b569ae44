"""QAOA angles for ERC problems: the ``angles="transfer"`` start of the "qaoa" solver, and the ``"fixed"`` and
``"ramp"`` tables (zero evaluations on the instance) at the end of this module.

QAOA angles optimized on one instance are good starts on others of the same family (Brandao et al. 2018,
arXiv:1812.04170: the objective concentrates over instances; Galda et al. 2021, arXiv:2106.07041: transfer between
random graphs). qrp's cost is normalized by its standard deviation over the uniform superposition
(``qrp.discrete.qaoa``), so angles have the same meaning at every size. The shipped table
``transfer_angles.json`` holds, for each depth p = 1..5, the component-wise median of the optimized angles
[gamma_1..gamma_p, beta_1..beta_p] of a training set of ERC problems (covariance seeds disjoint from the ones the
measurement and the studies use), with the sign gauge fixed (sum of the gammas > 0; (gamma, beta) -> (-gamma,
-beta) maps a state to its complex conjugate, with the same measurement statistics). It is produced by

    python -m benchmarks.qaoa_angles build

which records the training set and the package versions in the file.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np

#: The shipped table (package data of ``qrp.discrete``).
TABLE = "transfer_angles.json"


@cache
def transfer_table() -> dict:
    """The shipped table as read from the package (``{"angles": {"1": [...], ...}, "training": ..., ...}``)."""
    return json.loads(resources.files("qrp.discrete").joinpath(TABLE).read_text())


def transfer_angles(reps: int) -> np.ndarray:
    """The transferred start [gamma_1..gamma_p, beta_1..beta_p] for depth ``reps``; ``ValueError`` for a depth
    the table does not hold."""
    table = transfer_table()["angles"]
    if str(reps) not in table:
        raise ValueError(f"angles='transfer' has no angles for reps={reps!r}; the table holds reps "
                         f"{sorted(int(k) for k in table)} (python -m benchmarks.qaoa_angles build --reps ...)")
    return np.array(table[str(reps)], dtype=np.float64)


#: The fixed-angle and linear-ramp table per encoding (``python -m benchmarks.fixed_angles build``).
FIXED_TABLE = "fixed_angles.json"


@cache
def fixed_table() -> dict:
    """The shipped fixed-angle table (``{"fixed": {encoding: {p: angles}}, "ramp": {encoding: slopes}, ...}``)."""
    return json.loads(resources.files("qrp.discrete").joinpath(FIXED_TABLE).read_text())


def fixed_angles(encoding: str, reps: int) -> np.ndarray:
    """``angles="fixed"``: [gamma_1..gamma_p, beta_1..beta_p] for ``encoding`` at depth ``reps``, optimized once
    for the mean normalized energy over training covariances (seeds 2000-2007, never measured) and used on every
    instance with zero evaluations (Shaydulin et al. 2024, Sci. Adv. 10, eadm6761). ``ValueError`` for a depth the
    table does not hold."""
    table = fixed_table()["fixed"][encoding]
    if str(reps) not in table:
        raise ValueError(f"angles='fixed' has no angles for reps={reps!r} (encoding {encoding!r}); the table holds "
                         f"reps {sorted(int(k) for k in table)} (python -m benchmarks.fixed_angles build)")
    return np.array(table[str(reps)], dtype=np.float64)


def ramp_reps(num_qubits: int) -> int:
    """Depth of ``angles="ramp"``: one layer per qubit, p = n (depth grows with the problem)."""
    return int(num_qubits)


def linear_ramp(encoding: str, reps: int) -> np.ndarray:
    """``angles="ramp"``: linear-ramp QAOA (Montanez-Barrera & Michielsen, arXiv:2405.09169), gamma_l = t_l dg,
    beta_l = -(1 - t_l) db, t_l = (l - 1/2) / p, with the slopes (dg, db) of ``encoding`` calibrated once on the
    training covariances (``benchmarks.fixed_angles``); zero evaluations on the instance."""
    slopes = fixed_table()["ramp"][encoding]
    t = (np.arange(reps) + 0.5) / reps
    return np.concatenate([t * slopes["delta_gamma"], -(1.0 - t) * slopes["delta_beta"]])
