"""Where an integer model came from: its checkpoint's digest, its calibration inputs, its source.

A :class:`Provenance` is part of :class:`~zkinfer.model.intmodel.IntModel` (field
``provenance``), hence of the public model description in a verifying key and of the key's
digest. With the quantization settings (``IntModel.qconfig``) and the format version it fixes
the key: anyone holding the same checkpoint can rebuild the model, run the setup again and
compare the keys byte for byte (:func:`zkinfer.keys.check_key`, ``zkinfer keys check``).

======================  ========================================================================
field                   meaning
======================  ========================================================================
``kind``                ``"checkpoint"`` (weights read from a file) or ``"seeded"`` (seeded random
                        float weights, :func:`zkinfer.model.synthetic.random_float_model`)
``name``                the source: ``"sentence-transformers/all-MiniLM-L6-v2"``; ``"tiny"``,
                        ``"tiny-mlp"`` or ``"random"`` (another architecture) for seeded models
``seed``                the seed of a seeded model; ``None`` for a checkpoint
``weights_sha256``      checkpoint: SHA-256 of the file; seeded: :func:`float_weights_sha256` of
                        the float model
``calibration_sha256``  :func:`token_ids_sha256` of the calibration inputs the activation scales
                        were measured on
======================  ========================================================================

Both digests are 64 lowercase hex digits. The canonical serializations are versioned by the
labels they start with (``zkinfer-float-weights/v1``, ``zkinfer-token-ids/v1``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zkinfer.errors import ModelError

if TYPE_CHECKING:
    from zkinfer.model.float_model import FloatModel

__all__ = ["Provenance", "KINDS", "float_weights_sha256", "token_ids_sha256"]

#: Values of :attr:`Provenance.kind`.
KINDS = ("checkpoint", "seeded")
_HEX = frozenset("0123456789abcdef")
_MAX_NAME = 200


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ModelError(message)


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


@dataclass(frozen=True)
class Provenance:
    """Where an integer model came from (see the module docstring for each field).

    Attributes:
        kind: ``"checkpoint"`` or ``"seeded"``.
        name: the source's name (printable ASCII, at most 200 characters).
        seed: the seed (``0 <= seed < 2^63``) of a seeded model, ``None`` for a checkpoint.
        weights_sha256: hex SHA-256 of the checkpoint file, or of the seeded float weights.
        calibration_sha256: hex SHA-256 of the calibration token ids.

    Raises:
        ModelError: (on construction) a field of the wrong type or value.
    """

    kind: str
    name: str
    seed: int | None
    weights_sha256: str
    calibration_sha256: str

    def __post_init__(self) -> None:
        _require(isinstance(self.kind, str) and self.kind in KINDS, f"provenance kind must be one of {KINDS}")
        _require(isinstance(self.name, str) and 1 <= len(self.name) <= _MAX_NAME
                 and self.name.isascii() and self.name.isprintable(),
                 "provenance name must be 1..200 printable ASCII characters")
        if self.kind == "seeded":
            _require(isinstance(self.seed, int) and not isinstance(self.seed, bool)
                     and 0 <= self.seed < 2**63, "a seeded model's provenance needs a seed in [0, 2^63)")
        else:
            _require(self.seed is None, "a checkpoint's provenance has no seed")
        _require(_is_digest(self.weights_sha256), "weights_sha256 must be 64 lowercase hex digits")
        _require(_is_digest(self.calibration_sha256), "calibration_sha256 must be 64 lowercase hex digits")

    @classmethod
    def checkpoint(cls, name: str, sha256: str, calibration_inputs: Sequence[np.ndarray]) -> Provenance:
        """The provenance of a model quantized from a checkpoint file.

        Arguments:
            name: the checkpoint's name (e.g. ``"sentence-transformers/all-MiniLM-L6-v2"``).
            sha256: hex SHA-256 of the file (as :func:`zkinfer.model.loaders.sha256_file`).
            calibration_inputs: the token sequences given to the quantizer.

        Returns:
            The provenance.

        Raises:
            ModelError: a malformed digest or name.
        """
        return cls("checkpoint", name, None, str(sha256).lower(), token_ids_sha256(calibration_inputs))

    @classmethod
    def seeded(cls, name: str, seed: int, float_model: FloatModel,
               calibration_inputs: Sequence[np.ndarray]) -> Provenance:
        """The provenance of a model quantized from seeded random float weights.

        Arguments:
            name: ``"tiny"``, ``"tiny-mlp"`` or ``"random"``.
            seed: the seed of the float weights.
            float_model: the float model (its weights are hashed).
            calibration_inputs: the token sequences given to the quantizer.

        Returns:
            The provenance.

        Raises:
            ModelError: a bad seed or name.
        """
        return cls("seeded", name, seed, float_weights_sha256(float_model),
                   token_ids_sha256(calibration_inputs))

    def describe(self) -> str:
        """One line for people, e.g. ``built-in tiny, seed 0`` or ``checkpoint NAME (sha256 53aa5117...)``."""
        if self.kind == "seeded":
            what = "built-in" if self.name in ("tiny", "tiny-mlp") else "seeded"
            return f"{what} {self.name}, seed {self.seed}"
        return f"checkpoint {self.name} (sha256 {self.weights_sha256[:16]}...)"


def _update_array(h: hashlib._Hash, path: str, value: np.ndarray) -> None:
    a = np.ascontiguousarray(value, dtype="<f8")
    h.update(struct.pack("<I", len(path)) + path.encode())
    h.update(struct.pack("<I", a.ndim) + struct.pack(f"<{a.ndim}Q", *a.shape))
    h.update(a.tobytes())


def _walk(h: hashlib._Hash, path: str, value: object) -> None:
    """Hash ``value`` (arrays, floats, ``None``, tuples and dataclasses of them) under ``path``."""
    if value is None:
        h.update(struct.pack("<I", len(path)) + path.encode() + b"\x00none")
    elif isinstance(value, np.ndarray):
        _update_array(h, path, value)
    elif isinstance(value, float):
        _update_array(h, path, np.array(value))
    elif isinstance(value, tuple):
        h.update(struct.pack("<I", len(path)) + path.encode() + struct.pack("<Q", len(value)))
        for i, item in enumerate(value):
            _walk(h, f"{path}.{i}", item)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _walk(h, f"{path}.{f.name}" if path else f.name, getattr(value, f.name))
    else:
        raise ModelError(f"cannot hash {type(value).__name__} at {path!r} as a float weight")


def float_weights_sha256(model: FloatModel) -> str:
    """SHA-256 of a canonical serialization of a float model's weights.

    The label ``zkinfer-float-weights/v1``, then every weight in the order of the model's fields
    (``tok_emb``, ``pos_emb``, ``layers.0.q.w``, ``layers.0.q.b``, ... ``emb_ln``,
    ``final_ln``): its path, its shape and its float64 little-endian bytes (C order); LayerNorm
    epsilons as 0-d arrays; an absent part as ``path || "\\0none"``. The architecture
    (``config``) and the descriptive ``meta`` are not hashed (the configuration is in the model
    description anyway).

    Arguments:
        model: the float model.

    Returns:
        64 lowercase hex digits.

    Raises:
        ModelError: a part of the model is not an array, a float or ``None``.
    """
    h = hashlib.sha256(b"zkinfer-float-weights/v1\x00")
    for f in dataclasses.fields(model):
        if f.name not in ("config", "meta"):
            _walk(h, f.name, getattr(model, f.name))
    return h.hexdigest()


def token_ids_sha256(inputs: Sequence[np.ndarray]) -> str:
    """SHA-256 of token sequences: ``zkinfer-token-ids/v1``, the count, then per sequence its length
    and its ids as int64 little-endian (all counts ``u64`` little-endian).

    Arguments:
        inputs: token sequences (1-D integer arrays).

    Returns:
        64 lowercase hex digits.

    Raises:
        ModelError: a sequence that is not a 1-D integer array.
    """
    h = hashlib.sha256(b"zkinfer-token-ids/v1\x00")
    h.update(struct.pack("<Q", len(inputs)))
    for ids in inputs:
        a = np.asarray(ids)
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise ModelError("calibration inputs must be 1-D integer arrays")
        h.update(struct.pack("<Q", a.shape[0]))
        h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
    return h.hexdigest()
