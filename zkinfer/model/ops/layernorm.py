"""Integer LayerNorm with the advice reciprocal square root.

Semantics: ``sum = sum_c x``; ``sum = mean d + mean_rem``, ``0 <= mean_rem < d``;
``c = x - mean``; ``var = sum_c c^2 + eps``; ``rsqrt = floor(sqrt(2^k / var))``, the unique
integer with ``rsqrt^2 var <= 2^k < (rsqrt + 1)^2 var`` (slacks ``rsqrt_lo``, ``rsqrt_hi >= 0``);
``z = c rsqrt`` (``|c| <= sqrt(var)`` gives ``|z| <= 2^(k/2)``); ``out = rq(z g[c] + beta[c])``.

Gadget: ``rsqrt^2 var <= 2^k < (rsqrt + 1)^2 var`` is checked exactly although ``rsqrt^2 var``
and ``rsqrt var`` of a cheating prover could exceed ``p``: with limbs of ``L = 61 - V`` bits
(``V`` the width of ``var``), ``t = rsqrt^2 = sum_i t_i 2^(L i)`` and
``rsqrt = sum_i y_i 2^(L i)``, every product ``t_i var`` and ``y_i var`` is below ``2^61``,
and range checks on those products (at their honest bounds ``2^(k - L i)`` and
``2^((k + V)/2 - L i)``) keep

- ``sum_i 2^(L i) t_i var + rsqrt_lo = 2^k`` (so ``rsqrt^2 var <= 2^k``) and
- ``2 sum_i 2^(L i) y_i var + var - rsqrt_lo - 1 = rsqrt_hi`` (so ``(rsqrt+1)^2 var > 2^k``)

below ``2^62``: they hold over the integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError, UnsupportedOpError
from zkinfer.model.config import QuantConfig
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import (
    OpHome,
    amax,
    check_fields,
    check_int,
    max_abs,
    signed_bits,
    unsigned_bits,
)
from zkinfer.protocol.axis_sum import AxisSumRel
from zkinfer.protocol.constraints import Identity

__all__ = ["IntLayerNorm", "OpLayerNorm", "check_layernorm", "isqrt_floor_div", "HOME"]


@dataclass(frozen=True, eq=False)
class IntLayerNorm:
    """Integer LayerNorm; ``rq.m`` holds the per-channel gain ``g`` (gamma folded in).

    Attributes:
        beta: per-channel bias at the pre-shift scale, ``(d,)``.
        eps: integer epsilon ``>= 1`` added to the variance (so it is never zero).
        k: rsqrt exponent: ``y = floor(sqrt(2^k / var))``.
        rq: gains ``g = rq.m``, shift and output clamp.
    """

    beta: np.ndarray
    eps: int
    k: int
    rq: requant.Requant


@dataclass(frozen=True, eq=False)
class OpLayerNorm:
    """LayerNorm of column ``src``."""

    name: str
    src: str
    ln: IntLayerNorm


def check_layernorm(name: str, ln: object, d: int, q: QuantConfig) -> None:
    """Type, shape and range checks of an :class:`IntLayerNorm` over ``d`` channels."""
    k = check_fields(name, ln, IntLayerNorm, arrays={"beta": ((d,), 48)}, ints={"k": (2, 58)})["k"]
    requant.check(f"{name}.rq", ln.rq, d, q.mult_bits)
    # eps >= 1 keeps var > 0; var >= eps and var <= 2^k (for rsqrt >= 1) need eps <= 2^k
    check_int(f"{name}.eps", ln.eps, 1, 1 << k)


def isqrt_floor_div(num: int, v: np.ndarray) -> np.ndarray:
    """``floor(sqrt(num / v))`` per element, exactly (``floor(sqrt(floor(a/b))) = floor(sqrt(a/b))``).

    Arguments:
        num: the numerator (``2^k``).
        v: positive int64 array.

    Returns:
        int64 array of the same shape.
    """
    return np.array([math.isqrt(num // int(x)) for x in v.ravel()], dtype=np.int64).reshape(v.shape)


#: The trace columns of a LayerNorm, in kernel argument order.
_COLS = ("sum", "mean", "mean_rem", "c", "var", "rsqrt", "rsqrt_lo", "rsqrt_hi", "z", "q", "rem",
         "out")  # fmt: skip

_T_LIMBS_ARGUMENT = (
    "T = sum_i 2^(L i) t_i may exceed p, so this identity alone says only t = T mod p. "
    "'rsqrt low' holds over the integers (its bound is checked): T var = 2^k - rsqrt_lo <= 2^k "
    "with var >= eps >= 1 (var = csum + eps, csum a sum of squares), so 0 <= T <= 2^k < 2^59; "
    "t = rsqrt^2 < 2^61 by 't'; both below p and congruent, hence t = T over the integers."
)


def _limbs(op: OpLayerNorm, widths) -> tuple[int, int, int, int]:
    """``(L, nt, ny, half_kv)``: limb width, limb counts of ``t`` and ``rsqrt``, and the bound
    exponent of the ``wa`` products (module docstring)."""
    P, k = op.name, op.ln.k
    yb = widths[f"{P}.rsqrt"][0]
    vb = widths[f"{P}.var"][0]
    L = 61 - vb
    if 2 * yb > 61 or L < 4 or k > 58:
        raise UnsupportedOpError(f"{P}: rsqrt ({yb} bits) and var ({vb} bits) are too wide")
    return L, -(-2 * yb // L), -(-yb // L), (k + vb) // 2 + 2


class _LayerNorm(OpHome):
    op = OpLayerNorm

    def columns(self, op, model, n, widths, weight_widths):
        ln, P, d = op.ln, op.name, model.config.d_model
        xw = widths[op.src]
        xmax = amax(xw)
        cmax = 2 * xmax - 1
        vmax = d * cmax * cmax + ln.eps
        k = ln.k
        if vmax > 1 << k:
            # rsqrt >= 1 needs var <= 2^k; then rsqrt_hi < (2*rsqrt+1) * var <= 3 * 2^k
            raise ModelError(f"{P}: rsqrt exponent k={k} too small for var < {vmax}")
        ymax = math.isqrt((1 << k) // ln.eps)
        zmax = math.isqrt(1 << k)
        pre = zmax * max_abs(ln.rq.m) + max_abs(ln.beta)
        return [
            (f"{P}.sum", (n,), "advice", (signed_bits(-d * xmax, d * xmax), True),
             f"sum = sum_c {op.src}[:, c]"),
            (f"{P}.mean", (n,), "advice", xw, f"mean = floor(sum / {d})"),
            (f"{P}.mean_rem", (n,), "advice", (unsigned_bits(d - 1), False),
             f"mean_rem = sum - mean * {d}, 0 <= mean_rem < {d}"),
            (f"{P}.c", (n, d), "tensor", (signed_bits(-cmax, cmax), True),
             f"c = {op.src} - mean"),
            (f"{P}.var", (n,), "advice", (unsigned_bits(vmax), False),
             f"var = sum_c c^2 + {ln.eps}"),
            (f"{P}.rsqrt", (n,), "advice", (unsigned_bits(ymax), False),
             f"rsqrt = floor(sqrt(2^{k} / var)): rsqrt^2 * var <= 2^{k} < (rsqrt+1)^2 * var"),
            (f"{P}.rsqrt_lo", (n,), "advice", (k + 1, False),
             f"rsqrt_lo = 2^{k} - rsqrt^2 * var >= 0"),
            (f"{P}.rsqrt_hi", (n,), "advice", (k + 2, False),
             f"rsqrt_hi = (rsqrt+1)^2 * var - 2^{k} - 1 >= 0"),
            (f"{P}.z", (n, d), "tensor", (signed_bits(-zmax, zmax), True),
             f"z = c * rsqrt (|z| <= 2^({k}/2))"),
            *requant.columns(P, (n, d), pre, ln.rq, "z * g[c] + beta[c]"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        ln = op.ln
        x = cols[op.src]
        d = x.shape[1]
        s = x.sum(axis=1)
        mean = s // d  # floor
        mean_rem = s - mean * d
        c = x - mean[:, None]
        var = (c * c).sum(axis=1) + ln.eps
        two_k = 1 << ln.k
        y = isqrt_floor_div(two_k, var)
        lo = two_k - y * y * var
        hi = (y + 1) * (y + 1) * var - two_k - 1
        z = c * y[:, None]
        q, rem, out = requant.requantize(z * ln.rq.m + ln.beta, ln.rq)
        return {f"{op.name}.{k}": v for k, v in zip(
            _COLS, (s, mean, mean_rem, c, var, y, lo, hi, z, q, rem, out))}

    def kernel(self, op, model, ids, cols):
        from zkinfer.model import _kernels as K

        ln, N = op.ln, op.name
        K.layernorm(cols[op.src], ln.rq.m, ln.beta, ln.eps, ln.k, ln.rq.shift, ln.rq.lo,
                    ln.rq.hi, *(cols[f"{N}.{c}"] for c in _COLS))  # fmt: skip

    def gadget(self, c, op, model, n, output):
        ln, P, widths = op.ln, op.name, model.widths
        x = c.trace[op.src]
        d = x.shape[1]
        k = ln.k
        L, nt, ny, half_kv = _limbs(op, widths)
        vec, mat = (n,), (n, d)
        cols = {}
        for key in ("sum", "mean", "mean_rem", "var", "rsqrt", "rsqrt_lo", "rsqrt_hi"):
            cols[key] = c.add_trace(f"{P}.{key}", vec, widths[f"{P}.{key}"])
        for key in ("c", "z"):
            cols[key] = c.add_trace(f"{P}.{key}", mat, widths[f"{P}.{key}"])
        c.range(f"{P}.mean_rem", widths[f"{P}.mean_rem"][0], -1, d - 1)  # mean_rem <= d - 1
        rs, var = f"{P}.rsqrt", f"{P}.var"
        # advice columns (rules: advice()): csq = c^2, csum = sum_c csq, t = rsqrt^2, limbs
        # t_i, y_i of t and rsqrt, products ta_i = t_i var, wa_i = y_i var
        c.add_trace(f"{P}.csq", mat, None)
        c.add_trace(f"{P}.csum", vec, None)
        c.add_trace(f"{P}.t", vec, None)
        for i in range(nt):
            c.add_trace(f"{P}.t{i}", vec, (L, False))
            c.add_trace(f"{P}.ta{i}", vec, (max(1, k - L * i + 1), False))
        for i in range(ny):
            c.add_trace(f"{P}.y{i}", vec, (L, False))
            c.add_trace(f"{P}.wa{i}", vec, (max(1, half_kv - L * i), False))
        c.add_relation(AxisSumRel(f"{P}.sum", op.src, 1))
        c.add_relation(AxisSumRel(f"{P}.csum", f"{P}.csq", 1))
        ind1 = c.indicator(cols["sum"])
        ind2 = c.indicator(cols["c"])
        mean_b = c.view(f"{P}.mean", 1, d)
        rsqrt_b = c.view(rs, 1, d)
        nv1, nv2 = cols["sum"].num_vars, cols["c"].num_vars
        idents = [
            # sum = mean d + mean_rem
            Identity.of(f"{P} mean", (1, [f"{P}.sum"]), (-d, [f"{P}.mean"]),
                        (-1, [f"{P}.mean_rem"])),
            # var = sum_c c^2 + eps
            Identity.of(f"{P} var", (1, [var]), (-1, [f"{P}.csum"]), (-ln.eps, [ind1])),
            # t = rsqrt^2 = sum_i t_i 2^(L i);  rsqrt = sum_i y_i 2^(L i)
            Identity.of(f"{P} t", (1, [f"{P}.t"]), (-1, [rs, rs])),
            Identity.of(f"{P} t limbs", (1, [f"{P}.t"]),
                        *[(-(1 << (L * i)), [f"{P}.t{i}"]) for i in range(nt)],
                        integer_argument=_T_LIMBS_ARGUMENT),
            Identity.of(f"{P} rsqrt limbs", (1, [rs]),
                        *[(-(1 << (L * i)), [f"{P}.y{i}"]) for i in range(ny)]),
            # sum_i 2^(L i) t_i var + rsqrt_lo = 2^k
            Identity.of(f"{P} rsqrt low", *[(1 << (L * i), [f"{P}.ta{i}"]) for i in range(nt)],
                        (1, [f"{P}.rsqrt_lo"]), (-(1 << k), [ind1])),
            # 2 sum_i 2^(L i) y_i var + var - rsqrt_lo - 1 - rsqrt_hi = 0
            Identity.of(f"{P} rsqrt high", *[(2 << (L * i), [f"{P}.wa{i}"]) for i in range(ny)],
                        (1, [var]), (-1, [f"{P}.rsqrt_lo"]), (-1, [ind1]),
                        (-1, [f"{P}.rsqrt_hi"])),
        ]
        idents += [Identity.of(f"{P} ta{i}", (1, [f"{P}.ta{i}"]), (-1, [f"{P}.t{i}", var]))
                   for i in range(nt)]
        idents += [Identity.of(f"{P} wa{i}", (1, [f"{P}.wa{i}"]), (-1, [f"{P}.y{i}", var]))
                   for i in range(ny)]
        for ident in idents:
            c.identity(nv1, ident)
        for ident in (
            # c = x - mean on the real entries; csq = c^2; z = c rsqrt
            Identity.of(f"{P} center", (1, [f"{P}.c"]), (-1, [op.src]), (1, [ind2, mean_b])),
            Identity.of(f"{P} square", (1, [f"{P}.csq"]), (-1, [f"{P}.c", f"{P}.c"])),
            Identity.of(f"{P} scale", (1, [f"{P}.z"]), (-1, [f"{P}.c", rsqrt_b])),
        ):
            c.identity(nv2, ident)
        g = c.broadcast(f"{P}.g", ln.rq.m, cols["c"].bits[1])
        beta = c.broadcast(f"{P}.beta", ln.beta, cols["c"].bits[1])
        # pre = z g[c] + beta[c] (beta on the real entries only)
        requant.gadget(c, P, mat, [(1, [f"{P}.z", g]), (1, [ind2, beta])], ln.rq, widths)

    def advice(self, op, model, n):
        P = op.name
        L, nt, ny, _ = _limbs(op, model.widths)
        mask = (1 << L) - 1
        c, rs, var = f"{P}.c", f"{P}.rsqrt", f"{P}.var"
        rules = {f"{P}.csq": lambda t: t[c] * t[c],
                 f"{P}.csum": lambda t: (t[c] * t[c]).sum(axis=1),
                 f"{P}.t": lambda t: t[rs] * t[rs]}
        for i in range(nt):
            rules[f"{P}.t{i}"] = lambda t, i=i: ((t[rs] * t[rs]) >> (L * i)) & mask
            rules[f"{P}.ta{i}"] = lambda t, i=i: (((t[rs] * t[rs]) >> (L * i)) & mask) * t[var]
        for i in range(ny):
            rules[f"{P}.y{i}"] = lambda t, i=i: (t[rs] >> (L * i)) & mask
            rules[f"{P}.wa{i}"] = lambda t, i=i: ((t[rs] >> (L * i)) & mask) * t[var]
        return {**rules, **requant.advice(P)}


HOME = _LayerNorm()
