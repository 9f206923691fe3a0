"""Architecture and quantization configurations (frozen dataclasses).

:class:`TransformerConfig` fixes the shape of an encoder-only transformer (BERT-like with
``norm="post"``, GPT-2-like block order with ``norm="pre"``) or, with ``block="mlp"``, of a
residual MLP without attention or LayerNorm; :class:`QuantConfig` fixes the bit
widths the quantizer targets. Both go into a model commitment, so both are immutable and validate
themselves on construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkinfer.errors import ModelError

__all__ = ["TransformerConfig", "QuantConfig", "ACTIVATIONS", "NORMS", "BLOCKS"]

#: Activation functions the feed-forward block supports (each becomes a look-up table).
ACTIVATIONS = ("gelu", "relu", "silu")
#: LayerNorm placements: ``post`` (BERT: ``LN(x + f(x))``) or ``pre`` (``x + f(LN(x))``).
NORMS = ("post", "pre")
#: Block types: ``transformer`` (attention + FFN + LayerNorms), ``mlp`` (FFN with the residual
#: only: no attention, no LayerNorm anywhere) or ``llama`` (a decoder block: RMSNorm, causal
#: grouped-query attention with rotary positions, RMSNorm, SwiGLU; a tied LM head and greedy
#: decoding instead of pooling) or ``gpt2`` (a pre-norm transformer block with causal attention,
#: learned positions, biases and GELU, and the tied LM head with greedy decoding).
BLOCKS = ("transformer", "mlp", "llama", "gpt2")


#: Upper bounds of the sizes of a :class:`TransformerConfig` (every size is also ``>= 1``).
_MAX_SIZES = {
    "n_layers": 1024,
    "d_model": 8192,
    "n_heads": 8192,
    "d_ff": 32768,
    "max_seq_len": 4096,
    "vocab_size": 1 << 20,
}


#: The integer fields of a :class:`QuantConfig`.
_QUANT_INTS = ("weight_bits", "emb_bits", "act_bits", "resid_bits", "ffn_in_bits", "ffn_out_bits",
               "out_bits", "exp_bits", "prob_bits", "mult_bits", "pool_shift")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ModelError(message)


def _is_int(value: object) -> bool:
    """A Python int that is not a bool (a float, string or numpy scalar is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    """A Python int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of an encoder-only transformer (or residual MLP) with mean pooling.

    With ``block="mlp"`` every block is ``x = x + down(ACT(up(x)))`` (requantized); there is no
    attention and no LayerNorm, so ``n_heads``, ``norm`` and ``ln_eps`` are unused (they must
    still be valid values; ``d_model`` need not be divisible by ``n_heads``).

    Every size is a Python ``int`` (not a bool) in ``[1, limit]``: ``n_layers <= 1024``,
    ``d_model <= 8192``, ``n_heads <= 8192``, ``d_ff <= 32768``, ``max_seq_len <= 4096``,
    ``vocab_size <= 2^20``; the three choices are strings; ``ln_eps`` is a number.

    Attributes:
        n_layers: number of blocks.
        d_model: hidden width; must be divisible by ``n_heads`` (transformer blocks).
        n_heads: attention heads (head width ``d_model // n_heads``).
        d_ff: feed-forward hidden width.
        max_seq_len: longest input the model accepts (size of the position table).
        vocab_size: token ids are in ``[0, vocab_size)``.
        activation: ``"gelu"`` (exact, erf-based) or ``"relu"``.
        norm: ``"post"`` (BERT) or ``"pre"`` LayerNorm placement.
        ln_eps: LayerNorm epsilon of the float model, in ``[0, 1)``.
        block: ``"transformer"``, ``"mlp"``, ``"llama"`` or ``"gpt2"`` (see :data:`BLOCKS`).
        n_kv_heads: key/value heads of a llama block (grouped-query attention: query head
            ``h`` reads kv head ``h // (n_heads / n_kv_heads)``); ``0`` for other blocks.

    Raises:
        ModelError: (on construction) a field of the wrong type or out of range.
    """

    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    max_seq_len: int
    vocab_size: int
    activation: str = "gelu"
    norm: str = "post"
    ln_eps: float = 1e-12
    block: str = "transformer"
    n_kv_heads: int = 0

    def __post_init__(self) -> None:
        # types first (a configuration may come from a verifying key), then the size bounds
        for name in ("n_layers", "d_model", "n_heads", "d_ff", "max_seq_len", "vocab_size"):
            value = getattr(self, name)
            _require(_is_int(value) and value >= 1, f"{name} must be a positive int, got {value!r}")
        for name, choices in (("block", BLOCKS), ("activation", ACTIVATIONS), ("norm", NORMS)):
            value = getattr(self, name)
            _require(isinstance(value, str) and value in choices,
                     f"{name} must be one of {choices}, got {value!r}")
        if self.block in ("transformer", "llama", "gpt2"):
            _require(self.d_model % self.n_heads == 0, "d_model must be divisible by n_heads")
        _require(_is_int(self.n_kv_heads) and self.n_kv_heads >= 0,
                 f"n_kv_heads must be a non-negative int, got {self.n_kv_heads!r}")
        if self.block == "llama":
            _require(self.n_kv_heads >= 1 and self.n_heads % self.n_kv_heads == 0,
                     "a llama block needs n_kv_heads >= 1 dividing n_heads")
            _require(self.norm == "pre" and self.activation == "silu",
                     "a llama block is pre-norm with a SiLU gate (norm='pre', activation='silu')")
        else:
            _require(self.n_kv_heads == 0, "n_kv_heads is for llama blocks only (0 otherwise)")
        if self.block == "gpt2":
            _require(self.norm == "pre", "a gpt2 block is pre-norm (norm='pre')")
        for name, limit in _MAX_SIZES.items():
            value = getattr(self, name)
            _require(value <= limit, f"{name} = {value} above the supported {limit}")
        _require(_is_real(self.ln_eps) and 0.0 <= self.ln_eps < 1.0,
                 f"ln_eps must be a number in [0, 1), got {self.ln_eps!r}")

    @property
    def d_head(self) -> int:
        """Width of one attention head (``d_model // n_heads``; meaningless for mlp blocks)."""
        return self.d_model // self.n_heads


@dataclass(frozen=True)
class QuantConfig:
    """Bit widths targeted by :func:`zkinfer.model.quantize.quantize`.

    All widths are signed two's-complement widths (``b`` bits hold ``[-2^(b-1), 2^(b-1))``),
    except ``exp_bits``/``prob_bits`` which are fixed-point precisions of unsigned values.

    Attributes:
        weight_bits: linear weights, symmetric per output channel.
        emb_bits: token and position embedding tables (one shared per-tensor scale).
        act_bits: LayerNorm outputs, q, k, v and attention context.
        resid_bits: residual sums (LayerNorm inputs; the residual stream for ``norm="pre"``).
        ffn_in_bits: activation-table input (the table has ``2^ffn_in_bits`` rows, <= 16).
        ffn_out_bits: activation-table output (input of the second FFN matmul).
        out_bits: final LayerNorm output (the pooled tensor).
        exp_bits: ``E``; softmax ``EXP[0] = 2^E``.
        prob_bits: ``K``; softmax probabilities are ``floor(e * 2^K / sum)`` in ``[0, 2^K]``.
        mult_bits: requantization multipliers satisfy ``|m| < 2^(mult_bits-1)``.
        pool_shift: ``P``; pooled mean is ``floor(sum * 2^P / n)``.
        calib_percentile: activation ranges are this percentile of ``|x|`` over the
            calibration data (100 = maximum).
        norm_per_channel: give LayerNorm outputs one scale per channel (folded into the next
            weights and the residual multipliers) instead of one per tensor.

    Raises:
        ModelError: (on construction) a width that is not a Python ``int`` (or is a bool) or is
            out of range, a percentile that is not a number, a flag that is not a bool.
    """

    weight_bits: int = 8
    emb_bits: int = 12
    act_bits: int = 8
    resid_bits: int = 16
    ffn_in_bits: int = 12
    ffn_out_bits: int = 12
    out_bits: int = 8
    exp_bits: int = 10
    prob_bits: int = 10
    mult_bits: int = 16
    pool_shift: int = 8
    calib_percentile: float = 100.0
    norm_per_channel: bool = True

    def __post_init__(self) -> None:
        # types first (a configuration may come from a verifying key), then the ranges
        for name in _QUANT_INTS:
            value = getattr(self, name)
            _require(_is_int(value), f"{name} must be an int, got {value!r}")
        _require(_is_real(self.calib_percentile),
                 f"calib_percentile must be a number, got {self.calib_percentile!r}")
        _require(isinstance(self.norm_per_channel, bool),
                 f"norm_per_channel must be a bool, got {self.norm_per_channel!r}")
        _require(2 <= self.weight_bits <= 8, "weight_bits must be in [2, 8]")
        _require(2 <= self.emb_bits <= 16, "emb_bits must be in [2, 16]")
        _require(2 <= self.act_bits <= 16, "act_bits must be in [2, 16]")
        _require(4 <= self.resid_bits <= 24, "resid_bits must be in [4, 24]")
        _require(2 <= self.ffn_in_bits <= 16, "ffn_in_bits must be in [2, 16] (table rows)")
        _require(2 <= self.ffn_out_bits <= 16, "ffn_out_bits must be in [2, 16]")
        _require(2 <= self.out_bits <= 16, "out_bits must be in [2, 16]")
        _require(4 <= self.exp_bits <= 16, "exp_bits must be in [4, 16]")
        _require(4 <= self.prob_bits <= 16, "prob_bits must be in [4, 16]")
        _require(4 <= self.mult_bits <= 40, "mult_bits must be in [4, 40]")
        _require(0 <= self.pool_shift <= 16, "pool_shift must be in [0, 16]")
        _require(50.0 <= self.calib_percentile <= 100.0, "calib_percentile must be in [50, 100]")
