"""Integer RMSNorm of a Llama decoder, with the exact reciprocal square root.

Semantics (:func:`zkinfer.model.int_llama.rmsnorm`; ``src`` an ``(n, d)`` column, ``X`` the
largest ``|x|`` of its width, ``g = rq.m``), per row:

- ``ms = sum_c x^2 + eps`` (``eps >= 1``, so ``1 <= ms <= M = d X^2 + eps``);
- ``rsqrt = floor(sqrt(2^k / ms))``: the unique integer with
  ``rsqrt^2 ms <= 2^k < (rsqrt + 1)^2 ms``, with slacks ``rsqrt_lo = 2^k - rsqrt^2 ms >= 0`` and
  ``rsqrt_hi = (rsqrt + 1)^2 ms - 2^k - 1 >= 0``; ``rsqrt <= Y = isqrt(2^k / eps)``;
- ``z = x rsqrt`` (``x^2 <= ms`` gives ``|z| <= 2^(k/2)``);
- ``out = rq(z g[c])`` (:mod:`zkinfer.model.ops.requant`).

Supported: ``k <= 60`` and ``M <= 2^k`` (so ``rsqrt >= 1``, ``Y <= 2^30``, ``t = rsqrt^2 <= 2^60``);
the residual stream of SmolLM2 (24-bit ``x``, ``d = 576``: ``M < 2^56``, ``k = 58``) and every
``M`` of up to 58 bits with ``k <= 60`` fit the bounds below.

Gadget (per-row identities on the ``(n,)`` cube unless stated; ``Ind`` the indicator of the real
rows multiplies every constant):

1. ``xsq = x x`` on the ``(n, d)`` cube (``|.| <= 2 X^2``), ``xsum = sum_c xsq`` (a column sum,
   :class:`~zkinfer.protocol.axis_sum.AxisSumRel`, ``<= 2^b X^2`` for ``d`` padded to ``2^b``),
   ``ms = xsum + eps Ind``: ``ms`` is exactly ``sum_c x^2 + eps >= 1``.
2. Limbs of ``L = 31`` bits, range-checked at their widths: ``ms = sum_j 2^(L j) m_j`` (one limb:
   ``m_0`` is ``ms`` itself, no column) and ``t = rsqrt^2 = sum_i 2^(L i) t_i`` (identity
   ``sum_i 2^(L i) t_i = rsqrt rsqrt``: ``< 2^Tb + 2^(2 W) <= 2^61 + 2^62``, ``Tb`` the bits of
   ``Y^2``, ``W`` of ``Y``). Both recompositions hold over the integers.
3. The product ``t ms`` (up to ``2^118`` for a cheating prover) by its diagonals
   ``tm_s = sum_{i+j=s} t_i m_j`` (each product of two limbs ``< 2^62``, a diagonal holds at most
   two: ``< 2^63 - 2^32``), range-checked at the honest bound
   ``0 <= tm_s <= C_s = floor(2^k / 2^(L s))`` (honestly ``2^(L s) tm_s <= t ms <= 2^k``); when
   ``C_s = 0`` there is no column and ``sum_{i+j=s} t_i m_j = 0`` instead (non-negative terms:
   all zero). So ``sum_s 2^(L s) tm_s = t ms`` over the integers, each term ``<= 2^k``.
4. ``rsqrt low``: ``sum_s 2^(L s) tm_s + rsqrt_lo - 2^k Ind = 0``, bound
   ``D 2^k + 2^(k+1) + 2^k <= 5 2^60`` (``D <= 2`` diagonals with ``C_s > 0``; ``rsqrt_lo`` of
   ``k + 1`` bits): ``rsqrt^2 ms = 2^k - rsqrt_lo <= 2^k``.
5. The product ``u = rsqrt ms`` (``rsqrt < 2^31`` is a single limb) by ``rm_j = rsqrt m_j``,
   range-checked at ``0 <= rm_j <= R_j = min(U >> (L j), Y max(m_j))`` with
   ``U = min(isqrt(2^k M), Y M)`` (honestly ``u^2 = rsqrt^2 ms ms <= 2^k M``); ``R_j = 0``:
   ``rsqrt m_j = 0`` instead. So ``sum_j 2^(L j) rm_j = rsqrt ms`` over the integers.
6. ``rsqrt high``: ``2 sum_j 2^(L j) rm_j + ms - rsqrt_lo - Ind - rsqrt_hi = 0`` with
   ``rsqrt_hi`` range-checked at its width (``k + 2`` bits, so ``>= 0``) and at the honest
   ``rsqrt_hi <= 2 U + M - 1`` (``rsqrt_hi = 2 u + ms - rsqrt_lo - 1``). Bound
   ``2 (2 U) + M + 2^(k+1) + 1 + 2 U + M < 2^63 - 2^32`` (checked per op; ``U < 2^59`` when
   ``k <= 60`` and ``M < 2^58``). Over the integers, with (4):
   ``rsqrt_hi = 2 rsqrt ms + ms - 2^k + rsqrt^2 ms - 1 = (rsqrt+1)^2 ms - 2^k - 1 >= 0``.

(4) and (6) are the bracket ``rsqrt^2 ms <= 2^k < (rsqrt + 1)^2 ms``, which with ``ms >= 1``
pins ``rsqrt = floor(sqrt(2^k / ms))`` and then ``rsqrt_lo``, ``rsqrt_hi``. Then
``z = x rsqrt`` on the ``(n, d)`` cube (``|.| <= 2^(k/2) + X Y``, the ``rsqrt`` column
broadcast over channels) and the requantization ``pre = z g[c]``
(:func:`zkinfer.model.ops.requant.gadget`). Every bound above is recomputed from the public
parameters when the op is planned (:class:`UnsupportedOpError` if one does not fit) and
:func:`zkinfer.protocol.bounds.check_field_bounds` checks them all again on the circuit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError, UnsupportedOpError
from zkinfer.field import goldilocks as gl
from zkinfer.model.int_llama import IntRMSNorm
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import (
    MAX_BITS,
    OpHome,
    amax,
    check_int,
    check_type,
    max_abs,
    signed_bits,
    unsigned_bits,
)
from zkinfer.model.ops.layernorm import isqrt_floor_div
from zkinfer.protocol.axis_sum import AxisSumRel
from zkinfer.protocol.constraints import Identity

__all__ = ["OpRMSNorm", "RsqrtPlan", "plan", "LIMB", "HOME"]

#: Limb width of ``ms`` and ``rsqrt^2`` (module docstring, step 2).
LIMB = 31

_HALF_P = (gl.P - 1) // 2

#: The columns :func:`zkinfer.model.int_llama.rmsnorm` records, in order (after the prefix).
_COLS = ("ms", "rsqrt", "rsqrt_lo", "rsqrt_hi", "z", "q", "rem", "out")


@dataclass(frozen=True, eq=False)
class OpRMSNorm:
    """RMSNorm of column ``src`` (``(n, d)``, ``d = len(norm.rq.m)``).

    Attributes:
        name: column prefix of the op's outputs.
        src: the normalized column (the residual stream).
        norm: ``eps``, ``k`` and the gains and requantization ``rq``.
    """

    name: str
    src: str
    norm: IntRMSNorm


@dataclass(frozen=True)
class RsqrtPlan:
    """The limb layout and honest bounds of one RMSNorm's exact reciprocal square root.

    Attributes:
        d: channels.
        X: largest ``|x|``.
        M: largest ``ms = d X^2 + eps``.
        Y: largest ``rsqrt = isqrt(2^k // eps)``.
        U: largest ``rsqrt ms``: ``min(isqrt(2^k M), Y M)``.
        hi_max: largest ``rsqrt_hi``: ``min(2 U + M - 1, 2^(k+2) - 1)``.
        m_bits: widths of the limbs ``m_j`` of ``ms`` (one entry: ``ms`` itself).
        t_bits: widths of the limbs ``t_i`` of ``rsqrt^2``.
        tm_max: ``C_s`` per diagonal ``s`` of ``t ms`` (0: no column, the diagonal is zero).
        rm_max: ``R_j`` per limb ``j`` of ``ms`` (0: no column, ``rsqrt m_j = 0``).
    """

    d: int
    X: int
    M: int
    Y: int
    U: int
    hi_max: int
    m_bits: tuple[int, ...]
    t_bits: tuple[int, ...]
    tm_max: tuple[int, ...]
    rm_max: tuple[int, ...]


def _split(bits: int) -> tuple[int, ...]:
    """Widths of the ``LIMB``-bit limbs of a ``bits``-wide value, least significant first."""
    full, rest = divmod(bits, LIMB)
    return (LIMB,) * full + ((rest,) if rest else ())


def _fits(name: str, bound: int) -> None:
    if bound >= _HALF_P:
        raise UnsupportedOpError(f"{name} can reach 2^{bound.bit_length() - 1} >= p / 2")


def plan(op: OpRMSNorm, x_width: tuple[int, bool]) -> RsqrtPlan:
    """The limbs and bounds of ``op`` for an input of width ``x_width`` (module docstring).

    Raises:
        ModelError: invalid parameters (not an :class:`IntRMSNorm`, ``k`` outside ``[2, 60]``,
            ``eps`` outside ``[1, 2^k]``, ``rq.m`` not a 1-D int64 array), or
            ``M = d X^2 + eps > 2^k`` (``rsqrt`` would be 0 and ``rsqrt_hi`` could exceed
            ``k + 2`` bits).
        UnsupportedOpError: an identity of the gadget could reach ``p / 2``.
    """
    p = op.norm
    check_type(op.name, p, IntRMSNorm)
    k = check_int(f"{op.name}.k", p.k, 2, 60)
    eps = check_int(f"{op.name}.eps", p.eps, 1, 1 << k)
    m = p.rq.m
    if not (isinstance(m, np.ndarray) and m.dtype == np.int64 and m.ndim == 1 and m.size):
        raise ModelError(f"{op.name}.rq.m: expected a non-empty 1-D int64 array")
    d = m.shape[0]
    X = amax(x_width)
    M = d * X * X + eps
    if M > 1 << k:
        raise ModelError(f"{op.name}: rsqrt exponent k={k} too small for ms <= {M}")
    Y = math.isqrt((1 << k) // eps)
    U = min(math.isqrt((1 << k) * M), Y * M)
    hi_max = min(2 * U + M - 1, (1 << (k + 2)) - 1)
    m_bits = _split(unsigned_bits(M))
    t_bits = _split(unsigned_bits(Y * Y))
    if unsigned_bits(Y) > LIMB:  # pragma: no cover - k <= 60 gives Y <= 2^30
        raise UnsupportedOpError(f"{op.name}: rsqrt is wider than one limb")
    nd = len(m_bits) + len(t_bits) - 1
    tm_max = tuple((1 << k) >> (LIMB * s) for s in range(nd))
    rm_max = tuple(min(U >> (LIMB * j), Y * ((1 << b) - 1)) for j, b in enumerate(m_bits))
    # the bounds of the module docstring, from the same numbers the circuit range-checks
    limb = [(1 << b) - 1 for b in t_bits], [(1 << b) - 1 for b in m_bits]
    for s in range(nd):
        prods = sum(limb[0][i] * limb[1][s - i] for i in range(len(t_bits)) if 0 <= s - i < len(m_bits))
        _fits(f"{op.name} tm{s}", tm_max[s] + prods)
    for j in range(len(m_bits)):
        _fits(f"{op.name} rm{j}", rm_max[j] + Y * limb[1][j])
    _fits(f"{op.name} t limbs", (1 << sum(t_bits)) + (1 << (2 * unsigned_bits(Y))))
    lo_max = (1 << (k + 1)) - 1
    _fits(f"{op.name} rsqrt low",
          sum(c << (LIMB * s) for s, c in enumerate(tm_max)) + lo_max + (1 << k))
    _fits(f"{op.name} rsqrt high",
          2 * sum(r << (LIMB * j) for j, r in enumerate(rm_max)) + M + lo_max + 1 + hi_max)
    return RsqrtPlan(d, X, M, Y, U, hi_max, m_bits, t_bits, tm_max, rm_max)


def _zmax(k: int) -> int:
    return math.isqrt(1 << k)


class _RMSNorm(OpHome):
    op = OpRMSNorm

    def columns(self, op, model, n, widths, weight_widths):
        """The columns :func:`zkinfer.model.int_llama.rmsnorm` records, at its widths.

        Raises:
            ModelError: invalid parameters, ``M > 2^k`` or ``|pre| + 2^shift`` may reach
                ``2^62`` (:func:`plan`).
            UnsupportedOpError: the exact ``rsqrt`` bracket does not fit (:func:`plan`).
        """
        p, P = op.norm, op.name
        pl = plan(op, widths[op.src])
        k, d = p.k, pl.d
        zmax = _zmax(k)
        pre = zmax * max_abs(p.rq.m)
        if pre + (1 << p.rq.shift) >= 1 << MAX_BITS:
            raise ModelError(f"{P}: the pre-shift value may reach 2^{MAX_BITS} (bound {pre})")
        return [
            (f"{P}.ms", (n,), "advice", (unsigned_bits(pl.M), False),
             f"ms = sum_c {op.src}[:, c]^2 + {p.eps}"),
            (f"{P}.rsqrt", (n,), "advice", (unsigned_bits(pl.Y), False),
             f"rsqrt = floor(sqrt(2^{k} / ms)): rsqrt^2 * ms <= 2^{k} < (rsqrt+1)^2 * ms"),
            (f"{P}.rsqrt_lo", (n,), "advice", (k + 1, False),
             f"rsqrt_lo = 2^{k} - rsqrt^2 * ms >= 0"),
            (f"{P}.rsqrt_hi", (n,), "advice", (k + 2, False),
             f"rsqrt_hi = (rsqrt+1)^2 * ms - 2^{k} - 1 >= 0"),
            (f"{P}.z", (n, d), "tensor", (signed_bits(-zmax, zmax), True),
             f"z = {op.src} * rsqrt (|z| <= 2^({k}/2))"),
            *requant.columns(P, (n, d), pre, p.rq, "z * g[c]"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        """:func:`zkinfer.model.int_llama.rmsnorm`'s columns.

        Raises:
            ModelError: ``src`` is not an ``(n, d)`` int64 column.
        """
        p = op.norm
        x = np.asarray(cols[op.src])
        d = p.rq.m.shape[0]
        if x.dtype != np.int64 or x.ndim != 2 or x.shape[1] != d:
            raise ModelError(f"{op.name}: {op.src} must be an (n, {d}) int64 column")
        ms = (x * x).sum(axis=1) + p.eps
        two_k = 1 << p.k
        r = isqrt_floor_div(two_k, ms)
        lo = two_k - r * r * ms
        hi = (r + 1) * (r + 1) * ms - two_k - 1
        z = x * r[:, None]
        q, rem, out = requant.requantize(z * p.rq.m, p.rq)
        return {f"{op.name}.{c}": v for c, v in zip(_COLS, (ms, r, lo, hi, z, q, rem, out))}

    def kernel(self, op, model, ids, cols):
        """The Numba kernel :func:`zkinfer.model._decoder_kernels.rmsnorm`.

        Raises:
            ModelError: ``src`` is not an ``(n, d)`` int64 column.
        """
        from zkinfer.model import _decoder_kernels as D

        p, P = op.norm, op.name
        x = cols[op.src]
        d = p.rq.m.shape[0]
        if x.dtype != np.int64 or x.ndim != 2 or x.shape[1] != d:
            raise ModelError(f"{op.name}: {op.src} must be an (n, {d}) int64 column")
        D.rmsnorm(x, p.eps, p.k, p.rq.m, p.rq.shift, p.rq.lo, p.rq.hi,
                  *(cols[f"{P}.{c}"] for c in _COLS))

    def gadget(self, c, op, model, n, output):
        """``ms``, the exact ``rsqrt`` bracket, ``z`` and the requantization (module docstring).

        Raises:
            ModelError: invalid parameters or ``src`` not an ``(n, d)`` column.
            UnsupportedOpError: the bracket does not fit (:func:`plan`).
        """
        p, P, widths = op.norm, op.name, model.widths
        pl = plan(op, widths[op.src])
        k, d, L = p.k, pl.d, LIMB
        vec, mat = (n,), (n, d)
        x = c.trace[op.src]
        if x.shape != mat:
            raise ModelError(f"{P}: {op.src} has shape {x.shape}, expected {mat}")
        ms, rs, lo, hi = (f"{P}.{s}" for s in ("ms", "rsqrt", "rsqrt_lo", "rsqrt_hi"))
        col = {s: c.add_trace(f"{P}.{s}", vec, widths[f"{P}.{s}"])
               for s in ("ms", "rsqrt", "rsqrt_lo", "rsqrt_hi")}
        z = c.add_trace(f"{P}.z", mat, widths[f"{P}.z"]).name
        # advice (rules: advice()): xsq = x^2, xsum = sum_c xsq, the limbs m_j of ms (if more
        # than one) and t_i of rsqrt^2, the diagonals tm_s of t ms and rm_j = rsqrt m_j
        xsq, xsum = f"{P}.xsq", f"{P}.xsum"
        c.add_trace(xsq, mat, None)
        c.add_trace(xsum, vec, None)
        mj = [f"{P}.m{j}" for j in range(len(pl.m_bits))] if len(pl.m_bits) > 1 else [ms]
        ti = [f"{P}.t{i}" for i in range(len(pl.t_bits))]
        for names, bits in ((mj, pl.m_bits), (ti, pl.t_bits)):
            if names != [ms]:
                for name, b in zip(names, bits):
                    c.add_trace(name, vec, (b, False))
        tm = {s: f"{P}.tm{s}" for s, cap in enumerate(pl.tm_max) if cap}
        rm = {j: f"{P}.rm{j}" for j, cap in enumerate(pl.rm_max) if cap}
        for names, caps in ((tm, pl.tm_max), (rm, pl.rm_max)):
            for s, name in names.items():
                _capped(c, name, vec, caps[s])
        # rsqrt_hi <= 2 U + M - 1 (honest), keeping 'rsqrt high' below p / 2
        _cap(c, hi, widths[hi][0], pl.hi_max)
        c.add_relation(AxisSumRel(xsum, xsq, 1))
        ind = c.indicator(col["ms"])
        nt, nm = len(ti), len(mj)
        idents = [
            # ms = xsum + eps: |.| <= M + 2^b X^2 + eps
            Identity.of(f"{P} ms", (1, [ms]), (-1, [xsum]), (-p.eps, [ind])),
            # sum_i 2^(L i) t_i = rsqrt^2: < 2^Tb + 2^(2 W) <= 2^61 + 2^62
            Identity.of(f"{P} t limbs", *[(1 << (L * i), [t]) for i, t in enumerate(ti)],
                        (-1, [rs, rs])),
            # sum_s 2^(L s) tm_s + rsqrt_lo - 2^k = 0: <= D 2^k + 2^(k+1) + 2^k
            Identity.of(f"{P} rsqrt low", *[(1 << (L * s), [name]) for s, name in tm.items()],
                        (1, [lo]), (-(1 << k), [ind])),
            # 2 sum_j 2^(L j) rm_j + ms - rsqrt_lo - 1 - rsqrt_hi = 0: <= 4 U + M + 2^(k+1) + 1 + 2 U + M
            Identity.of(f"{P} rsqrt high", *[(2 << (L * j), [name]) for j, name in rm.items()],
                        (1, [ms]), (-1, [lo]), (-1, [ind]), (-1, [hi])),
        ]
        if nm > 1:
            # ms = sum_j 2^(L j) m_j: < 2^(V+1)
            idents.append(Identity.of(f"{P} ms limbs", (1, [ms]),
                                      *[(-(1 << (L * j)), [m]) for j, m in enumerate(mj)]))
        for s in range(len(pl.tm_max)):
            # tm_s = sum_{i+j=s} t_i m_j: <= C_s + sum max(t_i) max(m_j) (or = 0 when C_s = 0)
            prods = [(-1, [ti[i], mj[s - i]]) for i in range(nt) if 0 <= s - i < nm]
            lead = [(1, [tm[s]])] if s in tm else []
            idents.append(Identity.of(f"{P} tm{s}" if s in tm else f"{P} tm{s} zero",
                                      *lead, *prods))
        for j in range(nm):
            # rm_j = rsqrt m_j: <= R_j + Y max(m_j) (or = 0 when R_j = 0)
            lead = [(1, [rm[j]])] if j in rm else []
            idents.append(Identity.of(f"{P} rm{j}" if j in rm else f"{P} rm{j} zero",
                                      *lead, (-1, [rs, mj[j]])))
        for ident in idents:
            c.identity(col["ms"].num_vars, ident)
        rs_b = c.view(rs, 1, d)
        nv = c.trace[z].num_vars
        # xsq = x^2: <= 2 X^2;  z = x rsqrt: <= 2^(k/2) + X Y
        c.identity(nv, Identity.of(f"{P} square", (1, [xsq]), (-1, [op.src, op.src])))
        c.identity(nv, Identity.of(f"{P} scale", (1, [z]), (-1, [op.src, rs_b])))
        g = c.broadcast(f"{P}.g", p.rq.m, x.bits[1])
        # pre = z g[c]: |pre| + 2^s < 2^62 (columns())
        requant.gadget(c, P, mat, [(1, [z, g])], p.rq, widths)

    def advice(self, op, model, n):
        P = op.name
        pl = plan(op, model.widths[op.src])
        L, mask = LIMB, (1 << LIMB) - 1
        x, ms, rs = op.src, f"{P}.ms", f"{P}.rsqrt"
        nt, nm = len(pl.t_bits), len(pl.m_bits)

        def t_limb(t, i):
            return ((t[rs] * t[rs]) >> (L * i)) & mask

        def m_limb(t, j):
            return t[ms] if nm == 1 else (t[ms] >> (L * j)) & mask

        rules = {f"{P}.xsq": lambda t: t[x] * t[x],
                 f"{P}.xsum": lambda t: (t[x] * t[x]).sum(axis=1)}
        if nm > 1:
            for j in range(nm):
                rules[f"{P}.m{j}"] = lambda t, j=j: m_limb(t, j)
        for i in range(nt):
            rules[f"{P}.t{i}"] = lambda t, i=i: t_limb(t, i)
        for s, cap in enumerate(pl.tm_max):
            if cap:
                rules[f"{P}.tm{s}"] = lambda t, s=s: sum(
                    t_limb(t, i) * m_limb(t, s - i) for i in range(nt) if 0 <= s - i < nm)
        for j, cap in enumerate(pl.rm_max):
            if cap:
                rules[f"{P}.rm{j}"] = lambda t, j=j: t[rs] * m_limb(t, j)
        return {**rules, **requant.advice(P)}


def _cap(c, name: str, bits: int, cap: int) -> None:
    """``name <= cap`` (a second range check, ``cap - name`` in ``bits`` bits), unless the
    column's width already says so."""
    if cap != (1 << bits) - 1:
        c.range(name, bits, -1, cap)


def _capped(c, name: str, shape, cap: int) -> None:
    """An advice column with ``0 <= name <= cap``."""
    bits = unsigned_bits(cap)
    c.add_trace(name, shape, (bits, False))
    _cap(c, name, bits, cap)


HOME = _RMSNorm()
