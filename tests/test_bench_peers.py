"""Fast checks of the EZKL comparison harness (``benchmarks/bench_peers.py``).

The ONNX export must compute the same float function as zkinfer's float64 model (checked with
``onnx.reference.ReferenceEvaluator``; skipped without ``onnx``), and the zkinfer side of case
(a) must run end to end at a tiny size. EZKL itself is never run here (it takes minutes).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.peers.cases import CASES, case_ids, embedded_input, float_model, float_reference


def _reference_evaluator():
    pytest.importorskip("onnx")
    try:
        from onnx.reference import ReferenceEvaluator  # noqa: F401
    except ImportError:
        pytest.skip("onnx has no reference evaluator (onnx < 1.13)")


@pytest.mark.parametrize("key", ["a", "b", "c"])
def test_onnx_export_matches_float_model(key):
    _reference_evaluator()
    from benchmarks.peers.onnx_export import build_onnx, run_reference

    case = CASES[key]
    model = float_model(case)
    ids = case_ids(case)
    _, ref = float_reference(case, model, ids)
    got = run_reference(build_onnx(model, case.seq, case.scope), embedded_input(model, ids))
    # float32 graph against the float64 model
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * max(1.0, np.abs(ref).max()))


def test_onnx_export_of_case_a_is_the_residual_mlp():
    """Case (a) is ``mean_rows(x + down(relu(up(x))))``, written out here independently."""
    _reference_evaluator()
    from benchmarks.peers.onnx_export import build_onnx, run_reference

    case = CASES["a"]
    model = float_model(case)
    x = embedded_input(model, case_ids(case))
    layer = model.layers[0]
    want = (x + np.maximum(x @ layer.up.w + layer.up.b, 0.0) @ layer.down.w + layer.down.b).mean(axis=0)
    got = run_reference(build_onnx(model, case.seq, "model"), x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_onnx_export_rejects_unknown_scope():
    pytest.importorskip("onnx")
    from benchmarks.peers.onnx_export import build_onnx

    case = CASES["a"]
    with pytest.raises(ValueError, match="scope"):
        build_onnx(float_model(case), case.seq, "everything")
    with pytest.raises(ValueError, match="transformer"):
        build_onnx(float_model(case), case.seq, "attention")


def test_zkinfer_side_of_case_a_runs_tiny():
    from benchmarks.peers.run_zkinfer import run_zkinfer

    base = CASES["a"]
    tiny = replace(base, config=replace(base.config, d_model=8, d_ff=16, vocab_size=16))
    row = run_zkinfer(tiny, warmup=False, rounds=1)
    assert row["system"] == "zkinfer" and row["case"] == "a"
    assert row["proof_bytes"] > 0 and row["vk_bytes"] > 0 and row["peak_rss_bytes"] > 0
    assert min(row["setup_s"], row["prove_s"], row["verify_s"]) >= 0
    assert row["cosine"] > 0.99


def test_table_renders_measured_and_skipped_rows():
    from benchmarks.bench_peers import ezkl_peak_estimate_gib, render_table

    measured = {
        "setup_s": 0.5, "prove_s": 2.0, "verify_s": 0.1, "proof_bytes": 1000, "vk_bytes": 10,
        "peak_rss_bytes": 1 << 30, "cosine": 0.999, "max_abs_err": 0.01, "ref_max_abs": 3.0,
        "quantize_s": 0.01,
    }  # fmt: skip
    ezkl = dict(measured, system="ezkl", case="a", logrows=15, num_inner_cols=2, pk_bytes=10**8,
                proof_json_bytes=3000, prep_s=1.0, srs_s=1.0, witness_s=0.1, prove_s=8.0)  # fmt: skip
    rows = [
        dict(measured, system="zkinfer", case="a"),
        ezkl,
        {"system": "ezkl", "case": "d", "skipped": True, "reason": "too big"},
    ]
    text = render_table(rows)
    assert text.count("\n| (") == 3
    assert "| (d) 2-layer encoder d64 h4 ff256 seq16 | ezkl | skipped |" in text
    assert "prove 4x" in text and "too big" in text
    assert ezkl_peak_estimate_gib("d", None) == float("inf")
    assert ezkl_peak_estimate_gib("a", 17) > ezkl_peak_estimate_gib("a", 15)
