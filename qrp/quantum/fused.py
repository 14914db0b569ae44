"""The QAOA layer of an X mixer with the rotations fused in registers (engine "fast_poly"; issue 23, item 2).

For h_q = X, exp(-i beta X) = [[c, -i s], [-i s, c]] = c [[1, -i t], [-i t, 1]] with c = cos beta, s = sin beta,
t = tan beta: the layer psi <- prod_q exp(-i beta X_q) exp(-i gamma diag(d)) psi is computed as C prod_q
[[1, -i t_q], [-i t_q, 1]] exp(-i gamma diag(d)) psi with the scalar C = prod_q c_q folded into the phase. Each pair
(x, y) then costs 4 fused multiply-adds (x_re += t y_im, x_im -= t y_re, y_re += t x_im, y_im -= t x_re) instead of
16 multiplications and 12 additions. The rounding error is that of the direct form: x - i t y is computed to eps
(|x| + |t y|), which C scales back to eps (|c x| + |s y|) (no cancellation is created: the factor is a scalar);
the intermediate magnitudes grow at most by (1 + t^2)^(n/2) and C shrinks them back, so |t| <= ``TAN_LIMIT``
keeps both far from overflow and underflow (beyond it, and for any mixer that is not of this form, the caller uses
``qrp.quantum.kernels.split_layer``).

Sweeps: as ``kernels.split_layer`` (``kernels.sweeps``): the first per block of 2^LOW_QUBITS amplitudes (phase, then
qubits 0-2 on runs of 8 contiguous amplitudes, then the other low qubits three at a time), then per group of
GROUP_QUBITS higher qubits one sweep of tiles (2^k rows x TILE amplitudes, L2-resident). Within a sweep, three
qubits at a time are applied in registers: the 8 amplitudes of a group (rows start + r stride, r < 8) are loaded
once, rotated by the three qubits and stored once (as the fused gates of qsim and QOKit, Lykov et al. 2023, "Fast
simulation of high-depth QAOA circuits"), so the L1/L2 traffic is a third of one pass per qubit. Contractions to
FMA (``fastmath={'contract'}``) round differently from ``split_layer``: the state agrees with the reference kernel
to 1e-12 (tested at n = 1-22), not to the bit.
"""

from __future__ import annotations

import numba
import numpy as np

from qrp.quantum.kernels import GROUP_QUBITS, LOW_QUBITS, TILE, cis_poly

#: Largest |tan beta| of the fused form ((1 + t^2)^(n/2) < 1e121 for n <= 30).
TAN_LIMIT = 1.0e4

@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _rot1(re, im, stride, length, t0):  # pragma: no cover - compiled
    """One qubit, bit stride: rows r stride + j (j < length) of the slices re, im rotated in registers."""
    o1 = np.uint64(stride)
    for i0 in range(np.uint64(length)):  # unsigned: no wraparound test, the loop vectorizes
        a0, a1 = re[i0], re[i0 + o1]
        b0, b1 = im[i0], im[i0 + o1]
        a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
        re[i0], re[i0 + o1] = a0, a1
        im[i0], im[i0 + o1] = b0, b1


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _rot2(re, im, stride, length, t0, t1):  # pragma: no cover - compiled
    """2 qubits, bits stride x 2^j: rows r stride + j (j < length) of the slices re, im rotated in registers."""
    o1 = np.uint64(stride)
    o2 = o1 + o1
    o3 = o2 + o1
    for i0 in range(np.uint64(length)):  # unsigned: no wraparound test, the loop vectorizes
        a0, a1, a2, a3 = re[i0], re[i0 + o1], re[i0 + o2], re[i0 + o3]
        b0, b1, b2, b3 = im[i0], im[i0 + o1], im[i0 + o2], im[i0 + o3]
        a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
        a2, b2, a3, b3 = a2 + t0 * b3, b2 - t0 * a3, a3 + t0 * b2, b3 - t0 * a2
        a0, b0, a2, b2 = a0 + t1 * b2, b0 - t1 * a2, a2 + t1 * b0, b2 - t1 * a0
        a1, b1, a3, b3 = a1 + t1 * b3, b1 - t1 * a3, a3 + t1 * b1, b3 - t1 * a1
        re[i0], re[i0 + o1], re[i0 + o2], re[i0 + o3] = a0, a1, a2, a3
        im[i0], im[i0 + o1], im[i0 + o2], im[i0 + o3] = b0, b1, b2, b3


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _rot3(re, im, stride, length, t0, t1, t2):  # pragma: no cover - compiled
    """3 qubits, bits stride x 2^j: rows r stride + j (j < length) of the slices re, im rotated in registers."""
    o1 = np.uint64(stride)
    o2 = o1 + o1
    o3 = o2 + o1
    o4 = o2 + o2
    o5 = o4 + o1
    o6 = o4 + o2
    o7 = o4 + o3
    for i0 in range(np.uint64(length)):  # unsigned: no wraparound test, the loop vectorizes
        a0, a1, a2, a3 = re[i0], re[i0 + o1], re[i0 + o2], re[i0 + o3]
        a4, a5, a6, a7 = re[i0 + o4], re[i0 + o5], re[i0 + o6], re[i0 + o7]
        b0, b1, b2, b3 = im[i0], im[i0 + o1], im[i0 + o2], im[i0 + o3]
        b4, b5, b6, b7 = im[i0 + o4], im[i0 + o5], im[i0 + o6], im[i0 + o7]
        a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
        a2, b2, a3, b3 = a2 + t0 * b3, b2 - t0 * a3, a3 + t0 * b2, b3 - t0 * a2
        a4, b4, a5, b5 = a4 + t0 * b5, b4 - t0 * a5, a5 + t0 * b4, b5 - t0 * a4
        a6, b6, a7, b7 = a6 + t0 * b7, b6 - t0 * a7, a7 + t0 * b6, b7 - t0 * a6
        a0, b0, a2, b2 = a0 + t1 * b2, b0 - t1 * a2, a2 + t1 * b0, b2 - t1 * a0
        a1, b1, a3, b3 = a1 + t1 * b3, b1 - t1 * a3, a3 + t1 * b1, b3 - t1 * a1
        a4, b4, a6, b6 = a4 + t1 * b6, b4 - t1 * a6, a6 + t1 * b4, b6 - t1 * a4
        a5, b5, a7, b7 = a5 + t1 * b7, b5 - t1 * a7, a7 + t1 * b5, b7 - t1 * a5
        a0, b0, a4, b4 = a0 + t2 * b4, b0 - t2 * a4, a4 + t2 * b0, b4 - t2 * a0
        a1, b1, a5, b5 = a1 + t2 * b5, b1 - t2 * a5, a5 + t2 * b1, b5 - t2 * a1
        a2, b2, a6, b6 = a2 + t2 * b6, b2 - t2 * a6, a6 + t2 * b2, b6 - t2 * a2
        a3, b3, a7, b7 = a3 + t2 * b7, b3 - t2 * a7, a7 + t2 * b3, b7 - t2 * a3
        re[i0], re[i0 + o1], re[i0 + o2], re[i0 + o3] = a0, a1, a2, a3
        re[i0 + o4], re[i0 + o5], re[i0 + o6], re[i0 + o7] = a4, a5, a6, a7
        im[i0], im[i0 + o1], im[i0 + o2], im[i0 + o3] = b0, b1, b2, b3
        im[i0 + o4], im[i0 + o5], im[i0 + o6], im[i0 + o7] = b4, b5, b6, b7


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _low3(re, im, t0, t1, t2):  # pragma: no cover - compiled
    """Qubits 0, 1, 2 on each run of 8 contiguous amplitudes, in registers."""
    for j in range(re.shape[0] >> 3):
        i0 = 8 * j
        if re[i0] != re[i0]:  # never (a NaN); a second exit keeps LLVM's loop vectorizer off: SLP vectorizes
            break  # the 8 amplitudes with in-register permutes (1.3x faster than 8-way interleaved loads)
        a0, a1, a2, a3 = re[i0], re[i0 + 1], re[i0 + 2], re[i0 + 3]
        a4, a5, a6, a7 = re[i0 + 4], re[i0 + 5], re[i0 + 6], re[i0 + 7]
        b0, b1, b2, b3 = im[i0], im[i0 + 1], im[i0 + 2], im[i0 + 3]
        b4, b5, b6, b7 = im[i0 + 4], im[i0 + 5], im[i0 + 6], im[i0 + 7]
        a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
        a2, b2, a3, b3 = a2 + t0 * b3, b2 - t0 * a3, a3 + t0 * b2, b3 - t0 * a2
        a4, b4, a5, b5 = a4 + t0 * b5, b4 - t0 * a5, a5 + t0 * b4, b5 - t0 * a4
        a6, b6, a7, b7 = a6 + t0 * b7, b6 - t0 * a7, a7 + t0 * b6, b7 - t0 * a6
        a0, b0, a2, b2 = a0 + t1 * b2, b0 - t1 * a2, a2 + t1 * b0, b2 - t1 * a0
        a1, b1, a3, b3 = a1 + t1 * b3, b1 - t1 * a3, a3 + t1 * b1, b3 - t1 * a1
        a4, b4, a6, b6 = a4 + t1 * b6, b4 - t1 * a6, a6 + t1 * b4, b6 - t1 * a4
        a5, b5, a7, b7 = a5 + t1 * b7, b5 - t1 * a7, a7 + t1 * b5, b7 - t1 * a5
        a0, b0, a4, b4 = a0 + t2 * b4, b0 - t2 * a4, a4 + t2 * b0, b4 - t2 * a0
        a1, b1, a5, b5 = a1 + t2 * b5, b1 - t2 * a5, a5 + t2 * b1, b5 - t2 * a1
        a2, b2, a6, b6 = a2 + t2 * b6, b2 - t2 * a6, a6 + t2 * b2, b6 - t2 * a2
        a3, b3, a7, b7 = a3 + t2 * b7, b3 - t2 * a7, a7 + t2 * b3, b7 - t2 * a3
        re[i0], re[i0 + 1], re[i0 + 2], re[i0 + 3] = a0, a1, a2, a3
        re[i0 + 4], re[i0 + 5], re[i0 + 6], re[i0 + 7] = a4, a5, a6, a7
        im[i0], im[i0 + 1], im[i0 + 2], im[i0 + 3] = b0, b1, b2, b3
        im[i0 + 4], im[i0 + 5], im[i0 + 6], im[i0 + 7] = b4, b5, b6, b7


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _phase(re, im, d, gamma, scale, poly):  # pragma: no cover - compiled
    """(re, im) <- scale exp(-i gamma d) (re, im); cos and sin by ``kernels.cis_poly`` when ``poly``, else libm."""
    for x in range(re.shape[0]):
        a = -gamma * d[x]
        if poly:
            cs, sn = cis_poly(a)
        else:
            cs, sn = np.cos(a), np.sin(a)
        cs *= scale
        sn *= scale
        xr = re[x]
        xi = im[x]
        re[x] = xr * cs - xi * sn
        im[x] = xr * sn + xi * cs


@numba.njit(cache=True, nogil=True)
def _rotate(re, im, start, stride, length, t, q, k):  # pragma: no cover - compiled
    """Qubits q..q+k-1 (k <= 3; qubit q has bit ``stride``) on the rows start + r stride + j, j < length."""
    sre = re[start:]  # 0-based slices: the indices are provably non-negative, the loop vectorizes
    sim = im[start:]
    if k == 3:
        _rot3(sre, sim, stride, length, t[q], t[q + 1], t[q + 2])
    elif k == 2:
        _rot2(sre, sim, stride, length, t[q], t[q + 1])
    else:
        _rot1(sre, sim, stride, length, t[q])


@numba.njit(cache=True, nogil=True)
def _tile_pass(re, im, lo, k, t):  # pragma: no cover - compiled
    """Qubits lo..lo+k-1 in one sweep, per tile of 2^k rows x TILE amplitudes, three qubits at a time in
    registers."""
    stride = 1 << lo
    chunk = min(stride, TILE)
    for base in range(0, re.shape[0], stride << k):
        for l0 in range(0, stride, chunk):
            b = 0
            while b < k:
                g = min(3, k - b)
                mask = ((1 << g) - 1) << b
                for row in range(1 << k):
                    if row & mask == 0:
                        _rotate(re, im, base + row * stride + l0, stride << b, chunk, t, lo + b, g)
                b += g


@numba.njit(cache=True, nogil=True)
def x_layer(re, im, d, gamma, t, scale, poly):  # pragma: no cover - compiled
    """One layer in place on (re, im): ``scale`` exp(-i gamma d), then prod_q [[1, -i t_q], [-i t_q, 1]] (module
    docstring; t = tan beta per qubit, scale = prod_q cos beta_q)."""
    n = t.shape[0]
    lb = min(LOW_QUBITS, n)
    bs = 1 << lb
    for start in range(0, re.shape[0], bs):
        bre = re[start:start + bs]
        bim = im[start:start + bs]
        _phase(bre, bim, d[start:start + bs], gamma, scale, poly)
        q = 0
        if lb >= 3:
            _low3(bre, bim, t[0], t[1], t[2])
            q = 3
        while q < lb:
            k = min(3, lb - q)
            stride = 1 << q
            for base in range(0, bs, stride << k):
                _rotate(bre, bim, base, stride, stride, t, q, k)
            q += k
    q = lb
    while q < n:
        k = min(GROUP_QUBITS, n - q)
        _tile_pass(re, im, q, k, t)
        q += k


def x_form(u: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(t, scale) of per-qubit mixers u (n, 2, 2) = [[c, -i s], [-i s, c]] (t = s / c, scale = prod c), or None
    when some u_q is not of that form or |t_q| > ``TAN_LIMIT``."""
    u = np.asarray(u)
    c, s = u[:, 0, 0], u[:, 0, 1]
    if not (np.all(c.imag == 0) and np.all(u[:, 1, 1] == c) and np.all(s.real == 0) and np.all(u[:, 1, 0] == s)):
        return None
    c, s = c.real, -s.imag
    if np.any(np.abs(s) > TAN_LIMIT * np.abs(c)):
        return None
    return np.ascontiguousarray(s / c), float(np.prod(c))


__all__ = ["TAN_LIMIT", "x_form", "x_layer"]
