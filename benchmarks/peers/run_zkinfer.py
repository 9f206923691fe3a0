"""The zkinfer side of one comparison case: setup, prove, verify, sizes and accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np

import zkinfer
from benchmarks.peers.cases import SEED, PeerCase, case_ids, float_model, float_reference
from benchmarks.peers.measure import accuracy, peak_rss_bytes, timed
from zkinfer.models import random_transformer

__all__ = ["run_zkinfer"]


def run_zkinfer(case: PeerCase, warmup: bool = True, rounds: int = 3) -> dict[str, Any]:
    """Quantize, set up, prove and verify one case with zkinfer (default Ligero PCS).

    The model is ``random_transformer(case.config, SEED)``: the float weights of
    :func:`benchmarks.peers.cases.float_model`, quantized with zkinfer's default
    :class:`~zkinfer.model.config.QuantConfig`. With ``warmup`` one untimed setup/prove/verify
    runs first, so that Numba kernels are compiled or loaded from the disk cache before timing.
    Then ``rounds`` timed rounds; each time reported is the minimum over the rounds (the machine
    is shared, and a round is seconds at most), all of them are kept in ``*_rounds``.

    Arguments:
        case: the case.
        warmup: run the untimed warm-up round first.
        rounds: timed rounds (>= 1).

    Returns:
        A row: ``setup_s``, ``prove_s``, ``verify_s``, ``proof_bytes``, ``vk_bytes``,
        ``peak_rss_bytes`` (of this process, warm-up included), accuracy against the float64
        pooled forward (``cosine``, ``max_abs_err``, ``ref_max_abs``) and ``quantize_s``.

    Raises:
        RuntimeError: the proof did not verify.
    """
    ids = case_ids(case)
    model, quantize_s = timed(random_transformer, case.config, SEED)
    if warmup:
        vk, pk = zkinfer.setup(model)
        warm = zkinfer.prove(pk, ids)
        zkinfer.verify(vk, ids, warm.output, warm)
    times: dict[str, list[float]] = {"setup": [], "prove": [], "verify": []}
    for _ in range(max(1, rounds)):
        (vk, pk), setup_s = timed(zkinfer.setup, model)
        proof, prove_s = timed(zkinfer.prove, pk, ids)
        ok, verify_s = timed(zkinfer.verify, vk, ids, proof.output, proof)
        if ok is not True:
            raise RuntimeError("zkinfer proof did not verify")
        for name, t in zip(times, (setup_s, prove_s, verify_s)):
            times[name].append(t)
    ref, _ = float_reference(case, float_model(case), ids)
    got = np.asarray(proof.output, dtype=np.float64) * model.out_scale
    return {
        "system": "zkinfer",
        "case": case.key,
        "quantize_s": quantize_s,
        **{f"{name}_s": min(ts) for name, ts in times.items()},
        **{f"{name}_rounds": ts for name, ts in times.items()},
        "proof_bytes": len(proof.to_bytes()),
        "vk_bytes": len(vk.to_bytes()),
        "peak_rss_bytes": peak_rss_bytes(),
        **accuracy(got, ref),
    }
