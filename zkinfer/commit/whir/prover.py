"""WHIR prover: commit to a multilinear over Goldilocks, prove one evaluation (prover side).

Uses the project's Numba kernels (NTT, ``eq`` tables, folds, inner products); the verifier
(:mod:`zkinfer.commit.whir.verify`) does not import this module.
"""

from __future__ import annotations

import hashlib
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
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import _kernels as K
from zkinfer.poly import fast
from zkinfer.poly.ntt import low_degree_extend
from zkinfer.transcript import Transcript

__all__ = ["WhirProverData", "commit", "open_proof", "prove_rounds", "to_coefficients", "encode",
           "leaf_matrix", "hash_leaves"]

U64 = npt.NDArray[np.uint64]
Tamper = Callable[[str, int, object], object]


def to_coefficients(table: U64) -> U64:
    """Evaluations on the cube -> monomial coefficients (the Moebius transform over ``F_p``).

    ``table`` is base ``(2^n,)`` or extension ``(2^n, 2)``; coefficient ``j`` (index bits as the
    table's, variable 1 the top bit) multiplies ``prod_{i in j} x_i``. For each variable, the
    half where it is 1 loses the half where it is 0.
    """
    arr = np.array(table, dtype=np.uint64, copy=True)
    n = C_num_vars(arr.shape[0])
    tail = arr.shape[1:]
    with np.errstate(over="ignore"):
        for v in range(n):
            view = arr.reshape((1 << v, 2, 1 << (n - v - 1)) + tail)
            view[:, 1] = gl.sub_unchecked(view[:, 1], view[:, 0])
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


@dataclass
class _Tree:
    leaves: U64
    levels: list


def _hash_rows(data: np.ndarray, prefix: bytes) -> U64:
    """``SHA-256(prefix || row)`` of each row of a 2-D array, as ``(rows, 32)`` ``uint8``: the
    digests of :mod:`zkinfer.commit.ligero.merkle` (leaf prefix ``0x00``, node prefix ``0x01``),
    hashing each row in one call from a copied prefix state (short rows: no thread pays off)."""
    rows = data.shape[0]
    row_bytes = data.shape[1] * data.itemsize
    view = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
    start = hashlib.sha256(prefix)

    def one(j: int) -> bytes:
        h = start.copy()
        h.update(view[j * row_bytes : (j + 1) * row_bytes])
        return h.digest()

    return np.frombuffer(b"".join([one(j) for j in range(rows)]),
                         dtype=np.uint8).reshape(rows, merkle.DIGEST_BYTES)


def leaf_matrix(codeword: U64, k: int) -> U64:
    """:func:`_leaf_matrix` (public for the PCS layer's parts)."""
    return _leaf_matrix(codeword, k)


def hash_leaves(leaves: U64) -> U64:
    """``H(0x00 || leaf)`` of each leaf of a leaf matrix (``(N, 2^k)`` base or
    ``(N, 2^k, 2)`` extension): the tree's first level, ``(N, 32)`` ``uint8``."""
    return _hash_rows(leaves.reshape(leaves.shape[0], -1).astype("<u8", copy=False), b"\x00")


def _commit_codeword(codeword: U64, k: int) -> _Tree:
    leaves = _leaf_matrix(codeword, k)
    levels = [_hash_rows(leaves.reshape(leaves.shape[0], -1).astype("<u8", copy=False), b"\x00")]
    while levels[-1].shape[0] > 1:
        levels.append(_hash_rows(levels[-1].reshape(-1, 2 * merkle.DIGEST_BYTES), b"\x01"))
    return _Tree(leaves, levels)


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
    tree = _commit_codeword(encode(params, 0, table), params.folds()[0])
    com = WhirCommitment(params.m, params.k, params.log_inv_rate, tree.levels[-1][0].tobytes())
    return com, WhirProverData(params, table, tree, com)


def _inner(a: U64, v: U64) -> U64:
    """``<a, v>`` with ``a`` extension and ``v`` base or extension."""
    if v.ndim == 1:
        return np.array(K.inner_ext_base(a, v), dtype=np.uint64)
    return np.array(K.inner_ext_ext(a, v), dtype=np.uint64)


def _round_poly(f: U64, w: U64) -> U64:
    """``h(0), h(1), h(2)`` of ``h(X) = sum_rest f(X, rest) w(X, rest)`` (degree 2)."""
    half = f.shape[0] // 2
    f0, f1 = f[:half], f[half:]
    w0, w1 = w[:half], w[half:]
    with np.errstate(over="ignore"):
        f2 = gl.sub_unchecked(gl.add_unchecked(f1, f1), f0)  # f(2) = 2 f(1) - f(0)
        w2 = gl.sub_unchecked(gl.add_unchecked(w1, w1), w0)
    return np.stack([_inner(w0, np.ascontiguousarray(f0)), _inner(w1, np.ascontiguousarray(f1)),
                     _inner(w2, f2)])


def _add_scaled(acc: U64, coef: U64, table: U64) -> U64:
    """``acc + coef * table`` (``coef`` one extension element, ``table`` base or extension;
    ``acc`` is updated in place when the table is base)."""
    if table.ndim == 1:
        WK.axpy_base(acc, np.uint64(coef[0]), np.uint64(coef[1]), table)
        return acc
    with np.errstate(over="ignore"):
        prod = ext.mul_unchecked(table, np.broadcast_to(coef, table.shape))
        return gl.add_unchecked(acc, prod)


def open_proof(data: WhirProverData, point: npt.ArrayLike, transcript: Transcript,
               tamper: Tamper | None = None) -> tuple[U64, WhirProof]:
    """Prove ``f(point) = value``; returns ``(value, proof)``.

    Arguments:
        data: from :func:`commit`.
        point: ``(m, 2)`` extension point.
        transcript: the caller's transcript (absorbs the statement and every message).
        tamper: tests only: ``tamper(kind, round, value)`` may replace a message *before* it is
            absorbed (kinds ``"value"``, ``"sumcheck"`` (value ``(3, 2)``), ``"table"`` (the
            next function's cube table before it is committed), ``"ood"``, ``"final"``), so
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

    return value, prove_rounds(params, data.evals, fast.eq_table(z), open_first, transcript,
                               tamper)


def prove_rounds(params: WhirParams, f: U64, w: U64,
                 open_first: Callable[[list[int]], tuple[U64, tuple[bytes, ...]]],
                 transcript: Transcript, tamper: Tamper | None = None) -> WhirProof:
    """The rounds of a WHIR proof of ``sum_b w(b) f(b) = sigma`` once the statement is absorbed.

    Arguments:
        params: the parameters (``f`` and ``w`` have ``2^m`` entries).
        f: the committed function's table on the cube (base ``(2^m,)`` or extension
            ``(2^m, 2)``), whose codeword ``g_0`` the caller committed.
        w: the weight's table, extension ``(2^m, 2)`` (its multilinear extension must be one
            the verifier evaluates: a sum of ``coef * eq(p, .)`` terms).
        open_first: ``open_first(indices)`` returns round 0's opened leaves at the drawn
            indices and the Merkle multi-proof of the caller's commitment.
        transcript: in the state after the statement.
        tamper: tests only (see :func:`open_proof`).

    Returns:
        The proof.
    """
    tam = tamper if tamper is not None else (lambda kind, i, v: v)
    tree = None
    folds = params.folds()
    rounds: list[WhirRound] = []
    final = None
    for i, k_i in enumerate(folds):
        msgs = np.empty((k_i, 3, 2), dtype=np.uint64)
        alphas = np.empty((k_i, 2), dtype=np.uint64)
        for j in range(k_i):
            h = tam("sumcheck", i, _round_poly(f, w))
            msgs[j] = h
            alphas[j] = C.absorb_sumcheck(transcript, h)
            f = fast.fold(f, alphas[j])
            w = fast.fold(w, alphas[j])
        last = i == len(folds) - 1
        root = ood = None
        if not last:
            f = np.ascontiguousarray(tam("table", i, f))
            next_tree = _commit_codeword(encode(params, i + 1, f), folds[i + 1])
            root = next_tree.levels[-1][0].tobytes()
            z_ood = C.absorb_root(transcript, root)
            ood = tam("ood", i, fast.evaluate(f, C.pow_point(z_ood, params.num_vars(i + 1))))
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
        rounds.append(WhirRound(msgs, root, ood, nonce, leaves, siblings))
        if not last:
            gamma = C.absorb_combination(transcript)
            m_next = params.num_vars(i + 1)
            coef = gamma
            w = np.ascontiguousarray(_add_scaled(w, coef, fast.eq_table(C.pow_point(z_ood, m_next))))
            for y in C.query_points(params, i, indices)[1]:
                coef = ext.mul(coef, gamma)
                w = _add_scaled(w, coef, fast.eq_table(C.base_pow_point(y, m_next)))
            tree = next_tree
    return WhirProof(tuple(rounds), np.ascontiguousarray(final))
