"""``TrivialPCS``: the opening proof is the whole committed vector (numpy only).

For testing protocol logic quickly. The commitment is a SHA-256 digest of the layout and the
concatenated vector, the opening proof sends the vector itself, and the verifier re-hashes it and
evaluates every claim directly. It is binding (as SHA-256 is collision resistant) but neither
succinct (proof and verifier time are linear in the batch size) nor hiding: not for production.

Commitments made of parts (:class:`~zkinfer.commit.base.Parts`): part ``s`` is hashed alone,
``h_s = SHA-256(part domain || part s's used[s] entries)`` (:meth:`TrivialPCS.commit_part`),
and the digest is ``SHA-256(domain || layout || mode and used || h_0 || ... || h_(S-1))``
(:meth:`TrivialPCS.join`). The proof sends the parts' used entries, concatenated in order
(``sum(used)`` elements); the verifier splits them by ``used``, re-hashes and evaluates.

Encoding: ``"ZKTC" | u16 version 2 | layout | mode | 32-byte digest`` with the mode of
:func:`~zkinfer.commit.base.write_parts` (``u8 0`` plain; ``u8 1 | u32 S | S x u64 used``
parts). Version 1 (no mode: plain) is still read and encodes back to its own bytes.

Transcript schedule of an opening (prover and verifier):
:func:`~zkinfer.commit.base.absorb_claims`, draw the *binding tag* ``beta`` in ``F_p2`` (sent in
the proof and compared by the verifier), then absorb the digest of the proof's bytes. The tag ties
the proof to the transcript state and to the exact claims, so protocol code tested with this
scheme fails loudly when prover and verifier transcripts drift apart, as it would with a real PCS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.commit.base import (
    MAX_TOTAL_VARS,
    PCS,
    Commitment,
    Layout,
    OpeningClaim,
    OpeningProof,
    OpeningSoundness,
    PartData,
    Parts,
    ProverData,
    absorb_claims,
    check_pieces,
    is_encoded,
    params_reader,
    params_writer,
    part_vector,
    prover_claims,
    read_layout,
    read_parts,
    verifier_claims,
    write_layout,
    write_parts,
)
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear
from zkinfer.transcript import Transcript

__all__ = [
    "TrivialPCS",
    "TrivialCommitment",
    "TrivialProof",
    "TrivialProverData",
    "TrivialPartData",
    "TrivialPartsData",
]

U64 = npt.NDArray[np.uint64]

_COMMITMENT_MAGIC = b"ZKTC"
_PROOF_MAGIC = b"ZKTO"
_VERSION = 2  # the commitment's (2: the mode, plain or parts)
_LEGACY_VERSION = 1  # still read: plain, no mode byte
_PROOF_VERSION = 1
_DIGEST_DOMAIN = b"zkinfer/trivial-pcs/v1"
_PART_DOMAIN = b"zkinfer/trivial-pcs/part/v1"
_LABEL_PROOF = b"trivial-pcs/proof"
_LABEL_BINDING = b"trivial-pcs/binding"
_CHECK = "trivial pcs"


def _digest(layout: Layout, vector: U64) -> bytes:
    w = Writer()
    write_layout(w, layout)
    h = hashlib.sha256(_DIGEST_DOMAIN)
    h.update(w.finish())
    h.update(gl.to_bytes(vector))
    return h.digest()


def _part_digest(vector: U64) -> bytes:
    """``h_s = SHA-256(part domain || part s's used entries)``."""
    return hashlib.sha256(_PART_DOMAIN + gl.to_bytes(vector)).digest()


def _parts_digest(parts: Parts, part_digests: Sequence[bytes]) -> bytes:
    """``SHA-256(domain || layout || mode and used || h_0 || ... || h_(S-1))``."""
    w = Writer()
    write_layout(w, parts.layout)
    write_parts(w, parts)
    h = hashlib.sha256(_DIGEST_DOMAIN)
    h.update(w.finish())
    for d in part_digests:
        h.update(d)
    return h.digest()


def _split(parts: Parts, vector: U64) -> list[U64]:
    """The parts' used entries from their concatenation (``sum(used)`` entries)."""
    bounds = np.cumsum((0,) + parts.used)
    return [vector[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


@dataclass(frozen=True)
class TrivialCommitment(Commitment):
    """``digest = SHA-256(domain || layout || F)`` (plain) or over the parts' digests (parts).

    ``version`` is 2, or 1 for a plain commitment decoded from version-1 bytes.
    """

    layout: Layout
    digest: bytes
    parts: Parts | None = None
    version: int = _VERSION

    def to_bytes(self) -> bytes:
        """``"ZKTC" | u16 version | layout | mode | 32-byte digest`` (version 1: no mode).

        Raises:
            ValueError: a version-1 object made of parts.
        """
        w = Writer()
        w.header(_COMMITMENT_MAGIC, self.version)
        write_layout(w, self.layout)
        if self.version >= _VERSION:
            write_parts(w, self.parts)
        elif self.parts is not None:
            raise ValueError(f"a commitment made of parts needs version {_VERSION}")
        w.raw(self.digest)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrivialCommitment:
        """Strict inverse of :meth:`to_bytes` (raises ``ProofFormatError``)."""
        what = "trivial commitment"
        r = Reader(data, what)
        version = r.header(_COMMITMENT_MAGIC, (_LEGACY_VERSION, _VERSION))
        layout = read_layout(r)
        parts = read_parts(r, layout, what) if version >= _VERSION else None
        digest = r.raw(32)
        r.finish()
        return cls(layout, digest, parts, version)


@dataclass(frozen=True, eq=False)
class TrivialProof(OpeningProof):
    """The binding tag (shape ``(2,)``) and the whole concatenated vector ``F`` (parts: the
    parts' used entries, concatenated)."""

    binding: U64
    vector: U64

    def to_bytes(self) -> bytes:
        """``"ZKTO" | u16 version | tag (1 extension element) | u32 count | count elements``."""
        w = Writer()
        w.header(_PROOF_MAGIC, _PROOF_VERSION)
        w.ext(self.binding)
        w.base_vec(self.vector)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrivialProof:
        """Strict inverse of :meth:`to_bytes` (raises ``ProofFormatError``)."""
        r = Reader(data, "trivial opening proof")
        r.header(_PROOF_MAGIC, (_PROOF_VERSION,))
        binding = r.ext(1)[0]
        vector = r.base_vec(2**MAX_TOTAL_VARS - 1)
        r.finish()
        return cls(binding, vector)


@dataclass(eq=False)
class TrivialProverData(ProverData):
    """The layout and the concatenated vector."""

    layout: Layout
    vector: U64
    commitment: TrivialCommitment

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)`` (Numba evaluation; imports numba on first use)."""
        from zkinfer.poly import fast  # prover side only

        return fast.evaluate(self.layout.block(self.vector, poly), point)


class TrivialPartData(PartData):
    """One part, committed alone: its vector and its digest ``h_s`` (nothing to spill)."""

    def __init__(self, parts: Parts, index: int, values: U64, digest: bytes) -> None:
        self.parts = parts
        self.index = index
        self.values = values
        self.digest = digest

    @property
    def vector(self) -> U64:
        """The part's ``used[index]`` entries (read-only)."""
        return self.values


class TrivialPartsData(ProverData):
    """Prover-only state of a commitment made of parts: the parts and the commitment."""

    def __init__(self, parts: Parts, pieces: Sequence[TrivialPartData],
                 commitment: TrivialCommitment) -> None:
        self.parts = parts
        self.pieces = list(pieces)
        self.commitment = commitment

    def close(self) -> None:
        """Close every part."""
        for piece in self.pieces:
            piece.close()

    @property
    def layout(self) -> Layout:
        """``parts.layout``."""
        return self.parts.layout

    @property
    def vector(self) -> U64:
        """``F``, the zero-padded parts concatenated (a copy, built on each access)."""
        return self.parts.concatenate([p.values for p in self.pieces])

    def part(self, index: int) -> U64:
        """Part ``index``'s vector: ``used[index]`` entries, read-only, no copy."""
        return self.pieces[self.parts.index(index)].values

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)`` (Numba evaluation; imports numba on first use)."""
        from zkinfer.poly import fast  # prover side only

        if poly is None:
            return fast.evaluate(self.vector, point)
        table = np.zeros(self.parts.size, dtype=np.uint64)
        values = self.part(poly)
        table[: values.shape[0]] = values
        return fast.evaluate(table, point)


class TrivialPCS(PCS):
    """Sends the evaluations. Insecure for production use (not succinct, not hiding); for tests.

    It reports 0 bits of security, and :func:`zkinfer.verifier.verify` rejects a key naming it
    unless called with ``allow_insecure=True``.
    """

    name = "trivial"

    def params_bytes(self) -> bytes:
        """``"ZKPP" | u16 version | name`` (no parameters)."""
        return params_writer(self.name).finish()

    @classmethod
    def from_params(cls, data: bytes) -> TrivialPCS:
        """Inverse of :meth:`params_bytes` (raises ``ProofFormatError``)."""
        name, r = params_reader(data)
        if name != cls.name:
            raise ProofFormatError(f"pcs parameters: scheme {name!r}, expected {cls.name!r}")
        r.finish()
        return cls()

    @property
    def security_bits(self) -> float:
        """``0.0``: this scheme makes no security claim (the proof *is* the committed vector:
        nothing is hidden, e.g. a model's weights, and nothing is succinct), so that a security
        floor rejects it (:func:`zkinfer.verifier.verify` accepts it only with
        ``allow_insecure=True``). Its checks are exact: binding rests on SHA-256 collision
        resistance and the openings add no soundness error."""
        return 0.0

    def opening_soundness(self) -> OpeningSoundness:
        """``insecure``: no security claim (see :attr:`security_bits`); the errors are 1."""
        return OpeningSoundness(1.0, 0.0, 0, "none", True, True)

    def commit(self, polys: Sequence[npt.ArrayLike], progress=None
               ) -> tuple[TrivialCommitment, TrivialProverData]:
        """See :meth:`PCS.commit` (too little work to report progress)."""
        layout, tables = Layout.of(polys)
        vector = layout.concatenate(tables)
        commitment = TrivialCommitment(layout, _digest(layout, vector))
        return commitment, TrivialProverData(layout, vector, commitment)

    def commit_part(self, parts: Parts, index: int, vector: npt.ArrayLike, *, spill=None,
                    progress=None) -> TrivialPartData:
        """See :meth:`PCS.commit_part`: hash the part (a copy of its vector is kept; ``spill``
        is accepted and ignored: nothing is bulky)."""
        values = part_vector(parts, index, vector).copy()
        values.setflags(write=False)
        return TrivialPartData(parts, int(index), values, _part_digest(values))

    def join(self, parts: Parts, pieces: Sequence[TrivialPartData], progress=None
             ) -> tuple[TrivialCommitment, TrivialPartsData]:
        """See :meth:`PCS.join`: the digest over the parts' digests."""
        pieces = check_pieces(parts, pieces, TrivialPartData, "trivial")
        commitment = TrivialCommitment(parts.layout,
                                       _parts_digest(parts, [p.digest for p in pieces]), parts)
        return commitment, TrivialPartsData(parts, pieces, commitment)

    def open(
        self, data: TrivialProverData | TrivialPartsData, claims: Sequence[OpeningClaim],
        transcript: Transcript, progress=None,
    ) -> TrivialProof:
        """See :meth:`PCS.open` (too little work to report progress)."""
        if isinstance(data, TrivialPartsData) and any(p.closed for p in data.pieces):
            raise ValueError("prover data whose parts are closed")
        checked = prover_claims(data, claims)
        # absorb commitment and claims; beta <- transcript; absorb the proof
        absorb_claims(transcript, data.commitment.to_bytes(), checked)
        if isinstance(data, TrivialPartsData):
            sent = np.concatenate([p.values for p in data.pieces])
        else:
            sent = data.vector.copy()
        proof = TrivialProof(transcript.challenge_ext(_LABEL_BINDING), sent)
        transcript.append_bytes(_LABEL_PROOF, hashlib.sha256(proof.to_bytes()).digest())
        return proof

    def verify(
        self,
        commitment: TrivialCommitment | bytes,
        claims: Sequence[OpeningClaim],
        proof: TrivialProof | bytes,
        transcript: Transcript,
    ) -> None:
        """See :meth:`PCS.verify`."""
        com = self.decode_commitment(commitment) if is_encoded(commitment) else commitment
        prf = self.decode_proof(proof) if is_encoded(proof) else proof
        if not isinstance(com, TrivialCommitment) or not isinstance(prf, TrivialProof):
            raise VerificationError(_CHECK, "commitment or proof of another scheme")
        parts = com.parts
        # (decoded commitments satisfy this; a commitment object built by hand might not)
        if parts is not None and (not isinstance(parts, Parts) or parts.layout != com.layout
                                  or com.version < _VERSION):
            raise VerificationError(_CHECK, "the layout is not that of the parts")
        checked = verifier_claims(com.layout, claims, _CHECK)
        absorb_claims(transcript, com.to_bytes(), checked)
        binding = transcript.challenge_ext(_LABEL_BINDING)
        transcript.append_bytes(_LABEL_PROOF, hashlib.sha256(prf.to_bytes()).digest())
        # beta == the transcript's tag: same transcript state, same commitment and claims
        if not np.array_equal(binding, prf.binding):
            raise VerificationError(_CHECK, "binding tag: proof made for another transcript "
                                    "state, commitment or claims")
        vector = prf.vector
        if parts is None:
            # len(F) == 2^n and SHA-256(domain || layout || F) == digest
            if vector.shape != (com.layout.size,):
                raise VerificationError(_CHECK, "vector of the wrong length",
                                        expected=com.layout.size, got=vector.shape[0])
            if _digest(com.layout, vector) != com.digest:
                raise VerificationError(_CHECK, "the vector does not match the commitment")
        else:
            # len == sum(used); the digest over the parts' digests; F from the parts
            if vector.shape != (parts.total,):
                raise VerificationError(_CHECK, "vector of the wrong length",
                                        expected=parts.total, got=vector.shape[0])
            pieces = _split(parts, vector)
            if _parts_digest(parts, [_part_digest(v) for v in pieces]) != com.digest:
                raise VerificationError(_CHECK, "the vector does not match the commitment")
            vector = parts.concatenate(pieces)
        # poly_k(point) == value for every claim
        for i, (poly, point, value) in enumerate(checked):
            computed = multilinear.evaluate(com.layout.block(vector, poly), point)
            if not np.array_equal(computed, value):
                raise VerificationError(_CHECK, f"claim {i}: wrong evaluation",
                                        expected=computed.tolist(), got=value.tolist())

    def decode_commitment(self, data: bytes) -> TrivialCommitment:
        """See :meth:`PCS.decode_commitment`."""
        return TrivialCommitment.from_bytes(data)

    def decode_proof(self, data: bytes) -> TrivialProof:
        """See :meth:`PCS.decode_proof`."""
        return TrivialProof.from_bytes(data)

