"""Where a study's CPU goes: ``qrp run CONFIG --out OUT --workers 1`` in this process, its CPU seconds charged to
one category at a time (issue 23.3, "a study spends >= 80% of its CPU in solvers").

Categories, exclusive (a call's time goes to the innermost category it is in; ``time.process_time``: every thread
of the process, so BLAS or transpiler threads count where their caller is):

* ``solver``: inside ``SolverSpec.solve``, the registry's one entry point of every solver (classical solvers,
  the discrete driver with its refinement rounds, QAOA's optimizer and state evolutions, annealing, exact
  enumeration): the run's solves, their classical baselines, exact references and the runner's warm-up solves;
* ``resources``: the circuit resource count (``qrp.quantum.circuits._transpiled_resources``: two qiskit
  transpiles), bookkeeping for the row, not solving, even though the "qaoa" solver calls it;
* ``import``: module imports (``importlib._bootstrap._find_and_load``), wherever they happen;
* ``numba``: numba dispatchers loading (or compiling) a kernel for new argument types (``_compile_for_args``);
* ``interpreter``: the interpreter's start before this module took over (total minus the rest);
* ``other``: everything else (the grid and configuration, covariances, rows, the parquet journal, the summary).

The share in solvers is ``solver / (total - import - numba - interpreter)``: of the CPU the study spends beyond a
process's start-up (which does not grow with the study), the part spent solving; ``solver / total`` (start-up
included) is printed beside it.

    python -m benchmarks.study_share experiments/quickstart.toml OUT   # prints one JSON object
"""

from __future__ import annotations

import importlib._bootstrap as bootstrap
import json
import resource
import sys
import time
from collections import defaultdict
from functools import wraps

CATEGORIES = ("solver", "resources", "import", "numba", "interpreter", "other")


class Ledger:
    """Exclusive CPU seconds per category: a stack of the categories entered; each clock reading is charged to the
    top of the stack."""

    def __init__(self):
        self.cpu: dict[str, float] = defaultdict(float)
        self.stack = ["other"]
        self.last = time.process_time()

    def charge(self) -> None:
        now = time.process_time()
        self.cpu[self.stack[-1]] += now - self.last
        self.last = now

    def wrap(self, category: str, func):
        @wraps(func)
        def wrapped(*args, **kwargs):
            self.charge()
            self.stack.append(category)
            try:
                return func(*args, **kwargs)
            finally:
                self.charge()
                self.stack.pop()

        return wrapped


def process_cpu() -> float:
    """User + system CPU seconds of this process (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(config: str, out: str) -> dict[str, float]:
    """Run the study ``config`` into ``out`` (one worker) with the ledger installed; CPU seconds per category,
    ``total`` and the two shares."""
    ledger = Ledger()
    bootstrap._find_and_load = ledger.wrap("import", bootstrap._find_and_load)
    from numba.core.dispatcher import _DispatcherBase

    _DispatcherBase._compile_for_args = ledger.wrap("numba", _DispatcherBase._compile_for_args)
    from qrp.core.registry import SolverSpec
    from qrp.quantum import circuits

    SolverSpec.solve = ledger.wrap("solver", SolverSpec.solve)
    circuits._transpiled_resources = ledger.wrap("resources", circuits._transpiled_resources)
    from qrp.cli import main

    code = main(["run", config, "--out", out, "--workers", "1"])
    ledger.charge()
    if code:
        raise SystemExit(f"qrp run exited {code}")
    total = process_cpu()
    cpu = {k: ledger.cpu.get(k, 0.0) for k in CATEGORIES if k != "interpreter"}
    cpu["interpreter"] = max(total - sum(cpu.values()), 0.0)
    startup = cpu["import"] + cpu["numba"] + cpu["interpreter"]
    return {**cpu, "total": total, "share": cpu["solver"] / (total - startup), "share_all": cpu["solver"] / total,
            "resources_share": cpu["resources"] / (total - startup)}


if __name__ == "__main__":
    result = measure(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    print("STUDY_SHARE " + json.dumps(result))
