"""One BLAS thread while a proof is verified.

The verifier's exact matrix products (:mod:`zkinfer.field.blas`) are small: a threaded BLAS
spends more time waking and spinning its threads than multiplying, and when verification runs
in two processes (:func:`zkinfer.verify`'s default) their BLAS threads compete for the same
cores. :func:`single_blas_thread` limits every loaded BLAS library to one thread for the
duration of a block (``threadpoolctl``), counting nested and concurrent users so that the
original limits come back when the last one leaves. Another thread of the process that uses
BLAS meanwhile (a prover in a server) runs single-threaded BLAS until then.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["single_blas_thread"]

_LOCK = threading.Lock()
_USERS = 0
_LIMITS = None


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (re-entrant, thread-safe)."""
    global _USERS, _LIMITS
    with _LOCK:
        if _USERS == 0:
            from threadpoolctl import threadpool_limits

            _LIMITS = threadpool_limits(1, user_api="blas")
        _USERS += 1
    try:
        yield
    finally:
        with _LOCK:
            _USERS -= 1
            if _USERS == 0 and _LIMITS is not None:
                _LIMITS.restore_original_limits()
                _LIMITS = None
