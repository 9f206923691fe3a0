"""Flip views, regrouped broadcast views and grid public columns: tables and claims agree with
the base columns' extensions, and a circuit using them proves and verifies (a wrong entry is
rejected)."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.commit.trivial import TrivialPCS
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.circuit import Circuit
from zkinfer.protocol.constraints import Grid, Identity
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

D = b"tests/views-grid"


def _claim_matches(c: Circuit, tables: dict, name: str, rng) -> None:
    view = c.views[name]
    vt = view.table(tables[view.base], c.trace[view.base].bits)
    point = ext.random(view.num_vars, rng)
    assert np.array_equal(ml.evaluate(vt, point),
                          ml.evaluate(tables[view.base], view.base_point(point)))


def test_flip_view_swaps_halves_and_its_claim_moves_to_the_flipped_point():
    c = Circuit()
    c.add_trace("x", (3, 4, 2, 4), (10, True))
    name = c.flip_view("x", 2 + 2)  # the (2,) axis: variables (2 rows, 2 heads, 1 half, 2)
    rng = np.random.default_rng(0)
    x = rng.integers(-500, 500, size=(3, 4, 2, 4))
    tables = build_witness(c, {"x": x}, {})
    vt = c.views[name].table(tables["x"], c.trace["x"].bits)
    got = gl.decode_signed(vt).reshape(4, 4, 2, 4)[:3]
    assert np.array_equal(got, x[:, :, ::-1, :])
    _claim_matches(c, tables, name, rng)


def test_regroup_view_broadcasts_kv_heads_over_their_group():
    c = Circuit()
    c.add_trace("k", (5, 3 * 8), (10, True))  # 3 kv heads of width 8, padded to 4
    name = c.regroup_view("k", (5, 3, 8), 2, 3)  # (n, G, g, dh), g = 3 query heads per group
    rng = np.random.default_rng(1)
    k = rng.integers(-500, 500, size=(5, 24))
    tables = build_witness(c, {"k": k}, {})
    vt = c.views[name].table(tables["k"], c.trace["k"].bits)
    got = gl.decode_signed(vt).reshape(8, 4, 4, 8)
    want = k.reshape(5, 3, 1, 8)
    assert np.array_equal(got[:5, :3, :3], np.broadcast_to(want, (5, 3, 3, 8)))
    _claim_matches(c, tables, name, rng)
    with pytest.raises(ValueError):
        c.regroup_view("k", (5, 3, 9), 2, 3)


def test_grid_evaluates_its_table_on_its_coordinates():
    rng = np.random.default_rng(2)
    vals = gl.encode_signed(rng.integers(-9, 9, size=8))
    g = Grid(vals, (0, 2, 3))
    t = g.table(5)
    arr = t.reshape(2, 2, 2, 2, 2)
    assert np.array_equal(arr[:, 0, :, :, 1], vals.reshape(2, 2, 2))
    point = ext.random(5, rng)
    assert np.array_equal(g.evaluate(point), ml.evaluate(t, point))


def _circuit(rotate: bool) -> Circuit:
    """y = x * C + flip(x) * S over a (4, 2, 2) tensor, C, S grids over (row, pair) bits."""
    c = Circuit()
    c.add_weight("w", (2,))
    c.add_trace("x", (4, 2, 2), (8, True))
    c.add_trace("y", (4, 2, 2), (12, True))
    cos = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    sin = np.array([[1, -1], [2, -2], [0, 3], [4, 0]])
    c.publics["C"] = Grid(gl.encode_signed(cos.reshape(-1)), (0, 1, 3))
    c.publics["S"] = Grid(gl.encode_signed(sin.reshape(-1)), (0, 1, 3))
    c.public_bounds["C"] = (0, 8)
    c.public_bounds["S"] = (-2, 4)
    f = c.flip_view("x", 2)
    c.identity(4, Identity.of("rot", (1, ["y"]), (-1, ["x", "C"]), (-1, [f, "S"])))
    c.finish_ranges()
    return c, cos, sin


def _prove(c, tables):
    pcs = TrivialPCS()
    trace = commit_segments(pcs, segment_parts(c), tables)
    wt = {"w": np.zeros(2, dtype=np.uint64)}
    weights = commit_segments(pcs, segment_parts(c, weights=True), wt)
    ids = np.zeros(1, dtype=np.int64)
    proof = prove_circuit(prover_context(c, ids, Transcript(D), tables=tables, weights=wt,
                                         pcs=pcs, trace=trace, weight=weights))
    verify_circuit(verifier_context(c, ids, Transcript(D), pcs=pcs, trace=trace[0],
                                    weight=weights[0]), proof)


def test_a_circuit_with_a_flip_view_and_grids_proves_and_a_wrong_entry_is_rejected():
    c, cos, sin = _circuit(True)
    rng = np.random.default_rng(3)
    x = rng.integers(-100, 100, size=(4, 2, 2))
    y = x * cos[:, None, :] + x[:, ::-1, :] * sin[:, None, :]
    _prove(c, build_witness(c, {"x": x, "y": y}, {}))
    y = y.copy()
    y[2, 1, 0] += 1
    with pytest.raises(VerificationError) as info:
        _prove(c, build_witness(c, {"x": x, "y": y}, {}))
    assert "identit" in info.value.check or "zero" in info.value.check
