"""The RoPE op: its reference is :func:`zkinfer.model.int_llama.rope` bit for bit, its gadget
proves honest rotations (small and at SmolLM2's shape) and rejects every cheat named below."""

from __future__ import annotations

import numpy as np
import pytest

from tests.protocol.gadget_harness import run_gadget
from zkinfer.errors import ModelError, VerificationError
from zkinfer.field import goldilocks as gl
from zkinfer.model import int_llama
from zkinfer.model.int_llama import IntRope
from zkinfer.model.ops.requant import requantize
from zkinfer.model.ops.rope import HOME, OpRope, check_rope, rope_requant
from zkinfer.protocol.bounds import identity_bounds
from zkinfer.protocol.constraints import debug_check
from zkinfer.protocol.witness import Tables, _unchecked_witness


def smol_tables(positions: int, dh: int, bits: int = 14, theta: float = 100000.0) -> IntRope:
    """Tables as :func:`zkinfer.model.int_llama.quantize_llama` builds them, SmolLM2's clamp."""
    inv = 1.0 / (theta ** (np.arange(0, dh, 2, dtype=np.float64) / dh))
    ang = np.arange(positions, dtype=np.float64)[:, None] * inv[None, :]
    cos = int_llama._round(np.cos(ang) * 2.0**bits)
    sin = int_llama._round(np.sin(ang) * 2.0**bits)
    return IntRope(cos, sin, bits, -(1 << 16), (1 << 16) - 1)


def random_tables(rng, positions: int, dh: int, bits: int, lo: int, hi: int) -> IntRope:
    """Arbitrary tables within ``|C|, |S| <= 2^bits`` (extremes included)."""
    lim = 1 << bits
    cos = rng.integers(-lim, lim + 1, size=(positions, dh // 2))
    sin = rng.integers(-lim, lim + 1, size=(positions, dh // 2))
    cos[0, 0], sin[-1, -1] = lim, -lim
    return IntRope(cos, sin, bits, lo, hi)


def rand_x(rng, n: int, d: int, xb: int) -> np.ndarray:
    x = rng.integers(-(1 << (xb - 1)), 1 << (xb - 1), size=(n, d))
    x[0, 0] = -(1 << (xb - 1))  # the width's extreme
    return x


def spec_out(x: np.ndarray, op: OpRope, xw) -> tuple[np.ndarray, dict]:
    """int_llama.rope on the op's layout: its output and recorded columns, as ``(n, H dh)``."""
    n = x.shape[0]
    rec_cols, rec_widths = {}, {}
    out, _ = int_llama.rope(x.reshape(n, op.heads, op.head_dim).transpose(1, 0, 2),
                            np.arange(n, dtype=np.int64), op.rope, xw, op.name,
                            int_llama._Rec(rec_cols, rec_widths))
    back = {k: v.transpose(1, 0, 2).reshape(n, -1) for k, v in rec_cols.items()}
    return out.transpose(1, 0, 2).reshape(n, -1), {"cols": back, "widths": rec_widths}


# ----------------------------------------------------------------------------- reference


@pytest.mark.parametrize("seed", range(8))
def test_reference_and_kernel_agree_with_int_llama_rope(seed):
    rng = np.random.default_rng(seed)
    H = int(rng.integers(1, 5))
    dh = 1 << int(rng.integers(1, 5))
    n = [1, 3, 7, 5, 9, 2, 1, 11][seed]
    bits = int(rng.integers(2, 15))
    xb = int(rng.integers(2, 17))
    # a narrow clamp on half the seeds, so that both ends clamp
    c = 1 << (xb - 2 if seed % 2 and xb > 2 else xb + 2)
    p = random_tables(rng, n + int(rng.integers(0, 4)), dh, bits, -c, c - 1)
    op = OpRope("r", "x", p, H, dh)
    xw = (xb, True)
    x = rand_x(rng, n, H * dh, xb)
    want, rec = spec_out(x, op, xw)
    ref = HOME.reference(op, None, np.arange(n), {"x": x})
    assert set(ref) == {"r.q", "r.rem", "r.out"}
    for name, value in ref.items():
        assert value.dtype == np.int64
        assert np.array_equal(value, rec["cols"][name]), name
    assert np.array_equal(ref["r.out"], want)
    cols = {"x": x, **{k: np.full_like(v, -7) for k, v in ref.items()}}
    HOME.kernel(op, None, np.arange(n), cols)
    for name, value in ref.items():
        assert np.array_equal(cols[name], value)
    # the declared widths are int_llama's (worst case, independent of n) and hold the values
    rows = HOME.columns(op, None, n, {"x": xw}, None)
    assert [r[0] for r in rows] == ["r.q", "r.rem", "r.out"]
    for name, shape, _kind, width, _doc in rows:
        assert shape == (n, H * dh)
        assert tuple(width) == tuple(rec["widths"][name])
    assert HOME.columns(op, None, p.cos.shape[0], {"x": xw}, None)[0][3] == rows[0][3]


def test_the_grids_and_the_flip_give_pre_on_every_entry():
    """x C~ + flip(x) S~ (the circuit's tables, padding included) equals the semantics' pre:
    three heads (padded to four), an odd n (padded rows)."""
    rng = np.random.default_rng(11)
    H, dh, n = 3, 8, 5
    p = random_tables(rng, 6, dh, 10, -(1 << 20), 1 << 20)
    op = OpRope("r", "x", p, H, dh)
    x = rand_x(rng, n, H * dh, 10)
    run = run_gadget(HOME, op, {"x": (x, (10, True))}, n)
    c = run.circuit
    tables = _unchecked_witness(c, dict(run.trace), HOME.advice(op, run.model, n))
    nv = c.trace["x"].num_vars
    flip = next(v for v in c.views if v.startswith("x@flip"))
    ft = c.views[flip].table(tables["x"], c.trace["x"].bits)
    pre = gl.add(gl.mul(tables["x"], c.publics["r.cos"].table(nv)),
                 gl.mul(ft, c.publics["r.sin"].table(nv)))
    pre = gl.decode_signed(pre).reshape(8, 32)
    # the grids are zero on the padded rows t >= n
    for g in ("r.cos", "r.sin"):
        assert not gl.decode_signed(c.publics[g].table(nv)).reshape(8, 32)[n:].any()
    xh = x.reshape(n, H, dh)
    a, b = xh[..., : dh // 2], xh[..., dh // 2:]
    C, S = p.cos[:n, None, :], p.sin[:n, None, :]
    want = np.zeros((8, 32), dtype=np.int64)
    want[:n, : H * dh] = np.concatenate([a * C - b * S, b * C + a * S], -1).reshape(n, -1)
    assert np.array_equal(pre, want)
    q, rem, _ = requantize(want[:n, : H * dh], rope_requant(p))
    assert np.array_equal(q, run.trace["r.q"]) and np.array_equal(rem, run.trace["r.rem"])


def test_invalid_parameters_are_refused():
    p = smol_tables(8, 8)
    rng = np.random.default_rng(0)
    x = rand_x(rng, 4, 16, 8)
    with pytest.raises(ModelError, match="power of two"):
        check_rope("r", OpRope("r", "x", p, 2, 6))
    big = IntRope(p.cos + (1 << 14), p.sin, 14, p.lo, p.hi)
    with pytest.raises(ModelError, match="exceeds"):
        check_rope("r", OpRope("r", "x", big, 2, 8))
    with pytest.raises(ModelError, match="shape"):
        check_rope("r", OpRope("r", "x", smol_tables(8, 16), 2, 8))
    with pytest.raises(ModelError, match="clamp"):
        check_rope("r", OpRope("r", "x", IntRope(p.cos, p.sin, 14, 5, 5), 2, 8))
    with pytest.raises(ModelError, match="positions"):
        HOME.reference(OpRope("r", "x", smol_tables(3, 8), 2, 8), None, np.arange(4), {"x": x})
    with pytest.raises(ModelError, match="2\\^62"):
        HOME.columns(OpRope("r", "x", p, 2, 8), None, 4, {"x": (48, True)}, None)


# --------------------------------------------------------------------------------- proofs

SMALL = (2, 8, 5)  # heads, dh, n


def small_run(seed: int = 0, tamper=None, clamp: int = 1 << 16, home=HOME, xb: int = 12):
    rng = np.random.default_rng(seed)
    H, dh, n = SMALL
    p = smol_tables(16, dh)
    p = IntRope(p.cos, p.sin, p.bits, -clamp, clamp - 1)
    op = OpRope("layer0.rope_q", "layer0.q.out", p, H, dh)
    x = rand_x(rng, n, H * dh, xb)
    return run_gadget(home, op, {"layer0.q.out": (x, (xb, True))}, n, tamper=tamper), op, x


def smol_run(n: int = 96, seed: int = 0, tamper=None):
    rng = np.random.default_rng(seed)
    H, dh = 12, 64
    op = OpRope("layer0.rope_k", "layer0.k.out", smol_tables(8192, dh), H, dh)
    x = rand_x(rng, n, H * dh, 16)
    return run_gadget(HOME, op, {"layer0.k.out": (x, (16, True))}, n, tamper=tamper), op, x


def test_honest_small_rotation_proves_and_bounds_hold():
    run, op, x = small_run()
    run.prove()
    want, _ = spec_out(x, op, (12, True))
    assert np.array_equal(run.trace[f"{op.name}.out"], want)
    bounds = {b.name: b for b in identity_bounds(run.circuit)}
    # the rounding identity x C~ + flip(x) S~ + 2^13 Ind - 2^14 q~ - rem: |x| <= 2^11,
    # |C~|, |S~| <= 2^14, |q~| <= |out| + below + above < 2^19 (SmolLM2's widths: 2^34)
    assert bounds[f"{op.name} rounding"].bound < 1 << 40


def test_honest_rotation_at_smollm2_shape_proves():
    run, op, x = smol_run()
    assert run.model.widths[f"{op.name}.out"] == (17, True)
    assert run.model.widths[f"{op.name}.rem"] == (14, False)
    run.prove()


@pytest.mark.parametrize("shape", [(1, 2, 1), (3, 4, 7), (1, 8, 1)])
def test_honest_odd_shapes_prove(shape):
    H, dh, n = shape
    rng = np.random.default_rng(n)
    op = OpRope("r", "x", random_tables(rng, n + 1, dh, 6, -100, 100), H, dh)
    x = rand_x(rng, n, H * dh, 9)
    run = run_gadget(HOME, op, {"x": (x, (9, True))}, n)
    run.prove()
    assert np.array_equal(run.trace["r.out"], spec_out(x, op, (9, True))[0])


# -------------------------------------------------------------------------------- attacks


def broken_identities(run, plan) -> set[str]:
    """The identities the (tampered) witness breaks, by name (for naming the check)."""
    c = run.circuit
    tables = Tables(c, _unchecked_witness(c, dict(run.trace), plan))  # views on demand
    bad = set()
    for nv, idents in c.identities.items():
        bad |= {name for name, _ in debug_check(idents, tables, c.publics, nv)}
    return bad


def rejected(run, op, home=HOME) -> tuple[str, set[str]]:
    """The check rejecting the proof and the identities the witness breaks."""
    with pytest.raises(VerificationError) as info:
        run.prove()
    return info.value.check, broken_identities(run, home.advice(op, run.model, run.trace[op.src].shape[0]))


def forge(op: OpRope, pre_fn):
    """A tamper rewriting q, rem, out consistently from another pre-shift value."""

    def tamper(t):
        x = t[op.src]
        n = x.shape[0]
        xh = x.reshape(n, op.heads, op.head_dim)
        h = op.head_dim // 2
        pre = pre_fn(xh[..., :h], xh[..., h:], op.rope.cos, op.rope.sin, n).reshape(n, -1)
        q, rem, out = requantize(pre, rope_requant(op.rope))
        t[f"{op.name}.q"], t[f"{op.name}.rem"], t[f"{op.name}.out"] = q, rem, out

    return tamper


def _tampered(column: str, f):
    """A tamper applying ``f`` in place to a copy of one column."""

    def tamper(t):
        t[column] = t[column].copy()
        f(t[column])

    return tamper


def test_one_output_entry_changed_is_rejected():
    P = "layer0.rope_q"
    for delta, ident in ((1, f"{P} clamp low"), (-1, f"{P} clamp high")):
        def f(out, delta=delta):
            out[3, 5] += delta
        run, op, _ = small_run(tamper=_tampered(f"{P}.out", f))
        # q~ = out - below + above stays the honest q (the advice absorbs the change), so
        # rounding holds; below = 1 (above = 1) at an output strictly inside [lo, hi]
        # breaks 'clamp low' ('clamp high'): the identities' zero-check rejects
        check, bad = rejected(run, op)
        assert check.startswith("identities") and bad == {ident}


def test_output_entry_and_quotient_changed_together_is_rejected():
    P = "layer0.rope_q"

    def tamper(t):
        for k in ("q", "out"):
            t[f"{P}.{k}"] = t[f"{P}.{k}"].copy()
            t[f"{P}.{k}"][4, 9] += 1
    run, op, _ = small_run(tamper=tamper)
    # q~ = q + 1 with the honest rem: 'rounding' is off by 2^bits
    check, bad = rejected(run, op)
    assert check.startswith("identities") and bad == {f"{P} rounding"}


def test_halves_not_swapped_is_rejected():
    _, op, _ = small_run()
    # the rotation by -theta: [a C + b S, b C - a S]
    def wrong_sign(a, b, C, S, n):
        return np.concatenate([a * C[:n, None] + b * S[:n, None],
                               b * C[:n, None] - a * S[:n, None]], -1)
    # no swap at all: [a C - a S, b C + b S]
    def no_swap(a, b, C, S, n):
        return np.concatenate([a * C[:n, None] - a * S[:n, None],
                               b * C[:n, None] + b * S[:n, None]], -1)
    for pre_fn in (wrong_sign, no_swap):
        run, op, _ = small_run(tamper=forge(op, pre_fn))
        # q, rem, out consistent with the wrong pre: 'rounding' fails where pre differs
        check, bad = rejected(run, op)
        assert check.startswith("identities") and bad == {f"{op.name} rounding"}


def test_table_row_of_the_next_position_is_rejected():
    _, op, _ = smol_run(n=33)

    def next_row(a, b, C, S, n):
        C, S = C[1: n + 1, None], S[1: n + 1, None]
        return np.concatenate([a * C - b * S, b * C + a * S], -1)
    run, op, _ = smol_run(n=33, tamper=forge(op, next_row))
    # consistent q, rem, out from the table rows t + 1: 'rounding' (the grids hold row t)
    check, bad = rejected(run, op)
    assert check.startswith("identities") and bad == {f"{op.name} rounding"}


@pytest.mark.parametrize("shift", [1, -1])
def test_quotient_rounded_the_other_way_is_rejected_by_the_remainder_range(shift):
    P = "layer0.rope_q"
    s = 14

    def tamper(t):
        q = t[f"{P}.q"].copy()
        rem = t[f"{P}.rem"].copy()
        q[2, 3] += shift
        rem[2, 3] -= shift << s  # rounding still holds: rem is -2^14.. or 2^14..
        t[f"{P}.q"], t[f"{P}.rem"] = q, rem
        t[f"{P}.out"] = np.clip(q, -(1 << 16), (1 << 16) - 1)
    run, op, _ = small_run(tamper=tamper)
    # every identity holds; rem outside [0, 2^14): the range check's LogUp rejects
    check, bad = rejected(run, op)
    assert check == "range" and bad == set()


def test_a_changed_remainder_is_rejected():
    P = "layer0.rope_q"

    def f(rem):
        rem[0, 1] = (rem[0, 1] + 1) % (1 << 14)
    run, op, _ = small_run(tamper=_tampered(f"{P}.rem", f))
    # 'rounding' is off by 1
    check, bad = rejected(run, op)
    assert check.startswith("identities") and bad == {f"{P} rounding"}


def test_a_changed_input_is_rejected():
    def f(x):
        x[1, 2] += 3
    run, op, _ = small_run(tamper=_tampered("layer0.q.out", f))
    # the outputs are the honest input's: 'rounding' fails at (1, 2) and its partner (1, 6)
    check, bad = rejected(run, op)
    assert check.startswith("identities") and bad == {f"{op.name} rounding"}


def test_clamp_attacks_are_rejected():
    """A narrow clamp (outputs in [-2^6, 2^6)): a clamped entry claimed unclamped, or
    clamped to a value inside the range."""
    P = "layer0.rope_q"
    run, op, x = small_run(clamp=1 << 6)
    q, out = run.trace[f"{P}.q"], run.trace[f"{P}.out"]
    assert (q > out).any() and (q < out).any()
    run.prove()
    i = tuple(np.argwhere(q > out)[0])

    def unclamped(t):
        t[f"{P}.out"] = t[f"{P}.out"].copy()
        t[f"{P}.out"][i] = t[f"{P}.q"][i]
    run, op, _ = small_run(clamp=1 << 6, tamper=unclamped)
    # out = q > hi, every identity holds (above = 0): out's range check rejects
    check, bad = rejected(run, op)
    assert check == "range" and bad == set()

    def inside(t):
        t[f"{P}.out"] = t[f"{P}.out"].copy()
        t[f"{P}.out"][i] -= 1
    run, op, _ = small_run(clamp=1 << 6, tamper=inside)
    # above = q - out > 0 with out < hi: 'clamp high'
    check, bad = rejected(run, op)
    assert check.startswith("identities") and bad == {f"{P} clamp high"}


class _ForgedAdvice:
    """``HOME`` with the prover's advice rules replaced by ``rules`` (a forged witness)."""

    def __init__(self, rules):
        self.rules = rules

    def __getattr__(self, name):
        return getattr(HOME, name)

    def advice(self, op, model, n):
        return {**HOME.advice(op, model, n), **self.rules}


@pytest.mark.parametrize("which", ["below", "above"])
def test_forged_clamp_slacks_are_rejected(which):
    P = "layer0.rope_q"

    def rule(t):
        v = np.maximum(t[f"{P}.out"] - t[f"{P}.q"], 0) if which == "below" else \
            np.maximum(t[f"{P}.q"] - t[f"{P}.out"], 0)
        v = v.copy()
        v[1, 1] += 1
        return v
    home = _ForgedAdvice({f"{P}.{which}": rule})
    run, op, _ = small_run(home=home)
    # q~ = out - below + above moves by one: 'rounding' breaks, and 'clamp low' ('clamp
    # high'): the forged slack sits at an output strictly inside [lo, hi]
    check, bad = rejected(run, op, home)
    assert check.startswith("identities")
    assert bad == {f"{P} rounding", f"{P} clamp {'low' if which == 'below' else 'high'}"}
