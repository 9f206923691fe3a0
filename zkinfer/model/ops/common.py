"""What every op module shares: width arithmetic, parameter checks and look-up multiplicities.

Widths are ``(bits, signed)``: signed ``b`` bits is ``[-2^(b-1), 2^(b-1))``, unsigned ``b`` bits
is ``[0, 2^b)``. A column row, as the op modules declare them, is
``(name, shape, kind, (bits, signed), doc)`` (kinds: :data:`zkinfer.model.trace.KINDS`).
"""

from __future__ import annotations

import math

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.field import goldilocks as gl
from zkinfer.protocol.circuit import TableRel, padded_bits

__all__ = [
    "MAX_TABLE_ROWS",
    "MAX_BITS",
    "signed_bits",
    "unsigned_bits",
    "amax",
    "abs_int",
    "check_type",
    "check_int",
    "check_int_array",
    "check_table",
    "check_fields",
    "lookup_multiplicities",
    "table_lookup",
    "OpHome",
]

#: Model tables (activation, softmax exp) have at most this many rows.
MAX_TABLE_ROWS = 1 << 16
#: No declared width may exceed this, so every int64 intermediate stays far from overflow.
MAX_BITS = 62


def signed_bits(lo: int, hi: int) -> int:
    """Smallest ``b >= 1`` with ``-2^(b-1) <= lo`` and ``hi < 2^(b-1)``."""
    b = 1
    while lo < -(1 << (b - 1)) or hi >= (1 << (b - 1)):
        b += 1
    return b


def unsigned_bits(hi: int) -> int:
    """Smallest ``b >= 1`` with ``hi < 2^b`` (for ``hi >= 0``)."""
    return max(1, int(hi).bit_length())


def amax(width: tuple[int, bool]) -> int:
    """Largest ``|v|`` a column of this width can hold."""
    bits, signed = width
    return 1 << (bits - 1) if signed else (1 << bits) - 1


def abs_int(a: np.ndarray) -> list[int]:
    """``|a|`` as Python ints (exact products follow; the entries are validated to <= 48 bits)."""
    return np.abs(np.asarray(a, dtype=np.int64)).tolist()


def max_abs(a: np.ndarray) -> int:
    """``max |a|`` as a Python int, ``0`` for no entries (exact in int64: the entries are
    validated to <= 48 bits)."""
    return int(np.abs(np.asarray(a, dtype=np.int64)).max(initial=0))


def check_type(name: str, value: object, cls: type) -> None:
    """``value`` must be an instance of ``cls`` (checked before any of its fields is read)."""
    if not isinstance(value, cls):
        raise ModelError(f"{name}: expected {cls.__name__}, got {type(value).__name__}")


def check_int(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` must be an integer (not a bool, float or string) in ``[lo, hi]``; returns it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ModelError(f"{name}: expected an int, got {type(value).__name__}")
    if not lo <= int(value) <= hi:
        raise ModelError(f"{name} = {int(value)} outside [{lo}, {hi}]")
    return int(value)


def check_int_array(name: str, a: object, shape: tuple[int, ...], bits: int | None = None):
    """``a`` must be an int64 array of ``shape`` whose values fit ``bits`` signed bits."""
    if not isinstance(a, np.ndarray) or a.dtype != np.int64:
        raise ModelError(f"{name}: expected an int64 array")
    if a.shape != shape:
        raise ModelError(f"{name}: shape {a.shape}, expected {shape}")
    if bits is not None and a.size:
        # an array with all strides zero (a verifying key's shape-only weight placeholder)
        # repeats one value: check that value, never iterate over the array
        values = a[(0,) * a.ndim] if a.ndim and not any(a.strides) else a
        if values.min() < -(1 << (bits - 1)) or values.max() >= 1 << (bits - 1):
            raise ModelError(f"{name}: values outside {bits}-bit signed range")


def check_table(name: str, t: object, max_rows: int) -> int:
    """``t`` must be a 1-D int64 array of ``2..max_rows`` rows; returns its length."""
    if not (isinstance(t, np.ndarray) and t.dtype == np.int64 and t.ndim == 1):
        raise ModelError(f"{name}: expected a 1-D int64 array")
    if not 2 <= t.shape[0] <= max_rows:
        raise ModelError(f"{name}: {t.shape[0]} rows outside [2, {max_rows}]")
    return t.shape[0]


def check_fields(name: str, value: object, cls: type,
                 arrays: dict[str, tuple[tuple[int, ...], int]] | None = None,
                 ints: dict[str, tuple[int, int]] | None = None) -> dict[str, int]:
    """The prelude of an op parameter's checks: ``value`` must be a ``cls``, each field of
    ``arrays`` (``field -> (shape, bits)``) an int64 array of that shape whose values fit
    ``bits`` signed bits, each field of ``ints`` (``field -> (lo, hi)``) an int in
    ``[lo, hi]``; checked in that order, named ``name.field``. Returns the ints by field."""
    check_type(name, value, cls)
    for field, (shape, bits) in (arrays or {}).items():
        check_int_array(f"{name}.{field}", getattr(value, field), shape, bits)
    return {field: check_int(f"{name}.{field}", getattr(value, field), lo, hi)
            for field, (lo, hi) in (ints or {}).items()}


def lookup_multiplicities(mult: np.ndarray, shape: tuple[int, ...], offset: int) -> np.ndarray:
    """The committed multiplicity column of a table look-up, from the forward's counts.

    Arguments:
        mult: the forward's multiplicity column (``.mult``, ``.exp_mult``): how often the real
            entries of the looked-up column look up each row of the model's table.
        shape: the real shape of the looked-up column; its padding (to a power of two per
            axis) is zero, so each padded entry looks up row ``offset``.
        offset: the look-up's offset (the row of the value ``0``).

    Returns:
        One count per row of the circuit's table (the model's, padded with zero rows to a power
        of two): ``mult``, zero-extended, plus the padded entries at row ``offset``.
    """
    out = np.zeros(1 << padded_bits(np.shape(mult))[0], dtype=np.int64)
    out[: len(mult)] = mult
    out[offset] += math.prod(1 << b for b in padded_bits(shape)) - math.prod(shape)
    return out


def table_lookup(c, name: str, table: np.ndarray, src: str, out: str, offset: int) -> None:
    """Register the pair look-up ``(src + offset, out)`` in the public table ``(j, table[j])``
    (padded with zero rows to a power of two, named ``name``) with its committed multiplicity
    column ``{name}.lookup_mult`` (advice: :func:`lookup_multiplicities`)."""
    t = np.zeros(1 << padded_bits((len(table),))[0], dtype=np.uint64)
    t[: len(table)] = gl.encode_signed(np.asarray(table, dtype=np.int64))
    c.tables[name] = t
    mult = f"{name}.lookup_mult"
    c.add_trace(mult, (t.shape[0],), None, padded_zero=False)
    c.add_relation(TableRel(name, src, out, name, offset, mult))


class OpHome:
    """One op kind's home: its columns and widths, semantics, kernel call and circuit gadget.

    Each op module defines one subclass instance ``HOME`` (registered in
    :data:`zkinfer.model.ops.HOMES` under its op class). Methods receive the op (its name, the
    columns it reads, its parameters) and the model (for the architecture):

    - :meth:`columns`: the op's trace column rows ``(name, shape, kind, width, doc)`` for ``n``
      tokens, ``width`` the worst case at ``n = max_seq_len`` given the widths of its inputs;
      the widths that depend on weight values are measured on the weights when
      ``weight_widths`` is ``None`` (setup) and read from it otherwise (a verifying key).
    - :meth:`weight_width_names` / :meth:`weight_width_bounds`: those weight-dependent widths
      and the bounds the public quantization settings put on them.
    - :meth:`weights`: the committed weight matrices the op reads, by circuit name.
    - :meth:`reference`: the integer semantics in numpy (the spec), returning the op's columns.
    - :meth:`kernel`: the same with the Numba kernels of :mod:`zkinfer.model._kernels`, writing
      into preallocated columns.
    - :meth:`gadget`: what prover and verifier share: the op's committed columns, relations,
      identities and range checks in the circuit.
    - :meth:`advice`: the prover's witness plan: rules computing the gadget's advice columns
      from the trace (the verifier never builds them).
    """

    op: type

    def columns(self, op, model, n: int, widths, weight_widths) -> list:
        raise NotImplementedError

    def weight_width_names(self, op) -> list[str]:
        return []

    def weight_width_bounds(self, op, model, widths) -> dict[str, int]:
        return {}

    def weights(self, op, model) -> dict[str, np.ndarray]:
        return {}

    def reference(self, op, model, ids: np.ndarray, cols) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def kernel(self, op, model, ids: np.ndarray, cols) -> None:
        raise NotImplementedError

    def gadget(self, c, op, model, n: int, output: np.ndarray) -> None:
        raise NotImplementedError

    def advice(self, op, model, n: int) -> dict:
        return {}
