"""Linear (uncommitted) columns: claims resolve to committed columns exactly, and the top limb
of a range check, which is a linear column, catches a tampered committed limb."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.commit.trivial import TrivialPCS
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.circuit import Circuit
from zkinfer.protocol.engine import (
    commit_segments,
    prove_circuit,
    prover_context,
    segment_parts,
    verifier_context,
    verify_circuit,
)
from zkinfer.protocol.witness import build_witness
from zkinfer.transcript import Transcript

D = b"tests/linear-columns"


def _circuit() -> Circuit:
    c = Circuit()
    c.add_weight("w", (2,))
    c.add_trace("x", (3, 5), (20, True))  # 20-bit signed: one committed limb, a linear top
    c.add_trace("y", (3,), None)
    # z = 2 x + y (broadcast over columns, padded columns too) + 2^21 on the real entries,
    # itself range-checked: unsigned, and in range on the padding (y >= 0) as well
    c.add_linear("z", (3, 5), (23, False), [(2, "x"), (1, c.view("y", 1, 5))],
                 [(1 << 21, c.shape_indicator((3, 5)))])
    c.finish_ranges()
    return c


def _trace(rng) -> dict:
    return {"x": rng.integers(-(1 << 19), 1 << 19, size=(3, 5)),
            "y": rng.integers(0, 1000, size=(3,))}


def test_a_claim_on_a_linear_column_resolves_to_committed_columns():
    c = _circuit()
    rng = np.random.default_rng(0)
    tables = build_witness(c, _trace(rng), {})
    assert "z" not in c.trace and "x#rc0.l1" not in c.trace and "x#rc0.l0" in c.trace
    z = gl.decode_signed(tables["z"]).reshape(4, 8)[:3, :5]
    t = _trace(np.random.default_rng(0))
    assert np.array_equal(z, 2 * t["x"] + t["y"][:, None] + (1 << 21))
    for name in ("z", "x#rc0.l1", "z#rc0.l1"):
        point = ext.random(c.col(name).num_vars, rng)
        value = ml.evaluate(tables[name], point)
        terms, rest = c.resolve(name, point, value)
        assert all(n in c.trace for n, _, _ in terms)
        total = ext.zeros(())
        for n, pt, coeff in terms:
            total = ext.add(total, ext.mul(coeff, ml.evaluate(tables[n], pt)))
        assert np.array_equal(total, rest)


def _prove(c: Circuit, tables: dict):
    pcs = TrivialPCS()
    # one segment: each commitment has one part
    trace = commit_segments(pcs, segment_parts(c), tables)
    weight_tables = {"w": np.zeros(2, dtype=np.uint64)}
    weights = commit_segments(pcs, segment_parts(c, weights=True), weight_tables)
    ids = np.zeros(1, dtype=np.int64)
    proof = prove_circuit(prover_context(c, ids, Transcript(D), tables=tables,
                                         weights=weight_tables, pcs=pcs,
                                         trace=trace, weight=weights))
    verify_circuit(verifier_context(c, ids, Transcript(D), pcs=pcs, trace=trace[0],
                                    weight=weights[0]), proof)


def test_honest_linear_columns_prove_and_verify():
    c = _circuit()
    _prove(c, build_witness(c, _trace(np.random.default_rng(1)), {}))


def test_a_tampered_committed_limb_is_caught_by_the_linear_top_limb():
    c = _circuit()
    tables = build_witness(c, _trace(np.random.default_rng(2)), {})
    # raise the low limb of one entry by 1: the recomposition still holds by definition, so the
    # top limb (x + 2^19 - l0) / 2^16 is no longer an integer in [0, 2^4)
    tables["x#rc0.l0"] = tables["x#rc0.l0"].copy()
    tables["x#rc0.l0"][0] = (tables["x#rc0.l0"][0] + 1) % (1 << 16)
    from zkinfer.lookup.range import range_multiplicities
    from zkinfer.protocol.witness import linear_table

    tables["x#rc0.l1"] = linear_table(c, c.linear["x#rc0.l1"], tables)
    for w, limbs in c.range_widths().items():
        tables[c.range_mult_name(w)] = range_multiplicities([tables[x] for x in limbs], w,
                                                            strict=False)
    with pytest.raises(VerificationError) as info:
        _prove(c, tables)
    assert info.value.check.startswith("range")
