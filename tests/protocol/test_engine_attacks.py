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

import numpy as np
import pytest

import zkinfer
from tests.cheating import engine as ce
from zkinfer.commit import OpeningClaim
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
    assert len(lies.lied) == len(relations) + len(mlp.circuit.identities) + 2
    assert again.to_bytes() == mlp.proof.to_bytes()


# ---------------------------------------------------------------------------------------------
# the shape of the proof: step count and step types


def test_proof_with_an_extra_relation_step_rejected(mlp):
    steps = ce.steps(mlp.proof)
    forged = ce.with_steps(mlp.proof, steps[:1] + steps, relations=len(mlp.circuit.relations) + 1)
    _rejected(mlp, forged, "proof", "wrong number of relations steps")


def test_proof_with_an_extra_zerocheck_rejected(mlp):
    steps = ce.steps(mlp.proof)
    k = ce.step_index(mlp.circuit, "range")
    forged = ce.with_steps(mlp.proof, steps[:k] + steps[k - 1:])
    _rejected(mlp, forged, "proof", "wrong number of identities steps")


@pytest.mark.parametrize(("where", "check", "message"), [
    ("emb.tok", "emb.tok", "expected a product proof"),  # a one-hot product
    ("layer0.ffn.up.acc", "layer0.ffn.up.acc", "expected a product proof"),  # a matmul
    ("pool.sum", "pool.sum", "expected a value"),  # a column sum
    ("identities 4", "identities (4 variables)", "expected a zero-check"),
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
                           relations=len(mlp.circuit.relations) + 1)
    with pytest.raises(VerificationError, match="unknown relation FutureRel") as err:
        ce.verify_with(mlp.vk, forged, add_unknown)
    assert err.value.check == "proof"


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


def test_pooled_sum_not_the_column_sum_rejected_by_the_openings(mlp):
    # a forged output: pool.sum + 1 (mean and remainder recomputed, so the pooling identity
    # holds); the column-sum relation then claims a false value of the summed column, which
    # only the trace opening can refute. Its batching sumcheck proves the claims as sent and
    # F(r*) is the true value: only the final check W(r*) F(r*) breaks
    shift = mlp.model.pool_shift

    def edit(cols) -> None:
        s = cols["pool.sum"]
        s[0] += 1
        num = s << np.int64(shift)
        cols["pool.mean"] = num // IDS.shape[0]
        cols["pool.rem"] = num - cols["pool.mean"] * IDS.shape[0]

    cols = ce.forward_with(mlp.model, IDS, {"pool": edit})
    assert not np.array_equal(cols["pool.mean"], mlp.output)
    with ce.Lies(openings=["trace"]):
        forged = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"])
    _rejected(mlp, forged, "trace openings", r"final evaluation W\(r\*\) F\(r\*\) does not match")


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


@pytest.mark.parametrize(("claim", "message"), [
    (lambda c: OpeningClaim(c.poly, c.point[:-1], c.value), r"malformed claim: claim point of shape"),
    (lambda c: OpeningClaim(7, c.point, c.value), r"malformed claim: claim on polynomial 7"),
])
def test_opening_claim_of_the_wrong_shape_rejected(claim, message):
    from zkinfer.commit import TrivialPCS
    from zkinfer.protocol.openings import prove_openings, verify_openings

    rng = np.random.default_rng(3)
    polys = [gl.random(1 << 4, rng), gl.random(1 << 2, rng)]
    pcs = TrivialPCS()
    com, data = pcs.commit(polys)
    claims = [OpeningClaim(k, ext.random(n, rng), None) for k, n in ((0, 4), (1, 2))]
    claims = [OpeningClaim(c.poly, c.point, ml.evaluate(polys[c.poly], c.point)) for c in claims]
    proof = prove_openings(pcs, com, data, claims, Transcript(D))
    claims[1] = claim(claims[1])
    with pytest.raises(VerificationError, match=message) as err:
        verify_openings(pcs, com, claims, proof, Transcript(D))
    assert err.value.check == "openings"


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
        verify_ranges(sizes, proof.trees[0], Transcript(D))
    assert err.value.check == "range"


def test_range_values_that_are_not_field_elements_rejected():
    from zkinfer.lookup.range import RangeProof
    from zkinfer.protocol.range import verify_ranges

    sizes, proof = _range_instance()
    evals = proof.evals.copy()
    evals[1, 0] = np.uint64(gl.P)  # not canonical: a decoder never yields it, an object can
    with pytest.raises(VerificationError, match="one value per table and per column: ") as err:
        verify_ranges(sizes, RangeProof(proof.trees, evals), Transcript(D))
    assert err.value.check == "range"
