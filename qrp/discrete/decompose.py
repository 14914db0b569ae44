"""Block decomposition for large N: every refinement round sweeps over blocks of k assets (``block_size=k``).

The round's problem G(v) = 1/2 v'Sv + sum_i q_i(v_i) (``log_barrier``, a QUBO over N K bits) is solved by block
coordinate descent over assets. For a block B with the other assets F fixed at their current values v_F,

    G(v_B, v_F) = 1/2 v_B' S_BB v_B + sum_{i in B} [q_i(v_i) + c_i v_i] + const,      c = S_BF v_F,

which is again a ``log_barrier`` problem: covariance S_BB, the same boxes and log surrogates, each q_i shifted by
the linear term c_i v_i (q0_i += c_i lo_i, q1_i += c_i in the d = v - lo form). ``BlockProblem`` is that
conditional as a ``DiscreteProblem`` (k K bits), so every registered solver (exact enumeration, sa, qaoa on its
``to_ising``, a dimod sampler, the null baselines) solves a block unchanged; its relative energies differ from the
full problem's by a constant, so the block optimum is the full problem's optimum over the block's bits.

A round starts from the level nearest to the box centre (which refinement puts on the previous round's answer),
then sweeps: each block is solved by the block solver and its answer kept only when it lowers the energy, so the
energy never rises; the sweep repeats (``block_sweeps`` at most) until a sweep changes nothing. Blocks are chosen

* ``"energy_impact"`` (as dwave-hybrid's ``EnergyImpactDecomposer`` with ``traversal="energy"``, ``rolling=True``,
  ``rolling_history=1``): assets ranked by the largest flip energy gain of their bits, (h_p + sum_q Q_pq x_q)
  (1 - 2 x_p) (the quantity of ``hybrid.utils.flip_energy_gains``), re-ranked after every block from the current
  sample; the next block is the k highest-ranked assets not yet visited in this sweep (the last one filled up
  with the highest-ranked visited assets, so every block has k assets);
* ``"correlation"``: consecutive runs of k assets in the leaf order of an average-linkage clustering on the
  correlation distance sqrt((1 - rho) / 2) (the quasi-diagonalization of Lopez de Prado's hierarchical risk
  parity, 2016), so correlated (strongly coupled) assets are re-optimized together; odd sweeps shift the runs by
  k // 2 so that neighbours split by a block boundary meet in the next sweep.

dwave-hybrid's own loop (``EnergyImpactDecomposer | sampler | SplatComposer``) is not used: its decomposers pick
single variables and hand a plain BQM to a dimod sampler, while a block here must be whole assets solved as a
``DiscreteProblem`` (box, encoding, Ising form) by any qrp solver, QAOA and exact enumeration included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from qrp.core.options import OptionSection, OptionTable, choice_option, declare, int_option
from qrp.core.result import Resources
from qrp.core.validation import MAX_ROUNDS
from qrp.discrete.problem import DiscreteProblem
from qrp.discrete.refine import SampleResult, round_seeds

#: How blocks are chosen (module docstring).
BLOCK_ORDERS = ("energy_impact", "correlation")


def check_formulation(formulation: str) -> None:
    """``ValueError`` unless ``formulation`` can be decomposed (the QUBO ``log_barrier``)."""
    if formulation != "log_barrier":
        raise ValueError(
            f"block decomposition needs formulation='log_barrier' (a QUBO, whose conditional on a block is "
            f"again a log_barrier problem), got {formulation!r}"
        )


class BlockProblem(DiscreteProblem):
    """The conditional of a ``log_barrier`` problem on the assets ``assets``, the others fixed at ``values``
    (module docstring). Attributes as ``DiscreteProblem`` plus ``assets`` (indices into the parent) and
    ``parent_bits`` (the parent's variable index of each of the block's variables)."""

    def __init__(self, parent: DiscreteProblem, assets, values):
        check_formulation(parent.formulation)
        assets = np.asarray(assets, dtype=np.int64)
        rest = np.setdiff1d(np.arange(parent.n_assets), assets)
        lo, hi = parent.box
        cov = parent.cov[np.ix_(assets, assets)]
        cov.setflags(write=False)
        super().__init__(cov, parent.budgets[assets], parent.bits, "log_barrier", lo[assets], hi[assets],
                         log_fit=parent.log_fit)
        c = parent.cov[np.ix_(assets, rest)] @ np.asarray(values, dtype=np.float64)[rest]
        coef = np.array(parent.log_coef[assets], dtype=np.float64)
        coef[:, 0] += c * lo[assets]
        coef[:, 1] += c
        coef.setflags(write=False)
        self.log_coef = coef
        self.assets = assets
        self.parent_bits = (assets[:, None] * parent.bits + np.arange(parent.bits)[None, :]).ravel()


def flip_gains(problem: DiscreteProblem, x: np.ndarray) -> np.ndarray:
    """(n,) energy change of flipping each bit of ``x``: (h_p + sum_q (Q + Q')_pq x_q) (1 - 2 x_p), the numbers
    ``hybrid.utils.flip_energy_gains`` computes from the BQM (vectorized here: hybrid's Python loop over the
    adjacency takes ~0.1 s per call at 400 variables, and a sweep calls it once per block)."""
    _, h, q = problem.qubo
    xf = np.asarray(x, dtype=np.float64)
    return (h + q @ xf + q.T @ xf) * (1.0 - 2.0 * xf)


def centre_sample(problem: DiscreteProblem) -> np.ndarray:
    """The bits of the level nearest to the box centre of every asset, (n,) int64."""
    m = np.full(problem.n_assets, (2**problem.bits) // 2, dtype=np.int64)
    return ((m[:, None] >> np.arange(problem.bits)[None, :]) & 1).ravel()


def correlation_order(cov: np.ndarray) -> np.ndarray:
    """Assets in the leaf order of average-linkage clustering on sqrt((1 - rho) / 2) (optimal leaf ordering)."""
    d = np.sqrt(np.diag(cov))
    rho = np.clip(cov / np.outer(d, d), -1.0, 1.0)
    dist = np.sqrt(np.clip(0.5 * (1.0 - rho), 0.0, None))
    np.fill_diagonal(dist, 0.0)
    if len(d) < 3:
        return np.arange(len(d))
    return leaves_list(linkage(squareform(dist, checks=False), method="average", optimal_ordering=True))


def _impact_block(problem, x, visited: np.ndarray, k: int) -> np.ndarray:
    """The next energy-impact block: k unvisited assets of largest impact, filled up with visited ones."""
    impact = flip_gains(problem, x).reshape(problem.n_assets, problem.bits).max(axis=1)
    ranked = np.argsort(-impact, kind="stable")
    fresh = ranked[~visited[ranked]]
    return np.concatenate([fresh, ranked[visited[ranked]]])[:k]


@dataclass(frozen=True)
class Blocks(OptionSection):
    """The block decomposition's options, owned by the composite (``BlockComposite``); the registry adds them to
    every discrete solver's table (``qrp.core.registry.DISCRETE_COMPOSITES``).

    Attributes
    ----------
    block_size : None (solve each round's problem whole) or k: sweep the solver over blocks of k assets, the others
        fixed (log_barrier, binary encoding); each solve then has k K qubits.
    block_order : how blocks are chosen: "energy_impact" (as dwave-hybrid's EnergyImpactDecomposer) or
        "correlation" (runs of correlated assets).
    block_sweeps : sweeps over the blocks per round at most (fewer when a sweep changes nothing).
    """

    block_size: int | None = declare(int_option("block_size", None, "assets per block (None: no decomposition)"))
    block_order: str = declare(choice_option("block_order", "energy_impact", BLOCK_ORDERS, "how blocks are chosen"))
    block_sweeps: int = declare(int_option("block_sweeps", 4, "sweeps over the blocks per round at most",
                                           maximum=MAX_ROUNDS))


#: The composite's option table (its section ``Blocks``), joined to every discrete solver's by the registry.
BLOCK_OPTIONS = OptionTable(Blocks.options(), sections=(Blocks,))


def block_assets(n_assets: int, block_size: int | None) -> int:
    """k, the assets of each solve: min(N, block_size), or N without the decomposition (the one place)."""
    return n_assets if block_size is None else min(n_assets, block_size)


def check_blocks(formulation: str, encoding: str = "binary") -> None:
    """``ValueError`` unless the decomposition can run on the problem: log_barrier (``check_formulation``), binary."""
    check_formulation(formulation)
    if encoding != "binary":
        raise ValueError(f"block_size= (block decomposition) runs the binary encoding only, got encoding={encoding!r}")


class BlockComposite:
    """A composite sample solver (dimod's pattern: a sampler wrapping a child sampler, owning its own parameters):
    solves each round's problem by sweeping ``child`` (any sample solver) over blocks of ``blocks.block_size``
    assets (module docstring). ``blocks``: validated ``Blocks`` (trusted, not checked again). ``child``'s state (e.g.
    QAOA angles) is handed from block to block and round to round; its resources are summed. Block b of a round gets
    the seed ``round_seeds(seed, sweeps * blocks)[b]``."""

    def __init__(self, child, blocks: Blocks):
        self.child, self.blocks = child, blocks
        self._orders: dict[int, np.ndarray] = {}

    def _order(self, problem) -> np.ndarray:
        """The correlation order of ``problem``'s covariance (computed once per covariance: successive rounds)."""
        if id(problem.cov) not in self._orders:
            self._orders.clear()
            self._orders[id(problem.cov)] = correlation_order(problem.cov)
        return self._orders[id(problem.cov)]

    def _block(self, problem, x, visited, sweep: int, b: int, k: int) -> np.ndarray:
        if self.blocks.block_order == "correlation":
            shift = (k // 2) * (sweep % 2)
            return self._order(problem)[(shift + b * k + np.arange(k)) % problem.n_assets]
        return _impact_block(problem, x, visited, k)

    def __call__(self, problem, *, seed, state) -> SampleResult:
        check_formulation(problem.formulation)
        t0 = time.perf_counter()
        n_assets, k, sweeps_max = problem.n_assets, block_assets(problem.n_assets, self.blocks.block_size), \
            self.blocks.block_sweeps
        n_blocks = -(-n_assets // k)
        seeds, _ = round_seeds(seed, sweeps_max * n_blocks)
        x = centre_sample(problem)
        tally = {"solved": 0, "improved": 0, "sweeps": 0, "ground": [], "resources": Resources()}
        for sweep in range(sweeps_max):
            tally["sweeps"] += 1
            visited = np.zeros(n_assets, dtype=bool)
            changed = False
            for b in range(n_blocks):
                block = self._block(problem, x, visited, sweep, b, k)
                visited[block] = True
                state, improved = self._solve_block(problem, x, block, seeds[sweep * n_blocks + b], state, tally)
                changed |= improved
            if not changed:
                break
        stats: dict[str, Any] = {
            "block_size": k, "block_order": self.blocks.block_order, "block_qubits": k * problem.bits,
            "sweeps_run": tally["sweeps"], "blocks_solved": tally["solved"], "blocks_improved": tally["improved"],
            "wall_time": time.perf_counter() - t0,
        }
        if tally["ground"]:
            stats["block_ground_state_fraction"] = float(np.mean(tally["ground"]))
        return SampleResult(x, problem.energy(x), stats, state, tally["resources"])

    def _solve_block(self, problem, x, block, seed, state, tally) -> tuple[Any, bool]:
        """Solve one block with the child; keep its answer in ``x`` (in place) when it lowers the energy. Returns
        (the child's state, whether x changed)."""
        sub = BlockProblem(problem, block, problem.values(x))
        res = self.child(sub, seed=seed, state=state)
        tally["solved"] += 1
        if res.stats.get("ground_state") is not None:
            tally["ground"].append(bool(res.stats["ground_state"]))
        tally["resources"] += res.resources
        new = np.asarray(res.sample, dtype=np.int64)
        e_new, e_cur = sub.relative_energies(np.stack([new, x[sub.parent_bits]]))
        if e_new < e_cur:
            x[sub.parent_bits] = new
            tally["improved"] += 1
            return res.state, True
        return res.state, False


def block_sampler(inner, *, block_size: int, block_order: str = "energy_impact", block_sweeps: int = 4):
    """``BlockComposite`` around ``inner`` from raw options (each checked here by its ``Blocks`` declaration): for
    direct use; the driver builds the composite from the solver's validated settings."""
    return BlockComposite(inner, Blocks.validated(block_size=block_size, block_order=block_order,
                                                  block_sweeps=block_sweeps))
