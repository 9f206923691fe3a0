"""zkinfer: proofs that a quantized transformer produced a given output.

The stable API lives here. Importing :mod:`zkinfer` is cheap: it does not import numba; the
prover's Numba kernels are compiled (or loaded from the on-disk cache) the first time a prover
function needs them.

=====================  =========================================================
module                 what it holds
=====================  =========================================================
``zkinfer.errors``     the exception hierarchy (:class:`ZkinferError` and subclasses)
``zkinfer.field``      Goldilocks ``F_p`` and its quadratic extension ``F_p2``
``zkinfer.poly``       multilinear polynomials, NTT, small univariate polynomials
``zkinfer.transcript`` the Fiat-Shamir transcript shared by prover and verifier
``zkinfer.sumcheck``   sumcheck prover (Numba) and verifier (numpy only)
``zkinfer.selfcheck``  the self-check run by ``zkinfer selfcheck``
``zkinfer.protocol``   relations: matmul, zero-checks, look-ups, ranges, openings
``zkinfer.commit``     polynomial commitments (``TrivialPCS``, ``LigeroPCS``)
``zkinfer.codec``      the strict binary codec of proofs, commitments and keys
``zkinfer.lookup``     LogUp by a fraction-sum GKR argument
``zkinfer.prover``     ``setup``, ``prove`` (Numba; imported on first use)
``zkinfer.verifier``   ``verify`` (numpy only)
``zkinfer.security``   the soundness figures and the verifier's security floor
``zkinfer.proof``      ``Proof``, ``VerifyingKey``, ``ProvingKey`` and their encodings
``zkinfer.keys``       ``check_key``: rebuild a verifying key from the weights, compare it
``zkinfer.model``      the integer transformer (spec, Numba forward, quantization)
``zkinfer.models``     built-in models (``tiny``, ``tiny_mlp``, ``minilm``)
=====================  =========================================================

Typical use::

    import zkinfer
    from zkinfer.models import tiny

    vk, pk = zkinfer.setup(tiny())
    proof = zkinfer.prove(pk, ids)                       # ids: 1-D int array of token ids
    zkinfer.verify(vk, ids, proof.output, proof)         # True, or raises VerificationError

    from zkinfer.security import soundness
    print(soundness(vk, proof).describe())               # interactive and hashing bits
"""

from __future__ import annotations

from zkinfer.errors import (
    FieldRangeError,
    InvalidArgumentError,
    MissingDependencyError,
    ModelError,
    ProofFormatError,
    VerificationError,
    ZkinferError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    "setup",
    "prove",
    "prove_many",
    "verify",
    "Proof",
    "VerifyingKey",
    "ProvingKey",
    "models",
    "ZkinferError",
    "InvalidArgumentError",
    "MissingDependencyError",
    "ModelError",
    "FieldRangeError",
    "ProofFormatError",
    "VerificationError",
]


#: Model names :func:`setup` accepts, and the :mod:`zkinfer.models` function each stands for.
MODEL_NAMES = {"tiny": "tiny", "tiny-mlp": "tiny_mlp", "tiny_mlp": "tiny_mlp", "minilm": "minilm",
               "tiny-decoder": "tiny_decoder", "tiny_decoder": "tiny_decoder", "smollm2": "smollm2"}


def _int_model(model):
    """The :class:`~zkinfer.model.intmodel.IntModel` behind what a user passed to ``setup``."""
    from zkinfer.model.intmodel import IntModel

    if isinstance(model, str):
        if model not in MODEL_NAMES:
            raise InvalidArgumentError(f"setup(): unknown model name {model[:40]!r}; the names are "
                                       f"{', '.join(sorted(MODEL_NAMES))}")
        from zkinfer import models

        model = getattr(models, MODEL_NAMES[model])()
    inner = getattr(model, "int_model", None)  # zkinfer.models.minilm() and other wrappers
    if isinstance(inner, IntModel):
        model = inner
    if not isinstance(model, IntModel):
        raise InvalidArgumentError(
            "setup(): model must be a model of zkinfer.models (tiny(), tiny_mlp(), minilm(), "
            f"random_transformer(...)), an IntModel or a name such as 'tiny'; got {type(model).__name__}")
    return model


def _require_prover() -> None:
    """Refuse prover calls cleanly when the ``prover`` extra (numba) is not installed: the
    kernels' one import of numba raises :class:`MissingDependencyError` naming the extra."""
    import zkinfer._jit  # noqa: F401


def setup(model, pcs=None, progress=None):
    """Commit a model; returns ``(VerifyingKey, ProvingKey)`` (see :func:`zkinfer.prover.setup`).

    Arguments:
        model: anything :mod:`zkinfer.models` returns (``tiny()``, ``tiny_mlp()``,
            ``minilm()``, ``random_transformer(...)``), an
            :class:`~zkinfer.model.intmodel.IntModel`, or a name: ``"tiny"``, ``"tiny-mlp"``,
            ``"minilm"``.
        pcs: the commitment scheme (default: Ligero at rate 1/4, >= 100 bits).
        progress: ``None``/``False``, ``True`` (a bar with ETA on stderr) or a
            ``progress(stage, done, total)`` callable.

    Raises:
        InvalidArgumentError: ``model`` is none of these.
        MissingDependencyError: numba (the ``prover`` extra) is not installed.
    """
    _require_prover()
    model = _int_model(model)
    from zkinfer.prover import setup as _setup

    return _setup(model, pcs, progress)


def prove(pk, ids, progress=None, *, executor=None, max_new_tokens=None):
    """Prove one inference; returns a :class:`Proof` (see :func:`zkinfer.prover.prove`).

    Arguments:
        pk: the :class:`~zkinfer.proof.ProvingKey`, the second value :func:`setup` returns.
        ids: token ids, a 1-D sequence of integers (a numpy array or a list).
        progress: ``None``/``False``, ``True`` (a bar with per-stage and overall ETA on
            stderr) or a ``progress(stage, done, total)`` callable.
        executor: ``None`` (this process) or a ``distributed.Client``: the segments' work
            runs on its workers (:mod:`zkinfer.cluster`; the key is placed there on first use,
            or by :meth:`ProvingKey.scatter <zkinfer.proof.ProvingKey.scatter>`). The proof's
            bytes are the same either way.
        max_new_tokens: for a decoder (``zkinfer.models.tiny_decoder()``,
            ``zkinfer.models.smollm2()``): ``ids`` is the prompt; the greedy answer of at most
            this many tokens (ending at a stop token) is generated and proven;
            ``proof.output`` is the answer and ``zkinfer.verify(vk, prompt, proof.output,
            proof)`` checks it. Refused for an encoder.

    Raises:
        InvalidArgumentError: ``pk`` is not a proving key, ``ids`` not 1-D integers, or
            ``executor`` not a running ``distributed.Client``.
        ModelError: an id outside the vocabulary, or too many or too few tokens.
        MissingDependencyError: numba (the ``prover`` extra) is not installed, or
            ``distributed`` (the ``dask`` extra) for an executor.
    """
    from zkinfer.proof import ProvingKey, VerifyingKey

    if not isinstance(pk, ProvingKey):
        hint = (" (a VerifyingKey only verifies: pass the second value of zkinfer.setup)"
                if isinstance(pk, VerifyingKey) else "")
        raise InvalidArgumentError(f"prove(): pk must be the ProvingKey that zkinfer.setup returns, "
                                   f"got {type(pk).__name__}{hint}")
    from zkinfer.statement import token_ids

    ids = token_ids(ids)
    _require_prover()
    from zkinfer.prover import prove as _prove

    return _prove(pk, ids, progress, executor=executor, max_new_tokens=max_new_tokens)


def prove_many(pk, inputs, progress=None):
    """Prove many inputs with one proving key; yields one :class:`Proof` per input, in order
    (each the proof :func:`prove` would make; see :func:`zkinfer.prover.prove_many`).

    Raises:
        InvalidArgumentError: ``pk`` is not a proving key, or an input not 1-D integers.
        MissingDependencyError: numba (the ``prover`` extra) is not installed.
    """
    from zkinfer.proof import ProvingKey

    if not isinstance(pk, ProvingKey):
        raise InvalidArgumentError(f"prove_many(): pk must be the ProvingKey that zkinfer.setup "
                                   f"returns, got {type(pk).__name__}")
    _require_prover()
    from zkinfer.prover import prove_many as _prove_many

    # a sized batch is checked whole before the first proof (and keeps its length for progress)
    from zkinfer.statement import token_ids

    checked = ([token_ids(ids) for ids in inputs] if hasattr(inputs, "__len__")
               else (token_ids(ids) for ids in inputs))
    return _prove_many(pk, checked, progress)


def verify(vk, ids, output, proof, *, min_bits: float = 100.0, allow_insecure: bool = False,
           allow_conjectured: bool = False, processes: int | None = None) -> bool:
    """Verify a proof with numpy alone (see :func:`zkinfer.verifier.verify`).

    Rejects (``VerificationError``, check ``"security"``) a proof below ``min_bits`` of
    interactive soundness, a key naming ``TrivialPCS`` unless ``allow_insecure=True``, and
    conjectured PCS bounds unless ``allow_conjectured=True``. ``processes``: ``1`` verifies in
    this process only; ``None`` (default) lets a large proof's segments be shared with one
    forked process where that is safe (two cores or more, Linux, no other thread).
    """
    from zkinfer.verifier import verify as _verify

    return _verify(vk, ids, output, proof, min_bits=min_bits, allow_insecure=allow_insecure,
                   allow_conjectured=allow_conjectured, processes=processes)


#: Submodules reachable as attributes after ``import zkinfer`` (imported on first access; none
#: of them imports numba until a prover function runs).
_LAZY_MODULES = ("models", "security", "errors", "proof", "keys", "estimate", "verifier", "prover",
                 "commit", "model")


def __getattr__(name: str):
    if name in ("Proof", "VerifyingKey", "ProvingKey"):
        from zkinfer import proof as _proof

        return getattr(_proof, name)
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"zkinfer.{name}")
    raise AttributeError(f"module 'zkinfer' has no attribute {name!r}")
