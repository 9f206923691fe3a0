"""The circuit of a model: which columns are committed and which relations bind them.

Prover and verifier build the same :class:`Circuit` from the public model description and the
number of tokens, so the schedule of relations, the column layout and every identity are fixed by
the statement, never by the proof.

Columns. Every trace tensor of real shape ``(s_1, ..., s_k)`` is committed padded to
``(2^b_1, ..., 2^b_k)`` (row-major, one multilinear in ``sum b_i`` variables); padded entries
are zero, and the circuit proves it (identity ``col - Ind col = 0`` with the public indicator
``Ind`` of the real block). Constant terms of identities are multiplied by ``Ind``, so the
identities hold on the padding too.

Relations (in schedule order):

- matrix products ``acc = src @ W + Ind_rows (x) b`` by the matmul sumcheck at a random point;
- embedding rows by a product with the public one-hot matrix of the token ids;
- activation tables by pair look-ups ``(u + half) + beta out`` in ``j + beta T[j]``;
- column sums (pooling) by the sum-over-the-cube identity ``sum_i h(i, r) = 2^b h(1/2, .., r)``;
- all elementwise identities, one zero-check per number of variables;
- range checks of every column at its declared width, over 16-bit limbs, one tagged LogUp
  for all widths (:mod:`zkinfer.protocol.range`).

Linear columns (:class:`LinearCol`) are never committed: ``V = sum_k a_k col_k + sum_j b_j P_j``
over committed columns (or views, or other linear columns) ``col_k`` and public columns ``P_j``.
Multilinear extension is linear, so a claim ``V(r) = v`` is the claim
``sum_k a_k col_k(r) = v - sum_j b_j P_j(r)`` on the committed columns at one point, which the
final opening proves as one linear combination (:meth:`Circuit.resolve`,
:mod:`zkinfer.protocol.openings`). The prover holds their tables like any other column. Range
checks use them for looked-up values that are linear in committed ones: ``scale col + offset``
of a value of at most 16 bits, and the top limb of a wider value,
``(scale col + offset - sum_{k < top} 2^(16 k) limb_k) / 2^(16 top)``, so a value of ``L`` limbs
commits ``L - 1`` of them and needs no recomposition identity.

Every relation ends in evaluation claims on committed columns (trace or weights), proven at the
end by one opening per commitment (:mod:`zkinfer.protocol.openings`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.protocol.axis_sum import AxisSumRel
from zkinfer.protocol.constraints import ONE, Broadcast, Identity, Indicator, PublicColumn
from zkinfer.protocol.contract import ContractRel
from zkinfer.protocol.embedding import OneHotRel
from zkinfer.protocol.matmul import MatmulRel
from zkinfer.protocol.pairs import TableRel
from zkinfer.protocol.range import limb_widths

__all__ = [
    "Col",
    "padded_bits",
    "MatmulRel",
    "OneHotRel",
    "TableRel",
    "AxisSumRel",
    "ContractRel",
    "View",
    "FlipView",
    "LinearCol",
    "RangeRel",
    "Circuit",
]

U64 = npt.NDArray[np.uint64]


def padded_bits(shape: Sequence[int]) -> tuple[int, ...]:
    """``b_i`` with ``2^b_i >= s_i`` (smallest), per axis."""
    return _padded_bits(tuple(int(s) for s in shape))


@functools.lru_cache(maxsize=1024)
def _padded_bits(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(max(0, (s - 1).bit_length()) for s in shape)


@functools.lru_cache(maxsize=8)
def _inverse_power_of_two(bits: int) -> int:
    """``2^-bits mod p`` (a range check's top-limb scale)."""
    return pow(1 << bits, gl.P - 2, gl.P)


@dataclass(frozen=True)
class Col:
    """A committed column: real shape, padded bits per axis, declared width (if range-checked).

    Attributes:
        name: unique name (trace columns keep the model's names).
        shape: real shape.
        bits: padded ``log2`` size of each axis.
        width: ``(bits, signed)`` to range-check, or ``None``.
        padded_zero: whether the padding is proven zero (false for full tables).
    """

    name: str
    shape: tuple[int, ...]
    bits: tuple[int, ...]
    width: tuple[int, bool] | None = None
    padded_zero: bool = True

    @property
    def num_vars(self) -> int:
        return sum(self.bits)

    @property
    def padded_shape(self) -> tuple[int, ...]:
        return tuple(1 << b for b in self.bits)

    @property
    def indicator(self) -> str:
        """Name of the public indicator of the real block."""
        return f"ind{self.shape}/{self.bits}"


@dataclass(frozen=True)
class View:
    """``base`` broadcast along a new axis: not committed; a claim on the view at ``r`` is a claim
    on ``base`` at ``r`` without the new axis's coordinates."""

    name: str
    base: str
    axis: int
    size: int
    bits: tuple[int, ...]  # padded bits of every axis of the view
    shape: tuple[int, ...]

    @property
    def num_vars(self) -> int:
        return sum(self.bits)

    def base_point(self, point: U64) -> U64:
        start = sum(self.bits[: self.axis])
        return np.concatenate([point[:start], point[start + self.bits[self.axis]:]])

    def table(self, base_table: U64, base_bits: tuple[int, ...]) -> U64:
        """The broadcast table (prover side). The base is read in the view's own axis layout
        (its bits without the new axis), which may regroup the base's bits
        (:meth:`Circuit.regroup_view`); ``base_bits`` only fixes the total size."""
        own = self.bits[: self.axis] + self.bits[self.axis + 1:]
        if sum(own) != sum(base_bits):  # pragma: no cover - Circuit.view / regroup_view check it
            raise ValueError(f"view {self.name}: {sum(own)} bits over a base of {sum(base_bits)}")
        arr = base_table.reshape(tuple(1 << b for b in own))
        arr = np.expand_dims(arr, self.axis)
        reps = [1] * arr.ndim
        reps[self.axis] = 1 << self.bits[self.axis]
        return np.tile(arr, reps).reshape(-1)


@dataclass(frozen=True)
class FlipView:
    """``base`` with one variable negated: ``view[.., x_k, ..] = base[.., 1 - x_k, ..]`` (the
    two halves of an axis swapped, e.g. the ``(a, b)`` channel pairs of a rotation). Not
    committed; a claim on the view at ``r`` is a claim on ``base`` at ``r`` with ``r_k``
    replaced by ``1 - r_k`` (the multilinear extension of the swapped table, exactly)."""

    name: str
    base: str
    coord: int  # the negated variable: its index in the point (0 = most significant)
    bits: tuple[int, ...]
    shape: tuple[int, ...]

    @property
    def num_vars(self) -> int:
        return sum(self.bits)

    def base_point(self, point: U64) -> U64:
        out = np.array(point, dtype=np.uint64, copy=True)
        out[self.coord] = ext.sub(ext.ones(()), out[self.coord])
        return out

    def table(self, base_table: U64, base_bits: tuple[int, ...]) -> U64:
        """The swapped table (prover side)."""
        n = sum(base_bits)
        arr = base_table.reshape(1 << self.coord, 2, 1 << (n - self.coord - 1))
        return np.ascontiguousarray(arr[:, ::-1, :]).reshape(-1)


@dataclass(frozen=True)
class LinearCol(Col):
    """A virtual column ``sum_k coeff_k col_k + sum_j pcoeff_j public_j`` (module docstring).

    Attributes:
        terms: ``(coeff, name)`` of trace columns, views or earlier linear columns of the same
            padded shape; ``coeff`` an integer taken mod ``p``.
        publics: ``(coeff, name)`` of public columns (``"1"``: the constant 1).
    """

    terms: tuple[tuple[int, str], ...] = ()
    publics: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class RangeRel:
    """``0 <= scale * col + offset < 2^bits`` via limb columns ``limbs``."""

    col: str
    bits: int
    scale: int
    offset: int
    limbs: tuple[str, ...]
    segment: int = 0


@dataclass
class Circuit:
    """Columns, public data and relations of one statement (built by both sides).

    Attributes:
        trace: committed trace columns, in commitment order.
        weights: committed weight columns (the model commitment), in order.
        publics: public columns for identities (multipliers, biases, indicators, the output).
        tables: public look-up tables (padded to powers of two), by name.
        vectors: public vectors (biases), by name.
        relations: matmul / one-hot / table / column-sum relations in schedule order.
        identities: ``num_vars -> identities`` (one zero-check per key, in sorted order).
        ranges: range relations, grouped at proving time by limb width.
        limb_cols: every limb of every range check (committed ones and linear top limbs).
        linear: the linear (uncommitted) columns, in registration order (:class:`LinearCol`).
        public_bounds: ``name -> (lo, hi)``: the integer range of every public column's entries
            (padding included), recorded when it is registered, before any of its values is
            encoded in the field; :mod:`zkinfer.protocol.bounds` starts from them.
        public_values: cache of public columns' values at claim points (verifier side).
        num_segments: how many segments the circuit is split into (fixed by the model:
            one per transformer block); every committed column, relation, identity and range
            check belongs to one.
        segment: the segment that columns, identities and range checks registered now go to
            (set by the builder before each op's gadget).
        segments: committed column (trace or weight) -> its segment.
        relation_segments: the segment of each relation (parallel to :attr:`relations`).
        identity_segments: ``num_vars ->`` the segment of each identity (parallel to
            :attr:`identities`).
    """

    trace: dict[str, Col] = field(default_factory=dict)
    weights: dict[str, Col] = field(default_factory=dict)
    publics: dict[str, PublicColumn] = field(default_factory=dict)
    tables: dict[str, U64] = field(default_factory=dict)
    vectors: dict[str, U64] = field(default_factory=dict)
    relations: list = field(default_factory=list)
    views: dict[str, View] = field(default_factory=dict)
    identities: dict[int, list[Identity]] = field(default_factory=dict)
    ranges: list[RangeRel] = field(default_factory=list)
    limb_cols: dict[str, Col] = field(default_factory=dict)
    linear: dict[str, LinearCol] = field(default_factory=dict)
    public_bounds: dict[str, tuple[int, int]] = field(default_factory=lambda: {ONE: (1, 1)})
    public_values: dict = field(default_factory=dict, repr=False)
    num_segments: int = 1
    segment: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    relation_segments: list[int] = field(default_factory=list)
    identity_segments: dict[int, list[int]] = field(default_factory=dict)
    _segment_groups: tuple | None = field(default=None, repr=False, compare=False)
    _range_groups: tuple | None = field(default=None, repr=False, compare=False)
    _range_tags: dict = field(default_factory=dict, repr=False, compare=False)
    _range_leaves: tuple | None = field(default=None, repr=False, compare=False)
    _places: dict | None = field(default=None, repr=False, compare=False)

    # ---- building blocks

    def col(self, name: str) -> Col:
        """A trace, linear or weight column by name."""
        if name in self.trace:
            return self.trace[name]
        if name in self.linear:
            return self.linear[name]
        return self.weights[name]

    def add_trace(self, name: str, shape: Sequence[int], width: tuple[int, bool] | None,
                  padded_zero: bool = True) -> Col:
        """Register a committed trace column (and its padding identity and range check)."""
        c = Col(name, tuple(int(s) for s in shape), padded_bits(shape), width, padded_zero)
        self.trace[name] = c
        self.segments[name] = self.segment
        if padded_zero and c.shape != c.padded_shape:
            ind = self.indicator(c)
            # col - Ind col = 0: the padding is zero
            self.identity(c.num_vars, Identity.of(f"{name} padding", (1, [name]), (-1, [ind, name])))
        if width is not None:
            bits, signed = width
            self.range(name, bits, 1, (1 << (bits - 1)) if signed else 0)
        return c

    def add_linear(self, name: str, shape: Sequence[int], width: tuple[int, bool] | None,
                   terms: Sequence[tuple[int, str]], publics: Sequence[tuple[int, str]] = ()
                   ) -> LinearCol:
        """Register a virtual linear column (and its range check); see :class:`LinearCol`.

        Unlike a committed column its padded entries need not be zero (a view term broadcasts
        into the padding); a range check covers them too, without the signed offset (which is
        gated by the indicator), so they must lie in ``[0, 2^bits)`` as they are.
        """
        shape = tuple(int(s) for s in shape)
        c = LinearCol(name, shape, padded_bits(shape), width, True,
                      tuple((int(a) % gl.P, n) for a, n in terms),
                      tuple((int(a) % gl.P, n) for a, n in publics if int(a) % gl.P))
        for _, n in c.terms:
            if n not in self.trace and n not in self.linear and n not in self.views:
                raise KeyError(f"{name}: unknown column {n}")
        self.linear[name] = c
        if width is not None:
            bits, signed = width
            self.range(name, bits, 1, (1 << (bits - 1)) if signed else 0)
        return c

    def add_weight(self, name: str, shape: Sequence[int]) -> Col:
        c = Col(name, tuple(int(s) for s in shape), padded_bits(shape))
        self.weights[name] = c
        self.segments[name] = self.segment
        return c

    def view(self, base: str, axis: int, size: int) -> str:
        """Register (once) ``base`` broadcast along a new axis ``axis`` of real size ``size``."""
        b = self.trace[base]
        name = f"{base}@{axis}x{size}"
        if name not in self.views:
            shape = b.shape[:axis] + (size,) + b.shape[axis:]
            bits = b.bits[:axis] + padded_bits((size,)) + b.bits[axis:]
            self.views[name] = View(name, base, axis, size, bits, shape)
        return name

    def regroup_view(self, base: str, shape: Sequence[int], axis: int, size: int) -> str:
        """Register (once) ``base`` read as a tensor of real shape ``shape`` and broadcast along
        a new axis ``axis`` of real size ``size``. ``shape`` must have the base's padded
        layout: its padded bits concatenate to the same number of variables and its real
        entries are the base's (e.g. a ``(n, G dh)`` column, ``dh`` a power of two, read as
        ``(n, G, dh)``: the key heads of grouped-query attention, broadcast over the query
        heads of each group).

        Raises:
            ValueError: ``shape`` is not a regrouping of the base's layout.
        """
        b = self.trace[base]
        shape = tuple(int(s) for s in shape)
        own = padded_bits(shape)
        if sum(own) != b.num_vars or int(np.prod(shape)) > int(np.prod(b.padded_shape)):
            raise ValueError(f"{base}: shape {shape} is not a regrouping of {b.shape}")
        name = f"{base}@{shape}@{axis}x{size}"
        if name not in self.views:
            vshape = shape[:axis] + (size,) + shape[axis:]
            bits = own[:axis] + padded_bits((size,)) + own[axis:]
            self.views[name] = View(name, base, axis, size, bits, vshape)
        return name

    def flip_view(self, base: str, coord: int) -> str:
        """Register (once) ``base`` with variable ``coord`` negated (:class:`FlipView`)."""
        b = self.trace[base]
        if not 0 <= coord < b.num_vars:
            raise ValueError(f"{base}: no variable {coord}")
        name = f"{base}@flip{coord}"
        if name not in self.views:
            self.views[name] = FlipView(name, base, coord, b.bits, b.shape)
        return name

    def shape_indicator(self, shape: tuple[int, ...]) -> str:
        """The public indicator of the real block of a padded tensor of ``shape``."""
        return self.indicator(Col("", shape, padded_bits(shape)))

    def indicator(self, c: Col) -> str:
        """Register (once) and name the public indicator of ``c``'s real block."""
        if c.indicator not in self.publics:
            self.publics[c.indicator] = Indicator(c.shape, c.bits)
            self.public_bounds[c.indicator] = (0, 1)
        return c.indicator

    def broadcast(self, name: str, vector: npt.ArrayLike, length_bits: int) -> str:
        """Register a public per-channel vector (signed ints), zero-padded to ``2^length_bits``.

        Its integer range (zero included, for the padding) is recorded in
        :attr:`public_bounds` before it is encoded.

        Raises:
            FieldRangeError: an entry does not fit the centred field encoding.
        """
        v = np.zeros(1 << length_bits, dtype=np.uint64)
        arr = np.asarray(vector, dtype=np.int64).reshape(-1)
        if arr.shape[0] > v.shape[0]:
            raise ValueError(f"public vector {name}: {arr.shape[0]} entries, room for {v.shape[0]}")
        self.public_bounds[name] = (min(0, int(arr.min(initial=0))), max(0, int(arr.max(initial=0))))
        v[: arr.shape[0]] = gl.encode_signed(arr)
        self.publics[name] = Broadcast(v)
        self.vectors[name] = v
        return name

    def identity(self, num_vars: int, ident: Identity) -> None:
        self.identities.setdefault(num_vars, []).append(ident)
        self.identity_segments.setdefault(num_vars, []).append(self.segment)

    def add_relation(self, rel) -> None:
        """Append a relation to the schedule, in the current segment."""
        self.relations.append(rel)
        self.relation_segments.append(self.segment)

    def range(self, col: str, bits: int, scale: int, offset: int) -> None:
        """Range-check ``u = scale * col + offset Ind`` in ``[0, 2^bits)``.

        ``u`` is split into limbs of 16 bits (the last ``bits mod 16`` wide). Every limb but the
        top one is a committed column; the top limb is the linear column
        ``(u - sum_{k < top} 2^(16 k) limb_k) / 2^(16 top)`` (just ``u`` for one limb). With
        every limb in its range, ``0 <= u < 2^bits`` as integers since ``2^bits < p``.
        """
        c = self.col(col)
        # the k-th range check of a column (counted, not searched: circuits hold thousands)
        k = self._range_tags.get(col, 0)
        self._range_tags[col] = k + 1
        tag = f"{col}#rc{k}"
        widths = limb_widths(bits)
        top = len(widths) - 1
        limbs = tuple(f"{tag}.l{k}" for k in range(len(widths)))
        for limb in limbs[:top]:
            self.trace[limb] = self.limb_cols[limb] = Col(limb, c.shape, c.bits, None, True)
            self.segments[limb] = self.segment
        ind = self.indicator(c) if c.shape != c.padded_shape else ONE
        inv = _inverse_power_of_two(16 * top)
        terms = [(scale * inv, col)] + [(-(1 << (16 * k)) * inv, limb)
                                        for k, limb in enumerate(limbs[:top])]
        self.add_linear(limbs[top], c.shape, None, terms, [(offset * inv, ind)] if offset else [])
        self.limb_cols[limbs[top]] = self.linear[limbs[top]]
        self.ranges.append(RangeRel(col, bits, scale, offset, limbs, self.segment))

    def resolve(self, name: str, point: U64, value: U64) -> tuple[list[tuple[str, U64, U64]], U64]:
        """A claim ``name(point) = value`` as claims on committed columns: returns
        ``([(column, point, coeff), ...], v)`` meaning ``sum coeff column(point) = v``.

        Views move to their base column's point; linear columns expand into their terms (at
        the same point) with their public part moved to the value. Scalar work on Python ints.
        """
        from zkinfer.field import reference as ref

        out: list[tuple[str, U64, tuple[int, int]]] = []
        v = tuple(int(x) for x in np.asarray(value, dtype=np.uint64).reshape(2))
        key = point.tobytes()

        def walk(n: str, pt: U64, coeff: tuple[int, int]) -> None:
            nonlocal v
            if n in self.views:
                view = self.views[n]
                walk(view.base, view.base_point(pt), coeff)
            elif n in self.linear:
                lin = self.linear[n]
                for a, pub in lin.publics:
                    p_val = (1, 0) if pub == ONE else self._public_at(pub, pt, key)
                    v = ref.ext_sub(v, ref.ext_mul(((coeff[0] * a) % gl.P, (coeff[1] * a) % gl.P),
                                                   p_val))
                for a, sub in lin.terms:
                    walk(sub, pt, ((coeff[0] * a) % gl.P, (coeff[1] * a) % gl.P))
            else:
                out.append((n, pt, coeff))

        walk(name, point, (1, 0))
        return ([(n, pt, np.array(co, dtype=np.uint64)) for n, pt, co in out],
                np.array(v, dtype=np.uint64))

    def _public_at(self, name: str, point: U64, key: bytes) -> tuple[int, int]:
        """A public column's value at ``point`` (cached: many claims share a point)."""
        k = (name, key)
        if k not in self.public_values:
            self.public_values[k] = tuple(int(x) for x in self.publics[name].evaluate(point))
        return self.public_values[k]

    def range_widths(self, segment: int | None = None) -> dict[int, list[str]]:
        """Limb columns grouped by limb width (each width is one tagged table of the LogUp),
        of one segment's range checks (all segments' for ``None``)."""
        # one pass over the range checks, cached until one is added (asked per segment by the
        # range steps, their terms and the repetition rule)
        if self._range_groups is None or self._range_groups[0] != len(self.ranges):
            by_segment: dict[int | None, dict[int, list[str]]] = {}
            for r in self.ranges:
                for w, limb in zip(limb_widths(r.bits), r.limbs):
                    for key in (r.segment, None):
                        by_segment.setdefault(key, {}).setdefault(w, []).append(limb)
            self._range_groups = (len(self.ranges), by_segment)
        groups = self._range_groups[1].get(segment, {})
        return {w: list(groups[w]) for w in sorted(groups)}

    def range_mult_name(self, width: int, segment: int = 0) -> str:
        """The multiplicity column of a segment's ``width``-bit range table."""
        return f"range{width}.mult" if segment == 0 else f"seg{segment}.range{width}.mult"

    def finish_ranges(self) -> None:
        """Register the multiplicity column of every segment's range tables (call once, at
        the end): each segment proves its own range checks."""
        for s in range(self.num_segments):
            for w in self.range_widths(s):
                name = self.range_mult_name(w, s)
                self.trace[name] = Col(name, (1 << w,), (w,), None, False)
                self.segments[name] = s

    def segment_relations(self, segment: int) -> list:
        """The relations of one segment, in schedule order (a relation appended without
        :meth:`add_relation` is in segment 0)."""
        segs = self.relation_segments
        return [rel for k, rel in enumerate(self.relations)
                if (segs[k] if k < len(segs) else 0) == segment]

    def segment_identities(self, segment: int) -> dict[int, list[Identity]]:
        """``num_vars ->`` the identities of one segment (registered without
        :meth:`identity`: segment 0), sizes ascending, empty groups left out."""
        # one pass over every identity, cached until an identity is added (the verifier asks
        # per segment and per group)
        key = tuple((nv, len(group), len(self.identity_segments.get(nv, ())))
                    for nv, group in self.identities.items())
        if self._segment_groups is None or self._segment_groups[0] != key:
            by_segment: dict[int, dict[int, list[Identity]]] = {}
            for nv in sorted(self.identities):
                segs = self.identity_segments.get(nv, [])
                for k, ident in enumerate(self.identities[nv]):
                    seg = segs[k] if k < len(segs) else 0
                    by_segment.setdefault(seg, {}).setdefault(nv, []).append(ident)
            self._segment_groups = (key, by_segment)
        return {nv: list(group) for nv, group in self._segment_groups[1].get(segment, {}).items()}
