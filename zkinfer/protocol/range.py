"""Range checks of the circuit's columns: limb widths and named claims over one tagged LogUp.

A column of declared width ``b`` (the check ``0 <= u < 2^b`` on ``u = scale col + offset``) is
split into limbs of 16 bits, least significant first, the last one ``b mod 16`` bits wide when
16 does not divide ``b`` (:func:`limb_widths`). Every limb but the top one is a committed
column; the top limb is a linear column, so the limbs recompose ``u`` by construction
(:meth:`zkinfer.protocol.circuit.Circuit.range` builds them). Each limb must
lie in the table ``[0, 2^w)`` of its width ``w <= 16``; with every limb in range,
``0 <= u < 2^b`` holds as integers since ``2^b < p``.

The limb columns of all widths, with one multiplicity column per width, are checked by one
tagged LogUp (:mod:`zkinfer.lookup.range`, which also documents the soundness). This module
gives the claims it returns the names of the committed columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.lookup.range import (
    MAX_TREE_VARS,
    TABLE_BITS,
    BlockClaim,
    RangeProof,
    prove_range_lookup,
    verify_range_lookup,
)
from zkinfer.protocol.claims import Claim
from zkinfer.transcript import Transcript

__all__ = ["LIMB_BITS", "ONE_CHALLENGE_MAX_LEAVES", "limb_widths", "leaves", "repetitions",
           "prove_ranges", "verify_ranges"]

LIMB_BITS = TABLE_BITS
"""Limb width: the widest range table, ``2^16`` rows."""

ONE_CHALLENGE_MAX_LEAVES = 1 << 26
"""A circuit whose range checks look up more leaves than this (limb entries and table rows, all
segments together) runs them at two challenges (:func:`repetitions`): at one, their error term
``leaves / p^2`` would exceed ``2^-102``, a quarter of a 100-bit budget. MiniLM at 128 tokens
has ``2^25.9`` leaves (one challenge); SmolLM2 over 95 positions ``2^29.3`` (two)."""


def leaves(sizes: Mapping[int, Sequence[int]]) -> int:
    """The range look-up's leaves for the columns' lengths per width: every limb entry and
    every table row (the LogUp's non-padding leaves, the ``L`` of its error term)."""
    return sum(int(n) for cols in sizes.values() for n in cols) + sum(1 << int(w) for w in sizes)


def repetitions(total_leaves: int) -> int:
    """The challenges the range checks of a circuit with ``total_leaves`` leaves (over all its
    segments: :func:`leaves`) run at: 1 up to :data:`ONE_CHALLENGE_MAX_LEAVES`, else 2, which
    makes their error term ``(L / p^2)^2`` (:mod:`zkinfer.lookup.range`, "Two challenges")."""
    return 1 if total_leaves <= ONE_CHALLENGE_MAX_LEAVES else 2


def limb_widths(bits: int) -> tuple[int, ...]:
    """Widths of the limbs of a ``bits``-wide value, least significant first.

    Raises:
        FieldRangeError: ``bits`` outside ``[1, 62]`` (wider values would not fit ``p / 2``).
    """
    if not 1 <= bits <= 62:
        raise FieldRangeError(f"range checks support widths 1..62 bits, got {bits}")
    full, rest = divmod(bits, LIMB_BITS)
    return (LIMB_BITS,) * full + ((rest,) if rest else ())


def _named(claims: Sequence[BlockClaim], counts: Mapping[int, int],
           names: Mapping[int, Sequence[str]] | None,
           mult_names: Mapping[int, str] | None) -> list[Claim]:
    """The block claims under the columns' names (default ``range{w}.col{k}``,
    ``range{w}.mult``)."""
    cols = {w: (list(names[w]) if names is not None else [f"range{w}.col{k}" for k in range(n)])
            for w, n in counts.items()}
    for w, n in counts.items():
        if len(cols[w]) != n:
            raise FieldRangeError(f"{w}-bit columns: {n} columns, {len(cols[w])} names")
    mults = {w: (mult_names[w] if mult_names is not None else f"range{w}.mult") for w in counts}
    return [Claim(mults[c.block.width] if c.block.column < 0 else cols[c.block.width][c.block.column],
                  c.point, c.value) for c in claims]


def prove_ranges(
    groups: Mapping[int, Sequence[npt.ArrayLike]],
    multiplicities: Mapping[int, npt.ArrayLike],
    transcript: Transcript,
    names: Mapping[int, Sequence[str]] | None = None,
    mult_names: Mapping[int, str] | None = None,
    *,
    max_tree_vars: int = MAX_TREE_VARS,
    repetitions: int = 1,
) -> tuple[RangeProof, list[Claim]]:
    """Prove every entry of every column of ``groups[w]`` lies in ``[0, 2^w)``, for all ``w``
    (:func:`zkinfer.lookup.range.prove_range_lookup`).

    Arguments:
        groups: per width ``w`` (1..16), its limb columns (committed by the caller).
        multiplicities: per width, from :func:`zkinfer.lookup.range.range_multiplicities`
            (committed by the caller).
        names, mult_names: the claims' names per width (default ``range{w}.col{k}``,
            ``range{w}.mult``).
        max_tree_vars: the tree size bound (the verifier must use the same).
        repetitions: the LogUp's challenges, 1 or 2 (:func:`repetitions`; the verifier must
            use the same).

    Returns:
        The proof and the claims, per width ascending: ``m_w(point)``, then one per column.

    Raises:
        FieldRangeError: a width outside 1..16, malformed columns or multiplicities, or names
            that do not match the columns.
    """
    counts = {w: len(cols) for w, cols in groups.items()}
    _named([], counts, names, mult_names)  # reject mismatched names before proving
    proof, claims = prove_range_lookup(groups, multiplicities, transcript,
                                       max_tree_vars=max_tree_vars, repetitions=repetitions)
    return proof, _named(claims, counts, names, mult_names)


def verify_ranges(
    sizes: Mapping[int, Sequence[int]],
    proof: RangeProof,
    transcript: Transcript,
    names: Mapping[int, Sequence[str]] | None = None,
    mult_names: Mapping[int, str] | None = None,
    check: str = "range",
    *,
    max_tree_vars: int = MAX_TREE_VARS,
    repetitions: int = 1,
) -> list[Claim]:
    """Verify (:func:`zkinfer.lookup.range.verify_range_lookup`); returns the claims
    ``m_w(point)``, then one per column, per width ascending (the same as
    :func:`prove_ranges`), which the caller must prove.

    Arguments:
        sizes: per width, the columns' lengths (powers of two), from the statement.

    Raises:
        VerificationError: see :func:`zkinfer.lookup.range.verify_range_lookup`.
    """
    counts = {w: len(s) for w, s in sizes.items()}
    _named([], counts, names, mult_names)
    claims = verify_range_lookup(sizes, proof, transcript, check, max_tree_vars=max_tree_vars,
                                 repetitions=repetitions)
    return _named(claims, counts, names, mult_names)
