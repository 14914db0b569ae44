"""The QAOA engine's settings, declared once (``ENGINE_OPTIONS``, ``OPTIMIZE_OPTIONS``), and their joint checks.

The "qaoa" solver (``qrp.discrete.qaoa``) reuses these declarations; ``engine_settings`` validates a combination of
circuit settings (engine, shots, noise, a user's sampler or backend, Aer's method options) once, before anything is
built, and returns them as a frozen ``EngineSettings`` that ``QAOA`` takes without checking again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qrp.core.options import Option, check_options, choice_option, int_option, real_option
from qrp.core.validation import MAX_ITERATIONS, MAX_REPS, MAX_ROUNDS, MAX_SAMPLES
from qrp.quantum.circuits import AER_METHODS, DEVICES, NOISE_METHODS, noise_model

#: SciPy ``minimize`` methods accepted as ``optimizer`` (derivative-free first, then ``GRADIENT_OPTIMIZERS``).
OPTIMIZERS = ("COBYLA", "COBYQA", "Nelder-Mead", "Powell", "L-BFGS-B", "BFGS", "SLSQP")
#: The gradient methods: on the CPU state-vector engines they get the adjoint gradient (``QAOA.value_and_gradient``),
#: elsewhere SciPy's finite differences (one circuit evaluation per angle and difference).
GRADIENT_OPTIMIZERS = ("L-BFGS-B", "BFGS", "SLSQP")
#: Objective evaluations one adjoint value-and-gradient counts (``QAOA.value_and_gradient``): its state evolutions,
#: one forward and two backward (measured CPU: 3.4-4.5 objective evaluations at p = 3, n = 16-20).
GRADIENT_EVALUATIONS = 3
#: Initial-angle schedules.
INITS = ("ramp", "interp")
#: Engines: the simulators of ``qrp.quantum.simulators.SIMULATORS`` ("fast": numba on the CPU, "fast_poly": the same
#: with a polynomial sincos for the phase (to 1e-12, not to the bit), "cuda": numba.cuda,
#: "aer": every circuit path, Aer or a user's sampler or backend, through ``qrp.quantum.primitives``) or "auto".
ENGINES = ("auto", "fast", "fast_poly", "cuda", "aer")
#: The engines that hold the exact state vector (noiseless or white-noise exact mode only).
STATE_ENGINES = ("fast", "fast_poly", "cuda")


def _check_noise(noise):
    noise_model(noise)  # validates (the model built here is discarded)
    return noise


def _check_sampler(sampler):
    from qrp.quantum.primitives import check_sampler  # qiskit primitives (heavy): only when one is passed

    check_sampler(sampler)
    return sampler


def _check_backend(backend):
    from qrp.quantum.primitives import resolve_backend  # qiskit (heavy): only when a backend is passed

    return resolve_backend(backend)


def _check_pass_manager(pm):
    if not callable(getattr(pm, "run", None)):
        raise ValueError(f"pass_manager must be a qiskit PassManager (with .run), got {pm!r}")
    return pm


#: Circuit settings of ``QAOA`` (one declaration; the "qaoa" solver reuses them, with its own default depth).
ENGINE_OPTIONS = (
    int_option("reps", 1, "QAOA depth p", maximum=MAX_REPS),
    int_option("shots", None, "shots per objective evaluation (None: exact expectation)",
               maximum=MAX_SAMPLES),
    real_option("alpha", 1.0, "CVaR level (1: expectation)", high=1.0),
    choice_option("engine", "auto", ENGINES, "fast statevector, Aer, or by mode"),
    Option("noise", None, _check_noise, "NoiseModel, BackendV2 or {p1, p2, readout} for Aer's run (needs shots; "
           "not with backend or sampler; noise_method='white': a BackendV2 whose white-noise model runs)"),
    Option("sampler", None, _check_sampler, "a qiskit BaseSamplerV2 that runs the circuits (needs shots)"),
    Option("backend", None, _check_backend, "a BackendV2 (or a fake backend's name) to transpile for and run on "
           "(noise_method='white': only transpiled for, its white-noise model run on the state vector)"),
    Option("pass_manager", None, _check_pass_manager, "transpiles for backend (None: preset pass manager)"),
    int_option("optimization_level", 1, "preset pass manager level for backend", minimum=0, maximum=3),
    choice_option("method", "automatic", AER_METHODS, "Aer simulation method (matrix_product_state: MPS)"),
    int_option("bond_dimension", None, "MPS bond dimension cap (method='matrix_product_state')"),
    choice_option("device", "CPU", DEVICES, "Aer device (GPU: the qiskit-aer-gpu build)"),
    choice_option("noise_method", "aer", NOISE_METHODS, "backend noise: its full model run by Aer or the backend "
                  "('aer'; the default, so without backend= or noise= nothing is noisy: noiseless), or its "
                  "white-noise model on the state vector, exact or sampled ('white')"),
    MAX_QUBITS := int_option("max_qubits", None, "qubit limit (None: what fits in memory)"),
)
#: Optimizer settings of ``QAOA.optimize``.
OPTIMIZE_OPTIONS = (
    choice_option("optimizer", "COBYLA", OPTIMIZERS, "SciPy minimize method"),
    choice_option("init", "ramp", INITS, "initial angles: linear ramp or INTERP"),
    int_option("multistart", 1, "optimizer starts (extra ones random, seeded)", maximum=MAX_ROUNDS),
    int_option("max_evals", 100, "objective evaluations per optimizer run", maximum=MAX_ITERATIONS),
    int_option("readout_shots", 1024, "shots of the final readout", maximum=MAX_SAMPLES),
)
ENGINE_DEFAULTS = {o.name: o.default for o in ENGINE_OPTIONS}
OPTIMIZE_DEFAULTS = {o.name: o.default for o in OPTIMIZE_OPTIONS}


@dataclass(frozen=True)
class EngineSettings:
    """The QAOA engine's settings, validated together once (``engine_settings``); ``QAOA(settings=...)`` takes them
    as they are, so a solver validates once and builds one engine per refinement round without re-checking.

    ``circuit``: the other ``ENGINE_OPTIONS`` (sampler, backend resolved to a ``BackendV2``, pass_manager,
    optimization_level, method, bond_dimension, device, noise_method), every key present (defaults filled).
    """

    reps: int
    shots: int | None
    alpha: float
    engine: str
    noise: Any
    max_qubits: int | None
    circuit: Mapping[str, Any]

    @property
    def white(self) -> bool:
        """The global white-noise model on the exact state (``noise_method="white"``)."""
        return self.circuit["noise_method"] == "white"

    @property
    def noise_model(self) -> Any:
        """The noise that runs, as a small JSON value (``stats["noise_model"]``, recorded for every engine):
        "none" (noiseless: no backend, sampler or noise model, whatever ``noise_method``), "white" (the white-noise
        model of a backend on the state, ``noise_method="white"``), "sampler" (a user's sampler, with its own
        noise), the backend's name (``backend=``: its own run; ``noise=BackendV2``: Aer with its calibrated model),
        the ``noise=`` dict (Aer with those depolarizing and readout probabilities) or "NoiseModel" (Aer with a
        user's ``NoiseModel``)."""
        c = self.circuit
        if self.white:
            return "white"
        if c["sampler"] is not None:
            return "sampler"
        source = c["backend"] if c["backend"] is not None else self.noise
        if source is None:
            return "none"
        if isinstance(source, dict):
            return {k: float(v) for k, v in source.items()}
        return str(source.name) if _is_backend(source) else type(source).__name__

    @property
    def holds_state_vector(self) -> bool:
        """Whether a 2^n state is held (the memory guard applies): not for MPS, a sampler or a backend."""
        return holds_state_vector(self.circuit)

    @property
    def exact(self) -> bool:
        """Noiseless (or white-noise) exact expectations on a held state on the CPU: a state-vector simulator's
        mode (``qrp.quantum.simulators``)."""
        return (self.shots is None and (self.noise is None or self.white) and self.holds_state_vector
                and self.circuit["device"] == "CPU")

    @property
    def on_state(self) -> bool:
        """Whether the state-vector engines run these settings as asked (``engine="auto"`` picks one then):
        ``exact``, or the white-noise model, exact or sampled from its distribution (``shots``), which only they
        simulate (``check_combination`` refuses it elsewhere)."""
        return self.exact or self.white


def engine_settings(*, reps, shots, alpha, engine, noise, max_qubits=None, **circuit) -> EngineSettings:
    """Validate the circuit settings together, once: each by its declared check, then ``check_combination``.
    ``circuit``: the other ``ENGINE_OPTIONS``."""
    o = check_options(ENGINE_OPTIONS, {"reps": reps, "shots": shots, "alpha": alpha, "engine": engine,
                                       "noise": noise, "max_qubits": max_qubits, **circuit}, owner="QAOA", fill=True)
    check_combination(o)
    return validated_engine_settings(o)


def check_combination(o: Mapping[str, Any]) -> None:
    """The cross-field checks of already validated engine settings ``o`` (every ``ENGINE_OPTIONS`` name): noise only
    with shots (except the white-noise model, exact on the state), one source of noise (``noise=``, a backend or a
    sampler), Aer's method options only on Aer's own run (not with a backend or sampler, not on the state-vector
    engines), the white-noise model only where it is simulated (``_check_white``), the state-vector engines only
    for noiseless (or white-noise) runs, exact CVaR only on a state-vector engine, a sampler or backend only
    sampled. What runs then is what is recorded: the
    white-noise budget (``stats["white_noise"]``) exactly when the white-noise model is simulated, and which noise
    ran in ``stats["noise_model"]`` (``EngineSettings.noise_model``). ``noise_method="aer"`` (the default) without
    a backend or noise model is accepted: there is no backend noise, the run is noiseless ("none"). The "qaoa"
    solver's table runs it once, in ``validate_options``."""
    white = o["noise_method"] == "white"
    _check_sampled(o, white)
    _check_noise_source(o)
    _check_aer_run(o)
    if white:
        _check_white(o)
    if o["engine"] in STATE_ENGINES:
        _check_state_engine(o, white)
    if o["engine"] == "aer" and o["shots"] is None and o["alpha"] < 1.0:
        raise ValueError("exact CVaR (alpha < 1, shots=None) runs on engine='fast'; pass shots for Aer")
    if o["bond_dimension"] is not None and o["method"] != "matrix_product_state":
        raise ValueError("bond_dimension needs method='matrix_product_state'")


def _check_sampled(o: Mapping[str, Any], white: bool) -> None:
    """Noise models, samplers and backends are sampled (pass shots), except the white-noise model on the state,
    which takes its errors from a backend. A sampler always needs shots: the white-noise model runs on the exact
    state, never on a sampler, so white noise with a sampler and no shots is contradictory (it ran Aer's noiseless
    estimator, dropping the white noise)."""
    if white and o["backend"] is None and not _is_backend(o["noise"]):
        raise ValueError("noise_method='white' takes its errors from a backend: pass backend= (or noise=BackendV2)")
    sampled = o["shots"] is not None or white
    if o["noise"] is not None and not sampled:
        raise ValueError("a noise model needs sampling: pass shots (noisy runs are sampled, never exact)")
    if o["sampler"] is not None and o["shots"] is None:
        raise ValueError("a sampler is sampled: pass shots (noise_method='white' runs on the exact state, not on a "
                         f"sampler; got sampler={o['sampler']!r}, shots=None)")
    if o["backend"] is not None and not sampled:
        raise ValueError("a sampler or backend is sampled: pass shots")


def _check_noise_source(o: Mapping[str, Any]) -> None:
    """One source of noise: ``noise=`` is the noise model of Aer's own run, a backend runs with its own noise (or,
    ``noise_method="white"``, gives its white-noise model), a sampler runs with its own; given together, one was
    dropped (a dict with a backend ran the backend's full model, a noise model with a sampler the sampler)."""
    for name in ("backend", "sampler"):
        if o["noise"] is not None and o[name] is not None:
            raise ValueError(
                f"noise= and {name}= both set the noise (got noise={o['noise']!r}, {name}={o[name]!r}); pass one: "
                f"noise= for Aer's run with that model, backend= for the backend's own noise (noise_method='aer') "
                f"or its white-noise model (noise_method='white'), sampler= for the sampler's own")


#: Aer's own run's options and their declared defaults (ENGINE_OPTIONS).
_AER_DEFAULTS = {opt.name: opt.default for opt in ENGINE_OPTIONS if opt.name in ("method", "bond_dimension", "device")}


def _aer_options(o: Mapping[str, Any]) -> dict[str, Any]:
    """Aer's own run's options (method, bond_dimension, device) that differ from their defaults."""
    return {k: o[k] for k, d in _AER_DEFAULTS.items() if o[k] != d}


def _check_aer_run(o: Mapping[str, Any]) -> None:
    """Aer's method options configure Aer's own run (noiseless, a noise model, or ``noise=BackendV2``'s model);
    a ``backend=`` or ``sampler=`` runs on its own simulator or device, where they were dropped."""
    aer = _aer_options(o)
    for name in ("backend", "sampler"):
        if aer and o[name] is not None and o["noise_method"] != "white":  # white: refused by _check_white
            raise ValueError(f"{aer} are options of Aer's own run, which {name}= replaces (got {name}={o[name]!r}); "
                             f"for Aer with a backend's noise model and these options pass noise=BackendV2 "
                             f"instead of backend=")


def _check_white(o: Mapping[str, Any]) -> None:
    """``noise_method="white"`` is the global white-noise model of a backend's calibration on the exact state
    (``qrp.quantum.device_model``), exact or sampled from that distribution with ``shots``: only the state-vector
    engines simulate it (``engine="auto"`` picks one), the backend is only transpiled for (error budget, depth,
    device time), never run. Aer, a sampler or Aer's method options would run other noise while the white-noise
    budget was recorded (before: "auto" with shots ran the backend's full noise model, a sampler its own)."""
    if o["engine"] == "aer":
        raise ValueError("noise_method='white' is simulated on the state vector (engine='auto', 'fast', "
                         "'fast_poly' or 'cuda'), not by engine='aer'; for Aer with the backend's full noise model "
                         "pass noise_method='aer' with backend= and shots=")
    if o["sampler"] is not None:
        raise ValueError(f"noise_method='white' is simulated on the state vector, never on a sampler (got "
                         f"sampler={o['sampler']!r}); drop sampler= for the white-noise model, or pass "
                         f"noise_method='aer' to run on the sampler with its own noise")
    aer = _aer_options(o)
    if aer:
        raise ValueError(f"noise_method='white' is simulated on the state vector; {aer} are Aer's options (they "
                         "apply with noise_method='aer', the backend's full noise model)")


def _check_state_engine(o: Mapping[str, Any], white: bool) -> None:
    """A state-vector engine is exact and noiseless (or white-noise): no shots, noise models or Aer's options."""
    noisy = (o["shots"] is not None or o["noise"] is not None) and not white
    aer_only = bool(_aer_options(o)) or o["sampler"] is not None
    if noisy or aer_only:
        raise ValueError(f"engine={o['engine']!r} is the noiseless (or white-noise) exact mode: shots, noise models, "
                         "a sampler and Aer's method/bond_dimension/device need engine='aer'")


def validated_engine_settings(o: Mapping[str, Any]) -> EngineSettings:
    """``EngineSettings`` of values already validated and checked together (``check_options`` over
    ``ENGINE_OPTIONS``, then ``check_combination``): nothing is checked here."""
    own = ("reps", "shots", "alpha", "engine", "noise", "max_qubits")
    return EngineSettings(*(o[k] for k in own), {op.name: o[op.name] for op in ENGINE_OPTIONS if op.name not in own})


@dataclass(frozen=True)
class OptimizeSettings:
    """``QAOA.optimize``'s settings (``OPTIMIZE_OPTIONS``), validated once (``optimize_settings``, or a solver's
    validated options); ``optimize(settings=...)`` takes them as they are."""

    optimizer: str = OPTIMIZE_DEFAULTS["optimizer"]
    init: str = OPTIMIZE_DEFAULTS["init"]
    multistart: int = OPTIMIZE_DEFAULTS["multistart"]
    max_evals: int = OPTIMIZE_DEFAULTS["max_evals"]
    readout_shots: int = OPTIMIZE_DEFAULTS["readout_shots"]


def optimize_settings(**options) -> OptimizeSettings:
    """``OptimizeSettings`` of raw ``OPTIMIZE_OPTIONS`` values, each by its declared check (absent: defaults)."""
    return OptimizeSettings(**check_options(OPTIMIZE_OPTIONS, options, owner="QAOA"))


def check_mode(*, reps, shots, alpha, engine, noise, **circuit) -> tuple[int, int | None, float]:
    """``engine_settings`` (every check) returning (reps, shots, alpha)."""
    s = engine_settings(reps=reps, shots=shots, alpha=alpha, engine=engine, noise=noise, **circuit)
    return s.reps, s.shots, s.alpha


def _is_backend(noise) -> bool:
    return noise is not None and not isinstance(noise, dict) and hasattr(noise, "target")


def holds_state_vector(options) -> bool:
    """Whether the engine holds a 2^n state (so ``max_qubits`` applies): not for MPS, a sampler or a backend."""
    return (options.get("method", "automatic") != "matrix_product_state" and options.get("sampler") is None
            and (options.get("backend") is None or options.get("noise_method") == "white"))
