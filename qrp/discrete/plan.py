"""How one discrete solve is laid out, decided once from validated settings: ``plan(spec, n_assets, settings)``.

A discrete solver solves problems of n = k x q binary variables, q the qubits per asset of the encoding (K bits in
binary, ``qrp.discrete.encodings.qubits_per_asset``) and k the assets per solve: all N assets, or
k = min(N, block_size) with the block decomposition (``qrp.discrete.decompose.block_assets``). Its declared qubit
limit (``register_solver(max_qubits=...)``, evaluated on the settings) bounds n. The driver (and so the composite it
wraps around the solver) and a study's dry run (``qrp.studies.grid``) ask ``plan``, so the layout and the one "too
many qubits" message (``check_qubit_limit``) live here; only the QAOA engine's memory guard (``qrp.quantum.memory``,
for direct ``QAOA`` use) has its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qrp.core.registry import SolverSpec
from qrp.discrete.decompose import block_assets, check_blocks
from qrp.discrete.encodings import qubits_per_asset
from qrp.discrete.options import Discretization, check_discretization


@dataclass(frozen=True)
class Plan:
    """One discrete solve's layout.

    Attributes
    ----------
    solver : registry name.
    n_assets : N, the assets of the whole problem.
    bits : K bits per asset (None for a solver without a ``bits`` option).
    qubits_per_asset : q, K in binary and gray, 2^K - 1 in unary and domain wall (``qrp.discrete.encodings``).
    assets_per_solve : k = min(N, block_size) with the block decomposition, else N.
    qubits_per_solve : k x q, the binary variables of each solve (None without ``bits``).
    limit : the solver's qubit limit with these settings (None: no limit).
    blocks : whether the block decomposition runs (block_size < N).
    """

    solver: str
    n_assets: int
    bits: int | None
    qubits_per_asset: int | None
    assets_per_solve: int
    qubits_per_solve: int | None
    limit: int | None
    blocks: bool


def check_qubit_limit(solver: str, num_qubits: int, limit: int | None, *, n_assets: int | None = None,
                      per_asset: int | None = None) -> None:
    """``ValueError`` when ``num_qubits`` exceeds ``limit`` (None: no limit): the one "too many qubits" message,
    raised before anything is built."""
    if limit is None or num_qubits <= limit:
        return
    shape = f" (N = {n_assets} assets x {per_asset} qubits per asset)" if n_assets is not None else ""
    raise ValueError(
        f"solver {solver!r} on {num_qubits} qubits{shape}: 2^{num_qubits} = {2.0**num_qubits:.3g} states, over its "
        f"limit max_qubits = {limit} (2^{num_qubits} float64 values alone need {2.0**num_qubits * 8 / 2**30:.3g} "
        f"GiB); use fewer assets or bits, or another solver"
    )


def plan(spec: SolverSpec, n_assets: int, settings: Mapping[str, Any]) -> Plan:
    """The layout of ``spec`` on ``n_assets`` assets with its validated ``settings`` (``Settings``); ``ValueError``
    when a solve would exceed the solver's qubit limit (``check_qubit_limit``) or blocks are asked of a formulation
    that cannot be decomposed (the pairwise formulation, an encoding other than binary). Settings of a table
    written as a plain tuple (no shared ``Discretization`` section, so not cross-checked by ``validate_options``)
    get the discretization's cross-field check here. Does no solver work."""
    if discretization_section(settings) is None and "encoding" in settings:
        check_discretization(settings)
    k = block_assets(n_assets, settings.get("block_size"))
    if k < n_assets:
        check_blocks(settings["formulation"], settings.get("encoding", "binary"))
    bits = settings.get("bits")
    per_asset = None if bits is None else qubits_per_asset(settings.get("encoding", "binary"), bits)
    qubits = None if per_asset is None else k * per_asset
    limit = spec.qubit_limit(settings)
    if qubits is not None:
        check_qubit_limit(spec.name, qubits, limit, n_assets=k, per_asset=per_asset)
    return Plan(spec.name, n_assets, bits, per_asset, k, qubits, limit, k < n_assets)



def discretization_section(settings: Mapping[str, Any]) -> Discretization | None:
    """The validated ``Discretization`` section of ``settings`` (None for a plain mapping or a table written as a
    plain tuple, whose discretization was not cross-checked by ``validate_options``)."""
    return settings.section(Discretization) if hasattr(settings, "section") else None
