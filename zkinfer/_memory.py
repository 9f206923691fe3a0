"""Give freed memory back to the operating system between the prover's phases.

numpy's large temporaries are freed into the C allocator's heap, which keeps much of it (glibc
raises its threshold for memory-mapped allocations after large frees, and a fragmented heap
cannot shrink): a process that built and dropped a few gigabytes of tables keeps them resident.
:func:`release` asks the allocator to return free pages (``malloc_trim``, glibc). It changes
nothing but the resident set; elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release"]


@functools.cache
def _trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release() -> None:
    """Return the allocator's free memory to the system (glibc; numpy arrays are freed by
    reference counting, without a garbage collection)."""
    trim = _trim()
    if trim is not None:
        trim(0)


def random_access(array) -> None:
    """Tell the kernel that a memory-mapped array (``np.memmap``, e.g. a spilled encoded
    matrix) is read at random rows: no read-ahead, so reading a few rows maps a few pages, not
    megabytes around each (read-ahead would make the process's resident set grow towards the
    whole file). A no-op for other arrays or where ``madvise`` is missing."""
    _advise(array, "MADV_RANDOM")


def drop_pages(array, random: bool = True) -> None:
    """Unmap the resident pages of a read-only memory-mapped array (they stay in the page
    cache; the next access maps them back), after a pass that read all of it. ``random=True``
    (an encoded matrix, later read at a few rows) also marks it :func:`random_access`;
    ``random=False`` (a part's vector, later read whole and in order) restores the kernel's
    default read-ahead, without which each page evicted from the cache comes back from disk
    4 KiB at a time. A no-op for other arrays."""
    _advise(array, "MADV_DONTNEED")
    _advise(array, "MADV_RANDOM" if random else "MADV_NORMAL")


def _advise(array, name: str) -> None:
    import mmap

    raw = getattr(array, "_mmap", None)
    flag = getattr(mmap, name, None)
    if raw is None or flag is None or not hasattr(raw, "madvise"):
        return
    try:
        raw.madvise(flag)
    except (OSError, ValueError):  # e.g. a closed mapping
        pass
