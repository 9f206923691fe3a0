"""Progress reporting: the callback protocol, a progress bar with ETAs, and the prover's helpers.

The protocol is one callable, ``progress(stage: str, done: int, total: int)``: ``stage`` names
what runs now (a new string starts a new stage), ``0 <= done <= total`` counts its units of work
and only grows while the stage lasts (``total`` may be revised as the stage learns its size).
:func:`zkinfer.prover.setup` and :func:`zkinfer.prover.prove` report at least the stages below,
most of them split into sub-stages named ``"<stage>: <step>"`` that report work done inside the
stage (rows encoded, columns hashed, Merkle layers, batching-sumcheck work, rows combined):

====================================  ===========================================================
stage                                 reported by
====================================  ===========================================================
``committing the weights: ...``       :func:`~zkinfer.prover.setup` (tables built, rows encoded,
                                      columns hashed, Merkle layers)
``integer forward``                   :func:`~zkinfer.prover.prove` (the Numba forward pass)
``committing the trace: ...``         as for the weights
``relation ...``, ``identities ...``  :func:`zkinfer.protocol.engine.prove_circuit`, one per step
``range checks``                      the one range step
``opening the trace commitment: ...`` the openings (:mod:`zkinfer.protocol.openings`) and the
``opening the weight commitment: ...`` Ligero opening (weights batched, sumcheck work, rows
                                      combined, columns opened)
====================================  ===========================================================

A callable may also have an ``overall(fraction)`` method: the prover then calls it with its
estimate of the fraction of the whole call done (a non-decreasing float in ``[0, 1]``, from a
cost model of each stage, see :class:`Tracker`); :class:`ProgressBar` turns it into an overall
bar with an ETA.

``progress`` arguments of the library accept ``None`` or ``False`` (silent), ``True`` (a
:class:`ProgressBar` on stderr, closed when the call returns) or such a callable
(:func:`resolve`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence

from zkinfer.transcript import Transcript

__all__ = [
    "ProgressBar",
    "Tracker",
    "resolve",
    "report",
    "prefixed",
    "Listenable",
    "listening",
    "COMMIT_STEPS",
    "OPEN_STEPS",
]

Callback = Callable[[str, int, int], None]
Prefix = str | tuple[str, ...]

#: Sub-stages of a Ligero commitment and their share of its work (suffixes of the stage name).
COMMIT_STEPS = (("building tables", 0.08), ("encoding rows", 0.67), ("hashing columns", 0.21),
                ("Merkle tree", 0.04))
#: Sub-stages of an opening (:func:`zkinfer.protocol.openings.prove_part_openings`, then the
#: PCS).
OPEN_STEPS = (("batching sumcheck", 0.88), ("combining rows", 0.10), ("opening columns", 0.02))


def prefixed(progress: Callback | None, prefix: str) -> Callback | None:
    """A callback reporting ``step`` as the stage ``"<prefix>: <step>"`` (``None`` stays
    ``None``)."""
    if progress is None:
        return None

    def sub(step: str, done: int, total: int) -> None:
        progress(f"{prefix}: {step}", done, total)

    return sub


def report(progress: Callback | None, stage: str, done: int, total: int) -> None:
    """``progress(stage, done, total)`` unless ``progress`` is ``None``."""
    if progress is not None:
        progress(stage, int(done), int(total))


class ProgressBar:
    """A drop-in progress callback: a tqdm bar on stderr for the current stage, with its ETA,
    and (when the caller reports it through :meth:`overall`) a second bar for the whole call
    with the overall ETA.

    Call it as ``bar(stage, done, total)``; call :meth:`close` at the end (it is also a context
    manager). A new ``stage`` string restarts the stage bar and its clock, so its ETA is the
    stage's own (average rate since the stage began), unless it continues a step counter (same
    ``total``, ``done`` not lower: the proof's relation steps share one bar); a new ``total``
    for the same stage only rescales it.

    Arguments:
        file: where to draw (default: ``sys.stderr`` at the time of the first call).
        leave: keep the bars on screen after :meth:`close` (default: erase them).
        mininterval: seconds between redraws (tqdm's ``mininterval``).
    """

    _STAGE_FORMAT = "{desc:<46.46} {bar} {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
    _OVERALL_FORMAT = "{desc:<46.46} {bar} {percentage:3.0f}% [{elapsed}<{remaining}]"

    def __init__(self, file=None, leave: bool = False, mininterval: float = 0.1) -> None:
        self.file = file
        self.leave = leave
        self.mininterval = mininterval
        self.stage: str | None = None
        self._bar = None
        self._overall = None

    def _new_bar(self, desc: str, total: int, fmt: str, position: int):
        return _bar_class()(desc=desc, total=total, leave=self.leave, bar_format=fmt, smoothing=0,
                    file=self.file if self.file is not None else sys.stderr, position=position,
                    mininterval=self.mininterval, dynamic_ncols=True)

    def __call__(self, stage: str, done: int, total: int) -> None:
        total = max(1, int(total))
        done = max(0, min(int(done), total))
        if self._bar is None:
            self._bar = self._new_bar(stage, total, self._STAGE_FORMAT,
                                      1 if self._overall is not None else 0)
            self.stage = stage
        changed = False
        if stage != self.stage:
            # a step counter (same total, done not going back: the engine's relations) keeps
            # its bar and clock under the new label; anything else is a new stage
            if total != self._bar.total or done < self._bar.n:
                self._bar.reset(total=total)  # the stage's own clock and rate
            self.stage = stage
            self._bar.set_description_str(stage, refresh=False)
            changed = True
        elif total != self._bar.total:
            self._bar.total = total
            changed = True
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)  # redraws at most every mininterval
        elif changed:
            self._bar.refresh()

    def overall(self, fraction: float) -> None:
        """Show ``fraction`` (in ``[0, 1]``) of the whole call done, with the overall ETA (a
        fraction lower than the last one starts a new call: one bar can serve a setup and then
        a proof)."""
        permille = int(1000 * min(1.0, max(0.0, float(fraction))))
        if self._overall is None:
            stage = None
            if self._bar is not None:  # the overall bar goes on top: redraw the stage bar
                stage, done, total = self.stage, self._bar.n, self._bar.total
                self._bar.close()
                self._bar, self.stage = None, None
            self._overall = self._new_bar("overall", 1000, self._OVERALL_FORMAT, 0)
            if stage is not None:
                self(stage, done, total)
        if permille < self._overall.n:  # a new call (e.g. prove after setup): a new clock
            self._overall.reset(total=1000)
        if permille > self._overall.n:
            self._overall.update(permille - self._overall.n)

    def close(self) -> None:
        """Finish and remove the bars (idempotent)."""
        for attr in ("_bar", "_overall"):
            bar = getattr(self, attr)
            if bar is not None:
                if bar.total:
                    bar.n = bar.total
                bar.close()
                setattr(self, attr, None)
        self.stage = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@functools.cache
def _bar_class():
    """tqdm without its monitor thread (``monitor_interval = 0``): the monitor outlives the bars,
    and a process that runs another Python thread cannot fork the verifier's second process
    (:func:`zkinfer.protocol.engine.parallel_verification_allowed`). Our bars are redrawn on
    every update, which is what the monitor would otherwise enforce."""
    from tqdm import tqdm

    class _Bar(tqdm):
        monitor_interval = 0

    return _Bar


def resolve(progress) -> tuple[Callback | None, bool]:
    """``(callback, owned)`` for a ``progress`` argument: ``None``/``False`` -> ``(None,
    False)``; ``True`` -> a new :class:`ProgressBar` that the caller must close (``owned``);
    a callable -> itself.

    Raises:
        TypeError: anything else.
    """
    if progress is None or progress is False:
        return None, False
    if progress is True:
        return ProgressBar(), True
    if callable(progress):
        return progress, False
    raise TypeError(f"progress must be None, a bool or a callable, not {type(progress).__name__}")


class Tracker:
    """Forwards a prover's reports to a callback and estimates the fraction of the whole call
    done, for the callback's optional ``overall(fraction)`` method.

    Arguments:
        callback: the user's callback (not ``None``).
        phases: ``(stage prefix, expected cost)`` in the order the phases run (a prefix may be
            a tuple of prefixes); a report belongs to the first phase whose prefix starts its
            stage name (reports of no phase are forwarded without moving the overall fraction).
        steps: per phase prefix, the sub-stage suffixes and their shares of the phase
            (:data:`COMMIT_STEPS`, :data:`OPEN_STEPS`); a phase without them counts
            ``done / total`` of its latest report, scaled by ``span`` when given.
        span: per phase prefix, a function ``(done, total) -> fraction of the phase`` (e.g. the
            engine's step counter, of which one phase covers only part).
        overall: where the fraction goes (default: the callback's ``overall`` method, if any).

    The fraction is ``sum(cost of the phases done + cost of the current one * its fraction) /
    total cost``; it never decreases.
    """

    def __init__(self, callback: Callback, phases: Sequence[tuple[Prefix, float]],
                 steps: dict[Prefix, Sequence[tuple[str, float]]] | None = None,
                 span: dict[Prefix, Callable[[int, int], float]] | None = None,
                 overall: Callable[[float], None] | None = None) -> None:
        self.callback = callback
        self.phases = [(p, max(0.0, float(c))) for p, c in phases]
        self.total_cost = sum(c for _, c in self.phases) or 1.0
        self.steps = steps or {}
        self.span = span or {}
        self._overall = overall if overall is not None else getattr(callback, "overall", None)
        self.fraction = 0.0

    def _phase_fraction(self, prefix: Prefix, stage: str, done: int, total: int) -> float:
        f = min(1.0, done / total) if total > 0 else 0.0
        steps = self.steps.get(prefix)
        if steps:
            start = 0.0
            for suffix, share in steps:
                if stage.endswith(suffix):
                    return start + share * f
                start += share
            return 0.0
        if prefix in self.span:
            return min(1.0, max(0.0, self.span[prefix](done, total)))
        return f

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.callback(stage, done, total)
        if self._overall is None:
            return
        before = 0.0
        for prefix, cost in self.phases:
            if stage.startswith(prefix):
                f = (before + cost * self._phase_fraction(prefix, stage, done, total)) \
                    / self.total_cost
                if f > self.fraction:
                    self.fraction = min(1.0, f)
                    self._overall(self.fraction)
                return
            before += cost

    def finish(self) -> None:
        """Report the whole call done."""
        if self._overall is not None and self.fraction < 1.0:
            self.fraction = 1.0
            self._overall(1.0)


class Listenable(Transcript):
    """A :class:`~zkinfer.transcript.Transcript` that tells listeners about every absorbed
    message (its label), e.g. to count sumcheck rounds for progress; its state, challenges and
    bytes are exactly those of a plain transcript in the same state."""

    __slots__ = ("_listeners",)

    @classmethod
    def of(cls, transcript: Transcript) -> Listenable:
        """A listenable transcript in ``transcript``'s state (the original is not used after)."""
        out = cls.__new__(cls)
        out._state = transcript._state
        out._listeners = []
        return out

    def append_bytes(self, label: bytes, data: bytes) -> None:
        super().append_bytes(label, data)
        for fn in tuple(self._listeners):
            fn(label)


class listening:  # noqa: N801 - a context manager used like a function
    """``with listening(transcript, fn): ...``: call ``fn(label)`` on every message the
    transcript absorbs inside the block, if it is :class:`Listenable` (otherwise nothing)."""

    def __init__(self, transcript: Transcript, fn: Callable[[bytes], None] | None) -> None:
        self.transcript = transcript if isinstance(transcript, Listenable) else None
        self.fn = fn

    def __enter__(self) -> None:
        if self.transcript is not None and self.fn is not None:
            self.transcript._listeners.append(self.fn)

    def __exit__(self, *exc) -> None:
        if self.transcript is not None and self.fn is not None:
            self.transcript._listeners.remove(self.fn)
