"""The product sumcheck's zero-chunk skipping (``live`` masks of :func:`live_pairs`): every
kernel that takes a mask gives exactly the dense kernel's sums and tables when the mask marks
the chunks whose second table is zero, through a whole run of rounds and folds."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.sumcheck import _kernels as K


def _sparse(size: int, used: int, rng) -> np.ndarray:
    """A base vector of ``used`` entries, zero over random runs and a zero block at the start."""
    f = gl.random(used, rng)
    f[: used // 5] = 0
    for _ in range(6):
        a = int(rng.integers(0, used))
        f[a: a + int(rng.integers(1, size // 4))] = 0
    return f


def test_masks_mark_exactly_the_pairs_whose_entries_are_all_zero():
    rng = np.random.default_rng(0)
    size, shift = 1 << 12, 3
    f = _sparse(size, 3000, rng)
    masks = K.live_pairs(f, size, shift)
    full = np.zeros(size, dtype=np.uint64)
    full[: f.shape[0]] = f
    nonzero = full != 0
    for j, mask in enumerate(masks):
        # pairs of round j: entry i of the folded table gathers the entries i + t size / 2^j
        half = size >> (j + 1)
        gathered = nonzero.reshape(-1, half).any(axis=0)
        want = gathered.reshape(-1, 1 << shift).any(axis=1)
        assert np.array_equal(mask.astype(bool), want), j
    assert len(masks) == 12 - shift
    assert K.live_pairs(f, 1 << 3, shift) == []


@pytest.mark.parametrize("size,used,shift", [(1 << 12, 3000, 3), (1 << 12, 1 << 12, 4),
                                             (1 << 15, 20000, 6), (1 << 10, 17, 2)])
def test_masked_rounds_and_folds_equal_the_dense_ones(size, used, shift):
    rng = np.random.default_rng(size + used)
    f = _sparse(size, used, rng)
    w = ext.random((min(size, used + 100),), rng)
    masks = K.live_pairs(f, size, shift)
    assert any(m.min() == 0 for m in masks)  # something is skipped

    def live(j):
        return (masks[j], shift) if j < len(masks) else (K.ALL_LIVE, K.DENSE_SHIFT)

    dense = K.round_prod2_mixed(w, f, size)
    assert np.array_equal(K.round_prod2_mixed(w, f, size, *live(0)), dense)
    r = ext.random((), rng)
    want = np.empty((2, size // 2, 2), dtype=np.uint64)
    got = np.empty((2, size // 2, 2), dtype=np.uint64)
    K.fold_prod2_mixed_into(w, f, size, r[0], r[1], want)
    K.fold_prod2_mixed_into(w, f, size, r[0], r[1], got, *live(0))
    assert np.array_equal(got, want)
    n = size // 2
    assert np.array_equal(K.round_prod2(got, n, *live(1)), K.round_prod2(want, n))
    j = 1
    while n >= 4:
        r = ext.random((), rng)
        dense = K.fold_round_prod2(want, n, r[0], r[1])
        masked = K.fold_round_prod2(got, n, r[0], r[1], *live(j + 1))
        assert np.array_equal(masked, dense), n
        n //= 2
        j += 1
        assert np.array_equal(got[:, :n], want[:, :n]), n


@pytest.mark.parametrize("size", [2, 64, 1 << 14])
def test_folds_with_equal_ends_match_the_field_formula(size):
    # the fold kernels skip the product where both ends are equal (zero padding)
    rng = np.random.default_rng(size)
    base = gl.random((3, size), rng)
    base[0, size // 2:] = base[0, : size // 2]  # every pair of table 0 has equal ends
    base[1, : size // 4] = 0
    base[1, size // 2: size // 2 + size // 4] = 0
    r = ext.random((), rng)
    lo, hi = ext.from_base(base[:, : size // 2]), ext.from_base(base[:, size // 2:])
    want = ext.add(lo, ext.mul(np.broadcast_to(r, lo.shape), ext.sub(hi, lo)))
    got = np.empty((3, size // 2, 2), dtype=np.uint64)
    K.fold_base_into(base, size, r[0], r[1], got)
    assert np.array_equal(got, want)
    got[:] = 0
    K.fold_base_into_serial(base, size, r[0], r[1], got)
    assert np.array_equal(got, want)
    tables = ext.random((3, size), rng)
    tables[0, size // 2:] = tables[0, : size // 2]
    tables[1, : size // 4] = 0
    tables[1, size // 2: size // 2 + size // 4] = 0
    lo, hi = tables[:, : size // 2], tables[:, size // 2:]
    want = ext.add(lo, ext.mul(np.broadcast_to(r, lo.shape), ext.sub(hi, lo)))
    for fold in (K.fold_ext_inplace, K.fold_ext_inplace_serial):
        t = tables.copy()
        fold(t, size, r[0], r[1])
        assert np.array_equal(t[:, : size // 2], want)
