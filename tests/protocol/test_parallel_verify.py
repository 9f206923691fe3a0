"""Segments verified in two processes (:func:`zkinfer.protocol.engine.verify_circuit` with
``processes=2``: a forked process takes a share of the segments): the same acceptance, and the
same rejection (check, round, message) as one process, whichever process meets the first failing
segment; the shares; one process when another thread runs; bad ``processes`` refused. The
openings' checks that read no transcript (final sums, Ligero's Merkle paths and encodings) run
after both openings' transcript, shared by two processes: the same first rejection as one pass,
also when a later opening's transcript check fails too."""

from __future__ import annotations

import dataclasses
import multiprocessing.context
import threading

import numpy as np
import pytest

import zkinfer
from tests.cheating import engine as ce
from zkinfer.errors import InvalidArgumentError, VerificationError
from zkinfer.protocol import engine


@pytest.fixture(scope="module")
def deep() -> ce.Honest:
    with ce.single_threaded():
        h = ce.honest("deep")
    assert h.circuit.num_segments >= engine.PARALLEL_MIN_SEGMENTS
    return h


@pytest.fixture(scope="module")
def deep_ligero() -> ce.Honest:
    """The deep model's keys and proof with Ligero (whose Merkle and encoding checks are
    deferred; the TrivialPCS keys of ``deep`` check everything at once)."""
    from zkinfer.commit import LigeroPCS
    from zkinfer.models import random_transformer

    config, seed, ids = ce.CONFIGS["deep"]
    model = random_transformer(config, seed, ce.SMALL)
    with ce.single_threaded():
        vk, pk = zkinfer.setup(model, LigeroPCS(1))
        proof = zkinfer.prove(pk, ids)
    return ce.Honest(model, vk, pk, ids, {}, proof.output, proof, None)


@pytest.fixture
def forks(monkeypatch):
    """Fork allowed (pytest may hold idle threads of other tests) and counted."""
    count = {"n": 0}
    start = multiprocessing.context.ForkProcess.start

    def counted(self):
        count["n"] += 1
        return start(self)

    monkeypatch.setattr(engine, "parallel_verification_allowed", lambda: True)
    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", counted)
    return count


def _verify(h, proof, processes):
    return zkinfer.verify(h.vk, h.ids, proof.output, proof, allow_insecure=True,
                          processes=processes)


def _rejection(h, proof, processes) -> VerificationError:
    with pytest.raises(VerificationError) as err:
        _verify(h, proof, processes)
    return err.value


def test_two_processes_accept_the_honest_proof(deep, forks):
    assert _verify(deep, deep.proof, 2)
    assert forks["n"] == 2  # the segments, then the openings' deferred checks
    assert _verify(deep, deep.proof, 1)
    assert forks["n"] == 2  # one process: no fork


def _broken(h, segments: list[int]):
    """The proof with the range proof of each listed segment taken from its neighbour (the
    middle blocks have the same shape): that segment's LogUp fails."""
    segs = list(h.proof.body.segments)
    for s in segments:
        other = s + 1 if s + 1 < len(segs) - 1 else s - 1
        segs[s] = dataclasses.replace(segs[s], ranges=h.proof.body.segments[other].ranges)
    return ce.with_segments(h.proof, segs)


def test_the_shares_split_every_segment_and_balance_the_work(deep):
    body = deep.proof.body
    n = len(body.segments)
    for precheck in (False, True):
        mine, theirs = engine._shares(body, precheck)
        assert mine == sorted(mine) and theirs == sorted(theirs)  # each verified in order
        assert sorted(mine + theirs) == list(range(n)) and mine and theirs
        cost = [engine._proof_elements(seg) for seg in body.segments]
        total = sum(cost)
        loads = (sum(cost[s] for s in mine),
                 engine.PRECHECK_SHARE * total * precheck + sum(cost[s] for s in theirs))
        assert abs(loads[0] - loads[1]) <= max(cost)  # largest first to the less loaded
    # the element count is the proof's: every array of a step, nested steps included
    seg = body.segments[1]
    assert engine._proof_elements(seg) == sum(
        engine._proof_elements(step) for _, step in seg.parts())
    assert engine._proof_elements(np.zeros((3, 2, 2), dtype=np.uint64)) == 12


def _middle(h, which: int) -> list[int]:
    """The middle segments of share ``which`` (0: this process's, 1: the forked one's)."""
    share = engine._shares(h.proof.body, True)[which]
    return [s for s in share if 0 < s < len(h.proof.body.segments) - 1]


@pytest.mark.parametrize("which", ["mine", "theirs", "both", "theirs lower"])
def test_two_processes_reject_as_one(deep, forks, which):
    mine, theirs = _middle(deep, 0), _middle(deep, 1)
    # "theirs lower": a later segment of this process fails too; the forked one's lower
    # failing segment is the one reported
    later = [s for s in mine if s > theirs[0]]
    assert later, "the deep circuit has a middle segment of this process after the other's"
    segments = {"mine": [mine[0]], "theirs": [theirs[0]], "both": [mine[0], theirs[0]],
                "theirs lower": [theirs[0], later[0]]}[which]
    forged = _broken(deep, segments)
    one = _rejection(deep, forged, 1)
    two = _rejection(deep, forged, 2)
    assert forks["n"] == 1
    assert (two.check, two.round, str(two)) == (one.check, one.round, str(one))


def test_one_process_while_another_thread_runs(deep):
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not engine.parallel_verification_allowed()
        assert _verify(deep, deep.proof, 2)
    finally:
        stop.set()
        t.join()


@pytest.mark.parametrize("bad", [0, 3, -1, 1.5, "2", True])
def test_bad_processes_refused(deep, bad):
    with pytest.raises(InvalidArgumentError, match="processes must be None, 1 or 2"):
        _verify(deep, deep.proof, bad)


@pytest.mark.parametrize("processes", [1, 2])
def test_the_precheck_runs_in_the_second_process_and_wins_over_segments(deep, forks, monkeypatch,
                                                                         processes):
    # the field-bound check (part of the verifier's precheck) fails; a segment the first
    # process verifies is broken too: the precheck's rejection is the one raised, and with two
    # processes it ran in the forked one
    import os

    from zkinfer.errors import FieldRangeError
    from zkinfer.protocol import model_circuit

    parent = os.getpid()

    def failing(circuit):
        raise FieldRangeError("bound broken " + ("here" if os.getpid() == parent else "there"))

    monkeypatch.setattr(model_circuit, "check_field_bounds", failing)
    err = _rejection(deep, _broken(deep, [2]), processes)
    assert err.check == "statement"
    where = "there" if processes == 2 else "here"
    assert str(err).endswith(f"the verifying key's model is invalid: bound broken {where}")
    assert forks["n"] == processes - 1


def _opening(h, which: str, **changes):
    """The proof with fields of one opening (``trace_opening`` or ``weight_opening``) changed:
    its own fields, or ``pcs={...}`` for the Ligero proof inside it."""
    body = h.proof.body
    step = getattr(body, which)
    pcs = changes.pop("pcs", None)
    if pcs is not None:
        changes["opening"] = dataclasses.replace(step.opening, **pcs)
    body = dataclasses.replace(body, **{which: dataclasses.replace(step, **changes)})
    return dataclasses.replace(h.proof, body=body)


def _bumped(arr, index):
    out = np.array(arr, copy=True)
    out[index] = (int(out[index]) + 1) % ((1 << 64) - (1 << 32) + 1)
    return out


def test_a_deferred_opening_check_rejects_as_in_one_pass(deep_ligero, forks):
    deep = deep_ligero
    # a trace column's Merkle sibling changed: the trace opening's deferred Merkle check fails;
    # the sibling is absorbed, so the weight opening's transcript (replayed before any deferred
    # check) fails as well: the Merkle failure, first in one pass, is the one reported
    siblings = list(deep.proof.body.trace_opening.opening.siblings)
    siblings[0] = bytes(32)
    forged = _opening(deep, "trace_opening", pcs={"siblings": tuple(siblings)})
    one = _rejection(deep, forged, 1)
    assert (one.check, str(one).split(": ", 1)[1]) == (
        "ligero pcs", "merkle: opened columns do not hash to the root")
    two = _rejection(deep, forged, 2)
    assert (two.check, two.round, str(two)) == (one.check, one.round, str(one))


def test_the_first_deferred_failure_wins_over_later_ones(deep_ligero, forks):
    deep = deep_ligero
    # a trace part's opened value changed: the trace opening's final sum (deferred first) fails,
    # and so do its PCS's evaluation check and the weight opening behind it
    values = _bumped(deep.proof.body.trace_opening.values, (0, 0))
    forged = _opening(deep, "trace_opening", values=values)
    one = _rejection(deep, forged, 1)
    assert one.check == "trace openings" and "final evaluation" in str(one)
    two = _rejection(deep, forged, 2)
    assert (two.check, two.round, str(two)) == (one.check, one.round, str(one))


def test_a_weight_opening_check_alone_is_found_by_either_process(deep_ligero, forks):
    deep = deep_ligero
    # the weight opening's Ligero columns changed: only its deferred checks fail (the last ones)
    columns = deep.proof.body.weight_opening.opening.columns.copy()
    columns[0, 0] ^= 1
    forged = _opening(deep, "weight_opening", pcs={"columns": columns})
    one = _rejection(deep, forged, 1)
    assert one.check == "ligero pcs"
    before = forks["n"]
    two = _rejection(deep, forged, 2)
    assert forks["n"] == before + 2  # segments, then the deferred checks, in two processes
    assert (two.check, two.round, str(two)) == (one.check, one.round, str(one))


def _failing(name):
    def check():
        raise VerificationError(name, "failed")
    return check


def _passing(seconds=0.0):
    def check():
        import time

        time.sleep(seconds)
    return check


@pytest.mark.parametrize("processes", [1, 2])
def test_deferred_checks_report_the_lowest_failure(forks, processes):
    # the first check is slow, so with two processes the forked one takes checks 1.. meanwhile
    cases = [
        ([_passing(0.3), _failing("b"), _passing(), _failing("d")], "b"),
        ([_failing("a"), _passing(0.3), _failing("c")], "a"),
        ([_passing(0.3), _passing(), _passing(), _failing("d")], "d"),
    ]
    for checks, first in cases:
        with pytest.raises(VerificationError) as err:
            engine._run_checks(checks, processes)
        assert err.value.check == first
    engine._run_checks([_passing(), _passing()], processes)  # all pass: no error
    assert forks["n"] == (4 if processes == 2 else 0)


def test_a_crashing_deferred_check_in_the_forked_process_is_an_error(forks):
    import os
    import time

    parent = os.getpid()

    def crash_there():  # a bug in the forked process; here a slow pass, so the other one takes some
        if os.getpid() != parent:
            raise ZeroDivisionError("bug")
        time.sleep(0.5)

    # whichever checks each process takes, the forked one takes at least one and crashes
    with pytest.raises(RuntimeError, match="parallel verification failed: ZeroDivisionError: bug"):
        engine._run_checks([crash_there] * 3, 2)


def test_a_proof_of_few_segments_makes_its_deferred_checks_in_one_process(forks):
    small = ce.honest("mlp")
    assert small.circuit.num_segments < engine.PARALLEL_MIN_SEGMENTS
    assert _verify(small, small.proof, 2)
    assert forks["n"] == 0
