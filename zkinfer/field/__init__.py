"""Finite fields: Goldilocks ``F_p`` (``p = 2^64 - 2^32 + 1``) and ``F_p2 = F_p[X]/(X^2 - 7)``.

==================  ==============================================================
module              contents
==================  ==============================================================
``goldilocks``      base field on ``uint64`` arrays (numpy only): arithmetic, signed
                    encoding, canonical bytes, roots of unity
``extension``       the quadratic extension on ``(..., 2)`` arrays (numpy only)
``scalar``          :class:`~zkinfer.field.scalar.Fp2`, one extension element with operators,
                    for the verifiers' formulas (Python ints)
``blas``            exact matrix products mod ``p`` with float64 BLAS (numpy only)
``reference``       pure-Python twins on Python ints (test oracle)
``_kernels``        Numba kernels for the prover (imported lazily, never by the verifier)
``_llvm``           ``F_p2`` arithmetic as LLVM-IR intrinsics for the prover's Numba kernels
==================  ==============================================================

Importing this package does not import numba.
"""

from __future__ import annotations

from zkinfer.field import extension, goldilocks
from zkinfer.field.goldilocks import P

__all__ = ["P", "goldilocks", "extension"]
