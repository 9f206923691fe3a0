"""Univariate polynomials over Goldilocks, numpy only (verifier-safe).

- :func:`ntt` / :func:`intt`: radix-2 NTT on numpy arrays, the readable twin of the Numba
  transform in :mod:`zkinfer.poly.ntt` (same conventions, same results).
- :func:`evaluate`: Horner evaluation of base or extension coefficients at extension points.
- :func:`interpolate_at` (arrays) and :func:`interpolate_scalar` (:class:`Fp2` scalars):
  evaluate the degree-``d`` polynomial given by its values at ``0, 1, ..., d`` at a point
  (sumcheck round polynomials).

Conventions: ``ntt(c)[i] = sum_k c[k] w^(ik)`` with ``w = root_of_unity(log n)``; a coset
transform evaluates at ``shift * w^i``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2

__all__ = ["domain", "ntt", "intt", "bit_reversal", "evaluate", "interpolate_at", "interpolate_scalar",
           "lagrange_weights"]

U64 = npt.NDArray[np.uint64]


def _log2(n: int) -> int:
    if n < 1 or n & (n - 1):
        raise FieldRangeError(f"length {n} is not a power of two")
    log_n = n.bit_length() - 1
    if log_n > gl.TWO_ADICITY:
        raise FieldRangeError(f"length 2^{log_n} exceeds the 2-adicity of F_p")
    return log_n


def domain(n: int, shift: int = 1) -> U64:
    """The evaluation points ``shift * w^i``, ``i < n``, ``w`` of order ``n``."""
    w = gl.root_of_unity(_log2(n))
    pts = np.empty(n, dtype=np.uint64)
    acc = shift % gl.P
    for i in range(n):
        pts[i] = acc
        acc = acc * w % gl.P
    return pts


@functools.lru_cache(maxsize=32)
def bit_reversal(log_n: int) -> npt.NDArray[np.int64]:
    """The bit-reversal permutation of ``log_n``-bit indices (cached; do not modify)."""
    idx = np.arange(1 << log_n, dtype=np.int64)
    rev = np.zeros_like(idx)
    for b in range(log_n):
        rev |= ((idx >> b) & 1) << (log_n - 1 - b)
    return rev


def _ntt_numpy(a: U64, root: int) -> U64:
    """Iterative DIT NTT along axis 0 of ``a`` (extra trailing axes transform in parallel)."""
    n = a.shape[0]
    log_n = _log2(n)
    a = a[bit_reversal(log_n)].copy()
    m = 1
    with np.errstate(over="ignore"):
        while m < n:
            w_m = pow(root, n // (2 * m), gl.P)
            tw = np.array([pow(w_m, j, gl.P) for j in range(m)], dtype=np.uint64)
            blocks = a.reshape((n // (2 * m), 2, m) + a.shape[1:])
            u = blocks[:, 0].copy()
            shape = (1, m) + (1,) * (a.ndim - 1)
            v = gl.mul_unchecked(blocks[:, 1], tw.reshape(shape))
            blocks[:, 0] = gl.add_unchecked(u, v)
            blocks[:, 1] = gl.sub_unchecked(u, v)
            m *= 2
    return a


def ntt(coeffs: npt.ArrayLike, shift: int = 1) -> U64:
    """Evaluations of the polynomial with coefficients ``coeffs`` (axis 0) on the domain
    ``shift * <w>``; trailing axes (e.g. the extension's 2) are transformed independently."""
    c = gl.as_field(coeffs, "coeffs")
    n = c.shape[0]
    log_n = _log2(n)
    if shift % gl.P != 1:
        s = domain_powers(shift, n)
        with np.errstate(over="ignore"):
            c = gl.mul_unchecked(c, s.reshape((n,) + (1,) * (c.ndim - 1)))
    return _ntt_numpy(c, gl.root_of_unity(log_n))


def intt(evals: npt.ArrayLike, shift: int = 1) -> U64:
    """Inverse of :func:`ntt` (same ``shift``)."""
    e = gl.as_field(evals, "evals")
    n = e.shape[0]
    log_n = _log2(n)
    root_inv = pow(gl.root_of_unity(log_n), gl.P - 2, gl.P)
    c = _ntt_numpy(e, root_inv)
    n_inv = pow(n, gl.P - 2, gl.P)
    s = domain_powers(pow(shift, gl.P - 2, gl.P), n)
    with np.errstate(over="ignore"):
        s = gl.mul_unchecked(s, np.uint64(n_inv))
        return gl.mul_unchecked(c, s.reshape((n,) + (1,) * (c.ndim - 1)))


def domain_powers(x: int, n: int) -> U64:
    """``[1, x, x^2, ..., x^(n-1)]`` as ``uint64``."""
    out = np.empty(n, dtype=np.uint64)
    acc = 1
    x %= gl.P
    for i in range(n):
        out[i] = acc
        acc = acc * x % gl.P
    return out


def evaluate(coeffs: npt.ArrayLike, x: npt.ArrayLike) -> U64:
    """``sum_i coeffs[i] x^i`` at extension points ``x`` (shape ``(..., 2)``).

    ``coeffs`` are base elements (shape ``(d+1,)``) or extension elements (``(d+1, 2)``).
    Returns extension elements of shape ``x.shape``.
    """
    pts = ext.as_ext(x, "x")
    c = gl.as_field(coeffs, "coeffs")
    if c.ndim == 1:
        c = ext.from_base(c)
    acc = np.zeros_like(pts)
    with np.errstate(over="ignore"):
        for k in range(c.shape[0] - 1, -1, -1):
            acc = gl.add_unchecked(ext.mul_unchecked(acc, pts), np.broadcast_to(c[k], pts.shape))
    return acc


@functools.lru_cache(maxsize=64)
def _lagrange_denominators(d: int) -> tuple[int, ...]:
    # L_i(X) = prod_{j != i} (X - j) / (i - j); the denominators are (-1)^(d-i) i! (d-i)!
    out = []
    for i in range(d + 1):
        den = 1
        for j in range(d + 1):
            if j != i:
                den = den * (i - j) % gl.P
        out.append(pow(den, gl.P - 2, gl.P))
    return tuple(out)


def _lagrange(d: int, r: Fp2) -> list[Fp2]:
    """``L_i(r)`` for the nodes ``0..d``: ``prod_{j != i} (r - j)`` from prefix and suffix
    products, times the inverse denominator."""
    diffs = [r - j for j in range(d + 1)]
    prefix = [Fp2.ONE]
    for x in diffs:
        prefix.append(prefix[-1] * x)
    suffix = [Fp2.ONE] * (d + 2)
    for j in range(d, -1, -1):
        suffix[j] = suffix[j + 1] * diffs[j]
    dens = _lagrange_denominators(d)
    return [prefix[i] * suffix[i + 1] * dens[i] for i in range(d + 1)]


def lagrange_weights(d: int, r: npt.ArrayLike) -> U64:
    """``[L_0(r), ..., L_d(r)]`` for the nodes ``0..d`` at the extension point ``r``.

    Shape ``(d + 1, 2)``.
    """
    return Fp2.stack(_lagrange(d, Fp2.from_array(ext.as_ext(r, "r").reshape(2))))


def interpolate_at(values: npt.ArrayLike, r: npt.ArrayLike) -> U64:
    """The polynomial of degree ``<= d`` with the given values at ``0..d``, evaluated at ``r``.

    ``values``: extension elements, shape ``(d + 1, 2)``. Returns shape ``(2,)``.
    """
    v = Fp2.vector(ext.as_ext(values, "values"))
    return interpolate_scalar(v, Fp2.from_array(ext.as_ext(r, "r").reshape(2))).to_array()


def _inverses_of_small(d: int) -> tuple[int, ...]:
    """``1 / k mod p`` for ``k = 1..d`` (cached per ``d``)."""
    cached = _SMALL_INVERSES.get(d)
    if cached is None:
        cached = _SMALL_INVERSES[d] = tuple(pow(k, gl.P - 2, gl.P) for k in range(1, d + 1))
    return cached


_SMALL_INVERSES: dict[int, tuple[int, ...]] = {}


_INV2 = pow(2, gl.P - 2, gl.P)
_INV3 = pow(3, gl.P - 2, gl.P)


def interpolate_low_pair(rows: Sequence[Sequence[int]], r0: int, r1: int) -> tuple[int, int]:
    """:func:`interpolate_scalar` of degree 2 or 3 in straight-line code on canonical ints
    (``rows[i] = (c0, c1)``, the challenge ``r0 + r1 X``), as a canonical pair: the forward
    differences ``D^k`` of ``rows`` (unreduced), then ``D^0 + r (D^1 + (r - 1) / 2 (D^2 +
    (r - 2) / 3 D^3))`` with one reduction per extension product. (The sumcheck verifier's
    inner loop calls it once per round.)"""
    P, w = gl.P, ext.W
    (a0, a1), (b0, b1), (c0, c1) = rows[0], rows[1], rows[2]
    x0, x1 = c0 - 2 * b0 + a0, c1 - 2 * b1 + a1  # D^2
    if len(rows) == 4:
        e0, e1 = rows[3]
        t0, t1 = e0 - 3 * c0 + 3 * b0 - a0, e1 - 3 * c1 + 3 * b1 - a1  # D^3
        f0, f1 = (r0 - 2) * _INV3 % P, r1 * _INV3 % P
        x0, x1 = (x0 + f0 * t0 + w * f1 * t1) % P, (x1 + f0 * t1 + f1 * t0) % P
    f0, f1 = (r0 - 1) * _INV2 % P, r1 * _INV2 % P
    x0, x1 = (b0 - a0 + f0 * x0 + w * f1 * x1) % P, (b1 - a1 + f0 * x1 + f1 * x0) % P
    return (a0 + r0 * x0 + w * r1 * x1) % P, (a1 + r0 * x1 + r1 * x0) % P


def interpolate_scalar(values: Sequence[Fp2], r: Fp2) -> Fp2:
    """:func:`interpolate_at` on scalars: ``sum_i L_i(r) values[i]``, computed in Newton's
    form on the nodes ``0..d``: ``sum_k D^k s(0) binom(r, k)`` with the forward differences
    ``D^k s(0)``, nested as ``D^0 + r (D^1 + (r - 1) / 2 (D^2 + (r - 2) / 3 (...)))`` (``d``
    extension products; the sumcheck verifier's one interpolation per round)."""
    d = len(values) - 1
    P = gl.P
    rows = [(int(v[0]), int(v[1])) for v in values]
    if d in (2, 3):  # the sumchecks' degrees, written out (the same arithmetic)
        return Fp2(*interpolate_low_pair(rows, int(r[0]), int(r[1])))
    heads = [rows[0]]
    for _ in range(d):
        rows = [((b0 - a0) % P, (b1 - a1) % P) for (a0, a1), (b0, b1) in zip(rows, rows[1:])]
        heads.append(rows[0])
    r0, r1 = int(r[0]), int(r[1])
    inv = _inverses_of_small(d)
    acc0, acc1 = heads[d]
    w = ext.W  # X^2 = W in F_p2
    for k in range(d - 1, -1, -1):
        # acc <- D^k + (r - k) / (k + 1) acc
        f0, f1 = (r0 - k) * inv[k] % P, r1 * inv[k] % P
        acc0, acc1 = ((heads[k][0] + f0 * acc0 + w * f1 * acc1) % P,
                      (heads[k][1] + f0 * acc1 + f1 * acc0) % P)
    return Fp2(acc0, acc1)
