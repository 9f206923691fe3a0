"""The integer Llama decoder (:mod:`zkinfer.model.int_llama`) on a tiny random checkpoint.

Each op is checked against its documented semantics written out again here (plain Python
integers, loops), the causal mask and the grouped-query mapping by perturbation, the KV cache
against recomputing the whole prefix (bit for bit), the declared widths by a full trace. The
real SmolLM2-135M-Instruct tests are marked ``slow``.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from zkinfer.errors import ModelError
from zkinfer.model import int_llama as il
from zkinfer.model.gguf import LlamaConfig, expected_shapes
from zkinfer.model.llama import LlamaFloat
from zkinfer.model.ops.requant import Requant

VOCAB, CTX = 300, 64


def _config() -> LlamaConfig:
    # 6 query heads over 2 kv heads (group 3, as SmolLM2), head width 8
    return LlamaConfig(n_layers=2, d_model=48, n_heads=6, n_kv_heads=2, d_ff=64, vocab_size=VOCAB,
                       rope_theta=100.0, rms_eps=1e-5, head_dim=8, max_seq_len=CTX, bos_id=1, eos_id=2,
                       pad_id=None, tied=True)


def _checkpoint(seed: int = 0) -> SimpleNamespace:
    cfg = _config()
    rng = np.random.default_rng(seed)
    w = {}
    for name, shape in expected_shapes(cfg).items():
        if name.endswith("norm.weight"):
            w[name] = 1.0 + 0.2 * rng.standard_normal(shape)
        else:
            w[name] = rng.normal(0.0, 0.4, shape)
    return SimpleNamespace(config=cfg, weights=w)


@pytest.fixture(scope="module")
def tiny():
    ck = _checkpoint()
    rng = np.random.default_rng(1)
    cal = [rng.integers(0, VOCAB, 24) for _ in range(4)]
    return ck, il.quantize_llama(ck, cal)


def _ids(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, n)


# ------------------------------------------------------------------------------- ops


def _rq(pre: int, rq: Requant, c: int = 0) -> int:
    m = int(rq.m[c]) if rq.m.shape[0] > 1 else int(rq.m[0])
    q = (pre * m + (1 << (rq.shift - 1))) // (1 << rq.shift)
    return min(max(q, rq.lo), rq.hi)


def test_rmsnorm_rsqrt_is_the_exact_floor_and_output_follows(tiny):
    ck, m = tiny
    rng = np.random.default_rng(2)
    p = m.layers[0].attn_norm
    for trial in range(20):
        scale = 10 ** rng.uniform(0, 4.5)
        x = np.clip(np.round(rng.standard_normal((3, 48)) * scale), -32768, 32767).astype(np.int64)
        if trial == 0:
            x[0] = 0  # ms = eps only
        cols: dict = {}
        out, _ = il.rmsnorm(x, p, (16, True), "n", il._Rec(cols, {}))
        for i in range(3):
            ms = sum(int(v) ** 2 for v in x[i]) + p.eps
            r = int(cols["n.rsqrt"][i])
            assert r * r * ms <= 1 << p.k < (r + 1) * (r + 1) * ms
            assert r == math.isqrt((1 << p.k) // ms)
            assert cols["n.rsqrt_lo"][i] == (1 << p.k) - r * r * ms
            for c in range(48):
                assert out[i, c] == _rq(int(x[i, c]) * r, p.rq, c)


def test_linear_with_residual_matches_the_formula(tiny):
    _, m = tiny
    lay = m.layers[1]
    rng = np.random.default_rng(3)
    ctx = rng.integers(-512, 512, (2, 48))
    res = rng.integers(-30000, 30000, (2, 48))
    out, _ = il.linear(ctx, lay.o, (10, True), res=res, res_width=(16, True))
    for i in range(2):
        for c in range(48):
            acc = sum(int(ctx[i, j]) * int(lay.o.w[j, c]) for j in range(48))
            pre = acc * int(lay.o.rq.m[c]) + int(res[i, c]) * int(lay.o.res_m[c])
            q = (pre + (1 << (lay.o.rq.shift - 1))) >> lay.o.rq.shift
            assert out[i, c] == min(max(q, lay.o.rq.lo), lay.o.rq.hi)
    with pytest.raises(ModelError, match="residual"):
        il.linear(ctx, lay.o, (10, True))


def test_rope_rotates_pairs_half_a_head_apart(tiny):
    _, m = tiny
    p = m.rope
    rng = np.random.default_rng(4)
    x = rng.integers(-2048, 2048, (2, 3, 8))
    pos = np.array([0, 5, 17])
    out, _ = il.rope(x, pos, p, (12, True))
    for h in range(2):
        for i, t in enumerate(pos):
            for a in range(4):
                c, s = int(p.cos[t, a]), int(p.sin[t, a])
                xa, xb = int(x[h, i, a]), int(x[h, i, a + 4])
                half = 1 << (p.bits - 1)
                assert out[h, i, a] == min(max((xa * c - xb * s + half) >> p.bits, p.lo), p.hi)
                assert out[h, i, a + 4] == min(max((xb * c + xa * s + half) >> p.bits, p.lo), p.hi)
    assert out[:, 0].tolist() == x[:, 0].tolist()  # position 0: the identity (cos 2^bits, sin 0)
    with pytest.raises(ModelError, match="positions"):
        il.rope(x, np.array([0, 1, m.max_positions]), p, (12, True))


def _attention_loops(q, k, v, q_pos, p: il.IntAttention):
    """The documented softmax and context, with Python integers and loops."""
    H, n, dh = q.shape
    G = k.shape[0]
    T = len(p.exp_table)
    out = np.zeros((n, H * dh), dtype=np.int64)
    for h in range(H):
        kv = h // (H // G)
        for i in range(n):
            seen = range(int(q_pos[i]) + 1)
            sc = [sum(int(q[h, i, e]) * int(k[kv, j, e]) for e in range(dh)) for j in seen]
            mx = max(sc)
            idx = []
            for s in sc:
                d = mx - s
                if p.score_shift:
                    d = (d + (1 << (p.score_shift - 1))) >> p.score_shift
                idx.append(min(d, T - 1))
            ex = [int(p.exp_table[t]) for t in idx]
            tot = sum(ex)
            pr = [(e << p.prob_bits) // tot for e in ex]
            for e in range(dh):
                acc = sum(pr[j] * int(v[kv, j, e]) for j in seen)
                out[i, h * dh + e] = _rq(acc, p.ctx, h * dh + e)
    return out


def test_attention_matches_loops_with_mask_and_grouped_heads(tiny):
    _, m = tiny
    p = m.layers[0].attn
    rng = np.random.default_rng(5)
    for shift in (0, 3):
        a = il.IntAttention(p.exp_table, p.exp_bits, p.prob_bits, shift, p.ctx)
        q = rng.integers(-4096, 4096, (6, 4, 8))
        k = rng.integers(-4096, 4096, (2, 7, 8))
        v = rng.integers(-512, 512, (2, 7, 8))
        q_pos = np.array([3, 4, 5, 6])  # the last 4 of 7 positions (a KV cache's view)
        cols: dict = {}
        out, _ = il.attention(q, k, v, q_pos, a, (13, True), (13, True), (10, True), CTX, "a",
                              il._Rec(cols, {}))
        assert out.tolist() == _attention_loops(q, k, v, q_pos, a).tolist()
        T = len(a.exp_table)
        masked = np.arange(7)[None, :] > q_pos[:, None]
        assert (cols["a.softmax.idx"][:, masked] == T - 1).all()
        assert (cols["a.softmax.exp"][:, masked] == 0).all()
        assert (cols["a.softmax.p"][:, masked] == 0).all()
        # the masked entries are not part of the maximum
        assert (cols["a.softmax.argmax"] <= q_pos[None, :]).all()


def test_grouped_query_heads_read_their_own_kv_head(tiny):
    _, m = tiny
    p = m.layers[0].attn
    rng = np.random.default_rng(6)
    q = rng.integers(-4096, 4096, (6, 3, 8))
    k = rng.integers(-4096, 4096, (2, 3, 8))
    v = rng.integers(-512, 512, (2, 3, 8))
    pos = np.arange(3)
    base, _ = il.attention(q, k, v, pos, p, (13, True), (13, True), (10, True), CTX)
    v2 = v.copy()
    v2[1] = rng.integers(-512, 512, (3, 8))  # kv head 1 feeds query heads 3, 4, 5
    out, _ = il.attention(q, k, v2, pos, p, (13, True), (13, True), (10, True), CTX)
    assert out[:, :24].tolist() == base[:, :24].tolist()
    assert out[:, 24:].tolist() != base[:, 24:].tolist()


def test_swiglu_reads_the_table_at_the_clamped_gate(tiny):
    _, m = tiny
    p = m.layers[0].swiglu
    half = 1 << (p.in_bits - 1)
    rng = np.random.default_rng(7)
    gate = rng.integers(-half, half, (2, 64))
    gate[0, :2] = [-half, half - 1]
    up = rng.integers(-512, 512, (2, 64))
    out, _ = il.swiglu(gate, up, p, (10, True))
    for i in range(2):
        for c in range(64):
            assert out[i, c] == _rq(int(p.table[gate[i, c] + half]) * int(up[i, c]), p.rq, c)
    with pytest.raises(ModelError, match="domain"):
        il.swiglu(gate + half, up, p, (10, True))


def test_silu_table_approximates_silu(tiny):
    _, m = tiny
    p = m.layers[1].swiglu
    s_g, s_s = m.scales["layer1.gate"], m.scales["layer1.silu"]
    u = (np.arange(len(p.table)) - (1 << (p.in_bits - 1))) * s_g
    assert np.abs(p.table * s_s - u / (1 + np.exp(-u))).max() <= 0.5 * s_s * 1.0001


def test_argmax_ties_go_to_the_lowest_index():
    x = np.array([[3, 7, 7, 1], [-5, -5, -5, -5], [0, 1, 2, 2]], dtype=np.int64)
    assert il.argmax_lowest(x).tolist() == [1, 0, 2]


def test_int_matmul_is_exact_and_refuses_unsafe_bounds():
    rng = np.random.default_rng(8)
    a = rng.integers(-(1 << 15), 1 << 15, (5, 300))
    b = rng.integers(-127, 128, (300, 7))
    ref = [[sum(int(a[i, t]) * int(b[t, j]) for t in range(300)) for j in range(7)] for i in range(5)]
    assert il.int_matmul(a, b, (16, True), 127).tolist() == ref
    with pytest.raises(ModelError, match="2\\^53"):
        il.int_matmul(a, b, (40, True), 1 << 10)


# ----------------------------------------------------------------------------- model


def test_masking_future_tokens_do_not_change_earlier_positions(tiny):
    _, m = tiny
    ids = _ids(9, 12)
    other = ids.copy()
    other[7:] = _ids(10, 5)
    a, b = m.trace(ids), m.trace(other)
    assert m.logits(ids)[:7].tolist() == m.logits(other)[:7].tolist()
    for name, col in a.items():
        other_col = b[name]
        if col.shape[0] == 12:  # (n, ...): token rows
            assert col[:7].tolist() == other_col[:7].tolist(), name
        elif col.ndim == 3 and col.shape[1:] == (12, 12):  # (heads, n, n): rows and keys < 7
            assert col[:, :7, :7].tolist() == other_col[:, :7, :7].tolist(), name
        else:  # (heads, n, ...)
            assert col.shape[1] == 12, name
            assert col[:, :7].tolist() == other_col[:, :7].tolist(), name


def test_kv_cache_equals_full_recompute_exactly(tiny):
    _, m = tiny
    ids = _ids(11, 15)
    full = m.logits(ids)
    cache = m.new_cache(15)
    parts = [m.extend(cache, ids[a:b]) for a, b in ((0, 4), (4, 5), (5, 11), (11, 15))]
    assert np.concatenate(parts).tolist() == full.tolist()
    prompt = ids[:6]
    out = m.generate(prompt, 8)
    seq = list(prompt)
    for _ in range(8):
        seq.append(int(il.argmax_lowest(m.logits(seq)[-1])))
    assert out.tolist() == seq[6:]


def test_generate_stops_after_a_stop_token(tiny):
    _, m = tiny
    prompt = _ids(12, 5)
    free = m.generate(prompt, 6)
    stop = int(free[2])
    first = free.tolist().index(stop)
    out = m.generate(prompt, 6, stop_ids=[stop])
    assert out.tolist() == free[: first + 1].tolist()
    assert m.generate(prompt, 0).shape == (0,)


def test_trace_columns_fit_their_declared_widths(tiny):
    _, m = tiny
    cols, widths = m.trace_widths(_ids(13, 10))
    assert set(cols) == set(widths)
    assert all(c.dtype == np.int64 for c in cols.values())
    for name in ("embed.out", "layer0.attn_norm.rsqrt", "layer1.attn.softmax.p", "layer1.swiglu.silu",
                 "layer1.down.out", "final_norm.out", "logits"):
        assert name in cols
    assert cols["logits"].tolist() == m.logits(_ids(13, 10)).tolist()
    for name, (bits, signed) in widths.items():
        lo = -(1 << (bits - 1)) if signed else 0
        hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        assert lo <= cols[name].min() and cols[name].max() <= hi, name
        assert bits <= 62, name


def test_recorder_names_a_column_outside_its_width():
    rec = il._Rec({}, {})
    rec.put("ok", np.array([-8, 7]), (4, True))
    with pytest.raises(ModelError, match="column layer3.q.out outside its declared width"):
        rec.put("layer3.q.out", np.array([0, 8]), (4, True))
    with pytest.raises(ModelError, match="int64"):
        rec.put("f", np.array([0.5]), (4, True))


def test_integer_model_tracks_the_float_model(tiny):
    ck, m = tiny
    ids = _ids(14, 16)
    lf = LlamaFloat(ck.config, ck.weights).logits(ids)
    li = m.logits(ids) * m.logit_scale
    assert np.corrcoef(lf.ravel(), li.ravel())[0, 1] > 0.97
    assert (lf.argmax(1) == li.argmax(1)).mean() >= 0.6  # random weights: near-flat logits


def test_bad_input_is_refused(tiny):
    ck, m = tiny
    for bad in ([], [VOCAB], [-1], [[1, 2]], [0.5]):
        with pytest.raises(ModelError):
            m.logits(bad)
    with pytest.raises(ModelError, match="max_new_tokens"):
        m.generate([1, 2], -1)
    with pytest.raises(ModelError, match="exceed"):
        m.generate([1, 2], CTX)
    with pytest.raises(ModelError, match="capacity"):
        m.extend(m.new_cache(2), [1, 2, 3])
    with pytest.raises(ModelError, match="calibration"):
        il.quantize_llama(ck, [])
    with pytest.raises(ModelError, match="weight_bits"):
        il.LlamaQuantConfig(weight_bits=1)
    with pytest.raises(ModelError, match="exp_rows"):
        il.LlamaQuantConfig(exp_rows=1 << 17)


def test_quantization_is_deterministic(tiny):
    ck, m = tiny
    rng = np.random.default_rng(1)
    again = il.quantize_llama(ck, [rng.integers(0, VOCAB, 24) for _ in range(4)])
    ids = _ids(15, 6)
    assert again.logits(ids).tolist() == m.logits(ids).tolist()


# ------------------------------------------------------------------- the real model (slow)


@pytest.fixture(scope="module")
def smollm2_int():
    pytest.importorskip("gguf")
    pytest.importorskip("tokenizers")
    from zkinfer.errors import MissingDependencyError
    from zkinfer.model.llama import load_smollm2

    try:
        model = load_smollm2()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "data" /
                       "llm_prompts.json").read_text())
    cal = [model.tokenize(t) for t in data["calibration"]]
    return model, il.quantize_llama(model.checkpoint, cal)


@pytest.mark.slow
def test_smollm2_integer_knows_the_capital_of_france(smollm2_int):
    model, m = smollm2_int
    ids = model.chat_ids([{"role": "user", "content": "What is the capital of France?"}])
    out = m.generate(ids, 12, model.stop_ids)
    assert "Paris" in model.decode(out)


@pytest.mark.slow
def test_smollm2_integer_generate_equals_recompute(smollm2_int):
    model, m = smollm2_int
    ids = model.tokenize("The quick brown fox")
    out = m.generate(ids, 4)
    seq = list(ids)
    for _ in range(4):
        seq.append(int(il.argmax_lowest(m.logits(seq)[-1])))
    assert out.tolist() == seq[len(ids):]
    cols = m.trace(ids)
    assert cols["logits"].shape == (len(ids), 49152)


def test_every_requantization_shift_is_at_most_max_shift(tiny):
    ck, _ = tiny
    rng = np.random.default_rng(1)
    cal = [rng.integers(0, VOCAB, 24) for _ in range(4)]
    for limit in (20, 32):
        m = il.quantize_llama(ck, cal, il.LlamaQuantConfig(max_shift=limit))
        shifts = [m.embed_rq.shift, m.final_norm.rq.shift]
        for L in m.layers:
            shifts += [L.attn_norm.rq.shift, L.mlp_norm.rq.shift, L.attn.ctx.shift,
                       L.swiglu.rq.shift]
            shifts += [p.rq.shift for p in (L.q, L.k, L.v, L.o, L.gate, L.up, L.down)]
        assert max(shifts) <= limit
    with pytest.raises(ModelError, match="max_shift"):
        il.LlamaQuantConfig(max_shift=7)
