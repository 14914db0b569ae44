"""The ``qrp`` program (the console script and ``python -m qrp``): ``qrp.cli.main`` after the one setting that has to
come before numpy is imported.

``qrp run`` starts its worker processes by forking the parent (``qrp.studies.runner``). When the parent's OpenBLAS
has a thread pool at that moment, the forked workers' classical timings are disturbed, although every timed call
runs on one BLAS thread (threadpoolctl): with two workers on two cores, one classical point of a quickstart run took
5-17 ms instead of 0.02-1.4 ms (slsqp, newton or auto, a different point each time). Such points (over 3 ms; 2-core
sandbox, 2026-12-08): 3 in 8 runs and 4 in 6 as before; 0 in 8 and 0 in 12 runs with ``OPENBLAS_NUM_THREADS=1`` set
before the process started; 0 in 6 with spawned workers (1.4 s slower a run); 3 in 12 with the parent's BLAS limited
through threadpoolctl before forking. Runs with one, interleaved, 8 runs each at load 1.3-1.8: this entry 0, the
variable set before the process 1, the entry before it 4. OpenBLAS reads ``OPENBLAS_NUM_THREADS`` when it is loaded,
so ``qrp run`` sets it to 1 before numpy loads, unless the caller set it. Its rows do not change (their timed calls
already ran on one BLAS thread; the quickstart's rows equal the committed ones); every other command keeps BLAS's
default.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    """Run ``qrp`` on this process's command line (``qrp.cli.main``), OpenBLAS on one thread for ``qrp run``."""
    if sys.argv[1:2] == ["run"] and "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from qrp.cli import main as cli_main  # after the setting: qrp.cli imports numpy

    return cli_main()


__all__ = ["main"]
