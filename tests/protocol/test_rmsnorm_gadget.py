"""The RMSNorm op: its reference is :func:`zkinfer.model.int_llama.rmsnorm` bit for bit, its gadget
proves honest rows (small, at SmolLM2's widths and at the widest supported parameters) and
rejects every cheat named below, each by the check the test names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.protocol.gadget_harness import run_gadget
from zkinfer.errors import ModelError, UnsupportedOpError, VerificationError
from zkinfer.field import goldilocks as gl
from zkinfer.model import int_llama
from zkinfer.model.int_llama import IntRMSNorm
from zkinfer.model.ops.requant import Requant, requantize
from zkinfer.model.ops.rmsnorm import HOME, LIMB, OpRMSNorm, plan
from zkinfer.protocol.bounds import HALF_P, identity_bounds
from zkinfer.protocol.constraints import debug_check
from zkinfer.protocol.coverage import unconstrained_columns
from zkinfer.protocol.witness import Tables, _unchecked_witness

P = "layer0.attn_norm"
SRC = "layer0.x"


def make_op(rng, d: int, k: int, eps: int, mult_bits: int, shift: int, out_bits: int,
            name: str = P, src: str = SRC) -> OpRMSNorm:
    """Random gains ``|g| < 2^(mult_bits-1)`` (an extreme one included), output clamp of
    ``out_bits`` signed bits."""
    lim = (1 << (mult_bits - 1)) - 1
    m = rng.integers(-lim, lim + 1, size=d)
    m[0] = -lim
    rq = Requant(m, shift, -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1)
    return OpRMSNorm(name, src, IntRMSNorm(eps, k, rq))


def rand_x(rng, n: int, d: int, xb: int) -> np.ndarray:
    """Random rows, the first all zeros (``ms = eps``: the largest ``rsqrt``), the second at
    the width's extreme ``-2^(xb-1)`` (the largest ``ms``), the third mixed extremes."""
    lo, hi = -(1 << (xb - 1)), (1 << (xb - 1)) - 1
    x = rng.integers(lo, hi + 1, size=(n, d))
    x[0] = 0
    if n > 1:
        x[1] = lo
    if n > 2:
        x[2, ::2], x[2, 1::2] = hi, lo
    return x


def spec(x: np.ndarray, op: OpRMSNorm, xw) -> tuple[np.ndarray, dict, dict]:
    """int_llama.rmsnorm: its output, recorded columns and widths."""
    cols, widths = {}, {}
    out, _ = int_llama.rmsnorm(x, op.norm, xw, op.name, int_llama._Rec(cols, widths))
    return out, cols, widths


# ----------------------------------------------------------------------------- reference


SEEDS = [  # (x bits, d, n, eps, extra k bits over ms, mult bits, out bits)
    (12, 64, 5, 3, 24, 16, 10), (24, 576, 3, 443, 2, 16, 14), (8, 7, 9, 1, 0, 8, 8),
    (16, 48, 4, 1000, 24, 20, 16), (2, 3, 1, 1, 5, 4, 4), (26, 255, 3, 1, 2, 12, 12),
    (20, 33, 6, 57, 30, 24, 20), (14, 100, 2, 9, 10, 10, 6),
]


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_reference_and_kernel_agree_with_int_llama_rmsnorm(seed):
    xb, d, n, eps, extra, mb, ob = SEEDS[seed]
    rng = np.random.default_rng(seed)
    M = d * (1 << (2 * xb - 2)) + eps
    k = min(60, M.bit_length() + extra)
    shift = max(1, k // 2 + mb - ob)
    op = make_op(rng, d, k, eps, mb, shift, ob)
    xw = (xb, True)
    x = rand_x(rng, n, d, xb)
    want, rec, rec_widths = spec(x, op, xw)
    ref = HOME.reference(op, None, np.arange(n), {SRC: x})
    assert list(ref) == [f"{P}.{c}" for c in ("ms", "rsqrt", "rsqrt_lo", "rsqrt_hi", "z", "q",
                                              "rem", "out")]
    assert set(ref) == set(rec)
    for name, value in ref.items():
        assert value.dtype == np.int64
        assert np.array_equal(value, rec[name]), name
    assert np.array_equal(ref[f"{P}.out"], want)
    # the zero row's rsqrt is the largest, isqrt(2^k / eps)
    assert ref[f"{P}.rsqrt"][0] == math.isqrt((1 << k) // eps)
    cols = {SRC: x, **{name: np.full_like(v, -7) for name, v in ref.items()}}
    HOME.kernel(op, None, np.arange(n), cols)
    for name, value in ref.items():
        assert np.array_equal(cols[name], value), name
    # the declared widths are int_llama's (worst case, independent of the data)
    rows = HOME.columns(op, None, n, {SRC: xw}, None)
    assert [r[0] for r in rows] == list(ref)
    for name, shape, _kind, width, _doc in rows:
        assert shape == ref[name].shape
        assert tuple(width) == tuple(rec_widths[name]), name


def test_invalid_parameters_are_refused():
    rng = np.random.default_rng(0)
    op = make_op(rng, 64, 53, 3, 16, 30, 10)
    rq = op.norm.rq
    xw = (12, True)
    # ms <= 64 * 2^22 + 3 > 2^28: rsqrt could be 0
    with pytest.raises(ModelError, match="too small"):
        plan(OpRMSNorm(P, SRC, IntRMSNorm(3, 28, rq)), xw)
    with pytest.raises(ModelError, match="k = 61"):
        plan(OpRMSNorm(P, SRC, IntRMSNorm(3, 61, rq)), xw)
    with pytest.raises(ModelError, match="eps = 0"):
        plan(OpRMSNorm(P, SRC, IntRMSNorm(0, 53, rq)), xw)
    with pytest.raises(ModelError, match="expected IntRMSNorm"):
        plan(OpRMSNorm(P, SRC, object()), xw)
    with pytest.raises(ModelError, match="2\\^62"):
        big = Requant(rq.m << 20, 40, rq.lo, rq.hi)
        HOME.columns(OpRMSNorm(P, SRC, IntRMSNorm(3, 60, big)), None, 4, {SRC: (12, True)}, None)
    with pytest.raises(ModelError, match="int64 column"):
        HOME.reference(op, None, np.arange(2), {SRC: np.zeros((2, 63), dtype=np.int64)})
    # k = 60 with ms up to 3 2^58 (30-bit x, d = 3): rsqrt high's bound reaches p / 2
    with pytest.raises(UnsupportedOpError, match="rsqrt high"):
        plan(OpRMSNorm(P, SRC, IntRMSNorm(1, 60, Requant(rq.m[:3], 30, -8, 7))), (30, True))


@pytest.mark.parametrize(("xb", "d", "k", "eps"), [
    (24, 576, 58, 443),  # SmolLM2: ms of 56 bits
    (26, 255, 60, 1),  # ms of 58 bits, k = 60, rsqrt up to 2^30
    (26, 256, 60, 1),  # ms of 59 bits
    (12, 64, 53, 3),
    (4, 2, 9, 1),
])
def test_plan_bounds_fit_the_field(xb, d, k, eps):
    """Every identity of the bracket stays below p / 2 (the circuit's bound check agrees)."""
    rng = np.random.default_rng(d)
    op = make_op(rng, d, k, eps, 8, max(1, k // 2), 8)
    pl = plan(op, (xb, True))
    assert pl.Y == math.isqrt((1 << k) // eps) < 1 << LIMB
    assert sum(pl.m_bits) == pl.M.bit_length() and sum(pl.t_bits) == (pl.Y ** 2).bit_length()
    run = run_gadget(HOME, op, {SRC: (rand_x(rng, 2, d, xb), (xb, True))}, 2)
    assert all(b.bound < HALF_P for b in identity_bounds(run.circuit))


# --------------------------------------------------------------------------------- proofs

SMALL = (12, 64, 5, 53, 3, 16, 30, 10)  # x bits, d, n, k, eps, mult bits, shift, out bits
SMOL = (24, 576, 8, 58, 443, 16, 31, 14)  # SmolLM2's residual width (k as int_llama._norm)
WIDEST = (26, 255, 4, 60, 1, 12, 34, 12)  # ms of 58 bits, k = 60, eps = 1


def gadget_run(cfg=SMALL, seed: int = 0, tamper=None, home=HOME):
    xb, d, n, k, eps, mb, shift, ob = cfg
    rng = np.random.default_rng(seed)
    op = make_op(rng, d, k, eps, mb, shift, ob)
    x = rand_x(rng, n, d, xb)
    return run_gadget(home, op, {SRC: (x, (xb, True))}, n, tamper=tamper), op, x


@pytest.mark.parametrize("cfg", [SMALL, SMOL, WIDEST], ids=["small", "smollm2", "widest"])
def test_honest_rmsnorm_proves(cfg):
    run, op, x = gadget_run(cfg)
    run.prove()
    want, rec, _ = spec(x, op, (cfg[0], True))
    assert np.array_equal(run.trace[f"{P}.out"], want)
    names = set(run.circuit.trace)
    if cfg is SMOL:
        # ms has 56 bits: two limbs; rsqrt^2 two; the diagonal t1 m1 is proven zero
        assert {f"{P}.m0", f"{P}.m1", f"{P}.t0", f"{P}.t1", f"{P}.tm0", f"{P}.tm1",
                f"{P}.rm0", f"{P}.rm1"} <= names
        assert f"{P}.tm2" not in names
        assert run.model.widths[f"{P}.ms"] == (56, False)
        assert run.model.widths[f"{P}.out"] == (14, True)
    if cfg is WIDEST:
        # the zero row: ms = 1, rsqrt = 2^30, rsqrt^2 = 2^60 (limbs 0 and 2^29)
        assert rec[f"{P}.rsqrt"][0] == 1 << 30
        assert run.model.widths[f"{P}.ms"] == (58, False)


@pytest.mark.parametrize("xb", [24, 25])
def test_honest_proof_with_parameters_built_by_the_quantizer(xb):
    """SmolLM2's final norm as :func:`int_llama._norm` builds it (random gamma, eps_i = 443,
    k = 58, 14-bit output) with the widest multipliers it can make (31 bits: shifts not capped
    by ``max_shift``); x of the residual's 24 bits and of the 25 bits the quantizer sizes ms
    for."""
    rng = np.random.default_rng(7)
    d, n = 576, 8
    q = int_llama.LlamaQuantConfig(max_shift=62)
    s_in = math.sqrt(1e-5 * d / 443)
    s_out = rng.uniform(0.5, 2.0, d) * 72.0 / 8191
    norm = int_llama._norm(rng.uniform(0.2, 3.0, d), 1e-5, s_in, q.resid_bits, s_out,
                           q.norm_bits, q)
    assert (norm.eps, norm.k) == (443, 58) and int(np.abs(norm.rq.m).max()) >= 1 << 29
    op = OpRMSNorm(P, SRC, norm)
    x = rand_x(rng, n, d, xb)
    run = run_gadget(HOME, op, {SRC: (x, (xb, True))}, n)
    run.prove()
    assert np.array_equal(run.trace[f"{P}.out"], spec(x, op, (xb, True))[0])


def test_honest_single_row_and_odd_width_prove():
    rng = np.random.default_rng(3)
    op = make_op(rng, 7, 40, 5, 10, 20, 8)
    x = rand_x(rng, 1, 7, 9)
    run_gadget(HOME, op, {SRC: (x, (9, True))}, 1).prove()


# -------------------------------------------------------------------------------- attacks


class Forged(type(HOME)):
    """The home with some advice rules rewritten: ``edits[name](trace, honest value)``."""

    def __init__(self, edits):
        self.edits = edits

    def advice(self, op, model, n):
        rules = super().advice(op, model, n)
        for name, fn in self.edits.items():
            rules[name] = lambda t, base=rules[name], fn=fn: fn(t, base(t))
        return rules


def failures(run, op, home=HOME) -> tuple[set[str], set[str]]:
    """The identities the (tampered) witness breaks, and the columns outside a range check."""
    c = run.circuit
    plan_ = home.advice(op, run.model, run.trace[op.src].shape[0])
    tables = Tables(c, _unchecked_witness(c, dict(run.trace), plan_))
    bad = set()
    for nv, idents in c.identities.items():
        bad |= {name for name, _ in debug_check(idents, tables, c.publics, nv)}
    out_of_range = set()
    for r in c.ranges:
        col = c.col(r.col)
        real = np.zeros(col.padded_shape, dtype=np.int64)
        real[tuple(slice(0, s) for s in col.shape)] = 1
        v = [r.scale * int(a) + r.offset * int(b)
             for a, b in zip(gl.decode_signed(tables[r.col]), real.reshape(-1))]
        if min(v) < 0 or max(v) >= 1 << r.bits:
            out_of_range.add(r.col)
    return bad, out_of_range


def rejected(run, op, home=HOME) -> tuple[str, set[str], set[str]]:
    """The check rejecting the proof, the broken identities, the out-of-range columns."""
    with pytest.raises(VerificationError) as info:
        run.prove()
    return (info.value.check, *failures(run, op, home))


def forced_rsqrt(op: OpRMSNorm, delta: int, row: int = 3):
    """A tamper moving one row's ``rsqrt`` by ``delta`` and recomputing every column after it
    (slacks, ``z``, ``q``, ``rem``, ``out``) with the honest formulas."""

    def tamper(t):
        p, x = op.norm, t[op.src]
        r = t[f"{P}.rsqrt"].copy()
        r[row] += delta
        ms = t[f"{P}.ms"]
        two_k = 1 << p.k
        z = x * r[:, None]
        q, rem, out = requantize(z * p.rq.m, p.rq)
        t.update({f"{P}.rsqrt": r, f"{P}.rsqrt_lo": two_k - r * r * ms,
                  f"{P}.rsqrt_hi": (r + 1) * (r + 1) * ms - two_k - 1, f"{P}.z": z,
                  f"{P}.q": q, f"{P}.rem": rem, f"{P}.out": out})

    return tamper


@pytest.mark.parametrize("cfg", [SMALL, SMOL], ids=["small", "smollm2"])
@pytest.mark.parametrize(("delta", "slack"), [(1, "rsqrt_lo"), (-1, "rsqrt_hi")])
def test_rsqrt_off_by_one_with_consistent_slacks_is_rejected(cfg, delta, slack):
    _, op, _ = gadget_run(cfg)
    run, op, _ = gadget_run(cfg, tamper=forced_rsqrt(op, delta))
    # every identity holds (the limbs and diagonals follow rsqrt); rsqrt + 1 makes
    # rsqrt_lo = 2^k - (rsqrt+1)^2 ms < 0, rsqrt - 1 makes rsqrt_hi = rsqrt^2 ms - 2^k - 1 < 0:
    # that slack's range check (the range LogUp) rejects
    check, bad, oor = rejected(run, op)
    # (rsqrt + 1 may also take a diagonal of t ms above its cap and rsqrt_hi above 2 U + M - 1)
    assert bad == set() and f"{P}.{slack}" in oor
    assert oor <= {f"{P}.{slack}", f"{P}.tm0", f"{P}.tm1", f"{P}.rsqrt_hi"}
    assert "range" in check


def test_rsqrt_plus_one_with_a_diagonal_lowered_is_rejected():
    """rsqrt + 1 with rsqrt_lo = 5 (rsqrt_hi following it) and the diagonals of t ms chosen so
    that 'rsqrt low' holds: tm_0 + 2^31 tm_1 = 2^k - 5 although (rsqrt + 1)^2 ms > 2^k."""
    _, op, _ = gadget_run(SMOL)
    forced, row, L, k = forced_rsqrt(op, 1), 3, LIMB, op.norm.k
    mask = (1 << L) - 1

    def tamper(t):
        forced(t)
        r, ms = t[f"{P}.rsqrt"], t[f"{P}.ms"]
        lo, hi = t[f"{P}.rsqrt_lo"].copy(), t[f"{P}.rsqrt_hi"].copy()
        lo[row] = 5
        hi[row] = 2 * r[row] * ms[row] + ms[row] - 5 - 1  # 'rsqrt high' holds
        t[f"{P}.rsqrt_lo"], t[f"{P}.rsqrt_hi"] = lo, hi

    def true_tm0(t):
        return ((t[f"{P}.rsqrt"] ** 2) & mask) * (t[f"{P}.ms"] & mask)

    def tm1(t, v):
        v = v.copy()
        v[row] = ((1 << k) - 5 - true_tm0(t)[row]) >> L
        return v

    def tm0(t, v):
        v = v.copy()
        v[row] = (1 << k) - 5 - (tm1(t, v)[row] << L)
        return v

    home = Forged({f"{P}.tm1": tm1, f"{P}.tm0": tm0})
    run, op, _ = gadget_run(SMOL, tamper=tamper, home=home)
    # 'rsqrt low' and 'rsqrt high' hold and every value is in range; tm_1 is below
    # t_0 m_1 + t_1 m_0 ('tm1' breaks; 'tm0' too unless the low 31 bits happen to match)
    check, bad, oor = rejected(run, op, home)
    assert f"{P} tm1" in bad and bad <= {f"{P} tm0", f"{P} tm1"} and not oor
    assert check.startswith("identities")


def test_rsqrt_minus_one_with_a_larger_product_is_rejected():
    """rsqrt - 1 with rm0 raised so that 'rsqrt high' holds with rsqrt_hi >= 0."""
    _, op, _ = gadget_run(SMALL)
    tamper = forced_rsqrt(op, -1)
    row = 3

    def keep_hi(t):
        tamper(t)
        t[f"{P}.rsqrt_hi"] = t[f"{P}.rsqrt_hi"].copy()
        t[f"{P}.rsqrt_hi"][row] = 0

    def raise_rm(t, v):
        # 2 rm0 + ms - lo - 1 = hi = 0
        v = v.copy()
        v[row] = (t[f"{P}.rsqrt_lo"][row] + 1 - t[f"{P}.ms"][row]) // 2
        return v

    home = Forged({f"{P}.rm0": raise_rm})
    run, op, _ = gadget_run(SMALL, tamper=keep_hi, home=home)
    check, bad, oor = rejected(run, op, home)
    # 2 rm0 = lo + 1 - ms needs the parity of lo + 1 - ms: if it is odd 'rsqrt high' breaks too
    assert f"{P} rm0" in bad and bad <= {f"{P} rm0", f"{P} rsqrt high"} and not oor
    assert check.startswith("identities")


@pytest.mark.parametrize("column", ["ms", "z", "out", "rsqrt_lo", "rsqrt_hi"])
def test_one_entry_changed_is_rejected(column):
    """One entry of a committed column moved by one, the rest (advice included) honest."""

    def tamper(t):
        t[f"{P}.{column}"] = t[f"{P}.{column}"].copy()
        t[f"{P}.{column}"].reshape(-1)[3] += 1
    run, op, _ = gadget_run(tamper=tamper)
    check, bad, oor = rejected(run, op)
    assert check.startswith("identities") and not oor
    want = {
        # ms + 1: 'ms' (= xsum + eps), and the limb and diagonal products read ms
        "ms": {f"{P} ms", f"{P} tm0", f"{P} tm1", f"{P} rm0", f"{P} rsqrt low",
               f"{P} rsqrt high"},
        "z": {f"{P} scale", f"{P} rounding"},  # z = x rsqrt; pre = z g
        "out": {f"{P} clamp low"},  # q~ = out - below + above stays q: below = 1 inside [lo, hi]
        "rsqrt_lo": {f"{P} rsqrt low", f"{P} rsqrt high"},
        "rsqrt_hi": {f"{P} rsqrt high"},
    }[column]
    # the advice follows the tampered trace (limbs of the new ms), so only some of these break
    assert bad and bad <= want
    if column != "ms":
        assert bad == want
    else:
        assert f"{P} ms" in bad


def test_ms_changed_with_everything_after_it_recomputed_is_rejected():
    """ms + 1 in one row and rsqrt, slacks, z, q, rem, out all consistent with that ms."""
    _, op, _ = gadget_run(SMOL)

    def tamper(t):
        p, x = op.norm, t[op.src]
        ms = t[f"{P}.ms"].copy()
        ms[2] += 1
        two_k = 1 << p.k
        r = np.array([math.isqrt(two_k // int(v)) for v in ms], dtype=np.int64)
        z = x * r[:, None]
        q, rem, out = requantize(z * p.rq.m, p.rq)
        t.update({f"{P}.ms": ms, f"{P}.rsqrt": r, f"{P}.rsqrt_lo": two_k - r * r * ms,
                  f"{P}.rsqrt_hi": (r + 1) * (r + 1) * ms - two_k - 1, f"{P}.z": z,
                  f"{P}.q": q, f"{P}.rem": rem, f"{P}.out": out})
    run, op, _ = gadget_run(SMOL, tamper=tamper)
    # only 'ms = xsum + eps' breaks: the sum of squares is pinned by the column sum
    check, bad, oor = rejected(run, op)
    assert bad == {f"{P} ms"} and not oor and check.startswith("identities")


def test_square_changed_with_its_sum_is_rejected():
    """xsq + 1 in one entry, xsum and ms (and all after) following it."""
    _, op, _ = gadget_run()
    home = Forged({f"{P}.xsq": lambda t, v: v + (np.arange(v.size).reshape(v.shape) == 70),
                   f"{P}.xsum": lambda t, v: v + (np.arange(v.size) == 1)})

    def tamper(t):  # row 1 (index 70 is row 1, channel 6) with ms + 1 and a consistent rest
        ms = t[f"{P}.ms"].copy()
        ms[1] += 1
        p = op.norm
        two_k = 1 << p.k
        r = np.array([math.isqrt(two_k // int(v)) for v in ms], dtype=np.int64)
        z = t[op.src] * r[:, None]
        q, rem, out = requantize(z * p.rq.m, p.rq)
        t.update({f"{P}.ms": ms, f"{P}.rsqrt": r, f"{P}.rsqrt_lo": two_k - r * r * ms,
                  f"{P}.rsqrt_hi": (r + 1) * (r + 1) * ms - two_k - 1, f"{P}.z": z,
                  f"{P}.q": q, f"{P}.rem": rem, f"{P}.out": out})
    run, op, _ = gadget_run(tamper=tamper, home=home)
    check, bad, oor = rejected(run, op, home)
    assert bad == {f"{P} square"} and not oor and check.startswith("identities")


@pytest.mark.parametrize(("limb", "carry"), [("t", False), ("m", False), ("t", True),
                                             ("m", True)])
def test_limb_changed_is_rejected(limb, carry):
    """A limb of rsqrt^2 or ms moved by one (an identity breaks), or by 2^31 with the next
    limb lowered by one and every product following the forged limbs (every identity holds;
    the limb's range check rejects). Rows where the next limb is not zero: the zero row for
    rsqrt^2 (ms = eps, rsqrt^2 ~ 2^58 / 443), a random row for ms."""
    row, L = (0 if limb == "t" else 3), LIMB
    mask = (1 << L) - 1

    def at_row(v, delta):
        return v + (np.arange(v.size) == row) * delta

    def tl(t, i):  # the (forged) limbs of rsqrt^2 and ms
        v = ((t[f"{P}.rsqrt"] ** 2) >> (L * i)) & mask
        return at_row(v, ((1 << L) if i == 0 else -1) if carry else int(i == 0)) if limb == "t" else v

    def ml(t, j):
        v = (t[f"{P}.ms"] >> (L * j)) & mask
        return at_row(v, ((1 << L) if j == 0 else -1) if carry else int(j == 0)) if limb == "m" else v

    edits = {f"{P}.{limb}0": lambda t, v: (tl if limb == "t" else ml)(t, 0)}
    if carry:
        edits.update({
            f"{P}.{limb}1": lambda t, v: (tl if limb == "t" else ml)(t, 1),
            f"{P}.tm0": lambda t, v: tl(t, 0) * ml(t, 0),
            f"{P}.tm1": lambda t, v: tl(t, 0) * ml(t, 1) + tl(t, 1) * ml(t, 0),
            f"{P}.rm0": lambda t, v: t[f"{P}.rsqrt"] * ml(t, 0),
            f"{P}.rm1": lambda t, v: t[f"{P}.rsqrt"] * ml(t, 1)})
    home = Forged(edits)
    run, op, _ = gadget_run(SMOL, home=home)
    check, bad, oor = rejected(run, op, home)
    if carry:
        # the limb is 2^31 or more (the products it enters may exceed their caps too)
        assert bad == set() and f"{P}.{limb}0" in oor and "range" in check
    else:
        # the recomposition breaks, and the products that read the limb
        want = ({f"{P} t limbs", f"{P} tm0"} if limb == "t"
                else {f"{P} ms limbs", f"{P} tm0", f"{P} rm0"})
        assert bad == want and check.startswith("identities")


@pytest.mark.parametrize("cfg", [SMALL, SMOL], ids=["small", "smollm2"])
def test_every_committed_column_is_constrained(cfg):
    """No committed column (limbs, diagonals, range limbs included) is free or only bounded."""
    run, _, _ = gadget_run(cfg)
    assert unconstrained_columns(run.circuit, ranges_bind=False) == []
