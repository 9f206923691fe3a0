"""The estimate against the ``zkinfer prove`` runs recorded in the repository.

``benchmarks/data/estimate_runs.json`` holds whole-process measurements (made by
``benchmarks/calibrate_estimate.py`` on the reference machine); the estimate must be within 16 %
of each in time and 10 % in peak memory, and the sizes it computes must be the recorded ones (the
MiniLM rows need the checkpoint: they run where it is installed, as CI does). The refusal keeps
a margin above the estimate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zkinfer import estimate
from zkinfer.models import tiny, tiny_mlp

RUNS = json.loads((Path(__file__).resolve().parent.parent / "benchmarks" / "data"
                   / "estimate_runs.json").read_text())["runs"]


def _size(row: dict) -> estimate.TraceSize:
    return estimate.TraceSize(**{k: row[k] for k in estimate.TraceSize.__dataclass_fields__})


@pytest.fixture(scope="module")
def models():
    out = {"tiny": tiny(), "tiny-mlp": tiny_mlp()}
    try:
        from zkinfer.models import minilm

        out["minilm"] = minilm().int_model
    except ImportError:  # pragma: no cover - the weights package is part of the dev install
        pass
    return out


def test_recorded_runs_span_the_calibrated_range():
    assert {r["model"] for r in RUNS} == {"tiny", "tiny-mlp", "minilm"}
    assert {r["tokens"] for r in RUNS if r["model"] == "minilm"} >= {16, 128, 256}


@pytest.mark.parametrize("row", RUNS, ids=[f"{r['model']}-{r['tokens']}" for r in RUNS])
def test_estimate_within_10_percent_of_each_recorded_run(row, models):
    if row["model"] not in models:
        pytest.fail(f"{row['model']} is not installed")
    est = estimate.estimate(models[row["model"]], row["tokens"])
    assert est.size == _size(row), "the statement's sizes changed: re-run calibrate_estimate.py"
    # time within 16 %: small runs of a few seconds vary by about that much from run to run
    assert abs(est.seconds / row["seconds"] - 1) <= 0.16, (est.seconds, row["seconds"])
    assert abs(est.peak_bytes / row["peak_bytes"] - 1) <= 0.10, (est.peak_bytes, row["peak_bytes"])


def test_refusal_keeps_a_margin_above_the_estimate():
    est = estimate.estimate(tiny(), 16)
    assert estimate.check_memory(est, int(est.peak_bytes * 1.2)) is None
    reason = estimate.check_memory(est, int(est.peak_bytes * 1.05))
    assert reason is not None and "plus 10%" in reason
    assert estimate.check_memory(est, None) is None
