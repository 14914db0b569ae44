"""Exports of a ``DiscreteProblem`` to the solver ecosystems: its multilinear polynomial, a dimod
``BinaryPolynomial`` and ``BinaryQuadraticModel`` (Rosenberg quadratization for degree 4), a qiskit Ising
``SparsePauliOp`` and a qiskit-optimization ``QuadraticProgram``.

Every export encodes exactly ``problem.energy``: the QUBO of log_barrier as it is, the degree-4 pairwise
polynomial exactly (``to_polynomial``, ``to_ising``: no auxiliary qubits) or quadratized with product variables
(``to_bqm``). The polynomial has O(n^4) terms, so pairwise exports are refused above
``MAX_PAIRWISE_EXPORT_QUBITS`` variables. ``DiscreteProblem``'s methods of the same names call these (and cache the
polynomial and the quadratization).
"""

from __future__ import annotations

from math import comb

import numpy as np

#: Largest n for which the O(n^4)-term pairwise polynomial is exported (C(64, 4) = 635,376 quartic monomials).
MAX_PAIRWISE_EXPORT_QUBITS = 64


def _canonical_terms(idx: np.ndarray, coef: np.ndarray, n: int):
    """Sum monomials given as (m, 4) index rows over z = (1, x_0..x_{n-1}) (index 0 is the constant 1) into
    canonical multilinear monomials (x^2 = x). Returns (offset, {degree: (sorted (m_d, d) variable indices,
    coefficients)})."""
    t = np.sort(idx, axis=1)
    dup = np.zeros_like(t, dtype=bool)
    dup[:, 1:] = t[:, 1:] == t[:, :-1]
    t[dup] = 0
    t.sort(axis=1)
    key = np.ravel_multi_index(tuple(t.T), (n + 1,) * t.shape[1])
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=coef)
    rows = np.array(np.unravel_index(uniq, (n + 1,) * t.shape[1])).T
    deg = (rows > 0).sum(axis=1)
    offset = float(total[deg == 0].sum())
    terms = {}
    for d in range(1, t.shape[1] + 1):
        sel = (deg == d) & (total != 0.0)
        if sel.any():
            terms[d] = (rows[sel][:, t.shape[1] - d:] - 1, total[sel])
    return offset, terms


def _upper(u: np.ndarray):
    """Non-zero upper-triangle entries (a <= b) of a symmetric quadratic form z'Uz as (a, b, coefficient)."""
    a, b = np.triu_indices(u.shape[0])
    c = np.where(a == b, u[a, b], 2.0 * u[a, b])
    keep = c != 0.0
    return a[keep], b[keep], c[keep]


def _product(p, q, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Monomials of weight * (quadratic p) * (quadratic q), each given by ``_upper``, as (m, 4) index rows."""
    pa, pb, pc = p
    qa, qb, qc = q
    idx = np.stack(
        [np.repeat(pa, len(qa)), np.repeat(pb, len(qa)), np.tile(qa, len(pa)), np.tile(qb, len(pa))], axis=1
    )
    return idx, weight * np.outer(pc, qc).ravel()


def polynomial_terms(problem) -> tuple[float, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """(offset, {degree: (indices (m, d) sorted, coefficients (m,))}): the problem's multilinear polynomial in its
    bits (the QUBO for log_barrier; the degree-4 pairwise polynomial, refused above ``MAX_PAIRWISE_EXPORT_QUBITS``)."""
    n = problem.num_qubits
    if problem.is_quadratic:
        offset, h, q = problem.qubo
        p, r = np.nonzero(q)
        return offset, {1: (np.arange(n)[:, None], np.array(h)), 2: (np.stack([p, r], axis=1), q[p, r])}
    if problem.formulation == "log_barrier":
        return _encoded_terms(problem)
    if n > MAX_PAIRWISE_EXPORT_QUBITS:
        raise ValueError(
            f"the pairwise polynomial of n={n} variables has about C(n, 4) = {comb(n, 4):,} quartic terms; "
            f"exports are limited to n <= {MAX_PAIRWISE_EXPORT_QUBITS} (use energy()/energies(), or log_barrier)"
        )
    nn, s, b = problem.n_assets, problem.cov, problem.budgets
    # v = z'P_i with z = (1, x): P (N, n+1); (Sv)_i = z'R_i with R = S P
    pmat = np.zeros((nn, n + 1))
    pmat[:, 0] = problem.box[0]
    pmat[problem.asset_of, np.arange(1, n + 1)] = problem.bit_values
    rmat = s @ pmat
    c = 1.0 / (nn * b)
    # u_i = c_i (z'P_i)(z'R_i) as the symmetric form U_i = c_i sym(P_i R_i')
    u = c[:, None, None] * 0.5 * (pmat[:, :, None] * rmat[:, None, :] + rmat[:, :, None] * pmat[:, None, :])
    parts = []
    for i in range(nn):  # N products of sparse quadratics; the loop is over assets, not variable pairs
        ui = _upper(u[i])
        parts.append(_product(ui, ui, 2.0 * nn))
    ssum = _upper(u.sum(axis=0))
    parts.append(_product(ssum, ssum, -2.0))
    # lambda (z'e - 1)^2 with e = (lo sum, a): a linear form, squared
    lin = np.concatenate([[problem.box[0].sum() - 1.0], problem.bit_values])
    ln = _upper(np.outer(lin, lin))
    parts.append(_product(ln, (np.array([0]), np.array([0]), np.array([1.0])), problem.penalty_weight))
    idx = np.concatenate([pi for pi, _ in parts])
    coef = np.concatenate([ci for _, ci in parts])
    return _canonical_terms(idx, coef, n)


def _mask_rows(masks: np.ndarray, q: int, start: int, width: int) -> np.ndarray:
    """(m, width) rows of z-indices (1 + variable, 0 padding) of the subsets ``masks`` of qubits start..start+q-1."""
    bits = (masks[:, None] >> np.arange(q)[None, :]) & 1
    rows = np.where(bits == 1, start + 1 + np.arange(q)[None, :], 0)
    return np.pad(rows, ((0, 0), (0, width - q)))


def _encoded_terms(problem):
    """The log_barrier polynomial when the levels are not linear in the qubits (gray): with d_i = step_i m_i(x),
    G - G(lo) = sum_i g_i d_i + sum_i c_i d_i^2 + sum_{i<j} S_ij d_i d_j, g = S lo + q1, c_i = S_ii / 2 + q2_i, and
    m_i(x) = sum_S coef[S] x^S (``Encoding.coefficients``) substituted: products of disjoint subsets for i != j,
    unions within an asset."""
    enc, nn, q = problem.encoding, problem.n_assets, problem.qubits_per_asset
    coef = enc.coefficients
    masks = np.nonzero(coef)[0]
    cm = coef[masks]
    lo, s, step = problem.box[0], problem.cov, problem.step
    g = s @ lo + problem.log_coef[:, 1]
    c = 0.5 * np.diag(s) + problem.log_coef[:, 2]
    width = 2 * q
    idx, val = [], []
    union = (masks[:, None] | masks[None, :]).ravel()
    for i in range(nn):  # per asset (and pairs of assets): the loops are over assets, not over variable pairs
        idx += [_mask_rows(masks, q, i * q, width), _mask_rows(union, q, i * q, width)]
        val += [g[i] * step[i] * cm, c[i] * step[i] ** 2 * np.outer(cm, cm).ravel()]
        for j in range(i + 1, nn):
            a = np.repeat(_mask_rows(masks, q, i * q, q), len(masks), axis=0)
            b = np.tile(_mask_rows(masks, q, j * q, q), (len(masks), 1))
            idx.append(np.concatenate([a, b], axis=1))
            val.append(s[i, j] * step[i] * step[j] * np.outer(cm, cm).ravel())
    offset, terms = _canonical_terms(np.concatenate(idx), np.concatenate(val), problem.num_qubits)
    return offset + problem.energy_offset, terms


def quadratize(problem):
    """(linear (n + aux,), (rows, cols, data), offset, products) of the pairwise BQM (arrays, not a BQM: every
    ``to_bqm`` call builds its own BQM from them, so nothing cached is ever handed out or copied)."""
    n = problem.num_qubits
    offset, terms = problem.polynomial
    if max(terms) > 4:
        raise ValueError(f"the polynomial has degree {max(terms)}; the quadratization (to_bqm) handles degree <= 4 "
                         f"(gray with bits <= 2); use to_polynomial() / to_ising()")
    # Rosenberg substitution, deterministic: x_a x_b x_c -> p_ab x_c and x_a x_b x_c x_d -> p_ab p_cd (sorted
    # indices), one product variable p_uv per distinct pair, each enforced by the penalty
    # strength (x_u x_v - 2 x_u p - 2 x_v p + 3 p), which is 0 iff p = x_u x_v and >= strength otherwise.
    high = {d: terms[d] for d in (3, 4) if d in terms}
    # a wrong product can gain at most the total weight of the terms it appears in
    strength = float(sum(np.abs(c).sum() for _, c in high.values())) or 1.0
    three, four = high.get(3), high.get(4)
    parts = [t[0][:, :2] for t in (three, four) if t is not None] + ([four[0][:, 2:]] if four else [])
    uniq, inv = np.unique(np.concatenate(parts), axis=0, return_inverse=True)
    inv = inv.ravel() + n  # product variable of each listed pair, in the order of ``parts``
    lin = np.zeros(n + len(uniq))
    if 1 in terms:
        np.add.at(lin, terms[1][0][:, 0], terms[1][1])
    rows, cols, data = ([terms[2][0][:, 0]], [terms[2][0][:, 1]], [terms[2][1]]) if 2 in terms else ([], [], [])
    m3 = 0 if three is None else len(three[1])
    if three is not None:  # p_ab x_c
        rows.append(inv[:m3]), cols.append(three[0][:, 2]), data.append(three[1])
    if four is not None:  # p_ab p_cd
        m4 = len(four[1])
        rows.append(inv[m3:m3 + m4]), cols.append(inv[m3 + m4:]), data.append(four[1])
    u, v = uniq[:, 0], uniq[:, 1]
    prod = np.arange(n, n + len(uniq))
    lin[prod] += 3.0 * strength
    rows += [u, u, v]
    cols += [v, prod, prod]
    data += [np.full(len(uniq), strength), np.full(len(uniq), -2.0 * strength), np.full(len(uniq), -2.0 * strength)]
    products = {int(p): (int(a), int(b)) for p, a, b in zip(prod, u, v, strict=True)}
    return lin, (np.concatenate(rows), np.concatenate(cols), np.concatenate(data)), offset, products


def to_polynomial(problem):
    """``dimod.BinaryPolynomial`` (BINARY, labels 0..n-1): exact, degree 2 (log_barrier) or 4 (pairwise)."""
    import dimod  # imported on first export: dimod is not needed to build or evaluate a problem

    offset, terms = problem.polynomial
    poly = {(): offset}
    for idx, coef in terms.values():
        poly.update(zip(map(tuple, idx.tolist()), coef.tolist(), strict=True))
    return dimod.BinaryPolynomial(poly, dimod.BINARY)


def to_bqm(problem):
    """``dimod.BinaryQuadraticModel`` (BINARY). log_barrier: the QUBO, labels 0..n-1. pairwise: quadratized by
    Rosenberg substitution of sorted index pairs (x_a x_b x_c x_d -> p_ab p_cd, x_a x_b x_c -> p_ab x_c) with
    penalty strength = sum of |coefficients| of the degree-3 and -4 terms (enough for any wrong product
    variable to cost more than it can gain), product variables labelled n, n+1, ... (variables in
    label order; ``products`` maps each to the pair (u, v) whose product it stands for); minimizing over them gives
    ``energy``. Each call builds a new BQM, owned by the caller (no defensive copy of a cached one)."""
    import dimod  # imported on first export: dimod is not needed to build or evaluate a problem

    if problem.is_quadratic:
        offset, h, q = problem.qubo
        return dimod.BinaryQuadraticModel(h, q, offset, dimod.BINARY)
    lin, quadratic, offset, _ = problem.quadratization
    return dimod.BinaryQuadraticModel.from_numpy_vectors(lin, quadratic, offset, dimod.BINARY)


def to_ising(problem):
    """(``qiskit.quantum_info.SparsePauliOp`` H, offset): energy(x) = offset + <x|H|x> with qubit p = variable p
    and bit 1 = Z eigenvalue -1 (x_p = (1 - Z_p)/2). Qiskit labels are little-endian: qubit 0 is the rightmost
    character. Exact, with no auxiliary qubits: ZZ terms for log_barrier, up to ZZZZ for pairwise. H has no
    identity term (it is folded into offset)."""
    from qiskit.quantum_info import SparsePauliOp  # qiskit (heavy): imported on first Ising export

    n = problem.num_qubits
    offset, terms = problem.polynomial
    by_degree: dict[int, list] = {}
    for d, (idx, coef) in terms.items():
        for mask in range(2**d):  # prod_j (1 - Z_j)/2 = 2^-d sum over subsets of (-1)^|sub| Z_sub
            cols = [j for j in range(d) if mask >> j & 1]
            c = coef * ((-1.0) ** len(cols) / 2.0**d)
            if not cols:
                offset += float(c.sum())
            else:
                by_degree.setdefault(len(cols), []).append((idx[:, cols], c))
    sparse = []
    for e, chunks in sorted(by_degree.items()):
        idx = np.concatenate([i for i, _ in chunks])
        coef = np.concatenate([c for _, c in chunks])
        key = np.ravel_multi_index(tuple(idx.T), (n,) * e)
        uniq, inv = np.unique(key, return_inverse=True)
        total = np.bincount(inv, weights=coef)
        rows = np.array(np.unravel_index(uniq, (n,) * e)).T.tolist()
        sparse.extend(("Z" * e, r, t) for r, t in zip(rows, total.tolist(), strict=True) if t != 0.0)
    if not sparse:
        sparse = [("", [], 0.0)]
    return SparsePauliOp.from_sparse_list(sparse, num_qubits=n), float(offset)


def to_quadratic_program(problem):
    """``qiskit_optimization.QuadraticProgram`` minimizing the QUBO over binaries x0..x{n-1} (log_barrier only;
    pairwise is degree 4 and raises ``ValueError``)."""
    offset, h, q = problem.qubo
    from qiskit_optimization import QuadraticProgram  # optional extra qrp[interop]

    qp = QuadraticProgram(f"erc_{problem.formulation}_{problem.n_assets}x{problem.bits}")
    qp.binary_var_list(problem.num_qubits, name="x", key_format="{}")
    qp.minimize(constant=offset, linear=np.asarray(h), quadratic=np.asarray(q))
    return qp
