"""The tied LM head and the greedy argmax (:mod:`zkinfer.model.ops.head`): references equal to
:func:`zkinfer.model.int_llama.lm_head` and :func:`~zkinfer.model.int_llama.argmax_lowest` bit for
bit, the public one-hot and prefix columns evaluate as their tables, honest proofs verify (small,
and at SmolLM2's vocabulary and widths), and each way a cheating prover could deviate is rejected
by the check named beside it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tests.protocol.gadget_harness import run_gadget
from zkinfer.commit.trivial import TrivialPCS
from zkinfer.errors import ModelError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.model import int_llama
from zkinfer.model.ops.common import amax
from zkinfer.model.ops.head import (
    ARGMAX_HOME,
    LOGITS_HOME,
    OpArgmax,
    OpLogits,
    OutputOneHot,
    OutputPrefix,
)
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.bounds import FieldBoundError
from zkinfer.protocol.constraints import debug_check
from zkinfer.protocol.coverage import column_touches, unconstrained_columns
from zkinfer.protocol.engine import (
    commit_segments,
    prove_circuit,
    prover_context,
    segment_parts,
    verifier_context,
    verify_circuit,
)
from zkinfer.protocol.witness import Tables, _unchecked_witness
from zkinfer.transcript import Transcript

H, E, HEAD, ARG = "final_norm.out", "tok_emb", "head", "argmax"
LOGITS = f"{HEAD}.logits"


class _WithEmbedding:
    """``LOGITS_HOME`` seeing ``model.tok_emb = emb`` (the harness's model namespace holds only
    ``config`` and ``widths``): sets it on the namespace before each call."""

    def __init__(self, emb: np.ndarray) -> None:
        self.emb = emb

    def __getattr__(self, attr):
        method = getattr(LOGITS_HOME, attr)

        def call(*args, **kw):
            for a in args:
                if isinstance(a, SimpleNamespace):
                    a.tok_emb = self.emb
            return method(*args, **kw)

        return call


def _logits_instance(seed: int, *, n: int = 5, vocab: int = 50, d: int = 16, h_bits: int = 16,
                     emb_bits: int = 8):
    """An op, the embedding and the input ``h``, both over their whole signed widths (ends
    included)."""
    rng = np.random.default_rng(seed)
    ehalf, hhalf = 1 << (emb_bits - 1), 1 << (h_bits - 1)
    emb = rng.integers(-ehalf + 1, ehalf, (vocab, d))  # symmetric quantization: no -2^(b-1)
    emb[0, 0], emb[-1, -1] = -ehalf + 1, ehalf - 1
    h = rng.integers(-hhalf, hhalf, (n, d))
    h[0, 0], h[-1, -1] = -hhalf, hhalf - 1
    op = OpLogits(HEAD, H, E, vocab, emb_bits)
    return op, emb, {H: (h, (h_bits, True))}, n


def _run_logits(op, emb, inputs, n, tamper=None, weights=None):
    return run_gadget(_WithEmbedding(emb), op, inputs, n, tamper=tamper, weights=weights)


def _argmax_instance(seed: int, *, n: int = 5, vocab: int = 50, bits: int = 12, ties: bool = True):
    """Logits over their signed width (both ends present); with ``ties``, each row's maximum
    appears at least twice (the lowest-index rule decides), without, each row holds distinct
    values."""
    rng = np.random.default_rng(seed)
    half = 1 << (bits - 1)
    if ties:
        logits = rng.integers(-half, half, (n, vocab))
        logits[0, 0], logits[-1, -1] = -half, half - 1
        for i in range(n):
            a, b = rng.choice(vocab, 2, replace=False)
            logits[i, a] = logits[i, b] = logits[i].max()
    else:
        logits = np.stack([rng.choice(2 * half, vocab, replace=False) - half for _ in range(n)])
    op = OpArgmax(ARG, LOGITS, vocab)
    return op, {LOGITS: (logits.astype(np.int64), (bits, True))}, n


def _run_argmax(op, inputs, n, output=None, tamper=None):
    logits = inputs[LOGITS][0]
    out = int_llama.argmax_lowest(logits) if output is None else output
    return run_gadget(ARGMAX_HOME, op, inputs, n, output=out, tamper=tamper)


def _broken_identities(run, home, op, n) -> set[str]:
    """The identities the (tampered) witness breaks, by name (the zero-check cannot tell)."""
    tables = Tables(run.circuit, _unchecked_witness(run.circuit, dict(run.trace),
                                                    home.advice(op, run.model, n)))  # views too
    broken = set()
    for nv, idents in run.circuit.identities.items():
        broken |= {name for name, _ in debug_check(idents, tables, run.circuit.publics, nv)}
    return broken


def _rejected(run) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        run.prove()
    return info.value


# ------------------------------------------------------------------------ semantics


@pytest.mark.parametrize("seed", range(6))
def test_logits_reference_and_width_match_int_llama(seed):
    rng = np.random.default_rng(100 + seed)
    n, vocab, d = (int(x) for x in rng.integers(1, 40, 3))
    h_bits, emb_bits = int(rng.integers(2, 17)), int(rng.integers(2, 9))
    op, emb, inputs, n = _logits_instance(seed, n=n, vocab=vocab, d=d, h_bits=h_bits,
                                          emb_bits=emb_bits)
    h, hw = inputs[H]
    model = SimpleNamespace(tok_emb=emb, widths={H: hw})
    got = LOGITS_HOME.reference(op, model, None, {H: h})[LOGITS]
    want = int_llama.lm_head(h, emb, hw)
    assert got.dtype == np.int64 and np.array_equal(got, want)
    (name, shape, kind, width, _), = LOGITS_HOME.columns(op, model, n, {H: hw}, None)
    assert (name, shape, kind) == (LOGITS, (n, vocab), "tensor")
    lo, hi = -amax(width), amax(width) - 1
    assert lo <= want.min() and want.max() <= hi
    # measured on the weights: within the bound the public settings put on it, and what a
    # verifying key holds is read back as it is
    bound = LOGITS_HOME.weight_width_bounds(op, model, {H: hw})[LOGITS]
    assert LOGITS_HOME.weight_width_names(op) == [LOGITS] and width[0] <= bound
    (_, _, _, read, _), = LOGITS_HOME.columns(op, model, n, {H: hw}, {LOGITS: (bound, True)})
    assert read == (bound, True)


@pytest.mark.parametrize("seed", range(6))
def test_argmax_reference_matches_int_llama(seed):
    rng = np.random.default_rng(200 + seed)
    n, vocab = int(rng.integers(1, 12)), int(rng.integers(2, 300))
    bits = int(rng.integers(2, 34))
    op, inputs, n = _argmax_instance(seed, n=n, vocab=vocab, bits=bits)
    logits, w = inputs[LOGITS]
    cols = ARGMAX_HOME.reference(op, None, None, {LOGITS: logits})
    ids = int_llama.argmax_lowest(logits)
    assert np.array_equal(cols[f"{ARG}.ids"], ids)
    assert np.array_equal(cols[f"{ARG}.best"], logits.max(axis=1))
    gap = cols[f"{ARG}.gap"]
    assert np.array_equal(gap[np.arange(n), ids], np.zeros(n, dtype=np.int64))
    rows = {r[0]: r for r in ARGMAX_HOME.columns(op, None, n, {LOGITS: w}, None)}
    gbits, gsigned = rows[f"{ARG}.gap"][3]
    assert not gsigned and gap.min() >= 0 and gap.max() < 1 << gbits
    assert rows[f"{ARG}.best"][3] == w and rows[f"{ARG}.ids"][3] == ((vocab - 1).bit_length()
                                                                     or 1, False)
    assert {k: v.dtype for k, v in cols.items()} == {k: np.int64 for k in cols}


def test_kernels_write_the_references_into_preallocated_columns():
    op, emb, inputs, n = _logits_instance(3)
    model = SimpleNamespace(tok_emb=emb, widths={H: inputs[H][1]})
    cols = {H: inputs[H][0], LOGITS: np.zeros((n, op.vocab), dtype=np.int64)}
    LOGITS_HOME.kernel(op, model, None, cols)
    assert np.array_equal(cols[LOGITS], int_llama.lm_head(inputs[H][0], emb, inputs[H][1]))
    aop, ainputs, n = _argmax_instance(4)
    cols = {LOGITS: ainputs[LOGITS][0]}
    want = ARGMAX_HOME.reference(aop, None, None, dict(cols))
    cols.update({k: np.zeros_like(v) for k, v in want.items()})
    ARGMAX_HOME.kernel(aop, None, None, cols)
    assert all(np.array_equal(cols[k], v) for k, v in want.items())


def test_an_embedding_of_the_wrong_shape_or_width_is_refused():
    op, emb, inputs, n = _logits_instance(5)
    for bad in (emb[:-1], emb.astype(np.int32), emb * 4):
        model = SimpleNamespace(tok_emb=bad, widths={H: inputs[H][1]})
        with pytest.raises(ModelError):
            LOGITS_HOME.reference(op, model, None, {H: inputs[H][0]})


@pytest.mark.parametrize("n, vocab, index", [
    (5, 50, (0, 49, 7, 7, 31)), (1, 2, (1,)), (4, 8, (0, 1, 2, 7)), (3, 49152, (0, 49151, 12345)),
])  # fmt: skip
def test_public_one_hot_and_prefix_columns_evaluate_as_their_tables(n, vocab, index):
    from zkinfer.protocol.circuit import padded_bits

    bits = padded_bits((n, vocab))
    rng = np.random.default_rng(n + vocab)
    for cls, want in ((OutputOneHot, lambda v, k: v == k), (OutputPrefix, lambda v, k: v < k)):
        col = cls(index, bits)
        t = col.table(sum(bits)).reshape(1 << bits[0], 1 << bits[1])
        v = np.arange(1 << bits[1])
        for i in range(1 << bits[0]):
            row = want(v, index[i]) if i < n else np.zeros_like(v, dtype=bool)
            assert np.array_equal(t[i], row.astype(np.uint64))
        for _ in range(3):
            point = ext.random(sum(bits), rng)
            assert np.array_equal(col.evaluate(point), ml.evaluate(t.reshape(-1), point))
        with pytest.raises(ValueError):
            col.table(sum(bits) + 1)


# ------------------------------------------------------------------------ honest proofs


def test_honest_small_logits_proof_verifies_and_the_claim_on_E_is_on_the_weights():
    op, emb, inputs, n = _logits_instance(0)
    run = _run_logits(op, emb, inputs, n)
    c = run.circuit
    assert E in c.weights and E not in c.trace
    assert f"contract {LOGITS} (b)" in [str(t) for t in column_touches(c)[E]]
    assert c.trace[LOGITS].width == run.model.widths[LOGITS]  # range-checked
    assert unconstrained_columns(c) == []
    run.prove()


@pytest.mark.parametrize("n, vocab, d", [(1, 2, 1), (8, 64, 16), (3, 7, 5)])
def test_honest_logits_proof_at_edge_sizes(n, vocab, d):
    op, emb, inputs, n = _logits_instance(1, n=n, vocab=vocab, d=d, h_bits=9, emb_bits=6)
    _run_logits(op, emb, inputs, n).prove()


def test_honest_small_argmax_proof_verifies_with_ties_and_every_column_is_bound():
    op, inputs, n = _argmax_instance(0)
    run = _run_argmax(op, inputs, n)
    c = run.circuit
    assert f"{ARG}.ids" not in c.trace  # the public output: O and B are built from it
    assert {f"{ARG}.onehot", f"{ARG}.before"} <= set(c.publics)
    assert unconstrained_columns(c) == []
    run.prove()


@pytest.mark.parametrize("n, vocab", [(1, 2), (8, 64), (3, 7)])
def test_honest_argmax_proof_at_edge_sizes(n, vocab):
    op, inputs, n = _argmax_instance(2, n=n, vocab=vocab, bits=5)
    logits = inputs[LOGITS][0]
    logits[0] = 3  # a row of equal entries: token 0
    _run_argmax(op, inputs, n).prove()


def test_honest_argmax_proof_at_smollm2_size():
    # SmolLM2's vocabulary (49152, padded to 2^16), n = 4, logits of the head at its widths
    # (h 16-bit, E 8-bit, d 576: 33 bits), given as the trace input
    op, inputs, n = _argmax_instance(3, n=4, vocab=49152, bits=33)
    run = _run_argmax(op, inputs, n)
    assert run.model.widths[f"{ARG}.gap"] == (34, False)
    run.prove()


def test_logits_circuit_at_smollm2_size_passes_the_field_bounds():
    # vocab 49152, d 576, h 16-bit, E 8-bit: the circuit (field bounds checked by the harness)
    # and the reference; the proof is the slow test below (the trivial PCS evaluates the 2^26
    # weight table in numpy)
    op, emb, inputs, n = _logits_instance(4, n=4, vocab=49152, d=576)
    run = _run_logits(op, emb, inputs, n)
    assert run.model.widths[LOGITS][0] <= 33
    assert np.array_equal(run.trace[LOGITS], int_llama.lm_head(inputs[H][0], emb, inputs[H][1]))


def test_honest_logits_proof_at_smollm2_vocab_and_widths():
    # the full vocabulary (E padded to 2^16 rows), h 16-bit, E 8-bit, d 64 (the proof of the
    # full d = 576 is the slow test: its cost is the trivial PCS on the weight table)
    op, emb, inputs, n = _logits_instance(5, n=4, vocab=49152, d=64)
    run = _run_logits(op, emb, inputs, n)
    run.prove()


@pytest.mark.slow
def test_honest_logits_proof_at_smollm2_size():
    # vocab 49152, d 576, n 4: about 2.5 minutes and 12 GB (the trivial PCS verifier evaluates
    # the 2^26-entry weight table in numpy)
    op, emb, inputs, n = _logits_instance(6, n=4, vocab=49152, d=576)
    _run_logits(op, emb, inputs, n).prove()


def test_unsafe_logits_widths_are_refused():
    # 2^bc amax(h) 2^(emb_bits - 1) >= p / 2: the contraction would not be the integer sum
    op, emb, inputs, n = _logits_instance(7, n=2, vocab=4, d=4, h_bits=8)
    h, _ = inputs[H]
    with pytest.raises(FieldBoundError):
        run_gadget(_WithEmbedding(emb), OpLogits(HEAD, H, E, 4, 32), {H: (h, (40, True))}, n,
                   weights={E: emb})


# ------------------------------------------------------------------------ attacks: logits


def test_a_changed_logit_is_rejected_by_the_contraction():
    op, emb, inputs, n = _logits_instance(10)

    def tamper(t):
        t[LOGITS][2, 7] += 1

    assert _rejected(_run_logits(op, emb, inputs, n, tamper)).check == f"product {LOGITS}"


def test_a_changed_embedding_entry_is_rejected_by_the_contraction():
    op, emb, inputs, n = _logits_instance(11)
    forged = emb.copy()
    forged[9, 3] += 1  # the committed table differs from the one the logits were computed with
    run = _run_logits(op, emb, inputs, n, weights={E: forged})
    assert _rejected(run).check == f"product {LOGITS}"


def test_a_contraction_on_another_table_than_the_committed_one_is_rejected_by_the_opening():
    # the prover runs the contraction's sumcheck on the honest E but the weight commitment holds
    # a changed E: only the claim on E, routed to the weight commitment, can tell
    op, emb, inputs, n = _logits_instance(12)
    run = _run_logits(op, emb, inputs, n)
    c = run.circuit
    col = c.weights[E]

    def table(w):
        pad = np.zeros(col.padded_shape, dtype=np.int64)
        pad[: w.shape[0], : w.shape[1]] = w
        return {E: gl.encode_signed(pad.reshape(-1))}

    forged = emb.copy()
    forged[4, 4] -= 1
    tables = _unchecked_witness(c, dict(run.trace), {})
    pcs, D = TrivialPCS(), b"tests/head"
    com = commit_segments(pcs, segment_parts(c), tables)
    wcom = commit_segments(pcs, segment_parts(c, weights=True), table(forged))
    proof = prove_circuit(prover_context(c, np.arange(n), Transcript(D), tables=tables,
                                         weights=table(emb), pcs=pcs, trace=com, weight=wcom))
    with pytest.raises(VerificationError) as info:
        verify_circuit(verifier_context(c, np.arange(n), Transcript(D), pcs=pcs, trace=com[0],
                                        weight=wcom[0]), proof)
    assert info.value.check.startswith("weights openings")


def test_a_changed_input_row_is_rejected_by_the_contraction():
    op, emb, inputs, n = _logits_instance(13)

    def tamper(t):
        t[H][1, 0] += 1  # the logits stay those of the honest input

    assert _rejected(_run_logits(op, emb, inputs, n, tamper)).check == f"product {LOGITS}"


# ------------------------------------------------------------------------ attacks: argmax


def _forge(t, op, choice, best=None):
    """Columns consistent with the claimed ``choice`` per row: ``best`` (default the claimed
    entries), ``gap = best - logits - [v < choice]`` (negative where the claim is wrong)."""
    logits = t[LOGITS]
    n = logits.shape[0]
    best = logits[np.arange(n), choice] if best is None else best
    before = (np.arange(op.vocab)[None, :] < np.asarray(choice)[:, None]).astype(np.int64)
    t[f"{ARG}.best"] = np.asarray(best, dtype=np.int64)
    t[f"{ARG}.gap"] = t[f"{ARG}.best"][:, None] - logits - before


def test_the_second_highest_token_as_output_is_rejected_by_the_gap_range():
    op, inputs, n = _argmax_instance(20, ties=False)
    logits = inputs[LOGITS][0]
    claimed = np.argsort(-logits, axis=1, kind="stable")[:, 1].astype(np.int64)
    assert np.all(logits[np.arange(n), claimed] < logits.max(axis=1))
    run = _run_argmax(op, inputs, n, claimed, lambda t: _forge(t, op, claimed))
    # best = the claimed logit: the true maximum's gap is negative
    assert _broken_identities(run, ARGMAX_HOME, op, n) == set()
    assert _rejected(run).check.startswith("range")


def test_the_second_highest_token_with_the_true_best_is_rejected_by_the_chosen_identity():
    op, inputs, n = _argmax_instance(21, ties=False)
    logits = inputs[LOGITS][0]
    claimed = np.argsort(-logits, axis=1, kind="stable")[:, 1].astype(np.int64)
    run = _run_argmax(op, inputs, n, claimed,
                      lambda t: _forge(t, op, claimed, logits.max(axis=1)))
    # every gap >= 0, but the claimed entry's gap is not 0
    assert _broken_identities(run, ARGMAX_HOME, op, n) == {f"{ARG} chosen attains best"}
    assert _rejected(run).check.startswith("identities")


def test_a_tie_broken_toward_the_higher_index_is_rejected_by_the_gap_range():
    op, inputs, n = _argmax_instance(22)
    logits = inputs[LOGITS][0]
    best = logits.max(axis=1)
    last = np.array([int(np.flatnonzero(r == m)[-1]) for r, m in zip(logits, best)])
    assert np.all(last > int_llama.argmax_lowest(logits))  # every row has a tie
    run = _run_argmax(op, inputs, n, last, lambda t: _forge(t, op, last))
    # the earlier maximum's gap is best - best - 1 = -1
    assert _broken_identities(run, ARGMAX_HOME, op, n) == set()
    assert _rejected(run).check.startswith("range")


def test_a_changed_logit_is_rejected_by_the_gap_identity():
    op, inputs, n = _argmax_instance(23)

    def tamper(t):
        t[LOGITS] = t[LOGITS].copy()
        t[LOGITS][1, 4] -= 1  # gap and best keep the honest values

    run = _run_argmax(op, inputs, n, tamper=tamper)
    assert _broken_identities(run, ARGMAX_HOME, op, n) == {f"{ARG} gap"}
    assert _rejected(run).check.startswith("identities")


@pytest.mark.parametrize("delta", [1, 5, -1])
def test_a_forged_best_with_the_gap_shifted_is_rejected(delta):
    op, inputs, n = _argmax_instance(24)

    def tamper(t):
        t[f"{ARG}.best"] = t[f"{ARG}.best"] + delta
        t[f"{ARG}.gap"] = t[f"{ARG}.gap"] + delta  # the gap identity still holds

    run = _run_argmax(op, inputs, n, tamper=tamper)
    # O gap = delta at the chosen entry (and for delta < 0 the gap range fails there too)
    assert _broken_identities(run, ARGMAX_HOME, op, n) == {f"{ARG} chosen attains best"}
    assert _rejected(run).check.startswith("identities")


def test_a_forged_best_alone_is_rejected_by_the_gap_identity():
    op, inputs, n = _argmax_instance(25)

    def tamper(t):
        t[f"{ARG}.best"][3] += 2

    run = _run_argmax(op, inputs, n, tamper=tamper)
    assert _broken_identities(run, ARGMAX_HOME, op, n) == {f"{ARG} gap"}
    assert _rejected(run).check.startswith("identities")


def test_a_changed_gap_entry_is_rejected_by_the_gap_identity():
    op, inputs, n = _argmax_instance(26)

    def tamper(t):
        t[f"{ARG}.gap"][0, 5] += 1

    run = _run_argmax(op, inputs, n, tamper=tamper)
    assert _broken_identities(run, ARGMAX_HOME, op, n) == {f"{ARG} gap"}
    assert _rejected(run).check.startswith("identities")


@pytest.mark.parametrize("bad", [
    lambda o, V: np.concatenate([o[:-1], [V]]),  # one past the vocabulary
    lambda o, V: np.concatenate([[-1], o[1:]]),  # negative
    lambda o, V: o[:-1],  # too few ids
])  # fmt: skip
def test_an_output_that_is_not_n_ids_in_the_vocabulary_is_rejected(bad):
    op, inputs, n = _argmax_instance(27)
    out = bad(int_llama.argmax_lowest(inputs[LOGITS][0]), op.vocab)
    # an id outside [0, vocab) would leave its row of O empty and best free
    with pytest.raises(VerificationError) as info:
        run_gadget(ARGMAX_HOME, op, inputs, n, output=out)
    assert info.value.check == f"{ARG} output"


# ------------------------------------------------------------------------ both ops in one circuit


class _Head:
    """The two ops as one home (``op`` a pair): the argmax reads the committed logits."""

    def __init__(self, emb: np.ndarray) -> None:
        self.logits = _WithEmbedding(emb)

    def columns(self, ops, model, n, widths, weight_widths):
        rows = self.logits.columns(ops[0], model, n, widths, weight_widths)
        widths = {**widths, **{r[0]: r[3] for r in rows}}
        return rows + ARGMAX_HOME.columns(ops[1], model, n, widths, weight_widths)

    def weights(self, ops, model):
        return self.logits.weights(ops[0], model)

    def gadget(self, c, ops, model, n, output):
        self.logits.gadget(c, ops[0], model, n, output)
        ARGMAX_HOME.gadget(c, ops[1], model, n, output)

    def reference(self, ops, model, ids, cols):
        out = self.logits.reference(ops[0], model, ids, cols)
        return {**out, **ARGMAX_HOME.reference(ops[1], model, ids, {**cols, **out})}

    def advice(self, ops, model, n):
        return {}


def _run_head(seed: int, output=None, tamper=None):
    op, emb, inputs, n = _logits_instance(seed, n=4, vocab=40, d=8, h_bits=10, emb_bits=6)
    ops = (op, OpArgmax(ARG, LOGITS, op.vocab))
    want = int_llama.argmax_lowest(int_llama.lm_head(inputs[H][0], emb, inputs[H][1]))
    out = want if output is None else output(want)
    return run_gadget(_Head(emb), ops, inputs, n, output=out, tamper=tamper), want


def test_logits_then_argmax_in_one_circuit_verifies_and_binds_every_column():
    run, want = _run_head(30)
    assert np.array_equal(run.trace[f"{ARG}.ids"], want)
    assert unconstrained_columns(run.circuit) == []
    run.prove()


def test_a_logit_raised_to_change_the_choice_is_rejected_by_the_contraction():
    # the prover raises another token's logit above the maximum and proves the argmax of the
    # changed logits consistently: only the product with the committed E can tell
    def other(want):
        return (want + 1) % 40

    def tamper(t):
        logits = t[LOGITS]
        target = other(np.asarray(t[f"{ARG}.ids"]))
        logits[np.arange(logits.shape[0]), target] = logits.max(axis=1) + 1
        t.update(ARGMAX_HOME.reference(OpArgmax(ARG, LOGITS, 40), None, None, t))
        assert np.array_equal(t[f"{ARG}.ids"], target)

    run, _ = _run_head(31, output=other, tamper=tamper)
    assert _rejected(run).check == f"product {LOGITS}"
