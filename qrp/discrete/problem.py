"""ERC as a binary optimization problem: binary-encoded weights and two formulations (exports: ``qrp.discrete.export``).

Encoding
--------
Each asset i gets K = ``bits`` binary variables x_ik (k = 0..K-1) and the encoded value

    v_i = lo_i + step_i * sum_k 2^k x_ik,      step_i = (hi_i - lo_i) / (2^K - 1),

so v_i runs over the 2^K equally spaced levels lo_i, lo_i + step_i, ..., hi_i. Variables are numbered asset-major:
variable p = i*K + k is bit k of asset i, n = N*K variables in all. In matrix form v = lo + A x with the (N, n)
matrix A[i, i*K + k] = step_i 2^k (``a_p`` below is the non-zero of column p).

Formulations
------------
``log_barrier`` (default, a true QUBO). Spinu (2013): the ERC / risk-budgeting portfolio is, up to scale, the unique
minimizer over y > 0 of

    F(y) = 1/2 y' S y - b' log y,          minimizer y*: y*_i (S y*)_i = b_i, hence y*' S y* = sum b = 1,

and w = y* / sum(y*). The variable is y (not weights): the box is in y-space, and the default box is a bracket
around ``qrp.classical.ccd.spinu_start`` (inverse volatility scaled to the exact minimizer of F along that ray).
The quadratic
part is exactly quadratic in the bits. The separable log term -b_i log y_i is replaced, per asset, by a quadratic
q_i(y) = q0_i + q1_i d + q2_i d^2, d = y - lo_i, in that asset's own value (hence a quadratic in its own K bits;
stored in powers of d = y - lo rather than of y, because in the narrow boxes of refinement the powers-of-y
coefficients cancel catastrophically):

* ``log_fit="taylor"`` (default): second-order expansion about the box centre c_i,
  q_i(y) = -b_i log c_i - (b_i / c_i)(y - c_i) + b_i / (2 c_i^2) (y - c_i)^2;
* ``log_fit="lsq"``: least-squares fit of q_i to -b_i log y over the asset's 2^K levels (for K = 1 the two levels
  are interpolated by a line, q2_i = 0; the fitted values are -b_i log1p(d / lo_i), exact to rounding however
  narrow the box).

Why Taylor by default (measured, ``benchmarks/refinement.py --oneshot``): lsq has the smaller worst error over the
levels, but what moves the discrete minimizer is the surrogate's slope near the solution, and the solution sits near
the box centre by construction (the classical guess, then re-centring), where Taylor's value, slope and curvature are
exact. One-shot rc_error on the default box was lower or equal with Taylor in every measured cell (exact N = 4,
K = 1..5; SA N = 20, K = 2..8). On a box centred on the solution the picture is mixed: lsq was about 2x better
for exact N = 4, K <= 5 (grid error dominates there), while at SA N = 20 Taylor kept improving with K (K = 8:
1.8e-4) and lsq stalled at its slope bias (2.2e-3). Refinement reaches 1e-8 in the same number of rounds with
either (the fits agree as the box narrows).

Either way the surrogate objective is  G(v) = 1/2 v'Sv + sum_i q_i(v_i), which is what ``objective`` returns and what
every export encodes. The surrogate error shrinks like (width / c)^3 as the box shrinks, so iterative refinement
(``qrp.refine``) converges to y* whichever fit is used; ``benchmarks/refinement.py`` measures both.

``pairwise`` (degree 4). The seed document's objective, generalized to budgets, plus a budget penalty in w-space:

    P(w) = sum_i sum_j (u_i - u_j)^2 + lambda (sum_i w_i - 1)^2,     u_i = w_i (S w)_i / (N b_i),
         = 2N sum_i u_i^2 - 2 (sum_i u_i)^2 + lambda (sum w - 1)^2,

(for b_i = 1/N, u_i = w_i (S w)_i and the first term is exactly the seed's). Its minimum 0 is attained at the ERC
weights (sum w = 1). The scale-aware penalty weight is lambda = ``penalty`` * (w_c' S w_c)^2 with w_c the box centre:
both terms then scale as variance^2, so ``penalty`` (default 1) is dimensionless. P is a degree-4 polynomial in the
bits: ``to_polynomial`` keeps it exactly; ``to_bqm`` quadratizes it by Rosenberg substitution (one product
variable per reduced pair, labelled n, n+1, ... after the bits; ``num_auxiliary`` reports how many). Its default box
is in weight space around inverse-volatility weights w_c = (b / sigma) / sum(b / sigma). The polynomial has O(n^4)
terms, so its exports are refused above ``MAX_PAIRWISE_EXPORT_QUBITS`` variables (``energy``/``energies`` work at any
size).

Default box: centre c (as above), lo = c (1 - radius), hi = c (1 + radius), ``radius`` = 0.5. It brackets the
solution only when the ERC portfolio is close to inverse volatility: on the random 3-factor covariances of the
benchmarks (``benchmarks/refinement.py --coverage``) y* was inside it for 48% of 50 draws at N = 4 and for none at
N = 20 or 100 (median max_i |y*_i / y0_i - 1| = 2.6 and 3.5). One-shot errors on the default box reflect that;
refinement re-centres and grows the box of assets that land on its edge. Pass ``box`` to bracket differently.
Decoded weights are w = v / sum(v); they are positive whenever lo > 0 (always for log_barrier, which requires
lo > 0).

The box (default, given, resolvable) is in ``qrp.discrete.box``.

Building is vectorized numpy: the QUBO matrix of log_barrier is (A'SA)/2 plus per-asset blocks q2_i a a', never a
Python loop over pairs of variables (N = 100 x 8 bits, BQM included: 13 ms median on the 2-core sandbox,
``benchmarks/qubo_build.py``, against 26 s through qiskit-optimization).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from qrp.core.validation import check_discretizable, validate_problem
from qrp.discrete import export
from qrp.discrete.box import (
    check_box_resolvable,
    initial_box,
)
from qrp.discrete.encodings import Encoding, domain_wall_weights, penalty_terms
from qrp.discrete.options import DEFAULTS, Discretization
from qrp.discrete.surrogate import log_surrogate


class DiscreteProblem:
    """One binary-encoded ERC problem: a formulation on a box with ``bits`` bits per asset.

    Built by ``qrp.discretize``. Attributes: ``cov`` (N, N), ``budgets`` (N,), ``bits`` K, ``formulation``,
    ``box`` = (lo, hi), ``num_qubits`` n = N K, ``n_assets`` N, ``log_fit`` and ``log_coef`` (N, 3) = (q0, q1, q2)
    (log_barrier), ``penalty_weight`` lambda (pairwise). Immutable; arrays are read-only.
    """

    @classmethod
    def on_box(cls, cov, budgets, d, lo, hi) -> DiscreteProblem:
        """The problem of discretization ``d`` (a ``Discretization``: bits, formulation, log_fit, penalty, encoding)
        on the box (``lo``, ``hi``)."""
        return cls(cov, budgets, d.bits, d.formulation, lo, hi, log_fit=d.log_fit, penalty=d.penalty,
                   encoding=d.encoding)

    def __init__(self, cov, budgets, bits, formulation, lo, hi, *, log_fit=DEFAULTS.log_fit, penalty=DEFAULTS.penalty,
                 encoding=DEFAULTS.encoding):
        self.cov = cov
        self.budgets = budgets
        self.bits = int(bits)
        self.formulation = formulation
        #: how each asset's level is written in qubits (``qrp.discrete.encodings``)
        self.encoding = Encoding(encoding, self.bits)
        if formulation != "log_barrier" and encoding != "binary":
            raise ValueError(f"encoding={encoding!r} needs formulation='log_barrier' (pairwise is encoded in binary "
                             f"only), got formulation={formulation!r}")
        q = self.qubits_per_asset = self.encoding.qubits
        self.n_assets = cov.shape[0]
        self.num_qubits = self.n_assets * q
        self._lo = np.array(lo, dtype=np.float64)
        self._hi = np.array(hi, dtype=np.float64)
        self.step = (self._hi - self._lo) / (2**self.bits - 1)
        #: a_p: the value of qubit p (step of its asset times its encoding weight: 2^k in binary), shape (n,);
        #: None for an encoding that is not linear in the qubits (gray with K >= 2)
        self.bit_values = (self.step[:, None] * self.encoding.weights[None, :]).ravel() if self.encoding.linear \
            else None
        self.asset_of = np.repeat(np.arange(self.n_assets), q)
        self.log_fit = log_fit if formulation == "log_barrier" else None
        #: domain_wall's penalty weight lambda_i per asset (``qrp.discrete.encodings``), None for the others
        self.encoding_penalty = None
        if formulation == "log_barrier":
            self.log_coef = log_surrogate(budgets, self._lo, self._hi, self.bits, log_fit)
            self.penalty_weight = 0.0
            if self.encoding.has_penalty:
                c = 0.5 * (self._lo + self._hi)
                grad = cov @ c + self.log_coef[:, 1] + 2.0 * self.log_coef[:, 2] * (c - self._lo)
                self.encoding_penalty = domain_wall_weights(grad, self.step, 0.5 * np.diag(cov) + self.log_coef[:, 2])
        else:
            self.log_coef = None
            centre = 0.5 * (self._lo + self._hi)
            self.penalty_weight = float(penalty) * float(centre @ cov @ centre) ** 2
        for arr in (self._lo, self._hi, self.step, self.bit_values, self.asset_of, self.log_coef,
                    self.encoding_penalty):
            if arr is not None:
                arr.setflags(write=False)

    def __repr__(self) -> str:
        enc = "" if self.encoding.name == "binary" else f", encoding={self.encoding.name!r}"
        return (
            f"DiscreteProblem(formulation={self.formulation!r}, n_assets={self.n_assets}, bits={self.bits}, "
            f"num_qubits={self.num_qubits}{enc})"
        )

    @property
    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi), each (N,), in the formulation's variable (y for log_barrier, weights for pairwise)."""
        return self._lo, self._hi

    @property
    def is_quadratic(self) -> bool:
        """Whether the energy is a QUBO in the qubits (log_barrier with an encoding linear in them)."""
        return self.formulation == "log_barrier" and self.encoding.linear

    # ---- evaluation -------------------------------------------------------------------------------------------
    def _check_samples(self, samples, ndim: int) -> np.ndarray:
        x = np.asarray(samples)
        if x.ndim != ndim or x.shape[-1] != self.num_qubits:
            want = f"({self.num_qubits},)" if ndim == 1 else f"(m, {self.num_qubits})"
            raise ValueError(f"sample(s) must have shape {want}, got {x.shape}")
        if not np.all((x == 0) | (x == 1)):
            raise ValueError("samples must contain only 0 and 1")
        return x.astype(np.float64)

    def _values(self, x: np.ndarray) -> np.ndarray:
        """v = lo + A x (linear encodings) or lo + step m(x) for an (m, n) float array of bits, (m, N)."""
        if self.bit_values is None:
            return self._lo + self.step * self.encoding.decode(x.reshape(len(x), self.n_assets, -1))
        return self._lo + (x * self.bit_values).reshape(len(x), self.n_assets, self.qubits_per_asset).sum(axis=2)

    def _penalty(self, x: np.ndarray) -> np.ndarray | float:
        """domain_wall's penalty sum_i lambda_i (violations of asset i) of an (m, n) array, (m,); 0 otherwise."""
        if self.encoding_penalty is None:
            return 0.0
        return self.encoding.violations(x.reshape(len(x), self.n_assets, -1)) @ self.encoding_penalty

    @cached_property
    def energy_offset(self) -> float:
        """The part of every energy that does not depend on the sample: G(lo) for log_barrier, 0 for pairwise."""
        if self.formulation != "log_barrier":
            return 0.0
        lo = self._lo
        return float(0.5 * lo @ self.cov @ lo + self.log_coef[:, 0].sum())

    @cached_property
    def _gradient_at_lo(self) -> np.ndarray:
        return self.cov @ self._lo + self.log_coef[:, 1]

    def _relative(self, v: np.ndarray) -> np.ndarray:
        """objective - energy_offset for each row of an (m, N) array, without cancellation against the offset.

        In a refined (narrow) box the energies of different samples differ by far less than |offset| * 1e-16, so
        solvers compare these. log_barrier: with d = v - lo, G(v) - G(lo) = d'(S lo + q1) + 1/2 d'Sd + sum q2 d^2.
        pairwise: P(v) itself, its pair sum taken in the centred form
        sum_ij (u_i - u_j)^2 = 2N sum_i (u_i - mean(u))^2.
        """
        if self.formulation == "log_barrier":
            d = v - self._lo
            g = self.log_coef[:, 2]
            return d @ self._gradient_at_lo + (d * (0.5 * (d @ self.cov) + g * d)).sum(axis=1)
        n = self.n_assets
        u = v * (v @ self.cov) / (n * self.budgets)
        u -= u.mean(axis=1, keepdims=True)
        return 2.0 * n * (u * u).sum(axis=1) + self.penalty_weight * (v.sum(axis=1) - 1) ** 2

    def _objective(self, v: np.ndarray) -> np.ndarray:
        """The formulation's objective for each row of an (m, N) array."""
        return self.energy_offset + self._relative(v)

    def values(self, sample) -> np.ndarray:
        """Encoded variables v (N,) of a 0/1 sample (n,): v_i = lo_i + step_i m_i (binary: m_i = sum_k 2^k x_{iK+k})."""
        return self._values(self._check_samples(sample, 1)[None, :])[0]

    def levels(self, samples) -> np.ndarray:
        """Integer level m_i in 0..2^K-1 of each asset (the encoding's ``decode``; binary: sum_k 2^k x_ik), (N,) or
        (m, N)."""
        x = np.asarray(samples)
        if x.ndim not in (1, 2) or x.shape[-1] != self.num_qubits:
            raise ValueError(f"samples must have shape ({self.num_qubits},) or (m, {self.num_qubits}), got {x.shape}")
        if not np.all((x == 0) | (x == 1)):
            raise ValueError("samples must contain only 0 and 1")
        return self.encoding.decode(x.reshape(*x.shape[:-1], self.n_assets, self.qubits_per_asset))

    def sample_of_levels(self, levels) -> np.ndarray:
        """The canonical 0/1 sample (n,) int64 of integer levels (N,) in 0..2^K-1 (the encoding's ``encode``)."""
        m = np.asarray(levels)
        if m.shape != (self.n_assets,) or np.any((m < 0) | (m >= 2**self.bits)):
            raise ValueError(f"levels must be {self.n_assets} integers in 0..{2**self.bits - 1}, got {m!r}")
        return self.encoding.encode(m).ravel()

    def objective(self, v) -> float:
        """The formulation's objective at v (N,): G(v) for log_barrier, P(v) for pairwise (module docstring)."""
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (self.n_assets,):
            raise ValueError(f"v must have shape ({self.n_assets},), got {v.shape}")
        if not np.all(np.isfinite(v)):
            k = int(np.argmax(~np.isfinite(v)))
            raise ValueError(f"v contains NaN or inf at {k}: {float(v[k])!r}")
        return float(self._objective(v[None, :])[0])

    def energy(self, sample) -> float:
        """objective(values(sample)) plus the encoding's penalty (domain_wall), the energy every export encodes."""
        x = self._check_samples(sample, 1)[None, :]
        return float((self._objective(self._values(x)) + self._penalty(x))[0])

    def energies(self, samples) -> np.ndarray:
        """Vectorized ``energy`` of an (m, n) 0/1 array, (m,)."""
        x = self._check_samples(samples, 2)
        return self._objective(self._values(x)) + self._penalty(x)

    def relative_energies(self, samples) -> np.ndarray:
        """``energies(samples) - energy_offset``, (m,), computed without cancellation: what solvers compare."""
        x = self._check_samples(samples, 2)
        return self._relative(self._values(x)) + self._penalty(x)

    def decode(self, sample) -> np.ndarray:
        """Weights w = v / sum(v), (N,), summing to 1."""
        v = self.values(sample)
        total = float(v.sum())
        if total <= 0:
            raise ValueError(f"sample decodes to values summing to {total!r}; no weights")
        return v / total

    def binary_twin(self) -> DiscreteProblem:
        """The same grid, box and objective in the binary encoding (levels are what the objective sees; exact
        enumeration runs on the twin and re-encodes its levels)."""
        if self.encoding.name == "binary":
            return self
        return DiscreteProblem(self.cov, self.budgets, self.bits, self.formulation, self._lo, self._hi,
                               log_fit=self.log_fit or DEFAULTS.log_fit)

    # ---- polynomial form --------------------------------------------------------------------------------------
    @cached_property
    def qubo(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(offset, h (n,), Q (n, n) strictly upper triangular): energy = offset + h'x + x'Qx (log_barrier with a
        linear encoding; domain_wall's penalty included)."""
        if not self.is_quadratic:
            what = (f"formulation {self.formulation!r} is degree 4" if self.formulation != "log_barrier" else
                    f"encoding {self.encoding.name!r} with bits={self.bits} is degree {2 * self.bits}")
            raise ValueError(f"{what}, not a QUBO; use to_polynomial()")
        s, a, gamma = self.cov, self.bit_values, self.log_coef[:, 2]
        # 1/2 x'A'SAx + x'A'diag(gamma)Ax with (A'SA)_pq = a_p a_q S[asset p, asset q]
        m = s[np.ix_(self.asset_of, self.asset_of)] * 0.5
        diag_blocks = np.arange(self.n_assets)
        k = self.qubits_per_asset
        m.reshape(self.n_assets, k, self.n_assets, k)[diag_blocks, :, diag_blocks, :] += gamma[:, None, None]
        m *= np.outer(a, a)
        h = a * self._gradient_at_lo[self.asset_of] + np.diag(m)
        q = np.triu(m, 1) * 2.0
        if self.encoding_penalty is not None:  # domain_wall: lambda (x_{k+1} - x_k x_{k+1}) per adjacent pair
            lin, pairs, coef = penalty_terms(self.encoding, self.encoding_penalty, self.n_assets)
            h = h + lin
            q[pairs[:, 0], pairs[:, 1]] += coef
        offset = self.energy_offset
        for arr in (h, q):
            arr.setflags(write=False)
        return offset, h, q

    @cached_property
    def polynomial(self) -> tuple[float, dict[int, tuple[np.ndarray, np.ndarray]]]:
        """(offset, {degree: (sorted variable indices (m, d), coefficients (m,))}): ``export.polynomial_terms``."""
        return export.polynomial_terms(self)

    def to_polynomial(self):
        """``dimod.BinaryPolynomial`` (BINARY, labels 0..n-1): exact, degree 2 (log_barrier) or 4 (pairwise)."""
        return export.to_polynomial(self)

    @cached_property
    def quadratization(self):
        """(linear, (rows, cols, data), offset, products) of the pairwise BQM: ``export.quadratize``."""
        return export.quadratize(self)

    def to_bqm(self):
        """``dimod.BinaryQuadraticModel`` (BINARY): the QUBO, or the Rosenberg quadratization of pairwise with
        product variables n, n+1, ... (``products``); a new BQM per call (``qrp.discrete.export.to_bqm``)."""
        return export.to_bqm(self)

    @property
    def products(self) -> dict[int, tuple[int, int]]:
        """Quadratization of ``to_bqm``: {product variable: (u, v)} with product = x_u x_v (empty for QUBOs)."""
        return {} if self.is_quadratic else dict(self.quadratization[3])

    @property
    def num_auxiliary(self) -> int:
        """Variables ``to_bqm`` adds beyond the n bits (0 for log_barrier)."""
        return 0 if self.is_quadratic else len(self.quadratization[0]) - self.num_qubits

    def to_ising(self):
        """(``SparsePauliOp`` H, offset) with energy(x) = offset + <x|H|x>, qubit p = variable p, exact and without
        auxiliary qubits (``qrp.discrete.export.to_ising``)."""
        return export.to_ising(self)

    def to_quadratic_program(self):
        """``qiskit_optimization.QuadraticProgram`` minimizing the QUBO over binaries x0..x{n-1} (log_barrier only;
        pairwise is degree 4 and raises ``ValueError``)."""
        return export.to_quadratic_program(self)


def discretize(
    cov,
    bits: int,
    *,
    formulation: str = DEFAULTS.formulation,
    budgets=None,
    box=None,
    radius: float = DEFAULTS.radius,
    log_fit: str = DEFAULTS.log_fit,
    penalty: float = DEFAULTS.penalty,
    check_psd: bool = True,
    encoding: str = DEFAULTS.encoding,
) -> DiscreteProblem:
    """Binary-encode the ERC / risk-budgeting problem of ``cov`` with ``bits`` bits per asset.

    Parameters
    ----------
    cov : (N, N) covariance (validated exactly as by ``qrp.risk_parity``: ``validate_problem``).
    bits : K >= 1 bits per asset; n = N K binary variables.
    formulation : "log_barrier" (Spinu's objective, a QUBO, variable y) or "pairwise" (the seed's objective plus a
        budget penalty, degree 4, variable w). See the module docstring for the math.
    budgets : (N,) risk budgets summing to 1, or None for ERC.
    box : (lo, hi) of scalars or of (N,) arrays (shape (2,) or (2, N); see ``validate_box``), in the formulation's
        variable; None for the default bracket c (1 -/+ radius) around ``box_centre``.
    radius : relative half-width of the default box, in (0, 1).
    log_fit : "lsq" or "taylor", the quadratic standing for -b_i log y_i (log_barrier).
    penalty : dimensionless budget-penalty factor (pairwise): lambda = penalty (w_c' S w_c)^2.
    check_psd : as in ``qrp.risk_parity``.
    encoding : how each asset's 2^bits levels are written in qubits: "binary" (default), "gray", "unary" or
        "domain_wall" (``qrp.discrete.encodings``: decoding, qubits per asset, domain_wall's penalty and its weight);
        anything but binary needs formulation="log_barrier".
    """
    d = Discretization.validated(bits=bits, formulation=formulation, box=box, radius=radius, log_fit=log_fit,
                                 penalty=penalty, encoding=encoding)
    p = validate_problem(cov, budgets, check_psd=check_psd)
    check_discretizable(p.cov, p.budgets)
    lo, hi = initial_box(p.cov, p.budgets, d)
    check_box_resolvable(lo, hi, d.bits)
    s, b = p.cov, p.budgets
    return DiscreteProblem.on_box(s, b, d, lo, hi)
