"""Numba kernels for Goldilocks ``F_p`` and ``F_p2 = F_p[X]/(X^2 - 7)``.

Private: prover-side code imports this module; the verifier never does (it uses the numpy
implementations in :mod:`zkinfer.field.goldilocks` and :mod:`zkinfer.field.extension`).

Representation: a base element is a canonical ``uint64`` in ``[0, p)``; an extension element
``c0 + c1*X`` is two consecutive ``uint64`` words ``[c0, c1]`` (arrays of shape ``(..., 2)``).

The scalar helpers (``mul``, ``add``, ``ext_mul``, ...) are building blocks that other kernels
(NTT, sumcheck, commitments) call inside their loops; the ``*_vec`` kernels apply them
elementwise to whole arrays. They are plain cached ``njit`` functions, which LLVM inlines into
their callers, not ``inline='always'`` ones: Numba inlines those at the level of its own IR and
types them again at every call site, which made the first (uncached) run of the prover spend
about twice as long compiling (a cold ``zkinfer demo``: 105 s against 55 s on a 2-core machine)
for the same machine code (same prover times). Every kernel has a pure-Python twin in
:mod:`zkinfer.field.reference` and the tests compare the two.

Numba pitfall: ``uint64 op int64`` is promoted to ``float64``. Every constant below is therefore
an ``np.uint64`` and every literal inside the kernels is wrapped.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing

ir = numba.core.cgutils.ir  # llvmlite's IR builder, reached through numba (imported above)
types = numba.types
intrinsic = numba.extending.intrinsic

P = np.uint64(0xFFFFFFFF00000001)  # p = 2^64 - 2^32 + 1
EPS = np.uint64(0xFFFFFFFF)  # 2^64 mod p = 2^32 - 1
W = np.uint64(7)  # X^2 = W in F_p2
ZERO = np.uint64(0)
ONE = np.uint64(1)
U32 = np.uint64(32)
LOW32 = np.uint64(0xFFFFFFFF)

_njit = numba.njit(cache=True, nogil=True)
_inline = numba.njit(cache=True)  # LLVM inlines them (module docstring)


@intrinsic
def _mul_wide(typingctx, a, b):
    """``(lo, hi)`` of the exact 128-bit product of two ``uint64`` (one ``mul`` instruction)."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        i128 = ir.IntType(128)
        prod = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        lo = builder.trunc(prod, i64)
        hi = builder.trunc(builder.lshr(prod, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, signature.return_type, (lo, hi))

    return sig, codegen


@_inline
def reduce128(lo, hi):
    """``(hi * 2^64 + lo) mod p``, canonical.

    With ``hi = h1 * 2^32 + h0``: ``2^64 = 2^32 - 1`` and ``2^96 = -1`` mod p, so
    ``x = lo - h1 + h0 * (2^32 - 1)``.
    """
    h1 = hi >> U32
    h0 = hi & LOW32
    # t = lo - h1; a borrow wrapped by +2^64, and 2^64 = EPS (mod p), so subtract EPS.
    t = lo - h1
    if lo < h1:
        t -= EPS  # cannot wrap: t >= 2^64 - 2^32 here
    # t + h0*EPS; h0*EPS < 2^64, an overflow wraps by -2^64 and is fixed by +EPS.
    u = h0 * EPS
    s = t + u
    if s < u:
        s += EPS  # cannot overflow again: s < u <= (2^32-1)^2
    if s >= P:
        s -= P
    return s


@_inline
def mul(a, b):
    """``a * b mod p`` for canonical ``a, b``."""
    lo, hi = _mul_wide(a, b)
    return reduce128(lo, hi)


@_inline
def add(a, b):
    """``a + b mod p`` for canonical ``a, b``."""
    s = a + b
    # overflow past 2^64 (s < a) or s >= p: subtract p (wrapping arithmetic makes both right)
    if s < a or s >= P:
        s -= P
    return s


@_inline
def sub(a, b):
    """``a - b mod p`` for canonical ``a, b``."""
    d = a - b
    if a < b:
        d += P
    return d


@_inline
def neg(a):
    """``-a mod p`` for canonical ``a``."""
    if a == ZERO:
        return ZERO
    return P - a


@_inline
def power(a, e):
    """``a^e mod p`` by square-and-multiply; ``e`` is a non-negative ``uint64``."""
    result = ONE
    base = a
    while e > ZERO:
        if e & ONE:
            result = mul(result, base)
        base = mul(base, base)
        e >>= ONE
    return result


@_inline
def inv(a):
    """``a^(p-2)``: the inverse of a non-zero ``a`` (and 0 for ``a = 0``)."""
    return power(a, P - np.uint64(2))


# ---- extension field F_p2: (a0 + a1 X)(b0 + b1 X) = (a0 b0 + 7 a1 b1) + (a0 b1 + a1 b0) X


@_inline
def mul7(a):
    """``7 a mod p`` without a full product: ``8 a - a`` with one 128-bit reduction."""
    hi = a >> np.uint64(61)
    lo = a << np.uint64(3)
    # 8a = hi * 2^64 + lo (hi < 8); subtract a with a borrow from hi
    t = lo - a
    if lo < a:
        hi -= ONE
    return reduce128(t, hi)


@_inline
def ext_mul(a0, a1, b0, b1):
    """Product in ``F_p2``; returns ``(c0, c1)``.

    Karatsuba: ``c0 = a0 b0 + 7 a1 b1``, ``c1 = (a0 + a1)(b0 + b1) - a0 b0 - a1 b1``: three
    products and a cheap multiplication by 7.
    """
    v0 = mul(a0, b0)
    v1 = mul(a1, b1)
    c0 = add(v0, mul7(v1))
    c1 = sub(sub(mul(add(a0, a1), add(b0, b1)), v0), v1)
    return c0, c1


@_inline
def ext_inv(a0, a1):
    """Inverse in ``F_p2``: ``(a0 - a1 X) / (a0^2 - 7 a1^2)``; ``(0, 0)`` maps to ``(0, 0)``."""
    norm = sub(mul(a0, a0), mul(W, mul(a1, a1)))
    n_inv = inv(norm)
    return mul(a0, n_inv), mul(neg(a1), n_inv)


# ---- elementwise kernels over whole arrays (flat, contiguous)


@_njit
def mul_vec(a, b, out):
    for i in range(a.shape[0]):
        out[i] = mul(a[i], b[i])


@_njit
def batch_inv(a, out):
    """Montgomery's trick: ``n`` inverses for one exponentiation and ``3n`` products.

    Zeros are left as zeros (the caller checks for them first when a zero is an error).
    """
    n = a.shape[0]
    acc = ONE
    for i in range(n):
        out[i] = acc  # prefix product of the non-zero entries before i
        if a[i] != ZERO:
            acc = mul(acc, a[i])
    acc = inv(acc)
    for i in range(n - 1, -1, -1):
        if a[i] != ZERO:
            t = mul(acc, out[i])
            acc = mul(acc, a[i])
            out[i] = t
        else:
            out[i] = ZERO
