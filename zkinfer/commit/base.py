"""The polynomial commitment interface every scheme implements (numpy only, verifier-safe).

Protocol code depends on :class:`PCS` and on the types here, never on a concrete scheme; one
conformance suite (``tests/commit/test_conformance.py``) runs against every implementation.

The life of a batch of polynomials
----------------------------------

1. ``commitment, data = pcs.commit([v_0, v_1, ...])`` commits many multilinear polynomials, each
   given by its evaluation table on the cube (length ``2^n_k``, any mix of sizes), in **one**
   commitment. ``commitment`` is public (:meth:`Commitment.to_bytes`, absorb it into the
   transcript); ``data`` is prover-only state that is never serialized.
2. Both sides derive evaluation points from the transcript. The prover calls
   ``proof = pcs.open(data, claims, transcript)`` and the verifier
   ``pcs.verify(commitment, claims, proof, transcript)`` with the same claims
   ``OpeningClaim(poly, point, value)``: "polynomial ``poly`` of the batch evaluates to ``value`` at
   ``point``". One opening proof covers any number of claims.
3. Challenges are drawn only from the transcript passed in, after the commitment, the claims
   (indices, points, values) and every prover message are absorbed: prover and verifier must
   hand in transcripts in the same state, and leave them in the same state.

Layout of a batch (:class:`Layout`)
-----------------------------------
The polynomials are concatenated into one vector ``F`` of length ``2^n`` (the smallest power of two
that holds them all): sorted by size, largest first (ties keep the caller's order), each at an
offset that is a multiple of its own size, zero-padded at the end. A claim on polynomial ``k``
(``n_k`` variables, offset ``o_k``) at ``r`` is the claim on ``F`` at
``(prefix bits of o_k, r)``: the ``n - n_k`` most significant bits of ``o_k`` (as ``0``/``1``
coordinates, variable 1 first), then ``r`` (:meth:`Layout.global_point`). ``OpeningClaim(None, p, v)``
is a claim on ``F`` itself at an ``n``-variable point ``p``.

Reducing many claims to one opening (:mod:`zkinfer.protocol.openings`)
----------------------------------------------------------------------
An opening proof costs the same whether it proves one claim or a hundred **that share their
column point** (for :class:`~zkinfer.commit.ligero.LigeroPCS`: the last ``log C`` coordinates of
the global point; claims on polynomials of at least ``C`` elements at the same point always do).
Each further distinct column point costs one more row vector (``16 C`` bytes). So callers should:

- **same point, several polynomials**: just pass all the claims; the scheme combines them with
  fresh random coefficients (one combined row, checked once).
- **many points**: first reduce the claims ``F(p_k) = v_k`` on the whole vector ``F`` (translate
  block claims with :meth:`Layout.global_point`) to one point by the batching sumcheck of
  :mod:`zkinfer.protocol.openings`: draw ``gamma``, prove ``sum_x W(x) F(x) = sum_k gamma^k v_k`` with
  ``W(x) = sum_k gamma^k eq(p_k, x)`` (degree 2), and open ``OpeningClaim(None, r*, F(r*))`` at the
  sumcheck's end point ``r*``; the verifier computes ``W(r*)`` itself in ``O(#claims * n)``.
  The prover's cost is ``O(2^n)`` field operations (folding ``F`` and ``W``), independent of the
  number of claims once ``W`` is built (each ``eq(p_k, .)`` is non-zero on block ``k`` only).

Security: every scheme reports :attr:`PCS.security_bits`, the bits of interactive soundness of
one opening from its parameters, and :meth:`PCS.opening_soundness`, the same error split into
the query phase (which proof-of-work grinding protects) and the rest, with the analysis it rests
on; :mod:`zkinfer.security` adds them to the protocol's own terms.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import FieldRangeError, ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript

__all__ = [
    "MAX_POLYS",
    "MAX_TOTAL_VARS",
    "OpeningClaim",
    "Layout",
    "Commitment",
    "OpeningProof",
    "ProverData",
    "OpeningSoundness",
    "PCS",
    "absorb_claims",
    "write_layout",
    "is_encoded",
    "params_writer",
    "params_reader",
    "read_layout",
    "prover_claims",
    "verifier_claims",
]

U64 = npt.NDArray[np.uint64]

MAX_TOTAL_VARS = 32
"""Most variables of one batch (``2^32`` field elements, far above any real use)."""

MAX_POLYS = 2**16
"""Most polynomials in one batch (a decoding bound)."""

_LABEL_COMMITMENT = b"pcs/commitment"
_LABEL_NUM_CLAIMS = b"pcs/num-claims"
_LABEL_CLAIM_POLY = b"pcs/claim-poly"
_LABEL_CLAIM_POINT = b"pcs/claim-point"
_LABEL_CLAIM_VALUE = b"pcs/claim-value"


@dataclass(frozen=True, eq=False)
class OpeningClaim:
    """``poly(point) == value``.

    Attributes:
        poly: index of the polynomial in the order given to ``commit``, or ``None`` for the
            whole concatenated vector (see the module docstring).
        point: extension point, shape ``(n_k, 2)``.
        value: extension element, shape ``(2,)``; ``None`` when the prover should compute it
            (allowed in :meth:`PCS.open` only).
    """

    poly: int | None
    point: npt.ArrayLike
    value: npt.ArrayLike | None = None


@dataclass(frozen=True)
class Layout:
    """Where each committed polynomial sits in the concatenated vector ``F``.

    Attributes:
        num_vars: ``n_k`` of each polynomial, in the caller's order.
        offsets: start index of each polynomial in ``F`` (a multiple of ``2^n_k``).
        total_vars: ``n``: ``F`` has ``2^n`` entries.
    """

    num_vars: tuple[int, ...]
    offsets: tuple[int, ...] = field(init=False)
    total_vars: int = field(init=False)

    def __post_init__(self) -> None:
        if not self.num_vars:
            raise ValueError("a batch needs at least one polynomial")
        if len(self.num_vars) > MAX_POLYS:
            raise ValueError(f"at most {MAX_POLYS} polynomials per batch")
        if any(not 0 <= n <= MAX_TOTAL_VARS for n in self.num_vars):
            raise ValueError(f"each polynomial has 0..{MAX_TOTAL_VARS} variables")
        # largest first (stable): every offset is then a multiple of the current size
        order = sorted(range(len(self.num_vars)), key=lambda k: -self.num_vars[k])
        offsets = [0] * len(self.num_vars)
        pos = 0
        for k in order:
            offsets[k] = pos
            pos += 1 << self.num_vars[k]
        total = max(0, (pos - 1).bit_length())
        if total > MAX_TOTAL_VARS:
            raise ValueError(f"the batch needs 2^{total} entries, above 2^{MAX_TOTAL_VARS}")
        object.__setattr__(self, "offsets", tuple(offsets))
        object.__setattr__(self, "total_vars", total)

    @property
    def size(self) -> int:
        """``2^n``: the length of the concatenated vector."""
        return 1 << self.total_vars

    @property
    def used(self) -> int:
        """Entries of ``F`` before the zero padding: the end of the last block.

        The blocks are packed from index ``0`` without gaps, so this is also the sum of their
        sizes; ``2^(n-1) < used <= 2^n`` (``used = 1`` for ``n = 0``) and the entries
        ``[used, 2^n)`` of ``F`` are zero.
        """
        return max(o + (1 << n) for o, n in zip(self.offsets, self.num_vars, strict=True))

    def poly_vars(self, poly: int | None) -> int:
        """Number of variables of polynomial ``poly`` (``total_vars`` for ``None``)."""
        return self.total_vars if poly is None else self.num_vars[poly]

    def global_point(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """The point on ``F`` equivalent to ``point`` on polynomial ``poly``.

        Arguments:
            poly: polynomial index, or ``None`` for ``F`` itself.
            point: extension point of shape ``(n_poly, 2)``.

        Returns:
            ``(prefix bits of the offset, point)``, shape ``(total_vars, 2)``.

        Raises:
            ValueError: ``poly`` out of range or ``point`` of the wrong shape.
        """
        pt = ext.as_ext(np.asarray(point).reshape(-1, 2), "point")
        n_k = self.check_claim_shape(poly, pt)
        if poly is None:
            return np.ascontiguousarray(pt)
        prefix_len = self.total_vars - n_k
        prefix = self.offsets[poly] >> n_k
        bits = [(prefix >> (prefix_len - 1 - i)) & 1 for i in range(prefix_len)]
        return np.concatenate([ext.from_base(np.array(bits, dtype=np.uint64)), pt], axis=0)

    def check_claim_shape(self, poly: int | None, point: U64) -> int:
        """Check ``poly`` is valid and ``point`` has its number of variables; return it."""
        if poly is not None and not (isinstance(poly, (int, np.integer))
                                     and 0 <= int(poly) < len(self.num_vars)):
            raise ValueError(f"claim on polynomial {poly!r}: the batch has {len(self.num_vars)}")
        n_k = self.poly_vars(None if poly is None else int(poly))
        if point.shape != (n_k, 2):
            raise ValueError(f"claim point of shape {point.shape}, expected ({n_k}, 2)")
        return n_k

    def block(self, vector: U64, poly: int | None) -> U64:
        """The slice of the concatenated ``vector`` that holds polynomial ``poly``."""
        if poly is None:
            return vector
        start = self.offsets[poly]
        return vector[start : start + (1 << self.num_vars[poly])]

    def concatenate(self, polys: Sequence[npt.ArrayLike]) -> U64:
        """Build ``F`` from the polynomials' tables (each of length ``2^n_k``)."""
        out = np.zeros(self.size, dtype=np.uint64)
        for k, v in enumerate(polys):
            out[self.offsets[k] : self.offsets[k] + (1 << self.num_vars[k])] = v
        return out

    @classmethod
    def of(cls, polys: Sequence[npt.ArrayLike]) -> tuple[Layout, list[U64]]:
        """Validate evaluation tables and return their layout and the tables as ``uint64``.

        Raises:
            FieldRangeError: a table is not 1-D, not of power-of-two length, or not canonical.
        """
        if isinstance(polys, np.ndarray) and polys.ndim == 1:
            raise FieldRangeError("commit takes a sequence of tables, not one table: wrap it")
        tables = []
        for k, v in enumerate(polys):
            arr = np.ascontiguousarray(gl.as_field(v, f"polynomial {k}"))
            if arr.ndim != 1 or arr.shape[0] < 1 or arr.shape[0] & (arr.shape[0] - 1):
                raise FieldRangeError(
                    f"polynomial {k}: an evaluation table of length 2^n is required, "
                    f"got shape {arr.shape}"
                )
            tables.append(arr)
        return cls(tuple(t.shape[0].bit_length() - 1 for t in tables)), tables


class Commitment(abc.ABC):
    """A public commitment to a batch of polynomials."""

    layout: Layout

    @abc.abstractmethod
    def to_bytes(self) -> bytes:
        """Canonical encoding (the scheme's ``decode_commitment`` reads it back)."""


class OpeningProof(abc.ABC):
    """A public opening proof."""

    @abc.abstractmethod
    def to_bytes(self) -> bytes:
        """Canonical encoding (the scheme's ``decode_proof`` reads it back)."""


class ProverData(abc.ABC):
    """Prover-only state of one commitment; never serialized."""

    layout: Layout
    vector: U64  # the concatenated vector F

    @abc.abstractmethod
    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """Evaluate polynomial ``poly`` (``None``: all of ``F``) at an extension ``point``.

        Returns:
            The value, shape ``(2,)``.
        """


@dataclass(frozen=True)
class OpeningSoundness:
    """The soundness of one opening, split the way :mod:`zkinfer.security` needs it.

    The interactive error of one opening is ``field_error + query_error``; against a hashing
    (Fiat-Shamir) adversary, per unit of work, it is ``field_error + query_error 2^-g`` with
    ``g = grinding_bits``.

    Attributes:
        field_error: the terms of the challenges drawn before the query phase.
        query_error: the query phase's term (the only one grinding protects).
        grinding_bits: proof-of-work bits the prover pays before the queries (0: none).
        bound: the analysis the figures come from (e.g. ``"unique-decoding"``).
        proven: whether that analysis is proven (``False``: conjectured).
        insecure: the scheme makes no security claim at all (``TrivialPCS``: the proof is the
            committed vector itself); the figures are then meaningless and set to 1.
    """

    field_error: float
    query_error: float
    grinding_bits: int
    bound: str
    proven: bool
    insecure: bool


class PCS(abc.ABC):
    """A multilinear polynomial commitment scheme over Goldilocks (challenges in ``F_p2``).

    Implementations: :class:`~zkinfer.commit.trivial.TrivialPCS`,
    :class:`~zkinfer.commit.ligero.LigeroPCS`.

    *Setup* is the constructor: both schemes are transparent (no trusted setup), their
    parameters are public and :meth:`params_bytes` encodes them canonically, for a verifying
    key to record; :func:`zkinfer.commit.pcs_from_params` rebuilds the scheme from those bytes.
    """

    name: str = "pcs"

    @abc.abstractmethod
    def params_bytes(self) -> bytes:
        """Canonical encoding of the scheme and its parameters (``"ZKPP"`` header, then the
        scheme name as length-prefixed bytes, then scheme-specific fields)."""

    @classmethod
    @abc.abstractmethod
    def from_params(cls, data: bytes) -> PCS:
        """Inverse of :meth:`params_bytes` (raises ``ProofFormatError``)."""

    @property
    @abc.abstractmethod
    def security_bits(self) -> float:
        """Interactive soundness of one opening in bits (``-log2`` of the error), from the
        parameters."""

    def opening_soundness(self) -> OpeningSoundness:
        """The error of one opening, split (see :class:`OpeningSoundness`).

        The default, for a scheme that does not override it, puts all of ``2^-security_bits``
        in the query term, counts no grinding and marks the bound as not proven (a verifier
        then accepts it only when told to accept conjectured bounds).

        Returns:
            The split error.
        """
        return OpeningSoundness(0.0, 2.0 ** -self.security_bits, 0, "unspecified", False, False)

    @abc.abstractmethod
    def commit(self, polys: Sequence[npt.ArrayLike], progress=None) -> tuple[Commitment, ProverData]:
        """Commit a batch of polynomials.

        Arguments:
            polys: evaluation tables, each a 1-D array of canonical elements of length
                ``2^n_k`` (``n_k >= 0``; sizes may differ).
            progress: ``None`` or ``progress(step, done, total)``, which a scheme may call to
                report its work (the commitment never depends on it).

        Returns:
            ``(commitment, prover_data)``.

        Raises:
            FieldRangeError: a table is malformed or non-canonical.
            ValueError: the batch is empty or too large.
        """

    @abc.abstractmethod
    def open(
        self, data: ProverData, claims: Sequence[OpeningClaim], transcript: Transcript, progress=None
    ) -> OpeningProof:
        """Prove all ``claims`` (values may be ``None``: the prover computes them).

        The transcript absorbs the commitment, the claims and the proof's messages.
        ``progress``, if given, may be called as ``progress(step, done, total)`` (as for
        :meth:`commit`).

        Raises:
            ValueError: a claim names a missing polynomial or has a point of the wrong shape.
        """

    @abc.abstractmethod
    def verify(
        self,
        commitment: Commitment | bytes,
        claims: Sequence[OpeningClaim],
        proof: OpeningProof | bytes,
        transcript: Transcript,
    ) -> None:
        """Check ``proof`` for ``claims`` against ``commitment``; return ``None`` on success.

        Arguments:
            commitment: the commitment object or its bytes.
            claims: the claims, every value given.
            proof: the proof object or its bytes.
            transcript: in the same state as the prover's when it called :meth:`open`.

        Raises:
            ProofFormatError: ``commitment`` or ``proof`` bytes do not decode.
            VerificationError: the proof is rejected (the message says which check failed).
        """

    @abc.abstractmethod
    def decode_commitment(self, data: bytes) -> Commitment:
        """Strictly decode a commitment (raises ``ProofFormatError``)."""

    @abc.abstractmethod
    def decode_proof(self, data: bytes) -> OpeningProof:
        """Strictly decode an opening proof (raises ``ProofFormatError``)."""


def prover_claims(data: ProverData, claims: Sequence[OpeningClaim]) -> list[tuple[int | None, U64, U64]]:
    """Validate the prover's claims and fill in missing values: ``[(poly, point, value)]``.

    Raises:
        ValueError: a claim is malformed.
    """
    if not claims:
        raise ValueError("open needs at least one claim")
    out = []
    for c in claims:
        point = ext.as_ext(np.asarray(c.point, dtype=np.uint64).reshape(-1, 2), "claim point")
        data.layout.check_claim_shape(c.poly, point)
        poly = None if c.poly is None else int(c.poly)
        value = data.evaluate(poly, point) if c.value is None else ext.as_ext(c.value, "value")
        out.append((poly, point, np.asarray(value, dtype=np.uint64).reshape(2)))
    return out


def verifier_claims(layout: Layout, claims: Sequence[OpeningClaim], check: str
                    ) -> list[tuple[int | None, U64, U64]]:
    """Validate the verifier's claims: ``[(poly, point, value)]``.

    Raises:
        VerificationError: a claim is malformed (unknown polynomial, wrong point shape,
            non-canonical or missing value); ``check`` names the scheme.
    """
    if not claims:
        raise VerificationError(check, "no claims to verify")
    out = []
    for i, c in enumerate(claims):
        try:
            point = ext.as_ext(np.asarray(c.point).reshape(-1, 2), "claim point")
            layout.check_claim_shape(c.poly, point)
            if c.value is None:
                raise ValueError("claim value missing")
            value = ext.as_ext(np.asarray(c.value).reshape(-1), "claim value")
            if value.shape != (2,):
                raise ValueError("claim value must have shape (2,)")
        except (ValueError, TypeError) as exc:  # FieldRangeError is a ValueError
            raise VerificationError(check, f"claim {i} is malformed: {exc}") from None
        out.append((None if c.poly is None else int(c.poly), point, value))
    return out


def absorb_claims(
    transcript: Transcript, commitment_bytes: bytes, claims: Sequence[tuple[int | None, U64, U64]]
) -> None:
    """The opening's first transcript step, shared by every scheme, prover and verifier.

    Absorbs the commitment's bytes, the number of claims, and each claim's polynomial index
    (``0`` for the whole vector, ``k + 1`` for polynomial ``k``), point and value.
    """
    transcript.append_bytes(_LABEL_COMMITMENT, commitment_bytes)
    transcript.append_int(_LABEL_NUM_CLAIMS, len(claims))
    for poly, point, value in claims:
        transcript.append_int(_LABEL_CLAIM_POLY, 0 if poly is None else poly + 1)
        transcript.append_ext(_LABEL_CLAIM_POINT, point)
        transcript.append_ext(_LABEL_CLAIM_VALUE, value)


PARAMS_MAGIC = b"ZKPP"
PARAMS_VERSION = 2
"""2: Ligero parameters gained ``grinding_bits`` (version 1 is no longer accepted)."""


def params_writer(name: str) -> Writer:
    """A writer that has the parameter header and the scheme name written."""
    w = Writer()
    w.header(PARAMS_MAGIC, PARAMS_VERSION)
    w.bytes(name.encode())
    return w


def params_reader(data: bytes) -> tuple[str, Reader]:
    """Read the parameter header and scheme name; returns ``(name, reader for the rest)``.

    Raises:
        ProofFormatError: malformed header or name.
    """
    r = Reader(data, "pcs parameters")
    r.header(PARAMS_MAGIC, (PARAMS_VERSION,))
    try:
        name = r.bytes(64).decode("ascii")
    except UnicodeDecodeError:
        raise ProofFormatError("pcs parameters: scheme name is not ASCII") from None
    return name, r


def is_encoded(x: object) -> bool:
    """Whether a commitment or proof argument is bytes (to decode) rather than an object.

    Raises:
        ProofFormatError: ``x`` is a ``str`` or an array (neither bytes nor a decoded object).
    """
    if isinstance(x, (bytes, bytearray, memoryview)):
        return True
    if isinstance(x, (str, np.ndarray)):
        raise ProofFormatError(f"expected bytes or a decoded object, got {type(x).__name__}")
    return False


def write_layout(writer: Writer, layout: Layout) -> None:
    """Encode a layout: ``u32`` count, then each polynomial's ``n_k`` as a ``u8``."""
    writer.u32(len(layout.num_vars))
    writer.raw(bytes(layout.num_vars))


def read_layout(reader: Reader) -> Layout:
    """Decode :func:`write_layout` output.

    Raises:
        ProofFormatError: too many polynomials, ``n_k`` above the bound, or a batch too large.
    """
    count = reader.count(MAX_POLYS, 1)
    if count == 0:
        raise ProofFormatError("a commitment needs at least one polynomial")
    num_vars = tuple(reader.raw(count))
    if max(num_vars) > MAX_TOTAL_VARS:
        raise ProofFormatError(f"a polynomial with more than {MAX_TOTAL_VARS} variables")
    try:
        return Layout(num_vars)
    except ValueError as exc:
        raise ProofFormatError(f"bad layout: {exc}") from None
