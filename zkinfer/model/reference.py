"""The integer semantics of zkinfer's transformer, in readable numpy (the spec).

The proof constrains exactly what this module computes: the forward runs the ops of
:func:`zkinfer.model.intmodel.ops` in order, each by its home's numpy semantics
(:meth:`zkinfer.model.ops.common.OpHome.reference`, in the op's module of
:mod:`zkinfer.model.ops`). The Numba forward
(:mod:`zkinfer.model.forward`) must agree with it bit for bit, column by column. All arithmetic
is on ``int64`` numpy arrays; ``>>`` on ``int64`` is the arithmetic shift (floor division by a
power of two), ``//`` is floor division. No floats are used.

Ops (``rq`` is requantization, ``clamp((pre + 2^(s-1)) >> s, lo, hi)``; ``c`` an output channel):

==============  ====================================================================================
op              integer semantics, one line each (column names relative to the op's name)
==============  ====================================================================================
embedding       ``tok = TOK[ids]``, ``pos = POS[0:n]``, ``x = tok + pos``
linear          ``acc = src @ W + b``; ``pre = acc*m[c] (+ res*res_m[c])``; ``pre + 2^(s-1) =
                q*2^s + rem``, ``0 <= rem < 2^s``; ``out = clamp(q, lo, hi)``
scores          ``scores[h,i,j] = sum_e q[i,h*dh+e] * k[j,h*dh+e]`` (no scaling: the 1/sqrt(dh)
                and both scales live in the EXP table)
softmax         ``max = max_j scores``, ``argmax`` = first ``j`` attaining it; ``diff = max -
                scores``; ``idx = min(diff, T-1)``; ``exp = EXP[idx]``; ``sum = sum_j exp``;
                ``exp*2^K = p*sum + rem``, ``0 <= rem < sum`` (``sum >= EXP[0] = 2^E > 0``)
context         ``ctx.acc[i,h*dh+e] = sum_j p[h,i,j] * v[j,h*dh+e]``; ``ctx.out = rq(acc*m[c])``
layernorm       ``sum = sum_c x``; ``sum = mean*d + mean_rem``, ``0 <= mean_rem < d``; ``c = x -
                mean``; ``var = sum_c c^2 + eps``; advice ``rsqrt`` with ``rsqrt^2*var <= 2^k <
                (rsqrt+1)^2*var`` (slacks ``rsqrt_lo``, ``rsqrt_hi >= 0``); ``z = c*rsqrt``;
                ``out = rq(z*g[c] + beta[c])``
activation      ``out = ACT[u + 2^(b-1)]`` (table of ``2^b`` rows over every ``b``-bit ``u``)
pooling         ``sum = sum_i h[i]``; ``sum*2^P = mean*n + rem``, ``0 <= rem < n``
==============  ====================================================================================

An MLP model (``config.block == "mlp"``) uses only embedding, linear, activation and pooling:
``emb``, then per block ``ffn.up`` (linear), ``ffn.act`` (activation), ``ffn.down`` (linear with
the residual ``res`` = the block input), then ``pool`` of the last ``ffn.down.out``.

LayerNorm uses the advice form of the reciprocal square root: ``rsqrt = floor(sqrt(2^k/var))``
is the unique integer with ``rsqrt^2*var <= 2^k < (rsqrt+1)^2*var``, so the proof needs two
range checks per row and no table. ``|c| <= sqrt(var)`` gives ``|z| <= 2^(k/2)``.

Every column is checked against the model's declared width as soon as it is produced;
a value outside raises :class:`~zkinfer.errors.ModelError`.
"""

from __future__ import annotations

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.intmodel import IntModel, column_specs, ops
from zkinfer.model.ops import home
from zkinfer.model.ops.layernorm import isqrt_floor_div
from zkinfer.model.ops.requant import requantize
from zkinfer.model.trace import Trace, check_column

# requantize and isqrt_floor_div live with their ops and are part of this module's spec
__all__ = ["forward_reference", "check_ids", "requantize", "isqrt_floor_div"]


def check_ids(model: IntModel, ids: object) -> np.ndarray:
    """Validate a token sequence for ``model`` (:func:`zkinfer.statement.token_ids`).

    Arguments:
        model: the model.
        ids: a 1-D integer array (or sequence) of token ids.

    Returns:
        ``ids`` as a C-contiguous ``int64`` array.

    Raises:
        ModelError: not 1-D integers, empty, longer than ``max_seq_len``, or an id outside
            ``[0, vocab_size)``.
    """
    from zkinfer.errors import InvalidArgumentError
    from zkinfer.statement import token_ids

    try:
        return token_ids(ids, model.config.vocab_size, model.config.max_seq_len)
    except InvalidArgumentError as exc:
        raise ModelError(str(exc)) from None


def forward_reference(model: IntModel, ids: np.ndarray) -> Trace:
    """Run the integer forward in plain numpy and return its full trace.

    Arguments:
        model: a validated integer model.
        ids: token ids, 1-D integer array; all tokens are real (no padding).

    Returns:
        The :class:`Trace`; ``trace.output`` is the pooled integer vector.

    Raises:
        ModelError: bad input, or any column leaving its declared width.
    """
    ids = check_ids(model, ids)
    specs = column_specs(model, ids.shape[0])
    cols: dict[str, np.ndarray] = {}
    for op in ops(model):
        for name, value in home(op).reference(op, model, ids, cols).items():
            value = np.ascontiguousarray(value, dtype=np.int64)
            check_column(name, value, specs[name])
            cols[name] = value
    return Trace(cols, specs)
