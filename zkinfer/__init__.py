"""zkinfer: proofs that a quantized transformer produced a given output.

The stable API lives here. Importing :mod:`zkinfer` is cheap: it does not import numba; the
prover's Numba kernels are compiled (or loaded from the on-disk cache) the first time a prover
function needs them.

=====================  =========================================================
module                 what it holds
=====================  =========================================================
``zkinfer.errors``     the exception hierarchy (:class:`ZkinferError` and subclasses)
``zkinfer.field``      Goldilocks ``F_p`` and its quadratic extension ``F_p2``
``zkinfer.poly``       multilinear polynomials, NTT, small univariate polynomials
``zkinfer.transcript`` the Fiat-Shamir transcript shared by prover and verifier
``zkinfer.sumcheck``   sumcheck prover (Numba) and verifier (numpy only)
``zkinfer.selfcheck``  the self-check run by ``python -m zkinfer``
=====================  =========================================================
"""

from __future__ import annotations

from zkinfer.errors import FieldRangeError, ProofFormatError, VerificationError, ZkinferError

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    "ZkinferError",
    "FieldRangeError",
    "ProofFormatError",
    "VerificationError",
]
