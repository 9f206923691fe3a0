"""The proving-key directory: :meth:`ProvingKey.save <zkinfer.proof.ProvingKey.save>` writes it,
:meth:`ProvingKey.load <zkinfer.proof.ProvingKey.load>` maps it back without re-committing.

The weight commitment of a proving key is made of parts (:class:`~zkinfer.commit.base.Parts`),
one part per segment of the model (:func:`~zkinfer.protocol.model_circuit.weight_parts`): part
``s`` holds the weight tables of segment ``s``, ``used[s]`` entries.

Format (version 2): a directory holding

=========================  =====================================================================
file                       contents
=========================  =====================================================================
``zkinfer-pk.json``        the manifest: ``{"format": "zkinfer-proving-key", "version": 2,
                           "pcs": scheme name, "vk_digest": hex, "weights": [weight matrix
                           names]}``
``vk.bin``                 the verifying key (:meth:`VerifyingKey.to_bytes
                           <zkinfer.proof.VerifyingKey.to_bytes>`): the public model, the PCS
                           parameters and the weight commitment (which records the parts)
``commitment.bin``         the weight commitment's bytes (equal to the key's)
``weights/NNN.npy``        the model's weight matrices (``int64``), in the order of
                           :func:`~zkinfer.protocol.model_circuit.weight_matrices` (the names in
                           the manifest); with the public model of ``vk.bin`` they are the
                           integer model
``parts/NNN.rows.npy``     part ``NNN`` (``s``): Ligero: its committed rows ``M_s``,
                           ``(R_s, C)`` ``uint64`` (its ``used[s]`` entries, then zeros to
                           whole rows); ``TrivialPCS``: its vector, ``(used[s],)`` ``uint64``
``parts/NNN.encoded.npy``  Ligero: part ``s``'s encoded rows, ``(L, R_s)`` ``uint64`` (column
                           ``j`` of the encoding is row ``j``)
``tree.npy``               Ligero: the Merkle tree over the joint leaves, ``(2L - 1, 32)``
                           ``uint8``: the ``L`` leaves, then each level up to the root
=========================  =====================================================================

Version 1 (one plain commitment of all the weights: ``vector.npy``, ``encoded.npy``) is no
longer read: such a directory is refused as of an unsupported version (set the key up again).

Arrays are plain ``.npy`` files (never pickles). Loading checks each header (dtype, C order,
shape and file size exactly as the verifying key and commitment imply) *before* it maps the
file read-only (``np.load(mmap_mode="r")``), so nothing is copied into memory: the loaded
prover data is a :class:`~zkinfer.commit.ligero.prover.LigeroPartsData` whose parts' rows and
encoded matrices are those maps (the weight tables are views into the rows, the model's
weights maps of ``weights/``); only the parts' column digests (``32 L`` bytes a part,
8 MB for MiniLM's, recomputed by the check) live in the process's own memory. For
``TrivialPCS`` it is a :class:`~zkinfer.commit.trivial.TrivialPartsData` over the mapped
vectors.

Integrity (what :func:`load` guarantees)
----------------------------------------
Loading accepts the directory only if, in this order:

1. the manifest has this format and version, ``vk.bin`` decodes strictly, its digest is the
   manifest's ``vk_digest`` and (when given) ``expected_digest``, and ``commitment.bin`` is the
   key's weight commitment, byte for byte;
2. the commitment is made of parts, exactly those of the public model's weights
   (``weight_parts(model).shape``: their number and every ``used[s]``);
3. every level of ``tree.npy`` is the hash of the level below and its top is the commitment's
   root (so the leaves are the committed ones, by collision resistance of SHA-256);
4. every part's encoded columns hash to digests ``d_sj = H(0x00 || column j of part s)``
   whose combination ``H(0x02 || d_0j || ... || d_(S-1)j)`` is leaf ``j`` of the tree (so
   every part's encoded matrix is the committed one);
5. for every part, the entries of ``parts/NNN.rows.npy`` are canonical and zero from
   ``used[s]`` on, and ``parts/NNN.encoded.npy`` is the row encoding of them: checked at once
   with a private random combination ``gamma`` in ``F_p2^(R_s)``, ``gamma^T E_s ==
   Enc(gamma^T M_s)`` at all ``L`` positions (a wrong column passes with probability at most
   ``1 / p^2 < 2^-127``), so the rows are the committed ones;
6. every weight matrix is the real part of its block in its part (exact comparison, through
   ``weight_parts(model).views`` of the loaded data).

So after a successful load the prover data is *exactly* what the verifying key commits to
(except with probability ``2^-127`` per part, or a SHA-256 collision) and the model's weights
are the committed ones: a corrupted, truncated or swapped file raises
:class:`ProvingKeyError`, naming the file, instead of giving proofs that fail to verify. (Step
4 checks the parts' columns jointly; when it fails, the loader finds the part to name by step
5's check of every part, then by comparing each part with ``weights/``.) The checks read every
stored byte once: SHA-256 of the encoded matrices (most of the time), one linear pass over them
and the rows (Numba), the tree's ``L`` node hashes and ``L`` leaf combinations. For MiniLM
(seven parts, ``L = 2^18``; 1.6 GB of files) that is 6-10 s, three quarters of it hashing
columns, against 19-31 s for re-committing (:func:`zkinfer.prover.setup`, which also
re-encodes every row), measured on a busy 2-core machine with the files in the page cache; the
pages then stay there. For ``TrivialPCS`` steps 3-5 are replaced by recomputing its
commitment digest over the parts' vectors.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np

from zkinfer._memory import drop_pages
from zkinfer.errors import ProofFormatError

__all__ = ["ProvingKeyError", "FORMAT", "VERSION", "save", "load"]

FORMAT = "zkinfer-proving-key"
VERSION = 2
MANIFEST = "zkinfer-pk.json"
_MAX_MANIFEST = 1 << 20
_MAX_VK = 1 << 28
_CHUNK = 1 << 24  # elements per slice of the checks (128 MB of uint64)


class ProvingKeyError(ProofFormatError):
    """A proving-key directory that is malformed, of another format version, or not what its
    verifying key commits to (the message names the file)."""

    def __init__(self, message: str) -> None:
        line = " ".join(str(message).split())
        super().__init__(line if len(line) < 300 else line[:296] + "...")


def _rows_name(s: int) -> str:
    return f"parts/{s:03d}.rows.npy"


def _encoded_name(s: int) -> str:
    return f"parts/{s:03d}.encoded.npy"


def _weight_name(k: int) -> str:
    return f"weights/{k:03d}.npy"


# ---------------------------------------------------------------------------------------------
# saving


def _weights_of(model) -> dict[str, np.ndarray]:
    from zkinfer.protocol.model_circuit import weight_matrices

    return weight_matrices(model)


def _write(file: Path, array, dtype: str) -> None:
    """``np.save`` without a copy when ``array`` is already contiguous of ``dtype`` (a memory
    map is written from its pages)."""
    np.save(file, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)


def save(pk, path, *, overwrite: bool = False) -> Path:
    """Write ``pk`` as a proving-key directory at ``path`` (see the module docstring).

    The directory is written beside ``path`` under a temporary name and renamed into place, so
    a reader never sees a half-written key.

    Arguments:
        pk: a :class:`~zkinfer.proof.ProvingKey` (from :func:`zkinfer.prover.setup` or
            :func:`load`).
        path: the directory to create.
        overwrite: replace an existing proving-key directory at ``path`` (anything else
            there is never replaced).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ProvingKeyError: ``path`` exists (and ``overwrite`` is not set or it is not a proving
            key), or the key's prover data cannot be saved (not a commitment made of parts of
            a known scheme, or its parts are closed).
        OSError: the file system refused.
    """
    from zkinfer.commit.ligero.prover import LigeroPartsData
    from zkinfer.commit.trivial import TrivialPartsData

    path = Path(path)
    data = pk.weight_data
    if not isinstance(data, (LigeroPartsData, TrivialPartsData)):
        raise ProvingKeyError(f"cannot save prover data of type {type(data).__name__} (a "
                              "weight commitment made of parts is required)")
    if any(piece.closed for piece in data.pieces):
        raise ProvingKeyError("cannot save prover data whose parts are closed")
    if path.exists() and not (overwrite and (path / MANIFEST).is_file()):
        raise ProvingKeyError(f"{path} exists" + ("" if overwrite else
                                                  " (pass overwrite=True to replace a key)"))
    weights = _weights_of(pk.model)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "weights").mkdir(parents=True)
    (tmp / "parts").mkdir()
    try:
        manifest = {"format": FORMAT, "version": VERSION, "pcs": pk.pcs.name,
                    "vk_digest": pk.vk.digest.hex(), "weights": list(weights)}
        (tmp / "vk.bin").write_bytes(pk.vk.to_bytes())
        (tmp / "commitment.bin").write_bytes(pk.weight_commitment.to_bytes())
        for k, w in enumerate(weights.values()):
            _write(tmp / _weight_name(k), w, "<i8")
        for s, piece in enumerate(data.pieces):
            if isinstance(data, LigeroPartsData):
                _write(tmp / _rows_name(s), piece.rows, "<u8")
                _write(tmp / _encoded_name(s), piece.encoded, "<u8")
            else:
                _write(tmp / _rows_name(s), piece.values, "<u8")
        if isinstance(data, LigeroPartsData):
            _write(tmp / "tree.npy", np.concatenate([np.asarray(x, dtype=np.uint8)
                                                     for x in data.levels]), "|u1")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if path.exists():  # overwrite an existing key: move it aside first
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# ---------------------------------------------------------------------------------------------
# loading


def _read_manifest(path: Path) -> dict:
    file = path / MANIFEST
    if not path.is_dir() or not file.is_file():
        raise ProvingKeyError(f"not a zkinfer proving key: {path} is not a directory with "
                              f"{MANIFEST}")
    if file.stat().st_size > _MAX_MANIFEST:
        raise ProvingKeyError(f"{MANIFEST}: larger than {_MAX_MANIFEST} bytes")
    try:
        manifest = json.loads(file.read_bytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProvingKeyError(f"{MANIFEST}: not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ProvingKeyError(f"not a zkinfer proving key: {MANIFEST} does not name the "
                              f"format {FORMAT!r}")
    version = manifest.get("version")
    if version != VERSION:
        raise ProvingKeyError(f"unsupported proving-key format version {version!r} (this "
                              f"zkinfer reads version {VERSION})")
    want = {"format": str, "version": int, "pcs": str, "vk_digest": str, "weights": list}
    if set(manifest) != set(want) or any(type(manifest[k]) is not t for k, t in want.items()):
        raise ProvingKeyError(f"{MANIFEST}: fields must be exactly {sorted(want)} with their "
                              "types")
    if not all(type(n) is str for n in manifest["weights"]):
        raise ProvingKeyError(f"{MANIFEST}: weights must be a list of names")
    return manifest


def _read_vk(path: Path, manifest: dict, expected_digest):
    from zkinfer.proof import VerifyingKey

    file = path / "vk.bin"
    if not file.is_file():
        raise ProvingKeyError("vk.bin: missing")
    if file.stat().st_size > _MAX_VK:
        raise ProvingKeyError(f"vk.bin: larger than {_MAX_VK} bytes")
    try:
        vk = VerifyingKey.from_bytes(file.read_bytes())
    except ProofFormatError as exc:
        raise ProvingKeyError(f"vk.bin: {exc}") from None
    digest = vk.digest
    if digest.hex() != manifest["vk_digest"]:
        raise ProvingKeyError(f"vk.bin: its digest {digest.hex()[:16]}... is not the manifest's "
                              f"vk_digest {manifest['vk_digest'][:16]}...")
    if expected_digest is not None:
        expected = _digest_argument(expected_digest)
        if digest != expected:
            raise ProvingKeyError(f"verifying key digest {digest.hex()[:16]}... differs from "
                                  f"the expected {expected.hex()[:16]}...")
    return vk


def _digest_argument(value) -> bytes:
    """``expected_digest`` as 32 bytes (given as bytes or 64 hex digits)."""
    from zkinfer.errors import InvalidArgumentError

    if isinstance(value, str):
        try:
            value = bytes.fromhex(value)
        except ValueError:
            value = b""
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise InvalidArgumentError("expected_digest must be the verifying key's 32-byte digest "
                                   "(bytes, or 64 hex digits), e.g. vk.digest")
    return bytes(value)


def _open_array(path: Path, name: str, dtype: str, shape: tuple[int, ...]) -> np.memmap:
    """Check ``name``'s ``.npy`` header and size, then map it read-only."""
    file = path / name
    if not file.is_file():
        raise ProvingKeyError(f"{name}: missing")
    want = np.dtype(dtype)
    try:
        with open(file, "rb") as f:
            major, minor = np.lib.format.read_magic(f)
            if (major, minor) == (1, 0):
                got_shape, fortran, got_dtype = np.lib.format.read_array_header_1_0(f)
            elif (major, minor) == (2, 0):
                got_shape, fortran, got_dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"npy version {major}.{minor}")
            offset = f.tell()
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise ProvingKeyError(f"{name}: not a valid .npy file ({exc})") from None
    if got_dtype != want or got_dtype.hasobject or fortran:
        raise ProvingKeyError(f"{name}: dtype {got_dtype}{' (Fortran order)' if fortran else ''},"
                              f" expected {want} in C order")
    if tuple(got_shape) != tuple(shape):
        raise ProvingKeyError(f"{name}: shape {tuple(got_shape)}, expected {tuple(shape)}")
    size = offset + want.itemsize * math.prod(shape)
    actual = file.stat().st_size
    if actual != size:
        raise ProvingKeyError(f"{name}: {'truncated' if actual < size else 'trailing bytes'}: "
                              f"{actual} bytes, expected {size}")
    arr = np.load(file, mmap_mode="r", allow_pickle=False)
    if not isinstance(arr, np.memmap) or arr.dtype != want or arr.shape != tuple(shape):
        raise ProvingKeyError(f"{name}: could not be memory-mapped as {want} {tuple(shape)}")
    return arr


def _with_weights(public, weights: dict[str, np.ndarray]):
    """The public model with its shape-only weight placeholders replaced by ``weights``."""
    placeholders = _weights_of(public)
    by_id = {id(placeholders[name]): arr for name, arr in weights.items()}

    def fill(v):
        if isinstance(v, np.ndarray):
            return by_id.get(id(v), v)
        if isinstance(v, tuple):
            items = tuple(fill(x) for x in v)
            return items if any(a is not b for a, b in zip(items, v)) else v
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            changes = {}
            for f in dataclasses.fields(v):
                old = getattr(v, f.name)
                new = fill(old)
                if new is not old:
                    changes[f.name] = new
            return dataclasses.replace(v, **changes) if changes else v
        return v

    model = fill(public)
    if any(_weights_of(model)[name] is not arr for name, arr in weights.items()):
        raise ProvingKeyError("vk.bin: the model's weight matrices could not be placed")
    return model


def _random_ext(count: int) -> np.ndarray:
    """``count`` uniform extension elements from the OS's randomness (private to the loader)."""
    from zkinfer.field import goldilocks as gl

    out = np.empty((count, 2), dtype=np.uint64)
    filled = 0
    flat = out.reshape(-1)
    while filled < flat.shape[0]:
        draw = np.frombuffer(os.urandom(8 * (flat.shape[0] - filled + 8)), dtype="<u8")
        draw = draw[draw < np.uint64(gl.P)]  # rejection sampling: exactly uniform
        take = min(draw.shape[0], flat.shape[0] - filled)
        flat[filled: filled + take] = draw[:take]
        filled += take
    return out


@functools.cache
def _matches():
    """A Numba kernel: ``matches(w, block)`` is true iff ``block[i, j] == w[i, j] mod p`` for
    every entry of the ``int64`` matrix ``w`` (``block`` its padded ``uint64`` rows). For
    ``w < 0``, ``w mod p = 2^64 + w - (2^32 - 1)`` (in ``uint64``); ``0 <= w < 2^63 < p``
    stays."""
    from zkinfer._jit import numba

    @numba.njit(cache=True, nogil=True)
    def matches(w, block):
        eps = np.uint64(0xFFFFFFFF)
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                x = w[i, j]
                want = np.uint64(x) - eps if x < 0 else np.uint64(x)
                if block[i, j] != want:
                    return False
        return True

    return matches


def _report(progress, step: str, done: int, total: int) -> None:
    if progress is not None:
        progress(f"loading the proving key: {step}", done, total)


class _Key:
    """What :func:`load` has opened: the split of the weights into parts, the weight arrays
    (mapped) and their columns, by name."""

    def __init__(self, split, columns: dict, weights: dict[str, np.ndarray]) -> None:
        self.split = split
        self.columns = columns
        self.weights = weights
        self.number = {name: k for k, name in enumerate(weights)}

    def first_mismatch(self, tables: dict[str, np.ndarray]) -> str | None:
        """The first weight (in commitment order) whose matrix is not the real part of its
        table in ``tables``, or ``None``."""
        for name, table in tables.items():
            block = table.reshape(self.columns[name].padded_shape)
            w = self.weights[name]
            step = max(1, _CHUNK // max(1, w.shape[1]))
            for lo in range(0, w.shape[0], step):
                hi = min(w.shape[0], lo + step)
                if not _matches()(np.asarray(w[lo:hi]), np.asarray(block[lo:hi])):
                    return name
        return None

    def part_agrees(self, s: int, vector: np.ndarray) -> bool:
        """Whether part ``s``'s vector holds the weights of ``weights/`` (diagnosis only)."""
        return self.first_mismatch(self.split.part_views(s, vector)) is None


def _whose(key: _Key, vectors, name, what: str) -> str:
    """The message of a joint check that failed (a Merkle leaf, the trivial digest): the first
    part whose vector disagrees with ``weights/`` is named, else every part."""
    for s, vector in enumerate(vectors):
        if not key.part_agrees(s, vector):
            return (f"{name(s)}: not the committed part ({what}; this part is not the weights "
                    f"of weights/, a part of another key?)")
    return f"parts/*: not the committed parts ({what})"


def _encodes(rows: np.ndarray, encoded: np.ndarray, log_blowup: int) -> bool:
    """Step 5's random combination: ``gamma^T E == Enc(gamma^T M)`` for a fresh private
    ``gamma``."""
    from zkinfer.commit.ligero import _kernels as K
    from zkinfer.commit.ligero import prover as LP

    num_rows, cols = rows.shape
    gamma = np.ascontiguousarray(_random_ext(num_rows)[None])
    u = np.empty((1, cols, 2), dtype=np.uint64)
    K.combine_rows(rows, gamma, u)  # gamma^T M
    combined = np.empty((1, encoded.shape[0], 2), dtype=np.uint64)
    K.rows_times_ext(encoded, gamma, combined)  # gamma^T E
    enc = LP.encode(np.ascontiguousarray(u[0].T), log_blowup)  # (L, 2): Enc(u0), Enc(u1)
    return np.array_equal(enc, combined[0])


def _check_rows(s: int, rows: np.ndarray, used: int) -> None:
    """Step 5's entry checks of part ``s``: canonical, and zero from ``used`` on."""
    from zkinfer.field import goldilocks as gl

    flat = rows.reshape(-1)
    p = np.uint64(gl.P)
    for lo in range(0, used, _CHUNK):
        if (flat[lo: min(used, lo + _CHUNK)] >= p).any():
            raise ProvingKeyError(f"{_rows_name(s)}: an entry is not a canonical field element")
    if flat[used:].any():
        raise ProvingKeyError(f"{_rows_name(s)}: non-zero entries after the part's {used} "
                              "used entries")


def _load_ligero(path: Path, pcs, com, key: _Key, progress):
    """Steps 3-5 of the module docstring; returns the prover data."""
    from zkinfer.commit.ligero import merkle
    from zkinfer.commit.ligero.prover import LigeroPartData, LigeroPartsData

    parts = com.parts
    if com.log_blowup != pcs.params.log_blowup:
        raise ProvingKeyError("commitment.bin: committed with another code rate than the key's")
    cols, length = 1 << com.log_cols, 1 << com.log_length
    part_rows = com.part_rows
    rows = [_open_array(path, _rows_name(s), "<u8", (r, cols)) for s, r in enumerate(part_rows)]
    encoded = [_open_array(path, _encoded_name(s), "<u8", (length, r))
               for s, r in enumerate(part_rows)]
    tree = _open_array(path, "tree.npy", "|u1", (2 * length - 1, merkle.DIGEST_BYTES))
    # 3. every level is the hash of the one below, up to the committed root
    levels, start = [], 0
    for k in range(com.log_length + 1):
        size = length >> k
        levels.append(tree[start: start + size])
        start += size
    _report(progress, "checking the Merkle tree", 0, 1)
    bad = merkle.check_levels(levels)
    if bad is not None:
        raise ProvingKeyError(f"tree.npy: Merkle level {bad} is not the hash of the level below")
    if levels[-1][0].tobytes() != com.root:
        raise ProvingKeyError("tree.npy: its root is not the commitment's root")
    _report(progress, "checking the Merkle tree", 1, 1)
    # 4. d_sj = H(0x00 || column j of part s); H(0x02 || d_0j || ... || d_(S-1)j) = leaf j
    digests = [np.empty((length, merkle.DIGEST_BYTES), dtype=np.uint8) for _ in rows]
    step = max(1024, -(-length // 16))
    for lo in range(0, length, step):
        _report(progress, "hashing columns", lo, length)
        hi = min(length, lo + step)
        for d, e in zip(digests, encoded):
            d[lo:hi] = merkle.hash_columns(e[lo:hi])
        got = merkle.combine_part_leaves([d[lo:hi] for d in digests])
        if not np.array_equal(got, levels[0][lo:hi]):
            j = lo + int(np.argmax(np.any(got != levels[0][lo:hi], axis=1)))
            what = f"leaf {j} of tree.npy is not the combination of the parts' column {j}"
            # name the part: one whose encoded matrix does not encode its rows, else one
            # whose rows are not the weights
            for s in range(parts.count):
                if not _encodes(rows[s], encoded[s], com.log_blowup):
                    raise ProvingKeyError(f"{_encoded_name(s)}: not the committed matrix "
                                          f"({what})")
            raise ProvingKeyError(_whose(key, [r.reshape(-1)[:u] for r, u in
                                               zip(rows, parts.used)], _encoded_name, what))
    _report(progress, "hashing columns", length, length)
    # 5. canonical rows, zero from used[s] on, and E_s == Enc(M_s), by one random combination
    for s in range(parts.count):
        _report(progress, "checking the encoding", s, parts.count)
        _check_rows(s, rows[s], parts.used[s])
        if not _encodes(rows[s], encoded[s], com.log_blowup):
            raise ProvingKeyError(f"{_rows_name(s)}: not the rows {_encoded_name(s)} encodes")
    _report(progress, "checking the encoding", parts.count, parts.count)
    for matrix in encoded:
        # the checks read every page; a proof reads a few columns: unmap them (they stay in the
        # page cache) and turn read-ahead off, so the process's resident set stays small
        drop_pages(matrix)
    pieces = [LigeroPartData(parts, s, com.log_blowup, com.log_cols, rows[s], digests[s],
                             encoded[s], spill_file=None) for s in range(parts.count)]
    return LigeroPartsData(parts, com, pieces, levels)


def _load_trivial(path: Path, com, key: _Key, progress):
    """The ``TrivialPCS`` checks (in place of steps 3-5): the commitment's digest over the
    parts' vectors; returns the prover data."""
    from zkinfer.commit.trivial import (
        TrivialPartData,
        TrivialPartsData,
        _part_digest,
        _parts_digest,
    )

    parts = com.parts
    vectors = [_open_array(path, _rows_name(s), "<u8", (u,)) for s, u in enumerate(parts.used)]
    digests = []
    for s, v in enumerate(vectors):
        _report(progress, "checking the commitment", s, parts.count)
        digests.append(_part_digest(v))
    if _parts_digest(parts, digests) != com.digest:
        raise ProvingKeyError(_whose(key, vectors, _rows_name,
                                     "the commitment's digest is not that of the parts"))
    _report(progress, "checking the commitment", parts.count, parts.count)
    return TrivialPartsData(parts, [TrivialPartData(parts, s, v, d) for s, (v, d) in
                                    enumerate(zip(vectors, digests))], com)


def load(path, *, expected_digest=None, progress=None):
    """Map a proving-key directory written by :func:`save` and check it against its key.

    Arguments:
        path: the directory.
        expected_digest: the verifying key's digest (``bytes`` or hex ``str``) the key must
            have, e.g. that of the ``vk.bin`` the verifier holds; ``None`` accepts the key the
            directory holds (still checked for integrity against it).
        progress: an optional ``progress(stage, done, total)`` callable: the stages are
            ``"loading the proving key: <step>"``, the steps ``checking the Merkle tree``,
            ``hashing columns``, ``checking the encoding`` (parts) and ``checking the
            weights`` (``TrivialPCS``: ``checking the commitment``, then the weights).

    Returns:
        The :class:`~zkinfer.proof.ProvingKey`: its weight matrices, its parts' rows and
        encoded matrices and its Merkle tree are read-only ``np.memmap`` arrays of the files
        (its prover data a :class:`~zkinfer.commit.ligero.prover.LigeroPartsData` or
        :class:`~zkinfer.commit.trivial.TrivialPartsData`, its weight tables views into the
        parts).

    Raises:
        ProvingKeyError: the directory is not a proving key, of another version, malformed,
            or fails a check of the module docstring (the message names the file).
        InvalidArgumentError: ``expected_digest`` is not 32 bytes or 64 hex digits.
    """
    from zkinfer.commit import pcs_from_params
    from zkinfer.commit.trivial import TrivialCommitment
    from zkinfer.model.intmodel import validate
    from zkinfer.proof import ProvingKey
    from zkinfer.protocol.model_circuit import weight_columns, weight_matrices, weight_parts

    path = Path(path)
    if expected_digest is not None:
        _digest_argument(expected_digest)
    # 1. manifest, verifying key, commitment
    manifest = _read_manifest(path)
    vk = _read_vk(path, manifest, expected_digest)
    com_file = path / "commitment.bin"
    if not com_file.is_file() or com_file.stat().st_size > 1 << 20 \
            or com_file.read_bytes() != vk.weight_commitment:
        raise ProvingKeyError("commitment.bin: not the verifying key's weight commitment")
    pcs = pcs_from_params(vk.pcs_params)  # checked by VerifyingKey.from_bytes
    if manifest["pcs"] != pcs.name:
        raise ProvingKeyError(f"{MANIFEST}: scheme {manifest['pcs']!r}, the key's is {pcs.name!r}")
    com = pcs.decode_commitment(vk.weight_commitment)
    public = vk.model()
    shapes = {name: np.shape(w) for name, w in weight_matrices(public).items()}
    if manifest["weights"] != list(shapes):
        raise ProvingKeyError(f"{MANIFEST}: the weight names are not the model's")
    # 2. the commitment's parts are those of the model's weights
    split = weight_parts(public)
    if com.parts is None:
        raise ProvingKeyError("commitment.bin: a plain commitment, not one made of parts (a "
                              "key of this format commits the weights one part per segment)")
    if com.parts != split.shape:
        raise ProvingKeyError(f"commitment.bin: parts {com.parts.count} of used "
                              f"{list(com.parts.used)} and 2^{com.parts.num_vars} entries, the "
                              f"model's weights make {split.shape.count} of "
                              f"{list(split.shape.used)} and 2^{split.shape.num_vars}")
    weights = {name: _open_array(path, _weight_name(k), "<i8", shape)
               for k, (name, shape) in enumerate(shapes.items())}
    key = _Key(split, weight_columns(public), weights)
    # 3-5. the parts are the committed ones
    if isinstance(com, TrivialCommitment):
        data = _load_trivial(path, com, key, progress)
    else:
        data = _load_ligero(path, pcs, com, key, progress)
    # 6. every weight matrix is the real part of its block in its part
    views = split.views(data)
    names = list(views)
    for i, name in enumerate(names):
        _report(progress, "checking the weights", i, len(names))
        if key.first_mismatch({name: views[name]}) is not None:
            raise ProvingKeyError(f"{_weight_name(key.number[name])} ({name}): not the committed "
                                  "weights")
    _report(progress, "checking the weights", len(names), len(names))
    model = _with_weights(public, weights)
    try:
        validate(model, complete=True)
    except ProofFormatError:
        raise
    except ValueError as exc:  # ModelError: e.g. a weight outside its declared width
        raise ProvingKeyError(f"weights: the model is invalid ({exc})") from None
    return ProvingKey(model, pcs, vk, com, data, views)
