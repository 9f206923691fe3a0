"""The per-op homes (zkinfer.model.ops): every op kind of every model has one, and the forward,
the widths and the circuit all go through it; the import cycle forward -> models is gone."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from zkinfer.errors import ModelError
from zkinfer.model import intmodel
from zkinfer.model.forward import forward
from zkinfer.model.ops import HOMES, home
from zkinfer.model.reference import forward_reference
from zkinfer.models import tiny, tiny_mlp


def test_every_op_of_the_demo_models_has_a_home():
    from zkinfer.model.ops import decoder_homes
    from zkinfer.models import tiny_decoder

    encoders = {type(op) for m in (tiny(), tiny_mlp()) for op in intmodel.ops(m)}
    kinds = encoders | {type(op) for op in intmodel.ops(tiny_decoder())}
    assert kinds == set(decoder_homes())  # every registered kind (the decoder's on first use)
    assert encoders <= set(HOMES)
    for kind, h in HOMES.items():
        assert h.op is kind


def test_unknown_op_is_a_model_error():
    with pytest.raises(ModelError, match="unknown op"):
        home(object())


@pytest.mark.parametrize("make", [tiny, tiny_mlp])
def test_op_columns_are_the_trace_columns_in_order(make):
    model = make()
    ids = np.arange(5, dtype=np.int64)
    names = [r[0] for op in intmodel.ops(model)
             for r in home(op).columns(op, model, 5, model.widths, model.widths)]
    assert names == list(forward(model, ids).specs) == list(forward_reference(model, ids).specs)


def test_intmodel_reexports_the_codec_classes():
    from zkinfer.model.ops.attention import IntAttention
    from zkinfer.model.ops.layernorm import IntLayerNorm
    from zkinfer.model.ops.linear import IntLinear
    from zkinfer.model.ops.requant import Requant

    for cls in (Requant, IntLinear, IntLayerNorm, IntAttention):
        assert getattr(intmodel, cls.__name__) is cls


def test_warmup_does_not_import_the_ready_made_models():
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from zkinfer.model.forward import warmup; warmup(); "
                               "print('zkinfer.models' in sys.modules)"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_check_trace_names_a_broken_range_check():
    """``pool.rem = n`` with ``mean`` one lower keeps ``sum 2^P = mean n + rem`` and the declared
    widths: only the pooling gadget's range check ``rem <= n - 1`` fails."""
    from zkinfer.model.check import check_trace

    model = tiny()
    ids = np.arange(8, dtype=np.int64)
    trace = forward(model, ids)
    trace["pool.mean"][0] -= 1
    trace["pool.rem"][0] += 8
    with pytest.raises(ModelError, match=r"range check of pool\.rem"):
        check_trace(model, ids, trace)
