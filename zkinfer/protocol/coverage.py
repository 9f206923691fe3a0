"""Which constraints touch each committed column of a :class:`~zkinfer.protocol.circuit.Circuit`.

A soundness audit tool (tests and debugging; neither prover nor verifier uses it). Every column
the prover commits must be tied to the rest of the statement: a column that no relation or
identity reads is a free value the prover picks at will, and a column that is only range-checked
is still free to take any value in its range.

Touches
-------
:func:`column_touches` lists, for every committed column (every trace column, range limbs and
multiplicity columns included, and every weight column), each constraint that names it:

- relations, by kind and role: ``matmul X (out)`` / ``(left)`` / ``(right)``,
  ``one-hot X (out)`` / ``(table)``, ``lookup X (src)`` / ``(out)`` / ``(mult)``,
  ``axis-sum X (out)`` / ``(src)``, ``contract X (out)`` / ``(a)`` / ``(b)`` (a relation type
  this module does not know is read generically: every string field that names a column);
- identities, by name: ``identity 'emb.x = tok + pos' (factor)``;
- range checks: ``range X#rc0 (18 bits) (checked)`` for the columns behind the checked value and
  ``(limb)`` for its committed limbs;
- the range LogUp of each limb width: ``range LogUp 16-bit (looked up)`` for every limb and
  ``(mult)`` for that width's multiplicity column.

A constraint that names a view or a linear column touches the committed columns behind it (a
view's base; a linear column's terms, recursively, with cancelling coefficients dropped), noted
``(role via name)``.

The rule
--------
A touch is *own* for a column ``c`` (it alone leaves ``c`` free) when it is

- an identity every term of which is ``c`` (by its own name, exactly once) times public columns
  only, as the padding identity ``c - Ind c = 0``: it forces ``c`` to zero where the public factor
  does not vanish and says nothing about the other entries; or
- ``c``'s own range check: a range check (or a LogUp entry of one of its limbs) whose checked
  value involves no committed column but ``c``, or of which ``c`` is a limb.

Any other touch ties ``c`` to other columns or to public data and makes it *constrained*: a
relation in any role, any other identity (with another column, or one that is not linear in
``c`` or has a constant term, such as ``sel^2 - sel = 0``), a range check of a value that combines
``c`` with other columns (an inequality such as ``rem <= sum - 1``), and for a multiplicity
column the LogUp it belongs to (which fixes it from the looked-up values: a table look-up's
``(mult)`` or a range width's ``range LogUp (mult)``). Per kind of column:

- trace columns (advice included) and weights: constrained iff some touch is not own; a weight
  no relation reads, or a multiplicity column no LogUp uses, has no touch at all;
- a committed limb: also constrained when every committed column behind its range check's
  value is (the limbs of a value are unique once the value is fixed, since all are in range and
  ``2^bits < p``); a limb of a free value is free too.

:func:`unconstrained_columns` reports every committed column that is not constrained. With
``ranges_bind=False`` it applies the stricter rule in which no range check, shared or own,
constrains the columns it checks (bounded is not fixed).

The rule is local: it shows that every column enters some constraint beyond its own bounds, not
that the constraints together pin the trace (a closed group of columns tied only to each other,
or a column that is only the input of a relation, passes). That is the business of each
relation's own soundness argument.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from zkinfer.field import goldilocks as gl
from zkinfer.protocol.circuit import (
    AxisSumRel,
    Circuit,
    ContractRel,
    MatmulRel,
    OneHotRel,
    RangeRel,
    TableRel,
)
from zkinfer.protocol.constraints import ONE, Identity

__all__ = ["Touch", "column_touches", "column_coverage", "unconstrained_columns", "format_coverage"]


@dataclass(frozen=True)
class Touch:
    """One constraint naming one committed column.

    Attributes:
        constraint: the constraint, e.g. ``"matmul layer0.attn.q.acc"``.
        role: the column's role in it, e.g. ``"out"``, ``"factor"``, ``"checked"``, ``"limb"``.
        via: the view or linear column the constraint names, when it is not the column itself.
        own: the column's own padding identity or own range check (module docstring): such a
            touch alone leaves the column free.
        bound: a range check (or an entry of the range LogUp): it bounds the column, it does not
            fix it (the multiplicity of the range LogUp is not a bound).
    """

    constraint: str
    role: str
    via: str | None = None
    own: bool = False
    bound: bool = False

    def __str__(self) -> str:
        role = self.role if self.via is None else f"{self.role} via {self.via}"
        return f"{self.constraint} ({role})"


_RELATION_ROLES: dict[type, tuple[str, tuple[str, ...]]] = {
    MatmulRel: ("matmul", ("out", "left", "right")),
    OneHotRel: ("one-hot", ("out", "table")),
    TableRel: ("lookup", ("src", "out", "mult")),
    AxisSumRel: ("axis-sum", ("out", "src")),
    ContractRel: ("contract", ("out", "a", "b")),
}


class _Analysis:
    """The touches of one circuit (built once; see :func:`column_touches`)."""

    def __init__(self, circuit: Circuit) -> None:
        self.circuit = circuit
        self.committed = list(circuit.trace) + [w for w in circuit.weights if w not in circuit.trace]
        self.touches: dict[str, list[Touch]] = {name: [] for name in self.committed}
        self._support_memo: dict[str, dict[str, int]] = {}
        # limb column -> the range check it is a limb of
        self.limb_of: dict[str, RangeRel] = {}
        for r in circuit.ranges:
            for limb in r.limbs:
                self.limb_of.setdefault(limb, r)
        for rel in circuit.relations:
            self._relation(rel)
        for idents in circuit.identities.values():
            for ident in idents:
                self._identity(ident)
        for r in circuit.ranges:
            self._range(r)
        self._range_logup()

    # ---- names

    def is_column(self, name: str) -> bool:
        c = self.circuit
        return name in c.trace or name in c.weights or name in c.linear or name in c.views

    def support(self, name: str) -> dict[str, int]:
        """``atom -> coefficient`` of a column as a combination of trace / weight columns and
        views (atoms); a view is its own atom (its base at another point cannot cancel it)."""
        if name in self._support_memo:
            return self._support_memo[name]
        c = self.circuit
        out: dict[str, int] = {}
        if name in c.linear and name not in c.trace:
            self._support_memo[name] = out  # guards a (malformed) cycle
            for coeff, term in c.linear[name].terms:
                for atom, a in self.support(term).items():
                    out[atom] = (out.get(atom, 0) + coeff * a) % gl.P
            out = {atom: a for atom, a in out.items() if a}
        elif self.is_column(name):
            out = {name: 1}
        self._support_memo[name] = out
        return out

    def base(self, atom: str) -> str:
        """The committed column behind an atom (a view's base)."""
        views = self.circuit.views
        while atom in views:
            atom = views[atom].base
        return atom

    def committed_support(self, name: str) -> dict[str, str | None]:
        """``committed column -> via`` (the view or linear column named, ``None`` if direct)."""
        out: dict[str, str | None] = {}
        for atom in self.support(name):
            col = self.base(atom)
            if col in self.touches:
                via = None if col == name else name
                out.setdefault(col, via)
        return out

    def add(self, name: str, constraint: str, role: str, own: frozenset[str] = frozenset(),
            bound: bool = False) -> None:
        """Record that ``constraint`` touches every committed column behind ``name`` (``own``:
        the columns for which it is their own padding identity or range check)."""
        for col, via in self.committed_support(name).items():
            self.touches[col].append(Touch(constraint, role, via, col in own, bound))

    # ---- constraints

    def _relation(self, rel: object) -> None:
        kind, roles = _RELATION_ROLES.get(type(rel), (None, ()))
        if kind is None:
            if not dataclasses.is_dataclass(rel):
                return  # names nothing we can read: its columns show up as untouched
            # a relation kind this module does not know: every field naming a column
            roles = tuple(f.name for f in dataclasses.fields(rel)
                          if isinstance(getattr(rel, f.name), str)
                          and self.is_column(getattr(rel, f.name)))
            kind = type(rel).__name__
        label = getattr(rel, "name", None) if isinstance(rel, TableRel) else getattr(rel, "out", None)
        constraint = f"{kind} {label}" if label is not None else kind
        for role in roles:
            self.add(getattr(rel, role), constraint, role)

    def _identity(self, ident: Identity) -> None:
        publics = self.circuit.publics
        constraint = f"identity {ident.name!r}"
        names = sorted(n for n in ident.names() if n != ONE and n not in publics)
        own: frozenset[str] = frozenset()
        if len(names) == 1 and names[0] in self.touches:
            (c,) = names
            # every term is c (itself, once) times public columns: c vanishes where they don't
            if all(t.factors.count(c) == 1 for t in ident.terms):
                own = frozenset({c})
        for n in names:
            self.add(n, constraint, "factor", own)

    def range_own(self, r: RangeRel) -> frozenset[str]:
        """The columns for which ``r`` is their own range check (module docstring)."""
        own = {limb for limb in r.limbs if limb in self.touches}
        value = set(self.committed_support(r.col))
        if len(value) == 1:
            own |= value
        return frozenset(own)

    def _range(self, r: RangeRel) -> None:
        constraint = f"range {_tag(r)} ({r.bits} bits)"
        own = self.range_own(r)
        self.add(r.col, constraint, "checked", own, bound=True)
        for limb in r.limbs:
            if limb in self.touches:
                self.add(limb, constraint, "limb", own, bound=True)

    def _range_logup(self) -> None:
        c = self.circuit
        for seg in range(c.num_segments):
            for w, limbs in c.range_widths(seg).items():
                constraint = f"range LogUp {w}-bit" + (f" (segment {seg})" if seg else "")
                for limb in limbs:
                    r = self.limb_of.get(limb)
                    self.add(limb, constraint, "looked up",
                             self.range_own(r) if r else frozenset(), bound=True)
                self.add(c.range_mult_name(w, seg), constraint, "mult")

    # ---- the rule

    def unconstrained(self, ranges_bind: bool = True) -> list[str]:
        state: dict[str, bool] = {}

        def binds(t: Touch) -> bool:
            return not t.own and (ranges_bind or not t.bound)

        def constrained(col: str) -> bool:
            if col in state:
                return state[col]
            state[col] = False  # a cycle through limbs constrains nothing
            ok = any(binds(t) for t in self.touches[col])
            r = self.limb_of.get(col)
            if not ok and r is not None and col in self.circuit.trace:
                value = set(self.committed_support(r.col)) - set(r.limbs)
                ok = bool(value) and all(constrained(v) for v in value)
            state[col] = ok
            return ok

        return [col for col in self.committed if not constrained(col)]


def _tag(r: RangeRel) -> str:
    """``col#rcK``, the prefix of the range check's limb names."""
    return r.limbs[0].rsplit(".l", 1)[0] if r.limbs else r.col


def column_touches(circuit: Circuit) -> dict[str, list[Touch]]:
    """Every committed column (trace, limbs and multiplicities included, then weights) with the
    constraints that touch it, in schedule order (relations, identities, range checks, LogUp)."""
    return _Analysis(circuit).touches


def column_coverage(circuit: Circuit) -> dict[str, list[str]]:
    """Every committed column with the names of the constraints that touch it (no duplicates),
    e.g. ``"emb.x": ["identity 'emb.x = tok + pos' (factor)", "range emb.x#rc0 (13 bits) (checked)",
    "range LogUp 13-bit (looked up via emb.x#rc0.l0)"]``."""
    return {col: list(dict.fromkeys(str(t) for t in ts)) for col, ts in column_touches(circuit).items()}


def unconstrained_columns(circuit: Circuit, *, ranges_bind: bool = True) -> list[str]:
    """The committed columns that no constraint binds beyond their own padding identity and range
    check (the rule of the module docstring), in commitment order; ``[]`` for a sound circuit.

    Arguments:
        circuit: the circuit.
        ranges_bind: with ``False``, the stricter rule: no range check constrains the columns it
            checks, not even one shared with other columns (an inequality such as
            ``rem <= sum - 1`` bounds ``rem``, it does not fix it); limbs keep their rule.
    """
    return _Analysis(circuit).unconstrained(ranges_bind)


def format_coverage(circuit: Circuit) -> str:
    """The coverage map as text: one line per column (``UNCONSTRAINED`` if so), then its
    constraints indented (``[own]``: its own padding identity or range check)."""
    analysis = _Analysis(circuit)
    free = set(analysis.unconstrained())
    lines = []
    for col, ts in analysis.touches.items():
        kind = "weight" if col in circuit.weights else "trace"
        lines.append(f"{col} [{kind}]{'  UNCONSTRAINED' if col in free else ''}")
        shown = dict.fromkeys(f"{t}{'  [own]' if t.own else ''}" for t in ts)
        lines += [f"    {s}" for s in shown]
    return "\n".join(lines)

