"""The memory guard: an allocation is refused (``ValueError``, before anything is allocated) when its estimated size
exceeds a share of the physical memory available now, so that a too-large request fails at once instead of
exhausting the machine (annealing schedules, synthetic covariances, dimod's exact enumeration).
"""

from __future__ import annotations

import os

#: Share of the available memory one allocation checked by ``check_memory`` may take.
MEMORY_SHARE = 0.5


def available_memory() -> int:
    """Bytes of physical memory available now (``sysconf``; 8 GiB where the system does not say)."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def memory_budget() -> float:
    """Bytes one allocation may take: ``MEMORY_SHARE`` of ``available_memory()``."""
    return MEMORY_SHARE * available_memory()


def check_memory(nbytes: float, what: str) -> None:
    """``ValueError`` (before anything is allocated) when ``nbytes`` (an estimate: what ``what`` would allocate)
    exceeds ``memory_budget()``, quoting both in GiB."""
    limit = memory_budget()
    if nbytes > limit:
        raise ValueError(f"{what} would need {nbytes / 2**30:.3g} GiB of memory; {limit / 2**30:.3g} GiB (half of "
                         "what is available) is the limit")


__all__ = ["MEMORY_SHARE", "available_memory", "check_memory", "memory_budget"]
