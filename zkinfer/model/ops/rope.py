"""Rotary position embedding (RoPE) of a Llama decoder's queries or keys.

Semantics (:func:`zkinfer.model.int_llama.rope` on the op's layout): ``src`` is a
``(n, heads dh)`` column, channel ``c = h dh + e``, row ``t`` at position ``t``
(``n <= positions``, the rows of the tables). For each head and ``i < dh/2``, with
``a = x[t, h dh + i]``, ``b = x[t, h dh + i + dh/2]``, ``C = cos[t, i]``, ``S = sin[t, i]``:
``pre = [a C - b S, b C + a S]`` (``|C|, |S| <= 2^bits``, so ``|pre| <= 2 amax(x) 2^bits``),
``out = clamp((pre + 2^(bits-1)) >> bits, lo, hi)`` (:mod:`zkinfer.model.ops.requant` with the
multiplier 1).

Gadget: ``pre = x C~ + flip(x) S~`` with

- ``flip(x)``: the view of ``x`` with the top bit of ``e`` negated (the two halves of each head
  swapped: ``b`` at ``a``'s place and back);
- ``C~``: the public :class:`~zkinfer.protocol.constraints.Grid` over the row bits and the low
  ``log2(dh) - 1`` bits of ``e``: ``C~[t, i] = cos[t, i]`` for ``t < n``, ``0`` on the padded
  rows, constant over the head bits and the half bit;
- ``S~``: the grid over the row bits and all bits of ``e``: ``-sin[t, i]`` on the first half,
  ``+sin[t, i]`` on the second, ``0`` on the padded rows;

then the rounding and clamp identities of :func:`zkinfer.model.ops.requant.gadget`. On a real
entry ``pre`` is exactly the semantics' pre-shift value; on the padding ``x`` and ``flip(x)``
are zero (padded rows and padded heads are proven zero, and the flip stays inside a head), so
``pre = 0`` there as it is for the zero-padded columns. The rounding identity's terms are below
``amax(x) (max|C| + max|S|) + 2^(bits-1) + 2^bits (amax(q~) + 1) < 2^62 < p / 2`` (``q~`` the
linear ``out - below + above``; :func:`zkinfer.protocol.bounds.check_field_bounds` checks it),
so it holds over the integers and pins ``q``, ``rem``, then ``out``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.field import goldilocks as gl
from zkinfer.model.int_llama import IntRope
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import (
    MAX_BITS,
    OpHome,
    amax,
    check_int,
    check_int_array,
    check_type,
)
from zkinfer.protocol.circuit import padded_bits
from zkinfer.protocol.constraints import Grid

__all__ = ["OpRope", "check_rope", "rope_requant", "HOME"]


@dataclass(frozen=True, eq=False)
class OpRope:
    """RoPE of column ``src`` (``(n, heads * head_dim)``, row ``t`` at position ``t``).

    Attributes:
        name: column prefix of the op's outputs.
        src: the rotated column (queries or keys after their projection).
        rope: the fixed-point tables; their rows (``positions``) are the op's maximum
            sequence length ``N``.
        heads: number of heads in ``src``.
        head_dim: ``dh``, a power of two ``>= 2``.
    """

    name: str
    src: str
    rope: IntRope
    heads: int
    head_dim: int


def check_rope(name: str, op: object) -> None:
    """Type, shape and range checks of an :class:`OpRope` and its tables.

    Raises:
        ModelError: ``heads < 1``; ``head_dim`` not a power of two ``>= 2``; ``cos`` / ``sin``
            not int64 ``(positions, head_dim / 2)`` with ``positions >= 1``; an entry with
            ``|C| > 2^bits`` (the declared widths assume ``|C|, |S| <= 2^bits``); ``bits``
            outside ``[1, MAX_BITS]`` or clamp bounds with ``lo >= hi``.
    """
    check_type(name, op, OpRope)
    check_int(f"{name}.heads", op.heads, 1, 1 << 20)
    dh = check_int(f"{name}.head_dim", op.head_dim, 2, 1 << 20)
    if dh & (dh - 1):
        raise ModelError(f"{name}.head_dim = {dh} is not a power of two")
    p = op.rope
    check_type(f"{name}.rope", p, IntRope)
    bits = check_int(f"{name}.rope.bits", p.bits, 1, MAX_BITS)
    positions = p.cos.shape[0] if isinstance(p.cos, np.ndarray) and p.cos.ndim == 2 else 0
    if positions < 1:
        raise ModelError(f"{name}.rope.cos: expected a 2-D table of at least one position")
    for field in ("cos", "sin"):
        table = getattr(p, field)
        check_int_array(f"{name}.rope.{field}", table, (positions, dh // 2), MAX_BITS)
        if table.size and int(np.abs(table).max()) > 1 << bits:
            raise ModelError(f"{name}.rope.{field}: an entry exceeds 2^{bits} in magnitude")
    requant.check(f"{name}.rope", rope_requant(p), 1, 2)


def rope_requant(p: IntRope) -> requant.Requant:
    """The requantization of the rotation: multiplier 1, shift ``bits``, clamp ``[lo, hi]``."""
    return requant.Requant(np.ones(1, dtype=np.int64), p.bits, p.lo, p.hi)


def _pre_bound(op: OpRope, xw: tuple[int, bool]) -> int:
    """``|pre| <= |a| |C| + |b| |S| <= 2 amax(x) 2^bits``.

    Raises:
        ModelError: ``|pre| + 2^bits`` may reach ``2^62`` (the requantization's columns and
            the rounding identity would not fit).
    """
    bound = 2 * amax(xw) * (1 << op.rope.bits)
    if bound + (1 << op.rope.bits) >= 1 << MAX_BITS:
        raise ModelError(f"{op.name}: the pre-shift value may reach 2^{MAX_BITS} (bound {bound})")
    return bound


def _check_rows(op: OpRope, n: int) -> None:
    """``1 <= n <= positions``.

    Raises:
        ModelError: otherwise.
    """
    positions = op.rope.cos.shape[0]
    if not 1 <= n <= positions:
        raise ModelError(f"{op.name}: {n} rows, the RoPE tables have {positions} positions")


def _grids(op: OpRope, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The grid tables ``C~`` (``(2^rb, dh/2)``) and ``S~`` (``(2^rb, 2, dh/2)``, the first half
    negated), zero on the padded rows ``t >= n`` (``2^rb`` the padded row count)."""
    half = op.head_dim // 2
    rows = 1 << padded_bits((n,))[0]
    cos = np.zeros((rows, half), dtype=np.int64)
    sin = np.zeros((rows, 2, half), dtype=np.int64)
    cos[:n] = op.rope.cos[:n]
    sin[:n, 0] = -op.rope.sin[:n]
    sin[:n, 1] = op.rope.sin[:n]
    return cos, sin


class _Rope(OpHome):
    op = OpRope

    def columns(self, op, model, n, widths, weight_widths):
        check_rope(op.name, op)
        shape = (n, op.heads * op.head_dim)
        pre_doc = "[a cos - b sin, b cos + a sin]"
        return requant.columns(op.name, shape, _pre_bound(op, widths[op.src]),
                               rope_requant(op.rope), pre_doc)

    def reference(self, op, model, ids, cols):
        x = np.asarray(cols[op.src], dtype=np.int64)
        n, d = x.shape
        H, dh = op.heads, op.head_dim
        if d != H * dh:
            raise ModelError(f"{op.name}: {op.src} has {d} channels, expected {H} x {dh}")
        _check_rows(op, n)
        half = dh // 2
        xh = x.reshape(n, H, dh)
        a, b = xh[..., :half], xh[..., half:]
        C = op.rope.cos[:n][:, None, :]  # row t at position t, broadcast over heads
        S = op.rope.sin[:n][:, None, :]
        pre = np.concatenate([a * C - b * S, b * C + a * S], axis=-1).reshape(n, d)
        q, rem, out = requant.requantize(pre, rope_requant(op.rope))
        return {f"{op.name}.q": q, f"{op.name}.rem": rem, f"{op.name}.out": out}

    def kernel(self, op, model, ids, cols):
        """The Numba kernel :func:`zkinfer.model._decoder_kernels.rope`.

        Raises:
            ModelError: ``src`` is not ``(n, heads dh)`` or ``n`` exceeds the tables' positions.
        """
        from zkinfer.model import _decoder_kernels as D

        x = np.ascontiguousarray(cols[op.src], dtype=np.int64)
        H, dh = op.heads, op.head_dim
        if x.ndim != 2 or x.shape[1] != H * dh:
            raise ModelError(f"{op.name}: {op.src} has shape {x.shape}, expected (n, {H * dh})")
        _check_rows(op, x.shape[0])
        p, P = op.rope, op.name
        D.rope(x, p.cos, p.sin, H, dh, p.bits, p.lo, p.hi,
               cols[f"{P}.q"], cols[f"{P}.rem"], cols[f"{P}.out"])

    def gadget(self, c, op, model, n, output):
        """``pre = x C~ + flip(x) S~`` and its requantization (module docstring).

        Raises:
            ModelError: invalid parameters (:func:`check_rope`), ``n`` outside
                ``[1, positions]`` or ``src`` not an ``(n, heads dh)`` column.
        """
        check_rope(op.name, op)
        _check_rows(op, n)
        P, widths = op.name, model.widths
        shape = (n, op.heads * op.head_dim)
        x = c.trace[op.src]
        if x.shape != shape:
            raise ModelError(f"{P}: {op.src} has shape {x.shape}, expected {shape}")
        rb, cb = x.bits
        L = op.head_dim.bit_length() - 1  # dh = 2^L: e is the low L bits of the channel
        top = rb + cb - L  # the point index of e's top bit (row bits first, MSB first)
        flip = c.flip_view(op.src, top)
        cos, sin = _grids(op, n)
        rows = tuple(range(rb))
        C, S = f"{P}.cos", f"{P}.sin"
        # C~ over (row bits, e's low L-1 bits); S~ over (row bits, all of e's bits)
        c.publics[C] = Grid(gl.encode_signed(cos.reshape(-1)), rows + tuple(range(top + 1, rb + cb)))
        c.public_bounds[C] = (min(0, int(cos.min())), max(0, int(cos.max())))
        c.publics[S] = Grid(gl.encode_signed(sin.reshape(-1)), rows + tuple(range(top, rb + cb)))
        c.public_bounds[S] = (min(0, int(sin.min())), max(0, int(sin.max())))
        # pre + 2^(bits-1) Ind - q 2^bits - rem = 0 with pre = x C~ + flip(x) S~:
        # |.| <= amax(x) (max|C| + max|S|) + 2^(bits-1) + 2^bits (amax(q~) + 1) < 2^62
        requant.gadget(c, P, shape, [(1, [op.src, C]), (1, [flip, S])], rope_requant(op.rope),
                       widths)

    def advice(self, op, model, n):
        return requant.advice(op.name)


HOME = _Rope()
