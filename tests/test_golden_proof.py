"""The golden proofs of format version 9 (an encoder's and a decoder's) keep verifying; older
proofs and keys are refused cleanly.

If this fails after a change to the circuit, the schedule or the encodings, the change broke
proofs users already hold: bump ``zkinfer.proof.FORMAT_VERSION`` and add a new golden file
(keep verifying the old one if the old version stays supported; proof versions 1 to 5 are not:
``tests/golden/regenerate.py`` writes the file). Version 5 split the proof into segments (one
per transformer block) and the commitments into parts; the verifying key's format went to 4 with
it (its weight commitment has one part per segment). Version 6 begins both openings (claims
absorbed, ``gamma`` drawn) before proving either: the same messages, another transcript order.
Version 7 adds a decoder's answer fields (``max_new_tokens``, predictions) to the header, with
key format 5 (decoders in the public model schema). Version 8 proves a range check's fraction
trees together (one sumcheck per layer for all of them); keys are unchanged. Version 9 sends
``d`` values per sumcheck round instead of ``d + 1`` (``s_j(1)`` is the running claim minus
``s_j(0)``); keys are unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zkinfer
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.proof import FORMAT_VERSION, KEY_FORMAT_VERSION

GOLDEN = Path(__file__).parent / "golden"


def load(name: str):
    meta = json.loads((GOLDEN / f"{name}.json").read_text())
    return ((GOLDEN / f"{name}.vk").read_bytes(), np.array(meta["ids"]),
            np.array(meta["output"]), (GOLDEN / f"{name}.proof").read_bytes(), meta)


def test_golden_v9_verifies():
    vk, ids, output, proof, meta = load("tiny_mlp_v9")
    assert meta["format_version"] == FORMAT_VERSION == 9
    assert zkinfer.verify(vk, ids, output, proof)


def test_golden_v9_is_what_the_prover_makes_today():
    # proofs are deterministic: the same model, key and input give the same bytes
    vk, ids, _, proof, _ = load("tiny_mlp_v9")
    new_vk, pk = zkinfer.setup(zkinfer.models.tiny_mlp())
    assert new_vk.to_bytes() == vk
    assert zkinfer.prove(pk, ids).to_bytes() == proof


def test_golden_decoder_v9_verifies_and_is_what_the_prover_makes_today():
    vk, prompt, answer, proof, meta = load("tiny_decoder_v9")
    assert zkinfer.verify(vk, prompt, answer, proof)
    new_vk, pk = zkinfer.setup(zkinfer.models.tiny_decoder())
    assert new_vk.to_bytes() == vk
    assert zkinfer.prove(pk, prompt, max_new_tokens=meta["max_new_tokens"]).to_bytes() == proof


@pytest.mark.parametrize("old", ["tiny_decoder_v8", "tiny_mlp_v8", "tiny_mlp_v7", "tiny_mlp_v6",
                                 "tiny_mlp_v5", "tiny_mlp_v4", "tiny_mlp_v2"])
def test_older_proofs_are_refused_with_a_version_error(old):
    _, ids, output, old_proof, _ = load(old)
    vk, _, _, _, _ = load("tiny_mlp_v9")
    version = int(old[-1])
    with pytest.raises(ProofFormatError, match=f"unsupported version {version}"):
        zkinfer.verify(vk, ids, output, old_proof)


@pytest.mark.parametrize("old", ["tiny_mlp_v6", "tiny_mlp_v4", "tiny_mlp_v2"])
def test_older_keys_are_refused_with_a_version_error(old):
    # key format 5: decoders in the public model schema (format 4: one part per segment)
    assert KEY_FORMAT_VERSION == 5
    old_vk, ids, output, _, _ = load(old)
    _, _, _, proof, _ = load("tiny_mlp_v9")
    with pytest.raises(ProofFormatError, match="version"):
        zkinfer.verify(old_vk, ids, output, proof)


def test_golden_v9_rejects_another_output():
    vk, ids, output, proof, _ = load("tiny_mlp_v9")
    with pytest.raises(VerificationError, match="another output"):
        zkinfer.verify(vk, ids, output + 1, proof)
