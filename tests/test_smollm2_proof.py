"""The real SmolLM2-135M-Instruct: a short chat answer is generated, proven with the default PCS
and verified, and the circuit's model computes the integer Llama's logits (``slow``: the weights
package must be installed; setup commits 135 M weights)."""

from __future__ import annotations

import numpy as np
import pytest

import zkinfer

pytest.importorskip("gguf", reason='needs the extra "llm" (pip install "zkinfer[llm]")')
pytest.importorskip("tokenizers", reason='needs the extra "llm" (pip install "zkinfer[llm]")')


@pytest.fixture(scope="module")
def smollm2():
    try:
        return zkinfer.models.smollm2()
    except zkinfer.MissingDependencyError as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
def test_circuit_model_computes_the_integer_llama_logits(smollm2):
    from zkinfer.model.forward import forward

    ids = smollm2.chat_ids([{"role": "user", "content": "Hi"}])
    trace = forward(smollm2.int_model, ids)
    assert np.array_equal(trace["head.logits"], smollm2.logits(ids))


@pytest.mark.slow
def test_a_short_answer_is_proven_and_verified(smollm2):
    # a raw-text prompt: a short statement keeps the look-ups' field term within the 100-bit
    # floor (a 64 + 32-token chat answer falls to 98.6 bits; see the README)
    prompt = smollm2.tokenize("The capital of France is")
    vk, pk = zkinfer.setup(smollm2)
    proof = zkinfer.prove(pk, prompt, max_new_tokens=3)
    assert np.array_equal(proof.output, smollm2.generate(prompt, 3))
    assert "Paris" in smollm2.decode(proof.output)
    assert zkinfer.verify(vk, prompt, proof.output, proof.to_bytes())
    other = proof.output.copy()
    other[-1] = (other[-1] + 1) % 49152
    with pytest.raises(zkinfer.VerificationError, match="another output"):
        zkinfer.verify(vk, prompt, other, proof)
