"""Activation tables by pair look-ups: ``out = T[src + offset]`` elementwise, ``T`` public.

Statement: ``src`` and ``out`` are committed columns of ``M = 2^n`` entries (padding included),
``T`` a public table of ``2^w`` entries, ``offset`` a public integer, ``Ind`` the public indicator
of the real entries. The verifier draws ``beta``; the prover shows by LogUp
(:mod:`zkinfer.lookup.logup`) that every entry of

    f = src + offset Ind + beta out + (1 - Ind) (offset + beta T[offset])

lies in the table ``t_j = j + beta T[j]``, with the committed multiplicity column ``mult``.
On a real entry ``f = (src + offset) + beta out``; on a padding entry (``src = out = 0``,
proven by the padding identities) ``f = offset + beta T[offset]``, a table entry, so the
padding costs nothing. The look-up ends at a point ``r_f`` (and ``r_t``): the prover sends
``src~(r_f)`` and ``out~(r_f)``; the verifier recomputes ``f~(r_f)`` from them and
``Ind~(r_f)``, and ``t~(r_t) = r_t (as an index) + beta T~(r_t)`` itself. The claims left are
``src~(r_f)``, ``out~(r_f)`` and ``mult~(r_t)``.

Integer soundness: ``src`` is range-checked so that ``src + offset`` lies in ``[0, 2^w)``; a pair
``(x, y)`` with ``x + beta y = j + beta T[j]`` for a random ``beta`` has ``x = j``, ``y = T[j]``
except with probability ``1 / p^2`` per pair (both are base-field elements).

Soundness error: ``(M + T) / p^2`` for ``alpha`` and ``beta`` together (the numerator of the
LogUp sum, as a polynomial in ``(alpha, beta)``, has total degree below ``M + T``), plus the
fraction tree's GKR terms (``log2(2 max(M, T))`` layers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field.scalar import Fp2
from zkinfer.lookup.logup import LookupProof, prove_lookup, range_table_eval, verify_lookup
from zkinfer.poly.multilinear import evaluate
from zkinfer.protocol.relation import (
    ProverContext,
    Relation,
    Step,
    Terms,
    VerifierContext,
    expect,
    gkr_terms,
    log2,
)
from zkinfer.sumcheck.common import SumcheckProof

__all__ = ["TableRel", "TableStep"]

U64 = npt.NDArray[np.uint64]
_LABEL_BETA = b"circuit/beta"
_LABEL_TABLE_EVALS = b"circuit/table-evals"


@dataclass(frozen=True, eq=False)
class TableStep(Step, tag=2, kind="table"):
    """A pair look-up: the LogUp proof and ``[src(r), out(r)]`` at its look-up point."""

    lookup: LookupProof
    evals: U64

    def write(self, w: Writer) -> None:
        self.lookup.write(w)
        w.ext(self.evals)

    @classmethod
    def read(cls, r: Reader) -> TableStep:
        return cls(LookupProof.read(r), r.ext(2))

    def sumchecks(self) -> list[SumcheckProof]:
        return self.lookup.sumchecks()


@dataclass(frozen=True)
class TableRel(Relation):
    """``out = T[src + offset]`` elementwise, ``T`` public (padded to a power of two).

    Attributes:
        name: the relation's name; src, out: trace columns; table: a public table of the
            circuit (``Circuit.tables``); offset: added to ``src``; mult: the committed
            multiplicity column.
    """

    name: str
    src: str
    out: str
    table: str
    offset: int
    mult: str

    Step = TableStep

    @property
    def label(self) -> str:
        return self.name

    def _f(self, circuit, beta: Fp2, src: Fp2, out: Fp2, ind: Fp2) -> Fp2:
        """``f`` at a point where ``src``, ``out``, ``Ind`` take these values."""
        off, t_off = self.offset, int(circuit.tables[self.table][self.offset])
        return src + off * ind + beta * out + (1 - ind) * (off + beta * t_off)

    def _indicator(self, circuit):
        """The public indicator of ``src``'s real entries, or ``None`` if it has no padding."""
        src = circuit.trace[self.src]
        return circuit.publics.get(src.indicator)

    def _claims(self, ctx, lk, evals: U64) -> None:
        ctx.transcript.append_ext(_LABEL_TABLE_EVALS, evals)
        ctx.claim(self.src, lk.f_point, evals[0])
        ctx.claim(self.out, lk.f_point, evals[1])
        ctx.claim(self.mult, lk.t_point, lk.m_value)

    def prove(self, ctx: ProverContext) -> TableStep:
        from zkinfer.poly import fast
        from zkinfer.protocol import _kernels as PK

        circuit = ctx.circuit
        beta = ctx.transcript.challenge_ext(_LABEL_BETA)
        n = circuit.trace[self.src].num_vars
        ind = self._indicator(circuit)
        real = ind.table(n) if ind is not None else np.ones(1 << n, dtype=np.uint64)
        tvals = circuit.tables[self.table]
        pad = self._f(circuit, Fp2.from_array(beta), Fp2.ZERO, Fp2.ZERO, Fp2.ZERO).to_array()
        f = np.empty((1 << n, 2), dtype=np.uint64)
        PK.pair_column(ctx.tables[self.src], ctx.tables[self.out], real, np.uint64(self.offset),
                       beta[0], beta[1], pad[0], pad[1], f)
        t = ext.add(ext.from_base(np.arange(tvals.shape[0], dtype=np.uint64)),
                    ext.mul_base(np.broadcast_to(beta, (tvals.shape[0], 2)), tvals))
        proof, lk = prove_lookup(f, t, ctx.tables[self.mult], ctx.transcript)
        evals = np.stack([fast.evaluate(ctx.tables[self.src], lk.f_point),
                          fast.evaluate(ctx.tables[self.out], lk.f_point)])
        self._claims(ctx, lk, evals)
        return TableStep(proof, evals)

    def verify(self, ctx: VerifierContext, step: TableStep) -> None:
        check = f"table {self.name}"
        expect(step, TableStep, self.name, "a look-up proof")
        circuit = ctx.circuit
        beta = ctx.transcript.challenge_ext(_LABEL_BETA)
        tvals = circuit.tables[self.table]
        lk = verify_lookup(1 << circuit.trace[self.src].num_vars, tvals.shape[0], step.lookup,
                           ctx.transcript, check=check)
        evals = ext.as_ext(step.evals, "table evaluations")
        if evals.shape != (2, 2):
            raise VerificationError(check, "expected two evaluations")
        ind = self._indicator(circuit)
        ind_v = Fp2.from_array(ind.evaluate(lk.f_point)) if ind is not None else Fp2.ONE
        src_v, out_v = Fp2.vector(evals)
        if self._f(circuit, Fp2.from_array(beta), src_v, out_v, ind_v) != Fp2.from_array(lk.f_value):
            raise VerificationError(check, "looked-up pairs do not match the columns")
        # t(r) = r as an index + beta T~(r)
        want_t = ext.add(range_table_eval(lk.t_point), ext.mul(beta, evaluate(tvals, lk.t_point)))
        if not np.array_equal(want_t, lk.t_value):
            raise VerificationError(check, "table evaluation is wrong")
        self._claims(ctx, lk, evals)

    def terms(self, circuit) -> Terms:
        m = 1 << circuit.trace[self.src].num_vars
        size = int(circuit.tables[self.table].shape[0])
        # alpha and beta: (M + T - 1) / |E|; the fraction tree has log2(2 max(M, T)) layers
        t = gkr_terms(log2(2 * max(m, size)))
        t.lookups, t.claims = m + size, 3
        return t
