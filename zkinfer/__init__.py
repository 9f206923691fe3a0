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

from zkinfer.errors import FieldRangeError, ProofFormatError, VerificationError, ZkinferError

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    "setup",
    "prove",
    "verify",
    "Proof",
    "VerifyingKey",
    "ZkinferError",
    "FieldRangeError",
    "ProofFormatError",
    "VerificationError",
]


def setup(model, pcs=None):
    """Commit a model; returns ``(VerifyingKey, ProvingKey)`` (see :func:`zkinfer.prover.setup`)."""
    from zkinfer.prover import setup as _setup

    return _setup(model, pcs)


def prove(pk, ids, progress=None):
    """Prove one inference; returns a :class:`Proof` (see :func:`zkinfer.prover.prove`)."""
    from zkinfer.prover import prove as _prove

    return _prove(pk, ids, progress)


def verify(vk, ids, output, proof, *, min_bits: float = 100.0, allow_insecure: bool = False,
           allow_conjectured: bool = False) -> bool:
    """Verify a proof with numpy alone (see :func:`zkinfer.verifier.verify`).

    Rejects (``VerificationError``, check ``"security"``) a proof below ``min_bits`` of
    interactive soundness, a key naming ``TrivialPCS`` unless ``allow_insecure=True``, and
    conjectured PCS bounds unless ``allow_conjectured=True``.
    """
    from zkinfer.verifier import verify as _verify

    return _verify(vk, ids, output, proof, min_bits=min_bits, allow_insecure=allow_insecure,
                   allow_conjectured=allow_conjectured)


def __getattr__(name: str):
    if name in ("Proof", "VerifyingKey"):
        from zkinfer import proof as _proof

        return getattr(_proof, name)
    raise AttributeError(f"module 'zkinfer' has no attribute {name!r}")
