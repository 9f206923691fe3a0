"""Parameters of the Ligero-style PCS: code rate, query count, soundness, matrix shape.

Soundness (provable, unique-decoding regime; the default)
---------------------------------------------------------
The committed vector is an ``R x C`` matrix ``M`` whose rows are Reed-Solomon encoded to length
``L = C / rho`` (code ``RS[L, C]``, minimum distance ``d = L - C + 1``). Let
``e = floor((L - C) / 2)`` be the unique-decoding radius (``2e < d``). The opening (see
:mod:`zkinfer.commit.ligero.schedule`) sends, for each group ``g`` of claims sharing a column
point ``b_g``, a row ``u_g`` claimed to be ``c_g^T M`` with ``c_0 = A_0 + beta gamma`` and
``c_g = A_g`` (``g >= 1``), plus ``s = <gamma^T M, b_0>`` sent before ``beta`` is drawn; the
verifier checks ``<u_g, b_g> = V_g (+ beta s for g = 0)`` and ``Enc(u_g) = c_g^T M`` at ``t``
random columns. It accepts a false claim only if one of these happens:

1. *Proximity gap*: ``M`` is more than ``e`` columns from the interleaved code, yet
   ``c_0^T M`` is within ``e`` of the code. ``gamma`` is uniform in ``E^R`` (``E = F_p2``) and
   drawn after ``M`` is fixed, so for ``beta != 0`` the combination ``c_0`` is uniform too:
   probability at most ``L / |E|`` (Ben-Sasson, Carmon, Ishai, Kopparty, Saraf 2020, "Proximity
   gaps for Reed-Solomon codes", unique-decoding regime, affine spaces), plus ``1 / |E|`` for
   ``beta = 0``.
2. *Queries*: otherwise some sent codeword ``Enc(u_g)`` differs from the committed combination
   ``c_g^T M`` on at least ``e + 1 > (1 - rho) L / 2`` columns (far case: ``c_0^T M`` is more
   than ``e`` from every codeword; close case, ``M`` decoding to ``M*``: a row
   ``u_g != c_g^T M*`` gives ``Enc(u_g)`` at distance ``>= d`` from ``c_g^T M*``, which is within
   ``e`` of ``c_g^T M``). Each of the ``t`` independent uniform queries misses them with
   probability at most ``(1 + rho) / 2``.
3. *Algebra*: all rows right (``u_g = c_g^T M*``) but a claim false: claims in a group are
   combined with independent uniform ``rho_k`` in ``E``, so a false claim survives with
   probability ``<= 1 / |E|`` per group (``G <= MAX_GROUPS`` groups); and for group 0,
   ``V_0^true + beta s^true = V_0 + beta s`` with ``V_0 != V_0^true`` holds for at most one
   ``beta`` since ``s`` is fixed before ``beta``: ``1 / |E|``.

So the soundness error is at most ``((1 + rho) / 2)^t + (L_max + MAX_GROUPS + 2) / p^2`` where
``L_max`` is the longest codeword this module allows (``2^(MAX_LOG_COLS + log_blowup)``), and
:attr:`LigeroParams.security_bits` is ``-log2`` of that. For 100 bits: ``t = 241`` at rate 1/2,
``t = 148`` at rate 1/4. This is the *interactive* soundness. Binding additionally assumes
SHA-256 is collision resistant (the Merkle tree).

Grinding (proof of work before the column queries)
--------------------------------------------------
After the rows ``u_g`` are absorbed the prover searches a nonce ``n`` (a ``u64``) such that
``H_pow(state || g || n)`` has ``g = grinding_bits`` leading zero bits (``H_pow``: BLAKE2b with
its own personalization, ``state`` the transcript state; :func:`~zkinfer.commit.ligero.schedule.
grinding_seed`), sends it, and both sides absorb it before the queries are drawn. The verifier
checks it with one hash. Grinding is no part of the interactive protocol, so
:attr:`LigeroParams.security_bits` does not count it. After Fiat-Shamir a cheating prover
re-draws the queries by changing its messages, one hash per attempt without grinding; with it,
every attempt needs a valid nonce, ``2^g`` hashes on average, so per hash it makes the query
term ``q^t 2^-g``: :attr:`LigeroParams.hashing_bits` is
``-log2(q^t 2^-g + (L_max + MAX_GROUPS + 2) / p^2)``, the bits such an adversary faces per unit
of work (the challenges before the queries are not protected by the nonce, so their term stays).
``g`` is at most :data:`MAX_GRINDING_BITS` (proving costs ``~2^g`` BLAKE2b calls, about
0.5 microseconds each in Python: ~35 ms at the default 16 bits, ~9 minutes at 30), ``0`` turns
grinding off (the nonce is then ``0``). ``target_bits`` is the *interactive* target: it fixes
``t`` and does not count grinding, so the query count does not depend on ``g``.

Conjectured option (clearly not proven)
---------------------------------------
``bound="conjectured"`` assumes Reed-Solomon proximity gaps up to the capacity ``1 - rho`` and
that the evaluation check behaves the same: per-query error ``rho``, so ``t = 100`` (rate 1/2) or
``t = 50`` (rate 1/4) for a claimed 100 bits. Use it only for experiments; the reported bits are
then labelled ``"conjectured"`` in :attr:`LigeroParams.bound`.

Matrix shape
------------
Only the rows that hold data are committed: for a batch whose vector ``F`` has ``2^n`` entries of
which the first ``used`` may be non-zero (:attr:`zkinfer.commit.base.Layout.used`), the matrix
has ``C = 2^log C`` columns and ``R = ceil(used / C)`` rows (:func:`num_rows`; not a power of two
in general; ``R C`` rounds ``used`` up to whole rows only, never to ``2^n``).
:meth:`LigeroParams.shape` picks ``log C`` by minimizing the estimated proof size
``16 C + t' (8 R + 32 * log2(L / t'))`` (one row of extension elements when all claims share a
column point, ``t'`` distinct opened columns of ``R`` base elements, a Merkle multi-proof), with
``C <= 2^MAX_LOG_COLS`` and ``R <= 2^MAX_LOG_ROWS``.

The soundness analysis above does not depend on ``R`` being a power of two: ``gamma`` has ``R``
coordinates, and the row vectors ``A_g`` are the ``eq`` tables of the row points truncated to
their first ``R`` entries (see :mod:`zkinfer.commit.ligero.schedule` for why that is exact).

Commitments made of parts
-------------------------
For ``Parts(m, used)`` (:class:`zkinfer.commit.base.Parts`: ``S`` parts of ``2^m`` entries,
part ``s`` zero from ``used[s]`` on), :meth:`LigeroParams.parts_shape` takes ``log C`` from
:meth:`LigeroParams.shape` of the whole (``sum(used)`` entries, ``m + ceil(log2 S)``
variables) and caps it at ``m``, so that every part is whole rows of ``F``; part ``s`` then
commits ``R_s = ceil(used[s] / C)`` rows (:func:`part_rows`) and the matrix has
``R = sum R_s`` rows: at most ``S - 1`` more than a plain commitment of the same data (each
part's last row may be partly used). If that ``R`` exceeds ``2^MAX_LOG_ROWS``, ``log C`` grows
until it fits. The committed matrix is the stack of the parts' rows; the claims' row vectors
``A_g`` are the ``eq`` tables of the row points *gathered* at the committed rows (see
:mod:`zkinfer.commit.ligero.schedule`), and nothing else in the analysis above changes: the
same ``R x C`` matrix, the same checks, the same soundness error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from zkinfer.field import goldilocks as gl

__all__ = [
    "MAX_LOG_COLS",
    "MAX_LOG_ROWS",
    "MAX_QUERIES",
    "MAX_GROUPS",
    "MAX_GRINDING_BITS",
    "DEFAULT_GRINDING_BITS",
    "LOG_BLOWUPS",
    "BOUNDS",
    "LigeroParams",
    "num_queries",
    "num_rows",
    "part_rows",
    "field_error",
    "query_error",
    "soundness_error",
]

MAX_LOG_COLS = 18
"""Largest ``log2 C`` (message length of the row code)."""

MAX_LOG_ROWS = 16
"""Bound on the number of committed rows: ``R <= 2^MAX_LOG_ROWS``."""

MAX_GROUPS = 4096
"""Most distinct column points one opening proves (each costs a row of ``C`` elements)."""

MAX_QUERIES = 1024
"""Most column queries an opening may use (a decoding bound; 128 bits at rate 1/2 needs 309)."""

MAX_GRINDING_BITS = 30
"""Most proof-of-work bits an opening may ask for (proving grinds ``~2^g`` hashes; verifying one)."""

DEFAULT_GRINDING_BITS = 16
"""Proof-of-work bits by default: ~2^16 BLAKE2b calls (~35 ms) per opening, one hash to verify;
the query term a hashing adversary faces then drops below the protocol's field terms."""

LOG_BLOWUPS = (1, 2, 3)
"""Supported ``log2(1 / rate)``: rate 1/2 (default), 1/4, 1/8."""

BOUNDS = ("unique-decoding", "conjectured")
"""The soundness analyses :class:`LigeroParams` can use (see the module docstring)."""

_LOG2_EXT_FIELD = 2 * math.log2(gl.P)  # |E| = p^2


def _query_escape(log_blowup: int, bound: str) -> float:
    """Probability that one uniform query misses a corrupted column set."""
    rate = 2.0**-log_blowup
    return (1.0 + rate) / 2.0 if bound == "unique-decoding" else rate


def field_error(log_blowup: int) -> float:
    """``(L_max + MAX_GROUPS + 2) / p^2``: proximity gap, claim batching and ``beta`` (the
    challenges drawn before the queries).

    Arguments:
        log_blowup: ``log2(1 / rate)``.

    Returns:
        The probability bound (a float).
    """
    return (2.0 ** (MAX_LOG_COLS + log_blowup) + MAX_GROUPS + 2) * 2.0**-_LOG2_EXT_FIELD


def query_error(log_blowup: int, queries: int, bound: str = "unique-decoding") -> float:
    """``q^t``: the query phase's term (``q = (1 + rate) / 2`` proven, ``rate`` conjectured).

    Arguments:
        log_blowup: ``log2(1 / rate)``.
        queries: ``t``.
        bound: ``"unique-decoding"`` or ``"conjectured"``.

    Returns:
        The probability bound (a float).
    """
    return _query_escape(log_blowup, bound) ** queries


def soundness_error(log_blowup: int, queries: int, bound: str = "unique-decoding") -> float:
    """The soundness error of one opening: ``q^t + (L_max + MAX_GROUPS + 2) / p^2``.

    Arguments:
        log_blowup: ``log2(1 / rate)``.
        queries: ``t``.
        bound: ``"unique-decoding"`` (``q = (1 + rate) / 2``, proven) or ``"conjectured"``
            (``q = rate``).

    Returns:
        The interactive soundness error (grinding does not change it).
    """
    return query_error(log_blowup, queries, bound) + field_error(log_blowup)


def num_rows(used: int, log_cols: int) -> int:
    """``R = ceil(used / 2^log_cols)``: the committed rows of a batch with ``used`` entries."""
    return -(-used >> log_cols)


def part_rows(used, log_cols: int) -> tuple[int, ...]:
    """``R_s = ceil(used[s] / 2^log_cols)`` for every part: the rows each part commits."""
    return tuple(num_rows(int(u), log_cols) for u in used)


def num_queries(log_blowup: int, target_bits: float, bound: str = "unique-decoding") -> int:
    """The smallest ``t`` with ``soundness_error(log_blowup, t, bound) <= 2^-target_bits``.

    Raises:
        ValueError: the field term alone exceeds the target (above ~108 bits), or the query
            count would exceed :data:`MAX_QUERIES`.
    """
    budget = 2.0**-target_bits - field_error(log_blowup)
    if budget <= 0:
        raise ValueError(f"{target_bits} bits is out of reach: the field term is "
                         f"{-math.log2(field_error(log_blowup)):.1f} bits")
    t = math.ceil(math.log(budget) / math.log(_query_escape(log_blowup, bound)))
    while soundness_error(log_blowup, t, bound) > 2.0**-target_bits:  # float rounding guard
        t += 1
    if t > MAX_QUERIES:
        raise ValueError(f"{t} queries exceed the maximum {MAX_QUERIES}")
    return t


@dataclass(frozen=True)
class LigeroParams:
    """Rate, queries, grinding and the soundness they give.

    Attributes:
        log_blowup: ``log2(1 / rate)``; ``1`` (rate 1/2, default) or ``2`` (rate 1/4).
        target_bits: the interactive soundness asked for (default 100); grinding is not
            counted (see the module docstring).
        bound: ``"unique-decoding"`` (proven, default) or ``"conjectured"``.
        grinding_bits: proof-of-work bits before the column queries, ``0..MAX_GRINDING_BITS``
            (default :data:`DEFAULT_GRINDING_BITS`).
        queries: ``t``, derived from ``log_blowup``, ``target_bits`` and ``bound``.

    Raises:
        ValueError: a parameter out of range (on construction).
    """

    log_blowup: int = 1
    target_bits: float = 100.0
    bound: str = "unique-decoding"
    grinding_bits: int = DEFAULT_GRINDING_BITS
    queries: int = field(init=False)

    def __post_init__(self) -> None:
        if self.log_blowup not in LOG_BLOWUPS:
            raise ValueError(f"log_blowup must be one of {LOG_BLOWUPS}")
        if self.bound not in BOUNDS:
            raise ValueError(f"bound must be one of {BOUNDS}")
        if not 1 <= self.target_bits <= 128:
            raise ValueError("target_bits must be in [1, 128]")
        g = self.grinding_bits
        if isinstance(g, bool) or not isinstance(g, int) or not 0 <= g <= MAX_GRINDING_BITS:
            raise ValueError(f"grinding_bits must be an integer in [0, {MAX_GRINDING_BITS}], "
                             f"got {g!r}")
        object.__setattr__(self, "queries",
                           num_queries(self.log_blowup, self.target_bits, self.bound))

    @property
    def rate(self) -> float:
        """``C / L``."""
        return 2.0**-self.log_blowup

    @property
    def security_bits(self) -> float:
        """Interactive: ``-log2(((1 + rate) / 2)^t + (L_max + MAX_GROUPS + 2) / p^2)``
        (``rate^t`` if conjectured); grinding does not change it."""
        return -math.log2(soundness_error(self.log_blowup, self.queries, self.bound))

    @property
    def query_error(self) -> float:
        """``q^t``: the query phase's interactive term."""
        return query_error(self.log_blowup, self.queries, self.bound)

    @property
    def field_error(self) -> float:
        """``(L_max + MAX_GROUPS + 2) / p^2``: the terms of the challenges before the queries."""
        return field_error(self.log_blowup)

    @property
    def hashing_bits(self) -> float:
        """Per unit of hashing work after Fiat-Shamir: ``-log2(q^t 2^-g + (L_max + MAX_GROUPS
        + 2) / p^2)`` with ``g = grinding_bits`` (see the module docstring)."""
        return -math.log2(self.query_error * 2.0**-self.grinding_bits + self.field_error)

    def shape(self, used: int, total_vars: int) -> tuple[int, int]:
        """``(R, log C)`` for a batch (see the module docstring).

        Arguments:
            used: entries of ``F`` before the zero padding (:attr:`Layout.used
                <zkinfer.commit.base.Layout.used>`), ``1 <= used <= 2^total_vars``.
            total_vars: ``n``: ``F`` has ``2^n`` entries (``log C <= n``).

        Returns:
            ``(R, log C)`` with ``R = ceil(used / C)`` (:func:`num_rows`).

        Raises:
            ValueError: ``used`` out of range, or the batch is too large for the limits.
        """
        if not 1 <= used <= 1 << total_vars:
            raise ValueError(f"{used} used entries do not fit 2^{total_vars}")
        best: tuple[float, int] | None = None
        for log_c in range(0, min(total_vars, MAX_LOG_COLS) + 1):
            rows = num_rows(used, log_c)
            if rows > 1 << MAX_LOG_ROWS:
                continue
            size = self.estimated_proof_bytes(rows, log_c)
            if best is None or size < best[0]:
                best = (size, log_c)
        if best is None:
            raise ValueError(f"{used} entries exceed the Ligero limits")
        return num_rows(used, best[1]), best[1]

    def parts_shape(self, used, num_vars: int) -> tuple[tuple[int, ...], int]:
        """``((R_0, ..., R_{S-1}), log C)`` for a commitment made of parts (see the module
        docstring).

        Arguments:
            used: ``used[s]`` of every part (:class:`zkinfer.commit.base.Parts`), each in
                ``[1, 2^num_vars]``.
            num_vars: ``m``, the variables of each part.

        Returns:
            The rows of each part (:func:`part_rows`) and ``log C <= m``.

        Raises:
            ValueError: a ``used[s]`` out of range, or the parts are too large for the limits.
        """
        used = tuple(int(u) for u in used)
        if not used or any(not 1 <= u <= 1 << num_vars for u in used):
            raise ValueError(f"parts of {used} used entries do not fit 2^{num_vars} each")
        total_vars = num_vars + (len(used) - 1).bit_length()
        _, log_c = self.shape(sum(used), total_vars)
        log_c = min(log_c, num_vars)
        rows = part_rows(used, log_c)
        while sum(rows) > 1 << MAX_LOG_ROWS and log_c < min(num_vars, MAX_LOG_COLS):
            log_c += 1
            rows = part_rows(used, log_c)
        if sum(rows) > 1 << MAX_LOG_ROWS:
            raise ValueError(f"{len(used)} parts of 2^{num_vars} entries exceed the Ligero "
                             f"limits ({sum(rows)} rows)")
        return rows, log_c

    def estimated_proof_bytes(self, rows: int, log_cols: int, groups: int = 1) -> float:
        """Estimated opening-proof size for an ``R x C`` matrix (``R = rows``,
        ``C = 2^log_cols``) and ``groups`` evaluation rows."""
        cols = 2**log_cols
        length = cols << self.log_blowup
        distinct = length * (1.0 - (1.0 - 1.0 / length) ** self.queries)
        path = max(0.0, math.log2(length / distinct)) + 1.0
        return 16.0 * (cols * groups + 1) + distinct * (8.0 * rows + 32.0 * path)
