"""The integer building blocks against Python integers, and the model against the float model."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from zkinfer.model import forward
from zkinfer.model.float_model import activation_fn, embed_float, erf
from zkinfer.model.intmodel import Requant, signed_bits, unsigned_bits
from zkinfer.model.reference import isqrt_floor_div, requantize
from zkinfer.model.synthetic import random_float_model
from zkinfer.models import TINY_CONFIG, tiny


@given(
    pre=st.lists(st.integers(-(2**50), 2**50), min_size=1, max_size=20),
    shift=st.integers(1, 40),
    lo=st.integers(-300, 0),
    span=st.integers(1, 600),
)
def test_requantize_is_round_half_up_then_clamp(pre, shift, lo, span):
    rq = Requant(np.ones(1, dtype=np.int64), shift, lo, lo + span)
    q, rem, out = requantize(np.array(pre, dtype=np.int64), rq)
    for p, qi, ri, oi in zip(pre, q, rem, out, strict=True):
        # floor((p + 2^(s-1)) / 2^s) is round-half-up of p / 2^s
        exp_q = (p + (1 << (shift - 1))) // (1 << shift)
        assert qi == exp_q
        assert 0 <= ri < 1 << shift and qi * (1 << shift) + ri == p + (1 << (shift - 1))
        assert oi == min(max(exp_q, lo), lo + span)


@given(k=st.integers(2, 58), v=st.lists(st.integers(1, 2**50), min_size=1, max_size=10))
def test_isqrt_floor_div_is_the_advice_rsqrt(k, v):
    y = isqrt_floor_div(1 << k, np.array(v, dtype=np.int64))
    for yi, vi in zip(y.tolist(), v, strict=True):
        assert yi * yi * vi <= 1 << k < (yi + 1) * (yi + 1) * vi


@given(lo=st.integers(-(2**40), 2**40), span=st.integers(0, 2**40))
def test_bit_widths(lo, span):
    hi = lo + span
    b = signed_bits(lo, hi)
    assert -(1 << (b - 1)) <= lo and hi < 1 << (b - 1)
    assert b == 1 or lo < -(1 << (b - 2)) or hi >= 1 << (b - 2)
    if lo >= 0:
        u = unsigned_bits(hi)
        assert hi < 1 << u and (u == 1 or hi >= 1 << (u - 1))


def test_erf_close_to_math_erf():
    x = np.linspace(-6, 6, 2001)
    ref = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - ref)) < 2e-7
    exact = activation_fn("gelu", exact=True)(x)
    assert np.max(np.abs(activation_fn("gelu")(x) - exact)) < 1e-6


def test_tiny_integer_model_tracks_float_model():
    float_model = random_float_model(TINY_CONFIG, 0)
    model = tiny(0)
    rng = np.random.default_rng(123)
    cos = []
    for n in (3, 16, 32):
        ids = rng.integers(0, 256, n, dtype=np.int64)
        out = forward(model, ids).output * model.out_scale
        ref = embed_float(float_model, ids)
        cos.append(float(out @ ref / np.linalg.norm(out)))
    assert min(cos) > 0.99, cos


def test_no_float_in_model_parameters():
    model = tiny()
    arrays = [model.tok_emb, model.pos_emb]
    for layer in model.layers:
        a, f = layer.attn, layer.ffn
        arrays += [a.q.w, a.q.b, a.q.rq.m, a.o.res_m, a.ctx.m, a.exp_table, f.table, f.down.w]
        arrays += [layer.ln1.rq.m, layer.ln1.beta]
    assert all(x.dtype == np.int64 for x in arrays)
