"""WHIR parameters: the folding schedule, the domains, the queries and the soundness terms.

numpy-free arithmetic on Python numbers (the verifier imports this module).

Schedule (:meth:`WhirParams.folds`): round 0 folds ``k_0 = min(k, m)`` variables, every later
round folds ``k`` while more than ``k`` variables remain; the ``m_R`` variables left after the
last round (``0 <= m_R <= k``) are the final polynomial, sent in the clear. So ``m = 1`` is one
round of one fold and a constant final polynomial, ``m = 9, k = 4`` is folds ``4, 4`` and a
final polynomial of one variable.

Domains: round ``i``'s function ``g_i`` (``m_i`` variables) is committed on
``L_i = s^(2^(i e)) <w_i>`` with ``|L_i| = 2^(m + r - i e)``, ``s = 7`` the generator of
``F_p^*``, ``w_i`` a primitive ``|L_i|``-th root of unity and ``e`` the domain shrink
(``1 <= e <= k``; ``L_(i+1) = L_i^(2^e)``), so its rate is ``rho_i = 2^(m_i) / |L_i|``
(``rho_0 = 2^-r``; each round of ``k`` folds divides it by ``2^(k - e)``). The default
``e = k`` keeps every round at rate ``2^-r``: round ``i`` encodes ``2^(i (k - 1))`` times
fewer points than with ``e = 1`` (the paper's ``L_(i+1) = L_i^2``), and their Merkle
paths are shorter, which outweighs their extra queries (at ``2^22`` entries, ``k = 4``,
``r = 2``: the opening 2.4x faster and 16 % smaller). Nothing ties ``L_(i+1)`` to ``L_i``: a
round's shift queries read ``g_i`` on ``L_i`` and constrain ``f_(i+1)`` as a polynomial, and each
round's terms below use its own ``|L_i|`` and ``rho_i``.

Bound: ``"unique"`` (the default, proven): every code is tested at the unique-decoding
distance ``delta_i = (1 - rho_i) / 2`` and the list size is ``l = 1``. ``"johnson"`` is a
labelled heuristic option, not a proven bound here (``delta_i = 1 - sqrt(rho_i) - eta``
with ``eta = sqrt(rho_i) / 20``, list size ``l = 1 / (2 eta sqrt(rho_i))``, and the mutual
correlated agreement error taken as ``l |L_i| / |F|``; WHIR's Johnson-regime analysis uses the
larger BCIKS20 list-decoding error, so this option is **not** a proven bound here and is never the
default).

Soundness (:meth:`WhirParams.errors`): the round-by-round errors of WHIR (Arnon, Chiesa, Fenzi,
Yogev, eprint 2024/1586, Theorem 5.2) with ``|F| = p^4`` (every challenge in ``F_p4``,
:mod:`zkinfer.field.quartic`), ``d = 3``
(the sumcheck degree bound ``max(d*, 3)`` for ``eq`` weights) and ``b`` grinding bits:

- fold ``(i, j)``, each of the ``k_i`` sumcheck rounds of round ``i``:
  ``eps_fold = d l / |F| + err*(C_i, 2, delta_i)`` with ``err* = |L_i| / |F|`` under the unique
  decoding bound (BCIKS20's line error ``n / |F|``; the domain of later folds of the round is
  smaller, so ``|L_i|`` bounds them all);
- out-of-domain sample of round ``i < R - 1`` (on ``f_(i+1)``, ``m_(i+1)`` variables):
  ``eps_ood = l^2 / 2 * 2^(m_(i+1)) / |F|`` (zero would do for ``l = 1``; kept as a margin);
- shift queries of round ``i < R - 1``: ``eps_shift = (1 - delta_i)^(t_i) 2^-b + l (t_i + 1) / |F|``
  (``t_i`` queries, then the combination randomness ``gamma``: a polynomial of degree
  ``t_i + 1`` in ``gamma``);
- final queries (round ``R - 1``): ``eps_fin = (1 - delta_(R-1))^(t_(R-1)) 2^-b``.

:meth:`WhirParams.soundness_bits` is ``-log2`` of the largest term (round-by-round soundness,
the notion the paper proves and that Fiat-Shamir preserves up to the number of hash queries);
:meth:`WhirParams.interactive_bits` is ``-log2`` of the sum of all terms (the union bound over
the whole interaction). Every field term (fold, OOD, combination) is at most
``(3 + 2^(m + r)) / p^4 <= 2^(33 - 256)`` for ``m + r <= 32``: with ``F_p4`` they are about
``2^-220`` whatever the size (:meth:`WhirParams.field_bits`) and the queries alone set the
soundness. (With ``F_p2`` challenges the fold terms capped the union bound near
``128 - (m + r + 3)`` bits.)

Queries (:meth:`WhirParams.queries`): the least ``t_i`` with
``(1 - delta_i)^(t_i) 2^-b + l (t_i + 1) / |F| <= 2^-lambda``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zkinfer.codec import Reader, Writer
from zkinfer.errors import ProofFormatError
from zkinfer.field.goldilocks import P

__all__ = [
    "BOUNDS",
    "MAX_VARS",
    "MAX_FOLD",
    "MAX_QUERIES",
    "COSET_SHIFT",
    "FIELD_BITS",
    "WhirParams",
]

BOUNDS = ("unique", "johnson")
"""``"unique"``: unique decoding (proven, the default); ``"johnson"``: labelled unproven option."""

MAX_VARS = 28
"""Largest ``m``: ``|L_0| = 2^(m + r) <= 2^32`` (the 2-adicity of Goldilocks)."""

MAX_FOLD = 8
"""Largest folding factor ``k`` (a leaf holds ``2^k`` elements)."""

MAX_QUERIES = 4096
"""Largest number of queries of one round."""

COSET_SHIFT = 7
"""``s``: ``L_0 = s <w_0>``, a coset of the ``2^(m + r)``-th roots of unity (7 generates F_p^*)."""

FIELD_BITS = math.log2(P) * 4
"""``log2 |F_p4|`` (~256): every challenge is drawn in ``F_p4``."""

_D = 3  # max(d*, 3): the sumcheck degree term of Theorem 5.2 for eq weights
_PARAMS_MAGIC = b"ZKWP"
_PARAMS_VERSION = 3


def _log2_sum(terms: list[float]) -> float:
    """``log2(sum 2^x)`` for exponents ``x`` (stable for very negative ones)."""
    top = max(terms)
    return top + math.log2(sum(2.0 ** (x - top) for x in terms))


@dataclass(frozen=True)
class WhirParams:
    """Public parameters of one WHIR commitment.

    Attributes:
        m: variables of the committed multilinear (``1 <= m <= MAX_VARS``).
        k: folding factor, variables folded per round (``1 <= k <= MAX_FOLD``).
        log_inv_rate: ``r``, the starting rate is ``rho_0 = 2^-r`` (``1 <= r``, ``m + r <= 32``).
        security_bits: ``lambda``, the target of every round's error (default 100).
        pow_bits: ``b``, proof-of-work grinding bits before each round's queries (0: none).
        bound: ``"unique"`` (default) or ``"johnson"`` (unproven, labelled; see the module).
        shrink: ``e``, each round's domain has ``2^-e`` the points of the previous one
            (``1 <= e <= k``; default ``None``: ``k``, every round at the starting rate).

    Raises:
        ValueError: a parameter out of range.
    """

    m: int
    k: int = 4
    log_inv_rate: int = 2
    security_bits: int = 100
    pow_bits: int = 0
    bound: str = "unique"
    shrink: int | None = None

    def __post_init__(self) -> None:
        if self.shrink is None:
            object.__setattr__(self, "shrink", self.k)
        if not 1 <= self.m <= MAX_VARS:
            raise ValueError(f"m = {self.m} outside [1, {MAX_VARS}]")
        if not 1 <= self.k <= MAX_FOLD:
            raise ValueError(f"k = {self.k} outside [1, {MAX_FOLD}]")
        if not 1 <= self.log_inv_rate or self.m + self.log_inv_rate > 32:
            raise ValueError(f"log_inv_rate = {self.log_inv_rate}: need r >= 1 and m + r <= 32")
        if not 1 <= self.security_bits <= 256:
            raise ValueError(f"security_bits = {self.security_bits} outside [1, 256]")
        if not 0 <= self.pow_bits <= 32:
            raise ValueError(f"pow_bits = {self.pow_bits} outside [0, 32]")
        if self.bound not in BOUNDS:
            raise ValueError(f"bound {self.bound!r} is not one of {BOUNDS}")
        if isinstance(self.shrink, bool) or not isinstance(self.shrink, int) \
                or not 1 <= self.shrink <= self.k:
            raise ValueError(f"shrink = {self.shrink!r} outside [1, k = {self.k}]")

    # ---- schedule and domains

    def folds(self) -> tuple[int, ...]:
        """``(k_0, ..., k_(R-1))``, the variables each round folds (see the module)."""
        out = [min(self.k, self.m)]
        rest = self.m - out[0]
        while rest > self.k:
            out.append(self.k)
            rest -= self.k
        return tuple(out)

    @property
    def rounds(self) -> int:
        """``R``: the number of rounds (and of committed functions ``g_0 .. g_(R-1)``)."""
        return len(self.folds())

    def num_vars(self, i: int) -> int:
        """``m_i``: the variables of round ``i``'s function (``m_R``: the final polynomial's)."""
        return self.m - sum(self.folds()[:i])

    @property
    def final_vars(self) -> int:
        """``m_R``: the final polynomial has ``2^(m_R)`` coefficients."""
        return self.num_vars(self.rounds)

    def log_domain(self, i: int) -> int:
        """``log2 |L_i| = m + r - i e``."""
        return self.m + self.log_inv_rate - i * self.shrink

    def shift(self, i: int) -> int:
        """The coset shift of ``L_i``: ``s^(2^(i e))``."""
        return pow(COSET_SHIFT, 1 << (i * self.shrink), P)

    def num_leaves(self, i: int) -> int:
        """Leaves of ``g_i``'s tree: ``|L_i| / 2^(k_i)`` (a leaf holds the ``2^(k_i)`` points
        folded together)."""
        return 1 << (self.log_domain(i) - self.folds()[i])

    def log_rate(self, i: int) -> int:
        """``log2 rho_i = m_i - log2 |L_i|``."""
        return self.num_vars(i) - self.log_domain(i)

    # ---- decoding bound

    def delta(self, i: int) -> float:
        """The proximity parameter ``delta_i`` of code ``C_i``."""
        rho = 2.0 ** self.log_rate(i)
        if self.bound == "unique":
            return (1.0 - rho) / 2.0
        root = math.sqrt(rho)
        return 1.0 - root - root / 20.0

    def list_size(self, i: int) -> float:
        """``l_i``: 1 under unique decoding, ``1 / (2 eta sqrt(rho_i))`` under Johnson."""
        if self.bound == "unique":
            return 1.0
        rho = 2.0 ** self.log_rate(i)
        return 1.0 / (2.0 * (math.sqrt(rho) / 20.0) * math.sqrt(rho))

    # ---- queries and soundness

    def _query_log_error(self, i: int, t: int) -> float:
        """``log2`` of the query term of round ``i`` with ``t`` queries (grinding included)."""
        return t * math.log2(1.0 - self.delta(i)) - self.pow_bits

    def _gamma_log_error(self, i: int, t: int) -> float:
        return math.log2(self.list_size(i + 1 if i + 1 < self.rounds else i) * (t + 1)) - FIELD_BITS

    def queries(self, i: int) -> int:
        """``t_i``: the least count meeting ``2^-lambda`` (see the module)."""
        per = -math.log2(1.0 - self.delta(i))
        t = max(1, math.ceil((self.security_bits - self.pow_bits) / per))
        last = i == self.rounds - 1
        while t < MAX_QUERIES:
            terms = [self._query_log_error(i, t)]
            if not last:
                terms.append(self._gamma_log_error(i, t))
            if _log2_sum(terms) <= -self.security_bits:
                return t
            t += 1
        return MAX_QUERIES

    def errors(self) -> list[tuple[str, float]]:
        """Every round-by-round error term as ``(name, log2 error)`` (see the module)."""
        out: list[tuple[str, float]] = []
        folds = self.folds()
        for i, k_i in enumerate(folds):
            n_i = 1 << self.log_domain(i)
            ell = self.list_size(i)
            err_star = (ell if self.bound == "johnson" else 1.0) * n_i
            fold = math.log2(_D * ell + err_star) - FIELD_BITS
            for j in range(k_i):
                out.append((f"fold {i}.{j}", fold))
            t = self.queries(i)
            if i < len(folds) - 1:
                ell_next = self.list_size(i + 1)
                ood = math.log2(ell_next**2 / 2 * 2.0 ** self.num_vars(i + 1)) - FIELD_BITS
                out.append((f"ood {i}", ood))
                out.append((f"shift {i}", _log2_sum([self._query_log_error(i, t),
                                                     self._gamma_log_error(i, t)])))
            else:
                out.append((f"final {i}", self._query_log_error(i, t)))
        return out

    def soundness_bits(self) -> float:
        """Round-by-round soundness: ``-log2`` of the largest error term."""
        return -max(e for _, e in self.errors())

    def interactive_bits(self) -> float:
        """Interactive soundness by the union bound: ``-log2`` of the sum of all terms."""
        return -_log2_sum([e for _, e in self.errors()])

    def field_bits(self) -> float:
        """``-log2`` of the largest field-size term (fold, OOD, combination): whether ``F_p4`` is
        large enough independently of the queries."""
        return -max(e for name, e in self.errors() if name.startswith(("fold", "ood")))

    @property
    def proven(self) -> bool:
        """Whether the soundness figures are a proven bound (unique decoding only)."""
        return self.bound == "unique"

    # ---- encoding

    def to_bytes(self) -> bytes:
        """``"ZKWP"``, ``u16`` version 3 (challenges in ``F_p4``; the domain shrink), ``u8 m, k,
        r``, ``u16 lambda``, ``u8 b``, ``u8 bound``, ``u8 e``."""
        w = Writer()
        w.header(_PARAMS_MAGIC, _PARAMS_VERSION)
        w.u8(self.m)
        w.u8(self.k)
        w.u8(self.log_inv_rate)
        w.u16(self.security_bits)
        w.u8(self.pow_bits)
        w.u8(BOUNDS.index(self.bound))
        w.u8(self.shrink)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> WhirParams:
        """Strict inverse of :meth:`to_bytes`.

        Raises:
            ProofFormatError: malformed bytes or out-of-range parameters.
        """
        r = Reader(data, "whir params")
        r.header(_PARAMS_MAGIC, (_PARAMS_VERSION,))
        m, k, rate = r.u8(MAX_VARS), r.u8(MAX_FOLD), r.u8(32)
        lam, b, bound = r.u16(256), r.u8(32), r.u8(len(BOUNDS) - 1)
        shrink = r.u8(MAX_FOLD)
        r.finish()
        try:
            return cls(m, k, rate, lam, b, BOUNDS[bound], shrink)
        except ValueError as exc:
            raise ProofFormatError(f"whir params: {exc}") from exc
