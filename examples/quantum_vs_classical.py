"""
# Quantum vs classical on one small problem

Exact enumeration, simulated annealing and QAOA inside iterative refinement, against the classical solver, on a
3-asset problem (2 bits per asset: 6 qubits), seeded. The studies (`qrp run experiments/quickstart.toml`) do the
same over grids of sizes, bits, rounds and depths, against null baselines.

Run: `python examples/quantum_vs_classical.py` (seconds; the test suite runs it).
"""

# %%
# Every solver is a name passed to `qrp.risk_parity` and returns the same `RiskParityResult`.
import matplotlib.pyplot as plt

import qrp

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

# %%
# Each refinement round solves a discrete problem on a box around the previous answer; `history` keeps every
# round's rc_error. The classical solver's rc_error is the dashed line.
fig, ax = plt.subplots(figsize=(7, 4))
for (name, res), style in zip(rows[1:], ["o-", "x--", "s:"], strict=True):  # exact and sa coincide here
    ax.semilogy([h.round + 1 for h in res.history], [h.rc_error for h in res.history], style, label=name, ms=8)
ax.axhline(max(classical.rc_error, 1e-16), ls="--", color="k", label="classical (auto)")
ax.set_xticks(range(1, 6))
ax.set_xlabel("refinement round")
ax.set_ylabel("rc_error")
ax.legend()
fig.tight_layout()
