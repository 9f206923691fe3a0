"""Prove the evaluation claims on a commitment made of parts (one part per segment) with one
PCS opening.

A claim (:class:`PartClaim`) is a linear combination ``sum_j c_j B_j(p_j) = v`` of evaluations of
blocks of the commitment's parts: block ``j`` is the ``2^n`` entries of part ``s_j`` from offset
``o_j`` (a multiple of ``2^n``), as a multilinear polynomial evaluated at ``p_j``. Claims may span
parts (a linear column of two segments). :func:`prove_part_openings` batches every claim by
powers of ``gamma``, reduces each part to one point by a sumcheck over its own variables (on its
own transcript, wherever the part is: :meth:`~zkinfer.commit.base.ProverData.map_parts`), then
all parts together over the coordinates the PCS needs shared, and opens every part at its point
with one PCS opening. The protocol and its soundness terms are in
:func:`prove_part_openings`; :func:`verify_part_openings` is the verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer._memory import drop_pages
from zkinfer.codec import Reader, Writer
from zkinfer.commit.base import PCS, Commitment, OpeningClaim, OpeningProof, Parts, ProverData
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field.scalar import Fp2
from zkinfer.protocol.relation import Step
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.transcript import Transcript

__all__ = ["PartClaim", "JointOpeningsProof", "shared_vars", "Begun", "begin_part_openings",
           "start_part_sumchecks", "part_sumcheck", "prove_part_openings",
           "verify_part_openings"]

U64 = npt.NDArray[np.uint64]
_EXPR = Expression.product(2)
_LABEL_GAMMA = b"openings/gamma"
_LABEL_COMMITMENT = b"openings/commitment"
_LABEL_CLAIMS = b"openings/claims"
#: A decoded PCS opening is at most this many bytes.
MAX_OPENING_BYTES = 1 << 31


def _gamma_powers(transcript: Transcript, count: int, label: bytes = _LABEL_GAMMA) -> U64:
    """``c^0 .. c^(count-1)`` for a challenge ``c`` drawn under ``label`` (``gamma`` by
    default), by repeated doubling of a vectorized product."""
    gamma = transcript.challenge_ext(label)
    powers = ext.ones((1,))
    step = gamma
    while powers.shape[0] < count:
        powers = np.concatenate([powers, ext.mul(powers, np.broadcast_to(step, powers.shape))])
        step = ext.mul(step, step)
    return np.ascontiguousarray(powers[:count])


#: ``(part, offset, point, coeff)``: ``coeff`` times the block of part ``part`` that starts at
#: ``offset`` (a multiple of ``2^len(point)``) evaluated at ``point``.
PartTerm = tuple[int, int, U64, U64]

_LABEL_PART = b"openings/part"
_LABEL_PARTS = b"openings/part-transcripts"
_LABEL_ALPHA = b"openings/alpha"
_LABEL_VALUES = b"openings/values"


@dataclass(frozen=True, eq=False)
class PartClaim:
    """``sum_j coeff_j block_j(point_j) == value`` over blocks of any parts of one commitment."""

    terms: tuple[PartTerm, ...]
    value: U64


@dataclass(frozen=True, eq=False)
class JointOpeningsProof(Step, kind="opening"):
    """The claims on every part of one commitment, reduced to one point per part sharing its
    last ``k`` coordinates, and the PCS opening there.

    Attributes:
        parts: per part, the sumcheck over its first ``m_s - k`` variables (its claimed sum is
            the sumcheck's statement; ``m_s``: :func:`part_vars`).
        totals: per part ``s``, its claimed sum ``T_s = sum_x W_s(x) F_s(x)``.
        joint: the sumcheck over the last ``k`` variables of all parts at once.
        values: per part, ``F_s`` at its point.
        opening: the PCS opening of all parts at their points.
    """

    totals: U64
    parts: tuple[SumcheckProof, ...]
    joint: SumcheckProof
    values: U64
    opening: OpeningProof

    def write(self, w: Writer) -> None:
        w.u32(len(self.parts))
        w.ext(self.totals)
        for sc in self.parts:
            sc.write(w)
        self.joint.write(w)
        w.ext(self.values)
        opening = self.opening
        w.bytes(opening if isinstance(opening, bytes) else opening.to_bytes())

    @classmethod
    def read(cls, r: Reader) -> JointOpeningsProof:
        """The PCS opening stays bytes (the verifier's PCS decodes it strictly)."""
        count = r.count(MAX_PARTS, 40)  # a total, a sumcheck header and a value per part
        totals = r.ext(count)
        parts = tuple(SumcheckProof.read(r) for _ in range(count))
        joint = SumcheckProof.read(r)
        values = r.ext(count)
        return cls(totals, parts, joint, values, r.bytes(MAX_OPENING_BYTES))

    def sumchecks(self) -> list[SumcheckProof]:
        return [*self.parts, self.joint]


#: A decoded joint opening has at most this many parts.
MAX_PARTS = 1 << 12


def shared_vars(commitment: Commitment) -> int:
    """``k``: how many trailing point coordinates claims on different parts must share for
    the PCS to open them together (Ligero: ``log C``, the column coordinates; a scheme
    without such a constraint: 0)."""
    return int(getattr(commitment, "log_cols", 0))


def _absorb_parts(transcript: Transcript, commitment_bytes: bytes, claims: list[PartClaim]
                  ) -> None:
    """Absorb the commitment and every claim (term counts; per term its part, offset and
    point size; the points, coefficients and values) as one framed message."""
    terms = [t for c in claims for t in c.terms]
    head = np.array([len(c.terms) for c in claims], dtype="<u4").tobytes()
    meta = np.array([(p, o, pt.shape[0]) for p, o, pt, _ in terms], dtype="<u8").reshape(-1)
    blob = b"".join([
        len(claims).to_bytes(4, "little"), head, meta.astype("<u8").tobytes(),
        b"".join(pt.astype("<u8").tobytes() for _, _, pt, _ in terms),
        b"".join(co.astype("<u8").tobytes() for _, _, _, co in terms),
        b"".join(c.value.astype("<u8").tobytes() for c in claims),
    ])
    transcript.append_bytes(_LABEL_COMMITMENT, commitment_bytes)
    transcript.append_bytes(_LABEL_CLAIMS, blob)


def part_vars(parts: Parts, k: int) -> list[int]:
    """``m_s`` per part: the variables its sumcheck runs over. A part is zero from ``used_s``
    on, so its sum over the cube is the sum over the first ``2^m_s`` entries,
    ``m_s = max(k, ceil(log2 used_s))`` (at most ``m``): a small part costs its own size, not
    the largest part's. Its point on the whole part is ``(0, .., 0, r_s, r*)``."""
    return [min(parts.num_vars, max(k, (u - 1).bit_length())) for u in parts.used]


def _on_part(m: int, point: U64) -> U64:
    """A point on a part's first ``2^m_s`` entries as a point on the whole part (``m``
    variables): the missing leading coordinates are 0."""
    return np.concatenate([np.zeros((m - point.shape[0], 2), dtype=np.uint64), point])


def _check_claims(claims: list[PartClaim], sizes: list[int], check: str) -> None:
    """Every term's block lies in the first ``2^m_s`` entries of an existing part."""
    for c in claims:
        for part, offset, point, _ in c.terms:
            n = point.shape[0]
            if not (0 <= part < len(sizes) and 0 <= n <= sizes[part] and offset % (1 << n) == 0
                    and 0 <= offset and offset + (1 << n) <= (1 << sizes[part])):
                raise VerificationError(check, "malformed claim: a block outside its part")


def _part_weights(claims: list[PartClaim], g: U64, num_parts: int) -> list[list]:
    """Per part, its terms as ``(offset, point, gamma^i coeff)`` (the weight an
    :class:`~zkinfer.field.scalar.Fp2`)."""
    per: list[list] = [[] for _ in range(num_parts)]
    for gi, c in zip(Fp2.vector(g) if len(claims) else [], claims):
        for part, offset, point, coeff in c.terms:
            per[part].append((offset, point, gi * Fp2.from_array(coeff)))
    return per


def _weights_at(claims: Sequence[PartClaim], g: U64, sizes: Sequence[int],
                points: Sequence[U64]) -> U64:
    """``W_s(points[s])`` for every part ``s`` at once, ``(S, 2)``: the verifier's side of the
    weights :func:`_part_weights` gives the prover, vectorized over every term of every claim.

    Term ``t`` (claim ``i``, part ``s``, block offset ``o``, point ``p`` of ``n`` variables,
    coefficient ``c``) adds ``gamma^i c eq(P_t, r_s)``, ``P_t`` the bits of ``o >> n`` (most
    significant first) then ``p``, ``r_s = points[s]`` of ``m_s = sizes[s]`` variables. The
    factor splits as ``eq(bits, r_s[:m_s - n]) eq(p, r_s[m_s - n:])``; each distinct bit
    prefix and each distinct point (claims share them) is evaluated once (:func:`_eq_rows`).
    """
    count = len(sizes)
    if not claims:
        return ext.zeros((count,))
    size = np.asarray(sizes, dtype=np.int64)
    points = [np.asarray(r, dtype=np.uint64).reshape(-1, 2) for r in points]
    lows: dict[tuple, int] = {}
    highs: dict[tuple[int, int, int], int] = {}
    low_rows, high_rows, parts, which, coeffs, low_of, high_of = [], [], [], [], [], [], []
    for i, c in enumerate(claims):
        for part, offset, point, coeff in c.terms:
            n = point.shape[0]
            key = (part, n, point.tobytes())
            u = lows.get(key)
            if u is None:
                u = lows[key] = len(low_rows)
                low_rows.append((point, points[part][size[part] - n:]))
            nb = int(size[part]) - n
            hkey = (part, nb, offset >> n)
            v = highs.get(hkey)
            if v is None:
                v = highs[hkey] = len(high_rows)
                high_rows.append(hkey)
            parts.append(part)
            which.append(i)
            coeffs.append(coeff)
            low_of.append(u)
            high_of.append(v)
    low = _eq_rows([x for x, _ in low_rows], [r for _, r in low_rows])
    high = _eq_prefixes(high_rows, points)
    part = np.asarray(parts, dtype=np.int64)
    terms = ext.mul(ext.mul(g[np.asarray(which)], np.stack(coeffs)),
                    ext.mul(low[np.asarray(low_of)], high[np.asarray(high_of)]))
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(count + 1))
    terms = terms[order]
    return np.stack([ext.sum(terms[bounds[s]: bounds[s + 1]], axis=0) for s in range(count)])


def _eq_prefixes(rows: Sequence[tuple[int, int, int]], points: Sequence[U64]) -> U64:
    """``eq(bits, points[s][:nb])`` for each ``(s, nb, value)`` of ``rows``, ``bits`` the ``nb``
    bits of ``value`` most significant first: the factor ``r_k`` for a bit 1 and ``1 - r_k``
    for a 0, selected for every row at once, then multiplied along (:func:`_products`)."""
    if not rows:
        return ext.zeros((0,))
    part, nb, value = (np.asarray(col, dtype=np.int64) for col in zip(*rows))
    width = int(nb.max())
    if width == 0:
        return ext.ones((len(rows),))
    coords = np.zeros((len(points), width, 2), dtype=np.uint64)
    for k, r in enumerate(points):
        coords[k, : min(width, r.shape[0])] = r[:width]
    k = np.arange(width, dtype=np.int64)[None, :]
    live = k < nb[:, None]
    bit = ((value[:, None] >> np.maximum(nb[:, None] - 1 - k, 0)) & 1).astype(bool)
    r = coords[part]  # (rows, width, 2): the part's first coordinates
    factors = np.where(bit[..., None], r, ext.sub(ext.ones(()), r))
    factors[~live] = ext.ones(())  # beyond a row's nb coordinates: a factor 1
    return _products(factors)


def _products(factors: U64) -> U64:
    """The product along axis 1 of ``(rows, width, 2)`` extension factors, by halves."""
    f = factors
    while f.shape[1] > 1:
        if f.shape[1] % 2:
            f = np.concatenate([f, np.broadcast_to(ext.ones((1, 1)), (f.shape[0], 1, 2))], axis=1)
        f = ext.mul(f[:, 0::2], f[:, 1::2])
    return f[:, 0] if f.shape[1] else ext.ones((f.shape[0],))


def _eq_rows(xs: Sequence[U64], rs: Sequence[U64]) -> U64:
    """``eq(xs[j], rs[j])`` for every ``j`` (pairs of equal length, lengths may differ), in one
    padded pass: rows are left-padded with ``x = r = 0`` (an ``eq`` factor of 1), the factors
    ``2 x r - x - r + 1`` formed at once and multiplied along the coordinates by halves."""
    width = max((x.shape[0] for x in xs), default=0)
    x = np.zeros((len(xs), width, 2), dtype=np.uint64)
    r = np.zeros((len(xs), width, 2), dtype=np.uint64)
    for j, (xj, rj) in enumerate(zip(xs, rs)):
        if xj.shape[0]:
            x[j, width - xj.shape[0]:] = xj
            r[j, width - xj.shape[0]:] = rj
    xr = ext.mul(x, r)
    return _products(ext.add(ext.sub(ext.add(xr, xr), ext.add(x, r)), ext.ones(())))


_LIVE_SHIFT = 10
"""The part sumchecks skip pairs by chunks of ``2^10``: a chunk whose ``F`` entries are all zero
(a trace part is mostly zero padding and zero witness columns) adds nothing to a round."""


class _Product:
    """The prover's state of ``sum_x W(x) F(x)`` over ``2^n`` entries, ``W`` in the extension
    and ``F`` in the base field, both zero beyond their lengths: one round at a time, folding
    the first variable by each challenge (the first fold never embeds ``F``). Pairs whose ``F``
    entries are all zero, with every entry folded into them, are skipped by chunks (their
    ``W`` is still folded: it meets non-zero ``F`` in later rounds)."""

    def __init__(self, w: U64, f: U64, num_vars: int) -> None:
        from zkinfer.sumcheck import _kernels as SK

        self.w, self.f, self.size, self.work = w, f, 1 << num_vars, None
        self.pending: U64 | None = None  # the next round's values, summed while folding
        self.masks = SK.live_pairs(f, self.size, _LIVE_SHIFT)
        self.j = 0  # the round about to be summed

    def _live(self, j: int) -> tuple:
        from zkinfer.sumcheck import _kernels as SK

        if j < len(self.masks):
            return self.masks[j], _LIVE_SHIFT
        return SK.ALL_LIVE, SK.DENSE_SHIFT

    def round(self) -> U64:
        from zkinfer.sumcheck import _kernels as SK

        if self.pending is not None:
            values, self.pending = self.pending, None
            return values
        if self.work is None:
            return SK.round_prod2_mixed(self.w, self.f, self.size, *self._live(self.j))[0]
        return SK.round_prod2(self.work, self.size, *self._live(self.j))[0]

    def fold(self, r: U64) -> None:
        from zkinfer.sumcheck import _kernels as SK

        self.pending = None
        if self.work is None:
            self.work = np.empty((2, self.size // 2, 2), dtype=np.uint64)
            SK.fold_prod2_mixed_into(self.w, self.f, self.size, r[0], r[1], self.work,
                                     *self._live(self.j))
            self.w = self.f = None
        elif self.size >= 4:  # fold and the next round's sums in one pass
            self.pending = SK.fold_round_prod2(self.work, self.size, r[0], r[1],
                                               *self._live(self.j + 1))[0]
        else:
            SK.fold_ext_inplace(self.work, self.size, r[0], r[1])
        self.size //= 2
        self.j += 1

    def compact(self) -> None:
        """Keep only the live ``2 x size`` entries (folds in place leave the rest allocated)."""
        if self.work is not None and self.work.shape[1] > self.size:
            self.work = np.ascontiguousarray(self.work[:, : self.size])

    def values(self) -> tuple[U64, U64]:
        """``(W, F)`` once every variable is bound."""
        if self.work is None:
            w = self.w[0] if self.w.shape[0] else ext.zeros(())
            f = ext.from_base(self.f[:1])[0] if self.f.shape[0] else ext.zeros(())
            return w, f
        return self.work[0, 0].copy(), self.work[1, 0].copy()


def _sum_rounds(states: list[_Product], coeffs: U64 | None) -> U64:
    total = ext.zeros((3,))
    for k, st in enumerate(states):
        vals = st.round()
        total = ext.add(total, vals if coeffs is None else
                        ext.mul(vals, np.broadcast_to(coeffs[k], vals.shape)))
    return total


@dataclass(eq=False)
class Begun:
    """An opening of parts whose claims are absorbed and ``gamma`` drawn
    (:func:`begin_part_openings`): what the part sumchecks start from.

    Attributes:
        claims: the claims.
        gamma: the powers ``gamma^i``, one per claim.
        children: per part, its transcript (the state after ``gamma``, forked and labelled
            with the part's index).
        pending: prover side, when the part sumchecks were started elsewhere
            (:func:`start_part_sumchecks`): a callable ``(done) -> results``.
    """

    claims: list
    gamma: U64
    children: list
    pending: object = None


def begin_part_openings(commitment: Commitment, claims: Sequence[PartClaim],
                        transcript: Transcript, check: str = "openings") -> Begun:
    """Step 1 of :func:`prove_part_openings` (both sides): check the claims' blocks, absorb the
    commitment and the claims, draw ``gamma`` and fork one transcript per part.

    Raises:
        VerificationError: not a commitment of parts, or a claim's block outside its part.
    """
    claims = list(claims)
    parts = commitment.parts
    if parts is None:
        raise VerificationError(check, "not a commitment made of parts")
    k = min(shared_vars(commitment), parts.num_vars)
    _check_claims(claims, part_vars(parts, k), check)
    _absorb_parts(transcript, commitment.to_bytes(), claims)
    g = _gamma_powers(transcript, len(claims))
    children = []
    for s in range(parts.count):
        child = transcript.fork()
        child.append_int(_LABEL_PART, s)
        children.append(child)
    return Begun(claims, g, children)


def _part_args(commitment: Commitment, begun: Begun) -> list[tuple]:
    """Per part, the arguments of :func:`part_sumcheck` after ``piece``."""
    parts = commitment.parts
    k = min(shared_vars(commitment), parts.num_vars)
    sizes = part_vars(parts, k)
    per = _part_weights(begun.claims, begun.gamma, parts.count)
    return [(per[s], begun.children[s], sizes[s], k) for s in range(parts.count)]


def start_part_sumchecks(commitment: Commitment, data: ProverData, begun: Begun) -> None:
    """Start step 2 (every part's sumcheck) now where the parts live elsewhere: prover data with
    a ``start_parts(fn, args)`` method (a cluster's, :mod:`zkinfer.cluster`) runs them in the
    background, and :func:`prove_part_openings` collects the results. Other data: nothing
    (the parts are summed when the opening is proven)."""
    start = getattr(data, "start_parts", None)
    if start is not None and begun.pending is None:
        begun.pending = start(part_sumcheck, _part_args(commitment, begun))


def part_sumcheck(piece, terms: list, child: Transcript, ms: int, k: int):
    """Step 2 of :func:`prove_part_openings` for one part (any process that holds the part).

    Arguments:
        piece: the part's :class:`~zkinfer.commit.base.PartData` (its ``vector`` is ``F_s``).
        terms: its terms ``(offset, point, gamma^i coeff)``.
        child: the part's transcript (the shared state forked with the part's index).
        ms: the variables of its sum (:func:`part_vars`); ``k``: the shared ones.

    Returns:
        ``(T_s, rounds, r_s, state, digest)``: its claimed sum, its ``ms - k`` round
        polynomials, their challenges, its batching state over the last ``k`` variables
        (``2^k`` entries per table) and its transcript's final state.
    """
    from zkinfer.poly import fast
    from zkinfer.protocol import _kernels as K
    from zkinfer.sumcheck.common import begin, round_challenge

    f = piece.vector
    w = np.zeros((f.shape[0], 2), dtype=np.uint64)
    # terms grouped by point; a eq(z, .) is added to its block from two square-root-size eq
    # tables, eq(z, (h, l)) = eq(z_hi, h) eq(z_lo, l), with no 2^n-entry table
    by_point: dict[bytes, tuple[U64, list]] = {}
    for offset, point, a in terms:
        a = np.array(a, dtype=np.uint64)  # the kernel takes canonical words
        by_point.setdefault(point.tobytes(), (point, []))[1].append((offset, a))
    for point, uses in by_point.values():
        n = point.shape[0]
        split = n // 2
        hi, lo = fast.eq_table(point[:split]), fast.eq_table(point[split:])
        for offset, a in uses:
            K.eq_axpy(w[offset: offset + (1 << n)], ext.mul(hi, a), lo)
    st = _Product(w, f, ms)
    del w, f
    total = ext.zeros(())
    rounds = np.empty((ms - k, 3, 2), dtype=np.uint64)
    pt = np.empty((ms - k, 2), dtype=np.uint64)
    for j in range(ms - k):
        rounds[j] = st.round()
        if j == 0:
            total = ext.add(rounds[0][0], rounds[0][1])
            begin(child, ms - k, _EXPR, total)
        pt[j] = round_challenge(child, rounds[j])
        st.fold(pt[j])
    if ms - k == 0:
        vals = st.round() if ms else None
        total = ext.add(vals[0], vals[1]) if ms else ext.mul(*st.values())
        begin(child, 0, _EXPR, total)
    st.compact()  # what the joint rounds need: 2^k entries per table
    if st.work is None:  # no round folded: keep its own copies (no view of the part)
        st.w, st.f = np.array(st.w), np.array(st.f)
    drop_pages(piece.vector, random=False)  # a spilled part: unmap the pages its sumcheck read
    return total, rounds, pt, st, child.digest()


def prove_part_openings(pcs: PCS, commitment: Commitment, data: ProverData,
                        claims: Sequence[PartClaim], transcript: Transcript,
                        progress=None, begun: Begun | None = None) -> JointOpeningsProof:
    """Prove every claim on a commitment of parts (all values given) with one opening.

    The protocol (``S`` parts of ``m`` variables, ``k`` = :func:`shared_vars`, part ``s``
    summed over its first ``2^m_s`` entries, :func:`part_vars`):

    1. absorb the commitment and the claims; draw ``gamma``; part ``s`` has
       ``W_s(x) = sum_i gamma^i sum_{j in claim i, on part s} c_j eq(g_j, x)`` and the claims
       say ``sum_s T_s = sum_i gamma^i v_i`` with ``T_s = sum_x W_s(x) F_s(x)``;
    2. per part, on a transcript forked from the shared state with the part's index: absorb
       ``T_s`` and run the sumcheck of ``W_s F_s`` over its first ``m_s - k`` variables (challenges
       ``r_s``), which leaves ``T'_s = sum_y W_s(r_s, y) F_s(r_s, y)``; the parts are
       independent (any order, any machine), and only their transcripts' final states return;
    3. absorb those states in part order; draw ``alpha``; one sumcheck of
       ``sum_s alpha^s W_s(r_s, y) F_s(r_s, y)`` over the last ``k`` variables (challenges
       ``r*``); send ``v_s = F_s(r_s, r*)``; the verifier computes every ``W_s(r_s, r*)``;
    4. the PCS opens each part at ``(r_s, r*)``: the points share their last ``k``
       coordinates, which is what one opening needs.

    Soundness error: ``K / p^2`` (gamma, ``K`` claims) + ``2 sum_s (m_s - k) / p^2`` (the part
    sumchecks) + ``S / p^2`` (alpha) + ``2 k / p^2`` (the joint sumcheck) + the PCS's.

    Memory: one part's ``W_s`` and tables at a time in step 2; step 3 holds ``2^k`` entries per
    part.

    ``begun``: step 1 already done (:func:`begin_part_openings`; the engine begins both
    commitments' openings before proving either, so that a cluster sums the parts of both at
    once, :func:`start_part_sumchecks`); ``claims`` are then ``begun``'s.
    """
    from zkinfer.sumcheck.common import begin, round_challenge

    parts = commitment.parts
    num_parts, m = parts.count, parts.num_vars
    k = min(shared_vars(commitment), m)
    if begun is None:
        begun = begin_part_openings(commitment, claims, transcript)
    if progress is not None:
        progress("batching sumcheck", 0, num_parts)
    done_parts = None if progress is None else (
        lambda count: progress("batching sumcheck", count, num_parts))
    # step 2, where each part is (its own process on a cluster: ProverData.map_parts)
    if begun.pending is not None:
        done = begun.pending(done_parts)
    else:
        done = data.map_parts(part_sumcheck, _part_args(commitment, begun), done_parts)
    totals = np.stack([d[0] for d in done]) if done else np.zeros((0, 2), dtype=np.uint64)
    part_proofs = [SumcheckProof.from_rounds(d[1]) for d in done]
    points = [d[2] for d in done]
    states = [d[3] for d in done]
    digests = [d[4] for d in done]
    transcript.append_bytes(_LABEL_PARTS, b"".join(digests))
    alpha = _gamma_powers(transcript, num_parts, _LABEL_ALPHA)
    rounds = np.empty((k, 3, 2), dtype=np.uint64)
    shared = np.empty((k, 2), dtype=np.uint64)
    for j in range(k):
        rounds[j] = _sum_rounds(states, alpha)
        if j == 0:
            begin(transcript, k, _EXPR, ext.add(rounds[0][0], rounds[0][1]))
        shared[j] = round_challenge(transcript, rounds[j])
        for st in states:
            st.fold(shared[j])
    if k == 0:
        claim = ext.zeros(())
        for a, st in zip(alpha, states):
            wv, fv = st.values()
            claim = ext.add(claim, ext.mul(a, ext.mul(wv, fv)))
        begin(transcript, 0, _EXPR, claim)
    values = np.stack([st.values()[1] for st in states])
    transcript.append_ext(_LABEL_VALUES, values)
    final = [OpeningClaim(s, _on_part(m, np.concatenate([points[s], shared])), values[s])
             for s in range(num_parts)]
    opening = pcs.open(data, final, transcript, progress=progress)
    return JointOpeningsProof(totals, tuple(part_proofs), SumcheckProof.from_rounds(rounds), values,
                              opening)


def verify_part_openings(pcs: PCS, commitment: Commitment, claims: Sequence[PartClaim],
                         proof: JointOpeningsProof, transcript: Transcript,
                         check: str = "openings", begun: Begun | None = None,
                         later: list | None = None) -> None:
    """Verify every claim on a commitment of parts (see :func:`prove_part_openings`;
    ``begun``: step 1 already done by :func:`begin_part_openings`).

    With a list ``later``, the checks that read no transcript are appended to it as calls
    (each raises its failure) instead of being made: the final weighted sum, then the PCS's
    own (:meth:`~zkinfer.commit.base.PCS.replay`). The transcript ends in the same state.

    Raises:
        VerificationError: a malformed claim, another number of parts than the commitment's,
            ``sum_s T_s`` differs from the claims' combination, a sumcheck fails, the final
            ``sum_s alpha^s W_s F_s`` does not match, or the PCS rejects the opening.
    """
    from zkinfer.sumcheck.common import begin
    from zkinfer.sumcheck.verifier import verify

    if begun is None:
        begun = begin_part_openings(commitment, claims, transcript, check)
    claims, g = begun.claims, begun.gamma
    parts = commitment.parts
    num_parts, m = parts.count, parts.num_vars
    k = min(shared_vars(commitment), m)
    sizes = part_vars(parts, k)
    if len(proof.parts) != num_parts or proof.totals.shape != (num_parts, 2) \
            or proof.values.shape != (num_parts, 2):
        raise VerificationError(check, "wrong number of parts", expected=num_parts,
                                got=len(proof.parts))
    total = ext.sum(ext.mul(g, np.stack([c.value for c in claims])), axis=0) if claims \
        else ext.zeros(())
    totals = ext.as_ext(proof.totals, "part sums")
    if not np.array_equal(ext.sum(totals, axis=0), total):
        raise VerificationError(check, "the parts' sums do not add up to the claims")
    points, reduced, digests = [], [], []
    for s in range(num_parts):
        child = begun.children[s]
        pt, claim = verify(totals[s], sizes[s] - k, _EXPR, proof.parts[s], child,
                           check=f"{check} (part {s})")
        points.append(pt)
        reduced.append(claim)
        digests.append(child.digest())
    transcript.append_bytes(_LABEL_PARTS, b"".join(digests))
    alpha = _gamma_powers(transcript, num_parts, _LABEL_ALPHA)
    joint_claim = ext.sum(ext.mul(alpha, np.stack(reduced)), axis=0)
    if k:
        shared, final = verify(joint_claim, k, _EXPR, proof.joint, transcript, check=check)
    else:
        if proof.joint.messages.shape[0] != 0:
            raise VerificationError(check, "wrong number of rounds", expected=0,
                                    got=int(proof.joint.messages.shape[0]))
        begin(transcript, 0, _EXPR, joint_claim)
        shared, final = np.zeros((0, 2), dtype=np.uint64), joint_claim
    values = ext.as_ext(proof.values, "opened values")
    full = [np.concatenate([points[s], shared]) for s in range(num_parts)]

    def final_sum() -> None:
        weights = _weights_at(claims, g, sizes, full)
        got = ext.sum(ext.mul(ext.mul(alpha, weights), values), axis=0)
        if not np.array_equal(got, final):
            raise VerificationError(check, "final evaluation sum_s alpha^s W_s F_s does not "
                                    "match", expected=tuple(map(int, final)),
                                    got=tuple(map(int, got)))

    if later is None:
        final_sum()
    else:
        later.append(final_sum)
    transcript.append_ext(_LABEL_VALUES, values)
    opened = [OpeningClaim(s, _on_part(m, full[s]), values[s]) for s in range(num_parts)]
    if later is None:
        pcs.verify(commitment, opened, proof.opening, transcript)
    else:
        later.append(pcs.replay(commitment, opened, proof.opening, transcript))
