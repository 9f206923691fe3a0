"""Crafted verifying keys: one test per attack on the public model description, each asserting
the exact rejection.

The attacker writes any verifying key it likes (it does not need the weights: the key holds
only their shapes and commitment), re-encodes the public model with one field changed (with
:func:`zkinfer.proof.encode_public_model`, bypassing every constructor check, or by editing the
bytes), writes the new key's digest into an honest proof and calls :func:`zkinfer.verify`.
Before the decode-time validation these keys crashed the verifier (``KeyError``,
``ValueError``, ``AttributeError``, ``TypeError``) or made it allocate gigabytes (a pooling
shift of ``2^33`` builds ``1 << 2^33``). Now each is refused with
:class:`~zkinfer.errors.ProofFormatError` (the key is invalid) or, for a key that is valid but
does not fit the proof, :class:`~zkinfer.errors.VerificationError`; every test also checks that
the rejection is cheap (well under a second, a few MiB), both for the key's bytes and for the
key object.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import time
import tracemalloc

import numpy as np
import pytest

import zkinfer
import zkinfer.proof as proof_mod
from tests.test_vk_fuzz import model_spans
from zkinfer.codec import Writer
from zkinfer.commit import TrivialPCS
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.model.config import TransformerConfig
from zkinfer.model.intmodel import IntFFN, IntModel, Requant
from zkinfer.models import random_transformer
from zkinfer.proof import Proof, VerifyingKey, encode_public_model

MLP = TransformerConfig(n_layers=2, d_model=8, n_heads=1, d_ff=12, max_seq_len=8, vocab_size=32,
                        block="mlp")
TRANSFORMER = TransformerConfig(n_layers=1, d_model=8, n_heads=2, d_ff=16, max_seq_len=8,
                                vocab_size=32)
IDS = np.array([3, 1, 4, 1, 5], dtype=np.int64)
#: TrivialPCS keys need the verifier's explicit opt-in (the security floor), where it exists.
OPT_IN = {"allow_insecure": True} if "allow_insecure" in inspect.signature(zkinfer.verify).parameters else {}
#: A rejection takes less than this (and allocates less than MAX_BYTES).
MAX_SECONDS = 1.0
MAX_BYTES = 64 << 20


# ---------------------------------------------------------------------------------------------
# the attacker's tools


@dataclasses.dataclass
class Honest:
    model: IntModel  # with its weights
    public: IntModel  # the key's model (weights as shape-only placeholders)
    vk: VerifyingKey
    proof: Proof
    output: np.ndarray


def _setup(config: TransformerConfig) -> Honest:
    model = random_transformer(config, 3)
    vk, pk = zkinfer.setup(model, TrivialPCS())
    proof = zkinfer.prove(pk, IDS)
    assert zkinfer.verify(vk, IDS, proof.output, proof, **OPT_IN)
    return Honest(model, vk.model(), vk, proof, np.asarray(proof.output))


@pytest.fixture(scope="module")
def mlp() -> Honest:
    return _setup(MLP)


@pytest.fixture(scope="module")
def transformer() -> Honest:
    return _setup(TRANSFORMER)


def edit(obj, path: str, value):
    """A copy of ``obj`` with the field at ``path`` (``"layers.0.ffn.up.rq.shift"``: attribute
    names and tuple indices) set to ``value``, without running any constructor check (the
    attacker encodes whatever it likes)."""
    if not path:
        return value
    head, _, rest = path.partition(".")
    if isinstance(obj, tuple):
        items = list(obj)
        items[int(head)] = edit(obj[int(head)], rest, value)
        return tuple(items)
    out = copy.copy(obj)  # no __init__, no __post_init__
    object.__setattr__(out, head, edit(getattr(obj, head), rest, value))
    return out


def with_width(model: IntModel, name: str, width) -> IntModel:
    widths = dict(model.widths)
    if width is None:
        del widths[name]
    else:
        widths[name] = width
    return edit(model, "widths", widths)


def key_for(h: Honest, model_bytes: bytes | IntModel) -> VerifyingKey:
    """The honest key with its model description replaced (an object or raw bytes)."""
    if not isinstance(model_bytes, bytes):
        model_bytes = encode_public_model(model_bytes)
    return VerifyingKey(model_bytes, h.vk.pcs_params, h.vk.weight_commitment)


def encoded(value) -> bytes:
    """The encoding of one value of a model description (weight matrices with their values)."""
    w = Writer()
    proof_mod._write_value(w, value, 0, strip=False)
    return w.finish()


def splice(data: bytes, path: str, new: bytes) -> bytes:
    """The model description ``data`` with the value at ``path`` (a path of
    :func:`tests.test_vk_fuzz.model_spans`) replaced by the bytes ``new``."""
    (start, end), = [(a, b) for p, a, b in model_spans(data) if p == path]
    return data[:start] + new + data[end:]


def rejects(h: Honest, key: VerifyingKey, kind: type, fragment: str) -> Exception:
    """Verify the honest proof relabelled for ``key`` (its bytes, then the key object): both
    must raise exactly ``kind`` with ``fragment`` in the message, cheaply."""
    forged = dataclasses.replace(h.proof, vk_digest=key.digest)
    errors = []
    for vk in (key.to_bytes(), key):
        tracemalloc.start()
        start = time.perf_counter()
        with pytest.raises(kind, match=re.escape(fragment)) as err:
            zkinfer.verify(vk, IDS, h.output, forged, **OPT_IN)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert type(err.value) is kind, repr(err.value)
        assert fragment in str(err.value), str(err.value)
        assert seconds < MAX_SECONDS and peak < MAX_BYTES, (seconds, peak)
        errors.append(err.value)
    return errors[0]


def invalid(h: Honest, model_or_bytes, fragment: str) -> ProofFormatError:
    """The key with this model description is refused as malformed."""
    return rejects(h, key_for(h, model_or_bytes), ProofFormatError, fragment)


# ---------------------------------------------------------------------------------------------
# the keys of the issue


def test_key_with_a_missing_width_rejected(mlp):
    # an output column (nothing reads it) and an op's input (the next op reads its width)
    invalid(mlp, with_width(mlp.public, "pool.sum", None), "declares no width for column pool.sum")
    invalid(mlp, with_width(mlp.public, "layer0.ffn.up.out", None),
            "declares no width for column")


@pytest.mark.parametrize("width", ["16", 16, (16,), (16.0, True), (16, 1), (True, True), (16, True, 0),
                                   (16, None), None], ids=repr)
def test_key_with_a_width_of_the_wrong_type_rejected(mlp, width):
    bad = with_width(mlp.public, "layer0.ffn.up.acc", width) if width is not None else \
        edit(mlp.public, "widths", {**mlp.public.widths, "layer0.ffn.up.acc": None})
    invalid(mlp, bad, "model.widths['layer0.ffn.up.acc'] must be a (bits: int, signed: bool) pair")


@pytest.mark.parametrize("layer", [5, "layer", None, "ffn", "requant"])
def test_key_with_a_layer_of_the_wrong_type_rejected(mlp, layer):
    # a whitelisted class in the wrong place is no better than an int
    value = {"ffn": mlp.public.layers[1].ffn, "requant": mlp.public.layers[1].ffn.up.rq}.get(layer, layer)
    invalid(mlp, edit(mlp.public, "layers.1", value), "model.layers[1] must be IntLayer or IntDecoderLayer")


@pytest.mark.parametrize("shift", [0, -5])
def test_key_with_a_requantization_shift_out_of_range_rejected(mlp, shift):
    invalid(mlp, edit(mlp.public, "layers.0.ffn.up.rq.shift", shift),
            f"layer0.ffn.up.rq.shift = {shift} outside [1, 62]")


def test_key_with_a_requantization_shift_of_0_rejected(mlp):
    invalid(mlp, edit(mlp.public, "layers.1.ffn.down.rq.shift", 0), "layer1.ffn.down.rq.shift = 0 outside")


def test_key_with_a_requantization_shift_of_minus_5_rejected(mlp):
    invalid(mlp, edit(mlp.public, "layers.1.ffn.down.rq.shift", -5), "layer1.ffn.down.rq.shift = -5 outside")


def test_key_with_a_bias_of_none_rejected(mlp):
    invalid(mlp, edit(mlp.public, "layers.0.ffn.up.b", None),
            "model.layers[0].ffn.up.b must be a 1-D int64 array, got NoneType")


@pytest.mark.parametrize("exponent", [33, 40])
def test_key_with_a_huge_pooling_shift_rejected(mlp, exponent):
    # 1 << 2^33 is a 1 GiB integer, 1 << 2^40 a 128 GiB one: refused before anything is computed
    invalid(mlp, edit(mlp.public, "pool_shift", 2**exponent), f"pool_shift = {2**exponent} outside [0, 24]")


# ---------------------------------------------------------------------------------------------
# widths


@pytest.mark.parametrize("bits", [0, -3, 63, 2**40])
def test_key_with_a_width_out_of_range_rejected(mlp, bits):
    # 1 << (bits - 1) sizes every bound computed from a width: 1 <= bits <= 62
    invalid(mlp, with_width(mlp.public, "layer0.ffn.up.out", (bits, True)),
            f"width of layer0.ffn.up.out: bits = {bits} outside [1, 62]")


def test_key_with_an_unexpected_width_rejected(mlp):
    invalid(mlp, with_width(mlp.public, "layer0.ffn.up.extra", (8, True)),
            "width for unexpected column layer0.ffn.up.extra")


def test_key_whose_widths_are_not_a_mapping_rejected(mlp):
    invalid(mlp, edit(mlp.public, "widths", tuple(mlp.public.widths.items())),
            "model.widths must be a mapping, got tuple")


def test_key_with_a_width_its_parameters_do_not_fix_rejected(mlp):
    # the decoder runs check_declared_widths after validate
    name = "layer0.ffn.down.rem"
    bits, signed = mlp.public.widths[name]
    invalid(mlp, with_width(mlp.public, name, (bits + 1, signed)), f"width of {name}")


# ---------------------------------------------------------------------------------------------
# integer parameters: every one range-checked before use


@pytest.mark.parametrize("path, value, fragment", [
    ("layers.0.ffn.up.rq.shift", 63, "layer0.ffn.up.rq.shift = 63 outside [1, 62]"),
    ("layers.0.ffn.up.rq.shift", True, "model.layers[0].ffn.up.rq.shift must be an int, got bool"),
    ("layers.0.ffn.up.rq.shift", 7.0, "model.layers[0].ffn.up.rq.shift must be an int, got float"),
    ("layers.0.ffn.up.rq.shift", "7", "model.layers[0].ffn.up.rq.shift must be an int, got str"),
    ("layers.0.ffn.up.rq.lo", 2047, "layer0.ffn.up.rq: clamp bounds lo=2047 hi=2047"),
    ("layers.0.ffn.up.rq.lo", -2**63, f"layer0.ffn.up.rq.lo = {-2**63} outside"),
    ("layers.1.ffn.down.rq.hi", 2**62, f"layer1.ffn.down.rq.hi = {2**62} outside"),
    ("layers.0.ffn.in_bits", 2**40, f"layer0.ffn.in_bits = {2**40} outside [1, 16]"),
    ("layers.0.ffn.in_bits", 17, "layer0.ffn.in_bits = 17 outside [1, 16]"),
    ("layers.0.ffn.in_bits", 11, "layer0.ffn.table: shape (4096,), expected (2048,)"),
    ("pool_shift", -1, "pool_shift = -1 outside [0, 24]"),
    ("pool_shift", 2**63 - 1, f"pool_shift = {2**63 - 1} outside"),
])  # fmt: skip
def test_key_with_an_integer_parameter_out_of_range_rejected(mlp, path, value, fragment):
    invalid(mlp, edit(mlp.public, path, value), fragment)


@pytest.mark.parametrize("path, value, fragment", [
    ("layers.0.attn.exp_bits", 2**40, f"layer0.attn.exp_bits = {2**40} outside [1, 24]"),
    ("layers.0.attn.exp_bits", 0, "layer0.attn.exp_bits = 0 outside [1, 24]"),
    ("layers.0.attn.exp_bits", 11, "exp_table must start at 2^E"),
    ("layers.0.attn.prob_bits", 2**40, f"layer0.attn.prob_bits = {2**40} outside [1, 24]"),
    ("layers.0.attn.prob_bits", -1, "layer0.attn.prob_bits = -1 outside [1, 24]"),
    ("emb_ln.k", 2**40, f"emb_ln.k = {2**40} outside [2, 58]"),
    ("emb_ln.k", 1, "emb_ln.k = 1 outside [2, 58]"),
    ("emb_ln.eps", 0, "emb_ln.eps = 0 outside [1, "),
    ("emb_ln.eps", 2**62, f"emb_ln.eps = {2**62} outside [1, "),
    ("layers.0.ln1.rq.shift", 0, "layer0.ln1.rq.shift = 0 outside [1, 62]"),
    ("layers.0.attn.ctx.shift", -5, "layer0.attn.ctx.shift = -5 outside [1, 62]"),
])  # fmt: skip
def test_key_with_an_attention_or_layernorm_parameter_out_of_range_rejected(transformer, path, value,
                                                                            fragment):
    invalid(transformer, edit(transformer.public, path, value), fragment)


# ---------------------------------------------------------------------------------------------
# arrays: dtype, axes, shape and values


@pytest.mark.parametrize("path, value, fragment", [
    ("layers.0.ffn.up.rq.m", np.ones(12), "ffn.up.rq.m must be a 1-D int64 array, got a 1-D float64 array"),
    ("layers.0.ffn.up.rq.m", np.ones((12, 1), dtype=np.int64), "must be a 1-D int64 array, got a 2-D int64"),
    ("layers.0.ffn.up.rq.m", np.ones(13, dtype=np.int64), "layer0.ffn.up.rq.m: shape (13,), expected (12,)"),
    ("layers.0.ffn.up.rq.m", np.full(12, 1 << 20), "layer0.ffn.up.rq.m: values outside 16-bit signed range"),
    ("layers.0.ffn.up.b", np.zeros(8, dtype=np.int64), "layer0.ffn.up.b: shape (8,), expected (12,)"),
    ("layers.0.ffn.up.b", np.full(12, 1 << 50), "layer0.ffn.up.b: values outside 48-bit signed range"),
    ("layers.1.ffn.down.res_m", np.zeros(7, dtype=np.int64), "layer1.ffn.down.res_m: shape (7,)"),
    ("layers.1.ffn.down.res_m", None, "layer1.ffn.down needs residual multipliers"),
    ("layers.0.ffn.up.res_m", np.zeros(12, dtype=np.int64), "layer0.ffn.up has no residual input"),
    ("layers.0.ffn.table", np.zeros(7, dtype=np.int64), "layer0.ffn.table: shape (7,), expected (4096,)"),
    ("layers.0.ffn.table", np.full(4096, 1 << 30), "layer0.ffn.table: values outside 24-bit signed range"),
    ("layers.0.ffn.table", np.zeros(4096), "ffn.table must be a 1-D int64 array, got a 1-D float64 array"),
    ("out_scale", np.ones(7), "out_scale: 7 entries, expected 8"),
    ("out_scale", np.full(8, np.nan), "out_scale: values must be finite"),
    ("out_scale", np.ones(8, dtype=np.int64), "model.out_scale must be a 1-D float64 array, got a 1-D int64"),
])  # fmt: skip
def test_key_with_a_bad_array_rejected(mlp, path, value, fragment):
    invalid(mlp, edit(mlp.public, path, value), fragment)


@pytest.mark.parametrize("table, fragment", [
    (np.zeros(1, dtype=np.int64), "layer0.attn.exp_table: 1 rows outside [2, 65536]"),
    (np.zeros(1 << 17, dtype=np.int64), "layer0.attn.exp_table: 131072 rows outside [2, 65536]"),
    (np.array([1024, 2000, 0]), "exp_table must start at 2^E, end at 0, be in [0, 2^E]"),
    (np.array([1024, -1, 0]), "exp_table must start at 2^E"),
    (np.array([1024, 1]), "exp_table must start at 2^E"),
])  # fmt: skip
def test_key_with_a_bad_softmax_table_rejected(transformer, table, fragment):
    invalid(transformer, edit(transformer.public, "layers.0.attn.exp_table", table), fragment)


@pytest.mark.parametrize("change, fragment", [
    ({"layer0.ffn.up.out": np.ones(11)}, "scales['layer0.ffn.up.out']: 11 entries, expected 12"),
    ({"layer0.ffn.up.out": np.full(12, np.inf)}, "scales['layer0.ffn.up.out']: values must be finite"),
    ({"layer0.ffn.up.out": None}, "model.scales['layer0.ffn.up.out'] must be a 1-D float64 array"),
    ({"layer0.ffn.up.rem": np.ones(12)}, "scales['layer0.ffn.up.rem']: not a tensor column of the model"),
    ({"nowhere": np.ones(8)}, "scales['nowhere']: not a tensor column of the model"),
])  # fmt: skip
def test_key_with_bad_scales_rejected(mlp, change, fragment):
    invalid(mlp, edit(mlp.public, "scales", {**mlp.public.scales, **change}), fragment)


# ---------------------------------------------------------------------------------------------
# weight matrices: shape-only placeholders in a key, and nothing else is one


def test_key_carrying_a_weight_matrix_with_its_values_rejected(mlp):
    data = splice(encode_public_model(mlp.public), "model.layers[0].ffn.up.w",
                  encoded(mlp.model.layers[0].ffn.up.w))
    invalid(mlp, data, "model.layers[0].ffn.up.w must be a shape-only 2-D weight matrix, "
                       "got a 2-D int64 array")


def test_key_with_a_placeholder_in_place_of_a_bias_rejected(mlp, monkeypatch):
    monkeypatch.setattr(proof_mod, "_SHAPE_ONLY", proof_mod._SHAPE_ONLY | {("IntLinear", "b")})
    invalid(mlp, mlp.public, "ffn.up.b must be a 1-D int64 array, got a shape-only placeholder")


@pytest.mark.parametrize("shape, fragment", [
    ((33, 8), "tok_emb: shape (33, 8), expected (32, 8)"),
    ((32,), "model.tok_emb must be a shape-only 2-D weight matrix, got a shape-only placeholder of shape"),
    ((8, 32), "tok_emb: shape (8, 32), expected (32, 8)"),
])
def test_key_with_a_weight_placeholder_of_the_wrong_shape_rejected(mlp, shape, fragment):
    invalid(mlp, edit(mlp.public, "tok_emb", proof_mod.shape_only(shape)), fragment)


def test_key_with_a_huge_weight_placeholder_rejected_without_iterating_over_it(mlp):
    # 2^33 placeholder entries (64 GiB if they were materialized) are checked in microseconds
    config = edit(mlp.public.config, "vocab_size", 1 << 20)
    config = edit(config, "d_model", 8192)
    model = edit(edit(mlp.public, "config", config), "tok_emb", proof_mod.shape_only((1 << 20, 8192)))
    invalid(mlp, model, "pos_emb: shape (8, 8), expected (8, 8192)")


# ---------------------------------------------------------------------------------------------
# configurations and structure


@pytest.mark.parametrize("path, value, fragment", [
    ("config.d_model", 8.0, "model.config.d_model must be an int, got float 8.0"),
    ("config.n_layers", True, "model.config.n_layers must be an int, got bool True"),
    ("config.vocab_size", 2**40, f"vocab_size = {2**40} above the supported"),
    ("config.d_model", 16, "tok_emb: shape (32, 8), expected (32, 16)"),
    ("config.n_layers", 3, "2 layers, config says 3"),
    ("config.activation", "swish", "activation must be one of"),
    ("config.activation", 1, "model.config.activation must be a string, got int 1"),
    ("config.ln_eps", float("nan"), "ln_eps must be a number in [0, 1)"),
    ("config.ln_eps", "1e-12", "model.config.ln_eps must be a number, got str"),
    ("config.ln_eps", False, "model.config.ln_eps must be a number, got bool False"),
    ("qconfig.calib_percentile", None, "model.qconfig.calib_percentile must be a number, got NoneType"),
    ("config.block", "transformer", "a transformer block needs ln1, attn and ln2"),
    ("qconfig.weight_bits", 8.5, "model.qconfig.weight_bits must be an int, got float 8.5"),
    ("qconfig.weight_bits", 1, "weight_bits must be in [2, 8]"),
    ("qconfig.norm_per_channel", 1, "model.qconfig.norm_per_channel must be a bool, got int 1"),
    ("config", None, "model.config must be a TransformerConfig, got NoneType"),
    ("layers", (), "0 layers, config says 2"),
    ("layers", None, "model.layers must be a tuple, got NoneType"),
    ("layers", {"0": None}, "model.layers must be a tuple, got dict"),
    ("layers.0.ffn", None, "model.layers[0].ffn must be an IntFFN, got NoneType"),
    ("layers.0.ffn.up.rq", None, "model.layers[0].ffn.up.rq must be a Requant, got NoneType"),
])  # fmt: skip
def test_key_with_a_bad_configuration_or_structure_rejected(mlp, path, value, fragment):
    invalid(mlp, edit(mlp.public, path, value), fragment)


def test_mlp_key_with_a_transformer_block_or_layernorm_rejected(mlp, transformer):
    block = edit(transformer.public.layers[0], "ffn", mlp.public.layers[0].ffn)
    invalid(mlp, edit(mlp.public, "layers.0", block), "layer0: an mlp block has no attention")
    invalid(mlp, edit(mlp.public, "emb_ln", transformer.public.emb_ln), "an mlp model has no emb_ln")


def test_post_norm_key_without_its_embedding_layernorm_rejected(transformer):
    invalid(transformer, edit(transformer.public, "emb_ln", None),
            "emb_ln must be present exactly for post-norm models")


def test_key_with_a_provenance_of_the_wrong_type_rejected(mlp):
    if "provenance" not in {f.name for f in dataclasses.fields(IntModel)}:
        pytest.skip("IntModel has no provenance field")
    invalid(mlp, edit(mlp.public, "provenance", "seeded"), "model.provenance must be a Provenance, got str")


# ---------------------------------------------------------------------------------------------
# the bytes themselves


def test_key_with_an_unknown_class_rejected(mlp):
    data = encode_public_model(mlp.public).replace(b"IntFFN", b"IntFFX")
    invalid(mlp, data, "unknown model class 'IntFFX'")


def test_key_with_widths_out_of_order_or_repeated_rejected(mlp):
    data = encode_public_model(mlp.public)
    starts = [a for p, a, _ in model_spans(data) if p.startswith("model.widths key ")]
    one, two = data[starts[0]: starts[1]], data[starts[1]: starts[2]]  # key and value of each
    head, tail = data[: starts[0]], data[starts[2]:]
    invalid(mlp, head + two + one + tail, "model.widths: keys not strictly increasing")  # swapped
    invalid(mlp, head + one + one + tail, "model.widths: keys not strictly increasing")  # repeated


def test_key_with_an_array_whose_shape_overflows_rejected(mlp):
    # (2^24)^4 entries: a product that wraps around int64; refused against the bytes left
    w = Writer()
    w.u8(5)
    w.u32s([1 << 24] * 4)
    data = splice(encode_public_model(mlp.public), "model.layers[0].ffn.up.b", w.finish())
    invalid(mlp, data, "model.layers[0].ffn.up.b: array larger than the remaining bytes")


def test_key_with_an_array_of_five_axes_rejected(mlp):
    w = Writer()
    w.u8(5)
    w.u32s([1] * 5)
    data = splice(encode_public_model(mlp.public), "model.layers[0].ffn.up.b", w.finish() + b"\0" * 8)
    invalid(mlp, data, "exceeds the bound 4")


def test_key_with_a_string_that_is_not_utf8_rejected(mlp):
    w = Writer()
    w.u8(4)
    w.bytes(b"\xff\xfe")
    data = splice(encode_public_model(mlp.public), "model.config.activation", w.finish())
    invalid(mlp, data, "model.config.activation: a string that is not UTF-8")


def test_key_nested_too_deeply_rejected(mlp):
    w = Writer()
    for _ in range(10):  # ten tuples of one item around an int
        w.u8(7)
        w.u32(1)
    w.u8(2)
    w.u64(8)
    data = splice(encode_public_model(mlp.public), "model.pool_shift", w.finish())
    invalid(mlp, data, "model description nested too deeply")


def test_key_with_an_unknown_tag_rejected(mlp):
    data = splice(encode_public_model(mlp.public), "model.pool_shift", bytes([11]) + b"\0" * 8)
    invalid(mlp, data, "u8 value 11 exceeds the bound 10")


def test_key_with_trailing_bytes_in_its_model_description_rejected(mlp):
    invalid(mlp, encode_public_model(mlp.public) + b"\0", "trailing bytes")


def test_key_whose_model_description_is_not_a_model_rejected(mlp):
    invalid(mlp, encode_public_model(Requant(np.zeros(1, dtype=np.int64), 1, 0, 1)),
            "model description is not a model")
    invalid(mlp, encode_public_model(mlp.public.layers[0].ffn), "model description is not a model")
    assert isinstance(mlp.public.layers[0].ffn, IntFFN)


# ---------------------------------------------------------------------------------------------
# the other sections of the key


def test_key_with_garbage_pcs_parameters_rejected(mlp):
    key = VerifyingKey(mlp.vk.model_bytes, b"ZKPP\x01\x00garbage", mlp.vk.weight_commitment)
    rejects(mlp, key, ProofFormatError, "pcs parameters")


def test_key_with_a_garbage_weight_commitment_rejected(mlp):
    key = VerifyingKey(mlp.vk.model_bytes, mlp.vk.pcs_params, mlp.vk.weight_commitment[:-1])
    rejects(mlp, key, ProofFormatError, "trivial commitment")


def test_key_object_with_a_section_that_is_not_bytes_rejected(mlp):
    # the digest would crash on a str: the key object refuses it on construction
    with pytest.raises(ProofFormatError, match="pcs_params must be bytes, got str"):
        VerifyingKey(mlp.vk.model_bytes, "trivial", mlp.vk.weight_commitment)
    with pytest.raises(ProofFormatError, match="model_bytes must be bytes, got bytearray"):
        VerifyingKey(bytearray(mlp.vk.model_bytes), mlp.vk.pcs_params, mlp.vk.weight_commitment)


def test_key_with_another_models_weight_commitment_rejected(mlp, transformer):
    # a valid key whose commitment does not hold this model's weight matrices
    key = VerifyingKey(mlp.vk.model_bytes, mlp.vk.pcs_params, transformer.vk.weight_commitment)
    err = rejects(mlp, key, VerificationError, "committed columns do not match the circuit")
    assert err.check == "weight commitment"


# ---------------------------------------------------------------------------------------------
# the decoder's rules themselves


def test_every_field_of_the_public_model_has_a_decoding_rule():
    for name, cls in proof_mod._model_classes().items():
        for f in dataclasses.fields(cls):
            assert callable(proof_mod._FIELD_RULES[name][f.name]), f"{name}.{f.name}"


def test_honest_keys_decode_to_their_models(mlp, transformer):
    for h in (mlp, transformer):
        key = VerifyingKey.from_bytes(h.vk.to_bytes())
        assert encode_public_model(key.model()) == h.vk.model_bytes
