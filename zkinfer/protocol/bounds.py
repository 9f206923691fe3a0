"""Integer bounds of every circuit column, and the field bound of every identity.

An identity ``sum_t c_t prod_f f(x) = 0`` is proven in ``F_p``. It states the integer identity
only when its integer value cannot wrap around: if every factor ``f`` is an integer with
``|f| <= B_f`` (its centred representative) and ``sum_t |c_t| prod_f B_f < p / 2``, the field
identity implies the integer one. This module computes ``B_f`` for every column from what the
circuit itself proves, never from what a key declares, and refuses a circuit in which some
identity can reach ``p / 2`` (both sides build the circuit, so the prover cannot make such a
proof and the verifier rejects such a key).

Where a column's range comes from (intervals ``[lo, hi]`` of integers), in this order:

1. public columns: the entries of every public vector (multipliers, biases, the output) as
   recorded when the circuit registered them (:attr:`Circuit.public_bounds`), indicators
   ``[0, 1]``, the constant ``1``;
2. range checks: ``0 <= scale col + offset Ind < 2^bits`` with ``scale = +-1`` gives ``col`` an
   interval (on the padding ``Ind = 0``: there a committed column is proven zero, and a linear
   one only has ``scale col`` in ``[0, 2^bits)``, so the hull with that is taken); every
   committed limb lies in ``[0, 2^w)`` (it is looked up in the table of width ``w``). Several
   checks on one column intersect;
3. linear columns (``sum_k a_k col_k + sum_j b_j P_j``, ``a_k`` centred) and views (the range of
   their base);
4. relations whose output is an exact integer function of bounded inputs: a column sum over an
   axis of padded size ``2^b`` (``2^b`` times the range of the summand) and a contraction over
   ``2^b`` terms (``2^b`` times the range of the product); their bound must itself stay below
   ``p / 2``, or the field sum need not be the integer sum;
5. definitions: an identity ``+-X + E = 0`` in which ``X`` occurs once, alone and with
   coefficient ``+-1``, and every factor of ``E`` is already bounded, with
   ``|E| < p / 2``: then ``X`` is the integer ``-+E`` (a product or sum the circuit defines);
6. booleans: ``X X - X = 0`` makes ``X`` 0 or 1 (``F_p`` has no zero divisors).

Steps 3-6 repeat until nothing changes. Matrix products with a weight matrix give no bound (the
weights are committed by the model owner, not range-checked); their outputs are range-checked.

An identity may carry an ``integer_argument`` (:class:`~zkinfer.protocol.constraints.Identity`)
when its integer meaning follows from other identities instead (the LayerNorm limbs of
``rsqrt^2``); it is skipped, and :func:`identity_bounds` reports the argument beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zkinfer.errors import UnsupportedOpError
from zkinfer.field import goldilocks as gl
from zkinfer.protocol.axis_sum import AxisSumRel
from zkinfer.protocol.circuit import Circuit
from zkinfer.protocol.constraints import Identity
from zkinfer.protocol.contract import ContractRel
from zkinfer.protocol.range import limb_widths

__all__ = [
    "HALF_P",
    "FieldBoundError",
    "IdentityBound",
    "column_bounds",
    "identity_bounds",
    "check_field_bounds",
]

#: ``(p - 1) / 2``: the largest magnitude a centred field element represents.
HALF_P = (gl.P - 1) // 2

Interval = tuple[int, int]


class FieldBoundError(UnsupportedOpError):
    """An identity or relation of the circuit can reach ``p / 2``: it would not imply the
    integer statement."""


@dataclass(frozen=True)
class IdentityBound:
    """The field bound of one identity.

    Attributes:
        name: the identity's name.
        num_vars: the cube it holds on.
        bound: ``sum_t |c_t| prod_f max|f|`` (``None`` for an identity with an integer argument).
        argument: the integer argument that replaces the bound, or ``""``.
    """

    name: str
    num_vars: int
    bound: int | None
    argument: str = ""


def _centred(c: int) -> int:
    c %= gl.P
    return c - gl.P if c > HALF_P else c


def _mag(iv: Interval) -> int:
    return max(abs(iv[0]), abs(iv[1]))


def _scale(iv: Interval, c: int) -> Interval:
    a, b = c * iv[0], c * iv[1]
    return (min(a, b), max(a, b))


def _mul(x: Interval, y: Interval) -> Interval:
    ends = (x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1])
    return (min(ends), max(ends))


def _add(x: Interval, y: Interval) -> Interval:
    return (x[0] + y[0], x[1] + y[1])


def _intersect(known: dict[str, Interval], name: str, iv: Interval) -> None:
    if name in known:
        old = known[name]
        iv = (max(old[0], iv[0]), min(old[1], iv[1]))
    known[name] = iv


def _range_interval(bits: int, scale: int, offset: int, padding: Interval | None) -> Interval | None:
    """``col`` for ``0 <= scale col + offset < 2^bits`` on the real entries, hulled with
    ``padding``, the range of the padded entries where the offset is gated off (``None``: no
    padding)."""
    top = (1 << bits) - 1
    if scale not in (1, -1):
        return None
    lo, hi = (-offset, top - offset) if scale == 1 else (offset - top, offset)
    if padding is not None:
        lo, hi = min(lo, padding[0]), max(hi, padding[1])
    return (lo, hi)


def _padding_range(circuit: Circuit, name: str, bits: int, scale: int) -> Interval | None:
    """The padded entries of a range-checked column: none, zero (a committed column whose
    padding is proven zero), or ``scale col`` in ``[0, 2^bits)`` (a linear column, whose padding
    a view may fill)."""
    col = circuit.col(name)
    if col.shape == col.padded_shape:
        return None
    if name in circuit.trace and col.padded_zero:
        return (0, 0)
    top = (1 << bits) - 1
    return (0, top) if scale == 1 else (-top, 0)


def _term(known: dict[str, Interval], factors: Iterable[str]) -> Interval | None:
    iv: Interval = (1, 1)
    for f in factors:
        if f not in known:
            return None
        iv = _mul(iv, known[f])
    return iv


def _definition(ident: Identity, known: dict[str, Interval]) -> tuple[str, Interval] | None:
    """``(X, range)`` if ``ident`` defines an unbounded ``X`` from bounded columns (rules 5, 6)."""
    terms = ident.terms
    if (len(terms) == 2 and sorted((t.coeff, len(t.factors)) for t in terms) == [(-1, 1), (1, 2)]):
        sq = next(t for t in terms if len(t.factors) == 2)
        lin = next(t for t in terms if len(t.factors) == 1)
        x = lin.factors[0]
        if sq.factors == (x, x) and x not in known:
            return x, (0, 1)  # X^2 = X: X is 0 or 1
    unknown = {f for t in terms for f in t.factors if f not in known}
    if len(unknown) != 1:
        return None
    (x,) = unknown
    alone = [t for t in terms if t.factors == (x,) and t.coeff in (1, -1)]
    if len(alone) != 1 or sum(f == x for t in terms for f in t.factors) != 1:
        return None
    rest: Interval = (0, 0)
    for t in terms:
        if t is not alone[0]:
            rest = _add(rest, _scale(_term(known, t.factors), t.coeff))  # type: ignore[arg-type]
    if _mag(rest) >= HALF_P:
        return None
    # c X + rest = 0 with c = +-1: X = -c rest
    return x, _scale(rest, -alone[0].coeff)


def column_bounds(circuit: Circuit) -> dict[str, Interval]:
    """The integer range ``(lo, hi)`` of every column the circuit bounds (module docstring).

    Raises:
        FieldBoundError: a range check wider than the field, or a column sum or contraction
            that can reach ``p / 2``.
    """
    known: dict[str, Interval] = dict(circuit.public_bounds)
    for r in circuit.ranges:
        if not 1 <= r.bits <= 62:
            raise FieldBoundError(f"range check of {r.col}: {r.bits} bits (at most 62 fit the field)")
        iv = _range_interval(r.bits, r.scale, r.offset, _padding_range(circuit, r.col, r.bits, r.scale))
        if iv is not None:
            _intersect(known, r.col, iv)
        for w, limb in zip(limb_widths(r.bits), r.limbs):
            _intersect(known, limb, (0, (1 << w) - 1))
    definitions = [i for idents in circuit.identities.values() for i in idents]
    changed = True
    while changed:
        changed = False
        for name, view in circuit.views.items():
            if name not in known and view.base in known:
                known[name] = known[view.base]
                changed = True
        for name, lin in circuit.linear.items():
            if name in known:
                continue
            parts = [(_centred(a), n) for a, n in lin.terms] + [(_centred(b), n) for b, n in lin.publics]
            if all(n in known for _, n in parts):
                iv: Interval = (0, 0)
                for a, n in parts:
                    iv = _add(iv, _scale(known[n], a))
                if _mag(iv) < HALF_P:
                    known[name] = iv
                    changed = True
        for rel in circuit.relations:
            iv = _relation_bound(circuit, rel, known)
            if iv is not None:
                known[rel.out] = iv
                changed = True
        for ident in definitions:
            found = _definition(ident, known)
            if found is not None:
                known[found[0]] = found[1]
                changed = True
    return known


def _relation_bound(circuit: Circuit, rel, known: dict[str, Interval]) -> Interval | None:
    """Rule 4: the range of a column sum or contraction output not yet bounded."""
    if not isinstance(rel, (AxisSumRel, ContractRel)) or rel.out in known:
        return None
    return _sum_bound(circuit, rel, known)


def _sum_bound(circuit: Circuit, rel, known: dict[str, Interval]) -> Interval | None:
    """The integer range of a column sum's or contraction's exact sum when its inputs are
    bounded (``None`` otherwise, e.g. a product with a weight matrix).

    Raises:
        FieldBoundError: that sum can reach ``p / 2``: the field relation would not be the
            integer one, whether or not its output is range-checked (a range-checked output
            can still be the wrapped value of a larger integer sum).
    """
    if isinstance(rel, AxisSumRel):
        if rel.src not in known:
            return None
        src = circuit.col(rel.src)
        count, iv = 1 << src.bits[rel.axis], known[rel.src]
    else:
        if rel.a not in known or rel.b not in known:
            return None
        count, iv = 1 << rel.bit(rel.y), _mul(known[rel.a], known[rel.b])
    out = _scale(iv, count)
    if _mag(out) >= HALF_P:
        raise FieldBoundError(f"{rel.out}: a sum of {count} terms of up to {_mag(iv)} can reach "
                              "p / 2, so the field relation would not be the integer one")
    return out


def identity_bounds(circuit: Circuit, known: dict[str, Interval] | None = None) -> list[IdentityBound]:
    """``sum_t |c_t| prod_f max|f|`` of every identity, in schedule order.

    Raises:
        FieldBoundError: an identity (without an integer argument) names a column with no
            bound, or its bound reaches ``p / 2``.
    """
    known = column_bounds(circuit) if known is None else known
    out = []
    for nv in sorted(circuit.identities):
        for ident in circuit.identities[nv]:
            if ident.integer_argument:
                out.append(IdentityBound(ident.name, nv, None, ident.integer_argument))
                continue
            total = 0
            for t in ident.terms:
                c = int(t.coeff)
                mag = abs(c)
                for f in t.factors:
                    if f not in known:
                        raise FieldBoundError(f"identity {ident.name!r}: column {f!r} has no integer "
                                              "bound (no range check, definition or relation)")
                    mag *= _mag(known[f])
                total += mag
            if total >= HALF_P:
                raise FieldBoundError(f"identity {ident.name!r} can reach 2^{total.bit_length() - 1}"
                                      " >= p / 2: it would not imply the integer identity")
            out.append(IdentityBound(ident.name, nv, total))
    return out


def check_field_bounds(circuit: Circuit) -> None:
    """Refuse a circuit in which some identity or relation can reach ``p / 2``.

    Raises:
        FieldBoundError: naming the identity or relation (see :func:`identity_bounds`; a
            column sum or contraction with bounded inputs is checked even when its output is
            range-checked).
    """
    known = column_bounds(circuit)
    identity_bounds(circuit, known)
    for rel in circuit.relations:
        if isinstance(rel, (AxisSumRel, ContractRel)):
            _sum_bound(circuit, rel, known)
