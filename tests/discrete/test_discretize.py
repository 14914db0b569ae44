"""qrp.discrete.problem: encoding, energy consistency of every export, round trips, bad input."""

import dimod
import numpy as np
import pytest

import qrp
from qrp.data.synthetic import random_covariance
from qrp.discrete.export import MAX_PAIRWISE_EXPORT_QUBITS

CASES = [("log_barrier", "lsq", 3), ("log_barrier", "taylor", 2), ("log_barrier", "lsq", 1), ("pairwise", "lsq", 2)]


def ising_energy(op, offset, x):
    """<x|H|x> + offset for a diagonal Z-only SparsePauliOp, bit 1 -> eigenvalue -1 (qiskit little-endian)."""
    z = 1 - 2 * np.asarray(x)
    total = offset
    for label, coef in op.to_list():
        qubits = [q for q, ch in enumerate(reversed(label)) if ch == "Z"]
        total += coef.real * np.prod(z[qubits])
    return total


@pytest.mark.parametrize(("formulation", "log_fit", "bits"), CASES)
def test_every_export_gives_the_same_energy(formulation, log_fit, bits):
    cov = random_covariance(4, 1)
    p = qrp.discretize(cov, bits, formulation=formulation, log_fit=log_fit, budgets=[0.1, 0.2, 0.3, 0.4])
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(25, p.num_qubits))
    e = p.energies(x)
    np.testing.assert_allclose([p.energy(s) for s in x], e, rtol=1e-12)
    np.testing.assert_allclose([p.objective(p.values(s)) for s in x], e, rtol=1e-12)
    poly = p.to_polynomial()
    assert set(poly.variables) <= set(range(p.num_qubits))
    np.testing.assert_allclose([poly.energy(dict(enumerate(s))) for s in x], e, rtol=1e-9)
    op, offset = p.to_ising()
    assert op.num_qubits == p.num_qubits
    np.testing.assert_allclose([ising_energy(op, offset, s) for s in x], e, rtol=1e-9)
    bqm = p.to_bqm()
    assert list(bqm.variables)[: p.num_qubits] == list(range(p.num_qubits))
    if formulation == "log_barrier":
        assert p.num_auxiliary == 0 and bqm.num_variables == p.num_qubits
        np.testing.assert_allclose(bqm.energies((x, range(p.num_qubits))), e, rtol=1e-9)
        qp = p.to_quadratic_program()
        assert [v.name for v in qp.variables] == [f"x{i}" for i in range(p.num_qubits)]
        np.testing.assert_allclose([qp.objective.evaluate(s) for s in x], e, rtol=1e-9)
    else:
        # product variables set to the products they stand for reproduce the energy exactly
        assert p.num_auxiliary == bqm.num_variables - p.num_qubits > 0
        for s in x[:5]:
            full = dict(enumerate(s.tolist()))
            while len(full) < bqm.num_variables:  # products of products: fill in dependency order
                for prod, (u, v) in p.products.items():
                    if prod not in full and u in full and v in full:
                        full[prod] = full[u] * full[v]
            assert bqm.energy(full) == pytest.approx(p.energy(s), rel=1e-9)
        with pytest.raises(ValueError, match="degree 4"):
            p.to_quadratic_program()


def test_quadratized_minimum_over_products_equals_energy():
    p = qrp.discretize(random_covariance(3, 2), 1, formulation="pairwise")
    bqm = p.to_bqm()
    n, m = p.num_qubits, bqm.num_variables
    # brute force the full BQM (m <= 10 here) and minimize over the product variables
    grid = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1)
    eb = bqm.energies((grid, range(m)))
    keys = grid[:, :n] @ (1 << np.arange(n))
    for k in range(2**n):
        x = (k >> np.arange(n)) & 1
        assert eb[keys == k].min() == pytest.approx(p.energy(x), rel=1e-9)


def test_encoding_and_decode():
    cov = random_covariance(3, 0)
    p = qrp.discretize(cov, 3, box=([0.1, 0.2, 0.3], [0.8, 0.9, 1.0]))
    assert p.num_qubits == 9 and p.n_assets == 3 and p.bits == 3
    x = np.array([1, 0, 1, 0, 0, 0, 1, 1, 1])  # levels 5, 0, 7
    np.testing.assert_array_equal(p.levels(x), [5, 0, 7])
    np.testing.assert_allclose(p.values(x), [0.1 + 0.7 * 5 / 7, 0.2, 1.0])
    w = p.decode(x)
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    lo, _ = p.box
    with pytest.raises(ValueError):
        lo[0] = 0.0


def test_default_box_brackets_the_classical_guess():
    from qrp.classical.ccd import spinu_start

    cov = random_covariance(5, 3)
    b = np.full(5, 0.2)
    p = qrp.discretize(cov, 2)
    y0 = spinu_start(cov, b)
    np.testing.assert_allclose(p.box[0], 0.5 * y0)
    np.testing.assert_allclose(p.box[1], 1.5 * y0)
    q = qrp.discretize(cov, 2, formulation="pairwise", radius=0.25)
    w0 = (1 / np.sqrt(np.diag(cov))) / (1 / np.sqrt(np.diag(cov))).sum()
    np.testing.assert_allclose(q.box[0], 0.75 * w0)


def test_log_fits_approximate_the_log_on_the_levels():
    cov = random_covariance(3, 4)
    errs = {}
    for fit in ("lsq", "taylor"):
        p = qrp.discretize(cov, 4, log_fit=fit)
        lo, hi = p.box
        y = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, 16)[None, :]
        q0, q1, q2 = p.log_coef.T
        d = y - lo[:, None]
        q = q0[:, None] + q1[:, None] * d + q2[:, None] * d**2
        errs[fit] = np.abs(q + p.budgets[:, None] * np.log(y)).max()
    assert errs["lsq"] < errs["taylor"]
    assert errs["lsq"] < 0.01


def test_qubo_build_is_vectorized_and_fast():
    import time

    cov = random_covariance(100, 5)
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        p = qrp.discretize(cov, 8)
        bqm = p.to_bqm()
        best = min(best, time.perf_counter() - t)
    assert bqm.num_variables == 800 and bqm.num_interactions == 800 * 799 // 2
    assert best < 0.5  # the benchmark measures ~10 ms; generous here for a loaded CI machine


def test_round_trip_through_dimod_and_qiskit():
    p = qrp.discretize(random_covariance(3, 6), 2)
    bqm = p.to_bqm()
    best = dimod.ExactSolver().sample(bqm).first
    x = np.array([best.sample[i] for i in range(p.num_qubits)])
    assert best.energy == pytest.approx(p.energy(x), rel=1e-9)
    from qiskit_optimization.converters import QuadraticProgramToQubo

    qp = QuadraticProgramToQubo().convert(p.to_quadratic_program())
    op, offset = qp.to_ising()
    ours, our_offset = p.to_ising()
    # qiskit-optimization maps bit 1 to Z = -1 as well: identical Hamiltonians
    assert (op - ours).simplify(atol=1e-9).size == 1 and abs((op - ours).simplify(atol=1e-9).coeffs[0]) < 1e-9
    assert offset == pytest.approx(our_offset, rel=1e-9)


def test_bad_inputs():
    cov = random_covariance(3, 7)
    with pytest.raises(ValueError, match="bits"):
        qrp.discretize(cov, 0)
    with pytest.raises(ValueError, match="formulation"):
        qrp.discretize(cov, 2, formulation="cubic")
    with pytest.raises(ValueError, match="not below its upper"):
        qrp.discretize(cov, 2, box=(0.5, 0.1))
    with pytest.raises(ValueError, match="excludes positive weights"):
        qrp.discretize(cov, 2, box=(-1.0, -0.5), formulation="pairwise")
    with pytest.raises(ValueError, match="log_barrier needs y > 0"):
        qrp.discretize(cov, 2, box=(0.0, 0.5))
    with pytest.raises(ValueError, match="radius"):
        qrp.discretize(cov, 2, radius=1.0)
    with pytest.raises(ValueError, match="log_fit"):
        qrp.discretize(cov, 2, log_fit="cubic")
    with pytest.raises(ValueError, match="box must be"):
        qrp.discretize(cov, 2, box=np.ones((3, 3)))
    p = qrp.discretize(cov, 2)
    with pytest.raises(ValueError, match="only 0 and 1"):
        p.energy(np.full(6, 2))
    with pytest.raises(ValueError, match="shape"):
        p.energy(np.zeros(5))
    big = qrp.discretize(random_covariance(17, 0), 4, formulation="pairwise")
    with pytest.raises(ValueError, match=f"n <= {MAX_PAIRWISE_EXPORT_QUBITS}"):
        big.to_bqm()


@pytest.mark.parametrize(
    ("cov", "budgets", "match"),
    [
        (np.array([[1.0, 2.0], [0.0, 1.0]]), None, "not symmetric"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), None, "not positive semi-definite"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), None, "NaN"),
        (np.eye(2), [0.5, 0.6], "sum to 1"),
        (np.eye(2), [1.0, 0.0], "strictly positive"),
        (np.array([[1.0, -1.0], [-1.0, 1.0]]), None, "no ERC portfolio exists"),
    ],
)
def test_risk_parity_validation_applies(cov, budgets, match):
    with pytest.raises(ValueError, match=match):
        qrp.risk_parity(cov, budgets, solver="auto")
    with pytest.raises(ValueError, match=match):
        qrp.discretize(cov, 2, budgets=budgets)
    with pytest.raises(ValueError, match=match):
        qrp.risk_parity(cov, budgets, solver="exact", bits=2)


def test_caller_inputs_not_mutated():
    cov = random_covariance(3, 8)
    before = cov.copy()
    p = qrp.discretize(cov, 2)
    p.to_bqm()
    np.testing.assert_array_equal(cov, before)
    assert cov.flags.writeable


@pytest.mark.parametrize("formulation", ["log_barrier", "pairwise"])
def test_to_bqm_returns_a_bqm_the_caller_owns(formulation):
    p = qrp.discretize(random_covariance(3, 9), 2, formulation=formulation)
    first = p.to_bqm()
    reference = first.copy()
    first.add_linear(0, 123.0)
    first.offset += 1.0
    assert p.to_bqm() == reference
    assert p.to_bqm() is not p.to_bqm()
