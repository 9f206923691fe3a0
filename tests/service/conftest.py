"""A real ``zkinfer serve`` in a subprocess (its own process group, so a test can kill -9 the
server and its workers at once), and plain HTTP helpers (urllib, as the client)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Seconds a server may take to start (a first setup of both tiny models, kernels loaded).
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, key: str | None = None, raw: bytes | None = None,
         timeout: float = 60.0):
    """``(status, headers, parsed JSON or bytes)`` of one request."""
    headers = {}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, hdrs, payload = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        status, hdrs, payload = exc.code, exc.headers, exc.read()
    try:
        return status, hdrs, json.loads(payload)
    except ValueError:
        return status, hdrs, payload


class Server:
    """``zkinfer serve`` on a free localhost port over ``db``."""

    def __init__(self, db: Path, models=("tiny", "tiny-decoder"), workers: int = 1,
                 extra=(), start_timeout: float = START_TIMEOUT) -> None:
        self.db, self.models, self.workers, self.extra = Path(db), models, workers, list(extra)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.port = free_port()
        argv = [sys.executable, "-m", "zkinfer", "serve", "--db", str(self.db), "--port",
                str(self.port), "--workers", str(self.workers), *self.extra]
        for m in self.models:
            argv += ["--model", m]
        self.log = open(self.db.with_suffix(f".{self.port}.log"), "wb")
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited ({self.proc.returncode}):\n"
                                     + self.log_text())
            try:
                status, _, _ = http("GET", self.url + "/v1/models", timeout=5)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.kill()
        raise AssertionError("the server did not start in time:\n" + self.log_text())

    def digests(self) -> dict[str, str]:
        """``model -> key digest hex`` as ``GET /v1/models`` lists them."""
        status, _, body = http("GET", self.url + "/v1/models")
        assert status == 200, body
        return {m["id"]: m["key_digest"] for m in body["data"]}

    def log_text(self) -> str:
        self.log.flush()
        return self.db.with_suffix(f".{self.port}.log").read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """kill -9 the server and every process of its group (its workers)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM (a graceful stop), then kill -9 whatever is left of the group."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


def new_key(db: Path, **limits) -> str:
    from zkinfer.service.store import Store

    return Store(db).create_api_key(limits or None)[1]


@pytest.fixture(scope="session")
def server_deps():
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
