"""The tied LM head and the greedy choice of a decoder: ``logits = src @ E^T``, ``ids = argmax``.

Two ops (semantics: :func:`zkinfer.model.int_llama.lm_head` and
:func:`zkinfer.model.int_llama.argmax_lowest`):

- :class:`OpLogits`: ``logits[i, v] = sum_c src[i, c] E[v, c]`` with ``E`` the committed
  ``(vocab, d)`` embedding (tied: the same weight column as the token embedding). Gadget: the
  contraction ``logits = src E^T`` on the weight column (:class:`ContractRel`, its claim on
  ``E`` goes to the weight commitment) and a range check of ``logits`` at its declared width.
  The weights are not range-checked (the model owner commits them), so no bound on ``logits``
  follows from the contraction: the range check gives it. Integer meaning: the contraction
  holds in ``F_p``; with ``|src| <= amax(src)``, ``|E| <= 2^(emb_bits - 1)`` and the padded
  ``d`` axis of ``2^bc`` entries, ``|sum_c src E| <= 2^bc amax(src) 2^(emb_bits - 1) < p / 2``
  (refused otherwise) and ``|logits| <= 2^(bits - 1) < p / 2`` (range check), so the field
  equality is the integer one.
- :class:`OpArgmax`: per real row ``i``, ``ids[i]`` is the lowest index among the maxima of
  ``logits[i]``. ``ids`` is the public output of the model: it is not committed; the verifier
  builds two public columns from it, the one-hot ``O[i, v] = [v == ids[i]]`` and the prefix mask
  ``B[i, v] = [v < ids[i]]`` (both zero on padded rows and columns; :class:`OutputOneHot`,
  :class:`OutputPrefix`, ``O(n log V)`` for the verifier). The trace keeps ``ids`` (as
  ``pool.mean`` is kept), the circuit reads only the public output. Advice ``best`` (the row
  maximum, range-checked at the logits' width: it enters the identity below only as
  ``Ind best``, so no definition bounds it) and ``gap`` (range-checked, ``gb`` bits); identities

  - ``gap = Ind (x) best - logits - B`` (``best`` broadcast over ``v``, ``Ind`` the real block;
    ``|.| <= 2^gb + 2^(bits - 1) + 2^(bits - 1) + 1 < 2^(gb + 1)``),
  - ``O gap = 0`` (``|.| < 2^gb``),

  and ``0 <= gap < 2^gb``. Why they pin ``ids``: every term is far below ``p / 2``, so both
  identities hold over the integers. At ``v = ids[i]``: ``O = 1``, ``B = 0``, so ``gap = 0``
  and ``best[i] = logits[i, ids[i]]``. At every other real ``v``: ``gap >= 0`` gives
  ``logits[i, v] <= best[i] - [v < ids[i]]``: no entry exceeds the chosen one, and every earlier
  entry is *strictly* smaller (``B`` subtracts one there), so ``ids[i]`` is a maximum and no
  lower index attains it: the lowest-index tie break. On the padding ``gap`` and ``logits`` are
  proven zero and ``Ind = B = 0``. The output is checked to be ``n`` ids in ``[0, vocab)``
  before the columns are built (an id outside would leave its row of ``O`` empty and ``best``
  free).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError, VerificationError
from zkinfer.field.scalar import Fp2
from zkinfer.model.ops.common import (
    MAX_BITS,
    OpHome,
    amax,
    check_int,
    check_int_array,
    signed_bits,
    unsigned_bits,
)
from zkinfer.poly.multilinear import eq_prefix_sum, eq_table
from zkinfer.protocol.bounds import HALF_P, FieldBoundError
from zkinfer.protocol.circuit import ContractRel
from zkinfer.protocol.constraints import Identity, PublicColumn

__all__ = ["OpLogits", "OpArgmax", "OutputOneHot", "OutputPrefix", "LOGITS_HOME", "ARGMAX_HOME",
           "HOMES"]


@dataclass(frozen=True, eq=False)
class OpLogits:
    """``logits[i, v] = sum_c src[i, c] table[v, c]`` (column ``{name}.logits``).

    Attributes:
        name: the op's name (column prefix).
        src: the ``(n, d)`` input column (the final RMSNorm's output).
        table: the committed ``(vocab, d)`` weight column (the tied embedding ``model.tok_emb``).
        vocab: vocabulary size.
        emb_bits: the embedding's signed width (bounds the logits' width for a verifying key).
    """

    name: str
    src: str
    table: str
    vocab: int
    emb_bits: int = 8


@dataclass(frozen=True, eq=False)
class OpArgmax:
    """Greedy choice per row of ``src`` (``(n, vocab)`` logits): the lowest index among the
    maxima; columns ``{name}.best``, ``{name}.ids`` (the public output), ``{name}.gap``."""

    name: str
    src: str
    vocab: int


def _embedding(op: OpLogits, model) -> np.ndarray:
    """The tied embedding ``(vocab, d)`` the op reads (``model.tok_emb``).

    Raises:
        ModelError: not an int64 matrix with ``op.vocab`` rows of ``emb_bits``-bit entries.
    """
    e = model.tok_emb
    if not (isinstance(e, np.ndarray) and e.ndim == 2):
        raise ModelError(f"{op.name}: the embedding must be an int64 matrix")
    check_int_array(f"{op.name}.{op.table}", e, (op.vocab, e.shape[1]), op.emb_bits)
    return e


def _eq_index(r: list[Fp2], k: int) -> Fp2:
    """``eq(r, k)``: the multilinear extension of the indicator of index ``k`` (``r[0]`` is
    the most significant bit), ``O(len(r))``."""
    acc, b = Fp2.ONE, len(r)
    for j, rj in enumerate(r):
        acc = acc * (rj if (k >> (b - 1 - j)) & 1 else 1 - rj)
    return acc


@dataclass(frozen=True, eq=False)
class _RowIndexColumn(PublicColumn):
    """A public ``(2^br, 2^bv)`` table built from one index per real row (``len(index)`` rows,
    each index in ``[0, 2^bv)``); zero on the padded rows."""

    index: tuple[int, ...]
    bits: tuple[int, int]

    def _rows(self, point) -> tuple[list[Fp2], np.ndarray]:
        """``eq(r_rows, i)`` for the real rows, and the column part of ``point``."""
        br = self.bits[0]
        rows = Fp2.vector(eq_table(point[:br])[: len(self.index)])
        return rows, point[br:]

    def _check(self, num_vars: int) -> None:
        if num_vars != sum(self.bits):
            raise ValueError(f"public column of {sum(self.bits)} variables, asked for {num_vars}")


class OutputOneHot(_RowIndexColumn):
    """``O[i, v] = [v == index[i]]`` on the real rows, 0 elsewhere. Extension:
    ``sum_{i < n} eq(r_i, i) eq(r_v, index[i])``, ``O(n log V)``."""

    def table(self, num_vars: int) -> np.ndarray:
        self._check(num_vars)
        out = np.zeros((1 << self.bits[0], 1 << self.bits[1]), dtype=np.uint64)
        out[np.arange(len(self.index)), np.asarray(self.index, dtype=np.int64)] = 1
        return out.reshape(-1)

    def evaluate(self, point) -> np.ndarray:
        rows, rv = self._rows(point)
        cols = Fp2.vector(rv) if len(rv) else []
        acc = Fp2.ZERO
        for w, k in zip(rows, self.index):
            acc = acc + w * _eq_index(cols, k)
        return acc.to_array()


class OutputPrefix(_RowIndexColumn):
    """``B[i, v] = [v < index[i]]`` on the real rows, 0 elsewhere. Extension:
    ``sum_{i < n} eq(r_i, i) sum_{v < index[i]} eq(r_v, v)``, ``O(n log V)``."""

    def table(self, num_vars: int) -> np.ndarray:
        self._check(num_vars)
        out = np.zeros((1 << self.bits[0], 1 << self.bits[1]), dtype=np.uint64)
        idx = np.asarray(self.index, dtype=np.int64)
        out[: len(idx)] = np.arange(1 << self.bits[1])[None, :] < idx[:, None]
        return out.reshape(-1)

    def evaluate(self, point) -> np.ndarray:
        rows, rv = self._rows(point)
        acc = Fp2.ZERO
        for w, k in zip(rows, self.index):
            acc = acc + w * Fp2.from_array(eq_prefix_sum(rv, k))
        return acc.to_array()


class _Logits(OpHome):
    op = OpLogits

    def columns(self, op, model, n, widths, weight_widths):
        if weight_widths is None:
            e = _embedding(op, model)
            # |logits[i, v]| <= amax(src) sum_c |E[v, c]| (measured on the weights at setup)
            row = int(np.abs(e).sum(axis=1).max(initial=0))
            lmax = row * amax(widths[op.src])
            width = (signed_bits(-lmax, lmax), True)
        else:
            width = tuple(weight_widths[f"{op.name}.logits"])
        return [(f"{op.name}.logits", (n, op.vocab), "tensor", width,
                 f"logits[i, v] = sum_c {op.src}[i, c] * {op.table}[v, c]")]

    def weight_width_names(self, op):
        return [f"{op.name}.logits"]

    def weight_width_bounds(self, op, model, widths):
        # |logits| <= d 2^(emb_bits - 1) max|src| for embedding entries of emb_bits bits
        d = model.tok_emb.shape[1]
        lmax = d * (1 << (op.emb_bits - 1)) * amax(widths[op.src])
        return {f"{op.name}.logits": signed_bits(-lmax, lmax)}

    def weights(self, op, model):
        return {op.table: model.tok_emb}

    def reference(self, op, model, ids, cols):
        e = _embedding(op, model)
        # exact int64 product: |partial sums| <= d amax(src) 2^(emb_bits - 1) < 2^62 (the
        # declared widths, as int_llama.lm_head's float64 product is exact below 2^53)
        return {f"{op.name}.logits": cols[op.src] @ e.T}

    def kernel(self, op, model, ids, cols):
        """``logits = src E^T`` in float64 BLAS when every partial sum is below ``2^53``
        (``max|src| max|E| d``, measured on the data: then every float operation is exact), in
        int64 as :meth:`reference` otherwise; written in place.

        Raises:
            ModelError: the embedding is not ``(vocab, d)`` of ``emb_bits``-bit entries.
        """
        e = _embedding(op, model)
        src = cols[op.src]
        out = cols[f"{op.name}.logits"]
        top = int(np.abs(src).max(initial=0)) * int(np.abs(e).max(initial=0)) * e.shape[1]
        if top >= 1 << 53:
            np.matmul(src, e.T, out=out)
            return
        sf = src.astype(np.float64)
        step = 8192  # vocabulary rows per block: the float copy of E stays small
        for v0 in range(0, e.shape[0], step):
            blk = e[v0:v0 + step].astype(np.float64)
            out[:, v0:v0 + step] = sf @ blk.T

    def gadget(self, c, op, model, n, output):
        """``logits = src E^T`` (contraction on the weight column) and the range check.

        Raises:
            ModelError: shapes of ``src`` and the weight column disagree with the op.
            FieldBoundError: ``2^bc amax(src) 2^(emb_bits - 1)`` reaches ``p / 2``.
        """
        check_int(f"{op.name}.emb_bits", op.emb_bits, 1, 32)
        src, table = c.col(op.src), c.weights[op.table]
        if src.shape[0] != n or len(src.shape) != 2:
            raise ModelError(f"{op.name}: {op.src} has shape {src.shape}, expected ({n}, d)")
        if table.shape != (op.vocab, src.shape[1]):
            raise ModelError(f"{op.name}: {op.table} has shape {table.shape}, expected "
                             f"({op.vocab}, {src.shape[1]})")
        width = tuple(model.widths[f"{op.name}.logits"])
        bn, bc = src.bits
        bv = table.bits[0]
        # the contraction's integer value: 2^bc terms of |src| |E| each (padded terms are 0)
        bound = (1 << bc) * amax(model.widths[op.src]) * (1 << (op.emb_bits - 1))
        if bound >= HALF_P or width[0] > MAX_BITS:
            raise FieldBoundError(f"{op.name}: logits up to {bound} ({width[0]} bits declared) "
                                  "can reach p / 2")
        # range-checked: the weights give the contraction no bound of its own
        logits = c.add_trace(f"{op.name}.logits", (n, op.vocab), width)
        # logits[i, v] = sum_c src[i, c] E[v, c]  (|.| <= bound < p / 2, module docstring)
        c.add_relation(ContractRel(logits.name, ("i", "v"), op.src, ("i", "c"), op.table,
                                   ("v", "c"), "c", None, (("i", bn), ("v", bv), ("c", bc))))


class _Argmax(OpHome):
    op = OpArgmax

    def columns(self, op, model, n, widths, weight_widths):
        w = tuple(widths[op.src])
        # best - logits - [v < ids] lies in [0, 2 amax(logits)] when it is >= 0
        gap = (unsigned_bits(2 * amax(w)), False)
        return [
            (f"{op.name}.best", (n,), "advice", w, f"best[i] = max_v {op.src}[i, v]"),
            (f"{op.name}.ids", (n,), "tensor", (unsigned_bits(op.vocab - 1), False),
             f"ids[i] = lowest v with {op.src}[i, v] == best[i] (the public output)"),
            (f"{op.name}.gap", (n, op.vocab), "advice", gap,
             f"gap[i, v] = best[i] - {op.src}[i, v] - [v < ids[i]] >= 0"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        logits = cols[op.src]
        best = logits.max(axis=1)
        choice = np.argmax(logits, axis=1).astype(np.int64)  # numpy: the first maximum
        before = (np.arange(logits.shape[1])[None, :] < choice[:, None]).astype(np.int64)
        return {f"{op.name}.best": best, f"{op.name}.ids": choice,
                f"{op.name}.gap": best[:, None] - logits - before}

    def kernel(self, op, model, ids, cols):
        """The Numba kernel :func:`zkinfer.model._decoder_kernels.argmax_rows`.

        Raises:
            ModelError: ``src`` is not an ``(n, vocab)`` column with ``vocab >= 1``.
        """
        from zkinfer.model import _decoder_kernels as D

        logits, P = cols[op.src], op.name
        if logits.ndim != 2 or logits.shape[1] < 1:
            raise ModelError(f"{P}: {op.src} has shape {logits.shape}, expected (n, vocab)")
        D.argmax_rows(logits, cols[f"{P}.best"], cols[f"{P}.ids"], cols[f"{P}.gap"])

    def gadget(self, c, op, model, n, output):
        """``best``, ``gap``, the public ``O`` and ``B`` from ``output``, two identities and the
        range checks (module docstring).

        Raises:
            VerificationError: ``output`` is not ``n`` ids in ``[0, vocab)``.
            ModelError: ``src`` is not an ``(n, vocab)`` column.
        """
        P, widths = op.name, model.widths
        src = c.col(op.src)
        if src.shape != (n, op.vocab):
            raise ModelError(f"{P}: {op.src} has shape {src.shape}, expected ({n}, {op.vocab})")
        out = np.asarray(output)
        if (out.shape != (n,) or out.dtype.kind not in "iu"
                or (n and (int(out.min()) < 0 or int(out.max()) >= op.vocab))):
            raise VerificationError(f"{P} output", f"expected {n} token ids in [0, {op.vocab})")
        index = tuple(int(x) for x in out)
        best = c.add_trace(f"{P}.best", (n,), tuple(widths[f"{P}.best"]))
        gap = c.add_trace(f"{P}.gap", (n, op.vocab), tuple(widths[f"{P}.gap"]))
        onehot, before = f"{P}.onehot", f"{P}.before"
        c.publics[onehot] = OutputOneHot(index, gap.bits)
        c.public_bounds[onehot] = (0, 1)
        c.publics[before] = OutputPrefix(index, gap.bits)
        c.public_bounds[before] = (0, 1)
        ind = c.indicator(gap)
        best_b = c.view(best.name, 1, op.vocab)
        nv = gap.num_vars
        # gap = Ind best - logits - B  (|.| <= 2^gb + 2 amax(logits) + 1 < 2^(gb + 1) < p / 2)
        c.identity(nv, Identity.of(f"{P} gap", (1, [gap.name]), (-1, [ind, best_b]),
                                   (1, [op.src]), (1, [before])))
        # O gap = 0: the chosen entry attains best (|.| < 2^gb)
        c.identity(nv, Identity.of(f"{P} chosen attains best", (1, [onehot, gap.name])))


#: The homes (not yet in :data:`zkinfer.model.ops.HOMES`, which takes one ``HOME`` per module).
LOGITS_HOME = _Logits()
ARGMAX_HOME = _Argmax()
HOMES = {OpLogits: LOGITS_HOME, OpArgmax: ARGMAX_HOME}
