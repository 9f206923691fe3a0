"""Parameters of :class:`~zkinfer.commit.whir.scheme.WhirPCS` and the soundness of one opening.

numpy-free arithmetic on Python numbers (the verifier imports this module).

What is fixed, what follows from the size
-----------------------------------------
The scheme's parameters do not depend on the size of a commitment: the folding factor ``k``,
the starting rate ``2^-r``, the interactive target ``lambda`` (bits), the grinding bits ``g``,
the bound (``"unique-decoding"``, or the labelled ``"johnson"``: below) and ``max_vars``, the
most variables a committed function may have (a plain batch of ``2^n`` entries is committed as
one function of ``max(n, 1)`` variables; a commitment made of parts as one function of
``max(m, 1)`` variables per part). A commitment of ``m`` variables runs the WHIR core
(:class:`~zkinfer.commit.whir.params.WhirParams`) with :meth:`WhirPCSParams.core`: the same
``k`` and ``r``, ``pow_bits = g`` and the per-round query target ``lambda_q`` (below), so the
round ``i`` of every size makes the same number of queries ``t_i`` (under unique decoding the
core's domain shrink ``e = k`` keeps every ``C_i`` at rate ``2^-r``; :func:`core_shrink`).

``bound="johnson"``: a labelled heuristic, **not** a proven bound, for smaller proofs. Each code
``C_i`` is tested at ``delta_i = 1 - sqrt(rho_i) - eta_i`` with the list size
``l_i = 1 / (2 eta_i sqrt(rho_i))`` (``eta_i = sqrt(rho_i) / 20``) and the domains shrink by
``e = max(1, k // 2)`` per round, so the later rounds run at rates ``2^-(r + i (k - e))``,
where the Johnson distance cuts their queries several-fold (MiniLM's two openings: about half
the bytes of unique decoding, by the schedule). Every term below is then multiplied by the list
size it involves (the parts' and the fold terms by ``l_i``, the OOD term by ``l_(i+1)^2``, the
combination by ``l_(i+1)``), as :mod:`zkinfer.commit.whir.params` does for its ``"johnson"``
option: these assume mutual correlated agreement up to the Johnson radius with error
``l |L_i| / |F|``, which is not proven here. :attr:`WhirPCSParams.proven` is then ``False``,
and :func:`zkinfer.verify` refuses such openings unless told to accept conjectured bounds
(``allow_conjectured=True``, ``zkinfer verify --allow-conjectured``).

The error of one opening (union bound over every challenge)
-----------------------------------------------------------
With ``|F| = p^4`` (every challenge of the opening in ``F_p4``, :mod:`zkinfer.field.quartic`:
the claim coefficients, ``beta``, and the core's folding, OOD and combination challenges; the
claims' points and values are in ``F_p2`` and embed into ``F_p4``), for a committed function of
``m`` variables (:meth:`WhirPCSParams.terms`):

- ``claims``: the claims are combined with independent uniform coefficients ``c_j`` (one per
  distinct point): a false claim leaves ``sum_j c_j (v_j - v*_j) != 0`` but with probability
  ``1 / |F|``;
- ``parts`` (commitments made of parts; counted for every commitment, so one figure covers
  both): the parts' functions ``f_0 .. f_(S-1)`` are combined as ``f = f_0 + sum_(s>=1)
  beta_s f_s`` with independent uniform ``beta_s``, after the prover's values ``f_s(z_j)`` are
  absorbed. By the proximity gap of Reed-Solomon codes for affine spaces in the
  unique-decoding regime (Ben-Sasson, Carmon, Ishai, Kopparty, Saraf 2020, "Proximity gaps for
  Reed-Solomon codes", with correlated agreement), if some ``f_s`` is ``delta_0``-far from
  ``RS[L_0]`` (no common agreement set of density ``1 - delta_0``) then ``f`` is
  ``delta_0``-close with probability at most ``|L_0| / |F|``; otherwise every ``f_s`` decodes
  on one common set and a false value ``f_s(z_j)`` survives the combination with probability
  ``1 / |F|`` (an affine function of ``beta`` that is not zero). Term ``(|L_0| + 1) / |F|``,
  independent of ``S`` (independent coefficients, not powers of one ``beta``);
- the WHIR terms of :mod:`zkinfer.commit.whir.params` (unique decoding; with list sizes for
  ``"johnson"``, above): per sumcheck round
  of round ``i``, ``(3 + |L_i|) / |F|``; per OOD sample, ``2^(m_(i+1)) / (2 |F|)``; per
  combination ``gamma``, ``(t_i + 1) / |F|``; per query phase, ``(1 - delta_i)^(t_i)`` with
  ``delta_i = (1 - rho_i) / 2`` (**without** the ``2^-g`` of grinding: the figure is
  interactive).

``field_error`` is the sum of every term but the query phases', ``query_error`` the sum of the
query phases'; both are the largest over every size ``m = 1 .. max_vars``
(:attr:`WhirPCSParams.field_error`, :attr:`WhirPCSParams.query_error`), so one figure holds for
every commitment the parameters accept, as Ligero's holds for its longest codeword.
``lambda_q`` (:attr:`WhirPCSParams.query_bits`) is the least integer ``>= lambda`` such that
``field_error + query_error <= 2^-lambda``: each round's query count meets ``2^-lambda_q``, a
few bits above the target so that the *sum* over the rounds, not only each round, stays below
it (these are extra queries, not grinding).

Why ``F_p4``
------------
The field terms grow with the domain: the sumcheck rounds alone add up to about
``k |L_0| (1 + 1/2 + ...) / |F| ~ 2^(m + r + 3) / |F|``. With ``F_p2`` challenges
(``|F| = p^2``) that capped the union bound near ``128 - (m + r + 3)`` bits whatever the
queries (100 bits at ``m = 22``, 95 at ``m = 28`` for ``r = 2``). With ``|F| = p^4`` the field
terms stay below ``2^-215`` for every ``m + r <= 32``: the queries alone set the figure, and
:data:`DEFAULT_MAX_VARS` is the 2-adicity limit ``m + r <= 32`` for ``r <= 4``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from zkinfer.commit.whir.params import FIELD_BITS, MAX_FOLD, MAX_VARS, WhirParams

__all__ = [
    "BOUNDS",
    "DEFAULT_MAX_VARS",
    "DEFAULT_TARGET_BITS",
    "MAX_GRINDING_BITS",
    "WhirPCSParams",
    "core_shrink",
]

BOUNDS = ("unique-decoding", "johnson")
"""The analyses available: unique decoding (proven, the default) and ``"johnson"`` (a labelled
heuristic, not proven: module docstring)."""

_CORE_BOUND = {"unique-decoding": "unique", "johnson": "johnson"}

DEFAULT_TARGET_BITS = 105
"""The default interactive target of one opening: 105 bits, a margin over the proof system's
100-bit floor for the protocol's own terms (sumchecks, range arguments) and the other openings
of a proof, which the union bound of the whole proof adds to this one."""

DEFAULT_MAX_VARS = 28
"""The largest committed function of the default parameters: ``2^28`` entries (``m + r <= 32``
for every rate ``2^-r``, ``r <= 4``; with ``F_p4`` challenges the field terms leave far more than
the target at every size, module docstring)."""

MAX_GRINDING_BITS = 16
"""Most proof-of-work bits per round (each WHIR round grinds once, ``~2^g`` BLAKE2b calls)."""

_MAX_EXTRA_BITS = 16
_MAX_ROUND_BITS = 200
_MAX_TARGET_BITS = 160


def _log2_sum(terms: list[float]) -> float:
    top = max(terms)
    return top + math.log2(sum(2.0 ** (x - top) for x in terms))


def core_shrink(folding: int, bound: str) -> int:
    """The core's domain shrink ``e`` for a bound: ``k`` under unique decoding (every round at
    rate ``2^-r``; a lower rate would not cut the unique-decoding queries much) and
    ``max(1, k // 2)`` under ``"johnson"`` (each round's rate falls by ``2^(k - e)``, and the
    Johnson distance ``1 - sqrt(rho)`` then cuts the later rounds' queries several-fold)."""
    return folding if bound == "unique-decoding" else max(1, folding // 2)


def _core(k: int, r: int, query_bits: int, g: int, m: int, bound: str) -> WhirParams:
    return WhirParams(m, k, r, query_bits + g, g, _CORE_BOUND[bound], core_shrink(k, bound))


@functools.lru_cache(maxsize=256)
def _terms(k: int, r: int, query_bits: int, g: int, m: int,
           bound: str) -> tuple[tuple[str, float, bool], ...]:
    """``(name, log2 error, is a query phase)`` of one opening of ``m`` variables; ``l_i`` is
    1 under unique decoding (module docstring)."""
    p = _core(k, r, query_bits, g, m, bound)
    out: list[tuple[str, float, bool]] = [
        ("claims", -FIELD_BITS, False),
        ("parts", math.log2(p.list_size(0) * ((1 << p.log_domain(0)) + 1)) - FIELD_BITS, False),
    ]
    folds = p.folds()
    for i, k_i in enumerate(folds):
        ell = p.list_size(i)
        fold = math.log2(ell * (3 + (1 << p.log_domain(i)))) - FIELD_BITS
        out += [(f"fold {i}.{j}", fold, False) for j in range(k_i)]
        t = p.queries(i)
        if i < len(folds) - 1:
            ell_next = p.list_size(i + 1)
            out.append((f"ood {i}", math.log2(ell_next**2 / 2) + p.num_vars(i + 1) - FIELD_BITS,
                        False))
            out.append((f"combination {i}", math.log2(ell_next * (t + 1)) - FIELD_BITS, False))
        out.append((f"queries {i}", t * math.log2(1.0 - p.delta(i)), True))
    return tuple(out)


@dataclass(frozen=True)
class WhirPCSParams:
    """The parameters of :class:`~zkinfer.commit.whir.scheme.WhirPCS` (module docstring).

    Attributes:
        folding: ``k``, variables folded per round (``1..MAX_FOLD``, default 4).
        log_inv_rate: ``r``: the starting rate is ``2^-r`` (``1..4``, default 2).
        target_bits: ``lambda``, the interactive soundness asked for (``1..160``, default
            :data:`DEFAULT_TARGET_BITS`).
        grinding_bits: ``g``, proof-of-work bits before each round's queries (default 0).
        bound: ``"unique-decoding"`` (proven, default) or ``"johnson"`` (labelled heuristic,
            not proven; module docstring).
        max_vars: the most variables of a committed function (``1..MAX_VARS``).
        query_bits: ``lambda_q``, derived (module docstring).

    Raises:
        ValueError: a parameter out of range, or a target the field terms alone exceed at
            ``max_vars``.
    """

    folding: int = 4
    log_inv_rate: int = 2
    target_bits: int = DEFAULT_TARGET_BITS
    grinding_bits: int = 0
    bound: str = "unique-decoding"
    max_vars: int = DEFAULT_MAX_VARS
    query_bits: int = field(init=False)

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("folding", self.folding, 1, MAX_FOLD),
                                    ("log_inv_rate", self.log_inv_rate, 1, 4),
                                    ("target_bits", self.target_bits, 1, _MAX_TARGET_BITS),
                                    ("grinding_bits", self.grinding_bits, 0, MAX_GRINDING_BITS),
                                    ("max_vars", self.max_vars, 1, MAX_VARS)):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
        if self.bound not in BOUNDS:
            raise ValueError(f"bound must be one of {BOUNDS}, got {self.bound!r}")
        goal = 2.0**-self.target_bits
        # the core meets 2^-(lambda_q + g) per round with its combination term included: that
        # term alone is ~2^-248, so lambda_q + g stays below _MAX_ROUND_BITS
        top = min(self.target_bits + _MAX_EXTRA_BITS, _MAX_ROUND_BITS - self.grinding_bits)
        for q in range(self.target_bits, top + 1):
            object.__setattr__(self, "query_bits", q)
            if q == self.target_bits and self.field_error > goal:
                break
            if self.field_error + self.query_error <= goal:
                return
        raise ValueError(
            f"{self.target_bits} bits are out of reach for functions of up to {self.max_vars} "
            f"variables at rate 2^-{self.log_inv_rate} with {self.grinding_bits} grinding bits: "
            f"the field terms alone give {-math.log2(self.field_error):.1f} bits (lower "
            f"max_vars or target_bits)")

    def core(self, m: int) -> WhirParams:
        """The WHIR core's parameters for a committed function of ``m`` variables.

        Raises:
            ValueError: ``m`` outside ``[1, max_vars]``.
        """
        if not 1 <= m <= self.max_vars:
            raise ValueError(f"a function of {m} variables: these parameters commit 1 to "
                             f"{self.max_vars} variables (max_vars)")
        return _core(self.folding, self.log_inv_rate, self.query_bits, self.grinding_bits, m,
                     self.bound)

    def terms(self, m: int) -> tuple[tuple[str, float, bool], ...]:
        """Every error term of one opening of ``m`` variables: ``(name, log2 error, query)``
        (``query``: a query phase's term, the one grinding protects)."""
        self.core(m)
        return _terms(self.folding, self.log_inv_rate, self.query_bits, self.grinding_bits, m,
                      self.bound)

    @property
    def proven(self) -> bool:
        """Whether the figures are a proven bound (``"unique-decoding"`` only)."""
        return self.bound == "unique-decoding"

    def _worst(self, query: bool) -> float:
        return max(2.0 ** _log2_sum([e for _, e, q in self.terms(m) if q == query])
                   for m in range(1, self.max_vars + 1))

    @property
    def field_error(self) -> float:
        """Sum of the terms before the query phases, at the worst size ``m <= max_vars``."""
        return self._worst(False)

    @property
    def query_error(self) -> float:
        """Sum of the query phases' terms (no grinding), at the worst size ``m <= max_vars``."""
        return self._worst(True)

    @property
    def security_bits(self) -> float:
        """Interactive: ``-log2(field_error + query_error)``."""
        return -math.log2(self.field_error + self.query_error)

    @property
    def hashing_bits(self) -> float:
        """Per unit of hashing work: ``-log2(field_error + query_error 2^-g)``."""
        return -math.log2(self.field_error + self.query_error * 2.0**-self.grinding_bits)
