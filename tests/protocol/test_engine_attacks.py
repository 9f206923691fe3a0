"""Every check of the relation schedule (:func:`zkinfer.protocol.engine.verify_circuit`) and of
the sub-protocols it runs (zero-checks and their public columns, openings, matmuls, the
embedding, range checks), each reached by a proof that passes all the checks before it and
rejected by that check alone.

The forged proofs come from :mod:`tests.cheating.engine`: the real prover's schedule run on one
doctored input (a trace of other tokens, the prover's own table or multipliers, a look-up of
other values than the committed ones, a sumcheck of a claimed value), so every later message is
consistent with the transcript and only the check under test can notice. Each test asserts the
exact ``check`` of the :class:`~zkinfer.errors.VerificationError` and a fragment of its
message: with that check disabled (``tools/mutation.py``) the forged proof is either accepted or
rejected elsewhere, and the test fails either way. Where the schedule never reaches a
sub-protocol's own check (the engine checks the same thing first, or builds the input itself),
the sub-protocol is called directly.

The attacks the checks stop: the output of other tokens claimed for the real ids (embedding);
any activation or exponent output, or the prover's own table (pair look-ups); a false attention
score (the batched-head contraction); a broken identity proven with a zero-check of the claimed
0, or with the prover's own multipliers; a false column sum refuted only by the trace opening.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import zkinfer
from tests.cheating import engine as ce
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.model.intmodel import ops
from zkinfer.model.ops import home
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.axis_sum import ValueStep
from zkinfer.protocol.model_circuit import build_circuit
from zkinfer.protocol.pairs import TableStep
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.sumcheck.common import SumcheckProof
from zkinfer.transcript import Transcript

IDS, OTHER_IDS = ce.IDS, ce.OTHER_IDS


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with ce.single_threaded():
        yield


@pytest.fixture(scope="module")
def mlp() -> ce.Honest:
    return ce.honest("mlp")


@pytest.fixture(scope="module")
def transformer() -> ce.Honest:
    return ce.honest("transformer")


def _rejected(h: ce.Honest, proof, check: str, match: str, ids=IDS) -> VerificationError:
    """Verify ``proof`` of ``ids`` (and its own output) and return the rejection, which must be
    a :class:`VerificationError` of exactly ``check`` whose message matches ``match``."""
    with pytest.raises(VerificationError, match=match) as err:
        zkinfer.verify(h.vk, ids, proof.output, proof, allow_insecure=True)
    assert err.value.check == check
    return err.value


def _value_step() -> ValueStep:
    return ValueStep(ext.zeros(()))


# ---------------------------------------------------------------------------------------------
# the toolkit itself: without doctoring it is the honest prover


def test_toolkit_without_doctoring_reproduces_the_honest_proof(mlp):
    # the real schedule, the reference sumcheck in every relation, zero-check and opening
    assert ce.prove_forged(mlp.pk, IDS, mlp.cols, mlp.output).to_bytes() == mlp.proof.to_bytes()
    relations = [r.out for r in mlp.circuit.relations if hasattr(r, "left") or hasattr(r, "ids_name")]
    with ce.Lies(relations=relations, zerochecks=sorted(mlp.circuit.identities),
                 openings=("trace", "weights")) as lies:
        again = ce.prove_forged(mlp.pk, IDS, mlp.cols, mlp.output)
    # every zero-check of every segment, and both openings (every part's sum told true)
    groups = sum(i for _, i in ce.shape(mlp.proof))
    assert groups == len(mlp.proof.body.identities) > len(mlp.circuit.identities)
    assert len(lies.lied) == len(relations) + groups + 2
    last = mlp.circuit.num_segments - 1
    assert [told["part"] for told in lies.openings_told] == [last, last]
    assert all(np.array_equal(told["true"], told["sent"]) for told in lies.openings_told)
    assert again.to_bytes() == mlp.proof.to_bytes()


# ---------------------------------------------------------------------------------------------
# the shape of the proof: step count and step types


def _grown(h: ce.Honest, segment: int, part: str) -> list[tuple[int, int]]:
    """The proof's shape with one more ``part`` step (relations or identities) in
    ``segment``."""
    cut = ce.shape(h.proof)
    r, i = cut[segment]
    cut[segment] = (r + 1, i) if part == "relations" else (r, i + 1)
    return cut


@pytest.mark.parametrize("segment", [0, 1])
def test_proof_with_an_extra_relation_step_rejected(mlp, segment):
    steps = ce.steps(mlp.proof)
    k = ce.step_index(mlp.circuit, mlp.circuit.segment_relations(segment)[0].label)
    forged = ce.with_steps(mlp.proof, steps[:k + 1] + steps[k:],
                           _grown(mlp, segment, "relations"))
    n = len(mlp.circuit.segment_relations(segment))
    _rejected(mlp, forged, "proof", re.escape(f"wrong number of relations steps in segment "
                                              f"{segment} (expected {n}, got {n + 1})"))


@pytest.mark.parametrize("segment", [0, 1])
def test_proof_with_an_extra_zerocheck_rejected(mlp, segment):
    steps = ce.steps(mlp.proof)
    k = ce.step_index(mlp.circuit, "range", segment)
    forged = ce.with_steps(mlp.proof, steps[:k] + steps[k - 1:],
                           _grown(mlp, segment, "identities"))
    n = len(mlp.circuit.segment_identities(segment))
    _rejected(mlp, forged, "proof", re.escape(f"wrong number of identities steps in segment "
                                              f"{segment} (expected {n}, got {n + 1})"))


@pytest.mark.parametrize(("where", "check", "message"), [
    ("emb.tok", "emb.tok", "expected a product proof"),  # a one-hot product
    ("layer0.ffn.up.acc", "layer0.ffn.up.acc", "expected a product proof"),  # a matmul
    ("pool.sum", "pool.sum", "expected a value"),  # a column sum
    ("identities 4", "identities (4 variables)", "expected a zero-check"),  # segment 0's
    ("identities 2", "identities (2 variables)", "expected a zero-check"),  # segment 1's only
    ("range", "range", "expected a range proof"),
    ("trace openings", "trace openings", "expected an opening proof"),
    ("weights openings", "weights openings", "expected an opening proof"),
])
def test_step_of_the_wrong_type_rejected(mlp, where, check, message):
    # a product where a value is due (and vice versa): the step decodes, but is not that step
    k = ce.step_index(mlp.circuit, where)
    wrong = ce.steps(mlp.proof)[0] if where == "pool.sum" else _value_step()
    _rejected(mlp, ce.replace_step(mlp.proof, k, wrong), check, message)


def test_table_step_of_the_wrong_type_rejected(mlp):
    k = ce.step_index(mlp.circuit, "layer0.ffn.act")
    _rejected(mlp, ce.replace_step(mlp.proof, k, ce.steps(mlp.proof)[0]), "layer0.ffn.act",
              "expected a look-up proof")


def test_contraction_step_of_the_wrong_type_rejected(transformer):
    k = ce.step_index(transformer.circuit, "layer0.attn.scores")
    _rejected(transformer, ce.replace_step(transformer.proof, k, _value_step()),
              "layer0.attn.scores", "expected a product proof")


def test_relation_unknown_to_the_verifier_rejected_not_skipped(mlp):
    # a verifier whose circuit holds a relation kind it cannot check must reject, not skip it
    # (the proof carries one step for it, so skipping it would accept)
    @dataclasses.dataclass(frozen=True)
    class FutureRel:
        out: str = "emb.tok"

    def add_unknown(circuit) -> None:
        circuit.relations.insert(0, FutureRel())

    forged = ce.with_steps(mlp.proof, [_value_step()] + ce.steps(mlp.proof),
                           _grown(mlp, 0, "relations"))
    with pytest.raises(VerificationError, match="unknown relation FutureRel") as err:
        ce.verify_with(mlp.vk, forged, add_unknown)
    assert err.value.check == "proof"


# ---------------------------------------------------------------------------------------------
# segments: each proven on its own transcript, each checked against its own part of the circuit


@pytest.fixture(scope="module")
def deep() -> ce.Honest:
    return ce.honest("deep")


def _count_error(part: str, segment: int, expected: int, got: int) -> str:
    return re.escape(f"wrong number of {part} steps in segment {segment} (expected {expected}, "
                     f"got {got})")


@pytest.mark.parametrize("change", [-1, 1], ids=["fewer", "more"])
def test_proof_with_another_number_of_segments_rejected(mlp, change):
    segs = mlp.proof.body.segments
    n = mlp.circuit.num_segments
    assert len(segs) == n >= 2
    forged = ce.with_segments(mlp.proof, segs[:-1] if change < 0 else segs + segs[-1:])
    _rejected(mlp, forged, "proof",
              re.escape(f"wrong number of segments (expected {n}, got {n + change})"))


def test_segments_swapped_rejected(mlp):
    # the first two segments' proofs exchanged: segment 0 holds segment 1's steps
    segs = mlp.proof.body.segments
    forged = ce.with_segments(mlp.proof, (segs[1], segs[0]) + segs[2:])
    n0, n1 = (len(mlp.circuit.segment_relations(s)) for s in (0, 1))
    assert n0 != n1
    _rejected(mlp, forged, "proof", _count_error("relations", 0, n0, n1))


def _same_shape(h: ce.Honest) -> tuple[int, int]:
    """Two consecutive segments whose proofs have the same shape (step kinds, counts, sizes:
    two middle blocks)."""
    cut = ce.shape(h.proof)
    a = next(s for s in range(1, len(cut) - 1) if cut[s] == cut[s + 1])
    rels = [h.circuit.segment_relations(s) for s in (a, a + 1)]
    assert [type(r) for r in rels[0]] == [type(r) for r in rels[1]]
    return a, a + 1


def test_segments_of_the_same_shape_swapped_rejected(deep):
    # two segments of the same shape (two middle blocks): the swapped proof passes every count
    # and type check, and the first segment's first relation (a matrix product), on its own
    # transcript and claims, gets the rounds of the second's: its final claim is not explained
    a, b = _same_shape(deep)
    segs = list(deep.proof.body.segments)
    segs[a], segs[b] = segs[b], segs[a]
    first = deep.circuit.segment_relations(a)[0]
    _rejected(deep, ce.with_segments(deep.proof, segs), f"matmul {first.out}",
              r"final evaluation P\(f\(r\)\) does not match")


def test_range_proof_moved_to_another_segment_rejected(deep):
    # a segment carries the range proof of another segment of the same shape (a range proof of
    # the right kind and size): its LogUp is checked against this segment's limbs and
    # multiplicities, on its transcript: the first layer below the roots ends on end values
    # that its sumcheck's last claim does not match
    a, b = _same_shape(deep)
    segs = list(deep.proof.body.segments)
    segs[a] = dataclasses.replace(segs[a], ranges=segs[b].ranges)
    _rejected(deep, ce.with_segments(deep.proof, segs), "range layer 1",
              "end values do not match the last round")


def test_relation_step_moved_to_another_segment_rejected(mlp):
    # segment 0's last relation step moved to the front of segment 1: the proof's relation
    # steps in schedule order are unchanged, only their segments moved
    segs = mlp.proof.body.segments
    moved = (dataclasses.replace(segs[0], relations=segs[0].relations[:-1]),
             dataclasses.replace(segs[1], relations=segs[0].relations[-1:] + segs[1].relations))
    forged = ce.with_segments(mlp.proof, moved + segs[2:])
    assert len(forged.body.relations) == len(mlp.proof.body.relations)
    assert all(a is b for a, b in zip(forged.body.relations, mlp.proof.body.relations))
    n = len(mlp.circuit.segment_relations(0))
    _rejected(mlp, forged, "proof", _count_error("relations", 0, n, n - 1))


def test_zerocheck_moved_to_another_segment_of_the_same_shape_rejected(deep):
    # two middle blocks have zero-checks over the same sizes: the second's first one in the
    # first. Both claim 0; its challenges are the first block's, and the final check fails
    a, b = _same_shape(deep)
    segs = list(deep.proof.body.segments)
    segs[a] = dataclasses.replace(segs[a], identities=segs[b].identities[:1] + segs[a].identities[1:])
    nv = min(deep.circuit.segment_identities(a))
    assert nv == min(deep.circuit.segment_identities(b))
    _rejected(deep, ce.with_segments(deep.proof, segs), f"identities ({nv} variables)",
              r"final evaluation eq\(tau, r\) E\(f\(r\)\) does not match")


# ---------------------------------------------------------------------------------------------
# the openings of commitments of parts: part sums, per-part sumchecks, the joint sumcheck


#: The openings' final check (the part sumchecks and the joint one end there).
FINAL_SUM = r"final evaluation sum_s alpha\^s W_s F_s does not match"

_OPENINGS = {"trace": "trace_opening", "weights": "weight_opening"}


def _opening(proof, which: str = "trace"):
    return getattr(proof.body, _OPENINGS[which])


def _with_opening(proof, which: str = "trace", **fields):
    """``proof`` with fields of one opening (``"trace"`` or ``"weights"``) replaced."""
    name = _OPENINGS[which]
    step = dataclasses.replace(getattr(proof.body, name), **fields)
    return dataclasses.replace(proof, body=dataclasses.replace(proof.body, **{name: step}))


def _one() -> np.ndarray:
    return ext.ones(())


@pytest.mark.parametrize("which", ["trace", "weights"])
def test_part_sum_changed_rejected(mlp, which):
    totals = _opening(mlp.proof, which).totals.copy()
    assert totals.shape == (mlp.circuit.num_segments, 2)
    totals[-1] = ext.add(totals[-1], _one())
    _rejected(mlp, _with_opening(mlp.proof, which, totals=totals), f"{which} openings",
              "the parts' sums do not add up to the claims")


@pytest.mark.parametrize("which", ["trace", "weights"])
def test_part_sum_changed_with_another_compensating_rejected(mlp, which):
    # T_0 + 1 and T_last - 1: the sums still add up to the claims; both parts' sumchecks start
    # from a changed sum, which reaches the final weighted sum
    totals = _opening(mlp.proof, which).totals.copy()
    totals[0] = ext.add(totals[0], _one())
    totals[-1] = ext.sub(totals[-1], _one())
    _rejected(mlp, _with_opening(mlp.proof, which, totals=totals), f"{which} openings",
              FINAL_SUM)


def test_part_sumcheck_round_changed_rejected(mlp):
    # s(2) of the last part's first round (message value 1): the challenge and s(r) move
    step = _opening(mlp.proof)
    last = len(step.parts) - 1
    msgs = step.parts[last].messages.copy()
    assert msgs.shape[0] >= 2
    msgs[0, 1] = ext.add(msgs[0, 1], _one())
    parts = step.parts[:last] + (SumcheckProof(msgs),)
    _rejected(mlp, _with_opening(mlp.proof, parts=parts), "trace openings", FINAL_SUM)


def test_part_sumcheck_of_another_part_rejected(deep):
    # the sumchecks of two parts of the same shape exchanged (totals kept): the first part runs
    # the other's rounds
    a, b = _same_shape(deep)
    parts = list(_opening(deep.proof).parts)
    assert parts[a].messages.shape == parts[b].messages.shape
    parts[a], parts[b] = parts[b], parts[a]
    _rejected(deep, _with_opening(deep.proof, parts=tuple(parts)), "trace openings", FINAL_SUM)


def test_joint_sumcheck_with_a_round_too_many_rejected(mlp):
    # TrivialPCS opens any point: the parts share no coordinate and the joint sumcheck has no
    # rounds
    step = _opening(mlp.proof)
    assert step.joint.messages.shape[0] == 0
    extra = SumcheckProof(step.parts[0].messages[:1])
    _rejected(mlp, _with_opening(mlp.proof, joint=extra), "trace openings",
              re.escape("wrong number of rounds (expected 0, got 1)"))


@pytest.mark.parametrize("which", ["trace", "weights"])
@pytest.mark.parametrize("part", [0, -1], ids=["first", "last"])
def test_opened_value_changed_rejected(mlp, which, part):
    values = _opening(mlp.proof, which).values.copy()
    values[part] = ext.add(values[part], _one())
    _rejected(mlp, _with_opening(mlp.proof, which, values=values), f"{which} openings",
              FINAL_SUM)


@pytest.fixture(scope="module")
def mlp_ligero(mlp):
    """The MLP with the default Ligero keys: the parts share their column coordinates, which the
    joint sumcheck binds."""
    vk, pk = zkinfer.setup(mlp.model, None)
    proof = zkinfer.prove(pk, IDS)
    assert zkinfer.verify(vk, IDS, proof.output, proof)
    return vk, proof


def _ligero_rejected(vk, proof, check: str, match: str) -> VerificationError:
    with pytest.raises(VerificationError, match=match) as err:
        zkinfer.verify(vk, IDS, proof.output, proof)
    assert err.value.check == check
    return err.value


def test_joint_sumcheck_round_changed_rejected(mlp_ligero):
    # the trace's parts share their last log C coordinates (the column coordinates of the Ligero
    # matrix; the tiny weight parts are one column wide and share none): s(2) of the joint
    # sumcheck's first round (message value 1); the challenge and s(r) move
    vk, proof = mlp_ligero
    msgs = _opening(proof).joint.messages.copy()
    assert msgs.shape[0] >= 2
    msgs[0, 1] = ext.add(msgs[0, 1], _one())
    _ligero_rejected(vk, _with_opening(proof, joint=SumcheckProof(msgs)), "trace openings",
                     FINAL_SUM)


def test_joint_sumcheck_last_round_changed_rejected(mlp_ligero):
    # the last round's s(2): only the final check sum_s alpha^s W_s F_s can notice
    vk, proof = mlp_ligero
    msgs = _opening(proof).joint.messages.copy()
    msgs[-1, 1] = ext.add(msgs[-1, 1], _one())
    _ligero_rejected(vk, _with_opening(proof, joint=SumcheckProof(msgs)), "trace openings",
                     FINAL_SUM)


def test_opened_value_changed_with_ligero_rejected(mlp_ligero):
    vk, proof = mlp_ligero
    values = _opening(proof).values.copy()
    values[-1] = ext.add(values[-1], _one())
    _ligero_rejected(vk, _with_opening(proof, values=values), "trace openings",
                     FINAL_SUM)


def test_false_part_sum_carried_to_the_opened_value_rejected_by_the_pcs(mlp):
    # the forged pooled sum again, its opening proven for the claims as sent and the opened
    # value of the last part chosen to explain the final check: the only false message left is
    # that value, which the PCS opening (TrivialPCS: the vectors themselves) refutes
    cols = _forged_pool_sum(mlp)
    with ce.Lies(openings=["trace"], open_false=True):
        forged = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"])
    last = mlp.circuit.num_segments - 1
    _rejected(mlp, forged, "trivial pcs", f"claim {last}: wrong evaluation")


# ---------------------------------------------------------------------------------------------
# the embedding: the one-hot rows are the public token ids


def test_trace_of_other_tokens_claimed_for_the_real_ids_rejected(mlp):
    # the honest trace (and output) of IDS, claimed for OTHER_IDS: the prover's one-hot matrix
    # is that of IDS, so the product sumcheck holds and only the one-hot claim differs from the
    # verifier's own evaluation at the public OTHER_IDS
    forged = ce.prove_forged(mlp.pk, OTHER_IDS, mlp.cols, mlp.output, prover_ids=IDS)
    _rejected(mlp, forged, "embedding emb.tok", "looked-up rows are not the public token ids",
              ids=OTHER_IDS)


# ---------------------------------------------------------------------------------------------
# pair look-ups: the looked-up pairs are the committed columns, the table is the public one


def _wrong_activation(h: ce.Honest) -> dict:
    """The trace with one activation output replaced by another row's table value (every later
    column recomputed from it)."""
    op = next(op for op in ops(h.model) if op.name == "layer0.ffn.act")
    i, j = 1, 2
    u = int(h.cols[op.src][i, j]) + (1 << (op.in_bits - 1))
    wrong = next(int(v) for v in op.table[::-1] if int(v) != int(op.table[u]))

    def edit(cols) -> None:
        cols["layer0.ffn.act.out"][i, j] = wrong

    return ce.forward_with(h.model, IDS, {"layer0.ffn.act": edit})


def test_lookup_of_other_values_than_the_committed_output_rejected(mlp):
    # the committed activation output is wrong at one entry, the LogUp looks up the true one:
    # the look-up holds, the sent evaluations are the committed columns' (they open), and only
    # the tie f(r) = src(r) + offset + beta out(r) breaks
    cols = _wrong_activation(mlp)
    assert not np.array_equal(cols["pool.mean"], mlp.output)
    circuit = build_circuit(mlp.model, IDS.shape[0], cols["pool.mean"])
    with ce.lookup_sees(circuit, "layer0.ffn.act", mlp.cols["layer0.ffn.act.out"]):
        forged = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"])
    _rejected(mlp, forged, "table layer0.ffn.act", "looked-up pairs do not match the columns")


def test_lookup_in_the_provers_own_table_rejected(mlp):
    # the prover changes one row of the activation table (not the padding row) and proves the
    # trace of the changed table: its LogUp is consistent, only t(r) differs from the public
    # table's evaluation
    op = next(op for op in ops(mlp.model) if op.name == "layer0.ffn.act")
    half = 1 << (op.in_bits - 1)
    u = int(mlp.cols[op.src][2, 1]) + half
    assert u != half  # the padded entries look up row `half`, which stays honest
    table = np.array(op.table, dtype=np.int64)
    table[u] += 1

    def edit(cols) -> None:
        cols["layer0.ffn.act.out"] = table[cols[op.src] + half]

    def own_table(circuit) -> None:
        t = circuit.tables[op.name].copy()
        t[u] = gl.encode_signed(np.array(table[u]))
        circuit.tables[op.name] = t

    cols = ce.forward_with(mlp.model, IDS, {op.name: edit})
    assert not np.array_equal(cols["pool.mean"], mlp.output)
    forged = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"], edit_circuit=own_table)
    _rejected(mlp, forged, "table layer0.ffn.act", "table evaluation is wrong")


def test_lookup_with_three_evaluations_rejected(mlp):
    k = ce.step_index(mlp.circuit, "layer0.ffn.act")
    step = ce.steps(mlp.proof)[k]
    extra = TableStep(step.lookup, np.concatenate([step.evals, step.evals[:1]]))
    _rejected(mlp, ce.replace_step(mlp.proof, k, extra), "table layer0.ffn.act",
              "expected two evaluations")


# ---------------------------------------------------------------------------------------------
# batched-head contractions (attention scores)


def test_attention_score_not_the_product_of_q_and_k_rejected(transformer):
    # one score changed (softmax, context and everything after recomputed from it); the
    # contraction's sumcheck proves the committed (false) score: every round holds, the end
    # evaluations q(.) and k(.) are the true ones, and only the final check
    # s_last(r) = eq(r_h, s_h) q(.) k(.) breaks
    def edit(cols) -> None:
        cols["layer0.attn.scores"][1, 2, 0] += 3
        ce.rescore(transformer.model, "layer0.attn", cols)

    cols = ce.forward_with(transformer.model, IDS, {"layer0.attn": edit})
    with ce.Lies(relations=["layer0.attn.scores"]) as lies:
        forged = ce.prove_forged(transformer.pk, IDS, cols, cols["pool.mean"])
    assert lies.lied == ["layer0.attn.scores"]
    _rejected(transformer, forged, "product layer0.attn.scores", "final evaluation does not match")


# ---------------------------------------------------------------------------------------------
# zero-checks and openings reached by a sumcheck of a claimed value


def test_identity_broken_with_a_zerocheck_of_the_claimed_zero_rejected(mlp):
    # one requantized output changed by one (the rest recomputed from it): the advice
    # below = out - q becomes 1 and the clamp identity below (out - lo) = 0 breaks; the
    # zero-check's rounds are made consistent with the claimed sum 0 and its end evaluations are
    # the true ones, so only its final check can notice
    def edit(cols) -> None:
        cols["layer0.ffn.up.out"][0, 1] += 1

    cols = ce.forward_with(mlp.model, IDS, {"layer0.ffn.up": edit})
    circuit, witness = ce.forged_witness(mlp.pk, IDS, cols, cols["pool.mean"])
    assert ce.broken_identities(circuit, witness) == ["layer0.ffn.up clamp low"]
    nv = circuit.trace["layer0.ffn.up.out"].num_vars
    with ce.Lies(zerochecks=[nv]):
        forged = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"])
    _rejected(mlp, forged, f"identities ({nv} variables)",
              r"final evaluation eq\(tau, r\) E\(f\(r\)\) does not match")


def test_zerocheck_with_an_extra_evaluation_rejected(mlp):
    k = ce.step_index(mlp.circuit, "identities 4")
    step = ce.steps(mlp.proof)[k]
    extra = ZerocheckProof(step.sumcheck, np.concatenate([step.evaluations, step.evaluations[:1]]))
    _rejected(mlp, ce.replace_step(mlp.proof, k, extra), "identities (4 variables)",
              "wrong number of evaluations")


def test_public_column_of_the_provers_own_multipliers_rejected(mlp):
    # the prover requantizes with its own multiplier for one channel and proves the identities
    # with that public column: the zero-check holds for the values it sends, and only the
    # verifier's own evaluation of the public column disagrees
    up = mlp.model.layers[0].ffn.up
    m = up.rq.m.copy()
    m[0] += 50
    rq = dataclasses.replace(up.rq, m=m)
    op = next(op for op in ops(mlp.model) if op.name == "layer0.ffn.up")
    op = dataclasses.replace(op, lin=dataclasses.replace(up, rq=rq))

    def edit(cols) -> None:
        cols.update(home(op).reference(op, mlp.model, IDS, cols))

    def own_multipliers(circuit) -> None:
        name = "layer0.ffn.up.m"
        circuit.broadcast(name, m, circuit.trace["layer0.ffn.up.acc"].bits[1])

    cols = ce.forward_with(mlp.model, IDS, {"layer0.ffn.up": edit})
    assert not np.array_equal(cols["layer0.ffn.up.q"], mlp.cols["layer0.ffn.up.q"])
    forged = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"], edit_circuit=own_multipliers)
    nv = mlp.circuit.trace["layer0.ffn.up.acc"].num_vars
    _rejected(mlp, forged, f"identities ({nv} variables)",
              "public column 'layer0.ffn.up.m' evaluation is wrong")


def _forged_pool_sum(h: ce.Honest) -> dict:
    """pool.sum + 1 (mean and remainder recomputed, so the pooling identity holds): a forged
    output whose only false claim is the column sum's claim on the summed column."""
    shift = h.model.pool_shift

    def edit(cols) -> None:
        s = cols["pool.sum"]
        s[0] += 1
        num = s << np.int64(shift)
        cols["pool.mean"] = num // IDS.shape[0]
        cols["pool.rem"] = num - cols["pool.mean"] * IDS.shape[0]

    cols = ce.forward_with(h.model, IDS, {"pool": edit})
    assert not np.array_equal(cols["pool.mean"], h.output)
    return cols


def test_pooled_sum_not_the_column_sum_rejected_by_the_openings(mlp):
    # a forged output: the column-sum relation claims a false value of the summed column
    # (the last segment's), which only the trace opening can refute. The opening proves the
    # claims as sent: the last part's sum makes the sums add up to them, its sumcheck and the
    # joint one keep every round consistent with the false running claim, and the opened
    # values F_s(r_s, r*) are the true ones: only the final check sum_s alpha^s W_s F_s breaks
    cols = _forged_pool_sum(mlp)
    with ce.Lies(openings=["trace"]) as lies:
        forged = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"])
    (told,) = lies.openings_told
    last = mlp.circuit.num_segments - 1
    assert told["part"] == last and not np.array_equal(told["sent"], told["true"])
    assert forged.body.trace_opening.totals[last].tolist() == told["sent"].tolist()
    _rejected(mlp, forged, "trace openings",
              FINAL_SUM)


# ---------------------------------------------------------------------------------------------
# the sub-protocols' own checks, where the schedule never reaches them (the engine checks the
# same thing first, or builds the input itself): called directly, each check alone rejects


D = b"tests/engine-attacks"


def test_matmul_verified_at_a_point_of_the_wrong_size_rejected():
    from zkinfer.protocol.matmul import prove_matmul, verify_matmul

    rng = np.random.default_rng(1)
    a, b = gl.random((4, 8), rng), gl.random((8, 2), rng)
    point = ext.random(3, rng)
    proof, _ = prove_matmul(a, b, point, Transcript(D))
    value = ml.evaluate(_field_matmul(a, b).reshape(-1), point)
    longer = np.concatenate([point, ext.random(1, rng)])
    with pytest.raises(VerificationError, match="point has the wrong number of variables") as err:
        verify_matmul((4, 8, 2), longer, value, proof, Transcript(D))
    assert err.value.check == "matmul"


def _field_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` over ``F_p`` (small matrices)."""
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.uint64)
    for k in range(a.shape[1]):
        out = gl.add(out, gl.mul(a[:, k:k + 1], b[k:k + 1, :]))
    return out


def test_embedding_of_other_rows_than_the_public_ids_rejected():
    # the prover's one-hot matrix is that of other ids and the claimed value is its product:
    # the sumcheck holds, the one-hot claim is not the public ids' one-hot matrix
    from zkinfer.protocol.embedding import prove_embedding, verify_embedding

    rng = np.random.default_rng(2)
    table = gl.random((16, 4), rng)
    ids, other = np.array([3, 1, 4]), np.array([3, 1, 5])
    point = ext.random(2 + 2, rng)
    rows = np.zeros((4, 4), dtype=np.uint64)
    rows[:3] = table[other]
    proof, _ = prove_embedding(other, table, 4, point, Transcript(D))
    with pytest.raises(VerificationError, match="looked-up rows are not the public token ids") as err:
        verify_embedding(ids, (4, 16, 4), point, ml.evaluate(rows.reshape(-1), point), proof,
                         Transcript(D))
    assert err.value.check == "embedding"


def _range_instance():
    from zkinfer.lookup.range import range_multiplicities
    from zkinfer.protocol.range import prove_ranges

    rng = np.random.default_rng(4)
    cols = {3: [rng.integers(0, 8, 8).astype(np.uint64)], 5: [rng.integers(0, 32, 4).astype(np.uint64)]}
    mults = {w: range_multiplicities(c, w) for w, c in cols.items()}
    proof, _ = prove_ranges(cols, mults, Transcript(D))
    return {w: [c.shape[0] for c in cs] for w, cs in cols.items()}, proof


def test_range_proof_of_another_kind_rejected():
    from zkinfer.protocol.range import verify_ranges

    sizes, proof = _range_instance()
    with pytest.raises(VerificationError, match="expected a range proof") as err:
        verify_ranges(sizes, proof.fractions, Transcript(D))
    assert err.value.check == "range"


def test_range_values_that_are_not_field_elements_rejected():
    from zkinfer.lookup.range import RangeProof
    from zkinfer.protocol.range import verify_ranges

    sizes, proof = _range_instance()
    evals = proof.evals.copy()
    evals[1, 0] = np.uint64(gl.P)  # not canonical: a decoder never yields it, an object can
    with pytest.raises(VerificationError, match="one value per table and per column: ") as err:
        verify_ranges(sizes, RangeProof(proof.fractions, evals), Transcript(D))
    assert err.value.check == "range"
