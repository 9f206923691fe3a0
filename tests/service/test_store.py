"""The job store: accepted jobs are stored atomically within the queue limits, a lease is
needed to complete a job (so a job completes at most once), expired or orphaned leases go back
to the queue, a job that keeps killing its prover fails, proofs are content-addressed, keys are
stored hashed."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest

from zkinfer.errors import InvalidArgumentError
from zkinfer.service.store import MAX_ATTEMPTS, QueueFull, Store, owner_id


def _item(i: int = 0, model: str = "tiny") -> dict:
    return {"model": model, "kind": "embedding", "key_digest": "00" * 32,
            "statement": {"input": [i, 1], "output": [5, 6], "max_new_tokens": None}}


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "z.db", lease_seconds=30)


@pytest.fixture
def key(store):
    _, secret = store.create_api_key({"max_queued": 3})
    return store.authenticate(secret)


def test_keys_are_stored_hashed(store, tmp_path):
    key_id, secret = store.create_api_key()
    assert store.authenticate(secret).id == key_id
    assert store.authenticate(secret + "x") is None and store.authenticate("") is None
    for path in (p for p in tmp_path.glob("z.db*") if p.is_file()):
        assert secret.encode() not in path.read_bytes()
    with pytest.raises(InvalidArgumentError, match="positive int"):
        store.create_api_key({"rpm": 0})
    with pytest.raises(InvalidArgumentError, match="unknown API key limit"):
        store.create_api_key({"burst": 3})


def test_submit_is_atomic_within_the_limits(store, key):
    ids = store.submit(key, [_item(0), _item(1)], server_limit=10)
    assert [store.get(i).status for i in ids] == ["queued", "queued"]
    with pytest.raises(QueueFull) as exc:  # 2 + 2 > the key's 3: nothing of it is stored
        store.submit(key, [_item(2), _item(3)], server_limit=10)
    assert exc.value.scope == "key" and exc.value.retry_after >= 1
    assert store.counts()["queued"] == 2
    with pytest.raises(QueueFull) as exc:
        store.submit(key, [_item(4)], server_limit=2)
    assert exc.value.scope == "server"
    assert len(store.submit(key, [_item(5)], server_limit=10)) == 1


def test_claim_lease_and_complete_once(store, key):
    (job_id,) = store.submit(key, [_item()], server_limit=10)
    assert store.claim("me:1:a", ["other-model"]) is None
    job = store.claim("me:1:a", ["tiny"])
    assert job.id == job_id and job.status == "proving" and job.attempts == 1
    assert store.claim("me:1:b", ["tiny"]) is None  # nothing else queued
    assert store.progress(job_id, "me:1:a", "relations", 40.0)
    assert not store.progress(job_id, "me:1:b", "relations", 50.0)  # not the holder
    assert store.get(job_id).percent == 40.0
    sha = store.put_proof(b"proof bytes")
    assert not store.complete(job_id, "me:1:b", sha)
    assert store.complete(job_id, "me:1:a", sha)
    assert not store.complete(job_id, "me:1:a", sha)  # done already: never twice
    assert not store.fail(job_id, "me:1:a", "late")
    job = store.get(job_id)
    assert job.status == "done" and job.proof_sha256 == sha and job.lease_owner is None
    assert [e for e, _, _ in store.events(job_id)] == ["queued", "claimed", "done"]


def test_an_expired_lease_goes_back_and_its_old_holder_cannot_complete(tmp_path, key):
    store = Store(tmp_path / "z.db", lease_seconds=0.2)
    (job_id,) = store.submit(key, [_item()], server_limit=10)
    first = owner_id("first")  # this process: alive, so only the expiry can requeue it
    store.claim(first, ["tiny"])
    assert store.recover() == []
    time.sleep(0.3)
    assert store.recover() == [job_id]
    assert store.get(job_id).status == "queued"
    second = store.claim(owner_id("second"), ["tiny"])
    sha = store.put_proof(b"p")
    assert not store.complete(job_id, first, sha)
    assert not store.heartbeat(job_id, first)
    assert store.complete(job_id, second.lease_owner, sha)
    assert [e for e, _, _ in store.events(job_id)].count("done") == 1


def _exit_now() -> None:
    pass


def test_a_gone_owner_is_requeued_at_once_and_a_job_that_keeps_failing_fails(store, key):
    p = multiprocessing.get_context("spawn").Process(target=_exit_now)
    p.start()
    p.join()
    import socket

    dead = f"{socket.gethostname()}:{p.pid}:w0"
    (job_id,) = store.submit(key, [_item()], server_limit=10)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert store.claim(dead, ["tiny"]).attempts == attempt
        assert store.recover() == [job_id]  # the lease has not expired; its owner is gone
    job = store.get(job_id)
    assert job.status == "failed" and "stopped 3 times" in job.reason


def test_proofs_are_content_addressed(store):
    sha = store.put_proof(b"abc")
    assert store.put_proof(b"abc") == sha
    assert store.read_proof(sha) == b"abc"
    assert store.proof_path(sha).name == f"{sha}.zkp"
    assert not list(store.proof_path(sha).parent.glob("*.tmp"))
    store.proof_path(sha).write_bytes(b"abd")
    with pytest.raises(Exception, match="corrupted"):
        store.read_proof(sha)
    with pytest.raises(InvalidArgumentError):
        store.proof_path("../etc/passwd")


def test_the_database_is_wal(store):
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_job_given_back_is_queued_with_its_cause_then_fails_after_max_attempts(store, key):
    from zkinfer.service.store import public_ref

    (job_id,) = store.submit(key, [_item()], 10)
    me, other = owner_id("d0"), owner_id("d1")
    for attempt in range(1, MAX_ATTEMPTS):
        assert store.claim(me, ["tiny"]).attempts == attempt
        assert store.release(job_id, other, "not mine") is None  # only the lease holder
        assert store.release(job_id, me, "the Dask cluster lost its scheduler") == "queued"
        job = store.get(job_id)
        assert job.status == "queued" and job.lease_owner is None and job.percent == 0
        assert job.stage == "requeued: the Dask cluster lost its scheduler"
        # the public list says requeued, not why (the cause may name the cluster)
        [row] = [r for r in store.recent() if r["ref"] == public_ref(job_id)]
        assert row["stage"] == "requeued" and row["status"] == "queued"
    store.claim(me, ["tiny"])
    assert store.release(job_id, me, "lost again") == "failed"
    job = store.get(job_id)
    assert job.status == "failed" and "lost again" in job.reason
    assert not store.complete(job_id, me, store.put_proof(b"ZKPF late"))
    events = [e for e, _, _ in store.events(job_id)]
    assert events.count("requeued") == MAX_ATTEMPTS - 1 and events[-1] == "failed"


def test_a_dispatcher_gives_a_job_back_when_its_cluster_is_not_running(store, key):
    from zkinfer import models
    from zkinfer.service.worker import prove_job

    class LostClient:  # what a distributed.Client of a lost scheduler looks like to prove_job
        status = "closed"

    class Key:  # a proving key whose digest matches the job's
        class vk:  # noqa: N801
            digest = bytes(32)
        model = models.tiny()

    (job_id,) = store.submit(key, [_item()], 10)
    job = store.claim(owner_id("d0"), ["tiny"])
    assert prove_job(store, job, {"tiny": Key()}, owner_id("d0"), executor=LostClient()) \
        == "requeued"
    job = store.get(job_id)
    assert job.status == "queued" and job.stage.startswith("requeued: the Dask cluster lost")
    # a local worker (no executor) fails the job with the same error instead
    job = store.claim(owner_id("w0"), ["tiny"])
    Key.model = None
    assert prove_job(store, job, {"tiny": Key()}, owner_id("w0")) == "failed"
