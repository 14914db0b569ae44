"""Transferred QAOA angles for ERC problems: the ``angles="transfer"`` start of the "qaoa" solver.

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
