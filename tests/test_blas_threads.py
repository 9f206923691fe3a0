"""The verifier's BLAS thread limit: one thread inside, the original limits after, nested and
concurrent users counted."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from zkinfer._blas_threads import single_blas_thread

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    np.ones((2, 2)) @ np.ones((2, 2))  # make sure numpy's BLAS is loaded
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_one_thread_inside_and_the_original_limits_after():
    before = _blas_threads()
    if not before:
        pytest.skip("numpy links no BLAS that threadpoolctl can see")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        outer = _blas_threads()
        with single_blas_thread():
            assert set(_blas_threads()) == {1}
            with single_blas_thread():  # nested
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == outer
    assert _blas_threads() == before


def test_concurrent_users_keep_the_limit_until_the_last_leaves():
    if not _blas_threads():
        pytest.skip("numpy links no BLAS that threadpoolctl can see")
    before = _blas_threads()
    entered, release = threading.Event(), threading.Event()
    seen = []

    def other():
        with single_blas_thread():
            entered.set()
            release.wait(10)
            seen.append(set(_blas_threads()))

    t = threading.Thread(target=other)
    t.start()
    entered.wait(10)
    with single_blas_thread():
        pass  # this user leaves first: the other one still runs limited
    release.set()
    t.join(10)
    assert seen == [{1}]
    assert _blas_threads() == before
