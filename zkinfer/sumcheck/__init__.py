"""Sumcheck over the boolean hypercube for sums of products of multilinear polynomials.

============  ==================================================================
module        contents
============  ==================================================================
``common``    :class:`Expression`, :class:`SumcheckProof`, the shared schedule
``prover``    :func:`prove` (Numba kernels; importing it imports numba)
``verifier``  :func:`verify`, :func:`check_final` (numpy only)
``_kernels``  round and folding kernels
============  ==================================================================

Importing this package does not import the prover (nor numba).
"""

from __future__ import annotations

from zkinfer.sumcheck.common import Expression, SumcheckProof, soundness_error_bits

__all__ = ["Expression", "SumcheckProof", "soundness_error_bits"]
