"""The page advice of :mod:`zkinfer._memory`: which arrays lose their read-ahead."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

from zkinfer._memory import drop_pages, random_access

pytestmark = pytest.mark.skipif(not all(hasattr(mmap, f) for f in
                                        ("MADV_DONTNEED", "MADV_RANDOM", "MADV_NORMAL")),
                                reason="this platform's mmap has no madvise flags")


class _Mapping:
    """Stands for an ``mmap.mmap``: records the advice it is given."""

    def __init__(self) -> None:
        self.advice: list[int] = []

    def madvise(self, flag: int) -> None:
        self.advice.append(flag)


class _Mapped:
    def __init__(self) -> None:
        self._mmap = _Mapping()


def test_an_encoded_matrix_loses_its_read_ahead():
    # read later at a few rows: read-ahead would map megabytes around each
    arr = _Mapped()
    drop_pages(arr)
    assert arr._mmap.advice == [mmap.MADV_DONTNEED, mmap.MADV_RANDOM]
    arr = _Mapped()
    random_access(arr)
    assert arr._mmap.advice == [mmap.MADV_RANDOM]


def test_a_part_vector_keeps_its_read_ahead():
    # read whole and in order later (a later segment's weights, the part sumchecks): without
    # read-ahead each page evicted from the cache would come back 4 KiB at a time
    arr = _Mapped()
    drop_pages(arr, random=False)
    assert arr._mmap.advice == [mmap.MADV_DONTNEED, mmap.MADV_NORMAL]


def test_a_real_mapping_keeps_its_contents(tmp_path):
    path = tmp_path / "a.npy"
    want = np.arange(1 << 16, dtype=np.uint64)
    np.save(path, want)
    arr = np.load(path, mmap_mode="r")
    for random in (True, False):
        drop_pages(arr, random=random)
        assert np.array_equal(arr, want)
    drop_pages(want)  # not a mapping: nothing happens
