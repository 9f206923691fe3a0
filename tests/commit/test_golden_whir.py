"""Golden WHIR proofs: the checked-in bytes of WHIR commitment and opening format version 3
(challenges in F_p4; each round's domain shrinks by ``2^k``) must keep verifying, and the prover
must reproduce them exactly; version 2's (domains halving per round) are refused by version.

Regenerate (only when the WHIR format version changes, as a new file):
``python -m tests.commit.test_golden_whir``.

``whir_v3.json`` (and ``whir_v2.json`` before it): the inputs of ``test_golden.py`` (a plain
batch of four polynomials of 8, 5, 5 and 0 variables; a commitment of three parts of ``2^5``
entries), each under the default parameters and under ``k = 2``, rate ``1/2`` with 8 grinding
bits; the figures (``security_bits``) recorded beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zkinfer.commit import OpeningClaim
from zkinfer.commit.whir import WhirPCS
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.transcript import Transcript

from .test_golden import PARTS, _inputs, _parts_inputs

GOLDEN = Path(__file__).parent / "golden" / "whir_v3.json"
PREVIOUS = Path(__file__).parent / "golden" / "whir_v2.json"
SCHEMES = {"whir": WhirPCS(), "whir-k2-rate1/2-grind8": WhirPCS(folding=2, log_inv_rate=1,
                                                                 grinding_bits=8)}
CASES = list(SCHEMES) + [f"{name} parts" for name in SCHEMES]
DOMAIN = b"zkinfer/golden-whir"


def _make(case: str) -> dict:
    pcs = SCHEMES[case.removesuffix(" parts")]
    if case.endswith(" parts"):
        vectors, points = _parts_inputs()
        com, data = pcs.commit_parts(PARTS, vectors)
    else:
        polys, points = _inputs()
        com, data = pcs.commit(polys)
    proof = pcs.open(data, [OpeningClaim(k, p) for k, p in points], Transcript(DOMAIN))
    return {
        "params": pcs.params_bytes().hex(),
        "security_bits": round(pcs.security_bits, 2),
        "commitment": com.to_bytes().hex(),
        "proof": proof.to_bytes().hex(),
        "claims": [[k, p.tolist(), data.evaluate(k, p).tolist()] for k, p in points],
    }


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def _claims(case: dict) -> list[OpeningClaim]:
    return [OpeningClaim(k, np.array(p, dtype=np.uint64).reshape(-1, 2),
                         np.array(v, dtype=np.uint64)) for k, p, v in case["claims"]]


def _verify(name: str, case: dict, proof: bytes | None = None) -> None:
    SCHEMES[name.removesuffix(" parts")].verify(
        bytes.fromhex(case["commitment"]), _claims(case),
        bytes.fromhex(case["proof"]) if proof is None else proof, Transcript(DOMAIN))


@pytest.mark.parametrize("name", CASES)
def test_golden_whir_proof_verifies(golden, name):
    _verify(name, golden[name])


@pytest.mark.parametrize("name", CASES)
def test_golden_whir_records_its_parameters_and_mode(golden, name):
    pcs = SCHEMES[name.removesuffix(" parts")]
    assert golden[name]["params"] == pcs.params_bytes().hex()
    assert golden[name]["security_bits"] == round(pcs.security_bits, 2)
    com = pcs.decode_commitment(bytes.fromhex(golden[name]["commitment"]))
    assert com.parts == (PARTS if name.endswith(" parts") else None)


@pytest.mark.parametrize("name", CASES)
def test_golden_whir_proof_is_reproduced(golden, name):
    """The prover is deterministic and the version-3 encodings have not changed."""
    assert _make(name) == golden[name]


@pytest.mark.parametrize("name", CASES)
def test_golden_whir_proof_of_another_version_is_refused(golden, name):
    raw = bytearray.fromhex(golden[name]["proof"])
    raw[4:6] = (2).to_bytes(2, "little")  # "ZKWN" | u16 version
    with pytest.raises(ProofFormatError, match="unsupported version 2"):
        _verify(name, golden[name], bytes(raw))


@pytest.mark.parametrize("name", CASES)
def test_golden_whir_version_2_files_are_refused(name):
    """A commitment and proof of the previous format (domains halving per round) are refused
    by their version, not misread under the new domains."""
    old = json.loads(PREVIOUS.read_text())[name]
    with pytest.raises(ProofFormatError, match="whir commitment: unsupported version 2"):
        _verify(name, old)


@pytest.mark.parametrize("name", CASES)
def test_golden_whir_proof_with_a_flipped_byte_is_rejected(golden, name):
    raw = bytearray.fromhex(golden[name]["proof"])
    raw[len(raw) // 2] ^= 1
    with pytest.raises((VerificationError, ProofFormatError)):
        _verify(name, golden[name], bytes(raw))


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({n: _make(n) for n in CASES}, indent=1) + "\n")
