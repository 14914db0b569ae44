"""Classical baseline: ERC, risk budgets, bounds and constraints on the bundled 8-asset covariance.

Run: ``python examples/classical_baseline.py`` (a second or two; the test suite runs it).
"""

import numpy as np

import qrp


def main() -> None:
    cov = qrp.example_covariance()  # 8 asset classes, annualized
    erc = qrp.risk_parity(cov)
    print(erc)
    print(erc.to_frame().round(4))

    budgets = np.array([0.2, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1])
    rb = qrp.risk_parity(cov, budgets, bounds=(0.0, 0.3), target_volatility=0.10)
    print(f"risk budgets with w <= 0.3 at 10% volatility: rc_error {rb.rc_error:.2e}, volatility {rb.volatility:.4f}")

    # Richard & Roncalli constrained risk budgeting: Treasuries and corporate bonds together at most 40%
    con = qrp.constrained_risk_budgeting(cov, groups={"bonds": (["US_Treasury", "Corp_Bond"], None, 0.4)})
    shares = con.risk_contributions / con.risk_contributions.sum()
    print(f"bonds <= 40% (ERC has {erc.weights[3:5].sum():.1%}): bonds {con.weights[3:5].sum():.6f}, "
          f"converged {con.converged}, risk shares {np.round(shares, 4)}")

if __name__ == "__main__":
    main()
