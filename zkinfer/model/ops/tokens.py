"""Decoder embedding: ``e = TOK[ids]``, ``x = rq(e m[c])`` (the tied table, requantized to the
residual stream's scale).

Gadget: ``embed.e = onehot(ids) @ TOK`` (a one-hot relation on the committed table ``tok_emb``,
which the LM head reads too) with ``e`` range-checked at its declared width, then the
requantization of :mod:`zkinfer.model.ops.requant` with ``pre = e m[c]``:
``|e| < 2^(emb - 1)`` and ``|m| < 2^(mult_bits - 1)`` keep ``|pre| + 2^s`` below ``2^62``
(declared widths, machine-checked), so the rounding identity holds over the integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import OpHome, amax, max_abs, signed_bits
from zkinfer.protocol.circuit import OneHotRel

__all__ = ["OpTokens", "HOME"]


@dataclass(frozen=True, eq=False)
class OpTokens:
    """Token embedding of a decoder, columns ``{name}.e`` and the requantization's."""

    name: str
    rq: requant.Requant


class _Tokens(OpHome):
    op = OpTokens

    def _e_width(self, op, model, weight_widths) -> tuple[int, bool]:
        if weight_widths is None:
            t = model.tok_emb
            return (signed_bits(int(t.min()), int(t.max())), True)
        return tuple(weight_widths[f"{op.name}.e"])

    def columns(self, op, model, n, widths, weight_widths):
        d = model.config.d_model
        ew = self._e_width(op, model, weight_widths)
        pre = amax(ew) * max_abs(op.rq.m)
        return [(f"{op.name}.e", (n, d), "tensor", ew, "e[i] = TOK[ids[i]] (row look-up)"),
                *requant.columns(op.name, (n, d), pre, op.rq, "e * m[c]")]

    def weight_width_names(self, op):
        return [f"{op.name}.e"]

    def weight_width_bounds(self, op, model, widths):
        return {f"{op.name}.e": model.qconfig.emb_bits}

    def weights(self, op, model):
        return {"tok_emb": model.tok_emb}

    def reference(self, op, model, ids, cols):
        e = model.tok_emb[ids]
        q, rem, out = requant.requantize(e * op.rq.m, op.rq)
        P = op.name
        return {f"{P}.e": e, f"{P}.q": q, f"{P}.rem": rem, f"{P}.out": out}

    def kernel(self, op, model, ids, cols):
        """The Numba kernel :func:`zkinfer.model._decoder_kernels.tokens`.

        Raises:
            ModelError: an id outside the embedding's rows.
        """
        from zkinfer.model import _decoder_kernels as D

        P, rq = op.name, op.rq
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not D.tokens(ids, model.tok_emb, rq.m, rq.shift, rq.lo, rq.hi, cols[f"{P}.e"],
                        cols[f"{P}.q"], cols[f"{P}.rem"], cols[f"{P}.out"]):
            raise ModelError(f"{P}: a token id outside the embedding's {len(model.tok_emb)} rows")

    def gadget(self, c, op, model, n, output):
        P, widths = op.name, model.widths
        d = model.config.d_model
        e = c.add_trace(f"{P}.e", (n, d), widths[f"{P}.e"])
        c.add_relation(OneHotRel(e.name, "tok_emb", "input"))
        m = c.broadcast(f"{P}.m", op.rq.m, e.bits[1])
        requant.gadget(c, P, (n, d), [(1, [e.name, m])], op.rq, widths)

    def advice(self, op, model, n):
        return requant.advice(op.name)


HOME = _Tokens()
