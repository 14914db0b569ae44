"""The QAOA memory guard: how many qubits an exact state vector may hold on this machine (``max_qubits``), checked
before anything is allocated (``statevector.memory_needed``: ``BYTES_PER_AMPLITUDE`` bytes per amplitude)."""

from __future__ import annotations

import os

from qrp.quantum import statevector as sv
from qrp.quantum.engine_options import MAX_QUBITS


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
    limit = default_max_qubits() if max_qubits is None else MAX_QUBITS.check(max_qubits)
    if num_qubits > limit:
        need = sv.memory_needed(num_qubits)
        raise ValueError(
            f"QAOA on {num_qubits} qubits would need {need / 2**30:.3g} GiB for the state vector "
            f"({sv.BYTES_PER_AMPLITUDE} bytes x 2^{num_qubits}); the limit is max_qubits={limit}"
        )


__all__ = ["check_qubits", "default_max_qubits"]
