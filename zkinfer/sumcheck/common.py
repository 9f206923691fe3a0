"""What prover and verifier of the sumcheck share: the expression, the proof, the schedule.

The claim is ``S = sum_{x in {0,1}^n} P(f_1(x), ..., f_k(x))`` where ``P`` is an
:class:`Expression` (a sum of products of the ``f_j`` with extension coefficients) and the
``f_j`` are multilinear.

Schedule (one function, :func:`begin` / :func:`round_challenge`, called by both sides):

1. absorb ``n``, ``d``, the expression and the claim ``S``;
2. for each round ``j = 1..n``: absorb the round message ``s_j(0), s_j(2), ..., s_j(d)`` and
   draw ``r_j`` in ``F_p2``.

The message leaves out ``s_j(1)``: the verifier sets ``s_j(1) = c_j - s_j(0)`` from the running
claim ``c_j`` (``c_1 = S``, ``c_(j+1) = s_j(r_j)``), which is the check ``s_j(0) + s_j(1) = c_j``
made true by construction. If ``c_j`` is false, the polynomial the verifier interpolates is not
the true round polynomial (their values at 0 and 1 add up to different sums), two distinct
polynomials of degree ``d`` agree at ``r_j`` with probability at most ``d / p^2``, and otherwise
``c_(j+1)`` is false again; the last false claim is the one the caller's final check rejects.
A sumcheck therefore rejects nothing by itself once its shape is right.

Soundness error: at most ``n * d / p^2`` (Schwartz-Zippel per round over ``F_p2``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import ProofFormatError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2
from zkinfer.transcript import Transcript, array_header

__all__ = [
    "MAX_DEGREE",
    "MAX_TABLES",
    "MAX_VARS",
    "Expression",
    "SumcheckProof",
    "begin",
    "round_challenge",
    "round_challenge_scalar",
    "round_encodings",
    "round_message",
    "with_eq",
    "soundness_error_bits",
]

MAX_DEGREE = 8
"""Highest degree of ``P`` accepted (a round message has ``d`` values)."""

MAX_TABLES = 1 << 12
"""Most multilinear tables one sumcheck combines."""

MAX_VARS = 40
"""Most variables one sumcheck accepts (a bound for decoding, far above any real use)."""

_LABEL_N = b"sumcheck/num-vars"
_LABEL_D = b"sumcheck/degree"
_LABEL_EXPR = b"sumcheck/expression"
_LABEL_CLAIM = b"sumcheck/claim"
_LABEL_ROUND = b"sumcheck/round-message"
_LABEL_CHALLENGE = b"sumcheck/challenge"


@dataclass(frozen=True)
class Expression:
    """``P(f_1..f_k) = sum_t c_t prod_{j in terms[t]} f_j``.

    Attributes:
        num_tables: ``k``.
        terms: for each term, the indices of its tables (repetition allowed: ``(0, 0)`` is
            ``f_1^2``).
        coeffs: one extension coefficient ``(c0, c1)`` per term.
    """

    num_tables: int
    terms: tuple[tuple[int, ...], ...]
    coeffs: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not 1 <= self.num_tables <= MAX_TABLES:
            raise ValueError(f"an expression needs 1..{MAX_TABLES} tables")
        if not self.terms or len(self.terms) != len(self.coeffs):
            raise ValueError("one coefficient per term, at least one term")
        for term in self.terms:
            if not 1 <= len(term) <= MAX_DEGREE:
                raise ValueError(f"each term multiplies 1..{MAX_DEGREE} tables")
            if any(not 0 <= j < self.num_tables for j in term):
                raise ValueError("term refers to a table that does not exist")
        for c0, c1 in self.coeffs:
            if not (0 <= c0 < gl.P and 0 <= c1 < gl.P):
                raise ValueError("coefficients must be canonical extension elements")

    @classmethod
    def product(cls, k: int) -> Expression:
        """``f_1 * f_2 * ... * f_k``."""
        return cls(k, (tuple(range(k)),), ((1, 0),))

    @classmethod
    def sum_of_products(cls, k: int, terms, coeffs=None) -> Expression:
        """Build from term index lists and optional coefficients (ints or extension pairs)."""
        terms = tuple(tuple(int(j) for j in t) for t in terms)
        if coeffs is None:
            cs = tuple((1, 0) for _ in terms)
        else:
            cs = tuple((int(c) % gl.P, 0) if np.ndim(c) == 0 else (int(c[0]), int(c[1]))
                       for c in coeffs)
        return cls(k, terms, cs)

    @property
    def degree(self) -> int:
        """``d``: the largest number of tables in one term."""
        return max(len(t) for t in self.terms)

    def coeff_array(self) -> npt.NDArray[np.uint64]:
        """Coefficients as an extension array ``(T, 2)``."""
        return np.array(self.coeffs, dtype=np.uint64).reshape(-1, 2)

    def evaluate(self, values: npt.ArrayLike) -> npt.NDArray[np.uint64]:
        """``P`` at extension values ``values`` (shape ``(k, 2)``); returns ``(2,)``.

        Scalar work on Python ints (the verifier calls this once per sumcheck).
        """
        v = ext.as_ext(values, "values")
        if v.shape != (self.num_tables, 2):
            raise ValueError(f"expected {self.num_tables} values, got shape {v.shape}")
        return self.evaluate_scalar(Fp2.vector(v)).to_array()

    def evaluate_scalar(self, values: Sequence[Fp2]) -> Fp2:
        """``P(values) = sum_t c_t prod_{j in t} values[j]`` on scalars (no shape check)."""
        return sum((math.prod((values[j] for j in term), start=Fp2(*c))
                    for c, term in zip(self.coeffs, self.terms)), Fp2.ZERO)

    def to_bytes(self) -> bytes:
        """Canonical encoding (absorbed into the transcript)."""
        out = [struct.pack("<II", self.num_tables, len(self.terms))]
        for (c0, c1), term in zip(self.coeffs, self.terms):
            out.append(struct.pack("<QQI", c0, c1, len(term)))
            out.append(struct.pack(f"<{len(term)}I", *term))
        return b"".join(out)


@dataclass(frozen=True, eq=False)
class SumcheckProof:
    """The prover's messages: per round ``j``, the values ``s_j(0), s_j(2), ..., s_j(d)`` of the
    round polynomial (``s_j(1)`` is not sent: the verifier derives it from the running claim,
    module docstring).

    Attributes:
        messages: extension array of shape ``(n, d, 2)``.
    """

    messages: npt.NDArray[np.uint64]

    @classmethod
    def from_rounds(cls, rounds: npt.NDArray[np.uint64]) -> SumcheckProof:
        """The proof of round polynomials given by all their values ``s_j(0..d)``, ``(n, d + 1,
        2)`` with ``d >= 1``: each round's :func:`round_message`."""
        if rounds.ndim != 3 or rounds.shape[1] < 2:
            raise ValueError(f"round values of shape {rounds.shape}: need (n, d + 1, 2), d >= 1")
        return cls(round_message(rounds))

    @property
    def num_rounds(self) -> int:
        return int(self.messages.shape[0])

    def write(self, w: Writer) -> None:
        """``n`` (u32), ``d`` (u32), then ``n d`` extension elements."""
        n, width = self.messages.shape[:2]
        w.u32(n)
        w.u32(width)
        w.ext(self.messages.reshape(-1, 2))

    @classmethod
    def read(cls, r: Reader) -> SumcheckProof:
        """Strict decoding from a :class:`~zkinfer.codec.Reader`.

        Raises:
            ProofFormatError: sizes beyond :data:`MAX_VARS` / :data:`MAX_DEGREE`, a degree of 0,
                truncation, or non-canonical elements.
        """
        n = r.u32(MAX_VARS)
        width = r.u32(MAX_DEGREE)
        if width < 1:
            raise ProofFormatError("sumcheck proof: empty round messages")
        return cls(r.ext(n * width).reshape(n, width, 2))

    def to_bytes(self) -> bytes:
        """Standalone encoding (the body :meth:`write` produces)."""
        w = Writer()
        self.write(w)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> SumcheckProof:
        """Strict standalone decoding: :meth:`read`, then no trailing bytes."""
        r = Reader(data, "sumcheck proof")
        proof = cls.read(r)
        r.finish()
        return proof

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SumcheckProof) and np.array_equal(
            self.messages, other.messages
        )

    __hash__ = None  # type: ignore[assignment]


def with_eq(expr: Expression) -> Expression:
    """``eq * E``: table 0 becomes the eq table, the expression's tables shift up by one (the
    statement of a zero-check's sumcheck)."""
    terms = tuple((0,) + tuple(j + 1 for j in t) for t in expr.terms)
    return Expression(expr.num_tables + 1, terms, expr.coeffs)


def begin(transcript: Transcript, num_vars: int, expr: Expression, claim: npt.ArrayLike) -> None:
    """Absorb the statement: ``n``, ``d``, the expression and the claimed sum."""
    transcript.append_int(_LABEL_N, num_vars)
    transcript.append_int(_LABEL_D, expr.degree)
    transcript.append_bytes(_LABEL_EXPR, expr.to_bytes())
    transcript.append_ext(_LABEL_CLAIM, claim)


def round_message(values: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """What a round sends of its polynomial's values ``s_j(0..d)`` ``(..., d + 1, 2)``: all but
    ``s_j(1)``, ``(..., d, 2)`` (contiguous; a stack of rounds gives a stack of messages)."""
    return np.delete(np.asarray(values, dtype=np.uint64), 1, axis=-2)


def round_challenge(transcript: Transcript, values: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Absorb one round's message (:func:`round_message` of its polynomial's values
    ``s_j(0..d)``) and draw that round's challenge ``r_j``."""
    transcript.append_ext(_LABEL_ROUND, round_message(values))
    return transcript.challenge_ext(_LABEL_CHALLENGE)


def round_encodings(messages: npt.NDArray[np.uint64]) -> list[bytes]:
    """What :func:`round_challenge` absorbs for each round message of ``messages`` (canonical
    ``uint64``, shape ``(n, d, 2)``, validated by the caller): the encoding of
    :meth:`Transcript.append_ext`, built once for all rounds."""
    head = array_header(tuple(messages.shape[1:]))
    data = np.ascontiguousarray(messages, dtype="<u8").tobytes()
    step = len(data) // messages.shape[0] if messages.shape[0] else 0
    return [head + data[j * step: (j + 1) * step] for j in range(messages.shape[0])]


def round_challenge_scalar(transcript: Transcript, encoded: bytes) -> tuple[int, int]:
    """:func:`round_challenge` for a verifier holding the round's encoding
    (:func:`round_encodings`): the same transcript calls, ``r_j`` as two Python ints."""
    transcript.append_bytes(_LABEL_ROUND, encoded)
    return transcript.challenge_pair(_LABEL_CHALLENGE)


def soundness_error_bits(num_vars: int, degree: int) -> float:
    """``-log2(n d / p^2)``: the bits of security of one sumcheck."""
    return float(2 * np.log2(float(gl.P)) - np.log2(max(1, num_vars * degree)))
