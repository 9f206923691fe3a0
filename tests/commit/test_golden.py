"""Golden proofs: one per scheme and format version, checked in; they must keep verifying.

Regenerate (only when a format version changes, as a new file):
``python -m tests.commit.test_golden``.

``pcs_v4.json``: Ligero commitment version 3 (the mode: plain or parts) and opening proof
version 3, trivial commitment version 2 (the mode); a plain batch per scheme, and a commitment
made of parts per scheme (keys ending in ``" parts"``). ``pcs_v3.json`` (Ligero commitment
version 2, proof version 3: the grinding nonce) still verifies: version-2 Ligero and version-1
trivial commitments are read as plain commitments. ``pcs_v2.json`` (commitment and proof
version 2: the row count ``R = ceil(used / C)`` instead of ``log R``) and ``pcs_v1.json`` are
kept: their trivial-scheme proofs still verify, their Ligero proofs (no longer supported) must
be rejected.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zkinfer.commit import LigeroPCS, OpeningClaim, TrivialPCS
from zkinfer.commit.base import Parts
from zkinfer.errors import ProofFormatError
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript

GOLDEN = Path(__file__).parent / "golden" / "pcs_v4.json"
GOLDEN_V3 = Path(__file__).parent / "golden" / "pcs_v3.json"
GOLDEN_V2 = Path(__file__).parent / "golden" / "pcs_v2.json"
GOLDEN_V1 = Path(__file__).parent / "golden" / "pcs_v1.json"
SCHEMES = {"trivial": TrivialPCS(), "ligero-rate1/2": LigeroPCS(1), "ligero-rate1/4": LigeroPCS(2)}


def _inputs() -> tuple[list[np.ndarray], list[tuple[int, np.ndarray]]]:
    """Deterministic inputs from Python integers only (no RNG stream to drift)."""
    sizes = [8, 5, 5, 0]
    polys = [np.array([(k * 1_000_003 + i**3 + 7 * i) % gl.P for i in range(1 << n)],
                      dtype=np.uint64) for k, n in enumerate(sizes)]
    point8 = np.array([[(2**61 + 97 * j) % gl.P, (3**40 + j) % gl.P] for j in range(8)],
                      dtype=np.uint64)
    point5 = point8[:5].copy()
    return polys, [(0, point8), (1, point5), (2, point5), (3, point8[:0])]


PARTS = Parts(5, (32, 20, 7))


def _parts_inputs() -> tuple[list[np.ndarray], list[tuple[int | None, np.ndarray]]]:
    """Three parts of 2^5 entries (32, 20 and 7 given), claims on each and on the whole."""
    vectors = [np.array([(s * 999_983 + i**5 + 11 * i + 1) % gl.P for i in range(u)],
                        dtype=np.uint64) for s, u in enumerate(PARTS.used)]
    point = np.array([[(5**27 + 13 * j) % gl.P, (7**22 + 3 * j) % gl.P] for j in range(7)],
                     dtype=np.uint64)
    return vectors, [(0, point[2:]), (1, point[2:]), (2, point[:5]), (None, point)]


def _make(pcs, parts: bool = False) -> dict:
    if parts:
        vectors, points = _parts_inputs()
        com, data = pcs.commit_parts(PARTS, vectors)
    else:
        polys, points = _inputs()
        com, data = pcs.commit(polys)
    proof = pcs.open(data, [OpeningClaim(k, p) for k, p in points], Transcript(b"zkinfer/golden"))
    return {
        "commitment": com.to_bytes().hex(),
        "proof": proof.to_bytes().hex(),
        "claims": [[k, p.tolist(), data.evaluate(k, p).tolist()] for k, p in points],
    }


CASES = list(SCHEMES) + [f"{name} parts" for name in SCHEMES]


def _make_case(case: str) -> dict:
    return _make(SCHEMES[case.removesuffix(" parts")], parts=case.endswith(" parts"))


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def _verify(name: str, case: dict) -> None:
    claims = [OpeningClaim(k, np.array(p, dtype=np.uint64).reshape(-1, 2),
                    np.array(v, dtype=np.uint64)) for k, p, v in case["claims"]]
    SCHEMES[name.removesuffix(" parts")].verify(
        bytes.fromhex(case["commitment"]), claims, bytes.fromhex(case["proof"]),
        Transcript(b"zkinfer/golden"))


@pytest.mark.parametrize("name", CASES)
def test_golden_proof_verifies(golden, name):
    _verify(name, golden[name])


@pytest.mark.parametrize("name", CASES)
def test_golden_commitments_record_their_mode(golden, name):
    com = SCHEMES[name.removesuffix(" parts")].decode_commitment(
        bytes.fromhex(golden[name]["commitment"]))
    assert com.parts == (PARTS if name.endswith(" parts") else None)
    assert com.version == (2 if name.startswith("trivial") else 3)


@pytest.mark.parametrize("name", list(SCHEMES))
def test_golden_v3_still_verifies_its_commitments_read_as_plain(name):
    case = json.loads(GOLDEN_V3.read_text())[name]
    _verify(name, case)
    raw = bytes.fromhex(case["commitment"])
    com = SCHEMES[name].decode_commitment(raw)
    assert (com.parts, com.version) == (None, 1 if name == "trivial" else 2)
    assert com.to_bytes() == raw


@pytest.mark.parametrize("name", list(SCHEMES))
def test_golden_v1_trivial_verifies_and_ligero_v1_is_rejected(name):
    case = json.loads(GOLDEN_V1.read_text())[name]
    if name == "trivial":
        _verify(name, case)
        return
    with pytest.raises(ProofFormatError, match="ligero commitment: unsupported version 1"):
        _verify(name, case)
    with pytest.raises(ProofFormatError, match="ligero opening proof: unsupported version 1"):
        SCHEMES[name].decode_proof(bytes.fromhex(case["proof"]))


@pytest.mark.parametrize("name", list(SCHEMES))
def test_golden_v2_trivial_verifies_and_ligero_v2_proof_is_rejected(name):
    case = json.loads(GOLDEN_V2.read_text())[name]
    if name == "trivial":
        _verify(name, case)
        return
    SCHEMES[name].decode_commitment(bytes.fromhex(case["commitment"]))  # still version 2
    with pytest.raises(ProofFormatError, match="ligero opening proof: unsupported version 2"):
        _verify(name, case)


@pytest.mark.parametrize("name", CASES)
def test_golden_proof_is_reproduced(golden, name):
    """The prover is deterministic and the v4 encodings have not changed."""
    assert _make_case(name) == golden[name]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({n: _make_case(n) for n in CASES}, indent=1) + "\n")
