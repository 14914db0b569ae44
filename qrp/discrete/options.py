"""The discretization options every discrete solver shares, declared once: ``Discretization``.

A discrete solver is registered as its sample-solver factory plus its own options; its option table is
``discrete_options(...) + own``, so ``bits, formulation, encoding, rounds, box, shrink, radius, log_fit, penalty``
have one declaration (name, default, check, doc: the fields below) and one validation, whatever the solver. A solver may
declare a different *default* for one of them (``sa`` defaults to ``bits=4``) through ``discrete_options(bits=4)``.
``solver_table(own, joint=...)`` is a built-in solver's whole table: an ``OptionTable`` whose section is
``Discretization``, so that ``validate_options`` returns ``Settings`` carrying a validated ``Discretization``
(``discretization_of``) and the solver's own settings, its cross-field check (``joint``) run there once. The block
decomposition's options (``block_size, block_order, block_sweeps``) are not here: the composite owns them
(``qrp.discrete.decompose.Blocks``) and the registry adds them to every discrete solver's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qrp.core.options import Option, OptionSection, OptionTable, choice_option, declare, int_option, real_option
from qrp.core.validation import MAX_BITS, MAX_ROUNDS
from qrp.discrete.encodings import ENCODINGS

FORMULATIONS = ("log_barrier", "pairwise")
LOG_FITS = ("lsq", "taylor")


def _check_box(box: Any) -> Any:
    """A box must be readable as finite numbers (its shape and signs are checked against N and the formulation
    when the problem is built: ``qrp.discrete.problem.validate_box``)."""
    try:
        arr = np.asarray(tuple(box.values()) if isinstance(box, dict) else box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"box could not be read as numbers: {exc}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError("box contains NaN or inf")
    return box


@dataclass(frozen=True)
class Discretization(OptionSection):
    """How the ERC problem is discretized and refined (``qrp.discretize``, ``qrp.refine``).

    Attributes
    ----------
    bits : K bits per asset (n = N K binary variables).
    formulation : "log_barrier" (Spinu's objective, a QUBO in y) or "pairwise" (the seed's, degree 4, in w).
    encoding : how each asset's 2^bits levels are written in qubits: "binary", "gray", "unary" or "domain_wall"
        (``qrp.discrete.encodings``; not binary needs log_barrier).
    rounds : refinement rounds (None: the call's ``max_iter``, registry default 1 = one-shot).
    box : first round's (lo, hi) in the formulation's variable (None: c (1 -/+ radius) around the classical guess).
    shrink : factor in (0, 1) on the half-width per round of assets inside their box.
    radius : relative half-width in (0, 1) of the default box.
    log_fit : "taylor" or "lsq", the quadratic standing for -b log y (log_barrier).
    penalty : dimensionless budget-penalty factor (pairwise).
    """

    bits: int = declare(int_option("bits", 2, "bits per asset K", maximum=MAX_BITS))
    formulation: str = declare(choice_option("formulation", "log_barrier", FORMULATIONS, "objective encoded"))
    encoding: str = declare(choice_option("encoding", "binary", ENCODINGS, "qubits of a level"))
    rounds: int | None = declare(int_option("rounds", None, "refinement rounds (None: max_iter)", maximum=MAX_ROUNDS))
    box: Any = declare(Option("box", None, _check_box, "first round's (lo, hi) (None: around the classical guess)"))
    shrink: float = declare(real_option("shrink", 0.5, "half-width factor per round", high=1.0, high_open=True))
    radius: float = declare(real_option("radius", 0.5, "default box half-width / centre", high=1.0, high_open=True))
    # Taylor by default: measured in qrp.discrete.problem's module docstring (benchmarks/refinement.py --oneshot)
    log_fit: str = declare(choice_option("log_fit", "taylor", LOG_FITS, "surrogate of -b log y"))
    penalty: float = declare(real_option("penalty", 1.0, "budget penalty factor (pairwise)"))

    def resolve_rounds(self, max_iter: int | None) -> int:
        """The number of rounds: ``rounds``, else ``max_iter``, else 1; ``ValueError`` when both are set and differ
        (they name the same thing for a discrete solver)."""
        if self.rounds is not None and max_iter is not None and self.rounds != max_iter:
            raise ValueError(f"rounds={self.rounds} and max_iter={max_iter} disagree (for a discrete solver both set "
                             f"the number of refinement rounds); pass one of them")
        if self.rounds is None and max_iter is not None and max_iter > MAX_ROUNDS:
            raise ValueError(f"max_iter={max_iter} sets the refinement rounds of a discrete solver, which must be at "
                             f"most {MAX_ROUNDS} (a seed is spawned per round before the first one runs)")
        return self.rounds if self.rounds is not None else (1 if max_iter is None else max_iter)


def check_encoding_formulation(disc: Discretization) -> None:
    """``ValueError`` for an encoding other than binary with the pairwise formulation (encoded in binary only)."""
    if disc.encoding != "binary" and disc.formulation != "log_barrier":
        raise ValueError(f"encoding={disc.encoding!r} needs formulation='log_barrier' (pairwise is encoded in binary "
                         f"only), got formulation={disc.formulation!r}")


#: The defaults, one place: ``DEFAULTS.radius`` etc. (``qrp.discretize`` and ``qrp.refine`` use them).
DEFAULTS = Discretization()


def discrete_options(**defaults: Any) -> tuple[Option, ...]:
    """The shared options of a discrete solver's table (``Discretization.options``)."""
    return Discretization.options(**defaults)


def check_discretization(values: Mapping[str, Any]) -> None:
    """The cross-field checks of validated discretization options (``check_encoding_formulation``)."""
    check_encoding_formulation(Discretization(**{k: values[k] for k in Discretization.names() if k in values}))


def solver_table(own: tuple[Option, ...] = (), *, joint=None, **defaults: Any) -> OptionTable:
    """A discrete solver's option table: the shared options (``defaults`` replacing declared defaults) then its
    ``own``, with ``Discretization`` as the shared section; its cross-field check is ``check_discretization`` then
    the solver's ``joint``."""

    def check(values: dict[str, Any]) -> None:
        check_discretization(values)
        if joint is not None:
            joint(values)

    return OptionTable((*Discretization.options(**defaults), *own), joint=check, sections=(Discretization,))


def discretization_of(settings: Mapping[str, Any]) -> Discretization:
    """The ``Discretization`` of a discrete solver's validated settings: their section when the table declared it
    (``solver_table``), else built from the shared names present (a table written as a plain tuple)."""
    section = settings.section(Discretization) if hasattr(settings, "section") else None
    if section is not None:
        return section
    return Discretization(**{k: settings[k] for k in Discretization.names() if k in settings})


def factory_values(own: tuple[Option, ...], options: Mapping[str, Any]) -> dict[str, Any]:
    """A factory's options {name: value} in ``own``'s order, absent ones at their declared defaults. The values are
    the registry's validated ones (``validate_options``) and are not checked again; an unknown name is refused."""
    unknown = sorted(set(options) - {o.name for o in own})
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; the factory takes {[o.name for o in own]}")
    return {o.name: options.get(o.name, o.default) for o in own}
