"""Prove and verify a :class:`~zkinfer.protocol.circuit.Circuit`: one schedule, two sides.

The circuit is split into segments fixed by the model (one per transformer block,
:func:`~zkinfer.protocol.model_circuit.segment_of`). Each segment's committed columns are one
part of the trace commitment and its weights one part of the weight commitment
(:class:`SegmentParts`). After the caller has absorbed the statement and the trace commitment,
both sides walk :func:`schedule`:

1. per segment, on the segment's own transcript (the shared state forked with the segment's
   index, :func:`_segment_transcript`): its relations in order, each proven by its own module
   (matrix products :mod:`~zkinfer.protocol.matmul`, embeddings
   :mod:`~zkinfer.protocol.embedding`, contractions :mod:`~zkinfer.protocol.contract`, pair
   look-ups :mod:`~zkinfer.protocol.pairs`, axis sums :mod:`~zkinfer.protocol.axis_sum`); one
   zero-check per number of variables of its identities (:class:`IdentityGroup`,
   :mod:`~zkinfer.protocol.constraints`); one LogUp over its limb columns, tagged by width,
   against its own multiplicities (:class:`RangeChecks`, :mod:`zkinfer.protocol.range`);
2. the shared transcript absorbs every segment transcript's final state, in segment order;
3. the openings: all claims on the trace commitment's parts, then all claims on the weight
   commitment's parts (:class:`Opening`, :func:`~zkinfer.protocol.openings.prove_part_openings`).

Segments are independent given the commitments: they can be proven in any order and on any
machine, and the proof's bytes do not depend on where. Every part sends one step and appends its
evaluation claims to the context; the openings prove them all. :func:`prove_circuit` returns
the steps as a :class:`CircuitProof` (one :class:`SegmentProof` per segment, then the
openings); :func:`verify_circuit` consumes it in the same order, and every part absorbs its own
messages. Each part also counts its soundness terms
(:meth:`~zkinfer.protocol.relation.Relation.terms`), which :mod:`zkinfer.security` adds up.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer._memory import drop_pages, release
from zkinfer.codec import Reader, Writer
from zkinfer.commit.base import PCS, Commitment, Layout, Parts, ProverData
from zkinfer.errors import VerificationError, ZkinferError
from zkinfer.lookup.range import RangeProof

# the relation modules define the tagged step types a proof decodes into (registered on import)
from zkinfer.protocol import axis_sum, contract, embedding, matmul, pairs  # noqa: F401
from zkinfer.protocol.circuit import Circuit
from zkinfer.protocol.claims import Claim
from zkinfer.protocol.constraints import ONE, prove_identities, verify_identities
from zkinfer.protocol.openings import (
    Begun,
    JointOpeningsProof,
    PartClaim,
    begin_part_openings,
    prove_part_openings,
    start_part_sumchecks,
    verify_part_openings,
)
from zkinfer.protocol.range import leaves as range_leaves
from zkinfer.protocol.range import prove_ranges, verify_ranges
from zkinfer.protocol.range import repetitions as range_repetitions
from zkinfer.protocol.relation import (
    ProverContext,
    Relation,
    Terms,
    VerifierContext,
    expect,
    gkr_batch_terms,
    read_step,
    write_step,
)
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.transcript import Transcript

__all__ = [
    "CircuitProof",
    "SegmentProof",
    "segment_schedule",
    "SegmentParts",
    "segment_parts",
    "commit_segments",
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
#: A decoded proof has at most this many segments.
MAX_SEGMENTS = 1 << 12


@dataclass(frozen=True, eq=False)
class SegmentProof:
    """Everything the prover sends for one segment, proven on the segment's own transcript.

    Attributes:
        relations: one step per relation of the segment, in order.
        identities: one zero-check per group of the segment's identities (by number of
            variables, ascending).
        ranges: the range checks of the segment's limb columns (one tagged LogUp).
    """

    relations: tuple
    identities: tuple[ZerocheckProof, ...]
    ranges: RangeProof

    def parts(self) -> list[tuple[str, object]]:
        return ([("relations", s) for s in self.relations]
                + [("identities", s) for s in self.identities] + [("ranges", self.ranges)])

    def write(self, w: Writer) -> None:
        w.u32(len(self.relations))
        for step in self.relations:
            write_step(w, step)
        w.u32(len(self.identities))
        for step in self.identities:
            step.write(w)
        self.ranges.write(w)

    @classmethod
    def read(cls, r: Reader) -> SegmentProof:
        # every step takes at least its tag byte; every zero-check at least 8 bytes
        relations = tuple(read_step(r) for _ in range(r.count(MAX_RELATIONS, 1)))
        identities = tuple(ZerocheckProof.read(r) for _ in range(r.count(MAX_GROUPS, 8)))
        return cls(relations, identities, RangeProof.read(r))


@dataclass(frozen=True, eq=False)
class CircuitProof:
    """Everything the prover sends after the trace commitment, by part.

    Attributes:
        segments: per segment, its relations, identities and range checks.
        trace_opening: all claims on the trace commitment's parts, proven by one opening.
        weight_opening: all claims on the weight commitment's parts, proven by one opening.
    """

    segments: tuple[SegmentProof, ...]
    trace_opening: JointOpeningsProof
    weight_opening: JointOpeningsProof

    @property
    def relations(self) -> tuple:
        """Every relation step, segment by segment."""
        return tuple(step for seg in self.segments for step in seg.relations)

    @property
    def identities(self) -> tuple:
        """Every zero-check, segment by segment."""
        return tuple(step for seg in self.segments for step in seg.identities)

    def parts(self) -> list[tuple[str, object]]:
        """``(part, step)`` in schedule order: per segment ``("relations", step)`` per
        relation, ``("identities", step)`` per group and ``("ranges", step)``; then
        ``trace_opening`` and ``weight_opening``."""
        return ([p for seg in self.segments for p in seg.parts()]
                + [("trace_opening", self.trace_opening),
                   ("weight_opening", self.weight_opening)])

    def sumchecks(self) -> list:
        """Every sumcheck the proof carries (for the soundness figure; a part that is not a
        step carries none: the verifier rejects it)."""
        return [sc for _, step in self.parts()
                for sc in (step.sumchecks() if callable(getattr(step, "sumchecks", None)) else [])]

    def write(self, w: Writer) -> None:
        w.u32(len(self.segments))
        for seg in self.segments:
            seg.write(w)
        self.trace_opening.write(w)
        self.weight_opening.write(w)

    @classmethod
    def read(cls, r: Reader) -> CircuitProof:
        # a segment takes at least its two counts and a range proof's header
        segments = tuple(SegmentProof.read(r) for _ in range(r.count(MAX_SEGMENTS, 12)))
        return cls(segments, JointOpeningsProof.read(r), JointOpeningsProof.read(r))


# ---------------------------------------------------------------------------------------------
# the parts after the relations


@dataclass(frozen=True)
class IdentityGroup:
    """All identities of one segment over ``2^num_vars`` entries, proven by one zero-check."""

    num_vars: int
    segment: int = 0

    @property
    def label(self) -> str:
        return f"identities over 2^{self.num_vars}"

    def _identities(self, circuit: Circuit) -> list:
        return circuit.segment_identities(self.segment)[self.num_vars]

    def prove(self, ctx: ProverContext) -> ZerocheckProof:
        proof, claims = prove_identities(self._identities(ctx.circuit), ctx.tables,
                                         ctx.circuit.publics, self.num_vars, ctx.transcript)
        ctx.claims += claims
        return proof

    def verify(self, ctx: VerifierContext, step: ZerocheckProof) -> None:
        check = f"identities ({self.num_vars} variables)"
        expect(step, ZerocheckProof, check, "a zero-check")
        ctx.claims += verify_identities(self._identities(ctx.circuit), ctx.circuit.publics,
                                        self.num_vars, step, ctx.transcript, check=check)

    def terms(self, circuit: Circuit) -> Terms:
        identities = self._identities(circuit)
        degree = max(len(term.factors) for ident in identities for term in ident.terms)
        names = set().union(*(ident.names() for ident in identities))
        # lambda batching, tau, the sumcheck of eq * E (degree 1 + deg E); one claim per
        # committed column
        return Terms(batching=len(identities) - 1, points=self.num_vars,
                     sumchecks=self.num_vars * (degree + 1),
                     claims=len(names - set(circuit.publics) - {ONE}))


@dataclass(frozen=True)
class RangeChecks:
    """Every limb column of one segment in ``[0, 2^w)`` for its width ``w``: one tagged LogUp
    for all widths, against the segment's own multiplicities; claims per width: the
    multiplicities, then the limbs."""

    segment: int = 0
    label = "range checks"

    def _names(self, circuit: Circuit):
        widths = circuit.range_widths(self.segment)
        return widths, {w: circuit.range_mult_name(w, self.segment) for w in widths}

    def _sizes(self, circuit: Circuit) -> dict[int, list[int]]:
        return {w: [1 << circuit.limb_cols[x].num_vars for x in limbs]
                for w, limbs in circuit.range_widths(self.segment).items()}

    def repetitions(self, circuit: Circuit) -> int:
        """The LogUp's challenges, 1 or 2, from every segment's leaves
        (:func:`zkinfer.protocol.range.repetitions`): the same for all segments."""
        # the leaves are counted once per set of range checks (every segment's step and terms ask)
        cached = circuit._range_leaves
        if cached is None or cached[0] != len(circuit.ranges):
            sizes = {w: [1 << circuit.limb_cols[x].num_vars for x in limbs]
                     for w, limbs in circuit.range_widths().items()}
            # every segment's table of a width counts: range_leaves adds one table per width
            tables = sum(1 << w for s in range(circuit.num_segments)
                         for w in circuit.range_widths(s))
            total = range_leaves(sizes) - sum(1 << w for w in sizes) + tables
            cached = circuit._range_leaves = (len(circuit.ranges), total)
        return range_repetitions(cached[1])

    def prove(self, ctx: ProverContext) -> RangeProof:
        from zkinfer.progress import listening

        widths, mult_names = self._names(ctx.circuit)
        reps = self.repetitions(ctx.circuit)
        # one count of leaves over every segment's range checks (the stage stays monotone)
        sizes = [RangeChecks(s)._sizes(ctx.circuit) for s in range(ctx.circuit.num_segments)]
        listener = _range_listener(ctx.progress, sizes, self.segment, reps)
        with listening(ctx.transcript, listener):
            proof, claims = prove_ranges(
                {w: [ctx.tables[x] for x in limbs] for w, limbs in widths.items()},
                {w: ctx.tables[name] for w, name in mult_names.items()},
                ctx.transcript, widths, mult_names, repetitions=reps)
        ctx.claims += claims
        return proof

    def verify(self, ctx: VerifierContext, step: RangeProof) -> None:
        widths, mult_names = self._names(ctx.circuit)
        # verify_ranges checks that the step is a range proof (check "range")
        ctx.claims += verify_ranges(self._sizes(ctx.circuit), step, ctx.transcript, widths,
                                    mult_names, check="range",
                                    repetitions=self.repetitions(ctx.circuit))

    def terms(self, circuit: Circuit) -> Terms:
        from zkinfer.lookup.range import MAX_TREE_VARS, block_list, plan

        t = Terms()
        if not circuit.range_widths(self.segment):
            return t
        sizes = self._sizes(circuit)
        reps = self.repetitions(circuit)
        # the non-padding leaves L; at two challenges (L / p^2)^2 <= 1 / p^2 as L < p
        t.lookups = range_leaves(sizes) if reps == 1 else 1
        t += gkr_batch_terms([tree.num_vars + reps - 1
                              for tree in plan(block_list(sizes), MAX_TREE_VARS, reps)])
        t.claims = len(block_list(sizes))
        return t


@dataclass(frozen=True)
class SegmentParts:
    """How committed columns split into the parts of one commitment, one part per segment.

    Attributes:
        names: per segment, its columns in commitment order.
        layouts: per segment, the layout of its columns (packed from index 0).
        shape: the commitment's :class:`~zkinfer.commit.base.Parts`: every part has the
            largest segment's number of variables, and holds data up to its layout's end.
    """

    names: tuple[tuple[str, ...], ...]
    layouts: tuple[Layout, ...]
    shape: Parts

    @classmethod
    def of(cls, columns: dict, segments: dict[str, int], num_segments: int,
           what: str = "trace") -> SegmentParts:
        """From columns (name -> column with ``num_vars``), each column's segment and the
        number of segments.

        Raises:
            ValueError: a segment commits no column.
        """
        names = [[] for _ in range(num_segments)]
        for n in columns:
            names[segments.get(n, 0)].append(n)
        if any(not group for group in names):
            raise ValueError(f"segment {[len(g) for g in names].index(0)} commits no {what} "
                             "column")
        layouts = tuple(Layout(tuple(columns[n].num_vars for n in group)) for group in names)
        return cls(tuple(tuple(g) for g in names), layouts,
                   Parts(max(lay.total_vars for lay in layouts),
                         tuple(lay.used for lay in layouts)))

    def where(self) -> dict[str, tuple[int, int]]:
        """``column -> (segment, offset in its part)``."""
        return {n: (s, lay.offsets[k]) for s, (group, lay) in enumerate(zip(self.names,
                                                                            self.layouts))
                for k, n in enumerate(group)}

    def vector(self, segment: int, tables: dict[str, U64]) -> U64:
        """Part ``segment``'s vector: its columns' tables at their offsets (``used`` entries)."""
        lay = self.layouts[segment]
        out = np.zeros(lay.used, dtype=np.uint64)
        for k, n in enumerate(self.names[segment]):
            out[lay.offsets[k]: lay.offsets[k] + (1 << lay.num_vars[k])] = tables[n]
        return out

    def part_views(self, segment: int, vector: U64) -> dict[str, U64]:
        """Part ``segment``'s columns as views into its ``vector`` (no copy)."""
        lay = self.layouts[segment]
        return {n: lay.block(vector, k) for k, n in enumerate(self.names[segment])}

    def views(self, data: ProverData) -> dict[str, U64]:
        """Every column's table as a view into its committed part (no copy)."""
        return {n: v for s in range(len(self.names))
                for n, v in self.part_views(s, data.part(s)).items()}


#: With ``spill="auto"``, a part of at least this many entries keeps its encoded matrix in a
#: memory-mapped file (the opening reads only the queried columns back).
SPILL_FROM = 1 << 21


def spill_directory(spill, used: int):
    """Where a part of ``used`` entries spills its encoded matrix: ``spill`` is ``"auto"`` (the
    system's temporary directory for parts of at least :data:`SPILL_FROM` entries, else
    memory), ``None``/``False`` (memory) or a directory."""
    if spill is None or spill is False:
        return None
    if isinstance(spill, str) and spill == "auto":
        import tempfile

        return tempfile.gettempdir() if used >= SPILL_FROM else None
    return spill


def commit_segments(pcs: PCS, parts: SegmentParts, tables, *, spill="auto", committed=None,
                    progress=None) -> tuple[Commitment, ProverData]:
    """Commit every segment's columns as one part of one commitment (prover side).

    ``tables`` maps each column to its table, or is a callable ``segment -> {column: table}``
    (so a caller can build one segment's tables at a time). A mapping is updated in place:
    each committed column's table becomes a view into its committed part (one copy in memory);
    with a callable, ``committed(segment, views)`` (if given) receives those views.
    ``spill``: see :func:`spill_directory` (the encoded matrices of large parts go to
    memory-mapped files by default).
    """
    pieces = []
    count = len(parts.names)
    for s in range(count):
        own = tables(s) if callable(tables) else tables
        where = spill_directory(spill, parts.shape.used[s])
        piece = pcs.commit_part(parts.shape, s, parts.vector(s, own), spill=where,
                                progress=_part_progress(progress, s, count))
        views = parts.part_views(s, piece.vector)
        if not callable(tables):
            tables.update(views)
        elif committed is not None:
            committed(s, views)
        del own, views
        pieces.append(piece)
        release()
    return pcs.join(parts.shape, pieces, progress=progress)


def _part_progress(progress, index: int, count: int):
    """Part ``index`` of ``count``'s sub-step reports as one monotone count over all parts:
    ``(step, done, total)`` becomes ``(step, index total + done, count total)``."""
    if progress is None:
        return None

    def report(step: str, done: int, total: int) -> None:
        progress(step, index * total + done, count * total)

    return report


def segment_parts(circuit: Circuit, weights: bool = False) -> SegmentParts:
    """The parts of the trace (or weight) commitment of ``circuit``."""
    return SegmentParts.of(circuit.weights if weights else circuit.trace, circuit.segments,
                           circuit.num_segments, "weight" if weights else "trace")


@dataclass(frozen=True)
class Opening:
    """All claims on one commitment (``"trace"`` or ``"weights"``), every part at once, by one
    opening (:func:`~zkinfer.protocol.openings.prove_part_openings`)."""

    which: str

    @property
    def label(self) -> str:
        return f"opening the {'trace' if self.which == 'trace' else 'weight'} commitment"

    def _items(self, ctx) -> list[PartClaim]:
        return route(ctx.circuit, ctx.claims)[0 if self.which == "trace" else 1]

    @property
    def check(self) -> str:
        return f"{self.which} openings"

    def begin(self, ctx, items: list[PartClaim] | None = None) -> Begun:
        """Absorb the commitment and its claims (``items``, default: :func:`route`'s) and draw
        ``gamma`` (:func:`~zkinfer.protocol.openings.begin_part_openings`); on a prover whose
        parts live elsewhere, also start the part sumchecks."""
        com = ctx.commitments[self.which]
        items = self._items(ctx) if items is None else items
        begun = begin_part_openings(com, items, ctx.transcript, self.check)
        data = getattr(ctx, "prover_data", {}).get(self.which)
        if data is not None:
            start_part_sumchecks(com, data, begun)
        return begun

    def prove(self, ctx: ProverContext, begun: Begun | None = None) -> JointOpeningsProof:
        from zkinfer.progress import prefixed

        com, data = ctx.commitments[self.which], ctx.prover_data[self.which]
        claims = self._items(ctx) if begun is None else begun.claims
        return prove_part_openings(ctx.pcs, com, data, claims, ctx.transcript,
                                   progress=prefixed(ctx.progress, self.label), begun=begun)

    def verify(self, ctx: VerifierContext, step: JointOpeningsProof,
               begun: Begun | None = None, later: list | None = None) -> None:
        expect(step, JointOpeningsProof, self.check, "an opening proof")
        claims = self._items(ctx) if begun is None else begun.claims
        verify_part_openings(ctx.pcs, ctx.commitments[self.which], claims, step,
                             ctx.transcript, check=self.check, begun=begun, later=later)

    def terms(self, circuit: Circuit) -> Terms:
        shape = segment_parts(circuit, self.which == "weights").shape
        parts = len(shape.used)
        # the part sumchecks and the joint one: at most 2 m rounds' worth per part; alpha;
        # gamma is counted with the claims
        return Terms(sumchecks=2 * shape.num_vars * parts, batching=parts - 1)


def route(circuit: Circuit, claims: list[Claim]) -> tuple[list[PartClaim], list[PartClaim]]:
    """Named claims as linear combinations over the parts of the trace and of the weight
    commitment.

    Views and linear columns resolve to their committed columns (:meth:`Circuit.resolve`); a
    column is the block of its segment's part at its offset there. All terms of one claim lie
    in one commitment (they may span segments).
    """
    where = _column_places(circuit)
    tr, wt = [], []
    for c in claims:
        terms, value = circuit.resolve(c.poly, c.point, c.value)
        sides = {where[n][0] for n, _, _ in terms}
        if len(sides) != 1:  # pragma: no cover - the circuit only names its own columns
            raise KeyError(c.poly)
        item = PartClaim(tuple((where[n][1], where[n][2], p, a) for n, p, a in terms), value)
        (wt if sides.pop() else tr).append(item)
    return tr, wt


def _column_places(circuit: Circuit) -> dict[str, tuple[bool, int, int]]:
    """``column -> (in the weight commitment, segment, offset in its part)`` (computed once per
    circuit: :func:`route` runs per segment; the circuit is complete by then)."""
    where = circuit._places
    if where is None:
        where = circuit._places = {
            n: (weights, s, o) for weights in (False, True)
            for n, (s, o) in segment_parts(circuit, weights).where().items()}
    return where


# ---------------------------------------------------------------------------------------------
# the schedule

_LABEL_SEGMENT = b"engine/segment"
_LABEL_SEGMENTS = b"engine/segment-transcripts"


def segment_schedule(circuit: Circuit, segment: int) -> list[tuple[str, object]]:
    """``(part, item)`` of one segment in the order both sides walk: each relation
    (``"relations"``), each identity group (``"identities"``), then ``"ranges"``."""
    return ([("relations", rel) for rel in circuit.segment_relations(segment)]
            + [("identities", IdentityGroup(nv, segment))
               for nv in circuit.segment_identities(segment)]
            + [("ranges", RangeChecks(segment))])


def schedule(circuit: Circuit) -> list[tuple[str, object]]:
    """``(part, item)`` of the whole proof: every segment's (:func:`segment_schedule`), then
    ``"trace_opening"`` and ``"weight_opening"``. Every item has ``label``, ``prove(ctx)``,
    ``verify(ctx, step)`` and ``terms(circuit)``."""
    return ([p for s in range(circuit.num_segments) for p in segment_schedule(circuit, s)]
            + [("trace_opening", Opening("trace")), ("weight_opening", Opening("weights"))])


def prover_context(circuit: Circuit, ids: npt.NDArray[np.int64], transcript: Transcript, *,
                   tables: dict[str, U64], weights: dict[str, U64], pcs: PCS,
                   trace: tuple[Commitment, ProverData], weight: tuple[Commitment, ProverData],
                   progress=None) -> ProverContext:
    """The prover's context: the trace ``tables`` (a :class:`~zkinfer.protocol.witness.Tables`,
    or a mapping of committed columns that is wrapped in one: views and linear columns are
    computed when a segment first needs them), the ``weights``, the PCS and both commitments
    with their prover data."""
    from zkinfer.protocol.witness import Tables

    if not isinstance(tables, Tables):
        tables = Tables(circuit, dict(tables))
    return ProverContext(circuit, ids, transcript, tables=tables, weights=weights, pcs=pcs,
                         commitments={"trace": trace[0], "weights": weight[0]},
                         prover_data={"trace": trace[1], "weights": weight[1]},
                         progress=progress)


def verifier_context(circuit: Circuit, ids: npt.NDArray[np.int64], transcript: Transcript, *,
                     pcs: PCS, trace: Commitment, weight: Commitment) -> VerifierContext:
    """The verifier's context: the PCS and both (decoded) commitments."""
    return VerifierContext(circuit, ids, transcript, pcs=pcs,
                           commitments={"trace": trace, "weights": weight})


def _segment_transcript(transcript: Transcript, segment: int) -> Transcript:
    """Segment ``segment``'s transcript: the shared state (statement and commitments
    absorbed), forked and labelled with the segment's index. Segments are proven from these
    independently, in any order and on any machine; the shared transcript then absorbs their
    final states in segment order (:func:`_join_segments`)."""
    from zkinfer.progress import Listenable

    child = Listenable.of(transcript) if isinstance(transcript, Listenable) \
        else transcript.fork()
    child.append_int(_LABEL_SEGMENT, segment)
    return child


def _join_segments(transcript: Transcript, children: list[Transcript]) -> None:
    transcript.append_bytes(_LABEL_SEGMENTS, b"".join(t.digest() for t in children))


def prove_circuit(ctx: ProverContext) -> CircuitProof:
    """Walk the schedule as the prover: each segment on its own transcript
    (:func:`_segment_transcript`), then the openings on the shared one.

    ``ctx.progress(stage, done, total)``, if set, is called before each part (``"relation
    <label>"``, ``"identities over 2^n"``, ``"range checks"``, ``"opening the trace
    commitment"``, ``"opening the weight commitment"``), and the range checks and the openings
    report their own steps under their stage.
    """
    circuit, shared = ctx.circuit, ctx.transcript
    total = len(schedule(circuit))
    done = 0
    segments, children = [], []
    for s in range(circuit.num_segments):
        ctx.transcript = _segment_transcript(shared, s)
        steps: dict[str, list] = {"relations": [], "identities": [], "ranges": []}
        for part, item in segment_schedule(circuit, s):
            if ctx.progress is not None:
                ctx.progress(f"relation {item.label}" if part == "relations" else item.label,
                             done, total)
            steps[part].append(item.prove(ctx))
            done += 1
        segments.append(SegmentProof(tuple(steps["relations"]), tuple(steps["identities"]),
                                     steps["ranges"][0]))
        children.append(ctx.transcript)
        if hasattr(ctx.tables, "forget"):
            ctx.tables.forget()  # the segment's views and linear columns
        for which in ("trace", "weights"):
            data = ctx.prover_data[which]
            for k in range(data.parts.count if getattr(data, "parts", None) else 0):
                # spilled parts: unmap the pages this segment read (read whole again later:
                # the openings' part sumchecks, a later segment's weights)
                drop_pages(data.part(k), random=False)
        release()  # give their memory back
    ctx.transcript = shared
    _join_segments(shared, children)
    # the openings need the committed parts and the claims only: drop the tables (the
    # uncommitted linear columns and views among them) before their batching tables are built
    ctx.tables = {}
    release()
    return CircuitProof(tuple(segments), *prove_openings(ctx, done, total))


OPENINGS = ("trace", "weights")


def prove_openings(ctx: ProverContext, done: int = 0, total: int = 0) -> list[JointOpeningsProof]:
    """The two openings, as the prover: both begin (claims absorbed, ``gamma`` drawn: trace,
    then weights), then each is proven in turn. Beginning both first lets a prover whose parts
    live on a cluster sum the parts of both commitments at once."""
    items = [Opening(which) for which in OPENINGS]
    routed = route(ctx.circuit, ctx.claims)  # trace claims, weight claims
    begun = [item.begin(ctx, claims) for item, claims in zip(items, routed)]
    out = []
    for item, b in zip(items, begun):
        if ctx.progress is not None:  # a step of the schedule's count, or a stage of its own
            ctx.progress(item.label, *((done, total) if total else (0, 1)))
        out.append(item.prove(ctx, b))
        release()
        done += 1
    return out


def verify_circuit(ctx: VerifierContext, proof: CircuitProof, processes: int = 1,
                   precheck=None) -> None:
    """Walk the schedule as the verifier.

    The segments are independent (each from its own fork of the shared transcript): with
    ``processes > 1`` (and :func:`parallel_verification_allowed`) a forked process verifies
    a share of the segments (:func:`_shares`) while this one verifies the rest; the claims and
    transcripts are joined in segment order, so the result, and the first failing segment's
    error, are those of one process.

    ``precheck()``, if given, runs before the segments are verified (in the forked process when
    there is one, ahead of its segments); its :class:`VerificationError` wins over any
    segment's.

    Raises:
        VerificationError: any relation, look-up, range check or opening fails (the error names
            which), or the proof has another number of segments, relations or identity groups
            than the circuit.
    """
    circuit, shared = ctx.circuit, ctx.transcript
    if len(proof.segments) != circuit.num_segments:
        raise VerificationError("proof", "wrong number of segments",
                                expected=circuit.num_segments, got=len(proof.segments))
    # each segment's claims are routed where it is verified (route is claim by claim)
    routed = route(ctx.circuit, ctx.claims)
    children = []
    for (trace_claims, weight_claims), child in _verify_segments(ctx, proof, processes,
                                                                   precheck):
        routed[0].extend(trace_claims)
        routed[1].extend(weight_claims)
        children.append(child)
    ctx.transcript = shared
    _join_segments(shared, children)
    items = [Opening(which) for which in OPENINGS]
    begun = [item.begin(ctx, claims) for item, claims in zip(items, routed)]
    # the openings' transcript first; their checks that read none (final sums, Merkle paths,
    # encodings) afterwards, shared by two processes when allowed, in the same order
    later: list = []
    try:
        for item, b, step in zip(items, begun, (proof.trace_opening, proof.weight_opening)):
            item.verify(ctx, step, b, later=later)
    except ZkinferError:  # a rejection, or a malformed part of a proof built by hand
        _run_checks(later, 1)  # a check the one-pass order makes first still fails first
        raise
    # a proof too small for its segments to be shared has checks too cheap to fork for
    _run_checks(later, processes if len(proof.segments) >= PARALLEL_MIN_SEGMENTS else 1)


def _run_checks(checks: list, processes: int) -> None:
    """Make the deferred ``checks`` (calls that raise their failure) and raise the first
    failure in list order. With two processes allowed, this one and a forked one take the
    checks in order from a shared counter (their costs differ and are not known beforehand),
    each stopping at its first failure: every check before the lowest failure was taken, and
    passed, so the lowest one is the first of one pass."""
    if processes < 2 or len(checks) < 2 or not parallel_verification_allowed():
        for check in checks:
            check()
        return
    import multiprocessing

    taken = multiprocessing.get_context("fork").Value("i", 0)  # the next check to take

    def share() -> tuple[int, VerificationError] | None:
        while True:
            with taken.get_lock():
                k = taken.value
                taken.value = k + 1
            if k >= len(checks):
                return None
            try:
                checks[k]()
            except VerificationError as exc:
                return k, exc

    wait = _forked(share)
    try:
        mine = share()
    finally:
        kind, theirs = wait()
    if kind != "ok":
        raise RuntimeError(f"parallel verification failed: {theirs}")
    failures = [f for f in (mine, theirs) if f is not None]
    if failures:
        raise min(failures, key=lambda f: f[0])[1]


def _forked(work):
    """Run ``work()`` in a forked process (the ``fork`` context shares this process's memory);
    returns ``wait()``, which gives ``("ok", work's result)`` or ``("crash", description)``
    (an exception in ``work``, or the process's end without a result) and reaps the process.
    Call it exactly once, also when this process fails meanwhile."""
    import multiprocessing

    mp = multiprocessing.get_context("fork")
    receive, send = mp.Pipe(duplex=False)

    def child() -> None:  # the result (or the crash) goes to the parent
        try:
            payload = ("ok", work())
        except BaseException as exc:  # a bug, not a rejection: reported by the parent
            payload = ("crash", f"{type(exc).__name__}: {exc}")
        send.send(payload)
        send.close()

    proc = mp.Process(target=child, daemon=True)
    proc.start()
    send.close()

    def wait() -> tuple[str, object]:
        try:
            return receive.recv()
        except EOFError:
            return "crash", f"the verifying process ended with code {proc.exitcode}"
        finally:
            receive.close()
            proc.join()

    return wait


def _verify_segment(ctx: VerifierContext, proof: CircuitProof, s: int) -> tuple[tuple, Transcript]:
    """Segment ``s``'s schedule as the verifier: its claims (:func:`route`'d: on the trace's
    parts, on the weights' parts) and its transcript at the end."""
    circuit, seg = ctx.circuit, proof.segments[s]
    for part, want in (("relations", len(circuit.segment_relations(s))),
                       ("identities", len(circuit.segment_identities(s)))):
        got = len(getattr(seg, part))
        if got != want:
            raise VerificationError("proof", f"wrong number of {part} steps in segment {s}",
                                    expected=want, got=got)
    own = VerifierContext(circuit, ctx.ids, _segment_transcript(ctx.transcript, s),
                          pcs=ctx.pcs, commitments=ctx.commitments)
    steps = {"relations": iter(seg.relations), "identities": iter(seg.identities)}
    for part, item in segment_schedule(circuit, s):
        if part == "relations" and not isinstance(item, Relation):
            raise VerificationError("proof", f"unknown relation {type(item).__name__}")
        item.verify(own, next(steps[part]) if part in steps else seg.ranges)
    return route(circuit, own.claims), own.transcript


def _verify_share(ctx: VerifierContext, proof: CircuitProof, segments) -> list:
    """``(s, claims, transcript)`` for each segment in order, ending at the first rejection
    (then ``(s, error, None)``)."""
    out = []
    for s in segments:
        try:
            claims, child = _verify_segment(ctx, proof, s)
        except VerificationError as exc:
            out.append((s, exc, None))
            break
        out.append((s, claims, child))
    return out


#: Verifying segments in two processes pays off from this many (forking costs a few ms).
PARALLEL_MIN_SEGMENTS = 4


def parallel_verification_allowed() -> bool:
    """Whether this process may fork a verifying process: Linux (``fork`` is the start method
    that shares the decoded proof and circuit without copying), and no other Python thread (a
    fork copies only the calling thread; another thread's locks would stay held in the child,
    e.g. in a server's thread pool, which then verifies in one process)."""
    import sys
    import threading

    return sys.platform.startswith("linux") and threading.active_count() == 1


#: The forked process's work before its segments (the precheck, and the fork itself) as a share
#: of all segments' work: measured on the SmolLM2 proof (about 0.23 s against 4.6 s of
#: segments). :func:`_shares` balances with it. (Both openings come after the join: they need
#: every segment's claims, so they do not enter the balance.)
PRECHECK_SHARE = 0.05


def _proof_elements(step) -> int:
    """Field words of a proof step's arrays: the work of verifying a segment is about
    proportional to it (its sumcheck rounds and claimed values)."""
    if isinstance(step, np.ndarray):
        return step.size
    if isinstance(step, (tuple, list)):
        return sum(_proof_elements(x) for x in step)
    if dataclasses.is_dataclass(step) and not isinstance(step, type):
        return sum(_proof_elements(getattr(step, f.name)) for f in dataclasses.fields(step))
    return 0


def _shares(proof: CircuitProof, precheck: bool) -> tuple[list[int], list[int]]:
    """The segments this process and the forked one verify, each in ascending order (a share
    stops at its first rejection, which must then be its lowest failing segment): largest
    first to the less loaded process, the forked one starting with the precheck, so that both
    finish together."""
    cost = [_proof_elements(seg) for seg in proof.segments]
    total = sum(cost)
    load = [0.0, PRECHECK_SHARE * total if precheck else 0.0]
    shares: list[list[int]] = [[], []]
    for s in sorted(range(len(cost)), key=lambda s: (-cost[s], s)):
        k = 0 if load[0] <= load[1] else 1
        shares[k].append(s)
        load[k] += cost[s]
    return sorted(shares[0]), sorted(shares[1])


def _verify_segments(ctx: VerifierContext, proof: CircuitProof, processes: int,
                     precheck=None) -> list:
    """Every segment's ``(claims, transcript)`` in segment order, with a forked process taking
    a share of the segments (after ``precheck``) when allowed (:func:`_shares`); ``precheck``'s
    error, else the first failing segment's, is raised."""
    n = len(proof.segments)
    if processes < 2 or n < PARALLEL_MIN_SEGMENTS or not parallel_verification_allowed():
        if precheck is not None:
            precheck()
        results = _verify_share(ctx, proof, range(n))
    else:
        mine_share, theirs_share = _shares(proof, precheck is not None)

        def child():  # its share, after the precheck, whose rejection it returns
            try:
                if precheck is not None:
                    precheck()
            except VerificationError as exc:
                return "rejected", exc
            return "verified", _verify_share(ctx, proof, theirs_share)

        wait = _forked(child)
        try:
            mine = _verify_share(ctx, proof, mine_share)
        finally:
            kind, theirs = wait()
        if kind != "ok":
            raise RuntimeError(f"parallel verification failed: {theirs}")
        kind, theirs = theirs
        if kind == "rejected":
            raise theirs
        results = sorted(mine + theirs, key=lambda r: r[0])
    out = []
    for _, claims, child in results:  # in segment order: the first rejection wins
        if child is None:
            raise claims
        out.append((claims, child))
    if len(out) != n:  # pragma: no cover - a share stops only at a rejection
        raise RuntimeError("parallel verification lost a segment")
    return out


def _range_listener(progress, sizes: list[dict[int, list[int]]], segment: int, reps: int = 1):
    """A transcript listener reporting segment ``segment``'s range step as ``("range checks:
    leaves", done, total)`` with ``total`` the leaves of every segment's fraction trees
    (``sizes``: each segment's limb sizes; ``reps`` challenges) and ``done`` counting the
    earlier segments' whole: the segment's trees counted half when the first GKR round is
    absorbed (all their layers are built), and each tree's other half when its block values
    are (the layers proven). ``None`` without ``progress``."""
    if progress is None:
        return None
    from zkinfer.lookup import range as rng
    from zkinfer.sumcheck.common import _LABEL_ROUND

    def tree_leaves(own: dict[int, list[int]]) -> list[int]:
        if not own:
            return []
        return [reps << tree.num_vars
                for tree in rng.plan(rng.block_list(own), rng.MAX_TREE_VARS, reps)]

    leaves = tree_leaves(sizes[segment])
    own = sum(leaves)
    before = sum(sum(tree_leaves(s)) for s in sizes[:segment])
    total = max(1, before + sum(sum(tree_leaves(s)) for s in sizes[segment:]))
    proven = list(itertools.accumulate(leaves))  # the leaves of trees 0..k, for each k
    state = {"tree": 0, "built": False}
    progress("range checks: leaves", before, total)

    def listen(label: bytes) -> None:
        k = state["tree"]
        if k >= len(leaves):
            return
        if label == _LABEL_ROUND and not state["built"]:
            state["built"] = True
            progress("range checks: leaves", before + own // 2, total)
        elif label == rng.LABEL_BLOCK_EVALS:
            state["tree"] = k + 1
            progress("range checks: leaves", before + (own + proven[k]) // 2, total)

    return listen
