"""The SwiGLU op: its reference is :func:`zkinfer.model.int_llama.swiglu` bit for bit (columns and
widths), honest proofs verify (small, and at SmolLM2's widths: a 65536-row SiLU table, f = 1536),
and each way a cheating prover could deviate is rejected by the check named beside it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.protocol.gadget_harness import run_gadget
from zkinfer.errors import ModelError, VerificationError
from zkinfer.model import int_llama
from zkinfer.model.int_llama import IntSwiGLU
from zkinfer.model.ops.requant import Requant, requantize
from zkinfer.model.ops.swiglu import HOME, OpSwiGLU
from zkinfer.protocol.constraints import debug_check
from zkinfer.protocol.coverage import unconstrained_columns
from zkinfer.protocol.witness import _unchecked_witness

P, GATE, UP = "l0.swiglu", "l0.gate.out", "l0.up.out"


def _silu_table(bits: int, silu_bits: int, gate_scale: float) -> np.ndarray:
    """The SiLU table as :func:`zkinfer.model.int_llama.quantize_llama` builds it: every
    ``bits``-bit gate value times its scale, through SiLU, at the scale putting the largest
    ``|SiLU|`` at ``2^(silu_bits-1) - 1``, rounded half away from zero."""
    half = 1 << (bits - 1)
    u = np.arange(-half, half, dtype=np.float64) * gate_scale
    silu = u / (1.0 + np.exp(-u))
    s = silu / (float(np.abs(silu).max()) / ((1 << (silu_bits - 1)) - 1))
    return (np.sign(s) * np.floor(np.abs(s) + 0.5)).astype(np.int64)


def _instance(seed: int, *, bits: int = 6, f: int = 12, n: int = 5, up_bits: int = 10,
              silu_bits: int = 12, out_bits: int = 8, mult_bits: int = 16, shift: int = 22,
              max_seq_len: int = 8):
    """An op and its inputs: gate over the whole table domain (both ends included), up over its
    whole signed width, per-channel multipliers, some outputs clamped."""
    rng = np.random.default_rng(seed)
    half = 1 << (bits - 1)
    table = _silu_table(bits, silu_bits, 8.0 / half)
    m = rng.integers(1, 1 << (mult_bits - 1), f).astype(np.int64)
    m[0] = -m[0]  # a negative multiplier
    rq = Requant(m, shift, -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1)
    op = OpSwiGLU(P, GATE, UP, IntSwiGLU(table, bits, rq), max_seq_len)
    gate = rng.integers(-half, half, (n, f))
    gate[0, 0], gate[-1, -1] = -half, half - 1
    uhalf = 1 << (up_bits - 1)
    up = rng.integers(-uhalf, uhalf, (n, f))
    up[0, 1], up[-1, 0] = -uhalf, uhalf - 1
    inputs = {GATE: (gate, (bits, True)), UP: (up, (up_bits, True))}
    return op, inputs, n


def _run(op, inputs, n, tamper=None):
    return run_gadget(HOME, op, inputs, n, tamper=tamper)


def _broken_identities(run, op, n) -> set[str]:
    """The identities the (tampered) witness breaks, by name (the zero-check cannot tell)."""
    tables = _unchecked_witness(run.circuit, dict(run.trace), HOME.advice(op, run.model, n))
    broken = set()
    for nv, idents in run.circuit.identities.items():
        broken |= {name for name, _ in debug_check(idents, tables, run.circuit.publics, nv)}
    return broken


def _requant_again(t: dict, op) -> None:
    """Recompute ``q``, ``rem``, ``out`` from the (tampered) ``prod``: a consistent forgery."""
    rq = op.sw.rq
    t[f"{P}.q"], t[f"{P}.rem"], t[f"{P}.out"] = requantize(t[f"{P}.prod"] * rq.m, rq)


# ------------------------------------------------------------------------ semantics


@pytest.mark.parametrize("seed", range(6))
def test_reference_and_widths_match_int_llama(seed):
    op, inputs, n = _instance(seed, bits=5 + seed, f=7 + 3 * seed, n=1 + seed,
                              up_bits=8 + seed, silu_bits=10 + seed, shift=18 + 2 * seed)
    (gate, gw), (up, uw) = inputs[GATE], inputs[UP]
    want, want_w = {}, {}
    out, out_w = int_llama.swiglu(gate, up, op.sw, uw, P, int_llama._Rec(want, want_w))
    got = HOME.reference(op, None, None, {GATE: gate, UP: up})
    for k in ("silu", "prod", "q", "rem", "out"):
        assert got[f"{P}.{k}"].dtype == np.int64
        assert np.array_equal(got[f"{P}.{k}"], want[f"{P}.{k}"]), k
    assert np.array_equal(got[f"{P}.out"], out)
    half = 1 << (op.sw.in_bits - 1)
    assert np.array_equal(got[f"{P}.mult"],
                          np.bincount((gate + half).ravel(), minlength=len(op.sw.table)))
    # widths: int_llama's at max_seq_len, which are also the columns' at n
    rows = HOME.columns(op, None, n, {GATE: gw, UP: uw}, None)
    widths = {name: tuple(w) for name, _, _, w, _ in rows}
    for k in ("silu", "prod", "q", "rem", "out"):
        assert widths[f"{P}.{k}"] == tuple(want_w[f"{P}.{k}"]), k
    assert widths[f"{P}.out"] == tuple(out_w)
    assert {name: shape for name, shape, *_ in rows} == {
        **{f"{P}.{k}": gate.shape for k in ("silu", "prod", "q", "rem", "out")},
        f"{P}.mult": (1 << op.sw.in_bits,)}
    # every column fits its declared width
    for name, _, _, (bits, signed), _ in rows:
        v = got[name]
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        assert lo <= v.min() and v.max() <= hi, name


def test_kernel_writes_the_reference_into_preallocated_columns():
    op, inputs, n = _instance(3)
    src = {k: a for k, (a, _) in inputs.items()}
    want = HOME.reference(op, None, None, src)
    rows = HOME.columns(op, None, n, {k: w for k, (_, w) in inputs.items()}, None)
    cols = dict(src) | {name: np.zeros(shape, dtype=np.int64) for name, shape, *_ in rows}
    HOME.kernel(op, None, None, cols)
    for name in want:
        assert np.array_equal(cols[name], want[name]), name


def test_gate_outside_the_table_and_unsafe_widths_are_refused():
    op, inputs, n = _instance(4)
    gate = inputs[GATE][0].copy()
    gate[0, 0] = 1 << (op.sw.in_bits - 1)  # one past the last row
    with pytest.raises(ModelError, match="domain"):
        HOME.reference(op, None, None, {GATE: gate, UP: inputs[UP][0]})
    widths = {k: w for k, (_, w) in inputs.items()}
    with pytest.raises(ModelError, match="domain"):  # a gate wider than the table
        HOME.columns(op, None, n, widths | {GATE: (op.sw.in_bits + 1, True)}, None)
    with pytest.raises(ModelError, match="2\\^62"):  # up so wide that prod m may reach 2^62
        HOME.columns(op, None, n, widths | {UP: (40, True)}, None)
    with pytest.raises(ModelError, match="at most"):
        HOME.columns(op, None, op.max_seq_len + 1, widths, None)
    bad = OpSwiGLU(P, GATE, UP, IntSwiGLU(op.sw.table[:-1], op.sw.in_bits, op.sw.rq), 8)
    with pytest.raises(ModelError, match="table"):
        HOME.columns(bad, None, n, widths, None)


# ------------------------------------------------------------------------ honest proofs


def test_honest_small_proof_verifies_and_every_column_is_bound():
    op, inputs, n = _instance(0)
    run = _run(op, inputs, n)
    assert f"{P}.lookup_mult" in run.circuit.trace and f"{P}.q" in run.circuit.linear
    # (before proving: the harness then adds a dummy weight column for the commitment)
    assert unconstrained_columns(run.circuit) == []
    run.prove()


@pytest.mark.parametrize("n", [1, 8])
def test_honest_proof_full_domain_and_exact_sizes(n):
    # n = 8 and f = 16: no padding at all; n = 1: a single token
    op, inputs, n = _instance(11, bits=4, f=16, n=n, up_bits=6, silu_bits=8)
    _run(op, inputs, n).prove()


def test_honest_proof_at_smollm2_widths():
    # SmolLM2-135M's MLP: in_bits 16 (a 65536-row SiLU table of 16-bit entries), f = 1536,
    # up 16-bit signed per channel, the product requantized to 16 bits with 29-bit multipliers
    # (mult_bits 32 capped at 61 - (silu_bits + up_bits))
    bits, f, n = 16, 1536, 8
    rng = np.random.default_rng(7)
    table = _silu_table(bits, 16, 10.0 / (1 << 15))
    assert len(table) == 1 << 16 and int(np.abs(table).max()) == (1 << 15) - 1
    factor = rng.uniform(0.5, 2.0, f) * 2.0**-15  # s_silu s_up[c] / s_ffn[c]
    shift = 28 + 15 - 1
    m = np.round(factor * 2.0**shift).astype(np.int64)
    assert int(np.abs(m).max()) < 1 << 28
    rq = Requant(m, shift, -(1 << 15), (1 << 15) - 1)
    op = OpSwiGLU(P, GATE, UP, IntSwiGLU(table, bits, rq), 8192)
    # heavy-tailed activations: mostly small, a few at the clamps
    gate = np.clip(np.round(rng.standard_t(3, (n, f)) * 3000), -(1 << 15), (1 << 15) - 1)
    up = np.clip(np.round(rng.standard_t(3, (n, f)) * 3000), -(1 << 15), (1 << 15) - 1)
    gate, up = gate.astype(np.int64), up.astype(np.int64)
    gate[0, :2], up[1, :2] = (-(1 << 15), (1 << 15) - 1), (-(1 << 15), (1 << 15) - 1)
    run = _run(op, {GATE: (gate, (16, True)), UP: (up, (16, True))}, n)
    w = run.model.widths
    assert w[f"{P}.silu"] == (16, True) and w[f"{P}.out"] == (16, True)
    assert w[f"{P}.prod"] == (31, True) and w[f"{P}.mult"] == (24, False)
    run.prove()


# ------------------------------------------------------------------------ attacks


def _rejected(op, inputs, n, tamper) -> VerificationError:
    run = _run(op, inputs, n, tamper)
    with pytest.raises(VerificationError) as info:
        run.prove()
    return info.value


def test_silu_from_the_wrong_table_row_is_rejected_by_the_lookup():
    op, inputs, n = _instance(1)
    table, half = op.sw.table, 1 << (op.sw.in_bits - 1)

    def tamper(t):
        j = int(t[GATE][2, 3]) + half
        k = j + 1 if j + 1 < len(table) and table[j + 1] != table[j] else j - 1
        assert table[k] != table[j]
        t[f"{P}.silu"][2, 3] = table[k]  # a table value, of the neighbouring row
        t[f"{P}.prod"] = t[f"{P}.silu"] * t[UP]  # everything after it consistent
        _requant_again(t, op)

    # the pair (gate + half, SILU[k]) is not a table row: table l0.swiglu
    assert _rejected(op, inputs, n, tamper).check.startswith(f"table {P}")


def test_silu_from_the_wrong_row_with_matching_multiplicities_is_rejected():
    op, inputs, n = _instance(2)
    table, half = op.sw.table, 1 << (op.sw.in_bits - 1)

    def tamper(t):
        j = int(t[GATE][0, 2]) + half
        k = next(r for r in range(len(table)) if table[r] != table[j])
        t[f"{P}.silu"][0, 2] = table[k]
        t[f"{P}.prod"] = t[f"{P}.silu"] * t[UP]
        _requant_again(t, op)
        # the multiplicities count the row the forged silu came from, not the gate's
        t[f"{P}.mult"][j] -= 1
        t[f"{P}.mult"][k] += 1

    # the look-up still sees the pair (j, SILU[k]): table l0.swiglu
    assert _rejected(op, inputs, n, tamper).check.startswith(f"table {P}")


def test_forged_multiplicities_are_rejected_by_the_lookup():
    op, inputs, n = _instance(3)

    def tamper(t):
        mult = t[f"{P}.mult"]
        a = int(np.flatnonzero(mult)[0])
        mult[a] -= 1  # one count moved to another row: the total is unchanged
        mult[(a + 1) % len(mult)] += 1

    # the LogUp fractions do not cancel: table l0.swiglu
    assert _rejected(op, inputs, n, tamper).check.startswith(f"table {P}")


def test_a_changed_gate_is_rejected_by_the_lookup():
    op, inputs, n = _instance(4)
    half = 1 << (op.sw.in_bits - 1)

    def tamper(t):
        g = t[GATE]
        g[1, 1] = g[1, 1] + 1 if g[1, 1] + 1 < half else g[1, 1] - 1
        # mult follows the changed gate, silu does not (unless the table repeats the value)
        t[f"{P}.mult"] = np.bincount((g + half).ravel(), minlength=len(op.sw.table))
        if op.sw.table[g[1, 1] + half] == t[f"{P}.silu"][1, 1]:
            pytest.skip("the neighbouring table row holds the same value")

    assert _rejected(op, inputs, n, tamper).check.startswith(f"table {P}")


@pytest.mark.parametrize("delta", [1, -1, 1 << 20])
def test_a_changed_product_is_rejected_by_the_product_identity(delta):
    op, inputs, n = _instance(5)

    def tamper(t):
        t[f"{P}.prod"][3, 4] += delta
        _requant_again(t, op)  # the requantization follows the forged product

    run = _run(op, inputs, n, tamper)
    assert _broken_identities(run, op, n) == {f"{P} prod"}
    with pytest.raises(VerificationError) as info:
        run.prove()
    assert info.value.check.startswith("identities")  # the zero-check of "l0.swiglu prod"


def test_a_changed_up_is_rejected_by_the_product_identity():
    op, inputs, n = _instance(6)

    def tamper(t):
        t[UP][0, 0] += 1

    run = _run(op, inputs, n, tamper)
    assert _broken_identities(run, op, n) == {f"{P} prod"}
    with pytest.raises(VerificationError) as info:
        run.prove()
    assert info.value.check.startswith("identities")


@pytest.mark.parametrize("delta", [1, -1])
def test_a_changed_output_is_rejected_by_the_clamp_identities(delta):
    op, inputs, n = _instance(7)
    lo, hi = op.sw.rq.lo, op.sw.rq.hi

    def tamper(t):
        out = t[f"{P}.out"]
        # an entry strictly inside the clamp range, so that out +- 1 is still in range
        i, c = np.argwhere((out > lo + 1) & (out < hi - 1))[0]
        out[i, c] += delta  # q and rem stay: the advice below/above absorb the difference

    run = _run(op, inputs, n, tamper)
    # out = q + 1: below = 1 with out > lo; out = q - 1: above = 1 with out < hi
    want = f"{P} clamp low" if delta > 0 else f"{P} clamp high"
    assert _broken_identities(run, op, n) == {want}
    with pytest.raises(VerificationError) as info:
        run.prove()
    assert info.value.check.startswith("identities")


def test_a_changed_output_with_a_consistent_quotient_is_rejected_by_the_remainder_range():
    op, inputs, n = _instance(8)
    lo, hi, s = op.sw.rq.lo, op.sw.rq.hi, op.sw.rq.shift

    def tamper(t):
        out = t[f"{P}.out"]
        i, c = np.argwhere((out > lo + 1) & (out < hi - 1))[0]
        out[i, c] += 1
        t[f"{P}.q"][i, c] += 1  # q = out: the clamp holds with below = above = 0
        t[f"{P}.rem"][i, c] -= 1 << s  # the rounding identity holds, rem < 0

    run = _run(op, inputs, n, tamper)
    assert _broken_identities(run, op, n) == set()
    with pytest.raises(VerificationError) as info:
        run.prove()
    assert info.value.check.startswith("range")  # 0 <= rem < 2^s


def test_a_changed_remainder_is_rejected_by_the_rounding_identity():
    op, inputs, n = _instance(9)

    def tamper(t):
        rem = t[f"{P}.rem"]
        i, c = np.argwhere(rem < (1 << op.sw.rq.shift) - 1)[0]
        rem[i, c] += 1  # still in range

    run = _run(op, inputs, n, tamper)
    assert _broken_identities(run, op, n) == {f"{P} rounding"}
    with pytest.raises(VerificationError) as info:
        run.prove()
    assert info.value.check.startswith("identities")


def test_a_silu_outside_the_table_with_matching_product_is_rejected():
    # a value no table row holds (and outside silu's range): the look-up and the range check
    op, inputs, n = _instance(10)

    def tamper(t):
        t[f"{P}.silu"][4, 11] = 1 << 20
        t[f"{P}.prod"] = t[f"{P}.silu"] * t[UP]
        _requant_again(t, op)

    err = _rejected(op, inputs, n, tamper)
    assert err.check.startswith(f"table {P}") or err.check.startswith("range")
