"""LayerNorm's reciprocal square root with more than one limb.

With a 16-bit residual stream the quantizer picks ``k = 58`` and the variance reaches 34 bits, so
the limbs of ``rsqrt`` and ``rsqrt^2`` are ``L = 61 - 34 = 27`` bits wide: two limbs ``y_i`` of
``rsqrt`` and three limbs ``t_i`` of ``rsqrt^2``. Every built-in model fits one ``y`` limb, where
``rsqrt limbs`` alone pins ``y0 = rsqrt``; here the range checks of the limbs and of their products
with ``var`` (``y_i``, ``wa_i``, ``t_i``, ``ta_i``) are what keep ``rsqrt low`` and ``rsqrt high``
below ``p / 2``, so that they hold over the integers. Without any one of them the field-bound check
refuses the circuit on both sides.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import zkinfer
from tests.cheating.engine import SMALL
from zkinfer.commit import TrivialPCS
from zkinfer.model.config import TransformerConfig
from zkinfer.models import random_transformer
from zkinfer.protocol import circuit as circuit_mod
from zkinfer.protocol.bounds import FieldBoundError
from zkinfer.protocol.model_circuit import build_circuit

IDS = np.array([3, 1, 4], dtype=np.int64)
CONFIG = TransformerConfig(n_layers=1, d_model=4, n_heads=2, d_ff=8, max_seq_len=4, vocab_size=16,
                           norm="pre")


@pytest.fixture(scope="module")
def keys():
    model = random_transformer(CONFIG, 5, dataclasses.replace(SMALL, resid_bits=16))
    vk, pk = zkinfer.setup(model, pcs=TrivialPCS())
    return model, vk, pk


def test_two_limb_rsqrt_proves_and_verifies(keys):
    model, vk, pk = keys
    proof = zkinfer.prove(pk, IDS)
    assert zkinfer.verify(vk, IDS, proof.output, proof, allow_insecure=True)
    names = build_circuit(model, len(IDS), proof.output).trace
    # the second LayerNorm (its input is the 16-bit residual) has two y limbs and three t limbs
    assert {"layer0.ln2.y1", "layer0.ln2.wa1", "layer0.ln2.t2", "layer0.ln2.ta2"} <= set(names)
    assert "layer0.ln2.y2" not in names and "layer0.ln2.t3" not in names


@pytest.mark.parametrize(("limb", "refusal"), [
    ("y", r"identity 'layer0\.ln2\.y0 padding': column 'layer0\.ln2\.y0' has no integer bound"),
    ("t", r"identity 'layer0\.ln2\.t0 padding': column 'layer0\.ln2\.t0' has no integer bound"),
    ("wa", r"identity 'layer0\.ln2 rsqrt high' can reach 2\^\d+ >= p / 2"),
    ("ta", r"identity 'layer0\.ln2 rsqrt low' can reach 2\^\d+ >= p / 2"),
])
def test_circuit_without_a_limb_range_check_refused(keys, limb, refusal, monkeypatch):
    model, _, _ = keys
    add_trace = circuit_mod.Circuit.add_trace

    def without_width(self, name, shape, width, padded_zero=True):
        if re.fullmatch(rf".*\.{limb}\d", name):
            width = None
        return add_trace(self, name, shape, width, padded_zero)

    monkeypatch.setattr(circuit_mod.Circuit, "add_trace", without_width)
    with pytest.raises(FieldBoundError, match=refusal):
        build_circuit(model, len(IDS), np.zeros(CONFIG.d_model, dtype=np.int64))
