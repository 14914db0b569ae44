"""The one driver every registered discrete solver runs through (``qrp.core.registry.DISCRETE_DRIVER``).

A discrete solver is registered as a sample-solver factory plus its option table (``Discretization``'s shared
options and its own). ``solve_discrete`` splits the validated options into the ``Discretization`` and the
factory's own, reconciles ``rounds`` with ``max_iter``, refuses a problem beyond the solver's qubit limit before
any work (with ``block_size=k``, the limit applies to one block of k assets), builds the sample solver once (wrapped
in ``qrp.discrete.decompose.block_sampler`` when ``block_size`` is below N) and runs the refinement loop
(``qrp.discrete.refine.run_refinement``) with it. Solvers never copy the discretization signature.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from qrp.core.result import SolverOutput
from qrp.discrete.decompose import block_sampler, check_formulation
from qrp.discrete.encodings import qubits_per_asset
from qrp.discrete.options import Discretization, check_encoding_formulation
from qrp.discrete.refine import run_refinement


def check_qubits(solver: str, n_assets: int, bits: int, limit: int | None) -> None:
    """``ValueError`` when n = N x ``bits`` (qubits per asset: K in binary, ``qrp.discrete.encodings``) exceeds
    ``limit`` (None: no limit), raised before anything is built."""
    n = n_assets * bits
    if limit is not None and n > limit:
        raise ValueError(
            f"solver {solver!r} on {n} qubits (N = {n_assets} assets x bits = {bits}): 2^{n} = {2.0**n:.3g} states, "
            f"over its limit max_qubits = {limit} (2^{n} float64 values alone need {2.0**n * 8 / 2**30:.3g} GiB); "
            f"use fewer assets or bits, or another solver"
        )


def solve_discrete(spec, cov: np.ndarray, budgets: np.ndarray, *, tol: float, max_iter: int | None, seed,
                   options: dict[str, Any]) -> SolverOutput:
    """Run the registered discrete solver ``spec`` on a validated covariance and budgets; ``options`` as returned
    by ``spec.validate_options`` (every declared option present). ``max_iter`` None: not given by the caller."""
    disc, own = Discretization.split(options)
    disc = dataclasses.replace(disc, rounds=disc.resolve_rounds(max_iter))
    blocks = disc.block_size is not None and disc.block_size < cov.shape[0]
    check_encoding_formulation(disc)
    if blocks:
        check_formulation(disc.formulation)
        if disc.encoding != "binary":
            raise ValueError(f"block_size= (block decomposition) runs the binary encoding only, got "
                             f"encoding={disc.encoding!r}")
    per_asset = qubits_per_asset(disc.encoding, disc.bits)
    check_qubits(spec.name, disc.block_size if blocks else cov.shape[0], per_asset, spec.qubit_limit(options))
    sample_solver = spec.load()(**own)
    if blocks:
        sample_solver = block_sampler(sample_solver, block_size=disc.block_size, block_order=disc.block_order,
                                      block_sweeps=disc.block_sweeps)
    return run_refinement(cov, budgets, disc, tol=tol, seed=seed, sample_solver=sample_solver)
