"""qrp.finance.polish: the tail split shared by ``tail_polish`` and ``kkt_tail_polish``."""

import numpy as np

from qrp.finance.polish import kkt_tail_polish, tail_polish, tail_split

# Max-loss (CVaR with cap >= 1) risk parity of losses M x: scenarios 0 and 1 tie at the maximum at x = (1/2, 1/2)
# (losses 0.6, 0.6, 0.1, 0.15), where q = (1/2, 1/2, 0, 0) and M'q = (0.6, 0.6) give x_i g_i = 0.3 = lambda b_i.
M = np.array([[1.0, 0.2], [0.2, 1.0], [0.1, 0.1], [0.3, 0.0]])
Q0 = np.array([1.0 - 1.5e-6, 1.5e-6, 0.0, 0.0])  # the solver's weights: scenario 1 barely positive
X0, B = np.array([0.5, 0.5]), np.array([0.5, 0.5])
ROWS = {"jx": np.zeros((0, 2)), "jt": np.zeros((0, 0)), "c0": np.zeros(0), "eq": np.zeros(0, dtype=bool)}


def test_tail_split_below_cap_one():
    cap = 0.25
    q0 = np.array([0.25, 0.25 * (1 - 1e-7), 0.2, 1e-8, 0.0, 0.3])  # the split does not need sum 1
    upper, tied = tail_split(q0, cap)
    assert upper.tolist() == [True, True, False, False, False, True]
    assert tied.tolist() == [2]


def test_tail_split_cap_above_one_is_the_maximum():
    """cap = 1 / ((1 - alpha) T) > 1 (alpha > 1 - 1/T) is the maximum: no tail, the 1e-6 threshold is on sum q = 1,
    the same split as cap = 1 (kkt_tail_polish used cap * 1e-6 and dropped scenario 1 here)."""
    for cap in (1.0, 2.0, 1e3):
        upper, tied = tail_split(Q0, cap)
        assert not upper.any() and tied.tolist() == [0, 1]


def test_both_polishes_agree_for_cap_above_one():
    """The CVaR at cap = 2 of these losses is their maximum: both polishes give the cap = 1 answer (before,
    kkt_tail_polish returned None at cap = 2)."""
    ref = kkt_tail_polish(M, Q0, 1.0, X0, np.zeros(0), B, ROWS)
    out = kkt_tail_polish(M, Q0, 2.0, X0, np.zeros(0), B, ROWS)
    assert ref is not None and out is not None
    np.testing.assert_allclose(ref[0], [0.5, 0.5], atol=1e-14)
    assert np.array_equal(out[0], ref[0]) and out[1] == ref[1] and out[2] == ref[2]
    ref_t, out_t = tail_polish(M, X0, Q0, 1.0, B), tail_polish(M, X0, Q0, 2.0, B)
    assert np.array_equal(ref_t[0], out_t[0]) and np.array_equal(ref_t[1], out_t[1])
    np.testing.assert_allclose(out_t[1], [0.5, 0.5, 0.0, 0.0], atol=1e-14)
