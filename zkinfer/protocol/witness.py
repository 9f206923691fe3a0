"""The prover's witness: every committed column of a :class:`~zkinfer.protocol.circuit.Circuit`
as a padded field table, computed from the forward's trace: trace columns as they are, advice
columns (look-up multiplicities included) by the prover's witness plan
(:func:`~zkinfer.protocol.model_circuit.witness_plan`), then the range checks' limbs and
multiplicities and the linear columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from zkinfer.field import goldilocks as gl
from zkinfer.lookup.range import range_multiplicities
from zkinfer.protocol.circuit import Circuit, Col, LinearCol
from zkinfer.protocol.range import limb_widths

__all__ = ["pad", "build_witness", "weight_tables", "Tables", "real_columns", "segment_witness"]

U64 = npt.NDArray[np.uint64]
#: An advice rule: the column's (real-shaped) integer values from the trace columns.
Rule = Callable[[dict[str, np.ndarray]], np.ndarray]


def pad(values: npt.ArrayLike, col: Col) -> npt.NDArray[np.int64]:
    """Zero-pad an integer tensor to the column's padded shape (row-major)."""
    v = np.asarray(values, dtype=np.int64)
    if v.shape != col.shape:
        raise ValueError(f"{col.name}: shape {v.shape}, circuit expects {col.shape}")
    out = np.zeros(col.padded_shape, dtype=np.int64)
    out[tuple(slice(0, s) for s in v.shape)] = v
    return out


def _field(values: npt.NDArray[np.int64]) -> U64:
    return gl.encode_signed(values.reshape(-1))


def weight_table(weight: np.ndarray, col) -> U64:
    """One weight matrix as the model commitment's table for its circuit column ``col``."""
    return _field(pad(weight, col))


def weight_tables(circuit: Circuit, weights: dict[str, np.ndarray]) -> list[U64]:
    """The model commitment's tables, in circuit order."""
    return [weight_table(weights[name], col) for name, col in circuit.weights.items()]


def build_witness(circuit: Circuit, trace: dict[str, np.ndarray], plan: Mapping[str, Rule]
                  ) -> dict[str, U64]:
    """Padded field tables of every committed trace column, in circuit order.

    Arguments:
        circuit: the statement's circuit (:func:`~zkinfer.protocol.model_circuit.build_circuit`).
        trace: the forward's integer columns (by name).
        plan: the prover's advice rules (:func:`~zkinfer.protocol.model_circuit.witness_plan`):
            every advice column, look-up multiplicities included, from the trace columns.

    Returns:
        ``name -> uint64 table`` for every column of ``circuit.trace`` (in order), then every
        linear column (never committed; looked up or used in identities).

    Raises:
        ValueError: a value outside its range check, or a column of another shape than the
            circuit's.
    """
    return _witness(circuit, trace, plan, strict=True)


def _unchecked_witness(circuit: Circuit, trace: dict[str, np.ndarray], plan: Mapping[str, Rule]
                       ) -> dict[str, U64]:
    """:func:`build_witness` without refusing values outside their range checks: their limbs
    keep the low bits (which the verifier rejects). For tests of cheating provers and for
    :func:`zkinfer.model.check.check_trace`, which names the failing range check itself."""
    return _witness(circuit, trace, plan, strict=False)


class Tables(Mapping):
    """The prover's tables by name: the committed ones it is given (:attr:`base`), and the views
    and linear columns computed from them on first use and kept until :meth:`forget` (one
    segment at a time: what a segment computes is dropped before the next)."""

    def __init__(self, circuit: Circuit, base: dict[str, U64] | None = None) -> None:
        self.circuit = circuit
        self.base: dict[str, U64] = {} if base is None else base
        self._cache: dict[str, U64] = {}

    def __getitem__(self, name: str) -> U64:
        if name in self.base:
            return self.base[name]
        if name not in self._cache:
            c = self.circuit
            if name in c.views:
                view = c.views[name]
                self._cache[name] = view.table(self[view.base], c.trace[view.base].bits)
            elif name in c.linear:
                self._cache[name] = linear_table(c, c.linear[name], self)
            else:
                raise KeyError(name)
        return self._cache[name]

    def __contains__(self, name: object) -> bool:
        c = self.circuit
        return name in self.base or name in c.views or name in c.linear

    def __iter__(self):
        yield from self.base
        yield from (n for n in [*self.circuit.views, *self.circuit.linear] if n not in self.base)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def forget(self) -> None:
        """Drop the computed views and linear columns."""
        self._cache.clear()


def real_columns(circuit: Circuit, trace: dict[str, np.ndarray], plan: Mapping[str, Rule]
                 ) -> dict[str, npt.NDArray[np.int64]]:
    """The forward's integer columns and the advice columns the plan computes from them."""
    real = {name: np.asarray(v, dtype=np.int64) for name, v in trace.items()}
    for name, rule in plan.items():
        real[name] = np.asarray(rule(real), dtype=np.int64)
    return real


def segment_witness(circuit: Circuit, real: dict[str, np.ndarray], segment: int,
                    tables: Tables, strict: bool = True) -> dict[str, U64]:
    """The padded field tables of one segment's committed columns, in circuit order: its
    trace and advice columns, the lower limbs of its range checks and its range
    multiplicities. ``tables`` holds the earlier segments' committed tables; this segment's are
    added to it (the limbs and multiplicities read linear columns through it).

    Raises:
        ValueError: a value outside its range check (``strict``), or a column of another shape
            than the circuit's.
    """
    own = [n for n, _ in circuit.trace.items() if circuit.segments.get(n, 0) == segment]
    for name in own:
        if name in real:
            tables.base[name] = _field(pad(real[name], circuit.trace[name]))
    for r in circuit.ranges:
        if r.segment == segment:
            _lower_limbs(circuit, r, tables, strict)
    for w, limbs in circuit.range_widths(segment).items():
        tables.base[circuit.range_mult_name(w, segment)] = range_multiplicities(
            [tables[x] for x in limbs], w, strict=strict)
    return {name: tables.base[name] for name in own}


def _witness(circuit: Circuit, trace: dict[str, np.ndarray], plan: Mapping[str, Rule],
             strict: bool) -> dict[str, U64]:
    real = real_columns(circuit, trace, plan)
    tables = Tables(circuit)
    for s in range(circuit.num_segments):
        segment_witness(circuit, real, s, tables, strict)
    return {name: tables[name] for name in [*circuit.trace, *circuit.linear]}


def _lower_limbs(circuit: Circuit, r, tables: Tables, strict: bool) -> None:
    """The committed limbs (all but the top one) of ``u = scale col + offset Ind``, added to
    ``tables.base``."""
    col = circuit.col(r.col)
    real = np.zeros(col.padded_shape, dtype=np.int64)
    real[tuple(slice(0, s) for s in col.shape)] = 1
    v = r.scale * gl.decode_signed(tables[r.col]) + r.offset * real.reshape(-1)
    if strict and v.size and (v.min() < 0 or v.max() >= 1 << r.bits):
        raise ValueError(f"{r.col}: value outside its {r.bits}-bit range check")
    shift = 0
    for w, limb in zip(limb_widths(r.bits)[:-1], r.limbs[:-1]):
        tables.base[limb] = _field((v >> shift) & ((1 << w) - 1))
        shift += w


def linear_table(circuit: Circuit, lin: LinearCol, tables: dict[str, U64]) -> U64:
    """The table of a linear column from its terms' tables (views broadcast here)."""
    from zkinfer.protocol import _kernels as K
    from zkinfer.protocol.constraints import ONE

    acc = np.zeros(1 << lin.num_vars, dtype=np.uint64)
    for coeff, name in lin.terms:
        if name in circuit.views:
            view = circuit.views[name]
            t = view.table(tables[view.base], circuit.trace[view.base].bits)
        else:
            t = tables[name]
        # acc += coeff t (coefficients are reduced mod p; tables are canonical)
        K.base_axpy(acc, np.uint64(coeff), np.ascontiguousarray(gl.as_field(t, name)))
    for coeff, name in lin.publics:
        t = (np.ones(acc.shape[0], dtype=np.uint64) if name == ONE
             else circuit.publics[name].table(lin.num_vars))
        K.base_axpy(acc, np.uint64(coeff), np.ascontiguousarray(gl.as_field(t, name)))
    return acc
