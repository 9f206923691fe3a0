"""How much a proof can be trusted: its soundness, as two figures, and the verifier's floor.

Numpy only (the verifier imports this module). :func:`soundness` is the one function the
verifier's floor (:func:`zkinfer.verifier.verify`), the CLI (``prove``, ``verify``, ``inspect``,
``demo``) and the tests use, so they all print the same numbers.

The two figures
---------------
Let ``|E| = p^2`` (challenges live in ``F_p2``; ``p^2`` is slightly below ``2^128``), ``N = 2``
PCS openings (trace and weights), and for the key's PCS ``eps_f`` the error of an opening's
challenges before its column queries, ``eps_q`` the query phase's term and ``g`` its grinding
bits (for Ligero: ``eps_f = (L_max + MAX_GROUPS + 2) / p^2``, ``eps_q = ((1 + rate) / 2)^t``,
or ``rate^t`` under the conjectured bound; :mod:`zkinfer.commit.ligero.params`). ``U`` counts the
protocol's own field terms (below). Then

- **interactive soundness error** (a union bound over every challenge of the protocol; grinding
  plays no part in it)::

      eps_int = U / p^2 + N (eps_f + eps_q),         interactive_bits = -log2(eps_int)

- **bits a hashing (Fiat-Shamir) adversary faces per unit of work**::

      eps_hash = U / p^2 + N (eps_f + eps_q 2^-g),   hashing_bits = -log2(eps_hash)

  A cheating prover that makes ``Q`` hash queries (one per transcript challenge it tries, one
  per grinding attempt) makes the verifier accept a false statement with probability at most
  ``Q eps_hash`` (plus a hash collision, Merkle tree or transcript, below ``Q^2 / 2^256``): each
  query re-draws the challenge of one round, which turns a doomed transcript into an accepting
  one with at most that round's error (round-by-round soundness), and a query-phase challenge is
  only usable with a nonce that meets the difficulty, found with probability ``2^-g`` per hash,
  independently. The largest single term would do; the sum is used, which is conservative and
  equals ``eps_int`` when ``g = 0``. So ``hashing_bits`` is ``log2`` of the hashing work per unit
  of success probability; it is at least ``interactive_bits``.

The verifier's floor (``min_bits``, 100 by default) applies to the **interactive** figure: it is
the lower and more conservative of the two, it needs no model of the hash function, and it is
what the PCS parameters target (``LigeroPCS(target_bits=...)`` counts no grinding). The hashing
figure is reported beside it.

The protocol's terms ``U`` (numerators over ``|E|``; :func:`protocol_terms`)
------------------------------------------------------------------------------
All of them come from the circuit, which the verifier builds from the key and the statement
(the number of tokens, the output): nothing the prover sends enters them. A proof of another
shape (other rounds, degrees, layers, trees) is rejected by the verifier's shape checks; the
sumcheck term is moreover the larger of the circuit's and the proof's, so no proof can raise
the figure.

- ``points``: ``n`` per random point at which a relation's output is checked (a non-zero
  multilinear difference in ``n`` variables vanishes there with probability ``<= n / |E|``):
  matrix products, embeddings, contractions, column sums, and each zero-check's ``tau``;
- ``sumchecks``: ``rounds * degree`` per sumcheck (Schwartz-Zippel per round): the relations',
  the zero-checks' (degree ``1 + deg E``), every fraction-tree layer's (degree 3) and the
  openings' batching sumchecks (degree 2 over the commitment's ``n`` variables);
- ``lookups``: ``M + T`` per pair look-up (``M`` looked-up entries, ``T`` table rows): the
  numerator of ``sum 1 / (alpha - f) - sum m / (alpha - t)`` over the common denominator, as a
  polynomial in ``(alpha, beta)`` (the pair ``(x, y)`` is looked up as ``x + beta y``), has
  total degree below ``M + T`` and is not zero unless every pair is in the table; and for the
  range checks the number of non-padding leaves (all limb columns and range tables), or ``1``
  when a large circuit runs them at two challenges (``(L / p^2)^2 <= 1 / p^2``;
  :mod:`zkinfer.lookup.range`, "Two challenges");
- ``gkr``: ``2`` per fraction-tree layer (``lambda`` combines the two layer claims, ``mu``
  moves to the next layer; when several trees share each layer's sumcheck, the combination of
  ``J`` trees has degree ``2 J - 1`` in ``lambda``: still ``2`` per tree and layer);
- ``batching``: ``I - 1`` per zero-check combining ``I`` identities with powers of
  ``lambda``, and ``K - 1`` per opening combining ``K`` claims with powers of ``gamma``
  (bounded here by the total number of claims).
"""

from __future__ import annotations

import math
import numbers
import reprlib
from dataclasses import dataclass, field

from zkinfer.errors import InvalidArgumentError, UnsupportedOpError, VerificationError
from zkinfer.field import goldilocks as gl

__all__ = [
    "DEFAULT_MIN_BITS",
    "OPENINGS",
    "Soundness",
    "check_arguments",
    "protocol_terms",
    "circuit_soundness",
    "soundness",
    "require",
]

DEFAULT_MIN_BITS = 100.0
"""The verifier's default floor on the interactive soundness."""

OPENINGS = 2
"""PCS openings per proof: the trace commitment and the weight commitment."""

_EXT_FIELD = float(gl.P) ** 2  # |E| = p^2, exactly (to float precision), below 2^128
_CHECK = "security"


@dataclass(frozen=True)
class Soundness:
    """A proof's two security figures and what they are made of (see the module docstring).

    Attributes:
        interactive_bits: ``-log2(eps_int)``, the union bound over every challenge.
        hashing_bits: ``-log2(eps_hash)``, per unit of hashing work after Fiat-Shamir.
        scheme: the PCS's name (``"ligero"``, ``"trivial"``).
        bound: the PCS analysis (``"unique-decoding"``, ``"conjectured"``, ``"none"``).
        proven: whether the PCS bound is proven.
        insecure: the PCS makes no security claim (both figures are then ``0``).
        grinding_bits: proof-of-work bits per opening.
        protocol_error: ``U / p^2``: the protocol's own field terms.
        opening_field_error: ``eps_f``, per opening.
        opening_query_error: ``eps_q``, per opening (before grinding).
        openings: ``N``.
        terms: ``U`` by kind (``points``, ``sumchecks``, ``lookups``, ``gkr``, ``batching``).
    """

    interactive_bits: float
    hashing_bits: float
    scheme: str
    bound: str
    proven: bool
    insecure: bool
    grinding_bits: int
    protocol_error: float
    opening_field_error: float
    opening_query_error: float
    openings: int = OPENINGS
    terms: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """Both figures, labelled, for people (one line, no leading label)."""
        if self.insecure:
            return (f"none claimed ({self.scheme} PCS: the proof carries the committed vectors; "
                    "for tests only)")
        note = "" if self.proven else f"; {self.bound} PCS bound, not proven"
        return (f"{self.interactive_bits:.1f} bits interactive soundness (union bound over all "
                f"challenges), {self.hashing_bits:.1f} bits per hash against a Fiat-Shamir "
                f"prover ({self.grinding_bits} bits of grinding per opening{note})")

    def as_dict(self) -> dict[str, object]:
        """The figures and their inputs as JSON-friendly values."""
        return {"interactive_bits": self.interactive_bits, "hashing_bits": self.hashing_bits,
                "grinding_bits": self.grinding_bits, "pcs": self.scheme, "pcs_bound": self.bound,
                "pcs_bound_proven": self.proven, "insecure": self.insecure,
                "protocol_error": self.protocol_error,
                "opening_field_error": self.opening_field_error,
                "opening_query_error": self.opening_query_error, "openings": self.openings,
                "terms": dict(self.terms)}


def check_arguments(min_bits: object, allow_insecure: object, allow_conjectured: object) -> float:
    """Validate the verifier's security arguments.

    Arguments:
        min_bits: the floor, a real number in ``[0, inf)`` (an ``int``, a ``float`` or a numpy
            scalar of either; not a ``bool``).
        allow_insecure: ``True`` or ``False`` (a numpy bool too).
        allow_conjectured: ``True`` or ``False`` (a numpy bool too).

    Returns:
        ``min_bits`` as a float.

    Raises:
        InvalidArgumentError: ``min_bits`` is not a number, or is NaN, infinite or negative,
            or a flag is not a boolean (a ``TypeError`` and ``ValueError`` subclass).
    """
    import numpy as np

    if isinstance(min_bits, (bool, np.bool_)) or not isinstance(min_bits, numbers.Real):
        raise InvalidArgumentError(f"min_bits must be a number of bits (int or float), got "
                                   f"{reprlib.repr(min_bits)}")
    bits = float(min_bits)
    if math.isnan(bits) or math.isinf(bits) or bits < 0:
        raise InvalidArgumentError(f"min_bits must be a finite number >= 0, got {min_bits!r}")
    for name, flag in (("allow_insecure", allow_insecure), ("allow_conjectured", allow_conjectured)):
        if not isinstance(flag, (bool, np.bool_)):
            raise InvalidArgumentError(f"{name} must be True or False, got {reprlib.repr(flag)}")
    return bits


def protocol_terms(circuit) -> dict[str, int]:
    """``U`` by kind, from the circuit alone (see the module docstring).

    Each part of the schedule (:func:`zkinfer.protocol.engine.schedule`) counts its own terms
    (``terms(circuit)``, in the module that proves it); the openings' ``gamma`` powers are
    counted here, one per claim left by all parts.

    Arguments:
        circuit: a :class:`~zkinfer.protocol.circuit.Circuit` (built by
            :func:`~zkinfer.protocol.model_circuit.build_circuit`).

    Returns:
        ``{"points", "sumchecks", "lookups", "gkr", "batching"}``, integer numerators over
        ``p^2``.

    Raises:
        VerificationError: the circuit holds a relation this function cannot bound.
    """
    from zkinfer.protocol.engine import schedule
    from zkinfer.protocol.relation import Terms

    total = Terms()
    for _, item in schedule(circuit):
        if not callable(getattr(item, "terms", None)):
            raise VerificationError(_CHECK, f"cannot bound the soundness of a "
                                    f"{type(item).__name__} relation")
        total += item.terms(circuit)
    # gamma: K - 1 per opening combining K claims, bounded by the claims of all parts
    return {"points": total.points, "sumchecks": total.sumchecks, "lookups": total.lookups,
            "gkr": total.gkr, "batching": total.batching + total.claims}


def _proof_sumcheck_units(proof) -> int:
    """``sum rounds * degree`` over the proof's own sumchecks (malformed ones are skipped: the
    verifier rejects them)."""
    import numpy as np

    body = getattr(proof, "body", None)
    total = 0
    for sc in (body.sumchecks() if callable(getattr(body, "sumchecks", None)) else ()):
        msgs = np.asarray(getattr(sc, "messages", ()))
        if msgs.ndim == 3:  # (rounds, degree, 2)
            total += int(msgs.shape[0]) * max(1, int(msgs.shape[1]))
    return total


def _bits(error: float) -> float:
    return -math.log2(error) if error < 1.0 else 0.0


def circuit_soundness(pcs, circuit, proof=None) -> Soundness:
    """The figures for a circuit and a PCS (and, if given, the larger sumcheck term of the proof).

    Arguments:
        pcs: the key's scheme (:func:`zkinfer.commit.pcs_from_params`).
        circuit: the statement's circuit.
        proof: the :class:`~zkinfer.proof.Proof`, or ``None``.

    Returns:
        The :class:`Soundness`.

    Raises:
        VerificationError: a relation the function cannot bound.
    """
    opening = pcs.opening_soundness()
    terms = protocol_terms(circuit)
    if proof is not None:
        terms["sumchecks"] = max(terms["sumchecks"], _proof_sumcheck_units(proof))
    protocol = sum(terms.values()) / _EXT_FIELD
    if opening.insecure:
        interactive = hashing = 0.0
    else:
        interactive = _bits(protocol + OPENINGS * (opening.field_error + opening.query_error))
        hashing = _bits(protocol + OPENINGS * (opening.field_error
                                               + opening.query_error * 2.0**-opening.grinding_bits))
    return Soundness(interactive, hashing, pcs.name, opening.bound, opening.proven,
                     opening.insecure, opening.grinding_bits, protocol, opening.field_error,
                     opening.query_error, OPENINGS, terms)


def soundness(vk, proof) -> Soundness:
    """The figures of ``proof`` under ``vk`` (the function the CLI and the tests use).

    The circuit is rebuilt from the key's public model and the statement the proof carries
    (its number of tokens and its output), as the verifier does.

    Arguments:
        vk: the :class:`~zkinfer.proof.VerifyingKey` (or its bytes).
        proof: the :class:`~zkinfer.proof.Proof` (or its bytes).

    Returns:
        The :class:`Soundness`.

    Raises:
        ProofFormatError: malformed key or proof bytes, or PCS parameters.
        VerificationError: the key's model does not yield a circuit for this statement.
    """

    from zkinfer.commit import pcs_from_params
    from zkinfer.errors import FieldRangeError
    from zkinfer.proof import Proof, VerifyingKey
    from zkinfer.protocol.model_circuit import proof_circuit

    if not isinstance(vk, VerifyingKey):
        vk = VerifyingKey.from_bytes(vk)
    if not isinstance(proof, Proof):
        proof = Proof.from_bytes(proof)
    pcs = pcs_from_params(vk.pcs_params)
    try:
        circuit = proof_circuit(vk.model(), proof)
    except (UnsupportedOpError, FieldRangeError, ValueError) as exc:
        raise VerificationError(_CHECK, f"no circuit for this key and statement: {exc}") from None
    return circuit_soundness(pcs, circuit, proof)


def require(pcs, min_bits: float, allow_insecure: bool, allow_conjectured: bool,
            circuit=None, proof=None) -> Soundness | None:
    """The verifier's floor: reject a key or proof below it.

    Called twice by :func:`zkinfer.verifier.verify`: with the PCS alone as soon as the key is
    decoded (policy, and the openings' own error, which already bounds the figure), then with the
    circuit before any segment is accepted (with two verifying processes, in the second one
    while the first verifies its segments; its rejection wins over theirs).

    Arguments:
        pcs: the key's scheme.
        min_bits: the floor on the interactive figure (validated by :func:`check_arguments`).
        allow_insecure: accept a scheme that makes no security claim (``TrivialPCS``); the
            floor does not apply to it then (it has no figure to compare).
        allow_conjectured: accept a PCS bound that is conjectured, not proven; its figure is
            then compared with the floor.
        circuit: the statement's circuit, or ``None`` for the early check.
        proof: the proof, if available (see :func:`circuit_soundness`).

    Returns:
        The :class:`Soundness` when ``circuit`` is given, else ``None``.

    Raises:
        VerificationError: ``check == "security"``: an insecure scheme without
            ``allow_insecure``, a conjectured bound without ``allow_conjectured``, or an
            interactive figure below ``min_bits``.
    """
    opening = pcs.opening_soundness()
    if opening.insecure:
        if not allow_insecure:
            raise VerificationError(_CHECK, f"the key names the {pcs.name} PCS, which makes no "
                                    "security claim (its proofs carry the committed vectors); "
                                    "pass allow_insecure=True to accept it (tests only)")
        return None if circuit is None else circuit_soundness(pcs, circuit, proof)
    if not opening.proven and not allow_conjectured:
        raise VerificationError(_CHECK, f"the key's PCS parameters rest on the {opening.bound!r} "
                                "soundness bound, which is not proven; pass "
                                "allow_conjectured=True to accept it")
    if circuit is None:
        # the openings alone: the full figure can only be lower
        bits = _bits(OPENINGS * (opening.field_error + opening.query_error))
        report = None
    else:
        report = circuit_soundness(pcs, circuit, proof)
        bits = report.interactive_bits
    if bits < min_bits:
        what = "the key's two PCS openings alone give" if circuit is None else "the proof has"
        raise VerificationError(_CHECK, f"{what} {bits:.1f} bits of interactive soundness, below "
                                f"the floor of {min_bits:g} bits", expected=min_bits,
                                got=round(bits, 2))
    return report
