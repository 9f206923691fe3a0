"""Fiat-Shamir: a message absorbed before its challenge is drawn cannot be chosen after it.

Prover and verifier share one schedule, so dropping an absorb on both sides still verifies every
honest proof (only a golden proof would notice the changed transcript). What the absorb buys is
soundness against a prover who sees the challenge first. Each attack here is that prover: it
predicts the challenge by running the schedule on a fork of its transcript with the honest
message, then sends a doctored message that is consistent with a false claim *at the predicted
challenge*. Where the message is absorbed, the real challenge moves with it and the forgery is
rejected (the tests here); where it is not, the prediction is right and the forgery is accepted
(the controls, which drop the absorb on both sides in-process). So removing either absorb from
the library makes its rejection test fail.

- sumcheck round polynomials (:func:`zkinfer.sumcheck.common.round_challenge`, and
  ``round_challenge_scalar`` on the verifier's side): a false
  accumulator of a matrix product, whose last round polynomial is chosen to agree with the honest
  one at the predicted last challenge;
- Ligero rows (:func:`zkinfer.commit.ligero.schedule.absorb_rows`): a false evaluation opened
  with the evaluation row shifted by a multiple of a polynomial that vanishes on the code
  positions of the predicted column queries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest

import zkinfer
from tests.cheating import engine as ce
from tests.cheating import pcs as cp
from zkinfer.commit import LigeroPCS, OpeningClaim
from zkinfer.commit.base import prover_claims
from zkinfer.commit.ligero import code, merkle, schedule
from zkinfer.commit.ligero.proof import LigeroProof
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2
from zkinfer.lookup import gkr
from zkinfer.model.intmodel import ops
from zkinfer.poly import multilinear as ml
from zkinfer.proof import Proof
from zkinfer.sumcheck import common
from zkinfer.sumcheck import prover as sumcheck_prover
from zkinfer.sumcheck import verifier as sumcheck_verifier
from zkinfer.transcript import Transcript

U64 = np.ndarray
IDS = ce.IDS
D = b"tests/transcript-absorbs"


# ---------------------------------------------------------------------------------------------
# sumcheck round polynomials


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with ce.single_threaded():
        yield


@pytest.fixture(scope="module")
def mlp() -> ce.Honest:
    return ce.honest("mlp")


@contextmanager
def round_polynomials_not_absorbed() -> Iterator[None]:
    """Both sides draw each round's challenge without absorbing the round polynomial (the
    library with that absorb removed: every caller of ``round_challenge`` is patched)."""
    def challenge(transcript: Transcript, values) -> U64:
        return transcript.challenge_ext(common._LABEL_CHALLENGE)

    def challenge_scalar(transcript: Transcript, values) -> Fp2:
        return Fp2(*transcript.challenge_pair(common._LABEL_CHALLENGE))

    with mock.patch.object(common, "round_challenge", challenge), \
            mock.patch.object(sumcheck_prover, "round_challenge", challenge), \
            mock.patch.object(sumcheck_verifier, "round_challenge_scalar", challenge_scalar), \
            mock.patch.object(gkr, "round_challenge", challenge):
        yield


def _forged_accumulator(h: ce.Honest) -> dict[str, np.ndarray]:
    """One accumulator of the first matmul +40, its requantization and everything after it
    recomputed: a trace whose only false relation is that matmul."""
    op = next(op for op in ops(h.model) if op.name == "layer0.ffn.up")

    def edit(cols) -> None:
        cols[f"{op.name}.acc"][1, 3] += 40
        ce.requantize_from(h.model, op.name, cols)

    cols = ce.forward_with(h.model, IDS, {op.name: edit})
    assert not np.array_equal(cols["pool.mean"], h.output)
    return cols


def _adaptive_proof(h: ce.Honest, cols) -> Proof:
    with ce.Lies(relations=["layer0.ffn.up.acc"], adaptive=True) as lies:
        proof = ce.prove_forged(h.pk, IDS, cols, cols["pool.mean"])
    assert lies.lied == ["layer0.ffn.up.acc"]
    return proof


def test_round_polynomial_chosen_after_its_challenge_rejected(mlp):
    # a false accumulator: every round but the last keeps the false running claim, the last
    # polynomial agrees with the honest one at the challenge the honest polynomial would get;
    # absorbed, it gets another challenge and the final check P(f(r)) fails
    forged = _adaptive_proof(mlp, _forged_accumulator(mlp))
    with pytest.raises(VerificationError, match=r"final evaluation P\(f\(r\)\) does not match") as err:
        zkinfer.verify(mlp.vk, IDS, forged.output, forged, allow_insecure=True)
    assert err.value.check == "matmul layer0.ffn.up.acc"


def test_round_polynomial_chosen_after_its_challenge_accepted_without_the_absorb(mlp):
    # the control: the same prover against the schedule without the absorb forges an output
    cols = _forged_accumulator(mlp)
    with round_polynomials_not_absorbed():
        forged = _adaptive_proof(mlp, cols)
        assert zkinfer.verify(mlp.vk, IDS, forged.output, forged, allow_insecure=True)
    assert not np.array_equal(forged.output, mlp.output)


# ---------------------------------------------------------------------------------------------
# Ligero rows


def _code_points(log_cols: int, log_blowup: int, positions: Sequence[int]) -> list[int]:
    """``x_j = w^bitrev(j)``: the points at which code position ``j`` evaluates a row
    (:mod:`zkinfer.commit.ligero.code`)."""
    log_len = log_cols + log_blowup
    w = gl.root_of_unity(log_len)
    return [pow(w, int(e), gl.P) for e in code.bitrev(np.asarray(positions), log_len)]


def _vanishing(points: Sequence[int], size: int) -> U64:
    """The ``size`` coefficients (lowest first) of ``prod_j (X - x_j)`` (``len(points) < size``)."""
    assert len(points) < size
    coeffs = [1]
    for x in points:
        nxt = [0] * (len(coeffs) + 1)
        for i, c in enumerate(coeffs):
            nxt[i + 1] = (nxt[i + 1] + c) % gl.P
            nxt[i] = (nxt[i] - c * x) % gl.P
        coeffs = nxt
    return ext.from_base(np.array(coeffs + [0] * (size - len(coeffs)), dtype=np.uint64))


def _queries(pcs: LigeroPCS, data, transcript: Transcript, rows: U64) -> list[int]:
    """The distinct column queries the schedule draws after ``rows`` (on ``transcript``)."""
    schedule.absorb_rows(transcript, rows)
    bits = pcs.params.grinding_bits
    schedule.absorb_nonce(transcript, schedule.find_nonce(schedule.grinding_seed(transcript, bits),
                                                          bits))
    return schedule.draw_queries(transcript, 1 << data.commitment.log_length, pcs.params.queries)


def _open_rows_after_queries(pcs: LigeroPCS, data, claims: Sequence[OpeningClaim],
                             transcript: Transcript) -> LigeroProof:
    """:func:`zkinfer.commit.ligero.prover.open_claims` for one false claim: the evaluation row
    ``u_0`` is shifted by ``lambda Z``, ``Z`` vanishing on the code points of the queries that
    the honest rows would draw, ``lambda`` so that ``<u_0, eq(col point)>`` is the false
    combined claim. Only the queries outside the predicted ones can expose the shift."""
    com = data.commitment
    checked = prover_claims(data, claims)
    groups = schedule.group_claims(data.layout, checked, com.log_cols)
    rho, gamma = schedule.begin(transcript, com.to_bytes(), checked, com.rows)
    coeffs = np.concatenate([schedule.row_coefficients(groups, rho, com.row_layout), gamma[None]])
    combined = cp.combined_rows(data, np.ascontiguousarray(coeffs))  # plain or parts
    u_rows, w_row = combined[:-1].copy(), combined[-1]
    b0 = ml.eq_table(groups.col_points[0])
    s_value = ext.sum(ext.mul(w_row, b0), axis=0)
    beta = schedule.absorb_proximity_value(transcript, s_value)
    u_rows[0] = ext.add(u_rows[0], ext.mul(w_row, beta))
    # what the verifier's evaluation check wants for group 0, from the claims as given
    target = ext.add(schedule.group_values(groups, checked, rho)[0], ext.mul(beta, s_value))
    predicted = _queries(pcs, data, transcript.fork(), u_rows)
    z = _vanishing(_code_points(com.log_cols, com.log_blowup, predicted), 1 << com.log_cols)
    missing = ext.sub(target, ext.sum(ext.mul(u_rows[0], b0), axis=0))
    u_rows[0] = ext.add(u_rows[0], ext.mul(z, ext.mul(missing, ext.inv(ext.sum(ext.mul(z, b0),
                                                                                 axis=0)))))
    # from here on the real schedule, with the shifted rows
    schedule.absorb_rows(transcript, u_rows)
    bits = pcs.params.grinding_bits
    nonce = schedule.find_nonce(schedule.grinding_seed(transcript, bits), bits)
    schedule.absorb_nonce(transcript, nonce)
    indices = schedule.draw_queries(transcript, 1 << com.log_length, pcs.params.queries)
    columns = cp.committed_columns(data, indices)
    siblings = tuple(merkle.open_siblings(data.levels, indices))
    schedule.absorb_opened(transcript, columns, siblings)
    return LigeroProof(com.rows, com.log_cols, s_value, np.ascontiguousarray(u_rows), nonce,
                       tuple(indices), columns, siblings)


@pytest.fixture(scope="module")
def false_opening():
    """A committed polynomial of 2^14 entries (``C = 2^10`` columns, more than the 154 queries)
    and a claim on it off by one."""
    rng = np.random.default_rng(18)
    pcs = LigeroPCS()
    poly = gl.random(1 << 14, rng)
    com, data = pcs.commit([poly])
    assert pcs.params.queries < 1 << com.log_cols
    point = ext.random(14, rng)
    claim = OpeningClaim(0, point, ext.add(ml.evaluate(poly, point), ext.ones(())))
    return pcs, com, data, claim


def test_ligero_rows_chosen_after_the_queries_rejected(false_opening):
    pcs, com, data, claim = false_opening
    proof = _open_rows_after_queries(pcs, data, [claim], Transcript(D))
    with pytest.raises(VerificationError, match="proximity and consistency: Enc") as err:
        pcs.verify(com, [claim], proof, Transcript(D))
    assert err.value.check == "ligero pcs"


def test_ligero_rows_chosen_after_the_queries_accepted_without_the_absorb(false_opening):
    # the control: with the rows not absorbed (both sides) the predicted queries are the real
    # ones and the false evaluation opens
    pcs, com, data, claim = false_opening
    with mock.patch.object(schedule, "absorb_rows", lambda transcript, rows: None):
        proof = _open_rows_after_queries(pcs, data, [claim], Transcript(D))
        assert pcs.verify(com, [claim], proof, Transcript(D)) is None


# ---------------------------------------------------------------------------------------------
# Ligero rows, end to end: a forged output


@pytest.fixture(scope="module")
def mlp_ligero(mlp):
    """The MLP with the default Ligero keys (rate 1/4, 154 queries)."""
    return zkinfer.setup(mlp.model, None)


def _forged_pool_sum(h: ce.Honest) -> dict:
    """pool.sum + 1 (mean and remainder recomputed): a forged output whose only false claim is
    the column sum's claim on the pooled column, which only the trace opening can refute."""
    shift, n = h.model.pool_shift, IDS.shape[0]

    def edit(cols) -> None:
        cols["pool.sum"][0] += 1
        num = cols["pool.sum"] << np.int64(shift)
        cols["pool.mean"] = num // n
        cols["pool.rem"] = num - cols["pool.mean"] * n

    cols = ce.forward_with(h.model, IDS, {"pool": edit})
    assert not np.array_equal(cols["pool.mean"], h.output)
    return cols


def _forged_ligero_proof(pk, cols) -> Proof:
    """The real schedule on the forged trace: the trace opening proves the claims as sent (the
    last part's sum makes the part sums add up to them, its sumcheck and the joint one stay
    consistent) and sends the value F_1(r_1, r*) that explains its final check; the Ligero
    opening of that false value (all parts' claims share the column point: one group) shifts
    its evaluation row on the predicted queries."""
    real_open, calls = pk.pcs.open, []

    def open_(data, claims, transcript, progress=None):
        calls.append(len(calls))
        if len(calls) > 1:  # the weights: honest
            return real_open(data, claims, transcript)
        return _open_rows_after_queries(pk.pcs, data, claims, transcript)

    with ce.Lies(openings=["trace"], open_false=True) as lies, \
            mock.patch.object(pk.pcs, "open", open_):
        proof = ce.prove_forged(pk, IDS, cols, cols["pool.mean"])
    assert lies.lied == ["trace openings"] and len(calls) == 2
    return proof


def test_forged_output_with_ligero_rows_chosen_after_the_queries_rejected(mlp, mlp_ligero):
    vk, pk = mlp_ligero
    forged = _forged_ligero_proof(pk, _forged_pool_sum(mlp))
    with pytest.raises(VerificationError, match="proximity and consistency: Enc") as err:
        zkinfer.verify(vk, IDS, forged.output, forged)
    assert err.value.check == "ligero pcs"


def test_forged_output_with_ligero_rows_chosen_after_the_queries_accepted_without_the_absorb(
        mlp, mlp_ligero):
    vk, pk = mlp_ligero
    cols = _forged_pool_sum(mlp)
    with mock.patch.object(schedule, "absorb_rows", lambda transcript, rows: None):
        forged = _forged_ligero_proof(pk, cols)
        assert zkinfer.verify(vk, IDS, forged.output, forged)
    assert not np.array_equal(forged.output, mlp.output)
