"""Relations: what each operation proves and which evaluation claims it leaves.

=================  ==================================================================
module             contents
=================  ==================================================================
``claims``         :class:`Claim` (``poly(point) == value``)
``relation``       what the schedule's parts share: proof steps (tag, encoding), soundness
                   terms, the prover's and the verifier's contexts
``matmul``         ``C = A B`` by one degree-2 sumcheck; the relation ``out = A B + bias``
``embedding``      row look-up by public token ids (a product with a public one-hot matrix)
``contract``       per-head contractions (attention) by one degree-3 sumcheck
``pairs``          activation tables by pair look-ups ``(src, out)`` in ``(j, T[j])``
``axis_sum``       sums along an axis (pooling) by one evaluation at ``1/2``
``zerocheck``      ``E(f(x)) = 0`` on the cube by ``sum_x eq(tau, x) E(f(x)) = 0``
``constraints``    identities over columns (committed and public), one zero-check per group
``range``          range checks by 16-bit limbs (the LogUp itself: :mod:`zkinfer.lookup.range`)
``requant``        the rounding and clamp identities of a requantization
``openings``       all claims on one batch commitment -> one PCS opening
``circuit``        the columns, relations, identities and range checks of a statement
``model_circuit``  a model's circuit (both sides) and the prover's witness plan
``witness``        the prover's padded field tables
``bounds``         the field-bound check: no identity can reach ``p / 2``
``coverage``       every committed column is constrained
``engine``         the schedule both sides walk, and the proof's parts
``_kernels``       Numba kernels of the provers
=================  ==================================================================

Each ``prove_*`` imports its Numba kernels lazily; each ``verify_*`` uses numpy only.
"""

from __future__ import annotations

from zkinfer.protocol.claims import Claim

__all__ = ["Claim"]
