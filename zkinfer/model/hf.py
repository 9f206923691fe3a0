"""Reading Llama checkpoints from Hugging Face model directories, and :func:`load_llama` for both formats.

:func:`read_llama_hf` reads a directory holding ``config.json`` (``model_type: "llama"``,
``architectures: ["LlamaForCausalLM"]``), the weights (``model.safetensors``, or shards listed by
``model.safetensors.index.json``), ``tokenizer.json`` and, optionally, ``tokenizer_config.json``
(chat template, special tokens, ``add_bos_token``), ``chat_template.jinja`` and
``generation_config.json``. It returns the :class:`~zkinfer.model.gguf.LlamaCheckpoint` the GGUF
reader returns (an :class:`HFLlamaCheckpoint`, a subclass that also keeps the ``tokenizer.json``
text), so the float model, the integer model and the rest work unchanged.

Conventions. Hugging Face weights already use the names and orientation of the checkpoint
(``nn.Linear`` ``(out, in)``) and ``q_proj``/``k_proj`` rows are already in the ``rotate_half``
order, so no row permutation is applied (the GGUF reader undoes llama.cpp's; the tests check that
both readers give the same logits). Tensors of type ``F64``, ``F32``, ``F16`` and ``BF16`` are
read (``BF16`` is the top half of a ``float32``; numpy has no such type, so it is widened here)
and converted to ``float64``.

Tokenizer. ``tokenizer.json`` is turned into :class:`~zkinfer.model.gguf.TokenizerData` (vocabulary
in id order, merges, added special tokens as control tokens, ``pre`` = ``"smollm"`` or ``"gpt-2"``
when the pre-tokenizer is exactly llama.cpp's, else ``None``). For encoding, :func:`load_llama`
uses :class:`HFTokenizer`, which runs ``tokenizers`` on the ``tokenizer.json`` itself (so any
normalizer / pre-tokenizer the file declares is honoured), with the interface of
:class:`~zkinfer.model.llama.LlamaTokenizer`; a ``.gguf`` file gets ``LlamaTokenizer``.

The checkpoint's ``sha256`` is the SHA-256 of the manifest ``"{file sha256}  {file name}\\n"``
(the ``sha256sum`` format) of the files read, sorted by file name.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zkinfer.errors import MissingDependencyError, ModelError
from zkinfer.model.gguf import (
    TOKEN_BYTE,
    TOKEN_CONTROL,
    TOKEN_NORMAL,
    TOKEN_UNUSED,
    TOKEN_USER_DEFINED,
    LlamaCheckpoint,
    LlamaConfig,
    TokenizerData,
    expected_shapes,
    read_llama_gguf,
)
from zkinfer.model.llama import LlamaFloat, LlamaTokenizer, SmolLM2, chat_ids, parse_chat_template
from zkinfer.model.loaders import sha256_file

__all__ = ["HFLlamaCheckpoint", "HFTokenizer", "LlamaModel", "read_llama_hf", "load_llama", "bf16_to_float64"]

_LLM_EXTRA = 'pip install "zkinfer[llm]"'
#: safetensors dtypes the reader converts to float64.
FLOAT_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": None}
_IM_END = "<|im_end|>"
#: the byte tokens of a BPE with byte fallback (``<0x0A>``)
_BYTE_TOKEN = re.compile(r"<0x[0-9A-F]{2}>")


@dataclass
class HFLlamaCheckpoint(LlamaCheckpoint):
    """A :class:`~zkinfer.model.gguf.LlamaCheckpoint` read from a Hugging Face directory.

    Attributes:
        tokenizer_json: the text of ``tokenizer.json`` (what :class:`HFTokenizer` runs).
        eos_ids: every end-of-sequence id of ``config.json`` then ``generation_config.json``
            (``eos_token_id`` may be a list; ``config.eos_id`` is the first); all stop generation.
        files: ``file name -> SHA-256`` of the files read.
    """

    tokenizer_json: str = ""
    eos_ids: tuple[int, ...] = ()
    files: dict[str, str] = field(default_factory=dict)


def _import(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"reading Hugging Face checkpoints needs the package {name}: {_LLM_EXTRA}"
        ) from exc


def bf16_to_float64(raw: bytes | bytearray | memoryview, shape: Sequence[int]) -> np.ndarray:
    """Widen little-endian bfloat16 data (the top 16 bits of float32) to float64.

    Arguments:
        raw: ``2 * prod(shape)`` bytes.
        shape: the tensor shape.

    Returns:
        ``float64`` array of ``shape`` (exact: every bfloat16 value is a float32).

    Raises:
        ModelError: the byte count does not match the shape.
    """
    n = math.prod(shape)
    if len(raw) != 2 * n:
        raise ModelError(f"bfloat16 data of {len(raw)} bytes for shape {tuple(shape)}")
    halves = np.frombuffer(bytes(raw), dtype="<u2").astype(np.uint32) << 16
    return halves.view(np.float32).astype(np.float64).reshape(tuple(shape))


def _read_json(path: Path, required: bool = True) -> Any:
    if not path.is_file():
        if required:
            raise ModelError(f"{path.name} not found in {path.parent}")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path.name}: not valid JSON ({exc})") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------- config


def _hf_config(cfg: Any, gen: Any) -> tuple[dict[str, Any], list[int]]:
    """Checked hyper-parameters (``LlamaConfig`` keywords without the token ids) and the eos ids."""
    f = "config.json"
    if not isinstance(cfg, dict):
        raise ModelError(f"{f}: not a JSON object")
    if cfg.get("model_type") != "llama":
        raise ModelError(f"{f}: model_type {cfg.get('model_type')!r} is not supported (only 'llama')")
    arch = cfg.get("architectures", ["LlamaForCausalLM"])
    if arch != ["LlamaForCausalLM"]:
        raise ModelError(f"{f}: architectures {arch!r} is not supported (only ['LlamaForCausalLM'])")
    rope = cfg.get("rope_parameters")  # the newer spelling of rope_theta / rope_scaling
    if rope is not None:
        if not isinstance(rope, dict) or rope.get("rope_type", "default") != "default" or not set(rope) <= {
            "rope_type", "rope_theta"
        }:
            raise ModelError(f"{f}: rope_parameters {rope!r} is not supported (only the default RoPE)")
        if "rope_theta" in rope:
            if "rope_theta" in cfg and cfg["rope_theta"] != rope["rope_theta"]:
                theta = cfg["rope_theta"]
                raise ModelError(f"{f}: rope_theta {theta!r} differs from rope_parameters {rope!r}")
            cfg = {**cfg, "rope_theta": rope["rope_theta"]}
    if cfg.get("rope_scaling") is not None:
        raise ModelError(f"{f}: rope_scaling {cfg['rope_scaling']!r} is not supported (must be null)")
    for key in ("attention_bias", "mlp_bias"):
        if cfg.get(key, False) is not False:
            raise ModelError(f"{f}: {key} = {cfg[key]!r} is not supported (must be false)")
    act = cfg.get("hidden_act", "silu")
    if act != "silu":
        raise ModelError(f"{f}: hidden_act {act!r} is not supported (only 'silu')")

    def positive(key: str, default: Any = None) -> int:
        if key not in cfg or (cfg[key] is None and default is not None):
            if default is None:
                raise ModelError(f"{f}: key {key!r} missing")
            return default
        value = cfg[key]
        if not _is_int(value) or value <= 0:
            raise ModelError(f"{f}: {key} must be a positive integer, got {value!r}")
        return value

    def number(key: str, default: float | None = None) -> float:
        value = cfg.get(key, default)
        if value is None:
            raise ModelError(f"{f}: key {key!r} missing")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0
        ):
            raise ModelError(f"{f}: {key} must be a positive finite number, got {value!r}")
        return float(value)

    d = positive("hidden_size")
    heads = positive("num_attention_heads")
    kv = positive("num_key_value_heads", heads)
    if d % heads:
        raise ModelError(f"{f}: hidden_size {d} is not a multiple of num_attention_heads {heads}")
    head_dim = positive("head_dim", d // heads)
    if head_dim != d // heads:
        raise ModelError(
            f"{f}: head_dim {head_dim} differs from hidden_size / num_attention_heads = {d // heads} "
            "(not supported)"
        )
    if heads % kv:
        raise ModelError(f"{f}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}")
    tied = cfg.get("tie_word_embeddings", False)
    if not isinstance(tied, bool):
        raise ModelError(f"{f}: tie_word_embeddings must be a bool, got {tied!r}")
    out = dict(
        n_layers=positive("num_hidden_layers"), d_model=d, n_heads=heads, n_kv_heads=kv,
        d_ff=positive("intermediate_size"), vocab_size=positive("vocab_size"),
        rope_theta=number("rope_theta", 10000.0), rms_eps=number("rms_norm_eps"), head_dim=head_dim,
        max_seq_len=positive("max_position_embeddings"), tied=tied,
    )  # fmt: skip
    eos_ids: list[int] = []  # config.json's first (the canonical one), then generation_config.json's
    for source, src in ((f, cfg), ("generation_config.json", gen if isinstance(gen, dict) else {})):
        eos = src.get("eos_token_id")
        for value in [] if eos is None else (eos if isinstance(eos, list) else [eos]):
            if not _is_int(value) or not 0 <= value < out["vocab_size"]:
                vocab = out["vocab_size"]
                raise ModelError(f"{source}: eos_token_id {eos!r} is not a token id below {vocab}")
            if value not in eos_ids:
                eos_ids.append(value)
    return out, eos_ids


def _token_id(cfg: dict, key: str, vocab: int, filename: str = "config.json") -> int | None:
    value = cfg.get(key)
    if value is None:
        return None
    if isinstance(value, list):  # some configs list several; the first is the canonical one
        value = value[0] if value else None
        if value is None:
            return None
    if not _is_int(value) or not 0 <= value < vocab:
        raise ModelError(f"{filename}: {key} {cfg.get(key)!r} is not a token id below {vocab}")
    return value


# ------------------------------------------------------------------------------------ tokenizer


def _token_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def _pre_name(tj: dict) -> str | None:
    """llama.cpp's name of the file's pre-tokenizer if it is exactly one ``LlamaTokenizer`` builds."""
    if tj.get("normalizer") is not None:
        return None

    def byte_level(p: Any) -> bool:
        return (isinstance(p, dict) and p.get("type") == "ByteLevel" and p.get("add_prefix_space") is False
                and p.get("use_regex", True) is True)  # fmt: skip

    pre = tj.get("pre_tokenizer")
    if byte_level(pre):
        return "gpt-2"
    if isinstance(pre, dict) and pre.get("type") == "Sequence":
        parts = pre.get("pretokenizers") or []
        if (len(parts) == 2 and parts[0] == {"type": "Digits", "individual_digits": True}
                and byte_level(parts[1])):  # fmt: skip
            return "smollm"
    return None


def _tokenizer_data(tj: Any, tcfg: dict, vocab_size: int, ids: dict[str, int | None]) -> TokenizerData:
    f = "tokenizer.json"
    if not isinstance(tj, dict) or not isinstance(tj.get("model"), dict):
        raise ModelError(f"{f}: no tokenizer model")
    model = tj["model"]
    if model.get("type", "BPE") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise ModelError(f"{f}: tokenizer model {model.get('type')!r} is not supported (only BPE)")
    decoder = tj.get("decoder") or {}
    byte_level = decoder.get("type") == "ByteLevel"
    if not byte_level and not model.get("byte_fallback"):
        raise ModelError(f"{f}: neither a byte-level BPE nor a BPE with byte fallback (not supported)")
    by_id: dict[int, str] = {}
    types: dict[int, int] = {}
    for token, i in model["vocab"].items():
        if not _is_int(i) or i < 0 or i in by_id:
            raise ModelError(f"{f}: vocabulary entry {token!r} has a bad or repeated id {i!r}")
        by_id[i], types[i] = token, TOKEN_NORMAL
        if not byte_level and _BYTE_TOKEN.fullmatch(token):
            types[i] = TOKEN_BYTE
    for entry in tj.get("added_tokens") or []:
        i, token = entry.get("id") if isinstance(entry, dict) else None, _token_text(entry)
        if not _is_int(i) or i < 0 or token is None or (i in by_id and by_id[i] != token):
            raise ModelError(f"{f}: added token {entry!r} is malformed or clashes with the vocabulary")
        by_id[i] = token
        types[i] = TOKEN_CONTROL if entry.get("special") else TOKEN_USER_DEFINED
    n = max(by_id) + 1 if by_id else 0
    if n == 0:
        raise ModelError(f"{f}: empty vocabulary")
    if n > vocab_size:
        raise ModelError(f"{f}: {n} tokens but config.json vocab_size is {vocab_size}")
    holes = [i for i in range(n) if i not in by_id]
    if holes:
        raise ModelError(f"{f}: no token for id(s) {holes[:5]}")
    tokens = [by_id[i] for i in range(n)]
    taken = set(tokens)
    for i in range(n, vocab_size):  # embedding rows beyond the tokenizer: placeholders, never produced
        name = f"<|zkinfer_unused_{i}|>"
        if name in taken:
            raise ModelError(f"{f}: token {name!r} clashes with the placeholder of an unused id")
        tokens.append(name)
        types[i] = TOKEN_UNUSED
    merges = []
    for rank, merge in enumerate(model.get("merges") or []):
        if isinstance(merge, list) and len(merge) == 2 and all(isinstance(m, str) for m in merge):
            merge = " ".join(merge)
        if not isinstance(merge, str):
            raise ModelError(f"{f}: merge {rank} {merge!r} is malformed")
        merges.append(merge)
    index = {t: i for i, t in enumerate(tokens)}

    def from_tcfg(key: str) -> int | None:
        text = _token_text(tcfg.get(key))
        return None if text is None else index.get(text)

    bos = ids["bos"] if ids["bos"] is not None else from_tcfg("bos_token")
    eos = ids["eos"] if ids["eos"] is not None else from_tcfg("eos_token")
    if eos is None:
        raise ModelError("config.json: eos_token_id missing (and no eos_token in tokenizer_config.json)")
    pad = ids["pad"] if ids["pad"] is not None else from_tcfg("pad_token")
    unk_text = model.get("unk_token")
    unk = index.get(unk_text) if isinstance(unk_text, str) else from_tcfg("unk_token")
    add_bos = tcfg.get("add_bos_token")
    if not isinstance(add_bos, bool):  # as the post-processor would: a template that starts with BOS
        post = tj.get("post_processor") or {}
        single = post.get("single") if post.get("type") == "TemplateProcessing" else None
        head = single[0] if single and isinstance(single[0], dict) else {}
        first = head.get("SpecialToken", {}).get("id")
        add_bos = bos is not None and first is not None and first == tokens[bos]
    return TokenizerData(
        model="gpt2" if byte_level else "llama", pre=_pre_name(tj), tokens=tuple(tokens),
        token_types=np.asarray([types[i] for i in range(vocab_size)], dtype=np.int32), merges=tuple(merges),
        bos_id=bos, eos_id=eos, unk_id=unk, pad_id=pad, add_bos=bool(add_bos),
    )  # fmt: skip


class HFTokenizer(LlamaTokenizer):
    """The tokenizer of a ``tokenizer.json``, run by ``tokenizers``: a
    :class:`~zkinfer.model.llama.LlamaTokenizer` built from the file instead of GGUF arrays
    (same ``encode``, ``decode``, ``token_id``, ``vocab_size``, ``special_tokens``).

    ``encode`` does not run the file's post-processor; it prepends the BOS id only if
    ``data.add_bos`` (``tokenizer_config.json``'s ``add_bos_token``, else whether the
    post-processor's template starts with BOS), as ``LlamaTokenizer`` does.

    Attributes:
        data: the checkpoint's tokenizer arrays.
        special_tokens: the special added tokens (control tokens), in id order.
    """

    def __init__(self, tokenizer_json: str, data: TokenizerData) -> None:
        """Load the tokenizer.

        Arguments:
            tokenizer_json: the text of ``tokenizer.json``.
            data: the tokenizer arrays derived from it (``LlamaCheckpoint.tokenizer_data``).

        Raises:
            MissingDependencyError: ``tokenizers`` is not installed.
            ModelError: ``tokenizers`` cannot load the file.
        """
        tk = _import("tokenizers")
        try:
            self._tok = tk.Tokenizer.from_str(tokenizer_json)
        except Exception as exc:  # tokenizers raises plain exceptions
            raise ModelError(f"tokenizer.json: tokenizers cannot load it ({exc})") from exc
        self.data = data
        self.special_tokens = data.control_tokens
        self._vocab = {t: i for i, t in enumerate(data.tokens) if data.token_types[i] != TOKEN_UNUSED}


# -------------------------------------------------------------------------------------- weights


class _Weights:
    """The tensors of the safetensors files, read one at a time, every failure a ModelError."""

    def __init__(self, directory: Path, files: dict[str, str]) -> None:
        self.directory = directory
        self.digests = files
        self.location: dict[str, str] = {}  # tensor -> file
        index_path = directory / "model.safetensors.index.json"
        single = directory / "model.safetensors"
        if single.is_file():
            self.files = ["model.safetensors"]
            self.index: dict[str, str] | None = None
        elif index_path.is_file():
            index = _read_json(index_path)
            files[index_path.name] = sha256_file(index_path)
            wmap = index.get("weight_map") if isinstance(index, dict) else None
            if not isinstance(wmap, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and "/" not in v and "\\" not in v
                for k, v in wmap.items()
            ):
                raise ModelError(f"{index_path.name}: 'weight_map' must map tensor names to file names")
            self.index = wmap
            self.files = sorted(set(wmap.values()))
        else:
            raise ModelError(f"no model.safetensors or model.safetensors.index.json in {directory}")
        st = _import("safetensors")
        self._st = st
        self.meta: dict[str, tuple[str, list[int]]] = {}
        for name in self.files:
            if not (directory / name).is_file():
                raise ModelError(f"{name} not found in {directory} (listed by the index)")
        for name in self.files:
            path = directory / name
            files[name] = sha256_file(path)
            try:
                with st.safe_open(str(path), framework="np") as handle:
                    for key in handle.keys():
                        sl = handle.get_slice(key)
                        if key in self.location:
                            raise ModelError(f"{name}: tensor {key!r} also in {self.location[key]}")
                        if self.index is not None and self.index.get(key) != name:
                            raise ModelError(
                                f"{name}: tensor {key!r} is not mapped to this file by the index "
                                f"(index says {self.index.get(key)!r})"
                            )
                        self.location[key] = name
                        self.meta[key] = (sl.get_dtype(), list(sl.get_shape()))
            except ModelError:
                raise
            except Exception as exc:  # SafetensorError, OSError, ...
                raise ModelError(f"{name}: not a readable safetensors file ({exc})") from exc
        if self.index is not None:
            absent = sorted(k for k in self.index if k not in self.location)
            if absent:
                raise ModelError(
                    f"model.safetensors.index.json: tensor {absent[0]!r} is not in {self.index[absent[0]]}"
                )
        self._headers: dict[str, tuple[int, dict[str, Any]]] = {}

    def _raw_bytes(self, name: str, key: str) -> bytes:
        """The bytes of one tensor, located by the file's header (for dtypes numpy lacks)."""
        path = self.directory / name
        with open(path, "rb") as handle:
            if name not in self._headers:
                (size,) = struct.unpack("<Q", handle.read(8))
                self._headers[name] = (8 + size, json.loads(handle.read(size)))
            start, header = self._headers[name]
            begin, end = header[key]["data_offsets"]
            handle.seek(start + begin)
            data = handle.read(end - begin)
        if len(data) != end - begin:
            raise ModelError(f"{name}: tensor {key!r} is truncated")
        return data

    def get(self, key: str) -> np.ndarray:
        name = self.location[key]
        dtype, shape = self.meta[key]
        path = self.directory / name
        try:
            if dtype == "BF16":
                return bf16_to_float64(self._raw_bytes(name, key), shape)
            with self._st.safe_open(str(path), framework="np") as handle:
                return np.asarray(handle.get_tensor(key)).astype(np.float64)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{name}: tensor {key!r} is unreadable ({exc})") from exc


def _tensors(weights: _Weights, config: LlamaConfig) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    shapes = expected_shapes(config)
    extra = sorted(set(weights.location) - set(shapes))
    if extra:
        key = extra[0]
        why = " (tie_word_embeddings is true)" if key == "lm_head.weight" else " (not part of a Llama model)"
        raise ModelError(f"{weights.location[key]}: unexpected tensor {key!r}{why}")
    missing = [k for k in shapes if k not in weights.location]
    if missing:
        where = ", ".join(weights.files)
        why = " (tie_word_embeddings is false)" if missing[0] == "lm_head.weight" else ""
        raise ModelError(
            f"{where}: tensor(s) missing: {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "") + why
        )
    out: dict[str, np.ndarray] = {}
    types: dict[str, str] = {}
    for key, shape in shapes.items():
        dtype, got = weights.meta[key]
        file = weights.location[key]
        if dtype not in FLOAT_DTYPES:
            supported = ", ".join(FLOAT_DTYPES)
            raise ModelError(f"{file}: tensor {key!r} has dtype {dtype} (supported: {supported})")
        if tuple(got) != shape:
            raise ModelError(f"{file}: tensor {key!r} has shape {tuple(got)}, expected {shape}")
        values = weights.get(key)
        if not np.isfinite(values).all():
            raise ModelError(f"{file}: tensor {key!r} has non-finite values")
        out[key] = values
        types[key] = dtype
    return out, types


# ---------------------------------------------------------------------------------------- reader


def read_llama_hf(directory: str | Path) -> HFLlamaCheckpoint:
    """Read and validate a Hugging Face Llama directory; weights converted to ``float64``.

    ``config.json``: ``model_type`` ``"llama"``, ``architectures`` (if given)
    ``["LlamaForCausalLM"]``; required ``hidden_size``, ``intermediate_size``,
    ``num_hidden_layers``, ``num_attention_heads``, ``rms_norm_eps``, ``max_position_embeddings``,
    ``vocab_size``; ``num_key_value_heads`` defaults to the head count, ``rope_theta`` to 10000,
    ``tie_word_embeddings`` to false (as ``transformers.LlamaConfig``). Refused: ``rope_scaling``
    not null, ``rope_parameters`` (the newer spelling) other than the default RoPE with its
    ``rope_theta``, ``attention_bias`` or ``mlp_bias`` true, ``hidden_act`` other than ``silu``, a
    ``head_dim`` other than ``hidden_size / num_attention_heads``. Token ids: ``bos_token_id``,
    ``eos_token_id`` (the first if a list; else ``generation_config.json``'s; else
    ``tokenizer_config.json``'s ``eos_token``; every id listed in either file stops generation),
    ``pad_token_id``.

    Tensors: exactly those of :func:`~zkinfer.model.gguf.expected_shapes` (``lm_head.weight`` iff
    not tied), of the expected shapes, ``F64``/``F32``/``F16``/``BF16``, finite. Shards: each
    tensor must be in the file the index maps it to, and every indexed tensor present.

    Chat template: ``chat_template.jinja`` if present, else ``tokenizer_config.json``'s
    ``chat_template`` (a string, or the ``"default"`` entry of a list of named templates).

    Arguments:
        directory: the model directory.

    Returns:
        The checkpoint (``path`` is the directory, ``tensor_types`` the safetensors dtypes,
        ``gguf_names`` the tensor names in the files, ``metadata`` the scalar entries of
        ``config.json`` as ``"config.<key>"``, of ``generation_config.json`` as
        ``"generation_config.<key>"`` and ``"general.architecture": "llama"``).

    Raises:
        MissingDependencyError: ``safetensors`` is not installed.
        ModelError: a missing or invalid file, an unsupported configuration, missing, unexpected,
            misshapen or non-float tensors; the message names the file and the key.
    """
    _import("safetensors")
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"Hugging Face model directory not found: {directory}")
    files: dict[str, str] = {}

    def read(name: str, required: bool) -> Any:
        value = _read_json(directory / name, required)
        if value is not None:
            files[name] = sha256_file(directory / name)
        return value

    cfg = read("config.json", True)
    gen = read("generation_config.json", False)
    kwargs, eos_ids = _hf_config(cfg, gen)
    vocab = kwargs["vocab_size"]
    tcfg = read("tokenizer_config.json", False)
    if tcfg is None:
        tcfg = {}
    if not isinstance(tcfg, dict):
        raise ModelError("tokenizer_config.json: not a JSON object")
    tj_path = directory / "tokenizer.json"
    tj = read("tokenizer.json", True)
    ids = {"bos": _token_id(cfg, "bos_token_id", vocab), "eos": eos_ids[0] if eos_ids else None,
           "pad": _token_id(cfg, "pad_token_id", vocab)}  # fmt: skip
    data = _tokenizer_data(tj, tcfg, vocab, ids)
    config = LlamaConfig(**kwargs, bos_id=data.bos_id, eos_id=data.eos_id, pad_id=data.pad_id)
    weights, types = _tensors(_Weights(directory, files), config)

    template = None
    jinja = directory / "chat_template.jinja"
    if jinja.is_file():
        template = jinja.read_text(encoding="utf-8")
        files[jinja.name] = sha256_file(jinja)
    else:
        raw = tcfg.get("chat_template")
        if isinstance(raw, list):
            named = {t.get("name"): t.get("template") for t in raw if isinstance(t, dict)}
            raw = named.get("default")
        if raw is not None and not isinstance(raw, str):
            raise ModelError("tokenizer_config.json: chat_template must be a string")
        template = raw
    metadata: dict[str, Any] = {"general.architecture": "llama"}
    for prefix, src in (("config", cfg), ("generation_config", gen or {})):
        for key, value in src.items():
            if isinstance(value, (str, int, float, bool)):
                metadata[f"{prefix}.{key}"] = value
    manifest = "".join(f"{files[name]}  {name}\n" for name in sorted(files))
    return HFLlamaCheckpoint(
        config=config, weights=weights, tokenizer_data=data, chat_template=template, metadata=metadata,
        sha256=hashlib.sha256(manifest.encode()).hexdigest(), tensor_types=types,
        gguf_names={k: k for k in weights}, path=directory,
        tokenizer_json=tj_path.read_text(encoding="utf-8"),
        eos_ids=tuple(eos_ids) or (data.eos_id,), files=dict(sorted(files.items())),
    )  # fmt: skip


# ------------------------------------------------------------------------------------ load_llama


class LlamaModel(SmolLM2):
    """Any Llama checkpoint with its tokenizer: ``tokenize``, ``chat_ids``, ``decode``,
    ``logits_float``, ``generate_float`` as :class:`~zkinfer.model.llama.SmolLM2`.

    The chat template is parsed when first needed (``chat_ids``), so a model whose template is
    absent or not ChatML still loads for raw text. Stop ids: the end-of-sequence id(s) and
    ``<|im_end|>`` if the vocabulary has it.

    Attributes:
        checkpoint, config, tokenizer, float_model, stop_ids: as for ``SmolLM2``.
    """

    provenance_name = "llama-checkpoint"

    def __init__(
        self, checkpoint: LlamaCheckpoint, tokenizer: LlamaTokenizer | HFTokenizer | None = None
    ) -> None:
        """Build the model.

        Arguments:
            checkpoint: from :func:`read_llama_hf` or :func:`~zkinfer.model.gguf.read_llama_gguf`.
            tokenizer: default: :class:`HFTokenizer` for an :class:`HFLlamaCheckpoint`, else
                :class:`~zkinfer.model.llama.LlamaTokenizer`.

        Raises:
            MissingDependencyError: ``tokenizers`` is not installed.
            ModelError: an unsupported tokenizer.
        """
        self.checkpoint = checkpoint
        self.config = checkpoint.config
        if tokenizer is None:
            if isinstance(checkpoint, HFLlamaCheckpoint):
                tokenizer = HFTokenizer(checkpoint.tokenizer_json, checkpoint.tokenizer_data)
            else:
                tokenizer = LlamaTokenizer(checkpoint.tokenizer_data)
        self.tokenizer = tokenizer
        self.float_model = LlamaFloat.from_checkpoint(checkpoint)
        stops = {self.config.eos_id, *getattr(checkpoint, "eos_ids", ())}
        try:
            stops.add(tokenizer.token_id(_IM_END))
        except ModelError:
            pass
        self.stop_ids = tuple(sorted(stops))
        self._template: Any = None

    @property
    def template(self) -> Any:  # type: ignore[override]
        """The parsed ChatML template (``ModelError`` if absent or not ChatML)."""
        if self._template is None:
            if self.checkpoint.chat_template is None:
                raise ModelError("the model has no chat template")
            self._template = parse_chat_template(self.checkpoint.chat_template)
        return self._template

    def chat_ids(self, messages: Sequence[Mapping[str, str]]) -> np.ndarray:
        """Prompt ids of a conversation, ending with the generation prompt.

        Arguments:
            messages: ``[{"role": ..., "content": ...}, ...]``.

        Returns:
            ``int64`` ids.

        Raises:
            ModelError: bad messages, or no / an unsupported chat template.
        """
        return chat_ids(messages, self.tokenizer, self.template)  # type: ignore[arg-type]


def load_llama(path: str | Path) -> LlamaModel:
    """Load a Llama model from a ``.gguf`` file or a Hugging Face model directory.

    A directory is read with :func:`read_llama_hf` and tokenized by :class:`HFTokenizer` (the
    ``tokenizer.json`` run by ``tokenizers``); a ``.gguf`` file is read with
    :func:`~zkinfer.model.gguf.read_llama_gguf` and tokenized by
    :class:`~zkinfer.model.llama.LlamaTokenizer`.

    Arguments:
        path: a ``.gguf`` file or a directory.

    Returns:
        The model.

    Raises:
        MissingDependencyError: ``gguf``, ``safetensors`` or ``tokenizers`` is not installed.
        ModelError: the path is neither, or the checkpoint is invalid.
    """
    if not isinstance(path, (str, Path)):
        raise ModelError(f"path must be a str or Path, got {type(path).__name__}")
    p = Path(path)
    if p.is_dir():
        return LlamaModel(read_llama_hf(p))
    if p.is_file() and p.suffix.lower() == ".gguf":
        return LlamaModel(read_llama_gguf(p))
    if not p.exists():
        raise ModelError(f"model path not found: {p}")
    raise ModelError(f"{p}: neither a .gguf file nor a Hugging Face model directory")
