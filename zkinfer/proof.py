"""The verifying key, the proving key and the proof, with their canonical binary encodings.

Encodings follow :mod:`zkinfer.codec` (magic, ``u16`` version, counts bounded before
allocation, canonical field elements, no trailing bytes). Decoding never executes anything from
the bytes: the public model description is a tree of whitelisted dataclasses whose fields are
integers, floats, strings, integer/float arrays and nested whitelisted dataclasses.

``VerifyingKey``: the public model (every parameter except the weight matrices, which appear
only as shapes), the PCS parameters, the weight commitment, and ``digest`` = BLAKE2b of all of
it. ``Proof``: the vk digest, the public input and output, the trace commitment and the
relation steps of :mod:`zkinfer.protocol.engine`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import ProofFormatError
from zkinfer.lookup.gkr import FractionProof
from zkinfer.lookup.logup import LookupProof
from zkinfer.protocol.engine import MatmulStep, TableStep, ValueStep
from zkinfer.protocol.matmul import MatmulProof
from zkinfer.protocol.openings import OpeningsProof
from zkinfer.protocol.range import MAX_TREES, RangeProof
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.sumcheck.common import SumcheckProof
from zkinfer.transcript import Transcript

__all__ = [
    "VerifyingKey",
    "ProvingKey",
    "Proof",
    "FORMAT_VERSION",
    "MAX_PROOF_BYTES",
    "statement_transcript",
]

FORMAT_VERSION = 2
MAX_PROOF_BYTES = 1 << 31
_VK_MAGIC = b"ZKVK"
_PROOF_MAGIC = b"ZKPF"
_MAX_ITEMS = 1 << 20
_MAX_TOKENS = 1 << 16
_MAX_DEPTH = 8


# ---------------------------------------------------------------------------------------------
# public model: a whitelisted dataclass tree


def _model_classes() -> dict[str, type]:
    from zkinfer.model import config, intmodel

    names = ["TransformerConfig", "QuantConfig"]
    classes = {n: getattr(config, n) for n in names}
    for n in ("Requant", "IntLinear", "IntLayerNorm", "IntAttention", "IntFFN", "IntLayer",
              "IntModel"):
        classes[n] = getattr(intmodel, n)
    return classes


_SHAPE_ONLY = {("IntLinear", "w"), ("IntModel", "tok_emb"), ("IntModel", "pos_emb")}


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
        for f in dataclasses.fields(v):
            value = getattr(v, f.name)
            if strip and (name, f.name) in _SHAPE_ONLY and value is not None:
                w.u8(10)  # a weight matrix: its shape only
                w.u32s(np.shape(value))
            else:
                _write_value(w, value, depth + 1, strip)
    else:
        raise ValueError(f"cannot encode {type(v).__name__}")


def _read_value(r: Reader, depth: int):
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
        try:
            return r.bytes(1 << 10).decode()
        except UnicodeDecodeError as exc:
            raise ProofFormatError("bad string in model description") from exc
    if tag in (5, 6):
        shape = tuple(r.u32s(4, 1 << 24))
        count = int(np.prod(shape, dtype=np.int64))
        if 8 * count > r.remaining:
            raise ProofFormatError("array larger than the remaining bytes")
        dtype = "<i8" if tag == 5 else "<f8"
        arr = np.frombuffer(r.raw(8 * count), dtype=dtype).astype(dtype[1:]).reshape(shape)
        return arr
    if tag == 7:
        n = r.count(_MAX_ITEMS, 1)
        return tuple(_read_value(r, depth + 1) for _ in range(n))
    if tag == 8:
        n = r.count(_MAX_ITEMS, 1)
        out = {}
        for _ in range(n):
            key = r.bytes(1 << 10).decode(errors="strict")
            out[key] = _read_value(r, depth + 1)
        return out
    if tag == 9:
        name = r.bytes(64).decode(errors="replace")
        cls = _model_classes().get(name)
        if cls is None:
            raise ProofFormatError(f"unknown model class {name!r}")
        kwargs = {}
        for f in dataclasses.fields(cls):
            kwargs[f.name] = _read_value(r, depth + 1)
        try:
            return cls(**{k: v for k, v in kwargs.items()})
        except (TypeError, ValueError) as exc:
            raise ProofFormatError(f"invalid {name}: {exc}") from None
    if tag == 10:
        shape = tuple(r.u32s(4, 1 << 24))
        return shape_only(shape)
    raise ProofFormatError(f"unknown value tag {tag}")


def encode_public_model(model) -> bytes:
    """The model without its weight matrices (shapes only)."""
    w = Writer()
    _write_value(w, model, 0, strip=True)
    return w.finish()


def decode_public_model(data: bytes):
    """Strict inverse of :func:`encode_public_model`.

    Raises:
        ProofFormatError: malformed bytes or an invalid model description.
    """
    r = Reader(data, "model description")
    try:
        model = _read_value(r, 0)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ProofFormatError):
            raise
        raise ProofFormatError(f"bad model description: {exc}") from None
    r.finish()
    if type(model).__name__ != "IntModel":
        raise ProofFormatError("model description is not a model")
    return model


# ---------------------------------------------------------------------------------------------
# keys


@dataclass(frozen=True, eq=False)
class VerifyingKey:
    """Public: model description, PCS parameters, weight commitment; ``digest`` binds them."""

    model_bytes: bytes
    pcs_params: bytes
    weight_commitment: bytes

    @property
    def digest(self) -> bytes:
        h = hashlib.blake2b(digest_size=32, person=b"zkinfer-vk-v1")
        for part in (self.model_bytes, self.pcs_params, self.weight_commitment):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.digest()

    def to_bytes(self) -> bytes:
        w = Writer()
        w.header(_VK_MAGIC, FORMAT_VERSION)
        w.bytes(self.model_bytes)
        w.bytes(self.pcs_params)
        w.bytes(self.weight_commitment)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> VerifyingKey:
        """Strict decoding.

        Raises:
            ProofFormatError: malformed bytes.
        """
        if not isinstance(data, (bytes, bytearray)):
            raise ProofFormatError("a verifying key is bytes")
        r = Reader(bytes(data), "verifying key")
        r.header(_VK_MAGIC, (FORMAT_VERSION,))
        vk = cls(r.bytes(MAX_PROOF_BYTES), r.bytes(1 << 12), r.bytes(1 << 20))
        r.finish()
        decode_public_model(vk.model_bytes)  # validate now, not at first use
        return vk

    def model(self):
        """The public model (weight matrices as shape-only placeholders)."""
        return decode_public_model(self.model_bytes)


@dataclass(frozen=True, eq=False)
class ProvingKey:
    """Prover-only: the model itself, the PCS, the weight commitment and its prover data.

    Never serialized (holds the weights).
    """

    model: object
    pcs: object
    vk: VerifyingKey
    weight_commitment: object
    weight_data: object
    weight_tables: dict


# ---------------------------------------------------------------------------------------------
# proof steps


def _w_sumcheck(w: Writer, p: SumcheckProof) -> None:
    p.write(w)


def _r_sumcheck(r: Reader) -> SumcheckProof:
    return SumcheckProof.read(r)


def _w_lookup(w: Writer, p: LookupProof) -> None:
    w.ext(p.fractions.root)
    w.u32(len(p.fractions.layers))
    for sc, evals in p.fractions.layers:
        sc.write(w)
        w.ext(evals)
    w.ext(p.column_evals)


def _r_lookup(r: Reader) -> LookupProof:
    root = r.ext(2)
    n = r.u32(64)
    layers = tuple((_r_sumcheck(r), r.ext(4)) for _ in range(n))
    return LookupProof(FractionProof(root, layers), r.ext(3))


def _w_fractions(w: Writer, p: FractionProof) -> None:
    w.ext(p.root)
    w.u32(len(p.layers))
    for sc, evals in p.layers:
        sc.write(w)
        w.ext(evals)


def _r_fractions(r: Reader) -> FractionProof:
    root = r.ext(2)
    n = r.u32(64)
    return FractionProof(root, tuple((_r_sumcheck(r), r.ext(4)) for _ in range(n)))


def _write_step(w: Writer, step) -> None:
    if isinstance(step, MatmulStep):
        w.u8(1)
        w.ext(step.value)
        step.proof.sumcheck.write(w)
        w.ext(step.proof.a_eval)
        w.ext(step.proof.b_eval)
    elif isinstance(step, TableStep):
        w.u8(2)
        _w_lookup(w, step.lookup)
        w.ext(step.evals)
    elif isinstance(step, ValueStep):
        w.u8(3)
        w.ext(step.value)
    elif isinstance(step, ZerocheckProof):
        w.u8(4)
        step.sumcheck.write(w)
        w.ext_vec(step.evaluations)
    elif isinstance(step, RangeProof):
        w.u8(5)
        w.u32(len(step.trees))
        for tree in step.trees:
            _w_fractions(w, tree)
        w.ext_vec(step.evals)
    elif isinstance(step, OpeningsProof):
        w.u8(6)
        step.sumcheck.write(w)
        w.ext(step.value)
        opening = step.opening
        w.bytes(opening if isinstance(opening, bytes) else opening.to_bytes())
    else:  # pragma: no cover
        raise ValueError(f"unknown step {type(step).__name__}")


def _read_step(r: Reader):
    tag = r.u8(6)
    if tag == 1:
        value = r.ext(1)[0]
        sc = _r_sumcheck(r)
        a, b = r.ext(1)[0], r.ext(1)[0]
        return MatmulStep(value, MatmulProof(sc, a, b))
    if tag == 2:
        return TableStep(_r_lookup(r), r.ext(2))
    if tag == 3:
        return ValueStep(r.ext(1)[0])
    if tag == 4:
        sc = _r_sumcheck(r)
        return ZerocheckProof(sc, r.ext_vec(1 << 16))
    if tag == 5:
        # each tree takes at least its root (32 bytes) and its layer count (4 bytes)
        trees = tuple(_r_fractions(r) for _ in range(r.count(MAX_TREES, 36)))
        return RangeProof(trees, r.ext_vec(_MAX_ITEMS))
    if tag == 6:
        sc = _r_sumcheck(r)
        value = r.ext(1)[0]
        # the PCS decodes (strictly) its own opening proof when it verifies it
        return OpeningsProof(sc, value, r.bytes(MAX_PROOF_BYTES))
    raise ProofFormatError(f"unknown proof step {tag}")


@dataclass(frozen=True, eq=False)
class Proof:
    """A proof of one inference.

    Attributes:
        vk_digest: the digest of the verifying key it was made for.
        ids: the public input (token ids).
        output: the public output (the pooled integer vector).
        trace_commitment: bytes of the trace commitment.
        steps: the relation proofs (:mod:`zkinfer.protocol.engine`).
    """

    vk_digest: bytes
    ids: npt.NDArray[np.int64]
    output: npt.NDArray[np.int64]
    trace_commitment: bytes
    steps: tuple

    def to_bytes(self) -> bytes:
        w = Writer()
        w.header(_PROOF_MAGIC, FORMAT_VERSION)
        w.raw(self.vk_digest)
        w.u32s(np.asarray(self.ids, dtype=np.int64))
        out = np.asarray(self.output, dtype=np.int64)
        w.u32(out.shape[0])
        w.raw(out.astype("<i8").tobytes())
        w.bytes(self.trace_commitment)
        w.u32(len(self.steps))
        for step in self.steps:
            _write_step(w, step)
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
        commitment = r.bytes(1 << 20)
        n_steps = r.count(_MAX_ITEMS, 1)
        steps = tuple(_read_step(r) for _ in range(n_steps))
        r.finish()
        return cls(digest, ids, output, commitment, steps)


def statement_transcript(vk: VerifyingKey, ids: npt.ArrayLike, output: npt.ArrayLike) -> Transcript:
    """The transcript both sides start from: version label, vk digest, input, output."""
    t = Transcript(b"zkinfer/inference/v1")
    t.append_bytes(b"vk-digest", vk.digest)
    t.append_bytes(b"input-ids", np.asarray(ids, dtype="<i8").tobytes())
    t.append_bytes(b"output", np.asarray(output, dtype="<i8").tobytes())
    return t


def soundness_bits(proof: Proof, pcs_bits: float) -> float:
    """Bits of soundness of the whole proof, by a union bound over its components.

    Every sumcheck contributes ``rounds * degree / p^2``, every look-up ``(M + T) / p^2`` for
    its challenge (bounded here by ``2^(rounds of its first layer + 1) / p^2``), every random
    linear combination ``count / p^2``, and each of the two PCS openings ``2^-pcs_bits``. The
    result is dominated by the PCS; the field terms are far below it.
    """
    import math

    field = 0.0
    p2 = float(2**128)
    for step in proof.steps:
        for sc in _sumchecks(step):
            rounds, width = sc.round_polys.shape[:2]
            field += rounds * max(1, width - 1) / p2
        if isinstance(step, TableStep):
            lk = step.lookup
            field += 2.0 ** (len(lk.fractions.layers) + 1) / p2
        if isinstance(step, RangeProof):  # alpha: the leaves of all trees
            field += sum(2.0 ** len(tree.layers) for tree in step.trees) / p2
    total = field + 2 * 2.0 ** (-pcs_bits)
    return -math.log2(total)


def _sumchecks(step) -> list[SumcheckProof]:
    if isinstance(step, MatmulStep):
        return [step.proof.sumcheck]
    if isinstance(step, (ZerocheckProof, OpeningsProof)):
        return [step.sumcheck]
    if isinstance(step, TableStep):
        return [sc for sc, _ in step.lookup.fractions.layers]
    if isinstance(step, RangeProof):
        return [sc for tree in step.trees for sc, _ in tree.layers]
    return []
