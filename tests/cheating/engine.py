"""Cheating provers for the relation schedule of :mod:`zkinfer.protocol.engine` (tests only).

Every forgery here runs the real :func:`~zkinfer.protocol.engine.prove_circuit` schedule on one
doctored input, so every message after the doctored one is computed from it and the forged proof
passes every check except the one under test:

- :func:`honest`: the tiny models every attack starts from (built once per session), with
  their honest traces and proofs; :func:`single_threaded` keeps their proofs fast;
- :func:`forward_with`: the model's integer semantics (the reference forward, op by op) with an
  edit after any op; later ops see the edited columns, so the trace stays consistent;
  :func:`attention_from`, :func:`layernorm_from`, :func:`requantize_from` recompute the rest of
  an op from an edited column (:func:`rescore`: from the attention scores);
- :func:`prove_forged`: :func:`zkinfer.prover.prove_trace` with hooks: the statement's token
  ids and the ids the prover's one-hot matrix uses may differ, the prover's circuit may be
  edited before the witness is built (its own public table or multipliers; advice values the
  prover chooses, :func:`advice`), and chosen columns may be committed with non-zero padding;
- :class:`Lies`: within the block, chosen sumchecks of the prover (a relation's product, a
  zero-check group, the opening of a commitment of parts) prove a *claimed* value instead of
  the true sum; each round is kept consistent with the running claim, so only the final check
  can notice (:func:`reference_sumcheck`; for an opening :func:`lying_part`: the part sums
  add up to the claimed combination, one part's sum carries the lie through its sumcheck and
  the joint one, in the library's own opening prover). ``adaptive=True`` instead picks the
  last round polynomial after predicting its challenge: accepted exactly when round
  polynomials are not absorbed;
- :func:`lookup_sees`: the LogUp of one table relation is run on other output values than the
  committed column (the look-up is honest, the committed column is not);
- :func:`steps`, :func:`with_steps`, :func:`replace_step`: a proof's steps in schedule order
  (segment by segment; :func:`step_index` names them, :func:`shape` counts them per segment),
  :func:`with_segments`: a proof with other segments;
- :func:`verify_with`: the verifier's own steps (:func:`zkinfer.verify`) with its circuit
  edited, to test how it treats a relation it does not know;
- :func:`broken_identities`, :func:`out_of_range`: which identities and range checks a forged
  witness breaks (a test states exactly what its forgery relies on).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from unittest import mock

import numpy as np
import numpy.typing as npt

import zkinfer
from zkinfer.commit import TrivialPCS
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.model import reference as ref
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.intmodel import (
    IntModel,
    ops,
)
from zkinfer.model.ops import home
from zkinfer.models import random_transformer
from zkinfer.poly import multilinear as ml
from zkinfer.poly.univariate import interpolate_at
from zkinfer.proof import Proof, ProvingKey, VerifyingKey, statement_transcript
from zkinfer.protocol import engine
from zkinfer.protocol.circuit import Circuit, MatmulRel, TableRel
from zkinfer.protocol.constraints import debug_check
from zkinfer.protocol.model_circuit import build_circuit, witness_plan
from zkinfer.protocol.relation import ProverContext
from zkinfer.protocol.witness import _unchecked_witness, build_witness
from zkinfer.sumcheck import common
from zkinfer.sumcheck import prover as sumcheck_prover
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.sumcheck.prover import SumcheckOutput
from zkinfer.testing import prove_trace
from zkinfer.transcript import Transcript

__all__ = [
    "Honest",
    "honest",
    "single_threaded",
    "forward_with",
    "attention_from",
    "rescore",
    "layernorm_from",
    "requantize_from",
    "forged_witness",
    "prove_forged",
    "reference_sumcheck",
    "claimed_total",
    "lying_part",
    "prove_part_openings",
    "Lies",
    "lookup_sees",
    "verify_with",
    "recount_lookups",
    "step_names",
    "step_index",
    "steps",
    "shape",
    "with_steps",
    "replace_step",
    "with_segments",
    "broken_identities",
    "out_of_range",
]

U64 = npt.NDArray[np.uint64]
Edit = Callable[[dict[str, np.ndarray]], None]


# ---------------------------------------------------------------------------------------------
# honest material every attack starts from

#: Narrow widths: every range check fits limbs below 16 bits, so the tiny models prove fast.
SMALL = QuantConfig(weight_bits=4, emb_bits=6, act_bits=4, resid_bits=8, ffn_in_bits=6,
                    ffn_out_bits=6, out_bits=6, exp_bits=4, prob_bits=6, mult_bits=8, pool_shift=4)
IDS = np.array([3, 1, 4], dtype=np.int64)
OTHER_IDS = np.array([2, 7, 1], dtype=np.int64)
#: ``kind -> (config, seed, ids)``. ``mlp``: two residual MLP blocks; ``transformer``: one
#: pre-norm block with two heads (LayerNorms, attention, softmax); ``wide``: the same with a
#: width of 6 (a LayerNorm mean whose remainder bound ``d - 1`` is not a power of two minus one)
#: and three heads (an exponent table of 55 rows, padded to 64), on ids that reach both;
#: ``deep``: four residual MLP blocks (four segments, the middle two of the same shape).
CONFIGS = {
    "mlp": (TransformerConfig(n_layers=2, d_model=4, n_heads=1, d_ff=8, max_seq_len=4,
                              vocab_size=16, block="mlp"), 5, IDS),
    "deep": (TransformerConfig(n_layers=4, d_model=4, n_heads=1, d_ff=8, max_seq_len=4,
                               vocab_size=16, block="mlp"), 5, IDS),
    "transformer": (TransformerConfig(n_layers=1, d_model=4, n_heads=2, d_ff=8, max_seq_len=4,
                                      vocab_size=16, norm="pre"), 5, IDS),
    "wide": (TransformerConfig(n_layers=1, d_model=6, n_heads=3, d_ff=8, max_seq_len=4,
                               vocab_size=16, norm="pre"), 0, np.array([1, 0, 10], dtype=np.int64)),
}


@dataclasses.dataclass(frozen=True, eq=False)
class Honest:
    """A tiny model (TrivialPCS keys), its honest trace of :data:`IDS` and its proof.

    Attributes:
        circuit: the verifier's circuit of the statement (for step indices and names).
    """

    model: IntModel
    vk: VerifyingKey
    pk: ProvingKey
    ids: np.ndarray
    cols: dict[str, np.ndarray]
    output: np.ndarray
    proof: Proof
    circuit: Circuit

    def copy_cols(self) -> dict[str, np.ndarray]:
        """A copy of the honest trace to edit."""
        return {k: v.copy() for k, v in self.cols.items()}


@functools.cache
def honest(kind: str) -> Honest:
    """The honest setup of :data:`CONFIGS` ``[kind]`` (built once per test session)."""
    config, seed, ids = CONFIGS[kind]
    model = random_transformer(config, seed, SMALL)
    vk, pk = zkinfer.setup(model, TrivialPCS())
    cols = forward_with(model, ids)
    output = cols["pool.mean"]
    proof = prove_trace(pk, ids, cols, output)
    assert zkinfer.verify(vk, ids, output, proof, allow_insecure=True)
    circuit = build_circuit(model, ids.shape[0], output)
    return Honest(model, vk, pk, ids, cols, output, proof, circuit)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Numba's parallel kernels on one thread within the block: the tiny proofs of the attack
    tests are dominated by thread start-up, several times over on a loaded machine."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# traces: the model's semantics with an edit


def forward_with(model: IntModel, ids: npt.ArrayLike, edits: Mapping[str, Edit] | None = None
                 ) -> dict[str, np.ndarray]:
    """The integer forward (:mod:`zkinfer.model.reference`, op by op) with edits.

    Arguments:
        model: the integer model.
        ids: the token ids.
        edits: ``op name -> edit(cols)``, called (in place) right after that op's columns are
            computed; every later op reads the edited columns. Declared widths are not checked.

    Returns:
        Every trace column by name (``pool.mean`` is the output).
    """
    edits = dict(edits or {})
    ids = np.asarray(ids, dtype=np.int64)
    cols: dict[str, np.ndarray] = {}
    for op in ops(model):
        new = home(op).reference(op, model, ids, cols)
        cols.update({k: np.array(v, dtype=np.int64) for k, v in new.items()})
        if op.name in edits:
            edits.pop(op.name)(cols)
    if edits:
        raise KeyError(f"no op named {sorted(edits)}")
    return cols


def _op(model: IntModel, name: str):
    return next(op for op in ops(model) if op.name == name)


#: The columns of an attention's softmax and context, in the order they are computed.
ATTENTION_STAGES = ("scores", "max", "diff", "idx", "exp", "p", "ctx")
#: The columns of a LayerNorm, in the order they are computed.
LAYERNORM_STAGES = ("mean", "c", "var", "rsqrt", "bounds", "z", "out")


def attention_from(model: IntModel, attention: str, cols: dict[str, np.ndarray], stage: str
                   ) -> None:
    """Recompute (in place) the softmax and context of op ``attention`` after ``stage`` of
    :data:`ATTENTION_STAGES` from the columns in ``cols`` (the reference semantics): an edit of
    ``scores`` recomputes ``max``, ``argmax``, ``diff`` and on; of ``max``, ``diff`` and on
    (``argmax`` kept); of ``diff``, ``idx`` and on; of ``idx``, ``exp`` and on; of ``exp``,
    ``sum``, ``p``, ``rem`` and on; of ``p`` (with ``rem``), the context."""
    op = _op(model, attention)
    a = op.attn
    S, C = f"{attention}.softmax", f"{attention}.ctx"
    todo = ATTENTION_STAGES[ATTENTION_STAGES.index(stage) + 1:]
    scores = cols[f"{attention}.scores"]
    if "max" in todo:
        cols[f"{S}.max"] = scores.max(axis=2)
        cols[f"{S}.argmax"] = scores.argmax(axis=2).astype(np.int64)
    if "diff" in todo:
        cols[f"{S}.diff"] = cols[f"{S}.max"][:, :, None] - scores
    if "idx" in todo:
        cols[f"{S}.idx"] = np.minimum(cols[f"{S}.diff"], len(a.exp_table) - 1)
    if "exp" in todo:
        cols[f"{S}.exp"] = np.asarray(a.exp_table, dtype=np.int64)[cols[f"{S}.idx"]]
    if "p" in todo:
        e = cols[f"{S}.exp"]
        ssum = e.sum(axis=2)
        num = e << np.int64(a.prob_bits)
        cols[f"{S}.sum"], cols[f"{S}.p"] = ssum, num // ssum[:, :, None]
        cols[f"{S}.rem"] = num - cols[f"{S}.p"] * ssum[:, :, None]
    H, n, _ = scores.shape
    vh = cols[op.v].reshape(n, H, -1).transpose(1, 0, 2)
    acc = (cols[f"{S}.p"] @ vh).transpose(1, 0, 2).reshape(n, -1)
    cq, crem, cout = ref.requantize(acc * a.ctx.m, a.ctx)
    cols.update({f"{C}.acc": acc, f"{C}.q": cq, f"{C}.rem": crem, f"{C}.out": cout})


def rescore(model: IntModel, attention: str, cols: dict[str, np.ndarray]) -> None:
    """:func:`attention_from` the (edited) scores."""
    attention_from(model, attention, cols, "scores")


def layernorm_from(model: IntModel, name: str, cols: dict[str, np.ndarray], stage: str) -> None:
    """Recompute (in place) the columns of LayerNorm ``name`` after ``stage`` of
    :data:`LAYERNORM_STAGES` (``bounds``: ``rsqrt_lo``, ``rsqrt_hi``) from ``cols``."""
    op = _op(model, name)
    ln = op.ln
    P = name
    todo = LAYERNORM_STAGES[LAYERNORM_STAGES.index(stage) + 1:]
    if "c" in todo:
        cols[f"{P}.c"] = cols[op.src] - cols[f"{P}.mean"][:, None]
    c = cols[f"{P}.c"]
    if "var" in todo:
        cols[f"{P}.var"] = (c * c).sum(axis=1) + ln.eps
    var = cols[f"{P}.var"]
    two_k = 1 << ln.k
    if "rsqrt" in todo:
        cols[f"{P}.rsqrt"] = ref.isqrt_floor_div(two_k, var)
    y = cols[f"{P}.rsqrt"]
    if "bounds" in todo:
        cols[f"{P}.rsqrt_lo"] = two_k - y * y * var
        cols[f"{P}.rsqrt_hi"] = (y + 1) * (y + 1) * var - two_k - 1
    if "z" in todo:
        cols[f"{P}.z"] = c * y[:, None]
    q, rem, out = ref.requantize(cols[f"{P}.z"] * ln.rq.m + ln.beta, ln.rq)
    cols.update({f"{P}.q": q, f"{P}.rem": rem, f"{P}.out": out})


def requantize_from(model: IntModel, name: str, cols: dict[str, np.ndarray]) -> None:
    """Recompute (in place) ``q``, ``rem`` and ``out`` of linear ``name`` from its ``acc``."""
    op = _op(model, name)
    pre = cols[f"{name}.acc"] * op.lin.rq.m
    if op.res is not None:
        pre = pre + cols[op.res] * op.lin.res_m
    q, rem, out = ref.requantize(pre, op.lin.rq)
    cols.update({f"{name}.q": q, f"{name}.rem": rem, f"{name}.out": out})


# ---------------------------------------------------------------------------------------------
# proving a doctored input with the real schedule


def forged_witness(pk: ProvingKey, ids: npt.ArrayLike, columns: Mapping[str, np.ndarray],
                   output: npt.ArrayLike, *, edit_circuit: Callable[[Circuit], None] | None = None,
                   advice: Mapping[str, np.ndarray] | None = None,
                   padding: Mapping[str, np.ndarray] | None = None,
                   strict: bool = False) -> tuple[Circuit, dict[str, U64]]:
    """The prover's circuit (edited by ``edit_circuit``) and the witness of ``columns``
    (``strict=False``: values outside their range checks keep their low bits in the limbs).

    ``advice``: ``column -> real-shaped values``: those advice columns (``.below``, ``.sel``,
    ``.t0``, ...) take the given values instead of their witness plan's rules. Look-up
    multiplicities are counted from the committed columns (:func:`recount_lookups`).

    ``padding``: ``column -> padded integer tensor``: those columns are committed with the
    given entries on their padding too (the real block must be the column's); limbs, linear
    columns and multiplicities are computed from them as usual."""
    from zkinfer.protocol import witness as witness_mod

    circuit = build_circuit(pk.model, len(ids), np.asarray(output, dtype=np.int64))
    plan = witness_plan(pk.model, len(ids))
    recount_lookups(circuit, plan)
    for name, values in (advice or {}).items():
        if name not in plan:
            raise KeyError(f"{name} is not an advice column")
        fixed = np.asarray(values, dtype=np.int64)
        plan[name] = lambda t, v=fixed: v.copy()
    if edit_circuit is not None:
        edit_circuit(circuit)
    real_pad = witness_mod.pad

    def pad(values, col):
        out = real_pad(values, col)
        if padding and col.name in padding:
            full = np.asarray(padding[col.name], dtype=np.int64)
            real = tuple(slice(0, s) for s in col.shape)
            assert full.shape == out.shape and np.array_equal(out[real], full[real])
            out = full.copy()
        return out

    with mock.patch.object(witness_mod, "pad", pad):
        return circuit, (build_witness if strict else _unchecked_witness)(circuit, dict(columns),
                                                                         plan)


def recount_lookups(circuit: Circuit, plan: dict) -> None:
    """Make the prover count every table look-up's multiplicities from the committed ``src``
    (padding included) instead of taking the forward's counts: a forged trace changes what is
    looked up, and its look-ups must stay honest for the check under test to be the one that
    fails."""
    for rel in circuit.relations:
        if isinstance(rel, TableRel):
            col, size = circuit.trace[rel.src], circuit.tables[rel.table].shape[0]

            def count(t, rel=rel, col=col, size=size):
                index = np.zeros(col.padded_shape, dtype=np.int64)  # the padding looks up offset
                index[tuple(slice(0, k) for k in col.shape)] = np.asarray(t[rel.src])
                rows = index.ravel() + rel.offset
                return np.bincount(rows[(rows >= 0) & (rows < size)], minlength=size)

            plan[rel.mult] = count


def prove_forged(pk: ProvingKey, ids: npt.ArrayLike, columns: Mapping[str, np.ndarray],
                 output: npt.ArrayLike, *, prover_ids: npt.ArrayLike | None = None,
                 edit_circuit: Callable[[Circuit], None] | None = None,
                 advice: Mapping[str, np.ndarray] | None = None,
                 padding: Mapping[str, np.ndarray] | None = None, strict: bool = False) -> Proof:
    """:func:`zkinfer.prover.prove_trace` with doctored inputs, the schedule unchanged.

    Arguments:
        pk, ids, columns, output: the statement (``ids``, ``output``: what the proof and its
            transcript carry) and the trace to commit.
        prover_ids: the ids the prover's one-hot (embedding) matrix uses (default ``ids``).
        edit_circuit: edits the prover's circuit before the witness is built (the verifier
            builds its own from the verifying key).
        advice: advice columns the prover sets itself (:func:`forged_witness`).
        padding: committed values on the padding of some columns (:func:`forged_witness`).
        strict: as for ``prove_trace``.
    """
    ids = np.asarray(ids, dtype=np.int64)
    output = np.asarray(output, dtype=np.int64)
    circuit, witness = forged_witness(pk, ids, columns, output, edit_circuit=edit_circuit,
                                      advice=advice, padding=padding, strict=strict)
    transcript = statement_transcript(pk.vk, ids, output)
    # one part per segment; the committed columns become views into their parts
    trace_com, trace_data = engine.commit_segments(pk.pcs, engine.segment_parts(circuit), witness)
    transcript.append_bytes(b"trace-commitment", trace_com.to_bytes())
    seen = ids if prover_ids is None else np.asarray(prover_ids, dtype=np.int64)
    ctx = engine.prover_context(circuit, seen, transcript, tables=witness,
                                weights=pk.weight_tables, pcs=pk.pcs, trace=(trace_com, trace_data),
                                weight=(pk.weight_commitment, pk.weight_data))
    return Proof(pk.vk.digest, ids, output, trace_com.to_bytes(), engine.prove_circuit(ctx))


# ---------------------------------------------------------------------------------------------
# sumchecks of claimed (false) values


def _as_ext_table(t: npt.ArrayLike, size: int) -> U64:
    a = np.asarray(t, dtype=np.uint64)
    a = ext.from_base(a) if a.ndim == 1 else ext.as_ext(a)
    if a.shape[0] < size:  # zero beyond its length (the openings' W and F)
        a = np.concatenate([a, ext.zeros(size - a.shape[0])])
    return np.ascontiguousarray(a)


def _sum_expression(expr: Expression, work: U64) -> U64:
    """``sum_i P(work[:, i])`` for tables ``(k, N, 2)``."""
    total = ext.zeros(())
    for c, term in zip(expr.coeff_array(), expr.terms):
        prod = np.broadcast_to(c, work.shape[1:]).copy()
        for j in term:
            prod = ext.mul(prod, work[j])
        total = ext.add(total, ext.sum(prod, axis=0))
    return total


def reference_sumcheck(tables: Sequence[npt.ArrayLike], expr: Expression, transcript: Transcript,
                       *, claim: npt.ArrayLike | None = None, statement: Expression | None = None,
                       num_vars: int | None = None, adaptive: bool = False,
                       explain: int | None = None) -> SumcheckOutput:
    """The sumcheck prover's messages (numpy, small tables), proving ``claim``.

    Same arguments, transcript calls and output as :func:`zkinfer.sumcheck.prover.prove`
    (identical proofs for the true claim). With a false ``claim``:

    - ``adaptive=False``: round ``j`` is the honest polynomial plus the constant
      ``(claim_j - true_j) / 2``, so ``s_j(0) + s_j(1)`` is the running claim in every round and
      the end evaluations are the true ones: only the final check can notice;
    - ``adaptive=True``: the same, except the last round, which is
      ``s + (claim_n - true_n) (X - r) / (1 - 2 r)`` for the challenge ``r`` the transcript gives
      the *honest* last polynomial. Where round polynomials are absorbed before their challenge
      is drawn, ``r`` is not that round's challenge and the final check fails; where they are
      not absorbed, ``s(r)`` is the true value and the proof is accepted.

    ``explain``: for a product expression, replace the end evaluation of that table by the
    value that explains the final claim (what a prover who will lie about that table's
    opening sends).

    The rounds use :func:`zkinfer.sumcheck.common.round_challenge` as the library does.
    """
    first = np.asarray(tables[0])
    size = first.shape[0] if num_vars is None else 1 << num_vars
    work = np.stack([_as_ext_table(t, size) for t in tables])
    n = size.bit_length() - 1
    d = expr.degree
    true = _sum_expression(expr, work)
    cur = true if claim is None else ext.as_ext(np.asarray(claim, dtype=np.uint64).reshape(2))
    absorbed = cur
    common.begin(transcript, n, statement or expr, absorbed)
    rounds = np.zeros((n, d + 1, 2), dtype=np.uint64)
    point = np.zeros((n, 2), dtype=np.uint64)
    half = ext.from_base(np.uint64((gl.P + 1) // 2))
    for j in range(n):
        h = work.shape[1] // 2
        lo, hi = work[:, :h], work[:, h:]
        step = ext.sub(hi, lo)
        values = np.stack([_sum_expression(expr, ext.add(lo, ext.mul_base(step, np.uint64(x))))
                           for x in range(d + 1)])
        gap = ext.sub(cur, ext.add(values[0], values[1]))
        if adaptive and j == n - 1:
            # g(X) = (X - r) / (1 - 2 r): g(0) + g(1) = 1 and g(r) = 0
            r = common.round_challenge(transcript.fork(), values)
            scale = ext.mul(gap, ext.inv(ext.sub(ext.ones(()), ext.add(r, r))))
            xs = ext.from_base(np.arange(d + 1, dtype=np.uint64))
            values = ext.add(values, ext.mul(ext.sub(xs, r), scale))
        else:
            values = ext.add(values, ext.mul(gap, half))
        rounds[j] = values
        r = common.round_challenge(transcript, values)
        point[j] = r
        cur = np.asarray(interpolate_at(values, r), dtype=np.uint64)
        work = ext.add(lo, ext.mul(step, r))
    evaluations = np.ascontiguousarray(work[:, 0, :])
    if explain is not None:
        assert len(expr.terms) == 1 and expr.coeffs == ((1, 0),)
        others = ext.ones(())
        for j in expr.terms[0]:
            if j != explain:
                others = ext.mul(others, evaluations[j])
        assert expr.terms[0].count(explain) == 1
        evaluations[explain] = ext.mul(cur, ext.inv(others))
    return SumcheckOutput(SumcheckProof.from_rounds(rounds), absorbed, point, evaluations)


def claimed_total(commitment, data, claims, transcript: Transcript, begun=None
                  ) -> tuple[U64, U64]:
    """``(sum_i gamma^i v_i, sum_i gamma^i t_i)``: the combination of the claims as sent (values
    ``v_i``) and of their true values ``t_i`` (the committed parts' blocks evaluated), with
    ``gamma`` drawn (on a fork of ``transcript``) as
    :func:`~zkinfer.protocol.openings.prove_part_openings` draws it, or as ``begun`` (the
    opening's first step, already taken) drew it."""
    from zkinfer.protocol import openings

    if begun is not None:
        claims, g = begun.claims, begun.gamma
    else:
        claims = list(claims)
        fork = transcript.fork()
        openings._absorb_parts(fork, commitment.to_bytes(), claims)
        g = openings._gamma_powers(fork, len(claims))
    sent, true = ext.zeros(()), ext.zeros(())
    for gi, c in zip(g, claims):
        value = ext.zeros(())
        for part, offset, point, coeff in c.terms:
            block = np.zeros(1 << point.shape[0], dtype=np.uint64)
            have = np.asarray(data.part(part))[offset: offset + block.shape[0]]
            block[: have.shape[0]] = have
            value = ext.add(value, ext.mul(coeff, ml.evaluate(block, point)))
        sent = ext.add(sent, ext.mul(gi, c.value))
        true = ext.add(true, ext.mul(gi, value))
    return sent, true


_HALF = ext.from_base(np.uint64((gl.P + 1) // 2))


@contextmanager
def lying_part(gap: npt.ArrayLike, part: int = -1, open_false: bool = False,
               told: dict | None = None) -> Iterator[None]:
    """Within the block, :func:`~zkinfer.protocol.openings.prove_part_openings` (the library's
    own, once) proves part sums that add up to the true combination plus ``gap``: part
    ``part`` (default: the last) carries it.

    That part's prover state (``openings._Product``, one per part, made in part order) sends
    every round polynomial plus the constant ``gap_j / 2``, where ``gap_j`` is how far the
    running claim is from the true sum: ``s(0) + s(1)`` is the running claim in every round of
    its sumcheck and, scaled by ``alpha^part``, of the joint one; the gap halves with each
    round and never vanishes, and the tables fold by the real challenges. Its first round sends
    ``T_part`` = the true sum + ``gap``. The opened value ``F_part(r_part, r*)`` is the true
    one, so only the final check ``sum_s alpha^s W_s F_s`` can notice; ``open_false=True``
    sends the value that explains it instead (``F + gap_end / W``; the PCS must then open it).

    ``told``: filled with ``"part"`` (its index), ``"true"`` (its true sum ``T``), ``"sent"``
    (the ``T`` it sends) and ``"gap"`` (the gap left at the end).
    """
    from zkinfer.protocol import openings

    real = openings._Product
    gap0 = ext.as_ext(np.asarray(gap, dtype=np.uint64).reshape(2))
    made: list = []
    info = {} if told is None else told

    class Lying(real):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.gap = None  # honest until told which part it is

        def round(self) -> U64:
            values = super().round()
            if self.gap is None:
                return values
            if "sent" not in info:
                info["true"] = ext.add(values[0], values[1])
                info["sent"] = ext.add(info["true"], self.gap)
            return ext.add(values, np.broadcast_to(ext.mul(self.gap, _HALF), values.shape))

        def fold(self, r) -> None:
            super().fold(r)
            if self.gap is not None:  # s(r) = h(r) + gap / 2: the gap halves
                self.gap = ext.mul(self.gap, _HALF)
                info["gap"] = self.gap

        def values(self):
            w, f = super().values()
            if self.gap is not None and open_false:
                f = ext.add(f, ext.mul(self.gap, ext.inv(w)))
            return w, f

    def make(w, f, num_vars, *rest, **kwargs):
        st = Lying(w, f, num_vars, *rest, **kwargs)
        made.append(st)
        return st

    real_prove = openings.prove_part_openings

    def prove(pcs, commitment, data, claims, transcript, *args, **kwargs):
        made.clear()
        count = len(commitment.layout.num_vars)
        index = range(count)[part]
        info["part"] = index

        def make_one(w, f, num_vars, *rest, **kw):
            st = make(w, f, num_vars, *rest, **kw)
            if len(made) - 1 == index:
                st.gap = gap0
                info["gap"] = gap0
            return st

        with mock.patch.object(openings, "_Product", make_one):
            proof = real_prove(pcs, commitment, data, claims, transcript, *args, **kwargs)
        assert len(made) == count, "one prover state per part"
        return proof

    with mock.patch.object(openings, "prove_part_openings", prove):
        yield


def prove_part_openings(pcs, commitment, data, claims, transcript: Transcript, progress=None, *,
                        part: int = -1, open_false: bool = False, told: dict | None = None,
                        begun=None):
    """:func:`zkinfer.protocol.openings.prove_part_openings` proving the claims as sent
    (possibly false): part ``part``'s sum makes the part sums add up to their combination
    ``sum_i gamma^i v_i`` (:func:`lying_part`; the true one when the claims are)."""
    from zkinfer.protocol import openings

    sent, true = claimed_total(commitment, data, claims, transcript, begun)
    with lying_part(ext.sub(sent, true), part, open_false, told):
        return openings.prove_part_openings(pcs, commitment, data, claims, transcript,
                                            progress=progress, begun=begun)


@dataclasses.dataclass
class Lies:
    """Within ``with Lies(...)``, chosen sumchecks of the prover prove claimed values.

    Arguments:
        relations: output columns of relations (matmul, one-hot, contraction) whose product
            sumcheck proves the value sent for the output (committed, possibly false) instead of
            the true product; the end evaluations stay true.
        zerochecks: numbers of variables of identity groups whose zero-check claims 0 (the
            identities of a forged trace need not hold), in every segment that has such a
            group (where the identities hold, the lie is the truth).
        openings: ``"trace"`` / ``"weights"``: the opening of that commitment proves the
            combination ``sum_i gamma^i v_i`` of the claims as sent (possibly false): its part
            sums add up to it, the lie is carried by part ``opening_part`` (default: the last),
            whose sumcheck and the joint one stay consistent with it (:func:`lying_part`, in
            the library's own prover); the opened values are the true ones.
        adaptive: see :func:`reference_sumcheck` (relations and zero-checks only).
        open_false: the lying openings send the opened value of ``opening_part`` that explains
            their final check (then the PCS opening must prove that false value).
        opening_part: the part whose sum carries an opening's lie.

    Each chosen relation or zero-check sumcheck is the one right after the relation's output
    claim (or the group's claims) is absorbed: the prover calls nothing else in between.
    ``lied`` lists every sumcheck (or opening) proven here, ``openings_told`` what each lying
    opening's part sent (:func:`lying_part`'s ``told``).
    """

    relations: Sequence[str] = ()
    zerochecks: Sequence[int] = ()
    openings: Sequence[str] = ()
    adaptive: bool = False
    open_false: bool = False
    opening_part: int = -1
    lied: list = dataclasses.field(default_factory=list)
    openings_told: list = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self._armed: tuple[str, U64, int | None] | None = None
        self._opening = 0

    def _arm(self, what: str, claim: U64, explain: int | None = None) -> None:
        if self._armed is not None:  # pragma: no cover - a bug of the test
            raise AssertionError(f"{self._armed[0]} armed, never proven")
        self._armed = (what, np.asarray(claim, dtype=np.uint64), explain)

    def _prove(self, real):
        def prove(tables, expr, transcript, statement=None, num_vars=None):
            if self._armed is None:
                return real(tables, expr, transcript, statement=statement, num_vars=num_vars)
            what, claim, explain = self._armed
            self._armed = None
            self.lied.append(what)
            return reference_sumcheck(tables, expr, transcript, claim=claim, statement=statement,
                                      num_vars=num_vars, adaptive=self.adaptive, explain=explain)
        return prove

    def _prove_eq(self, real):
        # the zero-checks' prover (no eq table): when armed, the reference prover on the eq
        # table and the tables, as the generic prover would run it
        def prove_eq(tau, tables, expr, transcript, statement=None):
            if self._armed is None:
                return real(tau, tables, expr, transcript, statement=statement)
            from zkinfer.protocol.zerocheck import with_eq

            out = self._prove(None)([ml.eq_table(tau), *tables], with_eq(expr), transcript,
                                    statement=statement if statement is not None else with_eq(expr))
            return SumcheckOutput(out.proof, out.claim, out.point, out.evaluations[1:])
        return prove_eq

    def _output_claim(self, real):
        def output_claim(ctx, name):
            claim = real(ctx, name)
            if name in self.relations:
                rel = next(r for r in ctx.circuit.relations if getattr(r, "out", None) == name)
                value = claim.value
                if isinstance(rel, MatmulRel):  # the product is the value minus the bias
                    value = ext.sub(value, rel._bias(ctx.circuit, claim.point))
                self._arm(name, value)
            return claim
        return output_claim

    def _identities(self, real):
        def prove_identities(identities, columns, publics, num_vars, transcript):
            if num_vars in self.zerochecks:
                self._arm(f"identities over 2^{num_vars}", ext.zeros(()))
            return real(identities, columns, publics, num_vars, transcript)
        return prove_identities

    def _openings(self, real):
        def prove(pcs, commitment, data, claims, transcript, progress=None, begun=None):
            which = ("trace", "weights")[self._opening]
            self._opening += 1
            if which not in self.openings:
                return real(pcs, commitment, data, claims, transcript, progress=progress,
                            begun=begun)
            assert not self.adaptive, "adaptive lies are for relations and zero-checks"
            self.lied.append(f"{which} openings")
            told: dict = {}
            self.openings_told.append(told)
            return prove_part_openings(pcs, commitment, data, claims, transcript, progress,
                                       part=self.opening_part, open_false=self.open_false,
                                       told=told, begun=begun)
        return prove

    def __enter__(self) -> Lies:
        self._patches = [
            mock.patch.object(sumcheck_prover, "prove", self._prove(sumcheck_prover.prove)),
            mock.patch.object(sumcheck_prover, "prove_eq", self._prove_eq(sumcheck_prover.prove_eq)),
            mock.patch.object(ProverContext, "output_claim",
                              self._output_claim(ProverContext.output_claim)),
            mock.patch.object(engine, "prove_identities", self._identities(engine.prove_identities)),
            mock.patch.object(engine, "prove_part_openings",
                              self._openings(engine.prove_part_openings)),
        ]
        for p in self._patches:
            p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for p in reversed(self._patches):
            p.stop()


@contextmanager
def lookup_sees(circuit: Circuit, table: str, out_values: npt.ArrayLike) -> Iterator[None]:
    """Within the block, the LogUp of table relation ``table`` looks up ``(src, out_values)``
    instead of the committed ``(src, out)`` (``out_values``: integers of the real shape of
    ``out``): the look-up side is honest, the committed output column is not.

    It replaces the prover's pair kernel for that relation's call (the relations are visited in
    circuit order, one kernel call each)."""
    from zkinfer.protocol import _kernels as PK
    from zkinfer.protocol.witness import pad

    rels = [r for r in circuit.relations if isinstance(r, TableRel)]
    target = next(k for k, r in enumerate(rels) if r.name == table)
    col = circuit.trace[rels[target].out]
    values = gl.encode_signed(pad(out_values, col).reshape(-1))
    real, calls = PK.pair_column, []

    def pair_column(src, out, *rest):
        calls.append(len(calls))
        return real(src, values if len(calls) - 1 == target else out, *rest)

    with mock.patch.object(PK, "pair_column", pair_column):
        yield
    assert len(calls) == len(rels)


# ---------------------------------------------------------------------------------------------
# the verifier with its own circuit edited


def verify_with(vk: VerifyingKey, proof: Proof, edit_circuit: Callable[[Circuit], None]) -> None:
    """:func:`zkinfer.verify`'s steps for a proof object (no security floor: TrivialPCS keys),
    with the verifier's circuit edited by ``edit_circuit`` after it is built."""
    from zkinfer.commit import pcs_from_params

    pcs = pcs_from_params(vk.pcs_params)
    circuit = build_circuit(vk.model(), int(proof.ids.shape[0]), proof.output)
    edit_circuit(circuit)
    transcript = statement_transcript(vk, proof.ids, proof.output)
    transcript.append_bytes(b"trace-commitment", proof.trace_commitment)
    ctx = engine.verifier_context(circuit, proof.ids, transcript, pcs=pcs,
                                  trace=pcs.decode_commitment(proof.trace_commitment),
                                  weight=pcs.decode_commitment(vk.weight_commitment))
    engine.verify_circuit(ctx, proof.body)


# ---------------------------------------------------------------------------------------------
# steps of a proof


def step_names(circuit: Circuit) -> list[tuple[int | None, str]]:
    """``(segment, name)`` of every step of :func:`steps`, in schedule order: per segment its
    relations (by output column, a table relation by its name), ``"identities <n>"`` for its
    zero-check over ``2^n``, ``"range"``; then ``(None, "trace openings")`` and
    ``(None, "weights openings")``."""
    names = []
    for s in range(circuit.num_segments):
        names += [(s, r.label) for r in circuit.segment_relations(s)]
        names += [(s, f"identities {nv}") for nv in circuit.segment_identities(s)]
        names.append((s, "range"))
    return names + [(None, "trace openings"), (None, "weights openings")]


def step_index(circuit: Circuit, what: str, segment: int | None = None) -> int:
    """The index of a step in :func:`steps` (names: :func:`step_names`). A name several
    segments hold (``"identities <n>"``, ``"range"``) is that of ``segment``, by default the
    first segment holding it."""
    for k, (s, name) in enumerate(step_names(circuit)):
        if name == what and (segment is None or s == segment):
            return k
    raise ValueError(f"no step {what!r}" + ("" if segment is None else f" in segment {segment}"))


def steps(proof: Proof) -> list:
    """The proof's steps in schedule order (per segment its relations, zero-checks and range
    checks; then the two openings)."""
    return [step for _, step in proof.body.parts()]


def shape(proof: Proof) -> list[tuple[int, int]]:
    """``(relations, identities)``: how many steps of each kind every segment of ``proof`` has
    (its range checks are one step)."""
    return [(len(seg.relations), len(seg.identities)) for seg in proof.body.segments]


def with_steps(proof: Proof, new: Sequence[object],
               segments: Sequence[tuple[int, int]] | None = None) -> Proof:
    """``proof`` with its steps replaced by ``new`` (schedule order), cut into segments of
    ``segments`` (``(relations, identities)`` per segment, default :func:`shape` of
    ``proof``): each segment takes that many relation steps, zero-checks and one range step;
    the last two steps are the openings."""
    new = list(new)
    cut = shape(proof) if segments is None else list(segments)
    assert sum(r + i + 1 for r, i in cut) + 2 == len(new), "the steps do not fill the shape"
    built, pos = [], 0
    for r, i in cut:
        built.append(engine.SegmentProof(tuple(new[pos:pos + r]), tuple(new[pos + r:pos + r + i]),
                                         new[pos + r + i]))
        pos += r + i + 1
    body = engine.CircuitProof(tuple(built), *new[pos:])
    return dataclasses.replace(proof, body=body)


def replace_step(proof: Proof, index: int, step: object) -> Proof:
    """``proof`` with step ``index`` (of :func:`steps`) replaced."""
    new = steps(proof)
    new[index] = step
    return with_steps(proof, new)


def with_segments(proof: Proof, segments: Sequence[engine.SegmentProof]) -> Proof:
    """``proof`` with its segments replaced (the openings kept)."""
    body = dataclasses.replace(proof.body, segments=tuple(segments))
    return dataclasses.replace(proof, body=body)


# ---------------------------------------------------------------------------------------------
# what a forged witness breaks


def broken_identities(circuit: Circuit, witness: Mapping[str, U64]) -> list[str]:
    """The names of the identities ``witness`` breaks (views computed as the prover does)."""
    tables = dict(witness)
    for v in circuit.views.values():
        tables[v.name] = v.table(tables[v.base], circuit.trace[v.base].bits)
    out = []
    for nv, idents in sorted(circuit.identities.items()):
        out += [name for name, _ in debug_check(idents, tables, circuit.publics, nv)]
    return out


def out_of_range(circuit: Circuit, witness: Mapping[str, U64]) -> list[str]:
    """The bounds of range checks that ``witness`` breaks, as ``"col >= lo"`` / ``"col <= hi"``
    (the bound of ``0 <= scale col + offset < 2^bits`` that some entry of ``col`` crosses; on the
    padding the offset is gated off, as in the circuit)."""
    bad = []
    for r in circuit.ranges:
        col = circuit.col(r.col)
        real = np.zeros(col.padded_shape, dtype=np.int64)
        real[tuple(slice(0, s) for s in col.shape)] = 1
        u = r.scale * gl.decode_signed(witness[r.col]) + r.offset * real.reshape(-1)
        top = (1 << r.bits) - 1
        if r.scale == 1:  # col in [-offset, top - offset]
            low, high = f"{r.col} >= {-r.offset}", f"{r.col} <= {top - r.offset}"
        else:  # col in [offset - top, offset]
            low, high = f"{r.col} <= {r.offset}", f"{r.col} >= {r.offset - top}"
        if (u < 0).any():
            bad.append(low)
        if (u > top).any():
            bad.append(high)
    return bad
