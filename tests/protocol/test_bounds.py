"""The field bound of every identity, machine-checked (:mod:`zkinfer.protocol.bounds`).

Every built-in model at several lengths, and random configurations (hypothesis), must build a
circuit whose identities all stay below ``p / 2`` (or carry a written integer argument, which
only the LayerNorm ``t`` limbs do); circuits that break the rule are refused, naming the
identity.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkinfer.model.config import TransformerConfig
from zkinfer.models import random_transformer, tiny, tiny_mlp
from zkinfer.protocol.bounds import (
    HALF_P,
    FieldBoundError,
    check_field_bounds,
    column_bounds,
    identity_bounds,
)
from zkinfer.protocol.circuit import Circuit, ContractRel
from zkinfer.protocol.constraints import Identity
from zkinfer.protocol.model_circuit import build_circuit

PRE = TransformerConfig(n_layers=1, d_model=16, n_heads=2, d_ff=32, max_seq_len=16, vocab_size=40,
                        norm="pre")


@pytest.fixture(scope="module")
def models():
    return {"tiny": tiny(), "tiny_mlp": tiny_mlp(), "pre-norm": random_transformer(PRE, 1)}


def _circuit(model, n: int) -> Circuit:
    return build_circuit(model, n, np.zeros(model.config.d_model, dtype=np.int64))


@pytest.mark.parametrize("kind", ["tiny", "tiny_mlp", "pre-norm"])
@pytest.mark.parametrize("n", [1, 2, 7, "max"])
def test_every_identity_of_the_built_in_models_stays_below_half_p(models, kind, n):
    model = models[kind]
    n = model.config.max_seq_len if n == "max" else n
    c = _circuit(model, n)
    bounds = identity_bounds(c)
    assert len(bounds) == sum(len(v) for v in c.identities.values())
    for b in bounds:
        if b.argument:
            # the only identities argued instead of bounded: the limbs of rsqrt^2
            assert b.name.endswith(" t limbs") and b.bound is None
        else:
            assert 0 < b.bound < HALF_P
    argued = [b.name for b in bounds if b.argument]
    n_ln = sum(1 for k in c.trace if k.endswith(".rsqrt"))
    assert len(argued) == n_ln


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=st.integers(1, 2),
    heads=st.sampled_from([1, 2, 4]),
    d_head=st.sampled_from([2, 4, 8]),
    d_ff=st.integers(3, 40),
    max_len=st.integers(2, 20),
    norm=st.sampled_from(["pre", "post"]),
    block=st.sampled_from(["transformer", "mlp"]),
    seed=st.integers(0, 1000),
    data=st.data(),
)
def test_random_configs_build_bounded_circuits(layers, heads, d_head, d_ff, max_len, norm, block,
                                               seed, data):
    cfg = TransformerConfig(n_layers=layers, d_model=heads * d_head, n_heads=heads, d_ff=d_ff,
                            max_seq_len=max_len, vocab_size=50, norm=norm, block=block)
    model = random_transformer(cfg, seed)
    n = data.draw(st.integers(1, max_len))
    c = _circuit(model, n)  # build_circuit runs the check itself
    assert all(b.argument or b.bound < HALF_P for b in identity_bounds(c))


# ---------------------------------------------------------------------------------------------
# circuits the check refuses


def _with_multiplier(model, m: int):
    layers = list(model.layers)
    ffn = layers[0].ffn
    rq = dataclasses.replace(ffn.up.rq, m=np.full_like(ffn.up.rq.m, m))
    up = dataclasses.replace(ffn.up, rq=rq)
    layers[0] = dataclasses.replace(layers[0], ffn=dataclasses.replace(ffn, up=up))
    return dataclasses.replace(model, layers=tuple(layers))


def test_requantization_product_beyond_half_p_refused(models):
    # acc * m with |m| = 2^40: the rounding identity could wrap around p
    model = _with_multiplier(models["tiny_mlp"], 1 << 40)
    with pytest.raises(FieldBoundError, match="identity 'layer0.ffn.up rounding' can reach"):
        _circuit(model, 3)


def test_identity_on_an_unbounded_column_refused(models):
    c = _circuit(models["tiny_mlp"], 3)
    c.add_trace("free", (4, 4), None)
    c.identity(4, Identity.of("uses free", (1, ["free", "free"]), (-2, ["free"])))
    with pytest.raises(FieldBoundError, match="'uses free': column 'free' has no integer bound"):
        check_field_bounds(c)


def test_identity_with_a_large_coefficient_refused(models):
    c = _circuit(models["tiny_mlp"], 3)
    col = next(k for k, v in c.trace.items() if v.width == (16, True) and v.shape == (3, 64))
    c.identity(c.trace[col].num_vars, Identity.of("big", (1 << 50, [col])))
    with pytest.raises(FieldBoundError, match=r"identity 'big' can reach 2\^6\d >= p / 2"):
        check_field_bounds(c)


def test_contraction_that_can_reach_half_p_refused():
    c = Circuit()
    c.add_trace("a", (4, 4), (40, True))
    c.add_trace("b", (4, 4), (40, True))
    c.add_trace("out", (4, 4), None)
    c.relations.append(ContractRel("out", ("i", "j"), "a", ("i", "y"), "b", ("y", "j"), "y", None,
                                   (("i", 2), ("j", 2), ("y", 2))))
    c.identity(4, Identity.of("reads out", (1, ["out"])))
    with pytest.raises(FieldBoundError, match="out: a sum of 4 terms"):
        check_field_bounds(c)


def test_contraction_that_can_reach_half_p_refused_even_with_its_output_range_checked():
    # the output's own range check does not help: a range-checked value can be the wrapped
    # residue of a larger integer sum of bounded inputs
    c = Circuit()
    c.add_trace("a", (4, 4), (40, True))
    c.add_trace("b", (4, 4), (40, True))
    c.add_trace("out", (4, 4), (16, True))
    c.relations.append(ContractRel("out", ("i", "j"), "a", ("i", "y"), "b", ("y", "j"), "y", None,
                                   (("i", 2), ("j", 2), ("y", 2))))
    with pytest.raises(FieldBoundError, match="out: a sum of 4 terms"):
        check_field_bounds(c)
    ok = Circuit()  # the same shape with 20-bit inputs: 2^41 stays far below p / 2
    ok.add_trace("a", (4, 4), (20, True))
    ok.add_trace("b", (4, 4), (20, True))
    ok.add_trace("out", (4, 4), (16, True))
    ok.relations.append(ContractRel("out", ("i", "j"), "a", ("i", "y"), "b", ("y", "j"), "y", None,
                                    (("i", 2), ("j", 2), ("y", 2))))
    check_field_bounds(ok)


def test_definitions_and_booleans_bound_unchecked_columns():
    c = Circuit()
    c.add_trace("x", (4,), (8, True))
    c.add_trace("sq", (4,), None)
    c.add_trace("bit", (4,), None)
    c.identity(2, Identity.of("square", (1, ["sq"]), (-1, ["x", "x"])))
    c.identity(2, Identity.of("bit boolean", (1, ["bit", "bit"]), (-1, ["bit"])))
    c.identity(2, Identity.of("uses", (1, ["bit", "sq"]), (-3, ["x"])))
    known = column_bounds(c)
    assert known["x"] == (-128, 127)
    assert known["bit"] == (0, 1)
    assert known["sq"] == (-128 * 127, 128 * 128)  # the interval product of x with itself
    by_name = {b.name: b.bound for b in identity_bounds(c)}
    assert by_name["uses"] == 128 * 128 + 3 * 128


def test_range_checks_of_both_signs_intersect():
    c = Circuit()
    c.add_trace("v", (4,), (10, True))
    c.range("v", 5, 1, 7)    # 0 <= v + 7 < 32: v in [-7, 24]
    c.range("v", 5, -1, 20)  # 0 <= 20 - v < 32: v in [-11, 20]
    lo, hi = column_bounds(c)["v"]
    assert (lo, hi) == (-7, 20)


def test_a_definition_that_itself_reaches_half_p_gives_no_bound():
    c = Circuit()
    c.add_trace("x", (4,), (62, False))
    c.add_trace("y", (4,), None)
    c.identity(2, Identity.of("y = 4 x", (1, ["y"]), (-4, ["x"])))
    assert "y" not in column_bounds(c)
    with pytest.raises(FieldBoundError, match="column 'y' has no integer bound"):
        check_field_bounds(c)


@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 16, 128, 256])
def test_minilm_identities_stay_below_half_p(n):
    from zkinfer.models import minilm

    model = minilm().int_model
    c = _circuit(model, n)
    bounds = identity_bounds(c)
    assert all(b.argument or b.bound < HALF_P for b in bounds)
    assert sum(1 for b in bounds if b.argument) == 13  # emb.ln and two per layer, six layers
