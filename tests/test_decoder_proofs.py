"""Decoder proofs end to end on the built-in tiny decoder: the circuit's model computes the
integer Llama's logits bit for bit, an answer is generated and proven, and each attack of the
decoder statement is rejected by the named check.

The attacks: a changed generated token; the second-best token claimed; an answer cut before its
stop token or extended past it; a wrong ``max_new_tokens``; a changed prompt token; changed
predictions; a changed mask, RoPE, norm or logit entry in the trace (a cheating prover's proof);
a key of another model.
"""

from __future__ import annotations

import numpy as np
import pytest

import zkinfer
from zkinfer.commit import TrivialPCS
from zkinfer.errors import InvalidArgumentError, VerificationError
from zkinfer.model.decoder import llama_of
from zkinfer.model.forward import forward
from zkinfer.model.reference import forward_reference
from zkinfer.statement import Answer
from zkinfer.testing import prove_trace

PROMPT = np.array([5, 17, 42, 99, 7], dtype=np.int64)


@pytest.fixture(scope="module")
def keys():
    model = zkinfer.models.tiny_decoder()
    vk, pk = zkinfer.setup(model, TrivialPCS())
    return model, vk, pk


@pytest.fixture(scope="module")
def honest(keys):
    model, vk, pk = keys
    proof = zkinfer.prove(pk, PROMPT, max_new_tokens=4)
    return proof


def _verify(vk, prompt, generated, proof):
    return zkinfer.verify(vk, prompt, generated, proof, allow_insecure=True)


def test_the_circuit_model_computes_the_integer_llama_logits(keys):
    model = keys[0]
    il = llama_of(model)
    ids = np.random.default_rng(3).integers(0, 300, 11)
    trace = forward(model, ids)
    ref = forward_reference(model, ids)
    assert np.array_equal(trace["head.logits"], il.logits(ids))
    assert np.array_equal(ref["head.logits"], trace["head.logits"])
    assert np.array_equal(trace.output, np.argmax(il.logits(ids), axis=-1))


def test_an_answer_is_generated_proven_and_verified(keys, honest):
    model, vk, _ = keys
    proof = honest
    gen = llama_of(model).generate(PROMPT, 4, model.decoder.stop_ids.tolist())
    assert np.array_equal(proof.output, gen)
    assert np.array_equal(proof.ids, PROMPT) and proof.max_new_tokens == 4
    assert proof.predictions.shape == (PROMPT.shape[0] - 1,)
    assert _verify(vk, PROMPT, proof.output, proof)
    again = zkinfer.Proof.from_bytes(proof.to_bytes())
    assert _verify(vk.to_bytes(), PROMPT, again.output, again.to_bytes())


def _rejects(vk, prompt, generated, proof, check, fragment):
    with pytest.raises(VerificationError) as info:
        _verify(vk, prompt, generated, proof)
    assert info.value.check == check, info.value
    assert fragment in str(info.value)


def test_a_changed_generated_token_is_rejected(keys, honest):
    vk = keys[1]
    gen = honest.output.copy()
    gen[1] = (gen[1] + 1) % 300
    _rejects(vk, PROMPT, gen, honest, "statement", "another output")


def test_a_changed_prompt_token_is_rejected(keys, honest):
    vk = keys[1]
    prompt = PROMPT.copy()
    prompt[2] += 1
    _rejects(vk, prompt, honest.output, honest, "statement", "another input")


def _cheat(keys, answer: Answer, tamper=None):
    """A cheating prover's proof of ``answer`` (forward over its ids, columns tampered)."""
    model, _, pk = keys
    trace = forward(model, answer.ids)
    cols = {k: np.array(v) for k, v in trace.items()}
    if tamper is not None:
        tamper(cols)
    return prove_trace(pk, answer.ids, cols, answer.output, strict=False, answer=answer)


def _second_best(model, ids, row):
    logits = llama_of(model).logits(ids)[row]
    order = np.argsort(-logits, kind="stable")
    return int(order[1])


def test_the_second_best_token_claimed_is_rejected_by_the_argmax(keys, honest):
    model, vk, _ = keys
    P = PROMPT.shape[0]
    gen = honest.output.copy()
    answer = Answer(PROMPT, gen, 4, honest.predictions)
    # claim the runner-up at the last position (the forward's ids do not change)
    gen2 = gen.copy()
    gen2[-1] = _second_best(model, answer.ids, answer.ids.shape[0] - 1)
    cheat = Answer(PROMPT, gen2, 4, honest.predictions)

    def tamper(cols):
        cols["argmax.ids"][-1] = gen2[-1]
    proof = _cheat(keys, cheat, tamper)
    # the argmax identities (gap = best - logits - B, O gap = 0) over the (n, vocab) cube
    _rejects(vk, PROMPT, gen2, proof, "identities (12 variables)", "does not match")
    assert P  # the prompt is unchanged


def test_an_answer_ending_at_its_stop_token_verifies_and_cut_or_extended_is_rejected(keys,
                                                                                     honest):
    from zkinfer.model.decoder import decoder_model

    # the same integers, with the honest answer's second token as the stop token
    stop = int(honest.output[1])
    model = decoder_model(llama_of(keys[0]), stop_ids=[stop])
    vk, pk = zkinfer.setup(model, TrivialPCS())
    proof = zkinfer.prove(pk, PROMPT, max_new_tokens=4)
    assert proof.output.tolist() == honest.output[:2].tolist()  # ended at the stop token
    assert _verify(vk, PROMPT, proof.output, proof)
    # cut before the stop token: one token, under a limit of 4
    cut = zkinfer.Proof(proof.vk_digest, proof.ids, proof.output[:1], proof.trace_commitment,
                        proof.body, 4, proof.predictions)
    _rejects(vk, PROMPT, proof.output[:1], cut, "statement", "without a stop token")
    # extended past it: the third greedy token after the stop token
    longer = honest.output[:3]
    ext = zkinfer.Proof(proof.vk_digest, proof.ids, longer, proof.trace_commitment,
                        proof.body, 4, proof.predictions)
    _rejects(vk, PROMPT, longer, ext, "statement", "goes on after a stop token")


def test_a_wrong_max_new_tokens_is_rejected(keys, honest):
    vk = keys[1]
    stops = keys[0].decoder.stop_ids.tolist()
    assert int(honest.output[-1]) not in stops  # the honest answer ran to its limit of 4
    cases = ((honest.output.shape[0] - 1, "is below the answer's"),
             (honest.max_new_tokens + 1, "without a stop token"))
    for limit, fragment in cases:
        cheat = zkinfer.Proof(honest.vk_digest, honest.ids, honest.output,
                              honest.trace_commitment, honest.body, limit, honest.predictions)
        _rejects(vk, PROMPT, honest.output, cheat, "statement", fragment)


def test_changed_predictions_are_rejected(keys, honest):
    vk = keys[1]
    pred = honest.predictions.copy()
    pred[0] = (pred[0] + 1) % 300
    cheat = zkinfer.Proof(honest.vk_digest, honest.ids, honest.output, honest.trace_commitment,
                          honest.body, honest.max_new_tokens, pred)
    # the predictions are absorbed with the statement: every challenge after them moves, and
    # the first relation (the embedding's product) no longer matches
    _rejects(vk, PROMPT, honest.output, cheat, "embedding embed.e", "does not match")


@pytest.mark.parametrize("column, check", [
    ("layer0.rope_q.out", "product layer0.attn.scores"),      # a RoPE output entry
    ("layer1.attn.softmax.exp", "table layer1.attn.softmax"),  # an exp not EXP[idx]
    ("layer0.attn_norm.out", "matmul layer0.q.acc"),           # an RMSNorm output entry
    ("final_norm.rsqrt", "identities (3 variables)"),          # the rsqrt bracket / z = x rsqrt
    ("head.logits", "product head.logits"),                    # a logit
])
def test_a_changed_trace_entry_is_rejected(keys, honest, column, check):
    vk = keys[1]
    answer = Answer(PROMPT, honest.output, honest.max_new_tokens, honest.predictions)

    def tamper(cols):
        a = cols[column]
        a.reshape(-1)[a.size // 2] += 1
    proof = _cheat(keys, answer, tamper)
    _rejects(vk, PROMPT, honest.output, proof, check, "")


def test_a_masked_score_made_visible_is_rejected(keys, honest):
    # the attention of row 0 pretends to see key 1 (a future token): its exp is made nonzero
    vk = keys[1]
    answer = Answer(PROMPT, honest.output, honest.max_new_tokens, honest.predictions)

    def tamper(cols):
        e = cols["layer0.attn.softmax.exp"]
        e[0, 0, 1] = e[0, 0, 0]
    proof = _cheat(keys, answer, tamper)
    # idx stays T - 1 there (EXP[T - 1] = 0): the pair (idx, exp) is not in the table
    _rejects(vk, PROMPT, honest.output, proof, "table layer0.attn.softmax", "do not cancel")


def test_a_key_of_another_model_is_rejected(keys, honest):
    other, _ = zkinfer.setup(zkinfer.models.tiny_decoder(seed=1), TrivialPCS())
    _rejects(other, PROMPT, honest.output, honest, "statement", "another verifying key")


def test_prove_refuses_a_decoder_without_max_new_tokens_and_an_encoder_with_it(keys):
    pk = keys[2]
    with pytest.raises(InvalidArgumentError, match="max_new_tokens"):
        zkinfer.prove(pk, PROMPT)
    with pytest.raises(InvalidArgumentError, match="max_new_tokens"):
        zkinfer.prove(pk, PROMPT, max_new_tokens=0)
    _, epk = zkinfer.setup("tiny-mlp", TrivialPCS())
    with pytest.raises(InvalidArgumentError, match="encoder"):
        zkinfer.prove(epk, [1, 2, 3], max_new_tokens=2)


# ------------------------------------------------------------------ GPT-2-style decoders


@pytest.fixture(scope="module")
def gpt2():
    from zkinfer.model.config import TransformerConfig
    from zkinfer.models import random_transformer

    cfg = TransformerConfig(n_layers=2, d_model=32, n_heads=4, d_ff=64, max_seq_len=16,
                            vocab_size=50, norm="pre", activation="gelu", block="gpt2")
    model = random_transformer(cfg, 0)
    vk, pk = zkinfer.setup(model, TrivialPCS())
    return model, vk, pk


def test_a_gpt2_style_answer_is_proven_and_its_tokens_are_the_forwards_argmax(gpt2):
    model, vk, pk = gpt2
    prompt = np.array([1, 2, 3, 4], dtype=np.int64)
    proof = zkinfer.prove(pk, prompt, max_new_tokens=3)
    assert proof.output.shape == (3,)  # no stop ids: the answer runs to max_new_tokens
    ids = np.concatenate([prompt, proof.output[:-1]])
    logits = forward_reference(model, ids)["head.logits"]
    assert np.array_equal(np.concatenate([proof.predictions, proof.output]),
                          np.argmax(logits, axis=-1))
    assert _verify(vk, prompt, proof.output, proof)
    cut = zkinfer.Proof(proof.vk_digest, proof.ids, proof.output[:2], proof.trace_commitment,
                        proof.body, 3, proof.predictions)
    _rejects(vk, prompt, proof.output[:2], cut, "statement", "without a stop token")


def test_large_circuits_run_their_range_checks_at_two_challenges(keys, monkeypatch):
    # a circuit above ONE_CHALLENGE_MAX_LEAVES (a real decoder's ~2^29 limb entries) runs the
    # range LogUp at two challenges; the tiny decoder is made "large" by lowering the bound
    from zkinfer.protocol import range as prange
    from zkinfer.protocol.engine import RangeChecks
    from zkinfer.protocol.model_circuit import build_circuit
    from zkinfer.security import protocol_terms

    model, vk, pk = keys
    circuit = build_circuit(model, 8, np.zeros(8, dtype=np.int64))
    leaves = [prange.leaves(RangeChecks(s)._sizes(circuit)) for s in range(circuit.num_segments)]
    one = protocol_terms(circuit)
    monkeypatch.setattr(prange, "ONE_CHALLENGE_MAX_LEAVES", 0)
    two = protocol_terms(circuit)
    # the range term drops from the leaves to 1 per segment ((L / p^2)^2 <= 1 / p^2); the
    # pair look-ups' terms stay
    assert one["lookups"] - two["lookups"] == sum(leaves) - len(leaves) > 1 << 16
    assert two["gkr"] > one["gkr"]
    proof = zkinfer.prove(pk, PROMPT, max_new_tokens=4)
    assert np.array_equal(proof.output, np.asarray(proof.output)) and _verify(
        vk, PROMPT, proof.output, proof)
    monkeypatch.undo()
    # a verifier at one challenge expects other trees: the proof's shape does not match
    _rejects(vk, PROMPT, proof.output, proof, "range", "number of layers")
