"""Causal grouped-query attention: the op's reference is :func:`zkinfer.model.int_llama.attention`
bit for bit, an honest trace proves (small shapes, ``n = 1``, both kinds of score shift, and
SmolLM2's shape and widths), and every way a cheating prover can deviate is rejected.

Attacks forge the trace consistently where they can (the columns after the forged one are
recomputed from it, advice columns forged to satisfy as many identities as possible), and each
names the check that catches it; where that check is an identity, the test also asserts that
the identity fails on the forged witness (:func:`~zkinfer.protocol.constraints.debug_check`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from zkinfer.errors import ModelError, VerificationError
from zkinfer.model.int_llama import IntAttention, _exp_len, _exp_table, _fixed, _Rec, attention
from zkinfer.model.ops import causal_attention as ca
from zkinfer.model.ops.common import OpHome
from zkinfer.model.ops.requant import Requant, requantize
from zkinfer.protocol.constraints import debug_check
from zkinfer.protocol.witness import Tables, _unchecked_witness

from .gadget_harness import run_gadget

HOME = ca.HOME
A = "attn"
S = f"{A}.softmax"


# ------------------------------------------------------------------------------ fixtures


def _params(rng, G: int, g: int, dh: int, shift: int, exp_bits: int = 12, prob_bits: int = 10,
            unit: float = 0.04, ctx_bits: int = 10, v_bits: int = 10) -> IntAttention:
    """A small softmax: EXP over ``unit`` per (shifted) score step, per-channel ctx
    multipliers."""
    table = _exp_table(unit, exp_bits)
    d = G * g * dh
    scale = rng.uniform(0.5, 1.0, size=d) * 2.0 ** (ctx_bits - 1 - prob_bits - v_bits + 2)
    m, s, _ = _fixed(scale, 20)
    return IntAttention(table, exp_bits, prob_bits, shift,
                        Requant(m, s, -(1 << (ctx_bits - 1)), (1 << (ctx_bits - 1)) - 1))


def _op(attn: IntAttention, G: int, g: int, dh: int, N: int) -> ca.OpCausalAttention:
    return ca.OpCausalAttention(A, "q", "k", "v", attn, G, g, dh, N)


def _inputs(rng, n: int, G: int, g: int, dh: int, qk: tuple[int, int] = (8, 40),
            v_bits: int = 10) -> dict:
    """``q``, ``k`` of ``qk[0]``-bit width with values within ``+-qk[1]``; ``v`` of ``v_bits``."""
    bits, lim = qk
    vmax = 1 << (v_bits - 1)
    return {"q": (rng.integers(-lim, lim + 1, size=(n, G * g * dh)), (bits, True)),
            "k": (rng.integers(-lim, lim + 1, size=(n, G * dh)), (bits, True)),
            "v": (rng.integers(-vmax, vmax, size=(n, G * dh)), (v_bits, True))}


def _small(seed: int = 0, n: int = 5, shift: int = 2, G: int = 2, g: int = 2, dh: int = 8,
           N: int = 8):
    rng = np.random.default_rng(seed)
    attn = _params(rng, G, g, dh, shift)
    return _op(attn, G, g, dh, N), _inputs(rng, n, G, g, dh), n


def _int_llama(op, inputs, n):
    """The columns and widths :func:`int_llama.attention` records for these inputs."""
    G, g, dh = op.kv_heads, op.group, op.head_dim
    H = G * g
    (q, qw), (k, kw), (v, vw) = (inputs[c] for c in ("q", "k", "v"))
    heads = lambda x, h: x.reshape(n, h, dh).transpose(1, 0, 2)  # noqa: E731
    out, widths = {}, {}
    ctx, _ = attention(heads(q, H), heads(k, G), heads(v, G), np.arange(n), op.attn, qw, kw, vw,
                       op.max_seq_len, name=A, rec=_Rec(out, widths))
    return out, widths, ctx


# --------------------------------------------------------------------- reference semantics


@pytest.mark.parametrize("n", [1, 2, 5, 7])
@pytest.mark.parametrize("shift", [0, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_is_int_llama_attention(n, shift, seed):
    rng = np.random.default_rng(100 * seed + 10 * n + shift)
    G, g, dh = (2, 2, 8) if seed != 1 else (3, 4, 4)
    attn = _params(rng, G, g, dh, shift)
    op = _op(attn, G, g, dh, 8)
    # small values make ties in the row maximum (argmax: the first visible j)
    inputs = _inputs(rng, n, G, g, dh, qk=(8, 3 if seed == 2 else 40))
    want, want_w, ctx = _int_llama(op, inputs, n)
    got = HOME.reference(op, None, np.arange(n), {c: a for c, (a, _) in inputs.items()})
    assert set(want) <= set(got)
    for name, arr in want.items():
        assert got[name].dtype == np.int64 and np.array_equal(got[name], arr), name
    assert np.array_equal(got[f"{A}.ctx.out"], ctx)
    idx = want[f"{S}.idx"]
    assert np.array_equal(got[f"{S}.exp_mult"], np.bincount(idx.ravel(), minlength=len(attn.exp_table)))
    # the declared widths are int_llama's (at n = N: they never depend on n or the data)
    widths = {c: w for c, (_, w) in inputs.items()}
    rows = {name: (shape, w) for name, shape, _, w, _ in HOME.columns(op, None, n, widths, None)}
    for name, w in want_w.items():
        assert rows[name][1] == w, name
        assert rows[name][0] == want[name].shape, name


def test_exact_matmul_in_both_paths():
    rng = np.random.default_rng(5)
    for lim in (1 << 10, 1 << 28):  # float64 BLAS below 2^53, int64 above
        a = rng.integers(-lim, lim, size=(3, 4, 8))
        b = rng.integers(-lim, lim, size=(3, 8, 5))
        got = ca._exact_matmul(a, b)
        assert got.dtype == np.int64 and np.array_equal(got, np.matmul(a, b))


def test_kernel_fills_the_preallocated_columns():
    op, inputs, n = _small()
    cols = {c: a for c, (a, _) in inputs.items()}
    widths = {c: w for c, (_, w) in inputs.items()}
    for name, shape, _, _, _ in HOME.columns(op, None, n, widths, None):
        cols[name] = np.zeros(shape, dtype=np.int64)
    HOME.kernel(op, None, np.arange(n), cols)
    want = HOME.reference(op, None, np.arange(n), cols)
    for name, arr in want.items():
        assert np.array_equal(cols[name], arr), name


def test_invalid_parameters_are_refused():
    op, inputs, n = _small()
    cols = {c: a for c, (a, _) in inputs.items()}
    bad = [ca.OpCausalAttention(A, "q", "k", "v", op.attn, 2, 3, 8, 8),  # group not 2^k
           ca.OpCausalAttention(A, "q", "k", "v", op.attn, 2, 2, 6, 8)]  # head_dim not 2^k
    for b in bad:
        with pytest.raises(ModelError):
            HOME.reference(b, None, np.arange(n), cols)
    short = ca.OpCausalAttention(A, "q", "k", "v", op.attn, 2, 2, 8, n - 1)  # n > N
    with pytest.raises(ModelError):
        HOME.reference(short, None, np.arange(n), cols)
    table = op.attn.exp_table.copy()
    table[-1] = 1  # EXP[T-1] must be 0: masked entries look it up
    attn = IntAttention(table, op.attn.exp_bits, op.attn.prob_bits, 2, op.attn.ctx)
    with pytest.raises(ModelError):
        ca.check_causal_attention(_op(attn, 2, 2, 8, 8))


def test_causal_mask_table():
    m = ca.causal_mask(5)
    assert m.shape == (8, 8)
    assert np.array_equal(m[:5, :5], np.tril(np.ones((5, 5), dtype=np.int64)))
    assert not m[5:].any() and not m[:, 5:].any()


# --------------------------------------------------------------------------- honest proofs


@pytest.mark.parametrize("n,shift", [(5, 2), (5, 0), (1, 2), (1, 0), (7, 3)])
def test_honest_small_shape_proves(n, shift):
    op, inputs, n = _small(seed=n + shift, n=n, shift=shift)
    run = run_gadget(HOME, op, inputs, n)
    assert _failing(run, op, n) == set()
    run.prove()


def _smollm(n: int, seed: int = 0):
    """SmolLM2-135M's attention shape and widths: 3 kv heads, 3 query heads each padded to 4
    slots (the fourth slot's q is zero), dh 64, q/k 17-bit (rotated 16-bit projections), v
    14-bit, EXP of 16 bits capped to 2^14 rows with quantize_llama's score shift, K = 16, ctx
    multipliers per channel as quantize_llama builds them."""
    rng = np.random.default_rng(seed)
    G, g, dh, H = 3, 4, 64, 12
    s_q = s_k = 6.0 / (1 << 16)  # q, k ranges of ~ +-6 (16-bit projections, 17-bit rotated)
    unit = s_q * s_k / math.sqrt(dh)
    shift = 0
    while _exp_len(unit * 2.0**shift, 16) > 1 << 14:
        shift += 1
    table = _exp_table(unit * 2.0**shift, 16)
    s_v = rng.uniform(0.2, 1.0, size=G * dh) / ((1 << 13) - 1)
    s_vh = np.repeat(s_v.reshape(G, 1, dh), g, axis=1).reshape(H * dh)
    s_c = rng.uniform(0.2, 1.0, size=H * dh) / ((1 << 13) - 1)
    # quantize_llama: mult_bits = max(8, min(32, 61 - (K + v_bits + 1)))
    m, s, _ = _fixed(s_vh * 2.0**-16 / s_c, max(8, min(32, 61 - (16 + 14 + 1))))
    attn = IntAttention(table, 16, 16, shift, Requant(m, s, -(1 << 13), (1 << 13) - 1))
    op = _op(attn, G, g, dh, 2048)
    # typical rotated activations: a few units in float, i.e. ~2^13 of the 17-bit range
    q = np.clip(np.round(rng.normal(0, 1.0, size=(n, H * dh)) / s_q), -(1 << 16), (1 << 16) - 1)
    q = q.astype(np.int64).reshape(n, G, g, dh)
    q[:, :, 3] = 0  # the padded slot
    k = np.clip(np.round(rng.normal(0, 1.0, size=(n, G * dh)) / s_k), -(1 << 16), (1 << 16) - 1)
    v = rng.integers(-(1 << 13), 1 << 13, size=(n, G * dh))
    inputs = {"q": (q.reshape(n, H * dh), (17, True)), "k": (k.astype(np.int64), (17, True)),
              "v": (v, (14, True))}
    return op, inputs


@pytest.mark.parametrize("n", [64, pytest.param(96, marks=pytest.mark.slow)])
def test_honest_smollm_shape_proves(n):
    """~11 s at n = 64, ~17 s at n = 96 (deselected by default)."""
    op, inputs = _smollm(n)
    assert len(op.attn.exp_table) <= 1 << 14 and op.attn.score_shift > 0
    run = run_gadget(HOME, op, inputs, n)
    want, _, ctx = _int_llama(op, inputs, n)
    assert np.array_equal(run.trace[f"{A}.ctx.out"], ctx)
    p = run.trace[f"{S}.p"]
    assert (p > 0).sum() > 3 * p.shape[0] * p.shape[1]  # a non-trivial softmax
    run.prove()


# ------------------------------------------------------------------------------ attacks


class _Forged(OpHome):
    """The op's home with some advice rules replaced (a prover forging advice columns)."""

    op = ca.OpCausalAttention

    def __init__(self, rules: dict) -> None:
        self.rules = rules

    def columns(self, *a):
        return HOME.columns(*a)

    def reference(self, *a):
        return HOME.reference(*a)

    def gadget(self, *a):
        return HOME.gadget(*a)

    def advice(self, op, model, n):
        plan = HOME.advice(op, model, n)
        for name, fn in self.rules.items():
            honest = plan[name]
            plan[name] = (lambda h, f: lambda t: f(t, h(t)))(honest, fn)
        return plan


def _failing(run, op, n, home=HOME) -> set[str]:
    """The identities the run's witness breaks (any entry)."""
    c = run.circuit
    tables = Tables(c, _unchecked_witness(c, dict(run.trace), home.advice(op, run.model, n)))
    return {name for nv, idents in c.identities.items()
            for name, _ in debug_check(idents, tables, c.publics, nv)}


def _downstream(op, t: dict, start: str) -> None:
    """Recompute the columns after ``start`` from the (forged) ones before, as a consistent
    cheating prover would: ``diff -> idx_q, idx_rem -> idx -> exp -> sum -> p, rem -> acc ->
    ctx``. ``idx`` is recomputed with the honest mask (masked entries ``T - 1``)."""
    a = op.attn
    n = t["q"].shape[0]
    T, s, K = len(a.exp_table), a.score_shift, a.prob_bits
    vis = np.tril(np.ones((n, n), dtype=bool))[None]
    order = ["diff", "idx", "exp", "sum", "p", "acc"]
    k = order.index(start) + 1 if start in order else 0
    if k <= 1:  # idx from diff
        d = t[f"{S}.diff"]
        if s > 0:
            sh = d + (1 << (s - 1))
            t[f"{S}.idx_q"] = sh >> s
            t[f"{S}.idx_rem"] = sh - (t[f"{S}.idx_q"] << s)
        else:
            t[f"{S}.idx_q"], t[f"{S}.idx_rem"] = d.copy(), np.zeros_like(d)
        t[f"{S}.idx"] = np.where(vis, np.minimum(t[f"{S}.idx_q"], T - 1), T - 1)
    if k <= 2:
        t[f"{S}.exp"] = a.exp_table[t[f"{S}.idx"]]
        t[f"{S}.exp_mult"] = np.bincount(t[f"{S}.idx"].ravel(), minlength=T).astype(np.int64)
    if k <= 3:
        t[f"{S}.sum"] = t[f"{S}.exp"].sum(axis=2)
    if k <= 4:
        num = t[f"{S}.exp"] << K
        ssum = np.maximum(t[f"{S}.sum"], 1)[..., None]
        t[f"{S}.p"] = num // ssum
        t[f"{S}.rem"] = num - t[f"{S}.p"] * ssum
    if k <= 5:
        G, g, dh = op.kv_heads, op.group, op.head_dim
        vh = np.repeat(t["v"].reshape(n, G, dh).transpose(1, 0, 2), g, axis=0)
        t[f"{A}.ctx.acc"] = (t[f"{S}.p"] @ vh).transpose(1, 0, 2).reshape(n, -1)
    q, rem, out = requantize(t[f"{A}.ctx.acc"] * a.ctx.m, a.ctx)
    t[f"{A}.ctx.q"], t[f"{A}.ctx.rem"], t[f"{A}.ctx.out"] = q, rem, out


def _reject(run, check: str | None = None) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        run.prove()
    if check is not None:
        assert check in info.value.check, info.value.check
    return info.value


@pytest.fixture(scope="module")
def small():
    op, inputs, n = _small(seed=7, n=6, shift=2)
    honest = run_gadget(HOME, op, inputs, n)
    return op, inputs, n, honest.trace


def _masked_max_row(t):
    """A row ``(h, i)`` and a masked ``j > i`` whose score exceeds the visible maximum (the
    smallest such excess)."""
    sc, mx = t[f"{A}.scores"], t[f"{S}.max"]
    H, n, _ = sc.shape
    best = None
    for h in range(H):
        for i in range(n - 1):
            for j in range(i + 1, n):
                ex = sc[h, i, j] - mx[h, i]
                if ex > 0 and (best is None or ex < best[0]):
                    best = (ex, h, i, j)
    assert best is not None
    return best[1:]


def test_attack_masked_score_as_row_max(small):
    op, inputs, n, _ = small
    probe = run_gadget(HOME, op, inputs, n).trace
    h, i, j = _masked_max_row(probe)

    def tamper(t):
        t[f"{S}.max"][h, i] = t[f"{A}.scores"][h, i, j]
        t[f"{S}.argmax"][h, i] = j  # sel on the masked entry
        vis = np.arange(n) <= i
        t[f"{S}.diff"][h, i] = np.where(vis, t[f"{S}.max"][h, i] - t[f"{A}.scores"][h, i], 0)
        _downstream(op, t, "diff")

    run = run_gadget(HOME, op, inputs, n, tamper=tamper)
    # sel (Ind - M) = 0: the only identity broken ("sel at max" holds: diff is 0 there)
    assert _failing(run, op, n) == {f"{S} sel visible"}
    _reject(run)


def test_attack_masked_exp_nonzero(small):
    op, inputs, n, _ = small
    h, i, j = 1, 2, 4
    T = len(op.attn.exp_table)

    def tamper(t):
        t[f"{S}.idx"][h, i, j] = 0  # exp = EXP[0] = 2^E on a masked entry (look-up holds)
        _downstream(op, t, "idx")

    def over(t, honest):  # idx = idx_q - over + (T - 1) holds with over = T - 1
        honest = honest.copy()
        honest[h, i, j] = T - 1
        return honest

    forged = _Forged({f"{S}.over": over})
    run = run_gadget(forged, op, inputs, n, tamper=tamper)
    assert run.trace[f"{S}.exp"][h, i, j] == 1 << op.attn.exp_bits
    # over (T - 1 - idx) = (T - 1)^2 != 0
    assert _failing(run, op, n, forged) == {f"{S} idx clamp"}
    _reject(run)
    # without the forged over: the idx identity itself
    run = run_gadget(HOME, op, inputs, n, tamper=tamper)
    assert f"{S} idx" in _failing(run, op, n)
    _reject(run)


def test_attack_masked_diff_nonzero(small):
    op, inputs, n, _ = small
    h, i, j = 0, 1, 3

    def tamper(t):
        t[f"{S}.diff"][h, i, j] = 40
        _downstream(op, t, "diff")  # idx stays T - 1 there (the honest mask)

    def over(t, honest):  # idx = idx_q - over + (T - 1): over = idx_q (the clamp holds too)
        honest = honest.copy()
        honest[h, i, j] = t[f"{S}.idx_q"][h, i, j]
        return honest

    forged = _Forged({f"{S}.over": over})
    run = run_gadget(forged, op, inputs, n, tamper=tamper)
    assert run.trace[f"{S}.idx_q"][h, i, j] > 0
    # diff = M (max - scores): M = 0 there
    assert _failing(run, op, n, forged) == {f"{S} diff"}
    _reject(run)


@pytest.mark.parametrize("delta", [1, -1])
def test_attack_idx_off_by_one(small, delta):
    op, inputs, n, t0 = small
    T = len(op.attn.exp_table)
    # a visible entry, not the selected one, with 0 < idx < T - 1
    ok = (t0[f"{S}.idx"] > 0) & (t0[f"{S}.idx"] < T - 1) & np.tril(np.ones((n, n), bool))[None]
    h, i, j = np.argwhere(ok)[0]

    def tamper(t):
        t[f"{S}.idx"][h, i, j] += delta
        _downstream(op, t, "idx")  # exp = EXP[idx +- 1], so the look-up holds

    run = run_gadget(HOME, op, inputs, n, tamper=tamper)
    assert _failing(run, op, n) == {f"{S} idx"}
    _reject(run)


def test_attack_visible_key_dropped_from_sum(small):
    op, inputs, n, t0 = small
    e = t0[f"{S}.exp"].copy()
    np.put_along_axis(e, t0[f"{S}.argmax"][..., None], 0, axis=-1)
    h, i, j = np.argwhere(e > 0)[0]  # a visible key other than the maximum, exp > 0

    def tamper(t):
        t[f"{S}.sum"][h, i] -= t[f"{S}.exp"][h, i, j]
        _downstream(op, t, "sum")  # p, rem by the smaller sum: the division holds

    run = run_gadget(HOME, op, inputs, n, tamper=tamper)
    assert _failing(run, op, n) == set()
    # the column sum sum = sum_j exp (axis-sum relation)
    _reject(run)


def test_attack_p_off_by_one(small):
    op, inputs, n, t0 = small
    h, i, j = np.argwhere(t0[f"{S}.p"] > 0)[0]

    def plain(t):  # p + 1, rem kept: exp 2^K = p sum + rem breaks
        t[f"{S}.p"][h, i, j] += 1
        _downstream(op, t, "p")

    run = run_gadget(HOME, op, inputs, n, tamper=plain)
    assert _failing(run, op, n) == {f"{S} division"}
    _reject(run)

    def up(t):  # p + 1, rem - sum < 0: the range check of rem
        t[f"{S}.p"][h, i, j] += 1
        t[f"{S}.rem"][h, i, j] -= t[f"{S}.sum"][h, i]
        _downstream(op, t, "p")

    run = run_gadget(HOME, op, inputs, n, tamper=up)
    assert _failing(run, op, n) == set()
    _reject(run)

    def down(t):  # p - 1, rem + sum > sum - 1: the range check of the slack sum - 1 - rem
        t[f"{S}.p"][h, i, j] -= 1
        t[f"{S}.rem"][h, i, j] += t[f"{S}.sum"][h, i]
        _downstream(op, t, "p")

    run = run_gadget(HOME, op, inputs, n, tamper=down)
    assert _failing(run, op, n) == set()
    _reject(run)


@pytest.mark.parametrize("which", ["k", "kv"])
def test_attack_wrong_kv_head(small, which):
    op, inputs, n, _ = small
    G, dh = op.kv_heads, op.head_dim

    def tamper(t):
        cols = {c: t[c] for c in ("q", "k", "v")}
        cols["k"] = np.tile(t["k"][:, :dh], G)  # every slot reads kv head 0
        if which == "kv":
            cols["v"] = np.tile(t["v"][:, :dh], G)
        for name, arr in HOME.reference(op, None, np.arange(n), cols).items():
            t[name] = arr

    run = run_gadget(HOME, op, inputs, n, tamper=tamper)
    assert _failing(run, op, n) == set()  # a consistent softmax of the wrong scores
    # the scores contraction (with the regrouped k view)
    _reject(run, f"{A}.scores")


def test_attack_max_above_every_score(small):
    op, inputs, n, _ = small

    def tamper(t):
        t[f"{S}.max"][0, 3] += 1  # above the maximum: diff > 0 everywhere, sel misses
        vis = np.arange(n) <= 3
        t[f"{S}.diff"][0, 3] = np.where(vis, t[f"{S}.max"][0, 3] - t[f"{A}.scores"][0, 3], 0)
        _downstream(op, t, "diff")

    run = run_gadget(HOME, op, inputs, n, tamper=tamper)
    assert _failing(run, op, n) == {f"{S} sel at max"}
    _reject(run)


def test_attack_two_selected_entries(small):
    op, inputs, n, _ = small

    def sel(t, honest):
        honest = honest.copy()
        honest[0, 2, :3] = 1
        return honest

    forged = _Forged({f"{S}.sel": sel})
    run = run_gadget(forged, op, inputs, n)
    # selsum = sum_j sel (axis sum) with selsum = 1 (an honest selsum): the axis-sum relation;
    # with selsum forged to the count, the identity selsum = Ind
    _reject(run)
    def selsum(t, honest):  # the row's count, so that the axis sum holds
        honest = honest.copy()
        honest[0, 2] = 3
        return honest

    forged = _Forged({f"{S}.sel": sel, f"{S}.selsum": selsum})
    run = run_gadget(forged, op, inputs, n)
    assert f"{S} one max per row" in _failing(run, op, n, forged)
    _reject(run)


#: Committed columns of the trace, each tampered in one real entry (+1) with nothing else
#: changed but the advice the prover derives from it.
_TRACE_COLS = [f"{A}.scores", f"{S}.max", f"{S}.diff", f"{S}.idx_q", f"{S}.idx_rem",
               f"{S}.idx", f"{S}.exp", f"{S}.sum", f"{S}.p", f"{S}.rem", f"{S}.exp_mult",
               f"{A}.ctx.acc", f"{A}.ctx.q", f"{A}.ctx.rem", f"{A}.ctx.out", f"{S}.argmax"]


@pytest.mark.parametrize("name", _TRACE_COLS)
def test_every_trace_column_is_bound(small, name):
    op, inputs, n, t0 = small
    arr = t0[name]
    if name == f"{S}.argmax":  # move the selection to a visible entry with diff > 0
        i = n - 1
        h = 0
        j = int(np.argmax(t0[f"{S}.diff"][h, i] > 0))
        assert t0[f"{S}.diff"][h, i, j] > 0
        pos = (h, i)

        def tamper(t):
            t[name][pos] = j
    else:
        # a visible entry for (H, n, n) columns (row 3, key 1), else the middle one
        pos = (1, 3, 1) if arr.ndim == 3 else tuple(s // 2 for s in arr.shape)

        def tamper(t):
            t[name][pos] += 1

    run = run_gadget(HOME, op, inputs, n, tamper=tamper)
    _reject(run)


@pytest.mark.parametrize("name", [f"{S}.sel", f"{S}.selsum", f"{S}.over", f"{S}.lookup_mult",
                                  f"{A}.ctx.below", f"{A}.ctx.above"])
def test_every_advice_column_is_bound(small, name):
    op, inputs, n, _ = small

    def bump(t, honest):
        honest = honest.copy()
        honest.reshape(-1)[honest.size // 2] += 1
        return honest

    run = run_gadget(_Forged({name: bump}), op, inputs, n)
    _reject(run)


def test_columns_are_all_constrained(small):
    from zkinfer.protocol.coverage import unconstrained_columns

    op, inputs, n, _ = small
    run = run_gadget(HOME, op, inputs, n)
    assert unconstrained_columns(run.circuit) == []
