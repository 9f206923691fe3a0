"""Polynomials over Goldilocks.

================  ================================================================
module            contents
================  ================================================================
``multilinear``   eq tables and ``eq`` values, evaluation, folding (numpy only; the verifier's)
``univariate``    numpy NTT twin, Horner, Lagrange interpolation on ``0..d`` (numpy only)
``fast``          Numba versions of the multilinear operations (prover)
``ntt``           Numba NTT, coset NTT and Reed-Solomon low-degree extension (prover)
``_kernels``      the Numba kernels themselves
================  ================================================================

Importing this package imports neither ``fast`` nor ``ntt``, so it does not import numba.
"""

from __future__ import annotations

from zkinfer.poly import multilinear, univariate

__all__ = ["multilinear", "univariate"]
