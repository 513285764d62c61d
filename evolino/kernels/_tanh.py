"""A tanh that LLVM can vectorise, accurate to about 3 ulp (numba).

``math.tanh`` compiles to a call into libm, which stops the vectoriser: with ~50 tanh per network step (10 cells)
those calls were most of the kernel's time. This version uses only arithmetic, one formula for every x, so the loop
over cells becomes SIMD without computing two branches:

    tanh(x) = t / (t + 2),  t = expm1(2x),  2x clamped to [-40, 40] (where tanh already rounds to +-1).

expm1(y) = 2^k (expm1(r) + 1) - 1 with y = k ln 2 + r, |r| <= ln(2)/2 (Cody-Waite reduction with a two-part ln 2);
expm1(r) = r + r^2 q(r), q the degree-11 Taylor polynomial, evaluated by Estrin's scheme (a few multiplications deep
instead of Horner's chain of 22, which kept the vector units waiting); k is rounded by adding 1.5 * 2^52 (no floor
and no float-to-int conversion, which AVX2 has no vector instruction for), and 2^k is built from k's bits. Because
expm1 keeps its relative accuracy near 0, so does tanh: no separate small-x branch.

NaN and signed zeros pass through; +-inf give +-1.

``fast_tanh_lanes`` is the same function on an F64Vector (:mod:`evolino.kernels._simd`, the block kernel): the same
operations lane by lane, so each lane's result equals ``fast_tanh``'s bit for bit.
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from evolino.kernels._simd import F64Vector, I64Vector, select

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # few mantissa bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_ROUNDER = 6755399441055744.0  # 1.5 * 2**52: y + _ROUNDER holds round(y) in its low mantissa bits
_ROUNDER_BITS = 0x4338000000000000  # the bits of _ROUNDER
# q(r) = sum_i r^i / (i + 2)!, i = 0..11: expm1(r) = r + r^2 q(r), truncation error below 1e-17 for |r| <= ln(2)/2
(_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8, _Q9, _Q10, _Q11) = (1.0 / math.factorial(i + 2) for i in range(12))


@intrinsic
def _int_bits_as_float(typingctx, bits):
    """Reinterpret an int64's bits as a float64 (no conversion); lane by lane for an I64Vector."""
    if isinstance(bits, I64Vector):
        return F64Vector(bits.lanes)(bits), lambda context, builder, signature, args: builder.bitcast(
            args[0], ir.VectorType(ir.DoubleType(), bits.lanes))
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def _float_bits_as_int(typingctx, value):
    """Reinterpret a float64's bits as an int64 (no conversion); lane by lane for an F64Vector."""
    if isinstance(value, F64Vector):
        return I64Vector(value.lanes)(value), lambda context, builder, signature, args: builder.bitcast(
            args[0], ir.VectorType(ir.IntType(64), value.lanes))
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@njit(cache=True, inline="always", error_model="numpy")
def _expm1_bounded(y):
    """exp(y) - 1 for -40 <= y <= 40, to a few ulp relative (also near 0); y a float or an F64Vector."""
    shifted = y * _INV_LN2 + _ROUNDER
    k = shifted - _ROUNDER  # round(y / ln 2), exactly
    r = (y - k * _LN2_HI) - k * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    low = (_Q0 + _Q1 * r) + (_Q2 + _Q3 * r) * r2
    mid = (_Q4 + _Q5 * r) + (_Q6 + _Q7 * r) * r2
    high = (_Q8 + _Q9 * r) + (_Q10 + _Q11 * r) * r2
    q = (low + mid * r4) + high * (r4 * r4)
    scale = _int_bits_as_float((_float_bits_as_int(shifted) - _ROUNDER_BITS + 1023) << 52)  # 2**k
    return scale * (r + r2 * q) + (scale - 1.0)


@njit(cache=True, inline="always", error_model="numpy")
def fast_tanh(x):
    """tanh(x) to about 3 ulp, branch-free so that loops calling it vectorise."""
    y = 2.0 * x
    y = y if y < 40.0 else 40.0
    y = y if y > -40.0 else -40.0
    t = _expm1_bounded(y)
    result = t / (t + 2.0)
    return result if x != 0.0 and x == x else x  # keeps NaN and the sign of zero


@njit(cache=True, inline="always", error_model="numpy")
def fast_tanh_lanes(x):
    """:func:`fast_tanh` of every lane of an F64Vector: the same operations, lane by lane, so each lane's result is
    bit for bit the scalar function's (the ternaries become selects; tested)."""
    y = 2.0 * x
    y = select(y < 40.0, y, 40.0)
    y = select(y > -40.0, y, -40.0)
    t = _expm1_bounded(y)
    result = t / (t + 2.0)
    return select((x != 0.0) & (x == x), result, x)
