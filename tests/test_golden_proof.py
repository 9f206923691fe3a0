"""The golden proof of format version 2 keeps verifying.

If this fails after a change to the circuit, the schedule or the encodings, the change broke
proofs users already hold: bump ``zkinfer.proof.FORMAT_VERSION`` and add a new golden file
(keep verifying the old one if the old version stays supported; version 1 is not:
``tests/golden/regenerate.py`` writes the file).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zkinfer
from zkinfer.errors import VerificationError
from zkinfer.proof import FORMAT_VERSION

GOLDEN = Path(__file__).parent / "golden"


def load(name: str):
    meta = json.loads((GOLDEN / f"{name}.json").read_text())
    return ((GOLDEN / f"{name}.vk").read_bytes(), np.array(meta["ids"]),
            np.array(meta["output"]), (GOLDEN / f"{name}.proof").read_bytes(), meta)


def test_golden_v2_verifies():
    vk, ids, output, proof, meta = load("tiny_mlp_v2")
    assert meta["format_version"] == FORMAT_VERSION
    assert zkinfer.verify(vk, ids, output, proof)


def test_golden_v2_rejects_another_output():
    vk, ids, output, proof, _ = load("tiny_mlp_v2")
    with pytest.raises(VerificationError):
        zkinfer.verify(vk, ids, output + 1, proof)
