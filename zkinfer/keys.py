"""Reproducible verifying keys: rebuild a key from the open weights and compare it byte for byte.

A verifying key is a deterministic function of the checkpoint, the quantization settings and
the format version: setup runs on the same checkpoint give byte-identical keys on any machine
and at any thread count (the quantizer's float calibration is bit-reproducible, see
:mod:`zkinfer.model.quantize`; the commitment is exact field arithmetic). The key records what
it was made from: ``IntModel.provenance`` (the checkpoint's SHA-256, or the seed of a built-in
model, and the digest of the calibration inputs; :mod:`zkinfer.model.provenance`) and
``IntModel.qconfig``. So anyone holding the weights can rebuild the model with the recorded
settings (:func:`rebuild_model`), run the setup again and compare (:func:`check_key`): a match
shows that the published key commits to exactly these weights, with honest declared widths.

:func:`check_key` names the first part that differs, in this order (:data:`PARTS`):

==========================  =====================================================================
part                        what differs
==========================  =====================================================================
``model source``            the recorded kind, name or seed (or the key records no provenance)
``checkpoint digest``       the SHA-256 of the checkpoint file (or of the seeded float weights)
``calibration inputs``      the digest of the calibration token ids
``quantization settings``   a field of the recorded :class:`~zkinfer.model.config.QuantConfig`
``architecture``            a field of the :class:`~zkinfer.model.config.TransformerConfig`
``widths``                  a declared width (named by its column)
``model description``       any other public parameter (named by its path)
``PCS parameters``          the commitment scheme's parameters
``weight commitment``       the commitment to the weight matrices
==========================  =====================================================================

The command line is ``zkinfer keys check --model SPEC --vk vk.bin`` (:mod:`zkinfer.cli`).
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.proof import VerifyingKey, decode_public_model, encode_public_model

__all__ = ["PARTS", "KeyCheck", "check_key", "compare_public_models", "rebuild_model"]

#: The parts :func:`check_key` compares, in the order it compares them.
PARTS = (
    "model source",
    "checkpoint digest",
    "calibration inputs",
    "quantization settings",
    "architecture",
    "widths",
    "model description",
    "PCS parameters",
    "weight commitment",
)


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of :func:`check_key`.

    Attributes:
        matches: the recomputed key is byte-identical to the given one.
        part: the first part that differs (one of :data:`PARTS`), ``None`` on a match.
        detail: what differs in that part, one line (``""`` on a match).
    """

    matches: bool
    part: str | None = None
    detail: str = ""

    @property
    def reason(self) -> str:
        """One line: ``"key matches"`` or ``"key does not match (<part>): <detail>"``."""
        return "key matches" if self.matches else f"key does not match ({self.part}): {self.detail}"


# ---------------------------------------------------------------------------------------------
# comparing public models


def _show(v: object) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str) and len(v) == 64:
        return v[:16] + "..."  # a digest
    return repr(v)


def _same_float(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b)


def _first_difference(key: object, rebuilt: object, path: str) -> str | None:
    """Where two decoded model descriptions first differ (``None`` if nowhere), as one line."""
    if type(key) is not type(rebuilt):
        return f"{path}: the key has a {type(key).__name__}, the rebuilt model a {type(rebuilt).__name__}"
    if dataclasses.is_dataclass(key):
        for f in dataclasses.fields(key):
            diff = _first_difference(getattr(key, f.name), getattr(rebuilt, f.name), f"{path}.{f.name}")
            if diff is not None:
                return diff
        return None
    if isinstance(key, (tuple, list)):
        if len(key) != len(rebuilt):
            return f"{path}: the key has {len(key)} items, the rebuilt model {len(rebuilt)}"
        for i, (a, b) in enumerate(zip(key, rebuilt)):
            diff = _first_difference(a, b, f"{path}[{i}]")
            if diff is not None:
                return diff
        return None
    if isinstance(key, dict):
        only_key = sorted(set(key) - set(rebuilt))
        only_rebuilt = sorted(set(rebuilt) - set(key))
        if only_key or only_rebuilt:
            name, side = (only_key[0], "the key") if only_key else (only_rebuilt[0], "the rebuilt model")
            return f"{path}[{name!r}] is only in {side}"
        for k in sorted(key):
            diff = _first_difference(key[k], rebuilt[k], f"{path}[{k!r}]")
            if diff is not None:
                return diff
        return None
    if isinstance(key, np.ndarray):
        if key.shape != rebuilt.shape or key.dtype != rebuilt.dtype:
            return (f"{path}: the key has a {key.dtype} array of shape {key.shape}, the rebuilt "
                    f"model {rebuilt.dtype} of shape {rebuilt.shape}")
        if key.dtype.kind == "f":  # bit for bit (the encoding stores the float64 bytes)
            a = np.ascontiguousarray(key).view(np.int64)
            b = np.ascontiguousarray(rebuilt).view(np.int64)
        else:
            a, b = key, rebuilt
        differs = a != b
        if not differs.any():
            return None
        idx = tuple(int(i) for i in np.argwhere(differs)[0])
        at = idx[0] if len(idx) == 1 else idx
        return f"{path}[{at}]: the key has {key[idx]!r}, the rebuilt model {rebuilt[idx]!r}"
    if isinstance(key, float):
        same = _same_float(key, rebuilt)
    else:
        same = key == rebuilt
    return None if same else f"{path}: the key has {_show(key)}, the rebuilt model {_show(rebuilt)}"


def compare_public_models(key_model: object, rebuilt_model: object) -> tuple[str, str] | None:
    """The first part in which two public models differ, and what differs there.

    The parts are compared in the order of :data:`PARTS`: the provenance (source, checkpoint
    digest, calibration digest), the quantization settings, the architecture, the declared
    widths, then every other field of the model description.

    Arguments:
        key_model: the public model decoded from a verifying key.
        rebuilt_model: the public model of the rebuilt key (also decoded, so that both hold
            their weight matrices as shapes only).

    Returns:
        ``(part, detail)``, or ``None`` if they are equal.
    """
    prov_key, prov_new = key_model.provenance, rebuilt_model.provenance
    if prov_key is None:
        return "model source", "the key records no provenance (made from a model without one)"
    if prov_new is None:
        return "model source", "the rebuilt model has no provenance"
    for part, fields in (("model source", ("kind", "name", "seed")),
                         ("checkpoint digest", ("weights_sha256",)),
                         ("calibration inputs", ("calibration_sha256",))):
        for name in fields:
            a, b = getattr(prov_key, name), getattr(prov_new, name)
            if a != b:
                return part, f"provenance.{name}: the key has {_show(a)}, the rebuilt model {_show(b)}"
    for part, name in (("quantization settings", "qconfig"), ("architecture", "config"),
                       ("widths", "widths")):
        diff = _first_difference(getattr(key_model, name), getattr(rebuilt_model, name), name)
        if diff is not None:
            return part, diff
    for f in dataclasses.fields(key_model):
        if f.name not in ("provenance", "qconfig", "config", "widths"):
            diff = _first_difference(getattr(key_model, f.name), getattr(rebuilt_model, f.name), f.name)
            if diff is not None:
                return "model description", diff
    return None


# ---------------------------------------------------------------------------------------------
# the check


def check_key(vk: VerifyingKey | bytes, model, pcs=None) -> KeyCheck:
    """Recompute the verifying key of ``model`` and compare it with ``vk`` byte for byte.

    The public model descriptions are compared first (no commitment is computed if they
    differ); then the PCS parameters; then the setup runs with the PCS (by default the one the
    key's parameters describe) and the weight commitments and finally the whole keys are
    compared.

    Arguments:
        vk: the verifying key (or its bytes) to check.
        model: the integer model rebuilt from the checkpoint (e.g. by :func:`rebuild_model`).
        pcs: the commitment scheme (default: :func:`zkinfer.commit.pcs_from_params` of the
            key's parameters).

    Returns:
        A :class:`KeyCheck`: a match, or the first part that differs.

    Raises:
        ProofFormatError: ``vk`` bytes that do not decode, or PCS parameters that do not.
    """
    from zkinfer.commit import pcs_from_params

    if not isinstance(vk, VerifyingKey):
        vk = VerifyingKey.from_bytes(vk)
    model_bytes = encode_public_model(model)
    if model_bytes != vk.model_bytes:
        found = compare_public_models(vk.model(), decode_public_model(model_bytes))
        part, detail = found or ("model description", "the encodings differ")
        return KeyCheck(False, part, detail)
    pcs = pcs if pcs is not None else pcs_from_params(vk.pcs_params)
    if pcs.params_bytes() != vk.pcs_params:
        return KeyCheck(False, "PCS parameters", f"the key has {pcs_from_params(vk.pcs_params)!r}, "
                                                 f"the check uses {pcs!r}")
    from zkinfer.prover import setup

    rebuilt, pk = setup(model, pcs)
    del pk  # the prover data of the weights (as large as the encoded weights)
    if rebuilt.weight_commitment != vk.weight_commitment:
        return KeyCheck(False, "weight commitment",
                        "the key commits to other weights than the rebuilt model's "
                        f"(digest {vk.digest.hex()[:16]}..., rebuilt {rebuilt.digest.hex()[:16]}...)")
    if rebuilt.to_bytes() != vk.to_bytes():  # pragma: no cover - the parts above are all of it
        return KeyCheck(False, "model description", "the key bytes differ")
    return KeyCheck(True)


def rebuild_model(vk: VerifyingKey | bytes, checkpoint: str | Path | None = None):
    """Rebuild the integer model a key records, with the key's quantization settings.

    A seeded model (``provenance.kind == "seeded"``) is rebuilt by
    :func:`zkinfer.models.random_transformer` with the recorded seed and ``qconfig`` and the
    architecture its name fixes (:data:`zkinfer.models.SEEDED_CONFIGS`; the key's own for
    ``"random"``). A checkpoint is read from ``checkpoint`` (a ``model.safetensors`` with its
    ``tokenizer.json`` beside it; only all-MiniLM-L6-v2 can be rebuilt so far) and quantized
    with the recorded ``qconfig``. Nothing is compared here: pass the result to
    :func:`check_key`.

    Arguments:
        vk: the verifying key (or its bytes).
        checkpoint: the checkpoint file, for a key made from a checkpoint.

    Returns:
        The :class:`~zkinfer.model.intmodel.IntModel`.

    Raises:
        ProofFormatError: ``vk`` bytes that do not decode.
        ModelError: the key records no provenance, a checkpoint is needed but not given, or
            the checkpoint cannot be rebuilt (missing file, not all-MiniLM-L6-v2).
        MissingDependencyError: ``safetensors`` or ``tokenizers`` is missing.
    """
    from zkinfer.model.minilm import MINILM_SHA256, MiniLM
    from zkinfer.models import SEEDED_CONFIGS, random_transformer

    if not isinstance(vk, VerifyingKey):
        vk = VerifyingKey.from_bytes(vk)
    public = vk.model()
    prov = public.provenance
    if prov is None:
        raise ModelError("the key records no provenance: nothing to rebuild it from")
    if prov.kind == "seeded":
        config = SEEDED_CONFIGS.get(prov.name, public.config)
        return random_transformer(config, prov.seed, public.qconfig)
    if checkpoint is None:
        raise ModelError(f"the key was made from {prov.describe()}: pass the checkpoint file")
    from zkinfer.model.loaders import sha256_file

    path = Path(checkpoint)
    if not path.is_file():
        raise ModelError(f"checkpoint not found: {path}")
    if sha256_file(path) != MINILM_SHA256:
        raise ModelError(f"{path.name}: only the all-MiniLM-L6-v2 checkpoint can be rebuilt so far")
    return MiniLM.load(public.qconfig, path=path.parent).int_model
