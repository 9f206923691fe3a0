"""``zkinfer serve --dask``: a real server whose proofs are made on a Dask cluster (a
``LocalCluster`` of two worker processes started by the test).

An embedding request is answered at once, its proof is made on the cluster (the scheduler saw
the segments' tasks) by a dispatcher (the lease owner's tag ``d0``), and verifies in the client
against the pinned digest. Then the scheduler is lost in the middle of a proof: the job goes
back to the queue with the cause in its stage, the dispatcher claims nothing while no scheduler
answers, and once a scheduler is back at the same address the job is proven exactly once and
verifies. Without a reachable scheduler the server refuses to start, saying why.
"""

from __future__ import annotations

import time

import pytest

from tests.service.conftest import Server, free_port, new_key

pytestmark = pytest.mark.usefixtures("server_deps")


def _cluster(port: int = 0):
    from distributed import LocalCluster

    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                        scheduler_port=port, dashboard_address=None, silence_logs=40)


def test_serve_proves_on_a_dask_cluster_and_survives_a_lost_scheduler(tmp_path):
    pytest.importorskip("distributed")
    from zkinfer.client import Client
    from zkinfer.service.store import Store

    t0 = time.monotonic()
    cluster = _cluster()
    address = cluster.scheduler_address
    port = int(address.rsplit(":", 1)[1])
    db = tmp_path / "z.db"
    server = Server(db, models=("tiny",), workers=1, extra=["--dask", address]).start()
    try:
        client = Client(server.url, api_key=new_key(db), trusted_keys=server.digests(),
                        check_receipts=False)
        store = Store(db)
        [first] = client.embed("dask", model="tiny")
        assert first.wait_verified(timeout=120), server.log_text()
        job = store.get(first.proof_id)
        owners = {o for e, o, _ in store.events(first.proof_id) if e == "claimed"}
        assert job.status == "done" and len(owners) == 1 and owners.pop().endswith(":d0")
        # the segments were proven on the cluster's workers, not in the dispatcher
        prefixes = set(cluster.scheduler.task_prefixes)
        assert {"prove_segment", "commit_trace", "forward"} <= prefixes, prefixes
        first_done = time.monotonic() - t0

        # the scheduler is lost while a proof is under way: the job is given back with the cause
        [second] = client.embed([5, 6, 7, 8], model="tiny")
        deadline = time.monotonic() + 60
        while store.get(second.proof_id).status != "proving" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.get(second.proof_id).status == "proving", server.log_text()
        cluster.close()
        deadline = time.monotonic() + 60
        while store.get(second.proof_id).status == "proving" and time.monotonic() < deadline:
            time.sleep(0.2)
        lost = store.get(second.proof_id)
        if lost.status == "done":  # the proof beat the loss (it takes a few seconds): rare
            pytest.fail("the proof finished before the scheduler was lost; cannot test the "
                        "loss")
        assert lost.status == "queued", (lost, server.log_text())
        assert lost.stage.startswith("requeued: the Dask cluster"), lost.stage
        time.sleep(2.0)  # no scheduler: nothing is claimed
        assert store.get(second.proof_id).status == "queued"

        # a scheduler at the same address again: the job is proven, once, and verifies
        cluster = _cluster(port)
        assert second.wait_verified(timeout=120), server.log_text()
        events = [e for e, _, _ in store.events(second.proof_id)]
        assert events.count("done") == 1 and "requeued" in events, events
        assert store.get(second.proof_id).attempts == 2
        print(f"\ndask: first proof verified {first_done:.1f} s after the cluster started; "
              f"lost scheduler: {lost.stage[:160]!r}; whole test {time.monotonic() - t0:.1f} s")
    finally:
        server.stop()
        cluster.close()


def test_serve_refuses_to_start_without_its_scheduler(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    from zkinfer.cli import main
    from zkinfer.service import worker

    monkeypatch.setattr(worker, "CONNECT_TIMEOUT", 1.0)  # the default waits 10 s
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    status = main(["serve", "--model", "tiny", "--db", str(tmp_path / "z.db"), "--port",
                   str(free_port()), "--dask", address])
    assert status == 2
    assert f"--dask {address}: cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "z.db").exists()  # refused before anything was set up
