"""The two small result objects every solver shares.

``SolverOutput`` is what a registered solver function returns (normalized weights plus its own diagnostics);
``RiskParityResult`` is what ``qrp.risk_parity`` returns to users, whatever the solver: classical, exact
enumeration, simulated annealing or QAOA. Experiments never special-case a solver because of this.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SolverOutput:
    """What a solver function returns to ``qrp.risk_parity``.

    Attributes
    ----------
    weights : (N,) float64, long-only, summing to 1 (before leverage and target-volatility scaling).
    converged : whether the solver met its tolerance.
    iterations : iterations (classical), or total inner iterations / rounds (discrete solvers).
    energy : the discrete objective of the returned sample (discrete solvers), else None.
    num_qubits : binary variables of one sub-problem (discrete solvers), else None.
    history : one dict per refinement round (discrete solvers), else empty.
    stats : solver-specific diagnostics (JSON-serializable scalars, lists and dicts).
    """

    weights: np.ndarray
    converged: bool
    iterations: int
    energy: float | None = None
    num_qubits: int | None = None
    history: tuple[dict[str, Any], ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class RiskParityResult:
    """Result of ``qrp.risk_parity``.

    Attributes
    ----------
    weights : (N,) final weights, after leverage then target-volatility scaling (they sum to 1 without either).
    risk_contributions : (N,) RC_i = w_i (S w)_i / sqrt(w' S w) of the final weights; they sum to ``volatility``.
    volatility : sqrt(w' S w) of the final weights, in the units of ``cov`` (daily if ``cov`` is daily).
    rc_error : max_i |RC_i / sum(RC) - b_i|, the accuracy measure (scale invariant).
    converged : whether the solver met ``tol`` (for discrete solvers: whether rc_error <= tol).
    iterations : solver iterations (sweeps, Newton steps, rounds, ...).
    solver : registry name of the solver used.
    elapsed : wall time of the whole call in seconds (validation included).
    budgets : (N,) risk budgets b.
    asset_names : asset labels carried from pandas input, else None.
    energy, num_qubits, history : discrete-solver fields (None / empty for classical solvers).
    stats : solver diagnostics (e.g. ``bounds_active``, ``newton_decrement``, ``ground_state_fraction``).
    seed : the seed passed (deterministic solvers ignore it).
    """

    weights: np.ndarray
    risk_contributions: np.ndarray
    volatility: float
    rc_error: float
    converged: bool
    iterations: int
    solver: str
    elapsed: float
    budgets: np.ndarray
    asset_names: tuple[str, ...] | None = None
    energy: float | None = None
    num_qubits: int | None = None
    history: tuple[dict[str, Any], ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per asset: weight, risk_contribution, risk_share (RC_i / sum RC) and budget."""
        rc = self.risk_contributions
        index = pd.Index(self.asset_names if self.asset_names else range(len(rc)), name="asset")
        return pd.DataFrame(
            {
                "weight": self.weights,
                "risk_contribution": rc,
                "risk_share": rc / rc.sum(),
                "budget": self.budgets,
            },
            index=index,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of every field (arrays as lists)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    def __repr__(self) -> str:
        n = len(self.weights)
        extra = f", num_qubits={self.num_qubits}, energy={self.energy:.6g}" if self.num_qubits else ""
        return (
            f"RiskParityResult(solver={self.solver!r}, n_assets={n}, rc_error={self.rc_error:.3e}, "
            f"converged={self.converged}, iterations={self.iterations}, volatility={self.volatility:.6g}, "
            f"elapsed={self.elapsed:.3g}s{extra})"
        )
