"""Sumcheck: completeness, and each attack rejected with the exact error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.field.strategies import ext_elements
from zkinfer.errors import FieldRangeError, ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.sumcheck import Expression, SumcheckProof, soundness_error_bits
from zkinfer.sumcheck.common import round_message
from zkinfer.sumcheck.prover import prove
from zkinfer.sumcheck.verifier import check_final, verify
from zkinfer.transcript import Transcript

DOMAIN = b"tests/sumcheck"

EXPRESSIONS = [
    Expression.product(1),
    Expression.product(2),
    Expression.product(3),
    Expression.product(4),
    # eq * (a * b - c): the shape of a zero-check
    Expression.sum_of_products(4, [(0, 1, 2), (0, 3)], [1, gl.P - 1]),
    Expression.sum_of_products(3, [(0, 0), (1,), (0, 1, 2, 2)], [3, (5, 6), 1]),
]


def tables_for(expr, n, rng, ext_mask=0):
    return [
        ext.random(1 << n, rng) if (ext_mask >> j) & 1 else gl.random(1 << n, rng)
        for j in range(expr.num_tables)
    ]


def brute_sum(expr, tables):
    stacked = np.stack([ext.from_base(t) if t.ndim == 1 else t for t in tables])
    total = ext.zeros(())
    for i in range(stacked.shape[1]):
        total = ext.add(total, expr.evaluate(stacked[:, i]))
    return total


def run_honest(expr, tables, domain=DOMAIN):
    return prove(tables, expr, Transcript(domain))


@settings(max_examples=examples(150, 400))
@given(st.sampled_from(EXPRESSIONS), st.integers(0, 7), st.integers(0, 15), st.integers(0, 2**32))
def test_completeness(expr, n, ext_mask, seed):
    rng = np.random.default_rng(seed)
    tables = tables_for(expr, n, rng, ext_mask)
    out = run_honest(expr, tables)
    assert np.array_equal(out.claim, brute_sum(expr, tables))
    point, final = verify(out.claim, n, expr, out.proof, Transcript(DOMAIN))
    assert np.array_equal(point, out.point)
    evals = np.stack([ml.evaluate(t, point) for t in tables])
    assert np.array_equal(evals, out.evaluations)
    check_final(expr, final, evals)


@settings(max_examples=examples(100, 300))
@given(st.sampled_from(EXPRESSIONS), st.integers(1, 6), st.integers(0, 15), st.integers(0, 2**32), st.data())
def test_changed_claim_or_round_polynomial_rejected(expr, n, ext_mask, seed, data):
    """Soundness, message by message: a false claimed sum, or a changed value of any round
    message (``s_j(1)`` is derived from the running claim, so every change moves ``s_j(r_j)``),
    ends on a final claim that the true evaluations do not explain."""
    rng = np.random.default_rng(seed)
    tables = tables_for(expr, n, rng, ext_mask)
    out = run_honest(expr, tables)
    delta = np.array(data.draw(ext_elements.filter(lambda e: e != (0, 0)), label="delta"), dtype=np.uint64)
    claim, msgs = out.claim, out.proof.messages.copy()
    j = data.draw(st.integers(-1, n - 1), label="round (-1: the claim)")
    if j < 0:
        claim = ext.add(claim, delta)
    else:
        k = data.draw(st.integers(0, msgs.shape[1] - 1), label="value")
        msgs[j, k] = ext.add(msgs[j, k], delta)
    point, final = verify(claim, n, expr, SumcheckProof(msgs), Transcript(DOMAIN))
    with pytest.raises(VerificationError, match="final evaluation"):
        check_final(expr, final, np.stack([ml.evaluate(t, point) for t in tables]))


def test_large_parallel_path_matches_small_path():
    # >= 2^13 entries uses the chunked parallel kernels; check against the numpy evaluations
    rng = np.random.default_rng(9)
    expr = EXPRESSIONS[4]
    tables = tables_for(expr, 14, rng, ext_mask=0b0001)
    out = run_honest(expr, tables)
    point, final = verify(out.claim, 14, expr, out.proof, Transcript(DOMAIN))
    evals = np.stack([ml.evaluate(t, point) for t in tables])
    check_final(expr, final, evals)
    a, b = tables[1], tables[2]
    stacked = ext.mul(ext.from_base(gl.mul(a, b)), tables[0])
    want = ext.sub(ext.sum(stacked, axis=0), ext.sum(ext.mul(tables[0], ext.from_base(tables[3])), axis=0))
    assert np.array_equal(out.claim, want)


@pytest.fixture
def honest():
    rng = np.random.default_rng(1)
    expr = Expression.product(3)
    tables = tables_for(expr, 5, rng, ext_mask=0b010)
    return expr, tables, run_honest(expr, tables)


def _final_rejected(expr, claim, proof, evaluations, domain=DOMAIN):
    """Every round passes (the verifier derives s_j(1)); the final check rejects."""
    point, final = verify(claim, 5, expr, proof, Transcript(domain))
    with pytest.raises(VerificationError, match="final evaluation P") as info:
        check_final(expr, final, evaluations(point))
    return info.value


def _true_evaluations(tables):
    return lambda point: np.stack([ml.evaluate(t, point) for t in tables])


def test_wrong_claimed_sum_rejected(honest):
    expr, tables, out = honest
    _final_rejected(expr, ext.add(out.claim, ext.ones(())), out.proof, _true_evaluations(tables))


@pytest.mark.parametrize("j", [0, 2, 4])
@pytest.mark.parametrize("k", [0, 1, 2], ids=["s(0)", "s(2)", "s(3)"])
def test_tampered_round_message_rejected(honest, j, k):
    expr, tables, out = honest
    msgs = out.proof.messages.copy()
    msgs[j, k] = ext.add(msgs[j, k], ext.ones(()))  # s_j(r_j) is now wrong
    _final_rejected(expr, out.claim, SumcheckProof(msgs), _true_evaluations(tables))


def test_round_message_has_no_s1(honest):
    # d values per round: s(0), s(2), s(3); s(1) = claim - s(0) is the verifier's own
    expr, _, out = honest
    assert out.proof.messages.shape == (5, expr.degree, 2)
    assert len(out.proof.to_bytes()) == 8 + 5 * expr.degree * 16


def test_swapped_rounds_rejected(honest):
    expr, tables, out = honest
    msgs = out.proof.messages.copy()
    msgs[[1, 2]] = msgs[[2, 1]]
    _final_rejected(expr, out.claim, SumcheckProof(msgs), _true_evaluations(tables))


def test_round_polynomial_of_too_high_degree_rejected(honest):
    expr, _, out = honest
    msgs = out.proof.messages
    padded = np.concatenate([msgs, np.zeros((5, 1, 2), dtype=np.uint64)], axis=1)
    with pytest.raises(VerificationError) as info:
        verify(out.claim, 5, expr, SumcheckProof(padded), Transcript(DOMAIN))
    assert "wrong degree" in str(info.value) and info.value.got == expr.degree + 1


def test_wrong_number_of_rounds_rejected(honest):
    expr, _, out = honest
    with pytest.raises(VerificationError) as info:
        verify(out.claim, 6, expr, out.proof, Transcript(DOMAIN))
    assert "number of rounds" in str(info.value)


def test_challenges_replayed_from_another_transcript_rejected(honest):
    # the proof was made under DOMAIN; a verifier on another statement's transcript draws other
    # challenges, so the proof's round messages no longer chain
    expr, tables, out = honest
    _final_rejected(expr, out.claim, out.proof, _true_evaluations(tables), b"another statement")


def test_transcript_with_extra_absorb_rejected(honest):
    expr, tables, out = honest
    t = Transcript(DOMAIN)
    t.append_bytes(b"extra", b"x")
    point, final = verify(out.claim, 5, expr, out.proof, t)
    with pytest.raises(VerificationError, match="final evaluation P"):
        check_final(expr, final, _true_evaluations(tables)(point))


def test_consistent_cheating_prover_caught_at_final_check():
    """A prover with a false claim that sends the true round polynomials with s_j(0) moved so
    that s_j(0) + s_j(1) is the running claim (what the verifier derives anyway) ends on a
    point where P(f(r)) differs."""
    rng = np.random.default_rng(4)
    expr = Expression.product(2)
    tables = tables_for(expr, 4, rng)
    honest_out = run_honest(expr, tables)
    false_claim = ext.add(honest_out.claim, ext.ones(()))
    t = Transcript(DOMAIN)
    from zkinfer.sumcheck.common import begin, round_challenge

    begin(t, 4, expr, false_claim)
    current_tables = [ext.from_base(x) for x in tables]
    claim = false_claim
    polys = []
    for _ in range(4):
        half = current_tables[0].shape[0] // 2
        vals = []
        for x in range(3):
            xs = ext.from_base([x])[0]
            f = [ext.add(tb[:half], ext.mul(ext.sub(tb[half:], tb[:half]), xs)) for tb in current_tables]
            vals.append(ext.sum(ext.mul(f[0], f[1]), axis=0))
        vals = np.stack(vals)
        # force s(0) + s(1) == claim by moving s(0): still a degree-2 polynomial
        vals[0] = ext.sub(claim, vals[1])
        polys.append(vals)
        r = round_challenge(t, vals)
        from zkinfer.poly.univariate import interpolate_at

        claim = interpolate_at(vals, r)
        current_tables = [ml.fold(tb, r) for tb in current_tables]
    proof = SumcheckProof.from_rounds(np.stack(polys))
    point, final = verify(false_claim, 4, expr, proof, Transcript(DOMAIN))  # every round passes
    evals = np.stack([ml.evaluate(x, point) for x in tables])
    with pytest.raises(VerificationError) as info:
        check_final(expr, final, evals)
    assert "final evaluation" in str(info.value)


def test_from_rounds_drops_s1_and_refuses_degree_0():
    rounds = ext.random((3, 4), np.random.default_rng(5))
    proof = SumcheckProof.from_rounds(rounds)
    assert np.array_equal(proof.messages, rounds[:, [0, 2, 3]])
    assert np.array_equal(round_message(rounds[1]), rounds[1, [0, 2, 3]])
    with pytest.raises(ValueError, match="d >= 1"):
        SumcheckProof.from_rounds(rounds[:, :1])
    with pytest.raises(ValueError, match="need \\(n, d \\+ 1, 2\\)"):
        SumcheckProof.from_rounds(rounds[0])


def test_proof_bytes_roundtrip_and_strict_decoding(honest):
    _, _, out = honest
    data = out.proof.to_bytes()
    assert SumcheckProof.from_bytes(data) == out.proof
    with pytest.raises(ProofFormatError):
        SumcheckProof.from_bytes(data[:-1])
    with pytest.raises(ProofFormatError):
        SumcheckProof.from_bytes(data + b"\x00")
    with pytest.raises(ProofFormatError):
        SumcheckProof.from_bytes(data[:4])
    bad = bytearray(data)
    bad[8:16] = (gl.P).to_bytes(8, "little")
    with pytest.raises(ProofFormatError):
        SumcheckProof.from_bytes(bytes(bad))
    huge = (1000).to_bytes(4, "little") + (3).to_bytes(4, "little")
    with pytest.raises(ProofFormatError):
        SumcheckProof.from_bytes(huge)


@pytest.mark.parametrize("pos", range(0, 8 + 5 * 3 * 16, 7))
def test_bit_flips_rejected(honest, pos):
    expr, _, out = honest
    data = bytearray(out.proof.to_bytes())
    data[pos] ^= 0x10
    with pytest.raises((VerificationError, ProofFormatError)):
        proof = SumcheckProof.from_bytes(bytes(data))
        point, final = verify(out.claim, 5, expr, proof, Transcript(DOMAIN))
        check_final(expr, final, out.evaluations)


def test_input_validation():
    from zkinfer.errors import FieldRangeError

    with pytest.raises(FieldRangeError):
        prove([np.zeros(4, dtype=np.uint64)], Expression.product(2), Transcript(DOMAIN))
    with pytest.raises(FieldRangeError):
        prove([np.zeros(4, dtype=np.uint64), np.zeros(8, dtype=np.uint64)],
              Expression.product(2), Transcript(DOMAIN))
    with pytest.raises(ValueError):
        Expression(2, ((0, 2),), ((1, 0),))
    with pytest.raises(ValueError):
        Expression(2, ((0,) * 9,), ((1, 0),))


def test_soundness_bits():
    assert 120 < soundness_error_bits(22, 2) < 128


def test_brute_force_helper_sanity():
    # the oracle itself: sum of a product of two 0/1 tables counts the overlaps
    a = np.array([1, 0, 1, 1], dtype=np.uint64)
    b = np.array([1, 1, 0, 1], dtype=np.uint64)
    assert int(brute_sum(Expression.product(2), [a, b])[0]) == 2


@pytest.mark.parametrize("ext_mask", [0b00, 0b01, 0b11])
def test_large_product_of_two_uses_the_dedicated_kernel_correctly(ext_mask):
    # 2^14 entries: the threaded f_0 f_1 kernel (round_prod2) runs for the first rounds
    rng = np.random.default_rng(11 + ext_mask)
    expr = Expression.product(2)
    tables = tables_for(expr, 14, rng, ext_mask)
    out = run_honest(expr, tables)
    a = tables[0] if tables[0].ndim == 2 else ext.from_base(tables[0])
    b = tables[1] if tables[1].ndim == 2 else ext.from_base(tables[1])
    assert np.array_equal(out.claim, ext.sum(ext.mul(a, b), axis=0))
    point, final = verify(out.claim, 14, expr, out.proof, Transcript(DOMAIN))
    check_final(expr, final, np.stack([ml.evaluate(t, point) for t in tables]))


@pytest.mark.parametrize("n", [13, 15])
def test_extension_times_base_product_matches_the_embedded_path(n):
    """The mixed kernel (extension W times base F, F never embedded) gives the same proof as
    the generic path on the embedded tables."""
    rng = np.random.default_rng(n)
    w, f = ext.random(1 << n, rng), gl.random(1 << n, rng)
    expr = Expression.product(2)
    t1, t2 = Transcript(b"mixed"), Transcript(b"mixed")
    mixed = prove([w, f], expr, t1)
    embedded = prove([w, ext.from_base(f)], expr, t2)
    assert np.array_equal(mixed.proof.messages, embedded.proof.messages)
    assert np.array_equal(mixed.evaluations, embedded.evaluations)
    assert t1.challenge_ext(b"after").tolist() == t2.challenge_ext(b"after").tolist()
    point, final = verify(mixed.claim, n, expr, mixed.proof, Transcript(b"mixed"))
    assert np.array_equal(point, mixed.point)


@pytest.mark.parametrize("lengths", [(5000, 9000), (12000, 3000), (1 << 14, 1 << 14)])
def test_short_tables_are_zero_extended(lengths):
    """Tables shorter than 2^n (``num_vars``) prove exactly as their zero-padded versions, on
    the extension-times-base kernel and on the padded generic path."""
    n = 14
    rng = np.random.default_rng(sum(lengths))
    w, f = ext.random(lengths[0], rng), gl.random(lengths[1], rng)
    wp = np.concatenate([w, np.zeros(((1 << n) - lengths[0], 2), dtype=np.uint64)])
    fp = np.concatenate([f, np.zeros((1 << n) - lengths[1], dtype=np.uint64)])
    expr = Expression.product(2)
    short = prove([w, f], expr, Transcript(b"short"), num_vars=n)
    full = prove([wp, fp], expr, Transcript(b"short"))
    assert np.array_equal(short.proof.messages, full.proof.messages)
    assert np.array_equal(short.evaluations, full.evaluations)
    # a small cube takes the generic path (padded inside prove)
    small = prove([w[:100], f[:50]], expr, Transcript(b"small"), num_vars=7)
    padded = prove([np.concatenate([w[:100], np.zeros((28, 2), dtype=np.uint64)]),
                    np.concatenate([f[:50], np.zeros(78, dtype=np.uint64)])], expr,
                   Transcript(b"small"))
    assert np.array_equal(small.proof.messages, padded.proof.messages)
    with pytest.raises(FieldRangeError):
        prove([w, f], expr, Transcript(b"x"), num_vars=10)
