"""``TrivialPCS``: the opening proof is the whole committed vector (numpy only).

For testing protocol logic quickly. The commitment is a SHA-256 digest of the layout and the
concatenated vector, the opening proof sends the vector itself, and the verifier re-hashes it and
evaluates every claim directly. It is binding (as SHA-256 is collision resistant) but neither
succinct (proof and verifier time are linear in the batch size) nor hiding: not for production.

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
    ProverData,
    absorb_claims,
    is_encoded,
    params_reader,
    params_writer,
    prover_claims,
    read_layout,
    verifier_claims,
    write_layout,
)
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear
from zkinfer.transcript import Transcript

__all__ = ["TrivialPCS", "TrivialCommitment", "TrivialProof", "TrivialProverData"]

U64 = npt.NDArray[np.uint64]

_COMMITMENT_MAGIC = b"ZKTC"
_PROOF_MAGIC = b"ZKTO"
_VERSION = 1
_DIGEST_DOMAIN = b"zkinfer/trivial-pcs/v1"
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


@dataclass(frozen=True)
class TrivialCommitment(Commitment):
    """``digest = SHA-256(domain || layout || F)``."""

    layout: Layout
    digest: bytes

    def to_bytes(self) -> bytes:
        """``"ZKTC" | u16 version | layout | 32-byte digest``."""
        w = Writer()
        w.header(_COMMITMENT_MAGIC, _VERSION)
        write_layout(w, self.layout)
        w.raw(self.digest)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrivialCommitment:
        """Strict inverse of :meth:`to_bytes` (raises ``ProofFormatError``)."""
        r = Reader(data, "trivial commitment")
        r.header(_COMMITMENT_MAGIC, (_VERSION,))
        layout = read_layout(r)
        digest = r.raw(32)
        r.finish()
        return cls(layout, digest)


@dataclass(frozen=True, eq=False)
class TrivialProof(OpeningProof):
    """The binding tag (shape ``(2,)``) and the whole concatenated vector ``F``."""

    binding: U64
    vector: U64

    def to_bytes(self) -> bytes:
        """``"ZKTO" | u16 version | tag (1 extension element) | u32 count | count elements``."""
        w = Writer()
        w.header(_PROOF_MAGIC, _VERSION)
        w.ext(self.binding)
        w.base_vec(self.vector)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrivialProof:
        """Strict inverse of :meth:`to_bytes` (raises ``ProofFormatError``)."""
        r = Reader(data, "trivial opening proof")
        r.header(_PROOF_MAGIC, (_VERSION,))
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

    def open(
        self, data: TrivialProverData, claims: Sequence[OpeningClaim], transcript: Transcript,
        progress=None,
    ) -> TrivialProof:
        """See :meth:`PCS.open` (too little work to report progress)."""
        checked = prover_claims(data, claims)
        # absorb commitment and claims; beta <- transcript; absorb the proof
        absorb_claims(transcript, data.commitment.to_bytes(), checked)
        proof = TrivialProof(transcript.challenge_ext(_LABEL_BINDING), data.vector.copy())
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
        checked = verifier_claims(com.layout, claims, _CHECK)
        absorb_claims(transcript, com.to_bytes(), checked)
        binding = transcript.challenge_ext(_LABEL_BINDING)
        transcript.append_bytes(_LABEL_PROOF, hashlib.sha256(prf.to_bytes()).digest())
        # beta == the transcript's tag: same transcript state, same commitment and claims
        if not np.array_equal(binding, prf.binding):
            raise VerificationError(_CHECK, "binding tag: proof made for another transcript "
                                    "state, commitment or claims")
        vector = prf.vector
        # len(F) == 2^n and SHA-256(domain || layout || F) == digest
        if vector.shape != (com.layout.size,):
            raise VerificationError(_CHECK, "vector of the wrong length",
                                    expected=com.layout.size, got=vector.shape[0])
        if _digest(com.layout, vector) != com.digest:
            raise VerificationError(_CHECK, "the vector does not match the commitment")
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

