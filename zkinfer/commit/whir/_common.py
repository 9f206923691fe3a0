"""Formulas shared by the WHIR prover and verifier (numpy + hashlib only).

Every challenge, and every value derived from one, lives in ``F_p4``
(:mod:`zkinfer.field.quartic`, arrays of shape ``(..., 4)``); the statement (point and value)
is in ``F_p2`` and embeds as ``[c0, c1, 0, 0]``. An ``F_p4`` array goes into the transcript as
``F_p2`` pairs (:func:`append_quartic`: shape ``(..., 2, 2)``, the same bytes) and an ``F_p4``
challenge is two ``F_p2`` challenges drawn under one label (:func:`challenge_quartic`).

Conventions (see the package docstring): a multilinear ``f`` in ``m`` variables has monomial
coefficients ``c[j]`` indexed like its evaluation table (variable 1 is the most significant bit
of ``j``), and its univariate twin is ``f^(X) = f(X, X^2, X^4, ..., X^(2^(m-1)))``: variable
``i`` is ``X^(2^(i-1))``, so ``f^(X) = sum_j c[j] X^(bitrev_m(j))``. :func:`pow_point` is that
substitution.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import numpy.typing as npt

from zkinfer.field import goldilocks as gl
from zkinfer.field import quartic as q
from zkinfer.field.quartic import Fp4
from zkinfer.transcript import Transcript

__all__ = [
    "DOMAIN",
    "pow_point",
    "fold_leaves",
    "eval_coeffs",
    "eq_rows",
    "query_indices",
    "pow_digest_ok",
    "grinding_seed",
    "domain_point",
    "append_quartic",
    "challenge_quartic",
]

DOMAIN = b"zkinfer/whir/v3"
"""Label of the transcript step that opens a WHIR evaluation proof."""

U64 = npt.NDArray[np.uint64]
_INV2 = (gl.P + 1) // 2


def _emul(a: U64, b: U64) -> U64:
    with np.errstate(over="ignore"):
        a, b = np.broadcast_arrays(a, b)
        return q.mul_unchecked(np.ascontiguousarray(a), np.ascontiguousarray(b))


def _eadd(a: U64, b: U64) -> U64:
    with np.errstate(over="ignore"):
        return gl.add_unchecked(*np.broadcast_arrays(a, b))


def _esub(a: U64, b: U64) -> U64:
    with np.errstate(over="ignore"):
        return gl.sub_unchecked(*np.broadcast_arrays(a, b))


def _batch_inverse(xs: list[int]) -> list[int]:
    """Inverses of non-zero base elements with one exponentiation (Montgomery's trick)."""
    prefix = [1]
    for x in xs:
        prefix.append(prefix[-1] * x % gl.P)
    inv = pow(prefix[-1], gl.P - 2, gl.P)
    out = [0] * len(xs)
    for j in range(len(xs) - 1, -1, -1):
        out[j] = inv * prefix[j] % gl.P
        inv = inv * xs[j] % gl.P
    return out


def pow_point(y: U64, m: int) -> U64:
    """``(y, y^2, y^4, ..., y^(2^(m-1)))`` for ``F_p4`` elements ``y`` of shape ``(..., 4)``;
    returns shape ``(..., m, 4)``."""
    y = np.asarray(y, dtype=np.uint64)
    out = np.empty(y.shape[:-1] + (m, 4), dtype=np.uint64)
    cur = y
    for i in range(m):
        out[..., i, :] = cur
        if i + 1 < m:
            cur = _emul(cur, cur)
    return out


def domain_point(params, i: int, index: int) -> int:
    """The point ``s_i w_i^index`` of ``L_i``."""
    w = gl.root_of_unity(params.log_domain(i))
    return params.shift(i) * pow(w, index, gl.P) % gl.P


def fold_leaves(leaves: U64, x0: list[int], alphas: U64) -> U64:
    """Fold opened leaves: ``Fold(g, alpha_1..alpha_k)(x0^(2^k))`` for each leaf.

    Arguments:
        leaves: ``(Q, 2^k, 4)`` ``F_p4`` values; entry ``j`` of leaf ``q`` is ``g(x0_q z^j)``,
            ``z`` a primitive ``2^k``-th root of unity.
        x0: the ``Q`` base points ``x0_q`` (``L_i``'s point of the leaf's index).
        alphas: ``(k, 4)`` folding challenges, ``alpha_1`` first.

    Returns:
        ``(Q, 4)``: each binary fold maps the pair ``(x, -x)`` (entries ``j`` and
        ``j + 2^(k-1)``) to ``(g(x) + g(-x)) / 2 + alpha (g(x) - g(-x)) / (2 x)``, the even part
        plus ``alpha`` times the odd part, at ``x^2``.
    """
    vals = np.asarray(leaves, dtype=np.uint64)
    k = alphas.shape[0]
    size = vals.shape[1]
    # 1 / (2 x) for x = x0 z^j: (1/2) x0^-1 z^-j on Python ints (x0 != 0: L_i avoids 0)
    zeta_inv = pow(gl.root_of_unity(k), gl.P - 2, gl.P)
    steps = [pow(zeta_inv, j, gl.P) for j in range(size // 2)]
    inv = np.array([[_INV2 * xi % gl.P * s % gl.P for s in steps] for xi in _batch_inverse(x0)],
                   dtype=np.uint64).reshape(len(x0), size // 2)
    with np.errstate(over="ignore"):
        for step in range(k):
            half = vals.shape[1] // 2
            a, b = vals[:, :half], vals[:, half:]
            inv2x = inv[:, :half]
            even = gl.mul_unchecked(_eadd(a, b), np.uint64(_INV2))
            odd = gl.mul_unchecked(_esub(a, b), inv2x[..., None])
            vals = _eadd(even, _emul(odd, alphas[step][None, None, :]))
            # next step's points are x^2, so 1 / (2 x^2) = 2 (1 / (2 x))^2
            sq = gl.mul_unchecked(inv2x, inv2x)
            inv = gl.add_unchecked(sq, sq)[:, : half // 2] if half > 1 else inv
    return vals[:, 0, :]


def eval_coeffs(coeffs: U64, points: U64) -> U64:
    """The multilinear with monomial coefficients ``coeffs`` (``(2^n, 4)``, index bits as the
    evaluation table's) at each of ``points`` (``(T, n, 4)``); returns ``(T, 4)``.

    ``f = f_0 + x_1 f_1`` with ``f_0`` the first half of the coefficients (no ``x_1``) and
    ``f_1`` the second: bind ``x_1``, then the next variable.
    """
    t = points.shape[0]
    c = np.broadcast_to(coeffs, (t,) + coeffs.shape)
    for i in range(points.shape[1]):
        half = c.shape[1] // 2
        c = _eadd(c[:, :half], _emul(c[:, half:], points[:, i][:, None, :]))
    return c[:, 0, :]


def eq_rows(points: U64, alpha: U64) -> U64:
    """``eq(p_t, alpha) = prod_i (2 p_i a_i - p_i - a_i + 1)`` for each row ``p_t`` of
    ``points`` (``(T, L, 4)``) against ``alpha`` (``(L, 4)``); returns ``(T, 4)``."""
    out = q.ones(points.shape[0])
    one = q.ones(())
    for i in range(points.shape[1]):
        p, a = points[:, i], alpha[i][None, :]
        pa = _emul(p, a)
        term = _eadd(_esub(_eadd(pa, pa), _eadd(p, a)), one)
        out = _emul(out, term)
    return out


def query_indices(transcript: Transcript, count: int, bound: int) -> list[int]:
    """The round's query indices: ``count`` uniform draws in ``[0, bound)``, sorted, repeats
    removed (a repeated index is one opening)."""
    return sorted(set(transcript.challenge_indices(b"whir/queries", bound, count)))


def grinding_seed(transcript: Transcript) -> bytes:
    """The seed of a round's proof of work: a challenge drawn after the round's messages."""
    return transcript.challenge_bases(b"whir/pow-seed", 4).astype("<u8").tobytes()


def pow_digest_ok(seed: bytes, nonce: int, bits: int) -> bool:
    """Whether ``BLAKE2b-256(seed || u64 nonce)`` read little-endian has ``bits`` trailing
    zero bits (its low word ``mod 2^bits == 0``)."""
    digest = hashlib.blake2b(b"zkinfer/whir/pow" + seed + struct.pack("<Q", nonce),
                             digest_size=32).digest()
    word = int.from_bytes(digest[:8], "little")
    return word & ((1 << bits) - 1) == 0


# ---- the transcript schedule (prover and verifier call the same functions)


def append_quartic(transcript: Transcript, label: bytes, values: U64) -> None:
    """Absorb ``F_p4`` elements ``(..., 4)`` as ``F_p2`` pairs ``(..., 2, 2)``."""
    arr = np.asarray(values, dtype=np.uint64)
    transcript.append_ext(label, arr.reshape(arr.shape[:-1] + (2, 2)))


def challenge_quartic(transcript: Transcript, label: bytes, count: int | None = None) -> U64:
    """``count`` uniform ``F_p4`` elements ``(count, 4)`` (one ``(4,)`` when ``None``): ``2 count``
    uniform ``F_p2`` challenges under ``label``."""
    draw = transcript.challenge_exts(label, 2 * (count or 1))
    return draw.reshape(4) if count is None else draw.reshape(count, 4)


def absorb_statement(transcript: Transcript, params, commitment, point: U64, value: U64) -> None:
    """Open the proof: the protocol label, the parameters, the commitment, ``z`` and ``y``."""
    transcript.append_bytes(b"whir/protocol", DOMAIN)
    transcript.append_bytes(b"whir/params", params.to_bytes())
    transcript.append_bytes(b"whir/commitment", commitment.to_bytes())
    transcript.append_ext(b"whir/point", point)
    transcript.append_ext(b"whir/value", np.asarray(value, dtype=np.uint64).reshape(2))


def absorb_sumcheck(transcript: Transcript, h: U64) -> U64:
    """Absorb ``h(0), h(1), h(2)`` (``(3, 4)``); draw the folding challenge ``alpha``."""
    append_quartic(transcript, b"whir/sumcheck", h)
    return challenge_quartic(transcript, b"whir/fold")


def absorb_root(transcript: Transcript, root: bytes) -> U64:
    """Absorb the next function's root; draw the out-of-domain point ``z_ood`` (in ``F_p4``)."""
    transcript.append_bytes(b"whir/root", root)
    return challenge_quartic(transcript, b"whir/ood-point")


def absorb_ood(transcript: Transcript, answer: U64) -> None:
    """Absorb the out-of-domain answer ``f^_(i+1)(z_ood)``."""
    append_quartic(transcript, b"whir/ood-answer", np.asarray(answer, dtype=np.uint64).reshape(4))


def absorb_final(transcript: Transcript, coeffs: U64) -> None:
    """Absorb the final polynomial's coefficients."""
    append_quartic(transcript, b"whir/final", coeffs)


def absorb_nonce(transcript: Transcript, nonce: int) -> None:
    """Absorb the grinding nonce (only when grinding is on)."""
    transcript.append_int(b"whir/nonce", nonce)


def combination_powers(gamma: U64, count: int) -> U64:
    """``gamma, gamma^2, ..., gamma^(count + 1)`` ``(count + 1, 4)``: the combination's
    coefficients of the OOD answer and of the ``count`` shift queries, in order."""
    g = Fp4.from_array(gamma)
    powers = [g]
    for _ in range(count):
        powers.append(powers[-1] * g)
    return np.array([x.to_array() for x in powers], dtype=np.uint64).reshape(count + 1, 4)


def absorb_combination(transcript: Transcript) -> U64:
    """Draw the combination randomness ``gamma`` (in ``F_p4``)."""
    return challenge_quartic(transcript, b"whir/combine")


def query_points(params, i: int, indices: list[int]) -> tuple[list[int], list[int]]:
    """The leaves' points ``x0 = s_i w_i^b`` of ``L_i`` and the shift-query points
    ``y = x0^(2^(k_i))`` of ``L_i^(2^(k_i))`` (base elements), for the indices ``b``."""
    e = 1 << params.folds()[i]
    x0 = [domain_point(params, i, b) for b in indices]
    return x0, [pow(x, e, gl.P) for x in x0]


def base_pow_point(y, m: int) -> U64:
    """:func:`pow_point` of canonical base elements ``y`` (an int or a sequence of ints):
    ``(y, y^2, ..., y^(2^(m-1)))`` as ``y``'s shape ``+ (m,)`` (base words)."""
    cur = np.asarray(y, dtype=np.uint64)
    out = np.empty(cur.shape + (m,), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(m):
            out[..., i] = cur
            if i + 1 < m:
                cur = gl.mul_unchecked(cur, cur)
    return out
