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

Commitments made of parts (:class:`Parts`)
------------------------------------------
A prover split into segments commits each segment's vector on its own and still opens all of
them with **one** proof. ``Parts(m, used)`` describes ``S = len(used)`` parts, each a multilinear
polynomial in ``m`` variables of which only the first ``used[s]`` entries are given: the entries
from ``used[s]`` to ``2^m`` are zero by definition. Its :attr:`Parts.layout` is
``Layout((m,) * S)``: part ``s`` is polynomial ``s`` of the batch, at offset ``s 2^m``, so
``OpeningClaim(s, point, value)`` (``point`` of shape ``(m, 2)``) is a claim on part ``s`` and
``OpeningClaim(None, ...)`` one on the whole concatenated vector, as for any batch.

1. ``piece = pcs.commit_part(parts, s, vector_s, spill=None)`` does the heavy work of part ``s``
   alone (:class:`PartData`; for Ligero: encode its rows, hash its columns). It reads nothing
   of the other parts, is deterministic, and its result pickles, so parts can be committed in
   any order, in other processes, and shipped back. ``spill=directory`` keeps the bulky part of
   the result (Ligero: the encoded matrix) in a file of that directory, mapped read-only, so the
   part holds in memory only its vector and a digest per column (while it is being made, the
   part's encoded matrix is still in memory once); the file is removed by
   :meth:`PartData.close` or when the part is garbage collected. A spilled part pickles as a
   reference to (a new name of) its file, for another process on the same host.
2. ``commitment, data = pcs.join(parts, pieces)`` is cheap: it combines the parts' digests
   into the commitment (for Ligero, one Merkle tree whose leaf ``j`` covers column ``j`` of
   every part). ``pcs.commit_parts(parts, vectors)`` is both steps for all parts (``vectors``: a
   sequence, or ``index -> vector`` so that each vector can be produced just in time and freed
   after its part is committed); it gives the same bytes as committing part by part.
3. The prover data answers :meth:`ProverData.part` (part ``s``'s vector, ``used[s]`` entries, no
   copy) and :meth:`ProverData.evaluate`, and opens like any other through ``pcs.open``; the
   verifier calls ``pcs.verify`` as usual. The commitment records ``parts`` (its ``.parts``
   attribute; ``None`` for a plain batch), so the verifier knows every ``used[s]``. One proof
   opens any claims on any parts and costs as much as one of a plain commitment to the
   concatenated data, up to the rounding of each part to whole rows (and, for parts smaller
   than the rows a plain commitment of the whole would use, rows no longer than a part).

Schemes implement :meth:`PCS.commit_part` and :meth:`PCS.join` (both abstract);
:meth:`PCS.commit_parts` is the same for every scheme.

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
from collections.abc import Callable, Sequence
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
    "Parts",
    "PartData",
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
    "MODE_PLAIN",
    "MODE_PARTS",
    "write_parts",
    "read_parts",
    "prover_claims",
    "verifier_claims",
    "part_vector",
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


@dataclass(frozen=True)
class Parts:
    """A commitment made of ``S = len(used)`` parts (see the module docstring).

    Part ``s`` is a multilinear polynomial in ``num_vars`` variables whose entries from
    ``used[s]`` on are zero by definition; only its first ``used[s]`` entries are committed.

    Attributes:
        num_vars: ``m``, the variables of every part (``0 <= m <= MAX_TOTAL_VARS``).
        used: ``used[s]``, the entries of part ``s`` that are given, ``1 <= used[s] <= 2^m``
            (any sequence of integers; stored as a tuple of ``int``).

    Raises:
        ValueError: no part, more than :data:`MAX_POLYS`, ``m`` or a ``used[s]`` out of range,
            or the concatenation above ``2^MAX_TOTAL_VARS`` entries.
    """

    num_vars: int
    used: tuple[int, ...]

    def __post_init__(self) -> None:
        m = self.num_vars
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) \
                or not 0 <= int(m) <= MAX_TOTAL_VARS:
            raise ValueError(f"parts: num_vars must be an integer in [0, {MAX_TOTAL_VARS}], "
                             f"got {m!r}")
        m = int(m)
        try:
            used = tuple(self.used)
        except TypeError:
            raise ValueError(f"parts: used must be a sequence of integers, got {self.used!r}") \
                from None
        if not used:
            raise ValueError("parts: at least one part is required")
        if len(used) > MAX_POLYS:
            raise ValueError(f"parts: at most {MAX_POLYS} parts, got {len(used)}")
        for s, u in enumerate(used):
            if isinstance(u, bool) or not isinstance(u, (int, np.integer)) \
                    or not 1 <= int(u) <= 1 << m:
                raise ValueError(f"parts: used[{s}] = {u!r} is not an integer in [1, 2^{m}]")
        object.__setattr__(self, "num_vars", m)
        object.__setattr__(self, "used", tuple(int(u) for u in used))
        if m + (len(used) - 1).bit_length() > MAX_TOTAL_VARS:
            raise ValueError(f"parts: {len(used)} parts of 2^{m} entries exceed "
                             f"2^{MAX_TOTAL_VARS} entries")

    @property
    def count(self) -> int:
        """``S``: the number of parts."""
        return len(self.used)

    @property
    def size(self) -> int:
        """``2^m``: the entries of one part, zero padding included."""
        return 1 << self.num_vars

    @property
    def total(self) -> int:
        """``sum(used)``: the entries given, over all parts."""
        return sum(self.used)

    @property
    def layout(self) -> Layout:
        """``Layout((m,) * S)``: part ``s`` is polynomial ``s``, at offset ``s 2^m``."""
        cached = self.__dict__.get("_layout")
        if cached is None:
            cached = Layout((self.num_vars,) * len(self.used))
            object.__setattr__(self, "_layout", cached)
        return cached

    def concatenate(self, vectors: Sequence[U64]) -> U64:
        """``F``: the parts' vectors, each zero-padded to ``2^m``, then zeros to ``2^n`` (a
        new array)."""
        out = np.zeros(self.layout.size, dtype=np.uint64)
        for s, v in enumerate(vectors):
            out[s << self.num_vars :][: v.shape[0]] = v
        return out

    def index(self, index: object) -> int:
        """``index`` as a part number, checked.

        Raises:
            ValueError: not an integer in ``[0, S)`` (a ``bool`` is refused).
        """
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                or not 0 <= int(index) < self.count:
            raise ValueError(f"part index {index!r}: the commitment has {self.count} parts")
        return int(index)


def check_pieces(parts: Parts, pieces: Sequence, kind: type, name: str) -> list:
    """Validate the pieces handed to :meth:`PCS.join`: a :class:`Parts`, one open piece of
    type ``kind`` per part, each committed as that part of these parts.

    Returns:
        The pieces as a list.

    Raises:
        ValueError: anything else (the message names the piece).
    """
    if not isinstance(parts, Parts):
        raise ValueError(f"expected Parts, got {type(parts).__name__}")
    pieces = list(pieces)
    if len(pieces) != parts.count:
        raise ValueError(f"{len(pieces)} pieces for {parts.count} parts")
    for s, piece in enumerate(pieces):
        if not isinstance(piece, kind):
            raise ValueError(f"piece {s} is not a {name} part ({type(piece).__name__})")
        if piece.closed:
            raise ValueError(f"piece {s} is closed")
        if piece.parts != parts or piece.index != s:
            raise ValueError(f"piece {s} was committed as part {piece.index} of {piece.parts}")
    return pieces


def part_vector(parts: Parts, index: int, vector: npt.ArrayLike) -> U64:
    """Validate the vector of part ``index``: ``used[index]`` canonical entries, 1-D.

    Returns:
        It as a contiguous ``uint64`` array (no copy when it already is one).

    Raises:
        ValueError: ``parts`` is not a :class:`Parts` or ``index`` is not a part.
        FieldRangeError: the vector is not 1-D, has another length, or is not canonical.
    """
    if not isinstance(parts, Parts):
        raise ValueError(f"expected Parts, got {type(parts).__name__}")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
            or not 0 <= int(index) < parts.count:
        raise ValueError(f"part index {index!r}: the commitment has {parts.count} parts")
    index = int(index)
    arr = np.ascontiguousarray(gl.as_field(vector, f"part {index}"))
    if arr.shape != (parts.used[index],):
        raise FieldRangeError(f"part {index}: a vector of {parts.used[index]} entries is "
                              f"required, got shape {arr.shape}")
    return arr


class PartData(abc.ABC):
    """Prover-only result of :meth:`PCS.commit_part`: one part, committed on its own.

    It pickles (so it can be computed in another process) and is a context manager:
    ``with pcs.commit_part(...) as piece:`` calls :meth:`close` on exit. After :meth:`close` it
    can no longer be joined or opened.

    Attributes:
        parts: the commitment's parts.
        index: which part this is.
    """

    parts: Parts
    index: int

    @property
    @abc.abstractmethod
    def vector(self) -> U64:
        """The part's ``used[index]`` entries (read-only, no copy)."""

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return getattr(self, "_closed", False)

    def close(self) -> None:
        """Release what the part holds outside memory (a spill file); idempotent."""
        self._closed = True

    def __enter__(self) -> PartData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Commitment(abc.ABC):
    """A public commitment to a batch of polynomials.

    ``layout`` is the batch layout (for a commitment of parts, :attr:`Parts.layout`) and
    ``parts`` the :class:`Parts` of a commitment made of parts, ``None`` for a plain batch.
    """

    layout: Layout
    parts: Parts | None = None

    @abc.abstractmethod
    def to_bytes(self) -> bytes:
        """Canonical encoding (the scheme's ``decode_commitment`` reads it back)."""


class OpeningProof(abc.ABC):
    """A public opening proof."""

    @abc.abstractmethod
    def to_bytes(self) -> bytes:
        """Canonical encoding (the scheme's ``decode_proof`` reads it back)."""


class ProverData(abc.ABC):
    """Prover-only state of one commitment; never serialized.

    ``parts`` is the :class:`Parts` of a commitment made of parts (``None`` for a plain batch);
    :meth:`part` returns a part's vector. ``close()`` (also on leaving a ``with`` block) releases
    what the data holds outside memory (the spill files of its parts); a no-op otherwise.
    """

    layout: Layout
    vector: U64  # the concatenated vector F
    parts: Parts | None = None

    def part(self, index: int) -> U64:
        """The vector of part ``index`` (``used[index]`` entries, no copy).

        Raises:
            ValueError: a plain commitment (no parts), or ``index`` out of range.
        """
        raise ValueError("not a commitment made of parts")

    def map_parts(self, fn, args: Sequence[tuple], done: Callable[[int], None] | None = None
                  ) -> list:
        """``[fn(piece_s, *args[s]) for each part s]``, ``piece_s`` the part's
        :class:`PartData` (a commitment made of parts only); ``done(count)``, if given, is
        called as parts finish.

        This is how the prover works on parts: where the parts live in other processes (on a
        cluster, :mod:`zkinfer.cluster`), ``fn`` runs where part ``s`` is and only its result
        travels, so ``fn`` must be a module-level function and ``args`` and the result
        picklable.
        """
        pieces = getattr(self, "pieces", None)
        if pieces is None:
            raise ValueError("not a commitment made of parts")
        if len(args) != len(pieces):
            raise ValueError(f"{len(args)} argument tuples for {len(pieces)} parts")
        out = []
        for piece, a in zip(pieces, args):
            out.append(fn(piece, *a))
            if done is not None:
                done(len(out))
        return out

    def close(self) -> None:  # noqa: B027 - a no-op unless the data holds parts
        """Release resources held outside memory (see the class docstring); idempotent."""

    def __enter__(self) -> ProverData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
    def commit_part(self, parts: Parts, index: int, vector: npt.ArrayLike, *, spill=None,
                    progress=None) -> PartData:
        """Commit part ``index`` of a commitment made of ``parts``, alone.

        Deterministic, independent of the other parts; the result pickles.

        Arguments:
            parts: the shape of the whole commitment.
            index: the part, ``0 <= index < parts.count``.
            vector: its ``parts.used[index]`` canonical entries (1-D). The part may keep a
                reference to it: do not modify it afterwards.
            spill: ``None`` (keep everything in memory) or a directory (``str`` or path-like)
                where the scheme writes the bulky part of the result to a file of a unique
                name, read back through a read-only memory map and removed by
                :meth:`PartData.close` or garbage collection.
            progress: ``None`` or ``progress(step, done, total)`` (as for :meth:`commit`).

        Returns:
            The part's :class:`PartData`, for :meth:`join`.

        Raises:
            ValueError: ``index`` out of range; ``FieldRangeError`` (a ``ValueError``): the
                vector is malformed, of another length or non-canonical.
        """

    @abc.abstractmethod
    def join(self, parts: Parts, pieces: Sequence[PartData], progress=None
             ) -> tuple[Commitment, ProverData]:
        """Build the commitment of ``parts`` from every part's :meth:`commit_part` result.

        Cheap (it combines the parts' digests). The prover data keeps the pieces: closing it
        closes them.

        Arguments:
            parts: the shape the pieces were committed for.
            pieces: ``pieces[s]`` is part ``s``'s data, ``len(pieces) == parts.count``.
            progress: ``None`` or ``progress(step, done, total)``.

        Returns:
            ``(commitment, prover_data)``.

        Raises:
            ValueError: a piece is missing, closed, of another scheme, parameters, part index
                or shape.
        """

    def commit_parts(self, parts: Parts, vectors: Sequence[npt.ArrayLike] | Callable[[int], npt.ArrayLike],
                     *, spill=None, progress=None) -> tuple[Commitment, ProverData]:
        """:meth:`join` of :meth:`commit_part` of every part, in order (same bytes).

        Arguments:
            parts: the shape of the commitment.
            vectors: ``vectors[s]`` (a sequence of ``parts.count`` vectors) or ``vectors(s)`` (a
                callable, called once per part in order, so that each vector can be made just
                in time and dropped by the caller once its part is committed).
            spill: as for :meth:`commit_part` (every part spills to that directory).
            progress: ``None`` or ``progress(step, done, total)``: ``("committing parts", parts
                done, S)`` between parts, and the steps of :meth:`commit_part` and :meth:`join`.

        Returns:
            ``(commitment, prover_data)``.

        Raises:
            ValueError: as for :meth:`commit_part`, or a sequence of another length.
        """
        if not isinstance(parts, Parts):
            raise ValueError(f"expected Parts, got {type(parts).__name__}")
        if not callable(vectors) and len(vectors) != parts.count:
            raise ValueError(f"{len(vectors)} vectors for {parts.count} parts")
        pieces: list[PartData] = []
        try:
            for s in range(parts.count):
                if progress is not None:
                    progress("committing parts", s, parts.count)
                vector = vectors(s) if callable(vectors) else vectors[s]
                pieces.append(self.commit_part(parts, s, vector, spill=spill, progress=progress))
                del vector
            if progress is not None:
                progress("committing parts", parts.count, parts.count)
            return self.join(parts, pieces, progress)
        except BaseException:
            for piece in pieces:
                piece.close()
            raise

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

    def replay(
        self,
        commitment: Commitment | bytes,
        claims: Sequence[OpeningClaim],
        proof: OpeningProof | bytes,
        transcript: Transcript,
    ) -> Callable[[], None]:
        """:meth:`verify` in two steps: the checks that the transcript's later state depends on
        run now (every absorbed message, drawn challenge and what decides them), the others
        are returned as one call, to run later, e.g. in another process, which raises their
        first failure. Together they are exactly :meth:`verify`'s checks. The default
        verifies everything now and returns a call that does nothing; a scheme whose checks
        after the transcript are costly (Ligero's Merkle paths and encodings) overrides it.

        Raises:
            ProofFormatError, VerificationError: as :meth:`verify`, for the checks made now.
        """
        self.verify(commitment, claims, proof, transcript)
        return _no_checks

    @abc.abstractmethod
    def decode_commitment(self, data: bytes) -> Commitment:
        """Strictly decode a commitment (raises ``ProofFormatError``)."""

    @abc.abstractmethod
    def decode_proof(self, data: bytes) -> OpeningProof:
        """Strictly decode an opening proof (raises ``ProofFormatError``)."""


def _no_checks() -> None:
    """The later checks of a scheme that checks everything in :meth:`PCS.replay` itself."""


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


MODE_PLAIN = 0
"""Commitment mode byte: a plain batch (:meth:`PCS.commit`)."""

MODE_PARTS = 1
"""Commitment mode byte: a commitment made of parts (:meth:`PCS.join`)."""


def write_parts(writer: Writer, parts: Parts | None) -> None:
    """Encode a commitment's mode: ``u8 0`` (plain), or ``u8 1 | u32 S | S x u64 used[s]``."""
    if parts is None:
        writer.u8(MODE_PLAIN)
        return
    writer.u8(MODE_PARTS)
    writer.u32(parts.count)
    writer.raw(np.asarray(parts.used, dtype="<u8").tobytes())


def read_parts(reader: Reader, layout: Layout, what: str) -> Parts | None:
    """Decode :func:`write_parts` output, written after ``layout``; strict.

    In parts mode the layout must be ``S`` polynomials of the same ``m`` variables (so that it
    is :attr:`Parts.layout`), and every ``used[s]`` in ``[1, 2^m]``.

    Arguments:
        reader: positioned at the mode byte.
        layout: the layout decoded before it.
        what: how error messages name the object (``"ligero commitment"``).

    Returns:
        The :class:`Parts`, or ``None`` for a plain commitment.

    Raises:
        ProofFormatError: unknown mode, a count other than the layout's, unequal polynomial
            sizes, or a ``used[s]`` out of range.
    """
    mode = reader.u8()
    if mode == MODE_PLAIN:
        return None
    if mode != MODE_PARTS:
        raise ProofFormatError(f"{what}: unknown mode {mode} (0: plain, 1: parts)")
    count = reader.count(MAX_POLYS, 8)
    used = np.frombuffer(reader.raw(8 * count), dtype="<u8")
    if count != len(layout.num_vars):
        raise ProofFormatError(f"{what}: {count} parts, but the layout has "
                               f"{len(layout.num_vars)} polynomials")
    m = layout.num_vars[0]
    if any(n != m for n in layout.num_vars):
        raise ProofFormatError(f"{what}: parts of different sizes: every polynomial of the "
                               f"layout must have {m} variables, got {layout.num_vars}")
    for s, u in enumerate(used.tolist()):
        if not 1 <= u <= 1 << m:
            raise ProofFormatError(f"{what}: used[{s}] = {u} is not in [1, 2^{m}]")
    try:
        return Parts(m, tuple(used.tolist()))
    except ValueError as exc:  # the layout was checked: not reached, but never another error
        raise ProofFormatError(f"{what}: {exc}") from None
