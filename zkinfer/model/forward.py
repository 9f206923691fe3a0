"""The fast integer forward: Numba kernels writing the full :class:`~zkinfer.model.trace.Trace`.

Bit-exact with :func:`zkinfer.model.reference.forward_reference` (the spec), column by column:
each op runs its home's kernel call (:meth:`zkinfer.model.ops.common.OpHome.kernel`; the kernels
are in :mod:`zkinfer.model._kernels`). Importing this module does not import numba; the kernels
are loaded (compiled, or read from Numba's on-disk cache) on the first call.
"""

from __future__ import annotations

import numpy as np

from zkinfer.model.config import TransformerConfig
from zkinfer.model.intmodel import IntModel, column_specs, ops
from zkinfer.model.ops import home
from zkinfer.model.reference import check_ids
from zkinfer.model.trace import Trace

__all__ = ["forward", "warmup"]


def forward(model: IntModel, ids: np.ndarray) -> Trace:
    """Run the integer forward with the Numba kernels and return its trace.

    Arguments:
        model: a validated integer model (e.g. from :func:`zkinfer.model.quantize.quantize`).
        ids: token ids, 1-D integer array; all tokens are real.

    Returns:
        The :class:`Trace` (``trace.output`` is the pooled integer vector), checked against
        the model's declared widths.

    Raises:
        ModelError: bad input, or a column leaving its declared width.
    """
    ids = check_ids(model, ids)
    specs = column_specs(model, ids.shape[0])
    cols = {name: np.empty(spec.shape, dtype=np.int64) for name, spec in specs.items()}
    for op in ops(model):
        home(op).kernel(op, model, ids, cols)
    trace = Trace(cols, specs)
    trace.check()
    return trace


#: The architecture :func:`warmup` runs: every op kind, at the smallest sizes.
_WARMUP_CONFIG = TransformerConfig(n_layers=1, d_model=8, n_heads=2, d_ff=16, max_seq_len=4,
                                   vocab_size=16, activation="gelu", norm="post")


def warmup() -> float:
    """Compile (or load from cache) every kernel by running a small seeded transformer once.

    Returns:
        Seconds taken.
    """
    import time

    from zkinfer.model.quantize import quantize
    from zkinfer.model.synthetic import random_float_model, random_inputs

    t0 = time.perf_counter()
    model = quantize(random_float_model(_WARMUP_CONFIG, 0), random_inputs(_WARMUP_CONFIG, 0, 2))
    forward(model, np.arange(4, dtype=np.int64))
    return time.perf_counter() - t0
