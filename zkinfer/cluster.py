"""Proving on a Dask cluster: the same proof, its segments' work done by the workers.

A proof is made of segments fixed by the model (:mod:`zkinfer.protocol.engine`): the embedding,
then one per transformer block. Given the commitments, segments are independent, and the
openings work on one part per segment. With a :class:`distributed.Client`
(``pip install "zkinfer[dask]"``), :func:`prove` runs as tasks on the workers:

- **placement** (once per key and client, :func:`scatter`): the integer model goes to every
  worker, and each segment's weight part is committed again on the worker that will prove that
  segment (its digests are checked against the key's), so the weights' prover data never
  travels with a proof;
- **per proof**, per segment on its worker: the integer forward of its ops (the few columns a
  later segment reads, the residual stream, go to that segment's worker), its witness and its
  trace part's encoding and hashing, its relations, zero-checks and range checks (on its own
  transcript), its share of each opening's batching sumcheck, row combination and opened
  columns;
- **on the client**: the statement, the Merkle tree over the parts' column digests, the
  openings' joint sumcheck and the proof.

What crosses the network per proof: the token ids and output; the boundary columns; each trace
part's column digests (``32 L`` bytes per segment, ``L`` the code length); each segment's
proof steps and evaluation claims; per opening and part its batching rounds and a
``2^k``-entry state, its row combinations (``V x C`` extension elements) and its opened columns
(``t x R_s`` field elements). Nothing else: no trace table, no weight.

The proof's bytes do not depend on where it was made: every task is a pure function of its
inputs (Dask recomputes a lost worker's tasks elsewhere and gets the same results), and the
client walks the transcript in the order of the local prover.

Parts of the trace and of the weights live in worker memory (the large ones in spill files of
the worker's temporary directory, like the local prover's); their tasks are kept next to them
(the parts report their real size to the scheduler).
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import InvalidArgumentError, MissingDependencyError, ModelError

__all__ = ["Placement", "scatter", "prove", "segment_imports", "segment_costs", "weight_imports"]

U64 = npt.NDArray[np.uint64]

# the placements made per key (weakly: a key that is dropped drops its placements)
_PLACEMENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _require_distributed():
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            'proving on a cluster needs Dask\'s "distributed": pip install "zkinfer[dask]"'
        ) from exc
    return distributed


def _check_client(client):
    distributed = _require_distributed()
    if not isinstance(client, distributed.Client):
        raise InvalidArgumentError(
            f"executor must be a distributed.Client, got {type(client).__name__}")
    if client.status != "running":
        raise InvalidArgumentError(f"the Dask client is {client.status}, not running")
    return client


# ---------------------------------------------------------------------------------------------
# what each segment reads from the others


def segment_imports(model, n: int) -> list[dict[str, int]]:
    """Per segment, the forward columns of other segments that its ops read, with the segment
    that writes each (``name -> segment``). These are the only trace values that move between
    workers (for a transformer: the residual stream entering each block)."""
    from zkinfer.model.intmodel import column_specs, ops
    from zkinfer.protocol.model_circuit import num_segments, segment_of

    count = num_segments(model)
    specs = column_specs(model, n)
    out: list[dict[str, int]] = [{} for _ in range(count)]
    for op in ops(model):
        s = segment_of(op.name, count)
        for field, value in vars(op).items():
            if field != "name" and isinstance(value, str) and value in specs:
                t = segment_of(value, count)
                if t != s:
                    out[s][value] = t
    return out


def segment_costs(model, n: int) -> list[float]:
    """Per segment, the prover's expected work in microseconds on the reference machine: its
    trace part's entries at ``n`` tokens times the trace phases' cost per entry, plus its weight
    part's entries times the weight opening's (the cost model of the progress bar)."""
    from zkinfer.protocol.engine import segment_parts
    from zkinfer.protocol.model_circuit import build_circuit, placeholder_output, weight_parts
    from zkinfer.prover import _TRACE_COSTS, _WEIGHT_OPENING_COST

    circuit = build_circuit(model, n, placeholder_output(model, n))
    trace = segment_parts(circuit).shape.used
    weights = weight_parts(model).shape.used
    per_entry = sum(cost for _, cost in _TRACE_COSTS)
    return [per_entry * t + _WEIGHT_OPENING_COST * w for t, w in zip(trace, weights)]


def _assign(costs: list[float], workers: list[str]) -> list[str]:
    """Each segment's worker: the most expensive segment first, each to the least loaded
    worker (ties: the lower address); deterministic for the same costs and workers."""
    load = {w: 0.0 for w in workers}
    out = [""] * len(costs)
    for s in sorted(range(len(costs)), key=lambda s: (-costs[s], s)):
        w = min(workers, key=lambda w: (load[w], w))
        out[s] = w
        load[w] += costs[s]
    return out


# ---------------------------------------------------------------------------------------------
# tasks (they run on the workers; module-level, pure functions of their arguments)

_CIRCUITS: dict = {}


def _circuit(model, n: int, output: np.ndarray):
    """The statement's circuit, built once per worker process and statement."""
    from zkinfer.protocol.model_circuit import build_circuit

    key = (id(model), n, np.asarray(output, dtype=np.int64).tobytes())
    if key not in _CIRCUITS:
        if len(_CIRCUITS) >= 4:
            _CIRCUITS.pop(next(iter(_CIRCUITS)))
        _CIRCUITS[key] = (model, build_circuit(model, n, output))
    return _CIRCUITS[key][1]


@dataclass(eq=False)
class _Part:
    """A committed part in a worker's memory, with the tables its segment's proof reads:
    its own columns (views into the part) and, for the trace, the columns of other segments it
    reads (their field tables, made from the boundary columns it received)."""

    piece: object
    tables: dict

    def __sizeof__(self) -> int:
        return self.piece.__sizeof__() + sum(
            t.nbytes for t in self.tables.values() if not _views_into(t, self.piece))


def _views_into(table: np.ndarray, piece) -> bool:
    return np.may_share_memory(table, piece.rows) if hasattr(piece, "rows") else False


def _spill(used: int):
    from zkinfer.protocol.engine import spill_directory

    return spill_directory("auto", used)


def _weight_part(model, pcs, s: int) -> _Part:
    """Commit segment ``s``'s weights (the key's part ``s``, again) on this worker."""
    from zkinfer.protocol.model_circuit import weight_columns, weight_matrices, weight_parts
    from zkinfer.protocol.witness import weight_table

    parts = weight_parts(model)
    matrices, columns = weight_matrices(model), weight_columns(model)
    tables = {name: weight_table(matrices[name], columns[name]) for name in parts.names[s]}
    piece = pcs.commit_part(parts.shape, s, parts.vector(s, tables),
                            spill=_spill(parts.shape.used[s]))
    del tables
    return _Part(piece, parts.part_views(s, piece.vector))


def _digests_digest(part: _Part) -> bytes:
    """A hash of a part's column digests (to compare a worker's part with the key's)."""
    return hashlib.sha256(np.ascontiguousarray(part.piece.digests).tobytes()).digest()


def _forward(model, ids: np.ndarray, s: int, *imported: dict) -> dict[str, np.ndarray]:
    """The integer forward of segment ``s``'s ops, given the columns it reads from earlier
    segments; returns its own columns (checked against their declared widths)."""
    from zkinfer.model.intmodel import column_specs, ops
    from zkinfer.model.ops import home
    from zkinfer.model.trace import Trace
    from zkinfer.protocol.model_circuit import num_segments, segment_of

    count = num_segments(model)
    specs = column_specs(model, ids.shape[0])
    own = {name: spec for name, spec in specs.items() if segment_of(name, count) == s}
    cols = {name: np.empty(spec.shape, dtype=np.int64) for name, spec in own.items()}
    for columns in imported:
        cols.update(columns)
    for op in ops(model):
        if segment_of(op.name, count) == s:
            home(op).kernel(op, model, ids, cols)
    trace = Trace({name: cols[name] for name in own}, own)
    trace.check()
    return dict(trace.items())


def _select(columns: dict, names: list[str]) -> dict:
    return {name: columns[name] for name in names}


def _output(columns: dict) -> np.ndarray:
    from zkinfer.model.trace import output_column

    return np.asarray(columns[output_column(columns)], dtype=np.int64)


def _commit_trace(model, pcs, ids: np.ndarray, output: np.ndarray, s: int, columns: dict,
                  *imported: dict) -> _Part:
    """Segment ``s``'s witness (its advice, limbs and multiplicities) and its trace part."""
    from zkinfer.protocol.engine import segment_parts
    from zkinfer.protocol.model_circuit import witness_plan
    from zkinfer.protocol.witness import Tables, _field, pad, segment_witness

    n = ids.shape[0]
    circuit = _circuit(model, n, output)
    real = dict(columns)
    foreign = {}
    for cols in imported:
        foreign.update(cols)
    real.update(foreign)
    try:
        for name, rule in witness_plan(model, n).items():
            if circuit.segments.get(name, 0) == s:
                real[name] = np.asarray(rule(real), dtype=np.int64)
        tables = Tables(circuit)
        for name, values in foreign.items():
            if name in circuit.trace:
                tables.base[name] = _field(pad(values, circuit.trace[name]))
        own = segment_witness(circuit, real, s, tables, strict=True)
    except ValueError as exc:
        raise ModelError(f"trace does not fit the circuit: {exc}") from exc
    del real
    parts = segment_parts(circuit)
    piece = pcs.commit_part(parts.shape, s, parts.vector(s, own),
                            spill=_spill(parts.shape.used[s]))
    del own
    base = {name: t for name, t in tables.base.items() if circuit.segments.get(name, 0) != s}
    base.update(parts.part_views(s, piece.vector))
    return _Part(piece, base)


def _digests(part: _Part) -> np.ndarray:
    return np.ascontiguousarray(part.piece.digests)


def _prove_segment(model, pcs, ids: np.ndarray, output: np.ndarray, s: int, trace: _Part,
                   weights: _Part, transcript, *borrowed: dict):
    """Segment ``s``'s steps on its own transcript: ``(SegmentProof, claims, final state)``.
    ``borrowed``: weight tables of other parts its ops read (:func:`weight_imports`)."""
    from zkinfer.protocol.engine import SegmentProof, segment_schedule
    from zkinfer.protocol.relation import ProverContext
    from zkinfer.protocol.witness import Tables

    circuit = _circuit(model, ids.shape[0], output)
    tables = dict(weights.tables)
    for extra in borrowed:
        tables.update(extra)
    ctx = ProverContext(circuit, ids, transcript, tables=Tables(circuit, dict(trace.tables)),
                        weights=tables, pcs=pcs)
    steps: dict[str, list] = {"relations": [], "identities": [], "ranges": []}
    for part, item in segment_schedule(circuit, s):
        steps[part].append(item.prove(ctx))
    proof = SegmentProof(tuple(steps["relations"]), tuple(steps["identities"]),
                         steps["ranges"][0])
    return proof, ctx.claims, transcript


def _on_piece(part: _Part, fn, *args):
    return fn(part.piece, *args)


# ---------------------------------------------------------------------------------------------
# the client side


class _Session:
    """The client's side of one proof: submits a segment's tasks to its worker and gathers
    results; with ``stats`` (a dict) it records every task's key as ``(function, segment)``
    and the bytes sent to and received from the workers (Dask's size estimates)."""

    def __init__(self, client, workers: list[str], stats: dict | None = None) -> None:
        self.client, self.workers, self.stats = client, workers, stats
        if stats is not None:
            stats.setdefault("keys", {})
            stats.setdefault("sent", 0)
            stats.setdefault("received", 0)

    def submit(self, fn, *args, segment: int, label: str = "", priority: int = 0):
        future = self.client.submit(fn, *args, pure=False, workers=[self.workers[segment]],
                                    allow_other_workers=True, priority=priority)
        if self.stats is not None:
            from dask.sizeof import sizeof

            name = fn.__name__ if fn is not _on_piece else f"{label} {args[1].__name__}"
            self.stats["keys"][future.key] = (name, segment)
            self.stats["sent"] += sum(sizeof(a) for a in args
                                      if not isinstance(a, self._future_type))
        return future

    @property
    def _future_type(self):
        from distributed import Future

        return Future

    def gather(self, futures: list, progress=None, stage: str = "") -> list:
        """The futures' results in order, reporting ``(stage, finished, total)`` to
        ``progress`` as they finish."""
        if progress is None:
            out = self.client.gather(futures)
        else:
            from distributed import as_completed

            index = {f.key: k for k, f in enumerate(futures)}
            out = [None] * len(futures)
            progress(stage, 0, len(futures))
            for count, f in enumerate(as_completed(futures), 1):
                out[index[f.key]] = f.result()
                progress(stage, count, len(futures))
        if self.stats is not None:
            from dask.sizeof import sizeof

            self.stats["received"] += sum(sizeof(r) for r in out)
            by = self.stats.setdefault("received_by", {})
            for f, r in zip(futures, out):
                name = self.stats["keys"].get(f.key, ("?",))[0]
                by[name] = by.get(name, 0) + sizeof(r)
        return out


class _RemoteParts:
    """The prover data of a commitment whose parts live on the workers: the openings call
    :meth:`map_parts`, which runs each part's function where the part is."""

    def __init__(self, session: _Session, futures: list, label: str) -> None:
        self.session, self.futures, self.label = session, futures, label

    def map_parts(self, fn, args, done=None) -> list:
        return self.start_parts(fn, args, priority=0)(done)

    def start_parts(self, fn, args, priority: int = -1):
        """Submit ``fn`` on every part now (at ``priority``: started ahead of need, below the
        tasks a proof waits for); returns ``gather(done=None)``."""
        futures = [self.session.submit(_on_piece, f, fn, *a, segment=s, label=self.label,
                                       priority=priority)
                   for s, (f, a) in enumerate(zip(self.futures, args))]

        def gather(done=None) -> list:
            report = None if done is None else (lambda _stage, count, _total: done(count))
            return self.session.gather(futures, report, "parts")

        return gather


def _remote_data(pcs, commitment, levels, remote: _RemoteParts):
    """Ligero prover data of parts held by the workers (the client holds the Merkle tree)."""
    from zkinfer.commit.ligero.prover import LigeroPartsData

    class RemotePartsData(LigeroPartsData):
        closed = False

        def map_parts(self, fn, args, done=None):
            return remote.map_parts(fn, args, done)

        def start_parts(self, fn, args):
            return remote.start_parts(fn, args)

        def part(self, index):  # pragma: no cover - the openings never ask for it
            raise ValueError("the part's vector is on a worker")

        def close(self) -> None:
            remote.futures = []

    return RemotePartsData(commitment.parts, commitment, [None] * commitment.parts.count, levels)


@dataclass(eq=False)
class Placement:
    """A proving key placed on a Dask cluster (:func:`scatter`).

    Attributes:
        client: the :class:`distributed.Client`.
        model: the integer model, on every worker (a future).
        workers: per segment, the address of the worker that proves it.
        weights: per segment, its committed weight part on that worker (futures).
    """

    client: object
    model: object
    workers: list[str]
    weights: list

    def release(self) -> None:
        """Free the workers' copies (the key can be placed again)."""
        for f in [self.model, *self.weights]:
            f.release()
        self.weights = []


def scatter(pk, client, *, costs_at: int | None = None) -> Placement:
    """Place a proving key on the cluster of ``client`` (once; later calls return the same
    placement while it is alive).

    The integer model is sent to every worker; each segment is given to a worker (the most
    expensive first, to the least loaded: :func:`segment_costs` at ``costs_at`` tokens, default
    ``min(128, max_seq_len)``), which commits the segment's weights again and keeps them. The
    digests of every part are checked against the key's.

    Raises:
        InvalidArgumentError: ``client`` is not a running :class:`distributed.Client`, the key's
            PCS cannot prove on a cluster (only Ligero can), or the cluster has no worker.
        ModelError: a worker's weight part differs from the key's.
    """
    from zkinfer.commit import LigeroPCS

    _check_client(client)
    if not isinstance(pk.pcs, LigeroPCS):
        raise InvalidArgumentError(
            f"proving on a cluster needs the Ligero PCS, the key has {type(pk.pcs).__name__}")
    placed = _PLACEMENTS.get(pk, {})
    found = placed.get(id(client))
    if found is not None and found.weights and found.client is client:
        return found
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise InvalidArgumentError("the Dask cluster has no worker")
    n = costs_at or min(128, pk.model.config.max_seq_len)
    assigned = _assign(segment_costs(pk.model, n), workers)
    model = client.scatter(pk.model, broadcast=True, hash=False)
    weights = [client.submit(_weight_part, model, pk.pcs, s, pure=False, workers=[w],
                             allow_other_workers=True)
               for s, w in enumerate(assigned)]
    got = client.gather([client.submit(_digests_digest, f, pure=False) for f in weights])
    for s, digest in enumerate(got):
        want = hashlib.sha256(np.ascontiguousarray(
            pk.weight_data.pieces[s].digests).tobytes()).digest()
        if digest != want:
            raise ModelError(f"segment {s}'s weights committed on a worker differ from the key's")
    placement = Placement(client, model, assigned, weights)
    placed[id(client)] = placement
    _PLACEMENTS[pk] = placed
    return placement


def weight_imports(model) -> list[dict[str, int]]:
    """Per segment, the committed weight columns of other segments' parts that its ops read,
    with the part that holds each (``name -> segment``): a decoder's LM head reads the tied
    token table of the embedding's part."""
    from zkinfer.model.intmodel import ops
    from zkinfer.model.ops import home
    from zkinfer.protocol.model_circuit import num_segments, segment_of, weight_segments

    count = num_segments(model)
    held = weight_segments(model)
    out: list[dict[str, int]] = [{} for _ in range(count)]
    for op in ops(model):
        s = segment_of(op.name, count)
        for name in home(op).weights(op, model):
            if held[name] != s:
                out[s][name] = held[name]
    return out


def _weight_tables(part: _Part, names: list[str]) -> dict:
    return {name: part.tables[name] for name in names}


def prove(pk, ids, client, progress=None, stats: dict | None = None,
          max_new_tokens: int | None = None):
    """Prove ``ids`` with the segments' work done on the cluster of ``client`` (see the
    module's docstring). The proof is the one :func:`zkinfer.prover.prove` makes, byte for
    byte; for a decoder, ``ids`` is the prompt and ``max_new_tokens`` the limit of the answer
    (generated on the client, as :func:`zkinfer.prover.prove` does).

    ``progress(stage, done, total)`` receives ``"integer forward"``, ``"committing the
    trace"`` (segments committed), ``"proving segments"`` (segments proven), then the openings'
    stages as the local prover reports them.

    ``stats``, if a dict, receives ``"keys"`` (each task's key -> ``(function, segment)``, to
    read a task stream by segment), ``"sent"`` and ``"received"`` (bytes of the arguments the
    client sent and of the results it gathered, by Dask's size estimate).

    Raises:
        ModelError: bad input, or a trace value outside its declared width or range check.
        InvalidArgumentError: as :func:`scatter`.
    """
    from zkinfer.commit.ligero.prover import join_digests
    from zkinfer.model.reference import check_ids
    from zkinfer.progress import prefixed
    from zkinfer.protocol.engine import (
        CircuitProof,
        _join_segments,
        _segment_transcript,
        prove_openings,
        prover_context,
        segment_parts,
    )
    from zkinfer.protocol.model_circuit import build_circuit, num_segments
    from zkinfer.prover import _answer, _predictions, _proof, _statement

    answer = _answer(pk, ids, max_new_tokens)
    if answer is not None:
        ids = answer.ids
    placement = scatter(pk, client)
    ids = check_ids(pk.model, ids)
    model, workers, n = placement.model, placement.workers, ids.shape[0]
    count = num_segments(pk.model)

    session = _Session(client, workers, stats)
    submit = session.submit

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    # the forward, segment after segment; each receives the columns it reads from earlier ones
    imports = segment_imports(pk.model, n)
    exported: dict[int, list[str]] = {}
    for own in imports:
        for name, t in own.items():
            exported.setdefault(t, []).append(name)
    # per segment, the earlier segments whose exports it reads
    sources = [sorted(set(own.values())) for own in imports]
    report("integer forward", 0, count)
    forwards, exports = [], {}
    for s in range(count):
        forwards.append(submit(_forward, model, ids, s, *[exports[t] for t in sources[s]],
                               segment=s))
        if s in exported:
            exports[s] = submit(_select, forwards[s], sorted(set(exported[s])), segment=s)
    output = session.gather([submit(_output, forwards[-1], segment=count - 1)])[0]
    report("integer forward", count, count)
    _predictions(answer, output)

    circuit = build_circuit(pk.model, n, output)
    transcript = _statement(pk, ids, output, answer)
    # every segment's trace part, committed where it was computed
    traces = [submit(_commit_trace, model, pk.pcs, ids, output, s, forwards[s],
                     *[exports[t] for t in sources[s]], segment=s)
              for s in range(count)]
    digests = session.gather([submit(_digests, f, segment=s) for s, f in enumerate(traces)],
                             prefixed(progress, "committing the trace"), "segments")
    del forwards, exports
    parts = segment_parts(circuit)
    trace_com, levels = join_digests(pk.pcs.params, parts.shape, digests)
    del digests
    transcript.append_bytes(b"trace-commitment", trace_com.to_bytes())

    # every segment on its own transcript, forked from the shared state
    report("proving segments", 0, count)
    borrowed = weight_imports(pk.model)
    foreign = [[submit(_weight_tables, placement.weights[t],
                       sorted(name for name, h in borrowed[s].items() if h == t), segment=t)
                for t in sorted(set(borrowed[s].values()))] for s in range(count)]
    jobs = [submit(_prove_segment, model, pk.pcs, ids, output, s, traces[s],
                   placement.weights[s], _segment_transcript(transcript, s), *foreign[s],
                   segment=s)
            for s in range(count)]
    done = session.gather(jobs, progress, "proving segments")
    _join_segments(transcript, [child for _, _, child in done])

    trace_data = _remote_data(pk.pcs, trace_com, levels,
                              _RemoteParts(session, traces, "trace"))
    weight_data = _remote_data(pk.pcs, pk.weight_commitment, pk.weight_data.levels,
                               _RemoteParts(session, placement.weights, "weights"))
    ctx = prover_context(circuit, ids, transcript, tables={}, weights={}, pcs=pk.pcs,
                         trace=(trace_com, trace_data), weight=(pk.weight_commitment, weight_data),
                         progress=None)
    ctx.claims = [c for _, claims, _ in done for c in claims]
    # both openings begin, the parts of both are summed at once, then each is finished
    ctx.progress = progress
    openings = prove_openings(ctx)
    del traces
    proof = CircuitProof(tuple(p for p, _, _ in done), *openings)
    return _proof(pk, ids, output, trace_com.to_bytes(), proof, answer)
