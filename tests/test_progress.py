"""Progress reporting (zkinfer/progress.py and the prover's hooks): monotone within each stage,
work reported inside the long stages, a bar with ETAs on stderr for progress=True, and proofs
that never depend on it."""

from __future__ import annotations

import io

import numpy as np
import pytest

from zkinfer.models import tiny
from zkinfer.progress import Listenable, ProgressBar, Tracker, listening, resolve
from zkinfer.prover import prove, setup
from zkinfer.transcript import Transcript

IDS = np.array([2, 7, 1, 8, 2, 8], dtype=np.int64)


class Recorder:
    """A callback that records every report and the overall fractions."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.fractions: list[float] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        assert isinstance(stage, str) and type(done) is int and type(total) is int
        self.calls.append((stage, done, total))

    def overall(self, fraction: float) -> None:
        self.fractions.append(fraction)

    def by_stage(self) -> dict[str, list[tuple[int, int]]]:
        out: dict[str, list[tuple[int, int]]] = {}
        for stage, done, total in self.calls:
            out.setdefault(stage, []).append((done, total))
        return out


@pytest.fixture(scope="module")
def keys():
    return setup(tiny())


@pytest.fixture(scope="module")
def plain(keys):
    """The proof of ``IDS`` without progress."""
    return prove(keys[1], IDS).to_bytes()


def _check_monotone(rec: Recorder) -> None:
    for stage, reports in rec.by_stage().items():
        dones = [d for d, _ in reports]
        assert dones == sorted(dones), stage
        assert all(0 <= d <= t for d, t in reports), stage
    assert rec.fractions == sorted(rec.fractions)
    assert all(0.0 <= f <= 1.0 for f in rec.fractions)


def test_setup_reports_work_inside_the_weight_commitment():
    rec = Recorder()
    setup(tiny(), progress=rec)
    _check_monotone(rec)
    stages = rec.by_stage()
    for step in ("building tables", "encoding rows", "hashing columns", "Merkle tree"):
        reports = stages[f"committing the weights: {step}"]
        assert len({d for d, _ in reports}) > 2, step
        assert reports[-1][0] == reports[-1][1], step  # ends complete
    assert rec.fractions[-1] == 1.0


def test_prove_reports_work_inside_the_long_stages(keys, plain):
    rec = Recorder()
    assert prove(keys[1], IDS, progress=rec).to_bytes() == plain
    _check_monotone(rec)
    stages = rec.by_stage()
    assert [s for s, _, _ in rec.calls[:2]] == ["integer forward", "integer forward"]
    for prefix in ("committing the trace", "opening the trace commitment",
                   "opening the weight commitment"):
        subs = [s for s in stages if s.startswith(prefix + ": ")]
        assert subs, prefix
    # the weight opening: more than two distinct values in its sub-stages
    for step in ("batching sumcheck", "combining rows"):
        reports = stages[f"opening the weight commitment: {step}"]
        assert len({d for d, _ in reports}) > 2, step
    assert len({d for d, _ in stages["range checks: leaves"]}) >= 2
    assert rec.fractions[-1] == 1.0
    assert len(set(rec.fractions)) > 10  # the overall fraction moves throughout


def test_progress_true_draws_a_bar_on_stderr_and_never_changes_the_proof(keys, plain, capsys):
    vk, pk = setup(tiny(), progress=True)
    assert vk.to_bytes() == keys[0].to_bytes()
    err = capsys.readouterr().err
    assert "committing the weights" in err and "overall" in err
    assert prove(keys[1], IDS, progress=True).to_bytes() == plain
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "opening the weight commitment" in captured.err
    assert "overall" in captured.err and "<" in captured.err  # elapsed<remaining


def test_no_progress_is_silent(keys, plain, capsys):
    assert prove(keys[1], IDS, progress=False).to_bytes() == plain
    assert capsys.readouterr().err == ""


def test_resolve():
    assert resolve(None) == (None, False)
    assert resolve(False) == (None, False)
    bar, owned = resolve(True)
    assert isinstance(bar, ProgressBar) and owned
    bar.close()

    def f(stage, done, total):
        return None

    assert resolve(f) == (f, False)
    with pytest.raises(TypeError, match="progress must be None, a bool or a callable"):
        resolve("yes")


def test_progress_bar_is_a_drop_in_callback():
    out = io.StringIO()
    bar = ProgressBar(file=out, mininterval=0)
    bar("relation a", 0, 10)
    bar("relation b", 1, 10)  # a step counter: same bar
    first = bar._bar
    bar("relation c", 2, 10)
    assert bar._bar is first and bar._bar.n == 2
    bar("sub-stage", 0, 5)
    bar("sub-stage", 3, 5)
    assert bar._bar.n == 3 and bar._bar.total == 5
    bar("sub-stage", 4, 8)  # a revised total rescales the bar
    assert bar._bar.total == 8
    bar.overall(0.5)
    bar("after overall", 1, 2)
    bar.overall(1.0)
    bar.overall(0.1)  # a second call on the same bar starts its overall clock again
    assert bar._overall.n == 100
    bar.close()
    bar.close()  # idempotent
    text = out.getvalue()
    assert "relation c" in text and "sub-stage" in text and "overall" in text and "50%" in text


def test_tracker_weights_phases_and_steps():
    rec = Recorder()
    tracker = Tracker(rec, [("a", 1.0), (("b", "c"), 3.0)],
                      steps={"a": (("x", 0.5), ("y", 0.5))},
                      span={("b", "c"): lambda done, total: done / total})
    tracker("a: x", 1, 2)
    assert rec.fractions[-1] == pytest.approx(0.25 / 4)
    tracker("a: y", 2, 2)
    assert rec.fractions[-1] == pytest.approx(1 / 4)
    tracker("c", 1, 2)
    assert rec.fractions[-1] == pytest.approx(2.5 / 4)
    tracker("a: x", 0, 2)  # never goes back
    tracker("unknown", 1, 1)  # forwarded, fraction unchanged
    assert rec.calls[-1] == ("unknown", 1, 1) and rec.fractions[-1] == pytest.approx(2.5 / 4)
    tracker.finish()
    assert rec.fractions[-1] == 1.0


def test_listenable_transcript_has_the_same_bytes():
    plain = Transcript(b"t")
    plain.append_bytes(b"x", b"1")
    heard = []
    listened = Listenable.of(plain)
    with listening(listened, heard.append):
        listened.append_ext(b"y", np.zeros((3, 2), dtype=np.uint64))
        listened.append_int(b"z", 5)
    listened.append_bytes(b"w", b"2")  # after the block: not heard
    plain.append_ext(b"y", np.zeros((3, 2), dtype=np.uint64))
    plain.append_int(b"z", 5)
    plain.append_bytes(b"w", b"2")
    assert heard == [b"y", b"z"]
    assert listened.challenge_ext(b"c").tolist() == plain.challenge_ext(b"c").tolist()
    with listening(plain, heard.append):  # a plain transcript: nothing to listen to
        plain.append_bytes(b"v", b"3")
    assert heard == [b"y", b"z"]


def test_progress_bars_start_no_monitor_thread():
    # a thread that outlives the bars would keep zkinfer.verify in one process afterwards
    import threading

    def monitors() -> int:
        return sum(t.name == "tqdm_monitor" for t in threading.enumerate())

    before = monitors()
    with ProgressBar(file=io.StringIO()) as bar:
        for k in range(50):
            bar("stage one" if k < 25 else "stage two", k % 25, 25)
        assert monitors() == before
    assert monitors() == before
