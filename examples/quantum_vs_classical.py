"""Quantum vs classical on one small problem: exact enumeration, simulated annealing and QAOA inside iterative
refinement, against the classical solver and against a random-sampling null baseline is what the studies do; this
script shows the calls on a 3-asset problem (6 qubits), seeded.

Run: ``python examples/quantum_vs_classical.py`` (seconds; the test suite runs it). Full studies:
``qrp run experiments/quickstart.toml``.
"""

import qrp


def main() -> None:
    cov = qrp.example_covariance().iloc[:3, :3]
    classical = qrp.risk_parity(cov)
    rows = [("classical (auto)", classical)]
    rows.append(("exact, 2 bits, 5 rounds", qrp.risk_parity(cov, solver="exact", bits=2, rounds=5)))
    rows.append(("sa, 2 bits, 5 rounds", qrp.risk_parity(cov, solver="sa", bits=2, rounds=5, seed=1)))
    rows.append(("qaoa p=1, 2 bits, 2 rounds", qrp.risk_parity(cov, solver="qaoa", bits=2, rounds=2, reps=1, seed=1)))
    print(f"{'solver':<28} {'rc_error':>10} {'max |w - w_classical|':>22} {'qubits':>7}")
    for name, res in rows:
        dist = float(abs(res.weights - classical.weights).max())
        print(f"{name:<28} {res.rc_error:>10.2e} {dist:>22.2e} {res.num_qubits or '':>7}")


if __name__ == "__main__":
    main()
