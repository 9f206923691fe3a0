"""A real ``zkinfer serve`` (tiny and tiny-decoder, 2 workers) over real HTTP: answers come at
once, their proofs complete and verify in the client against pinned digests, a key of another
model is refused, and the endpoints that spend compute need a key; bad requests get OpenAI-shaped
4xx errors, full queues and exceeded rates 429 with Retry-After."""

from __future__ import annotations

import base64
import time

import pytest

from tests.service.conftest import Server, http, new_key
from zkinfer.errors import InvalidArgumentError, VerificationError

pytestmark = pytest.mark.usefixtures("server_deps")


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_deps):
    db = tmp_path_factory.mktemp("serve") / "z.db"
    s = Server(db, workers=2, extra=["--queue-limit", "8"]).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def key(server) -> str:
    import contextlib
    import io

    from zkinfer.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["apikey", "create", "--db", str(server.db)]) == 0
    return out.getvalue().strip().splitlines()[-1]


@pytest.fixture(scope="module")
def digests(server) -> dict:
    return server.digests()


@pytest.fixture(scope="module")
def client(server, key, digests):
    from zkinfer.client import Client

    return Client(server.url, api_key=key, trusted_keys=digests, check_receipts=False)


@pytest.fixture(scope="module")
def answers(client):
    """An embedding request of a text and of ids, and a chat answer, all verified."""
    t0 = time.monotonic()
    embeddings = client.embed(["hello", [1, 2, 3]], model="tiny")
    chat = client.chat([{"role": "user", "content": "hi"}], model="tiny-decoder", max_tokens=5)
    answered = time.monotonic() - t0
    for r in (*embeddings, chat):
        assert r.wait_verified(timeout=240)
    return embeddings, chat, answered


def test_models_and_keys_are_public_and_match_their_digests(server, digests):
    from zkinfer.proof import VerifyingKey

    assert set(digests) == {"tiny", "tiny-decoder"}
    for digest in digests.values():
        status, _, data = http("GET", f"{server.url}/v1/keys/{digest}")
        assert status == 200 and VerifyingKey.from_bytes(data).digest.hex() == digest
    status, _, body = http("GET", f"{server.url}/v1/keys/{'ab' * 32}")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_answers_at_once_and_their_proofs_verify(answers, server):
    embeddings, chat, answered = answers
    assert answered < 10  # plain integer inference, not proving
    assert embeddings[0].input_ids == list(b"hello") and embeddings[1].input_ids == [1, 2, 3]
    assert all(len(e.embedding) == 64 and e.verified for e in embeddings)
    assert chat.input_ids == list(b"hi") and 1 <= len(chat.output_ids) <= 5 and chat.verified
    assert chat.finish_reason in ("stop", "length")
    status, _, job = http("GET", f"{server.url}/v1/proofs/{chat.proof_id}")
    assert status == 200 and job["status"] == "done" and job["percent"] == 100.0
    assert job["statement"] == {"input": chat.input_ids, "output": chat.output_ids,
                                "max_new_tokens": 5}
    assert base64.b64decode(job["proof"])[:4] == b"ZKPF"


def test_the_pinned_digest_rejects_a_key_of_another_model(answers, server, key, digests):
    from zkinfer.client import Client, ServiceError

    embedding = answers[0][0]
    wrong = Client(server.url, api_key=key, trusted_keys={"tiny": digests["tiny-decoder"]})
    with pytest.raises(VerificationError, match="another key than the pinned"):
        wrong._verify("tiny", embedding.proof_id, embedding.input_ids, embedding.embedding, None)
    # a server that answers the pinned digest with another key's bytes is caught by the hash
    liar = Client(server.url, trusted_keys={"tiny": digests["tiny"]})
    real = liar._request

    def swapped(method, path, body=None, auth=False, raw=False):
        if path.startswith("/v1/keys/"):
            path = "/v1/keys/" + digests["tiny-decoder"]
        return real(method, path, body, auth, raw)

    liar._request = swapped
    with pytest.raises(VerificationError, match="not the pinned one"):
        liar.verifying_key("tiny")
    unpinned = Client(server.url, api_key=key)
    with pytest.raises(InvalidArgumentError, match="no trusted key digest"):
        unpinned.verifying_key("tiny")
    unknown = Client(server.url, trusted_keys={"tiny": "cd" * 32})
    with pytest.raises(ServiceError) as exc:
        unknown.verifying_key("tiny")
    assert exc.value.status == 404


def test_a_statement_other_than_the_answer_is_rejected(answers, client):
    embedding = answers[0][0]
    other = list(embedding.embedding)
    other[0] += 1
    with pytest.raises(VerificationError, match="another output"):
        client._verify("tiny", embedding.proof_id, embedding.input_ids, other, None)


def test_the_verify_endpoint(answers, server):
    embedding = answers[0][0]
    _, _, job = http("GET", f"{server.url}/v1/proofs/{embedding.proof_id}")
    status, _, res = http("POST", server.url + "/v1/verify", {"proof": job["proof"]})
    assert status == 200 and res["valid"] and res["model"] == "tiny"
    bad_output = [v + 1 for v in embedding.embedding]
    status, _, res = http("POST", server.url + "/v1/verify",
                          {"proof": job["proof"], "output": bad_output})
    assert status == 200 and not res["valid"] and res["reason"]
    status, _, res = http("POST", server.url + "/v1/verify", {"proof": "bm90IGEgcHJvb2Y="})
    assert status == 400 and res["error"]["param"] == "proof"


def test_proofs_lists_the_callers_jobs_only(answers, client, server):
    mine = {j["id"] for j in client.proofs()}
    assert {e.proof_id for e in answers[0]} | {answers[1].proof_id} <= mine
    from zkinfer.client import Client

    other = Client(server.url, api_key=new_key(server.db))
    assert other.proofs() == []


@pytest.mark.parametrize("path, body", [
    ("/v1/embeddings", {"model": "tiny", "input": "x"}),
    ("/v1/chat/completions", {"model": "tiny-decoder", "messages": [{"role": "user",
                                                                     "content": "x"}]}),
])
def test_compute_needs_a_valid_key(server, path, body):
    for key in (None, "zk-not-a-key"):
        status, _, res = http("POST", server.url + path, body, key=key)
        assert status == 401 and res["error"]["code"] == "invalid_api_key"
    status, _, res = http("GET", server.url + "/v1/proofs")
    assert status == 401


def _error(status_and_body, status: int, code: str | None = None):
    got, _, body = status_and_body
    assert got == status, body
    assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def _declared_too_large(server, key):
    """A request declaring a 2 MiB body (the limit is 1 MiB): answered from the headers (a
    real 2 MiB upload may meet a closed connection before its response is read)."""
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("POST", "/v1/embeddings")
        conn.putheader("Authorization", f"Bearer {key}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(2 << 20))
        conn.endheaders()
        conn.send(b'{"model": "tiny", "input": "')
        resp = conn.getresponse()
        return resp.status, resp.headers, json.loads(resp.read())
    finally:
        conn.close()


def test_bad_requests_get_openai_shaped_4xx(server, key):
    url = server.url
    _error(http("POST", url + "/v1/embeddings", raw=b"{not json", key=key), 400, "invalid_json")
    _error(http("POST", url + "/v1/embeddings", raw=b"[1, 2]", key=key), 400, "invalid_json")
    _error(http("POST", url + "/v1/embeddings", {"model": "gpt-4", "input": "x"}, key=key), 404,
           "model_not_found")
    _error(http("POST", url + "/v1/embeddings", {"model": "tiny", "input": "x" * 33}, key=key),
           400, "context_length_exceeded")
    _error(http("POST", url + "/v1/embeddings", {"model": "tiny", "input": [300]}, key=key), 400,
           "invalid_value")
    e = _error(http("POST", url + "/v1/embeddings", {"model": "tiny", "input": []}, key=key), 400)
    assert e["param"] == "input"
    _error(http("POST", url + "/v1/embeddings", {"model": "tiny-decoder", "input": "x"}, key=key),
           400, "wrong_model_kind")
    chat = {"model": "tiny-decoder", "messages": [{"role": "user", "content": "x" * 60}],
            "max_tokens": 8}
    _error(http("POST", url + "/v1/chat/completions", chat, key=key), 400,
           "context_length_exceeded")
    _error(http("POST", url + "/v1/chat/completions", {**chat, "messages": "hi"}, key=key), 400)
    _error(http("POST", url + "/v1/chat/completions",
                {**chat, "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
                key=key), 400)
    _error(_declared_too_large(server, key), 413, "request_too_large")
    _error(http("GET", url + "/v1/proofs/proof_nope"), 404, "not_found")


def test_a_full_queue_answers_429_with_retry_after(server, key):
    small = new_key(server.db, max_queued=2)
    got = http("POST", server.url + "/v1/embeddings",
               {"model": "tiny", "input": ["a", "b", "c"]}, key=small)
    _error(got, 429, "queue_full")
    assert int(got[1]["Retry-After"]) >= 1
    from zkinfer.client import Client

    assert Client(server.url, api_key=small).proofs() == []  # nothing of it was accepted
    # the server's own limit (--queue-limit 8)
    got = http("POST", server.url + "/v1/embeddings", {"model": "tiny", "input": ["a"] * 9},
               key=key)
    _error(got, 429, "queue_full")
    assert "server" in got[2]["error"]["message"] and int(got[1]["Retry-After"]) >= 1


def test_the_request_rate_per_key_answers_429(server):
    slow = new_key(server.db, rpm=2)
    for _ in range(2):
        _error(http("POST", server.url + "/v1/embeddings", raw=b"{", key=slow), 400)
    got = http("POST", server.url + "/v1/embeddings", raw=b"{", key=slow)
    _error(got, 429, "rate_limit_exceeded")
    assert int(got[1]["Retry-After"]) >= 1


def test_answers_carry_signed_receipts(answers, server, key, digests):
    pytest.importorskip("py_ecc")
    from zkinfer.client import Client
    from zkinfer.service.receipts import SCHEME, check_public_key

    status, _, published = http("GET", server.url + "/v1/receipts/key")
    assert status == 200 and published["scheme"] == SCHEME
    check_public_key(published["public_key"], published["pop"])
    embeddings, chat, _ = answers
    for r in (*embeddings, chat):
        assert r.receipt["public_key"] == published["public_key"] and r.check_receipt()
    # another statement than the one signed
    embeddings[1].embedding[0] += 1
    try:
        with pytest.raises(VerificationError, match="does not cover"):
            embeddings[1].check_receipt()
    finally:
        embeddings[1].embedding[0] -= 1
    # a client that pinned another server key refuses the signature
    from py_ecc.bls import G2ProofOfPossession

    other = G2ProofOfPossession.SkToPk(12345).hex()
    pinned = Client(server.url, api_key=key, trusted_keys=digests, receipt_key=other,
                    check_receipts=False)
    import copy

    seen = copy.copy(chat)
    seen.client = pinned
    with pytest.raises(VerificationError, match="signature is invalid"):
        seen.check_receipt()
    # checked on arrival by default (py_ecc installed)
    auto = Client(server.url, api_key=key, trusted_keys=digests)
    answer = auto.chat([{"role": "user", "content": "r"}], model="tiny-decoder", max_tokens=1)
    assert answer.receipt is not None and auto._signatures
