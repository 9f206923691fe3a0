"""What every part of the schedule shares: proof steps, soundness terms, the two contexts.

A *step* is what the prover sends for one part of the schedule (a relation, a zero-check
group, the range checks, an opening). Each step type is a :class:`Step` subclass that owns its
encoding (:meth:`Step.write`, :meth:`Step.read`) and lists the sumchecks it carries
(:meth:`Step.sumchecks`, for the soundness figure); a relation's step also has a one-byte tag,
registered when its class is defined, so a proof decodes without knowing its circuit
(:func:`read_step`).

A *relation* (:class:`Relation`) proves one tensor from others at a random point. Its module
states the protocol and its soundness, and defines the relation with both sides next to each
other: :meth:`Relation.prove` and :meth:`Relation.verify` walk the same transcript calls, and
:meth:`Relation.terms` counts its soundness terms from the circuit alone.

The two sides run with a context (:class:`ProverContext`, :class:`VerifierContext`): the
circuit, the statement's token ids, the transcript, and the evaluation claims left so far for
the openings; the prover's also holds the committed tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.protocol.claims import Claim
from zkinfer.transcript import Transcript

__all__ = [
    "Step",
    "read_step",
    "write_step",
    "Terms",
    "Relation",
    "Context",
    "ProverContext",
    "VerifierContext",
]

U64 = npt.NDArray[np.uint64]
#: ``progress(stage, done, total)``.
Progress = Callable[[str, int, int], None]

LABEL_POINT = b"circuit/point"
LABEL_VALUE = b"circuit/value"

_TAGS: dict[int, type[Step]] = {}


class Step:
    """A proof step. Subclasses define :meth:`write`, :meth:`read` and :meth:`sumchecks`;
    a relation's step passes ``tag=`` (and ``kind=``, its name in size reports) in its class
    statement, e.g. ``class ProductStep(Step, tag=1, kind="product")``."""

    TAG: ClassVar[int | None] = None
    KIND: ClassVar[str] = "step"

    def __init_subclass__(cls, tag: int | None = None, kind: str | None = None, **kw) -> None:
        super().__init_subclass__(**kw)
        if kind is not None:
            cls.KIND = kind
        if tag is not None:
            if tag in _TAGS:  # pragma: no cover - a bug of the library
                raise TypeError(f"step tag {tag} used by {_TAGS[tag].__name__} and {cls.__name__}")
            cls.TAG = tag
            _TAGS[tag] = cls

    def write(self, w: Writer) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def read(cls, r: Reader) -> Step:  # pragma: no cover - abstract
        raise NotImplementedError

    def sumchecks(self) -> list:
        """Every :class:`~zkinfer.sumcheck.common.SumcheckProof` the step carries."""
        return []


def write_step(w: Writer, step: Step) -> None:
    """A tagged step: its tag byte, then its own encoding."""
    w.u8(step.TAG)
    step.write(w)


def read_step(r: Reader) -> Step:
    """Inverse of :func:`write_step`.

    Raises:
        ProofFormatError: an unknown tag, or malformed bytes.
    """
    tag = r.u8(255)
    cls = _TAGS.get(tag)
    if cls is None:
        raise ProofFormatError(f"unknown proof step {tag}")
    return cls.read(r)


@dataclass
class Terms:
    """Soundness numerators over ``|E| = p^2`` (see :mod:`zkinfer.security`), and the number of
    evaluation claims a part leaves for the openings (each costs one power of ``gamma``)."""

    points: int = 0
    sumchecks: int = 0
    lookups: int = 0
    gkr: int = 0
    batching: int = 0
    claims: int = 0

    def __iadd__(self, other: Terms) -> Terms:
        for name in ("points", "sumchecks", "lookups", "gkr", "batching", "claims"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def gkr_terms(layers: int) -> Terms:
    """A fraction tree of ``layers`` layers: the sumcheck of layer ``k`` has ``k`` rounds of
    degree 3, and each layer draws two combination challenges (``lambda``, ``mu``)."""
    return gkr_batch_terms([layers])


def gkr_batch_terms(layers) -> Terms:
    """Fraction trees proven together (``layers[j]`` layers each): one sumcheck per layer of the
    deepest tree (``k`` rounds of degree 3 at layer ``k``); at layer ``k`` the combination of
    the ``J_k`` trees reaching it has degree ``2 J_k - 1`` in ``lambda``, and ``mu`` adds one:
    ``2`` per tree and layer in all."""
    deepest = max(layers, default=0)
    return Terms(sumchecks=3 * deepest * (deepest - 1) // 2, gkr=2 * sum(layers))


def log2(n: int) -> int:
    """``log2`` of a power of two."""
    return int(n).bit_length() - 1


class Relation:
    """A relation of the circuit (a frozen dataclass in its own module).

    Subclasses set ``Step`` (the class of the step they send) and define :attr:`label`,
    :meth:`prove`, :meth:`verify` and :meth:`terms`.
    """

    Step: ClassVar[type[Step]]

    @property
    def label(self) -> str:
        """The name used in progress reports, error messages and proof summaries."""
        return self.out  # type: ignore[attr-defined]

    def prove(self, ctx: ProverContext) -> Step:  # pragma: no cover - abstract
        raise NotImplementedError

    def verify(self, ctx: VerifierContext, step: Step) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def terms(self, circuit) -> Terms:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Context:
    """What both sides hold while they walk the schedule.

    Attributes:
        circuit: the statement's :class:`~zkinfer.protocol.circuit.Circuit`.
        ids: the public token ids.
        transcript: the shared transcript (statement and commitments absorbed).
        claims: evaluation claims left so far, proven by the openings at the end.
        pcs: the commitment scheme of the key.
        commitments: ``"trace"`` and ``"weights"``: the two commitments.
    """

    circuit: object
    ids: npt.NDArray[np.int64]
    transcript: Transcript
    claims: list[Claim] = field(default_factory=list)
    pcs: object = None
    commitments: dict = field(default_factory=dict)

    def draw_point(self, name: str) -> U64:
        """A random point for column ``name`` (as many coordinates as it has variables)."""
        return self.transcript.challenge_exts(LABEL_POINT, self.circuit.col(name).num_vars)

    def claim(self, name: str, point: U64, value: U64) -> Claim:
        """Record ``name(point) = value`` for the openings; returns the claim."""
        c = Claim(name, point, value)
        self.claims.append(c)
        return c

    def output_claim(self, name: str, value: U64 | None = None) -> Claim:
        """Draw the point of a relation's output column and absorb its value there: computed
        by the prover (``value`` is not given), as the prover sent it for the verifier."""
        r = self.draw_point(name)
        value = self._output_value(name, r, value)
        self.transcript.append_ext(LABEL_VALUE, value)
        return self.claim(name, r, value)

    def _output_value(self, name: str, point: U64, sent: U64 | None) -> U64:
        return ext.as_ext(sent, "value")


@dataclass
class ProverContext(Context):
    """The prover's side: also the committed tables (trace and weights, by name).

    Attributes:
        tables: trace columns (and the views and linear columns the prover computes).
        weights: weight columns.
        prover_data: ``"trace"`` and ``"weights"``: each commitment's prover data.
        progress: ``progress(stage, done, total)``, or ``None``.
    """

    tables: dict[str, U64] = field(default_factory=dict)
    weights: dict[str, U64] = field(default_factory=dict)
    prover_data: dict = field(default_factory=dict)
    progress: Progress | None = None

    def table(self, name: str) -> U64:
        """A trace or weight column's table."""
        return self.tables[name] if name in self.tables else self.weights[name]

    def matrix(self, name: str) -> U64:
        """A two-axis column as its padded matrix."""
        return self.table(name).reshape(self.circuit.col(name).padded_shape[0], -1)

    def evaluate(self, name: str, point: U64) -> U64:
        """``name~(point)`` from its table."""
        from zkinfer.poly import fast

        return fast.evaluate(self.table(name), point)

    def _output_value(self, name: str, point: U64, sent: U64 | None) -> U64:
        return self.evaluate(name, point)


@dataclass
class VerifierContext(Context):
    """The verifier's side (nothing beyond the shared context)."""


def expect(step: object, cls: type, check: str, what: str) -> None:
    """Refuse a step of the wrong type where the schedule expects ``cls``."""
    if not isinstance(step, cls):
        raise VerificationError(check, f"expected {what}")

