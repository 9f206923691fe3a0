"""Numba-backed multilinear operations for the prover.

Same names and contracts as :mod:`zkinfer.poly.multilinear` (the numpy twin, which the verifier
uses); the tests check the two agree. Importing this module imports numba.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import _kernels as K
from zkinfer.poly.multilinear import num_vars

__all__ = ["eq_table", "fold", "evaluate"]

U64 = npt.NDArray[np.uint64]


def eq_table(r: npt.ArrayLike) -> U64:
    """``eq(r, x)`` for all ``x``: shape ``(2^n, 2)`` for an extension point ``(n, 2)``, or
    ``(2^n,)`` for a base point ``(n,)``."""
    point = np.ascontiguousarray(gl.as_field(r, "r"))
    if point.ndim == 1:
        out = np.empty(1 << point.shape[0], dtype=np.uint64)
        K.eq_table_base(point, out)
        return out
    point = ext.as_ext(point, "r")
    out = np.empty((1 << point.shape[0], 2), dtype=np.uint64)
    K.eq_table(point, out)
    return out


def fold(v: npt.ArrayLike, r: npt.ArrayLike) -> U64:
    """Bind the first variable of a base ``(N,)`` or extension ``(N, 2)`` table to ``r``."""
    table = np.ascontiguousarray(gl.as_field(v, "v"))
    rr = ext.as_ext(r, "r")
    if table.shape[0] < 2:
        raise FieldRangeError("fold: a table of length 1 has no variable left")
    num_vars(table.shape[0])
    out = np.empty((table.shape[0] // 2, 2), dtype=np.uint64)
    if table.ndim == 1:
        K.fold_base(table, rr[0], rr[1], out)
    else:
        K.fold_ext(ext.as_ext(table, "v"), rr[0], rr[1], out)
    return out


def evaluate(v: npt.ArrayLike, r: npt.ArrayLike) -> U64:
    """``f(r)`` for a base or extension table; returns shape ``(2,)``."""
    table = np.ascontiguousarray(gl.as_field(v, "v"))
    point = ext.as_ext(r, "r")
    if table.shape[0] != 1 << point.shape[0]:
        raise FieldRangeError(
            f"evaluate: table of length {table.shape[0]} at a point with {point.shape[0]} variables"
        )
    eq = eq_table(point)
    if table.ndim == 1:
        s = K.inner_ext_base(eq, table)
    else:
        s = K.inner_ext_ext(eq, ext.as_ext(table, "v"))
    return np.array(s, dtype=np.uint64)
