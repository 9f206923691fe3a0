"""Side-by-side comparison of zkinfer with EZKL on the four cases of issue 7.

Run from the repository root (after ``pip install -e ".[peers]"``)::

    python benchmarks/bench_peers.py [--cases a,b,c,d] [--skip-ezkl] [--json out.json]

Each (case, system) runs in its own fresh subprocess, one after the other (never two heavy jobs
at once), so ``ru_maxrss`` of that process is the peak memory of that system alone. zkinfer
does one untimed warm-up round first (Numba kernels compiled or loaded from the cache), then
reports the minimum of 3 timed rounds (seconds each); EZKL is native code, takes minutes per
case, and is timed on its only run. The script prints a markdown table: per case and
system setup, prove and verify seconds, proof bytes, peak memory and accuracy against the
float64 model (cosine and max abs error of the pooled output), then notes (EZKL logrows, key
sizes, preparation time, what was skipped and why). Measurements, one run each, fixed seeds
(:data:`benchmarks.peers.cases.SEED`).

EZKL cases that cannot fit are skipped before key generation: after calibration (cheap: seconds
to a minute, about 0.1 GiB) the expected peak memory is estimated from ``logrows`` and earlier
measurements (:func:`ezkl_peak_estimate_gib`) and compared with the memory available when the
case starts minus ``--reserve-gib`` (default 4 GiB: the machine is shared, and an EZKL run of
case (c) allowed 90% of the available memory was killed by the OOM killer at 18.1 GiB resident
when another job started beside it); ``--force-ezkl`` runs them anyway.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from benchmarks.peers.cases import CASES  # noqa: E402
from benchmarks.peers.measure import load_average, mem_available_bytes  # noqa: E402

GIB = 1 << 30

#: EZKL peak memory per row of the circuit (``2^logrows`` rows), in bytes: case (b) peaked at
#: 4.91 GiB with logrows 17 (EZKL 23.0.5, this machine, num_inner_cols 2). A linear model in
#: ``2^logrows`` (keys, FFT buffers and the witness are per row); it gives 0.6 GiB for case (a)
#: (measured 0.38) and 19.6 GiB for case (c) at logrows 19 (an earlier run with
#: ``num_inner_cols=4`` peaked at 18.4 GiB).
EZKL_BYTES_PER_ROW = 4.91 * GIB / 2**17

#: Peak memory measured earlier with EZKL 23.0.5 on this machine (issue 7), GiB; ``inf``: did
#: not fit in 24 GiB (case (d) needs logrows 21).
EZKL_PRIOR_PEAK_GIB = {"b": 4.9, "c": 18.4, "d": math.inf}


def ezkl_peak_estimate_gib(case: str, logrows: int | None) -> float:
    """Expected EZKL peak memory of a case, GiB.

    The larger of the earlier measurement (:data:`EZKL_PRIOR_PEAK_GIB`) and the linear model
    ``2^logrows * EZKL_BYTES_PER_ROW`` (when ``logrows`` is known).

    Arguments:
        case: case key.
        logrows: the calibrated ``logrows``, or ``None`` before calibration.

    Returns:
        GiB (``inf`` for a case known not to fit).
    """
    est = EZKL_PRIOR_PEAK_GIB.get(case, 0.0)
    if logrows is not None:
        est = max(est, 2.0**logrows * EZKL_BYTES_PER_ROW / GIB)
    return est


def _worker(system: str, key: str, workdir: str, result: str, max_peak_gib: float) -> int:
    """Run one (case, system) in this process and write its row as JSON to ``result``."""
    case = CASES[key]
    if system == "zkinfer":
        from benchmarks.peers.run_zkinfer import run_zkinfer

        row: dict[str, Any] = run_zkinfer(case)
    else:
        from benchmarks.peers.run_ezkl import prepare_ezkl, run_ezkl

        prep = prepare_ezkl(case, workdir)
        est = ezkl_peak_estimate_gib(key, prep["logrows"])
        if est > max_peak_gib:
            linear = 2.0 ** prep["logrows"] * EZKL_BYTES_PER_ROW / GIB
            prior = EZKL_PRIOR_PEAK_GIB.get(key)
            seen = ("; an earlier run needed logrows 21 and did not fit in 24 GiB" if prior == math.inf
                    else f"; an earlier run peaked at {prior:.1f} GiB" if prior else "")  # fmt: skip
            row = {
                "system": "ezkl", "case": key, "skipped": True, "logrows": prep["logrows"],
                "prep_s": prep["prep_s"],
                "reason": f"calibrated to logrows {prep['logrows']} (num_inner_cols "
                f"{prep['num_inner_cols']}): estimated peak {linear:.1f} GiB from 2^logrows rows{seen}; "
                f"more than the {max_peak_gib:.1f} GiB allowed (memory available minus the reserve)",
            }  # fmt: skip
        else:
            row = run_ezkl(case, workdir, prep)
            row["estimate_gib"] = est
    with open(result, "w") as fh:
        json.dump(row, fh)
    return 0


def _spawn(system: str, key: str, max_peak_gib: float, timeout: float) -> dict[str, Any]:
    """Run one (case, system) in a fresh subprocess; its stdout/stderr go to a log file."""
    workdir = tempfile.mkdtemp(prefix=f"peers_{system}_{key}_")
    result = os.path.join(workdir, "result.json")
    log = os.path.join(tempfile.gettempdir(), f"bench_peers_{system}_{key}.log")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", system, "--case", key,
           "--workdir", workdir, "--result", result, "--max-peak-gib", str(max_peak_gib)]  # fmt: skip
    t0 = time.perf_counter()
    try:
        with open(log, "w") as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, cwd=_ROOT)
        if proc.returncode != 0 or not os.path.exists(result):
            status = f"exit status {proc.returncode}"
            if proc.returncode == -9:
                status = "killed by SIGKILL (on Linux usually the OOM killer; see dmesg)"
            row = {"system": system, "case": key, "failed": True, "reason": f"{status}; log {log}"}
        else:
            with open(result) as fh:
                row = json.load(fh)
    except subprocess.TimeoutExpired:
        row = {"system": system, "case": key, "failed": True, "reason": f"timeout after {timeout:.0f} s"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # EZKL keys take gigabytes
    row["wall_s"] = time.perf_counter() - t0
    return row


def _fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.3f}" if s < 1 else f"{s:.1f}"


def render_table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the comparison (one line per case and system).

    Arguments:
        rows: result rows of the workers (measured, skipped or failed).

    Returns:
        The table followed by one note per line for EZKL sizes and skipped or failed runs.
    """
    head = ("| case | system | setup s | prove s | verify s | proof bytes | peak memory | "
            "cosine vs float | max abs err (of max abs) |")  # fmt: skip
    lines = [head, "|" + "---|" * 9]
    notes = []
    for r in rows:
        title = f"({r['case']}) {CASES[r['case']].title}"
        if r.get("skipped") or r.get("failed"):
            what = "skipped" if r.get("skipped") else "failed"
            lines.append(f"| {title} | {r['system']} | {what} | | | | | | |")
            notes.append(f"- ({r['case']}) {r['system']} {what}: {r['reason']}")
            continue
        lines.append(
            f"| {title} | {r['system']} | {_fmt_s(r['setup_s'])} | {_fmt_s(r['prove_s'])} | "
            f"{_fmt_s(r['verify_s'])} | {r['proof_bytes']:,} | {r['peak_rss_bytes'] / GIB:.2f} GiB | "
            f"{r['cosine']:.6f} | {r['max_abs_err']:.2e} ({r['ref_max_abs']:.2f}) |"
        )
        if r["system"] == "ezkl":
            notes.append(
                f"- ({r['case']}) ezkl: logrows {r['logrows']}, num_inner_cols {r['num_inner_cols']}, "
                f"proving key {_fmt_bytes(r['pk_bytes'])}, verifying key {_fmt_bytes(r['vk_bytes'])}, "
                f"proof.json {_fmt_bytes(r['proof_json_bytes'])}; settings+calibration+compile "
                f"{_fmt_s(r['prep_s'])} s, gen_srs {_fmt_s(r['srs_s'])} s, witness {_fmt_s(r['witness_s'])} s"
            )
        else:
            notes.append(
                f"- ({r['case']}) zkinfer: verifying key {_fmt_bytes(r['vk_bytes'])}, quantization "
                f"{_fmt_s(r['quantize_s'])} s; zkinfer also proves: {CASES[r['case']].zkinfer_extra}"
            )
    return "\n".join(lines) + "\n\n" + "\n".join(notes + _ratios(rows))


def _ratios(rows: list[dict[str, Any]]) -> list[str]:
    """One line per case measured by both systems: EZKL's figure over zkinfer's, same run."""
    done = {(r["case"], r["system"]): r for r in rows if not (r.get("skipped") or r.get("failed"))}
    out = []
    for key in dict.fromkeys(r["case"] for r in rows):
        z, e = done.get((key, "zkinfer")), done.get((key, "ezkl"))
        if z is None or e is None:
            continue
        parts = [
            f"{label} {e[field] / z[field]:.3g}x"
            for label, field in (("setup", "setup_s"), ("prove", "prove_s"), ("verify", "verify_s"),
                                 ("proof bytes", "proof_bytes"), ("peak memory", "peak_rss_bytes"))
        ]  # fmt: skip
        out.append(f"- ({key}) EZKL / zkinfer, this run: " + ", ".join(parts))
    return out


def _machine_notes() -> str:
    avail = mem_available_bytes()
    load = load_average()
    parts = [
        f"{platform.machine()} {os.cpu_count()} cores",
        f"memory available {avail / GIB:.1f} GiB" if avail else "memory available unknown",
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else "load unknown",
    ]
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see the module docstring).

    Arguments:
        argv: arguments (default ``sys.argv[1:]``).

    Returns:
        Exit status.
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="a,b,c,d", help="comma-separated case letters (default a,b,c,d)")
    ap.add_argument("--skip-ezkl", action="store_true", help="measure zkinfer only")
    ap.add_argument("--force-ezkl", action="store_true", help="run EZKL cases even if they seem not to fit")
    ap.add_argument(
        "--reserve-gib", type=float, default=4.0,
        help="memory left for other jobs: EZKL runs only if its estimate fits in available minus this",
    )  # fmt: skip
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per (case, system) run")
    ap.add_argument("--json", help="also write all rows as JSON to this file")
    ap.add_argument("--worker", choices=["zkinfer", "ezkl"], help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--max-peak-gib", type=float, default=math.inf, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.case, args.workdir, args.result, args.max_peak_gib)

    keys = [k.strip() for k in args.cases.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; choose from {sorted(CASES)}")
    ezkl_ok = not args.skip_ezkl
    if ezkl_ok:
        from benchmarks.peers.run_ezkl import ezkl_version

        version = ezkl_version()
        if version is None:
            print(
                "ezkl is not installed (pip install -e '.[peers]'): measuring zkinfer only", file=sys.stderr
            )
            ezkl_ok = False
    print(f"machine at start: {_machine_notes()}", flush=True)
    rows = []
    for key in keys:
        rows.append(_spawn("zkinfer", key, math.inf, args.timeout))
        print(f"  ({key}) zkinfer done in {rows[-1]['wall_s']:.0f} s", flush=True)
        if not ezkl_ok:
            continue
        # the machine is shared: others may start jobs while EZKL runs, so keep a reserve
        avail = (mem_available_bytes() or math.inf) / GIB
        allowed = math.inf if args.force_ezkl else avail - args.reserve_gib
        rows.append(_spawn("ezkl", key, allowed, args.timeout))
        what = "skipped" if rows[-1].get("skipped") else "failed" if rows[-1].get("failed") else "done"
        print(f"  ({key}) ezkl {what} after {rows[-1]['wall_s']:.0f} s; {_machine_notes()}", flush=True)
    print(f"machine at end: {_machine_notes()}\n", flush=True)
    if ezkl_ok:
        print(f"EZKL {version}; zkinfer default Ligero PCS (rate 1/4, >= 100 bits)\n")
    print(render_table(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
