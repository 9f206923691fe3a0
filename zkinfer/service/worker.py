"""Proving workers: processes that claim jobs from the store, prove them and store the proofs.

Each worker is a ``multiprocessing`` *spawn* process (no state forked from the server, no
event loop): it loads the proving keys of the served models once (from the on-disk cache that
:func:`zkinfer.service.models.ensure_key` fills; checked against each ``vk.bin``), then loops:
claim the oldest queued job (:meth:`Store.claim`, a lease), prove it with a progress callback
that writes the stage and percent to the store (at most every :data:`PROGRESS_INTERVAL`
seconds), store the proof content-addressed and complete the job, which succeeds only while
the worker still holds the lease. A heartbeat thread extends the lease while a proof runs, and
ends the worker at once (``os._exit``) when its parent, the server, is gone, so a killed
server leaves no prover running.

**On a Dask cluster** (``zkinfer serve --dask ADDRESS``): the same processes, as
*dispatchers*. Each holds a :class:`distributed.Client` of the scheduler and proves its claimed
job with ``zkinfer.prove(..., executor=client)`` (:mod:`zkinfer.cluster`: the segments' work on
the cluster's workers, the transcript and the proof in the dispatcher), so claims, leases,
progress, complete-once and the orphan rule are exactly those of a local worker, and the event
loop of the server never sees a proof. A dispatcher claims nothing while it has no running
client, or while its cluster has no worker (it reconnects with a growing pause, and pauses
after a failed proof: :class:`_Cluster`). A proof that fails because of
the cluster (any error that is not the job's own, or any error while the client is not
running) gives the job back (:meth:`Store.release`: ``queued``, its ``stage`` saying why; failed
after :data:`~zkinfer.service.store.MAX_ATTEMPTS` claims) and drops the client; a proof stuck
because the scheduler is gone (the client not running for :data:`CLUSTER_STALL` seconds) is
given back the same way by the heartbeat thread, which then ends the process (the server's
supervisor starts another). A new client places the keys again (:func:`zkinfer.cluster.scatter`),
so nothing of a lost cluster is reused. Only the Ligero PCS proves on a cluster (the served
models' default).

A proof must state exactly what the server answered: the worker proves the stored statement's
input (and ``max_new_tokens``) and fails the job if the proof's output differs from the stored
output (it never does for a deterministic model; the check keeps a stored proof from ever
contradicting an answer). The proof's key must be the key digest recorded with the job.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from pathlib import Path

import numpy as np

__all__ = ["start_workers", "worker_main", "prove_job", "PROGRESS_INTERVAL", "CLUSTER_STALL",
           "CONNECT_TIMEOUT"]

#: Seconds between two progress writes of one job.
PROGRESS_INTERVAL = 0.5
#: Seconds a dispatcher's Dask client may be not running during a proof before the job is
#: given back and the dispatcher ends.
CLUSTER_STALL = 20.0
#: Seconds one connection attempt to the Dask scheduler may take.
CONNECT_TIMEOUT = 10.0


class _Progress:
    """A ``progress(stage, done, total)`` callback with ``overall(fraction)`` that writes to
    the store, throttled; remembers whether the lease was lost."""

    def __init__(self, store, job_id: str, owner: str, parent_pid: int | None = None) -> None:
        self.store, self.job_id, self.owner = store, job_id, owner
        self.parent_pid = parent_pid
        self.stage, self.percent, self.last = "starting", 0.0, 0.0
        self.lost = False

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_INTERVAL:
            return
        self.last = now
        if not self.store.progress(self.job_id, self.owner, self.stage, self.percent):
            self.lost = True

    def __call__(self, stage: str, done: int, total: int) -> None:
        _stop_if_orphaned(self.parent_pid)
        self.stage = stage
        self._write()

    def overall(self, fraction: float) -> None:
        _stop_if_orphaned(self.parent_pid)
        self.percent = 100.0 * float(fraction)
        self._write()


def _stop_if_orphaned(parent_pid: int | None) -> None:
    """End the worker at once if its server is gone (``None``: not a server's worker). Called
    at every progress step and before completing a job, so a killed server's worker never
    completes the job it was proving: the next server start puts it back in the queue."""
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


class _Cluster:
    """A dispatcher's connection to the Dask scheduler at ``address``.

    :meth:`get` returns a running :class:`distributed.Client` whose cluster has a worker, or
    ``None``: it connects at most once per pause (doubling up to 5 s while the scheduler is
    unreachable) and asks the scheduler for its workers at most once a second. :meth:`failed`
    drops the client after a proof failed on the cluster and waits before the next claim
    (2, 4, 8 ... up to 30 s after consecutive failures, so a cluster that fails every proof
    does not use up a job's attempts at once); :meth:`succeeded` resets that."""

    def __init__(self, address: str, name: str, say=None) -> None:
        self.address, self.name = address, name
        self.say = say or (lambda line: print(line, flush=True))
        self.client = None
        self.pause, self.next_try = 0.5, 0.0
        self.failures = 0
        self.error: str | None = None
        self.checked = 0.0  # when the scheduler last reported a worker

    def healthy(self) -> bool:
        c = self.client
        return c is not None and c.status == "running"

    def get(self):
        if self.client is not None and not self.healthy():
            self.drop(f"its client is {self.client.status}")
        now = time.monotonic()
        if self.client is None:
            if now < self.next_try:
                return None
            try:
                from distributed import Client

                # the process's default client: zkinfer.cluster's futures resolve through it
                self.client = Client(self.address, timeout=CONNECT_TIMEOUT)
            except Exception as exc:  # OSError, TimeoutError: unreachable; retried later
                error = f"{type(exc).__name__}: {exc}"
                if error != self.error:
                    self.say(f"{self.name}: cannot reach the Dask scheduler at {self.address} "
                             f"({error}); retrying")
                self.error = error
                self.next_try = now + self.pause
                self.pause = min(5.0, self.pause * 2)
                return None
            if self.error is not None:
                self.say(f"{self.name}: connected to the Dask scheduler at {self.address}")
            self.error, self.pause, self.checked = None, 0.5, 0.0
        if now - self.checked >= 1.0:
            try:
                workers = self.client.scheduler_info().get("workers", {})
            except Exception as exc:  # the scheduler went away since
                self.drop(f"{type(exc).__name__}: {exc}")
                return None
            if not workers:
                return None  # a scheduler without workers (closing, or not yet scaled up)
            self.checked = now
        return self.client

    def failed(self, why: str) -> None:
        self.failures += 1
        self.drop(why)
        self.next_try = time.monotonic() + min(30.0, 2.0 ** self.failures)

    def succeeded(self) -> None:
        self.failures = 0

    def drop(self, why: str) -> None:
        client, self.client = self.client, None
        self.error = why
        self.say(f"{self.name}: dropped the Dask client of {self.address} ({why})")
        if client is not None:
            try:
                client.close(timeout=2)
            except Exception:  # a client of a lost scheduler may not close cleanly
                pass


def prove_job(store, job, pks: dict, owner: str, parent_pid: int | None = None,
              executor=None) -> str:
    """Prove one claimed job and complete it; returns ``"done"``, ``"failed"``, ``"requeued"``
    (on a cluster: given back, the cluster failed) or ``"lost"`` (the lease was taken away:
    nothing is changed). With ``parent_pid`` (a server's worker), the process ends without
    completing the job if the server is gone. With ``executor`` (a :class:`distributed.Client`)
    the proof is made on its cluster; an error that is not the job's own (not a
    :class:`~zkinfer.errors.ZkinferError`), or any error while the client is not running, gives
    the job back (:meth:`Store.release`) instead of failing it.

    Raises:
        nothing: every error fails (or gives back) the job with its reason.
    """
    import zkinfer

    try:
        pk = pks.get(job.model)
        if pk is None:
            return _fail(store, job, owner, f"this server does not serve {job.model!r} anymore")
        if pk.vk.digest.hex() != job.key_digest:
            return _fail(store, job, owner, "the model's key changed since the job was accepted")
        st = job.statement
        ids = np.asarray(st["input"], dtype=np.int64)
        progress = _Progress(store, job.id, owner, parent_pid)
        proof = zkinfer.prove(pk, ids, progress, executor=executor,
                              max_new_tokens=st.get("max_new_tokens"))
        if not np.array_equal(np.asarray(proof.output), np.asarray(st["output"], dtype=np.int64)):
            return _fail(store, job, owner, "the proven output differs from the answer returned")
        sha = store.put_proof(proof.to_bytes())
    except zkinfer.ZkinferError as exc:
        if executor is not None and executor.status != "running":
            return _release(store, job, owner, executor, exc)
        return _fail(store, job, owner, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug: fail the job with the error, keep the worker alive
        if executor is not None:  # most likely the cluster's (a lost scheduler or worker)
            return _release(store, job, owner, executor, exc)
        traceback.print_exc()
        return _fail(store, job, owner, f"internal error: {type(exc).__name__}: {exc}")
    _stop_if_orphaned(parent_pid)
    return "done" if store.complete(job.id, owner, sha) else "lost"


def _fail(store, job, owner: str, reason: str) -> str:
    return "failed" if store.fail(job.id, owner, reason) else "lost"


def _cluster_reason(executor, exc: BaseException | None) -> str:
    what = "lost its scheduler" if executor.status != "running" else "failed"
    cause = "" if exc is None else f": {type(exc).__name__}: {str(exc)[:300]}"
    return f"the Dask cluster {what} while proving (client {executor.status}){cause}"


def _release(store, job, owner: str, executor, exc: BaseException | None) -> str:
    status = store.release(job.id, owner, _cluster_reason(executor, exc))
    return {"queued": "requeued", "failed": "failed"}.get(status, "lost")


class _Heartbeat(threading.Thread):
    """Extends the current job's lease every third of the lease; ends the process when the
    parent process is gone."""

    def __init__(self, store, owner: str, parent_pid: int, cluster: _Cluster | None = None
                 ) -> None:
        super().__init__(daemon=True, name="zkinfer-heartbeat")
        self.store, self.owner, self.parent_pid = store, owner, parent_pid
        self.cluster = cluster
        self.job_id: str | None = None
        self.interval = min(5.0, store.lease_seconds / 3)

    def run(self) -> None:
        last = time.monotonic()
        stalled: float | None = None  # since when the cluster's client is not running
        while True:
            time.sleep(min(1.0, self.interval))
            if os.getppid() != self.parent_pid:
                os._exit(0)  # the server is gone: stop proving at once
            job_id, now = self.job_id, time.monotonic()
            if self.cluster is not None and job_id is not None:
                client = self.cluster.client
                if client is not None and client.status != "running":
                    stalled = now if stalled is None else stalled
                    if now - stalled >= CLUSTER_STALL:  # the proof waits for a lost scheduler
                        try:
                            self.store.release(job_id, self.owner, _cluster_reason(client, None))
                        finally:
                            os._exit(3)  # the supervisor starts another dispatcher
                else:
                    stalled = None
            if job_id is not None and now - last >= self.interval:
                last = now
                try:
                    self.store.heartbeat(job_id, self.owner)
                except Exception:  # a busy database: the next beat tries again
                    pass


def worker_main(db: str, data_dir: str, names: list[str], digests: dict, index: int,
                parent_pid: int, lease_seconds: float = 60.0, poll: float = 0.2,
                dask: str | None = None) -> None:
    """A worker process's body (the target of :func:`start_workers`); with ``dask`` (a
    scheduler address) a dispatcher that proves on that cluster."""
    from zkinfer.service.models import load_pk
    from zkinfer.service.store import Store, owner_id

    store = Store(db, data_dir, lease_seconds=lease_seconds)
    owner = owner_id(f"d{index}" if dask else f"w{index}")
    cluster = None if dask is None else _Cluster(dask, f"dispatcher {index}")
    pks = {}
    for name in names:
        pk = load_pk(data_dir, name)
        if pk.vk.digest.hex() != digests[name]:
            raise SystemExit(f"worker {index}: the cached key of {name} changed")
        pks[name] = pk
    beat = _Heartbeat(store, owner, parent_pid, cluster)
    beat.start()
    while True:
        if os.getppid() != parent_pid:
            return
        executor = None
        if cluster is not None:
            executor = cluster.get()
            if executor is None:  # no scheduler: claim nothing
                time.sleep(poll)
                continue
        job = store.claim(owner, names)
        if job is None:
            time.sleep(poll)
            continue
        beat.job_id = job.id
        try:
            result = prove_job(store, job, pks, owner, parent_pid, executor)
        finally:
            beat.job_id = None
        if cluster is not None:
            if result == "requeued" or not cluster.healthy():
                cluster.failed(f"a proof failed on the cluster (the job was {result})")
            elif result == "done":
                cluster.succeeded()


def start_workers(n: int, db: str | Path, data_dir: str | Path, names: list[str],
                  digests: dict, lease_seconds: float = 60.0, first_index: int = 0,
                  dask: str | None = None) -> list:
    """Start ``n`` spawn-context worker processes (with ``dask``, dispatchers to that
    scheduler), numbered from ``first_index``; returns them (daemonic: they end with the
    server)."""
    ctx = multiprocessing.get_context("spawn")
    procs = []
    for i in range(first_index, first_index + n):
        p = ctx.Process(target=worker_main, name=f"zkinfer-worker-{i}",
                        args=(str(db), str(data_dir), list(names), dict(digests), i, os.getpid(),
                              lease_seconds, 0.2, dask),
                        daemon=True)
        p.start()
        procs.append(p)
    return procs
