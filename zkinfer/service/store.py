"""The service's durable state: jobs and API keys in SQLite (WAL), proofs on disk.

Semantics:

- **Accepted means stored.** :meth:`Store.submit` inserts every job of a request in one
  transaction (``BEGIN IMMEDIATE``) after checking the queue limits inside the same
  transaction, so two requests cannot both pass a limit that only one fits; the server answers
  only after that transaction has committed (``synchronous=FULL``: a committed job survives a
  kill -9 of any process, and a power loss).
- **A lease per proving job.** :meth:`Store.claim` moves the oldest ``queued`` job to
  ``proving`` and gives it a lease (an owner string and an expiry) in one transaction; the
  owner keeps it alive with :meth:`Store.heartbeat` / :meth:`Store.progress`.
  :meth:`Store.complete` and :meth:`Store.fail` change a job only while the caller still holds
  its lease (``status = 'proving' AND lease_owner = ?``), in one transaction that also records
  an ``events`` row, so a job is completed at most once: a worker whose lease was taken away
  (expired, or its process declared gone) cannot complete the job after another worker claimed
  it. Every completion writes one ``done`` event; tests count them.
- **Giving a job back.** :meth:`Store.release` puts a job its lease holder could not finish
  through no fault of the job (the Dask cluster was lost) back to ``queued`` with the cause in
  its ``stage``, in one transaction; after :data:`MAX_ATTEMPTS` claims it fails with the cause.
- **Recovery.** :meth:`Store.recover` puts ``proving`` jobs back to ``queued`` when their lease
  expired or their owner process is gone (owner strings are ``host:pid:tag``; a pid on this host
  that no longer exists is gone); the server runs it at start-up and periodically. A job
  claimed :data:`MAX_ATTEMPTS` times without completing fails instead (a job that kills its
  worker must not kill every worker in turn).
- **Proofs are content-addressed**: ``<data_dir>/proofs/<sha256>.zkp``, written to a temporary
  file in the same directory, flushed and renamed (atomic on POSIX), before the job that names
  it is completed; the same bytes twice are one file.
- **API keys are stored hashed** (SHA-256 of the secret; secrets have 256 random bits, so a
  plain hash is enough), with per-key limits as JSON.

Soundness: nothing here is trusted by a verifier; the store only decides which proofs get made
and keeps them. The database is opened by the server and its workers only.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from zkinfer.errors import InvalidArgumentError, ZkinferError

__all__ = [
    "Store",
    "Job",
    "ApiKey",
    "QueueFull",
    "DEFAULT_LIMITS",
    "MAX_ATTEMPTS",
    "STATUSES",
    "KINDS",
    "owner_id",
    "public_ref",
    "data_dir_for",
]

STATUSES = ("queued", "proving", "done", "failed")
KINDS = ("embedding", "chat")
#: A job claimed this many times without completing fails (its worker died each time).
MAX_ATTEMPTS = 3
#: Per-key limits when a key is created without its own: at most ``max_queued`` jobs queued or
#: proving at once, at most ``rpm`` requests per minute.
DEFAULT_LIMITS = {"max_queued": 64, "rpm": 600}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    key_sha256 TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    limits TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    api_key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('embedding', 'chat')),
    statement TEXT NOT NULL,
    key_digest TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'proving', 'done', 'failed')),
    stage TEXT,
    percent REAL NOT NULL DEFAULT 0,
    reason TEXT,
    proof_sha256 TEXT,
    lease_owner TEXT,
    lease_expiry REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (api_key_id, status);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    event TEXT NOT NULL,
    owner TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id);
"""


class QueueFull(ZkinferError):
    """A queue limit (the key's or the server's) leaves no room for the request.

    Attributes:
        retry_after: seconds after which a retry may fit (an estimate).
        scope: ``"key"`` or ``"server"``.
    """

    def __init__(self, message: str, retry_after: int, scope: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope


@dataclass(frozen=True)
class ApiKey:
    """A stored API key: its public id and its limits (the secret is never stored)."""

    id: str
    limits: dict
    created: float


@dataclass(frozen=True)
class Job:
    """One proof job (a row of ``jobs``).

    ``statement`` is the public statement the proof must state: ``{"input": [...ids],
    "output": [...ints], "max_new_tokens": N or None}``.
    """

    id: str
    api_key_id: str
    model: str
    kind: str
    statement: dict
    key_digest: str
    status: str
    stage: str | None
    percent: float
    reason: str | None
    proof_sha256: str | None
    lease_owner: str | None
    lease_expiry: float | None
    attempts: int
    created: float
    updated: float
    finished: float | None


_JOB_COLUMNS = ("id, api_key_id, model, kind, statement, key_digest, status, stage, percent, "
                "reason, proof_sha256, lease_owner, lease_expiry, attempts, created, updated, "
                "finished")


def _job(row) -> Job:
    values = list(row)
    values[4] = json.loads(values[4])
    return Job(*values)


def owner_id(tag: str = "") -> str:
    """The lease owner string of this process: ``host:pid:tag``."""
    return f"{socket.gethostname()}:{os.getpid()}:{tag}"


def _owner_gone(owner: str | None) -> bool:
    """Whether the process named by a lease owner string is known to be gone (only a process on
    this host can be checked; others are left to the lease's expiry)."""
    if not owner:
        return True
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, another user's
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def public_ref(job_id: str) -> str:
    """A job's public reference: the first 16 hex digits of the SHA-256 of its id. The id is a
    capability (``GET /v1/proofs/{id}`` shows the job's input and output to whoever holds it);
    the reference names the job in public lists without granting that, and its owner, who
    knows the id, can recognise it."""
    return hashlib.sha256(str(job_id).encode()).hexdigest()[:16]


def data_dir_for(db: str | os.PathLike) -> Path:
    """The directory beside the database that holds proofs and cached keys: ``<db>.data``."""
    return Path(str(db) + ".data")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Store:
    """The job store of one database file (thread-safe: one connection per thread).

    Arguments:
        path: the SQLite file (created if missing, with its schema).
        data_dir: where proofs live (default :func:`data_dir_for` ``(path)``).
        lease_seconds: how long a claim or heartbeat keeps a job's lease.

    Raises:
        InvalidArgumentError: a non-positive ``lease_seconds``.
        sqlite3.Error: the file is not a database or cannot be opened.
    """

    def __init__(self, path: str | os.PathLike, data_dir: str | os.PathLike | None = None,
                 lease_seconds: float = 60.0) -> None:
        if not lease_seconds > 0:
            raise InvalidArgumentError(f"lease_seconds must be positive, got {lease_seconds!r}")
        self.path = Path(path)
        self.data_dir = Path(data_dir) if data_dir is not None else data_dir_for(path)
        self.lease_seconds = float(lease_seconds)
        self._local = threading.local()
        (self.data_dir / "proofs").mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.executescript(_SCHEMA)

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    def _write(self):
        """A ``BEGIN IMMEDIATE`` transaction (the write lock first: no lost updates)."""
        return _Transaction(self._conn())

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- API keys ----------------------------------------------------------------------------

    def create_api_key(self, limits: dict | None = None) -> tuple[str, str]:
        """Create a key; returns ``(key id, secret)``. Only the secret's SHA-256 is stored.

        Arguments:
            limits: ``{"max_queued": int, "rpm": int}`` (missing entries: :data:`DEFAULT_LIMITS`).

        Raises:
            InvalidArgumentError: an unknown limit or a value that is not a positive int.
        """
        merged = dict(DEFAULT_LIMITS)
        for name, value in (limits or {}).items():
            if name not in DEFAULT_LIMITS:
                raise InvalidArgumentError(f"unknown API key limit {name!r}; the limits are "
                                           f"{', '.join(DEFAULT_LIMITS)}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"limit {name} must be a positive int, got {value!r}")
            merged[name] = value
        key_id = "key_" + secrets.token_hex(8)
        secret = "zk-" + secrets.token_urlsafe(32)
        with self._write() as c:
            c.execute("INSERT INTO api_keys (id, key_sha256, created, limits) VALUES (?, ?, ?, ?)",
                      (key_id, _sha256_hex(secret.encode()), time.time(), json.dumps(merged)))
        return key_id, secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The key whose secret is ``secret``, or ``None``."""
        if not isinstance(secret, str) or not secret:
            return None
        row = self._conn().execute("SELECT id, limits, created FROM api_keys WHERE key_sha256 = ?",
                                   (_sha256_hex(secret.encode()),)).fetchone()
        if row is None:
            return None
        return ApiKey(row[0], {**DEFAULT_LIMITS, **json.loads(row[1])}, row[2])

    # -- submitting and reading jobs ---------------------------------------------------------

    def submit(self, api_key: ApiKey, items: list[dict], server_limit: int) -> list[str]:
        """Insert the jobs of one request atomically, within the queue limits.

        Arguments:
            api_key: the requesting key (its ``max_queued`` limit applies).
            items: per job ``{"model", "kind", "statement", "key_digest"}``.
            server_limit: at most this many jobs queued or proving on the whole server.

        Returns:
            The new job ids, in order.

        Raises:
            QueueFull: the key's or the server's queue has no room for all the items (nothing
                is inserted).
            InvalidArgumentError: an item with an unknown kind or a statement that is not JSON.
        """
        rows = []
        now = time.time()
        for item in items:
            if item.get("kind") not in KINDS:
                raise InvalidArgumentError(f"job kind must be one of {KINDS}, got {item.get('kind')!r}")
            try:
                statement = json.dumps(item["statement"], separators=(",", ":"))
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"a job statement must be JSON: {exc}") from None
            rows.append(("proof_" + secrets.token_hex(12), api_key.id, str(item["model"]),
                         item["kind"], statement, str(item["key_digest"]), now, now))
        with self._write() as c:
            mine = c.execute("SELECT COUNT(*) FROM jobs WHERE api_key_id = ? AND status IN "
                             "('queued', 'proving')", (api_key.id,)).fetchone()[0]
            total = c.execute("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'proving')"
                              ).fetchone()[0]
            key_limit = int(api_key.limits.get("max_queued", DEFAULT_LIMITS["max_queued"]))
            if mine + len(rows) > key_limit:
                raise QueueFull(f"this API key has {mine} proofs queued or running and may have "
                                f"{key_limit}; this request adds {len(rows)}",
                                self._retry_after(c), "key")
            if total + len(rows) > server_limit:
                raise QueueFull(f"the server's proof queue is full ({total} of {server_limit})",
                                self._retry_after(c), "server")
            c.executemany("INSERT INTO jobs (id, api_key_id, model, kind, statement, key_digest, "
                          "status, created, updated) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                          rows)
            c.executemany("INSERT INTO events (job_id, event, owner, at) VALUES (?, 'queued', "
                          "NULL, ?)", [(r[0], now) for r in rows])
        return [r[0] for r in rows]

    @staticmethod
    def _retry_after(c: sqlite3.Connection) -> int:
        """Seconds to wait before retrying: the mean duration of recent proofs (at least 1)."""
        row = c.execute("SELECT AVG(finished - created) FROM (SELECT finished, created FROM jobs "
                        "WHERE status = 'done' ORDER BY seq DESC LIMIT 20)").fetchone()
        return max(1, min(3600, int(round(row[0] or 10.0))))

    def get(self, job_id: str) -> Job | None:
        """The job ``job_id``, or ``None``."""
        row = self._conn().execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?",
                                   (job_id,)).fetchone()
        return None if row is None else _job(row)

    def jobs(self, api_key_id: str | None = None, limit: int = 100) -> list[Job]:
        """The newest jobs first (of one key if given), at most ``limit``."""
        limit = max(1, min(int(limit), 1000))
        if api_key_id is None:
            rows = self._conn().execute(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY seq DESC "
                                        "LIMIT ?", (limit,)).fetchall()
        else:
            rows = self._conn().execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE api_key_id = ? "
                                        "ORDER BY seq DESC LIMIT ?", (api_key_id, limit)).fetchall()
        return [_job(r) for r in rows]

    def recent(self, limit: int = 50) -> list[dict]:
        """The newest jobs first, at most ``limit`` (1..200), with only what may be shown to
        anyone: ``ref`` (:func:`public_ref` of the id, not the id), model, kind, status, stage,
        percent, created and finished. Never the id (it fetches the statement), the statement,
        the failure reason (it may quote an input) or the API key."""
        limit = max(1, min(int(limit), 200))
        rows = self._conn().execute("SELECT id, model, kind, status, stage, percent, created, "
                                    "finished FROM jobs ORDER BY seq DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [{"ref": public_ref(r[0]), "model": r[1], "kind": r[2], "status": r[3],
                 # a requeued job's stage names the cause (it may name the cluster): not public
                 "stage": "requeued" if (r[4] or "").startswith("requeued") else r[4],
                 "percent": round(float(r[5]), 1), "created": r[6], "finished": r[7]}
                for r in rows]

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        rows = self._conn().execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {s: 0 for s in STATUSES} | dict(rows)

    def events(self, job_id: str) -> list[tuple[str, str | None, float]]:
        """``(event, owner, time)`` of a job, oldest first."""
        return self._conn().execute("SELECT event, owner, at FROM events WHERE job_id = ? "
                                    "ORDER BY seq", (job_id,)).fetchall()

    # -- the worker's side -------------------------------------------------------------------

    def claim(self, owner: str, models: list[str]) -> Job | None:
        """Lease the oldest queued job of one of ``models`` to ``owner`` (one transaction), or
        return ``None`` when there is none."""
        if not models:
            return None
        marks = ",".join("?" * len(models))
        now = time.time()
        with self._write() as c:
            row = c.execute(f"SELECT id FROM jobs WHERE status = 'queued' AND model IN ({marks}) "
                            "ORDER BY seq LIMIT 1", list(models)).fetchone()
            if row is None:
                return None
            c.execute("UPDATE jobs SET status = 'proving', lease_owner = ?, lease_expiry = ?, "
                      "attempts = attempts + 1, stage = 'claimed', percent = 0, updated = ? "
                      "WHERE id = ?", (owner, now + self.lease_seconds, now, row[0]))
            c.execute("INSERT INTO events (job_id, event, owner, at) VALUES (?, 'claimed', ?, ?)",
                      (row[0], owner, now))
            job = c.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (row[0],)).fetchone()
        return _job(job)

    def heartbeat(self, job_id: str, owner: str) -> bool:
        """Extend the lease; ``False`` if ``owner`` no longer holds it."""
        now = time.time()
        with self._write() as c:
            cur = c.execute("UPDATE jobs SET lease_expiry = ? WHERE id = ? AND status = 'proving' "
                            "AND lease_owner = ?", (now + self.lease_seconds, job_id, owner))
            return cur.rowcount == 1

    def progress(self, job_id: str, owner: str, stage: str, percent: float) -> bool:
        """Record the stage and percent (and extend the lease); ``False`` if ``owner`` no
        longer holds the lease."""
        now = time.time()
        percent = max(0.0, min(100.0, float(percent)))
        with self._write() as c:
            cur = c.execute("UPDATE jobs SET stage = ?, percent = MAX(percent, ?), "
                            "lease_expiry = ?, updated = ? WHERE id = ? AND status = 'proving' "
                            "AND lease_owner = ?", (str(stage)[:200], percent,
                                                    now + self.lease_seconds, now, job_id, owner))
            return cur.rowcount == 1

    def complete(self, job_id: str, owner: str, proof_sha256: str) -> bool:
        """Mark the job done with its proof (already stored by :meth:`put_proof`), only if
        ``owner`` holds its lease; ``False`` otherwise (nothing changes)."""
        if not (self.data_dir / "proofs" / f"{proof_sha256}.zkp").is_file():
            raise InvalidArgumentError(f"complete(): no stored proof {proof_sha256[:16]}...")
        now = time.time()
        with self._write() as c:
            cur = c.execute("UPDATE jobs SET status = 'done', proof_sha256 = ?, stage = 'done', "
                            "percent = 100, lease_owner = NULL, lease_expiry = NULL, "
                            "updated = ?, finished = ? WHERE id = ? AND status = 'proving' AND "
                            "lease_owner = ?", (proof_sha256, now, now, job_id, owner))
            if cur.rowcount != 1:
                return False
            c.execute("INSERT INTO events (job_id, event, owner, at) VALUES (?, 'done', ?, ?)",
                      (job_id, owner, now))
            return True

    def fail(self, job_id: str, owner: str, reason: str) -> bool:
        """Mark the job failed with ``reason``, only if ``owner`` holds its lease."""
        now = time.time()
        with self._write() as c:
            cur = c.execute("UPDATE jobs SET status = 'failed', reason = ?, lease_owner = NULL, "
                            "lease_expiry = NULL, updated = ?, finished = ? WHERE id = ? AND "
                            "status = 'proving' AND lease_owner = ?",
                            (str(reason)[:1000], now, now, job_id, owner))
            if cur.rowcount != 1:
                return False
            c.execute("INSERT INTO events (job_id, event, owner, at) VALUES (?, 'failed', ?, ?)",
                      (job_id, owner, now))
            return True

    def release(self, job_id: str, owner: str, reason: str) -> str | None:
        """Give a job back because its prover could not finish it through no fault of the job
        (the Dask cluster was lost): ``queued`` again, ``stage`` saying why (``"requeued:
        <reason>"``), or ``failed`` with the reason once it was claimed :data:`MAX_ATTEMPTS`
        times. Only while ``owner`` holds the lease.

        Returns:
            ``"queued"``, ``"failed"``, or ``None`` if ``owner`` no longer held the lease
            (nothing changes).
        """
        now = time.time()
        reason = str(reason)[:900]
        with self._write() as c:
            row = c.execute("SELECT attempts FROM jobs WHERE id = ? AND status = 'proving' AND "
                            "lease_owner = ?", (job_id, owner)).fetchone()
            if row is None:
                return None
            if row[0] >= MAX_ATTEMPTS:
                c.execute("UPDATE jobs SET status = 'failed', reason = ?, lease_owner = NULL, "
                          "lease_expiry = NULL, updated = ?, finished = ? WHERE id = ?",
                          (f"its prover stopped {row[0]} times without finishing; the last "
                           f"time: {reason}", now, now, job_id))
                c.execute("INSERT INTO events (job_id, event, owner, at) VALUES (?, 'failed', "
                          "?, ?)", (job_id, owner, now))
                return "failed"
            c.execute("UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expiry = NULL, "
                      "stage = ?, percent = 0, updated = ? WHERE id = ?",
                      (("requeued: " + reason)[:200], now, job_id))
            c.execute("INSERT INTO events (job_id, event, owner, at) VALUES (?, 'requeued', ?, ?)",
                      (job_id, owner, now))
            return "queued"

    def recover(self) -> list[str]:
        """Put back to ``queued`` every ``proving`` job whose lease expired or whose owner
        process is gone (a job already claimed :data:`MAX_ATTEMPTS` times fails instead).

        Returns:
            The ids of the jobs changed.
        """
        now = time.time()
        changed = []
        with self._write() as c:
            rows = c.execute("SELECT id, lease_owner, lease_expiry, attempts FROM jobs WHERE "
                             "status = 'proving'").fetchall()
            for job_id, owner, expiry, attempts in rows:
                if not ((expiry is not None and expiry < now) or _owner_gone(owner)):
                    continue
                if attempts >= MAX_ATTEMPTS:
                    c.execute("UPDATE jobs SET status = 'failed', reason = ?, lease_owner = NULL, "
                              "lease_expiry = NULL, updated = ?, finished = ? WHERE id = ?",
                              (f"its prover stopped {attempts} times without finishing", now,
                               now, job_id))
                    c.execute("INSERT INTO events (job_id, event, owner, at) VALUES (?, 'failed', "
                              "NULL, ?)", (job_id, now))
                else:
                    c.execute("UPDATE jobs SET status = 'queued', lease_owner = NULL, "
                              "lease_expiry = NULL, stage = NULL, percent = 0, updated = ? "
                              "WHERE id = ?", (now, job_id))
                    c.execute("INSERT INTO events (job_id, event, owner, at) VALUES (?, "
                              "'requeued', ?, ?)", (job_id, owner, now))
                changed.append(job_id)
        return changed

    # -- proofs on disk ----------------------------------------------------------------------

    def proof_path(self, sha256: str) -> Path:
        """Where the proof with this SHA-256 (lower-case hex) lives.

        Raises:
            InvalidArgumentError: not 64 lower-case hex digits.
        """
        if not (isinstance(sha256, str) and len(sha256) == 64
                and all(ch in "0123456789abcdef" for ch in sha256)):
            raise InvalidArgumentError("a proof address is 64 lower-case hex digits")
        return self.data_dir / "proofs" / f"{sha256}.zkp"

    def put_proof(self, data: bytes) -> str:
        """Store proof bytes content-addressed (temporary file, fsync, rename); returns the
        SHA-256 hex."""
        sha = _sha256_hex(data)
        path = self.proof_path(sha)
        if path.is_file() and path.stat().st_size == len(data):
            return sha
        tmp = path.with_name(f".{sha}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return sha

    def read_proof(self, sha256: str) -> bytes:
        """The stored proof's bytes, checked against their address.

        Raises:
            InvalidArgumentError: a bad address.
            FileNotFoundError: no such proof.
            ZkinferError: the file does not hash to its address (corrupted on disk).
        """
        data = self.proof_path(sha256).read_bytes()
        if _sha256_hex(data) != sha256:
            raise ZkinferError(f"stored proof {sha256[:16]}... is corrupted")
        return data


class _Transaction:
    """``with _Transaction(conn) as c:`` runs ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK``
    on an exception)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
