"""The golden proof of format version 4 keeps verifying; older proofs are refused cleanly.

If this fails after a change to the circuit, the schedule or the encodings, the change broke
proofs users already hold: bump ``zkinfer.proof.FORMAT_VERSION`` and add a new golden file
(keep verifying the old one if the old version stays supported; proof versions 1 to 3 are not:
``tests/golden/regenerate.py`` writes the file). Version 4 named the proof's parts; its content
is that of version 3 (same transcript), and the verifying key's format did not change.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zkinfer
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.proof import FORMAT_VERSION

GOLDEN = Path(__file__).parent / "golden"


def load(name: str):
    meta = json.loads((GOLDEN / f"{name}.json").read_text())
    return ((GOLDEN / f"{name}.vk").read_bytes(), np.array(meta["ids"]),
            np.array(meta["output"]), (GOLDEN / f"{name}.proof").read_bytes(), meta)


def test_golden_v4_verifies():
    vk, ids, output, proof, meta = load("tiny_mlp_v4")
    assert meta["format_version"] == FORMAT_VERSION
    assert zkinfer.verify(vk, ids, output, proof)


def test_golden_v3_key_still_reads_and_v3_proof_is_refused_with_a_version_error():
    # the key format did not change with proof version 4; the proof's framing did
    old_vk, ids, output, old_proof, _ = load("tiny_mlp_v3")
    vk, _, _, proof, _ = load("tiny_mlp_v4")
    assert old_vk == vk
    with pytest.raises(ProofFormatError, match="unsupported version 3"):
        zkinfer.verify(vk, ids, output, old_proof)


def test_golden_v4_rejects_another_output():
    vk, ids, output, proof, _ = load("tiny_mlp_v4")
    with pytest.raises(VerificationError, match="another output"):
        zkinfer.verify(vk, ids, output + 1, proof)


@pytest.mark.parametrize("part", ["vk", "proof"])
def test_golden_v2_refused_with_a_version_error(part):
    # version 2 keys trusted their declared widths and proofs had no grinding: not accepted
    vk, ids, output, proof, _ = load("tiny_mlp_v2")
    new_vk, _, _, new_proof, _ = load("tiny_mlp_v4")
    args = (vk, new_proof) if part == "vk" else (new_vk, proof)
    with pytest.raises(ProofFormatError, match="version"):
        zkinfer.verify(args[0], ids, output, args[1])
