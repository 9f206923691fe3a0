"""The EZKL side of one comparison case: ONNX export, settings, setup, prove, verify.

The pipeline is EZKL's documented one: ``gen_settings`` -> ``calibrate_settings`` (target
``"resources"``) -> ``compile_circuit`` -> ``gen_srs`` (local, insecure test SRS: the download
in ``get_srs`` needs the internet) -> ``gen_witness`` -> ``setup`` -> ``prove`` -> ``verify``.
Visibility: input public (zkinfer's ids are public too), output public, parameters ``fixed``
(baked into the verifying key, as zkinfer commits its weights in the key). Calibration uses the
proved input itself (EZKL's usual practice). Some EZKL calls are coroutines in recent releases;
:func:`_call` runs those with ``asyncio.run``.

Times: ``setup_s`` is EZKL's key generation (``ezkl.setup``); settings, calibration, compilation,
SRS generation and witness generation are reported separately (``prep_s``, ``witness_s``), since
zkinfer's closest counterparts (quantization, the integer forward) are cheap or inside its prove.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from typing import Any

import numpy as np

from benchmarks.peers.cases import PeerCase, case_ids, embedded_input, float_model, float_reference
from benchmarks.peers.measure import accuracy, peak_rss_bytes, timed
from benchmarks.peers.onnx_export import build_onnx, save_onnx

__all__ = ["run_ezkl", "prepare_ezkl", "ezkl_version"]


def _call(fn, *args, **kwargs):
    """Call an EZKL function; if it returned an awaitable, run it to completion in an event loop."""
    out = fn(*args, **kwargs)
    if inspect.isawaitable(out):

        async def _wait():
            return await out

        out = asyncio.run(_wait())
    return out


def ezkl_version() -> str | None:
    """The installed EZKL version, or ``None`` when ``ezkl`` is not importable."""
    try:
        import ezkl
    except ImportError:
        return None
    return getattr(ezkl, "__version__", "unknown")


def _paths(workdir: str) -> dict[str, str]:
    names = {
        "onnx": "model.onnx", "data": "input.json", "settings": "settings.json",
        "compiled": "model.compiled", "srs": "kzg.srs", "witness": "witness.json",
        "vk": "vk.key", "pk": "pk.key", "proof": "proof.json",
    }  # fmt: skip
    return {k: os.path.join(workdir, v) for k, v in names.items()}


def prepare_ezkl(case: PeerCase, workdir: str) -> dict[str, Any]:
    """Export the ONNX graph, generate and calibrate settings, compile; no keys yet.

    Cheap compared to key generation, so the caller can read ``logrows`` and decide whether
    the expensive steps fit the machine.

    Arguments:
        case: the case.
        workdir: an existing directory for EZKL's files.

    Returns:
        ``{"logrows", "num_inner_cols", "prep_s", "settings"}`` (the settings as a dict).
    """
    import ezkl

    p = _paths(workdir)
    model = float_model(case)
    x = embedded_input(model, case_ids(case))
    save_onnx(build_onnx(model, case.seq, case.scope), p["onnx"])
    with open(p["data"], "w") as fh:
        json.dump({"input_data": [x.astype(np.float32).ravel().tolist()]}, fh)

    def prep() -> None:
        args = ezkl.PyRunArgs()
        args.input_visibility = "public"
        args.output_visibility = "public"
        args.param_visibility = "fixed"
        if not _call(ezkl.gen_settings, p["onnx"], p["settings"], py_run_args=args):
            raise RuntimeError("ezkl.gen_settings failed")
        if not _call(ezkl.calibrate_settings, p["data"], p["onnx"], p["settings"], "resources"):
            raise RuntimeError("ezkl.calibrate_settings failed")
        if not _call(ezkl.compile_circuit, p["onnx"], p["compiled"], p["settings"]):
            raise RuntimeError("ezkl.compile_circuit failed")

    _, prep_s = timed(prep)
    with open(p["settings"]) as fh:
        settings = json.load(fh)
    run_args = settings["run_args"]
    return {
        "logrows": int(run_args["logrows"]),
        "num_inner_cols": int(run_args.get("num_inner_cols", 1)),
        "prep_s": prep_s,
        "settings": settings,
    }


def _rescaled_output(witness_path: str) -> np.ndarray:
    with open(witness_path) as fh:
        w = json.load(fh)
    out = w["pretty_elements"]["rescaled_outputs"][0]
    return np.asarray([float(v) for v in out], dtype=np.float64)


def run_ezkl(case: PeerCase, workdir: str, prep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the whole EZKL pipeline of one case in ``workdir``.

    Arguments:
        case: the case.
        workdir: an existing, preferably empty, directory (keys can take gigabytes).
        prep: the result of :func:`prepare_ezkl` already run in ``workdir`` (default: run it).

    Returns:
        A row: ``prep_s``, ``srs_s``, ``witness_s``, ``setup_s``, ``prove_s``, ``verify_s``,
        ``proof_bytes`` (the raw proof, ``proof.json``'s hex field, not the JSON),
        ``proof_json_bytes``, ``vk_bytes``, ``pk_bytes``, ``logrows``, ``peak_rss_bytes`` and
        accuracy of the rescaled output against the float64 reference of the ONNX graph.

    Raises:
        RuntimeError: an EZKL step failed or the proof did not verify.
    """
    import ezkl

    p = _paths(workdir)
    prep = prep if prep is not None else prepare_ezkl(case, workdir)
    _, srs_s = timed(_call, ezkl.gen_srs, p["srs"], prep["logrows"])
    _, witness_s = timed(_call, ezkl.gen_witness, p["data"], p["compiled"], p["witness"])
    ok, setup_s = timed(_call, ezkl.setup, p["compiled"], p["vk"], p["pk"], p["srs"])
    if not ok:
        raise RuntimeError("ezkl.setup failed")
    _, prove_s = timed(_call, ezkl.prove, p["witness"], p["compiled"], p["pk"], p["proof"], p["srs"])
    ok, verify_s = timed(_call, ezkl.verify, p["proof"], p["settings"], p["vk"], p["srs"])
    if ok is not True:
        raise RuntimeError("EZKL proof did not verify")
    with open(p["proof"]) as fh:
        proof = json.load(fh)
    raw = proof.get("hex_proof") or ""
    proof_bytes = len(bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)) if raw else len(proof["proof"])
    model = float_model(case)
    _, ref = float_reference(case, model, case_ids(case))
    return {
        "system": "ezkl",
        "case": case.key,
        "logrows": prep["logrows"],
        "num_inner_cols": prep["num_inner_cols"],
        "prep_s": prep["prep_s"],
        "srs_s": srs_s,
        "witness_s": witness_s,
        "setup_s": setup_s,
        "prove_s": prove_s,
        "verify_s": verify_s,
        "proof_bytes": proof_bytes,
        "proof_json_bytes": os.path.getsize(p["proof"]),
        "vk_bytes": os.path.getsize(p["vk"]),
        "pk_bytes": os.path.getsize(p["pk"]),
        "peak_rss_bytes": peak_rss_bytes(),
        **accuracy(_rescaled_output(p["witness"]), ref),
    }
