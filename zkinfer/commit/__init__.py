"""Polynomial commitment schemes (the interface is :mod:`zkinfer.commit.base`).

================  ==================================================================
module            contents
================  ==================================================================
``base``          the :class:`PCS` interface, :class:`OpeningClaim`, batch :class:`Layout`,
                  commitments made of parts (:class:`Parts`, :class:`PartData`), the
                  shared claim-absorbing transcript step
``trivial``       :class:`TrivialPCS`: sends the vector; for testing protocol logic
``ligero``        :class:`LigeroPCS`: Reed-Solomon rows + Merkle tree of columns,
                  ``O(sqrt N)`` proofs, >= 100 bits by default
``whir``          :class:`WhirPCS`: WHIR (Reed-Solomon proximity with folding and
                  out-of-domain samples), polylogarithmic proofs, >= 100 bits by default
                  up to 2^22 entries per committed function (not the default scheme)
================  ==================================================================

Protocol code depends on :class:`PCS` only. Importing this package does not import numba (the
Ligero and WHIR provers are imported on the first ``commit`` / ``open``).
"""

from __future__ import annotations

from zkinfer.commit.base import (
    PCS,
    Commitment,
    Layout,
    OpeningClaim,
    OpeningProof,
    OpeningSoundness,
    PartData,
    Parts,
    ProverData,
    params_reader,
)
from zkinfer.commit.ligero import LigeroPCS
from zkinfer.commit.trivial import TrivialPCS
from zkinfer.commit.whir.scheme import WhirPCS
from zkinfer.errors import ProofFormatError

_SCHEMES: dict[str, type[PCS]] = {TrivialPCS.name: TrivialPCS, LigeroPCS.name: LigeroPCS,
                                  WhirPCS.name: WhirPCS}


def pcs_from_params(data: bytes) -> PCS:
    """Rebuild a scheme from :meth:`PCS.params_bytes` (e.g. stored in a verifying key).

    Raises:
        ProofFormatError: unknown scheme or malformed parameters.
    """
    name, _ = params_reader(data)
    if name not in _SCHEMES:
        raise ProofFormatError(f"pcs parameters: unknown scheme {name!r}")
    return _SCHEMES[name].from_params(data)

__all__ = [
    "PCS",
    "OpeningClaim",
    "Commitment",
    "Layout",
    "OpeningProof",
    "OpeningSoundness",
    "Parts",
    "PartData",
    "ProverData",
    "TrivialPCS",
    "LigeroPCS",
    "WhirPCS",
    "pcs_from_params",
]
