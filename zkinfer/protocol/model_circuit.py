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
  ``acc m + res res_m + 2^(s-1) Ind - q 2^s - rem = 0`` with the uncommitted linear column
  ``q = out - below + above``, ``below (out - lo) = 0``, ``above (hi - out) = 0`` (see
  :mod:`zkinfer.protocol.requant` for why this is exact given the ranges of ``rem``, ``out``,
  ``below``, ``above``).
- table: ``out = T[src + 2^(b-1)]`` by a pair look-up.
- pooling: ``pool.sum = sum_i h[i]`` (column sum), ``pool.sum 2^P - mean n - rem = 0`` with the
  public output ``mean``, ``0 <= rem < n``.

Range checks: every trace column at its declared width (limbs of 16 bits), except products of
range-checked columns (attention scores and context accumulators), bounded by construction.
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
from zkinfer.protocol.bounds import check_field_bounds
from zkinfer.protocol.circuit import (
    AxisSumRel,
    Circuit,
    ContractRel,
    MatmulRel,
    OneHotRel,
    TableRel,
    UnsupportedOpError,
    padded_bits,
)
from zkinfer.protocol.constraints import Identity
from zkinfer.protocol.requant import rounding_and_clamp

__all__ = ["build_circuit", "weight_matrices"]


def _q_bits(width: tuple[int, bool]) -> int:
    """Width of ``below`` / ``above`` for a quotient of declared width ``width``."""
    bits, signed = width
    return bits + 1 if signed else bits


def weight_matrices(model: IntModel) -> dict[str, np.ndarray]:
    """The committed weight matrices by name, in commitment order (on the verifier's side of a
    verifying key they are shape-only placeholders)."""
    out = {"tok_emb": model.tok_emb, "pos_emb": model.pos_emb}
    for op in ops(model):
        if isinstance(op, OpLinear):
            out[f"{op.name}.w"] = op.lin.w
    return out


def build_circuit(model: IntModel, n: int, output: np.ndarray) -> Circuit:
    """The circuit of ``model`` on ``n`` tokens with public pooled output ``output``.

    Raises:
        UnsupportedOpError: the model contains an op the prover cannot prove yet.
    """
    c = Circuit()
    widths = model.widths
    for name, matrix in weight_matrices(model).items():
        c.add_weight(name, np.shape(matrix))
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
        elif isinstance(op, OpAttention):
            _attention(c, op, n, widths, model.config)
        elif isinstance(op, OpLayerNorm):
            _layernorm(c, op, n, widths)
        else:  # pragma: no cover
            raise UnsupportedOpError(f"unknown op {op!r}")
    c.finish_ranges()
    # every identity must imply its integer statement (|.| < p / 2, machine-checked)
    check_field_bounds(c)
    return c


def _linear(c: Circuit, op: OpLinear, n: int, widths) -> None:
    lin, P = op.lin, op.name
    d_out = lin.rq.m.shape[0]
    acc = c.add_trace(f"{P}.acc", (n, d_out), widths[f"{P}.acc"])
    bias = c.broadcast(f"{P}.b", lin.b, acc.bits[1])
    c.relations.append(MatmulRel(acc.name, op.src, f"{P}.w", bias))
    terms = [(1, [acc.name, c.broadcast(f"{P}.m", lin.rq.m, acc.bits[1])])]
    if op.res is not None:
        terms.append((1, [op.res, c.broadcast(f"{P}.res_m", lin.res_m, acc.bits[1])]))
    _requant(c, P, (n, d_out), terms, lin.rq, widths)


def _requant(c: Circuit, P: str, shape, pre_terms, rq, widths) -> None:
    """``out = clamp((pre + 2^(s-1)) >> s, lo, hi)`` with ``pre = sum(pre_terms)``.

    Columns ``P.rem``, ``P.out`` (trace), ``P.below``, ``P.above`` (advice) and the linear
    ``P.q = out - below + above``; see
    :mod:`zkinfer.protocol.requant` for why the identities and ranges pin ``out`` exactly.
    """
    q, rem, out, below, above = (f"{P}.{k}" for k in ("q", "rem", "out", "below", "above"))
    c.add_trace(rem, shape, widths[rem])
    col = c.add_trace(out, shape, widths[out])
    qb = _q_bits(widths[q])
    c.add_advice(below, shape, (qb, False), lambda t: np.maximum(t[out] - t[q], 0))
    c.add_advice(above, shape, (qb, False), lambda t: np.maximum(t[q] - t[out], 0))
    # q = out - below + above is not committed: the clamp identity holds by definition
    c.add_linear(q, shape, None, [(1, out), (-1, below), (1, above)])
    # the rounding and clamp identities (|.| < 2^62 by the declared widths)
    for ident in rounding_and_clamp(P, pre_terms, rq.shift, rq.lo, rq.hi, c.indicator(col)):
        if not ident.name.endswith(" clamp"):
            c.identity(col.num_vars, ident)
    lo, hi = rq.lo, rq.hi
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
    # the public output: its integer range is recorded before it becomes field elements
    c.broadcast("output", output, s.bits[0])
    # sum 2^P - mean n - rem = 0 (mean is the public output; all zero on the padding)
    c.identity(s.num_vars, Identity.of("pool mean", (1 << op.shift, ["pool.sum"]),
                                       (-n, ["output"]), (-1, ["pool.rem"])))
    # rem <= n - 1
    c.range(rem.name, widths["pool.rem"][0], -1, n - 1)


def _attention(c: Circuit, op: OpAttention, n: int, widths, cfg) -> None:
    """Scores, integer softmax and context of all heads (module docstring of
    :mod:`zkinfer.protocol.model_circuit`; every product below stays under 2^40)."""
    a, A = op.attn, op.name
    S = f"{A}.softmax"
    H, dh = cfg.n_heads, cfg.d_head
    if dh & (dh - 1):
        raise UnsupportedOpError(f"{A}: head width {dh} is not a power of two")
    q = c.trace[op.q]
    bN, bD = q.bits
    bE = dh.bit_length() - 1
    bH = bD - bE
    if (1 << bH) < H:  # pragma: no cover - d = H dh with dh a power of two
        raise UnsupportedOpError(f"{A}: head layout does not fit the padded width")
    hnn, hn = (H, n, n), (H, n)
    # scores and ctx.acc are products of range-checked columns: bounded by construction, so
    # their declared widths need no range check
    scores = c.add_trace(f"{A}.scores", hnn, None)
    # scores[h, i, j] = sum_e q[i, h dh + e] k[j, h dh + e]
    bits = (("h", bH), ("i", bN), ("j", bN), ("e", bE))
    c.relations.append(ContractRel(scores.name, ("h", "i", "j"), op.q, ("i", "h", "e"),
                                   op.k, ("j", "h", "e"), "e", "h", bits))
    T = len(a.exp_table)
    cols = {}
    for k in ("max", "diff", "idx", "exp", "sum", "p", "rem"):
        shape = hn if k in ("max", "sum") else hnn
        cols[k] = c.add_trace(f"{S}.{k}", shape, widths[f"{S}.{k}"])
    diff, idx, exp, ssum, p, rem = (cols[k].name for k in ("diff", "idx", "exp", "sum", "p", "rem"))
    mx = cols["max"].name
    sel = f"{S}.sel"
    c.add_advice(sel, hnn, None, lambda t: _one_hot(t[f"{S}.argmax"], n))
    c.add_advice(f"{S}.selsum", hn, None, lambda t: np.ones(hn, dtype=np.int64))
    c.add_advice(f"{S}.over", hnn, widths[diff],
                 lambda t: np.maximum(t[f"{S}.diff"] - (T - 1), 0))
    c.range(idx, max(1, (T - 1).bit_length()), -1, T - 1)  # idx <= T - 1
    ind3 = c.indicator(scores)
    ind2 = c.indicator(cols["max"])
    max_b = c.view(mx, 2, n)
    sum_b = c.view(ssum, 2, n)
    # slack = sum - 1 - rem >= 0 (rem <= sum - 1), linear: on every j of a real row (h, i),
    # padded j included (there rem = 0 and slack = sum - 1 >= 0 since sum >= EXP[0] > 0)
    rows = c.shape_indicator((H, n, 1 << bN))
    c.add_linear(f"{S}.slack", hnn, widths[rem], [(1, sum_b), (-1, rem)], [(-1, rows)])
    K = a.prob_bits
    nv = scores.num_vars
    for ident in (
        # diff = max - scores on the real entries
        Identity.of(f"{S} diff", (1, [diff]), (-1, [ind3, max_b]), (1, [scores.name])),
        # sel is 0/1, selects an entry where scores == max, one per row (selsum below)
        Identity.of(f"{S} sel boolean", (1, [sel, sel]), (-1, [sel])),
        Identity.of(f"{S} sel at max", (1, [sel, diff])),
        # idx = min(diff, T-1): idx = diff - over, over (T - 1 - idx) = 0
        Identity.of(f"{S} idx", (1, [idx]), (-1, [diff]), (1, [f"{S}.over"])),
        Identity.of(f"{S} idx clamp", (T - 1, [f"{S}.over"]), (-1, [f"{S}.over", idx])),
        # exp 2^K = p sum + rem, rem <= sum - 1
        Identity.of(f"{S} division", (1 << K, [exp]), (-1, [p, sum_b]), (-1, [rem])),
    ):
        c.identity(nv, ident)
    c.identity(cols["max"].num_vars,
               Identity.of(f"{S} one max per row", (1, [f"{S}.selsum"]), (-1, [ind2])))
    c.relations.append(AxisSumRel(f"{S}.selsum", sel, 2))
    c.relations.append(AxisSumRel(ssum, exp, 2))
    # exp = EXP[idx] (pair look-up, padded table rows are 0)
    table = np.zeros(1 << padded_bits((T,))[0], dtype=np.uint64)
    table[:T] = gl.encode_signed(np.asarray(a.exp_table, dtype=np.int64))
    c.tables[S] = table
    mult = f"{S}.lookup_mult"
    c.add_trace(mult, (table.shape[0],), None, padded_zero=False)
    c.relations.append(TableRel(S, idx, exp, S, 0, mult))
    # ctx.acc[i, h dh + e] = sum_j p[h, i, j] v[j, h dh + e]
    d = cfg.d_model
    acc = c.add_trace(f"{A}.ctx.acc", (n, d), None)
    c.relations.append(ContractRel(acc.name, ("i", "h", "e"), p, ("h", "i", "j"),
                                   op.v, ("j", "h", "e"), "j", "h", bits))
    m = c.broadcast(f"{A}.ctx.m", a.ctx.m, acc.bits[1])
    _requant(c, f"{A}.ctx", (n, d), [(1, [acc.name, m])], a.ctx, widths)


def _one_hot(argmax: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(argmax.shape + (n,), dtype=np.int64)
    np.put_along_axis(out, argmax[..., None], 1, axis=-1)
    return out


_T_LIMBS_ARGUMENT = (
    "T = sum_i 2^(L i) t_i may exceed p, so this identity alone says only t = T mod p. "
    "'rsqrt low' holds over the integers (its bound is checked): T var = 2^k - rsqrt_lo <= 2^k "
    "with var >= eps >= 1 (var = csum + eps, csum a sum of squares), so 0 <= T <= 2^k < 2^59; "
    "t = rsqrt^2 < 2^61 by 't'; both below p and congruent, hence t = T over the integers."
)


def _layernorm(c: Circuit, op, n: int, widths) -> None:
    """Integer LayerNorm with the advice reciprocal square root.

    ``rsqrt^2 var <= 2^k < (rsqrt + 1)^2 var`` is checked exactly although ``rsqrt^2 var`` and
    ``rsqrt var`` of a cheating prover could exceed ``p``: with limbs of ``L = 61 - V`` bits
    (``V`` the width of ``var``), ``t = rsqrt^2 = sum_i t_i 2^(L i)`` and
    ``rsqrt = sum_i y_i 2^(L i)``, every product ``t_i var`` and ``y_i var`` is below ``2^61``,
    and range checks on those products (at their honest bounds ``2^(k - L i)`` and
    ``2^((k + V)/2 - L i)``) keep

    - ``sum_i 2^(L i) t_i var + rsqrt_lo = 2^k`` (so ``rsqrt^2 var <= 2^k``) and
    - ``2 sum_i 2^(L i) y_i var + var - rsqrt_lo - 1 = rsqrt_hi`` (so ``(rsqrt+1)^2 var > 2^k``)

    below ``2^62``: they hold over the integers.
    """
    ln, P = op.ln, op.name
    x = c.trace[op.src]
    d = x.shape[1]
    k = ln.k
    yb = widths[f"{P}.rsqrt"][0]
    vb = widths[f"{P}.var"][0]
    L = 61 - vb
    if 2 * yb > 61 or L < 4 or k > 58:
        raise UnsupportedOpError(f"{P}: rsqrt ({yb} bits) and var ({vb} bits) are too wide")
    nt = -(-2 * yb // L)
    ny = -(-yb // L)
    mask = (1 << L) - 1
    vec, mat = (n,), (n, d)
    cols = {}
    for key in ("sum", "mean", "mean_rem", "var", "rsqrt", "rsqrt_lo", "rsqrt_hi"):
        cols[key] = c.add_trace(f"{P}.{key}", vec, widths[f"{P}.{key}"])
    for key in ("c", "z"):
        cols[key] = c.add_trace(f"{P}.{key}", mat, widths[f"{P}.{key}"])
    c.range(f"{P}.mean_rem", widths[f"{P}.mean_rem"][0], -1, d - 1)  # mean_rem <= d - 1
    rs, var = f"{P}.rsqrt", f"{P}.var"
    c.add_advice(f"{P}.csq", mat, None, lambda t: t[f"{P}.c"] * t[f"{P}.c"])
    c.add_advice(f"{P}.csum", vec, None, lambda t: (t[f"{P}.c"] * t[f"{P}.c"]).sum(axis=1))
    c.add_advice(f"{P}.t", vec, None, lambda t: t[rs] * t[rs])
    half_kv = (k + vb) // 2 + 2
    for i in range(nt):
        c.add_advice(f"{P}.t{i}", vec, (L, False), lambda t, i=i: ((t[rs] * t[rs]) >> (L * i)) & mask)
        c.add_advice(f"{P}.ta{i}", vec, (max(1, k - L * i + 1), False),
                     lambda t, i=i: (((t[rs] * t[rs]) >> (L * i)) & mask) * t[var])
    for i in range(ny):
        c.add_advice(f"{P}.y{i}", vec, (L, False), lambda t, i=i: (t[rs] >> (L * i)) & mask)
        c.add_advice(f"{P}.wa{i}", vec, (max(1, half_kv - L * i), False),
                     lambda t, i=i: ((t[rs] >> (L * i)) & mask) * t[var])
    c.relations.append(AxisSumRel(f"{P}.sum", op.src, 1))
    c.relations.append(AxisSumRel(f"{P}.csum", f"{P}.csq", 1))
    ind1 = c.indicator(cols["sum"])
    ind2 = c.indicator(cols["c"])
    mean_b = c.view(f"{P}.mean", 1, d)
    rsqrt_b = c.view(rs, 1, d)
    nv1, nv2 = cols["sum"].num_vars, cols["c"].num_vars
    idents = [
        # sum = mean d + mean_rem
        Identity.of(f"{P} mean", (1, [f"{P}.sum"]), (-d, [f"{P}.mean"]), (-1, [f"{P}.mean_rem"])),
        # var = sum_c c^2 + eps
        Identity.of(f"{P} var", (1, [var]), (-1, [f"{P}.csum"]), (-ln.eps, [ind1])),
        # t = rsqrt^2 = sum_i t_i 2^(L i);  rsqrt = sum_i y_i 2^(L i)
        Identity.of(f"{P} t", (1, [f"{P}.t"]), (-1, [rs, rs])),
        Identity.of(f"{P} t limbs", (1, [f"{P}.t"]),
                    *[(-(1 << (L * i)), [f"{P}.t{i}"]) for i in range(nt)],
                    integer_argument=_T_LIMBS_ARGUMENT),
        Identity.of(f"{P} rsqrt limbs", (1, [rs]),
                    *[(-(1 << (L * i)), [f"{P}.y{i}"]) for i in range(ny)]),
        # sum_i 2^(L i) t_i var + rsqrt_lo = 2^k
        Identity.of(f"{P} rsqrt low", *[(1 << (L * i), [f"{P}.ta{i}"]) for i in range(nt)],
                    (1, [f"{P}.rsqrt_lo"]), (-(1 << k), [ind1])),
        # 2 sum_i 2^(L i) y_i var + var - rsqrt_lo - 1 - rsqrt_hi = 0
        Identity.of(f"{P} rsqrt high", *[(2 << (L * i), [f"{P}.wa{i}"]) for i in range(ny)],
                    (1, [var]), (-1, [f"{P}.rsqrt_lo"]), (-1, [ind1]), (-1, [f"{P}.rsqrt_hi"])),
    ]
    idents += [Identity.of(f"{P} ta{i}", (1, [f"{P}.ta{i}"]), (-1, [f"{P}.t{i}", var]))
               for i in range(nt)]
    idents += [Identity.of(f"{P} wa{i}", (1, [f"{P}.wa{i}"]), (-1, [f"{P}.y{i}", var]))
               for i in range(ny)]
    for ident in idents:
        c.identity(nv1, ident)
    for ident in (
        # c = x - mean on the real entries; csq = c^2; z = c rsqrt
        Identity.of(f"{P} center", (1, [f"{P}.c"]), (-1, [op.src]), (1, [ind2, mean_b])),
        Identity.of(f"{P} square", (1, [f"{P}.csq"]), (-1, [f"{P}.c", f"{P}.c"])),
        Identity.of(f"{P} scale", (1, [f"{P}.z"]), (-1, [f"{P}.c", rsqrt_b])),
    ):
        c.identity(nv2, ident)
    g = c.broadcast(f"{P}.g", ln.rq.m, cols["c"].bits[1])
    beta = c.broadcast(f"{P}.beta", ln.beta, cols["c"].bits[1])
    # pre = z g[c] + beta[c] (beta on the real entries only)
    _requant(c, P, mat, [(1, [f"{P}.z", g]), (1, [ind2, beta])], ln.rq, widths)
