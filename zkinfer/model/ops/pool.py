"""Mean pooling: ``sum = sum_i h[i]``; ``sum * 2^P = mean * n + rem``, ``0 <= rem < n``.

``pool.mean`` is the public output. Gadget: ``pool.sum`` by a column sum of ``h``, the identity
``pool.sum 2^P - n output - pool.rem = 0`` with the public output (its integer range is recorded
before it is encoded; the declared widths keep ``|sum| 2^P`` far below ``p / 2``), and
``rem <= n - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.model.ops.common import OpHome, amax, signed_bits, unsigned_bits
from zkinfer.protocol.circuit import AxisSumRel
from zkinfer.protocol.constraints import Identity

__all__ = ["OpPool", "HOME"]


@dataclass(frozen=True)
class OpPool:
    """Mean pooling of column ``src`` over all (real) tokens."""

    name: str
    src: str
    shift: int


class _Pool(OpHome):
    op = OpPool

    def columns(self, op, model, n, widths, weight_widths):
        d, N = model.config.d_model, model.config.max_seq_len
        hmax = amax(widths[op.src])
        S = op.shift
        return [
            ("pool.sum", (d,), "advice", (signed_bits(-N * hmax, N * hmax), True),
             f"sum[c] = sum_i {op.src}[i, c]"),
            ("pool.mean", (d,), "tensor", (signed_bits(-(hmax << S), hmax << S), True),
             f"mean = floor(sum * 2^{S} / n) (public output)"),
            ("pool.rem", (d,), "advice", (unsigned_bits(N - 1), False),
             f"rem = sum * 2^{S} - mean * n, 0 <= rem < n"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        h = cols[op.src]
        n = h.shape[0]
        s = h.sum(axis=0)
        num = s << np.int64(op.shift)
        mean = num // n
        return {"pool.sum": s, "pool.mean": mean, "pool.rem": num - mean * n}

    def kernel(self, op, model, ids, cols):
        from zkinfer.model import _kernels as K

        K.pool(cols[op.src], op.shift, cols["pool.sum"], cols["pool.mean"], cols["pool.rem"])

    def gadget(self, c, op, model, n, output):
        widths = model.widths
        d = c.trace[op.src].shape[1]
        s = c.add_trace("pool.sum", (d,), widths["pool.sum"])
        rem = c.add_trace("pool.rem", (d,), widths["pool.rem"])
        c.add_relation(AxisSumRel("pool.sum", op.src, 0))
        # the public output: its integer range is recorded before it becomes field elements
        c.broadcast("output", output, s.bits[0])
        # sum 2^P - mean n - rem = 0 (mean is the public output; all zero on the padding)
        c.identity(s.num_vars, Identity.of("pool mean", (1 << op.shift, ["pool.sum"]),
                                           (-n, ["output"]), (-1, ["pool.rem"])))
        # rem <= n - 1
        c.range(rem.name, widths["pool.rem"][0], -1, n - 1)


HOME = _Pool()
