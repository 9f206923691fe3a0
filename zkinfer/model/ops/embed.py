"""Embedding: ``tok = TOK[ids]``, ``pos = POS[0:n]``, ``x = tok + pos``.

Gadget: ``emb.tok = onehot(ids) @ TOK`` and ``emb.pos = onehot(0..n-1) @ POS`` (one-hot
relations on the committed tables ``tok_emb``, ``pos_emb``) and the identity
``emb.x - emb.tok - emb.pos = 0`` (entries of at most ``emb_bits + 1`` bits, far below ``p/2``).
"""

from __future__ import annotations

from dataclasses import dataclass

from zkinfer.model.ops.common import OpHome, signed_bits
from zkinfer.protocol.circuit import OneHotRel
from zkinfer.protocol.constraints import Identity

__all__ = ["OpEmbed", "HOME"]


@dataclass(frozen=True)
class OpEmbed:
    """Embedding look-up, columns ``emb.tok``, ``emb.pos``, ``emb.x``."""

    name: str


class _Embed(OpHome):
    op = OpEmbed

    def columns(self, op, model, n, widths, weight_widths):
        d = model.config.d_model
        if weight_widths is None:
            t, p = model.tok_emb, model.pos_emb
            tw = signed_bits(int(t.min()), int(t.max()))
            pw = signed_bits(int(p.min()), int(p.max()))
        else:
            tw, pw = weight_widths["emb.tok"][0], weight_widths["emb.pos"][0]
        # x = tok + pos: the sum of the two signed ranges
        xw = signed_bits(-(1 << (tw - 1)) - (1 << (pw - 1)), (1 << (tw - 1)) + (1 << (pw - 1)) - 2)
        return [
            ("emb.tok", (n, d), "tensor", (tw, True),
             "tok[i] = TOK[ids[i]] (row look-up, committed table)"),
            ("emb.pos", (n, d), "tensor", (pw, True), "pos[i] = POS[i]"),
            ("emb.x", (n, d), "tensor", (xw, True), "x = emb.tok + emb.pos"),
        ]  # fmt: skip

    def weight_width_names(self, op):
        return ["emb.tok", "emb.pos"]

    def weight_width_bounds(self, op, model, widths):
        # embedding entries have emb_bits bits (signed)
        q = model.qconfig
        return {"emb.tok": q.emb_bits, "emb.pos": q.emb_bits}

    def weights(self, op, model):
        return {"tok_emb": model.tok_emb, "pos_emb": model.pos_emb}

    def reference(self, op, model, ids, cols):
        n = ids.shape[0]
        tok = model.tok_emb[ids]
        pos = model.pos_emb[:n].copy()
        return {"emb.tok": tok, "emb.pos": pos, "emb.x": tok + pos}

    def kernel(self, op, model, ids, cols):
        from zkinfer.model import _kernels as K

        K.embed(ids, model.tok_emb, model.pos_emb, cols["emb.tok"], cols["emb.pos"], cols["emb.x"])

    def gadget(self, c, op, model, n, output):
        d = model.config.d_model
        for col in ("emb.tok", "emb.pos", "emb.x"):
            c.add_trace(col, (n, d), model.widths[col])
        c.add_relation(OneHotRel("emb.tok", "tok_emb", "input"))
        c.add_relation(OneHotRel("emb.pos", "pos_emb", "positions"))
        x = c.trace["emb.x"]
        # x - tok - pos = 0
        c.identity(x.num_vars, Identity.of("emb.x = tok + pos", (1, ["emb.x"]),
                                           (-1, ["emb.tok"]), (-1, ["emb.pos"])))


HOME = _Embed()
