"""The verifying key, the proving key and the proof, with their canonical binary encodings.

Encodings follow :mod:`zkinfer.codec` (magic, ``u16`` version, counts bounded before
allocation, canonical field elements, no trailing bytes). Decoding never executes anything from
the bytes: the public model description is a tree of whitelisted dataclasses whose fields are
integers, floats, strings, integer/float arrays and nested whitelisted dataclasses.

``VerifyingKey``: the public model (every parameter except the weight matrices, which appear
only as shapes), the PCS parameters, the weight commitment, and ``digest`` = BLAKE2b of all of
it. ``Proof``: the vk digest, the public input and output, the trace commitment and the
parts of :class:`~zkinfer.protocol.engine.CircuitProof` (each step type encodes itself).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import ModelError, ProofFormatError
from zkinfer.protocol.engine import CircuitProof
from zkinfer.transcript import Transcript

__all__ = [
    "VerifyingKey",
    "ProvingKey",
    "Proof",
    "FORMAT_VERSION",
    "KEY_FORMAT_VERSION",
    "MAX_PROOF_BYTES",
    "statement_transcript",
]

FORMAT_VERSION = 9
"""The proof format (version 9: a sumcheck round sends ``d`` values, ``s_j(1)`` derived from the
running claim; version 8: a range proof's fraction trees share one sumcheck per layer;
version 7: a decoder's ``max_new_tokens`` and predictions in the header;
version 6: both openings begin before either is proven; version 5: one part per segment, each
proven on its own transcript, and the openings of commitments made of one part per segment)."""
KEY_FORMAT_VERSION = 5
"""The verifying key's format (version 5: decoders: ``n_kv_heads``, the decoder's parts and
blocks; version 4: the weight commitment has one part per segment)."""
MAX_PROOF_BYTES = 1 << 31
_VK_MAGIC = b"ZKVK"
_PROOF_MAGIC = b"ZKPF"
_MAX_ITEMS = 1 << 20
_MAX_TOKENS = 1 << 16
_MAX_DEPTH = 8


# ---------------------------------------------------------------------------------------------
# public model: a whitelisted dataclass tree


@functools.cache
def _model_classes() -> dict[str, type]:
    from zkinfer.model import config, intmodel

    names = ["TransformerConfig", "QuantConfig"]
    classes = {n: getattr(config, n) for n in names}
    for n in ("Requant", "IntLinear", "IntLayerNorm", "IntAttention", "IntFFN", "IntLayer",
              "IntModel", "Provenance", "IntRMSNorm", "IntRope", "IntCausalAttention",
              "IntSwiGLU", "IntDecoderLayer", "IntDecoder"):
        classes[n] = getattr(intmodel, n)
    return classes


_SHAPE_ONLY = {("IntLinear", "w"), ("IntModel", "tok_emb"), ("IntModel", "pos_emb")}
#: An array of a model description has at most this many axes of at most this length each.
_MAX_NDIM = 4
_MAX_DIM = 1 << 24


def shape_only(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only int64 array of ``shape`` that takes no memory (all zeros, zero strides)."""
    a = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.int64), shape=shape,
                                        strides=(0,) * len(shape))
    a.flags.writeable = False
    return a


def _write_value(w: Writer, v, depth: int, strip: bool) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("model description nested too deeply")
    if v is None:
        w.u8(0)
    elif isinstance(v, bool):
        w.u8(1)
        w.boolean(v)
    elif isinstance(v, (int, np.integer)):
        w.u8(2)
        w.u64(int(v) % 2**64)
    elif isinstance(v, (float, np.floating)):
        w.u8(3)
        w.raw(np.float64(v).tobytes())
    elif isinstance(v, str):
        w.u8(4)
        w.bytes(v.encode())
    elif isinstance(v, np.ndarray):
        kind = {"i": 5, "f": 6}.get(v.dtype.kind)
        if kind is None:
            raise ValueError(f"cannot encode array of {v.dtype}")
        w.u8(kind)
        w.u32s(v.shape)
        w.raw(np.ascontiguousarray(v, dtype="<i8" if kind == 5 else "<f8").tobytes())
    elif isinstance(v, (tuple, list)):
        w.u8(7)
        w.u32(len(v))
        for item in v:
            _write_value(w, item, depth + 1, strip)
    elif isinstance(v, dict):
        w.u8(8)
        w.u32(len(v))
        for key in sorted(v):
            w.bytes(str(key).encode())
            _write_value(w, v[key], depth + 1, strip)
    elif dataclasses.is_dataclass(v) and type(v).__name__ in _model_classes():
        name = type(v).__name__
        w.u8(9)
        w.bytes(name.encode())
        for field_name in _FIELD_RULES[name]:
            if not hasattr(v, field_name):
                raise ValueError(f"{name} has no field {field_name!r} of the key format's model "
                                 "schema (a renamed field needs a new key format version)")
            value = getattr(v, field_name)
            if strip and (name, field_name) in _SHAPE_ONLY and value is not None:
                w.u8(10)  # a weight matrix: its shape only
                w.u32s(np.shape(value))
            else:
                _write_value(w, value, depth + 1, strip)
    else:
        raise ValueError(f"cannot encode {type(v).__name__}")


# ---- decoding: every dataclass field is checked against its rule as soon as it is read


class _Shape:
    """A decoded tag-10 value (a weight matrix given by its shape only). Only the weight-matrix
    fields accept it (turning it into a :func:`shape_only` placeholder); anywhere else it is
    rejected, so a key never carries a weight matrix's values nor a placeholder elsewhere."""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


_Rule = Callable[[object, str], object]


def _describe(v: object) -> str:
    if isinstance(v, _Shape):
        return f"a shape-only placeholder of shape {v.shape}"
    if isinstance(v, np.ndarray):
        return f"a {v.ndim}-D {v.dtype} array"
    if isinstance(v, (bool, int, float)):
        return f"{type(v).__name__} {v!r}"
    return type(v).__name__


def _bad(path: str, want: str, v: object) -> ProofFormatError:
    return ProofFormatError(f"model description: {path} must be {want}, got {_describe(v)}")


def _int(v: object, path: str) -> int:
    # tag 2 only: a bool (tag 1), a float (tag 3) or a string is not an int
    if type(v) is not int:
        raise _bad(path, "an int", v)
    return v


def _number(v: object, path: str) -> float | int:
    if type(v) not in (int, float):
        raise _bad(path, "a number", v)
    return v


def _text(v: object, path: str) -> str:
    if type(v) is not str:
        raise _bad(path, "a string", v)
    return v


def _flag(v: object, path: str) -> bool:
    if type(v) is not bool:
        raise _bad(path, "a bool", v)
    return v


def _array(dtype: type, ndim: int) -> _Rule:
    want = f"a {ndim}-D {np.dtype(dtype)} array"

    def rule(v: object, path: str) -> np.ndarray:
        if not (type(v) is np.ndarray and v.dtype == dtype and v.ndim == ndim):
            raise _bad(path, want, v)
        return v

    return rule


def _weights(v: object, path: str) -> np.ndarray:
    # a key holds every weight matrix as its shape only (tag 10), never its values
    if not (isinstance(v, _Shape) and len(v.shape) == 2):
        raise _bad(path, "a shape-only 2-D weight matrix", v)
    return shape_only(v.shape)


def _instance(name: str) -> _Rule:
    def rule(v: object, path: str) -> object:
        if type(v) is not _model_classes()[name]:
            raise _bad(path, ("an " if name[0] in "AEIOU" else "a ") + name, v)
        return v

    return rule


def _either(*names: str) -> _Rule:
    def rule(v: object, path: str) -> object:
        if type(v) not in tuple(_model_classes()[n] for n in names):
            raise _bad(path, " or ".join(names), v)
        return v

    return rule


def _optional(inner: _Rule) -> _Rule:
    def rule(v: object, path: str) -> object:
        return None if v is None else inner(v, path)

    return rule


def _tuple_of(inner: _Rule) -> _Rule:
    def rule(v: object, path: str) -> tuple:
        if type(v) is not tuple:
            raise _bad(path, "a tuple", v)
        return tuple(inner(x, f"{path}[{i}]") for i, x in enumerate(v))

    return rule


def _mapping_of(inner: _Rule) -> _Rule:
    def rule(v: object, path: str) -> dict:
        if type(v) is not dict:  # the reader's keys are always strings
            raise _bad(path, "a mapping", v)
        return {k: inner(x, f"{path}[{k!r}]") for k, x in v.items()}

    return rule


def _width(v: object, path: str) -> tuple[int, bool]:
    if not (type(v) is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is bool):
        raise _bad(path, "a (bits: int, signed: bool) pair", v)
    return v


_INTS = _array(np.int64, 1)
_FLOATS = _array(np.float64, 1)
_LINEAR = _instance("IntLinear")
_REQUANT = _instance("Requant")
_NORM = _optional(_instance("IntLayerNorm"))

#: The public-model schema of key format :data:`KEY_FORMAT_VERSION`: every whitelisted class's
#: fields, in encoding order, each with its rule (its type; ranges are checked by
#: :func:`zkinfer.model.intmodel.validate` once the whole model is read). The encoding follows
#: this list, not the dataclasses' own fields, so renaming or reordering a field cannot change
#: key bytes silently: the writer then fails, and a test compares this list with the classes and
#: with the schema recorded for the key format. Changing it means a new key format version.
_FIELD_RULES: dict[str, dict[str, _Rule]] = {
    "TransformerConfig": {
        **dict.fromkeys(("n_layers", "d_model", "n_heads", "d_ff", "max_seq_len", "vocab_size"), _int),
        "activation": _text, "norm": _text, "ln_eps": _number, "block": _text,
        "n_kv_heads": _int,
    },
    "QuantConfig": {
        **dict.fromkeys(("weight_bits", "emb_bits", "act_bits", "resid_bits", "ffn_in_bits",
                         "ffn_out_bits", "out_bits", "exp_bits", "prob_bits", "mult_bits",
                         "pool_shift"), _int),
        "calib_percentile": _number, "norm_per_channel": _flag,
    },
    "Requant": {"m": _INTS, "shift": _int, "lo": _int, "hi": _int},
    "IntLinear": {"w": _weights, "b": _INTS, "rq": _REQUANT, "res_m": _optional(_INTS)},
    "IntLayerNorm": {"beta": _INTS, "eps": _int, "k": _int, "rq": _REQUANT},
    "IntAttention": {"q": _LINEAR, "k": _LINEAR, "v": _LINEAR, "o": _LINEAR, "ctx": _REQUANT,
                     "exp_table": _INTS, "exp_bits": _int, "prob_bits": _int},
    "IntFFN": {"up": _LINEAR, "table": _INTS, "in_bits": _int, "down": _LINEAR},
    "IntLayer": {"ln1": _NORM, "attn": _optional(_instance("IntAttention")), "ln2": _NORM,
                 "ffn": _instance("IntFFN")},
    "IntModel": {
        "config": _instance("TransformerConfig"), "qconfig": _instance("QuantConfig"),
        "tok_emb": _weights, "pos_emb": _optional(_weights),
        "layers": _tuple_of(_either("IntLayer", "IntDecoderLayer")),
        "emb_ln": _NORM, "final_ln": _NORM, "pool_shift": _int, "widths": _mapping_of(_width),
        "out_scale": _optional(_FLOATS), "scales": _mapping_of(_FLOATS),
        "provenance": _optional(_instance("Provenance")),
        "decoder": _optional(_instance("IntDecoder")),
    },
    "IntRMSNorm": {"eps": _int, "k": _int, "rq": _REQUANT},
    "IntRope": {"cos": _array(np.int64, 2), "sin": _array(np.int64, 2), "bits": _int,
                "lo": _int, "hi": _int},
    "IntCausalAttention": {"exp_table": _INTS, "exp_bits": _int, "prob_bits": _int,
                           "score_shift": _int, "ctx": _REQUANT},
    "IntSwiGLU": {"table": _INTS, "in_bits": _int, "rq": _REQUANT},
    "IntDecoderLayer": {
        "attn_norm": _instance("IntRMSNorm"), "q": _LINEAR, "k": _LINEAR, "v": _LINEAR,
        "attn": _instance("IntCausalAttention"), "o": _LINEAR,
        "mlp_norm": _instance("IntRMSNorm"), "gate": _LINEAR, "up": _LINEAR,
        "swiglu": _instance("IntSwiGLU"), "down": _LINEAR,
    },
    "IntDecoder": {"embed_rq": _REQUANT, "rope": _instance("IntRope"),
                   "final_norm": _instance("IntRMSNorm"), "slots": _int, "stop_ids": _INTS,
                   "logit_scale": _number},
    "Provenance": {"kind": _text, "name": _text, "seed": _optional(_int),
                   "weights_sha256": _text, "calibration_sha256": _text},
}  # fmt: skip


def model_schema() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``((class, (field, ...)), ...)``: the encoded fields of every whitelisted class."""
    return tuple((name, tuple(rules)) for name, rules in _FIELD_RULES.items())





def _read_text(r: Reader, path: str) -> str:
    try:
        return r.bytes(1 << 10).decode()
    except UnicodeDecodeError:
        raise ProofFormatError(f"model description: {path}: a string that is not UTF-8") from None


def _read_value(r: Reader, depth: int, path: str = "model"):
    """One value of a model description (``path`` names it in error messages).

    Raises:
        ProofFormatError: malformed bytes, or a dataclass field that breaks its rule.
    """
    if depth > _MAX_DEPTH:
        raise ProofFormatError("model description nested too deeply")
    tag = r.u8(10)
    if tag == 0:
        return None
    if tag == 1:
        return r.boolean()
    if tag == 2:
        v = r.u64()
        return v - 2**64 if v >= 2**63 else v
    if tag == 3:
        return float(np.frombuffer(r.raw(8), dtype="<f8")[0])
    if tag == 4:
        return _read_text(r, path)
    if tag in (5, 6):
        shape = tuple(r.u32s(_MAX_NDIM, _MAX_DIM))
        # the element count as a Python int (a product of u32s overflows int64), bounded by
        # the bytes left before anything is allocated
        count = math.prod(shape)
        if 8 * count > r.remaining:
            raise ProofFormatError(f"model description: {path}: array larger than the remaining bytes")
        dtype = "<i8" if tag == 5 else "<f8"
        return np.frombuffer(r.raw(8 * count), dtype=dtype).astype(dtype[1:]).reshape(shape)
    if tag == 7:
        n = r.count(_MAX_ITEMS, 1)  # every item takes at least its tag byte
        return tuple(_read_value(r, depth + 1, f"{path}[{i}]") for i in range(n))
    if tag == 8:
        n = r.count(_MAX_ITEMS, 5)  # every entry takes at least a key length and a tag byte
        out: dict[str, object] = {}
        for _ in range(n):
            key = _read_text(r, f"{path} key")
            # canonical: keys strictly increasing, as the writer sorts them (no duplicates)
            if out and not key > next(reversed(out)):
                raise ProofFormatError(f"model description: {path}: keys not strictly increasing")
            out[key] = _read_value(r, depth + 1, f"{path}[{key!r}]")
        return out
    if tag == 9:
        name = r.bytes(64).decode(errors="replace")
        cls = _model_classes().get(name)
        if cls is None:
            raise ProofFormatError(f"unknown model class {name!r}")
        rules = _FIELD_RULES[name]
        # the schema and the class must agree, field for field
        names = [f.name for f in dataclasses.fields(cls)]
        for field_name in names:
            if field_name not in rules:
                raise ProofFormatError(f"model description: no decoding rule for {name}.{field_name}")
        for field_name in rules:
            if field_name not in names:
                raise ProofFormatError(f"model description: {name} has no field {field_name!r} "
                                       "of the key schema")
        kwargs = {}
        for field_name, rule in rules.items():
            where = f"{path}.{field_name}"
            kwargs[field_name] = rule(_read_value(r, depth + 1, where), where)
        try:
            return cls(**kwargs)
        except ModelError as exc:  # the configurations check their own values
            raise ProofFormatError(f"model description: {path}: invalid {name}: {exc}") from None
    if tag == 10:
        return _Shape(tuple(r.u32s(_MAX_NDIM, _MAX_DIM)))
    raise ProofFormatError(f"unknown value tag {tag}")


def encode_public_model(model) -> bytes:
    """The model without its weight matrices (shapes only).

    Arguments:
        model: an :class:`~zkinfer.model.intmodel.IntModel`.

    Returns:
        The encoding :func:`decode_public_model` reads.

    Raises:
        ValueError: a value the encoding cannot represent.
    """
    w = Writer()
    _write_value(w, model, 0, strip=True)
    return w.finish()


def decode_public_model(data: bytes):
    """Strict inverse of :func:`encode_public_model`, with the whole model validated.

    Every field must have exactly its type (ints are ints, arrays have their dtype and number
    of axes, the weight matrices are shape-only placeholders and nothing else is); then
    :func:`~zkinfer.model.intmodel.validate` checks every shape and range and that the
    declared widths name exactly the model's columns, and
    :func:`~zkinfer.model.intmodel.check_declared_widths` that they are the widths the public
    parameters fix. Nothing is computed from a value before its check, and the weight
    placeholders are never iterated over.

    Arguments:
        data: the bytes of :func:`encode_public_model`.

    Returns:
        The public :class:`~zkinfer.model.intmodel.IntModel` (weight matrices as shape-only
        placeholders).

    Raises:
        ProofFormatError: malformed bytes or an invalid model description (the message names
            the field).
    """
    return _decode_public_model(data, checked=False)


def _decode_public_model(data: bytes, checked: bool):
    """:func:`decode_public_model`; with ``checked``, for bytes that passed it before (held by
    a :class:`VerifyingKey` that :meth:`VerifyingKey.from_bytes` validated), the per-field
    rules still apply but the whole-model checks are not run a second time."""
    from zkinfer.model import intmodel

    r = Reader(data, "model description")
    model = _read_value(r, 0)
    r.finish()
    if type(model) is not intmodel.IntModel:
        raise ProofFormatError("model description is not a model")
    if checked:
        return model
    try:
        intmodel.validate(model, complete=True)
        intmodel.check_declared_widths(model)
    except ModelError as exc:
        raise ProofFormatError(f"invalid model description: {exc}") from None
    return model


# ---------------------------------------------------------------------------------------------
# keys


@dataclass(frozen=True, eq=False, repr=False)
class VerifyingKey:
    """Public: model description, PCS parameters, weight commitment; ``digest`` binds them."""

    model_bytes: bytes
    pcs_params: bytes
    weight_commitment: bytes

    def __repr__(self) -> str:
        return f"VerifyingKey({describe_key(self)})"

    def __post_init__(self) -> None:
        # the digest and every decoder read these as bytes (a str would crash the digest)
        for name in ("model_bytes", "pcs_params", "weight_commitment"):
            if type(getattr(self, name)) is not bytes:
                raise ProofFormatError(f"verifying key: {name} must be bytes, "
                                       f"got {type(getattr(self, name)).__name__}")

    @property
    def digest(self) -> bytes:
        """BLAKE2b of the three sections (each after its length), computed once per key: the
        sections are immutable ``bytes`` (checked at construction) and a decoder's key holds
        tens of megabytes, which a verification would otherwise hash twice."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            h = hashlib.blake2b(digest_size=32, person=b"zkinfer-vk-v1")
            for part in (self.model_bytes, self.pcs_params, self.weight_commitment):
                h.update(len(part).to_bytes(8, "little"))
                h.update(part)
            cached = h.digest()
            object.__setattr__(self, "_digest", cached)
        return cached

    def to_bytes(self) -> bytes:
        w = Writer()
        w.header(_VK_MAGIC, KEY_FORMAT_VERSION)
        w.bytes(self.model_bytes)
        w.bytes(self.pcs_params)
        w.bytes(self.weight_commitment)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> VerifyingKey:
        """Strict decoding; every section is validated now, not at first use.

        Arguments:
            data: the bytes of :meth:`to_bytes`.

        Returns:
            The key.

        Raises:
            ProofFormatError: malformed bytes, an invalid model description
                (:func:`decode_public_model`), PCS parameters or weight commitment.
        """
        from zkinfer.commit import pcs_from_params

        if not isinstance(data, (bytes, bytearray)):
            raise ProofFormatError("a verifying key is bytes")
        r = Reader(bytes(data), "verifying key")
        r.header(_VK_MAGIC, (KEY_FORMAT_VERSION,))
        vk = cls(r.bytes(MAX_PROOF_BYTES), r.bytes(1 << 12), r.bytes(1 << 20))
        r.finish()
        model = decode_public_model(vk.model_bytes)
        pcs_from_params(vk.pcs_params).decode_commitment(vk.weight_commitment)
        # these (immutable) model bytes are valid: model() need not check them again
        object.__setattr__(vk, "_model_checked", True)
        object.__setattr__(vk, "_shared", model)
        return vk

    def model(self):
        """The public model (weight matrices as shape-only placeholders).

        Returns:
            The :class:`~zkinfer.model.intmodel.IntModel` of :func:`decode_public_model`.

        Raises:
            ProofFormatError: the model description is invalid (:func:`decode_public_model`).
        """
        return _decode_public_model(self.model_bytes, getattr(self, "_model_checked", False))

    def _shared_model(self):
        """:meth:`model`, decoded once per key and shared by every verification with it (the
        verifier only reads it; :meth:`model` hands out a fresh object a caller may change)."""
        model = self.__dict__.get("_shared")
        if model is None:
            model = self.model()
            object.__setattr__(self, "_shared", model)
        return model


def describe_key(vk: VerifyingKey) -> str:
    """One line for people: model, architecture, commitment scheme, size and digest of ``vk``
    (never the key's bytes; a malformed key is described as such, never raises)."""
    try:
        size = len(vk.model_bytes) + len(vk.pcs_params) + len(vk.weight_commitment)
        digest = vk.digest.hex()[:16]
    except Exception:
        return "<malformed>"
    try:
        model = vk.model()
        cfg = model.config
        prov = getattr(model, "provenance", None)
        name = prov.name if prov is not None and prov.name else "model"
        arch = f"{name}: {cfg.n_layers} layers, d_model {cfg.d_model}, up to {cfg.max_seq_len} tokens"
    except Exception:
        arch = "undecodable model description"
    try:
        from zkinfer.commit import pcs_from_params

        pcs = pcs_from_params(vk.pcs_params).__class__.__name__
    except Exception:
        pcs = "undecodable PCS parameters"
    return f"{arch}; {pcs}; {size / 1e3:.0f} kB; digest {digest}..."


@dataclass(frozen=True, eq=False, repr=False)
class ProvingKey:
    """Prover-only: the model itself, the PCS, the weight commitment and its prover data.

    :meth:`save` writes it to a directory (the integer model with its weights, the verifying
    key with the PCS parameters and the commitment, and the commitment's prover data as raw
    ``.npy`` arrays) and :meth:`load` maps such a directory back, checked against its verifying
    key, instead of committing the weights again (:mod:`zkinfer.pkfile`).
    """

    model: object
    pcs: object
    vk: VerifyingKey
    weight_commitment: object
    weight_data: object
    weight_tables: dict

    def __repr__(self) -> str:
        return f"ProvingKey({describe_key(self.vk)}; holds the weights)"

    def scatter(self, client):
        """Place this key on the Dask cluster of ``client`` (a ``distributed.Client``): the
        model on every worker, each segment's weight part committed and kept on the worker
        that will prove that segment (:func:`zkinfer.cluster.scatter`). Proofs with
        ``executor=client`` then move no weight; a key not placed is placed by its first such
        proof.

        Returns:
            The :class:`~zkinfer.cluster.Placement`.
        """
        from zkinfer import cluster

        return cluster.scatter(self, client)

    def save(self, path, *, overwrite: bool = False):
        """Write this key as a proving-key directory (see :func:`zkinfer.pkfile.save`).

        Returns:
            The directory's :class:`~pathlib.Path`.

        Raises:
            ProvingKeyError: ``path`` exists (unless ``overwrite`` and it is a proving key).
        """
        from zkinfer import pkfile

        return pkfile.save(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path, *, expected_digest=None, progress=None) -> ProvingKey:
        """Map a proving-key directory back, memory-mapped read-only (see
        :func:`zkinfer.pkfile.load` for what it checks and guarantees).

        Arguments:
            path: a directory written by :meth:`save`.
            expected_digest: the digest (``bytes`` or hex) the key's verifying key must have.
            progress: ``None``/``False``, ``True`` (a bar on stderr) or a
                ``progress(stage, done, total)`` callable.

        Raises:
            ProvingKeyError: (a :class:`~zkinfer.errors.ProofFormatError`) not a proving key,
                another format version, a malformed or corrupted file (named in the message),
                or a verifying key other than ``expected_digest``.
        """
        from zkinfer import pkfile
        from zkinfer.progress import resolve

        callback, owned = resolve(progress)
        try:
            return pkfile.load(path, expected_digest=expected_digest, progress=callback)
        finally:
            if owned:
                callback.close()


# ---------------------------------------------------------------------------------------------
# proofs


@dataclass(frozen=True, eq=False, repr=False)
class Proof:
    """A proof of one inference.

    Attributes:
        vk_digest: the digest of the verifying key it was made for.
        ids: the public input: the token ids (a decoder's prompt).
        output: the public output: an encoder's pooled integer vector, a decoder's generated
            ids.
        trace_commitment: bytes of the trace commitment.
        body: everything sent after it, by part (per segment its relations, identity groups
            and range checks; the two openings; :class:`~zkinfer.protocol.engine.CircuitProof`).
        max_new_tokens: a decoder's generation limit (``>= 1``); ``0`` for an encoder.
        predictions: a decoder's greedy tokens at the prompt's positions ``0 .. P-2``
            (:class:`~zkinfer.statement.Answer`); empty for an encoder.
    """

    vk_digest: bytes
    ids: npt.NDArray[np.int64]
    output: npt.NDArray[np.int64]
    trace_commitment: bytes
    body: CircuitProof
    max_new_tokens: int = 0
    predictions: npt.NDArray[np.int64] = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=np.int64))

    def answer(self):
        """A decoder proof's :class:`~zkinfer.statement.Answer` (``max_new_tokens > 0``),
        else ``None``."""
        from zkinfer.statement import Answer

        if not self.max_new_tokens:
            return None
        return Answer(self.ids, self.output, self.max_new_tokens, self.predictions)

    def __repr__(self) -> str:
        # short: a proof of several megabytes must not flood a REPL or a notebook
        try:
            n_in, n_out = len(self.ids), len(self.output)
            head = ", ".join(str(int(v)) for v in np.asarray(self.output)[:4])
            return (f"Proof(vk {bytes(self.vk_digest).hex()[:16]}..., {n_in} tokens -> "
                    f"{n_out} outputs [{head}{', ...' if n_out > 4 else ''}], "
                    f"{len(self.body.relations)} relations)")
        except Exception:  # a repr never raises, whatever a caller put in the fields
            return "Proof(<malformed>)"

    def to_bytes(self) -> bytes:
        w = Writer()
        w.header(_PROOF_MAGIC, FORMAT_VERSION)
        w.raw(self.vk_digest)
        w.u32s(np.asarray(self.ids, dtype=np.int64))
        out = np.asarray(self.output, dtype=np.int64)
        w.u32(out.shape[0])
        w.raw(out.astype("<i8").tobytes())
        w.u32(int(self.max_new_tokens))
        w.u32s(np.asarray(self.predictions, dtype=np.int64))
        w.bytes(self.trace_commitment)
        self.body.write(w)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> Proof:
        """Strict decoding (each PCS opening stays bytes until the verifier's PCS decodes it).

        Raises:
            ProofFormatError: malformed bytes.
        """
        if not isinstance(data, (bytes, bytearray)):
            raise ProofFormatError("a proof is bytes")
        r = Reader(bytes(data), "proof")
        r.header(_PROOF_MAGIC, (FORMAT_VERSION,))
        digest = r.raw(32)
        ids = np.array(r.u32s(_MAX_TOKENS), dtype=np.int64)
        n_out = r.count(1 << 20, 8)
        output = np.frombuffer(r.raw(8 * n_out), dtype="<i8").astype(np.int64)
        max_new = r.u32()
        predictions = np.array(r.u32s(_MAX_TOKENS), dtype=np.int64)
        commitment = r.bytes(1 << 20)
        body = CircuitProof.read(r)
        r.finish()
        return cls(digest, ids, output, commitment, body, max_new, predictions)


def statement_transcript(vk: VerifyingKey, ids: npt.ArrayLike, output: npt.ArrayLike,
                         answer=None) -> Transcript:
    """The transcript both sides start from: version label, vk digest, input, output, and for a
    decoder (``answer``, a :class:`~zkinfer.statement.Answer`) its limit and predictions."""
    t = Transcript(b"zkinfer/inference/v1")
    t.append_bytes(b"vk-digest", vk.digest)
    t.append_bytes(b"input-ids", np.asarray(ids, dtype="<i8").tobytes())
    t.append_bytes(b"output", np.asarray(output, dtype="<i8").tobytes())
    if answer is not None:
        t.append_bytes(b"max-new-tokens", int(answer.max_new_tokens).to_bytes(8, "little"))
        t.append_bytes(b"predictions", np.asarray(answer.predictions, dtype="<i8").tobytes())
    return t
