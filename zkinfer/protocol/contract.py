"""Batched contractions (attention's per-head products) by one sumcheck.

Statement: tensors ``A``, ``B`` and ``out`` are described by axis labels in memory order (for
example ``q``: ``(i, h, e)``, the scores: ``(h, i, j)``), each label with its padded bits. One
label ``y`` is summed over, an optional label ``h`` (the heads) is shared by ``A``, ``B`` and
``out``, and every other label of ``out`` comes from ``A`` or ``B``:

    out[x] = sum_y A[..] B[..]

The verifier draws a point ``r`` for ``out`` (one segment ``r_l`` per output label) and the
prover sends ``out~(r)``. Then

    out~(r) = sum_{h, y} eq(r_h, h) A~(r_A(h, y)) B~(r_B(h, y))

where ``r_A(h, y)`` puts ``h`` and ``y`` at ``A``'s batch and summed axes and ``r``'s segments
at the others (likewise ``r_B``): a sumcheck of degree 3 over ``(h, y)`` (degree 2 without a
batch axis). It ends at ``s = (s_h, s_y)`` with ``A~(r_A(s))`` and ``B~(r_B(s))`` sent by the
prover; the verifier computes ``eq(r_h, s_h)`` itself and checks the product against the last
round. The prover's tables are ``A'(h, y) = sum_fixed eq(r_fixed, fixed) A[..]`` over ``A``'s
other axes (and the same for ``B``), ``O(|A| + |B|)``.

Integer soundness: with the entries range-checked integers and ``2^(bits y) max|A| max|B| <
p / 2`` (checked by :mod:`zkinfer.protocol.bounds`), the field identity implies the integer one.

Soundness error: ``log |out| / p^2`` (the point) plus ``3 (bits h + bits y) / p^2`` (the
sumcheck). The relation leaves three claims: ``out``, ``A`` and ``B``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field.scalar import Fp2
from zkinfer.poly.multilinear import eq_eval
from zkinfer.protocol.matmul import MatmulProof, ProductStep
from zkinfer.protocol.relation import (
    LABEL_VALUE,
    ProverContext,
    Relation,
    Terms,
    VerifierContext,
    expect,
)
from zkinfer.sumcheck.common import Expression

__all__ = ["ContractRel"]

U64 = npt.NDArray[np.uint64]
_EXPR = Expression.product(3)
_LABEL_CONTRACT = b"circuit/contract"


@dataclass(frozen=True)
class ContractRel(Relation):
    """``out[x] = sum_y A[..] B[..]`` over a shared batch axis (module docstring).

    Attributes:
        out, a, b: column names; ``out_axes``, ``a_axes``, ``b_axes``: their axis labels in
            memory order.
        y: the summed label; batch: the shared batch label (or ``None``).
        bits: ``(label, padded bits)`` of every label.
    """

    out: str
    out_axes: tuple[str, ...]
    a: str
    a_axes: tuple[str, ...]
    b: str
    b_axes: tuple[str, ...]
    y: str
    batch: str | None
    bits: tuple[tuple[str, int], ...]

    Step = ProductStep

    def bit(self, label: str) -> int:
        return dict(self.bits)[label]

    @property
    def _batch_bits(self) -> int:
        return self.bit(self.batch) if self.batch else 0

    def _segments(self, r: U64) -> dict[str, U64]:
        """The output point cut into one segment per output label."""
        segs, pos = {}, 0
        for label in self.out_axes:
            segs[label] = r[pos: pos + self.bit(label)]
            pos += self.bit(label)
        return segs

    def _operand_point(self, axes: tuple[str, ...], segs: dict[str, U64], s: U64) -> U64:
        """``r_A(s)``: ``s``'s batch and summed parts at those axes, ``r``'s segments elsewhere."""
        bb = self._batch_bits
        parts = [s[bb:] if label == self.y else s[:bb] if label == self.batch else segs[label]
                 for label in axes]
        return np.concatenate(parts) if parts else ext.zeros(0)

    def _claims(self, ctx, segs: dict[str, U64], s: U64, a_val: U64, b_val: U64) -> None:
        """Absorb ``A~(r_A(s))``, ``B~(r_B(s))`` and record them as claims (both sides)."""
        ctx.transcript.append_ext(LABEL_VALUE, np.stack([a_val, b_val]))
        ctx.claim(self.a, self._operand_point(self.a_axes, segs, s), a_val)
        ctx.claim(self.b, self._operand_point(self.b_axes, segs, s), b_val)

    def _operand_table(self, table: U64, axes: tuple[str, ...], segs: dict[str, U64]) -> U64:
        """``A'(h, y) = sum_fixed eq(r_fixed, fixed) A[..]``, an extension table over
        ``(batch, y)`` (prover side)."""
        from zkinfer.poly import fast
        from zkinfer.protocol import _kernels as K

        shape = tuple(1 << self.bit(label) for label in axes)
        fixed = [k for k, label in enumerate(axes) if label not in (self.y, self.batch)]
        free = [k for k, label in enumerate(axes) if label == self.batch]
        free += [k for k, label in enumerate(axes) if label == self.y]
        arr = np.ascontiguousarray(np.transpose(table.reshape(shape), fixed + free))
        arr = arr.reshape(int(np.prod([shape[k] for k in fixed], dtype=np.int64)), -1)
        point = np.concatenate([segs[axes[k]] for k in fixed]) if fixed else ext.zeros(0)
        out = np.empty((arr.shape[1], 2), dtype=np.uint64)
        K.combine_rows(arr, fast.eq_table(point.reshape(-1, 2)), out)
        return out

    def prove(self, ctx: ProverContext) -> ProductStep:
        from zkinfer.poly import fast
        from zkinfer.sumcheck.prover import prove

        out = ctx.output_claim(self.out)
        segs = self._segments(out.point)
        a = self._operand_table(ctx.table(self.a), self.a_axes, segs)
        b = self._operand_table(ctx.table(self.b), self.b_axes, segs)
        e = np.repeat(fast.eq_table(segs[self.batch]) if self.batch else ext.ones(1),
                      1 << self.bit(self.y), axis=0)
        ctx.transcript.append_bytes(_LABEL_CONTRACT, self.out.encode())
        sc = prove([e, a, b], _EXPR, ctx.transcript)
        a_val, b_val = sc.evaluations[1].copy(), sc.evaluations[2].copy()
        self._claims(ctx, segs, sc.point, a_val, b_val)
        return ProductStep(out.value, MatmulProof(sc.proof, a_val, b_val))

    def verify(self, ctx: VerifierContext, step: ProductStep) -> None:
        from zkinfer.sumcheck.verifier import verify

        check = f"product {self.out}"
        expect(step, ProductStep, self.out, "a product proof")
        out = ctx.output_claim(self.out, step.value)
        segs = self._segments(out.point)
        bb = self._batch_bits
        ctx.transcript.append_bytes(_LABEL_CONTRACT, self.out.encode())
        s, final = verify(out.value, bb + self.bit(self.y), _EXPR, step.proof.sumcheck,
                          ctx.transcript, check=check)
        a_val = ext.as_ext(step.proof.a_eval, "a")
        b_val = ext.as_ext(step.proof.b_eval, "b")
        # s_last(r_last) == eq(r_h, s_h) A~(r_A(s)) B~(r_B(s))
        e = Fp2.from_array(eq_eval(segs[self.batch], s[:bb])) if self.batch else Fp2.ONE
        if e * Fp2.from_array(a_val) * Fp2.from_array(b_val) != Fp2.from_array(final):
            raise VerificationError(check, "final evaluation does not match")
        self._claims(ctx, segs, s, a_val, b_val)

    def terms(self, circuit) -> Terms:
        return Terms(points=circuit.trace[self.out].num_vars,
                     sumchecks=3 * (self._batch_bits + self.bit(self.y)), claims=3)
