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

__all__ = ["start_workers", "worker_main", "prove_job", "PROGRESS_INTERVAL"]

#: Seconds between two progress writes of one job.
PROGRESS_INTERVAL = 0.5


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


def prove_job(store, job, pks: dict, owner: str, parent_pid: int | None = None) -> str:
    """Prove one claimed job and complete it; returns ``"done"``, ``"failed"`` or ``"lost"``
    (the lease was taken away: nothing is changed). With ``parent_pid`` (a server's worker),
    the process ends without completing the job if the server is gone.

    Raises:
        nothing: every error fails the job with its reason.
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
        proof = zkinfer.prove(pk, ids, progress, max_new_tokens=st.get("max_new_tokens"))
        if not np.array_equal(np.asarray(proof.output), np.asarray(st["output"], dtype=np.int64)):
            return _fail(store, job, owner, "the proven output differs from the answer returned")
        sha = store.put_proof(proof.to_bytes())
    except zkinfer.ZkinferError as exc:
        return _fail(store, job, owner, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug: fail the job with the error, keep the worker alive
        traceback.print_exc()
        return _fail(store, job, owner, f"internal error: {type(exc).__name__}: {exc}")
    _stop_if_orphaned(parent_pid)
    return "done" if store.complete(job.id, owner, sha) else "lost"


def _fail(store, job, owner: str, reason: str) -> str:
    return "failed" if store.fail(job.id, owner, reason) else "lost"


class _Heartbeat(threading.Thread):
    """Extends the current job's lease every third of the lease; ends the process when the
    parent process is gone."""

    def __init__(self, store, owner: str, parent_pid: int) -> None:
        super().__init__(daemon=True, name="zkinfer-heartbeat")
        self.store, self.owner, self.parent_pid = store, owner, parent_pid
        self.job_id: str | None = None
        self.interval = min(5.0, store.lease_seconds / 3)

    def run(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(min(1.0, self.interval))
            if os.getppid() != self.parent_pid:
                os._exit(0)  # the server is gone: stop proving at once
            job_id, now = self.job_id, time.monotonic()
            if job_id is not None and now - last >= self.interval:
                last = now
                try:
                    self.store.heartbeat(job_id, self.owner)
                except Exception:  # a busy database: the next beat tries again
                    pass


def worker_main(db: str, data_dir: str, names: list[str], digests: dict, index: int,
                parent_pid: int, lease_seconds: float = 60.0, poll: float = 0.2) -> None:
    """A worker process's body (the target of :func:`start_workers`)."""
    from zkinfer.service.models import load_pk
    from zkinfer.service.store import Store, owner_id

    store = Store(db, data_dir, lease_seconds=lease_seconds)
    owner = owner_id(f"w{index}")
    pks = {}
    for name in names:
        pk = load_pk(data_dir, name)
        if pk.vk.digest.hex() != digests[name]:
            raise SystemExit(f"worker {index}: the cached key of {name} changed")
        pks[name] = pk
    beat = _Heartbeat(store, owner, parent_pid)
    beat.start()
    while True:
        if os.getppid() != parent_pid:
            return
        job = store.claim(owner, names)
        if job is None:
            time.sleep(poll)
            continue
        beat.job_id = job.id
        try:
            prove_job(store, job, pks, owner, parent_pid)
        finally:
            beat.job_id = None


def start_workers(n: int, db: str | Path, data_dir: str | Path, names: list[str],
                  digests: dict, lease_seconds: float = 60.0, first_index: int = 0) -> list:
    """Start ``n`` spawn-context worker processes, numbered from ``first_index``; returns them
    (daemonic: they end with the server)."""
    ctx = multiprocessing.get_context("spawn")
    procs = []
    for i in range(first_index, first_index + n):
        p = ctx.Process(target=worker_main, name=f"zkinfer-worker-{i}",
                        args=(str(db), str(data_dir), list(names), dict(digests), i, os.getpid(),
                              lease_seconds),
                        daemon=True)
        p.start()
        procs.append(p)
    return procs
