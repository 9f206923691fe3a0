"""Relations: what each operation proves and which evaluation claims it leaves.

==============  ================================================================
module          contents
==============  ================================================================
``claims``      :class:`Claim` (``poly(point) == value``)
``matmul``      ``C = A B`` by one degree-2 sumcheck over the inner dimension
``embedding``   row look-up by public token ids (matmul with a public one-hot matrix)
``zerocheck``   ``E(f(x)) = 0`` on the cube by ``sum_x eq(tau, x) E(f(x)) = 0``
``constraints`` identities over columns (committed and public), one zero-check per group
``openings``    all claims on one batch commitment -> one PCS opening
``requant``     requantization and clamp: advice, identities, range checks
``range``       range checks of many columns by limbs, one tagged LogUp for all widths
``_kernels``    Numba kernels of the provers
==============  ================================================================

Each ``prove_*`` imports its Numba kernels lazily; each ``verify_*`` uses numpy only.
"""

from __future__ import annotations

from zkinfer.protocol.claims import Claim

__all__ = ["Claim"]
