"""The fast integer forward: Numba kernels writing the full :class:`~zkinfer.model.trace.Trace`.

Bit-exact with :func:`zkinfer.model.reference.forward_reference` (the spec), column by column.
Importing this module does not import numba; the kernels are loaded (compiled, or read from
Numba's on-disk cache) on the first call.
"""

from __future__ import annotations

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.intmodel import (
    IntModel,
    OpAttention,
    OpEmbed,
    OpLayerNorm,
    OpLinear,
    OpPool,
    OpTable,
    column_specs,
    ops,
)
from zkinfer.model.reference import check_ids
from zkinfer.model.trace import Trace

__all__ = ["forward", "warmup"]

_DUMMY = np.zeros((1, 1), dtype=np.int64)
_DUMMY1 = np.zeros(1, dtype=np.int64)


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
    from zkinfer.model import _kernels as K

    ids = check_ids(model, ids)
    n = ids.shape[0]
    specs = column_specs(model, n)
    cols = {name: np.empty(spec.shape, dtype=np.int64) for name, spec in specs.items()}
    H = model.config.n_heads
    for op in ops(model):
        if isinstance(op, OpEmbed):
            K.embed(ids, model.tok_emb, model.pos_emb, cols["emb.tok"], cols["emb.pos"],
                    cols["emb.x"])  # fmt: skip
        elif isinstance(op, OpLinear):
            lin, N = op.lin, op.name
            res = cols[op.res] if op.res is not None else _DUMMY
            res_m = lin.res_m if op.res is not None else _DUMMY1
            K.linear(cols[op.src], lin.w, lin.b, lin.rq.m, res, res_m, op.res is not None,
                     lin.rq.shift, lin.rq.lo, lin.rq.hi,
                     cols[f"{N}.acc"], cols[f"{N}.q"], cols[f"{N}.rem"], cols[f"{N}.out"])  # fmt: skip
        elif isinstance(op, OpLayerNorm):
            ln, N = op.ln, op.name
            K.layernorm(cols[op.src], ln.rq.m, ln.beta, ln.eps, ln.k, ln.rq.shift, ln.rq.lo,
                        ln.rq.hi, *(cols[f"{N}.{c}"] for c in _LN_COLS))  # fmt: skip
        elif isinstance(op, OpAttention):
            a, N = op.attn, op.name
            S = f"{N}.softmax"
            K.attention(cols[op.q], cols[op.k], cols[op.v], H, a.exp_table, a.prob_bits,
                        a.ctx.m, a.ctx.shift, a.ctx.lo, a.ctx.hi, cols[f"{N}.scores"],
                        *(cols[f"{S}.{c}"] for c in _SOFTMAX_COLS),
                        *(cols[f"{N}.ctx.{c}"] for c in ("acc", "q", "rem", "out")))  # fmt: skip
            K.count(cols[f"{S}.idx"], len(a.exp_table), cols[f"{S}.exp_mult"])
        elif isinstance(op, OpTable):
            ok = K.table_lookup(cols[op.src], op.table, 1 << (op.in_bits - 1),
                                cols[f"{op.name}.out"], cols[f"{op.name}.mult"])  # fmt: skip
            if not ok:
                raise ModelError(f"{op.name}: table input outside the table domain")
        elif isinstance(op, OpPool):
            K.pool(cols[op.src], op.shift, cols["pool.sum"], cols["pool.mean"], cols["pool.rem"])
        else:  # pragma: no cover - ops() only yields the kinds above
            raise ModelError(f"unknown op {op!r}")
    trace = Trace(cols, specs)
    trace.check()
    return trace


_LN_COLS = ("sum", "mean", "mean_rem", "c", "var", "rsqrt", "rsqrt_lo", "rsqrt_hi", "z", "q",
            "rem", "out")  # fmt: skip
_SOFTMAX_COLS = ("max", "argmax", "diff", "idx", "exp", "sum", "p", "rem")


def warmup() -> float:
    """Compile (or load from cache) every kernel by running a tiny model once.

    Returns:
        Seconds taken.
    """
    import time

    from zkinfer.models import tiny

    t0 = time.perf_counter()
    model = tiny()
    forward(model, np.arange(4, dtype=np.int64))
    return time.perf_counter() - t0
