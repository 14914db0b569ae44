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
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from qrp.core.result import Resources
from qrp.core.validation import MAX_ROUNDS, bounded_int, positive_int
from qrp.discrete.options import BLOCK_ORDERS, DEFAULTS
from qrp.discrete.problem import DiscreteProblem
from qrp.discrete.refine import SampleResult, round_seeds


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


def block_sampler(inner, *, block_size: int, block_order: str = DEFAULTS.block_order,
                  block_sweeps: int = DEFAULTS.block_sweeps):
    """A ``qrp.refine`` sample solver that solves each round's problem by sweeping ``inner`` (any sample solver)
    over blocks of ``block_size`` assets (module docstring). ``inner``'s state (e.g. QAOA angles) is handed from
    block to block and round to round; its resources are summed. Block b of a round gets the seed
    ``round_seeds(seed, sweeps * blocks)[b]``."""
    block_size = positive_int(block_size, "block_size")
    if block_order not in BLOCK_ORDERS:
        raise ValueError(f"block_order must be one of {BLOCK_ORDERS}, got {block_order!r}")
    block_sweeps = bounded_int(block_sweeps, "block_sweeps", maximum=MAX_ROUNDS)
    orders: dict[int, np.ndarray] = {}

    def sample_solver(problem, *, seed, state) -> SampleResult:
        check_formulation(problem.formulation)
        t0 = time.perf_counter()
        n_assets, k = problem.n_assets, min(block_size, problem.n_assets)
        n_blocks = -(-n_assets // k)
        seeds, _ = round_seeds(seed, block_sweeps * n_blocks)
        if block_order == "correlation" and id(problem.cov) not in orders:
            orders.clear()
            orders[id(problem.cov)] = correlation_order(problem.cov)
        x = centre_sample(problem)
        solved = improved = sweeps = 0
        ground = []
        resources = Resources()
        for sweep in range(block_sweeps):
            sweeps += 1
            changed = False
            visited = np.zeros(n_assets, dtype=bool)
            for b in range(n_blocks):
                if block_order == "correlation":
                    shift = (k // 2) * (sweep % 2)
                    block = orders[id(problem.cov)][(shift + b * k + np.arange(k)) % n_assets]
                else:
                    block = _impact_block(problem, x, visited, k)
                visited[block] = True
                sub = BlockProblem(problem, block, problem.values(x))
                res = inner(sub, seed=seeds[sweep * n_blocks + b], state=state)
                state = res.state
                solved += 1
                if res.stats.get("ground_state") is not None:
                    ground.append(bool(res.stats["ground_state"]))
                resources += res.resources
                cur = x[sub.parent_bits]
                new = np.asarray(res.sample, dtype=np.int64)
                e_new, e_cur = sub.relative_energies(np.stack([new, cur]))
                if e_new < e_cur:
                    x[sub.parent_bits] = new
                    changed = True
                    improved += 1
            if not changed:
                break
        stats: dict[str, Any] = {
            "block_size": k, "block_order": block_order, "block_qubits": k * problem.bits, "sweeps_run": sweeps,
            "blocks_solved": solved, "blocks_improved": improved, "wall_time": time.perf_counter() - t0,
        }
        if ground:
            stats["block_ground_state_fraction"] = float(np.mean(ground))
        return SampleResult(x, problem.energy(x), stats, state, resources)

    return sample_solver

