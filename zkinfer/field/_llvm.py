"""``F_p2`` arithmetic as Numba intrinsics that emit LLVM IR (prover side only).

Private, like :mod:`zkinfer.field._kernels`: prover kernels import it, the verifier never does.
Elements are canonical ``uint64`` words; an extension element ``c0 + c1 X`` (``X^2 = 7``) is
passed as its two words, and every intrinsic returns a tuple of ``uint64``.

The intrinsics return the same canonical values as :mod:`zkinfer.field._kernels` (tests compare
them) but reduce less: schoolbook products are summed exactly in 192 bits and reduced once per
coordinate (:func:`ir_dot`, :func:`ir_mul_by`), and :func:`xmac` accumulates products unreduced
over many calls, :func:`xacc` reducing the sum once. The bounds that keep each sum exact are
stated at each helper.

Why intrinsics and not ``inline="always"`` helpers: Numba inlines those at the Numba IR level and
re-types them at every call site, which made the unrolled kernels that use many of them (the
look-up provers' GKR layers, :mod:`zkinfer.lookup._kernels`) take minutes to compile; LLVM
inlines an intrinsic for free.

Two layers: the ``ir_*`` functions build IR (``b`` is an llvmlite ``IRBuilder``, values are
``i64`` or ``i192``) and compose into new formulas; :func:`intrinsic_of` turns such a builder
into an intrinsic's signature and code generator, as the intrinsics below (``xadd`` ...
``xacc``) and kernels' own fused formulas do.
"""

from __future__ import annotations

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing

ir = numba.core.cgutils.ir  # llvmlite's IR builder, reached through numba (imported above)
types = numba.types
intrinsic = numba.extending.intrinsic

__all__ = [
    "ir_dot", "ir_mul_by", "intrinsic_of",
    "xadd", "xsub", "xmul", "xdot2", "x7", "xfold", "xmac", "xacc",
]

_P = 0xFFFFFFFF00000001
_EPS = 0xFFFFFFFF  # 2^64 mod p
_I64 = ir.IntType(64)
_I128 = ir.IntType(128)
_I192 = ir.IntType(192)
_U64 = types.uint64


def _k(v: int) -> ir.Constant:
    return ir.Constant(_I64, v)


# ---- IR builders (b is an llvmlite IRBuilder; elements are canonical i64)


def ir_reduce(b, lo, hi):
    """``(hi 2^64 + lo) mod p``, canonical, any ``lo, hi``
    (:func:`zkinfer.field._kernels.reduce128`)."""
    h1 = b.lshr(hi, _k(32))
    h0 = b.and_(hi, _k(0xFFFFFFFF))
    t = b.sub(lo, h1)
    t = b.select(b.icmp_unsigned("<", lo, h1), b.sub(t, _k(_EPS)), t)
    u = b.mul(h0, _k(_EPS))
    s = b.add(t, u)
    s = b.select(b.icmp_unsigned("<", s, u), b.add(s, _k(_EPS)), s)
    return b.select(b.icmp_unsigned(">=", s, _k(_P)), b.sub(s, _k(_P)), s)


def ir_add(b, x, y):
    """``x + y mod p`` for canonical ``x, y``."""
    s = b.add(x, y)
    wrap = b.or_(b.icmp_unsigned("<", s, x), b.icmp_unsigned(">=", s, _k(_P)))
    return b.select(wrap, b.sub(s, _k(_P)), s)


def ir_sub(b, x, y):
    """``x - y mod p`` for canonical ``x, y``."""
    d = b.sub(x, y)
    return b.select(b.icmp_unsigned("<", x, y), b.add(d, _k(_P)), d)


def ir_wide(b, x):
    """An i64 zero-extended to i192."""
    return b.zext(x, _I192)


def ir_prod(b, x, y):
    """The exact product of two i64, as an i192 (to sum a few before reducing)."""
    return ir_wide(b, b.mul(b.zext(x, _I128), b.zext(y, _I128)))


def ir_sum(b, terms):
    """The plain (unreduced) sum of a list of IR values of one type."""
    acc = terms[0]
    for t in terms[1:]:
        acc = b.add(acc, t)
    return acc


def ir_times7(b, v):
    """``7 v`` for an i192 ``v < 2^189``: ``8 v - v``."""
    return b.sub(b.shl(v, ir.Constant(_I192, 3)), v)


def ir_reduce_wide(b, v):
    """``v mod p`` for an i192 ``v < 2^160``, canonical: with ``v = top 2^128 + hi 2^64 + lo``
    and ``2^128 = -2^32 (mod p)``, it is ``reduce(lo, hi) - top 2^32`` (``top 2^32 < p``)."""
    lo = b.trunc(v, _I64)
    hi = b.trunc(b.lshr(v, ir.Constant(_I192, 64)), _I64)
    top = b.trunc(b.lshr(v, ir.Constant(_I192, 128)), _I64)
    return ir_sub(b, ir_reduce(b, lo, hi), b.shl(top, _k(32)))


def ir_join(b, w0, w1, w2):
    """An i192 from three i64 words, least significant first."""
    v = ir_wide(b, w0)
    v = b.or_(v, b.shl(ir_wide(b, w1), ir.Constant(_I192, 64)))
    return b.or_(v, b.shl(ir_wide(b, w2), ir.Constant(_I192, 128)))


def ir_words(b, v):
    """The three i64 words of an i192, least significant first."""
    return tuple(b.trunc(b.lshr(v, ir.Constant(_I192, 64 * i)), _I64) for i in range(3))


def ir_dot(b, pairs, extra=None):
    """``sum_i x_i y_i (+ extra)`` in ``F_p2`` for at most three pairs ``((x0, x1), (y0, y1))``
    of extension elements: ``c0 = sum x0 y0 + 7 sum x1 y1`` and ``c1 = sum (x0 y1 + x1 y0)``
    summed exactly (below ``2^134``) and reduced once each. ``extra``: an element to add."""
    c0 = [ir_prod(b, x[0], y[0]) for x, y in pairs]
    c0.append(ir_times7(b, ir_sum(b, [ir_prod(b, x[1], y[1]) for x, y in pairs])))
    c1 = [t for x, y in pairs for t in (ir_prod(b, x[0], y[1]), ir_prod(b, x[1], y[0]))]
    if extra is not None:
        c0.append(ir_wide(b, extra[0]))
        c1.append(ir_wide(b, extra[1]))
    return ir_reduce_wide(b, ir_sum(b, c0)), ir_reduce_wide(b, ir_sum(b, c1))


def ir_mul_by(b, x0, x1, r0, r1, r7, extra=None):
    """``r x (+ extra)`` for a constant ``r`` given with ``r7 = 7 r1``: ``c0 = r0 x0 + r7 x1``,
    ``c1 = r0 x1 + r1 x0``, each reduced once (no multiplication by 7 per call)."""
    c0 = [ir_prod(b, r0, x0), ir_prod(b, r7, x1)]
    c1 = [ir_prod(b, r0, x1), ir_prod(b, r1, x0)]
    if extra is not None:
        c0.append(ir_wide(b, extra[0]))
        c1.append(ir_wide(b, extra[1]))
    return ir_reduce_wide(b, ir_sum(b, c0)), ir_reduce_wide(b, ir_sum(b, c1))


def _ir_xadd(b, a0, a1, c0, c1):
    return ir_add(b, a0, c0), ir_add(b, a1, c1)


def _ir_xsub(b, a0, a1, c0, c1):
    return ir_sub(b, a0, c0), ir_sub(b, a1, c1)


def _ir_xmul(b, a0, a1, c0, c1):
    return ir_dot(b, [((a0, a1), (c0, c1))])


def _ir_dot2(b, a0, a1, c0, c1, x0, x1, y0, y1):
    return ir_dot(b, [((a0, a1), (c0, c1)), ((x0, x1), (y0, y1))])


def _ir_fold(b, l0, l1, h0, h1, r0, r1, r7):
    return ir_mul_by(b, *_ir_xsub(b, h0, h1, l0, l1), r0, r1, r7, extra=(l0, l1))


def _ir_times7_mod(b, a0, a1):
    return tuple(ir_reduce_wide(b, ir_times7(b, ir_wide(b, a))) for a in (a0, a1))


def _ir_mac(b, a0, a1, a2, c0, c1, c2, e0, e1, f0, f1):
    a = ir_sum(b, [ir_join(b, a0, a1, a2), ir_prod(b, e0, f0),
                   ir_times7(b, ir_prod(b, e1, f1))])
    c = ir_sum(b, [ir_join(b, c0, c1, c2), ir_prod(b, e0, f1), ir_prod(b, e1, f0)])
    return ir_words(b, a) + ir_words(b, c)


def _ir_acc(b, a0, a1, a2, c0, c1, c2):
    return ir_reduce_wide(b, ir_join(b, a0, a1, a2)), ir_reduce_wide(b, ir_join(b, c0, c1, c2))


# ---- the intrinsics (uint64 in, a tuple of uint64 out)


def intrinsic_of(nargs, nout, build):
    """Signature and codegen of an intrinsic with ``nargs`` uint64 arguments returning the
    ``nout`` uint64 of ``build(builder, *args)`` (what an ``@intrinsic`` function returns)."""
    sig = types.UniTuple(_U64, nout)(*([_U64] * nargs))

    def codegen(context, builder, signature, args):
        return context.make_tuple(builder, signature.return_type, build(builder, *args))

    return sig, codegen


@intrinsic
def xadd(typingctx, a0, a1, b0, b1):
    """``a + b`` in ``F_p2``."""
    return intrinsic_of(4, 2, _ir_xadd)


@intrinsic
def xsub(typingctx, a0, a1, b0, b1):
    """``a - b`` in ``F_p2``."""
    return intrinsic_of(4, 2, _ir_xsub)


@intrinsic
def xmul(typingctx, a0, a1, b0, b1):
    """``a b`` in ``F_p2``."""
    return intrinsic_of(4, 2, _ir_xmul)


@intrinsic
def xdot2(typingctx, a0, a1, c0, c1, x0, x1, y0, y1):
    """``a c + x y`` in ``F_p2``."""
    return intrinsic_of(8, 2, _ir_dot2)


@intrinsic
def x7(typingctx, a0, a1):
    """``7 a``: the ``r7`` argument of :func:`xfold` (and of :func:`ir_mul_by`) is
    ``x7(r0, r1)[1]``."""
    return intrinsic_of(2, 2, _ir_times7_mod)


@intrinsic
def xfold(typingctx, lo0, lo1, hi0, hi1, r0, r1, r7):
    """``lo + r (hi - lo)``, with ``r7 = 7 r1``."""
    return intrinsic_of(7, 2, _ir_fold)


@intrinsic
def xmac(typingctx, a0, a1, a2, c0, c1, c2, e0, e1, f0, f1):
    """Accumulate ``e f`` unreduced in two i192 sums of three words each,
    ``A += e0 f0 + 7 e1 f1`` and ``C += e0 f1 + e1 f0`` (less than ``2^131`` a call)."""
    return intrinsic_of(10, 6, _ir_mac)


@intrinsic
def xacc(typingctx, a0, a1, a2, c0, c1, c2):
    """The element ``(A mod p, C mod p)`` of :func:`xmac`'s sums (below ``2^160``: up to
    ``2^29`` calls)."""
    return intrinsic_of(6, 2, _ir_acc)
