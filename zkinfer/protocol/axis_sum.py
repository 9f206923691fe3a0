"""Sums along one axis (mean pooling's column sums) without a sumcheck.

Statement: ``out = sum_k src[.., k, ..]`` over axis ``a`` of ``src`` (padded bits ``b``, padding
zero), the other axes in order. For a multilinear ``src~``, summing over the ``b`` variables of
axis ``a`` equals ``2^b`` times the value at the centre of that sub-cube:

    sum_{k in {0,1}^b} src~(x, k, z) = 2^b src~(x, 1/2, .., 1/2, z)

(each variable enters linearly, so the average of its two values is its value at ``1/2``). The
verifier draws a point ``(r_x, r_z)`` for ``out``; the prover sends ``v = out~(r_x, r_z)``, and
the claim ``src~(r_x, 1/2, .., 1/2, r_z) = v / 2^b`` is left for the openings.

Soundness error: ``log |out| / p^2`` (the point; the identity itself is exact). Two claims are
left: ``out`` and ``src``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.protocol.relation import (
    ProverContext,
    Relation,
    Step,
    Terms,
    VerifierContext,
    expect,
)

__all__ = ["AxisSumRel", "ValueStep"]

U64 = npt.NDArray[np.uint64]
_INV2 = (gl.P + 1) // 2


@dataclass(frozen=True, eq=False)
class ValueStep(Step, tag=3, kind="column sum"):
    """A single value sent by the prover (the sum's value at the random point)."""

    value: U64

    def write(self, w: Writer) -> None:
        w.ext(self.value)

    @classmethod
    def read(cls, r: Reader) -> ValueStep:
        return cls(r.ext(1)[0])


@dataclass(frozen=True)
class AxisSumRel(Relation):
    """``out = src`` summed over axis ``axis`` (the other axes keep their order)."""

    out: str
    src: str
    axis: int

    Step = ValueStep

    def _claim(self, ctx, r: U64, value: U64) -> None:
        """``src~(.., 1/2, .., ..) = value / 2^b`` (both sides)."""
        src = ctx.circuit.trace[self.src]
        start, b = sum(src.bits[: self.axis]), src.bits[self.axis]
        half = ext.from_base(np.full(b, _INV2, dtype=np.uint64))
        scale = ext.from_base(np.uint64(pow(_INV2, b, gl.P)))
        ctx.claim(self.src, np.concatenate([r[:start], half, r[start:]]), ext.mul(value, scale))

    def prove(self, ctx: ProverContext) -> ValueStep:
        out = ctx.output_claim(self.out)
        self._claim(ctx, out.point, out.value)
        return ValueStep(out.value)

    def verify(self, ctx: VerifierContext, step: ValueStep) -> None:
        expect(step, ValueStep, self.out, "a value")
        out = ctx.output_claim(self.out, step.value)
        self._claim(ctx, out.point, out.value)

    def terms(self, circuit) -> Terms:
        return Terms(points=circuit.trace[self.out].num_vars, claims=2)
