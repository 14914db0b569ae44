"""The QAOA layer of an X mixer with its rotations fused in registers (engine "fast_poly"; issue 23, item 2).

Tan form. For h_q = X, exp(-i beta X) = [[c, -i s], [-i s, c]] = c [[1, -i t], [-i t, 1]] (c = cos beta, s = sin
beta, t = tan beta), so the layer psi <- prod_q exp(-i beta_q X_q) exp(-i gamma diag(d)) psi is computed as
C prod_q [[1, -i t_q], [-i t_q, 1]] exp(-i gamma diag(d)) psi with the scalar C = prod_q c_q folded into the phase.
A pair (x, y) then costs 4 fused multiply-adds (x_re += t y_im, x_im -= t y_re, y_re += t x_im, y_im -= t x_re)
instead of 16 multiplications and 12 additions. The rounding error is that of the direct form: x - i t y is computed
to eps (|x| + |t y|), which C scales back to eps (|c x| + |s y|); intermediate magnitudes grow at most by
(1 + t^2)^(n/2) and C shrinks them back, so |t| <= ``TAN_LIMIT`` keeps both far from overflow and underflow.
Beyond it, for n < ``MIN_QUBITS`` and for a mixer not of this form the caller uses ``kernels.split_layer``.

Register fusion. Three qubits at a time: the 8 amplitudes of a group (offsets r S, r < 8, for qubits with bits S,
2S, 4S) are loaded once, rotated by the three qubits and stored once (the fused gates of qsim and QOKit, Lykov et
al. 2023, "Fast simulation of high-depth QAOA circuits"): 48 FMAs on 16 registers per 8 lanes, a third of the
L1/L2 traffic of one pass per qubit. Every offset is a compile-time constant (LLVM then proves the rows disjoint and
vectorizes without runtime alias checks; numba's wraparound test on indices that might be negative also stops
vectorization, so all indices are 0-based).

Sweeps (``sweeps(n)``: 1 + the direct sweeps of ``_plan(n)``; 1 at n <= 15 and n = 18-19, 2 at 16-17 and 20-22,
3 at 23-25, 4 at 26-28):
* per block of 2^15 amplitudes (512 KiB, in L2), per sub-block of 2^13 (16 rows of ``ROW`` = 512), per row (8 KiB,
  in L1): the phase (``_phase``, ``kernels.cis_poly_scaled``), qubits 0-5 by explicit SIMD (``_vrot6``: 64
  amplitudes in 8 + 8 registers of <8 x double>, qubits 0-2 inside each vector by one shufflevector, the partner
  of lane j being lane j ^ s, 3-5 across the 8 vectors; numba runs no SLP vectorizer, so the loop form of these
  qubits left them scalar or needed interleaved loads: ``_low0``/``_low2``/``_low5``, kept as the bit-identical
  reference of the test) and qubits 6-8 (``_low6``, 8 runs 64 apart); then qubits 9-11 across the rows; then
  qubits 12-14 across the block (``_mid3``, 8 rows 2^12 apart). <8 x double> is one zmm register with AVX-512;
  LLVM splits it into two ymm (AVX2), four xmm (SSE2) or four NEON registers elsewhere, so the code is portable
  and computes the same numbers;
* the higher qubits in direct sweeps of up to 3 qubits lo..lo+k-1, spread evenly: the 2^k rows 2^lo apart of re
  and of im read, rotated in registers and written back in runs of ``RUN`` amplitudes, straight on the state (no
  scratch copy), the row offset 2^lo a compile-time constant (one cached kernel per (lo, k), ``_direct``). Rows 2^lo
  apart all map to one L1 set: 8 rows of re and 8 of im in one 12-way set thrash it, so the simulator allocates im
  ``APART`` bytes off re's set (``set_apart``, ``empty_split``); the sweep then runs at the speed of a sequential
  read+write sweep (0.56 ns an amplitude against 0.50-0.54, n = 24-26; 1.0 ns with re and im in one set), where
  gathering 2^7 rows into a scratch tile cost 2.5-3.5x one. 4 qubits a sweep (16 rows of re in one set) cost 1.0 ns
  in one pass, 0.79-0.81 in two passes of 2 qubits per chunk of 16 rows x 512-1024 amplitudes, against 0.54 for 3
  (n = 24, load 3-4): no gain over two sweeps of 3 where it would save one, so not kept.
  Qubits 15-17 (``_chunked``) run per chunk of 2^18 amplitudes (4 MiB, in L3) right after the first sweep of that
  chunk, and qubit 18 too (chunks of 2^19) where that leaves one direct sweep fewer (n = 19, 22, 25, 28).
* for a diagonal quadratic in the bits (``RowQuadratic``: d = a[h] + b[l] + sum_{i<9} bit_i(l) g[h, i] per row h
  of 512, l the row's bits) the phase is factored: 10 sincos a row, a table of 512 a layer, and three complex
  products an amplitude in ``_vrot6``'s registers (``_vphase_rot6``), d not read by the first sweep;
* the first layer of an evaluation from |+>^n writes the state without reading it (``plus``: the phase of a
  constant), and the last direct sweep of its last layer sums d |psi|^2 and |psi|^2 instead of writing
  (``total``, ``_direct_total``): an expectation costs no pass of its own.
Contractions to FMA (``fastmath={'contract'}``) round differently from ``split_layer``: the state agrees with the
reference kernel to 1e-12 (tested), not to the bit.
"""

from __future__ import annotations

import functools
import time

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.extending import intrinsic

from qrp.quantum.kernels import LOW_QUBITS, cis_poly_scaled

#: Largest |tan beta| of the fused form ((1 + t^2)^(n/2) < 1e121 for n <= 30).
TAN_LIMIT = 1.0e4
#: Amplitudes per row of a low block (qubits 0-8 within a row, 9-12 across its 16 rows).
ROW = 512
#: Amplitudes of a sub-block (qubits 0-12: ``_block``).
SUB = 1 << LOW_QUBITS
#: Low qubits of the first sweep: a block of 2^15 amplitudes (512 KiB, in L2) is 4 sub-blocks, qubits 13-14 across.
BLOCK = 15
#: Qubits 0-5 of a row by explicit SIMD (``_vrot6``) rather than the loops ``_low0``/``_low2``/``_low5``. A
#: compile-time constant of ``_first_sweep`` (numba freezes globals when it compiles, and the on-disk cache keeps
#: them): assigning it later changes nothing; the test passes ``vec`` to ``_block`` instead.
VECTOR = True
#: Fewest qubits of the fused layer (one full sub-block).
MIN_QUBITS = LOW_QUBITS
assert ROW << 4 == SUB and BLOCK - LOW_QUBITS <= 2  # the shapes the kernels below are written for


#: Doubles per explicit SIMD vector of ``_vrot6`` (<8 x double>: one zmm register with AVX-512; LLVM splits it into
#: two ymm (AVX2), four xmm (SSE) or four NEON registers elsewhere: the same results, the code portable).
LANES = 8
_VEC = ir.VectorType(ir.DoubleType(), LANES)
_I32V = ir.VectorType(ir.IntType(32), LANES)


@intrinsic
def _vrot6(typingctx, re, im, i, t0, t1, t2, t3, t4, t5):
    """Qubits 0-5 on the 64 amplitudes re[i:i + 64], im[i:i + 64] in 8 + 8 vector registers: qubits 0-2 inside
    each vector (the partner of lane j is lane j ^ s, s = 1, 2, 4: one shufflevector), qubits 3-5 across the 8
    vectors; per qubit and vector re' = fma(t, swap(im), re), im' = fma(-t, swap(re), im) on the original values
    (x' = x - i t y, y' = y - i t x). LLVM IR through llvmlite (numba runs no SLP vectorizer, so the loop form of
    these qubits stays scalar or needs interleaved loads: ``_low0``). fma is ``llvm.fmuladd``: one fused
    multiply-add with FMA hardware (AVX2, AVX-512, NEON), else a multiply and an add, as the loops' contractions."""
    sig = types.void(re, im, i, t0, t1, t2, t3, t4, t5)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fma = _fmuladd(builder)
        rows = [_vec_ptr(context, builder, signature.args[k], args[k], args[2]) for k in (0, 1)]
        vre = [builder.load(builder.gep(rows[0], [ir.Constant(i64, r)]), align=8) for r in range(8)]
        vim = [builder.load(builder.gep(rows[1], [ir.Constant(i64, r)]), align=8) for r in range(8)]
        _rot6_codegen(builder, fma, vre, vim, args[3:9])
        for r in range(8):
            builder.store(vre[r], builder.gep(rows[0], [ir.Constant(i64, r)]), align=8)
            builder.store(vim[r], builder.gep(rows[1], [ir.Constant(i64, r)]), align=8)
        return context.get_dummy_value()

    return sig, codegen


def _fmuladd(builder):
    """llvm.fmuladd on <8 x double>: fused exactly where the loop kernels' ``contract`` is (FMA hardware), a
    multiply and an add elsewhere (llvm.fma would be a libm call per lane on an x86 CPU without FMA, and other bits)."""
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VEC, [_VEC] * 3),
                                          f"llvm.fmuladd.v{LANES}f64")


def _vec_ptr(context, builder, arytype, ary, offset):
    """<8 x double>* to ary[offset]."""
    data = context.make_array(arytype)(context, builder, ary).data
    return builder.bitcast(builder.gep(data, [offset]), _VEC.as_pointer())


def _broadcast(builder, x):
    """<8 x double> of the scalar x in every lane."""
    undef = ir.Constant(_VEC, ir.Undefined)
    v = builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(v, undef, ir.Constant(_I32V, [0] * LANES))


def _rot6_codegen(builder, fma, vre, vim, tangents):
    """``_vrot6``'s qubits 0-5 on the 8 + 8 vectors vre, vim (lists, updated in place), tangents t0..t5."""
    undef = ir.Constant(_VEC, ir.Undefined)
    for q in range(6):
        tp = _broadcast(builder, tangents[q])
        tn = builder.fneg(tp)
        if q < 3:  # inside the vectors
            swap = ir.Constant(_I32V, [j ^ (1 << q) for j in range(LANES)])
            for r in range(8):
                sre = builder.shuffle_vector(vre[r], undef, swap)
                sim = builder.shuffle_vector(vim[r], undef, swap)
                vre[r] = builder.call(fma, [tp, sim, vre[r]])
                vim[r] = builder.call(fma, [tn, sre, vim[r]])
        else:  # across them
            s = 1 << (q - 3)
            for a in range(8):
                if a & s:
                    continue
                b = a | s
                ra, ia, rb, ib = vre[a], vim[a], vre[b], vim[b]
                vre[a], vim[a] = builder.call(fma, [tp, ib, ra]), builder.call(fma, [tn, rb, ia])
                vre[b], vim[b] = builder.call(fma, [tp, ia, rb]), builder.call(fma, [tn, ra, ib])


def _cmul_codegen(builder, fma, ar, ai, br, bi):
    """(ar + i ai)(br + i bi) on vectors: (fma(ar, br, -(ai bi)), fma(ar, bi, ai br))."""
    return (builder.call(fma, [ar, br, builder.fneg(builder.fmul(ai, bi))]),
            builder.call(fma, [ar, bi, builder.fmul(ai, br)]))


def _vphase_rot6(plus):
    """The intrinsic (re, im, i, pr, pi, sr, si, lr, li, t0..t5): the factored phase (``RowQuadratic``) and qubits
    0-5 on re[i:i + 64], im[i:i + 64] in registers, one load and one store of the state: per vector v (8 lanes j)
    q = (lr + i li) (sr[i / 8 + v] + i si[i / 8 + v]) (lr, li: the row's factor of bits 0-2 by lane, s: of bits 3-8),
    c = q (pr + i pi)[i + 8 v], psi <- psi c (``plus``: psi <- c, not read), then ``_vrot6``'s rotations."""

    @intrinsic
    def vphase_rot6(typingctx, re, im, i, pr, pi, sr, si, lr, li, t0, t1, t2, t3, t4, t5):
        sig = types.void(re, im, i, pr, pi, sr, si, lr, li, t0, t1, t2, t3, t4, t5)

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            fma = _fmuladd(builder)
            a = signature.args
            rows = [_vec_ptr(context, builder, a[k], args[k], args[2]) for k in (0, 1)]
            ptab = [_vec_ptr(context, builder, a[k], args[k], args[2]) for k in (3, 4)]
            zero = ir.Constant(i64, 0)
            low = [builder.load(_vec_ptr(context, builder, a[k], args[k], zero), align=8) for k in (7, 8)]
            k0 = builder.ashr(args[2], ir.Constant(i64, 3))
            sdata = [context.make_array(a[k])(context, builder, args[k]).data for k in (5, 6)]
            vre, vim = [], []
            for v in range(8):
                at = builder.add(k0, ir.Constant(i64, v))
                sr, si = (_broadcast(builder, builder.load(builder.gep(p, [at]), align=8)) for p in sdata)
                qr, qi = _cmul_codegen(builder, fma, low[0], low[1], sr, si)
                pr, pi = (builder.load(builder.gep(p, [ir.Constant(i64, v)]), align=8) for p in ptab)
                cr, ci = _cmul_codegen(builder, fma, qr, qi, pr, pi)
                if not plus:
                    xr, xi = (builder.load(builder.gep(p, [ir.Constant(i64, v)]), align=8) for p in rows)
                    cr, ci = _cmul_codegen(builder, fma, xr, xi, cr, ci)
                vre.append(cr)
                vim.append(ci)
            _rot6_codegen(builder, fma, vre, vim, args[9:15])
            for r in range(8):
                builder.store(vre[r], builder.gep(rows[0], [ir.Constant(i64, r)]), align=8)
                builder.store(vim[r], builder.gep(rows[1], [ir.Constant(i64, r)]), align=8)
            return context.get_dummy_value()

        return sig, codegen

    return vphase_rot6


_vphase_rot6_read = _vphase_rot6(False)
_vphase_rot6_plus = _vphase_rot6(True)


@numba.njit(cache=True, nogil=True)
def _low_vec(re, im, t0, t1, t2, t3, t4, t5):  # pragma: no cover - compiled
    """Qubits 0-5 on a row of ROW amplitudes, 64 at a time (``_vrot6``)."""
    for i in range(0, ROW, 64):
        _vrot6(re, im, i, t0, t1, t2, t3, t4, t5)


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _low0(re, im, t0, t1):  # pragma: no cover - compiled
    """Qubits 0-1 on each run of 4 contiguous amplitudes (LLVM vectorizes the loop with 4-way interleaved loads
    and stores: 0.2 ns a amplitude, against 0.8 for qubits 0-2 in one scalar loop)."""
    for j in range(re.shape[0] >> 2):
        i = 4 * j
        a0, a1, a2, a3 = re[i], re[i + 1], re[i + 2], re[i + 3]
        b0, b1, b2, b3 = im[i], im[i + 1], im[i + 2], im[i + 3]
        a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
        a2, b2, a3, b3 = a2 + t0 * b3, b2 - t0 * a3, a3 + t0 * b2, b3 - t0 * a2
        a0, b0, a2, b2 = a0 + t1 * b2, b0 - t1 * a2, a2 + t1 * b0, b2 - t1 * a0
        a1, b1, a3, b3 = a1 + t1 * b3, b1 - t1 * a3, a3 + t1 * b1, b3 - t1 * a1
        re[i], re[i + 1], re[i + 2], re[i + 3] = a0, a1, a2, a3
        im[i], im[i + 1], im[i + 2], im[i + 3] = b0, b1, b2, b3


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _low2(re, im, t0, t1, t2, w):  # pragma: no cover - compiled
    """Qubits 2-4 on each run of 32 contiguous amplitudes (runs of 4 in ymm registers); ``w`` = 4 at run
    time: a constant trip count this small is unrolled and left scalar (numba runs no SLP vectorizer)."""
    for j in range(re.shape[0] >> 5):
        rr = re[32 * j:]
        ri = im[32 * j:]
        for i in range(w):
            a0, a1, a2, a3 = rr[i], rr[i + 4], rr[i + 8], rr[i + 12]
            a4, a5, a6, a7 = rr[i + 16], rr[i + 20], rr[i + 24], rr[i + 28]
            b0, b1, b2, b3 = ri[i], ri[i + 4], ri[i + 8], ri[i + 12]
            b4, b5, b6, b7 = ri[i + 16], ri[i + 20], ri[i + 24], ri[i + 28]
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
            rr[i], rr[i + 4], rr[i + 8], rr[i + 12] = a0, a1, a2, a3
            rr[i + 16], rr[i + 20], rr[i + 24], rr[i + 28] = a4, a5, a6, a7
            ri[i], ri[i + 4], ri[i + 8], ri[i + 12] = b0, b1, b2, b3
            ri[i + 16], ri[i + 20], ri[i + 24], ri[i + 28] = b4, b5, b6, b7


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _low5(re, im, t0, t1, t2, t3, w):  # pragma: no cover - compiled
    """Qubits 5-8 on a row of 512 amplitudes (16 rows 32 apart in 32 registers): one pass over the row fewer than
    qubits 5-7 and then qubit 8, the same operations in the same order (bit-identical); ``8 w`` = 32."""
    for i in range(8 * w):
        a0, a1, a2, a3 = re[i], re[i + 32], re[i + 64], re[i + 96]
        a4, a5, a6, a7 = re[i + 128], re[i + 160], re[i + 192], re[i + 224]
        a8, a9, a10, a11 = re[i + 256], re[i + 288], re[i + 320], re[i + 352]
        a12, a13, a14, a15 = re[i + 384], re[i + 416], re[i + 448], re[i + 480]
        b0, b1, b2, b3 = im[i], im[i + 32], im[i + 64], im[i + 96]
        b4, b5, b6, b7 = im[i + 128], im[i + 160], im[i + 192], im[i + 224]
        b8, b9, b10, b11 = im[i + 256], im[i + 288], im[i + 320], im[i + 352]
        b12, b13, b14, b15 = im[i + 384], im[i + 416], im[i + 448], im[i + 480]
        a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
        a2, b2, a3, b3 = a2 + t0 * b3, b2 - t0 * a3, a3 + t0 * b2, b3 - t0 * a2
        a4, b4, a5, b5 = a4 + t0 * b5, b4 - t0 * a5, a5 + t0 * b4, b5 - t0 * a4
        a6, b6, a7, b7 = a6 + t0 * b7, b6 - t0 * a7, a7 + t0 * b6, b7 - t0 * a6
        a8, b8, a9, b9 = a8 + t0 * b9, b8 - t0 * a9, a9 + t0 * b8, b9 - t0 * a8
        a10, b10, a11, b11 = a10 + t0 * b11, b10 - t0 * a11, a11 + t0 * b10, b11 - t0 * a10
        a12, b12, a13, b13 = a12 + t0 * b13, b12 - t0 * a13, a13 + t0 * b12, b13 - t0 * a12
        a14, b14, a15, b15 = a14 + t0 * b15, b14 - t0 * a15, a15 + t0 * b14, b15 - t0 * a14
        a0, b0, a2, b2 = a0 + t1 * b2, b0 - t1 * a2, a2 + t1 * b0, b2 - t1 * a0
        a1, b1, a3, b3 = a1 + t1 * b3, b1 - t1 * a3, a3 + t1 * b1, b3 - t1 * a1
        a4, b4, a6, b6 = a4 + t1 * b6, b4 - t1 * a6, a6 + t1 * b4, b6 - t1 * a4
        a5, b5, a7, b7 = a5 + t1 * b7, b5 - t1 * a7, a7 + t1 * b5, b7 - t1 * a5
        a8, b8, a10, b10 = a8 + t1 * b10, b8 - t1 * a10, a10 + t1 * b8, b10 - t1 * a8
        a9, b9, a11, b11 = a9 + t1 * b11, b9 - t1 * a11, a11 + t1 * b9, b11 - t1 * a9
        a12, b12, a14, b14 = a12 + t1 * b14, b12 - t1 * a14, a14 + t1 * b12, b14 - t1 * a12
        a13, b13, a15, b15 = a13 + t1 * b15, b13 - t1 * a15, a15 + t1 * b13, b15 - t1 * a13
        a0, b0, a4, b4 = a0 + t2 * b4, b0 - t2 * a4, a4 + t2 * b0, b4 - t2 * a0
        a1, b1, a5, b5 = a1 + t2 * b5, b1 - t2 * a5, a5 + t2 * b1, b5 - t2 * a1
        a2, b2, a6, b6 = a2 + t2 * b6, b2 - t2 * a6, a6 + t2 * b2, b6 - t2 * a2
        a3, b3, a7, b7 = a3 + t2 * b7, b3 - t2 * a7, a7 + t2 * b3, b7 - t2 * a3
        a8, b8, a12, b12 = a8 + t2 * b12, b8 - t2 * a12, a12 + t2 * b8, b12 - t2 * a8
        a9, b9, a13, b13 = a9 + t2 * b13, b9 - t2 * a13, a13 + t2 * b9, b13 - t2 * a9
        a10, b10, a14, b14 = a10 + t2 * b14, b10 - t2 * a14, a14 + t2 * b10, b14 - t2 * a10
        a11, b11, a15, b15 = a11 + t2 * b15, b11 - t2 * a15, a15 + t2 * b11, b15 - t2 * a11
        a0, b0, a8, b8 = a0 + t3 * b8, b0 - t3 * a8, a8 + t3 * b0, b8 - t3 * a0
        a1, b1, a9, b9 = a1 + t3 * b9, b1 - t3 * a9, a9 + t3 * b1, b9 - t3 * a1
        a2, b2, a10, b10 = a2 + t3 * b10, b2 - t3 * a10, a10 + t3 * b2, b10 - t3 * a2
        a3, b3, a11, b11 = a3 + t3 * b11, b3 - t3 * a11, a11 + t3 * b3, b11 - t3 * a3
        a4, b4, a12, b12 = a4 + t3 * b12, b4 - t3 * a12, a12 + t3 * b4, b12 - t3 * a4
        a5, b5, a13, b13 = a5 + t3 * b13, b5 - t3 * a13, a13 + t3 * b5, b13 - t3 * a5
        a6, b6, a14, b14 = a6 + t3 * b14, b6 - t3 * a14, a14 + t3 * b6, b14 - t3 * a6
        a7, b7, a15, b15 = a7 + t3 * b15, b7 - t3 * a15, a15 + t3 * b7, b15 - t3 * a7
        re[i], re[i + 32], re[i + 64], re[i + 96] = a0, a1, a2, a3
        re[i + 128], re[i + 160], re[i + 192], re[i + 224] = a4, a5, a6, a7
        re[i + 256], re[i + 288], re[i + 320], re[i + 352] = a8, a9, a10, a11
        re[i + 384], re[i + 416], re[i + 448], re[i + 480] = a12, a13, a14, a15
        im[i], im[i + 32], im[i + 64], im[i + 96] = b0, b1, b2, b3
        im[i + 128], im[i + 160], im[i + 192], im[i + 224] = b4, b5, b6, b7
        im[i + 256], im[i + 288], im[i + 320], im[i + 352] = b8, b9, b10, b11
        im[i + 384], im[i + 416], im[i + 448], im[i + 480] = b12, b13, b14, b15


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _low12(re, im, t0):  # pragma: no cover - compiled
    """Qubit 12 on a block of 16 rows."""
    o = 8 * ROW
    for i in range(8 * ROW):
        a0, a1 = re[i], re[i + o]
        b0, b1 = im[i], im[i + o]
        a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
        re[i], re[i + o] = a0, a1
        im[i], im[i + o] = b0, b1


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _phase(re, im, d, gamma, scale, poly, plus):  # pragma: no cover - compiled
    """(re, im) <- scale exp(-i gamma d) (re, im); cos and sin by ``kernels.cis_poly`` when ``poly``, else libm
    (two loops: the polynomial one vectorizes). ``plus``: (re, im) is not read, the state before the phase being
    the real constant ``scale`` (|+>^n with its 2^(-n/2) folded into ``scale``): the first layer writes it."""
    if poly and plus:
        for x in range(re.shape[0]):
            re[x], im[x] = cis_poly_scaled(-gamma * d[x], scale)
    elif plus:
        for x in range(re.shape[0]):
            a = -gamma * d[x]
            re[x] = scale * np.cos(a)
            im[x] = scale * np.sin(a)
    elif poly:
        for x in range(re.shape[0]):
            cs, sn = cis_poly_scaled(-gamma * d[x], scale)
            xr = re[x]
            xi = im[x]
            re[x] = xr * cs - xi * sn
            im[x] = xr * sn + xi * cs
    else:
        for x in range(re.shape[0]):
            a = -gamma * d[x]
            cs = scale * np.cos(a)
            sn = scale * np.sin(a)
            xr = re[x]
            xi = im[x]
            re[x] = xr * cs - xi * sn
            im[x] = xr * sn + xi * cs


@numba.njit(cache=True, nogil=True, inline="always")
def _row_mix(rre, rim, t, vec, w):  # pragma: no cover - compiled
    """Qubits 0-8 on one row of ROW amplitudes (``_vrot6`` and ``_low6``, or the loops when not ``vec``)."""
    if vec:
        _low_vec(rre, rim, t[0], t[1], t[2], t[3], t[4], t[5])
        _low6(rre, rim, t[6:9])
    else:
        _low0(rre, rim, t[0], t[1])
        _low2(rre, rim, t[2], t[3], t[4], w)
        _low5(rre, rim, t[5], t[6], t[7], t[8], w)


@numba.njit(cache=True, nogil=True, inline="always")
def _sub_mix(re, im, t, q12):  # pragma: no cover - compiled
    """Qubits 9-11 (9-12 when ``q12``) across the 16 rows of a sub-block."""
    _low9(re, im, t[9:12])
    _low9(re[8 * ROW:], im[8 * ROW:], t[9:12])
    if q12:
        _low12(re, im, t[12])


@numba.njit(cache=True, nogil=True)
def _block(re, im, d, gamma, scale, poly, plus, t, vec, q12):  # pragma: no cover - compiled
    """The phase (``_phase``) and qubits 0..11 (0..12 when ``q12``) on one block of 2^13 amplitudes, row by row
    (module docstring)."""
    w = min(4, t.shape[0])  # 4 (n >= 13), not a compile-time constant (``_low2``)
    for r in range(0, 1 << LOW_QUBITS, ROW):
        rre = re[r:r + ROW]
        rim = im[r:r + ROW]
        _phase(rre, rim, d[r:r + ROW], gamma, scale, poly, plus)
        _row_mix(rre, rim, t, vec, w)
    _sub_mix(re, im, t, q12)


# ---- the factored phase of a diagonal quadratic in the bits of a row (``RowQuadratic``) ----
#: Bits of a row (ROW = 2^ROW_BITS): the cross terms of a quadratic diagonal with the bits above are linear in them.
ROW_BITS = 9
#: Coefficients a row keeps: g[h, 0..ROW_BITS-1] and a[h] (``RowQuadratic.coef``).
ROW_COEFS = ROW_BITS + 1
#: Largest |gamma| x residual (radians) of the factored phase, beyond which the polynomial sincos runs instead: the
#: state then moves by at most 1e-13 (2-norm) a layer beyond the rounding of the products (1e-12 over 10 layers).
QUAD_TOL = 1.0e-13
assert 1 << ROW_BITS == ROW


class RowQuadratic:
    """d[h ROW + l] = a[h] + b[l] + sum_{i < 9} bit_i(l) g[h, i] up to ``residual`` (max |d - that|, computed),
    for a diagonal quadratic in the bits (every cost of Z and ZZ terms; Ising and QUBO): the mixed terms between a
    row's 9 bits and the bits above are linear in the row's bits, with coefficients g[h, i] = d(h, e_i) - d(h, 0)
    - d(0, e_i) + d(0, 0) that depend on the row h. Then exp(-i gamma d) = exp(-i gamma a[h]) exp(-i gamma b[l])
    prod_{i: bit_i(l)} exp(-i gamma g[h, i]): per layer a table of ROW values exp(-i gamma b) and per row 10
    sincos (0.02 per amplitude), the row's factors built by doubling (q[j + 2^i] = q[j] f_i, one complex product
    an amplitude): three complex products an amplitude instead of a sincos and one (``_phase_rows``), and the
    diagonal not read by the first sweep. ``coef``: (2^n / ROW) x 10 values g[h, 0..8], a[h]; ``low``: b."""

    def __init__(self, coef: np.ndarray, low: np.ndarray, residual: float):
        self.coef, self.low, self.residual = coef, low, residual

    @classmethod
    def of(cls, d: np.ndarray) -> RowQuadratic | None:
        """The decomposition of ``d`` (one pass), or None when d has fewer than 2^MIN_QUBITS values or is not
        finite, or its residual exceeds 2^-40 max |d| (d is not quadratic in the bits)."""
        d = np.ascontiguousarray(d, dtype=np.float64)
        if d.ndim != 1 or d.shape[0] < (1 << MIN_QUBITS) or d.shape[0] & (d.shape[0] - 1):
            return None
        coef, low = np.empty((d.shape[0] >> ROW_BITS) * ROW_COEFS), np.empty(ROW)
        residual, top = _decompose(d, coef, low)
        if not (np.isfinite(residual) and residual <= 2.0 ** -40 * top):
            return None
        return cls(coef, low, float(residual))

    def fits(self, gamma: float) -> bool:
        """Whether the factored phase at ``gamma`` is within ``QUAD_TOL`` radians of exp(-i gamma d) (then the
        rounding of its products, ~10 eps, dominates)."""
        return abs(gamma) * self.residual <= QUAD_TOL


@numba.njit(cache=True, nogil=True)
def _decompose(d, coef, low):  # pragma: no cover - compiled
    """Fill ``coef`` and ``low`` (``RowQuadratic``); return (max |d - a - b - sum bit g|, max |d|)."""
    d0 = d[0]
    for y in range(ROW):
        low[y] = d[y] - d0
    rec = np.empty(ROW)
    residual = 0.0
    top = 0.0
    for h in range(d.shape[0] >> ROW_BITS):
        base = h * ROW
        a = d[base]
        c = coef[h * ROW_COEFS:(h + 1) * ROW_COEFS]
        rec[0] = 0.0
        for i in range(ROW_BITS):
            m = 1 << i
            c[i] = (d[base + m] - a) - low[m]
            for j in range(m):
                rec[m + j] = rec[j] + c[i]
        c[ROW_BITS] = a
        for y in range(ROW):
            x = d[base + y]
            r = abs(x - ((a + low[y]) + rec[y]))
            if r > residual or r != r:  # a NaN stays
                residual = r
            top = max(top, abs(x))
    return residual, top


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _cis_table(v, gamma, scale, cr, ci):  # pragma: no cover - compiled
    """(cr, ci) <- scale exp(-i gamma v) (``kernels.cis_poly_scaled``; vectorized)."""
    for x in range(v.shape[0]):
        cr[x], ci[x] = cis_poly_scaled(-gamma * v[x], scale)


@numba.njit(cache=True, nogil=True, fastmath={'contract'}, inline="always")
def _double(qr, qi, m, cr, ci):  # pragma: no cover - compiled
    """q[m + j] = q[j] (cr + i ci), j < m (m a compile-time constant after inlining: vectorized from 8 on)."""
    for j in range(m):
        xr = qr[j]
        xi = qi[j]
        qr[m + j] = xr * cr - xi * ci
        qi[m + j] = xr * ci + xi * cr


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _phase_rows(re, im, fr, fi, pr, pi, qr, qi, plus):  # pragma: no cover - compiled
    """The factored phase on one row (``RowQuadratic``): q[l] = f_9 prod_{i: bit_i(l)} f_i by doubling (f = the
    row's factors exp(-i gamma g[h, i]), f_9 = scale exp(-i gamma a[h])), then psi <- psi q p (p = exp(-i gamma b),
    the layer's table); ``plus``: psi <- q p (not read)."""
    qr[0] = fr[ROW_BITS]
    qi[0] = fi[ROW_BITS]
    _double(qr, qi, 1, fr[0], fi[0])
    _double(qr, qi, 2, fr[1], fi[1])
    _double(qr, qi, 4, fr[2], fi[2])
    _double(qr, qi, 8, fr[3], fi[3])
    _double(qr, qi, 16, fr[4], fi[4])
    _double(qr, qi, 32, fr[5], fi[5])
    _double(qr, qi, 64, fr[6], fi[6])
    _double(qr, qi, 128, fr[7], fi[7])
    _double(qr, qi, 256, fr[8], fi[8])
    if plus:
        for x in range(ROW):
            re[x] = qr[x] * pr[x] - qi[x] * pi[x]
            im[x] = qr[x] * pi[x] + qi[x] * pr[x]
    else:
        for x in range(ROW):
            cs = qr[x] * pr[x] - qi[x] * pi[x]
            sn = qr[x] * pi[x] + qi[x] * pr[x]
            xr = re[x]
            xi = im[x]
            re[x] = xr * cs - xi * sn
            im[x] = xr * sn + xi * cs


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def _phase_mix_row(re, im, fr, fi, pr, pi, qr, qi, t, plus):  # pragma: no cover - compiled
    """The factored phase and qubits 0-8 on one row, the phase in ``_vphase_rot6``'s registers: the row's factors
    of bits 0-2 by lane (q[0:8]) and of bits 3-8 by vector (q[8:72]) by doubling, as ``_phase_rows``."""
    lr, li, sr, si = qr[:8], qi[:8], qr[8:72], qi[8:72]
    lr[0] = 1.0
    li[0] = 0.0
    _double(lr, li, 1, fr[0], fi[0])
    _double(lr, li, 2, fr[1], fi[1])
    _double(lr, li, 4, fr[2], fi[2])
    sr[0] = fr[ROW_BITS]
    si[0] = fi[ROW_BITS]
    _double(sr, si, 1, fr[3], fi[3])
    _double(sr, si, 2, fr[4], fi[4])
    _double(sr, si, 4, fr[5], fi[5])
    _double(sr, si, 8, fr[6], fi[6])
    _double(sr, si, 16, fr[7], fi[7])
    _double(sr, si, 32, fr[8], fi[8])
    t0, t1, t2, t3, t4, t5 = t[0], t[1], t[2], t[3], t[4], t[5]
    if plus:
        for i in range(0, ROW, 64):
            _vphase_rot6_plus(re, im, i, pr, pi, sr, si, lr, li, t0, t1, t2, t3, t4, t5)
    else:
        for i in range(0, ROW, 64):
            _vphase_rot6_read(re, im, i, pr, pi, sr, si, lr, li, t0, t1, t2, t3, t4, t5)
    _low6(re, im, t[6:9])


@numba.njit(cache=True, nogil=True)
def _block_quad(re, im, fr, fi, pr, pi, qr, qi, plus, t, vec, q12):  # pragma: no cover - compiled
    """``_block`` with the factored phase (``_phase_mix_row``, or ``_phase_rows`` then the loops when not ``vec``;
    fr, fi: the 16 rows' factors, ROW_COEFS a row)."""
    w = min(4, t.shape[0])
    for k in range(SUB // ROW):
        r = k * ROW
        rre = re[r:r + ROW]
        rim = im[r:r + ROW]
        f = k * ROW_COEFS
        if vec:
            _phase_mix_row(rre, rim, fr[f:f + ROW_COEFS], fi[f:f + ROW_COEFS], pr, pi, qr, qi, t, plus)
        else:
            _phase_rows(rre, rim, fr[f:f + ROW_COEFS], fi[f:f + ROW_COEFS], pr, pi, qr, qi, plus)
            _row_mix(rre, rim, t, vec, w)
    _sub_mix(re, im, t, q12)


#: Contiguous amplitudes per row visit of a direct sweep (``_direct``; RUN <= 2^BLOCK).
RUN = 4096
#: Higher qubits per direct sweep: 2^3 rows of re and 2^3 of im in flight, 16 streams.
DIRECT = 3
#: Byte offset of im from re modulo 4 KiB that puts their rows in different L1 sets (``set_apart``).
APART = 2048


def set_apart(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    """``im``, or a copy of it whose address is ``APART`` bytes off re's modulo 4 KiB (rows 2^lo apart of re and
    of im then fall in two L1 sets, not one: the direct sweeps run 1.8x faster, module docstring)."""
    if (im.ctypes.data - re.ctypes.data) % 4096 == APART:
        return im
    buf = np.empty(im.shape[0] + 512)
    skip = ((re.ctypes.data + APART - buf.ctypes.data) % 4096) // 8
    out = buf[skip:skip + im.shape[0]]
    out[:] = im
    return out


def empty_split(num_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """(re, im) of 2^n uninitialized float64 each, im ``APART`` bytes off re's L1 sets (as ``set_apart``, no copy):
    the state ``x_layer(..., plus=True)`` writes."""
    size = 1 << num_qubits
    re = np.empty(size)
    buf = np.empty(size + 512)
    skip = ((re.ctypes.data + APART - buf.ctypes.data) % 4096) // 8
    return re, buf[skip:skip + size]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _expectation_run(re, im, d):  # pragma: no cover - compiled
    value = 0.0
    norm = 0.0
    for x in range(re.shape[0]):
        w = re[x] * re[x] + im[x] * im[x]
        value += d[x] * w
        norm += w
    return value, norm


def expectation(re: np.ndarray, im: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """(sum_x d[x] |psi_x|^2, sum_x |psi_x|^2) for psi = re + i im in one read of re, im and d (24 bytes an
    amplitude, the expectation of the streaming bound; no probability array): runs of ``RUN`` summed in any order
    (vectorized), the runs' sums added in order, so the rounding error is about (RUN / 8 + 2^n / RUN) eps of the
    sum of |terms| rather than 2^n eps."""
    if not (re.ndim == 1 and re.shape == im.shape == d.shape):  # the kernel indexes without bounds checks
        raise ValueError(f"expectation needs re, im and d of one length (1-d), got {re.shape}, {im.shape}, {d.shape}")
    return _expectation(re, im, d)


@numba.njit(cache=True, nogil=True)
def _expectation(re, im, d):  # pragma: no cover - compiled
    """``expectation`` on checked arrays."""
    value = 0.0
    norm = 0.0
    for s in range(0, re.shape[0], RUN):
        v, w = _expectation_run(re[s:s + RUN], im[s:s + RUN], d[s:s + RUN])
        value += v
        norm += w
    return value, norm


def _pairs(k, o, count=RUN):
    """The rotation of k <= 3 qubits on 2^k rows ``o`` apart, ``count`` amplitudes each (both compile-time constants
    of the closure): ``t[:k]`` the qubits' tangents."""
    if k == 1:
        @numba.njit(cache=True, nogil=True, fastmath={'contract'})
        def rows1(re, im, t):  # pragma: no cover - compiled
            t0 = t[0]
            for i in range(count):
                a0, a1 = re[i], re[i + o]
                b0, b1 = im[i], im[i + o]
                a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
                re[i], re[i + o] = a0, a1
                im[i], im[i + o] = b0, b1
        return rows1
    if k == 2:
        @numba.njit(cache=True, nogil=True, fastmath={'contract'})
        def rows2(re, im, t):  # pragma: no cover - compiled
            t0, t1 = t[0], t[1]
            for i in range(count):
                a0, a1, a2, a3 = re[i], re[i + o], re[i + 2 * o], re[i + 3 * o]
                b0, b1, b2, b3 = im[i], im[i + o], im[i + 2 * o], im[i + 3 * o]
                a0, b0, a1, b1 = a0 + t0 * b1, b0 - t0 * a1, a1 + t0 * b0, b1 - t0 * a0
                a2, b2, a3, b3 = a2 + t0 * b3, b2 - t0 * a3, a3 + t0 * b2, b3 - t0 * a2
                a0, b0, a2, b2 = a0 + t1 * b2, b0 - t1 * a2, a2 + t1 * b0, b2 - t1 * a0
                a1, b1, a3, b3 = a1 + t1 * b3, b1 - t1 * a3, a3 + t1 * b1, b3 - t1 * a1
                re[i], re[i + o], re[i + 2 * o], re[i + 3 * o] = a0, a1, a2, a3
                im[i], im[i + o], im[i + 2 * o], im[i + 3 * o] = b0, b1, b2, b3
        return rows2

    @numba.njit(cache=True, nogil=True, fastmath={'contract'})
    def rows3(re, im, t):  # pragma: no cover - compiled
        t0, t1, t2 = t[0], t[1], t[2]
        for i in range(count):
            a0, a1, a2, a3 = re[i], re[i + o], re[i + 2 * o], re[i + 3 * o]
            a4, a5, a6, a7 = re[i + 4 * o], re[i + 5 * o], re[i + 6 * o], re[i + 7 * o]
            b0, b1, b2, b3 = im[i], im[i + o], im[i + 2 * o], im[i + 3 * o]
            b4, b5, b6, b7 = im[i + 4 * o], im[i + 5 * o], im[i + 6 * o], im[i + 7 * o]
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
            re[i], re[i + o], re[i + 2 * o], re[i + 3 * o] = a0, a1, a2, a3
            re[i + 4 * o], re[i + 5 * o], re[i + 6 * o], re[i + 7 * o] = a4, a5, a6, a7
            im[i], im[i + o], im[i + 2 * o], im[i + 3 * o] = b0, b1, b2, b3
            im[i + 4 * o], im[i + 5 * o], im[i + 6 * o], im[i + 7 * o] = b4, b5, b6, b7
    return rows3


#: Qubits 6-8 on a row of ROW amplitudes (8 runs of 64, 64 apart), 9-11 on 8 rows of ROW amplitudes (ROW apart) and
#: 13 on 2 sub-blocks (SUB apart): ``_pairs``' kernels at those offsets.
_low6 = _pairs(3, 64, 64)
_low9 = _pairs(3, ROW, ROW)
_mid1 = _pairs(1, SUB, SUB)


@numba.njit(cache=True, nogil=True, inline="always")
def _x(a0, b0, a1, b1, t):  # pragma: no cover - compiled
    """The tan-form pair (module docstring): the FMAs of the row kernels, for the totals' kernels."""
    return a0 + t * b1, b0 - t * a1, a1 + t * b0, b1 - t * a0


def _pairs_total(k, o):  # _pairs' rotation, then d |psi|^2 and |psi|^2 summed over the rows instead of stored
    if k == 1:
        @numba.njit(cache=True, nogil=True, fastmath={'contract', 'reassoc'})
        def total1(re, im, d, t):  # pragma: no cover - compiled
            t0 = t[0]
            value = 0.0
            norm = 0.0
            for i in range(RUN):
                a0, b0, a1, b1 = _x(re[i], im[i], re[i + o], im[i + o], t0)
                w0, w1 = a0 * a0 + b0 * b0, a1 * a1 + b1 * b1
                value += d[i] * w0 + d[i + o] * w1
                norm += w0 + w1
            return value, norm
        return total1
    if k == 2:
        @numba.njit(cache=True, nogil=True, fastmath={'contract', 'reassoc'})
        def total2(re, im, d, t):  # pragma: no cover - compiled
            t0, t1 = t[0], t[1]
            value = 0.0
            norm = 0.0
            for i in range(RUN):
                a0, a1, a2, a3 = re[i], re[i + o], re[i + 2 * o], re[i + 3 * o]
                b0, b1, b2, b3 = im[i], im[i + o], im[i + 2 * o], im[i + 3 * o]
                a0, b0, a1, b1 = _x(a0, b0, a1, b1, t0)
                a2, b2, a3, b3 = _x(a2, b2, a3, b3, t0)
                a0, b0, a2, b2 = _x(a0, b0, a2, b2, t1)
                a1, b1, a3, b3 = _x(a1, b1, a3, b3, t1)
                w0, w1, w2, w3 = a0 * a0 + b0 * b0, a1 * a1 + b1 * b1, a2 * a2 + b2 * b2, a3 * a3 + b3 * b3
                value += (d[i] * w0 + d[i + o] * w1) + (d[i + 2 * o] * w2 + d[i + 3 * o] * w3)
                norm += (w0 + w1) + (w2 + w3)
            return value, norm
        return total2

    @numba.njit(cache=True, nogil=True, fastmath={'contract', 'reassoc'})
    def total3(re, im, d, t):  # pragma: no cover - compiled
        t0, t1, t2 = t[0], t[1], t[2]
        value = 0.0
        norm = 0.0
        for i in range(RUN):
            a0, a1, a2, a3 = re[i], re[i + o], re[i + 2 * o], re[i + 3 * o]
            a4, a5, a6, a7 = re[i + 4 * o], re[i + 5 * o], re[i + 6 * o], re[i + 7 * o]
            b0, b1, b2, b3 = im[i], im[i + o], im[i + 2 * o], im[i + 3 * o]
            b4, b5, b6, b7 = im[i + 4 * o], im[i + 5 * o], im[i + 6 * o], im[i + 7 * o]
            a0, b0, a1, b1 = _x(a0, b0, a1, b1, t0)
            a2, b2, a3, b3 = _x(a2, b2, a3, b3, t0)
            a4, b4, a5, b5 = _x(a4, b4, a5, b5, t0)
            a6, b6, a7, b7 = _x(a6, b6, a7, b7, t0)
            a0, b0, a2, b2 = _x(a0, b0, a2, b2, t1)
            a1, b1, a3, b3 = _x(a1, b1, a3, b3, t1)
            a4, b4, a6, b6 = _x(a4, b4, a6, b6, t1)
            a5, b5, a7, b7 = _x(a5, b5, a7, b7, t1)
            a0, b0, a4, b4 = _x(a0, b0, a4, b4, t2)
            a1, b1, a5, b5 = _x(a1, b1, a5, b5, t2)
            a2, b2, a6, b6 = _x(a2, b2, a6, b6, t2)
            a3, b3, a7, b7 = _x(a3, b3, a7, b7, t2)
            w0, w1, w2, w3 = a0 * a0 + b0 * b0, a1 * a1 + b1 * b1, a2 * a2 + b2 * b2, a3 * a3 + b3 * b3
            w4, w5, w6, w7 = a4 * a4 + b4 * b4, a5 * a5 + b5 * b5, a6 * a6 + b6 * b6, a7 * a7 + b7 * b7
            value += ((d[i] * w0 + d[i + o] * w1) + (d[i + 2 * o] * w2 + d[i + 3 * o] * w3)) + (
                (d[i + 4 * o] * w4 + d[i + 5 * o] * w5) + (d[i + 6 * o] * w6 + d[i + 7 * o] * w7))
            norm += ((w0 + w1) + (w2 + w3)) + ((w4 + w5) + (w6 + w7))
        return value, norm
    return total3


@functools.cache
def _direct_total(lo, k):
    """``_direct(lo, k)`` that, instead of writing the state back, returns (sum_x d[x] |psi_x|^2, sum_x |psi_x|^2)
    of the rotated state (the last sweep of the last layer of an expectation: re, im and d read once, nothing
    written); per run of RUN the sums in any order (vectorized), the runs' sums in order (as ``expectation``)."""
    o = 1 << lo
    rows = _pairs_total(k, o)

    @numba.njit(cache=True, nogil=True)
    def sweep(re, im, d, t):  # pragma: no cover - compiled
        tq = t[lo:lo + k]
        value = 0.0
        norm = 0.0
        for base in range(0, re.shape[0], o << k):
            for c in range(0, o, RUN):
                v, w = rows(re[base + c:], im[base + c:], d[base + c:], tq)
                value += v
                norm += w
        return value, norm
    return sweep


@functools.cache
def _direct(lo, k):
    """The sweep of qubits lo..lo+k-1 (k <= DIRECT, 2^lo >= RUN) straight on the state: per 2^k rows 2^lo apart,
    runs of RUN amplitudes, the row offset a compile-time constant (one compiled kernel per (lo, k), cached)."""
    o = 1 << lo
    rows = _pairs(k, o)

    @numba.njit(cache=True, nogil=True)
    def sweep(re, im, t):  # pragma: no cover - compiled
        tq = t[lo:lo + k]
        for base in range(0, re.shape[0], o << k):
            for c in range(0, o, RUN):
                rows(re[base + c:], im[base + c:], tq)
    return sweep


#: Qubits 12-14 of a block of 2^BLOCK amplitudes in one pass (8 rows 2^12 apart): one L2 pass fewer than qubit 12
#: per sub-block, then 13-14 across the 4 sub-blocks.
_mid3 = _direct(LOW_QUBITS - 1, 3)
assert BLOCK == LOW_QUBITS + 2 and (1 << (LOW_QUBITS - 1)) == RUN


@numba.njit(cache=True, nogil=True)
def _block_top(re, im, start, lb, t):  # pragma: no cover - compiled
    """The first sweep's qubits above the sub-blocks on the block of 2^lb amplitudes at ``start``, once its
    sub-blocks are done (``_first_sweep``, ``_first_sweep_quad``): ``_mid3`` (lb = BLOCK) or ``_mid1``
    (lb = LOW_QUBITS + 1); none below."""
    if lb == BLOCK:
        _mid3(re[start:start + (1 << lb)], im[start:start + (1 << lb)], t)
    elif lb == LOW_QUBITS + 1:
        _mid1(re[start:], im[start:], t[LOW_QUBITS:])


@numba.njit(cache=True, nogil=True)
def _first_sweep(re, im, d, gamma, t, scale, poly, plus):  # pragma: no cover - compiled
    """The phase and qubits 0..min(BLOCK, n) - 1, block by block (module docstring; ``plus``: ``_phase``)."""
    n = t.shape[0]
    lb = min(BLOCK, n)
    bs = 1 << lb
    for start in range(0, re.shape[0], bs):
        for sub in range(start, start + bs, SUB):
            bre = re[sub:sub + SUB]
            bim = im[sub:sub + SUB]
            _block(bre, bim, d[sub:sub + SUB], gamma, scale, poly, plus, t, VECTOR, lb < BLOCK)
        _block_top(re, im, start, lb, t)


@numba.njit(cache=True, nogil=True)
def _first_sweep_quad(re, im, coef, pr, pi, gamma, t, scale, plus):  # pragma: no cover - compiled
    """``_first_sweep`` with the factored phase (``RowQuadratic``: ``coef`` the rows' coefficients, (pr, pi) the
    layer's table exp(-i gamma b)): per block the rows' factors by one vectorized sincos loop, then the rows."""
    n = t.shape[0]
    lb = min(BLOCK, n)
    bs = 1 << lb
    nf = (bs >> ROW_BITS) * ROW_COEFS
    fr = np.empty(nf)
    fi = np.empty(nf)
    qr = np.empty(ROW)
    qi = np.empty(ROW)
    sf = (SUB >> ROW_BITS) * ROW_COEFS
    for start in range(0, re.shape[0], bs):
        c0 = (start >> ROW_BITS) * ROW_COEFS
        _cis_table(coef[c0:c0 + nf], gamma, 1.0, fr, fi)
        for k in range(ROW_BITS, nf, ROW_COEFS):  # scale on f_9 = exp(-i gamma a[h])
            fr[k] *= scale
            fi[k] *= scale
        for sub in range(start, start + bs, SUB):
            f = ((sub - start) >> ROW_BITS) * ROW_COEFS
            _block_quad(re[sub:sub + SUB], im[sub:sub + SUB], fr[f:f + sf], fi[f:f + sf], pr, pi, qr, qi, plus, t,
                        VECTOR, lb < BLOCK)
        _block_top(re, im, start, lb, t)


def _spread(q, n):
    """(lo, k) of direct sweeps of qubits q..n-1: ceil((n - q) / DIRECT) of them, the qubits spread evenly."""
    plan = []
    left = -(-(n - q) // DIRECT)
    while q < n:
        k = -(-(n - q) // left)
        plan.append((q, k))
        q += k
        left -= 1
    return plan


def _chunked(n):
    """The passes (lo, k) that run chunk by chunk right after the first sweep of the chunk, while it is in L3
    (chunks of 2^(lo + k) amplitudes for the last pass): qubits 15-17 when the direct sweeps from 15 on would start
    with 3 qubits (n = 18 and n >= 20), and qubit 18 as well (chunks of 2^19 amplitudes: 12 MiB with the diagonal)
    when that leaves one direct sweep fewer (n = 19, 22, 25, 28: 3.02 -> 2.61 ns an amplitude a layer at n = 22,
    4.31 -> 3.86 at 25; load 1.6-2.3)."""
    if n >= BLOCK + DIRECT + 1 and (n - BLOCK - DIRECT) % DIRECT == 1:
        return [(BLOCK, DIRECT), (BLOCK + DIRECT, 1)]
    if n >= BLOCK + DIRECT and _spread(BLOCK, n)[0][1] == DIRECT:
        return [(BLOCK, DIRECT)]
    return []


def _plan(n):
    """(lo, k) of the direct sweeps through the whole state: the qubits above the chunked ones (``_chunked``)."""
    return _spread(BLOCK + sum(k for _, k in _chunked(n)), n)


class _Laps:
    """CPU seconds of this thread (``time.thread_time``) per part of a layer, added into ``into`` (a no-op when
    None): ``lap(key)`` charges the time since the previous lap to ``key``."""

    def __init__(self, into: dict | None):
        self.into = into
        self.last = time.thread_time() if into is not None else 0.0

    def __call__(self, key: str) -> None:
        if self.into is not None:
            now = time.thread_time()
            self.into[key] = self.into.get(key, 0.0) + now - self.last
            self.last = now


def x_layer(re, im, d, gamma, t, scale, poly, plus=False, timings=None, total=False, quad=None):
    """One layer in place on (re, im), n = len(t) >= MIN_QUBITS: ``scale`` exp(-i gamma d), then prod_q
    [[1, -i t_q], [-i t_q, 1]] (module docstring; t = tan beta per qubit, scale = prod_q cos beta_q). ``plus``: the
    layer on |+>^n, (re, im) only written (``empty_split``): one read of the state fewer. ``timings``: a dict to
    which the CPU seconds of the parts are added ("first": phase and qubits 0-14; "chunked": qubits 15-17 (18)
    chunk by chunk; "direct": the direct sweeps; ``benchmarks.kernel --breakdown``). ``total``: return (sum d
    |psi|^2, sum |psi|^2) of the layer's state; where there are direct sweeps the last one sums instead of writing
    (``_direct_total``: (re, im) is then left without its qubits), else ``expectation`` after the layer."""
    n = t.shape[0]
    if t.ndim != 1 or n < MIN_QUBITS:  # the row kernels run over whole sub-blocks of 2^13 and read t[0..12]
        raise ValueError(f"x_layer needs at least {MIN_QUBITS} qubits, got {n} (t of shape {t.shape})")
    if plus:
        scale *= 2.0 ** (-n / 2)
    if not (re.shape == im.shape == d.shape == (1 << n,)):  # the kernels index without bounds checks
        raise ValueError(f"x_layer needs re, im and d of 2^{n} amplitudes, got {re.shape}, {im.shape}, {d.shape}")
    lap = _Laps(timings)
    if quad is not None and poly and quad.fits(gamma):
        if quad.coef.shape[0] != (re.shape[0] >> ROW_BITS) * ROW_COEFS:
            raise ValueError(f"x_layer: the RowQuadratic is of {quad.coef.shape[0] // ROW_COEFS} rows, the state "
                             f"of {re.shape[0] >> ROW_BITS}")
        pr, pi = np.empty(ROW), np.empty(ROW)
        _cis_table(quad.low, gamma, 1.0, pr, pi)

        def first(s, e):
            _first_sweep_quad(re[s:e], im[s:e], quad.coef[(s >> ROW_BITS) * ROW_COEFS:], pr, pi, gamma, t, scale,
                              plus)
    else:
        def first(s, e):
            _first_sweep(re[s:e], im[s:e], d[s:e], gamma, t, scale, poly, plus)
    chunked = [_direct(lo, k) for lo, k in _chunked(n)]
    if chunked:
        c = 1 << sum(_chunked(n)[-1])
        for s in range(0, re.shape[0], c):  # qubits 15-17 (18) while the chunk is in L3: one DRAM sweep fewer
            first(s, s + c)
            lap("first")
            for sweep in chunked:
                sweep(re[s:s + c], im[s:s + c], t)
            lap("chunked")
    else:
        first(0, re.shape[0])
        lap("first")
    plan = _plan(n)
    summed = total and bool(plan)
    for lo, k in plan[:-1] if summed else plan:
        _direct(lo, k)(re, im, t)
        lap("direct")
    if summed:
        value, norm = _direct_total(*plan[-1])(re, im, d, t)
        lap("direct")
        return value, norm
    return expectation(re, im, d) if total else None


def sweeps(num_qubits: int) -> int:
    """Full-state read+write sweeps of one ``x_layer`` through DRAM (the first one also reads the diagonal)."""
    return 1 + len(_plan(num_qubits))


def x_form(u: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(t, scale) of per-qubit mixers u (n, 2, 2) = [[c, -i s], [-i s, c]] (t = s / c, scale = prod c), or None
    when n < MIN_QUBITS, some u_q is not of that form or |t_q| > ``TAN_LIMIT``."""
    u = np.asarray(u)
    if u.shape[0] < MIN_QUBITS:
        return None
    c, s = u[:, 0, 0], u[:, 0, 1]
    if not (np.all(c.imag == 0) and np.all(u[:, 1, 1] == c) and np.all(s.real == 0) and np.all(u[:, 1, 0] == s)):
        return None
    c, s = c.real, -s.imag
    if np.any(np.abs(s) > TAN_LIMIT * np.abs(c)):
        return None
    return np.ascontiguousarray(s / c), float(np.prod(c))


__all__ = ["APART", "BLOCK", "DIRECT", "MIN_QUBITS", "ROW", "RUN", "SUB", "TAN_LIMIT", "empty_split", "expectation",
           "set_apart", "sweeps", "x_form", "x_layer"]
