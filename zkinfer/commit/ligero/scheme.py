"""``LigeroPCS``: the scheme object tying parameters, prover and verifier together (numpy only).

Importing this module does not import numba: :meth:`LigeroPCS.commit` and :meth:`LigeroPCS.open`
import the prover (and with it numba) on first use, :meth:`LigeroPCS.verify` needs only numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy.typing as npt

from zkinfer.commit.base import (
    PCS,
    OpeningClaim,
    OpeningSoundness,
    Parts,
    is_encoded,
    params_reader,
    params_writer,
)
from zkinfer.commit.ligero.params import (
    BOUNDS,
    DEFAULT_GRINDING_BITS,
    MAX_GRINDING_BITS,
    LigeroParams,
)
from zkinfer.commit.ligero.proof import LigeroCommitment, LigeroProof
from zkinfer.commit.ligero.verify import replay_opening
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.transcript import Transcript

if TYPE_CHECKING:  # the prover imports numba: only for annotations here
    from zkinfer.commit.ligero.prover import LigeroPartData, LigeroPartsData, LigeroProverData

__all__ = ["LigeroPCS"]


class LigeroPCS(PCS):
    """Ligero-style multilinear PCS over Goldilocks: Reed-Solomon rows, Merkle tree of columns.

    Arguments:
        log_blowup: ``log2(1 / rate)``: ``1`` (rate 1/2), ``2`` (rate 1/4, default) or ``3``.
        target_bits: the *interactive* soundness of one opening asked for (default 104, so that
            a whole proof, two openings plus the field terms of the protocol, stays at or above
            the verifier's 100-bit floor up to MiniLM's 256 tokens); the query count is the
            smallest that reaches it. Grinding is not counted (it does not change the interactive soundness),
            so the query count does not depend on ``grinding_bits``.
        bound: ``"unique-decoding"`` (proven; default) or ``"conjectured"`` (see
            :mod:`zkinfer.commit.ligero.params`; not proven, for experiments only).
        grinding_bits: proof-of-work bits before the column queries (``0..30``, default 16):
            ``~2^g`` hashes to prove, one to verify; a hashing adversary's query-phase term
            becomes ``q^t 2^-g`` (:attr:`hashing_bits`).

    Raises:
        ValueError: a parameter out of range.

    Proof size ``~ 16 C G + t' (8 R + 32 log(L / t'))`` bytes for an ``R x C`` matrix, ``G``
    distinct column points and ``t'`` distinct queried columns; ``O(sqrt N)`` for ``N`` entries.

    Commitments made of parts (:class:`~zkinfer.commit.base.Parts`): :meth:`commit_part` encodes
    and hashes one part alone (optionally spilling its encoded matrix to a file), :meth:`join`
    builds one Merkle tree over all parts' column digests; the opening and its size are those of
    the stacked matrix (see :mod:`zkinfer.commit.ligero.schedule`).

    Example:
        >>> pcs = LigeroPCS()        # rate 1/4, 154 queries, >= 104 bits, 16 bits of grinding
        >>> com, data = pcs.commit([table_a, table_b])
        >>> proof = pcs.open(data, [OpeningClaim(0, r, None)], Transcript(b"demo"))
        >>> pcs.verify(com.to_bytes(), [OpeningClaim(0, r, value)], proof.to_bytes(), Transcript(b"demo"))
        >>> parts = Parts(16, (65536, 40000))  # two segments' traces, committed one by one
        >>> pieces = [pcs.commit_part(parts, s, v, spill="/tmp") for s, v in enumerate(traces)]
        >>> com, data = pcs.join(parts, pieces)  # open and verify as above
    """

    name = "ligero"

    def __init__(self, log_blowup: int = 2, target_bits: float = 104.0,
                 bound: str = "unique-decoding",
                 grinding_bits: int = DEFAULT_GRINDING_BITS) -> None:
        self.params = LigeroParams(log_blowup, target_bits, bound, grinding_bits)

    def __repr__(self) -> str:
        p = self.params
        return (f"LigeroPCS(rate=1/{1 << p.log_blowup}, queries={p.queries}, "
                f"bits={self.security_bits:.1f}, grinding={p.grinding_bits}, bound={p.bound!r})")

    def params_bytes(self) -> bytes:
        """``"ZKPP" | u16 version | name | u8 log_blowup | u8 target_bits | u8 bound | u16 t |
        u8 grinding_bits``.

        Raises:
            ValueError: ``target_bits`` is not a whole number (only those are encodable).
        """
        p = self.params
        if p.target_bits != int(p.target_bits):
            raise ValueError("only whole-number target_bits can be encoded")
        w = params_writer(self.name)
        w.u8(p.log_blowup)
        w.u8(int(p.target_bits))
        w.u8(BOUNDS.index(p.bound))
        w.u16(p.queries)
        w.u8(p.grinding_bits)
        return w.finish()

    @classmethod
    def from_params(cls, data: bytes) -> LigeroPCS:
        """Inverse of :meth:`params_bytes`.

        Raises:
            ProofFormatError: malformed, unsupported, ``grinding_bits`` above
                :data:`~zkinfer.commit.ligero.params.MAX_GRINDING_BITS`, or a query count that
                does not follow from the other parameters.
        """
        name, r = params_reader(data)
        if name != cls.name:
            raise ProofFormatError(f"pcs parameters: scheme {name!r}, expected {cls.name!r}")
        log_blowup, bits, bound, queries = r.u8(), r.u8(), r.u8(len(BOUNDS) - 1), r.u16()
        grinding = r.u8(MAX_GRINDING_BITS)
        r.finish()
        try:
            pcs = cls(log_blowup, bits, BOUNDS[bound], grinding)
        except ValueError as exc:
            raise ProofFormatError(f"pcs parameters: {exc}") from None
        if pcs.queries != queries:
            raise ProofFormatError("pcs parameters: query count does not match the others")
        return pcs

    @property
    def queries(self) -> int:
        """``t``: column queries per opening."""
        return self.params.queries

    @property
    def security_bits(self) -> float:
        """Interactive: ``-log2(((1 + rate) / 2)^t + (L_max + MAX_GROUPS + 2) / p^2)`` (see
        :mod:`.params`; ``rate^t`` for the conjectured bound); grinding does not change it."""
        return self.params.security_bits

    @property
    def hashing_bits(self) -> float:
        """Per unit of hashing work: ``-log2(q^t 2^-g + (L_max + MAX_GROUPS + 2) / p^2)``."""
        return self.params.hashing_bits

    def opening_soundness(self) -> OpeningSoundness:
        """See :meth:`zkinfer.commit.base.PCS.opening_soundness`."""
        p = self.params
        return OpeningSoundness(field_error=p.field_error, query_error=p.query_error,
                                grinding_bits=p.grinding_bits, bound=p.bound,
                                proven=p.bound == "unique-decoding", insecure=False)

    def commit(self, polys: Sequence[npt.ArrayLike], progress=None
               ) -> tuple[LigeroCommitment, LigeroProverData]:
        """See :meth:`zkinfer.commit.base.PCS.commit`.

        ``progress(step, done, total)``, if given, reports the work done (rows encoded, columns
        hashed, Merkle layers: :func:`zkinfer.commit.ligero.prover.commit`).
        """
        from zkinfer.commit.ligero import prover

        return prover.commit(self.params, polys, progress)

    def commit_part(self, parts: Parts, index: int, vector: npt.ArrayLike, *, spill=None,
                    progress=None) -> LigeroPartData:
        """See :meth:`zkinfer.commit.base.PCS.commit_part`: encode part ``index``'s rows and
        hash their columns (:func:`zkinfer.commit.ligero.prover.commit_part`)."""
        from zkinfer.commit.ligero import prover

        return prover.commit_part(self.params, parts, index, vector, spill=spill,
                                  progress=progress)

    def join(self, parts: Parts, pieces: Sequence[LigeroPartData], progress=None
             ) -> tuple[LigeroCommitment, LigeroPartsData]:
        """See :meth:`zkinfer.commit.base.PCS.join`: one Merkle tree over the parts' column
        digests (:func:`zkinfer.commit.ligero.prover.join`)."""
        from zkinfer.commit.ligero import prover

        return prover.join(self.params, parts, pieces, progress)

    def open(self, data: LigeroProverData | LigeroPartsData, claims: Sequence[OpeningClaim],
             transcript: Transcript, progress=None) -> LigeroProof:
        """See :meth:`zkinfer.commit.base.PCS.open`.

        Raises:
            TypeError: ``data`` is not the prover data returned by :meth:`commit` or
                :meth:`join`.
            ValueError: a claim is malformed, ``data`` was committed with another rate, or its
                parts are closed.

        ``progress(step, done, total)``, if given, reports the work done (rows combined,
        columns opened: :func:`zkinfer.commit.ligero.prover.open_claims`).
        """
        from zkinfer.commit.ligero import prover

        if not isinstance(data, (prover.LigeroProverData, prover.LigeroPartsData)):
            raise TypeError("open needs the prover data returned by commit or join")
        return prover.open_claims(self.params, data, claims, transcript, progress)

    def verify(
        self,
        commitment: LigeroCommitment | bytes,
        claims: Sequence[OpeningClaim],
        proof: LigeroProof | bytes,
        transcript: Transcript,
    ) -> None:
        """See :meth:`zkinfer.commit.base.PCS.verify`."""
        self.replay(commitment, claims, proof, transcript)()

    def replay(
        self,
        commitment: LigeroCommitment | bytes,
        claims: Sequence[OpeningClaim],
        proof: LigeroProof | bytes,
        transcript: Transcript,
    ) -> Callable[[], None]:
        """See :meth:`zkinfer.commit.base.PCS.replay`: the evaluation, Merkle, proximity
        and consistency checks are returned
        (:func:`~zkinfer.commit.ligero.verify.replay_opening`)."""
        com = self.decode_commitment(commitment) if is_encoded(commitment) else commitment
        prf = self.decode_proof(proof) if is_encoded(proof) else proof
        if not isinstance(com, LigeroCommitment) or not isinstance(prf, LigeroProof):
            raise VerificationError("ligero pcs", "commitment or proof of another scheme")
        return replay_opening(self.params, com, claims, prf, transcript)

    def decode_commitment(self, data: bytes) -> LigeroCommitment:
        """See :meth:`zkinfer.commit.base.PCS.decode_commitment`."""
        return LigeroCommitment.from_bytes(data)

    def decode_proof(self, data: bytes) -> LigeroProof:
        """See :meth:`zkinfer.commit.base.PCS.decode_proof`."""
        return LigeroProof.from_bytes(data)

