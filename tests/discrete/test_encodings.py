"""Encodings (qrp.discrete.encodings): round trips, exports equal to the energy, every solver's decoded weights equal
to exact enumeration's on small problems, domain_wall's penalty and the landscape table."""

from math import comb

import numpy as np
import pytest

import qrp
from qrp.data.synthetic import factor_covariance
from qrp.discrete.encodings import ENCODINGS, Encoding, encoding_table, qubits_per_asset
from qrp.discrete.exact import exact_minimum


@pytest.fixture(scope="module")
def cov():
    return np.asarray(factor_covariance(3, n_factors=3, seed=2))


def _all(n):
    return (np.arange(2**n)[:, None] >> np.arange(n)) & 1


@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("bits", [1, 2, 3])
def test_round_trip(name, bits):
    enc = Encoding(name, bits)
    m = np.arange(2**bits)
    x = enc.encode(m)
    assert x.shape == (2**bits, qubits_per_asset(name, bits))
    np.testing.assert_array_equal(enc.decode(x), m)
    assert not enc.violations(x).any()
    # every string decodes to a level in range; the canonical strings are distinct
    assert len({tuple(r) for r in x.tolist()}) == 2**bits
    strings = _all(enc.qubits)
    assert set(enc.decode(strings).tolist()) == set(m.tolist())
    # the multilinear coefficients reproduce the decoding on every string
    masks = np.arange(2**enc.qubits)
    sub = ((masks[None, :] & ~np.arange(2**enc.qubits)[:, None]) == 0)  # subset S of string x's ones
    np.testing.assert_allclose(sub.astype(float) @ enc.coefficients, enc.decode(strings))


def test_gray_neighbours_differ_in_one_bit():
    x = Encoding("gray", 3).encode(np.arange(8))
    assert (np.abs(np.diff(x, axis=0)).sum(axis=1) == 1).all()
    np.testing.assert_array_equal(Encoding("binary", 2).encode([2]), [[0, 1]])


def test_qubits_and_unknown():
    assert [qubits_per_asset(e, 3) for e in ENCODINGS] == [3, 3, 7, 7]
    with pytest.raises(ValueError, match="encoding must be one of"):
        qubits_per_asset("onehot", 2)
    with pytest.raises(ValueError, match="encoding"):
        qrp.discretize(np.eye(2), 2, encoding="onehot")
    with pytest.raises(ValueError, match="needs formulation='log_barrier'"):
        qrp.discretize(np.eye(2), 2, encoding="gray", formulation="pairwise")
    with pytest.raises(ValueError, match="needs formulation='log_barrier'"):
        qrp.risk_parity(np.eye(2), solver="exact", encoding="unary", formulation="pairwise")


@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("bits", [1, 2])
def test_exports_equal_energy_and_exact(cov, name, bits):
    p = qrp.discretize(cov, bits, encoding=name)
    assert p.num_qubits == 3 * qubits_per_asset(name, bits)
    x = _all(p.num_qubits)
    e = p.energies(x)
    off, terms = p.polynomial
    poly = off + sum((x[:, idx].prod(axis=2) * c).sum(axis=1) for idx, c in terms.values())
    np.testing.assert_allclose(poly, e, rtol=0, atol=1e-12)
    op, o2 = p.to_ising()
    z = 1 - 2 * x
    ising = o2 + sum(c.real * z[:, pl.z].prod(axis=1) for pl, c in zip(op.paulis, op.coeffs, strict=True))
    np.testing.assert_allclose(ising, e, rtol=0, atol=1e-12)
    x0, e0, degeneracy, atol = exact_minimum(p)
    assert e0 == pytest.approx(e.min(), abs=1e-13)
    assert degeneracy == int((e <= e.min() + atol).sum())
    # the levels (hence weights) of the minimum are those of the binary problem
    b = qrp.discretize(cov, bits)
    np.testing.assert_array_equal(p.levels(x0), b.levels(exact_minimum(b)[0]))
    if name == "unary" and bits == 2:
        lv = p.levels(x0)
        assert degeneracy == np.prod([comb(3, int(m)) for m in lv])


def test_domain_wall_penalty(cov):
    p = qrp.discretize(cov, 2, encoding="domain_wall")
    assert p.encoding_penalty.shape == (3,) and (p.encoding_penalty > 0).all()
    valid = p.sample_of_levels(np.array([1, 2, 0]))
    bad = valid.copy()
    bad[[0, 1]] = [0, 1]  # asset 0: "01" + "0": weight 1, one violation
    assert p.levels(bad)[0] == p.levels(valid)[0]
    assert p.energy(bad) - p.energy(valid) == pytest.approx(p.encoding_penalty[0], rel=1e-12)
    assert p.objective(p.values(bad)) == pytest.approx(p.objective(p.values(valid)), rel=1e-14)


@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("solver", ["sa", "random", "greedy", "rounding", "tabu", "qaoa"])
def test_every_solver_finds_exact_weights(cov, name, solver):
    ref = qrp.risk_parity(cov, solver="exact", bits=2, encoding=name, rounds=1)
    extra = {"reps": 3} if solver == "qaoa" else {}
    res = qrp.risk_parity(cov, solver=solver, bits=2, encoding=name, rounds=1, seed=0, **extra)
    np.testing.assert_allclose(res.weights, ref.weights, rtol=0, atol=1e-12)
    assert res.stats.get("encoding", "binary") == name


@pytest.mark.parametrize("name", ENCODINGS)
def test_refinement_runs_each_encoding(cov, name):
    res = qrp.risk_parity(cov, solver="exact", bits=2, encoding=name, rounds=8, tol=0.0)
    ref = qrp.risk_parity(cov, solver="exact", bits=2, rounds=8, tol=0.0)
    np.testing.assert_allclose(res.weights, ref.weights, rtol=0, atol=1e-12)


def test_encoding_table(cov):
    rows = {e: encoding_table(qrp.discretize(cov, 2, encoding=e), starts=200) for e in ENCODINGS}
    assert rows["gray"]["qubits_per_asset"] == 2 and rows["unary"]["qubits_per_asset"] == 3
    assert rows["binary"]["ground_degeneracy"] == rows["gray"]["ground_degeneracy"] == 1
    assert rows["domain_wall"]["ground_degeneracy"] == 1 and rows["unary"]["ground_degeneracy"] > 1
    for r in rows.values():
        assert r["local_minima"] >= r["ground_degeneracy"]
        assert 0.0 <= r["descent_success"] <= 1.0


@pytest.mark.parametrize("strategy", ["fixed", "ramp"])
@pytest.mark.parametrize("name", ["binary", "domain_wall"])
def test_fixed_strategies_evaluate_nothing(cov, strategy, name):
    from qrp.discrete.angles import fixed_angles, linear_ramp
    from qrp.discrete.qaoa import qaoa_sampler

    p = qrp.discretize(cov, 2, encoding=name)
    res = qaoa_sampler(reps=4, angles=strategy, resources=False)(p, seed=0, state=None)
    assert res.resources.evaluations == 0 and res.stats["evaluations"] == 0
    assert res.resources.samples == 1024 and res.resources.circuit_executions == 1
    want = fixed_angles(name, 4) if strategy == "fixed" else linear_ramp(name, p.num_qubits)
    np.testing.assert_array_equal(res.stats["angles"], want)
    assert res.stats["reps"] == (4 if strategy == "fixed" else p.num_qubits)
    assert res.state is None
    # calibrated on training covariances, it beats the uniform state's ground-state probability on held-out ones
    probs = [qaoa_sampler(reps=4, angles=strategy, resources=False)(
        qrp.discretize(np.asarray(factor_covariance(3, n_factors=3, seed=s)), 2, encoding=name), seed=0,
        state=None).stats["ground_state_probability"] for s in (0, 1, 3, 4, 5)]
    assert np.median(probs) > 4 / 2**p.num_qubits


@pytest.mark.parametrize("strategy", ["optimized", "transfer"])
def test_optimized_strategies_count_evaluations(cov, strategy):
    from qrp.discrete.qaoa import qaoa_sampler

    p = qrp.discretize(cov, 2)
    res = qaoa_sampler(reps=1, angles=strategy, max_evals=7, resources=False)(p, seed=0, state=None)
    assert 0 < res.resources.evaluations <= 8  # COBYLA's runs plus the final objective value
    assert res.stats["start_angles"] == strategy


def test_fixed_table_depth_refused():
    # refused when the options are validated (the registry's cross-field check), before any solver is built
    with pytest.raises(ValueError, match="no angles for reps=9"):
        qrp.get_solver("qaoa").validate_options({"reps": 9, "angles": "fixed"})


def test_gray_annealing_ends_in_single_flip_minima_of_the_gray_landscape():
    from qrp.discrete.oracle_anneal import flip_deltas, oracle_anneal

    p = qrp.discretize(np.asarray(factor_covariance(5, n_factors=3, seed=7)), 3, encoding="gray")
    x, e, betas = oracle_anneal(p, num_reads=20, num_sweeps=200, beta_range=None, seed=3)
    assert betas[0] < betas[1]
    np.testing.assert_allclose(e, p.relative_energies(x), rtol=0, atol=0)
    # at the final (cold) temperature no single flip lowers the energy: the O(N) energy changes were right
    n = p.num_qubits
    nb = (x[:, None, :] ^ np.eye(n, dtype=np.int64)[None, :, :]).reshape(-1, n)
    assert (p.relative_energies(nb).reshape(20, n) >= e[:, None] - 1e-15).all()
    assert flip_deltas(p, x[:2]).shape == (2 * n,)
    with pytest.raises(ValueError, match="Gray-coded"):
        oracle_anneal(qrp.discretize(np.eye(2) * 0.04, 2), num_reads=1, num_sweeps=1, beta_range=None, seed=0)
