"""Ligero-style multilinear PCS over Goldilocks (parameters and soundness: :mod:`.params`).

===============  ==================================================================
module           contents
===============  ==================================================================
``scheme``       :class:`LigeroPCS`, the :class:`~zkinfer.commit.base.PCS` implementation
``params``       rate, query count, soundness formula, matrix shape choice
``proof``        commitment and opening-proof dataclasses, strict canonical encodings
``schedule``     the opening's transcript steps and claim grouping (prover and verifier)
``code``         the row code (RS, bit-reversed subgroup order); verifier's evaluation
``merkle``       SHA-256 Merkle tree over columns, multi-opening proofs
``verify``       the verifier (numpy + hashlib only)
``prover``       commit and open (Numba; imported lazily by ``LigeroPCS``)
``_kernels``     the prover's Numba kernels (row encoding, row combinations)
===============  ==================================================================

Importing this package does not import numba.
"""

from __future__ import annotations

from zkinfer.commit.ligero.params import LigeroParams
from zkinfer.commit.ligero.proof import LigeroCommitment, LigeroProof
from zkinfer.commit.ligero.scheme import LigeroPCS

__all__ = ["LigeroPCS", "LigeroParams", "LigeroCommitment", "LigeroProof"]
