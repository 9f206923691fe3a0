"""Range checks of many committed columns by one LogUp per limb width.

A column of declared width ``b`` (signed: ``[-2^(b-1), 2^(b-1))``, unsigned: ``[0, 2^b)``) is
shifted to ``u = v + 2^(b-1)`` (signed) or ``u = v`` and split into limbs of 16 bits, least
significant first, the last limb ``b mod 16`` bits wide (:func:`limb_widths`). Each limb column
is committed and looked up in the table ``[0, 2^w)`` of its width ``w <= 16``; the recomposition
``u = sum_k 2^(16 k) limb_k`` is linear, so it is checked on evaluation claims at one random
point (:func:`recompose`). With every limb in range, ``0 <= u < 2^b`` holds as integers since
``2^b < p``.

All columns checked against one table share one LogUp: they are concatenated (each a power of
two long, largest first, at aligned offsets, zero padded: :class:`zkinfer.commit.base.Layout`)
into one looked-up vector ``F``. The LogUp ends with a claim ``F(r)``; the prover sends each
column's value at the low bits of ``r`` and the verifier checks
``F(r) = sum_k eq(prefix_k, r_high) col_k(r_low)``, returning one claim per column. The padding
zeros are looked-up values too and are counted in the multiplicities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.commit.base import Layout
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.lookup.logup import LookupProof, prove_lookup, range_table_eval, verify_lookup
from zkinfer.poly.multilinear import eq_eval
from zkinfer.protocol.claims import Claim
from zkinfer.transcript import Transcript

__all__ = [
    "LIMB_BITS",
    "limb_widths",
    "split_limbs",
    "recompose",
    "range_multiplicities",
    "RangeProof",
    "prove_ranges",
    "verify_ranges",
]

U64 = npt.NDArray[np.uint64]
LIMB_BITS = 16
"""Widest range table: ``2^16`` rows."""

_LABEL_COLUMN_EVALS = b"range/column-evals"


def limb_widths(bits: int) -> tuple[int, ...]:
    """Widths of the limbs of a ``bits``-wide value, least significant first.

    Raises:
        FieldRangeError: ``bits`` outside ``[1, 62]`` (wider values would not fit ``p / 2``).
    """
    if not 1 <= bits <= 62:
        raise FieldRangeError(f"range checks support widths 1..62 bits, got {bits}")
    full, rest = divmod(bits, LIMB_BITS)
    return (LIMB_BITS,) * full + ((rest,) if rest else ())


def split_limbs(values: npt.ArrayLike, bits: int, signed: bool) -> list[npt.NDArray[np.int64]]:
    """The limbs of ``u = v + 2^(bits-1)`` (signed) or ``u = v``, least significant first.

    Raises:
        FieldRangeError: a value outside the declared range (the prover's own sanity check).
    """
    v = np.asarray(values, dtype=np.int64)
    u = v + (1 << (bits - 1)) if signed else v
    if u.size and (int(u.min()) < 0 or int(u.max()) >= 1 << bits):
        kind = "signed" if signed else "unsigned"
        raise FieldRangeError(f"value outside its declared {bits}-bit {kind} range")
    out = []
    shift = 0
    for w in limb_widths(bits):
        out.append((u >> shift) & ((1 << w) - 1))
        shift += w
    return out


def recompose(limb_values: npt.ArrayLike, bits: int, signed: bool) -> U64:
    """``sum_k 2^(16 k) limb_k - offset`` on extension values (e.g. claims at one point):
    equals ``v(r)`` exactly when the limbs recompose ``v``."""
    vals = ext.as_ext(limb_values, "limb values")
    widths = limb_widths(bits)
    if vals.shape[0] != len(widths):
        raise FieldRangeError(f"{bits}-bit values have {len(widths)} limbs, got {vals.shape[0]}")
    weights = ext.from_base(np.array([1 << (LIMB_BITS * k) for k in range(len(widths))],
                                     dtype=np.uint64))
    total = ext.sum(ext.mul(vals, weights), axis=0)
    if signed:
        total = ext.sub(total, ext.from_base(np.uint64(1 << (bits - 1))))
    return total


def range_multiplicities(columns: Sequence[npt.ArrayLike], width: int) -> U64:
    """Multiplicities of the table ``[0, 2^width)`` for the concatenated ``columns`` (including
    the layout's zero padding).

    Raises:
        FieldRangeError: a value outside ``[0, 2^width)``.
    """
    layout, tables = Layout.of(columns)
    f = layout.concatenate(tables)
    if f.size and int(f.max()) >= 1 << width:
        raise FieldRangeError(f"value {int(f.max())} outside [0, 2^{width})")
    return np.bincount(f.astype(np.int64), minlength=1 << width).astype(np.uint64)


@dataclass(frozen=True, eq=False)
class RangeProof:
    """The LogUp proof and each column's value at the low bits of the look-up point."""

    lookup: LookupProof
    column_evals: U64  # (num_columns, 2)


def _split_point(layout: Layout, k: int, r: U64) -> tuple[U64, U64]:
    """``(prefix point of column k as 0/1 coordinates, r_high, r_low)`` -> weight and low point."""
    n_k = layout.num_vars[k]
    high = r[: layout.total_vars - n_k]
    prefix = layout.global_point(k, np.zeros((n_k, 2), dtype=np.uint64))[: len(high)]
    return eq_eval(prefix, high), np.ascontiguousarray(r[len(high):])


def prove_ranges(
    columns: Sequence[npt.ArrayLike],
    width: int,
    multiplicities: npt.ArrayLike,
    transcript: Transcript,
    names: Sequence[str] | None = None,
) -> tuple[RangeProof, list[Claim]]:
    """Prove every entry of every column lies in ``[0, 2^width)``.

    Arguments:
        columns: limb columns as field elements, each of power-of-two length.
        width: table width in bits (``<= 16``).
        multiplicities: from :func:`range_multiplicities` (committed before this call).
        names: claim names of the columns (default ``col0``, ``col1``, ...).

    Returns:
        The proof and the claims ``[m(r_t), col_0(r_0), col_1(r_1), ...]`` to prove by openings.
    """
    from zkinfer.poly import fast

    if not 1 <= width <= LIMB_BITS:
        raise FieldRangeError(f"range tables are 1..{LIMB_BITS} bits wide")
    layout, tables = Layout.of(columns)
    f = layout.concatenate(tables)
    t = np.arange(1 << width, dtype=np.uint64)
    proof, lk = prove_lookup(f, t, multiplicities, transcript)
    evals, claims = [], [Claim("multiplicities", lk.t_point, lk.m_value)]
    names = list(names) if names is not None else [f"col{k}" for k in range(len(tables))]
    for k, table in enumerate(tables):
        _, low = _split_point(layout, k, lk.f_point)
        value = fast.evaluate(table, low)
        evals.append(value)
        claims.append(Claim(names[k], low, value))
    column_evals = np.stack(evals)
    transcript.append_ext(_LABEL_COLUMN_EVALS, column_evals)
    return RangeProof(proof, column_evals), claims


def verify_ranges(
    sizes: Sequence[int],
    width: int,
    proof: RangeProof,
    transcript: Transcript,
    names: Sequence[str] | None = None,
    check: str = "range",
) -> list[Claim]:
    """Verify; returns the claims ``[m(r_t), col_0(r_0), ...]`` the caller must prove.

    Arguments:
        sizes: the columns' lengths (powers of two), from the statement.

    Raises:
        VerificationError: the look-up fails, the table evaluation is wrong, or the column values
            do not recompose the look-up claim.
    """
    layout = Layout(tuple(int(s).bit_length() - 1 for s in sizes))
    lk = verify_lookup(layout.size, 1 << width, proof.lookup, transcript, check=check)
    # the table [0, 2^width) is public: t(r) = sum_k 2^(n-k) r_k
    if not np.array_equal(range_table_eval(lk.t_point), lk.t_value):
        raise VerificationError(check, "range table evaluation is wrong")
    evals = ext.as_ext(proof.column_evals, "column evaluations")
    if evals.shape != (len(sizes), 2):
        raise VerificationError(check, "one value per column expected", expected=len(sizes),
                                got=evals.shape[0])
    names = list(names) if names is not None else [f"col{k}" for k in range(len(sizes))]
    total = ext.zeros(())
    claims = [Claim("multiplicities", lk.t_point, lk.m_value)]
    for k in range(len(sizes)):
        weight, low = _split_point(layout, k, lk.f_point)
        # F(r) = sum_k eq(prefix_k, r_high) col_k(r_low)
        total = ext.add(total, ext.mul(weight, evals[k]))
        claims.append(Claim(names[k], low, evals[k]))
    if not np.array_equal(total, lk.f_value):
        raise VerificationError(check, "column values do not recompose the looked-up vector",
                                expected=tuple(map(int, lk.f_value)), got=tuple(map(int, total)))
    transcript.append_ext(_LABEL_COLUMN_EVALS, evals)
    return claims


