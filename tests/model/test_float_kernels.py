"""The fixed-order float kernels of the quantizer (:mod:`zkinfer.model._float_kernels`).

Each kernel is checked bit for bit against the plain scalar loop that defines its summation
order (blocking and vectorization must not change any element's order), and against numpy
within rounding, on small random matrices whose sizes straddle the block sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.model import _float_kernels as fk
from zkinfer.model.quantize import _inverse_factor

SIZES = [1, 2, 7, 33, 70]


def ref_matmul(a, b):
    n, k = a.shape
    out = np.zeros((n, b.shape[1]))
    for i in range(n):
        for j in range(b.shape[1]):
            s = 0.0
            for p in range(k):
                s += a[i, p] * b[p, j]
            out[i, j] = s
    return out


def ref_gram(x, out):
    n, d = x.shape
    for i in range(d):
        for j in range(i, d):
            s = out[i, j]
            for t in range(n):
                if x[t, i] != 0.0:
                    s += x[t, i] * x[t, j]
            out[i, j] = out[j, i] = s


def ref_factor(h):
    d = h.shape[0]
    r = np.zeros((d, d))
    for j in range(d - 1, -1, -1):
        for i in range(j, -1, -1):
            s = h[i, j]
            for k in range(j + 1, d):
                s -= r[i, k] * r[j, k]
            if i == j:
                r[j, j] = np.sqrt(s if s > 0.0 else 1e-300)
            else:
                r[i, j] = s / r[j, j]
    u = np.zeros((d, d))
    for i in range(d - 1, -1, -1):
        u[i, i] = 1.0 / r[i, i]
        for j in range(i + 1, d):
            s = 0.0
            for k in range(i + 1, j + 1):
                s += r[i, k] * u[k, j]
            u[i, j] = -s / r[i, i]
    return u


def ref_gptq(w, s_w, u, qmax):
    w = w.copy()
    d_in, d_out = w.shape
    q = np.zeros((d_in, d_out), dtype=np.int64)
    for i in range(d_in):
        v = w[i] / s_w
        r = np.minimum(np.floor(np.abs(v) + 0.5), qmax) * np.where(v < 0.0, -1.0, 1.0)
        q[i] = r.astype(np.int64)
        err = (w[i] - r * s_w) / u[i, i]
        for k in range(i + 1, d_in):
            if u[i, k] != 0.0:
                w[k] -= u[i, k] * err
    return q


def spd(rng, d, n):
    x = rng.standard_normal((n, d))
    x[:, ::3] *= 10.0
    h = x.T @ x
    return h + 0.01 * np.mean(np.diag(h)) * np.eye(d)


@pytest.mark.parametrize("n", [1, 5, 40])
@pytest.mark.parametrize("k", [1, 9, 300])
@pytest.mark.parametrize("m", [1, 17, 300])
def test_matmul_fixed_order(n, k, m):
    rng = np.random.default_rng(n * 1000 + k * 10 + m)
    a, b = rng.standard_normal((n, k)), rng.standard_normal((k, m))
    out = np.full((n, m), np.nan)
    fk.matmul_into(a, b, out)
    assert out.tobytes() == ref_matmul(a, b).tobytes()
    np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d", SIZES + [300])
def test_gram_fixed_order_and_batching(d):
    rng = np.random.default_rng(d)
    x = rng.standard_normal((45, d))
    x[x < -1.0] = 0.0  # skipped terms
    out = np.zeros((d, d))
    fk.gram_add(x, out)
    ref = np.zeros((d, d))
    ref_gram(x[:20], ref)
    ref_gram(x[20:], ref)
    assert out.tobytes() == ref.tobytes()  # one call on stacked rows == one call per part
    np.testing.assert_allclose(out, x.T @ x, rtol=1e-12, atol=1e-12)
    again = np.zeros((d, d))
    fk.gram_add(x[:20], again)
    fk.gram_add(x[20:], again)
    assert again.tobytes() == out.tobytes()


@pytest.mark.parametrize("d", SIZES + [130])
def test_reverse_cholesky_inverse(d):
    rng = np.random.default_rng(d)
    h = spd(rng, d, 2 * d + 3)
    u = fk.reverse_cholesky_inverse(h)
    assert np.array_equal(u, np.triu(u))
    assert u.tobytes() == ref_factor(h).tobytes()
    hinv = np.linalg.inv(h)
    np.testing.assert_allclose(u.T @ u, hinv, rtol=1e-8, atol=1e-8 * np.abs(hinv).max())


@pytest.mark.parametrize("d_in", SIZES + [100])
@pytest.mark.parametrize("d_out", [1, 5, 40])
def test_gptq_round(d_in, d_out):
    rng = np.random.default_rng(d_in * 100 + d_out)
    h = spd(rng, d_in, 3 * d_in)
    w = rng.standard_normal((d_in, d_out))
    s_w = np.abs(w).max(axis=0) / 7.0
    u = _inverse_factor(h)
    q = fk.gptq_round(w.copy(), s_w, u, 7.0)
    assert q.tobytes() == ref_gptq(w, s_w, u, 7.0).tobytes()
    assert np.abs(q).max() <= 7
    # GPTQ's output error x (w - q s_w) is smaller than rounding to nearest's (on H's metric;
    # not guaranteed column by column, but over many columns and rows)
    nearest = np.clip(np.round(w / s_w), -7, 7)

    def loss(qq):
        e = w - qq * s_w
        return float(np.trace(e.T @ h @ e))

    if d_in >= 33 and d_out >= 40:
        assert loss(q) < loss(nearest)
