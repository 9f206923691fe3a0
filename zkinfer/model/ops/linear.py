"""Linear layer: ``acc = src @ W + b``; ``out = rq(acc * m[c] (+ res * res_m[c]))``.

Gadget: ``acc = src @ W + Ind_rows (x) b`` by the matmul sumcheck on the committed ``W``, then
the requantization of :mod:`zkinfer.model.ops.requant` with
``pre = acc m (+ res res_m)``: ``|acc| < 2^(acc_bits - 1)`` and the declared widths bound
``|pre| + 2^s`` below ``2^62 < p / 2``, so the rounding identity holds over the integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.config import QuantConfig
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import (
    OpHome,
    abs_int,
    amax,
    check_fields,
    check_int_array,
    max_abs,
    signed_bits,
)
from zkinfer.protocol.circuit import MatmulRel

__all__ = ["IntLinear", "OpLinear", "check_linear", "HOME"]


@dataclass(frozen=True, eq=False)
class IntLinear:
    """``acc = x @ w + b``, ``y = rq(acc * rq.m[c] + res * res_m[c])``.

    Attributes:
        w: ``int64`` weights ``(d_in, d_out)`` (values within ``weight_bits``).
        b: ``int64`` bias ``(d_out,)`` at the accumulator scale.
        rq: the requantization of the output.
        res_m: multipliers of the residual input, ``(d_out,)``, or ``None`` (no residual).
    """

    w: np.ndarray
    b: np.ndarray
    rq: requant.Requant
    res_m: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class OpLinear:
    """Linear layer reading column ``src`` (and ``res`` for the residual)."""

    name: str
    src: str
    lin: IntLinear
    res: str | None = None


def check_linear(name: str, lin: object, d_in: int, d_out: int, q: QuantConfig,
                 residual: bool = False) -> None:
    """Type, shape and range checks of an :class:`IntLinear` (``residual``: it has ``res_m``)."""
    check_fields(name, lin, IntLinear, arrays={"w": ((d_in, d_out), q.weight_bits),
                                               "b": ((d_out,), 48)})
    requant.check(f"{name}.rq", lin.rq, d_out, q.mult_bits)
    # residual multipliers exactly where the op adds a residual (no unread parameters)
    if residual:
        if lin.res_m is None:
            raise ModelError(f"{name} needs residual multipliers")
        check_int_array(f"{name}.res_m", lin.res_m, (d_out,), 41)
    elif lin.res_m is not None:
        raise ModelError(f"{name} has no residual input: res_m must be None")


_DUMMY = np.zeros((1, 1), dtype=np.int64)
_DUMMY1 = np.zeros(1, dtype=np.int64)


class _Linear(OpHome):
    op = OpLinear

    def columns(self, op, model, n, widths, weight_widths):
        lin = op.lin
        if weight_widths is None:
            xmax = amax(widths[op.src])
            bias = abs_int(lin.b)
            wabs = np.abs(lin.w).sum(axis=0)
            acc_max = max(int(wabs[c]) * xmax + bias[c] for c in range(len(bias)))
            acc_width = (signed_bits(-acc_max, acc_max), True)
        else:
            acc_width = tuple(weight_widths[f"{op.name}.acc"])
        # |acc| <= 2^(acc_bits - 1), so |pre| <= 2^(acc_bits - 1) |m[c]| (+ the residual)
        acc_max = amax(acc_width)
        pre_doc = "acc * m[c]"
        if op.res is None:
            pre_max = acc_max * max_abs(lin.rq.m)
        else:
            rmax = amax(widths[op.res])
            pre_max = max(acc_max * a + rmax * r
                          for a, r in zip(abs_int(lin.rq.m), abs_int(lin.res_m)))
            pre_doc = f"acc * m[c] + {op.res} * res_m[c]"
        shape = (n, lin.w.shape[1])
        return [(f"{op.name}.acc", shape, "tensor", acc_width, f"acc = {op.src} @ W + b"),
                *requant.columns(op.name, shape, pre_max, lin.rq, pre_doc)]

    def weight_width_names(self, op):
        return [f"{op.name}.acc"]

    def weight_width_bounds(self, op, model, widths):
        # |acc| <= d_in 2^(weight_bits - 1) max|x| + max|b| for weights of weight_bits bits
        d_in = op.lin.w.shape[0]
        wmax = 1 << (model.qconfig.weight_bits - 1)
        acc_max = d_in * wmax * amax(widths[op.src]) + max_abs(op.lin.b)
        return {f"{op.name}.acc": signed_bits(-acc_max, acc_max)}

    def weights(self, op, model):
        return {f"{op.name}.w": op.lin.w}

    def reference(self, op, model, ids, cols):
        lin = op.lin
        acc = cols[op.src] @ lin.w + lin.b  # integer matmul, |acc| within the declared width
        pre = acc * lin.rq.m
        if op.res is not None:
            pre = pre + cols[op.res] * lin.res_m
        q, rem, out = requant.requantize(pre, lin.rq)
        return {f"{op.name}.acc": acc, f"{op.name}.q": q, f"{op.name}.rem": rem,
                f"{op.name}.out": out}

    def kernel(self, op, model, ids, cols):
        from zkinfer.model import _kernels as K

        lin, N = op.lin, op.name
        res = cols[op.res] if op.res is not None else _DUMMY
        res_m = lin.res_m if op.res is not None else _DUMMY1
        K.linear(cols[op.src], lin.w, lin.b, lin.rq.m, res, res_m, op.res is not None,
                 lin.rq.shift, lin.rq.lo, lin.rq.hi,
                 cols[f"{N}.acc"], cols[f"{N}.q"], cols[f"{N}.rem"], cols[f"{N}.out"])  # fmt: skip

    def gadget(self, c, op, model, n, output):
        lin, P, widths = op.lin, op.name, model.widths
        d_out = lin.rq.m.shape[0]
        acc = c.add_trace(f"{P}.acc", (n, d_out), widths[f"{P}.acc"])
        bias = c.broadcast(f"{P}.b", lin.b, acc.bits[1])
        c.add_relation(MatmulRel(acc.name, op.src, f"{P}.w", bias))
        terms = [(1, [acc.name, c.broadcast(f"{P}.m", lin.rq.m, acc.bits[1])])]
        if op.res is not None:
            terms.append((1, [op.res, c.broadcast(f"{P}.res_m", lin.res_m, acc.bits[1])]))
        requant.gadget(c, P, (n, d_out), terms, lin.rq, widths)

    def advice(self, op, model, n):
        return requant.advice(op.name)


HOME = _Linear()
