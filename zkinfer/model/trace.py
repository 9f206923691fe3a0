"""The execution trace: named int64 columns with declared widths.

A :class:`Trace` is what one integer forward pass leaves behind for the prover: every intermediate
tensor and every advice value, each as an ``int64`` numpy array under a hierarchical name, with a
:class:`ColumnSpec` giving its shape, its declared bit width (the range check the proof applies),
its kind and the identity that defines it.

Kinds:

=================  ==================================================================
kind               meaning
=================  ==================================================================
``tensor``         an intermediate tensor of the forward pass
``advice``         a value the prover supplies and the proof constrains (quotients,
                   remainders, row maxima, argmax, rsqrt and its slacks)
``multiplicity``   LogUp multiplicities of a model table (how often each row is used)
=================  ==================================================================

Column names (``L`` = layer index; every op's columns share its prefix):

======================================  ==========================================================
prefix                                  columns
======================================  ==========================================================
``emb``                                 ``tok``, ``pos``, ``x``
``emb.ln``, ``layerL.ln1``, ``.ln2``,   LayerNorm: ``sum``, ``mean``, ``mean_rem``, ``c``, ``var``,
``final_ln``                            ``rsqrt``, ``rsqrt_lo``, ``rsqrt_hi``, ``z``, ``q``,
                                        ``rem``, ``out``
``layerL.attn.{q,k,v,o}``,              linear: ``acc``, ``q``, ``rem``, ``out`` (``o`` and
``layerL.ffn.{up,down}``                ``down`` add the residual before the shift)
``layerL.attn``                         ``scores``
``layerL.attn.softmax``                 ``max``, ``argmax``, ``diff``, ``idx``, ``exp``, ``sum``,
                                        ``p``, ``rem``, ``exp_mult``
``layerL.attn.ctx``                     ``acc``, ``q``, ``rem``, ``out``
``layerL.ffn.act``                      ``out``, ``mult``
``pool``                                ``sum``, ``mean`` (the public output), ``rem``
======================================  ==========================================================

An MLP model (``block="mlp"``) has only the ``emb``, ``layerL.ffn.{up,act,down}`` and ``pool``
columns (``ffn.up`` reads the residual stream: ``emb.x``, then the previous ``ffn.down.out``).

``Trace.summary()`` prints every column with its shape, width, kind and defining identity;
:func:`zkinfer.model.check.check_trace` checks them against the circuit's identities.

Width convention: ``signed`` ``b`` bits is ``[-2^(b-1), 2^(b-1))``; unsigned ``b`` bits is
``[0, 2^b)``. :meth:`Trace.check` raises :class:`~zkinfer.errors.ModelError` when a column leaves
its declared range. The column list of a model is :func:`zkinfer.model.intmodel.column_specs`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError

__all__ = ["ColumnSpec", "Trace", "KINDS", "OUTPUT_COLUMNS", "output_column"]

KINDS = ("tensor", "advice", "multiplicity")


@dataclass(frozen=True)
class ColumnSpec:
    """Declared shape, width and meaning of one trace column.

    Attributes:
        shape: array shape.
        bits: declared width in bits.
        signed: two's-complement range if true, else ``[0, 2^bits)``.
        kind: one of :data:`KINDS`.
        doc: the identity that defines the column, in terms of other columns and model
            parameters (e.g. ``"layer0.attn.q.acc = layer0.ln1.out @ W + b"``).
    """

    shape: tuple[int, ...]
    bits: int
    signed: bool
    kind: str
    doc: str

    @property
    def lo(self) -> int:
        """Smallest allowed value."""
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        """Largest allowed value."""
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))


def check_column(name: str, value: np.ndarray, spec: ColumnSpec) -> None:
    """Check one column against its spec.

    Arguments:
        name: column name (for the message).
        value: the column.
        spec: its declared spec.

    Raises:
        ModelError: wrong dtype or shape, or a value outside the declared width.
    """
    if value.dtype != np.int64:
        raise ModelError(f"trace column {name}: dtype {value.dtype}, expected int64")
    if tuple(value.shape) != tuple(spec.shape):
        raise ModelError(f"trace column {name}: shape {value.shape}, expected {spec.shape}")
    if value.size == 0:
        return
    lo, hi = int(value.min()), int(value.max())
    if lo < spec.lo or hi > spec.hi:
        sign = "signed" if spec.signed else "unsigned"
        raise ModelError(
            f"trace column {name}: values in [{lo}, {hi}] leave the declared "
            f"{spec.bits}-bit {sign} range [{spec.lo}, {spec.hi}]"
        )


#: The column holding a model's public output: an encoder's pooled vector, a decoder's greedy
#: tokens (one per position).
OUTPUT_COLUMNS = ("pool.mean", "argmax.ids")


def output_column(columns: Mapping[str, object]) -> str:
    """The name of the output column among ``columns`` (:data:`OUTPUT_COLUMNS`)."""
    for name in OUTPUT_COLUMNS:
        if name in columns:
            return name
    raise ModelError("the trace has no output column (pool.mean or argmax.ids)")


class Trace(Mapping[str, np.ndarray]):
    """Named ``int64`` columns of one forward pass (a read-only mapping ``name -> array``).

    Attributes:
        specs: ``name -> ColumnSpec`` for every column, in forward order.
        output: the public output (:data:`OUTPUT_COLUMNS`).
    """

    def __init__(self, columns: Mapping[str, np.ndarray], specs: Mapping[str, ColumnSpec]):
        missing = set(specs) - set(columns)
        extra = set(columns) - set(specs)
        if missing or extra:
            raise ModelError(f"trace columns do not match specs: missing {missing}, extra {extra}")
        self._columns = {name: columns[name] for name in specs}
        self.specs: dict[str, ColumnSpec] = dict(specs)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    @property
    def output(self) -> np.ndarray:
        """The public output: the integer mean-pooled vector (column ``pool.mean``) of an
        encoder, the greedy token of every position (column ``argmax.ids``) of a decoder."""
        return self._columns[output_column(self._columns)]

    def check(self) -> None:
        """Check every column's dtype, shape and declared width.

        Raises:
            ModelError: the first column that violates its spec.
        """
        for name, spec in self.specs.items():
            check_column(name, self._columns[name], spec)

    def n_elements(self, prefix: str = "") -> int:
        """Total number of elements in the columns whose name starts with ``prefix``.

        Arguments:
            prefix: e.g. ``"layer0."``; empty for the whole trace.

        Returns:
            The element count.
        """
        return sum(s.size for n, s in self.specs.items() if n.startswith(prefix))

    def elements_by_group(self) -> dict[str, int]:
        """Element counts per top-level group (``emb``, ``layer0``, ..., ``pool``).

        Returns:
            ``group -> number of elements``, in forward order.
        """
        out: dict[str, int] = {}
        for name, spec in self.specs.items():
            group = name.split(".", 1)[0]
            out[group] = out.get(group, 0) + spec.size
        return out

    def summary(self, pattern: str = "") -> str:
        """A plain-text table of the columns: name, shape, width, kind and defining identity.

        Arguments:
            pattern: a regular expression; only matching names are listed.

        Returns:
            The table, one column per line.
        """
        rx = re.compile(pattern)
        lines = [f"{'name':40s} {'shape':16s} {'width':>9s} {'kind':12s} identity"]
        for name, spec in self.specs.items():
            if not rx.search(name):
                continue
            width = f"{'s' if spec.signed else 'u'}{spec.bits}"
            lines.append(f"{name:40s} {str(spec.shape):16s} {width:>9s} {spec.kind:12s} {spec.doc}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Trace({len(self)} columns, {self.n_elements()} elements)"
