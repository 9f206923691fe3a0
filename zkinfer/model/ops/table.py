"""Activation table: ``out = ACT[u + 2^(b-1)]`` over every ``b``-bit ``u`` (``2^b`` rows).

The trace also records the multiplicities ``mult[t] = #{(i, c): u[i, c] + 2^(b-1) == t}``.

Gadget: a pair look-up of ``(u + 2^(b-1), out)`` in the public table ``(j, ACT[j])`` (padded
with zero rows to a power of two), with the committed multiplicity column ``.lookup_mult``:
the trace's ``mult`` plus the padded entries of ``u``, which look up row ``2^(b-1)`` (advice,
:func:`~zkinfer.model.ops.common.lookup_multiplicities`). Look-ups bind values as field
elements; ``u`` and ``out`` are range-checked, so both are the integers the table holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.ops.common import (
    MAX_TABLE_ROWS,
    OpHome,
    check_int,
    check_int_array,
    lookup_multiplicities,
    signed_bits,
    table_lookup,
    unsigned_bits,
)

__all__ = ["OpTable", "check_activation", "HOME"]


@dataclass(frozen=True, eq=False)
class OpTable:
    """Activation table applied to column ``src``."""

    name: str
    src: str
    table: np.ndarray
    in_bits: int


def check_activation(name: str, table: object, in_bits: object, lo: int, hi: int) -> None:
    """An activation table of ``2^in_bits`` rows (at most :data:`MAX_TABLE_ROWS`) whose domain
    holds every input in ``[lo, hi]`` (the clamp of the linear feeding it)."""
    in_bits = check_int(f"{name}.in_bits", in_bits, 1, MAX_TABLE_ROWS.bit_length() - 1)
    check_int_array(f"{name}.table", table, (1 << in_bits,), 24)
    if lo < -(1 << (in_bits - 1)) or hi >= 1 << (in_bits - 1):
        raise ModelError(f"{name}.up clamp exceeds the table domain")


class _Table(OpHome):
    op = OpTable

    def columns(self, op, model, n, widths, weight_widths):
        t = op.table
        half = 1 << (op.in_bits - 1)
        N, f = model.config.max_seq_len, model.config.d_ff
        return [
            (f"{op.name}.out", (n, f), "tensor", (signed_bits(int(t.min()), int(t.max())), True),
             f"out = ACT[{op.src} + {half}] (table of {len(t)} rows)"),
            (f"{op.name}.mult", (len(t),), "multiplicity", (unsigned_bits(N * f), False),
             f"mult[t] = #{{(i, c): {op.src}[i, c] + {half} == t}}"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        i = cols[op.src] + (1 << (op.in_bits - 1))
        if i.min() < 0 or i.max() >= len(op.table):
            raise ModelError(f"{op.name}: table input outside the table domain")
        mult = np.bincount(i.ravel(), minlength=len(op.table)).astype(np.int64)
        return {f"{op.name}.out": op.table[i], f"{op.name}.mult": mult}

    def kernel(self, op, model, ids, cols):
        from zkinfer.model import _kernels as K

        ok = K.table_lookup(cols[op.src], op.table, 1 << (op.in_bits - 1),
                            cols[f"{op.name}.out"], cols[f"{op.name}.mult"])  # fmt: skip
        if not ok:
            raise ModelError(f"{op.name}: table input outside the table domain")

    def gadget(self, c, op, model, n, output):
        src = c.trace[op.src]
        out = c.add_trace(f"{op.name}.out", src.shape, model.widths[f"{op.name}.out"])
        table_lookup(c, op.name, op.table, op.src, out.name, 1 << (op.in_bits - 1))

    def advice(self, op, model, n):
        half = 1 << (op.in_bits - 1)
        return {f"{op.name}.lookup_mult": lambda t: lookup_multiplicities(
            t[f"{op.name}.mult"], t[op.src].shape, half)}


HOME = _Table()
