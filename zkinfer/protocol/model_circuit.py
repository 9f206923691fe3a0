"""The circuit of an integer model (:mod:`zkinfer.model`) for ``n`` tokens.

Reads only the public parts of the model (shapes, multipliers, shifts, clamp bounds, biases,
tables, declared widths): the verifier builds the same circuit from the verifying key. Weight
matrices (token and position tables, every linear's ``W``) are committed columns of the model
commitment; trace columns use the model's names (``layer0.ffn.up.acc``, ...), advice added by
the proof gets its own (``.below``, ``.above``, ``.lookup_mult``, limbs ``#rc0.l0``, ...).

Per op (``Ind`` is the indicator of the real block of the padded tensor; constants carry it):

- embedding: ``emb.tok = onehot(ids) @ TOK``, ``emb.pos = onehot(0..n-1) @ POS``,
  ``emb.x = emb.tok + emb.pos``.
- linear: ``acc = src @ W + Ind_rows (x) b`` (matmul sumcheck), then
  ``acc m + res res_m + 2^(s-1) Ind - q 2^s - rem = 0``, ``out - q - below + above = 0``,
  ``below (out - lo) = 0``, ``above (hi - out) = 0`` (see :mod:`zkinfer.protocol.requant` for why
  this is exact given the ranges of ``rem``, ``out``, ``below``, ``above``).
- table: ``out = T[src + 2^(b-1)]`` by a pair look-up.
- pooling: ``pool.sum = sum_i h[i]`` (column sum), ``pool.sum 2^P - mean n - rem = 0`` with the
  public output ``mean``, ``0 <= rem < n``.

Range checks: every committed trace column at its declared width (limbs of 16 bits).
"""

from __future__ import annotations

import numpy as np

from zkinfer.field import goldilocks as gl
from zkinfer.model.intmodel import (
    IntModel,
    OpAttention,
    OpEmbed,
    OpLayerNorm,
    OpLinear,
    OpPool,
    OpTable,
    ops,
)
from zkinfer.protocol.circuit import (
    AxisSumRel,
    Circuit,
    MatmulRel,
    OneHotRel,
    TableRel,
    UnsupportedOpError,
    padded_bits,
)
from zkinfer.protocol.constraints import Broadcast, Identity

__all__ = ["build_circuit", "weight_names"]


def _q_bits(width: tuple[int, bool]) -> int:
    """Width of ``below`` / ``above`` for a quotient of declared width ``width``."""
    bits, signed = width
    return bits + 1 if signed else bits


def weight_names(model: IntModel) -> list[tuple[str, tuple[int, int]]]:
    """The committed weight matrices, in commitment order: ``(name, shape)``."""
    cfg = model.config
    out = [("tok_emb", (cfg.vocab_size, cfg.d_model)), ("pos_emb", (cfg.max_seq_len, cfg.d_model))]
    for op in ops(model):
        if isinstance(op, OpLinear):
            out.append((f"{op.name}.w", tuple(op.lin.w.shape)))
    return out


def build_circuit(model: IntModel, n: int, output: np.ndarray) -> Circuit:
    """The circuit of ``model`` on ``n`` tokens with public pooled output ``output``.

    Raises:
        UnsupportedOpError: the model contains an op the prover cannot prove yet.
    """
    c = Circuit()
    widths = model.widths
    for name, shape in weight_names(model):
        c.add_weight(name, shape)
    d = model.config.d_model
    for op in ops(model):
        if isinstance(op, OpEmbed):
            for col in ("emb.tok", "emb.pos", "emb.x"):
                c.add_trace(col, (n, d), widths[col])
            c.relations.append(OneHotRel("emb.tok", "tok_emb", "input"))
            c.relations.append(OneHotRel("emb.pos", "pos_emb", "positions"))
            x = c.trace["emb.x"]
            # x - tok - pos = 0
            c.identity(x.num_vars, Identity.of("emb.x = tok + pos", (1, ["emb.x"]),
                                               (-1, ["emb.tok"]), (-1, ["emb.pos"])))
        elif isinstance(op, OpLinear):
            _linear(c, op, n, widths)
        elif isinstance(op, OpTable):
            src = c.trace[op.src]
            out = c.add_trace(f"{op.name}.out", src.shape, widths[f"{op.name}.out"])
            table = np.zeros(1 << padded_bits((len(op.table),))[0], dtype=np.uint64)
            table[: len(op.table)] = gl.encode_signed(np.asarray(op.table, dtype=np.int64))
            c.tables[op.name] = table
            mult = f"{op.name}.lookup_mult"
            c.add_trace(mult, (table.shape[0],), None, padded_zero=False)
            c.relations.append(TableRel(op.name, op.src, out.name, op.name,
                                        1 << (op.in_bits - 1), mult))
        elif isinstance(op, OpPool):
            _pool(c, op, n, widths, output)
        elif isinstance(op, (OpAttention, OpLayerNorm)):
            raise UnsupportedOpError(f"{op.name}: {type(op).__name__} is not provable yet")
        else:  # pragma: no cover
            raise UnsupportedOpError(f"unknown op {op!r}")
    c.finish_ranges()
    return c


def _linear(c: Circuit, op: OpLinear, n: int, widths) -> None:
    lin, P = op.lin, op.name
    d_out = lin.rq.m.shape[0]
    acc = c.add_trace(f"{P}.acc", (n, d_out), widths[f"{P}.acc"])
    c.add_trace(f"{P}.q", (n, d_out), None)
    c.add_trace(f"{P}.rem", (n, d_out), widths[f"{P}.rem"])
    c.add_trace(f"{P}.out", (n, d_out), widths[f"{P}.out"])
    qb = _q_bits(widths[f"{P}.q"])
    c.add_trace(f"{P}.below", (n, d_out), (qb, False))
    c.add_trace(f"{P}.above", (n, d_out), (qb, False))
    col_bits = acc.bits[1]
    bias = c.broadcast(f"{P}.b", lin.b, col_bits)
    c.relations.append(MatmulRel(acc.name, op.src, f"{P}.w", bias))
    m = c.broadcast(f"{P}.m", lin.rq.m, col_bits)
    ind = c.indicator(acc)
    s, lo, hi = lin.rq.shift, lin.rq.lo, lin.rq.hi
    terms = [(1, [acc.name, m])]
    if op.res is not None:
        terms.append((1, [op.res, c.broadcast(f"{P}.res_m", lin.res_m, col_bits)]))
    nv = acc.num_vars
    q, rem, out, below, above = (f"{P}.{k}" for k in ("q", "rem", "out", "below", "above"))
    # acc m (+ res res_m) + 2^(s-1) Ind - q 2^s - rem = 0   (|.| < 2^62 by the declared widths)
    c.identity(nv, Identity.of(f"{P} rounding", *terms, (1 << (s - 1), [ind]),
                               (-(1 << s), [q]), (-1, [rem])))
    # out - q - below + above = 0
    c.identity(nv, Identity.of(f"{P} clamp", (1, [out]), (-1, [q]), (-1, [below]), (1, [above])))
    # below (out - lo) = 0;  above (hi - out) = 0
    c.identity(nv, Identity.of(f"{P} clamp low", (1, [below, out]), (-lo, [below])))
    c.identity(nv, Identity.of(f"{P} clamp high", (hi, [above]), (-1, [above, out])))
    out_bits, out_signed = widths[out]
    if not (out_signed and lo == -(1 << (out_bits - 1)) and hi == (1 << (out_bits - 1)) - 1):
        # the declared width is looser than [lo, hi]: check both ends
        span_bits = max(1, (hi - lo).bit_length())
        c.range(out, span_bits, 1, -lo)
        c.range(out, span_bits, -1, hi)


def _pool(c: Circuit, op: OpPool, n: int, widths, output: np.ndarray) -> None:
    d = c.trace[op.src].shape[1]
    s = c.add_trace("pool.sum", (d,), widths["pool.sum"])
    rem = c.add_trace("pool.rem", (d,), widths["pool.rem"])
    c.relations.append(AxisSumRel("pool.sum", op.src, 0))
    out = np.zeros(1 << s.bits[0], dtype=np.uint64)
    out[:d] = gl.encode_signed(np.asarray(output, dtype=np.int64))
    c.publics["output"] = Broadcast(out)
    # sum 2^P - mean n - rem = 0 (mean is the public output; all zero on the padding)
    c.identity(s.num_vars, Identity.of("pool mean", (1 << op.shift, ["pool.sum"]),
                                       (-n, ["output"]), (-1, ["pool.rem"])))
    # rem <= n - 1
    c.range(rem.name, widths["pool.rem"][0], -1, n - 1)
