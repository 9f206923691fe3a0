"""The models a server can serve: their keys (set up once, cached on disk), tokenization and
plain integer inference.

===============  ==========  ===============================================================
name             kind        text input
===============  ==========  ===============================================================
``tiny``         embedding   no tokenizer: a text's UTF-8 bytes are its token ids (as
                             ``zkinfer prove --text``); or token ids in ``[0, 256)``, <= 32
``tiny-mlp``     embedding   as ``tiny``
``minilm``       embedding   the all-MiniLM-L6-v2 WordPiece tokenizer; or token ids
``tiny-decoder`` chat        no chat template: the prompt is the UTF-8 bytes of the messages'
                             contents joined by newlines (one message: its bytes, as
                             ``zkinfer chat --model tiny-decoder``)
``smollm2``      chat        SmolLM2's chat template and tokenizer
===============  ==========  ===============================================================

Keys: ``<data_dir>/keys/<name>/pk`` (a proving-key directory, :meth:`ProvingKey.save`) and
``vk.bin`` beside it. The first start sets the model up and writes them (the proving key is
written under a temporary name and renamed, so a crash leaves no half key); later starts load
them, checked against the ``vk.bin`` digest (:meth:`ProvingKey.load`), so restarts are quick.
Keys are deterministic functions of the checkpoint (the README's "Reproducible keys"), so a
client can pin a digest once.

What the service proves is what :func:`infer` answers: an embedding is the model's pooled
integer vector for the ids; a chat answer is the greedy answer of the integer decoder
(:func:`zkinfer.prover.generate`). The worker refuses to store a proof whose output differs.
The tokenization of text into ids is *not* proven: the response carries the ids, and a client
that sent text checks them itself (for the byte-tokenized models by re-encoding the text).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zkinfer.errors import InvalidArgumentError

__all__ = ["SERVABLE", "ServedModel", "key_dir", "ensure_key", "load_pk", "load_served",
           "check_served", "byte_ids", "byte_text"]

#: Model name -> kind.
SERVABLE = {"tiny": "embedding", "tiny-mlp": "embedding", "minilm": "embedding",
            "tiny-decoder": "chat", "smollm2": "chat"}


def byte_ids(text: str) -> np.ndarray:
    """A text's UTF-8 bytes as token ids (the tiny models' "tokenizer")."""
    return np.frombuffer(text.encode(), dtype=np.uint8).astype(np.int64)


def byte_text(ids) -> str:
    """The text of byte token ids (ids >= 256 written as ``<id>``)."""
    parts, buf = [], bytearray()
    for t in (int(i) for i in ids):
        if 0 <= t < 256:
            buf.append(t)
        else:
            parts.append(buf.decode("utf-8", errors="replace") + f"<{t}>")
            buf = bytearray()
    return "".join(parts) + buf.decode("utf-8", errors="replace")


def _check_name(name: str) -> str:
    if name not in SERVABLE:
        raise InvalidArgumentError(f"cannot serve model {name[:40]!r}; the servable models are "
                                   f"{', '.join(SERVABLE)}")
    return name


def key_dir(data_dir: str | Path, name: str) -> Path:
    """``<data_dir>/keys/<name>``."""
    return Path(data_dir) / "keys" / _check_name(name)


def _build(name: str):
    """``(IntModel, wrapper or None)`` of a servable model, built from its checkpoint."""
    from zkinfer import models

    if name == "tiny":
        return models.tiny(), None
    if name == "tiny-mlp":
        return models.tiny_mlp(), None
    if name == "tiny-decoder":
        return models.tiny_decoder(), None
    if name == "minilm":
        m = models.minilm()
        return m.int_model, m
    m = models.smollm2()
    return m.int_model, m


def ensure_key(data_dir: str | Path, name: str, progress=None) -> str:
    """Set ``name`` up unless its key is cached under ``data_dir``; returns the verifying
    key's digest (hex).

    Raises:
        InvalidArgumentError: an unknown name.
        MissingDependencyError: the model's extra is missing.
        ProofFormatError: a cached ``vk.bin`` that does not decode.
    """
    import zkinfer
    from zkinfer.proof import VerifyingKey

    d = key_dir(data_dir, name)
    vk_path, pk_path = d / "vk.bin", d / "pk"
    if vk_path.is_file() and pk_path.is_dir():
        return VerifyingKey.from_bytes(vk_path.read_bytes()).digest.hex()
    d.mkdir(parents=True, exist_ok=True)
    model, _ = _build(name)
    vk, pk = zkinfer.setup(model, progress=progress)
    if pk_path.exists():  # a key directory without its vk.bin: an interrupted first start
        shutil.rmtree(pk_path)
    pk.save(pk_path)
    tmp = vk_path.with_suffix(".tmp")
    tmp.write_bytes(vk.to_bytes())
    tmp.replace(vk_path)
    return vk.digest.hex()


def load_pk(data_dir: str | Path, name: str):
    """The cached proving key of ``name``, checked against its ``vk.bin``.

    Raises:
        ProvingKeyError: a missing, corrupted or mismatched key directory.
    """
    from zkinfer.proof import ProvingKey, VerifyingKey

    d = key_dir(data_dir, name)
    vk = VerifyingKey.from_bytes((d / "vk.bin").read_bytes())
    return ProvingKey.load(d / "pk", expected_digest=vk.digest)


@dataclass
class ServedModel:
    """A model as the HTTP layer uses it.

    Attributes:
        name, kind: see :data:`SERVABLE`.
        vk: the verifying key; ``digest`` its hex digest.
        model: the integer model (the proving key's).
        tokenizer: how text becomes ids (``"utf-8 bytes"``, ``"wordpiece"``, ``"smollm2"``).
    """

    name: str
    kind: str
    vk: object
    model: object
    tokenizer: str
    _tokenize: Callable[[str], np.ndarray]
    _chat: Callable[[list], np.ndarray] | None
    _decode: Callable[[object], str]

    @property
    def digest(self) -> str:
        return self.vk.digest.hex()

    @property
    def max_len(self) -> int:
        return int(self.model.config.max_seq_len)

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)

    def tokenize(self, text: str) -> np.ndarray:
        """A text's token ids (unchecked: :meth:`ids` bounds them)."""
        return np.asarray(self._tokenize(text), dtype=np.int64)

    def ids(self, value) -> np.ndarray:
        """Token ids of a text or of a list of ids, within the model's bounds.

        Raises:
            InvalidArgumentError: not text or 1-D ids, an id outside the vocabulary, or a length
                outside ``1..max_len`` (the message says which).
        """
        from zkinfer.statement import token_ids

        ids = self._tokenize(value) if isinstance(value, str) else value
        return token_ids(ids, self.vocab_size, self.max_len, "input")

    def chat_prompt(self, messages: list[dict]) -> np.ndarray:
        """The prompt ids of chat messages (``[{"role", "content"}]``)."""
        return self._chat(messages)

    def decode(self, ids) -> str:
        return self._decode(ids)

    def infer(self, ids: np.ndarray, max_new_tokens: int | None = None) -> np.ndarray:
        """The plain integer inference a proof will state: the pooled vector of an encoder,
        the greedy answer of a decoder (``max_new_tokens`` required).

        Raises:
            ModelError: bad ids, or too many positions.
        """
        if self.kind == "chat":
            from zkinfer.prover import generate

            if max_new_tokens is None:
                raise InvalidArgumentError("a chat model needs max_new_tokens")
            return np.asarray(generate(self.model, ids, int(max_new_tokens)), dtype=np.int64)
        from zkinfer.model.forward import forward

        return np.asarray(forward(self.model, ids).output, dtype=np.int64)


def _joined_bytes(messages: list[dict]) -> np.ndarray:
    return byte_ids("\n".join(str(m["content"]) for m in messages))


def load_served(data_dir: str | Path, name: str) -> ServedModel:
    """The served form of ``name`` (its key must be cached: :func:`ensure_key`).

    Raises:
        ProvingKeyError: the cached key is missing or corrupted.
        MissingDependencyError: the tokenizer's extra is missing (minilm, smollm2).
    """
    pk = load_pk(data_dir, name)
    kind = SERVABLE[_check_name(name)]
    chat = None
    if name == "minilm":
        from zkinfer.models import minilm

        m = minilm()

        def tokenize(text: str) -> np.ndarray:
            return m.tokenize(text)[0]

        return ServedModel(name, kind, pk.vk, pk.model, "wordpiece", tokenize, None, byte_text)
    if name == "smollm2":
        from zkinfer.models import smollm2

        m = smollm2()
        return ServedModel(name, kind, pk.vk, pk.model, "smollm2", m.tokenize,
                           lambda msgs: np.asarray(m.chat_ids(msgs), dtype=np.int64), m.decode)
    if kind == "chat":
        chat = _joined_bytes
    return ServedModel(name, kind, pk.vk, pk.model, "utf-8 bytes", byte_ids, chat, byte_text)


def check_served(names) -> list[str]:
    """The names, checked (each servable, no duplicates).

    Raises:
        InvalidArgumentError: an unknown name, a duplicate or no name.
    """
    names = list(names)
    if not names:
        raise InvalidArgumentError("serve at least one model")
    for n in names:
        _check_name(n)
    if len(set(names)) != len(names):
        raise InvalidArgumentError("a model is named twice")
    return names
