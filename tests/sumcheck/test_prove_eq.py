"""``prove_eq`` (the sumcheck of ``eq(tau, .) E`` without an eq table) sends exactly the messages
of the generic prover on ``[eq_table(tau), tables]`` and ``eq * E``: same rounds, claim, point
and end evaluations, for base, extension and mixed tables, serial and threaded rounds, degrees 1
to 3 and non-zero sums; the generic verifier accepts it."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import fast
from zkinfer.protocol.zerocheck import with_eq
from zkinfer.sumcheck.common import Expression
from zkinfer.sumcheck.prover import prove, prove_eq
from zkinfer.sumcheck.verifier import verify
from zkinfer.transcript import Transcript

EXPRESSIONS = {
    "linear": Expression(2, ((0,), (1,)), ((3, 0), (5, 7))),
    "product": Expression(3, ((0, 1), (2,), (0, 1, 2)), ((3, 0), (5, 7), (1, 0))),
    "cube": Expression(2, ((0, 0, 1), (1,)), ((2, 9), (gl.P - 1, 0))),
}


def _tables(n: int, k: int, kind: str, rng) -> list[np.ndarray]:
    base = [kind == "base" or (kind == "mixed" and j % 2 == 0) for j in range(k)]
    return [gl.random((1 << n,), rng) if b else ext.random((1 << n,), rng) for b in base]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 13])
@pytest.mark.parametrize("kind", ["base", "ext", "mixed"])
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_prove_eq_sends_the_generic_provers_messages(n, kind, name):
    rng = np.random.default_rng(n * 7 + len(kind) + len(name))
    expr = EXPRESSIONS[name]
    tables = _tables(n, expr.num_tables, kind, rng)
    tau = ext.random((n,), rng)
    want = prove([fast.eq_table(tau), *tables], with_eq(expr), Transcript(b"eq"))
    got = prove_eq(tau, tables, expr, Transcript(b"eq"))
    assert np.array_equal(got.proof.messages, want.proof.messages)
    assert np.array_equal(got.claim, want.claim) and np.array_equal(got.point, want.point)
    assert np.array_equal(got.evaluations, want.evaluations[1:])
    point, final = verify(got.claim, n, with_eq(expr), got.proof, Transcript(b"eq"))
    assert np.array_equal(point, got.point)


@pytest.mark.parametrize("n", [5, 13])
@pytest.mark.parametrize("kind", ["base", "ext", "mixed"])
def test_prove_eq_over_zero_runs_sends_the_generic_provers_messages(n, kind):
    # the eq kernels skip the terms with a table zero at both ends of a pair, and the pairs
    # where every table is (a trace's padding)
    rng = np.random.default_rng(n + len(kind))
    expr = EXPRESSIONS["product"]
    tables = _tables(n, expr.num_tables, kind, rng)
    size = 1 << n
    for t in tables:
        t[size // 8: size // 2] = 0  # zero at both ends of some pairs of the first rounds
        t[size - size // 4:] = 0
    tables[0][: size // 8] = 0  # one table zero at both ends: its terms are skipped
    tables[0][size // 2: size // 2 + size // 8] = 0
    tables[1][size // 2 + 3: size // 2 + 5] = 0  # zero at one end only: nothing skipped
    tau = ext.random((n,), rng)
    want = prove([fast.eq_table(tau), *tables], with_eq(expr), Transcript(b"eq"))
    got = prove_eq(tau, tables, expr, Transcript(b"eq"))
    assert np.array_equal(got.proof.messages, want.proof.messages)
    assert np.array_equal(got.evaluations, want.evaluations[1:])


def test_prove_eq_refuses_bad_tables():
    rng = np.random.default_rng(0)
    expr = EXPRESSIONS["linear"]
    tau = ext.random((3,), rng)
    with pytest.raises(Exception, match="expression has 2 tables"):
        prove_eq(tau, [gl.random((8,), rng)], expr, Transcript(b"eq"))
    with pytest.raises(Exception, match=r"expected \(8,\)"):
        prove_eq(tau, [gl.random((8,), rng), gl.random((4,), rng)], expr, Transcript(b"eq"))


@pytest.mark.parametrize("size", [4, 8, 64, 1 << 14])
def test_fused_fold_and_round_equals_fold_then_round(size):
    # the openings' product sumcheck folds both tables and sums the next round in one pass
    from zkinfer.sumcheck import _kernels as K

    rng = np.random.default_rng(size)
    tables = ext.random((2, size), rng)
    r = ext.random((), rng)
    want_tables = tables.copy()
    K.fold_ext_inplace(want_tables, size, r[0], r[1])
    want = K.round_prod2(want_tables, size // 2)
    got = K.fold_round_prod2(tables, size, r[0], r[1])
    assert np.array_equal(got, want)
    assert np.array_equal(tables[:, : size // 2], want_tables[:, : size // 2])


def test_prove_eq_without_variables_keeps_a_rewritten_expression_apart_from_the_statement():
    # a zero-check over one entry whose linear terms were merged: the transcript absorbs the
    # statement (eq times the original expression), the rounds run on the merged tables
    rng = np.random.default_rng(1)
    original = Expression(3, ((0,), (1,), (0, 2)), ((2, 0), (3, 0), (1, 0)))
    tables = [gl.random((1,), rng) for _ in range(3)]
    merged = gl.add(gl.mul(np.uint64(2), tables[0]), gl.mul(np.uint64(3), tables[1]))
    rewritten = Expression(3, ((0,), (1, 2)), ((1, 0), (1, 0)))
    tau = ext.random((0,), rng)
    want = prove([fast.eq_table(tau), merged, tables[0], tables[2]], with_eq(rewritten),
                 Transcript(b"eq"), statement=with_eq(original))
    got = prove_eq(tau, [merged, tables[0], tables[2]], rewritten, Transcript(b"eq"),
                   statement=with_eq(original))
    assert np.array_equal(got.claim, want.claim)
    assert np.array_equal(got.evaluations, want.evaluations[1:])
