"""How an asset's grid level is written in qubits: the ``encoding`` option of every discrete solver.

Every asset i has L = 2^K equally spaced levels v_i = lo_i + step_i m_i, m_i in 0..L-1 (``qrp.discrete.problem``; K
= ``bits`` fixes the grid resolution whatever the encoding). An encoding maps q qubits x = (x_0..x_{q-1}) of the
asset to its level m(x) (``decode``) and a level to one string (``encode``, the canonical representative):

``binary``       q = K, m = sum_k 2^k x_k (the default; bijective, linear in x).
``gray``         q = K, x is the reflected Gray code of m: m's binary digits are b_{K-1} = x_{K-1},
                 b_k = b_{k+1} XOR x_k, encode x = m XOR (m >> 1) (Gray 1953; bijective). Neighbouring levels differ
                 in one bit, so a single flip can always move an asset by one level; the price is that m is a
                 polynomial of degree K in x (XOR is not linear), so the objective has degree 2K in the qubits.
``unary``        q = L - 1, m = sum_k x_k (thermometer / unary counting: the thermometer string 1^m 0^(q-m) is the
                 canonical one, but every string is read by its Hamming weight, so no string is invalid and no
                 penalty is needed). Linear; level m has C(q, m) strings, so ground states are degenerate.
``domain_wall``  q = L - 1, the same strings and the same Hamming-weight reading, plus the penalty

                     lambda_i sum_{k=0}^{q-2} x_{k+1} (1 - x_k)   (one per "0 then 1" adjacent pair),

                 zero exactly on the thermometer strings 1^m 0^(q-m): Chancellor's domain-wall encoding (2019,
                 Quantum Sci. Technol. 4, 045004), whose spin-chain form -sum s_k s_{k+1} with boundary spins +1 / -1
                 counts domain walls, 1 + 2 x (the count above) (the same penalty up to an affine map). Weight rule
                 (``domain_wall_weights``): lambda_i = step_i |dG/dv_i(c)| + step_i^2 (S_ii / 2 + q2_i), the size of
                 one level step of asset i at the box centre c. Any lambda > 0 keeps every ground state a
                 thermometer string (an invalid string costs its penalty more than the thermometer string of the
                 same weight, which decodes to the same value), so the weight shapes the landscape, not the answer;
                 the step scale keeps a penalty flip comparable to a level move instead of dominating the
                 normalized QAOA cost. Degeneracy is then that of binary.

Qubits per asset for the same grid (L = 2^K levels): K (binary, gray) or 2^K - 1 (unary, domain_wall).

The multilinear polynomial of m(x) (``coefficients``: the Moebius transform of the level table over the 2^q subsets
of the asset's qubits) is what the exports compose into the objective polynomial: linear encodings (binary, unary,
domain_wall) keep the log_barrier objective a QUBO; gray K = 2 gives degree 4 (quadratized for BQM samplers as the
pairwise formulation is). The constraint-preserving alternative to domain_wall's penalty, an XY mixer on one-hot
strings (Hadfield et al. 2019, Algorithms 12, 34), is not used: domain-wall strings are not one-hot, and the
mixer that preserves them (moving the wall, an X on x_k conditioned on x_{k-1} = 1, x_{k+1} = 0) is a
three-qubit controlled rotation per qubit; the penalty form runs on the standard X mixer every engine has.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import comb

import numpy as np

ENCODINGS = ("binary", "gray", "unary", "domain_wall")


def check_encoding(name) -> str:
    """``name`` if it is one of ``ENCODINGS``, else ``ValueError`` naming it."""
    if not isinstance(name, str) or name not in ENCODINGS:
        raise ValueError(f"encoding must be one of {list(ENCODINGS)}, got {name!r}")
    return name


def qubits_per_asset(encoding: str, bits: int) -> int:
    """q: qubits per asset of ``encoding`` for 2^bits levels (K for binary and gray, 2^K - 1 for the others)."""
    return int(bits) if check_encoding(encoding) in ("binary", "gray") else 2 ** int(bits) - 1


@dataclass(frozen=True)
class Encoding:
    """One asset's encoding: ``name``, ``bits`` K (L = 2^K levels) and ``qubits`` q (module docstring)."""

    name: str
    bits: int

    @property
    def levels(self) -> int:
        return 2**self.bits

    @property
    def qubits(self) -> int:
        return qubits_per_asset(self.name, self.bits)

    @property
    def linear(self) -> bool:
        """Whether m(x) is linear in the qubits (every encoding but gray with K >= 2)."""
        return self.name != "gray" or self.bits == 1

    @property
    def has_penalty(self) -> bool:
        return self.name == "domain_wall"

    @cached_property
    def weights(self) -> np.ndarray:
        """(q,) the linear coefficients of m(x) (``ValueError`` for gray with K >= 2, which is not linear)."""
        if not self.linear:
            raise ValueError(f"encoding {self.name!r} with bits={self.bits} is not linear in the qubits")
        w = 2.0 ** np.arange(self.bits) if self.name in ("binary", "gray") else np.ones(self.qubits)
        w.setflags(write=False)
        return w

    def decode(self, x: np.ndarray) -> np.ndarray:
        """Levels m of 0/1 strings x (..., q) as an int64 array (...)."""
        x = np.asarray(x).astype(np.int64)
        if self.name in ("unary", "domain_wall"):
            return x.sum(axis=-1)
        if self.name == "gray":  # b_k = XOR of x_j for j >= k: a reversed cumulative parity
            x = np.flip(np.cumsum(np.flip(x, axis=-1), axis=-1) & 1, axis=-1)
        return (x << np.arange(self.bits)).sum(axis=-1)

    def encode(self, m) -> np.ndarray:
        """The canonical string (..., q) int64 of levels m (...) in 0..L-1."""
        m = np.asarray(m).astype(np.int64)
        if self.name in ("unary", "domain_wall"):
            return (np.arange(self.qubits) < m[..., None]).astype(np.int64)
        if self.name == "gray":
            m = m ^ (m >> 1)
        return (m[..., None] >> np.arange(self.bits)) & 1

    def violations(self, x: np.ndarray) -> np.ndarray:
        """(...) number of "0 then 1" adjacent pairs of each string (domain_wall's penalty count; 0 otherwise)."""
        x = np.asarray(x).astype(np.int64)
        if not self.has_penalty or self.qubits < 2:
            return np.zeros(x.shape[:-1], dtype=np.int64)
        return (x[..., 1:] * (1 - x[..., :-1])).sum(axis=-1)

    def multiplicity(self, m) -> np.ndarray:
        """Number of zero-penalty strings that decode to level m: C(q, m) for unary, 1 otherwise."""
        m = np.asarray(m)
        if self.name == "unary":
            return np.vectorize(lambda k: comb(self.qubits, int(k)), otypes=[np.int64])(m)
        return np.ones(m.shape, dtype=np.int64)

    @cached_property
    def coefficients(self) -> np.ndarray:
        """(2^q,) multilinear coefficients of m(x): m(x) = sum_S c[S] prod_{k in S} x_k over subsets S given as bit
        masks (the Moebius transform of the level table; c[0] = m(0) = 0)."""
        q = self.qubits
        if q > 16:
            raise ValueError(f"encoding {self.name!r} with {q} qubits per asset: too many for a subset table")
        masks = np.arange(2**q)
        c = self.decode((masks[:, None] >> np.arange(q)) & 1).astype(np.float64)
        for k in range(q):  # Moebius transform: subtract the value without bit k
            has = (masks >> k) & 1 == 1
            c[has] -= c[masks[has] ^ (1 << k)]
        c.setflags(write=False)
        return c


def domain_wall_weights(problem_grad: np.ndarray, step: np.ndarray, curvature: np.ndarray) -> np.ndarray:
    """lambda_i = step_i |g_i| + step_i^2 curvature_i (module docstring): g the objective's gradient at the box
    centre, curvature_i = S_ii / 2 + q2_i."""
    return step * np.abs(problem_grad) + step * step * curvature


def penalty_terms(enc: Encoding, weights: np.ndarray, n_assets: int):
    """domain_wall's penalty as (linear (n,), pairs (m, 2), pair coefficients (m,)) over the n = N q qubits:
    lambda x_{k+1} - lambda x_k x_{k+1} for each asset and adjacent pair."""
    q = enc.qubits
    lin = np.zeros(n_assets * q)
    if not enc.has_penalty or q < 2:
        return lin, np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    base = (np.arange(n_assets) * q)[:, None] + np.arange(q - 1)[None, :]  # (N, q-1): k
    lam = np.repeat(weights, q - 1)
    lin[(base + 1).ravel()] += lam
    return lin, np.stack([base.ravel(), base.ravel() + 1], axis=1), -lam


def encoding_table(problem, *, starts: int = 0, seed: int = 0) -> dict:
    """Landscape figures of one encoded problem (n <= 22): qubits per asset, the number of strict single-flip local
    minima over all 2^n strings (no single flip lowers the energy; ground states included, and without them), the
    ground-state degeneracy, and the fraction of
    ``starts`` steepest descents from uniform strings that end in a ground state (0 starts: not measured)."""
    n = problem.num_qubits
    if n > 22:
        raise ValueError(f"encoding_table enumerates 2^n strings; n = {n} is over 22")
    idx = np.arange(2**n, dtype=np.int64)
    e = np.concatenate([problem.relative_energies((idx[i:i + 2**16, None] >> np.arange(n)) & 1)
                        for i in range(0, 2**n, 2**16)])
    tol = 1e-9 * max(float(e.max() - e.min()), np.finfo(float).tiny)
    neighbours = np.stack([e[idx ^ (1 << k)] for k in range(n)], axis=1)
    local = e <= neighbours.min(axis=1) + tol  # no single flip lowers the energy (beyond rounding)
    ground = e <= e.min() + tol
    out = {"encoding": problem.encoding.name, "qubits_per_asset": problem.encoding.qubits, "num_qubits": n,
           "local_minima": int(local.sum()), "nonground_local_minima": int((local & ~ground).sum()),
           "ground_degeneracy": int(ground.sum())}
    if starts:
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 2**n, size=starts)
        for _ in range(n * problem.encoding.levels + 1):
            j = np.argmin(neighbours[x], axis=1)
            better = neighbours[x, j] < e[x]
            if not better.any():
                break
            x = np.where(better, x ^ (1 << j), x)
        out["descent_success"] = float(ground[x].mean())
    return out
