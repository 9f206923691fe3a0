"""A bounded load test (slow): many embedding requests from concurrent clients on the tiny
model; every answer arrives, every proof completes exactly once and verifies, none is lost.
Prints throughput and latency percentiles. Size: ``ZKINFER_LOAD=requests,clients,workers``
(default 60,10,2; the issue's figure is 200,20,2)."""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.service.conftest import Server, http, new_key

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("server_deps")]


def test_bounded_load_all_proofs_complete_and_verify(tmp_path, capsys):
    from zkinfer.client import Client
    from zkinfer.service.store import Store

    n, clients, workers = (int(v) for v in os.environ.get("ZKINFER_LOAD", "60,10,2").split(","))
    db = tmp_path / "z.db"
    server = Server(db, models=("tiny",), workers=workers).start()
    try:
        key = new_key(db, max_queued=n, rpm=100 * n)
        _, _, models = http("GET", server.url + "/v1/models")
        client = Client(server.url, api_key=key, check_receipts=False,
                        trusted_keys={m["id"]: m["key_digest"] for m in models["data"]})
        latencies = []

        def one(i: int):
            t = time.perf_counter()
            [r] = client.embed(f"load {i}", model="tiny")
            latencies.append(time.perf_counter() - t)
            return r

        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, range(n)))
        answered = time.perf_counter() - t0
        for r in results:
            assert r.wait_verified(timeout=600 + 60 * n, poll=1.0)
        proven = time.perf_counter() - t0
        store = Store(db)
        assert store.counts() == {"queued": 0, "proving": 0, "done": n, "failed": 0}
        for r in results:
            assert [e for e, _, _ in store.events(r.proof_id)].count("done") == 1
    finally:
        server.stop()
    q = statistics.quantiles(latencies, n=100)
    with capsys.disabled():
        print(f"\n{n} embedding requests from {clients} clients, {workers} workers: answered in "
              f"{answered:.1f} s ({n / answered:.1f} requests/s; latency p50 {q[49] * 1e3:.0f} "
              f"ms, p90 {q[89] * 1e3:.0f} ms, p99 {q[98] * 1e3:.0f} ms); all proofs done and "
              f"verified after {proven:.1f} s ({60 * n / proven:.1f} proofs/min)")
