"""QAOA mixers: one class each, used by every simulator (``qrp.quantum.simulators``) and by the circuit.

A product mixer B = sum_q h_q has a product top eigenstate |psi_0> (the initial state) and per-qubit evolutions
exp(-i beta h_q), 2x2 unitaries that the state-vector kernels apply pair by pair and the circuit applies as gates:

* ``XMixer``: h_q = X, |psi_0> = |+>^n (Farhi, Goldstone & Gutmann 2014);
* ``WarmStartMixer(thetas)``: h_q = cos(theta_q) Z + sin(theta_q) X, |psi_0> = prod_q RY(theta_q)|0> (Egger,
  Marecek & Woerner 2021, Quantum 5, 479; theta = pi/2 gives ``XMixer``).

A new product mixer is one subclass of ``Mixer``: its initial state, its 2x2 matrices and its gates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


def initial_state(num_qubits: int, thetas: np.ndarray | None = None) -> np.ndarray:
    """|+>^n (``thetas`` None) or the product state prod_i RY(theta_i)|0> (warm start), as complex128."""
    if thetas is None:
        return np.full(1 << num_qubits, 2.0 ** (-num_qubits / 2), dtype=np.complex128)
    psi = np.ones(1, dtype=np.complex128)
    for q in range(num_qubits):  # qubit q is bit q: it becomes the most significant factor so far
        psi = np.kron(np.array([np.cos(thetas[q] / 2), np.sin(thetas[q] / 2)]), psi)
    return psi


def mixer_matrices(beta: float, num_qubits: int, thetas: np.ndarray | None = None) -> np.ndarray:
    """(n, 2, 2) matrices exp(-i beta h_q), h_q = X, or cos(theta_q) Z + sin(theta_q) X (warm start)."""
    c, s = np.cos(beta), np.sin(beta)
    if thetas is None:
        u = np.array([[c, -1j * s], [-1j * s, c]])
        return np.broadcast_to(u, (num_qubits, 2, 2))
    ct, st = np.cos(thetas), np.sin(thetas)
    out = np.empty((num_qubits, 2, 2), dtype=np.complex128)
    out[:, 0, 0] = c - 1j * s * ct
    out[:, 1, 1] = c + 1j * s * ct
    out[:, 0, 1] = out[:, 1, 0] = -1j * s * st
    return out


class Mixer(ABC):
    """A product mixer: ``initial_state``, ``matrices(beta)`` (n, 2, 2) and the circuit's ``prepare`` / ``evolve``.

    ``thetas``: the warm-start angles (None for the standard mixer); the Aer circuit path builds its gates from them.
    """

    thetas: np.ndarray | None = None

    def __init__(self, num_qubits: int):
        self.num_qubits = int(num_qubits)

    @abstractmethod
    def initial_state(self) -> np.ndarray:
        """|psi_0> as a complex128 vector of length 2^n (qubit i = bit i)."""

    def initial_split(self) -> tuple[np.ndarray, np.ndarray]:
        """|psi_0> as C-contiguous float64 (real part, imaginary part), the split kernels' state."""
        psi = self.initial_state()
        return np.ascontiguousarray(psi.real), np.ascontiguousarray(psi.imag)

    @abstractmethod
    def matrices(self, beta: float) -> np.ndarray:
        """(n, 2, 2) complex128, C-contiguous: exp(-i beta h_q) for every qubit q."""

    def hamiltonians(self) -> np.ndarray:
        """(n, 2, 2) complex128: the Hermitian h_q of B = sum_q h_q (for the adjoint gradient); ``NotImplementedError``
        for a mixer that does not give them."""
        raise NotImplementedError(f"{type(self).__name__} does not give its generators h_q")

    @abstractmethod
    def prepare(self, qc) -> None:
        """Append the gates preparing |psi_0> from |0...0> to the qiskit circuit ``qc``."""

    @abstractmethod
    def evolve(self, qc, beta) -> None:
        """Append exp(-i beta B) (``beta`` a number or a qiskit ``Parameter``) to ``qc``."""


class XMixer(Mixer):
    """B = sum_q X_q from |+>^n."""

    def initial_state(self) -> np.ndarray:
        return initial_state(self.num_qubits)

    def initial_split(self) -> tuple[np.ndarray, np.ndarray]:
        size = 1 << self.num_qubits
        return np.full(size, 2.0 ** (-self.num_qubits / 2)), np.zeros(size)

    def matrices(self, beta: float) -> np.ndarray:
        return np.ascontiguousarray(mixer_matrices(float(beta), self.num_qubits), dtype=np.complex128)

    def hamiltonians(self) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.array([[0, 1], [1, 0]], dtype=np.complex128),
                                                    (self.num_qubits, 2, 2)))

    def prepare(self, qc) -> None:
        for q in range(self.num_qubits):
            qc.h(q)

    def evolve(self, qc, beta) -> None:
        for q in range(self.num_qubits):
            qc.rx(2 * beta, q)  # RX(2 beta) = exp(-i beta X)


class WarmStartMixer(Mixer):
    """B = sum_q (cos theta_q Z_q + sin theta_q X_q) from prod_q RY(theta_q)|0>."""

    def __init__(self, thetas: np.ndarray):
        self.thetas = np.asarray(thetas, dtype=np.float64)
        super().__init__(self.thetas.shape[0])

    def initial_state(self) -> np.ndarray:
        return initial_state(self.num_qubits, self.thetas)

    def matrices(self, beta: float) -> np.ndarray:
        return np.ascontiguousarray(mixer_matrices(float(beta), self.num_qubits, self.thetas), dtype=np.complex128)

    def hamiltonians(self) -> np.ndarray:
        ct, st = np.cos(self.thetas), np.sin(self.thetas)
        out = np.empty((self.num_qubits, 2, 2), dtype=np.complex128)
        out[:, 0, 0], out[:, 1, 1] = ct, -ct
        out[:, 0, 1] = out[:, 1, 0] = st
        return out

    def prepare(self, qc) -> None:
        for q in range(self.num_qubits):
            qc.ry(float(self.thetas[q]), q)

    def evolve(self, qc, beta) -> None:
        for q in range(self.num_qubits):  # RY(theta) RZ(2 beta) RY(-theta) = exp(-i beta (cos theta Z + sin theta X))
            qc.ry(-float(self.thetas[q]), q)
            qc.rz(2 * beta, q)
            qc.ry(float(self.thetas[q]), q)


def mixer_for(num_qubits: int, thetas: np.ndarray | None = None) -> Mixer:
    """``XMixer`` (``thetas`` None) or ``WarmStartMixer(thetas)``."""
    return XMixer(num_qubits) if thetas is None else WarmStartMixer(thetas)


__all__ = ["Mixer", "WarmStartMixer", "XMixer", "initial_state", "mixer_for", "mixer_matrices"]
