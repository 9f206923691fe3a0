"""ONNX graphs of a zkinfer float model, built with ``onnx.helper`` (no torch).

The graph's input ``x`` is the embedded float input, shape ``(1, n, d_model)`` (EZKL wants a
leading batch axis); its output ``y``, shape ``(1, d_model)``, is the mean over the ``n`` rows.
Weights are float32 initializers copied from the float64 model. Every op is a plain ONNX op that
EZKL (through tract) supports: ``MatMul``, ``Add``, ``Mul``, ``Sub``, ``Div``, ``Sqrt``,
``ReduceMean``, ``Reshape``, ``Transpose``, ``Softmax``, ``Relu``, ``Erf``. LayerNorm and GELU are
written out from those ops (``LayerNormalization`` and ``Gelu`` are newer opsets).
"""

from __future__ import annotations

import math

import numpy as np

from zkinfer.model.float_model import FloatLayer, FloatLayerNorm, FloatLinear, FloatModel

__all__ = ["OPSET", "build_onnx", "save_onnx", "run_reference"]

#: The opset of every graph (``ReduceMean`` takes ``axes`` as an attribute up to opset 17).
OPSET = 13


class _GraphBuilder:
    """Accumulates nodes and float32 initializers under unique names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.inits: list = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, value: np.ndarray, dtype=np.float32) -> str:
        """Add an initializer; returns its name."""
        name = self._name(stem)
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], stem: str | None = None, **attrs) -> str:
        """Add one node with a single output; returns the output name."""
        out = self._name(stem or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x: str, lin: FloatLinear, stem: str) -> str:
        """``x @ w + b``."""
        y = self.op("MatMul", [x, self.const(f"{stem}_w", lin.w)], f"{stem}_mm")
        return self.op("Add", [y, self.const(f"{stem}_b", lin.b)], stem)

    def layer_norm(self, x: str, ln: FloatLayerNorm, stem: str) -> str:
        """``gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axis."""
        mu = self.op("ReduceMean", [x], f"{stem}_mu", axes=[-1], keepdims=1)
        c = self.op("Sub", [x, mu], f"{stem}_c")
        c2 = self.op("Mul", [c, c], f"{stem}_c2")
        var = self.op("ReduceMean", [c2], f"{stem}_var", axes=[-1], keepdims=1)
        eps = self.const(f"{stem}_eps", np.array(ln.eps))
        std = self.op("Sqrt", [self.op("Add", [var, eps])], f"{stem}_std")
        y = self.op("Mul", [self.op("Div", [c, std], f"{stem}_z"), self.const(f"{stem}_g", ln.gamma)])
        return self.op("Add", [y, self.const(f"{stem}_beta", ln.beta)], stem)

    def activation(self, x: str, name: str, stem: str) -> str:
        """ReLU, or exact GELU ``x * (1 + erf(x / sqrt 2)) / 2``."""
        if name == "relu":
            return self.op("Relu", [x], stem)
        e = self.op("Erf", [self.op("Mul", [x, self.const("inv_sqrt2", np.array(1 / math.sqrt(2)))])])
        half = self.op("Mul", [x, self.const("half", np.array(0.5))])
        return self.op("Mul", [half, self.op("Add", [e, self.const("one", np.array(1.0))])], stem)

    def attention(self, x: str, layer: FloatLayer, n: int, heads: int, stem: str) -> str:
        """``o(concat_h softmax(q_h k_h^T / sqrt(d_h)) v_h)`` (no residual)."""
        d = layer.q.w.shape[1]
        dh = d // heads
        shape = self.const(f"{stem}_shape", np.array([1, n, heads, dh]), np.int64)

        def split(t: str, perm: list[int]) -> str:
            return self.op("Transpose", [self.op("Reshape", [t, shape])], perm=perm)

        q = split(self.linear(x, layer.q, f"{stem}_q"), [0, 2, 1, 3])  # (1, H, n, dh)
        kt = split(self.linear(x, layer.k, f"{stem}_k"), [0, 2, 3, 1])  # (1, H, dh, n)
        v = split(self.linear(x, layer.v, f"{stem}_v"), [0, 2, 1, 3])
        s = self.op("MatMul", [q, kt], f"{stem}_scores")
        s = self.op("Mul", [s, self.const(f"{stem}_scale", np.array(1 / math.sqrt(dh)))])
        p = self.op("Softmax", [s], f"{stem}_probs", axis=-1)
        ctx = self.op("Transpose", [self.op("MatMul", [p, v])], perm=[0, 2, 1, 3])  # (1, n, H, dh)
        ctx = self.op("Reshape", [ctx, self.const(f"{stem}_flat", np.array([1, n, d]), np.int64)])
        return self.linear(ctx, layer.o, f"{stem}_o")


def build_onnx(model: FloatModel, n: int, scope: str = "model"):
    """The ONNX graph of ``model``'s float forward after the embedding lookup, mean-pooled.

    Arguments:
        model: the float model (the same weights zkinfer quantizes).
        n: number of input rows (tokens).
        scope: ``"model"`` (the whole float forward of :func:`~zkinfer.model.forward_float`
            after the lookup, then the mean over rows) or ``"attention"`` (the first block's
            attention with its residual, every head of the layer as one head: see
            :func:`benchmarks.peers.cases.attention_float`).

    Returns:
        An ``onnx.ModelProto`` (checked with ``onnx.checker``).

    Raises:
        ValueError: unknown scope, or ``"attention"`` on an MLP model.
    """
    import onnx
    from onnx import TensorProto, helper

    cfg = model.config
    g = _GraphBuilder()
    x = "x"
    if scope == "attention":
        if cfg.block != "transformer":
            raise ValueError("scope 'attention' needs a transformer model")
        x = g.op("Add", [x, g.attention(x, model.layers[0], n, 1, "attn")], "attn_res")
    elif scope != "model":
        raise ValueError(f"unknown scope {scope!r}")
    elif cfg.block == "mlp":
        for li, layer in enumerate(model.layers):
            u = g.activation(g.linear(x, layer.up, f"l{li}_up"), cfg.activation, f"l{li}_act")
            x = g.op("Add", [x, g.linear(u, layer.down, f"l{li}_down")], f"l{li}_res")
    else:
        if cfg.norm == "post":
            x = g.layer_norm(x, model.emb_ln, "emb_ln")
        for li, layer in enumerate(model.layers):
            h = g.layer_norm(x, layer.ln1, f"l{li}_ln1") if cfg.norm == "pre" else x
            x = g.op("Add", [x, g.attention(h, layer, n, cfg.n_heads, f"l{li}_attn")], f"l{li}_res1")
            h = x = g.layer_norm(x, layer.ln1, f"l{li}_ln1") if cfg.norm == "post" else x
            if cfg.norm == "pre":
                h = g.layer_norm(x, layer.ln2, f"l{li}_ln2")
            u = g.activation(g.linear(h, layer.up, f"l{li}_up"), cfg.activation, f"l{li}_act")
            x = g.op("Add", [x, g.linear(u, layer.down, f"l{li}_down")], f"l{li}_res2")
            if cfg.norm == "post":
                x = g.layer_norm(x, layer.ln2, f"l{li}_ln2")
        if cfg.norm == "pre":
            x = g.layer_norm(x, model.final_ln, "final_ln")
    g.nodes.append(helper.make_node("ReduceMean", [x], ["y"], axes=[1], keepdims=0))
    d = cfg.d_model
    graph = helper.make_graph(
        g.nodes,
        f"zkinfer_{scope}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n, d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, d])],
        g.inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="zkinfer")
    proto.ir_version = 8  # readable by older runtimes (tract, onnx reference)
    onnx.checker.check_model(proto)
    return proto


def save_onnx(proto, path: str) -> None:
    """Write an ONNX model to ``path``.

    Arguments:
        proto: the ``onnx.ModelProto``.
        path: destination file.
    """
    import onnx

    onnx.save(proto, path)


def run_reference(proto, x: np.ndarray) -> np.ndarray:
    """Evaluate a graph with ``onnx.reference.ReferenceEvaluator`` (float32).

    Arguments:
        proto: the model.
        x: embedded input, ``(n, d_model)``.

    Returns:
        The pooled output, float64 vector of length ``d_model``.
    """
    from onnx.reference import ReferenceEvaluator

    (y,) = ReferenceEvaluator(proto).run(None, {"x": x[None].astype(np.float32)})
    return np.asarray(y, dtype=np.float64)[0]
