"""QAOA on qiskit-aer for diagonal (Ising / higher-order Z) cost Hamiltonians, and the ``qaoa`` ERC solver.

The ansatz (Farhi, Goldstone & Gutmann 2014) for a cost H_C = offset + sum_m c_m Z^m over n qubits, depth p:

    |gamma, beta> = prod_{l=1..p} exp(-i beta_l B) exp(-i gamma_l H_C / s) |psi_0>,

|psi_0> = |+>^n and B = sum_q X_q (standard), or the warm start of Egger, Marecek & Woerner (2021, Quantum 5, 479):
|psi_0> = prod_q RY(theta_q)|0> with theta_q = 2 arcsin sqrt(c_q), c_q in [eps, 1 - eps] a classical guess of bit q,
and B = sum_q (cos theta_q Z_q + sin theta_q X_q), which has |psi_0> as its top eigenstate, as X has |+> (theta = pi/2
gives the standard ansatz; qiskit-optimization's WarmStartQAOAFactory uses the same mixer with beta -> -beta).
s = sqrt(sum_{m != 0} c_m^2) is the standard deviation of H_C over the uniform superposition, so that angles
mean the same thing whatever the problem's units (the objective is always reported in the problem's units).
Every Z^m term, of any degree, is one ``PauliEvolutionGate`` term (a CX ladder and one RZ once transpiled), so the
degree-4 ``pairwise`` formulation runs natively without quadratization.

Objective F(gamma, beta): the expectation <H_C> (``alpha = 1``) or the CVaR_alpha of the energy distribution, the
mean of its lowest alpha-tail (Barkoutsos et al. 2020, Quantum 4, 256), computed exactly from the state
(``shots=None``) or from ``shots`` samples. Minimized by SciPy (COBYLA by default) from a linear-ramp schedule
(gamma_l = t_l delta, beta_l = (1 - t_l) delta, t_l = (l - 1/2)/p: a discretized anneal, Sack & Serbyn 2021) or,
``init="interp"``, by optimizing p = 1, 2, ..., reps in turn, each from the INTERP extrapolation of the previous
optimum (Zhou et al. 2020, PRX 10, 021067), plus optional random restarts (``multistart``), all seeded.

Engines: ``"fast"`` (noiseless exact mode only): qrp.quantum.statevector,
the cost diagonal computed once per problem, each
evaluation p phase passes and p n mixer passes over 2^n amplitudes (tested equal to Aer to 1e-10); ``"aer"``: the
circuit built and transpiled once per problem with ``Parameter`` angles, bound per evaluation, run by qiskit-aer's
EstimatorV2 (exact expectation, precision 0) or SamplerV2 (shots, optional noise model; the simulator seed is
fixed per problem, so the sampled objective is a deterministic function of the angles: common random numbers).
``"auto"`` picks fast for ``shots=None`` without noise, Aer otherwise.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from qrp.classical.newton import solve_auto
from qrp.core.registry import Option, bool_option, check_options, choice_option, int_option, real_option
from qrp.core.result import Resources
from qrp.core.validation import positive_int
from qrp.discrete.options import discrete_options
from qrp.discrete.refine import SampleResult
from qrp.quantum import statevector as sv

#: SciPy ``minimize`` methods accepted as ``optimizer`` (derivative-free first; gradient ones use finite
#: differences, each difference costing one circuit evaluation per angle).
OPTIMIZERS = ("COBYLA", "COBYQA", "Nelder-Mead", "Powell", "L-BFGS-B", "BFGS", "SLSQP")
#: Initial-angle schedules.
INITS = ("ramp", "interp")
#: Engines.
ENGINES = ("auto", "fast", "aer")
#: Linear-ramp total angle delta (in units of the normalized Hamiltonian) used by ``init="ramp"``.
RAMP_DELTA = 0.75
#: Basis for resource counts (IBM-like, all-to-all or heavy-hex coupling).
RESOURCE_BASIS = ("cx", "rz", "sx", "x")


def check_choice(value, choices: tuple[str, ...], what: str) -> str:
    """``value`` if it is one of ``choices``, else ``ValueError`` naming ``what`` and the value."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {choices}")
    return value


def check_alpha(alpha) -> float:
    """The CVaR level alpha in (0, 1], else ``ValueError``."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    return float(alpha)


def check_mode(*, reps, shots, alpha, engine, noise) -> tuple[int, int | None, float]:
    """Validate the circuit settings together: reps >= 1, shots None or >= 1, alpha in (0, 1], a known engine,
    noise only with shots, the fast engine only for noiseless exact runs, exact CVaR only on the fast engine.
    Returns (reps, shots, alpha)."""
    reps = positive_int(reps, "reps")
    if shots is not None:
        shots = positive_int(shots, "shots")
    alpha = check_alpha(alpha)
    check_choice(engine, ENGINES, "engine")
    if noise is not None and shots is None:
        raise ValueError("a noise model needs sampling: pass shots (noisy runs are sampled, never exact)")
    if engine == "fast" and (shots is not None or noise is not None):
        raise ValueError("engine='fast' is the noiseless exact mode: shots and noise need engine='aer'")
    if engine == "aer" and shots is None and alpha < 1.0:
        raise ValueError("exact CVaR (alpha < 1, shots=None) runs on engine='fast'; pass shots for Aer")
    return reps, shots, alpha


def default_max_qubits() -> int:
    """The largest n whose exact state (``statevector.memory_needed``) fits in the machine's available memory."""
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        avail = 8 << 30
    n = 1
    while sv.memory_needed(n + 1) <= avail:
        n += 1
    return n


def check_qubits(num_qubits: int, max_qubits: int | None) -> None:
    """``ValueError`` (before anything is allocated) when ``num_qubits`` exceeds ``max_qubits`` (None: what fits
    in available memory), quoting the memory the state would need."""
    limit = default_max_qubits() if max_qubits is None else positive_int(max_qubits, "max_qubits")
    if num_qubits > limit:
        need = sv.memory_needed(num_qubits)
        raise ValueError(
            f"QAOA on {num_qubits} qubits would need {need / 2**30:.3g} GiB for the state vector "
            f"({sv.BYTES_PER_AMPLITUDE} bytes x 2^{num_qubits}); the limit is max_qubits={limit}"
        )


def warm_start_thetas(bits: np.ndarray, epsilon: float = 0.25) -> np.ndarray:
    """Egger et al.'s initial-state angles theta_q = 2 arcsin sqrt(c_q) from a relaxed or hard 0/1 guess ``bits``,
    regularized to c_q in [epsilon, 1 - epsilon] (epsilon = 0.5 gives the standard |+> start)."""
    if not 0.0 <= epsilon <= 0.5:
        raise ValueError(f"epsilon must be in [0, 0.5], got {epsilon!r}")
    c = np.clip(np.asarray(bits, dtype=np.float64), epsilon, 1.0 - epsilon)
    return 2.0 * np.arcsin(np.sqrt(c))


def ramp_angles(reps: int, delta: float = RAMP_DELTA) -> np.ndarray:
    """Linear-ramp angles [gamma_1..gamma_p, beta_1..beta_p]: gamma_l = t_l delta, beta_l = (1 - t_l) delta,
    t_l = (l - 1/2) / p (Sack & Serbyn 2021, the trotterized-annealing start)."""
    t = (np.arange(reps) + 0.5) / reps
    return np.concatenate([t * delta, (1.0 - t) * delta])


def interp_angles(angles: np.ndarray) -> np.ndarray:
    """INTERP (Zhou et al. 2020, eq. B1): depth-p angles [gamma, beta] -> depth-(p+1) start,
    x'_i = (i-1)/p x_{i-1} + (p-i+1)/p x_i for i = 1..p+1, with x_0 = x_{p+1} = 0."""
    p = len(angles) // 2
    out = []
    for x in (angles[:p], angles[p:]):
        padded = np.concatenate([[0.0], x, [0.0]])
        i = np.arange(1, p + 2)
        out.append((i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i])
    return np.concatenate(out)


def noise_model(noise):
    """An Aer ``NoiseModel`` (and the backend whose coupling the circuit must follow, or None) from ``noise``:
    a ``NoiseModel``; a qiskit ``BackendV2`` such as ``GenericBackendV2(n, noise_info=True, seed=...)`` (its
    calibrated errors via ``NoiseModel.from_backend``); or a dict ``{"p1": ..., "p2": ..., "readout": ...}`` of
    depolarizing probabilities on the one-qubit gates (sx, x), on cx, and a symmetric readout flip probability."""
    from qiskit.providers import BackendV2
    from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

    if isinstance(noise, NoiseModel):
        return noise, None
    if isinstance(noise, BackendV2):
        return NoiseModel.from_backend(noise), noise
    if not isinstance(noise, dict) or not set(noise) <= {"p1", "p2", "readout"} or not noise:
        raise ValueError(
            f"noise must be a NoiseModel, a BackendV2 or a dict with keys p1, p2, readout; got {noise!r}"
        )
    for k, v in noise.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            raise ValueError(f"noise[{k!r}] must be a probability in [0, 1], got {v!r}")
    model = NoiseModel(basis_gates=list(RESOURCE_BASIS))
    if noise.get("p1", 0.0) > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(noise["p1"], 1), ["sx", "x"])
    if noise.get("p2", 0.0) > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(noise["p2"], 2), ["cx"])
    if noise.get("readout", 0.0) > 0:
        r = noise["readout"]
        model.add_all_qubit_readout_error(ReadoutError([[1 - r, r], [r, 1 - r]]))
    return model, None


def qaoa_circuit(cost, reps: int, thetas: np.ndarray | None = None):
    """The parametrized QAOA circuit for a Z-only ``SparsePauliOp`` ``cost`` (already normalized): returns
    (circuit, gammas, betas) with ``ParameterVector``s gammas, betas of length ``reps``.

    Cost layer: ``PauliEvolutionGate(cost, gamma_l)`` = exp(-i gamma_l cost) (its Z terms commute: exact); mixer:
    RX(2 beta_l) = exp(-i beta_l X) on every qubit, or RY(theta) RZ(2 beta_l) RY(-theta) = exp(-i beta_l (cos
    theta Z + sin theta X)) for the warm start.
    """
    from qiskit.circuit import ParameterVector, QuantumCircuit
    from qiskit.circuit.library import PauliEvolutionGate

    n = cost.num_qubits
    gammas, betas = ParameterVector("gamma", reps), ParameterVector("beta", reps)
    qc = QuantumCircuit(n, name="QAOA")
    for q in range(n):
        if thetas is None:
            qc.h(q)
        else:
            qc.ry(float(thetas[q]), q)
    for layer in range(reps):
        qc.append(PauliEvolutionGate(cost, time=gammas[layer]), range(n))
        for q in range(n):
            if thetas is None:
                qc.rx(2 * betas[layer], q)
            else:
                qc.ry(-float(thetas[q]), q)
                qc.rz(2 * betas[layer], q)
                qc.ry(float(thetas[q]), q)
    return qc, gammas, betas


def _heavy_hex_distance(n: int) -> int:
    d = 3
    while (5 * d * d - 2 * d - 1) // 2 < n:
        d += 2
    return d


def circuit_resources(cost, reps: int, *, seed: int | None = 0, heavy_hex: bool = True) -> dict[str, Any]:
    """Hardware cost of the depth-``reps`` QAOA circuit for ``cost``: qubits, depth and two-qubit (cx) gate count
    after transpiling (optimization level 1, seeded) to the basis (cx, rz, sx, x) with all-to-all coupling and,
    when ``heavy_hex``, on IBM's heavy-hex lattice (``CouplingMap.from_heavy_hex(d)``, smallest odd d that fits)."""
    from qiskit import transpile
    from qiskit.transpiler import CouplingMap

    qc, _, _ = qaoa_circuit(cost, reps)
    out: dict[str, Any] = {"qubits": qc.num_qubits, "reps": reps, "cost_terms": len(cost)}
    maps = {"all_to_all": None}
    if heavy_hex:
        maps["heavy_hex"] = CouplingMap.from_heavy_hex(_heavy_hex_distance(qc.num_qubits))
    for name, cmap in maps.items():
        t = transpile(qc, basis_gates=list(RESOURCE_BASIS), coupling_map=cmap, optimization_level=1,
                      seed_transpiler=seed)
        out[name] = {"depth": t.depth(), "two_qubit_gates": int(t.count_ops().get("cx", 0)),
                     "physical_qubits": t.num_qubits}
    return out


@dataclass(frozen=True)
class QAOAResult:
    """Outcome of ``QAOA.optimize`` then readout.

    Attributes
    ----------
    angles : (2p,) optimized [gamma_1..gamma_p, beta_1..beta_p] (for the Hamiltonian normalized by ``scale``).
    value : optimized objective (expectation or CVaR_alpha, problem units).
    expectation : exact <H_C> at ``angles`` when the state is available (n within the fast path), else the
        sample mean of the readout.
    best_state : (n,) 0/1 int8 array, lowest-energy bitstring among the readout samples (qubit i = entry i).
    best_energy : its energy.
    ground_energy : exact minimum of H_C (None when not computed).
    ground_state_probability : probability of measuring a ground state (exact from the state when available,
        else readout frequency; None when ``ground_energy`` is None).
    ground_state : whether ``best_state`` is a ground state (None when ``ground_energy`` is None); decided on the
        normalized diagonal (offset removed), so it stays meaningful when the offset dwarfs the spread.
    approximation_ratio : (E_max - <H_C>) / (E_max - E_min) in [0, 1], 1 = ground state (None without the
        exact spectrum).
    evaluations : objective (circuit) evaluations; iterations : optimizer iterations (sum over restarts/depths).
    wall_time : seconds for optimization and readout; simulation_seconds : the part of it spent simulating
        circuits (objective evaluations and readout sampling), the rest being optimizer overhead and diagnostics;
    stats : engine, seed, settings, per-start values.
    """

    angles: np.ndarray
    value: float
    expectation: float
    best_state: np.ndarray
    best_energy: float
    ground_energy: float | None
    ground_state_probability: float | None
    ground_state: bool | None
    approximation_ratio: float | None
    evaluations: int
    iterations: int
    wall_time: float
    simulation_seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


class QAOA:
    """QAOA for a diagonal cost ``offset + sum_m c_m Z^m`` (a Z-only qiskit ``SparsePauliOp``).

    Everything per problem is done once here (validation, normalization, diagonal or transpiled circuit);
    ``objective(angles)`` is then one circuit evaluation. Parameters mirror the "qaoa" solver options.
    """

    def __init__(
        self,
        cost,
        offset: float = 0.0,
        *,
        reps: int = 1,
        shots: int | None = None,
        alpha: float = 1.0,
        engine: str = "auto",
        noise=None,
        warm_thetas: np.ndarray | None = None,
        max_qubits: int | None = None,
        seed: int | None = None,
    ):
        self.reps, shots, alpha = check_mode(reps=reps, shots=shots, alpha=alpha, engine=engine, noise=noise)
        n = cost.num_qubits
        check_qubits(n, max_qubits)
        self.masks, self.coeffs = sv.z_masks(cost)  # validates Z-only, real
        ident = self.masks == 0
        self.offset = float(offset) + float(self.coeffs[ident].sum())
        self.masks, self.coeffs = self.masks[~ident], self.coeffs[~ident]
        self.num_qubits, self.shots, self.alpha, self.seed = n, shots, float(alpha), seed
        self.warm_thetas = None if warm_thetas is None else np.asarray(warm_thetas, dtype=np.float64)
        if self.warm_thetas is not None and self.warm_thetas.shape != (n,):
            raise ValueError(f"warm_thetas must have shape ({n},), got {self.warm_thetas.shape}")
        self.scale = float(np.sqrt(self.coeffs @ self.coeffs)) or 1.0
        self.engine = engine if engine != "auto" else ("fast" if shots is None and noise is None else "aer")
        self.evaluations = 0
        self.simulation_seconds = 0.0
        self._rng = np.random.default_rng(seed)
        from qiskit.quantum_info import SparsePauliOp

        labels = [("Z" * int(m).bit_count(), [q for q in range(n) if m >> q & 1], c / self.scale)
                  for m, c in zip(self.masks, self.coeffs, strict=True)]
        self.normalized = SparsePauliOp.from_sparse_list(labels or [("", [], 0.0)], n).simplify()
        self._diag = None
        self._order = None
        if self.engine == "fast":
            self._diag = sv.cost_diagonal(self.normalized)
            if alpha < 1.0:
                self._order = np.argsort(self._diag, kind="stable")
        else:
            self._build_aer(noise)

    # -- Aer -----------------------------------------------------------------------------------------------
    def _build_aer(self, noise) -> None:
        from qiskit import transpile
        from qiskit_aer import AerSimulator
        from qiskit_aer.primitives import EstimatorV2, SamplerV2

        qc, self._gammas, self._betas = qaoa_circuit(self.normalized, self.reps, self.warm_thetas)
        seed_sim = None if self.seed is None else int(self.seed)
        model, backend = (None, None) if noise is None else noise_model(noise)
        if self.shots is None:
            sim = AerSimulator(method="statevector")
            self._circuit = transpile(qc, sim, optimization_level=1, seed_transpiler=0)
            self._estimator = EstimatorV2(options={"backend_options": {"method": "statevector"}})
            self._observable = self.normalized.apply_layout(self._circuit.layout)
        measured = qc.copy()
        measured.measure_all()
        if backend is not None:
            self._sampler = SamplerV2.from_backend(backend, seed=seed_sim)
            self._measured = transpile(measured, backend, optimization_level=1, seed_transpiler=0)
        else:
            opts = {"backend_options": {"noise_model": model}} if model is not None else {}
            self._sampler = SamplerV2(seed=seed_sim, options=opts)
            # with a noise model, gates are those the model attaches errors to; else Aer's own basis
            target = {"basis_gates": list(RESOURCE_BASIS)} if model is not None else {"backend": AerSimulator()}
            self._measured = transpile(measured, optimization_level=1, seed_transpiler=0, **target)

    def _bind(self, circuit, angles: np.ndarray) -> list[float]:
        """Angle values in the order of ``circuit.parameters`` (which transpiling may sort differently)."""
        p = self.reps
        values = {self._gammas[k]: angles[k] for k in range(p)} | {self._betas[k]: angles[p + k] for k in range(p)}
        return [values[par] for par in circuit.parameters]

    # -- evaluation ----------------------------------------------------------------------------------------
    def state(self, angles: np.ndarray) -> np.ndarray:
        """Exact state vector at ``angles`` (fast path; requires the diagonal, i.e. engine 'fast' or n small)."""
        angles = np.asarray(angles, dtype=np.float64)
        return sv.qaoa_state(self.diagonal(), angles[: self.reps], angles[self.reps :], self.warm_thetas)

    def diagonal(self) -> np.ndarray:
        """The normalized cost diagonal (H_C - offset) / scale, computed once (2^n float64)."""
        if self._diag is None:
            self._diag = sv.cost_diagonal(self.normalized)
        return self._diag

    def energies(self, states: np.ndarray) -> np.ndarray:
        """H_C of basis states given as integers (qubit i = bit i), in problem units."""
        return sv.sample_energies(self.masks, self.coeffs, self.offset, np.asarray(states, dtype=np.int64))

    def sample(self, angles: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
        """(states, counts): ``shots`` measurements of the circuit at ``angles`` (integers, qubit i = bit i)."""
        t0 = time.perf_counter()
        try:
            return self._sample(np.asarray(angles, dtype=np.float64), shots)
        finally:
            self.simulation_seconds += time.perf_counter() - t0

    def _sample(self, angles: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
        if self.engine == "fast":
            counts = self._rng.multinomial(shots, sv.probabilities(self.state(angles)))
            states = np.flatnonzero(counts)
            return states, counts[states]
        res = self._sampler.run([(self._measured, self._bind(self._measured, angles))], shots=shots).result()
        got = res[0].data.meas.get_int_counts()
        return np.fromiter(got.keys(), np.int64, len(got)), np.fromiter(got.values(), np.int64, len(got))

    def objective(self, angles: np.ndarray) -> float:
        """F(angles): <H_C> or CVaR_alpha (problem units), exact or from ``shots`` samples. One circuit run."""
        self.evaluations += 1
        t0 = time.perf_counter()
        try:
            return self._evaluate(np.asarray(angles, dtype=np.float64))
        finally:
            self.simulation_seconds += time.perf_counter() - t0

    def _evaluate(self, angles: np.ndarray) -> float:
        if self.shots is not None:
            states, counts = self._sample(angles, self.shots)
            return sv.cvar(self.energies(states), counts.astype(np.float64), self.alpha)
        if self.engine == "fast":
            probs = sv.probabilities(self.state(angles))
            return self.offset + self.scale * sv.cvar(self._diag, probs, self.alpha, self._order)
        pub = (self._circuit, self._observable, self._bind(self._circuit, angles))
        return self.offset + self.scale * float(self._estimator.run([pub]).result()[0].data.evs)

    # -- optimization --------------------------------------------------------------------------------------
    def optimize(
        self,
        *,
        optimizer: str = "COBYLA",
        init: str = "ramp",
        initial_angles: np.ndarray | None = None,
        multistart: int = 1,
        max_evals: int = 100,
        readout_shots: int = 1024,
        exact_reference: bool | None = None,
    ) -> QAOAResult:
        """Minimize the objective and read out the best bitstring (see the module docstring for the schedule).

        ``initial_angles`` (2p,) (e.g. angles carried from a previous refinement round) replace ``init`` for the
        first start when their objective is no higher than the linear ramp's (``stats["init"]`` says which ran).
        ``max_evals`` caps evaluations per optimizer run. ``exact_reference`` (default: when n <= 20 or the state
        is held exactly) computes the ground energy, ground-state probability and approximation ratio from the
        full spectrum (2^n, so within ``max_qubits``).
        """
        check_choice(optimizer, OPTIMIZERS, "optimizer")
        check_choice(init, INITS, "init")
        multistart = positive_int(multistart, "multistart")
        max_evals = positive_int(max_evals, "max_evals")
        readout_shots = positive_int(readout_shots, "readout_shots")
        p = self.reps
        if initial_angles is not None:
            initial_angles = np.asarray(initial_angles, dtype=np.float64)
            if initial_angles.shape != (2 * p,) or not np.all(np.isfinite(initial_angles)):
                raise ValueError(f"initial_angles must be {2 * p} finite numbers, got {initial_angles!r}")
        start = time.perf_counter()
        self.evaluations = 0
        self.simulation_seconds = 0.0
        iterations = 0
        runs = []
        used = init
        if initial_angles is not None:
            # given (e.g. carried) angles are used only when they start lower than the linear ramp: two evaluations
            ramp = ramp_angles(p)
            if self.objective(initial_angles) <= self.objective(ramp):
                used = "given"
            else:
                initial_angles, used = None, "ramp"
                init = "ramp"
        for k in range(multistart):
            if k == 0 and initial_angles is not None:
                x, it = self._minimize(optimizer, initial_angles, max_evals)
            elif k == 0 and init == "interp":
                x, it = self._interp(optimizer, max_evals)
            elif k == 0:
                x, it = self._minimize(optimizer, ramp_angles(p), max_evals)
            else:
                x0 = np.concatenate([self._rng.uniform(0, np.pi, p), self._rng.uniform(0, np.pi / 2, p)])
                x, it = self._minimize(optimizer, x0, max_evals)
            iterations += it
            runs.append((self.objective(x), x))
        value, angles = min(runs, key=lambda r: r[0])
        evaluations = self.evaluations
        return self._readout(angles, value, evaluations, iterations, readout_shots, exact_reference, start,
                             {"optimizer": optimizer, "init": used,
                              "multistart": multistart, "start_values": [float(r[0]) for r in runs]})

    @staticmethod
    def _options(optimizer: str, max_evals: int) -> dict[str, Any]:
        opts: dict[str, Any] = {"maxiter": max_evals}
        if optimizer == "COBYLA":
            opts["rhobeg"] = 0.3
        elif optimizer == "COBYQA":
            opts["initial_tr_radius"] = 0.3
        elif optimizer in ("Nelder-Mead", "Powell"):
            opts["maxfev"] = max_evals
        return opts

    def _minimize(self, optimizer: str, x0: np.ndarray, max_evals: int) -> tuple[np.ndarray, int]:
        res = minimize(self.objective, x0, method=optimizer, options=self._options(optimizer, max_evals))
        return np.asarray(res.x, dtype=np.float64), int(getattr(res, "nit", 0) or res.nfev)

    def _interp(self, optimizer: str, max_evals: int) -> tuple[np.ndarray, int]:
        # depth d < p is the depth-p circuit with layers d+1..p at zero angles (identities), so one circuit serves
        p, total = self.reps, 0
        x = ramp_angles(1)
        for depth in range(1, p + 1):
            def padded(y, depth=depth):
                full = np.zeros(2 * p)
                full[:depth], full[p : p + depth] = y[:depth], y[depth:]
                return full

            res = minimize(lambda y, f=padded: self.objective(f(y)), x, method=optimizer,
                           options=self._options(optimizer, max_evals))
            x = np.asarray(res.x, dtype=np.float64)
            total += int(getattr(res, "nit", 0) or res.nfev)
            if depth < p:
                x = interp_angles(x)
        return x, total

    def _readout(self, angles, value, evaluations, iterations, shots, exact_reference, start, stats) -> QAOAResult:
        states, counts = self.sample(angles, shots)
        simulated = self.simulation_seconds
        # ranked by H_C - offset: in narrow boxes the spread is far below the offset's rounding
        relative = sv.sample_energies(self.masks, self.coeffs, 0.0, states)
        energies = self.offset + relative
        best = int(np.argmin(relative))
        bits = ((int(states[best]) >> np.arange(self.num_qubits)) & 1).astype(np.int8)
        if exact_reference is None:
            exact_reference = self._diag is not None or self.num_qubits <= 20
        e0 = gs_prob = ratio = is_ground = None
        expectation = float(energies @ counts / counts.sum())
        if exact_reference:
            d = self.diagonal()
            dmin, dmax = float(d.min()), float(d.max())
            e0 = self.offset + self.scale * dmin
            ground = d <= dmin + 1e-9 * max(abs(dmin), 1.0)  # d has unit spread: this is relative to the spread
            is_ground = bool(ground[states[best]])
            if self.shots is None:
                probs = sv.probabilities(self.state(angles))
                gs_prob = float(probs[ground].sum())
                expectation = self.offset + self.scale * float(probs @ d)
            else:
                gs_prob = float(counts[ground[states]].sum() / counts.sum())
            span = (dmax - dmin) * self.scale
            ratio = float((self.offset + self.scale * dmax - expectation) / span) if span > 0 else 1.0
        stats |= {"engine": self.engine, "shots": self.shots, "alpha": self.alpha, "reps": self.reps,
                  "readout_shots": shots, "scale": self.scale, "seed": self.seed,
                  "warm_start": self.warm_thetas is not None,
                  "best_sample_frequency": float(counts[best] / counts.sum())}
        return QAOAResult(
            angles=np.asarray(angles, dtype=np.float64), value=float(value), expectation=float(expectation),
            best_state=bits, best_energy=float(self.offset + relative[best]), ground_energy=e0,
            ground_state_probability=gs_prob,
            ground_state=is_ground, approximation_ratio=ratio, evaluations=evaluations, iterations=iterations,
            wall_time=time.perf_counter() - start, simulation_seconds=simulated, stats=stats,
        )


# -- the registry solver -----------------------------------------------------------------------------------------
def continuous_solution(cov: np.ndarray, budgets: np.ndarray, formulation: str) -> np.ndarray:
    """The classical ERC solution in the formulation's variable: Spinu's y* = w / sqrt(w'Sw) (log_barrier; at the
    optimum y_i (Sy)_i = b_i, so y*'Sy* = 1) or the weights w* (pairwise), from qrp's Newton solver."""
    w = solve_auto(cov, budgets, tol=1e-12, max_iter=200).weights
    return w / np.sqrt(float(w @ cov @ w)) if formulation == "log_barrier" else w


def warm_bits(problem, v: np.ndarray) -> np.ndarray:
    """Bits of the level nearest to v on each asset's grid, m_i = clip(round((v_i - lo_i) / step_i), 0, 2^K - 1),
    asset-major as the problem's variables (the hard guess Egger et al. regularize by epsilon)."""
    lo, _ = problem.box
    m = np.clip(np.rint((v - lo) / problem.step), 0, 2**problem.bits - 1).astype(np.int64)
    return ((m[:, None] >> np.arange(problem.bits)[None, :]) & 1).ravel()


def _check_noise(noise):
    noise_model(noise)  # validates (builds the model once, discarded)
    return noise


#: The QAOA solver's own options (the discretization options are shared: ``qrp.discrete.options``).
OWN_OPTIONS = (
    int_option("reps", 2, "QAOA depth p"),
    int_option("shots", None, "shots per objective evaluation (None: exact expectation)"),
    real_option("alpha", 1.0, "CVaR level (1: expectation)", high=1.0),
    choice_option("optimizer", "COBYLA", OPTIMIZERS, "SciPy minimize method"),
    choice_option("init", "ramp", INITS, "initial angles: linear ramp or INTERP"),
    int_option("max_evals", 100, "objective evaluations per optimizer run"),
    int_option("multistart", 1, "optimizer starts (extra ones random, seeded)"),
    bool_option("warm_start", False, "Egger et al.'s warm start from the continuous ERC solution"),
    real_option("epsilon", 0.25, "warm-start regularization", high=0.5, low_open=False),
    Option("noise", None, _check_noise, "NoiseModel, BackendV2 or {p1, p2, readout} (needs shots)"),
    choice_option("engine", "auto", ENGINES, "fast statevector, Aer, or by mode"),
    int_option("readout_shots", 1024, "shots of the final readout"),
    bool_option("carry_angles", True, "start each round from the previous round's angles"),
    bool_option("resources", True, "transpiled depth and CX counts per term structure"),
    int_option("max_qubits", None, "qubit limit (None: what fits in memory)"),
)
#: Options of "qaoa": the shared discretization options and QAOA's own.
OPTIONS = (*discrete_options(), *OWN_OPTIONS)


def qubit_limit(options: dict) -> int:
    """The registry's qubit limit of "qaoa": ``max_qubits``, or what fits in memory when it is None."""
    return default_max_qubits() if options["max_qubits"] is None else options["max_qubits"]


def qaoa_sampler(**options):
    """Registry solver "qaoa" (a sample-solver factory): QAOA (``QAOA``) on each round's ``problem.to_ising()``,
    round r seeded by the round's seed. Options: ``OWN_OPTIONS`` (validated here, before any round runs).

    ``warm_start=True``: Egger et al.'s warm start from the classical continuous ERC solution
    (``continuous_solution``, computed once) mapped into each round's box by ``warm_bits`` and regularized by
    ``epsilon``. ``carry_angles``: start each round from the previous round's optimized angles (the problems of
    successive rounds differ only by their box; the cost is normalized, so good angles transfer). ``resources``:
    transpiled depth and CX counts (``circuit_resources``), computed once per term structure.
    """
    o = check_options(OWN_OPTIONS, options, owner="solver 'qaoa'")
    check_mode(reps=o["reps"], shots=o["shots"], alpha=o["alpha"], engine=o["engine"], noise=o["noise"])
    resource_cache: dict[tuple, dict] = {}
    warm: dict[str, np.ndarray] = {}

    def sample_solver(problem, *, seed, state) -> SampleResult:
        op, offset = problem.to_ising()
        thetas = None
        if o["warm_start"]:
            if "v" not in warm:  # successive rounds share the covariance: one classical solve per run
                warm["v"] = continuous_solution(problem.cov, problem.budgets, problem.formulation)
            thetas = warm_start_thetas(warm_bits(problem, warm["v"]), o["epsilon"])
        qaoa = QAOA(op, offset, reps=o["reps"], shots=o["shots"], alpha=o["alpha"], engine=o["engine"],
                    noise=o["noise"], warm_thetas=thetas, max_qubits=o["max_qubits"], seed=seed)
        res = qaoa.optimize(optimizer=o["optimizer"], init=o["init"], max_evals=o["max_evals"],
                            multistart=o["multistart"], readout_shots=o["readout_shots"],
                            initial_angles=state if o["carry_angles"] and state is not None else None)
        stats = {k: v for k, v in res.stats.items() if k != "seed"} | {
            "value": res.value, "expectation": res.expectation, "best_energy": res.best_energy,
            "exact_energy": res.ground_energy, "ground_state_probability": res.ground_state_probability,
            "approximation_ratio": res.approximation_ratio, "evaluations": res.evaluations,
            "optimizer_iterations": res.iterations, "wall_time": res.wall_time, "angles": res.angles.tolist(),
        }
        if res.ground_state is not None:
            stats["ground_state"] = res.ground_state
        if o["resources"]:
            key = (op.num_qubits, tuple(sorted(qaoa.masks.tolist())))
            if key not in resource_cache:
                resource_cache[key] = circuit_resources(qaoa.normalized, o["reps"], seed=0)
            stats["resources"] = resource_cache[key]
        sample = res.best_state.astype(np.int64)
        used = Resources(samples=(o["shots"] or 0) * res.evaluations + o["readout_shots"],
                         evaluations=res.evaluations, circuit_executions=res.evaluations + 1,
                         simulation_seconds=res.simulation_seconds)
        return SampleResult(sample, problem.energy(sample), stats, res.angles if o["carry_angles"] else None, used)

    return sample_solver
