"""Many SHA-256 digests in one Numba loop, through the SHA-256 of the OpenSSL library that
Python's ``hashlib`` itself uses (prover side).

:func:`zkinfer.commit.ligero.merkle.hash_rows` hashes one message per row of an array: a
Ligero commitment hashes millions of columns of a few hundred bytes each. Done with ``hashlib``
one call at a time, the Python overhead per call (about 2 us) was four times the hashing (about
0.5 us for 656 bytes with the CPU's SHA instructions), and the interpreter lock kept it on one
core. Here one Numba loop, split over the prover's threads, calls OpenSSL's
``SHA256_Init / SHA256_Update / SHA256_Final`` for each row directly: the same function, so
the same digests (the tests compare them with ``hashlib`` on many shapes).

The library is the ``libcrypto`` already mapped into this process by ``hashlib`` (Linux:
``/proc/self/maps``), else the one ``ctypes.util.find_library`` names; it must export the three
functions (OpenSSL 1.1 and 3 do). :func:`available` says whether this module can be used, after
a digest of a fixed message was compared with ``hashlib``'s; when it cannot (no such library, or
no ``numba``: a verifier-only install), ``merkle`` hashes with ``hashlib`` as before. The library
is made visible to LLVM's symbol lookup before any kernel is compiled or loaded from Numba's
cache (the kernels name the functions, not their addresses, so a cached kernel links against
this process's library).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import re

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing

types = numba.types

__all__ = ["available", "hash_rows"]

_SYMBOLS = ("SHA256_Init", "SHA256_Update", "SHA256_Final")
_CTX_WORDS = 32
"""The hashing state per thread, in 8-byte words (256 bytes; OpenSSL's ``SHA256_CTX`` is 112)."""

_CHUNKS_PER_THREAD = 8
"""Row ranges per thread of the parallel kernel (rows all cost the same; a few per thread even
out a thread that starts late)."""

_state: dict[str, object] = {}


def _library() -> str | None:
    """The path of a ``libcrypto`` that exports the SHA-256 functions, or ``None``."""
    import _hashlib  # noqa: F401  (maps hashlib's libcrypto into this process)

    candidates: list[str] = []
    try:
        with open("/proc/self/maps") as f:
            candidates += sorted(set(re.findall(r"(/\S*/libcrypto[^/\s]*\.so[^/\s]*)", f.read())))
    except OSError:  # not Linux
        pass
    named = ctypes.util.find_library("crypto")
    if named:
        candidates.append(named)
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if all(hasattr(lib, s) for s in _SYMBOLS):
            return path
    return None


_init = types.ExternalFunction("SHA256_Init", types.intc(types.voidptr))
_update = types.ExternalFunction("SHA256_Update",
                                 types.intc(types.voidptr, types.voidptr, types.uintp))
_final = types.ExternalFunction("SHA256_Final", types.intc(types.voidptr, types.voidptr))


@numba.njit(cache=True, nogil=True)
def _rows_range(data, row_bytes, prefix, out, lo, hi):  # pragma: no cover - compiled
    """Rows ``lo..hi`` of ``data`` (``uint8``, ``row_bytes`` each) into ``out`` (32 each)."""
    ctx = np.empty(_CTX_WORDS, dtype=np.uint64)
    pre = np.empty(1, dtype=np.uint8)
    pre[0] = prefix
    base, dst = data.ctypes.data, out.ctypes.data
    for j in range(lo, hi):
        _init(ctx.ctypes.data)
        _update(ctx.ctypes.data, pre.ctypes.data, 1)
        _update(ctx.ctypes.data, base + j * row_bytes, row_bytes)
        _final(dst + 32 * j, ctx.ctypes.data)


@numba.njit(cache=True, nogil=True, parallel=True)
def _rows_parallel(data, row_bytes, prefix, out, chunks):  # pragma: no cover - compiled
    """:func:`_rows_range` over ``chunks`` equal ranges of rows, on the prover's threads."""
    n = out.shape[0]
    for c in numba.prange(chunks):
        _rows_range(data, row_bytes, prefix, out, n * c // chunks, n * (c + 1) // chunks)


def available() -> bool:
    """Whether :func:`hash_rows` can run here: ``numba`` is installed, a ``libcrypto`` with the
    SHA-256 functions is found, and its digest of a test message equals ``hashlib``'s (checked
    once per process)."""
    if "ok" not in _state:
        _state["ok"] = False
        try:
            path = _library()
            if path is not None:
                import llvmlite.binding as llvm  # numba's own dependency

                llvm.load_library_permanently(path)
                probe = np.arange(3 * 77, dtype=np.uint8).reshape(3, 77)
                want = [hashlib.sha256(b"\x05" + bytes(r)).digest() for r in probe]
                got = _run(probe, b"\x05", 1)
                _state["ok"] = [bytes(r) for r in got] == want
        except Exception:  # noqa: BLE001 - any failure leaves hashlib in charge
            _state["ok"] = False
    return bool(_state["ok"])


def _run(rows: np.ndarray, prefix: bytes, threads: int) -> np.ndarray:
    arr = np.ascontiguousarray(rows)
    if arr.ndim != 2:
        raise ValueError(f"rows must be a 2-D array, got shape {arr.shape}")
    count, row_bytes = arr.shape[0], arr.shape[1] * arr.itemsize
    out = np.empty((count, 32), dtype=np.uint8)
    if count == 0:
        return out
    data = arr.reshape(-1).view(np.uint8).reshape(count, row_bytes)  # the same bytes
    workers = min(int(threads), numba.get_num_threads())
    if workers <= 1:
        _rows_range(data, row_bytes, prefix[0], out, 0, count)
    else:
        _rows_parallel(data, row_bytes, prefix[0], out, min(count, _CHUNKS_PER_THREAD * workers))
    return out


def hash_rows(rows: np.ndarray, prefix: bytes, threads: int) -> np.ndarray:
    """``SHA-256(prefix || row)`` of each row of a 2-D array (its bytes as stored, made
    C-contiguous), ``(count, 32)`` ``uint8``; ``threads`` at most (``1``: in this thread).

    Raises:
        RuntimeError: :func:`available` is false (callers check first).
        ValueError: ``rows`` is not 2-D, or ``prefix`` is not one byte.
    """
    if not available():
        raise RuntimeError("the batched SHA-256 is not available in this process")
    if len(prefix) != 1:
        raise ValueError("a one-byte domain prefix is expected")
    return _run(rows, prefix, threads)
