"""Sumcheck prover (Numba kernels; prover side only).

Round ``j`` sends ``s_j(X) = sum_{x in {0,1}^(n-j)} P(f(r_1..r_{j-1}, X, x))`` as its values at
``X = 0..d``. The first round runs on base-field tables when every input table is in the base
field; the first challenge (in ``F_p2``) then folds them into extension tables, which are folded
in place from then on. Cost: ``O(k N)`` field operations in total, about ``2 d`` passes' worth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field import reference as _r
from zkinfer.poly.multilinear import num_vars as _num_vars
from zkinfer.sumcheck import _kernels as K
from zkinfer.sumcheck.common import Expression, SumcheckProof, begin, round_challenge, with_eq
from zkinfer.transcript import Transcript

__all__ = ["SumcheckOutput", "prove", "prove_eq"]

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True, eq=False)
class SumcheckOutput:
    """What the prover ends with.

    Attributes:
        proof: the messages to send.
        claim: the proven sum ``S`` (extension, ``(2,)``).
        point: the challenges ``r = (r_1, ..., r_n)``, shape ``(n, 2)``.
        evaluations: ``f_j(r)`` for every table, shape ``(k, 2)``; the caller must prove these
            (PCS opening or a later relation).
    """

    proof: SumcheckProof
    claim: U64
    point: U64
    evaluations: U64


def _term_arrays(expr: Expression) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    width = expr.degree
    idx = np.zeros((len(expr.terms), width), dtype=np.int64)
    lens = np.zeros(len(expr.terms), dtype=np.int64)
    for t, term in enumerate(expr.terms):
        idx[t, : len(term)] = term
        lens[t] = len(term)
    return idx, lens


def _round_ext(work, size, idx, lens, degree, prod2: bool):
    """One round's per-term sums over the extension tables (kernel chosen by shape and size)."""
    k = work.shape[0]
    if prod2 and K.use_parallel(size // 2, k):
        return K.round_prod2(work, size)
    rnd = K.round_ext if K.use_parallel(size // 2, k) else K.round_ext_serial
    return rnd(work, size, idx, lens, degree)


def _ext_work(arrays: list[U64], size: int) -> U64:
    """The tables stacked as extension tables ``(k, size, 2)`` (base ones embedded)."""
    work = np.empty((len(arrays), size, 2), dtype=np.uint64)
    for j, a in enumerate(arrays):
        if a.ndim == 1:
            K.embed_base(a.reshape(1, -1), work[j: j + 1])
        else:
            work[j] = a
    return work


def _combine(acc: U64, coeffs: U64) -> U64:
    """``s(x) = sum_t c_t acc[t, x]``; ``acc`` base ``(T, d+1)`` or extension ``(T, d+1, 2)``."""
    if acc.ndim == 2:
        acc = ext.from_base(acc)
    return ext.sum(ext.mul(acc, coeffs[:, None, :]), axis=0)


def prove(
    tables: Sequence[npt.ArrayLike],
    expr: Expression,
    transcript: Transcript,
    statement: Expression | None = None,
    num_vars: int | None = None,
) -> SumcheckOutput:
    """Prove ``S = sum_x P(f_1(x), ..., f_k(x))`` and return ``S`` with the proof.

    Arguments:
        tables: the ``k`` evaluation tables, each base ``(N,)`` or extension ``(N, 2)``, one
            common ``N = 2^n``.
        expr: the polynomial ``P``, with ``expr.num_tables == k``.
        transcript: the shared transcript; the statement (``n``, ``d``, ``P``, ``S``) and every
            round message are absorbed into it.
        statement: the expression the verifier knows, when ``expr`` is an equivalent rewriting
            of it over other tables (e.g. linear terms merged into one table): it is what the
            transcript absorbs. Its degree must equal ``expr``'s.
        num_vars: ``n`` when the tables are shorter than ``2^n``: each is then zero beyond its
            length (e.g. a batch vector and its weights, zero after the last block); the
            product of an extension and a base table keeps the tails implicit, other
            expressions pad them.

    Returns:
        :class:`SumcheckOutput` with the proof, ``S``, the point ``r`` and ``f_j(r)``.

    Raises:
        FieldRangeError: tables of different or non-power-of-two lengths, non-canonical entries,
            or a table count that does not match ``expr``.
    """
    if statement is not None and statement.degree != expr.degree:
        raise ValueError("a rewritten expression must keep the statement's degree")
    if len(tables) != expr.num_tables:
        raise FieldRangeError(f"expression has {expr.num_tables} tables, got {len(tables)}")
    arrays = [gl.as_field(t, f"table {j}") for j, t in enumerate(tables)]
    size = arrays[0].shape[0] if num_vars is None else 1 << num_vars
    # f_0 f_1 with coefficient 1 has its own kernel (matmuls, openings), and an extension f_0
    # times a base f_1 (the openings' W F) never embeds f_1 and keeps zero tails implicit
    prod2 = expr.terms == ((0, 1),) and expr.coeffs == ((1, 0),)
    mixed = (prod2 and len(arrays) == 2 and arrays[0].ndim == 2 and arrays[1].ndim == 1
             and K.use_parallel(size // 2))
    if num_vars is not None:
        if any(a.shape[0] > size for a in arrays):
            raise FieldRangeError(f"a table is longer than 2^{num_vars}")
        if not mixed:  # zero-extend explicitly
            arrays = [a if a.shape[0] == size else
                      np.concatenate([a, np.zeros((size - a.shape[0],) + a.shape[1:],
                                                  dtype=np.uint64)]) for a in arrays]
    for j, a in enumerate(arrays):
        if a.ndim not in (1, 2) or (a.ndim == 2 and a.shape[1] != 2) or \
                (a.shape[0] != size and num_vars is None):
            raise FieldRangeError(f"table {j} has shape {a.shape}; expected ({size},) or ({size}, 2)")
    n = _num_vars(size)
    degree = expr.degree
    idx, lens = _term_arrays(expr)
    coeffs = expr.coeff_array()
    k = len(arrays)

    if n == 0:
        values = np.stack([ext.from_base(a) if a.ndim == 1 else a for a in arrays]).reshape(k, 2)
        claim = expr.evaluate(values)
        begin(transcript, 0, statement or expr, claim)
        return SumcheckOutput(SumcheckProof(np.zeros((0, degree, 2), dtype=np.uint64)),
                              claim, np.zeros((0, 2), dtype=np.uint64), values)

    all_base = all(a.ndim == 1 for a in arrays)
    if mixed:
        acc = K.round_prod2_mixed(arrays[0], arrays[1], size)
        work = None
    elif all_base:
        base = np.stack(arrays)
        rnd = K.round_base if K.use_parallel(size // 2, k) else K.round_base_serial
        acc = rnd(base, size, idx, lens, degree)
        work = None
    else:
        work = _ext_work(arrays, size)
        acc = _round_ext(work, size, idx, lens, degree, prod2)

    rounds = np.empty((n, degree + 1, 2), dtype=np.uint64)
    point = np.empty((n, 2), dtype=np.uint64)
    values = _combine(acc, coeffs)
    claim = ext.add(values[0], values[1])
    begin(transcript, n, statement or expr, claim)
    for j in range(n):
        if j > 0:
            acc = _round_ext(work, size, idx, lens, degree, prod2)
            values = _combine(acc, coeffs)
        rounds[j] = values
        r = round_challenge(transcript, values)
        point[j] = r
        # f_j <- f_j(r, .): halve every table
        if mixed and j == 0:
            work = np.empty((2, size // 2, 2), dtype=np.uint64)
            K.fold_prod2_mixed_into(arrays[0], arrays[1], size, r[0], r[1], work)
        elif work is None:
            work = np.empty((k, size // 2, 2), dtype=np.uint64)
            fold = K.fold_base_into if K.use_parallel(size // 2, k) else K.fold_base_into_serial
            fold(base, size, r[0], r[1], work)
            del base
        else:
            fold = K.fold_ext_inplace if K.use_parallel(size // 2, k) else K.fold_ext_inplace_serial
            fold(work, size, r[0], r[1])
        size //= 2
    evaluations = np.ascontiguousarray(work[:, 0, :])
    return SumcheckOutput(SumcheckProof.from_rounds(rounds), claim, point, evaluations)


def _extrapolate(values: list[tuple[int, int]]) -> tuple[int, int]:
    """``G(d + 1)`` of a polynomial of degree ``<= d`` from ``G(0), ..., G(d)``: its
    ``(d + 1)``-th finite difference vanishes, so ``G(d + 1) = sum_i (-1)^(d - i)
    binom(d + 1, i) G(i)``."""
    from math import comb

    d = len(values) - 1
    P = gl.P
    c0 = c1 = 0
    for i, (g0, g1) in enumerate(values):
        c = comb(d + 1, i) * (-1 if (d - i) % 2 else 1)
        c0, c1 = c0 + c * g0, c1 + c * g1
    return c0 % P, c1 % P


def prove_eq(
    tau: npt.ArrayLike,
    tables: Sequence[npt.ArrayLike],
    expr: Expression,
    transcript: Transcript,
    statement: Expression | None = None,
) -> SumcheckOutput:
    """Prove ``S = sum_x eq(tau, x) E(f_1(x), ..., f_k(x))`` with the messages of
    :func:`prove` on ``[eq_table(tau), f_1, ..., f_k]`` and ``eq * E``
    (:func:`zkinfer.protocol.zerocheck.with_eq`), bit for bit, without an eq table.

    Round ``j`` factors ``eq(tau, (r, X, x)) = C_j eq(tau_j, X) eq(tau_rest, x)`` with
    ``C_j = prod_(i<j) eq(tau_i, r_i)``: the kernels sum ``G_j(X) = sum_x eq(tau_rest, x)
    E(f(r, X, x))`` at ``X = 0..d`` (``d = deg E``, one point fewer than the degree ``d + 1`` of
    the round, and base-field products in the first round: the base tables are never embedded),
    ``G_j(d + 1)`` follows from its degree, and ``s_j(X) = C_j eq(tau_j, X) G_j(X)``. The table
    ``eq(tau_rest, .)`` (half the live size) is built once and halved each round by summing out
    its top variable.

    Arguments:
        tau: the point, ``(n, 2)``.
        tables: the ``k`` tables of ``E``, base ``(2^n,)`` or extension ``(2^n, 2)``.
        expr: ``E`` over ``tables``.
        transcript: as :func:`prove`.
        statement: the expression the transcript absorbs (default ``eq * E``); e.g. the
            verifier's expression when ``expr`` merges some of its tables.

    Returns:
        :class:`SumcheckOutput` whose ``evaluations`` are ``f_j(r)`` (no eq entry).

    Raises:
        FieldRangeError: as :func:`prove`.
    """
    from zkinfer.poly import fast

    statement = statement if statement is not None else with_eq(expr)
    if statement.degree != expr.degree + 1:
        raise ValueError("the statement must be eq times an expression of the same degree")
    tau = ext.as_ext(tau, "tau")
    if len(tables) != expr.num_tables:
        raise FieldRangeError(f"expression has {expr.num_tables} tables, got {len(tables)}")
    arrays = [gl.as_field(t, f"table {j}") for j, t in enumerate(tables)]
    n = tau.shape[0]
    size = 1 << n
    for j, a in enumerate(arrays):
        if a.ndim not in (1, 2) or (a.ndim == 2 and a.shape[1] != 2) or a.shape[0] != size:
            raise FieldRangeError(f"table {j} has shape {a.shape}; expected ({size},) or ({size}, 2)")
    if n == 0:  # no round: the generic prover, without the eq table's evaluation
        out = prove([fast.eq_table(tau), *arrays], with_eq(expr), transcript, statement=statement)
        return SumcheckOutput(out.proof, out.claim, out.point,
                              np.ascontiguousarray(out.evaluations[1:]))
    degree = expr.degree
    idx, lens = _term_arrays(expr)
    coeffs = expr.coeff_array()
    k = len(arrays)
    P = gl.P
    eq_rest = fast.eq_table(tau[1:])  # eq(tau_1.., x) over the variables after the first
    taus = [(int(t[0]), int(t[1])) for t in tau]
    all_base = all(a.ndim == 1 for a in arrays)
    if all_base:
        base = np.stack(arrays)
        work = None
    else:
        work = _ext_work(arrays, size)
    rounds = np.empty((n, degree + 2, 2), dtype=np.uint64)
    point = np.empty((n, 2), dtype=np.uint64)
    coef = (1, 0)  # C_j
    claim = None
    for j in range(n):
        threaded = K.use_parallel(size // 2, k)
        if work is None:
            rnd = K.round_eq_base if threaded else K.round_eq_base_serial
            acc = rnd(base, size, eq_rest, idx, lens, degree)
        else:
            rnd = K.round_eq_ext if threaded else K.round_eq_ext_serial
            acc = rnd(work, size, eq_rest, idx, lens, degree)
        g = [(int(a), int(b)) for a, b in _combine(acc, coeffs)]  # G_j(0..d)
        g.append(_extrapolate(g))
        t0, t1 = taus[j]
        values = []
        for x, (g0, g1) in enumerate(g):
            # C_j eq(tau_j, x) G_j(x), eq(tau, x) = 1 - tau - x + 2 tau x
            e = ((1 - t0 - x + 2 * t0 * x) % P, (2 * x - 1) * t1 % P)
            values.append(_r.ext_mul(_r.ext_mul(coef, e), (g0, g1)))
        values = np.array(values, dtype=np.uint64)
        if j == 0:
            claim = ext.add(values[0], values[1])
            begin(transcript, n, statement, claim)
        rounds[j] = values
        r = round_challenge(transcript, values)
        point[j] = r
        r0, r1 = int(r[0]), int(r[1])
        # C_(j+1) = C_j eq(tau_j, r_j)
        tr = _r.ext_mul((t0, t1), (r0, r1))
        coef = _r.ext_mul(coef, ((1 - t0 - r0 + 2 * tr[0]) % P, (-t1 - r1 + 2 * tr[1]) % P))
        if work is None:
            work = np.empty((k, size // 2, 2), dtype=np.uint64)
            fold = K.fold_base_into if threaded else K.fold_base_into_serial
            fold(base, size, r[0], r[1], work)
            del base
        else:
            fold = K.fold_ext_inplace if threaded else K.fold_ext_inplace_serial
            fold(work, size, r[0], r[1])
        size //= 2
        if size > 1:
            K.eq_drop_top(eq_rest, size // 2)
    evaluations = np.ascontiguousarray(work[:, 0, :])
    return SumcheckOutput(SumcheckProof.from_rounds(rounds), claim, point, evaluations)
