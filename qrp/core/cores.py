"""The cores this process may use, and the rule for "a second core is free", shared by the work that may run beside
the caller's: ``qrp.studies.report``'s forked drawer and the default call's certificate thread
(``qrp.classical.default``)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the platform has one, else the CPU count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def core_left(cores: int, load: float) -> bool:
    """Whether a second core is free: ``cores`` >= 2 and the 1-minute ``load`` average + 1 <= ``cores``."""
    return cores > 1 and load + 1.0 <= cores


__all__ = ["core_left", "usable_cores"]
