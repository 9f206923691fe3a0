"""One home per op kind: parameters, widths, semantics, kernel call and circuit gadget.

==============  =============================================================================
module          op
==============  =============================================================================
``embed``       :class:`OpEmbed`: ``x = TOK[ids] + POS[0:n]``
``linear``      :class:`OpLinear`: ``acc = x @ W + b``; ``y = rq(acc m[c] (+ res res_m[c]))``
``attention``   :class:`OpAttention`: scores, integer softmax, ``ctx = rq(P @ V m)`` per head
``layernorm``   :class:`OpLayerNorm`: integer mean/variance, advice rsqrt, ``rq(z g + beta)``
``table``       :class:`OpTable`: ``y = ACT[u + 2^(b-1)]`` (activation look-up table)
``pool``        :class:`OpPool`: ``mean = floor(sum_i h_i 2^P / n)`` (the public output)
``tokens``      :class:`OpTokens`: a decoder's ``x = rq(TOK[ids] m[c])``
``rmsnorm``     :class:`OpRMSNorm`: ``rq(x floor(sqrt(2^k / (sum x^2 + eps))) g[c])``
``rope``        :class:`OpRope`: rotary positions, ``rq([a C - b S, b C + a S])`` per head
``causal_attention`` :class:`OpCausalAttention`: causal grouped-query attention
``swiglu``      :class:`OpSwiGLU`: ``rq(SILU[gate] up m[c])``
``head``        :class:`OpLogits`: ``h TOK^T`` (tied); :class:`OpArgmax`: the greedy token
                of every position (a decoder's public output)
``requant``     requantization ``rq``, shared by linear, LayerNorm and attention
``common``      width arithmetic, parameter checks, the :class:`OpHome` interface
==============  =============================================================================

Each op module holds one :class:`~zkinfer.model.ops.common.OpHome` (``HOME``): the op's trace
columns and worst-case widths, its numpy reference semantics (the spec), the call of its Numba
kernel (the kernels themselves stay together in :mod:`zkinfer.model._kernels`), its circuit
gadget (what prover and verifier share) and the prover's advice rules. :data:`HOMES` maps each op
class to its home; the forward passes, the trace checker, the width derivation and the circuit
all dispatch through :func:`home`. Adding an op kind means one new module here, its kernel, its
entry in :data:`HOMES` and its place in the wiring (:func:`zkinfer.model.intmodel.ops`).
"""

from __future__ import annotations

from zkinfer.errors import ModelError
from zkinfer.model.ops import attention, embed, layernorm, linear, pool, table
from zkinfer.model.ops.attention import OpAttention
from zkinfer.model.ops.common import OpHome
from zkinfer.model.ops.embed import OpEmbed
from zkinfer.model.ops.layernorm import OpLayerNorm
from zkinfer.model.ops.linear import OpLinear
from zkinfer.model.ops.pool import OpPool
from zkinfer.model.ops.table import OpTable

__all__ = ["Op", "OpEmbed", "OpLinear", "OpAttention", "OpLayerNorm", "OpTable", "OpPool",
           "OpHome", "HOMES", "home", "decoder_homes"]

Op = OpEmbed | OpLinear | OpAttention | OpLayerNorm | OpTable | OpPool
"""The encoder's op kinds; a decoder's are ``OpTokens``, ``OpRMSNorm``, ``OpRope``,
``OpCausalAttention``, ``OpSwiGLU``, ``OpLogits`` and ``OpArgmax`` (:func:`decoder_homes`)."""

#: ``op class -> its home`` (the decoder's kinds join on first use: :func:`decoder_homes`).
HOMES: dict[type, OpHome] = {m.HOME.op: m.HOME for m in (embed, linear, attention, layernorm,
                                                         table, pool)}


def decoder_homes() -> dict[type, OpHome]:
    """Register (once) and return the homes of the decoder's op kinds."""
    from zkinfer.model.ops import causal_attention, head, rmsnorm, rope, swiglu, tokens

    for m in (tokens, rmsnorm, rope, causal_attention, swiglu):
        HOMES.setdefault(m.HOME.op, m.HOME)
    for op, h in head.HOMES.items():
        HOMES.setdefault(op, h)
    return HOMES


def home(op: object) -> OpHome:
    """The home of ``op``'s kind.

    Raises:
        ModelError: not an op of a registered kind.
    """
    try:
        return HOMES[type(op)]
    except KeyError:
        pass
    try:
        return decoder_homes()[type(op)]
    except KeyError:
        raise ModelError(f"unknown op {op!r}") from None
