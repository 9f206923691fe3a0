"""Soundness of inference proofs: one test per attack, each asserting the exact rejection.

A cheating prover here controls everything the real prover computes: it may run
:func:`zkinfer.prover.prove_trace` on any trace (``strict=False`` commits values outside their
range checks), prove with weights other than the committed ones, and edit, swap, replay or
truncate the proof's steps and bytes. The attacks:

- the public output changed by one (against an honest proof, and proven by a cheating prover);
- one activation changed (the rest of the trace recomputed from it, so it looks consistent);
- one value of any committed trace column changed;
- one weight changed after setup (prove with other weights, with or without recommitting them);
- another model's verifying key; a different input;
- a requantization rounded the other way; a clamp skipped; a table look-up with a wrong value;
- swapped, replayed, dropped or extra round messages; a truncated proof; trailing bytes;
- every single-byte change of a small proof and of a verifying key (a deterministic sample that
  covers every section, plus hypothesis over the positions).

Every one must raise :class:`~zkinfer.errors.VerificationError` or
:class:`~zkinfer.errors.ProofFormatError`, never accept and never raise anything else. Each
attack with a determined outcome asserts the exact exception, the check that rejects it (the
``check`` field) and a fragment of the message, as found by running it; only the fuzz tests
(a random byte changed) accept either exception, since which decoder or check notices a random
byte is not determined.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkinfer
from tests.cheating import engine as ce
from tests.cheating import statement as cs
from tests.conftest import examples
from zkinfer.commit import TrivialPCS
from zkinfer.errors import ModelError, ProofFormatError, VerificationError
from zkinfer.lookup.range import RangeProof
from zkinfer.model.config import TransformerConfig
from zkinfer.model.forward import forward
from zkinfer.model.intmodel import OpLinear, OpPool, OpTable, declare_widths, ops
from zkinfer.models import random_transformer
from zkinfer.proof import Proof, VerifyingKey
from zkinfer.protocol.matmul import ProductStep
from zkinfer.protocol.model_circuit import build_circuit
from zkinfer.protocol.openings import JointOpeningsProof
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.testing import prove_trace

CFG = TransformerConfig(n_layers=2, d_model=8, n_heads=1, d_ff=12, max_seq_len=8, vocab_size=32,
                        block="mlp")
IDS = np.array([3, 1, 4, 1, 5], dtype=np.int64)
OTHER_IDS = np.array([2, 7, 1, 8, 2], dtype=np.int64)
#: What a random byte change may raise (the fuzz tests only).
REJECTED = (VerificationError, ProofFormatError)

# Where a value outside its range check is caught: a wide value's 16-bit limbs no longer
# recompose it (check "identities (n variables)"); a value of at most 16 bits is looked up
# directly, and `strict=False` commits its wrapped limbs, whose look-up into the range tables
# fails (check "range": the fractions do not cancel). Each attack below asserts the one it hits.
#: A product or embedding relation whose claimed value (or transcript) is false: its sumcheck
#: ends on a claim that the evaluations do not explain.
PRODUCT_FINAL = "final evaluation P(f(r)) does not match"
#: The same for a group of identities (the zero-check's ``eq(tau, r) E(f(r))``).
ZEROCHECK_FINAL = "final evaluation eq(tau, r) E(f(r)) does not match"
#: A fraction tree's layer whose sumcheck ends where its sent end values do not.
LAYER_END = "end values do not match the last round"
RANGE_FAILED = "range: look-up fractions do not cancel"
#: An opening whose claims' combination is not the sum of its part sums.
PARTS_SUM = "the parts' sums do not add up to the claims"


# ---------------------------------------------------------------------------------------------
# fixtures and helpers


@dataclasses.dataclass
class Setup:
    model: object
    vk: VerifyingKey
    pk: object
    cols: dict
    output: np.ndarray
    proof: Proof


def _setup(model, pcs, ids=IDS) -> Setup:
    vk, pk = zkinfer.setup(model, pcs)
    trace = forward(model, ids)
    cols = {k: np.array(v) for k, v in trace.items()}
    proof = prove_trace(pk, ids, cols, np.asarray(trace.output, dtype=np.int64))
    # the honest proof verifies (TrivialPCS keys need the opt-in: they make no security claim)
    assert zkinfer.verify(vk, ids, proof.output, proof, allow_insecure=isinstance(pcs, TrivialPCS))
    return Setup(model, vk, pk, cols, np.asarray(trace.output, dtype=np.int64), proof)


@pytest.fixture(scope="module")
def honest() -> Setup:
    return _setup(random_transformer(CFG, 3), TrivialPCS())


@pytest.fixture(scope="module")
def honest_ligero() -> Setup:
    return _setup(random_transformer(CFG, 3), None)


def _copy(cols: dict) -> dict:
    return {k: v.copy() for k, v in cols.items()}


def _replay(model, cols: dict, after: str) -> np.ndarray:
    """Recompute (in place) every column of the ops after op ``after`` from the (edited) columns
    before them, with the model's integer semantics; returns the new pooled output."""
    started = False
    for op in ops(model):
        if started and isinstance(op, OpLinear):
            lin, rq = op.lin, op.lin.rq
            acc = cols[op.src] @ lin.w + lin.b
            pre = acc * rq.m + (cols[op.res] * lin.res_m if op.res is not None else 0)
            # q = floor((pre + 2^(s-1)) / 2^s), rem the remainder, out = clamp(q, lo, hi)
            t = pre + (1 << (rq.shift - 1))
            q = t >> rq.shift
            cols[f"{op.name}.acc"], cols[f"{op.name}.q"] = acc, q
            cols[f"{op.name}.rem"], cols[f"{op.name}.out"] = t - (q << rq.shift), np.clip(q, rq.lo, rq.hi)
        elif started and isinstance(op, OpTable):
            index = cols[op.src] + (1 << (op.in_bits - 1))
            cols[f"{op.name}.out"] = op.table[index]
            cols[f"{op.name}.mult"] = np.bincount(index.ravel(), minlength=len(op.table))
        elif started and isinstance(op, OpPool):
            h = cols[op.src]
            s = h.sum(axis=0)
            cols["pool.sum"], cols["pool.mean"] = s, (s << op.shift) // h.shape[0]
            cols["pool.rem"] = (s << op.shift) - cols["pool.mean"] * h.shape[0]
        started = started or op.name == after
    return cols["pool.mean"].copy()


def _cheat(s: Setup, cols: dict, output=None, ids=IDS, pk=None, strict=False) -> Proof:
    """A proof of an arbitrary trace (the cheating prover)."""
    output = s.output if output is None else output
    return prove_trace(pk or s.pk, ids, cols, np.asarray(output, dtype=np.int64), strict=strict)


def _rejects(vk, proof, check: str | None, match: str, ids=IDS, output=None,
             kind=VerificationError):
    """Verify and return the exception; fails if the proof is accepted. The exception must be
    exactly ``kind``, its message must contain ``match`` (a plain fragment, not a pattern) and,
    for a ``VerificationError``, its ``check`` must be ``check``.

    ``allow_insecure``: most setups here use ``TrivialPCS`` (fast); it does not affect Ligero keys.
    """
    out = proof.output if output is None else output
    with pytest.raises(kind, match=re.escape(match)) as err:
        zkinfer.verify(vk, ids, out, proof, allow_insecure=True)
    assert type(err.value) is kind, repr(err.value)
    if kind is VerificationError:
        assert err.value.check == check, repr(err.value)
    return err.value


def _with_weight(model, layer: int, which: str, index: tuple[int, int], delta: int):
    """A copy of ``model`` with one weight of ``layer{layer}.ffn.{which}`` changed by ``delta``."""
    layers = list(model.layers)
    ffn = layers[layer].ffn
    lin = getattr(ffn, which)
    w = lin.w.copy()
    w[index] += delta
    ffn = dataclasses.replace(ffn, **{which: dataclasses.replace(lin, w=w)})
    layers[layer] = dataclasses.replace(layers[layer], ffn=ffn)
    return dataclasses.replace(model, layers=tuple(layers))


def _with_clamp(model, layer: int, which: str, lo: int, hi: int):
    """A copy of ``model`` whose ``layer{layer}.ffn.{which}`` clamps to ``[lo, hi]`` (widths
    rederived: the declared width of ``out`` is then wider than ``[lo, hi]`` unless the bounds
    are powers of two, so the circuit range-checks ``out`` against both bounds)."""
    layers = list(model.layers)
    ffn = layers[layer].ffn
    lin = getattr(ffn, which)
    lin = dataclasses.replace(lin, rq=dataclasses.replace(lin.rq, lo=lo, hi=hi))
    layers[layer] = dataclasses.replace(layers[layer], ffn=dataclasses.replace(ffn, **{which: lin}))
    model = dataclasses.replace(model, layers=tuple(layers))
    return dataclasses.replace(model, widths=declare_widths(model))


# ---------------------------------------------------------------------------------------------
# the statement: output, input, verifying key


def test_output_changed_by_one_rejected(honest):
    _rejects(honest.vk, honest.proof, "statement", "the proof is for another output",
             output=honest.output + np.eye(CFG.d_model, dtype=np.int64)[0])


def test_output_changed_by_one_in_the_proof_rejected(honest):
    out = honest.output.copy()
    out[3] -= 1
    forged = dataclasses.replace(honest.proof, output=out)
    # the output is in the transcript: every challenge moves, the first relation's final check
    # fails
    _rejects(honest.vk, forged, "embedding emb.tok", PRODUCT_FINAL,
             output=out)


@pytest.mark.parametrize("fix_remainder", [False, True], ids=["rem-kept", "rem-adjusted"])
def test_output_changed_by_one_by_cheating_prover_rejected(honest, fix_remainder):
    cols = _copy(honest.cols)
    out = honest.output.copy()
    out[0] += 1
    if fix_remainder:
        # keep sum 2^P - mean n - rem = 0 exact: rem becomes negative (out of its range check)
        cols["pool.rem"][0] -= IDS.shape[0]
        _rejects(honest.vk, _cheat(honest, cols, out), "range", RANGE_FAILED)
    else:  # the pooling identity breaks
        _rejects(honest.vk, _cheat(honest, cols, out), "identities (3 variables)", ZEROCHECK_FINAL)


def test_another_models_verifying_key_rejected(honest):
    other_vk, _ = zkinfer.setup(random_transformer(CFG, 4), TrivialPCS())
    _rejects(other_vk, honest.proof, "statement", "the proof was made for another verifying key")


def test_proof_relabelled_for_another_models_verifying_key_rejected(honest):
    # same architecture, other weights (and other calibrated widths, so other limb columns):
    # the trace commitment does not have the other circuit's layout
    other_vk, _ = zkinfer.setup(random_transformer(CFG, 4), TrivialPCS())
    forged = dataclasses.replace(honest.proof, vk_digest=other_vk.digest)
    _rejects(other_vk, forged, "trace commitment", "committed columns do not match the circuit")


def test_proof_relabelled_for_a_key_of_the_same_circuit_rejected(honest):
    # same model and widths, weights committed anew (one weight changed): the circuit and the
    # layouts are the same; the transcript (another digest) and the weights are not
    other_vk, _ = zkinfer.setup(_with_weight(honest.model, 0, "up", (0, 0), 1), TrivialPCS())
    assert other_vk.model_bytes == honest.vk.model_bytes
    forged = dataclasses.replace(honest.proof, vk_digest=other_vk.digest)
    _rejects(other_vk, forged, "embedding emb.tok", PRODUCT_FINAL,)


def test_different_input_rejected(honest):
    _rejects(honest.vk, honest.proof, "statement", "the proof is for another input", ids=OTHER_IDS)


def test_proof_relabelled_for_a_different_input_rejected(honest):
    forged = dataclasses.replace(honest.proof, ids=OTHER_IDS)
    _rejects(honest.vk, forged, "embedding emb.tok", PRODUCT_FINAL,
             ids=OTHER_IDS)


def test_trace_of_one_input_proven_for_another_input_rejected(honest):
    # the honest trace of IDS, its honest output, claimed for OTHER_IDS
    _rejects(honest.vk, _cheat(honest, _copy(honest.cols), ids=OTHER_IDS), "embedding emb.tok", PRODUCT_FINAL,
             ids=OTHER_IDS)


def test_input_longer_than_the_model_allows_rejected(honest):
    ids = np.arange(CFG.max_seq_len + 1) % CFG.vocab_size
    _rejects(honest.vk, dataclasses.replace(honest.proof, ids=ids), "statement",
             "input ids outside the model's vocabulary or length", ids=ids)


# ---------------------------------------------------------------------------------------------
# the trace: activations, rounding, clamps, look-ups


def test_activation_changed_rejected(honest):
    cols = _copy(honest.cols)
    up = "layer0.ffn.up"
    lo, hi = honest.model.layers[0].ffn.up.rq.lo, honest.model.layers[0].ffn.up.rq.hi
    assert lo < cols[f"{up}.out"][0, 0] < hi
    cols[f"{up}.out"][0, 0] += 1
    out = _replay(honest.model, cols, up)  # everything after it follows the changed value
    # out - q - below + above, below (out - lo)
    _rejects(honest.vk, _cheat(honest, cols, out), "identities (7 variables)", ZEROCHECK_FINAL)


def test_activation_changed_with_its_quotient_rejected(honest):
    # out and q both +1 (no clamp involved): the rounding identity breaks
    cols = _copy(honest.cols)
    up = "layer0.ffn.up"
    cols[f"{up}.out"][1, 2] += 1
    cols[f"{up}.q"][1, 2] += 1
    out = _replay(honest.model, cols, up)
    _rejects(honest.vk, _cheat(honest, cols, out), "identities (7 variables)", ZEROCHECK_FINAL)


#: one column per relation kind runs by default; ``-m slow`` runs every committed column
_REPRESENTATIVE = {"emb.tok", "layer0.ffn.up.acc", "layer0.ffn.up.rem", "layer1.ffn.act.out",
                   "layer1.ffn.down.out", "pool.sum"}


def _committed_trace_columns():
    model = random_transformer(CFG, 3)
    circuit = build_circuit(model, IDS.shape[0], np.zeros(CFG.d_model, dtype=np.int64))
    names = [n for n in forward(model, IDS) if n in circuit.trace]
    assert _REPRESENTATIVE <= set(names)
    return [n if n in _REPRESENTATIVE else pytest.param(n, marks=pytest.mark.slow) for n in names]


_LOOKUP_FAILED = "look-up fractions do not cancel"


def _first_failure(column: str) -> tuple[str, str]:
    """The check (and message) that rejects a change of the last value of ``column``: the first
    check of the schedule that reads it (segment by segment: the embedding's look-ups and
    identities, then per block its products, the activation look-up and the zero-checks of each
    size; the pooling in the last block's segment)."""
    layer, _, rest = column.partition(".ffn.")
    if column in ("emb.tok", "emb.pos"):
        return f"embedding {column}", PRODUCT_FINAL
    if column == "emb.x":
        # the embedding's segment is verified first: its identity emb.x = tok + pos (n x d
        # entries) fails before the first block's product reads emb.x
        return "identities (6 variables)", ZEROCHECK_FINAL
    if rest in ("up.acc", "down.acc"):
        return f"matmul {column}", PRODUCT_FINAL
    if rest in ("up.out", "act.out"):
        return f"table {layer}.ffn.act", _LOOKUP_FAILED
    # the identities (requantization rows of d_ff or d_model columns, the pooling row); a
    # block's output is checked by its own segment's identities before the next segment's
    # product reads it
    nv = {"up.rem": 7, "down.rem": 6, "down.out": 6}.get(rest, 3)
    return f"identities ({nv} variables)", ZEROCHECK_FINAL


@pytest.mark.parametrize("column", _committed_trace_columns())
def test_one_committed_trace_value_changed_rejected(honest, column):
    cols = _copy(honest.cols)
    cols[column].reshape(-1)[-1] += 1
    check, match = _first_failure(column)
    _rejects(honest.vk, _cheat(honest, cols), check, match)


@pytest.mark.parametrize("direction", [1, -1], ids=["q+1", "q-1"])
def test_requantization_rounded_the_other_way_rejected(honest, direction):
    # acc m + 2^(s-1) = q 2^s + rem still holds, with rem outside [0, 2^s)
    cols = _copy(honest.cols)
    up = "layer1.ffn.up"
    s = honest.model.layers[1].ffn.up.rq.shift
    lo, hi = honest.model.layers[1].ffn.up.rq.lo, honest.model.layers[1].ffn.up.rq.hi
    i, j = 2, 5
    assert lo < cols[f"{up}.q"][i, j] < hi
    cols[f"{up}.q"][i, j] += direction
    cols[f"{up}.rem"][i, j] -= direction << s
    cols[f"{up}.out"][i, j] += direction
    out = _replay(honest.model, cols, up)
    with pytest.raises(ModelError, match="trace does not fit the circuit") as refused:
        _cheat(honest, cols, out, strict=True)  # the honest prover refuses this trace
    assert type(refused.value) is ModelError
    _rejects(honest.vk, _cheat(honest, cols, out), "range", RANGE_FAILED)  # rem leaves [0, 2^s)


@pytest.fixture(scope="module")
def clamping() -> Setup:
    """A model whose last linear clamps to a narrower range than its declared width."""
    base = random_transformer(CFG, 3)
    q = forward(base, IDS)["layer1.ffn.down.q"]
    lo, hi = int(np.percentile(q, 20)), int(np.percentile(q, 80))
    return _setup(_with_clamp(base, 1, "down", lo, hi), TrivialPCS())


def test_clamp_skipped_rejected(clamping):
    cols = _copy(clamping.cols)
    name = "layer1.ffn.down"
    rq = clamping.model.layers[1].ffn.down.rq
    q = cols[f"{name}.q"]
    assert ((q < rq.lo) | (q > rq.hi)).any()  # the honest trace clamps
    cols[f"{name}.out"] = q.copy()  # out = q beyond [lo, hi]: below = above = 0
    out = _replay(clamping.model, cols, name)
    assert not np.array_equal(out, clamping.output)
    _rejects(clamping.vk, _cheat(clamping, cols, out), "range", RANGE_FAILED)  # out's [lo, hi] check


def test_clamp_to_the_wrong_bound_rejected(clamping):
    cols = _copy(clamping.cols)
    name = "layer1.ffn.down"
    rq = clamping.model.layers[1].ffn.down.rq
    q, o = cols[f"{name}.q"], cols[f"{name}.out"]
    i, j = np.argwhere(q > rq.hi)[0]
    o[i, j] = rq.hi - 1  # inside the range, but not the clamp of q
    out = _replay(clamping.model, cols, name)
    # above (hi - out) != 0
    _rejects(clamping.vk, _cheat(clamping, cols, out), "identities (6 variables)", ZEROCHECK_FINAL)


def test_table_lookup_with_wrong_value_rejected(honest):
    cols = _copy(honest.cols)
    act = honest.model.layers[0].ffn.table
    half = 1 << (honest.model.layers[0].ffn.in_bits - 1)
    u = int(cols["layer0.ffn.up.out"][2, 3])
    wrong = next(int(v) for v in act[::-1] if int(v) != int(act[u + half]))  # another row's value
    cols["layer0.ffn.act.out"][2, 3] = wrong
    out = _replay(honest.model, cols, "layer0.ffn.act")
    _rejects(honest.vk, _cheat(honest, cols, out), "table layer0.ffn.act",
             "look-up fractions do not cancel (a value is not in the table")


# ---------------------------------------------------------------------------------------------
# the weights


def test_weight_changed_after_setup_rejected(honest):
    # the prover runs (and proves) the model with one weight changed, against the original
    # commitment: the weight claims of the matmul sumcheck do not open
    cheat_model = _with_weight(honest.model, 0, "up", (1, 2), 3)
    trace = forward(cheat_model, IDS)
    _, cheat_pk = zkinfer.setup(cheat_model, TrivialPCS())
    pk = dataclasses.replace(honest.pk, model=cheat_model, weight_tables=cheat_pk.weight_tables)
    proof = _cheat(honest, dict(trace.items()), trace.output, pk=pk, strict=True)
    # the honest part sums of the committed weights do not add up to the claims' combination
    _rejects(honest.vk, proof, "weights openings", PARTS_SUM)


def test_weight_changed_and_recommitted_rejected(honest):
    # the prover commits the changed weights and proves honestly against its own commitment,
    # but the verifier only knows the original verifying key
    cheat_model = _with_weight(honest.model, 1, "down", (0, 0), -2)
    trace = forward(cheat_model, IDS)
    _, cheat_pk = zkinfer.setup(cheat_model, TrivialPCS())
    pk = dataclasses.replace(cheat_pk, vk=honest.vk)
    proof = _cheat(honest, dict(trace.items()), trace.output, pk=pk, strict=True)
    # both openings begin (commitment and claims absorbed) before either is proven: the
    # prover absorbed its own weight commitment, so from there the verifier's transcript
    # differs and the trace opening, proven next, is bound to another state
    _rejects(honest.vk, proof, "trivial pcs", "proof made for another transcript state")


# ---------------------------------------------------------------------------------------------
# the messages: swapped, replayed, dropped, truncated


def _indices(proof: Proof, kind: type) -> list[int]:
    return [k for k, s in enumerate(ce.steps(proof)) if isinstance(s, kind)]


def _swap(proof: Proof, a: int, b: int) -> Proof:
    steps = ce.steps(proof)
    steps[a], steps[b] = steps[b], steps[a]
    return ce.with_steps(proof, steps)


# the first and the last step of a kind, exchanged (the first zero-check is segment 0's over
# 2^6 entries, the last segment 1's over 2^7; each segment's range checks are one step, with
# one value per limb column: segment 1's have 32, segment 0's 31)
@pytest.mark.parametrize("kind, check, match", [
    (ProductStep, "embedding emb.tok", "wrong number of rounds (expected 5, got 4)"),
    (ZerocheckProof, "identities (6 variables)", "wrong number of rounds (expected 6, got 7)"),
    # the first segment's (the embedding's) and the last one's differ in their fraction trees
    (RangeProof, "range", "one root (P, Q) per fraction tree of shape (2, 2, 2), expected "
     "(1, 2, 2)"),
    (JointOpeningsProof, "trace openings", PARTS_SUM),
], ids=["ProductStep", "ZerocheckProof", "RangeProof", "JointOpeningsProof"])
def test_swapped_round_messages_rejected(honest, kind, check, match):
    idx = _indices(honest.proof, kind)
    assert len(idx) >= 2
    _rejects(honest.vk, _swap(honest.proof, idx[0], idx[-1]), check, match)


def test_swapped_steps_of_different_types_rejected(honest):
    a, b = _indices(honest.proof, ProductStep)[0], _indices(honest.proof, ZerocheckProof)[0]
    _rejects(honest.vk, _swap(honest.proof, a, b), "emb.tok", "expected a product proof")


def test_swapped_sumcheck_rounds_rejected(honest):
    k = _indices(honest.proof, ProductStep)[-1]
    step = ce.steps(honest.proof)[k]
    polys = step.proof.sumcheck.messages.copy()
    assert polys.shape[0] >= 2
    polys[[0, 1]] = polys[[1, 0]]
    sc = dataclasses.replace(step.proof.sumcheck, messages=polys)
    forged = dataclasses.replace(step, proof=dataclasses.replace(step.proof, sumcheck=sc))
    _rejects(honest.vk, ce.replace_step(honest.proof, k, forged),
             "matmul layer1.ffn.down.acc", PRODUCT_FINAL)


@pytest.fixture(scope="module")
def other_proof(honest) -> Proof:
    """An honest proof of the same model on another input (a source of replayed messages)."""
    proof = zkinfer.prove(honest.pk, OTHER_IDS)
    assert zkinfer.verify(honest.vk, OTHER_IDS, proof.output, proof, allow_insecure=True)
    return proof


@pytest.mark.parametrize("kind, check, match", [
    (ProductStep, "matmul layer1.ffn.down.acc", PRODUCT_FINAL),
    (ZerocheckProof, "identities (7 variables)", ZEROCHECK_FINAL),
    (RangeProof, "range layer 1", LAYER_END),
    (JointOpeningsProof, "weights openings", PARTS_SUM),
], ids=["ProductStep", "ZerocheckProof", "RangeProof", "JointOpeningsProof"])
def test_replayed_round_message_from_another_proof_rejected(honest, other_proof, kind, check,
                                                            match):
    k = _indices(honest.proof, kind)[-1]
    _rejects(honest.vk, ce.replace_step(honest.proof, k, ce.steps(other_proof)[k]), check,
             match)


def test_replayed_proof_of_another_input_rejected(honest, other_proof):
    # the whole transcript of another run, with this run's statement
    forged = dataclasses.replace(other_proof, ids=IDS, output=honest.output)
    _rejects(honest.vk, forged, "embedding emb.tok", PRODUCT_FINAL,)


def test_replayed_trace_commitment_rejected(honest, other_proof):
    forged = dataclasses.replace(honest.proof, trace_commitment=other_proof.trace_commitment)
    _rejects(honest.vk, forged, "embedding emb.tok", PRODUCT_FINAL,)


def _with_segment_steps(proof: Proof, segment: int, part: str, steps: tuple) -> Proof:
    """``proof`` with the ``part`` steps (relations or identities) of one segment replaced."""
    segs = list(proof.body.segments)
    segs[segment] = dataclasses.replace(segs[segment], **{part: steps})
    return ce.with_segments(proof, segs)


@pytest.mark.parametrize("segment", [0, 1])
@pytest.mark.parametrize("part", ["relations", "identities"])
def test_dropped_step_rejected(honest, part, segment):
    steps = getattr(honest.proof.body.segments[segment], part)
    forged = _with_segment_steps(honest.proof, segment, part, steps[:-1])
    n = len(steps)
    _rejects(honest.vk, forged, "proof",
             f"wrong number of {part} steps in segment {segment} (expected {n}, got {n - 1})")


@pytest.mark.parametrize("segment", [0, 1])
@pytest.mark.parametrize("part", ["relations", "identities"])
def test_duplicated_step_rejected(honest, part, segment):
    steps = getattr(honest.proof.body.segments[segment], part)
    forged = _with_segment_steps(honest.proof, segment, part, steps + steps[-1:])
    n = len(steps)
    _rejects(honest.vk, forged, "proof",
             f"wrong number of {part} steps in segment {segment} (expected {n}, got {n + 1})")


# where a cut lands decides which bound of the decoder notices it first: the fixed-size
# header, a fixed number of field elements, or a length prefix checked against the bytes left
@pytest.mark.parametrize("keep, match", [
    (0.0, "proof: truncated: need 4 bytes, 0 left"),
    (0.001, "proof: truncated: need 4 bytes, 3 left"),  # a sumcheck's round count
    (0.01, "proof: count 8 x 16 bytes exceeds the 19 left"),  # a range layer's end values
    (0.3, "proof: count 1332346 x 1 bytes exceeds the"),  # the trace opening's PCS bytes
    (0.9, "proof: count 1332346 x 1 bytes exceeds the"),
    (0.999999, "proof: count 6682 x 1 bytes exceeds the 6680 left"),  # the weight opening's
    (-1, "proof: count 6682 x 1 bytes exceeds the 6681 left"),
])
def test_truncated_proof_rejected(honest, keep, match):
    data = honest.proof.to_bytes()
    cut = data[:-1] if keep == -1 else data[: int(len(data) * keep)]
    _rejects(honest.vk, cut, None, match, output=honest.output, kind=ProofFormatError)


def test_trailing_bytes_rejected(honest):
    _rejects(honest.vk, honest.proof.to_bytes() + b"\x00", None, "proof: 1 trailing bytes",
             output=honest.output, kind=ProofFormatError)


def test_truncated_verifying_key_rejected(honest):
    data = honest.vk.to_bytes()
    model_len = int.from_bytes(data[6:10], "little")
    pcs_len = int.from_bytes(data[10 + model_len: 14 + model_len], "little")
    for cut, match in ((0, "verifying key: truncated: need 4 bytes, 0 left"),
                       (7, "verifying key: truncated: need 4 bytes, 1 left"),
                       (len(data) // 2, f"verifying key: count {model_len} x 1 bytes exceeds the"),
                       (len(data) - 1, "verifying key: count "
                        f"{len(data) - 18 - model_len - pcs_len} x 1 bytes exceeds the")):
        _rejects(data[:cut], honest.proof, None, match, kind=ProofFormatError)


# ---------------------------------------------------------------------------------------------
# single-byte changes (every section of a small Ligero proof and of its verifying key)


def _sections(proof: Proof) -> list[tuple[str, int, int]]:
    """``(name, start, end)`` byte ranges of the encoded proof: prefix fields, each step."""
    return cs.spans(proof)


def _flip(data: bytes, pos: int, xor: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= xor
    return bytes(b)


def _assert_byte_change_rejected(vk, data: bytes, output, pos: int, xor: int) -> None:
    try:
        zkinfer.verify(vk, IDS, output, _flip(data, pos, xor))
    except REJECTED:
        return
    except Exception as exc:  # a crash is a bug, reported with the position
        raise AssertionError(f"byte {pos} ^ {xor:#x}: {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"byte {pos} ^ {xor:#x}: the changed proof was ACCEPTED")


def _sample_positions(proof: Proof) -> list[int]:
    """First, middle and last byte of every section (openings: two more inside)."""
    out = set()
    for name, a, b in _sections(proof):
        out.update({a, (a + b) // 2, b - 1})
        if name in ("trace_opening", "weight_opening"):
            out.update({a + (b - a) // 5, a + 4 * (b - a) // 5})
    return sorted(out)


def test_single_byte_changes_in_every_section_rejected(honest_ligero):
    s = honest_ligero
    data, vk = s.proof.to_bytes(), s.vk.to_bytes()
    for k, pos in enumerate(_sample_positions(s.proof)):
        _assert_byte_change_rejected(vk, data, s.output, pos, (0x01, 0x80, 0xFF)[k % 3])


@settings(max_examples=examples(25, 100), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_single_byte_change_rejected(honest_ligero, data):
    s = honest_ligero
    proof_bytes = s.proof.to_bytes()
    pos = data.draw(st.integers(0, len(proof_bytes) - 1), label="position")
    xor = data.draw(st.integers(1, 255), label="xor")
    _assert_byte_change_rejected(s.vk.to_bytes(), proof_bytes, s.output, pos, xor)


@settings(max_examples=examples(20, 100), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_single_byte_change_of_the_verifying_key_rejected(honest_ligero, data):
    s = honest_ligero
    vk_bytes = s.vk.to_bytes()
    pos = data.draw(st.integers(0, len(vk_bytes) - 1), label="position")
    xor = data.draw(st.integers(1, 255), label="xor")
    mutated = _flip(vk_bytes, pos, xor)
    try:
        vk = VerifyingKey.from_bytes(mutated)
    except ProofFormatError:
        return
    # a key that decodes but differs: the honest proof is for another key...
    _rejects(vk, s.proof, "statement", "the proof was made for another verifying key")
    # ... and a proof relabelled for it must still be rejected, never crash
    forged = dataclasses.replace(s.proof, vk_digest=vk.digest)
    try:
        zkinfer.verify(vk, IDS, s.output, forged)
    except REJECTED:
        return
    raise AssertionError(f"vk byte {pos} ^ {xor:#x}: relabelled proof accepted")
