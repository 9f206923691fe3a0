"""WHIR prover: commit to a multilinear over Goldilocks, prove one evaluation (prover side).

Uses the project's Numba kernels (NTT) and the ``F_p4`` table kernels of
:mod:`zkinfer.field._quartic_kernels` (folds, round sums, ``eq`` tables); the verifier
(:mod:`zkinfer.commit.whir.verify`) does not import this module. Every table after the first
fold is an ``F_p4`` table ``(2^n, 4)``; folds of the prover's own tables happen in place.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.commit.ligero import merkle
from zkinfer.commit.whir import _common as C
from zkinfer.commit.whir import _kernels as WK
from zkinfer.commit.whir.params import WhirParams
from zkinfer.commit.whir.proof import WhirCommitment, WhirProof, WhirRound
from zkinfer.errors import FieldRangeError
from zkinfer.field import _quartic_kernels as QK
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field import quartic as q
from zkinfer.poly import _kernels as PK
from zkinfer.poly import fast
from zkinfer.poly.ntt import low_degree_extend, ntt_bitrev_inplace
from zkinfer.poly.univariate import bit_reversal
from zkinfer.transcript import Transcript

__all__ = ["WhirProverData", "commit", "open_proof", "prove_rounds", "to_coefficients", "encode",
           "leaf_matrix", "hash_leaves", "encode_leaves", "LeafStore", "fold", "evaluate",
           "eq_table", "add_eq", "SPILL_BYTES", "COSET_FROM", "COSET_BATCH", "StreamedRound0",
           "evaluate_ext", "prefix_tables", "at_prefix"]

U64 = npt.NDArray[np.uint64]
Tamper = Callable[[str, int, object], object]


def to_coefficients(table: U64, inplace: bool = False) -> U64:
    """Evaluations on the cube -> monomial coefficients (the Moebius transform over ``F_p``).

    ``table`` is base ``(2^n,)`` or extension ``(2^n, 2)``; coefficient ``j`` (index bits as the
    table's, variable 1 the top bit) multiplies ``prod_{i in j} x_i``. For each variable, the
    half where it is 1 loses the half where it is 0. ``inplace``: transform ``table`` itself
    (a writable contiguous ``uint64`` array) instead of a copy.
    """
    arr = table if inplace else np.array(table, dtype=np.uint64, copy=True)
    n = C_num_vars(arr.shape[0])
    rows = arr.reshape(arr.shape[0], -1)  # (2^n, components), a view
    low = min(n, WK.MOEBIUS_BLOCK)  # the low variables in cache-sized blocks, then one per pass
    WK.moebius_low(rows, low)
    for v in range(low, n):
        WK.moebius_step(rows, v)
    return arr


def C_num_vars(length: int) -> int:  # noqa: N802 - mirrors multilinear.num_vars
    if length < 1 or length & (length - 1):
        raise FieldRangeError(f"table length {length} is not a power of two")
    return length.bit_length() - 1


def _univariate(coeffs: U64) -> U64:
    """Monomial coefficients (table order) -> the univariate twin's coefficients:
    ``u[bitrev(j)] = c[j]`` (a reversal of the ``n`` bit axes)."""
    n = C_num_vars(coeffs.shape[0])
    tail = coeffs.shape[1:]
    if n <= 1:
        return np.ascontiguousarray(coeffs)
    shaped = coeffs.reshape((2,) * n + tail)
    axes = tuple(reversed(range(n))) + tuple(range(n, n + len(tail)))
    return np.ascontiguousarray(shaped.transpose(axes)).reshape(coeffs.shape)


def encode(params: WhirParams, i: int, table: U64) -> U64:
    """``g_i``: the univariate twin of the multilinear ``table`` (``m_i`` variables, base or
    extension) evaluated on ``L_i`` in natural order (entry ``b`` at ``s_i w_i^b``)."""
    coeffs = _univariate(to_coefficients(table))
    blowup = 1 << (params.log_domain(i) - params.num_vars(i))
    if coeffs.ndim == 1:
        return low_degree_extend(coeffs, blowup, params.shift(i))
    rows = low_degree_extend(np.ascontiguousarray(coeffs.T), blowup, params.shift(i))
    return np.ascontiguousarray(rows.T)


def _leaf_matrix(codeword: U64, k: int) -> U64:
    """Leaf ``b`` holds entries ``b + j |L|/2^k`` (``j < 2^k``): the points ``x0 z^j`` whose
    ``2^k``-th power is the same; shape ``(|L|/2^k, 2^k[, 2])``."""
    n = codeword.shape[0]
    shaped = codeword.reshape((1 << k, n >> k) + codeword.shape[1:])
    return np.ascontiguousarray(np.swapaxes(shaped, 0, 1))


COSET_FROM = 1 << 14
"""Codewords of at least this many points are encoded coset by coset (:func:`encode_leaves`)."""

COSET_BATCH = 1 << 20
"""Words per NTT call of the coset encoder (several small cosets are transformed together)."""

SPILL_BYTES = 1 << 24
"""Leaf matrices of later rounds larger than this go to a temporary file (16 MiB)."""


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:  # pragma: no cover - already gone
        pass


class LeafStore:
    """A codeword's leaves, stored coset by coset (see :func:`encode_leaves`): row
    ``(b mod B) * per + b // B`` holds leaf ``b`` (``B`` cosets of ``per`` leaves each), in
    memory or in a temporary file that is removed with the store (:meth:`close` or garbage
    collection). Indexing with a list of leaf indices returns those leaves, natural order."""

    def __init__(self, rows: U64 | None, path: str | None, shape: tuple[int, ...],
                 cosets: int) -> None:
        self._rows = rows
        self.path = path
        self.shape = shape
        self.cosets = cosets
        self._finalizer = None if path is None else weakref.finalize(self, _remove, path)

    def _row(self, b: int) -> int:
        per = self.shape[0] // self.cosets
        return (b % self.cosets) * per + b // self.cosets

    def _array(self) -> U64:
        if self._rows is not None:
            return self._rows
        if self.path is None:
            raise ValueError("the leaves are closed")
        return np.memmap(self.path, dtype=np.uint64, mode="r", shape=self.shape)

    def __getitem__(self, indices) -> U64:
        rows = [self._row(int(b)) for b in indices]
        if self._rows is not None or self.path is None:
            return np.array(self._array()[rows], dtype=np.uint64)
        # a file: read the rows (no map: mapping large folios would make them resident)
        size = 8 * int(np.prod(self.shape[1:]))
        out = np.empty((len(rows),) + self.shape[1:], dtype=np.uint64)
        with open(self.path, "rb") as fh:
            for j, row in enumerate(rows):
                out[j] = np.frombuffer(os.pread(fh.fileno(), size, row * size),
                                       dtype="<u8").reshape(self.shape[1:])
        return out

    def matrix(self) -> U64:
        """Every leaf in natural order (tests and small codewords)."""
        return self[range(self.shape[0])]

    @property
    def nbytes(self) -> int:
        """Bytes held in memory (0 when the leaves are in a file)."""
        return 0 if self.path is not None else int(self._array().nbytes)

    def __getstate__(self) -> dict:
        # a pickle carries the leaves themselves (a file stays with its process)
        rows = None if self._rows is None and self.path is None else np.array(self._array())
        return {"rows": rows, "shape": self.shape, "cosets": self.cosets}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["rows"], None, state["shape"], state["cosets"])

    def close(self) -> None:
        """Drop the leaves and remove the file (idempotent)."""
        self._rows = None
        if self._finalizer is not None:
            self._finalizer()
        self.path = None


def encode_leaves(params: WhirParams, i: int, table: U64, spill: str | None = None,
                  inplace: bool = False, used: int | None = None
                  ) -> tuple[LeafStore, npt.NDArray[np.uint8]]:
    """``g_i``'s leaves (:func:`_leaf_matrix` of :func:`encode`) and their digests
    ``H(0x00 || leaf)`` ``(|L_i| / 2^(k_i), 32)``, one coset of the ``d = 2^(m_i)``-th roots
    at a time: entry ``e = c + B t`` of ``L_i`` (``B = |L_i| / d`` cosets ``c``) is
    ``g_i(s_i w^c (w^B)^t)``, an NTT of ``d`` points, and leaf ``b = c + B u`` holds entries
    ``t = u + j d / 2^(k_i)`` of coset ``c`` (``k_i <= m_i``, so a leaf never spans two cosets).
    Memory: the leaves (or none, with ``spill`` a directory) plus a few vectors of ``d``
    (``inplace``: ``table`` is overwritten by its coefficients).

    ``used``: the table is zero from entry ``used`` on. With ``2^(m_i - t) >= used``, the
    function is ``f = prod_(j <= t) (1 - x_j) g(x_(t+1), ..)`` (``g`` the first ``2^(m_i - t)``
    entries; variable 1 is the top index bit), whose univariate twin is
    ``f^(X) = P(X) g^(X^(2^t))``, ``P(X) = prod_(j < t) (1 - X^(2^j))`` (``x_j`` is
    ``X^(2^(j-1))``): each coset's NTT has ``d / 2^t`` points (``g^`` on the coset's
    ``2^t``-th power), then ``t + 1`` products per point
    (:func:`~zkinfer.commit.whir._kernels.expand_zero_tail`); the leaves are hashed at full
    size. (MiniLM's weight parts are a ninth full: its WHIR setup took 65 s instead of 90 s.)
    """
    n = 1 << params.log_domain(i)
    if n < COSET_FROM:  # small: one LDE of the whole codeword
        whole = _leaf_matrix(encode(params, i, table), params.folds()[i])
        if spill is None:
            return LeafStore(whole, None, whole.shape, 1), hash_leaves(whole)
    d = table.shape[0]
    zero_vars = 0 if used is None else max(0, d.bit_length() - 1 - max(1, used - 1).bit_length())
    small = d >> zero_vars
    # the Moebius coefficients in table order are the univariate twin's in bit-reversed order,
    # which is the order the transform below reads (no permutation)
    coeffs = to_coefficients(table[:small], inplace)
    log_s = small.bit_length() - 1
    tail = coeffs.shape[1:]
    comps = 1 if coeffs.ndim == 1 else coeffs.shape[1]
    k = params.folds()[i]
    width = 1 << k
    cosets = n // d
    per = d // width
    shape = (n // width, width) + tail
    rows = None if spill is not None else np.empty(shape, dtype=np.uint64)
    digests = np.empty((n // width, merkle.DIGEST_BYTES), dtype=np.uint8)
    by_coset = digests.reshape(per, cosets, merkle.DIGEST_BYTES)  # leaf c + B u at [u, c]
    w = gl.root_of_unity(params.log_domain(i))
    s_i = params.shift(i)
    src = coeffs.reshape(1, small) if coeffs.ndim == 1 else np.ascontiguousarray(coeffs.T)
    del coeffs
    group = max(1, min(cosets, COSET_BATCH // (d * comps)))  # cosets per NTT call
    handle = None
    path = None
    if spill is not None:
        fd, path = tempfile.mkstemp(prefix="whir-leaves-", suffix=".u64", dir=spill)
        handle = os.fdopen(fd, "wb")
    try:
        for c0 in range(0, cosets, group):
            shifts = [s_i * pow(w, c0 + g, gl.P) % gl.P for g in range(group)]
            vals = np.empty((group * comps, small), dtype=np.uint64)
            powered = [pow(x, 1 << zero_vars, gl.P) for x in shifts]  # g^ on the 2^t-th power
            WK.coset_rows_bitrev(src, *_bitrev_powers(powered, log_s), vals)
            ntt_bitrev_inplace(vals)  # coset c0 + g in rows g * comps ...
            if zero_vars:
                full = np.empty((group * comps, d), dtype=np.uint64)
                WK.expand_zero_tail(vals, np.array(shifts, dtype=np.uint64),
                                    np.uint64(pow(w, cosets, gl.P)), zero_vars, full)
                vals = full
            if handle is None:  # the leaves go straight to their rows
                block = rows[c0 * per: (c0 + group) * per].reshape(group, per, width, comps)
            else:
                block = np.empty((group, per, width, comps), dtype=np.uint64)
            WK.leaves_of_cosets(vals, width, block)  # (group, per, width, components)
            del vals
            flat = block.reshape((group * per, width) + tail)
            by_coset[:, c0: c0 + group] = hash_leaves(flat).reshape(
                group, per, merkle.DIGEST_BYTES).transpose(1, 0, 2)
            if handle is not None:
                handle.write(memoryview(flat.astype("<u8", copy=False).reshape(-1)).cast("B"))
            del block, flat
    except BaseException:
        if handle is not None:
            handle.close()
            _remove(path)
        raise
    if handle is not None:
        handle.close()
    return LeafStore(rows, path, shape, cosets), digests


def _bitrev_powers(shifts: list[int], log_d: int) -> tuple[U64, U64]:
    """``(lows, highs)`` with ``s^(bitrev(h 2^a + l)) = lows[g, l] highs[g, h]`` for each
    shift ``s = shifts[g]`` (``a = log_d // 2``, ``b = log_d - a``): the reversal puts ``l``'s
    bits on top, ``bitrev(h 2^a + l) = bitrev_a(l) 2^b + bitrev_b(h)``, so
    ``lows[g, l] = (s^(2^b))^(bitrev_a(l))`` and ``highs[g, h] = s^(bitrev_b(h))``."""
    a = log_d // 2
    b = log_d - a
    lows = np.empty((len(shifts), 1 << a), dtype=np.uint64)
    highs = np.empty((len(shifts), 1 << b), dtype=np.uint64)
    for g, s in enumerate(shifts):
        PK.powers(np.uint64(pow(s, 1 << b, gl.P)), lows[g])
        PK.powers(np.uint64(s), highs[g])
    return (np.ascontiguousarray(lows[:, bit_reversal(a)]),
            np.ascontiguousarray(highs[:, bit_reversal(b)]))


def _tree(params: WhirParams, i: int, table: U64, spill: str | None = None) -> _Tree:
    leaves, digests = encode_leaves(params, i, table, spill)
    return _Tree(leaves, merkle.build(digests))


@dataclass
class _Tree:
    leaves: LeafStore
    levels: list


def leaf_matrix(codeword: U64, k: int) -> U64:
    """:func:`_leaf_matrix` (public for the PCS layer's parts)."""
    return _leaf_matrix(codeword, k)


def hash_leaves(leaves: U64) -> U64:
    """``H(0x00 || leaf)`` of each leaf of a leaf matrix (``(N, 2^k)`` base or
    ``(N, 2^k, 4)`` ``F_p4``): the tree's first level, ``(N, 32)`` ``uint8``
    (:func:`zkinfer.commit.ligero.merkle.hash_columns`, threaded: the verifier's own hashing)."""
    return merkle.hash_columns(leaves.reshape(leaves.shape[0], -1))


def _commit_codeword(codeword: U64, k: int) -> tuple[U64, list]:
    """The leaf matrix of a whole codeword and its Merkle levels (tests: the reference of
    :func:`encode_leaves`)."""
    leaves = _leaf_matrix(codeword, k)
    return leaves, merkle.build(hash_leaves(leaves))


@dataclass
class WhirProverData:
    """What the prover keeps after :func:`commit`: the evaluations, ``g_0``'s leaves and tree."""

    params: WhirParams
    evals: U64
    tree: _Tree
    commitment: WhirCommitment

    def evaluate(self, point: npt.ArrayLike) -> U64:
        """``f(point)`` for an extension point ``(m, 2)``."""
        return fast.evaluate(self.evals, point)


def commit(params: WhirParams, evals: npt.ArrayLike) -> tuple[WhirCommitment, WhirProverData]:
    """Commit to the multilinear with evaluations ``evals`` on ``{0,1}^m``.

    Returns:
        ``(commitment, prover_data)``.

    Raises:
        FieldRangeError: ``evals`` is not ``2^m`` canonical base elements.
    """
    table = np.ascontiguousarray(gl.as_field(evals, "evals"))
    if table.shape != (1 << params.m,):
        raise FieldRangeError(f"expected {1 << params.m} evaluations, got shape {table.shape}")
    tree = _tree(params, 0, table)
    com = WhirCommitment(params.m, params.k, params.log_inv_rate, tree.levels[-1][0].tobytes())
    return com, WhirProverData(params, table, tree, com)


def _q(c: U64) -> list:
    return [np.uint64(x) for x in np.asarray(c, dtype=np.uint64).reshape(4)]


def _round_poly(f: U64, w: U64) -> U64:
    """``h(0), h(1), h(2)`` of ``h(X) = sum_rest f(X, rest) w(X, rest)`` (degree 2), ``(3, 4)``;
    ``f`` base or ``F_p4``, ``w`` ``F_p4``."""
    out = np.empty((3, 4), dtype=np.uint64)
    if f.ndim == 1:
        QK.round_sums_base(f, w, out)
    else:
        QK.round_sums_quartic(f, w, out)
    return out


def fold(table: U64, alpha: U64, inplace: bool = False) -> U64:
    """Bind variable 1 of a base or ``F_p4`` table to ``alpha`` (``F_p4``): a new ``F_p4`` table
    of half the length, or the first half of ``table`` overwritten when ``inplace`` (``F_p4``
    tables only)."""
    n = table.shape[0] // 2
    if table.ndim == 1:
        out = np.empty((n, 4), dtype=np.uint64)
        QK.fold_base(table, *_q(alpha), out)
        return out
    out = table[:n] if inplace else np.empty((n, 4), dtype=np.uint64)
    QK.fold_quartic(table, *_q(alpha), out)
    return out


def evaluate(table: U64, point: U64) -> U64:
    """The multilinear ``table`` (base or ``F_p4``, ``2^n`` entries) at an ``F_p4`` point
    ``(n, 4)``: ``(4,)``."""
    if point.shape[0] == 0:
        return table[0] if table.ndim == 2 else np.array([table[0], 0, 0, 0], dtype=np.uint64)
    t = fold(table, point[0])
    for a in point[1:]:
        t = fold(t, a, inplace=True)
    return np.array(t[0], dtype=np.uint64)


def eq_table(point: U64) -> U64:
    """``eq(point, .)`` on the cube for an ``F_p4`` point ``(n, 4)``: ``(2^n, 4)``."""
    out = np.empty((1 << point.shape[0], 4), dtype=np.uint64)
    QK.eq_table(np.ascontiguousarray(point), out)
    return out


def add_eq(acc: U64, coef: U64, point: U64) -> None:
    """``acc += coef * eq(point, .)`` in place: ``acc`` ``F_p4`` ``(2^n, 4)``, ``coef`` in
    ``F_p4``, ``point`` ``F_p2`` ``(n, 2)`` or ``F_p4`` ``(n, 4)`` (base points, a round's shift
    queries, go to :func:`add_eq_many`)."""
    c = _q(coef)
    if point.shape[1] == 2:
        QK.axpy_ext(acc, *c, fast.eq_table(point))
    else:
        QK.axpy_quartic(acc, *c, eq_table(point))


_LOW_VARS = 10


def add_eq_many(acc: U64, coefs: U64, points: U64) -> None:
    """``acc += sum_j coefs[j] eq(points[j], .)`` in place: ``acc`` ``F_p4`` ``(2^n, 4)``,
    ``coefs`` ``F_p4`` ``(J, 4)``, ``points`` base ``(J, n)`` (a round's shift queries).

    ``eq(p, (h, l)) = eq(p_high, h) eq(p_low, l)`` over the high ``n - b`` and the low
    ``b = min(n, 10)`` variables, so the sum is the product of the ``2^(n-b) x J`` matrix of
    ``coefs[j] eq(p_j,high, h)`` and the ``J x 2^b`` matrix of ``eq(p_j,low, l)``
    (:func:`~zkinfer.commit.whir._kernels.add_outer_sums`): one pass over ``acc`` whatever
    ``J``, where one :func:`add_eq` per point passes over it ``J`` times."""
    count, n = points.shape
    if count == 0:
        return
    low = min(n, _LOW_VARS)
    lows = np.empty((count, 1 << low), dtype=np.uint64)
    highs = np.empty((count, 1 << (n - low)), dtype=np.uint64)
    for j in range(count):
        QK.eq_table_base(np.ascontiguousarray(points[j, n - low:]), lows[j])
        QK.eq_table_base(np.ascontiguousarray(points[j, :n - low]), highs[j])
    with np.errstate(over="ignore"):
        scaled = gl.mul_unchecked(highs.T[:, :, None], coefs[None, :, :])
    WK.add_outer_sums(acc, np.ascontiguousarray(scaled), np.ascontiguousarray(lows.T))


def evaluate_ext(values: U64, point: U64) -> U64:
    """The multilinear of ``2^n`` entries whose first ``len(values)`` are the base ``values``
    (the rest zero) at an ``F_p2`` point ``(n, 2)``: ``(2,)``. Folds (the first into a new
    ``F_p2`` table of half the length, then in place): no ``eq`` table, no padded copy."""
    n = point.shape[0]
    if n == 0:
        return np.array([values[0] if values.shape[0] else 0, 0], dtype=np.uint64)
    half = 1 << (n - 1)
    t = np.empty((half, 2), dtype=np.uint64)
    QK.fold_base_ext(values, half, np.uint64(point[0, 0]), np.uint64(point[0, 1]), t)
    for v in range(1, n):
        half >>= 1
        QK.fold_ext(t, np.uint64(point[v, 0]), np.uint64(point[v, 1]), t[:half])
        t = t[:half]
    return np.array(t[0], dtype=np.uint64)


def prefix_tables(values: U64, points: U64, high: int) -> U64:
    """``T[j, h] = f(h, z_j[high:])`` for every ``h`` in ``{0,1}^high``: the multilinear of
    ``2^n`` entries whose first ``len(values)`` are the base ``values`` (the rest zero), its
    last ``n - high`` variables bound to each ``F_p2`` point's ``z_j`` ``(J, n, 2)``;
    ``(J, 2^high, 2)``.

    One pass over ``values``: with ``eq(z, (m, l)) = eq(z_mid, m) eq(z_low, l)`` (``l`` the
    low ``min(n // 2, n - high)`` bits), each row of ``2^low`` entries meets every point's low
    ``eq`` table while in cache (:func:`~zkinfer.commit.whir._kernels.row_inner_many`: ``J``
    products per entry), then the rows' sums meet the small middle tables.
    """
    points = np.asarray(points, dtype=np.uint64)
    count, n = points.shape[0], points.shape[1]
    low = min(n // 2, n - high)
    mid = n - high - low
    lows = np.stack([fast.eq_table(z[n - low:]) if low else ext.ones(1) for z in points]) \
        if count else np.zeros((0, 1 << low, 2), dtype=np.uint64)
    rows = -(-values.shape[0] // (1 << low))  # the rows holding values (the rest are zero)
    inner = np.zeros((1 << (n - low), count, 2), dtype=np.uint64)
    WK.row_inner_many(np.ascontiguousarray(values), lows, inner[:rows])
    inner = inner.reshape(1 << high, 1 << mid, count, 2)
    out = np.empty((count, 1 << high, 2), dtype=np.uint64)
    for j, z in enumerate(points):
        mids = fast.eq_table(z[high: high + mid]) if mid else ext.ones(1)
        out[j] = ext.sum(ext.mul(inner[:, :, j], np.broadcast_to(mids, inner.shape[:2] + (2,))),
                         axis=1)
    return out


def at_prefix(tables: U64, points: U64) -> U64:
    """``T_j(z_j[:high])`` for prefix tables ``(J, 2^high, 2)`` (:func:`prefix_tables`) and the
    points ``(J, n, 2)``: each point's value ``(J, 2)``."""
    high = tables.shape[1].bit_length() - 1
    out = np.empty((tables.shape[0], 2), dtype=np.uint64)
    for j, (t, z) in enumerate(zip(tables, points, strict=True)):
        out[j] = ext.sum(ext.mul(fast.eq_table(z[:high]) if high else ext.ones(1), t), axis=0)
    return out


def _fold_top(t: U64, c: U64) -> U64:
    """Bind the top variable of ``F_p4`` tables ``(J, 2^v, 4)`` to ``c`` (``(4,)`` or one per
    table ``(J, 4)``): ``t_lo + c (t_hi - t_lo)``."""
    half = t.shape[1] // 2
    lo, hi = t[:, :half], t[:, half:]
    c = np.broadcast_to(np.asarray(c, dtype=np.uint64).reshape(-1, 1, 4), lo.shape)
    return q.add(lo, q.mul(c, q.sub(hi, lo)))


class StreamedRound0:
    """Round 0 of ``sum_x W(x) f(x)`` without a table of ``2^m`` ``F_p4`` entries.

    ``f = sum_s beta_s f_s`` (base tables ``f_s``, each the first entries of a ``2^m`` table,
    the rest zero; ``beta_s`` in ``F_p4``) and ``W = sum_j c_j eq(z_j, .)`` (``c_j`` in
    ``F_p4``, ``z_j`` in ``F_p2^m``). After binding ``alpha_1 .. alpha_r`` (``r < k_0``), the
    round polynomial is

        ``h(X) = sum_x' W(alpha, X, x') f(alpha, X, x')
               = sum_j c_j eq(z_j[:r], alpha) eq(z_j[r], X) U_j(alpha, X, z_j[r+1:k_0])``

    (``sum_x' eq(z, x') g(x') = g(z)`` for multilinear ``g``), with
    ``U_j(y) = sum_s beta_s f_s(y, z_j[k_0:])`` on ``y`` in ``{0,1}^(k_0)``: the parts' prefix
    tables (:func:`prefix_tables`, ``2^(k_0)`` values per part and point, made once, by the
    pass that also gives the values ``f_s(z_j)``). So :meth:`round_poly` costs a few products
    per point, whatever ``m``; :meth:`finish` returns ``f_(k_0)`` and ``W_(k_0)``, tables of
    ``2^(m - k_0)`` entries (one pass over the base tables). The messages are those of folding
    the materialized tables (tested).
    """

    def __init__(self, m: int, tables: list[U64], betas: U64, coefs: U64, points: U64,
                 prefixes: U64) -> None:
        """``prefixes``: ``(J, S, 2^(k_0), 2)``, part ``s``'s :func:`prefix_tables` at the
        points."""
        self.m = m
        self.tables = [np.ascontiguousarray(t) for t in tables]
        self.betas = np.asarray(betas, dtype=np.uint64).reshape(-1, 4)
        self.coefs = np.asarray(coefs, dtype=np.uint64).reshape(-1, 4)
        self.points = np.asarray(points, dtype=np.uint64).reshape(-1, m, 2)
        pre = q.from_ext(np.asarray(prefixes, dtype=np.uint64))  # (J, S, 2^k0, 4)
        beta = np.broadcast_to(self.betas[None, :, None, :], pre.shape)
        self.u = q.sum(q.mul(pre, beta), axis=1) if pre.shape[1] else \
            q.zeros((pre.shape[0], pre.shape[2]))  # U_j: (J, 2^k0, 4)

    def _heads(self, alphas: U64) -> U64:
        """``c_j eq(z_j[:r], alpha)`` per point ``(J, 4)``."""
        r = alphas.shape[0]
        heads = C.eq_rows(q.from_ext(self.points[:, :r]), alphas) if r else q.ones(
            self.points.shape[0])
        return q.mul(self.coefs, heads)

    def round_poly(self, alphas: U64) -> U64:
        """``h(0), h(1), h(2)`` of the next sumcheck round after binding ``alphas`` ``(r, 4)``."""
        r = alphas.shape[0]
        ds = self._heads(alphas)
        v = self.u
        for a in alphas:
            v = _fold_top(v, a)
        z = q.from_ext(self.points[:, r:v.shape[1].bit_length() - 1 + r])  # z_j[r : k_0]
        zr = z[:, 0]
        one = q.ones(zr.shape[:1])
        eqs = (q.sub(one, zr), zr, q.sub(q.add(zr, zr), q.sub(one, zr)))  # eq(z_r, X), X=0,1,2
        half = v.shape[1] // 2
        lo, step = v[:, :half], q.sub(v[:, half:], v[:, :half])
        h = np.empty((3, 4), dtype=np.uint64)
        for x in range(3):
            t = q.add(lo, q.mul(step, np.broadcast_to(q.from_base(np.uint64(x)), step.shape)))
            for c in range(1, z.shape[1]):
                t = _fold_top(t, z[:, c])
            h[x] = q.sum(q.mul(q.mul(ds, eqs[x]), t[:, 0]), axis=0)
        return h

    def finish(self, alphas: U64) -> tuple[U64, U64]:
        """``f`` and ``W`` with ``alphas`` bound: ``F_p4`` tables of ``2^(m - r)`` entries."""
        r = alphas.shape[0]
        n = 1 << (self.m - r)
        eqa = eq_table(alphas) if r else q.ones(1)
        f = np.zeros((n, 4), dtype=np.uint64)
        for table, b in zip(self.tables, self.betas, strict=True):  # beta_s eq(alpha, .) rows
            row = np.ascontiguousarray(q.mul(eqa, np.broadcast_to(b, eqa.shape)))
            QK.combine_rows(table, row, n, 0, n, f)
        ds = self._heads(alphas)
        w = np.zeros((n, 4), dtype=np.uint64)
        for z, d in zip(self.points, ds, strict=True):
            if r < self.m:
                add_eq(w, d, np.ascontiguousarray(z[r:]))
            else:
                w[0] = q.add(w[0], d)
        return f, w


def open_proof(data: WhirProverData, point: npt.ArrayLike, transcript: Transcript,
               tamper: Tamper | None = None) -> tuple[U64, WhirProof]:
    """Prove ``f(point) = value``; returns ``(value, proof)``.

    Arguments:
        data: from :func:`commit`.
        point: ``(m, 2)`` ``F_p2`` point (the statement is in ``F_p2``).
        transcript: the caller's transcript (absorbs the statement and every message).
        tamper: tests only: ``tamper(kind, round, value)`` may replace a message *before* it is
            absorbed (kinds ``"value"`` (``(2,)``), ``"sumcheck"`` (``(3, 4)``), ``"table"`` (the
            next function's ``F_p4`` cube table before it is committed), ``"ood"`` (``(4,)``),
            ``"final"``), so
            that a forged message is followed by a transcript-consistent rest of the proof.

    Raises:
        FieldRangeError: a malformed point.
    """
    params = data.params
    tam = tamper if tamper is not None else (lambda kind, i, v: v)
    z = ext.as_ext(point, "point")
    if z.shape != (params.m, 2):
        raise FieldRangeError(f"point of shape {z.shape}, expected ({params.m}, 2)")
    value = data.evaluate(z)
    claimed = tam("value", 0, value)
    C.absorb_statement(transcript, params, data.commitment, z, claimed)
    tree = data.tree

    def open_first(indices: list[int]) -> tuple[U64, tuple[bytes, ...]]:
        return tree.leaves[indices], tuple(merkle.open_siblings(tree.levels, indices))

    w = np.zeros((1 << params.m, 4), dtype=np.uint64)
    add_eq(w, np.array([1, 0, 0, 0], dtype=np.uint64), z)
    return value, prove_rounds(params, data.evals, w, open_first, transcript, tamper)


def prove_rounds(params: WhirParams, f: U64 | None, w: U64 | None,
                 open_first: Callable[[list[int]], tuple[U64, tuple[bytes, ...]]],
                 transcript: Transcript, tamper: Tamper | None = None,
                 first: StreamedRound0 | None = None) -> WhirProof:
    """The rounds of a WHIR proof of ``sum_b w(b) f(b) = sigma`` once the statement is absorbed.

    Arguments:
        params: the parameters (``f`` and ``w`` have ``2^m`` entries).
        f: the committed function's table on the cube (base ``(2^m,)`` or ``F_p4``
            ``(2^m, 4)``), whose codeword ``g_0`` the caller committed.
        w: the weight's table, ``F_p4`` ``(2^m, 4)``, owned by this call (folded in place; its
            multilinear extension must be one the verifier evaluates: a sum of
            ``coef * eq(p, .)`` terms).
        open_first: ``open_first(indices)`` returns round 0's opened leaves at the drawn
            indices and the Merkle multi-proof of the caller's commitment.
        transcript: in the state after the statement.
        tamper: tests only (see :func:`open_proof`).
        first: round 0 streamed from base tables (``f`` and ``w`` are then ``None``): the
            same messages without the ``2^m`` tables.

    Returns:
        The proof.
    """
    tam = tamper if tamper is not None else (lambda kind, i, v: v)
    tree = None
    owned = f is not None and f.ndim == 2 and f.flags.writeable and f.flags.owndata
    folds = params.folds()
    rounds: list[WhirRound] = []
    final = None
    for i, k_i in enumerate(folds):
        msgs = np.empty((k_i, 3, 4), dtype=np.uint64)
        alphas = np.empty((k_i, 4), dtype=np.uint64)
        streamed = i == 0 and first is not None
        for j in range(k_i):
            h = tam("sumcheck", i, first.round_poly(alphas[:j]) if streamed
                    else _round_poly(f, w))
            msgs[j] = h
            alphas[j] = C.absorb_sumcheck(transcript, h)
            if not streamed:
                f = fold(f, alphas[j], inplace=owned)
                owned = True
                w = fold(w, alphas[j], inplace=True)
        if streamed:
            f, w = first.finish(alphas)
            owned = True
        last = i == len(folds) - 1
        root = ood = None
        if not last:
            f = np.ascontiguousarray(tam("table", i, f))
            size = (1 << params.log_domain(i + 1)) * 8 * (1 if f.ndim == 1 else f.shape[1])
            next_tree = _tree(params, i + 1, f,
                              tempfile.gettempdir() if size > SPILL_BYTES else None)
            root = next_tree.levels[-1][0].tobytes()
            z_ood = C.absorb_root(transcript, root)
            ood = tam("ood", i, evaluate(f, C.pow_point(z_ood, params.num_vars(i + 1))))
            C.absorb_ood(transcript, ood)
        else:
            final = tam("final", i, to_coefficients(f))
            C.absorb_final(transcript, final)
        nonce = 0
        if params.pow_bits:
            seed = C.grinding_seed(transcript)
            while not C.pow_digest_ok(seed, nonce, params.pow_bits):
                nonce += 1
            C.absorb_nonce(transcript, nonce)
        indices = C.query_indices(transcript, params.queries(i), params.num_leaves(i))
        if tree is None:
            leaves, siblings = open_first(indices)
        else:
            leaves = tree.leaves[indices]
            siblings = tuple(merkle.open_siblings(tree.levels, indices))
            tree.leaves.close()  # this round's codeword is done: free it (or its file)
        rounds.append(WhirRound(msgs, root, ood, nonce, leaves, siblings))
        if not last:
            gamma = C.absorb_combination(transcript)
            m_next = params.num_vars(i + 1)
            w = np.ascontiguousarray(w)
            ys = C.query_points(params, i, indices)[1]
            coefs = C.combination_powers(gamma, len(ys))  # gamma (OOD), gamma^2 .. (queries)
            add_eq(w, coefs[0], C.pow_point(z_ood, m_next))
            add_eq_many(w, coefs[1:], C.base_pow_point(ys, m_next))
            tree = next_tree
    return WhirProof(tuple(rounds), np.ascontiguousarray(final))
