"""LogUp look-ups via the fraction-sum GKR: every ``f_i`` lies in the table ``t``.

With multiplicities ``m_j`` (how often ``t_j`` is looked up) and a verifier challenge ``alpha``
in ``F_p2`` (drawn after ``f`` and ``m`` are committed):

    sum_i 1 / (alpha - f_i)  -  sum_j m_j / (alpha - t_j)  =  0.

The two sides are the leaves of one fraction tree (:mod:`zkinfer.lookup.gkr`): the look-up side
(``p = 1``, ``q = alpha - f_i``) under top variable 0 and the table side (``p = -m_j``,
``q = alpha - t_j``) under top variable 1, each padded to ``S = max(M, T)`` entries with
``(p, q) = (0, 1)``. The verifier checks that the root numerator is 0 and the denominator is not,
then turns the two leaf claims into claims on ``f``, ``m`` and ``t`` (sent by the prover and
checked against both leaf equations), which the caller proves: openings for committed columns,
a direct evaluation for a public table (:func:`range_table_eval` for ``t_j = j``).

Soundness error: about ``(M + T) / p^2`` for ``alpha`` plus the GKR's term. ``M``, ``T`` must be
powers of two (pad the looked-up column with a table value, e.g. 0, and count it in ``m``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2
from zkinfer.lookup.gkr import FractionProof, prove_fraction_sum, verify_fraction_sum
from zkinfer.poly.multilinear import num_vars
from zkinfer.sumcheck.common import SumcheckProof
from zkinfer.transcript import Transcript

__all__ = [
    "LookupProof",
    "LookupClaims",
    "multiplicities",
    "prove_lookup",
    "verify_lookup",
    "range_table_eval",
    "range_table_scalar",
]

U64 = npt.NDArray[np.uint64]
_LABEL_SIZES = b"logup/sizes"
_LABEL_ALPHA = b"logup/alpha"
_LABEL_EVALS = b"logup/column-evals"


@dataclass(frozen=True, eq=False)
class LookupProof:
    """The fraction-sum proof and the claimed ``f(r_f), m(r_t), t(r_t)`` (shape ``(3, 2)``)."""

    fractions: FractionProof
    column_evals: U64

    def write(self, w: Writer) -> None:
        """The fraction-sum proof, then the three column evaluations."""
        self.fractions.write(w)
        w.ext(self.column_evals)

    @classmethod
    def read(cls, r: Reader) -> LookupProof:
        """Strict decoding (the inverse of :meth:`write`).

        Raises:
            ProofFormatError: see :meth:`FractionProof.read`; truncation or non-canonical
                elements.
        """
        fractions = FractionProof.read(r)
        return cls(fractions, r.ext(3))

    def sumchecks(self) -> list[SumcheckProof]:
        """The fraction tree's sumcheck proofs, top layer first."""
        return self.fractions.sumchecks()


@dataclass(frozen=True, eq=False)
class LookupClaims:
    """What the caller must still prove: ``f(f_point) = f_value``, ``m(t_point) = m_value``,
    ``t(t_point) = t_value``."""

    f_point: U64
    f_value: U64
    t_point: U64
    m_value: U64
    t_value: U64


def multiplicities(f: npt.ArrayLike, t: npt.ArrayLike) -> U64:
    """``m_j = #{i : f_i = t_j}`` for a table of distinct base-field values.

    Raises:
        FieldRangeError: a looked-up value is not in the table, or the table repeats a value.
    """
    fv = gl.as_field(f, "f")
    tv = gl.as_field(t, "t")
    order = np.argsort(tv, kind="stable")
    sorted_t = tv[order]
    if sorted_t.size > 1 and bool((sorted_t[1:] == sorted_t[:-1]).any()):
        raise FieldRangeError("look-up table repeats a value")
    pos = np.searchsorted(sorted_t, fv)
    pos_c = np.minimum(pos, max(sorted_t.size - 1, 0))
    if fv.size and (sorted_t.size == 0 or bool((sorted_t[pos_c] != fv).any())):
        bad = fv[sorted_t[pos_c] != fv][0] if sorted_t.size else fv[0]
        raise FieldRangeError(f"value {int(bad)} is not in the look-up table")
    counts = np.bincount(order[pos_c], minlength=tv.size)
    return counts.astype(np.uint64)


def range_table_eval(point: npt.ArrayLike) -> U64:
    """``t(r)`` for the table ``t_j = j`` (``j < 2^n``): ``sum_k 2^(n-1-k) r_k`` (``r_0`` on
    top)."""
    return range_table_scalar(Fp2.vector(ext.as_ext(point, "point").reshape(-1, 2))).to_array()


def range_table_scalar(r: Sequence[Fp2]) -> Fp2:
    """:func:`range_table_eval` on scalars."""
    n = len(r)
    return sum((r_k * (1 << (n - 1 - k)) for k, r_k in enumerate(r)), Fp2.ZERO)


def _begin(transcript: Transcript, m_size: int, t_size: int) -> U64:
    transcript.append_bytes(_LABEL_SIZES, m_size.to_bytes(8, "little") + t_size.to_bytes(8, "little"))
    return transcript.challenge_ext(_LABEL_ALPHA)


def _indicator(r_rest: list[Fp2], pad_vars: int) -> Fp2:
    """``prod_{k < pad_vars} (1 - r_k)``: 1 on the real (first) block, 0 on the padding."""
    return math.prod((1 - r_k for r_k in r_rest[:pad_vars]), start=Fp2.ONE)


def _leaf_values(alpha, r, m_size, t_size, f_eval, m_eval, t_eval) -> tuple[U64, U64]:
    """``p(r), q(r)`` of the leaves from the column evaluations (see the module docstring)."""
    side, *rest = Fp2.vector(r)
    a, f, m, t = (Fp2.from_array(x) for x in (alpha, f_eval, m_eval, t_eval))
    s_vars = len(rest)
    ind_f = _indicator(rest, s_vars - num_vars(m_size))
    ind_t = _indicator(rest, s_vars - num_vars(t_size))
    # look-up side: p = 1, q = alpha - f on real entries; (0, 1) on padding
    p_f, q_f = ind_f, ind_f * (a - f) + (1 - ind_f)
    # table side: p = -m, q = alpha - t
    p_t, q_t = -(ind_t * m), ind_t * (a - t) + (1 - ind_t)
    # top variable selects the side
    p = p_f + side * (p_t - p_f)
    q = q_f + side * (q_t - q_f)
    return p.to_array(), q.to_array()


def _as_ext_column(a: npt.ArrayLike, name: str) -> U64:
    arr = gl.as_field(a, name)
    return ext.from_base(arr) if arr.ndim == 1 else ext.as_ext(arr, name)


def prove_lookup(
    f: npt.ArrayLike, t: npt.ArrayLike, m: npt.ArrayLike, transcript: Transcript
) -> tuple[LookupProof, LookupClaims]:
    """Prove every ``f_i`` is some ``t_j``, with multiplicities ``m`` (base or extension columns).

    Raises:
        FieldRangeError: sizes that are not powers of two, or ``len(m) != len(t)``.
    """
    from zkinfer.poly import fast

    fe, te, me = _as_ext_column(f, "f"), _as_ext_column(t, "t"), _as_ext_column(m, "m")
    m_size, t_size = fe.shape[0], te.shape[0]
    num_vars(m_size)
    num_vars(t_size)
    if me.shape[0] != t_size:
        raise FieldRangeError("one multiplicity per table row")
    alpha = _begin(transcript, m_size, t_size)
    s = max(m_size, t_size)
    p = np.zeros((2 * s, 2), dtype=np.uint64)
    q = np.zeros((2 * s, 2), dtype=np.uint64)
    q[:, 0] = 1
    p[:m_size, 0] = 1
    q[:m_size] = ext.sub(alpha, fe)
    p[s : s + t_size] = ext.neg(me)
    q[s : s + t_size] = ext.sub(alpha, te)
    frac, _, r = prove_fraction_sum(p, q, transcript)
    rest = r[1:]
    f_point = np.ascontiguousarray(rest[s.bit_length() - m_size.bit_length():])
    t_point = np.ascontiguousarray(rest[s.bit_length() - t_size.bit_length():])
    evals = np.stack([fast.evaluate(fe, f_point), fast.evaluate(me, t_point),
                      fast.evaluate(te, t_point)])
    transcript.append_ext(_LABEL_EVALS, evals)
    claims = LookupClaims(f_point, evals[0], t_point, evals[1], evals[2])
    return LookupProof(frac, evals), claims


def verify_lookup(
    m_size: int, t_size: int, proof: LookupProof, transcript: Transcript, check: str = "logup"
) -> LookupClaims:
    """Verify the look-up argument; returns the column claims the caller must prove.

    Raises:
        VerificationError: the fraction sum is not zero (some value is not in the table or the
            multiplicities are wrong), its denominator is zero, a GKR layer fails, or the
            column evaluations do not explain the leaf claims.
    """
    num_vars(m_size)
    num_vars(t_size)
    alpha = _begin(transcript, m_size, t_size)
    s = max(m_size, t_size)
    root, r, leaf = verify_fraction_sum(num_vars(2 * s), proof.fractions, transcript, check=check)
    # sum_i 1/(alpha - f_i) - sum_j m_j/(alpha - t_j) == P / Q == 0
    if not np.array_equal(root[0], ext.zeros(())):
        raise VerificationError(check, "look-up fractions do not cancel (a value is not in the "
                                "table, or the multiplicities are wrong)",
                                expected=(0, 0), got=tuple(map(int, root[0])))
    if np.array_equal(root[1], ext.zeros(())):
        raise VerificationError(check, "fraction-sum denominator is zero")
    evals = ext.as_ext(proof.column_evals, "column evaluations")
    if evals.shape != (3, 2):
        raise VerificationError(check, "expected three column evaluations")
    p, q = _leaf_values(alpha, r, m_size, t_size, evals[0], evals[1], evals[2])
    if not (np.array_equal(p, leaf[0]) and np.array_equal(q, leaf[1])):
        raise VerificationError(check, "column evaluations do not match the leaf claims")
    transcript.append_ext(_LABEL_EVALS, evals)
    rest = r[1:]
    f_point = rest[s.bit_length() - m_size.bit_length():]
    t_point = rest[s.bit_length() - t_size.bit_length():]
    return LookupClaims(f_point, evals[0], t_point, evals[1], evals[2])
