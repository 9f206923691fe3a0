"""The proof-carrying inference service: an OpenAI-compatible HTTP API whose answers come with
proofs (``zkinfer serve``; issue 17).

==============================  ==============================================================
module                          what it holds
==============================  ==============================================================
``zkinfer.service.store``       SQLite (WAL) job and API-key store, proofs on disk by SHA-256
``zkinfer.service.models``      servable models: cached keys, tokenization, integer inference
``zkinfer.service.worker``      proving worker processes (spawn), leases and progress
``zkinfer.service.app``         the Starlette app (the endpoints and their errors)
``zkinfer.service.receipts``    BLS-signed receipts of answers (py_ecc)
==============================  ==============================================================

:func:`serve` ties them together: open the store and put back the jobs of a crashed run, set
up (or load the cached) keys, start the workers, and run the app under uvicorn; a supervisor
thread restarts a worker that died and requeues jobs whose lease expired. Needs the ``serve``
dependencies (``starlette``, ``uvicorn``); the client (:mod:`zkinfer.client`) needs neither.

With ``dask`` (``zkinfer serve --dask tcp://scheduler:8786``) the worker processes are
dispatchers that prove on that Dask cluster (:mod:`zkinfer.service.worker`): the store's
leases, complete-once and recovery are unchanged (a job is claimed by the dispatcher that
submits it; a server killed mid-proof takes its dispatchers with it, and the next start puts
their jobs back); a lost scheduler gives the job back with the cause and the dispatcher
reconnects. Needs ``distributed`` (the ``dask`` extra); the scheduler must be reachable at
start.
"""

from __future__ import annotations

import threading
import time

from zkinfer.errors import InvalidArgumentError, MissingDependencyError

__all__ = ["serve"]


def _require() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(f"zkinfer serve needs {exc.name}: pip install starlette "
                                     "uvicorn") from None


class _Supervisor(threading.Thread):
    """Every ``interval`` seconds: requeue jobs whose lease expired or whose owner is gone, and
    restart workers that died."""

    def __init__(self, store, procs: list, restart, interval: float) -> None:
        super().__init__(daemon=True, name="zkinfer-supervisor")
        self.store, self.procs, self.restart, self.interval = store, procs, restart, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                for i, p in enumerate(self.procs):
                    if not p.is_alive():
                        p.join(timeout=0)
                        self.procs[i] = self.restart(i)
                self.store.recover()
            except Exception:  # a busy database or a failed start: the next round retries
                pass


def _check_scheduler(address: str, say) -> None:
    """Connect once to the Dask scheduler at ``address`` and report its workers.

    Raises:
        MissingDependencyError: ``distributed`` is not installed.
        InvalidArgumentError: the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError('zkinfer serve --dask needs Dask\'s "distributed": pip '
                                     'install "zkinfer[dask]"') from None
    from zkinfer.service.worker import CONNECT_TIMEOUT

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError (a malformed address)
        raise InvalidArgumentError(f"--dask {address}: cannot reach the Dask scheduler "
                                   f"({type(exc).__name__}: {exc})") from None
    try:
        n = len(client.scheduler_info().get("workers", {}))
    finally:
        client.close()
    say(f"proving on the Dask cluster at {address} ({n} worker(s) now)")


def serve(models, host: str = "127.0.0.1", port: int = 8000, db: str = "zkinfer.db",
          workers: int = 1, *, queue_limit: int = 1024, lease_seconds: float = 60.0,
          max_body: int = 1 << 20, log_level: str = "info", receipts: bool | None = None,
          dask: str | None = None, say=print) -> None:
    """Serve ``models`` over HTTP until interrupted.

    Arguments:
        models: names (:data:`zkinfer.service.models.SERVABLE`), e.g. ``["tiny",
            "tiny-decoder"]``.
        host, port: where to listen.
        db: the SQLite file; proofs and cached keys live in ``<db>.data/``.
        workers: proving processes (>= 1); with ``dask``, dispatchers (each proves one job at
            a time on the cluster).
        queue_limit: most jobs queued or proving on the whole server (429 beyond).
        lease_seconds: a proving job's lease; a worker gone silent this long loses its job.
        max_body: largest request body of the inference endpoints, in bytes.
        log_level: uvicorn's log level.
        receipts: sign every answer (BLS, :mod:`zkinfer.service.receipts`; the key is made on
            the first start in ``<db>.data/receipt.key``): ``None`` if py_ecc is installed,
            ``True`` always (py_ecc required), ``False`` never.
        dask: a Dask scheduler's address (``tcp://host:8786``): prove on that cluster
            instead of in local processes (:mod:`zkinfer.service.worker`).
        say: where progress lines go (``None``: nowhere).

    Raises:
        InvalidArgumentError: an unknown model, a bad ``workers`` / ``port`` / limit, or a
            ``dask`` scheduler that cannot be reached.
        MissingDependencyError: starlette or uvicorn (or a model's extra, or py_ecc with
            ``receipts=True``, or distributed with ``dask``) is missing.
    """
    _require()
    import uvicorn

    from zkinfer.service import models as served_models
    from zkinfer.service import receipts as receipt_keys
    from zkinfer.service.app import ServiceConfig, create_app
    from zkinfer.service.store import Store
    from zkinfer.service.worker import start_workers

    names = served_models.check_served(models)
    for what, value, lo in (("workers", workers, 1), ("queue_limit", queue_limit, 1),
                            ("max_body", max_body, 1024), ("port", port, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise InvalidArgumentError(f"serve(): {what} must be an int >= {lo}, got {value!r}")
    say = say or (lambda line: None)
    if dask is not None:
        if not isinstance(dask, str) or not dask.strip():
            raise InvalidArgumentError(f"serve(): dask must be a scheduler address, got {dask!r}")
        dask = dask.strip()
        _check_scheduler(dask, say)
    store = Store(db, lease_seconds=lease_seconds)
    if receipts is None:
        receipts = receipt_keys.available()
    signer = receipt_keys.Signer(store.data_dir) if receipts else None
    if signer is not None:
        say(f"receipts signed by BLS key {signer.public_key.hex()[:16]}...")
    requeued = store.recover()
    if requeued:
        say(f"requeued {len(requeued)} proof job(s) of an earlier run")
    digests = {}
    for name in names:
        t0 = time.perf_counter()
        digests[name] = served_models.ensure_key(store.data_dir, name)
        say(f"{name}: key {digests[name][:16]}... ({time.perf_counter() - t0:.1f} s)")

    def restart(i: int):
        return start_workers(1, db, store.data_dir, names, digests, lease_seconds,
                             first_index=i, dask=dask)[0]

    procs = start_workers(workers, db, store.data_dir, names, digests, lease_seconds, dask=dask)
    supervisor = _Supervisor(store, procs, restart, interval=max(1.0, min(5.0, lease_seconds / 4)))
    try:
        served = {}
        for name in names:
            served[name] = m = served_models.load_served(store.data_dir, name)
            m.infer(m.ids([1, 2]), 1 if m.kind == "chat" else None)  # load the kernels now
        supervisor.start()
        app = create_app(store, served, ServiceConfig(max_body=max_body, queue_limit=queue_limit),
                         signer)
        where = f"{workers} worker(s)" if dask is None else \
            f"{workers} dispatcher(s) to the Dask cluster at {dask}"
        say(f"serving {', '.join(names)} on http://{host}:{port} with {where}; database {db}")
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        supervisor.stopped.set()
        for p in list(supervisor.procs):
            p.terminate()
        for p in list(supervisor.procs):
            p.join(timeout=10)
