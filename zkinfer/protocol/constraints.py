"""Polynomial identities over trace columns, written once and used by prover, verifier and a
debug checker.

An :class:`Identity` states ``sum_t c_t prod_{name in factors_t} col_name(x) = 0`` for every
``x`` of a ``2^n`` cube. Factors name committed columns (the prover holds their tables, the
verifier receives evaluation claims) or :class:`PublicColumn` objects that both sides derive
from the statement (a per-channel multiplier broadcast over rows, the indicator of the real
entries inside a padded tensor, the all-ones column for constant terms).

All identities of one group (one cube size) are proven by one zero-check: the verifier draws
``lambda`` and the prover shows ``sum_i lambda^i E_i = 0`` on the cube
(:mod:`zkinfer.protocol.zerocheck`). The zero-check leaves one claim per committed column at one
point; public columns are evaluated by the verifier itself.

Integer meaning: an identity holds in ``F_p``; it implies the integer identity when both sides
stay below ``p / 2`` in absolute value, which range checks on the columns guarantee. Write the
bound next to each identity where it is built.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import VerificationError
from zkinfer.field import blas
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2
from zkinfer.poly.multilinear import eq_prefix_sum, eq_table, evaluate
from zkinfer.protocol.claims import Claim
from zkinfer.protocol.zerocheck import ZerocheckProof, prove_zerocheck, verify_zerocheck
from zkinfer.sumcheck.common import Expression
from zkinfer.transcript import Transcript

__all__ = [
    "Term",
    "Identity",
    "PublicColumn",
    "Ones",
    "Broadcast",
    "Indicator",
    "Grid",
    "debug_check",
    "prove_identities",
    "verify_identities",
]

U64 = npt.NDArray[np.uint64]
ONE = "1"
"""Name of the all-ones public column (used for constant terms)."""

_LABEL_LAMBDA = b"constraints/lambda"
_LABEL_GROUP = b"constraints/group"


@dataclass(frozen=True)
class Term:
    """``coeff * prod(factors)``; ``coeff`` is an integer (negative allowed, taken mod p)."""

    coeff: int
    factors: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    """``sum_t terms[t] == 0`` on the whole cube; ``name`` says what it means in errors.

    ``integer_argument`` is empty for an identity whose integer meaning follows from the field
    bound ``sum_t |coeff_t| prod max|factor| < p / 2`` (checked by
    :mod:`zkinfer.protocol.bounds`); otherwise it states the argument that pins its integer
    meaning instead, and the bound check skips it.
    """

    name: str
    terms: tuple[Term, ...]
    integer_argument: str = ""

    @classmethod
    def of(cls, name: str, *terms: tuple[int, Sequence[str]], integer_argument: str = "") -> Identity:
        """``Identity.of("rq", (1, ["acc", "m"]), (-4, ["q"]), (2, []))``; ``[]`` = constant."""
        return cls(name, tuple(Term(int(c), tuple(f) if f else (ONE,)) for c, f in terms),
                   integer_argument)

    def names(self) -> set[str]:
        return {f for t in self.terms for f in t.factors}


class PublicColumn(abc.ABC):
    """A column both sides can compute: the prover needs its table, the verifier one value."""

    @abc.abstractmethod
    def table(self, num_vars: int) -> U64:
        """The column's ``2^num_vars`` entries (base field)."""

    @abc.abstractmethod
    def evaluate(self, point: U64) -> U64:
        """Its multilinear extension at an extension point; ``O(small)`` for the verifier."""


class Ones(PublicColumn):
    """The constant 1."""

    def table(self, num_vars: int) -> U64:
        return np.ones(1 << num_vars, dtype=np.uint64)

    def evaluate(self, point: U64) -> U64:
        return ext.ones(())


@dataclass(frozen=True, eq=False)
class Broadcast(PublicColumn):
    """A vector over the last ``log len(vector)`` variables, repeated over the leading ones
    (e.g. a per-output-channel multiplier ``m[c]`` of a row-major ``(rows, channels)`` tensor)."""

    vector: U64

    def table(self, num_vars: int) -> U64:
        v = gl.as_field(self.vector, "vector")
        return np.tile(v, (1 << num_vars) // v.shape[0])

    def evaluate(self, point: U64) -> U64:
        k = int(self.vector.shape[0]).bit_length() - 1
        return evaluate(self.vector, point[point.shape[0] - k:])


@dataclass(frozen=True, eq=False)
class Indicator(PublicColumn):
    """1 on the real entries ``[0, real_k)`` of each padded axis of a row-major tensor of padded
    shape ``2^bits_k``, 0 on the padding. Its extension is a product over axes of
    ``sum_{i < real_k} eq(r_k, i)``."""

    real_shape: tuple[int, ...]
    bits: tuple[int, ...]

    def table(self, num_vars: int) -> U64:
        out = np.ones(1, dtype=np.uint64)
        for real, b in zip(self.real_shape, self.bits):
            axis = np.zeros(1 << b, dtype=np.uint64)
            axis[:real] = 1
            out = np.outer(out, axis).reshape(-1)
        return out

    def evaluate(self, point: U64) -> U64:
        acc = ext.ones(())
        pos = 0
        for real, b in zip(self.real_shape, self.bits):
            if real < 1 << b:
                acc = ext.mul(acc, eq_prefix_sum(point[pos: pos + b], real))
            pos += b
        return acc


@dataclass(frozen=True, eq=False)
class Grid(PublicColumn):
    """A public table over some of the variables, constant along the others.

    ``values`` holds ``2^k`` base-field entries indexed by the variables ``coords`` (ascending
    indices into the point, ``0`` the most significant; the first coordinate is the most
    significant bit of the index into ``values``). Examples: a causal mask over the ``(i, j)``
    bits of a ``(heads, n, n)`` tensor, a fixed-point cos table over the ``(row, pair)`` bits
    of a rotation. The verifier evaluates it in ``O(2^k)``.
    """

    values: U64
    coords: tuple[int, ...]

    def table(self, num_vars: int) -> U64:
        k = len(self.coords)
        arr = gl.as_field(self.values, "grid").reshape((2,) * k if k else ())
        # put the table's axes at their coordinates, size-1 axes at the others
        shape = [1] * num_vars
        for c in self.coords:
            shape[c] = 2
        full = np.broadcast_to(arr.reshape(shape), (2,) * num_vars)
        return np.ascontiguousarray(full).reshape(-1)

    def evaluate(self, point: U64) -> U64:
        sub = np.asarray(point)[list(self.coords)]
        return evaluate(self.values, sub) if self.coords else ext.from_base(self.values[:1])[0]


def evaluate_publics(columns: Sequence[PublicColumn], point: U64) -> list[U64]:
    """Each column's :meth:`~PublicColumn.evaluate` at ``point``; the :class:`Broadcast` columns
    of one length share one eq table and one exact matrix product (an identity group has
    dozens: per-channel multipliers, norm gains)."""
    out: list[U64 | None] = [None] * len(columns)
    groups: dict[int, list[int]] = {}
    for j, col in enumerate(columns):
        size = col.vector.shape[0] if isinstance(col, Broadcast) else 0
        if size > 1 and size & (size - 1) == 0 and size.bit_length() - 1 <= point.shape[0]:
            groups.setdefault(size, []).append(j)
        else:
            out[j] = col.evaluate(point)
    for size, idx in groups.items():
        k = size.bit_length() - 1
        eq = eq_table(point[point.shape[0] - k:])
        vectors = gl.as_field(np.stack([columns[j].vector for j in idx]), "vector")
        for j, value in zip(idx, blas.matmul(vectors, eq)):
            out[j] = value
    return out


def _expression(identities: Sequence[Identity], order: list[str], lam: U64) -> Expression:
    """``sum_i lambda^i E_i`` as one :class:`Expression` over the tables in ``order``."""
    index = {name: j for j, name in enumerate(order)}
    terms, coeffs = [], []
    power, step = Fp2.ONE, Fp2.from_array(lam)
    for ident in identities:
        for term in ident.terms:
            c = power * (term.coeff % gl.P)
            terms.append(tuple(index[f] for f in term.factors))
            coeffs.append((c[0], c[1]))
        power *= step
    return Expression(len(order), tuple(terms), tuple(coeffs))


def _order(identities: Sequence[Identity], publics: Mapping[str, PublicColumn]) -> tuple[list, list]:
    names = sorted(set().union(*(i.names() for i in identities)))
    committed = [n for n in names if n not in publics and n != ONE]
    public = [n for n in names if n in publics or n == ONE]
    return committed, public


def debug_check(
    identities: Sequence[Identity],
    columns: Mapping[str, npt.ArrayLike],
    publics: Mapping[str, PublicColumn],
    num_vars: int,
) -> list[tuple[str, int]]:
    """Evaluate every identity on every entry; return ``[(identity name, first bad index)]``.

    For the prover (a trace that breaks an identity is a bug in the forward or the witness) and
    for tests; never used by the verifier.
    """
    failures = []
    for ident in identities:
        total = np.zeros(1 << num_vars, dtype=np.uint64)
        for term in ident.terms:
            prod = gl.encode_signed(np.array(term.coeff)) * np.ones(1 << num_vars, dtype=np.uint64)
            for f in term.factors:
                if f == ONE:
                    continue
                col = publics[f].table(num_vars) if f in publics else gl.as_field(columns[f], f)
                prod = gl.mul(prod, col)
            total = gl.add(total, prod)
        bad = np.flatnonzero(total)
        if bad.size:
            failures.append((ident.name, int(bad[0])))
    return failures


def prove_identities(
    identities: Sequence[Identity],
    columns: Mapping[str, npt.ArrayLike],
    publics: Mapping[str, PublicColumn],
    num_vars: int,
    transcript: Transcript,
) -> tuple[ZerocheckProof, list[Claim]]:
    """Prove all ``identities`` on the ``2^num_vars`` cube with one zero-check.

    Returns:
        The proof and one claim per committed column (sorted by name) at the zero-check's point.
    """
    committed, public = _order(identities, publics)
    transcript.append_bytes(_LABEL_GROUP, "\x00".join(i.name for i in identities).encode())
    lam = transcript.challenge_ext(_LABEL_LAMBDA)
    order = committed + public
    tables = [gl.as_field(columns[n], n) for n in committed]
    tables += [(publics[n] if n in publics else Ones()).table(num_vars) for n in public]
    proof, point = prove_zerocheck(tables, _expression(identities, order, lam), transcript)
    claims = [Claim(n, point, proof.evaluations[j]) for j, n in enumerate(committed)]
    return proof, claims


def verify_identities(
    identities: Sequence[Identity],
    publics: Mapping[str, PublicColumn],
    num_vars: int,
    proof: ZerocheckProof,
    transcript: Transcript,
    check: str = "identities",
) -> list[Claim]:
    """Verify; returns the claims on the committed columns (sorted by name).

    Raises:
        VerificationError: the zero-check fails, or a public column's value sent in the proof
            differs from the verifier's own evaluation.
    """
    committed, public = _order(identities, publics)
    transcript.append_bytes(_LABEL_GROUP, "\x00".join(i.name for i in identities).encode())
    lam = transcript.challenge_ext(_LABEL_LAMBDA)
    order = committed + public
    point = verify_zerocheck(num_vars, _expression(identities, order, lam), proof, transcript,
                             check=check)
    values = evaluate_publics([publics[n] if n in publics else Ones() for n in public], point)
    for j, (n, want) in enumerate(zip(public, values)):
        if not np.array_equal(proof.evaluations[len(committed) + j], want):
            raise VerificationError(check, f"public column {n!r} evaluation is wrong",
                                    expected=tuple(map(int, want)),
                                    got=tuple(map(int, proof.evaluations[len(committed) + j])))
    return [Claim(n, point, proof.evaluations[j]) for j, n in enumerate(committed)]
