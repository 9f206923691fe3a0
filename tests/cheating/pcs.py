"""Cheating provers for the PCS, sumcheck and LogUp layers (tests only, never the public prover).

Each function here runs the real transcript schedule (the library's own ``schedule`` /
``begin`` / ``round_challenge`` functions, so prover and verifier cannot drift apart) and lets
a test doctor one message, so the proof passes every check except the one under test:

- :func:`ligero_open`: the Ligero opening (of a plain commitment or of one made of parts) with
  hooks on the proximity value ``s``, the rows ``u_g``, the grinding nonce and the opened
  column set; everything after a hook is computed
  from the doctored message, as an honest prover would (nonce, queries, Merkle multi-proof).
  :func:`vanishing_shift` builds the row shift of a false opening: ``u_g + lambda Z`` with
  ``Z`` vanishing on chosen code positions, so ``Enc(u_g)`` still agrees with the committed
  columns there and ``<u_g, eq(col point)>`` equals the false claim;
- :func:`sumcheck_prove`: a reference sumcheck prover (numpy, small sizes) whose absorbed claim,
  round polynomials and number of rounds can be doctored;
- :func:`lookup_prove`: the LogUp prover's schedule with a hook on the columns after ``alpha``
  is drawn (:func:`zero_denominator_columns`: a look-up whose root denominator is zero).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from zkinfer.commit import LigeroPCS, OpeningClaim
from zkinfer.commit.base import prover_claims
from zkinfer.commit.ligero import code, merkle, schedule
from zkinfer.commit.ligero import prover as ligero_prover
from zkinfer.commit.ligero.proof import LigeroProof
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.lookup import logup
from zkinfer.lookup.gkr import prove_fraction_sum
from zkinfer.poly import multilinear
from zkinfer.poly.univariate import interpolate_at
from zkinfer.sumcheck.common import Expression, SumcheckProof, begin, round_challenge
from zkinfer.transcript import Transcript

__all__ = [
    "LigeroContext",
    "ligero_open",
    "queries_accept_subsets",
    "with_offset",
    "combined_rows",
    "committed_columns",
    "code_points",
    "vanishing_shift",
    "shift_rows",
    "SumcheckRun",
    "AbsorbAs",
    "sumcheck_prove",
    "x_multiple",
    "lookup_prove",
    "zero_denominator_columns",
]

U64 = npt.NDArray[np.uint64]

# ---- Ligero


@dataclass
class LigeroContext:
    """What a cheating Ligero prover knows when its hooks run (filled in transcript order).

    Attributes:
        pcs: the scheme (its parameters fix queries and grinding).
        data: the prover data of the commitment being opened.
        claims: the checked claims ``(poly, point, value)``, values as given (possibly false).
        groups: the claims grouped by column point.
        rho, gamma: the claim and proximity coefficients drawn first.
        w_row: the proximity row ``gamma^T M``.
        s: the proximity value sent (after the ``proximity`` hook).
        beta: the proximity weight drawn after ``s``.
        u_rows: the honest rows ``u_0 = (A_0 + beta gamma)^T M``, ``u_g = A_g^T M`` (``(G, C, 2)``).
        targets: what the verifier's evaluation check wants ``<u_g, eq(col point_g)>`` to be:
            ``V_g (+ beta s for g = 0)`` from the claims as given (``(G, 2)``).
        seed: the grinding puzzle after the rows are absorbed.
        nonce: the nonce sent.
        queried: the verifier's distinct queried columns, increasing.
    """

    pcs: LigeroPCS
    data: ligero_prover.LigeroProverData | ligero_prover.LigeroPartsData
    claims: list
    groups: schedule.Groups
    rho: U64
    gamma: U64
    w_row: U64 = field(default=None)
    s: U64 = field(default=None)
    beta: U64 = field(default=None)
    u_rows: U64 = field(default=None)
    targets: U64 = field(default=None)
    seed: bytes = b""
    nonce: object = None
    queried: list = field(default_factory=list)

    def col_table(self, g: int) -> U64:
        """``b_g = eq(col point of group g)``: ``(C, 2)``."""
        return multilinear.eq_table(self.groups.col_points[g])


def _inner(a: U64, b: U64) -> U64:
    """``sum_i a_i b_i`` of two extension vectors."""
    return ext.sum(ext.mul(a, b), axis=0)


def ligero_open(
    pcs: LigeroPCS,
    data: ligero_prover.LigeroProverData | ligero_prover.LigeroPartsData,
    claims: Sequence[OpeningClaim],
    transcript: Transcript,
    *,
    proximity: Callable[[LigeroContext], U64] | None = None,
    rows: Callable[[LigeroContext], U64] | None = None,
    nonce: Callable[[LigeroContext], object] | None = None,
    opened: Callable[[LigeroContext], Sequence[int]] | None = None,
    columns: Callable[[LigeroContext, Sequence[int]], U64] | None = None,
    context: list | None = None,
) -> LigeroProof:
    """The Ligero opening of ``claims`` (values as given: a false value is absorbed as the
    verifier will absorb it), with hooks on each prover message.

    Without hooks this is :func:`zkinfer.commit.ligero.prover.open_claims` (same bytes).

    Arguments:
        pcs, data, claims, transcript: as for :meth:`LigeroPCS.open`; every claim value given.
        proximity: ``ctx -> s`` replaces the proximity value before ``beta`` is drawn.
        rows: ``ctx -> u_rows`` replaces the rows (``ctx.u_rows`` holds the honest ones and
            ``ctx.targets`` what the evaluation check wants).
        nonce: ``ctx -> nonce`` replaces the grinding (``ctx.seed`` is the puzzle); a value that
            is not an integer in ``[0, 2^64)`` is sent as is and ``0`` is absorbed instead.
        opened: ``ctx -> indices`` the opened column indices (default ``ctx.queried``); may be
            a subset, reordered or repeat an index. The Merkle multi-proof is that of their
            sorted distinct set (valid for any increasing subset).
        columns: ``(ctx, indices) -> columns`` replaces the opened columns (default: the
            committed columns at ``indices``).
        context: when a list, the final :class:`LigeroContext` is appended to it.

    Returns:
        The (possibly forged) proof object.
    """
    com = data.commitment
    checked = prover_claims(data, claims)
    groups = schedule.group_claims(data.layout, checked, com.log_cols)
    # rho, gamma <- transcript (after commitment and claims)
    rho, gamma = schedule.begin(transcript, com.to_bytes(), checked, com.rows)
    ctx = LigeroContext(pcs, data, checked, groups, rho, gamma)
    coeffs = np.concatenate([schedule.row_coefficients(groups, rho, com.row_layout),
                             gamma[None]])
    combined = combined_rows(data, np.ascontiguousarray(coeffs))
    u_rows, ctx.w_row = combined[:-1].copy(), combined[-1].copy()
    # s = <w, b_0>; beta <- transcript
    ctx.s = _inner(ctx.w_row, ctx.col_table(0))
    if proximity is not None:
        ctx.s = np.asarray(proximity(ctx), dtype=np.uint64)
    ctx.beta = schedule.absorb_proximity_value(transcript, ctx.s)
    u_rows[0] = ext.add(u_rows[0], ext.mul(ctx.w_row, ctx.beta))
    ctx.u_rows = u_rows
    targets = schedule.group_values(groups, checked, rho)
    targets[0] = ext.add(targets[0], ext.mul(ctx.beta, ctx.s))
    ctx.targets = targets
    sent_rows = u_rows if rows is None else np.ascontiguousarray(rows(ctx), dtype=np.uint64)
    schedule.absorb_rows(transcript, sent_rows)
    # grinding; queries <- transcript
    bits = pcs.params.grinding_bits
    ctx.seed = schedule.grinding_seed(transcript, bits)
    ctx.nonce = schedule.find_nonce(ctx.seed, bits) if nonce is None else nonce(ctx)
    sent = ctx.nonce
    in_range = (not isinstance(sent, bool) and isinstance(sent, (int, np.integer))
                and 0 <= int(sent) < 1 << 64)
    schedule.absorb_nonce(transcript, int(sent) if in_range else 0)
    ctx.queried = schedule.draw_queries(transcript, 1 << com.log_length, pcs.params.queries)
    indices = list(ctx.queried if opened is None else opened(ctx))
    cols = committed_columns(data, indices) if columns is None else columns(ctx, indices)
    cols = np.ascontiguousarray(cols, dtype=np.uint64)
    siblings = tuple(merkle.open_siblings(data.levels, sorted(set(indices))))
    schedule.absorb_opened(transcript, cols, siblings)
    if context is not None:
        context.append(ctx)
    return LigeroProof(com.rows, com.log_cols, ctx.s, sent_rows, sent, tuple(indices), cols,
                       siblings)


def combined_rows(data, coeffs: U64) -> U64:
    """``coeffs^T M`` of the committed matrix (of parts: the parts' rows stacked)."""
    if isinstance(data, ligero_prover.LigeroPartsData):
        return ligero_prover._combine_parts(data, coeffs)
    matrix = data.rows
    combined = np.empty((coeffs.shape[0], matrix.shape[1], 2), dtype=np.uint64)
    ligero_prover.K.combine_rows(matrix, coeffs, combined)
    return combined


def committed_columns(data, indices: Sequence[int]) -> U64:
    """The committed encoded columns at ``indices`` (of parts: each column's parts' slices,
    in part order), as the Ligero prover opens them."""
    if isinstance(data, ligero_prover.LigeroPartsData):
        return np.concatenate([ligero_prover.part_columns(p, indices) for p in data.pieces],
                              axis=1)
    return data.encoded[list(indices)]


@contextmanager
def queries_accept_subsets(opened: Sequence[int]) -> Iterator[None]:
    """Within this block the Ligero verifier follows the weakened rule its ``queries`` check
    forbids: when ``opened`` is an increasing subset of the queried columns, it takes them for
    the queries (and checks evaluation, Merkle paths and consistency on them only).

    It replaces :func:`zkinfer.commit.ligero.schedule.draw_queries` (the transcript is still
    advanced as before), so the verifier's own code decides everything else: a forged proof
    accepted here is one that only the exact-set rule rejects.
    """
    real = schedule.draw_queries
    wanted = [int(j) for j in opened]

    def draw(transcript: Transcript, length: int, queries: int) -> list[int]:
        drawn = real(transcript, length, queries)
        ok = set(wanted) <= set(drawn) and all(a < b for a, b in zip(wanted, wanted[1:]))
        return wanted if ok else drawn

    schedule.draw_queries = draw
    try:
        yield
    finally:
        schedule.draw_queries = real


def with_offset(claims: Sequence[OpeningClaim], index: int, delta: npt.ArrayLike) -> list[OpeningClaim]:
    """``claims`` with claim ``index``'s value moved by ``delta`` (a false claim)."""
    out = list(claims)
    c = out[index]
    out[index] = OpeningClaim(c.poly, c.point, ext.add(np.asarray(c.value, dtype=np.uint64), delta))
    return out


def code_points(log_cols: int, log_blowup: int, positions: Sequence[int]) -> list[int]:
    """The evaluation points ``x_j = w^bitrev(j)`` of code positions ``j`` (see
    :mod:`zkinfer.commit.ligero.code`)."""
    log_len = log_cols + log_blowup
    w = gl.root_of_unity(log_len)
    exps = code.bitrev(np.asarray(positions, dtype=np.int64), log_len)
    return [pow(w, int(e), gl.P) for e in exps]


def _vanishing_poly(points: Sequence[int], size: int) -> U64:
    """Coefficients (low degree first, ``size`` of them) of ``prod_j (X - x_j)``."""
    if len(points) >= size:
        raise ValueError("a message of C coefficients vanishes on at most C - 1 positions")
    coeffs = [1]
    for x in points:
        # (c_0 + c_1 X + ...) (X - x)
        nxt = [0] * (len(coeffs) + 1)
        for i, c in enumerate(coeffs):
            nxt[i + 1] = (nxt[i + 1] + c) % gl.P
            nxt[i] = (nxt[i] - c * x) % gl.P
        coeffs = nxt
    return np.array(coeffs + [0] * (size - len(coeffs)), dtype=np.uint64)


def vanishing_shift(ctx: LigeroContext, group: int, rows: U64, agree: Sequence[int]) -> U64:
    """The shift ``lambda Z`` of ``rows[group]`` that makes the evaluation check of ``group``
    hold for the claims as given, with ``Enc(lambda Z)`` zero at the code positions ``agree``
    (at most ``C - 1`` of them): there the shifted row's encoding still equals the committed
    combination, so only columns outside ``agree`` can expose it.

    Returns:
        ``(C, 2)``: add it to ``rows[group]``.
    """
    com = ctx.data.commitment
    z = ext.from_base(_vanishing_poly(code_points(com.log_cols, com.log_blowup, agree),
                                      1 << com.log_cols))
    b = ctx.col_table(group)
    missing = ext.sub(ctx.targets[group], _inner(rows[group], b))
    lam = ext.mul(missing, ext.inv(_inner(z, b)))
    return ext.mul(z, lam)


def shift_rows(group: int, agree: Sequence[int] = ()) -> Callable[[LigeroContext], U64]:
    """A ``rows`` hook for :func:`ligero_open`: honest rows, ``u_group`` shifted by
    :func:`vanishing_shift` so its evaluation check holds for a false claim."""

    def hook(ctx: LigeroContext) -> U64:
        u = ctx.u_rows.copy()
        u[group] = ext.add(u[group], vanishing_shift(ctx, group, u, agree))
        return u

    return hook


# ---- sumcheck


@dataclass(frozen=True, eq=False)
class SumcheckRun:
    """What :func:`sumcheck_prove` ends with.

    Attributes:
        proof: the (possibly doctored) round polynomials.
        claim: the claim absorbed and to be handed to the verifier.
        true_claim: the real sum.
        point: the challenges of the real rounds.
        evaluations: ``f_j(point)`` of the tables (what an honest later step would prove).
    """

    proof: SumcheckProof
    claim: U64
    true_claim: U64
    point: U64
    evaluations: U64


def _evaluate_rows(expr: Expression, values: U64) -> U64:
    """``sum_i P(values[:, i])`` for ``values`` of shape ``(k, N, 2)``: shape ``(2,)``."""
    total = ext.zeros(())
    coeffs = expr.coeff_array()
    for c, term in zip(coeffs, expr.terms):
        prod = np.broadcast_to(c, values.shape[1:]).copy()
        for j in term:
            prod = ext.mul(prod, values[j])
        total = ext.add(total, ext.sum(prod, axis=0))
    return total


def _half(a: U64) -> U64:
    """``a / 2`` in ``F_p2``."""
    return ext.mul(a, ext.from_base(np.uint64((gl.P + 1) // 2)))


def sumcheck_prove(
    tables: Sequence[npt.ArrayLike],
    expr: Expression,
    transcript: Transcript,
    *,
    claim: npt.ArrayLike | None = None,
    adapt: bool = False,
    tamper: Callable[[int, U64], U64] | None = None,
    extra_rounds: int = 0,
) -> SumcheckRun:
    """A reference sumcheck prover of ``sum_x P(f(x))`` with doctored messages (small tables).

    Without options its proof equals :func:`zkinfer.sumcheck.prover.prove`'s. The first
    variable bound is the most significant index bit.

    Arguments:
        tables: base ``(N,)`` or extension ``(N, 2)`` tables, ``N = 2^n``.
        expr: ``P``.
        transcript: absorbs the statement (with ``claim``) and every real round.
        claim: the claim to absorb and prove (default: the true sum).
        adapt: keep every round consistent with a false ``claim``: each round polynomial is the
            honest one plus the constant ``(claim_j - true_j) / 2``, so ``s_j(0) + s_j(1)``
            equals the running claim and only the final check can notice (the offset halves
            each round, it never vanishes).
        tamper: ``(j, values) -> values`` replaces round ``j``'s values before they are
            absorbed (the challenge is then drawn from the doctored values).
        extra_rounds: append this many rounds after the real ones, each consistent with the
            running claim (the constant polynomial ``claim / 2``); they are not absorbed (a
            verifier that ignored them would not absorb them either).

    Returns:
        :class:`SumcheckRun`.
    """
    work = np.stack([ext.from_base(t) if np.asarray(t).ndim == 1 else ext.as_ext(t)
                     for t in tables]).astype(np.uint64)
    n = int(work.shape[1]).bit_length() - 1
    degree = expr.degree
    true_claim = _evaluate_rows(expr, work)
    cur = true_claim if claim is None else ext.as_ext(np.asarray(claim, dtype=np.uint64))
    absorbed = cur
    begin(transcript, n, expr, absorbed)
    rounds = np.zeros((n + extra_rounds, degree + 1, 2), dtype=np.uint64)
    point = np.zeros((n, 2), dtype=np.uint64)
    for j in range(n):
        h = work.shape[1] // 2
        lo, hi = work[:, :h], work[:, h:]
        diff = ext.sub(hi, lo)
        values = np.stack([
            _evaluate_rows(expr, ext.add(lo, ext.mul_base(diff, np.uint64(x))))
            for x in range(degree + 1)
        ])
        true_sum = ext.add(values[0], values[1])
        if adapt:
            values = ext.add(values, _half(ext.sub(cur, true_sum)))
        if tamper is not None:
            values = np.asarray(tamper(j, values.copy()), dtype=np.uint64)
        rounds[j] = values
        r = round_challenge(transcript, values)
        point[j] = r
        # claim <- s_j(r): the interpolation of the values actually sent
        cur = np.asarray(interpolate_at(values, r), dtype=np.uint64)
        work = ext.add(lo, ext.mul(diff, r))
    for e in range(extra_rounds):
        rounds[n + e] = np.broadcast_to(_half(cur), (degree + 1, 2))
    evaluations = work[:, 0, :].copy()
    return SumcheckRun(SumcheckProof.from_rounds(rounds), absorbed, true_claim, point, evaluations)


class AbsorbAs(Transcript):
    """A transcript that absorbs ``replacement`` whenever ``label`` is absorbed.

    Lets the verifier's own code check a proof against one value (e.g. the true sum) while its
    challenges are those of another (the false claim a forged proof was made for): when it
    accepts, only the comparison of those two values separates the forgery from acceptance.
    """

    __slots__ = ("_label", "_replacement")

    def __init__(self, domain: bytes, label: bytes, replacement: npt.ArrayLike) -> None:
        super().__init__(domain)
        self._label = label
        self._replacement = np.asarray(replacement, dtype=np.uint64)

    def append_ext(self, label: bytes, values: npt.ArrayLike) -> None:
        """Absorb ``values``, or the replacement under the replaced label."""
        super().append_ext(label, self._replacement if label == self._label else values)


def x_multiple(c: int) -> U64:
    """``c X``: the extension element ``(0, c)`` (a base element has ``(c, 0)``)."""
    return np.array([0, c % gl.P], dtype=np.uint64)


# ---- LogUp


def lookup_prove(
    f: npt.ArrayLike,
    t: npt.ArrayLike,
    m: npt.ArrayLike,
    transcript: Transcript,
    *,
    doctor: Callable[[U64, U64, U64, U64], tuple[U64, U64, U64]] | None = None,
) -> tuple[logup.LookupProof, tuple[U64, U64, U64]]:
    """The LogUp prover's schedule (:func:`zkinfer.lookup.logup.prove_lookup`), with the columns
    replaced after ``alpha`` is drawn by ``doctor(alpha, f, t, m) -> (f, t, m)`` (extension
    columns). The fraction tree, the GKR and the column evaluations are those of the doctored
    columns, so every check that depends on them holds for them.

    Returns:
        ``(proof, (f, t, m))``: the proof and the columns it is about.
    """
    from zkinfer.poly import fast

    fe, te, me = (logup._as_ext_column(a, name) for a, name in ((f, "f"), (t, "t"), (m, "m")))
    m_size, t_size = fe.shape[0], te.shape[0]
    alpha = logup._begin(transcript, m_size, t_size)
    if doctor is not None:
        fe, te, me = (np.ascontiguousarray(a, dtype=np.uint64) for a in doctor(alpha, fe, te, me))
    s = max(m_size, t_size)
    # leaves: (1, alpha - f_i) then padding (0, 1) | (-m_j, alpha - t_j) then padding (0, 1)
    p = np.zeros((2 * s, 2), dtype=np.uint64)
    q = np.zeros((2 * s, 2), dtype=np.uint64)
    q[:, 0] = 1
    p[:m_size, 0] = 1
    q[:m_size] = ext.sub(alpha, fe)
    p[s : s + t_size] = ext.neg(me)
    q[s : s + t_size] = ext.sub(alpha, te)
    frac, _, r = prove_fraction_sum(p, q, transcript)
    rest = r[1:]
    f_point = rest[s.bit_length() - m_size.bit_length():]
    t_point = rest[s.bit_length() - t_size.bit_length():]
    evals = np.stack([fast.evaluate(fe, f_point), fast.evaluate(me, t_point),
                      fast.evaluate(te, t_point)])
    transcript.append_ext(logup._LABEL_EVALS, evals)
    return logup.LookupProof(frac, evals), (fe, te, me)


def zero_denominator_columns(side: str = "lookup"):
    """A ``doctor`` for :func:`lookup_prove` whose fraction tree has root ``(0, 0)``.

    ``side="lookup"``: the first two looked-up values become ``alpha`` (two leaves ``1 / 0``:
    every product in the root's numerator and its denominator has a zero factor);
    ``side="table"``: table row 0 becomes ``alpha`` with multiplicity 0 (one leaf ``0 / 0``).
    Either way the root says nothing about the other values: without the denominator check a
    look-up of values outside the table would pass.
    """

    def doctor(alpha: U64, fe: U64, te: U64, me: U64) -> tuple[U64, U64, U64]:
        fe, te, me = fe.copy(), te.copy(), me.copy()
        if side == "lookup":
            fe[:2] = alpha
        else:
            te[0] = alpha
            me[0] = 0
        return fe, te, me

    return doctor
