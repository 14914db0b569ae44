"""The QAOA engine for any diagonal (Ising / higher-order Z) cost Hamiltonian: exact state vector or qiskit-aer.

The ansatz (Farhi, Goldstone & Gutmann 2014) for a cost H_C = offset + sum_m c_m Z^m over n qubits, depth p:

    |gamma, beta> = prod_{l=1..p} exp(-i beta_l B) exp(-i gamma_l H_C / s) |psi_0>,

|psi_0> = |+>^n and B = sum_q X_q (standard), or the warm start of Egger, Marecek & Woerner (2021, Quantum 5, 479):
|psi_0> = prod_q RY(theta_q)|0> with theta_q = 2 arcsin sqrt(c_q), c_q in [eps, 1 - eps] a classical guess of bit q,
and B = sum_q (cos theta_q Z_q + sin theta_q X_q), which has |psi_0> as its top eigenstate, as X has |+> (theta = pi/2
gives the standard ansatz; qiskit-optimization's WarmStartQAOAFactory uses the same mixer with beta -> -beta).
s = sqrt(sum_{m != 0} c_m^2) is the standard deviation of H_C over the uniform superposition, so that angles
mean the same thing whatever the problem's units (the objective is always reported in the problem's units).
Every Z^m term, of any degree, is one ``PauliEvolutionGate`` term (a CX ladder and one RZ once transpiled), so
higher-order costs run natively without quadratization. The engine knows nothing of risk parity: the ``qaoa``
solver (``qrp.discrete.qaoa``) hands it each refinement round's Ising form.

Objective F(gamma, beta): the expectation <H_C> (``alpha = 1``) or the CVaR_alpha of the energy distribution, the
mean of its lowest alpha-tail (Barkoutsos et al. 2020, Quantum 4, 256), computed exactly from the state
(``shots=None``) or from ``shots`` samples. Minimized by SciPy (COBYLA by default) from a linear-ramp schedule
(gamma_l = t_l delta, beta_l = -(1 - t_l) delta, t_l = (l - 1/2)/p: a discretized anneal to the minimum, Sack &
Serbyn 2021), from given first angles (``start``, e.g. transferred ones) or,
``init="interp"``, by optimizing p = 1, 2, ..., reps in turn, each from the INTERP extrapolation of the previous
optimum (Zhou et al. 2020, PRX 10, 021067), plus optional random restarts (``multistart``), all seeded.

Engines (``qrp.quantum.simulators``, one ``QAOASimulator`` class each, chosen from ``SIMULATORS``): ``"fast"``
(noiseless exact mode only): qrp.quantum.statevector on the CPU, the cost diagonal computed once per problem, each
evaluation p phase passes and p n mixer passes over 2^n amplitudes (tested equal to Aer to 1e-10); ``"cuda"``: the
same kernels on a CUDA GPU (numba.cuda; the expectation reduced on the device); ``"aer"``: the
circuit built and transpiled once per problem with ``Parameter`` angles, bound per evaluation, run by qiskit-aer's
EstimatorV2 (exact expectation, precision 0) or SamplerV2 (shots, optional noise model; the simulator seed is
fixed per problem, so the sampled objective is a deterministic function of the angles: common random numbers).
The circuit paths run through ``qrp.quantum.primitives``: a user's ``sampler=`` (any
``BaseSamplerV2``), a ``backend=`` (any ``BackendV2``, transpiled by a preset pass manager at
``optimization_level`` or a user ``pass_manager=``, run by ``BackendSamplerV2``), or Aer with ``method``
(``"matrix_product_state"`` with ``bond_dimension``: no state vector, no memory limit) and ``device`` ("GPU" with
qiskit-aer-gpu). ``noise_method="white"`` keeps the exact state and applies the global white-noise model of a
backend's calibration (``qrp.quantum.device_model``), exact or, with ``shots``, sampled from that distribution;
the backend is only transpiled for (error budget, depth, device time), never run, and only the state-vector
engines simulate it (Aer, a sampler or Aer's method options with it are refused). ``"auto"`` picks the first
simulator of ``AUTO_ORDER`` that accepts the settings: cuda (a GPU and n >= 16), then fast, for ``shots=None``
without noise or for white noise (with or without shots), Aer otherwise. Settings are validated once
(``engine_settings``; ``QAOA(settings=...)`` takes them as they are). Readout ranks samples by H_C - offset, never
by absolute energies (which lose the spread to rounding when the offset dwarfs it).

Options are declared once (``ENGINE_OPTIONS``, ``OPTIMIZE_OPTIONS``) and checked by their ``Option.check``; the ERC
solver reuses the same declarations. Angle schedules: ``qrp.quantum.angles``; circuits: ``qrp.quantum.circuits``;
the memory guard (``max_qubits``): ``qrp.quantum.memory``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.optimize import minimize

from qrp.quantum import statevector as sv
from qrp.quantum.angles import interp_angles, ramp_angles
from qrp.quantum.engine_options import (
    ENGINE_DEFAULTS,
    GRADIENT_EVALUATIONS,
    GRADIENT_OPTIMIZERS,
    OPTIMIZE_DEFAULTS,
    EngineSettings,
    OptimizeSettings,
    engine_settings,
    optimize_settings,
)
from qrp.quantum.memory import check_qubits
from qrp.quantum.mixers import mixer_for
from qrp.quantum.qaoa_result import QAOAResult
from qrp.quantum.simulators import (
    DiagonalCost,
    NumbaSimulator,
    StateVectorSimulator,
    simulator_class,
    white_probabilities,
)


def normalize_cost(cost, offset: float = 0.0):
    """(masks, coeffs, offset, scale, normalized) of a Z-only ``SparsePauliOp`` ``cost`` plus ``offset``: the
    Z-masks and real coefficients c_m of its non-identity terms, the offset with the identity terms added, the
    scale s = sqrt(sum_m c_m^2) (1 when there is no term) and the operator sum_m (c_m / s) Z^m that QAOA evolves
    (simplified; ``circuit_resources`` counts its circuit). ``ValueError`` for a non-Z or complex term."""
    from qiskit.quantum_info import SparsePauliOp  # qiskit (heavy): imported by the engine only

    masks, coeffs = sv.z_masks(cost)  # validates Z-only, real
    ident = masks == 0
    offset = float(offset) + float(coeffs[ident].sum())
    masks, coeffs = masks[~ident], coeffs[~ident]
    scale = float(np.sqrt(coeffs @ coeffs)) or 1.0
    n = cost.num_qubits
    labels = [("Z" * int(m).bit_count(), [q for q in range(n) if m >> q & 1], c / scale)
              for m, c in zip(masks, coeffs, strict=True)]
    normalized = SparsePauliOp.from_sparse_list(labels or [("", [], 0.0)], n).simplify()
    return masks, coeffs, offset, scale, normalized


class QAOA:
    """QAOA for a diagonal cost ``offset + sum_m c_m Z^m`` (a Z-only qiskit ``SparsePauliOp``).

    Everything per problem is done once here (validation, normalization, diagonal or transpiled circuit);
    ``objective(angles)`` is then one circuit evaluation. Settings: ``ENGINE_OPTIONS``.
    """

    def __init__(
        self,
        cost,
        offset: float = 0.0,
        *,
        reps: int = ENGINE_DEFAULTS["reps"],
        shots: int | None = None,
        alpha: float = ENGINE_DEFAULTS["alpha"],
        engine: str = ENGINE_DEFAULTS["engine"],
        noise=None,
        warm_thetas: np.ndarray | None = None,
        max_qubits: int | None = None,
        seed: int | None = None,
        settings: EngineSettings | None = None,
        **circuit,
    ):
        """``circuit``: sampler, backend, pass_manager, optimization_level, method, bond_dimension, device,
        noise_method (``ENGINE_OPTIONS``; ``qrp.quantum.primitives``). ``settings``: the same, already validated by
        ``engine_settings`` (a solver validates once, then builds one engine per round); it replaces reps, shots,
        alpha, engine, noise, max_qubits and ``circuit``, which must then be left out."""
        if settings is None:
            settings = engine_settings(reps=reps, shots=shots, alpha=alpha, engine=engine, noise=noise,
                                       max_qubits=max_qubits, **circuit)
        elif circuit:
            raise ValueError(f"settings= replaces the circuit options; got {sorted(circuit)} as well")
        n = cost.num_qubits
        if settings.holds_state_vector:
            check_qubits(n, settings.max_qubits)
        self.masks, self.coeffs, self.offset, self.scale, self.normalized = normalize_cost(cost, offset)
        self.settings, self.reps, self.shots = settings, settings.reps, settings.shots
        self.alpha = float(settings.alpha)
        self.num_qubits, self.seed = n, seed
        self.warm_thetas = None if warm_thetas is None else np.asarray(warm_thetas, dtype=np.float64)
        if self.warm_thetas is not None and self.warm_thetas.shape != (n,):
            raise ValueError(f"warm_thetas must have shape ({n},), got {self.warm_thetas.shape}")
        self.evaluations = 0
        self.gradients = 0
        self.simulation_seconds = 0.0
        self._rng = np.random.default_rng(seed)
        self.cost = DiagonalCost(self.normalized)
        self.mixer = mixer_for(n, self.warm_thetas)
        self.white = None  # the white-noise budget of the circuit on the backend (noise_method="white")
        if settings.white:
            from qrp.quantum.primitives import white_noise_budget  # qiskit (heavy): transpiles for the backend

            self.white = white_noise_budget(self.normalized, self.reps, self.warm_thetas,
                                            settings.circuit["backend"] or settings.noise,
                                            optimization_level=settings.circuit["optimization_level"],
                                            pass_manager=settings.circuit["pass_manager"])
        self.simulator = simulator_class(settings, n)(self.cost, self.mixer, settings, seed=seed, white=self.white)
        self.engine = self.simulator.name

    @property
    def device_timing(self) -> dict[str, Any] | None:
        """The hardware time model's inputs (``qrp.quantum.device_model.circuit_seconds``) for the circuit
        transpiled for a backend: {"depth", "timings"} of the white-noise budget (``noise_method="white"``) or of
        the circuit engine's transpiled circuit (``noise_method="aer"`` with ``backend=`` or ``noise=BackendV2``;
        ``CircuitEngine.device_timing``); None without a backend, or a backend that reports no gate or readout
        durations."""
        if self.white is not None:
            return self.white
        circuits = getattr(self.simulator, "circuits", None)
        return None if circuits is None else circuits.device_timing()

    # -- evaluation ----------------------------------------------------------------------------------------
    def state(self, angles: np.ndarray) -> np.ndarray:
        """Exact state vector at ``angles`` (the engine's when it holds one, else the CPU kernels; 2^n)."""
        angles = np.asarray(angles, dtype=np.float64)
        if isinstance(self.simulator, StateVectorSimulator):
            return self.simulator.state(angles)
        p = self.reps
        return sv.evolve(self.mixer.initial_state(), self.diagonal(), angles[:p], angles[p:], self.mixer.matrices)

    def diagonal(self) -> np.ndarray:
        """The normalized cost diagonal (H_C - offset) / scale, computed once (2^n float64)."""
        return self.cost.diagonal()

    def energies(self, states: np.ndarray) -> np.ndarray:
        """H_C of basis states given as integers (qubit i = bit i), in problem units."""
        return sv.sample_energies(self.masks, self.coeffs, self.offset, np.asarray(states, dtype=np.int64))

    def sample(self, angles: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
        """(states, counts): ``shots`` measurements of the circuit at ``angles`` (integers, qubit i = bit i)."""
        t0 = time.perf_counter()
        try:
            return self.simulator.sample(np.asarray(angles, dtype=np.float64), shots, self._rng)
        finally:
            self.simulation_seconds += time.perf_counter() - t0

    def probabilities(self, angles: np.ndarray) -> np.ndarray:
        """Measured distribution of the exact state (under the white-noise model when ``noise_method="white"``)."""
        angles = np.asarray(angles, dtype=np.float64)
        if isinstance(self.simulator, StateVectorSimulator):
            return self.simulator.probabilities(angles)
        return white_probabilities(sv.probabilities(self.state(angles)), self.white)

    @property
    def has_gradient(self) -> bool:
        """Whether ``value_and_gradient`` applies: exact expectations (no shots, alpha = 1, no white noise) on the
        CPU state-vector engines."""
        return (self.shots is None and self.alpha >= 1.0 and self.white is None
                and isinstance(self.simulator, NumbaSimulator))

    def value_and_gradient(self, angles: np.ndarray) -> tuple[float, np.ndarray]:
        """(F(angles), dF/dangles) by the adjoint method (``statevector.expectation_gradient``): three state
        evolutions (one forward, two backward: the state and lambda = H psi), so it counts
        ``GRADIENT_EVALUATIONS`` = 3 objective evaluations in ``evaluations`` (one in ``gradients``). The gradient
        optimizers of ``optimize`` (``GRADIENT_OPTIMIZERS``) use it when ``has_gradient``; ``ValueError``
        otherwise."""
        if not self.has_gradient:
            raise ValueError("the adjoint gradient needs exact expectations (shots=None, alpha=1, no noise) on "
                             f"engine 'fast' or 'fast_poly', not engine={self.engine!r}")
        angles = np.asarray(angles, dtype=np.float64)
        self.evaluations += GRADIENT_EVALUATIONS
        self.gradients += 1
        t0 = time.perf_counter()
        try:
            p = self.reps
            value, grad = sv.expectation_gradient(self.diagonal(), angles[:p], angles[p:], self.mixer)
            return self.offset + self.scale * value, self.scale * grad
        finally:
            self.simulation_seconds += time.perf_counter() - t0

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
            states, counts = self.simulator.sample(angles, self.shots, self._rng)
            return sv.cvar(self.energies(states), counts.astype(np.float64), self.alpha)
        return self.offset + self.scale * self.simulator.objective(angles)

    # -- optimization --------------------------------------------------------------------------------------
    def optimize(
        self,
        *,
        optimizer: str = OPTIMIZE_DEFAULTS["optimizer"],
        init: str = OPTIMIZE_DEFAULTS["init"],
        initial_angles: np.ndarray | None = None,
        multistart: int = OPTIMIZE_DEFAULTS["multistart"],
        max_evals: int = OPTIMIZE_DEFAULTS["max_evals"],
        readout_shots: int = OPTIMIZE_DEFAULTS["readout_shots"],
        exact_reference: bool | None = None,
        start: np.ndarray | None = None,
        settings: OptimizeSettings | None = None,
    ) -> QAOAResult:
        """Minimize the objective and read out the best bitstring (see the module docstring for the schedule).

        ``start`` (2p,): the first start in place of the linear ramp (``init="ramp"`` only; ``stats["init"]`` is
        then "start"). ``initial_angles`` (2p,) (e.g. angles carried from a previous refinement round) replace it
        when their objective is no higher than the ramp's or ``start``'s (``stats["init"]`` says which ran).
        ``max_evals`` caps evaluations per optimizer run. ``exact_reference`` (default: when n <= 20 or the state
        is held exactly) computes the ground energy, ground-state probability and approximation ratio from the
        full spectrum (2^n, so within ``max_qubits``). ``settings``: the optimizer settings already validated
        (``optimize_settings``; the "qaoa" solver's), in place of those five keywords: then nothing is re-checked.
        """
        if settings is None:  # direct use: checked here
            settings = optimize_settings(optimizer=optimizer, init=init, multistart=multistart, max_evals=max_evals,
                                         readout_shots=readout_shots)
        optimizer, init, multistart = settings.optimizer, settings.init, settings.multistart
        max_evals, readout_shots = settings.max_evals, settings.readout_shots
        p = self.reps
        for name, x in (("initial_angles", initial_angles), ("start", start)):
            if x is not None and (np.shape(x) != (2 * p,) or not np.all(np.isfinite(x))):
                raise ValueError(f"{name} must be {2 * p} finite numbers, got {x!r}")
        if start is not None and init != "ramp":
            raise ValueError(f"start angles replace the linear ramp; init={init!r} builds its own start")
        first, label = (ramp_angles(p), "ramp") if start is None else (np.asarray(start, dtype=np.float64), "start")
        initial_angles = None if initial_angles is None else np.asarray(initial_angles, dtype=np.float64)
        start = time.perf_counter()
        self.evaluations = 0
        self.gradients = 0
        self.simulation_seconds = 0.0
        iterations = 0
        runs = []
        used = label if init == "ramp" else init
        if initial_angles is not None:
            # given (e.g. carried) angles are used only when they start lower than the first start: two evaluations
            if self.objective(initial_angles) <= self.objective(first):
                used = "given"
            else:
                initial_angles, used = None, label
                init = "ramp"
        for k in range(multistart):
            if k == 0 and initial_angles is not None:
                x, it = self._minimize(optimizer, initial_angles, max_evals)
            elif k == 0 and init == "interp":
                x, it = self._interp(optimizer, max_evals)
            elif k == 0:
                x, it = self._minimize(optimizer, first, max_evals)
            else:  # beta has period pi (exp(-i pi B) = -1 for both mixers): draw it over a whole period
                x0 = np.concatenate([self._rng.uniform(0, np.pi, p), self._rng.uniform(-np.pi / 2, np.pi / 2, p)])
                x, it = self._minimize(optimizer, x0, max_evals)
            iterations += it
            runs.append((self.objective(x), x))
        value, angles = min(runs, key=lambda r: r[0])
        evaluations = self.evaluations
        return self._readout(angles, value, evaluations, iterations, readout_shots, exact_reference, start,
                             {"optimizer": optimizer, "init": used,
                              "multistart": multistart, "start_values": [float(r[0]) for r in runs]})

    def fixed(self, angles, *, readout_shots: int = OPTIMIZE_DEFAULTS["readout_shots"],
              exact_reference: bool | None = None, settings: OptimizeSettings | None = None) -> QAOAResult:
        """Read out at given ``angles`` (2p,) with no optimization: zero objective evaluations (the fixed-angle
        setting of Shaydulin et al. 2024, Sci. Adv. 10, eadm6761). ``value`` is the expectation of the readout
        (exact when the state is held). ``settings``: validated optimizer settings whose ``readout_shots`` is used
        as it is (the "qaoa" solver's)."""
        angles = np.asarray(angles, dtype=np.float64)
        if angles.shape != (2 * self.reps,) or not np.all(np.isfinite(angles)):
            raise ValueError(f"angles must be {2 * self.reps} finite numbers, got {angles!r}")
        if settings is None:  # direct use: checked here
            settings = optimize_settings(readout_shots=readout_shots)
        readout_shots = settings.readout_shots
        self.evaluations = 0
        self.simulation_seconds = 0.0
        res = self._readout(angles, np.nan, 0, 0, readout_shots, exact_reference, time.perf_counter(),
                            {"optimizer": None, "init": "fixed", "multistart": 0, "start_values": []})
        return replace(res, value=res.expectation)

    def _options(self, optimizer: str, max_evals: int) -> dict[str, Any]:
        """SciPy's options for ``max_evals`` objective evaluations a run: L-BFGS-B with the adjoint gradient stops
        after max_evals // ``GRADIENT_EVALUATIONS`` value-and-gradient calls (its ``maxfun``; SciPy checks it once
        an iteration, so a line search can overrun it by a few calls)."""
        opts: dict[str, Any] = {"maxiter": max_evals}
        if optimizer == "L-BFGS-B" and self.has_gradient:
            opts["maxfun"] = max(1, max_evals // GRADIENT_EVALUATIONS)
        elif optimizer == "COBYLA":
            opts["rhobeg"] = 0.3
        elif optimizer == "COBYQA":
            opts["initial_tr_radius"] = 0.3
        elif optimizer in ("Nelder-Mead", "Powell"):
            opts["maxfev"] = max_evals
        return opts

    def _minimize(self, optimizer: str, x0: np.ndarray, max_evals: int, depth: int | None = None
                  ) -> tuple[np.ndarray, int]:
        """SciPy ``minimize`` from ``x0``; gradient methods get the adjoint gradient when ``has_gradient``.
        ``depth`` < p: x holds the first ``depth`` gammas and betas, the deeper layers at zero angles."""
        p = self.reps
        depth = p if depth is None else depth

        def full(y):
            out = np.zeros(2 * p)
            out[:depth], out[p : p + depth] = y[:depth], y[depth:]
            return out

        def value_and_gradient(y):
            value, grad = self.value_and_gradient(full(y))
            return value, np.concatenate([grad[:depth], grad[p : p + depth]])

        gradient = optimizer in GRADIENT_OPTIMIZERS and self.has_gradient
        fun = value_and_gradient if gradient else (lambda y: self.objective(full(y)))
        res = minimize(fun, x0, jac=gradient or None, method=optimizer, options=self._options(optimizer, max_evals))
        return np.asarray(res.x, dtype=np.float64), int(getattr(res, "nit", 0) or res.nfev)

    def _interp(self, optimizer: str, max_evals: int) -> tuple[np.ndarray, int]:
        # depth d < p is the depth-p circuit with layers d+1..p at zero angles (identities), so one circuit serves
        p, total = self.reps, 0
        x = ramp_angles(1)
        for depth in range(1, p + 1):
            x, it = self._minimize(optimizer, x, max_evals, depth)
            total += it
            if depth < p:
                x = interp_angles(x)
        return x, total

    def _readout(self, angles, value, evaluations, iterations, shots, exact_reference, start, stats) -> QAOAResult:
        probs = None
        # a state-vector simulator that samples its exact distribution: one evolution for the samples and the exact
        # reference below (they evolved the state twice at the final angles)
        sim = self.simulator
        if isinstance(sim, StateVectorSimulator) and type(sim).sample is StateVectorSimulator.sample:
            t0 = time.perf_counter()
            probs = sim.probabilities(angles)
            states, counts = sim.sample_distribution(probs, shots, self._rng)
            self.simulation_seconds += time.perf_counter() - t0
        else:
            states, counts = self.sample(angles, shots)
        simulated = self.simulation_seconds
        # ranked by H_C - offset: in narrow boxes the spread is far below the offset's rounding
        relative = sv.sample_energies(self.masks, self.coeffs, 0.0, states)
        energies = self.offset + relative
        best = int(np.argmin(relative))
        bits = ((int(states[best]) >> np.arange(self.num_qubits)) & 1).astype(np.int8)
        if exact_reference is None:
            exact_reference = self.cost.has_diagonal or self.num_qubits <= 20
        e0 = gs_prob = ratio = is_ground = None
        expectation = float(energies @ counts / counts.sum())
        if exact_reference:
            d = self.diagonal()
            dmin, dmax = float(d.min()), float(d.max())
            e0 = self.offset + self.scale * dmin
            ground = d <= dmin + 1e-9 * max(abs(dmin), 1.0)  # d has unit spread: this is relative to the spread
            is_ground = bool(ground[states[best]])
            if self.shots is None:
                probs = self.probabilities(angles) if probs is None else probs
                gs_prob = float(probs[ground].sum())
                expectation = self.offset + self.scale * float(probs @ d)
            else:
                gs_prob = float(counts[ground[states]].sum() / counts.sum())
            span = (dmax - dmin) * self.scale
            ratio = float((self.offset + self.scale * dmax - expectation) / span) if span > 0 else 1.0
        if self.white is not None:
            stats["white_noise"] = {"fidelity": self.white["fidelity"], "depth": self.white["depth"],
                                    "two_qubit_gates": self.white["two_qubit_gates"],
                                    "mean_readout_error": float(np.mean(self.white["readout"]))}
        stats["noise_model"] = self.settings.noise_model
        stats |= self.simulator.describe()
        if self.gradients:  # only when a gradient optimizer ran (older runs keep their stats unchanged)
            stats["adjoint_gradients"] = self.gradients
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
  # the memory guard lived here before the split
