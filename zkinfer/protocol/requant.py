"""Requantization ``out = clamp((pre + 2^(s-1)) >> s, lo, hi)`` as identities over ranges.

``pre`` is a sum of products of columns (e.g. ``acc m``, the accumulator times its public
multiplier). The columns, named after a prefix:

==========  ===================================================================
``q``       the rounded quotient
``rem``     the remainder, ``0 <= rem < 2^s`` (range-checked by the caller)
``out``     the clamped output, ``lo <= out <= hi`` (range-checked by the caller)
``below``   ``max(lo - q, 0)`` (range-checked ``>= 0`` by the caller)
``above``   ``max(q - hi, 0)`` (range-checked ``>= 0`` by the caller)
==========  ===================================================================

Identities (each on the whole padded tensor), from :func:`rounding_and_clamp`:

1. ``pre + 2^(s-1) - q 2^s - rem = 0``
2. ``out - q - below + above = 0``
3. ``below (out - lo) = 0`` (below > 0 only when the output sits at ``lo``)
4. ``above (hi - out) = 0``

Why this is exact: ranges make ``out``, ``below``, ``above`` small integers, so (2) makes ``q``
one too, and (1) then holds over the integers with ``0 <= rem < 2^s``: ``q`` is the floor. If
``lo <= q <= hi``, a positive ``below`` forces ``out = lo`` and then ``above > 0`` and
``out = hi``, impossible; so both are 0 and ``out = q``. If ``q < lo``, ``below = 0`` would give
``out <= q < lo``; so ``out = lo``, ``above = 0`` and ``below = lo - q``. Symmetrically above.

Field bound: ``|pre| + 2^s < p / 2`` must hold, or the identities need not hold over the
integers (:mod:`zkinfer.protocol.bounds` checks every identity of the circuit).
"""

from __future__ import annotations

from zkinfer.protocol.constraints import Identity

__all__ = ["rounding_and_clamp"]


def rounding_and_clamp(prefix: str, pre_terms, shift: int, lo: int, hi: int,
                       gate: str | None = None) -> list[Identity]:
    """The four identities of the module docstring for ``pre = sum(pre_terms)``.

    Arguments:
        prefix: the columns are ``prefix.q``, ``.rem``, ``.out``, ``.below``, ``.above``.
        pre_terms: ``(coeff, [factor names])`` terms of ``pre`` (e.g. ``acc m`` and ``res res_m``).
        shift, lo, hi: the requantization.
        gate: a public indicator multiplying the constant ``2^(s-1)`` (so that the identities
            also hold on zero padding), or ``None``.
    """
    q, rem, out, below, above = (f"{prefix}.{c}" for c in ("q", "rem", "out", "below", "above"))
    return [
        # pre + 2^(s-1) - q 2^s - rem = 0
        Identity.of(f"{prefix} rounding", *pre_terms, (1 << (shift - 1), [gate] if gate else []),
                    (-(1 << shift), [q]), (-1, [rem])),
        # out - q - below + above = 0
        Identity.of(f"{prefix} clamp", (1, [out]), (-1, [q]), (-1, [below]), (1, [above])),
        # below (out - lo) = 0
        Identity.of(f"{prefix} clamp low", (1, [below, out]), (-lo, [below])),
        # above (hi - out) = 0
        Identity.of(f"{prefix} clamp high", (hi, [above]), (-1, [above, out])),
    ]
