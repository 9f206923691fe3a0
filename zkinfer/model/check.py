"""A debug checker: evaluate the circuit's own relations and identities on a trace.

:func:`check_trace` builds the circuit the proof would use for the trace
(:func:`zkinfer.protocol.model_circuit.build_circuit`, with the trace's output as the public
output) and the prover's witness from the trace, then checks, in the circuit's order:

1. every relation (matrix products, embedding rows, table look-ups, column sums, attention
   contractions) on the integer values of its columns;
2. every identity (:func:`zkinfer.protocol.constraints.debug_check`: each entry, in the field);
3. every range check (the declared widths and the extra bounds the gadgets add).

It names the first relation, identity or range check that fails, so a proof author can see
which one a tampered or buggy trace breaks; it is independent of how the trace was produced
(reference or Numba). The trace's multiplicity columns (``.mult``, ``.exp_mult``), from which
the prover derives the committed look-up multiplicities (``.lookup_mult``, with the padded
entries added), are first compared with the op's reference semantics.
"""

from __future__ import annotations

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.field import goldilocks as gl
from zkinfer.model.intmodel import IntModel, column_specs, ops
from zkinfer.model.ops import home
from zkinfer.model.trace import Trace

__all__ = ["check_trace"]


def _violated(what: str) -> ModelError:
    return ModelError(f"trace identity violated: {what}")


def check_trace(model: IntModel, ids: np.ndarray, trace: Trace) -> None:
    """Check every relation, identity and range check of the circuit on ``trace``.

    Arguments:
        model: the model the trace claims to come from.
        ids: the input token ids.
        trace: the trace.

    Raises:
        ModelError: the first violated declared width, relation, identity or range check,
            named (the identity's name, the relation's columns, the range-checked column).
    """
    from zkinfer.protocol.model_circuit import build_circuit, weight_matrices, witness_plan
    from zkinfer.protocol.witness import _unchecked_witness

    ids = np.asarray(ids, dtype=np.int64)
    n = ids.shape[0]
    if list(column_specs(model, n)) != list(trace.specs):
        raise ModelError("trace columns do not match the model's column list")
    trace.check()
    _check_multiplicities(model, ids, trace)
    circuit = build_circuit(model, n, trace.output)
    try:
        tables = _unchecked_witness(circuit, dict(trace), witness_plan(model, n))
    except (ValueError, IndexError) as exc:
        raise _violated(f"advice columns cannot be computed from the trace ({exc})") from None
    ints = {name: gl.decode_signed(t).reshape(circuit.col(name).padded_shape)
            for name, t in tables.items()}
    weights = {}
    for name, w in weight_matrices(model).items():
        col = circuit.weights[name]
        weights[name] = np.zeros(col.padded_shape, dtype=np.int64)
        weights[name][tuple(slice(0, s) for s in col.shape)] = w
    for rel in circuit.relations:
        _check_relation(circuit, rel, {**ints, **weights}, ids)
    _check_identities(circuit, tables)
    _check_ranges(circuit, tables)


def _check_multiplicities(model: IntModel, ids: np.ndarray, trace: Trace) -> None:
    """The trace-only multiplicity columns against their op's reference semantics."""
    for op in ops(model):
        rows = home(op).columns(op, model, ids.shape[0], model.widths, model.widths)
        names = [r[0] for r in rows if r[2] == "multiplicity"]
        if names:
            want = home(op).reference(op, model, ids, trace)
            for name in names:
                if not np.array_equal(trace[name], want[name]):
                    raise _violated(f"{name} == counts of the looked-up rows")


def _check_relation(circuit, rel, v: dict[str, np.ndarray], ids: np.ndarray) -> None:
    """One relation of the circuit on padded integer tensors ``v``."""
    from zkinfer.protocol.circuit import AxisSumRel, ContractRel, MatmulRel, OneHotRel, TableRel

    out = v[rel.out]
    if isinstance(rel, MatmulRel):
        want = v[rel.left] @ v[rel.right]
        if rel.bias is not None:
            rows = circuit.col(rel.out).shape[0]
            want[:rows] += gl.decode_signed(circuit.vectors[rel.bias])[None, : want.shape[1]]
        ok, what = np.array_equal(out, want), f"{rel.out} == {rel.left} @ {rel.right} + b"
    elif isinstance(rel, OneHotRel):
        rows = ids if rel.ids_name == "input" else np.arange(ids.shape[0])
        want = np.zeros_like(out)
        want[: rows.shape[0]] = v[rel.table][rows]
        ok, what = np.array_equal(out, want), f"{rel.out} == {rel.table}[{rel.ids_name}]"
    elif isinstance(rel, TableRel):
        col = circuit.col(rel.src)
        real = tuple(slice(0, s) for s in col.shape)
        table = gl.decode_signed(circuit.tables[rel.table])
        idx = v[rel.src][real] + rel.offset
        ok = bool(np.all((idx >= 0) & (idx < table.shape[0])))
        ok = ok and np.array_equal(v[rel.out][real], table[np.clip(idx, 0, table.shape[0] - 1)])
        what = f"{rel.out} == {rel.table}[{rel.src} + {rel.offset}]"
    elif isinstance(rel, AxisSumRel):
        ok = np.array_equal(out, v[rel.src].sum(axis=rel.axis))
        what = f"{rel.out} == sum of {rel.src} over axis {rel.axis}"
    elif isinstance(rel, ContractRel):
        bits = dict(rel.bits)
        labels = {lab: chr(ord("a") + k) for k, lab in enumerate(bits)}

        def split(name, axes):
            return v[name].reshape(tuple(1 << bits[lab] for lab in axes)), "".join(
                labels[lab] for lab in axes)

        (a, sa), (b, sb), (o, so) = (split(rel.a, rel.a_axes), split(rel.b, rel.b_axes),
                                     split(rel.out, rel.out_axes))
        ok = np.array_equal(o, np.einsum(f"{sa},{sb}->{so}", a, b))
        what = f"{rel.out} == contraction of {rel.a} and {rel.b} over {rel.y}"
    else:  # pragma: no cover - build_circuit adds only the relations above
        raise ModelError(f"unknown relation {rel!r}")
    if not ok:
        raise _violated(what)


def _check_identities(circuit, tables: dict[str, np.ndarray]) -> None:
    """Every identity of the circuit, entry by entry, in the field."""
    from zkinfer.protocol.constraints import debug_check

    columns = dict(tables)
    for name, view in circuit.views.items():
        columns[name] = view.table(tables[view.base], circuit.trace[view.base].bits)
    for num_vars, idents in sorted(circuit.identities.items()):
        failures = debug_check(idents, columns, circuit.publics, num_vars)
        if failures:
            name, index = failures[0]
            raise _violated(f"{name} (first failing entry {index})")


def _check_ranges(circuit, tables: dict[str, np.ndarray]) -> None:
    """Every range check ``0 <= scale col + offset Ind < 2^bits`` of the circuit."""
    for r in circuit.ranges:
        col = circuit.col(r.col)
        ind = (np.ones(1 << col.num_vars, dtype=np.uint64) if col.shape == col.padded_shape
               else circuit.publics[col.indicator].table(col.num_vars))
        u = gl.add(gl.mul(tables[r.col], np.uint64(r.scale % gl.P)),
                   gl.mul(ind, np.uint64(r.offset % gl.P)))
        if np.any(u >= np.uint64(1 << r.bits)):
            raise _violated(f"range check of {r.col}: 0 <= {r.scale} * {r.col} + {r.offset} "
                            f"< 2^{r.bits}")
