"""Requantization identities and ranges: exact on honest witnesses, each cheat breaks one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.requant_design import (
    RequantSpec,
    requant_identities,
    requant_ranges,
    requant_witness,
)
from zkinfer.errors import FieldRangeError
from zkinfer.field import goldilocks as gl
from zkinfer.protocol.constraints import Broadcast, debug_check

SPEC = RequantSpec("l0", shift=12, lo=-128, hi=127, acc_bits=24, m_bits=16)


def columns(acc, m, spec=SPEC, **override):
    w = requant_witness(acc, m, spec)
    w.update(override)
    cols = {"acc": gl.encode_signed(acc.reshape(-1))}
    cols.update({k: gl.encode_signed(v.reshape(-1)) for k, v in w.items()})
    return cols, w


def ranges_ok(w, spec=SPEC):
    for rc in requant_ranges(spec):
        v = rc.values(w[rc.column])
        if v.min() < 0 or v.max() >= 1 << rc.bits:
            return False
    return True


def instance(seed, rows=4, ch=8):
    rng = np.random.default_rng(seed)
    acc = rng.integers(-(2**23), 2**23, (rows, ch))
    m = rng.integers(1, 2**15, ch)
    return acc, m


@given(st.integers(0, 2**32))
def test_honest_witness_satisfies_everything(seed):
    acc, m = instance(seed)
    cols, w = columns(acc, m)
    publics = {"m": Broadcast(gl.encode_signed(m))}
    assert debug_check(requant_identities(SPEC, "acc", "m"), cols, publics, 5) == []
    assert ranges_ok(w)
    assert np.array_equal(w["l0.out"], np.clip((acc * m + 2048) >> 12, -128, 127))


def test_rounded_the_other_way_breaks_a_range():
    acc, m = instance(1)
    _, w = columns(acc, m)
    q, rem = w["l0.q"].copy(), w["l0.rem"].copy()
    q[0, 0] += 1
    rem[0, 0] -= 1 << 12
    out = np.clip(q, -128, 127)
    cols, w2 = columns(acc, m, **{"l0.q": q, "l0.rem": rem, "l0.out": out,
                                  "l0.below": np.maximum(-128 - q, 0),
                                  "l0.above": np.maximum(q - 127, 0)})
    publics = {"m": Broadcast(gl.encode_signed(m))}
    assert debug_check(requant_identities(SPEC, "acc", "m"), cols, publics, 5) == []
    assert not ranges_ok(w2)


def test_clamp_skipped_breaks_an_identity_or_range():
    acc, m = instance(2)
    acc[0, 0] = 2**23 - 1  # far above the clamp
    m[0] = 2**15 - 1
    _, w = columns(acc, m)
    assert w["l0.out"][0, 0] == 127
    q = w["l0.q"]
    # a prover that skips the clamp outputs q itself: out leaves its range
    zeros = np.zeros_like(q)
    cols, w2 = columns(acc, m, **{"l0.out": q, "l0.below": zeros, "l0.above": zeros})
    publics = {"m": Broadcast(gl.encode_signed(m))}
    failures = debug_check(requant_identities(SPEC, "acc", "m"), cols, publics, 5)
    assert failures == [] and not ranges_ok(w2)
    # or keeps out = 127 without 'above': the clamp identity breaks
    cols, _ = columns(acc, m, **{"l0.above": zeros})
    failures = debug_check(requant_identities(SPEC, "acc", "m"), cols, publics, 5)
    assert ("l0 clamp", 0) in failures


def test_spurious_below_breaks_identities():
    rng = np.random.default_rng(3)
    acc = rng.integers(-(2**10), 2**10, (4, 8))  # q stays inside [-128, 127]
    m = rng.integers(1, 2**8, 8)
    _, w = columns(acc, m)
    assert (w["l0.out"] == w["l0.q"]).all()
    below = w["l0.below"].copy()
    below[1, 2] = 5
    cols, _ = columns(acc, m, **{"l0.below": below})
    publics = {"m": Broadcast(gl.encode_signed(m))}
    names = {f for f, _ in debug_check(requant_identities(SPEC, "acc", "m"), cols, publics, 5)}
    assert "l0 clamp" in names


def test_spec_rejects_overflowing_widths():
    with pytest.raises(FieldRangeError):
        RequantSpec("x", shift=4, lo=-128, hi=127, acc_bits=40, m_bits=30)
    with pytest.raises(FieldRangeError):
        RequantSpec("x", shift=0, lo=-128, hi=127, acc_bits=20, m_bits=10)


def test_non_power_of_two_span_checks_both_ends():
    spec = RequantSpec("r", shift=4, lo=0, hi=100, acc_bits=16, m_bits=8)
    checks = requant_ranges(spec)
    outs = [rc for rc in checks if rc.column == "r.out"]
    assert len(outs) == 2
    assert all(rc.values(np.array([100]))[0] >= 0 for rc in outs)
    assert any(rc.values(np.array([101]))[0] < 0 for rc in outs)
