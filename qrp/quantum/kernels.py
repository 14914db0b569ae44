"""The compiled QAOA layer on a split (real, imaginary) state, and the previous complex kernel it is checked against.

One layer psi <- exp(-i beta B) exp(-i gamma diag(d)) psi, B = sum_q h_q (``qrp.quantum.mixers``), in place on
float64 arrays re, im (psi = re + i im) in ``1 + ceil((n - LOW_QUBITS) / GROUP_QUBITS)`` sweeps over the state:

* sweep 1, per block of 2^LOW_QUBITS contiguous amplitudes (128 KiB of state + 64 KiB of diagonal, in L2): the
  phase exp(-i gamma d[x]) then the 2x2 mixer of qubits 0..LOW_QUBITS-1, the lowest TRANSPOSED_QUBITS of them on
  the block transposed into a scratch buffer (their pairs, 1-16 apart, become contiguous runs);
* then per group of GROUP_QUBITS higher qubits a..a+k-1, per tile of 2^k rows x TILE contiguous amplitudes (index
  hi 2^(a+k) + mid 2^a + lo, lo in one run of TILE; 2^k x TILE x 16 B = 256 KiB): the mixer of every qubit of the
  group while the tile is in cache (cache blocking, as QOKit's and qsim's fused gates, Lykov et al. 2023).

Why split and why 0-based slices: LLVM vectorizes the loops (AVX-512 here) only when every array index is provably
non-negative (``range(len)`` over a slice), and the complex128 struct loads do not vectorize; the interleaved kernel
below runs scalar. The phase uses no libm call: cos and sin of a = -gamma d[x] by Cody-Waite reduction
(k = round(2a/pi), r = a - k pi/2 in two parts, |r| <= pi/4) and fdlibm's minimax polynomials (__kernel_sin,
__kernel_cos, degree 13/14), quadrant by sign and swap: within 2.3e-16 of libm for |a| < ``PHASE_POLY_LIMIT``
(tested), so it vectorizes; beyond that (k pi/2 no longer exact in two parts) the libm loop runs instead.
Serial on purpose (numba's parallel threads spin on a shared 2-core machine).
"""

from __future__ import annotations

import numba
import numpy as np

#: Low qubits mixed inside one block of the first sweep (fused with the phase).
LOW_QUBITS = 13
#: Higher qubits mixed per tile in one sweep.
GROUP_QUBITS = 6
#: Contiguous amplitudes per tile row.
TILE = 256
#: Lowest qubits mixed on the transposed block (their pair distance 1..2^4 would need strided, unvectorized access).
TRANSPOSED_QUBITS = 5
#: Runs shorter than this use strided slices (one per offset) instead of one slice per run.
MIN_RUN = 32
#: |gamma d| below which the polynomial phase is used (k < 2^20: k * PIO2_1 exact).
PHASE_POLY_LIMIT = 1.0e6

_PIO2_1 = 1.57079632673412561417e00  # first 33 bits of pi/2
_PIO2_1T = 6.07710050650619224932e-11  # pi/2 - _PIO2_1
_TWO_OVER_PI = 6.36619772367581382433e-01
_ROUND = 6755399441055744.0  # 1.5 * 2^52: (x + _ROUND) - _ROUND is x rounded to the nearest integer, no libm call
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11


@numba.njit(cache=True, nogil=True, inline="always")
def _cis_reduced(a):  # pragma: no cover - compiled
    """(cos r, sin r, quadrant k mod 4) of a = k pi/2 + r (module docstring)."""
    k = (a * _TWO_OVER_PI + _ROUND) - _ROUND
    r = (a - k * _PIO2_1) - k * _PIO2_1T
    z = r * r
    s = r + (r * z) * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    c = 1.0 - 0.5 * z + (z * z) * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    return c, s, int(k) & 3


@numba.njit(cache=True, nogil=True, inline="always")
def cis_poly(a):  # pragma: no cover - compiled
    """(cos a, sin a) by Cody-Waite reduction and fdlibm's polynomials (module docstring), |a| < PHASE_POLY_LIMIT."""
    c, s, q = _cis_reduced(a)  # quadrant: (cos a, sin a) = (c, s), (-s, c), (-c, -s), (s, -c)
    odd = (q & 1) == 1
    cs = (1.0 - 2.0 * (((q + 1) >> 1) & 1)) * (s if odd else c)
    sn = (1.0 - 2.0 * (q >> 1)) * (c if odd else s)
    return cs, sn


@numba.njit(cache=True, nogil=True, inline="always")
def cis_poly_scaled(a, scale):  # pragma: no cover - compiled
    """``scale`` (cos a, sin a), equal to the bit to ``cis_poly(a)`` times ``scale`` (x (+-1) scale = +-(x scale)
    exactly), the quadrant's signs a choice of +-scale (a blend) instead of 1 - 2 bit (a conversion, a subtraction
    and a multiplication per component)."""
    c, s, q = _cis_reduced(a)
    odd = (q & 1) == 1
    cs = (-scale if (q + 1) & 2 else scale) * (s if odd else c)
    sn = (-scale if q & 2 else scale) * (c if odd else s)
    return cs, sn


@numba.njit(cache=True, nogil=True)
def _phase_poly(re, im, d, gamma):  # pragma: no cover - compiled
    for x in range(re.shape[0]):
        cs, sn = cis_poly(-gamma * d[x])
        xr = re[x]
        xi = im[x]
        re[x] = xr * cs - xi * sn
        im[x] = xr * sn + xi * cs


@numba.njit(cache=True, nogil=True)
def _phase_libm(re, im, d, gamma):  # pragma: no cover - compiled
    for x in range(re.shape[0]):
        a = -gamma * d[x]
        cs = np.cos(a)
        sn = np.sin(a)
        xr = re[x]
        xi = im[x]
        re[x] = xr * cs - xi * sn
        im[x] = xr * sn + xi * cs


@numba.njit(cache=True, nogil=True)
def _rotate(xr, xi, yr, yi, u):  # pragma: no cover - compiled
    """(x, y) <- (u00 x + u01 y, u10 x + u11 y) elementwise; u = the 2x2 as 8 reals (re, im of u00 u01 u10 u11)."""
    a0, a1, b0, b1, c0, c1, e0, e1 = u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7]
    for t in range(xr.shape[0]):
        pr = xr[t]
        pi = xi[t]
        qr = yr[t]
        qi = yi[t]
        # grouped as numba's complex u00 * x + u01 * y, so that the result is the reference kernel's to the bit
        xr[t] = (a0 * pr - a1 * pi) + (b0 * qr - b1 * qi)
        xi[t] = (a0 * pi + a1 * pr) + (b0 * qi + b1 * qr)
        yr[t] = (c0 * pr - c1 * pi) + (e0 * qr - e1 * qi)
        yi[t] = (c0 * pi + c1 * pr) + (e0 * qi + e1 * qr)


@numba.njit(cache=True, nogil=True)
def _low_pass(re, im, start, count, m, u):  # pragma: no cover - compiled
    """The mixer of the qubit with bit m on the amplitude pairs (i, i + m) of [start, start + count)."""
    end = start + count
    if m >= MIN_RUN:
        for base in range(start, end, 2 * m):
            h = base + m
            _rotate(re[base:h], im[base:h], re[h:h + m], im[h:h + m], u)
    else:
        for off in range(m):
            i = start + off
            _rotate(re[i:end:2 * m], im[i:end:2 * m], re[i + m:end:2 * m], im[i + m:end:2 * m], u)


@numba.njit(cache=True, nogil=True)
def _transpose(src, dst, rows, cols):  # pragma: no cover - compiled
    """dst (cols x rows) = src (rows x cols) transposed, both row-major (contiguous writes: 6x faster here than
    contiguous reads)."""
    for c in range(cols):
        out = dst[c * rows:(c + 1) * rows]
        col = src[c:]
        for r in range(rows):
            out[r] = col[r * cols]


@numba.njit(cache=True, nogil=True)
def _group_pass(re, im, lo, k, ur):  # pragma: no cover - compiled
    """The mixers of qubits lo..lo+k-1 in one sweep, tile by tile (module docstring)."""
    stride = 1 << lo
    chunk = min(stride, TILE)
    for base in range(0, re.shape[0], stride << k):
        for l0 in range(0, stride, chunk):
            for b in range(k):
                h = (1 << b) * stride
                for row in range(1 << k):
                    if row >> b & 1:
                        continue
                    i = base + row * stride + l0
                    j = i + h
                    _rotate(re[i:i + chunk], im[i:i + chunk], re[j:j + chunk], im[j:j + chunk], ur[lo + b])


@numba.njit(cache=True, nogil=True)
def split_layer(re, im, d, gamma, ur, poly, phase=True):  # pragma: no cover - compiled
    """One QAOA layer in place on (re, im): phase exp(-i gamma d) (polynomial sincos when ``poly``; none when not
    ``phase``), then the per-qubit mixers ``ur`` ((n, 8): ``real_matrices``)."""
    n = ur.shape[0]
    lb = min(LOW_QUBITS, n)
    bs = 1 << lb
    tq = TRANSPOSED_QUBITS if lb >= TRANSPOSED_QUBITS + 6 else 0
    cols = 1 << tq
    rows = bs >> tq
    tre = np.empty(bs)
    tim = np.empty(bs)
    for start in range(0, re.shape[0], bs):
        bre = re[start:start + bs]
        bim = im[start:start + bs]
        if phase and poly:
            _phase_poly(bre, bim, d[start:start + bs], gamma)
        elif phase:
            _phase_libm(bre, bim, d[start:start + bs], gamma)
        if tq:  # the lowest qubits on the transposed block: their pairs become contiguous runs of `rows`
            _transpose(bre, tre, rows, cols)
            _transpose(bim, tim, rows, cols)
            for q in range(tq):
                _low_pass(tre, tim, 0, bs, rows << q, ur[q])
            _transpose(tre, bre, cols, rows)
            _transpose(tim, bim, cols, rows)
        for q in range(tq, lb):
            _low_pass(re, im, start, bs, 1 << q, ur[q])
    q = lb
    while q < n:
        k = min(GROUP_QUBITS, n - q)
        _group_pass(re, im, q, k, ur)
        q += k


@numba.njit(cache=True, nogil=True)
def phase_layer(re, im, d, gamma):  # pragma: no cover - compiled
    """(re, im) <- exp(-i gamma d) (re, im) in place (libm cos/sin)."""
    _phase_libm(re, im, d, gamma)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _pair_imag(lri, lii, pri, pii, lrj, lij, prj, pij, h):  # pragma: no cover - compiled
    """sum_t Im[conj(l_i)(h00 p_i + h01 p_j) + conj(l_j)(h10 p_i + h11 p_j)], h = 8 reals as ``real_matrices``."""
    a0, a1, b0, b1, c0, c1, e0, e1 = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    total = 0.0
    for t in range(pri.shape[0]):
        xr = pri[t]
        xi = pii[t]
        yr = prj[t]
        yi = pij[t]
        zr = a0 * xr - a1 * xi + b0 * yr - b1 * yi
        zi = a0 * xi + a1 * xr + b0 * yi + b1 * yr
        wr = c0 * xr - c1 * xi + e0 * yr - e1 * yi
        wi = c0 * xi + c1 * xr + e0 * yi + e1 * yr
        total += lri[t] * zi - lii[t] * zr + lrj[t] * wi - lij[t] * wr
    return total


@numba.njit(cache=True, nogil=True)
def mixer_imag(lre, lim, pre, pim, hr):  # pragma: no cover - compiled
    """Im sum_q <lambda| h_q |psi> for split vectors lambda = lre + i lim, psi = pre + i pim and the per-qubit 2x2
    generators ``hr`` ((n, 8): ``real_matrices``): one pass over the amplitude pairs of each qubit (contiguous runs,
    or strided slices for the qubits below MIN_RUN, as ``_low_pass``)."""
    size = pre.shape[0]
    total = 0.0
    for q in range(hr.shape[0]):
        m = 1 << q
        if m >= MIN_RUN:
            for i in range(0, size, 2 * m):
                j = i + m
                total += _pair_imag(lre[i:j], lim[i:j], pre[i:j], pim[i:j], lre[j:j + m], lim[j:j + m],
                                    pre[j:j + m], pim[j:j + m], hr[q])
        else:
            for off in range(m):
                i = off
                j = off + m
                total += _pair_imag(lre[i::2 * m], lim[i::2 * m], pre[i::2 * m], pim[i::2 * m], lre[j::2 * m],
                                    lim[j::2 * m], pre[j::2 * m], pim[j::2 * m], hr[q])
    return total


@numba.njit(cache=True, nogil=True, fastmath=True)
def diagonal_inner(lre, lim, pre, pim, d):  # pragma: no cover - compiled
    """(Im <lambda|diag(d)|psi>, <psi|diag(d)|psi>, <psi|psi>) without temporaries (summed in any order)."""
    cross = 0.0
    value = 0.0
    norm = 0.0
    for x in range(pre.shape[0]):
        w = pre[x] * pre[x] + pim[x] * pim[x]
        cross += d[x] * (lre[x] * pim[x] - lim[x] * pre[x])
        value += d[x] * w
        norm += w
    return cross, value, norm


def real_matrices(u: np.ndarray) -> np.ndarray:
    """(n, 2, 2) complex -> (n, 8) float64 rows (re u00, im u00, re u01, im u01, re u10, im u10, re u11, im u11)."""
    u = np.asarray(u, dtype=np.complex128).reshape(-1, 4)
    return np.ascontiguousarray(np.stack([u.real, u.imag], axis=-1).reshape(-1, 8))


def sweeps(num_qubits: int) -> int:
    """Full-state read+write sweeps of one ``split_layer`` (the first one also reads the diagonal)."""
    return 1 + max(0, -(-(num_qubits - LOW_QUBITS) // GROUP_QUBITS))


# ---- the previous kernel (complex128, libm cos/sin per amplitude, one sweep per qubit above 11): the reference ----
#: Low qubits of the reference kernel's cache-resident block.
BLOCK_QUBITS = 11


@numba.njit(cache=True, nogil=True)
def _mix_pass(psi, start, count, q, u):  # pragma: no cover - compiled
    """Apply the 2x2 ``u`` to qubit q on the amplitude pairs of psi[start:start + count]."""
    u00, u01, u10, u11 = u[0, 0], u[0, 1], u[1, 0], u[1, 1]
    m = 1 << q
    for k in range(count >> 1):
        i = start + (((k >> q) << (q + 1)) | (k & (m - 1)))
        j = i | m
        a = psi[i]
        b = psi[j]
        psi[i] = u00 * a + u01 * b
        psi[j] = u10 * a + u11 * b


@numba.njit(cache=True, nogil=True)
def reference_layer(psi, d, gamma, u, block_qubits):  # pragma: no cover - compiled
    """The kernel before ``split_layer`` (complex128 in place; phase and the low ``block_qubits`` fused per block,
    then one sweep per remaining qubit), kept as the reference it is tested and benchmarked against."""
    size = psi.shape[0]
    n = u.shape[0]
    lb = min(block_qubits, n)
    bs = 1 << lb
    for start in range(0, size, bs):
        for x in range(start, start + bs):
            a = -gamma * d[x]
            psi[x] *= complex(np.cos(a), np.sin(a))
        for q in range(lb):
            _mix_pass(psi, start, bs, q, u[q])
    for q in range(lb, n):
        _mix_pass(psi, 0, size, q, u[q])


__all__ = ["BLOCK_QUBITS", "GROUP_QUBITS", "LOW_QUBITS", "PHASE_POLY_LIMIT", "TILE", "cis_poly", "cis_poly_scaled",
           "diagonal_inner",
           "mixer_imag",
           "phase_layer", "real_matrices", "reference_layer", "split_layer", "sweeps"]
