"""The official ``openai`` Python client against a real ``zkinfer serve``: embeddings and chat
completions parse as OpenAI responses, and the proofs they carry verify with
:meth:`zkinfer.client.Client.verify_proof` against pinned digests."""

from __future__ import annotations

import time

import pytest

from tests.service.conftest import Server, new_key

pytestmark = pytest.mark.usefixtures("server_deps")


def _done(client, proof_id: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while client.proof(proof_id)["status"] != "done":
        assert time.monotonic() < deadline, client.proof(proof_id)
        time.sleep(0.5)


def test_the_openai_client_gets_answers_whose_proofs_verify(tmp_path):
    openai = pytest.importorskip("openai")
    from zkinfer.client import Client

    db = tmp_path / "z.db"
    server = Server(db, workers=1).start()
    try:
        key = new_key(db)
        digests = server.digests()
        oa = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
        ours = Client(server.url, api_key=key, trusted_keys=digests, check_receipts=False)

        emb = oa.embeddings.create(model="tiny", input="hello")
        item = emb.data[0]
        assert emb.object == "list" and item.object == "embedding" and item.index == 0
        assert len(item.embedding) == 64 and emb.model == "tiny"
        proof = item.model_extra["proof"]
        _done(ours, proof["id"])
        assert ours.verify_proof("tiny", proof["id"], item.model_extra["input_ids"],
                                 [int(v) for v in item.embedding])

        chat = oa.chat.completions.create(model="tiny-decoder", max_tokens=4,
                                          messages=[{"role": "user", "content": "hi"}])
        choice = chat.choices[0]
        assert choice.message.role == "assistant" and choice.finish_reason in ("stop", "length")
        extra = choice.model_extra
        _done(ours, extra["proof"]["id"])
        assert ours.verify_proof("tiny-decoder", extra["proof"]["id"],
                                 chat.model_extra["input_ids"], extra["output_ids"], 4)
        # stream: true gives the same answer as chunks; the last one carries the proof
        chunks = list(oa.chat.completions.create(
            model="tiny-decoder", max_tokens=4, stream=True,
            messages=[{"role": "user", "content": "hi"}]))
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == choice.message.content
        last = chunks[-1].choices[0]
        assert last.finish_reason == choice.finish_reason
        assert last.model_extra["output_ids"] == extra["output_ids"]
        streamed = last.model_extra["proof"]["id"]
        assert streamed != extra["proof"]["id"]  # a job of its own
        _done(ours, streamed)
        assert ours.verify_proof("tiny-decoder", streamed, chunks[-1].model_extra["input_ids"],
                                 last.model_extra["output_ids"], 4)
        # an answer other than the one returned is refused
        from zkinfer.errors import VerificationError

        with pytest.raises(VerificationError, match="another output"):
            ours.verify_proof("tiny-decoder", extra["proof"]["id"], chat.model_extra["input_ids"],
                              [(t + 1) % 300 for t in extra["output_ids"]], 4)
        # errors arrive as the client's typed exceptions (OpenAI's error shape)
        with pytest.raises(openai.NotFoundError):
            oa.embeddings.create(model="no-such-model", input="x")
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=server.url + "/v1", api_key="zk-wrong",
                          max_retries=0).embeddings.create(model="tiny", input="x")
    finally:
        server.stop()


def test_streamed_text_pieces_concatenate_to_the_answer():
    from zkinfer.service.app import _text_pieces

    def decode(ids):
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")

    ids = list("héllo wörld ✓".encode())  # multi-byte characters split across tokens
    pieces = _text_pieces(decode, ids)
    assert "".join(pieces) == decode(ids) and all("\ufffd" not in p for p in pieces)
    assert len(pieces) == len("héllo wörld ✓")  # one piece per character here
    # a final incomplete character is sent as the decoder renders it
    assert "".join(_text_pieces(decode, ids[:-1])) == decode(ids[:-1])
    assert _text_pieces(decode, []) == []
