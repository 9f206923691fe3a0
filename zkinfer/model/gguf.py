"""Reading Llama-family checkpoints from GGUF files (llama.cpp's format) into float64 numpy arrays.

:func:`read_llama_gguf` reads a file with ``gguf.GGUFReader``, checks the architecture
(``general.architecture == "llama"``), the hyper-parameters, the tokenizer arrays and every tensor
(name, shape, GGML type, finite values), dequantizes the tensors with ``gguf.quants.dequantize``
and returns a :class:`LlamaCheckpoint` whose weights carry Hugging Face names and orientation.

Orientation and RoPE layout. A GGUF tensor of GGML shape ``[n_in, n_out]`` (``ne0`` first) is a
numpy array ``(n_out, n_in)``: the Hugging Face ``nn.Linear`` orientation, kept as is. llama.cpp's
converter permutes the rows of ``q_proj`` and ``k_proj`` inside every head so that llama.cpp can
rotate *interleaved* pairs ``(2i, 2i + 1)``: the converter's row ``2i + j`` of a head is the
Hugging Face row ``j * head_dim / 2 + i`` (``j`` in ``{0, 1}``, ``i < head_dim / 2``). The reader
undoes it (:func:`gguf_to_hf_rows`), so the weights here use the Hugging Face convention: RoPE
rotates the pairs ``(i, i + head_dim / 2)`` of each head (``rotate_half``). Both conventions give
the same attention scores (the permutation is the same on queries and keys); the tests check it.

``gguf`` is an optional dependency (extra ``llm``); without it the reader raises
:class:`~zkinfer.errors.MissingDependencyError`.
"""

from __future__ import annotations

import importlib.metadata
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zkinfer.errors import MissingDependencyError, ModelError
from zkinfer.model.loaders import sha256_file

__all__ = [
    "LlamaConfig",
    "TokenizerData",
    "LlamaCheckpoint",
    "read_llama_gguf",
    "read_gguf_tokenizer",
    "expected_shapes",
    "gguf_to_hf_rows",
    "hf_to_gguf_rows",
    "import_gguf",
    "SUPPORTED_LLAMA_KEYS",
]

#: ``llama.*`` metadata keys the reader understands. Any other ``llama.*`` key (rope scaling,
#: experts, logit soft-capping, ...) could change the computation, so it is refused.
SUPPORTED_LLAMA_KEYS = frozenset({
    "block_count", "context_length", "embedding_length", "feed_forward_length",
    "attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
    "attention.key_length", "attention.value_length", "rope.freq_base", "rope.dimension_count",
    "vocab_size", "rope.scaling.type", "expert_count", "expert_used_count",
})  # fmt: skip

#: Token types of ``tokenizer.ggml.token_type`` (llama.cpp's ``llama_token_type``).
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class LlamaConfig:
    """Hyper-parameters of a Llama decoder.

    Attributes:
        n_layers: number of decoder blocks.
        d_model: width of the residual stream.
        n_heads: query heads.
        n_kv_heads: key/value heads (grouped-query attention: query head ``h`` reads kv head
            ``h // (n_heads // n_kv_heads)``).
        d_ff: hidden width of the SwiGLU feed-forward block.
        vocab_size: number of tokens (rows of the embedding).
        rope_theta: RoPE base frequency.
        rms_eps: RMSNorm epsilon.
        head_dim: ``d_model // n_heads``; even (RoPE rotates pairs).
        max_seq_len: context length (``llama.context_length``).
        bos_id: beginning-of-sequence token id, or ``None``.
        eos_id: end-of-sequence token id.
        pad_id: padding token id, or ``None``.
        tied: the LM head is the embedding matrix (no separate ``lm_head.weight``).
    """

    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    d_ff: int
    vocab_size: int
    rope_theta: float
    rms_eps: float
    head_dim: int
    max_seq_len: int
    bos_id: int | None
    eos_id: int
    pad_id: int | None
    tied: bool

    def __post_init__(self) -> None:
        for name in ("n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab_size", "head_dim",
                     "max_seq_len"):  # fmt: skip
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise ModelError(f"LlamaConfig.{name} must be a positive integer, got {value!r}")
        if self.n_heads * self.head_dim != self.d_model:
            raise ModelError(
                f"head_dim {self.head_dim} * n_heads {self.n_heads} != d_model {self.d_model}"
            )
        if self.head_dim % 2:
            raise ModelError(f"head_dim {self.head_dim} is odd (RoPE rotates pairs of channels)")
        if self.n_heads % self.n_kv_heads:
            raise ModelError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.n_kv_heads}")
        for name in ("rope_theta", "rms_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0
            ):
                raise ModelError(f"LlamaConfig.{name} must be a positive finite number, got {value!r}")
        for name in ("bos_id", "eos_id", "pad_id"):
            value = getattr(self, name)
            if value is None and name != "eos_id":
                continue
            if not _is_int(value) or not 0 <= value < self.vocab_size:
                raise ModelError(f"LlamaConfig.{name} {value!r} is not a token id below {self.vocab_size}")
        if not isinstance(self.tied, bool):
            raise ModelError(f"LlamaConfig.tied must be a bool, got {self.tied!r}")

    @property
    def group(self) -> int:
        """Query heads per kv head, ``n_heads // n_kv_heads``."""
        return self.n_heads // self.n_kv_heads


@dataclass(frozen=True)
class TokenizerData:
    """The tokenizer arrays of a GGUF file (``tokenizer.ggml.*``), unchanged.

    Attributes:
        model: ``tokenizer.ggml.model`` (``"gpt2"`` for byte-level BPE).
        pre: ``tokenizer.ggml.pre``, the pre-tokenizer name (e.g. ``"smollm"``), or ``None``.
        tokens: the vocabulary, token ``i`` at index ``i`` (byte-level strings for ``"gpt2"``).
        token_types: ``int32`` array, one type per token (1 normal, 2 unknown, 3 control,
            4 user-defined, 5 unused, 6 byte).
        merges: the BPE merges in rank order, each ``"left right"``; empty if the file has none.
        bos_id: ``tokenizer.ggml.bos_token_id`` or ``None``.
        eos_id: ``tokenizer.ggml.eos_token_id``.
        unk_id: ``tokenizer.ggml.unknown_token_id`` or ``None``.
        pad_id: ``tokenizer.ggml.padding_token_id`` or ``None``.
        add_bos: ``tokenizer.ggml.add_bos_token`` (``False`` if absent).
    """

    model: str
    pre: str | None
    tokens: tuple[str, ...]
    token_types: np.ndarray
    merges: tuple[str, ...]
    bos_id: int | None
    eos_id: int
    unk_id: int | None
    pad_id: int | None
    add_bos: bool

    @property
    def control_tokens(self) -> tuple[str, ...]:
        """The tokens of type control (3), in id order."""
        return tuple(self.tokens[i] for i in np.flatnonzero(self.token_types == TOKEN_CONTROL))


@dataclass
class LlamaCheckpoint:
    """A Llama checkpoint read from a GGUF file.

    Attributes:
        config: the hyper-parameters.
        weights: ``float64`` arrays under Hugging Face names (:func:`expected_shapes`), linear
            weights ``(out, in)``, ``q_proj``/``k_proj`` rows in the Hugging Face (``rotate_half``)
            order.
        tokenizer_data: the vocabulary, merges, token types and pre-tokenizer name.
        chat_template: ``tokenizer.chat_template`` (Jinja source), or ``None`` if absent.
        metadata: every scalar metadata entry (``str``, ``int``, ``float``, ``bool``) by key;
            arrays (the vocabulary, merges, ...) are left out.
        sha256: hex SHA-256 of the file.
        tensor_types: GGML type name of each weight in the file (``"Q4_1"``, ``"Q8_0"``, ``"F32"``,
            ...), by the same names as ``weights``.
        gguf_names: the tensor name in the file of each weight (``"blk.0.attn_q.weight"``, ...).
        path: the file read.
    """

    config: LlamaConfig
    weights: dict[str, np.ndarray]
    tokenizer_data: TokenizerData
    chat_template: str | None
    metadata: dict[str, Any]
    sha256: str
    tensor_types: dict[str, str] = field(default_factory=dict)
    gguf_names: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


def import_gguf() -> Any:
    """The ``gguf`` package.

    Returns:
        The imported module.

    Raises:
        MissingDependencyError: ``gguf`` is not installed.
    """
    try:
        import gguf
        import gguf.quants  # noqa: F401  (a submodule the reader needs)
    except ImportError as exc:
        raise MissingDependencyError(
            'reading GGUF files needs the package gguf: pip install "zkinfer[llm]"'
        ) from exc
    return gguf


def expected_shapes(config: LlamaConfig) -> dict[str, tuple[int, ...]]:
    """The weights of a Llama model and their shapes, by Hugging Face name.

    Arguments:
        config: the hyper-parameters.

    Returns:
        ``name -> shape``: ``model.embed_tokens.weight`` ``(vocab, d)``; per layer ``i``
        ``model.layers.{i}.input_layernorm.weight`` ``(d,)``, ``self_attn.{q,k,v,o}_proj.weight``,
        ``post_attention_layernorm.weight`` ``(d,)``, ``mlp.{gate,up,down}_proj.weight``;
        ``model.norm.weight`` ``(d,)``; ``lm_head.weight`` ``(vocab, d)`` only if not tied.
    """
    d, hd, f = config.d_model, config.head_dim, config.d_ff
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (config.vocab_size, d)}
    for i in range(config.n_layers):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (d,)
        shapes[p + "self_attn.q_proj.weight"] = (config.n_heads * hd, d)
        shapes[p + "self_attn.k_proj.weight"] = (config.n_kv_heads * hd, d)
        shapes[p + "self_attn.v_proj.weight"] = (config.n_kv_heads * hd, d)
        shapes[p + "self_attn.o_proj.weight"] = (d, config.n_heads * hd)
        shapes[p + "post_attention_layernorm.weight"] = (d,)
        shapes[p + "mlp.gate_proj.weight"] = (f, d)
        shapes[p + "mlp.up_proj.weight"] = (f, d)
        shapes[p + "mlp.down_proj.weight"] = (d, f)
    shapes["model.norm.weight"] = (d,)
    if not config.tied:
        shapes["lm_head.weight"] = (config.vocab_size, d)
    return shapes


def _gguf_name(name: str) -> str:
    """The GGUF tensor name of a Hugging Face weight name."""
    fixed = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    if name in fixed:
        return fixed[name]
    per_layer = {
        "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
        "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }  # fmt: skip
    _, _, layer, rest = name.split(".", 3)
    return f"blk.{layer}.{per_layer[rest.removesuffix('.weight')]}.weight"


def gguf_to_hf_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's RoPE row permutation of ``q_proj`` / ``k_proj``.

    Inside each head of ``head_dim`` rows, GGUF row ``2i + j`` holds Hugging Face row
    ``j * head_dim / 2 + i`` (``j`` in ``{0, 1}``).

    Arguments:
        w: ``(n_heads * head_dim, d_in)`` weight in the GGUF (interleaved pairs) row order.
        n_heads: number of heads of this projection (query heads for ``q``, kv heads for ``k``).

    Returns:
        The same weight in the Hugging Face (``rotate_half``) row order (a new array).
    """
    rows, d_in = w.shape
    hd = rows // n_heads
    return w.reshape(n_heads, hd // 2, 2, d_in).swapaxes(1, 2).reshape(rows, d_in).copy()


def hf_to_gguf_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's RoPE row permutation of ``q_proj`` / ``k_proj`` (inverse of :func:`gguf_to_hf_rows`).

    Arguments:
        w: ``(n_heads * head_dim, d_in)`` weight in the Hugging Face row order.
        n_heads: number of heads of this projection.

    Returns:
        The weight in the GGUF row order, whose RoPE rotates interleaved pairs ``(2i, 2i + 1)``.
    """
    rows, d_in = w.shape
    hd = rows // n_heads
    return w.reshape(n_heads, 2, hd // 2, d_in).swapaxes(1, 2).reshape(rows, d_in).copy()


def read_llama_gguf(path: str | Path, sha256: str | None = None) -> LlamaCheckpoint:
    """Read and validate a Llama-family GGUF checkpoint; weights dequantized to ``float64``.

    Metadata: ``general.architecture`` must be ``"llama"``; required keys ``llama.block_count``,
    ``llama.context_length``, ``llama.embedding_length``, ``llama.feed_forward_length``,
    ``llama.attention.head_count``, ``llama.attention.layer_norm_rms_epsilon``,
    ``tokenizer.ggml.model``, ``tokenizer.ggml.tokens``, ``tokenizer.ggml.token_type``,
    ``tokenizer.ggml.eos_token_id`` (and ``tokenizer.ggml.merges`` for a ``"gpt2"`` tokenizer).
    As in llama.cpp, ``llama.attention.head_count_kv`` defaults to the head count and
    ``llama.rope.freq_base`` to 10000. ``llama.vocab_size``, ``llama.rope.dimension_count`` and
    ``llama.attention.{key,value}_length`` are optional but must agree with the rest (no partial
    rotary embedding); other ``llama.*`` keys (:data:`SUPPORTED_LLAMA_KEYS`) are refused unless
    neutral (rope scaling ``"none"``, zero experts). ``rope_theta`` and ``rms_eps`` are the
    shortest decimals that round to the stored ``float32`` (1e-5, not 9.99999975e-06).

    Tensors: exactly those of :func:`expected_shapes` under their GGUF names (``output.weight``
    present means an untied LM head), each of the expected shape, of a GGML type that
    ``gguf.quants.dequantize`` handles, with finite values. ``q_proj``/``k_proj`` rows are put
    back in the Hugging Face order (see the module docstring).

    Arguments:
        path: the ``.gguf`` file.
        sha256: expected hex SHA-256 of the file, checked before parsing; ``None`` skips the check
            (the digest is computed and recorded either way).

    Returns:
        The checkpoint.

    Raises:
        MissingDependencyError: ``gguf`` is not installed.
        ModelError: the file is missing, not a GGUF file, has the wrong hash, another
            architecture, missing or inconsistent metadata, missing, unexpected or misshapen
            tensors, or a tensor type ``gguf`` cannot dequantize; the message names which.
    """
    gguf = import_gguf()
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"GGUF file not found: {path}")
    digest = sha256_file(path)
    if sha256 is not None and digest != sha256.lower():
        raise ModelError(f"{path.name}: SHA-256 {digest} does not match the expected {sha256}")
    try:
        reader = gguf.GGUFReader(str(path), "r")
    except Exception as exc:  # the reader raises ValueError, struct errors, IndexError, ...
        raise ModelError(f"{path.name}: not a readable GGUF file ({type(exc).__name__}: {exc})") from exc

    meta = _Metadata(reader.fields, path.name)
    arch = meta.get("general.architecture", str)
    if arch != "llama":
        raise ModelError(f"{path.name}: architecture {arch!r} is not supported (only 'llama')")
    config, tokenizer_data = _config(meta, reader, path.name)
    weights, types, names = _tensors(gguf, reader, config, path.name)
    template = meta.get("tokenizer.chat_template", str, required=False)
    return LlamaCheckpoint(
        config=config, weights=weights, tokenizer_data=tokenizer_data, chat_template=template,
        metadata=meta.scalars(), sha256=digest, tensor_types=types, gguf_names=names, path=path,
    )  # fmt: skip


def read_gguf_tokenizer(path: str | Path, sha256: str | None = None) -> tuple[TokenizerData, str | None]:
    """The tokenizer of a GGUF file and its chat template, without reading the tensors.

    Reads only the header and the key-value metadata (:func:`_read_metadata`, the project's own
    parser: ``gguf.GGUFReader`` decodes every field and tensor record first, seconds for a
    49152-token vocabulary), with the checks of :func:`read_llama_gguf` on the tokenizer keys.
    Needs no optional dependency.

    Arguments:
        path: the ``.gguf`` file.
        sha256: expected hex SHA-256 of the file, checked before parsing (``None`` skips it).

    Returns:
        ``(tokenizer data, tokenizer.chat_template or None)``.

    Raises:
        ModelError: the file is missing, has the wrong hash, is not a little-endian GGUF file of
            version 2 or 3, its metadata is truncated or malformed, or the tokenizer keys are
            missing or inconsistent.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"GGUF file not found: {path}")
    if sha256 is not None:
        digest = sha256_file(path)
        if digest != sha256.lower():
            raise ModelError(f"{path.name}: SHA-256 {digest} does not match the expected {sha256}")
    meta = _Metadata(_read_metadata(path), path.name)
    return _tokenizer_data(meta, path.name), meta.get("tokenizer.chat_template", str, required=False)


#: GGUF value types: scalar struct codes by type id (8 string, 9 array).
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


@dataclass(frozen=True)
class _Field:
    """One decoded metadata value (the interface :class:`_Metadata` reads from ``gguf``'s
    fields: ``contents()`` and ``types``, one entry for a scalar, two for an array)."""

    value: Any
    types: tuple[int, ...]

    def contents(self) -> Any:
        return self.value


def _read_metadata(path: Path) -> dict[str, _Field]:
    """The key-value metadata of a GGUF file (little-endian, version 2 or 3): ``magic "GGUF"``,
    ``u32`` version, ``u64`` tensor count, ``u64`` key count, then per key a string (``u64``
    length, UTF-8 bytes), a ``u32`` type and the value (an array: ``u32`` item type, ``u64``
    count, the items). Numeric arrays are decoded with numpy, strings one by one.

    Raises:
        ModelError: another format or version, a truncated file, an unknown type, a nested
            array, invalid UTF-8, or a count larger than the file.
    """
    import mmap
    import struct

    name = path.name
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            buf = memoryview(mm)
            try:
                return _parse_metadata(buf, name, struct)
            finally:
                buf.release()
    except (ValueError, OSError) as exc:  # an empty file cannot be mapped
        raise ModelError(f"{name}: not a readable GGUF file ({exc})") from None


def _parse_metadata(buf: memoryview, name: str, struct: Any) -> dict[str, _Field]:
    size = len(buf)
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        n = struct.calcsize(fmt)
        if pos + n > size:
            raise ModelError(f"{name}: truncated GGUF metadata")
        value = struct.unpack_from(fmt, buf, pos)
        pos += n
        return value if len(value) > 1 else value[0]

    def string() -> str:
        nonlocal pos
        n = take("<Q")
        if n > size - pos:
            raise ModelError(f"{name}: truncated GGUF metadata (a string of {n} bytes)")
        raw = bytes(buf[pos: pos + n])
        pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"{name}: a metadata string is not UTF-8") from None

    def scalar(kind: int) -> Any:
        if kind == _GGUF_STRING:
            return string()
        code = _GGUF_SCALARS.get(kind)
        if code is None:
            raise ModelError(f"{name}: unknown GGUF value type {kind}")
        return take("<" + code)

    if size < 24 or bytes(buf[:4]) != b"GGUF":
        raise ModelError(f"{name}: not a GGUF file")
    pos = 4
    version = take("<I")
    if version not in (2, 3):
        raise ModelError(f"{name}: GGUF version {version} is not supported (2 or 3, little-endian)")
    _tensors, count = take("<QQ")
    if count > size:
        raise ModelError(f"{name}: {count} metadata keys in a file of {size} bytes")
    out: dict[str, _Field] = {}
    for _ in range(count):
        key = string()
        kind = take("<I")
        if kind != _GGUF_ARRAY:
            out[key] = _Field(scalar(kind), (kind,))
            continue
        item, n = take("<IQ")
        if item == _GGUF_ARRAY:
            raise ModelError(f"{name}: metadata {key!r} is a nested array (not supported)")
        if n > size - pos:
            raise ModelError(f"{name}: metadata {key!r} declares {n} items past the end of the file")
        code = _GGUF_SCALARS.get(item)
        if code is not None and item != 7:  # numbers in one numpy read
            width = struct.calcsize(code)
            if pos + n * width > size:
                raise ModelError(f"{name}: truncated GGUF metadata (array {key!r})")
            values = np.frombuffer(buf, dtype="<" + code, count=n, offset=pos).tolist()
            pos += n * width
        else:
            values = [scalar(item) for _ in range(n)]
        out[key] = _Field(values, (_GGUF_ARRAY, item))
    return out


class _Metadata:
    """Typed access to GGUF key-value fields, every failure a :class:`ModelError`."""

    def __init__(self, fields: Any, filename: str) -> None:
        self.fields = fields  # gguf's ReaderFields or :func:`_read_metadata`'s fields
        self.filename = filename

    def _contents(self, key: str) -> Any:
        try:
            return self.fields[key].contents()
        except Exception as exc:  # malformed field data
            raise ModelError(f"{self.filename}: metadata {key!r} is unreadable ({exc})") from exc

    def get(self, key: str, kind: type, required: bool = True, default: Any = None) -> Any:
        if key not in self.fields:
            if required:
                raise ModelError(f"{self.filename}: metadata key {key!r} missing")
            return default
        value = self._contents(key)
        ok = (
            _is_int(value) if kind is int
            else isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )  # fmt: skip
        if not ok:
            raise ModelError(f"{self.filename}: metadata {key!r} should be a {kind.__name__}, got {value!r}")
        return value

    def get_list(self, key: str, item: type, required: bool = True) -> list[Any] | None:
        if key not in self.fields:
            if required:
                raise ModelError(f"{self.filename}: metadata key {key!r} missing")
            return None
        value = self._contents(key)
        if not isinstance(value, list) or not all(
            isinstance(v, item) and not (item is int and isinstance(v, bool)) for v in value
        ):
            raise ModelError(f"{self.filename}: metadata {key!r} should be a list of {item.__name__}")
        return value

    def scalars(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, fld in self.fields.items():
            if len(fld.types) != 1:
                continue  # arrays
            try:
                value = fld.contents()
            except Exception:  # a scalar of a type the package cannot decode: left out
                continue
            if isinstance(value, (str, int, float, bool)):
                out[key] = value
        return out


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "version unknown"


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _f32_decimal(value: float) -> float:
    """The shortest decimal that rounds to ``value`` if ``value`` is a ``float32`` (what the converter
    wrote, e.g. 1e-5 for 9.99999975e-06), else ``value``."""
    value = float(value)
    if float(np.float32(value)) != value:
        return value
    return float(str(np.float32(value)))


def _config(meta: _Metadata, reader: Any, filename: str) -> tuple[LlamaConfig, TokenizerData]:
    for key in meta.fields:
        if key.startswith("llama.") and key[len("llama."):] not in SUPPORTED_LLAMA_KEYS:
            raise ModelError(f"{filename}: metadata {key!r} is not supported by the Llama reader")
    scaling = meta.get("llama.rope.scaling.type", str, required=False, default="none")
    if scaling != "none":
        raise ModelError(f"{filename}: rope scaling {scaling!r} is not supported")
    for key in ("llama.expert_count", "llama.expert_used_count"):
        if meta.get(key, int, required=False, default=0) != 0:
            raise ModelError(f"{filename}: {key} != 0 (mixture of experts) is not supported")

    def positive(key: str, default: Any = None) -> int:
        value = meta.get(key, int, required=default is None, default=default)
        if value <= 0:
            raise ModelError(f"{filename}: metadata {key!r} must be positive, got {value}")
        return int(value)

    n_layers = positive("llama.block_count")
    max_seq_len = positive("llama.context_length")
    d_model = positive("llama.embedding_length")
    d_ff = positive("llama.feed_forward_length")
    n_heads = positive("llama.attention.head_count")
    n_kv = positive("llama.attention.head_count_kv", n_heads)
    eps = meta.get("llama.attention.layer_norm_rms_epsilon", float)
    theta = meta.get("llama.rope.freq_base", float, required=False, default=10000.0)
    if d_model % n_heads:
        raise ModelError(f"{filename}: embedding_length {d_model} is not a multiple of head_count {n_heads}")
    head_dim = d_model // n_heads
    for key in ("llama.rope.dimension_count", "llama.attention.key_length", "llama.attention.value_length"):
        value = meta.get(key, int, required=False, default=head_dim)
        if value != head_dim:
            raise ModelError(f"{filename}: {key} = {value} differs from head_dim {head_dim} (not supported)")

    data = _tokenizer_data(meta, filename)
    vocab = len(data.tokens)
    declared = meta.get("llama.vocab_size", int, required=False, default=vocab)
    if declared != vocab:
        raise ModelError(f"{filename}: llama.vocab_size {declared} but {vocab} tokens")
    tied = "output.weight" not in {t.name for t in reader.tensors}
    config = LlamaConfig(
        n_layers=n_layers, d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv, d_ff=d_ff,
        vocab_size=vocab, rope_theta=_f32_decimal(theta), rms_eps=_f32_decimal(eps), head_dim=head_dim,
        max_seq_len=max_seq_len, bos_id=data.bos_id, eos_id=data.eos_id, pad_id=data.pad_id, tied=tied,
    )  # fmt: skip
    return config, data


def _tokenizer_data(meta: _Metadata, filename: str) -> TokenizerData:
    """The ``tokenizer.ggml.*`` arrays and ids, checked against each other."""
    model = meta.get("tokenizer.ggml.model", str)
    pre = meta.get("tokenizer.ggml.pre", str, required=False)
    tokens = meta.get_list("tokenizer.ggml.tokens", str)
    types = meta.get_list("tokenizer.ggml.token_type", int)
    assert tokens is not None and types is not None
    if len(types) != len(tokens):
        raise ModelError(f"{filename}: {len(types)} token types for {len(tokens)} tokens")
    vocab = len(tokens)
    if vocab == 0:
        raise ModelError(f"{filename}: empty vocabulary")
    merges = meta.get_list("tokenizer.ggml.merges", str, required=model == "gpt2") or []

    def token_id(key: str, required: bool) -> int | None:
        value = meta.get(key, int, required=required)
        if value is not None and not 0 <= value < vocab:
            raise ModelError(f"{filename}: {key} = {value} is not a token id below {vocab}")
        return None if value is None else int(value)

    bos = token_id("tokenizer.ggml.bos_token_id", False)
    eos = token_id("tokenizer.ggml.eos_token_id", True)
    unk = token_id("tokenizer.ggml.unknown_token_id", False)
    pad = token_id("tokenizer.ggml.padding_token_id", False)
    add_bos = meta.get("tokenizer.ggml.add_bos_token", bool, required=False, default=False)
    assert eos is not None
    return TokenizerData(
        model=model, pre=pre, tokens=tuple(tokens), token_types=np.asarray(types, dtype=np.int32),
        merges=tuple(merges), bos_id=bos, eos_id=eos, unk_id=unk, pad_id=pad, add_bos=add_bos,
    )  # fmt: skip


def _tensors(
    gguf: Any, reader: Any, config: LlamaConfig, filename: str
) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, str]]:
    shapes = expected_shapes(config)
    by_name = {_gguf_name(name): name for name in shapes}
    found: dict[str, Any] = {}
    for tensor in reader.tensors:
        if tensor.name in found:
            raise ModelError(f"{filename}: tensor {tensor.name!r} appears twice")
        if tensor.name not in by_name:
            raise ModelError(f"{filename}: unexpected tensor {tensor.name!r} (not part of a Llama model)")
        found[tensor.name] = tensor
    missing = [g for g in by_name if g not in found]
    if missing:
        raise ModelError(f"{filename}: tensor(s) missing: {', '.join(missing[:5])}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    weights: dict[str, np.ndarray] = {}
    types: dict[str, str] = {}
    names: dict[str, str] = {}
    for gname, name in by_name.items():
        tensor = found[gname]
        qtype = tensor.tensor_type
        type_name = getattr(qtype, "name", str(qtype))
        try:
            values = gguf.quants.dequantize(tensor.data, qtype)
        except Exception as exc:  # NotImplementedError for types the package cannot dequantize
            raise ModelError(
                f"{filename}: tensor {gname!r} has GGML type {type_name}, which the installed gguf "
                f"package ({_version('gguf')}) cannot dequantize ({exc})"
            ) from exc
        values = np.asarray(values)
        if values.dtype.kind != "f":
            raise ModelError(f"{filename}: tensor {gname!r} of GGML type {type_name} is not floating point")
        if values.shape != shapes[name]:
            raise ModelError(
                f"{filename}: tensor {gname!r} has shape {values.shape} (numpy order), "
                f"expected {shapes[name]}"
            )
        values = values.astype(np.float64)
        if not np.isfinite(values).all():
            raise ModelError(f"{filename}: tensor {gname!r} has non-finite values")
        if name.endswith("self_attn.q_proj.weight"):
            values = gguf_to_hf_rows(values, config.n_heads)
        elif name.endswith("self_attn.k_proj.weight"):
            values = gguf_to_hf_rows(values, config.n_kv_heads)
        weights[name] = values
        types[name] = type_name
        names[name] = gname
    return weights, types, names
