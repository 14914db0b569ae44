"""QAOA on a heavy-hex device, transpile only: two-qubit depth and estimated circuit fidelity against n.

For n = N x 2 bits qubits (synthetic 3-factor covariance, seed 0, the default box: a dense ERC QUBO, every pair of
qubits coupled), the depth-p QAOA circuit of ``qrp.discrete.qaoa`` (``problem.to_ising()``; the coefficients only
set rotation angles, so one instance stands for the family) is transpiled for a fake IBM backend (FakeTorino, 133
qubits, Heron r1 heavy-hex, CZ; or FakeFez) by qiskit's preset pass manager at ``optimization_level`` 1, seed 0:
SWAP routing on the heavy-hex coupling map. Recorded: depth, two-qubit depth (layers holding a two-qubit gate),
two-qubit gate count, and the estimated circuit fidelity F = prod_g (1 - e_g) over the calibrated errors of its
gates on the physical qubits they act on (``qrp.quantum.device_model.error_budget``: the global white-noise model,
Dalzell, Hunter-Jones & Brandao 2021), with the mean readout error. Nothing is simulated.

Indistinguishable from noise: under that model the measured distribution is F p + (1 - F) u; its total-variation
distance from uniform u is F x TV(p, u) <= F, and a test on S shots separates it from u only when F TV >~ 1/sqrt(S).
So with S = 10^5 shots (minutes of device time) the output is indistinguishable from noise once F < ~3e-3 whatever
the ideal p; the table marks the first n where F < 1e-2 and F < 1e-3. "faulty gates": gates the router placed on
a coupler or qubit whose calibrated error is >= ``FAULTY`` (FakeTorino marks 11 CZ couplers at error 1.0; the
preset pass manager does not exclude them), each of which alone makes F ~ 1e-15.

    python -m benchmarks.hardware_fidelity [--backend FakeTorino] [--reps 1 3] [--qubits 8 12 16 ... 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_tables
from qrp.core.provenance import package_versions
from qrp.data.synthetic import factor_covariance
from qrp.discrete.problem import discretize
from qrp.quantum.circuits import qaoa_circuit
from qrp.quantum.device_model import TWO_QUBIT_GATES, error_budget
from qrp.quantum.primitives import resolve_backend
from qrp.studies.render import save_figure

QUBITS = (8, 12, 16, 20, 24, 28, 32, 40, 50, 64, 80, 100)
BITS = 2
#: calibrated error from which a gate counts as faulty (FakeTorino lists 22 CZ directions at error 1.0).
FAULTY = 0.5


def measure(n: int, reps: int, backend) -> dict:
    """One row: transpile the depth-``reps`` QAOA circuit of n qubits for ``backend`` and read its error budget."""
    from qiskit.transpiler import generate_preset_pass_manager  # qiskit (heavy): this benchmark only

    problem = discretize(factor_covariance(n // BITS, seed=0), BITS)
    op, _ = problem.to_ising()
    qc = qaoa_circuit(op / float(np.sqrt(np.sum(np.abs(op.coeffs) ** 2))), reps)[0]
    qc.measure_all()
    t0 = time.perf_counter()
    routed = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=0).run(qc)
    seconds = time.perf_counter() - t0
    bound = routed.assign_parameters([0.1] * len(routed.parameters))
    budget = error_budget(bound, backend)
    ops = routed.count_ops()
    target = backend.target
    faulty = sum(1 for inst in bound.data if inst.operation.name in target.operation_names
                 and (props := target[inst.operation.name].get(tuple(bound.find_bit(q).index for q in inst.qubits)))
                 is not None and props.error is not None and props.error >= FAULTY)
    return {"faulty_gates": faulty, "n": n, "p": reps, "terms": len(op), "depth": int(routed.depth()),
            "two_qubit_depth": int(routed.depth(filter_function=lambda inst: inst.operation.num_qubits == 2)),
            "two_qubit_gates": int(sum(ops.get(g, 0) for g in TWO_QUBIT_GATES)), "fidelity": budget["fidelity"],
            "mean_readout_error": float(np.mean(budget["readout"])), "transpile_s": round(seconds, 2)}


def _fid(f: float) -> str:
    return f"{f:.3g}" if f > 0 else "< 1e-300 (underflow)"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="FakeTorino")
    ap.add_argument("--reps", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--qubits", type=int, nargs="+", default=list(QUBITS))
    ap.add_argument("--max-qubits-deep", type=int, default=40, help="largest n transpiled at p > 1")
    ap.add_argument("--out", default="benchmarks/results/hardware_fidelity")
    args = ap.parse_args(argv)
    backend = resolve_backend(args.backend)
    rows = []
    for reps in args.reps:
        for n in args.qubits:
            if reps > 1 and n > args.max_qubits_deep:
                continue
            rows.append(measure(n, reps, backend) | {"backend": backend.name})
            r = rows[-1]
            print(f"{backend.name} n={n} p={reps}: depth {r['depth']}, 2q depth {r['two_qubit_depth']}, "
                  f"2q gates {r['two_qubit_gates']}, F = {r['fidelity']:.3g} ({r['transpile_s']} s, load "
                  f"{os.getloadavg()[0]:.1f})", flush=True)
    lines = [f"# QAOA transpiled for {backend.name} (heavy-hex), optimization_level 1: depth and estimated fidelity",
             "", "`python -m benchmarks.hardware_fidelity " + " ".join(_args(argv)) + "`; versions: "
             + ", ".join(f"{k} {v}" for k, v in package_versions().items() if k in ("qiskit", "qrp")) + ".", "",
             "| n | p | Z terms | depth | 2q depth | 2q gates | faulty gates | F = prod(1 - e_g) | mean readout err. |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['n']} | {r['p']} | {r['terms']} | {r['depth']} | {r['two_qubit_depth']} | {r['two_qubit_gates']} "
              f"| {r['faulty_gates']} | {_fid(r['fidelity'])} | {r['mean_readout_error']:.4f} |" for r in rows]
    lines.append("")
    for reps in args.reps:
        sub = [r for r in rows if r["p"] == reps]
        for thr in (1e-2, 1e-3):
            first = next((r["n"] for r in sub if r["fidelity"] < thr), None)
            lines.append(f"- p = {reps}: F < {thr:g} from n = {first if first is not None else 'beyond the grid'}")
    out = Path(args.out)
    write_tables(out, "\n".join(lines) + "\n", rows)
    _plot(rows, out.with_suffix(".png"), backend.name)
    print("\n".join(lines))


def _plot(rows: list[dict], path: Path, name: str) -> None:
    import matplotlib  # heavy: only when drawing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for reps in sorted({r["p"] for r in rows}):
        sub = [r for r in rows if r["p"] == reps]
        a1.plot([r["n"] for r in sub], [r["two_qubit_depth"] for r in sub], "o-", label=f"p = {reps}")
        a2.plot([r["n"] for r in sub], [max(r["fidelity"], 1e-40) for r in sub], "o-", label=f"p = {reps}")
    a1.set_xlabel("qubits n")
    a1.set_ylabel("two-qubit depth after routing")
    a1.set_yscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("qubits n")
    a2.set_ylabel("estimated circuit fidelity F (clipped at 1e-40)")
    a2.set_ylim(1e-41, 2.0)
    for thr in (1e-2, 1e-3):
        a2.axhline(thr, color="grey", lw=0.6, ls="--")
    for ax in (a1, a2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"dense ERC QAOA on {name} (transpiled, not simulated)", fontsize=10)
    save_figure(fig, path)


def _args(argv) -> list[str]:
    return sys.argv[1:] if argv is None else list(argv)


if __name__ == "__main__":
    main()
