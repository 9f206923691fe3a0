"""The Numba kernels of the decoder ops (:mod:`zkinfer.model._decoder_kernels`, called by each
op's ``kernel()``) write every column bit for bit as the op's numpy ``reference()``: random
parameters and inputs (hypothesis), ``n = 1``, ties in the softmax and argmax maxima, extreme
values at the declared widths, all-zero RMSNorm rows, clamped requantizations; and the whole
tiny decoder's Numba forward equals the reference forward and the integer Llama's logits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from zkinfer.errors import ModelError
from zkinfer.model import int_llama
from zkinfer.model.decoder import llama_of
from zkinfer.model.forward import forward
from zkinfer.model.int_llama import IntAttention, IntRMSNorm, IntRope, IntSwiGLU
from zkinfer.model.ops import causal_attention as ca
from zkinfer.model.ops.head import ARGMAX_HOME, LOGITS_HOME, OpArgmax, OpLogits
from zkinfer.model.ops.requant import Requant
from zkinfer.model.ops.rmsnorm import HOME as RMSNORM_HOME
from zkinfer.model.ops.rmsnorm import OpRMSNorm
from zkinfer.model.ops.rope import HOME as ROPE_HOME
from zkinfer.model.ops.rope import OpRope
from zkinfer.model.ops.swiglu import HOME as SWIGLU_HOME
from zkinfer.model.ops.swiglu import OpSwiGLU
from zkinfer.model.ops.tokens import HOME as TOKENS_HOME
from zkinfer.model.ops.tokens import OpTokens
from zkinfer.model.reference import forward_reference
from zkinfer.models import tiny_decoder

SEEDS = st.integers(0, 2**32 - 1)


def kernel_equals_reference(home, op, model, ids, inputs: dict) -> dict:
    """Run ``reference`` and ``kernel`` (into columns prefilled with junk) and assert every
    column equal; returns the reference's columns."""
    ref = home.reference(op, model, ids, dict(inputs))
    cols = {**inputs, **{k: np.full(np.shape(v), -7, dtype=np.int64) for k, v in ref.items()}}
    home.kernel(op, model, ids, cols)
    for name, want in ref.items():
        want = np.asarray(want)
        assert want.dtype == np.int64, name
        assert np.array_equal(cols[name], want), f"column {name} differs"
    for name, value in inputs.items():  # inputs untouched
        assert cols[name] is value
    return ref


def clamp_requant(rng, d: int, mult_bits: int, shift: int, out_bits: int) -> Requant:
    """Per-channel multipliers (both extremes included) and an output clamp of ``out_bits``."""
    lim = (1 << (mult_bits - 1)) - 1
    m = rng.integers(-lim, lim + 1, size=d).astype(np.int64)
    m[0] = -lim
    if d > 1:
        m[1] = lim
    return Requant(m, shift, -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1)


def extremes(rng, shape, bits: int) -> np.ndarray:
    """Random signed ``bits``-bit values with both ends of the width planted."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    x = rng.integers(lo, hi + 1, size=shape).astype(np.int64)
    flat = x.reshape(-1)
    flat[0] = lo
    flat[-1] = hi
    return x


# ---------------------------------------------------------------------------------- tokens


@settings(max_examples=examples(25, 100))
@given(seed=SEEDS, n=st.integers(1, 9), vocab=st.integers(1, 40), d=st.integers(1, 24),
       emb_bits=st.integers(2, 12), out_bits=st.integers(2, 12))
def test_tokens_kernel(seed, n, vocab, d, emb_bits, out_bits):
    rng = np.random.default_rng(seed)
    table = extremes(rng, (vocab, d), emb_bits)
    rq = clamp_requant(rng, d, 16, int(rng.integers(1, 20)), out_bits)
    op = OpTokens("embed", rq)
    ids = rng.integers(0, vocab, size=n).astype(np.int64)
    ids[0] = vocab - 1
    model = SimpleNamespace(tok_emb=table)
    ref = kernel_equals_reference(TOKENS_HOME, op, model, ids, {})
    # int_llama.embed: the same integers
    out, _ = int_llama.embed(ids, table, rq)
    assert np.array_equal(ref["embed.out"], out)


def test_tokens_kernel_rejects_an_id_outside_the_table():
    rng = np.random.default_rng(0)
    table = extremes(rng, (5, 3), 8)
    op = OpTokens("embed", clamp_requant(rng, 3, 8, 4, 8))
    cols = {f"embed.{c}": np.zeros((2, 3), dtype=np.int64) for c in ("e", "q", "rem", "out")}
    for bad in (5, -1):
        with pytest.raises(ModelError, match="outside the embedding"):
            TOKENS_HOME.kernel(op, SimpleNamespace(tok_emb=table), np.array([0, bad]), cols)


# --------------------------------------------------------------------------------- rmsnorm


@settings(max_examples=examples(40, 160))
@given(seed=SEEDS, n=st.integers(1, 7), d=st.integers(1, 80), xb=st.integers(1, 26),
       eps=st.integers(1, 5000), extra=st.integers(0, 30), mb=st.integers(2, 20),
       ob=st.integers(2, 16))
def test_rmsnorm_kernel(seed, n, d, xb, eps, extra, mb, ob):
    rng = np.random.default_rng(seed)
    M = d * (1 << (2 * xb - 2)) + eps
    k = min(60, max(2, M.bit_length() + extra))
    if M > 1 << k:
        k = 60
    eps = min(eps, 1 << k)
    shift = max(1, k // 2 + mb - ob)
    op = OpRMSNorm("norm", "x", IntRMSNorm(eps, k, clamp_requant(rng, d, mb, shift, ob)))
    x = extremes(rng, (n, d), xb)
    x[0] = 0  # an all-zero row: ms = eps, the largest rsqrt
    if n > 1:
        x[1] = -(1 << (xb - 1))  # the largest ms
    ref = kernel_equals_reference(RMSNORM_HOME, op, None, np.arange(n), {"x": x})
    out, _ = int_llama.rmsnorm(x, op.norm, (xb, True))
    assert np.array_equal(ref["norm.out"], out)


@pytest.mark.parametrize("d, xb, k", [(576, 24, 58), (576, 24, 60), (7, 28, 60)])
def test_rmsnorm_kernel_at_the_widest_parameters(d, xb, k):
    """SmolLM2's residual stream (24 bits, d = 576, k = 58) and the widest supported ``k``."""
    rng = np.random.default_rng(d + xb + k)
    op = OpRMSNorm("norm", "x", IntRMSNorm(443, k, clamp_requant(rng, d, 16, k // 2 + 2, 14)))
    x = extremes(rng, (4, d), xb)
    x[0] = 0
    x[1] = -(1 << (xb - 1))
    x[2, ::2], x[2, 1::2] = (1 << (xb - 1)) - 1, -(1 << (xb - 1))
    kernel_equals_reference(RMSNORM_HOME, op, None, np.arange(4), {"x": x})


# ------------------------------------------------------------------------------------ rope


@settings(max_examples=examples(30, 120))
@given(seed=SEEDS, n=st.integers(1, 12), heads=st.integers(1, 4), log_dh=st.integers(1, 5),
       bits=st.integers(1, 16), xb=st.integers(2, 24), narrow=st.booleans())
def test_rope_kernel(seed, n, heads, log_dh, bits, xb, narrow):
    rng = np.random.default_rng(seed)
    dh = 1 << log_dh
    lim = 1 << bits
    positions = n + int(rng.integers(0, 4))
    cos = rng.integers(-lim, lim + 1, size=(positions, dh // 2)).astype(np.int64)
    sin = rng.integers(-lim, lim + 1, size=(positions, dh // 2)).astype(np.int64)
    cos[0, 0], sin[-1, -1] = lim, -lim
    c = 1 << (max(1, xb - 2) if narrow else xb + 2)  # a narrow clamp: both ends clamp
    op = OpRope("r", "x", IntRope(cos, sin, bits, -c, c - 1), heads, dh)
    x = extremes(rng, (n, heads * dh), xb)
    ref = kernel_equals_reference(ROPE_HOME, op, None, np.arange(n), {"x": x})
    want, _ = int_llama.rope(x.reshape(n, heads, dh).transpose(1, 0, 2), np.arange(n), op.rope,
                             (xb, True))
    assert np.array_equal(ref["r.out"], want.transpose(1, 0, 2).reshape(n, -1))


def test_rope_kernel_rejects_more_rows_than_positions():
    rng = np.random.default_rng(1)
    cos = rng.integers(-16, 17, size=(2, 2)).astype(np.int64)
    op = OpRope("r", "x", IntRope(cos, cos.copy(), 4, -100, 99), 1, 4)
    cols = {"x": np.zeros((3, 4), dtype=np.int64),
            **{f"r.{c}": np.zeros((3, 4), dtype=np.int64) for c in ("q", "rem", "out")}}
    with pytest.raises(ModelError, match="positions"):
        ROPE_HOME.kernel(op, None, np.arange(3), cols)


# ----------------------------------------------------------------------- causal attention


def attention_instance(rng, n, G, g, dh, shift, qk_bits, v_bits=10, unit=0.04, exp_bits=12,
                       prob_bits=10, ctx_bits=8, ties=False):
    table = int_llama._exp_table(unit, exp_bits)
    d = G * g * dh
    ctx = clamp_requant(rng, d, 20, prob_bits + v_bits + 20 - ctx_bits - 2, ctx_bits)
    attn = IntAttention(table, exp_bits, prob_bits, shift, ctx)
    op = ca.OpCausalAttention("attn", "q", "k", "v", attn, G, g, dh, max(n, 8))
    q = extremes(rng, (n, d), qk_bits)
    k = extremes(rng, (n, G * dh), qk_bits)
    v = extremes(rng, (n, G * dh), v_bits)
    if ties:
        # equal keys: every visible score of a row ties (argmax: the first); zero queries too
        k[:] = k[0]
        q[0] = 0
    return op, {"q": q, "k": k, "v": v}


@settings(max_examples=examples(40, 160))
@given(seed=SEEDS, n=st.integers(1, 10), G=st.integers(1, 3), log_g=st.integers(0, 2),
       log_dh=st.integers(0, 4), shift=st.integers(0, 12), qk_bits=st.integers(1, 12),
       unit=st.sampled_from([0.01, 0.04, 0.5, 3.0]), ties=st.booleans())
def test_causal_attention_kernel(seed, n, G, log_g, log_dh, shift, qk_bits, unit, ties):
    rng = np.random.default_rng(seed)
    g, dh = 1 << log_g, 1 << log_dh
    op, inputs = attention_instance(rng, n, G, g, dh, shift, qk_bits, unit=unit, ties=ties)
    ref = kernel_equals_reference(ca.HOME, op, None, np.arange(n), inputs)
    assert ref["attn.softmax.exp_mult"].sum() == G * g * n * n
    # int_llama.attention on the heads of these columns: the same context
    H = G * g
    heads = lambda x, h: x.reshape(n, h, dh).transpose(1, 0, 2)  # noqa: E731
    w = (qk_bits, True)
    out, _ = int_llama.attention(heads(inputs["q"], H), heads(inputs["k"], G),
                                 heads(inputs["v"], G), np.arange(n), op.attn, w, w, (10, True),
                                 op.max_seq_len)
    assert np.array_equal(ref["attn.ctx.out"], out)


@pytest.mark.parametrize("shift", [0, 3])
def test_causal_attention_kernel_ties(shift):
    """Equal keys: every row's visible scores tie, the first key is the argmax, diff is 0."""
    rng = np.random.default_rng(shift)
    op, inputs = attention_instance(rng, 6, 2, 2, 4, shift, 12, ties=True)
    ref = kernel_equals_reference(ca.HOME, op, None, np.arange(6), inputs)
    assert not ref["attn.softmax.argmax"].any() and not ref["attn.softmax.diff"].any()


@pytest.mark.parametrize("shift", [0, 3])
def test_causal_attention_kernel_clamped_indices(shift):
    """A short exp table (unit 3): most visible indices clamp at ``T - 1``."""
    rng = np.random.default_rng(10 + shift)
    op, inputs = attention_instance(rng, 6, 2, 2, 4, shift, 12, unit=3.0)
    ref = kernel_equals_reference(ca.HOME, op, None, np.arange(6), inputs)
    T = len(op.attn.exp_table)
    masked = 4 * 6 * 5 // 2
    assert ref["attn.softmax.exp_mult"][T - 1] > masked
    assert (ref["attn.softmax.idx_q"] > T - 1).any()


def test_causal_attention_kernel_at_smollm2_shape():
    """SmolLM2's grouping (3 kv heads x 3 slots is not a power of two there; the circuit
    layout pads slots: here 3 kv heads x 4 slots of 64) with 20-bit queries and keys."""
    rng = np.random.default_rng(7)
    op, inputs = attention_instance(rng, 17, 3, 4, 64, 10, 20, v_bits=16, unit=0.02,
                                    exp_bits=16, prob_bits=16, ctx_bits=16)
    kernel_equals_reference(ca.HOME, op, None, np.arange(17), inputs)


# --------------------------------------------------------------------------------- swiglu


@settings(max_examples=examples(30, 120))
@given(seed=SEEDS, n=st.integers(1, 8), f=st.integers(1, 30), bits=st.integers(1, 10),
       up_bits=st.integers(1, 20), out_bits=st.integers(2, 12), shift=st.integers(1, 40))
def test_swiglu_kernel(seed, n, f, bits, up_bits, out_bits, shift):
    rng = np.random.default_rng(seed)
    half = 1 << (bits - 1)
    table = extremes(rng, (2 * half,), 16)
    rq = clamp_requant(rng, f, 16, shift, out_bits)
    op = OpSwiGLU("sw", "gate", "up", IntSwiGLU(table, bits, rq), max(n, 8))
    gate = extremes(rng, (n, f), bits)
    up = extremes(rng, (n, f), up_bits)
    ref = kernel_equals_reference(SWIGLU_HOME, op, None, np.arange(n), {"gate": gate, "up": up})
    out, _ = int_llama.swiglu(gate, up, op.sw, (up_bits, True))
    assert np.array_equal(ref["sw.out"], out)


def test_swiglu_kernel_rejects_a_gate_outside_the_table():
    rng = np.random.default_rng(3)
    table = extremes(rng, (8,), 10)
    op = OpSwiGLU("sw", "gate", "up", IntSwiGLU(table, 3, clamp_requant(rng, 2, 8, 4, 8)), 4)
    shape = (1, 2)
    cols = {"up": np.ones(shape, dtype=np.int64),
            **{f"sw.{c}": np.zeros(shape, dtype=np.int64) for c in ("silu", "prod", "q", "rem",
                                                                     "out")},
            "sw.mult": np.zeros(8, dtype=np.int64)}
    for bad in (4, -5):
        cols["gate"] = np.array([[0, bad]], dtype=np.int64)
        with pytest.raises(ModelError, match="outside the SiLU table"):
            SWIGLU_HOME.kernel(op, None, np.arange(1), cols)


# ----------------------------------------------------------------------------------- head


@settings(max_examples=examples(25, 100))
@given(seed=SEEDS, n=st.integers(1, 6), vocab=st.integers(1, 60), d=st.integers(1, 40),
       h_bits=st.integers(1, 24), emb_bits=st.integers(2, 8))
def test_logits_kernel(seed, n, vocab, d, h_bits, emb_bits):
    rng = np.random.default_rng(seed)
    emb = extremes(rng, (vocab, d), emb_bits)
    h = extremes(rng, (n, d), h_bits)
    op = OpLogits("head", "h", "tok_emb", vocab, emb_bits)
    model = SimpleNamespace(tok_emb=emb)
    ref = kernel_equals_reference(LOGITS_HOME, op, model, np.arange(n), {"h": h})
    assert np.array_equal(ref["head.logits"], int_llama.lm_head(h, emb, (h_bits, True)))


@pytest.mark.parametrize("h_bits, vocab", [(30, 9000), (46, 20)])
def test_logits_kernel_in_blocks_and_beyond_2_53(h_bits, vocab):
    """A vocabulary of several float blocks, and partial sums beyond ``2^53`` (the int64
    product: float64 would round)."""
    rng = np.random.default_rng(h_bits)
    emb = extremes(rng, (vocab, 64), 8)
    h = extremes(rng, (3, 64), h_bits)
    op = OpLogits("head", "h", "tok_emb", vocab, 8)
    ref = kernel_equals_reference(LOGITS_HOME, op, SimpleNamespace(tok_emb=emb), np.arange(3),
                                  {"h": h})
    if h_bits == 46:
        assert int(np.abs(ref["head.logits"]).max()) >= 1 << 53


@settings(max_examples=examples(30, 120))
@given(seed=SEEDS, n=st.integers(1, 6), vocab=st.integers(1, 50), bits=st.integers(1, 60),
       ties=st.booleans())
def test_argmax_kernel(seed, n, vocab, bits, ties):
    rng = np.random.default_rng(seed)
    logits = extremes(rng, (n, vocab), bits)
    if ties:
        # every row holds its maximum at several places (the lowest wins); one constant row
        for i in range(n):
            logits[i, rng.integers(0, vocab, size=3)] = logits[i].max()
        logits[0] = logits[0, 0]
    op = OpArgmax("argmax", "logits", vocab)
    ref = kernel_equals_reference(ARGMAX_HOME, op, None, np.arange(n), {"logits": logits})
    assert np.array_equal(ref["argmax.ids"], int_llama.argmax_lowest(logits))


# --------------------------------------------------------------------------- tiny decoder


@pytest.fixture(scope="module")
def decoder():
    return tiny_decoder()


@pytest.mark.parametrize("ids", [[5], [0, 0, 0], list(range(7)), [299, 2, 17, 17, 100, 3],
                                 [(i * 37) % 300 for i in range(64)]])
def test_tiny_decoder_forward_matches_reference_and_llama(decoder, ids):
    ids = np.asarray(ids, dtype=np.int64)
    fast = forward(decoder, ids)
    ref = forward_reference(decoder, ids)
    assert list(fast) == list(ref)
    for name in ref:
        assert fast[name].dtype == np.int64, name
        assert np.array_equal(fast[name], ref[name]), f"column {name} differs"
    assert fast.specs == ref.specs
    assert np.array_equal(fast["head.logits"], llama_of(decoder).logits(ids))
