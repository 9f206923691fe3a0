"""The golden proof of format version 3 keeps verifying; version 2 is refused cleanly.

If this fails after a change to the circuit, the schedule or the encodings, the change broke
proofs users already hold: bump ``zkinfer.proof.FORMAT_VERSION`` and add a new golden file
(keep verifying the old one if the old version stays supported; versions 1 and 2 are not:
``tests/golden/regenerate.py`` writes the file).
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


def test_golden_v3_verifies():
    vk, ids, output, proof, meta = load("tiny_mlp_v3")
    assert meta["format_version"] == FORMAT_VERSION
    assert zkinfer.verify(vk, ids, output, proof)


def test_golden_v3_rejects_another_output():
    vk, ids, output, proof, _ = load("tiny_mlp_v3")
    with pytest.raises(VerificationError, match="another output"):
        zkinfer.verify(vk, ids, output + 1, proof)


@pytest.mark.parametrize("part", ["vk", "proof"])
def test_golden_v2_refused_with_a_version_error(part):
    # version 2 keys trusted their declared widths and proofs had no grinding: not accepted
    vk, ids, output, proof, _ = load("tiny_mlp_v2")
    new_vk, _, _, new_proof, _ = load("tiny_mlp_v3")
    args = (vk, new_proof) if part == "vk" else (new_vk, proof)
    with pytest.raises(ProofFormatError, match="version"):
        zkinfer.verify(args[0], ids, output, args[1])
