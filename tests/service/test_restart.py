"""kill -9 in the middle of a proof: every accepted job still completes, exactly once.

The server (1 worker) accepts several jobs; while one is being proven, the server's main
process is killed with SIGKILL (its worker must notice and stop by itself), then the whole
process group; a new server on the same database puts the orphaned job back and proves
everything. The store then shows each job done with exactly one ``done`` event, the killed one
requeued, and every proof verifies in the client against pinned digests."""

from __future__ import annotations

import os
import time

import pytest

from tests.service.conftest import Server, new_key

pytestmark = pytest.mark.usefixtures("server_deps")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def test_kill_9_while_proving_then_restart_completes_every_job_once(tmp_path):
    from zkinfer.client import Client
    from zkinfer.service.store import Store

    db = tmp_path / "z.db"
    server = Server(db, workers=1).start()
    try:
        key = new_key(db)
        digests = server.digests()
        client = Client(server.url, api_key=key, trusted_keys=digests)
        results = client.embed(["kill", [7, 8, 9]], model="tiny")
        results.append(client.chat([{"role": "user", "content": "-9"}], model="tiny-decoder",
                                   max_tokens=4))
        store = Store(db)
        assert store.counts()["queued"] + store.counts()["proving"] == 3  # all accepted, stored
        # wait until a proof is under way (past its first progress write, before its middle)
        deadline = time.monotonic() + 120
        running = None
        while time.monotonic() < deadline and running is None:
            # early in a proof: a worker finishes its current proof if that takes less than its
            # ~1 s exit window, so a job caught late could end done (the next one is taken then)
            running = next((j for j in store.jobs()
                            if j.status == "proving" and 0 < j.percent < 50), None)
            time.sleep(0.1)
        assert running is not None, server.log_text()
        worker_pid = int(running.lease_owner.split(":")[1])
        os.kill(server.proc.pid, 9)  # the server alone first: its worker must stop by itself
        deadline = time.monotonic() + 10
        while _pid_alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _pid_alive(worker_pid), "the worker outlived its server"
    finally:
        server.kill()  # and anything left of the group
    assert store.get(running.id).status == "proving"  # the lease of a dead worker

    server = Server(db, workers=1).start()
    try:
        client.url = server.url
        for r in results:
            assert r.wait_verified(timeout=240)
        ids = [r.proof_id for r in results]
        for job_id in ids:
            job = store.get(job_id)
            events = [e for e, _, _ in store.events(job_id)]
            assert job.status == "done" and events.count("done") == 1, (job_id, events)
            assert store.proof_path(job.proof_sha256).is_file()
        assert "requeued" in [e for e, _, _ in store.events(running.id)]
        assert store.get(running.id).attempts == 2
        assert store.counts() == {"queued": 0, "proving": 0, "done": 3, "failed": 0}
    finally:
        server.stop()
