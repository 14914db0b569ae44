"""Solver "exact": chunked enumeration against an independent brute force."""

import itertools

import numpy as np
import pytest

import qrp
from qrp.data.synthetic import random_covariance
from qrp.discrete.exact import exact_minimum


def brute_force(cov, budgets, lo, hi, bits, formulation, log_coef, penalty_weight):
    """Independent: loop over every assignment, decode by hand, evaluate the formulas of the docstring."""
    n_assets = len(lo)
    step = (hi - lo) / (2**bits - 1)
    best, arg, ties = np.inf, None, 0
    for bits_tuple in itertools.product((0, 1), repeat=n_assets * bits):
        x = np.array(bits_tuple)
        v = np.array([lo[i] + step[i] * sum(2**k * x[i * bits + k] for k in range(bits)) for i in range(n_assets)])
        if formulation == "log_barrier":
            d = v - lo
            e = 0.5 * v @ cov @ v + sum(log_coef[i, 0] + log_coef[i, 1] * d[i] + log_coef[i, 2] * d[i] ** 2
                                        for i in range(n_assets))
        else:
            rc = v * (cov @ v) / (n_assets * budgets)
            e = sum((rc[i] - rc[j]) ** 2 for i in range(n_assets) for j in range(n_assets))
            e += penalty_weight * (v.sum() - 1) ** 2
        if e < best - 1e-12 * abs(e):
            best, arg, ties = e, x, 1
        elif abs(e - best) <= 1e-12 * abs(e):
            ties += 1
    return arg, best, ties


@pytest.mark.parametrize(("formulation", "n_assets", "bits"), [("log_barrier", 3, 3), ("pairwise", 3, 2),
                                                                  ("log_barrier", 5, 2)])
def test_exact_matches_brute_force(formulation, n_assets, bits):
    cov = random_covariance(n_assets, 11)
    b = np.linspace(1, 2, n_assets) / np.linspace(1, 2, n_assets).sum()
    p = qrp.discretize(cov, bits, formulation=formulation, budgets=b)
    lo, hi = p.box
    arg, best, ties = brute_force(cov, b, lo, hi, bits, formulation, p.log_coef, p.penalty_weight)
    sample, energy, degeneracy, _ = exact_minimum(p)
    assert energy == pytest.approx(best, rel=1e-12)
    np.testing.assert_array_equal(sample, arg)
    assert degeneracy == ties == 1


def test_exact_blocks_cover_every_state(monkeypatch):
    # force many small blocks so the block loop (high bits) is exercised
    import qrp.discrete.exact as ex

    monkeypatch.setattr(ex, "BLOCK_ELEMENTS", 8)
    p = qrp.discretize(random_covariance(4, 12), 3)
    x = ((np.arange(2**12)[:, None] >> np.arange(12)) & 1)
    e = p.energies(x)
    sample, energy, degeneracy, _ = exact_minimum(p)
    assert energy == pytest.approx(e.min(), rel=1e-12)
    assert degeneracy == 1
    np.testing.assert_array_equal(sample, x[np.argmin(e)])


def test_degeneracy_is_counted():
    # two identical uncorrelated assets with a symmetric box: levels of equal energy swap -> a symmetric problem
    cov = np.diag([0.04, 0.04])
    p = qrp.discretize(cov, 1, formulation="pairwise", box=([0.25, 0.25], [0.75, 0.75]))
    _, energy, degeneracy, _ = exact_minimum(p)
    e = p.energies(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))
    assert energy == pytest.approx(e.min())
    assert degeneracy == 2  # (0,1) and (1,0) tie


def test_exact_through_risk_parity_one_shot_equals_discretize():
    cov = random_covariance(4, 13)
    res = qrp.risk_parity(cov, solver="exact", bits=3)
    p = qrp.discretize(cov, 3)
    sample, energy, _, _ = exact_minimum(p)
    assert res.iterations == 1 and len(res.history) == 1
    assert res.energy == pytest.approx(energy, rel=1e-12)
    np.testing.assert_allclose(res.weights, p.decode(sample))
    assert res.num_qubits == 12
    assert res.rc_error == pytest.approx(qrp.rc_error(res.weights, cov))


def test_exact_refuses_large_before_work():
    cov = random_covariance(7, 0)
    with pytest.raises(ValueError, match=r"2\^28 .*max_qubits = 26.*GiB"):
        qrp.risk_parity(cov, solver="exact", bits=4)
    with pytest.raises(ValueError, match="max_qubits"):
        exact_minimum(qrp.discretize(cov, 2), max_qubits=10)


def _all_states(n):
    return (np.arange(2**n)[:, None] >> np.arange(n)) & 1


@pytest.mark.parametrize("formulation", ["log_barrier", "pairwise"])
@pytest.mark.parametrize(("n_assets", "bits", "symmetric"), [(2, 3, False), (3, 3, False), (5, 2, False),
                                                            (4, 2, True), (2, 3, True)])
def test_meet_in_the_middle_equals_brute_force(monkeypatch, formulation, n_assets, bits, symmetric):
    # brute force over problem.relative_energies: same minimum, a minimizer within the tolerance and the same
    # degeneracy count (with the tolerance exact_minimum reports); symmetric = identical uncorrelated assets on the
    # default box, whose levels tie (log_barrier: the box is centred on each asset's own minimizer, so the two middle
    # levels tie; pairwise: permuting levels between assets), so the minimum is degenerate; tiny blocks force the
    # high-bit loop
    import qrp.discrete.exact as ex

    cov = np.diag(np.full(n_assets, 0.04)) if symmetric else random_covariance(n_assets, 21)
    p = qrp.discretize(cov, bits, formulation=formulation)
    x = _all_states(p.num_qubits)
    e = p.relative_energies(x)
    for block in (ex.BLOCK_ELEMENTS, 4):
        monkeypatch.setattr(ex, "BLOCK_ELEMENTS", block)
        sample, energy, degeneracy, atol = exact_minimum(p)
        assert p.relative_energies(sample[None, :])[0] <= e.min() + atol
        assert energy == pytest.approx(p.energy(sample), rel=1e-15)
        assert degeneracy == np.count_nonzero(e <= e.min() + atol)
        if symmetric:
            assert degeneracy > 1
        if degeneracy == 1:
            np.testing.assert_array_equal(sample, x[np.argmin(e)])


@pytest.mark.parametrize(("n_assets", "bits", "symmetric"), [(2, 3, True), (3, 3, True), (3, 2, False), (4, 2, True)])
def test_tied_unary_minima_listed_in_blocks(monkeypatch, n_assets, bits, symmetric):
    """The tied level combinations streamed block by block (4 states a block) are those of the whole twin
    enumerated at once, so the unary degeneracy is unchanged: sum over ties of prod_i C(2^K - 1, m_i)."""
    import math

    import qrp.discrete.exact as ex

    cov = np.diag(np.full(n_assets, 0.04)) if symmetric else random_covariance(n_assets, 5)
    p = qrp.discretize(cov, bits, encoding="unary")
    twin = p.binary_twin()
    x = _all_states(twin.num_qubits)
    e = twin.relative_energies(x)
    atol = exact_minimum(twin)[3]
    whole = twin.levels(x[e <= e.min() + atol])
    monkeypatch.setattr(ex, "TIE_BLOCK", 4)
    np.testing.assert_array_equal(ex._tied_levels(twin, atol), whole)
    q = 2**bits - 1
    assert exact_minimum(p)[2] == sum(math.prod(math.comb(q, int(m)) for m in row) for row in whole)
    if symmetric:
        assert len(whole) > 1


def test_tied_unary_minima_at_a_20_qubit_twin_in_bounded_memory():
    """5 identical assets, K = 4: levels 7 and 8 tie on each asset (2^5 combinations), each with C(15, 7)^5 unary
    strings. Before: the whole 2^20-state twin was listed (528 MiB traced peak) and the int64 product overflowed."""
    import math
    import tracemalloc

    p = qrp.discretize(np.diag(np.full(5, 0.04)), 4, encoding="unary")
    exact_minimum(p.binary_twin(), max_qubits=20)  # compiled outside the traced call
    tracemalloc.start()
    try:
        sample, _, degeneracy, _ = exact_minimum(p, max_qubits=p.num_qubits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert degeneracy == 32 * math.comb(15, 7) ** 5
    assert sorted(set(p.levels(sample))) <= [7, 8]
    assert peak < 32 * 2**20
