"""Merkle tree over the encoded matrix's columns, with multi-opening proofs (numpy + hashlib).

Hash: SHA-256 (hardware accelerated on most x86 CPUs), domain separated:

- leaf ``j``: ``H(0x00 || column j)`` where the column is its ``R`` canonical field elements, 8 bytes
  little-endian each: **one hash call per column**, never one per element;
- node: ``H(0x01 || left || right)``;
- leaf ``j`` of a commitment made of ``S`` parts: ``H(0x02 || d_0j || ... || d_(S-1)j)`` where
  ``d_sj = H(0x00 || column j of part s)`` (its ``R_s`` elements): each part hashes its own
  columns, and one tree covers them all (:func:`combine_part_leaves`).

The number of leaves is a power of two ``L = 2^depth``; the commitment fixes ``depth``, so paths
have a known length.

Multi-opening: for a sorted set of distinct leaf indices, the proof lists the sibling hashes the
verifier cannot compute itself, in the order of :func:`sibling_positions` (level by level from
the leaves, left to right). Prover and verifier both call that one function.

Verifier-safe: this module imports numpy and hashlib only. :func:`build` is the prover's. Large
batches of rows (a commitment's columns, the tree's lower levels) go, in a prover install, to
one Numba loop over OpenSSL's SHA-256 on the prover's threads
(:mod:`zkinfer.commit.ligero._sha256`: the same digests, no Python call per row); otherwise
``hashlib`` hashes them, rows of 16 KiB and more on several threads (it releases the GIL for
inputs over 2 KiB).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

__all__ = [
    "DIGEST_BYTES",
    "hash_rows",
    "hash_columns",
    "combine_part_leaves",
    "build",
    "check_levels",
    "sibling_positions",
    "open_siblings",
    "root_from_multiproof",
]

DIGEST_BYTES = 32
"""SHA-256 digests."""

_LEAF = b"\x00"
_NODE = b"\x01"
_PARTS = b"\x02"

U8 = npt.NDArray[np.uint8]

_THREADED_ROW_BYTES = 1 << 14
"""Rows of at least this many bytes are hashed by several threads (:func:`hash_rows`)."""


def default_threads() -> int:
    """The CPUs this process may run on, capped by ``NUMBA_NUM_THREADS`` when it is set (the
    prover's kernels use that many threads; a cluster worker limited to one core sets it to 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    cap = os.environ.get("NUMBA_NUM_THREADS", "")
    return max(1, min(cpus, int(cap))) if cap.isdigit() and int(cap) > 0 else max(1, cpus)


BATCHED_FROM_ROWS = 4096
"""From this many rows, :func:`hash_rows` hashes in one Numba loop through OpenSSL's SHA-256
(:mod:`zkinfer.commit.ligero._sha256`, a prover install) when it is available: the same
digests, without a Python call per row. Fewer rows (a verifier's few columns) use ``hashlib``,
so verifying never imports ``numba``."""

_BATCHED: list = []


def _batched():
    """The batched hasher module if it can run in this process, else ``None`` (decided once)."""
    if not _BATCHED:
        try:
            from zkinfer.commit.ligero import _sha256

            _BATCHED.append(_sha256 if _sha256.available() else None)
        except ImportError:  # no numba: a verifier-only install
            _BATCHED.append(None)
    return _BATCHED[0]


def hash_rows(rows: np.ndarray, prefix: bytes, threads: int | None = None) -> U8:
    """``H(prefix || row)`` of each row of a 2-D array (its bytes as stored, little-endian
    words for ``uint64``): one hash call per row, from a copied state of the hashed prefix.

    Arguments:
        rows: ``(count, w)`` array.
        prefix: the domain byte (leaf ``0x00``, node ``0x01``, parts ``0x02``).
        threads: worker threads (default: :func:`default_threads`); ``1`` hashes inline.

    Returns:
        ``(count, 32)`` ``uint8`` digests.
    """
    data = np.ascontiguousarray(rows)
    count = data.shape[0]
    workers = threads if threads is not None else default_threads()
    batched = _batched() if count >= BATCHED_FROM_ROWS and data.ndim == 2 else None
    if batched is not None:
        return batched.hash_rows(data, prefix, workers)
    out = np.empty((count, DIGEST_BYTES), dtype=np.uint8)
    row_bytes = data.shape[1] * data.itemsize if data.ndim == 2 else 0
    flat = memoryview(data.reshape(-1).view(np.uint8)) if data.size else memoryview(b"")
    out_view = memoryview(out.reshape(-1))

    def work(lo: int, hi: int) -> None:
        start = hashlib.sha256(prefix)  # copied per row: the prefix is hashed once
        for j in range(lo, hi):
            h = start.copy()
            h.update(flat[j * row_bytes: (j + 1) * row_bytes])
            out_view[j * DIGEST_BYTES: (j + 1) * DIGEST_BYTES] = h.digest()

    # threads pay off only when each call hashes enough bytes: hashlib releases the GIL per
    # call, and below about 16 KB per row handing the GIL back and forth between two threads
    # cost more than it saved (measured: 2x slower at 2-8 KB, 1.8x faster at 16 KB)
    if workers <= 1 or count < 64 or row_bytes < _THREADED_ROW_BYTES:
        work(0, count)
        return out
    bounds = np.linspace(0, count, workers + 1).astype(int)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, bounds[:-1], bounds[1:]))
    return out


def hash_columns(columns: npt.NDArray[np.uint64], threads: int | None = None) -> U8:
    """Leaf hashes ``H(0x00 || column)`` of each row of ``columns`` (shape ``(count, R)``).

    Arguments:
        columns: one column per row, canonical elements (the caller checked them).
        threads: worker threads (default: :func:`default_threads`); ``1`` hashes inline.

    Returns:
        ``(count, 32)`` ``uint8`` digests.
    """
    return hash_rows(np.ascontiguousarray(columns, dtype="<u8"), _LEAF, threads)


_COMBINE_CHUNK_BYTES = 1 << 22
"""Stacked part digests per slice in :func:`combine_part_leaves` (4 MB)."""


def combine_part_leaves(digests: Sequence[U8]) -> U8:
    """The leaves of a commitment made of parts: ``H(0x02 || d_0j || ... || d_(S-1)j)``.

    Arguments:
        digests: ``digests[s]`` is ``(L, 32)``: part ``s``'s column digests ``H(0x00 || column)``
            (:func:`hash_columns` of its columns), the same ``L`` for every part.

    Returns:
        ``(L, 32)`` ``uint8`` leaves, one hash call per column (in slices of columns, so the
        stacked digests never take more than a few MB).

    Raises:
        ValueError: no part, or digests of different shapes.
    """
    if not len(digests):
        raise ValueError("no part digests to combine")
    arrays = [np.asarray(d, dtype=np.uint8) for d in digests]
    length = arrays[0].shape[0]
    if any(a.shape != (length, DIGEST_BYTES) for a in arrays):
        raise ValueError("part digests of different shapes")
    out = np.empty((length, DIGEST_BYTES), dtype=np.uint8)
    step = max(1, _COMBINE_CHUNK_BYTES // (DIGEST_BYTES * len(arrays)))
    for lo in range(0, length, step):
        hi = min(length, lo + step)
        stacked = np.concatenate([a[lo:hi] for a in arrays], axis=1)  # (hi - lo, 32 S)
        out[lo:hi] = hash_rows(stacked, _PARTS)
    return out


def _hash_level(level: U8) -> U8:
    """Parents of a level: ``H(0x01 || left || right)`` for consecutive pairs."""
    return hash_rows(np.asarray(level).reshape(-1, 2 * DIGEST_BYTES), _NODE)


def build(leaves: U8, progress=None) -> list[U8]:
    """All levels of the tree, ``levels[0] = leaves`` (``(L, 32)``) ... ``levels[-1]`` the root.

    ``progress(step, done, total)``, if given, is called as ``("Merkle tree", layers hashed,
    depth)`` after each layer.

    Raises:
        ValueError: the number of leaves is not a power of two.
    """
    count = leaves.shape[0]
    if count < 1 or count & (count - 1):
        raise ValueError(f"{count} leaves: a power of two is required")
    depth = count.bit_length() - 1
    levels = [leaves]
    if progress is not None:
        progress("Merkle tree", 0, max(1, depth))
    while levels[-1].shape[0] > 1:
        levels.append(_hash_level(levels[-1]))
        if progress is not None:
            progress("Merkle tree", len(levels) - 1, depth)
    return levels


def check_levels(levels: Sequence[U8]) -> int | None:
    """Recompute every level above the leaves from the one below.

    Returns:
        ``None`` if each level is the hash of the one below it (so ``levels[-1][0]`` is the
        root of ``levels[0]``), else the index of the first level that is not.
    """
    for k in range(1, len(levels)):
        # plain ndarrays: iterating a memmap's rows costs a Python call each
        below, level = np.asarray(levels[k - 1]), np.asarray(levels[k])
        if below.shape[0] != 2 * level.shape[0] or not np.array_equal(_hash_level(below), level):
            return k
    return None


def sibling_positions(indices: Sequence[int], depth: int) -> list[tuple[int, int]]:
    """The ``(level, position)`` of each sibling hash a multi-proof carries, in proof order.

    Arguments:
        indices: distinct leaf indices, strictly increasing, each ``< 2^depth``.
        depth: the tree depth (``log2`` of the number of leaves).
    """
    known = list(indices)
    out: list[tuple[int, int]] = []
    for level in range(depth):
        parents = []
        i = 0
        while i < len(known):
            pos = known[i]
            if pos % 2 == 0 and i + 1 < len(known) and known[i + 1] == pos + 1:
                i += 2  # both children known
            else:
                out.append((level, pos ^ 1))
                i += 1
            parents.append(pos >> 1)
        known = parents
    return out


def open_siblings(levels: Sequence[U8], indices: Sequence[int]) -> list[bytes]:
    """The prover's multi-proof for ``indices`` (see :func:`sibling_positions`)."""
    return [levels[lvl][pos].tobytes() for lvl, pos in sibling_positions(indices, len(levels) - 1)]


def root_from_multiproof(
    depth: int, indices: Sequence[int], leaf_hashes: U8, siblings: Sequence[bytes]
) -> bytes | None:
    """Recompute the root from opened leaves and a multi-proof.

    Arguments:
        depth: tree depth.
        indices: the opened leaf indices, distinct and strictly increasing.
        leaf_hashes: ``(len(indices), 32)`` leaf digests, in the order of ``indices``.
        siblings: the proof's sibling digests.

    Returns:
        The root, or ``None`` when the proof has the wrong number of siblings.

    Walks the tree level by level like :func:`sibling_positions`, taking the siblings in proof
    order as they are needed (sorted lists, no position bookkeeping).
    """
    positions = [int(j) for j in indices]
    nodes = [leaf_hashes[i].tobytes() for i in range(len(positions))]
    sha = hashlib.sha256
    used = 0
    for _ in range(depth):
        parents: list[int] = []
        hashes: list[bytes] = []
        i, count = 0, len(positions)
        while i < count:
            pos = positions[i]
            if not pos & 1 and i + 1 < count and positions[i + 1] == pos + 1:
                left, right = nodes[i], nodes[i + 1]  # both children known
                i += 2
            else:
                if used == len(siblings):
                    return None
                if pos & 1:
                    left, right = siblings[used], nodes[i]
                else:
                    left, right = nodes[i], siblings[used]
                used += 1
                i += 1
            parents.append(pos >> 1)
            # node = H(0x01 || left || right)
            hashes.append(sha(_NODE + left + right).digest())
        positions, nodes = parents, hashes
    if used != len(siblings) or len(nodes) != 1:
        return None
    return nodes[0]
