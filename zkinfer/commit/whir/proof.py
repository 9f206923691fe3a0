"""WHIR commitment and evaluation proof: dataclasses and canonical encodings (numpy only).

Commitment (``"ZKWC"``, version 2: the content of version 1, opened with ``F_p4`` challenges)::

    u8 m | u8 k | u8 r | 32-byte Merkle root of g_0

Proof (``"ZKWO"``, version 2: messages in ``F_p4``; an ``F_p4`` element is 32 bytes, its
coefficients ``c0, c1, c2, c3``, :mod:`zkinfer.field.quartic`)::

    u8 R                                  rounds, 1 <= R <= MAX_VARS
    R x round:
      u8 k_i                              1 <= k_i <= MAX_FOLD
      k_i x 3 F_p4 elements               sumcheck messages h(0), h(1), h(2)
      u8 committed                        1 if a next function follows (all rounds but the last)
      [32-byte root of g_(i+1) | 1 F_p4 element y_ood]          when committed
      u64 nonce                           proof-of-work nonce (0 when grinding is off)
      u32 Q                               opened leaves, 1 <= Q <= MAX_QUERIES
      Q x 2^(k_i) elements                the leaves: base elements in round 0, F_p4 after
      u32 S | S x 32 bytes                Merkle multi-proof siblings (S <= Q * MAX_DEPTH)
    u8 m_R | 2^(m_R) F_p4 elements        final polynomial's monomial coefficients

Every count is bounded and checked against the bytes left before anything is allocated;
non-canonical field elements, a ``committed`` flag other than "all rounds but the last", and
trailing bytes are :class:`~zkinfer.errors.ProofFormatError`. That the sizes match the
parameters (the schedule, the number of distinct query indices) is the verifier's check
``shape``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.commit.whir.params import MAX_FOLD, MAX_QUERIES, MAX_VARS
from zkinfer.errors import ProofFormatError

__all__ = ["DIGEST_BYTES", "WhirCommitment", "WhirRound", "WhirProof"]

DIGEST_BYTES = 32
U64 = npt.NDArray[np.uint64]

_COM_MAGIC = b"ZKWC"
_PROOF_MAGIC = b"ZKWO"
_VERSION = 3  # 3: domains shrink by 2^e per round (WhirParams.shrink)
_COM_VERSION = 3  # unchanged content; 2: opened by the F_p4 protocol; 3: the domain shrink
_MAX_DEPTH = 32


@dataclass(frozen=True)
class WhirCommitment:
    """Public commitment to one multilinear polynomial.

    Attributes:
        m: its variables.
        k: the folding factor of the parameters it was made with.
        log_inv_rate: ``r`` of those parameters.
        root: Merkle root of ``g_0`` (leaves of ``2^(k_0)`` base elements).
    """

    m: int
    k: int
    log_inv_rate: int
    root: bytes

    def to_bytes(self) -> bytes:
        """The canonical encoding (module docstring)."""
        w = Writer()
        w.header(_COM_MAGIC, _COM_VERSION)
        w.u8(self.m)
        w.u8(self.k)
        w.u8(self.log_inv_rate)
        w.raw(self.root)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> WhirCommitment:
        """Strict inverse of :meth:`to_bytes`.

        Raises:
            ProofFormatError: malformed bytes.
        """
        r = Reader(data, "whir commitment")
        r.header(_COM_MAGIC, (_COM_VERSION,))
        m, k, rate = r.u8(MAX_VARS), r.u8(MAX_FOLD), r.u8(32)
        if m < 1 or k < 1 or rate < 1:
            raise ProofFormatError("whir commitment: m, k and r must be positive")
        root = r.raw(DIGEST_BYTES)
        r.finish()
        return cls(m, k, rate, root)


@dataclass(frozen=True)
class WhirRound:
    """One round's messages.

    Attributes:
        sumcheck: ``(k_i, 3, 4)``: ``h(0), h(1), h(2)`` of each sumcheck round (``F_p4``).
        root: Merkle root of ``g_(i+1)`` (``None`` in the last round).
        ood_answer: ``(4,)``: ``f^_(i+1)(z_ood)`` (``None`` in the last round).
        nonce: the grinding nonce.
        leaves: ``(Q, 2^(k_i))`` base (round 0) or ``(Q, 2^(k_i), 4)`` ``F_p4`` values.
        siblings: the Merkle multi-proof.
    """

    sumcheck: U64
    root: bytes | None
    ood_answer: U64 | None
    nonce: int
    leaves: U64
    siblings: tuple[bytes, ...]


@dataclass(frozen=True)
class WhirProof:
    """An evaluation proof: the rounds and the final polynomial's coefficients ``(2^(m_R), 4)``."""

    rounds: tuple[WhirRound, ...]
    final: U64

    def to_bytes(self) -> bytes:
        """The canonical encoding (module docstring)."""
        w = Writer()
        w.header(_PROOF_MAGIC, _VERSION)
        w.u8(len(self.rounds))
        for i, rd in enumerate(self.rounds):
            k_i = rd.sumcheck.shape[0]
            w.u8(k_i)
            w.ext(rd.sumcheck.reshape(-1, 2))
            last = i == len(self.rounds) - 1
            w.boolean(not last)
            if not last:
                w.raw(rd.root)
                w.ext(rd.ood_answer.reshape(-1, 2))
            w.u64(rd.nonce)
            w.u32(rd.leaves.shape[0])
            if i == 0:
                w.base(rd.leaves)
            else:
                w.ext(rd.leaves.reshape(-1, 2))
            w.u32(len(rd.siblings))
            for s in rd.siblings:
                w.raw(s)
        w.u8(int(self.final.shape[0]).bit_length() - 1)
        w.ext(self.final.reshape(-1, 2))
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes, stack: int | None = None) -> WhirProof:
        """Strict inverse of :meth:`to_bytes`.

        ``stack``: ``None`` (one committed function: round 0's leaves are ``(Q, 2^(k_0))``), or
        the number ``S`` of functions whose leaves round 0 opens side by side (a commitment
        made of parts: ``(Q, S, 2^(k_0))`` base elements, leaf by leaf).

        Raises:
            ProofFormatError: truncated, malformed, out-of-bound counts, non-canonical
                elements or trailing bytes.
        """
        r = Reader(data, "whir proof")
        r.header(_PROOF_MAGIC, (_VERSION,))
        count = r.u8(MAX_VARS)
        if count < 1:
            raise ProofFormatError("whir proof: no round")
        rounds = []
        for i in range(count):
            k_i = r.u8(MAX_FOLD)
            if k_i < 1:
                raise ProofFormatError("whir proof: a round folds no variable")
            sumcheck = r.ext(6 * k_i).reshape(k_i, 3, 4)
            committed = r.boolean()
            if committed != (i < count - 1):
                raise ProofFormatError(f"whir proof: round {i} commitment flag")
            root = ood = None
            if committed:
                root = r.raw(DIGEST_BYTES)
                ood = r.ext(2).reshape(4)
            nonce = r.u64()
            width = 1 << k_i
            first = width * (stack or 1)
            q = r.count(MAX_QUERIES, first * 8 if i == 0 else width * 32)
            if q < 1:
                raise ProofFormatError("whir proof: no opened leaf")
            if i == 0:
                leaves = r.base(q * first).reshape((q, width) if stack is None
                                                   else (q, stack, width))
            else:
                leaves = r.ext(2 * q * width).reshape(q, width, 4)
            s = r.count(q * _MAX_DEPTH, DIGEST_BYTES)
            siblings = tuple(r.raw(DIGEST_BYTES) for _ in range(s))
            rounds.append(WhirRound(sumcheck, root, ood, nonce, leaves, siblings))
        m_final = r.u8(MAX_FOLD)
        final = r.ext(2 << m_final).reshape(1 << m_final, 4)
        r.finish()
        return cls(tuple(rounds), final)
