"""Requantization, the last step of linear, LayerNorm and attention-context ops.

Semantics: ``q = (pre + 2^(s-1)) >> s``, ``rem = pre + 2^(s-1) - q 2^s`` (``0 <= rem < 2^s``),
``out = clamp(q, lo, hi)``, where ``pre`` is the op's pre-shift value (e.g. ``acc * m[c]``).

Gadget: trace columns ``rem``, ``out``; advice ``below = max(out - q, 0)``,
``above = max(q - out, 0)``; the uncommitted linear column ``q = out - below + above``; the
rounding identity and the clamp identities of :func:`zkinfer.protocol.requant.rounding_and_clamp`
(why they pin ``out`` exactly given the ranges of ``rem``, ``out``, ``below``, ``above`` is
argued there); ``|pre| + 2^s < 2^62`` by the declared widths, below ``p / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.ops.common import MAX_BITS, check_fields, signed_bits
from zkinfer.protocol.circuit import Circuit
from zkinfer.protocol.requant import rounding_and_clamp

__all__ = ["Requant", "check", "columns", "requantize", "gadget", "advice"]


@dataclass(frozen=True, eq=False)
class Requant:
    """Requantization ``y = clamp((pre + 2^(shift-1)) >> shift, lo, hi)``.

    Attributes:
        m: per-output-channel integer multipliers, ``int64`` of shape ``(d_out,)``.
        shift: ``s >= 1``; ``>>`` is floor division by ``2^s``.
        lo: clamp lower bound.
        hi: clamp upper bound.
    """

    m: np.ndarray
    shift: int
    lo: int
    hi: int


def check(name: str, rq: object, d: int, mult_bits: int) -> None:
    """Type, shape and range checks of a :class:`Requant` with ``d`` channels."""
    half = 1 << (MAX_BITS - 1)
    v = check_fields(name, rq, Requant, arrays={"m": ((d,), mult_bits)}, ints={
        # 2^(shift - 1) and the remainder's width (shift bits) stay within MAX_BITS
        "shift": (1, MAX_BITS),
        # the clamp range [lo, hi] is non-empty and fits a MAX_BITS-bit signed column
        "lo": (-half, half - 1), "hi": (-half, half - 1)})
    if not v["lo"] < v["hi"]:
        raise ModelError(f"{name}: clamp bounds lo={v['lo']} hi={v['hi']}")


def columns(name: str, shape, pre_bound: int, rq: Requant, pre_doc: str) -> list:
    """Column rows ``.q``, ``.rem``, ``.out`` of a requantization with ``|pre| <= pre_bound``."""
    half = 1 << (rq.shift - 1)
    qb = ((pre_bound + half) >> rq.shift) + 1
    s = rq.shift
    return [
        (f"{name}.q", shape, "advice", (signed_bits(-qb, qb), True),
         f"q = floor(({pre_doc} + 2^{s - 1}) / 2^{s})"),
        (f"{name}.rem", shape, "advice", (s, False),
         f"rem = {pre_doc} + 2^{s - 1} - q * 2^{s}, 0 <= rem < 2^{s}"),
        (f"{name}.out", shape, "tensor", (signed_bits(rq.lo, rq.hi), True),
         f"out = clamp(q, {rq.lo}, {rq.hi})"),
    ]  # fmt: skip


def requantize(pre: np.ndarray, rq: Requant) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``q = (pre + 2^(s-1)) >> s``, ``rem = pre + 2^(s-1) - q*2^s``, ``out = clamp(q, lo, hi)``.

    Arguments:
        pre: int64 array (already multiplied by the multipliers).
        rq: shift and clamp bounds.

    Returns:
        ``(q, rem, out)``.
    """
    half = np.int64(1 << (rq.shift - 1))
    t = pre + half
    q = t >> np.int64(rq.shift)
    rem = t - (q << np.int64(rq.shift))
    return q, rem, np.clip(q, rq.lo, rq.hi)


def _q_bits(width: tuple[int, bool]) -> int:
    """Width of ``below`` / ``above`` for a quotient of declared width ``width``."""
    bits, signed = width
    return bits + 1 if signed else bits


def gadget(c: Circuit, P: str, shape, pre_terms, rq: Requant, widths) -> None:
    """``out = clamp((pre + 2^(s-1)) >> s, lo, hi)`` with ``pre = sum(pre_terms)``.

    Columns ``P.rem``, ``P.out`` (trace), ``P.below``, ``P.above`` (advice, rules in
    :func:`advice`) and the linear ``P.q = out - below + above``.
    """
    q, rem, out, below, above = (f"{P}.{k}" for k in ("q", "rem", "out", "below", "above"))
    c.add_trace(rem, shape, widths[rem])
    col = c.add_trace(out, shape, widths[out])
    qb = _q_bits(widths[q])
    c.add_trace(below, shape, (qb, False))
    c.add_trace(above, shape, (qb, False))
    # q = out - below + above is not committed: the clamp identity holds by definition
    c.add_linear(q, shape, None, [(1, out), (-1, below), (1, above)])
    # the rounding and clamp identities (|.| < 2^62 by the declared widths)
    for ident in rounding_and_clamp(P, pre_terms, rq.shift, rq.lo, rq.hi, c.indicator(col)):
        if not ident.name.endswith(" clamp"):
            c.identity(col.num_vars, ident)
    lo, hi = rq.lo, rq.hi
    out_bits, out_signed = widths[out]
    if not (out_signed and lo == -(1 << (out_bits - 1)) and hi == (1 << (out_bits - 1)) - 1):
        # the declared width is looser than [lo, hi]: check both ends
        span_bits = max(1, (hi - lo).bit_length())
        c.range(out, span_bits, 1, -lo)
        c.range(out, span_bits, -1, hi)


def advice(P: str) -> dict:
    """The prover's rules for ``P.below`` and ``P.above`` (from the trace's ``q`` and ``out``)."""
    q, out = f"{P}.q", f"{P}.out"
    return {f"{P}.below": lambda t: np.maximum(t[out] - t[q], 0),
            f"{P}.above": lambda t: np.maximum(t[q] - t[out], 0)}
