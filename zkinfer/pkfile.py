"""The proving-key directory: :meth:`ProvingKey.save <zkinfer.proof.ProvingKey.save>` writes it,
:meth:`ProvingKey.load <zkinfer.proof.ProvingKey.load>` maps it back without re-committing.

Format (version 1): a directory holding

=====================  =========================================================================
file                   contents
=====================  =========================================================================
``zkinfer-pk.json``    the manifest: ``{"format": "zkinfer-proving-key", "version": 1, "pcs":
                       scheme name, "vk_digest": hex, "weights": [weight matrix names]}``
``vk.bin``             the verifying key (:meth:`VerifyingKey.to_bytes
                       <zkinfer.proof.VerifyingKey.to_bytes>`): the public model, the PCS
                       parameters and the weight commitment
``commitment.bin``     the weight commitment's bytes (equal to the key's)
``weights/NNN.npy``    the model's weight matrices (``int64``), in the order of
                       :func:`~zkinfer.protocol.model_circuit.weight_matrices` (the names in the
                       manifest); with the public model of ``vk.bin`` they are the integer model
``vector.npy``         the committed vector ``F`` (``uint64``, ``2^n`` entries; the zero tail
                       after the committed rows is left as a hole of a sparse file)
``encoded.npy``        Ligero: the encoded matrix, ``(L, R)`` ``uint64`` (column ``j`` is row
                       ``j``)
``tree.npy``           Ligero: the Merkle tree, ``(2L - 1, 32)`` ``uint8``: the ``L`` leaves,
                       then each level up to the root
=====================  =========================================================================

Arrays are plain ``.npy`` files (never pickles). Loading checks each header (dtype, C order,
shape and file size exactly as the verifying key and commitment imply) *before* it maps the
file read-only (``np.load(mmap_mode="r")``), so nothing is copied into memory.

Integrity (what :func:`load` guarantees)
----------------------------------------
Loading accepts the directory only if, in this order:

1. the manifest has this format and version, ``vk.bin`` decodes strictly, its digest is the
   manifest's ``vk_digest`` and (when given) ``expected_digest``, and ``commitment.bin`` is the
   key's weight commitment, byte for byte;
2. every level of ``tree.npy`` is the hash of the level below and its top is the commitment's
   root (so the leaves are the committed ones, by collision resistance of SHA-256);
3. every column of ``encoded.npy`` hashes to its leaf (so the encoded matrix is the committed
   one);
4. ``encoded.npy`` is the row encoding of ``vector.npy``'s committed rows, and the rest of the
   vector is zero: checked at once with a private random combination ``gamma`` in
   ``F_p2^R``, ``gamma^T E == Enc(gamma^T M)`` at all ``L`` positions (a wrong column passes
   with probability at most ``1 / p^2 < 2^-127``), so the vector is the committed one;
5. every weight matrix is the real part of its block of that vector (exact comparison).

So after a successful load the prover data is *exactly* what the verifying key commits to
(except with probability ``2^-127``, or a SHA-256 collision) and the model's weights are the
committed ones: a corrupted, truncated or swapped file raises :class:`ProvingKeyError`, naming
the file, instead of giving proofs that fail to verify. The checks read every stored byte
once: SHA-256 of the encoded matrix (about half of the time), one linear pass over it and the
vector (Numba), the tree's ``L`` node hashes. For MiniLM (1.7 GB of files, 1.6 GB on disk)
that is 3-6 s against 11-19 s for re-committing (:func:`zkinfer.prover.setup`, which also
re-encodes every row), measured on the loaded 2-core reference machine; the pages then stay in
the page cache. For ``TrivialPCS`` steps 2-4 are replaced by recomputing its commitment
digest over the vector.
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

from zkinfer.errors import ProofFormatError

__all__ = ["ProvingKeyError", "FORMAT", "VERSION", "save", "load"]

FORMAT = "zkinfer-proving-key"
VERSION = 1
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


# ---------------------------------------------------------------------------------------------
# saving


def _weights_of(model) -> dict[str, np.ndarray]:
    from zkinfer.protocol.model_circuit import weight_matrices

    return weight_matrices(model)


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
            key), or the key's scheme cannot be saved.
        OSError: the file system refused.
    """
    from zkinfer.commit.ligero.prover import LigeroProverData
    from zkinfer.commit.trivial import TrivialProverData

    path = Path(path)
    data = pk.weight_data
    if not isinstance(data, (LigeroProverData, TrivialProverData)):
        raise ProvingKeyError(f"cannot save prover data of type {type(data).__name__}")
    if path.exists() and not (overwrite and (path / MANIFEST).is_file()):
        raise ProvingKeyError(f"{path} exists" + ("" if overwrite else
                                                  " (pass overwrite=True to replace a key)"))
    weights = _weights_of(pk.model)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "weights").mkdir(parents=True)
    try:
        manifest = {"format": FORMAT, "version": VERSION, "pcs": pk.pcs.name,
                    "vk_digest": pk.vk.digest.hex(), "weights": list(weights)}
        (tmp / "vk.bin").write_bytes(pk.vk.to_bytes())
        (tmp / "commitment.bin").write_bytes(pk.weight_commitment.to_bytes())
        for k, w in enumerate(weights.values()):
            np.save(tmp / "weights" / f"{k:03d}.npy", np.ascontiguousarray(w, dtype="<i8"),
                    allow_pickle=False)
        used = data.layout.size
        if isinstance(data, LigeroProverData):
            com = data.commitment
            used = com.rows << com.log_cols
            np.save(tmp / "encoded.npy", np.ascontiguousarray(data.encoded, dtype="<u8"),
                    allow_pickle=False)
            np.save(tmp / "tree.npy", np.concatenate([np.asarray(x, dtype=np.uint8)
                                                      for x in data.levels]),
                    allow_pickle=False)
        # the vector's zero tail (after the committed rows) stays a hole of a sparse file
        out = np.lib.format.open_memmap(tmp / "vector.npy", mode="w+", dtype="<u8",
                                        shape=(data.layout.size,))
        for lo in range(0, used, _CHUNK):
            out[lo: min(used, lo + _CHUNK)] = data.vector[lo: min(used, lo + _CHUNK)]
        out.flush()
        del out
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


def _check_ligero(data_dir: Path, pcs, com, vector: np.ndarray, progress) -> tuple:
    """Steps 2-4 of the module docstring; returns ``(encoded, levels)``."""
    from zkinfer.commit.ligero import _kernels as K
    from zkinfer.commit.ligero import merkle
    from zkinfer.commit.ligero import prover as LP

    rows, cols, length = com.rows, 1 << com.log_cols, 1 << com.log_length
    if com.log_blowup != pcs.params.log_blowup:
        raise ProvingKeyError("commitment.bin: committed with another code rate than the key's")
    tree = _open_array(data_dir, "tree.npy", "|u1", (2 * length - 1, merkle.DIGEST_BYTES))
    encoded = _open_array(data_dir, "encoded.npy", "<u8", (length, rows))
    # 2. every level is the hash of the one below, up to the committed root
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
    # 3. every column of the encoded matrix hashes to its leaf
    step = max(1024, -(-length // 16))
    for lo in range(0, length, step):
        _report(progress, "hashing columns", lo, length)
        hi = min(length, lo + step)
        got = merkle.hash_columns(encoded[lo:hi])
        if not np.array_equal(got, levels[0][lo:hi]):
            j = lo + int(np.argmax(np.any(got != levels[0][lo:hi], axis=1)))
            raise ProvingKeyError(f"encoded.npy: column {j} does not hash to its Merkle leaf")
    _report(progress, "hashing columns", length, length)
    # 4. E == Enc(M) and F = 0 after the committed rows, by one random combination
    _report(progress, "checking the encoding", 0, 3)
    tail = vector[rows * cols:]
    for lo in range(0, tail.shape[0], _CHUNK):
        if tail[lo: lo + _CHUNK].any():
            raise ProvingKeyError("vector.npy: non-zero entries after the committed rows")
    gamma = _random_ext(rows)
    matrix = vector[: rows * cols].reshape(rows, cols)
    u = np.empty((1, cols, 2), dtype=np.uint64)
    K.combine_rows(matrix, gamma[None], u)  # gamma^T M
    _report(progress, "checking the encoding", 1, 3)
    combined = np.empty((1, length, 2), dtype=np.uint64)
    K.rows_times_ext(encoded, np.ascontiguousarray(gamma[None]), combined)  # gamma^T E
    _report(progress, "checking the encoding", 2, 3)
    enc = LP.encode(np.ascontiguousarray(u[0].T), com.log_blowup)  # (L, 2): Enc(u0), Enc(u1)
    if not np.array_equal(enc, combined[0]):
        raise ProvingKeyError("vector.npy: its committed rows are not what encoded.npy encodes")
    _report(progress, "checking the encoding", 3, 3)
    return encoded, levels


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


def load(path, *, expected_digest=None, progress=None):
    """Map a proving-key directory written by :func:`save` and check it against its key.

    Arguments:
        path: the directory.
        expected_digest: the verifying key's digest (``bytes`` or hex ``str``) the key must
            have, e.g. that of the ``vk.bin`` the verifier holds; ``None`` accepts the key the
            directory holds (still checked for integrity against it).
        progress: an optional ``progress(stage, done, total)`` callable.

    Returns:
        The :class:`~zkinfer.proof.ProvingKey`: its weight matrices, committed vector, encoded
        matrix and Merkle tree are read-only ``np.memmap`` arrays of the files.

    Raises:
        ProvingKeyError: the directory is not a proving key, of another version, malformed,
            or fails a check of the module docstring (the message names the file).
        InvalidArgumentError: ``expected_digest`` is not 32 bytes or 64 hex digits.
    """
    from zkinfer.commit import pcs_from_params
    from zkinfer.commit.trivial import TrivialCommitment, TrivialProverData, _digest
    from zkinfer.model.intmodel import validate
    from zkinfer.proof import ProvingKey
    from zkinfer.protocol.model_circuit import weight_columns, weight_matrices

    path = Path(path)
    if expected_digest is not None:
        _digest_argument(expected_digest)
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
    columns = weight_columns(public)
    layout = com.layout
    if list(columns) != list(shapes) or \
            layout.num_vars != tuple(col.num_vars for col in columns.values()):
        raise ProvingKeyError("commitment.bin: its layout is not that of the model's weights")
    vector = _open_array(path, "vector.npy", "<u8", (layout.size,))
    weights = {name: _open_array(path, f"weights/{k:03d}.npy", "<i8", shape)
               for k, (name, shape) in enumerate(shapes.items())}
    if isinstance(com, TrivialCommitment):
        _report(progress, "checking the commitment", 0, 1)
        if _digest(layout, vector) != com.digest:
            raise ProvingKeyError("vector.npy: not the vector the commitment commits to")
        _report(progress, "checking the commitment", 1, 1)
        data = TrivialProverData(layout, vector, com)
    else:
        from zkinfer.commit.ligero.prover import LigeroProverData

        encoded, levels = _check_ligero(path, pcs, com, vector, progress)
        data = LigeroProverData(layout, vector, com, encoded, levels)
    # 5. every weight matrix is the real part of its block of the committed vector
    views = {name: layout.block(vector, k) for k, name in enumerate(columns)}
    for k, (name, col) in enumerate(columns.items()):
        _report(progress, "checking the weights", k, len(views))
        block = views[name].reshape(col.padded_shape)
        w = weights[name]
        step = max(1, _CHUNK // max(1, w.shape[1]))
        for lo in range(0, w.shape[0], step):
            hi = min(w.shape[0], lo + step)
            if not _matches()(np.asarray(w[lo:hi]), np.asarray(block[lo:hi])):
                raise ProvingKeyError(f"weights/{k:03d}.npy ({name}): not the committed weights")
    _report(progress, "checking the weights", len(views), len(views))
    model = _with_weights(public, weights)
    try:
        validate(model, complete=True)
    except ProofFormatError:
        raise
    except ValueError as exc:  # ModelError: e.g. a weight outside its declared width
        raise ProvingKeyError(f"weights: the model is invalid ({exc})") from None
    return ProvingKey(model, pcs, vk, com, data, views)
