"""SwiGLU of a Llama MLP: ``out = rq(SILU[gate + 2^(b-1)] * up * m[c])``.

Semantics (exactly :func:`zkinfer.model.int_llama.swiglu`; ``b = in_bits``, ``half = 2^(b-1)``):
``silu = SILU[gate + half]`` (``gate`` is the clamped output of the gate projection, so
``gate + half`` is a row of the ``2^b``-row table), ``prod = silu * up``,
``out = rq(prod * m[c])`` (:mod:`zkinfer.model.ops.requant`). The trace also records the
multiplicities ``mult[t] = #{(i, c): gate[i, c] + half == t}``.

Gadget:

- ``silu = SILU[gate + half]`` by a pair look-up of ``(gate + half, silu)`` in the public table
  ``(j, SILU[j])`` (padded with zero rows to a power of two), with the committed multiplicity
  column ``.lookup_mult``: the trace's ``mult`` plus the padded entries of ``gate``, which look
  up row ``half`` (advice, :func:`~zkinfer.model.ops.common.lookup_multiplicities`), exactly as
  :mod:`zkinfer.model.ops.table`. A pair ``(x, y)`` in the table has ``x = j``, ``y = SILU[j]``
  as field elements; ``gate`` and ``silu`` are range-checked (``gate`` by its producer), so
  both are the integers the table holds: ``silu`` is the table entry of the integer ``gate``.
- ``prod - silu * up = 0``: ``|silu| <= max|SILU|`` and ``|up| <= amax(up)`` by their range
  checks, so ``|prod| = |silu up| <= max|SILU| amax(up) < 2^61`` (checked by
  :meth:`~_SwiGLU.columns`): the identity's terms sum to at most ``2^62 < p / 2`` in absolute
  value and it holds over the integers. ``prod`` is a product of range-checked columns,
  bounded by construction, so its declared width needs no range check.
- the requantization gadget of :mod:`zkinfer.model.ops.requant` with ``pre = prod * m[c]``:
  ``|pre| + 2^s <= max|SILU| amax(up) max|m| + 2^s < 2^62 < p / 2`` (checked by
  :meth:`columns`), so its rounding identity holds over the integers.

Every committed column is bound: ``silu`` by the look-up, ``.lookup_mult`` by the LogUp,
``prod`` by its identity, ``.rem``, ``.out``, ``.below``, ``.above`` by the requantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import (
    MAX_BITS,
    MAX_TABLE_ROWS,
    OpHome,
    amax,
    check_int,
    check_int_array,
    check_type,
    lookup_multiplicities,
    max_abs,
    signed_bits,
    table_lookup,
    unsigned_bits,
)
from zkinfer.protocol.constraints import Identity

if TYPE_CHECKING:  # int_llama imports the op modules: a run-time import here would be a cycle
    from zkinfer.model.int_llama import IntSwiGLU

__all__ = ["OpSwiGLU", "check_swiglu", "swiglu_reference", "HOME"]

#: The SiLU table's entries have at most this many signed bits (the product and pre-shift
#: bounds are checked against the up width and the multipliers in :meth:`_SwiGLU.columns`).
TABLE_BITS = 24


@dataclass(frozen=True, eq=False)
class OpSwiGLU:
    """SwiGLU of one MLP: reads the ``(n, f)`` columns ``gate`` and ``up``.

    Attributes:
        name: column prefix.
        gate: the gate projection's output (clamped to ``sw.in_bits`` signed bits).
        up: the up projection's output.
        sw: the SiLU table (``2^in_bits`` rows) and the requantization of the product.
        max_seq_len: ``N``: the widths are worst cases at ``n = N``.
    """

    name: str
    gate: str
    up: str
    sw: IntSwiGLU
    max_seq_len: int


def check_swiglu(name: str, op: object) -> None:
    """Type, shape and range checks of an :class:`OpSwiGLU` and its parameters.

    Raises:
        ModelError: ``sw`` is not an ``IntSwiGLU``; ``in_bits`` outside ``[1, 16]``; the table
            is not an int64 array of ``2^in_bits`` rows within :data:`TABLE_BITS` bits; the
            requantization is malformed; ``max_seq_len < 1``.
    """
    from zkinfer.model.int_llama import IntSwiGLU

    check_type(name, op, OpSwiGLU)
    check_int(f"{name}.max_seq_len", op.max_seq_len, 1, 1 << 40)
    sw = op.sw
    check_type(f"{name}.sw", sw, IntSwiGLU)
    b = check_int(f"{name}.sw.in_bits", sw.in_bits, 1, MAX_TABLE_ROWS.bit_length() - 1)
    check_int_array(f"{name}.sw.table", sw.table, (1 << b,), TABLE_BITS)
    m = getattr(sw.rq, "m", None)
    f = m.shape[0] if isinstance(m, np.ndarray) and m.ndim == 1 else -1
    if f < 1:
        raise ModelError(f"{name}.sw.rq.m: expected a non-empty 1-D array")
    requant.check(f"{name}.sw.rq", sw.rq, f, MAX_BITS)


def swiglu_reference(gate: np.ndarray, up: np.ndarray, sw: IntSwiGLU, name: str = "swiglu"
                     ) -> dict[str, np.ndarray]:
    """The op's columns from ``gate`` and ``up`` (int64 ``(n, f)``), by suffix: ``silu``,
    ``mult``, ``prod``, ``q``, ``rem``, ``out`` (the semantics of the module docstring).

    Raises:
        ModelError: a gate value outside the table's domain.
    """
    i = gate + (1 << (sw.in_bits - 1))
    if i.size and (i.min() < 0 or i.max() >= len(sw.table)):
        raise ModelError(f"{name}: gate outside the SiLU table's domain")
    silu = sw.table[i]
    prod = silu * up
    q, rem, out = requant.requantize(prod * sw.rq.m, sw.rq)
    mult = np.bincount(i.ravel(), minlength=len(sw.table)).astype(np.int64)
    return {"silu": silu, "mult": mult, "prod": prod, "q": q, "rem": rem, "out": out}


class _SwiGLU(OpHome):
    op = OpSwiGLU

    def columns(self, op, model, n, widths, weight_widths):
        """Rows ``.silu``, ``.mult``, ``.prod``, ``.q``, ``.rem``, ``.out`` of ``n`` tokens.

        Raises:
            ModelError: malformed parameters (:func:`check_swiglu`); ``n > max_seq_len``; the
                gate's declared width exceeds the table's domain; ``|prod|`` may reach
                ``2^61`` or ``|pre| + 2^s`` may reach ``2^62``.
        """
        check_swiglu(op.name, op)
        sw, P = op.sw, op.name
        b, N, f = sw.in_bits, op.max_seq_len, sw.rq.m.shape[0]
        half = 1 << (b - 1)
        if not 0 <= n <= N:
            raise ModelError(f"{P}: {n} tokens, at most {N}")
        gbits, gsigned = widths[op.gate]
        if (gbits > b) if gsigned else (gbits > b - 1):
            raise ModelError(f"{P}: gate width {gbits} bits exceeds the SiLU table's domain "
                             f"({b} signed bits)")
        smax = max_abs(sw.table)
        prod_max = smax * amax(widths[op.up])
        pre_max = prod_max * max_abs(sw.rq.m)
        if prod_max >= 1 << (MAX_BITS - 1):
            raise ModelError(f"{P}: the product may reach 2^61 (bound {prod_max})")
        if pre_max + (1 << sw.rq.shift) >= 1 << MAX_BITS:
            raise ModelError(f"{P}: the pre-shift value may reach 2^62 (bound {pre_max})")
        shape = (n, f)
        return [
            (f"{P}.silu", shape, "tensor", (signed_bits(-smax, smax), True),
             f"silu = SILU[{op.gate} + {half}] (table of {len(sw.table)} rows)"),
            (f"{P}.mult", (len(sw.table),), "multiplicity", (unsigned_bits(N * f), False),
             f"mult[t] = #{{(i, c): {op.gate}[i, c] + {half} == t}}"),
            (f"{P}.prod", shape, "tensor", (signed_bits(-prod_max, prod_max), True),
             f"prod = silu * {op.up}"),
            *requant.columns(P, shape, pre_max, sw.rq, "prod * m[c]"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        cols_ = swiglu_reference(cols[op.gate], cols[op.up], op.sw, op.name)
        return {f"{op.name}.{k}": v for k, v in cols_.items()}

    def kernel(self, op, model, ids, cols):
        """The Numba kernel :func:`zkinfer.model._decoder_kernels.swiglu`.

        Raises:
            ModelError: a gate value outside the SiLU table's domain.
        """
        from zkinfer.model import _decoder_kernels as D

        sw, P = op.sw, op.name
        gate, up = cols[op.gate], cols[op.up]
        if gate.shape != up.shape or gate.ndim != 2:
            raise ModelError(f"{P}: {op.gate} and {op.up} must be (n, f) columns of one shape")
        if not D.swiglu(gate, up, sw.table, 1 << (sw.in_bits - 1), sw.rq.m, sw.rq.shift,
                        sw.rq.lo, sw.rq.hi, *(cols[f"{P}.{c}"] for c in
                                              ("silu", "mult", "prod", "q", "rem", "out"))):
            raise ModelError(f"{P}: gate outside the SiLU table's domain")

    def gadget(self, c, op, model, n, output):
        """The look-up, the product identity and the requantization of the module docstring.

        Raises:
            ModelError: ``gate`` or ``up`` is not an ``(n, f)`` column.
        """
        sw, P, widths = op.sw, op.name, model.widths
        shape = (n, sw.rq.m.shape[0])
        for src in (op.gate, op.up):
            if c.col(src).shape != shape:
                raise ModelError(f"{P}: {src} has shape {c.col(src).shape}, expected {shape}")
        # silu is range-checked at max|SILU|: redundant with the look-up, but it gives the
        # product identity its bound
        silu = c.add_trace(f"{P}.silu", shape, widths[f"{P}.silu"])
        # silu = SILU[gate + half] (pair look-up; padded table rows are 0 and never looked up,
        # since gate + half < 2^in_bits)
        table_lookup(c, P, sw.table, op.gate, silu.name, 1 << (sw.in_bits - 1))
        # prod - silu up = 0 (|prod| = |silu up| <= max|SILU| amax(up) < 2^61, so the terms stay
        # below 2^62 < p / 2): bounded by this definition, so not range-checked
        prod = c.add_trace(f"{P}.prod", shape, None)
        c.identity(prod.num_vars,
                   Identity.of(f"{P} prod", (1, [prod.name]), (-1, [silu.name, op.up])))
        # out = rq(prod m[c]) (|prod m| + 2^s < 2^62, checked by columns())
        m = c.broadcast(f"{P}.m", sw.rq.m, prod.bits[1])
        requant.gadget(c, P, shape, [(1, [prod.name, m])], sw.rq, widths)

    def advice(self, op, model, n):
        P, half = op.name, 1 << (op.sw.in_bits - 1)
        return {f"{P}.lookup_mult": lambda t: lookup_multiplicities(t[f"{P}.mult"],
                                                                    t[op.gate].shape, half),
                **requant.advice(P)}


HOME = _SwiGLU()
