"""One simulator interface for the QAOA engine, its back ends chosen from a table (as QOKit's simulator classes:
Lykov et al. 2023, "Fast simulation of high-depth QAOA circuits").

A problem hands over only its normalized diagonal cost (``DiagonalCost``: the Z-only operator H = sum_m c_m Z^m /
s and its 2^n diagonal d, computed once on demand) and a mixer (``qrp.quantum.mixers``); a ``QAOASimulator``
prepares |gamma, beta> = prod_l exp(-i beta_l B) exp(-i gamma_l diag(d)) |psi_0> and returns

* ``objective(angles)``: the exact CVaR_alpha of d under |<x|gamma, beta>|^2 (alpha = 1: the expectation <H>);
* ``sample(angles, shots, rng)``: (states, counts) of ``shots`` measurements;
* ``memory_needed(n)``: bytes it holds for n qubits (None when not bounded by 2^n).

``SIMULATORS`` names them: "fast" (``NumbaSimulator``: numba kernels on the CPU, ``qrp.quantum.statevector``),
"cuda" (``CudaSimulator``: numba.cuda, ``qrp.quantum.statevector_gpu``; the expectation is reduced on the device,
the state never copied back) and "aer" (``AerCircuitSimulator``: the circuit through qiskit-aer, a user's sampler
or a backend, ``qrp.quantum.primitives``). ``engine="auto"`` takes the first of ``AUTO_ORDER`` whose
``accepts(settings, n)`` holds. A new engine is one subclass registered in ``SIMULATORS``; a new mixer one subclass
of ``qrp.quantum.mixers.Mixer``; a new encoding only a new cost diagonal.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from qrp.quantum import statevector as sv
from qrp.quantum.device_model import depolarized
from qrp.quantum.engine_options import EngineSettings
from qrp.quantum.fused import MIN_QUBITS as FUSED_MIN_QUBITS
from qrp.quantum.fused import RowQuadratic, empty_split, expectation, set_apart
from qrp.quantum.mixers import Mixer, WarmStartMixer, XMixer


class DiagonalCost:
    """A normalized Z-only cost: ``op`` (a qiskit ``SparsePauliOp``, for circuits) and its diagonal d[x] =
    sum_m c_m (-1)^popcount(x & m) (``diagonal()``, float64, 2^n, by one fast Walsh-Hadamard transform, once).
    ``diagonal=`` hands the diagonal over directly (then ``op`` may be None: state-vector simulators only)."""

    def __init__(self, op, diagonal: np.ndarray | None = None):
        if op is None and diagonal is None:
            raise ValueError("DiagonalCost needs an operator or a diagonal")
        if diagonal is not None:
            diagonal = np.ascontiguousarray(diagonal, dtype=np.float64)
            size = diagonal.shape[0]
            if diagonal.ndim != 1 or size & (size - 1) or (op is not None and size != 1 << op.num_qubits):
                raise ValueError(f"the diagonal must have 2^n entries, got shape {diagonal.shape}")
        self.op = op
        self.num_qubits = int(op.num_qubits) if op is not None else diagonal.shape[0].bit_length() - 1
        self._diagonal = diagonal

    @property
    def has_diagonal(self) -> bool:
        return self._diagonal is not None

    def diagonal(self) -> np.ndarray:
        if self._diagonal is None:
            self._diagonal = sv.cost_diagonal(self.op)
        return self._diagonal


def white_probabilities(probs: np.ndarray, white: dict[str, Any] | None) -> np.ndarray:
    """``probs`` under the global white-noise model ``white`` (``qrp.quantum.device_model.depolarized``) if any."""
    return probs if white is None else depolarized(probs, white["fidelity"], white["readout"])


class QAOASimulator(ABC):
    """A QAOA back end for a ``DiagonalCost``, a ``Mixer`` and validated ``EngineSettings`` (module docstring).

    ``white``: the white-noise budget applied to exact probabilities (``noise_method="white"``), or None.
    """

    #: Name in ``SIMULATORS`` (reported as ``stats["engine"]``).
    name = ""

    def __init__(self, cost: DiagonalCost, mixer: Mixer, settings: EngineSettings, *, seed: int | None = None,
                 white: dict[str, Any] | None = None):
        self.cost, self.mixer, self.settings, self.seed, self.white = cost, mixer, settings, seed, white
        self.reps, self.alpha = settings.reps, float(settings.alpha)

    @classmethod
    @abstractmethod
    def accepts(cls, settings: EngineSettings, num_qubits: int) -> bool:
        """Whether ``engine="auto"`` may pick this simulator for these settings."""

    @staticmethod
    @abstractmethod
    def memory_needed(num_qubits: int) -> int | None:
        """Bytes held for ``num_qubits`` qubits (None: not bounded by the state vector)."""

    @abstractmethod
    def objective(self, angles: np.ndarray) -> float:
        """Exact CVaR_alpha (alpha = 1: expectation) of the normalized cost at ``angles`` = [gammas, betas]."""

    @abstractmethod
    def sample(self, angles: np.ndarray, shots: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(states, counts) of ``shots`` measurements at ``angles`` (integers, qubit i = bit i)."""

    def describe(self) -> dict[str, Any]:
        """Extra entries for the result's ``stats``."""
        return {}


class StateVectorSimulator(QAOASimulator):
    """A simulator holding the exact 2^n state: probabilities, CVaR and sampling from it (``state`` is the kernel)."""

    def __init__(self, cost, mixer, settings, *, seed=None, white=None):
        super().__init__(cost, mixer, settings, seed=seed, white=white)
        self.diagonal = cost.diagonal()
        self.order = np.argsort(self.diagonal, kind="stable") if self.alpha < 1.0 else None

    @classmethod
    def accepts(cls, settings, num_qubits):
        return settings.on_state

    @abstractmethod
    def state(self, angles: np.ndarray) -> np.ndarray:
        """The state vector at ``angles`` (complex128, on the host)."""

    def probabilities(self, angles: np.ndarray) -> np.ndarray:
        """The measured distribution (under the white-noise model when there is one)."""
        return white_probabilities(sv.probabilities(self.state(angles)), self.white)

    def objective(self, angles):
        return sv.cvar(self.diagonal, self.probabilities(angles), self.alpha, self.order)

    def sample(self, angles, shots, rng):
        return self.sample_distribution(self.probabilities(angles), shots, rng)

    @staticmethod
    def sample_distribution(probs: np.ndarray, shots: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """(states, counts) of ``shots`` draws from the distribution ``probs`` (what ``sample`` draws from)."""
        counts = rng.multinomial(shots, probs)
        states = np.flatnonzero(counts)
        return states, counts[states]


class NumbaSimulator(StateVectorSimulator):
    """numba kernels on the CPU (``qrp.quantum.kernels.split_layer``) on a split state (real and imaginary float64
    arrays): the phase fused with the cache-blocked mixer of the low qubits, then the higher qubits in tiles, in
    place; libm cos/sin for the phase, so results equal the previous complex kernel's to the bit."""

    name = "fast"
    #: The phase by the vectorized polynomial sincos (``PolyPhaseSimulator``) instead of libm.
    poly = False

    def __init__(self, cost, mixer, settings, *, seed=None, white=None):
        super().__init__(cost, mixer, settings, seed=seed, white=white)
        self._max_abs = float(np.abs(self.diagonal).max(initial=0.0))

    @staticmethod
    def memory_needed(num_qubits):
        return sv.memory_needed(num_qubits)

    def _initial_split(self) -> tuple[np.ndarray, np.ndarray]:
        return self.mixer.initial_split()

    def split_state(self, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(re, im) of the state at ``angles``."""
        p = self.reps
        re, im = self._initial_split()
        sv.evolve_split(re, im, self.diagonal, angles[:p], angles[p:], self.mixer.matrices, poly=self.poly,
                        max_abs_diagonal=self._max_abs)
        return re, im

    def state(self, angles):
        re, im = self.split_state(angles)
        psi = np.empty(re.shape[0], dtype=np.complex128)
        psi.real, psi.imag = re, im
        return psi

    def probabilities(self, angles):
        re, im = self.split_state(angles)
        re *= re
        im *= im
        re += im  # |psi|^2 in place, as sv.probabilities (re**2 + im**2) to the bit
        return white_probabilities(re, self.white)


class PolyPhaseSimulator(NumbaSimulator):
    """``NumbaSimulator`` with the phase exp(-i gamma d) by the vectorized polynomial sincos of
    ``qrp.quantum.kernels`` and, from 13 qubits with the X mixer, the fused layer of ``qrp.quantum.fused`` (3.8-6.0x
    faster than "fast" at n = 16-28, ``benchmarks/results/kernel.md``): states agree with "fast" to 1e-12 (tested),
    not to the bit, so optimized angles may follow another optimizer path (COBYLA can amplify last-bit
    differences); never picked by "auto"."""

    name = "fast_poly"
    poly = True

    def _initial_split(self) -> tuple[np.ndarray, np.ndarray]:
        re, im = self.mixer.initial_split()
        return re, set_apart(re, im)  # im off re's L1 sets: the fused layer's direct sweeps (qrp.quantum.fused)

    #: (re, im) of the last ``objective``, rewritten by the next one (the first layer writes every amplitude): no
    #: page faults and zeroing of fresh memory per evaluation (0.75 ns an amplitude at n = 24, 6%); handed over
    #: to the caller by ``split_state``, so that the state of a readout costs no memory beyond one state.
    _work: tuple[np.ndarray, np.ndarray] | None = None

    def _evolve(self, angles: np.ndarray, total: bool):
        """(re, im) evolved from |+>^n, and (sum d |psi|^2, sum |psi|^2) when ``total`` (``sv.evolve_split``)."""
        p = self.reps
        work, self._work = self._work, None
        re, im = work if work is not None else empty_split(self.cost.num_qubits)  # not read: the first layer
        sums = sv.evolve_split(re, im, self.diagonal, angles[:p], angles[p:], self.mixer.matrices, poly=True,
                               max_abs_diagonal=self._max_abs, plus=True, total=total,
                               quad=self._quadratic)  # writes |+>^n's phase
        return re, im, sums

    @functools.cached_property
    def _quadratic(self) -> RowQuadratic | None:
        """The diagonal's ``fused.RowQuadratic`` (one pass at the first evaluation; None when d is not quadratic in
        the bits or the state is below a sub-block), for the fused layer's factored phase."""
        return RowQuadratic.of(self.diagonal) if self.cost.num_qubits >= FUSED_MIN_QUBITS else None

    def split_state(self, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if type(self.mixer) is not XMixer:  # |psi_0> = |+>^n is known only for the X mixer itself
            return super().split_state(angles)
        return self._evolve(angles, False)[:2]

    def objective(self, angles):
        if self.alpha < 1.0 or self.white is not None:
            return super().objective(angles)
        if type(self.mixer) is not XMixer:
            value, norm = expectation(*self.split_state(angles), self.diagonal)  # one read, no probabilities
            return value / norm
        re, im, (value, norm) = self._evolve(angles, True)  # the last sweep sums instead of writing
        self._work = (re, im)
        return value / norm


class CudaSimulator(StateVectorSimulator):
    """numba.cuda kernels (``qrp.quantum.statevector_gpu``): the diagonal copied to the device once per problem,
    the state kept there; the expectation is reduced on the device (16 bytes back, not 16 x 2^n)."""

    name = "cuda"

    def __init__(self, cost, mixer, settings, *, seed=None, white=None):
        if not sv.gpu_available():
            raise ValueError("engine='cuda' but numba finds no CUDA GPU (or QRP_GPU=0)")
        super().__init__(cost, mixer, settings, seed=seed, white=white)
        from qrp.quantum import statevector_gpu as gpu  # optional: numba.cuda is imported only for this engine

        self._gpu = gpu
        self._device_diagonal = gpu.to_device(self.diagonal)

    @classmethod
    def accepts(cls, settings, num_qubits):
        return settings.on_state and num_qubits >= sv.GPU_MIN_QUBITS and sv.gpu_available()

    @staticmethod
    def memory_needed(num_qubits):
        return 24 << num_qubits  # device: complex128 state + float64 diagonal

    def _device_state(self, angles):
        p = self.reps
        builtin = type(self.mixer).initial_state in (XMixer.initial_state, WarmStartMixer.initial_state)
        psi0 = (self._gpu.initial_state_gpu(self.cost.num_qubits, self.mixer.thetas) if builtin
                else self.mixer.initial_state())  # a new mixer's initial state is copied from the host
        return self._gpu.evolve_gpu(psi0, self._device_diagonal, angles[:p], angles[p:], self.mixer.matrices)

    def state(self, angles):
        return self._device_state(angles).copy_to_host()

    def probabilities(self, angles):
        return white_probabilities(self._gpu.probabilities_gpu(self._device_state(angles)), self.white)

    def objective(self, angles):
        if self.alpha < 1.0 or self.white is not None:
            return super().objective(angles)
        return self._gpu.expectation_gpu(self._device_state(angles), self._device_diagonal)


class AerCircuitSimulator(QAOASimulator):
    """The circuit built and transpiled once with ``Parameter`` angles, bound per evaluation
    (``qrp.quantum.primitives.CircuitEngine``): Aer's EstimatorV2 for exact expectations, SamplerV2 or a user's
    sampler or backend for samples. Exact CVaR (alpha < 1 without shots) is refused by ``engine_settings``."""

    name = "aer"

    def __init__(self, cost, mixer, settings, *, seed=None, white=None):
        super().__init__(cost, mixer, settings, seed=seed, white=white)
        if cost.op is None:
            raise ValueError("engine 'aer' builds a circuit: the cost needs its Z-only operator, not only a diagonal")
        from qrp.quantum.primitives import CircuitEngine  # qiskit-aer (heavy): only for circuit engines

        circuit = {k: v for k, v in settings.circuit.items() if k != "noise_method"}
        self.circuits = CircuitEngine(cost.op, self.reps, mixer.thetas, shots=settings.shots,
                                      noise=settings.noise,  # never white here: check_combination
                                      seed=None if seed is None else int(seed), **circuit)

    @classmethod
    def accepts(cls, settings, num_qubits):
        return True

    @staticmethod
    def memory_needed(num_qubits):
        return 16 << num_qubits  # Aer's complex128 state (state-vector methods; MPS is not bounded by it)

    def objective(self, angles):
        return self.circuits.expectation(angles)

    def sample(self, angles, shots, rng):
        return self.circuits.sample(angles, shots)

    def describe(self):
        return {"runner": self.circuits.runner.kind, "transpiled_depth": self.circuits.runner.depth()}


#: The QAOA back ends by engine name.
SIMULATORS: dict[str, type[QAOASimulator]] = {
    "fast": NumbaSimulator,
    "fast_poly": PolyPhaseSimulator,
    "cuda": CudaSimulator,
    "aer": AerCircuitSimulator,
}
#: ``engine="auto"``: the first of these that ``accepts`` the settings.
AUTO_ORDER = ("cuda", "fast", "aer")


def simulator_class(settings: EngineSettings, num_qubits: int) -> type[QAOASimulator]:
    """The simulator of ``settings.engine``, or for "auto" the first of ``AUTO_ORDER`` that accepts them."""
    if settings.engine != "auto":
        return SIMULATORS[settings.engine]
    return next(SIMULATORS[k] for k in AUTO_ORDER if SIMULATORS[k].accepts(settings, num_qubits))


__all__ = ["AUTO_ORDER", "SIMULATORS", "AerCircuitSimulator", "CudaSimulator", "DiagonalCost", "NumbaSimulator",
           "PolyPhaseSimulator", "QAOASimulator", "StateVectorSimulator", "simulator_class", "white_probabilities"]
