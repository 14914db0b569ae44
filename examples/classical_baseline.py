"""
# Classical baseline: ERC, risk budgets, bounds and constraints

The bundled 8-asset covariance solved by `qrp.risk_parity` (equal risk contribution, then risk budgets with weight
bounds at a target volatility) and by `qrp.constrained_risk_budgeting` (a group constraint).

Run: `python examples/classical_baseline.py` (a second or two; the test suite runs it).
"""

# %%
# Equal risk contribution: every asset carries 1/8 of the portfolio's volatility.
import matplotlib.pyplot as plt
import numpy as np

import qrp

cov = qrp.example_covariance()  # 8 asset classes, annualized
erc = qrp.risk_parity(cov)
print(erc)
print(erc.to_frame().round(4))

# %%
# Risk budgets (twice the budget for US equity and Treasuries), every weight at most 30%, scaled to 10% volatility.
budgets = np.array([0.2, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1])
rb = qrp.risk_parity(cov, budgets, bounds=(0.0, 0.3), target_volatility=0.10)
print(f"risk budgets with w <= 0.3 at 10% volatility: rc_error {rb.rc_error:.2e}, volatility {rb.volatility:.4f}")

# %%
# Richard & Roncalli constrained risk budgeting: Treasuries and corporate bonds together at most 40%.
con = qrp.constrained_risk_budgeting(cov, groups={"bonds": (["US_Treasury", "Corp_Bond"], None, 0.4)})
shares = con.risk_contributions / con.risk_contributions.sum()
print(f"bonds <= 40% (ERC has {erc.weights[3:5].sum():.1%}): bonds {con.weights[3:5].sum():.6f}, "
      f"converged {con.converged}, risk shares {np.round(shares, 4)}")

# %%
# Weights and risk shares of the three portfolios: ERC's risk shares are equal, the constrained portfolio moves
# weight out of bonds and its bond risk shares fall below their budgets, as its KKT conditions say.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
x = np.arange(len(cov))
for k, (name, res) in enumerate([("ERC", erc), ("budgets, w <= 0.3", rb), ("bonds <= 40%", con)]):
    w = res.weights / res.weights.sum()
    left.barh(x + (k - 1) * 0.27, w, height=0.27, label=name)
    right.barh(x + (k - 1) * 0.27, res.risk_contributions / res.risk_contributions.sum(), height=0.27, label=name)
left.set_yticks(x, cov.columns)
left.set_xlabel("weight (fraction of the fully invested portfolio)")
right.set_xlabel("risk share RC_i / sum RC")
right.legend(loc="lower right")
fig.tight_layout()
