"""Measure whole ``zkinfer prove`` runs and record them for the estimate (``zkinfer.estimate``).

Each run is a fresh process doing exactly what a user's ``zkinfer prove --model M --tokens ids.npy``
does (imports, model load, setup, proof, writing the file), with the kernels already compiled;
its wall time and peak resident memory (``ru_maxrss``) are recorded with the statement's sizes
in ``benchmarks/data/estimate_runs.json``. ``zkinfer.estimate``'s constants are fitted to that
file (``--fit`` prints them) and ``tests/test_estimate.py`` checks every recorded run against the
estimate.

Usage::

    python benchmarks/calibrate_estimate.py                 # measure every run (MiniLM: ~6 min)
    python benchmarks/calibrate_estimate.py --only tiny     # some of them
    python benchmarks/calibrate_estimate.py --fit           # fit the constants to the file

Run it on a quiet machine: times from a loaded one are too long (memory is not affected).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "estimate_runs.json"
#: ``(model, tokens)`` of every recorded run.
RUNS = (("tiny-mlp", 8), ("tiny-mlp", 32), ("tiny", 4), ("tiny", 16), ("tiny", 32),
        ("minilm", 16), ("minilm", 32), ("minilm", 64), ("minilm", 128), ("minilm", 256))

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from zkinfer.cli import main
status = main(sys.argv[1:])
seconds = time.perf_counter() - t0
print(json.dumps({"status": status, "seconds": seconds,
                  "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _ids(model: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    if model == "minilm":  # [CLS] words [SEP]
        return np.concatenate([[101], rng.integers(1000, 30000, n - 2), [102]]).astype(np.int64)
    return rng.integers(32, 127, n).astype(np.int64)


@functools.cache
def _int_model(model: str):
    from zkinfer.cli import _load_model

    return _load_model(model).int_model


def measure(model: str, n: int) -> dict:
    """One ``zkinfer prove`` in a fresh process; its time, peak memory and statement sizes."""
    from zkinfer import estimate

    with tempfile.TemporaryDirectory() as d:
        np.save(Path(d) / "ids.npy", _ids(model, n))
        argv = ["prove", "--model", model, "--tokens", str(Path(d) / "ids.npy"),
                "--out", str(Path(d) / "p.zkp"), "--force", "--quiet"]
        run = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True,
                             check=False)
        if run.returncode != 0:
            raise RuntimeError(f"{model} {n}: {run.stderr.strip()[-500:]}")
        result = json.loads(run.stdout.strip().splitlines()[-1])
        if result["status"] != 0:
            raise RuntimeError(f"{model} {n}: exit {result['status']}")
        proof_bytes = (Path(d) / "p.zkp").stat().st_size
    size = estimate.trace_size(_int_model(model), n)
    return {"model": model, "tokens": n, **size.__dict__, "seconds": round(result["seconds"], 2),
            "peak_bytes": int(result["peak_bytes"]), "proof_bytes": proof_bytes}


def fit(rows: list[dict]) -> dict[str, list[float]]:
    """Non-negative least squares in relative error of the estimate's two linear models."""
    from zkinfer.estimate import memory_features, time_features

    out = {}
    models = (("time", time_features, "seconds"), ("memory", memory_features, "peak_bytes"))
    for name, feats, target in models:
        X = np.array([feats(_size(r)) for r in rows], dtype=float)
        y = np.array([r[target] for r in rows], dtype=float)
        A = X / y[:, None]
        coef = _minimax(A)
        pred = X @ coef
        out[name] = [float(c) for c in coef]
        worst = np.max(np.abs(pred / y - 1))
        print(f"{name}: coefficients {', '.join(f'{c:.4g}' for c in coef)}; worst relative error "
              f"{100 * worst:.1f} %")
        for r, p in zip(rows, pred, strict=True):
            print(f"  {r['model']:8s} {r['tokens']:4d}  measured {r[target]:.4g}  estimate {p:.4g}  "
                  f"{100 * (p / r[target] - 1):+.1f} %")
    return out


def _size(row: dict):
    from zkinfer.estimate import TraceSize

    return TraceSize(**{k: row[k] for k in TraceSize.__dataclass_fields__})


def _minimax(A: np.ndarray, rounds: int = 60) -> np.ndarray:
    """Non-negative coefficients making every ``A x`` close to 1 in the worst case: least
    squares reweighted by each row's error (Lawson's iteration towards the minimax fit)."""
    w = np.ones(A.shape[0])
    best, best_err = None, np.inf
    for _ in range(rounds):
        sw = np.sqrt(w)
        x = _nnls(A * sw[:, None], sw)
        err = np.abs(A @ x - 1)
        if err.max() < best_err:
            best, best_err = x, err.max()
        w = w * np.maximum(err, 1e-12)
        w /= w.sum()
    return best


def _nnls(A: np.ndarray, b: np.ndarray, iters: int = 20000) -> np.ndarray:
    """Non-negative least squares by projected gradient on column-scaled ``A`` (small problems)."""
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    As = A / scale
    x = np.maximum(np.linalg.lstsq(As, b, rcond=None)[0], 0.0)
    step = 1.0 / np.linalg.norm(As, 2) ** 2
    for _ in range(iters):
        x = np.maximum(x - step * (As.T @ (As @ x - b)), 0.0)
    return x / scale


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="measure only runs of this model")
    ap.add_argument("--fit", action="store_true", help="fit the constants to the recorded runs")
    args = ap.parse_args()
    if args.fit:
        fit(json.loads(DATA.read_text())["runs"])
        return 0
    old = json.loads(DATA.read_text())["runs"] if DATA.exists() else []
    keep = [r for r in old if args.only and r["model"] != args.only]
    runs = [r for r in RUNS if not args.only or r[0] == args.only]
    rows = []
    for model, n in runs:
        t0 = time.time()
        row = measure(model, n)
        rows.append(row)
        print(f"{model:8s} {n:4d} tokens: {row['seconds']:7.2f} s, peak {row['peak_bytes'] / 1e9:6.2f} GB "
              f"({time.time() - t0:.0f} s)", flush=True)
    order = {r: k for k, r in enumerate(RUNS)}
    allrows = sorted(keep + rows, key=lambda r: order.get((r["model"], r["tokens"]), 99))
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB",
        "date": time.strftime("%Y-%m-%d"), "load_average_at_end": os.getloadavg()[0],
        "note": "whole `zkinfer prove` processes (imports, model load, setup, proof), kernels "
                "compiled, default PCS; peak = ru_maxrss",
        "runs": allrows}, indent=1) + "\n")
    fit(allrows)
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
