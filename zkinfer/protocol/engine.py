"""Prove and verify a :class:`~zkinfer.protocol.circuit.Circuit`: one schedule, two sides.

After the caller has absorbed the statement and the trace commitment, both sides walk
:func:`schedule`:

1. ``circuit.relations`` in order, each proven by its own module (matrix products
   :mod:`~zkinfer.protocol.matmul`, embeddings :mod:`~zkinfer.protocol.embedding`, contractions
   :mod:`~zkinfer.protocol.contract`, pair look-ups :mod:`~zkinfer.protocol.pairs`, axis sums
   :mod:`~zkinfer.protocol.axis_sum`);
2. one zero-check per number of variables (ascending) over all identities of that size
   (:class:`IdentityGroup`, :mod:`~zkinfer.protocol.constraints`);
3. one LogUp over all limb columns, tagged by their width (:class:`RangeChecks`,
   :mod:`zkinfer.protocol.range`);
4. the openings: all claims on the trace commitment, then all claims on the weights
   (:class:`Opening`, :mod:`~zkinfer.protocol.openings`).

Every part sends one step and appends its evaluation claims to the context; the openings prove
them all. :func:`prove_circuit` returns the steps as a :class:`CircuitProof` (named parts, each
owning its encoding); :func:`verify_circuit` consumes it in the same order, and every part
absorbs its own messages. Each part also counts its soundness terms
(:meth:`~zkinfer.protocol.relation.Relation.terms`), which :mod:`zkinfer.security` adds up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.commit.base import PCS, Commitment, Layout, ProverData
from zkinfer.errors import VerificationError
from zkinfer.lookup.range import RangeProof

# the relation modules define the tagged step types a proof decodes into (registered on import)
from zkinfer.protocol import axis_sum, contract, embedding, matmul, pairs  # noqa: F401
from zkinfer.protocol.circuit import Circuit
from zkinfer.protocol.claims import Claim
from zkinfer.protocol.constraints import ONE, prove_identities, verify_identities
from zkinfer.protocol.openings import (
    Combination,
    OpeningsProof,
    prove_openings,
    verify_openings,
)
from zkinfer.protocol.range import prove_ranges, verify_ranges
from zkinfer.protocol.relation import (
    ProverContext,
    Relation,
    Terms,
    VerifierContext,
    expect,
    gkr_terms,
    read_step,
    write_step,
)
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.transcript import Transcript

__all__ = [
    "CircuitProof",
    "IdentityGroup",
    "RangeChecks",
    "Opening",
    "schedule",
    "prover_context",
    "verifier_context",
    "prove_circuit",
    "verify_circuit",
]

U64 = npt.NDArray[np.uint64]
#: A decoded proof has at most this many relation steps, and this many zero-check groups.
MAX_RELATIONS = 1 << 20
MAX_GROUPS = 64


@dataclass(frozen=True, eq=False)
class CircuitProof:
    """Everything the prover sends after the trace commitment, by part.

    Attributes:
        relations: one step per relation of the circuit, in order.
        identities: one zero-check per group of identities (by number of variables, ascending).
        ranges: the range checks of every limb column (one tagged LogUp).
        trace_opening: all claims on the trace commitment, proven by one opening.
        weight_opening: all claims on the weight commitment, proven by one opening.
    """

    relations: tuple
    identities: tuple[ZerocheckProof, ...]
    ranges: RangeProof
    trace_opening: OpeningsProof
    weight_opening: OpeningsProof

    def parts(self) -> list[tuple[str, object]]:
        """``(part, step)`` in schedule order: ``("relations", step)`` per relation,
        ``("identities", step)`` per group, then ``ranges``, ``trace_opening``,
        ``weight_opening``."""
        return ([("relations", s) for s in self.relations]
                + [("identities", s) for s in self.identities]
                + [("ranges", self.ranges), ("trace_opening", self.trace_opening),
                   ("weight_opening", self.weight_opening)])

    def sumchecks(self) -> list:
        """Every sumcheck the proof carries (for the soundness figure; a part that is not a
        step carries none: the verifier rejects it)."""
        return [sc for _, step in self.parts()
                for sc in (step.sumchecks() if callable(getattr(step, "sumchecks", None)) else [])]

    def write(self, w: Writer) -> None:
        w.u32(len(self.relations))
        for step in self.relations:
            write_step(w, step)
        w.u32(len(self.identities))
        for step in self.identities:
            step.write(w)
        self.ranges.write(w)
        self.trace_opening.write(w)
        self.weight_opening.write(w)

    @classmethod
    def read(cls, r: Reader) -> CircuitProof:
        # every step takes at least its tag byte; every zero-check at least 8 bytes
        relations = tuple(read_step(r) for _ in range(r.count(MAX_RELATIONS, 1)))
        identities = tuple(ZerocheckProof.read(r) for _ in range(r.count(MAX_GROUPS, 8)))
        ranges = RangeProof.read(r)
        return cls(relations, identities, ranges, OpeningsProof.read(r), OpeningsProof.read(r))


# ---------------------------------------------------------------------------------------------
# the parts after the relations


@dataclass(frozen=True)
class IdentityGroup:
    """All identities over ``2^num_vars`` entries, proven by one zero-check."""

    num_vars: int

    @property
    def label(self) -> str:
        return f"identities over 2^{self.num_vars}"

    def prove(self, ctx: ProverContext) -> ZerocheckProof:
        proof, claims = prove_identities(ctx.circuit.identities[self.num_vars], ctx.tables,
                                         ctx.circuit.publics, self.num_vars, ctx.transcript)
        ctx.claims += claims
        return proof

    def verify(self, ctx: VerifierContext, step: ZerocheckProof) -> None:
        check = f"identities ({self.num_vars} variables)"
        expect(step, ZerocheckProof, check, "a zero-check")
        ctx.claims += verify_identities(ctx.circuit.identities[self.num_vars], ctx.circuit.publics,
                                        self.num_vars, step, ctx.transcript, check=check)

    def terms(self, circuit: Circuit) -> Terms:
        identities = circuit.identities[self.num_vars]
        degree = max(len(term.factors) for ident in identities for term in ident.terms)
        names = set().union(*(ident.names() for ident in identities))
        # lambda batching, tau, the sumcheck of eq * E (degree 1 + deg E); one claim per
        # committed column
        return Terms(batching=len(identities) - 1, points=self.num_vars,
                     sumchecks=self.num_vars * (degree + 1),
                     claims=len(names - set(circuit.publics) - {ONE}))


class RangeChecks:
    """Every limb column in ``[0, 2^w)`` for its width ``w``: one tagged LogUp for all widths;
    claims per width: the multiplicities, then the limbs."""

    label = "range checks"

    @staticmethod
    def _names(circuit: Circuit):
        widths = circuit.range_widths()
        return widths, {w: circuit.range_mult_name(w) for w in widths}

    @staticmethod
    def _sizes(circuit: Circuit) -> dict[int, list[int]]:
        return {w: [1 << circuit.limb_cols[x].num_vars for x in limbs]
                for w, limbs in circuit.range_widths().items()}

    def prove(self, ctx: ProverContext) -> RangeProof:
        from zkinfer.progress import listening

        widths, mult_names = self._names(ctx.circuit)
        with listening(ctx.transcript, _range_listener(ctx.progress, self._sizes(ctx.circuit))):
            proof, claims = prove_ranges(
                {w: [ctx.tables[x] for x in limbs] for w, limbs in widths.items()},
                {w: ctx.tables[name] for w, name in mult_names.items()},
                ctx.transcript, widths, mult_names)
        ctx.claims += claims
        return proof

    def verify(self, ctx: VerifierContext, step: RangeProof) -> None:
        widths, mult_names = self._names(ctx.circuit)
        # verify_ranges checks that the step is a range proof (check "range")
        ctx.claims += verify_ranges(self._sizes(ctx.circuit), step, ctx.transcript, widths,
                                    mult_names, check="range")

    def terms(self, circuit: Circuit) -> Terms:
        from zkinfer.lookup.range import MAX_TREE_VARS, block_list, tree_plan

        t = Terms()
        if not circuit.range_widths():
            return t
        blocks = block_list(self._sizes(circuit))
        t.lookups = sum(1 << b.num_vars for b in blocks)  # the non-padding leaves
        for tree in tree_plan(blocks, MAX_TREE_VARS):
            t += gkr_terms(tree.num_vars)
        t.claims = len(blocks)
        return t


@dataclass(frozen=True)
class Opening:
    """All claims on one commitment (``"trace"`` or ``"weights"``) by one opening."""

    which: str

    @property
    def label(self) -> str:
        return f"opening the {'trace' if self.which == 'trace' else 'weight'} commitment"

    def _items(self, ctx) -> list[Combination]:
        return route(ctx.circuit, ctx.claims)[0 if self.which == "trace" else 1]

    def prove(self, ctx: ProverContext) -> OpeningsProof:
        from zkinfer.progress import prefixed

        com, data = ctx.commitments[self.which], ctx.prover_data[self.which]
        # (progress passed only when reporting: tests substitute prove_openings without it)
        extra = {} if ctx.progress is None else {"progress": prefixed(ctx.progress, self.label)}
        return prove_openings(ctx.pcs, com, data, self._items(ctx), ctx.transcript, **extra)

    def verify(self, ctx: VerifierContext, step: OpeningsProof) -> None:
        check = f"{self.which} openings"
        expect(step, OpeningsProof, check, "an opening proof")
        verify_openings(ctx.pcs, ctx.commitments[self.which], self._items(ctx), step,
                        ctx.transcript, check=check)

    def terms(self, circuit: Circuit) -> Terms:
        cols = circuit.trace if self.which == "trace" else circuit.weights
        n = Layout(tuple(c.num_vars for c in cols.values())).total_vars
        return Terms(sumchecks=2 * n)  # the batching sumcheck; gamma counted with the claims


def route(circuit: Circuit, claims: list[Claim]) -> tuple[list[Combination], list[Combination]]:
    """Named claims as linear combinations on the trace and on the weight commitment.

    Views and linear columns resolve to their committed columns (:meth:`Circuit.resolve`); all
    terms of one claim lie in one commitment.
    """
    trace_idx = {n: k for k, n in enumerate(circuit.trace)}
    weight_idx = {n: k for k, n in enumerate(circuit.weights)}
    tr, wt = [], []
    for c in claims:
        terms, value = circuit.resolve(c.poly, c.point, c.value)
        if all(n in trace_idx for n, _, _ in terms):
            tr.append(Combination(tuple((trace_idx[n], p, a) for n, p, a in terms), value))
        elif all(n in weight_idx for n, _, _ in terms):
            wt.append(Combination(tuple((weight_idx[n], p, a) for n, p, a in terms), value))
        else:  # pragma: no cover - the circuit only names its own columns
            raise KeyError(c.poly)
    return tr, wt


# ---------------------------------------------------------------------------------------------
# the schedule


def schedule(circuit: Circuit) -> list[tuple[str, object]]:
    """``(part, item)`` in the order both sides walk: each relation (part ``"relations"``),
    each identity group (``"identities"``), then ``"ranges"``, ``"trace_opening"``,
    ``"weight_opening"``. Every item has ``label``, ``prove(ctx)``, ``verify(ctx, step)`` and
    ``terms(circuit)``."""
    return ([("relations", rel) for rel in circuit.relations]
            + [("identities", IdentityGroup(nv)) for nv in sorted(circuit.identities)]
            + [("ranges", RangeChecks()), ("trace_opening", Opening("trace")),
               ("weight_opening", Opening("weights"))])


def prover_context(circuit: Circuit, ids: npt.NDArray[np.int64], transcript: Transcript, *,
                   tables: dict[str, U64], weights: dict[str, U64], pcs: PCS,
                   trace: tuple[Commitment, ProverData], weight: tuple[Commitment, ProverData],
                   progress=None) -> ProverContext:
    """The prover's context: the trace ``tables`` (views are added here), the ``weights``, the
    PCS and both commitments with their prover data."""
    tables = dict(tables)
    for v in circuit.views.values():
        tables[v.name] = v.table(tables[v.base], circuit.trace[v.base].bits)
    return ProverContext(circuit, ids, transcript, tables=tables, weights=weights, pcs=pcs,
                         commitments={"trace": trace[0], "weights": weight[0]},
                         prover_data={"trace": trace[1], "weights": weight[1]},
                         progress=progress)


def verifier_context(circuit: Circuit, ids: npt.NDArray[np.int64], transcript: Transcript, *,
                     pcs: PCS, trace: Commitment, weight: Commitment) -> VerifierContext:
    """The verifier's context: the PCS and both (decoded) commitments."""
    return VerifierContext(circuit, ids, transcript, pcs=pcs,
                           commitments={"trace": trace, "weights": weight})


def prove_circuit(ctx: ProverContext) -> CircuitProof:
    """Walk the schedule as the prover.

    ``ctx.progress(stage, done, total)``, if set, is called before each part (``"relation
    <label>"``, ``"identities over 2^n"``, ``"range checks"``, ``"opening the trace
    commitment"``, ``"opening the weight commitment"``), and the range checks and the openings
    report their own steps under their stage.
    """
    items = schedule(ctx.circuit)
    parts: dict[str, list] = {"relations": [], "identities": []}
    single: dict[str, object] = {}
    for k, (part, item) in enumerate(items):
        if ctx.progress is not None:
            stage = f"relation {item.label}" if part == "relations" else item.label
            ctx.progress(stage, k, len(items))
        step = item.prove(ctx)
        if part in parts:
            parts[part].append(step)
        else:
            single[part] = step
    return CircuitProof(tuple(parts["relations"]), tuple(parts["identities"]), **single)


def verify_circuit(ctx: VerifierContext, proof: CircuitProof) -> None:
    """Walk the schedule as the verifier.

    Raises:
        VerificationError: any relation, look-up, range check or opening fails (the error names
            which), or the proof has another number of relations or identity groups than the
            circuit.
    """
    circuit = ctx.circuit
    for part, want in (("relations", len(circuit.relations)),
                       ("identities", len(circuit.identities))):
        got = len(getattr(proof, part))
        if got != want:
            raise VerificationError("proof", f"wrong number of {part} steps", expected=want,
                                    got=got)
    steps = {"relations": iter(proof.relations), "identities": iter(proof.identities)}
    for part, item in schedule(circuit):
        if part == "relations" and not isinstance(item, Relation):
            raise VerificationError("proof", f"unknown relation {type(item).__name__}")
        item.verify(ctx, next(steps[part]) if part in steps else getattr(proof, part))


def _range_listener(progress, sizes: dict[int, list[int]]):
    """A transcript listener reporting the range step as ``("range checks: leaves", done,
    total)``: the fraction trees' leaves, a tree counted half when its first GKR round is
    absorbed (its layers are built) and whole when its block values are (its layers proven).
    ``None`` without ``progress``."""
    if progress is None:
        return None
    from zkinfer.lookup import range as rng
    from zkinfer.sumcheck.common import _LABEL_ROUND

    plan = rng.tree_plan(rng.block_list(sizes), rng.MAX_TREE_VARS)
    leaves = [1 << tree.num_vars for tree in plan]
    total = max(1, sum(leaves))
    state = {"tree": 0, "done": 0, "half": False}
    progress("range checks: leaves", 0, total)

    def listen(label: bytes) -> None:
        k = state["tree"]
        if k >= len(leaves):
            return
        if label == _LABEL_ROUND and not state["half"]:
            state["half"] = True
            progress("range checks: leaves", state["done"] + leaves[k] // 2, total)
        elif label == rng.LABEL_BLOCK_EVALS:
            state["done"] += leaves[k]
            state["tree"], state["half"] = k + 1, False
            progress("range checks: leaves", state["done"], total)

    return listen
