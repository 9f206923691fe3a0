"""Ligero prover: commit (encode rows, Merkle tree over columns) and open (Numba).

Importing this module imports numba; the verifier never does.

Commit, for a batch laid out as ``F`` (``2^n`` entries, :class:`~zkinfer.commit.base.Layout`),
of which the first ``used`` hold the polynomials and the rest is zero padding:

1. ``M = F[:R C]`` viewed as an ``R x C`` matrix (row-major), ``R = ceil(used / C)`` and ``log C``
   from :meth:`~zkinfer.commit.ligero.params.LigeroParams.shape`: the all-zero rows of the
   padding are not committed (claims still treat ``F`` as ``2^n`` entries: see
   :mod:`zkinfer.commit.ligero.schedule` for why truncating the row coefficients is exact);
2. every row Reed-Solomon encoded to ``L = C / rate`` positions
   (:mod:`zkinfer.commit.ligero.code`), stored transposed (``L x R``) so each column is contiguous;
3. leaf ``j`` = ``H(0x00 || column j)``, one hash call per column; root of the Merkle tree.

Commit a commitment made of parts (:class:`~zkinfer.commit.base.Parts`): :func:`commit_part`
does steps 1-3 for one part alone (its ``R_s = ceil(used[s] / C)`` rows, ``log C`` from
:meth:`~zkinfer.commit.ligero.params.LigeroParams.parts_shape`, which depends on the parts'
shape only), keeping the column digests ``d_sj = H(0x00 || column j of part s)`` instead of a
tree, and optionally spilling its encoded matrix to a file (:class:`LigeroPartData`);
:func:`join` hashes ``H(0x02 || d_0j || ... || d_(S-1)j)`` into the leaves of one tree.

Open: see :mod:`zkinfer.commit.ligero.schedule` for the transcript steps. Of a commitment made
of parts, the row combinations are the sum over parts of :func:`part_combination` (each part's
rows against its slice of the coefficients) and the opened columns the concatenation of
:func:`part_columns` (each part's slice): the stacked matrix is never built.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import tempfile
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer._memory import drop_pages, random_access
from zkinfer.commit.base import (
    Layout,
    OpeningClaim,
    PartData,
    Parts,
    ProverData,
    check_pieces,
    part_vector,
    prover_claims,
)
from zkinfer.commit.ligero import _kernels as K
from zkinfer.commit.ligero import merkle, schedule
from zkinfer.commit.ligero.code import bitrev
from zkinfer.commit.ligero.params import LigeroParams
from zkinfer.commit.ligero.proof import LigeroCommitment, LigeroProof
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import _kernels as PK
from zkinfer.poly import fast
from zkinfer.transcript import Transcript

__all__ = [
    "LigeroProverData",
    "LigeroPartData",
    "LigeroPartsData",
    "commit",
    "commit_part",
    "join",
    "part_combination",
    "part_columns",
    "open_claims",
    "encode",
    "hash_leaves",
]

U64 = npt.NDArray[np.uint64]


@dataclass(eq=False)
class LigeroProverData(ProverData):
    """Prover-only state of a commitment (never serialized).

    Attributes:
        layout: the batch layout.
        vector: the concatenated vector ``F``, all ``2^n`` entries (zero from ``used`` on);
            only its first ``R C`` entries are committed.
        commitment: the public commitment.
        encoded: ``(L, R)``: ``encoded[j]`` is column ``j`` of the encoded matrix.
        levels: the Merkle tree, leaves first.
    """

    layout: Layout
    vector: U64
    commitment: LigeroCommitment
    encoded: U64
    levels: list[npt.NDArray[np.uint8]]

    @property
    def rows(self) -> U64:
        """``M``: the first ``R C`` entries of the vector as an ``R x C`` matrix (a view)."""
        c = self.commitment
        return self.vector[: c.rows << c.log_cols].reshape(c.rows, 1 << c.log_cols)

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)``.

        A block of at least ``C`` entries is whole rows of ``F`` (its offset is a multiple of
        its size), so its value is ``eq(r_row)^T (M_block eq(r_col))`` without a table of
        ``eq`` over the whole block. For ``F`` itself (``poly=None``) only the ``R`` committed
        rows are read: the rows from ``R`` on are zero, so ``eq(r_row)`` is truncated to ``R``.
        """
        log_cols = self.commitment.log_cols
        pt = ext.as_ext(np.asarray(point, dtype=np.uint64).reshape(-1, 2), "point")
        self.layout.check_claim_shape(poly, pt)
        block = self.layout.block(self.vector, poly)
        if block.shape[0] < (1 << log_cols):
            return fast.evaluate(block, pt)
        # M_block: the block's rows of F; for F itself, its R committed rows
        rows = self.rows if poly is None else block.reshape(-1, 1 << log_cols)
        # y = M_block eq(r_col); f(r) = <eq(r_row)[:rows], y>
        return _evaluate_rows(rows, pt, log_cols)


def _evaluate_rows(rows: U64, point: U64, log_cols: int) -> U64:
    """``<eq(point), block>`` for a block whose first ``rows.shape[0]`` rows of ``C`` entries are
    ``rows`` and the rest zero: ``eq(r_row)[:R']^T (rows eq(r_col))``, shape ``(2,)``."""
    split = point.shape[0] - log_cols
    y = np.empty((1, rows.shape[0], 2), dtype=np.uint64)
    K.rows_times_ext(rows, np.ascontiguousarray(fast.eq_table(point[split:])[None]), y)
    row_eq = np.ascontiguousarray(fast.eq_table(point[:split])[: rows.shape[0]])
    return np.array(PK.inner_ext_ext(row_eq, y[0]), dtype=np.uint64)


def _remove_file(path: str) -> None:
    """The finalizer of a spill file (it may be gone already)."""
    try:
        os.remove(path)
    except OSError:
        pass


def _spill(directory, encoded: U64) -> str:
    """Write ``encoded`` to a new ``.npy`` file of a unique name in ``directory``."""
    fd, path = tempfile.mkstemp(dir=os.fspath(directory), prefix="zkinfer-part-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(encoded, dtype="<u8"),
                                      allow_pickle=False)
    except BaseException:
        _remove_file(path)
        raise
    return path


def _link(path: str) -> str:
    """A new name for the file ``path`` in its directory (a hard link, else a copy)."""
    directory = os.path.dirname(path)
    while True:
        other = os.path.join(directory, f"zkinfer-part-{secrets.token_hex(8)}.npy")
        try:
            os.link(path, other)
            return other
        except FileExistsError:
            continue
        except OSError:
            # no hard links on this file system: copy (exclusive create, unique name)
            try:
                with open(path, "rb") as src, open(other, "xb") as dst:
                    shutil.copyfileobj(src, dst)
            except FileExistsError:
                continue
            return other


class LigeroPartData(PartData):
    """One part of a commitment made of parts, committed alone (:func:`commit_part`).

    Attributes:
        parts: the commitment's parts.
        index: which part.
        log_blowup: the code rate it was encoded with.
        log_cols: ``log2 C`` (from the parts' shape).
        rows: ``(R_s, C)`` read-only: the part's vector, zero-padded to whole rows.
        digests: ``(L, 32)`` ``uint8``: ``d_j = H(0x00 || column j)`` of the encoded rows.
        encoded: ``(L, R_s)``: column ``j`` of the encoded rows in row ``j``; a read-only memory
            map of :attr:`spill_file` when spilled; ``None`` once closed.
        spill_file: the file holding ``encoded``, or ``None`` (in memory).
        rows_file: the file holding ``rows`` when spilled (a read-only map of it), else
            ``None``; removed with the part.

    A spilled part holds in memory its rows and digests only (:attr:`resident_bytes`); its file
    is removed by :meth:`close` or when the part is garbage collected (or at interpreter exit).

    Pickling: an in-memory part pickles its arrays. A spilled part pickles a reference to a new
    name of its file (a hard link in the same directory, or a copy where links are not
    supported): the copy made by unpickling owns that name and removes it like the original
    removes its own, so a part committed in a worker process can be sent to the parent, which
    maps the same file (same host, or a shared spill directory). A pickle that is never loaded
    leaves its name behind in the spill directory.
    """

    def __init__(self, parts: Parts, index: int, log_blowup: int, log_cols: int, rows: U64,
                 digests: npt.NDArray[np.uint8], encoded: U64 | None,
                 spill_file: str | None = None) -> None:
        self.parts = parts
        self.index = index
        self.log_blowup = log_blowup
        self.log_cols = log_cols
        self.rows = rows
        self.digests = digests
        self._encoded = encoded
        self._pending = None  # a spill file's write still under way (a Future)
        self.spill_file = spill_file
        self.rows_file = None
        self._finalizer = (None if spill_file is None
                           else weakref.finalize(self, _remove_file, spill_file))
        self._closed = False

    @property
    def encoded(self) -> U64 | None:
        """The encoded matrix (waits for its spill file to be written, then maps it)."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None
            if self._encoded is None and self.spill_file is not None and not self._closed:
                self._encoded = np.load(self.spill_file, mmap_mode="r")
                random_access(self._encoded)  # the opening reads a few columns
        return self._encoded

    @encoded.setter
    def encoded(self, value: U64 | None) -> None:
        self._encoded = value

    @property
    def vector(self) -> U64:
        """The part's ``used[index]`` entries (a read-only view of :attr:`rows`)."""
        return self.rows.reshape(-1)[: self.parts.used[self.index]]

    @property
    def num_rows(self) -> int:
        """``R_s``: the rows this part commits."""
        return self.rows.shape[0]

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def resident_bytes(self) -> int:
        """Bytes of the arrays held in memory: rows and digests, plus the encoded matrix unless
        it is spilled."""
        spilled = self.spill_file is not None or self.encoded is None
        rows = 0 if isinstance(self.rows, np.memmap) else self.rows.nbytes
        return rows + self.digests.nbytes + (0 if spilled else self.encoded.nbytes)

    def close(self) -> None:
        """Drop the encoded matrix and remove the spill files (idempotent; mapped rows stay
        readable until they are dropped)."""
        if self._pending is not None:  # let the background write finish before removing
            self._pending.result()
            self._pending = None
        self._closed = True
        self.encoded = None
        if self._finalizer is not None:
            self._finalizer()
        finalizer = getattr(self, "_rows_finalizer", None)
        if finalizer is not None:
            finalizer()

    def __sizeof__(self) -> int:
        # what the part weighs wherever it is held, spill files included (a cluster's
        # scheduler reads this to keep tasks next to their part rather than move it)
        encoded = self._encoded
        size = self.rows.nbytes + self.digests.nbytes
        if encoded is not None:
            size += encoded.nbytes
        elif self.spill_file is not None and not self._closed:
            size += self.digests.shape[0] * self.rows.shape[0] * 8
        return object.__sizeof__(self) + size

    def __getstate__(self) -> dict:
        state = {"parts": self.parts, "index": self.index, "log_blowup": self.log_blowup,
                 "log_cols": self.log_cols, "rows": np.asarray(self.rows),
                 "digests": np.asarray(self.digests), "closed": self._closed,
                 "encoded": None, "spill_file": None}
        if not self._closed:
            if self.spill_file is not None:
                _ = self.encoded  # the file is complete
                state["spill_file"] = _link(self.spill_file)
            else:
                state["encoded"] = self.encoded
        return state

    def __setstate__(self, state: dict) -> None:
        rows = state["rows"]
        rows.setflags(write=False)
        encoded = state["encoded"]
        if encoded is not None:
            encoded.setflags(write=False)
        if state["spill_file"] is not None:
            encoded = np.load(state["spill_file"], mmap_mode="r")
        random_access(encoded)
        self.__init__(state["parts"], state["index"], state["log_blowup"], state["log_cols"],
                      rows, state["digests"], encoded, state["spill_file"])
        self._closed = state["closed"]


class LigeroPartsData(ProverData):
    """Prover-only state of a commitment made of parts (from :func:`join`).

    Attributes:
        parts: the commitment's parts.
        commitment: the public commitment.
        pieces: each part's :class:`LigeroPartData`, in order (closing this data closes them).
        levels: the Merkle tree, leaves first.
    """

    def __init__(self, parts: Parts, commitment: LigeroCommitment,
                 pieces: Sequence[LigeroPartData], levels: list[npt.NDArray[np.uint8]]) -> None:
        self.parts = parts
        self.commitment = commitment
        self.pieces = list(pieces)
        self.levels = levels

    @property
    def layout(self) -> Layout:
        """``parts.layout``."""
        return self.parts.layout

    @property
    def vector(self) -> U64:
        """The concatenated vector ``F`` (``2^n`` entries, zero-padded parts): **built on each
        access** (a copy); prefer :meth:`part`."""
        return self.parts.concatenate([piece.vector for piece in self.pieces])

    def part(self, index: int) -> U64:
        """Part ``index``'s vector: ``used[index]`` entries, read-only, no copy."""
        return self.pieces[self.parts.index(index)].vector

    @property
    def closed(self) -> bool:
        """Whether some part is closed (the data can no longer be opened)."""
        return any(piece.closed for piece in self.pieces)

    def close(self) -> None:
        """Close every part (their spill files are removed)."""
        for piece in self.pieces:
            piece.close()

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)`` (``poly``: a part index, or ``None`` for ``F``).

        A part is ``R_s`` committed rows and zeros; ``F`` is ``sum_s eq(p, s) part_s(q)`` where
        ``p`` is the point's first ``n - m`` coordinates and ``q`` the rest.
        """
        log_cols = self.commitment.log_cols
        pt = ext.as_ext(np.asarray(point, dtype=np.uint64).reshape(-1, 2), "point")
        self.layout.check_claim_shape(poly, pt)
        if poly is not None:
            return _evaluate_rows(self.pieces[int(poly)].rows, pt, log_cols)
        sel = self.layout.total_vars - self.parts.num_vars
        which = fast.eq_table(pt[:sel])[: self.parts.count]
        total = ext.zeros(())
        with np.errstate(over="ignore"):
            for s, piece in enumerate(self.pieces):
                value = _evaluate_rows(piece.rows, np.ascontiguousarray(pt[sel:]), log_cols)
                total = gl.add_unchecked(total, ext.mul_unchecked(which[s], value))
        return total


@functools.lru_cache(maxsize=32)
def _code_tables(log_cols: int, log_blowup: int) -> tuple[U64, U64]:
    """DIF twiddles for size ``C`` and the block shifts ``s_k^i`` (see ``_kernels``)."""
    c = 1 << log_cols
    blowup = 1 << log_blowup
    tw = np.empty(c, dtype=np.uint64)
    PK.twiddle_table(np.uint64(gl.root_of_unity(log_cols)), c, tw)
    w = gl.root_of_unity(log_cols + log_blowup)
    shifts = np.empty((blowup, c), dtype=np.uint64)
    for k, e in enumerate(bitrev(np.arange(blowup), log_blowup)):
        # s_k = w^bitrev_B(k)
        PK.powers(np.uint64(pow(w, int(e), gl.P)), shifts[k])
    tw.setflags(write=False)
    shifts.setflags(write=False)
    return tw, shifts


def encode(rows: U64, log_blowup: int, progress=None) -> U64:
    """Encode every row of ``rows`` (``(R, C)``); returns the ``(L, R)`` transposed codewords.

    ``progress(step, done, total)``, if given, is called as ``("encoding rows", rows encoded,
    R)`` between slices of rows (the result does not depend on it).
    """
    num_rows, c = rows.shape
    tw, shifts = _code_tables(c.bit_length() - 1, log_blowup)
    out = np.empty((c << log_blowup, num_rows), dtype=np.uint64)
    if progress is None:
        K.encode_rows_transposed(np.ascontiguousarray(rows), shifts, tw, out)
        return out
    rows = np.ascontiguousarray(rows)
    step = _slice_rows(num_rows)
    progress("encoding rows", 0, num_rows)
    for r0 in range(0, num_rows, step):
        r1 = min(num_rows, r0 + step)
        K.encode_row_range(rows, r0, r1, shifts, tw, out)
        progress("encoding rows", r1, num_rows)
    return out


def _slice_rows(num_rows: int) -> int:
    """Rows per kernel call when reporting progress: about 24 calls, each a multiple of
    ``ROW_CHUNK`` rows and at least two chunks per thread (so no call runs on one core)."""
    from zkinfer._jit import numba

    least = 2 * K.ROW_CHUNK * max(1, numba.get_num_threads())
    per = -(-num_rows // 24)
    return max(least, -(-per // K.ROW_CHUNK) * K.ROW_CHUNK)


def hash_leaves(encoded: U64, progress=None) -> npt.NDArray[np.uint8]:
    """The Merkle leaves ``H(0x00 || column j)`` of the ``(L, R)`` encoded matrix, in slices of
    columns with ``progress("hashing columns", columns hashed, L)`` between them if given."""
    if progress is None:
        return merkle.hash_columns(encoded)
    length = encoded.shape[0]
    leaves = np.empty((length, merkle.DIGEST_BYTES), dtype=np.uint8)
    step = max(1024, -(-length // 16))
    progress("hashing columns", 0, length)
    for lo in range(0, length, step):
        hi = min(length, lo + step)
        leaves[lo:hi] = merkle.hash_columns(encoded[lo:hi])
        progress("hashing columns", hi, length)
    return leaves


def commit(params: LigeroParams, polys: Sequence[npt.ArrayLike], progress=None
           ) -> tuple[LigeroCommitment, LigeroProverData]:
    """Commit a batch (see :meth:`zkinfer.commit.base.PCS.commit`).

    ``progress(step, done, total)``, if given, reports ``"encoding rows"`` (rows),
    ``"hashing columns"`` (columns) and ``"Merkle tree"`` (layers); the commitment does not
    depend on it.
    """
    layout, tables = Layout.of(polys)
    vector = layout.concatenate(tables)
    num_rows, log_cols = params.shape(layout.used, layout.total_vars)
    # M = the first R C entries of F: rows R.. of the zero padding are not committed
    rows = vector[: num_rows << log_cols].reshape(num_rows, 1 << log_cols)
    # E[j] = column j of Enc(M): Enc applied to each row
    encoded = encode(rows, params.log_blowup, progress)
    # leaf_j = H(0x00 || E[j]); root of the tree over the leaves
    levels = merkle.build(hash_leaves(encoded, progress), progress)
    commitment = LigeroCommitment(layout, params.log_blowup, num_rows, log_cols,
                                  levels[-1][0].tobytes())
    return commitment, LigeroProverData(layout, vector, commitment, encoded, levels)


def commit_part(params: LigeroParams, parts: Parts, index: int, vector: npt.ArrayLike, *,
                spill=None, progress=None) -> LigeroPartData:
    """Commit part ``index`` alone (see :meth:`zkinfer.commit.base.PCS.commit_part`).

    The part's ``R_s`` rows (its vector, zero-padded to whole rows: a copy) are encoded and
    their columns hashed; with ``spill`` the encoded matrix and the rows are written to new
    files in that directory and only mapped read-only afterwards (the peak memory is still one
    part's encoded matrix, while it is made). ``progress`` reports ``"encoding rows"`` and ``"hashing
    columns"``.
    """
    vec = part_vector(parts, index, vector)
    index = int(index)
    rows_per_part, log_cols = params.parts_shape(parts.used, parts.num_vars)
    rows = np.zeros((rows_per_part[index], 1 << log_cols), dtype=np.uint64)
    rows.reshape(-1)[: vec.shape[0]] = vec
    rows.setflags(write=False)
    del vec
    # E[j] = column j of Enc(M_s); d_j = H(0x00 || E[j])
    encoded = encode(rows, params.log_blowup, progress)
    digests = hash_leaves(encoded, progress)
    if spill is None:
        encoded.setflags(write=False)
        return LigeroPartData(parts, index, params.log_blowup, log_cols, rows, digests, encoded)
    # the encoded matrix is written in the background (the next part is encoded meanwhile);
    # the part maps the file when the opening first needs it
    fd, path = tempfile.mkstemp(dir=os.fspath(spill), prefix="zkinfer-part-", suffix=".npy")
    os.close(fd)
    pending = _submit(_write_file, path, encoded)
    del encoded
    rows_path = None
    if rows.nbytes >= ROWS_SPILL_FROM:
        # large rows too: the prover reads one segment's at a time (its pages are mapped back
        # when read and unmapped between segments)
        try:
            rows_path = _spill(spill, rows)
            del rows
            rows = np.load(rows_path, mmap_mode="r")
        except BaseException:
            pending.result()
            _remove_file(path)
            if rows_path is not None:
                _remove_file(rows_path)
            raise
    piece = LigeroPartData(parts, index, params.log_blowup, log_cols, rows, digests, None, path)
    piece._pending = pending
    piece.rows_file = rows_path
    if rows_path is not None:
        piece._rows_finalizer = weakref.finalize(piece, _remove_file, rows_path)
    return piece


#: A spilled part's rows go to a file too from this many bytes (smaller rows stay in memory:
#: writing them costs more time than their memory is worth).
ROWS_SPILL_FROM = 1 << 26
_WRITER: list = []
_WRITER_LOCK = threading.Lock()


def _submit(fn, *args):
    """Run ``fn(*args)`` on the one background thread that writes spill files (started on
    first use, and again after :func:`stop_writer`); returns its Future."""
    with _WRITER_LOCK:
        if not _WRITER:
            from concurrent.futures import ThreadPoolExecutor

            _WRITER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="zkinfer-spill"))
        return _WRITER[0].submit(fn, *args)


def stop_writer() -> None:
    """Let the spill writer's thread end once its queued writes are done (a later spill starts
    a new one). :func:`zkinfer.prove` calls it when it returns, so that the process runs no
    thread of ours afterwards (a verification in the same process may then fork its second
    process: :func:`zkinfer.protocol.engine.parallel_verification_allowed`)."""
    with _WRITER_LOCK:
        executor = _WRITER.pop() if _WRITER else None
    if executor is not None:
        executor.shutdown(wait=True)


def _write_file(path: str, array: U64) -> None:
    """Write ``array`` as ``.npy`` to the (existing, empty) file ``path``.

    The file is opened without creating it: when its part was collected before the write began,
    the part's finalizer has removed the file and it must stay removed (the error then reaches
    nobody, as nothing waits for the write any more).
    """
    with open(path, "r+b") as f:
        np.lib.format.write_array(f, np.ascontiguousarray(array, dtype="<u8"), allow_pickle=False)


def join(params: LigeroParams, parts: Parts, pieces: Sequence[LigeroPartData], progress=None
         ) -> tuple[LigeroCommitment, LigeroPartsData]:
    """Build the commitment from the parts (see :meth:`zkinfer.commit.base.PCS.join`).

    Leaf ``j`` of the tree is ``H(0x02 || d_0j || ... || d_(S-1)j)``. ``progress`` reports
    ``"Merkle tree"``.
    """
    pieces = check_pieces(parts, pieces, LigeroPartData, "Ligero")
    rows_per_part, log_cols = params.parts_shape(parts.used, parts.num_vars)
    length = 1 << (log_cols + params.log_blowup)
    for s, piece in enumerate(pieces):
        if (piece.log_blowup, piece.log_cols) != (params.log_blowup, log_cols) \
                or piece.rows.shape != (rows_per_part[s], 1 << log_cols) \
                or piece.digests.shape != (length, merkle.DIGEST_BYTES) \
                or piece.encoded.shape != (length, rows_per_part[s]):
            raise ValueError(f"piece {s} was committed with other parameters or shape")
    commitment, levels = join_digests(params, parts, [p.digests for p in pieces], progress)
    return commitment, LigeroPartsData(parts, commitment, pieces, levels)


def join_digests(params: LigeroParams, parts: Parts, digests: Sequence[npt.NDArray[np.uint8]],
                 progress=None) -> tuple[LigeroCommitment, list[npt.NDArray[np.uint8]]]:
    """The commitment and its Merkle tree from the parts' column digests alone (what
    :func:`join` does once it has checked the parts; a prover whose parts live elsewhere sends
    only these, ``L x 32`` bytes per part).

    Raises:
        ValueError: a part's digests of another shape than the parameters give.
    """
    rows_per_part, log_cols = params.parts_shape(parts.used, parts.num_vars)
    length = 1 << (log_cols + params.log_blowup)
    if len(digests) != parts.count:
        raise ValueError(f"{len(digests)} parts' digests for {parts.count} parts")
    for s, d in enumerate(digests):
        if not isinstance(d, np.ndarray) or d.dtype != np.uint8 \
                or d.shape != (length, merkle.DIGEST_BYTES):
            raise ValueError(f"part {s}'s digests: {length} x {merkle.DIGEST_BYTES} bytes required")
    levels = merkle.build(merkle.combine_part_leaves(list(digests)), progress)
    commitment = LigeroCommitment(parts.layout, params.log_blowup, sum(rows_per_part), log_cols,
                                  levels[-1][0].tobytes(), parts)
    return commitment, levels


def _combine(rows: U64, coeffs: U64, out: U64, progress=None) -> None:
    """``out = coeffs^T rows``: ``rows`` ``(R', C)``, ``coeffs`` ``(V, R', 2)``, ``out``
    ``(V, C, 2)``; reports ``("combining rows", columns done, C)`` in slices if asked."""
    coeffs = np.ascontiguousarray(coeffs)
    if progress is None:
        K.combine_rows(rows, coeffs, out)
        return
    cols = rows.shape[1]
    step = max(512, -(-cols // 16))
    progress("combining rows", 0, cols)
    for c0 in range(0, cols, step):
        c1 = min(cols, c0 + step)
        K.combine_rows_range(rows, coeffs, c0, c1, out)
        progress("combining rows", c1, cols)


def part_combination(piece: LigeroPartData, coeffs: U64) -> U64:
    """A part's contribution to the row combinations: ``coeffs^T M_s``.

    Arguments:
        piece: the part.
        coeffs: ``(V, R_s, 2)``: the coefficients of its rows (its slice of the committed rows).

    Returns:
        ``(V, C, 2)``; the combinations of the whole matrix are the sum over parts.
    """
    if piece.closed:
        raise ValueError(f"part {piece.index} is closed")
    out = np.empty((coeffs.shape[0], piece.rows.shape[1], 2), dtype=np.uint64)
    _combine(piece.rows, coeffs, out)
    return out


def part_columns(piece: LigeroPartData, indices: Sequence[int]) -> U64:
    """A part's slice of the opened columns: ``(count, R_s)`` (reads only those columns of a
    spilled matrix)."""
    if piece.closed:
        raise ValueError(f"part {piece.index} is closed")
    columns = np.ascontiguousarray(piece.encoded[np.asarray(indices, dtype=np.int64)])
    # a mapped file's page cache may hold large folios: each row read maps up to megabytes
    # into this process; unmap them again (they stay cached)
    drop_pages(piece.encoded)
    return columns


def _combine_parts(data: LigeroPartsData, coeffs: U64, progress=None) -> U64:
    """``coeffs^T M`` for the stacked parts: the sum of :func:`part_combination` over parts
    (each computed where its part is, :meth:`~zkinfer.commit.base.ProverData.map_parts`);
    reports ``("combining rows", parts done, S)`` if asked."""
    rows = data.commitment.part_rows
    starts = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
    count = len(rows)
    if progress is not None:
        progress("combining rows", 0, count)
    shares = data.map_parts(
        part_combination, [(np.ascontiguousarray(coeffs[:, starts[s]: starts[s + 1]]),)
                           for s in range(count)],
        None if progress is None else lambda done: progress("combining rows", done, count))
    out = shares[0]
    for share in shares[1:]:
        out = gl.add_unchecked(out, share)
    return out


def open_claims(params: LigeroParams, data: LigeroProverData | LigeroPartsData,
                claims: Sequence[OpeningClaim], transcript: Transcript, progress=None
                ) -> LigeroProof:
    """Prove ``claims`` (see :meth:`zkinfer.commit.base.PCS.open`).

    ``progress(step, done, total)``, if given, reports ``"combining rows"`` (columns of the
    row combinations done; for parts, rows) and ``"opening columns"`` (grinding, then the
    opened columns); the proof does not depend on it. ``data`` may hold read-only arrays
    (nothing is written to it).
    """
    com = data.commitment
    if com.log_blowup != params.log_blowup:
        raise ValueError("prover data was committed with another rate")
    by_parts = isinstance(data, LigeroPartsData)
    if by_parts and data.closed:
        raise ValueError("prover data whose parts are closed")
    checked = prover_claims(data, claims)
    groups = schedule.group_claims(data.layout, checked, com.log_cols)
    # rho, gamma <- transcript (after commitment and claims)
    rho, gamma = schedule.begin(transcript, com.to_bytes(), checked, com.rows)
    coeffs = np.concatenate([schedule.row_coefficients(groups, rho, com.row_layout),
                             gamma[None]], axis=0)
    # u_g = A_g^T M for each group, w = gamma^T M (of parts: the sum of the parts' shares)
    if by_parts:
        combined = _combine_parts(data, coeffs, progress)
    else:
        rows = data.rows
        combined = np.empty((coeffs.shape[0], rows.shape[1], 2), dtype=np.uint64)
        _combine(rows, coeffs, combined, progress)
    u_rows, w_row = combined[:-1], combined[-1]
    # s = <w, b_0>; beta <- transcript
    s_value = np.array(PK.inner_ext_ext(w_row, fast.eq_table(groups.col_points[0])), dtype=np.uint64)
    beta = schedule.absorb_proximity_value(transcript, s_value)
    # u_0 <- u_0 + beta w = (A_0 + beta gamma)^T M
    with np.errstate(over="ignore"):
        u_rows[0] = gl.add_unchecked(u_rows[0], ext.mul_unchecked(w_row, np.broadcast_to(beta, w_row.shape)))
    schedule.absorb_rows(transcript, u_rows)
    if progress is not None:
        progress("opening columns", 0, 2)
    # grinding: the smallest nonce with PoW(state || g, nonce) < 2^(64 - g); absorb it
    nonce = schedule.find_nonce(schedule.grinding_seed(transcript, params.grinding_bits),
                                params.grinding_bits)
    schedule.absorb_nonce(transcript, nonce)
    if progress is not None:
        progress("opening columns", 1, 2)
    # t column queries; open the distinct ones with a Merkle multi-proof
    indices = schedule.draw_queries(transcript, 1 << com.log_length, params.queries)
    if by_parts:  # each column: the parts' slices, in part order
        columns = np.concatenate(data.map_parts(part_columns, [(indices,)] * data.parts.count),
                                 axis=1)
    else:
        columns = data.encoded[indices]
    siblings = tuple(merkle.open_siblings(data.levels, indices))
    schedule.absorb_opened(transcript, columns, siblings)
    if progress is not None:
        progress("opening columns", 2, 2)
    return LigeroProof(com.rows, com.log_cols, s_value, np.ascontiguousarray(u_rows), nonce,
                       tuple(indices), columns, siblings)
