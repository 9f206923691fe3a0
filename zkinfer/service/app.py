"""The HTTP API: an OpenAI-compatible Starlette app whose answers come with proofs.

=====================================  ========  ==============================================
endpoint                               auth      what it does
=====================================  ========  ==============================================
``POST /v1/embeddings``                API key   OpenAI request shape (``model``, ``input``:
                                                 text, texts, ids or lists of ids); answers at
                                                 once with the integer embeddings, one proof
                                                 job per input (``"proof": {id, status, url}``)
``POST /v1/chat/completions``          API key   OpenAI shape (``model``, ``messages``,
                                                 ``max_tokens``); the greedy answer at once, a
                                                 proof job for it
``GET /v1/proofs``                     API key   the caller's jobs, newest first
``GET /v1/proofs/{id}``                public    status (queued; proving with stage and
                                                 percent; done; failed with a reason), the
                                                 statement, and when done the proof (base64)
``GET /v1/models``                     public    served models with their key digests
``GET /v1/keys/{digest}``              public    a served verifying key's bytes
``POST /v1/verify``                    public    verify an uploaded proof (base64) against a
                                                 served key (``input``, ``output``,
                                                 ``max_new_tokens``: the claimed statement,
                                                 default the proof's own)
``GET /v1/receipts/key``               public    the BLS public key that signs receipts
``GET /v1/jobs/recent``                public    the newest jobs (``?limit=``, at most 200):
                                                 public reference, model, kind, status, stage,
                                                 percent, created, finished; nothing else
``GET /``                              public    the web page (``zkinfer/service/web``): recent
                                                 jobs, live, and a proof verifier
=====================================  ========  ==============================================

What is public about other users' jobs (``/v1/jobs/recent`` and the page): that a job exists,
its model, kind, status, progress and times. Not its id: a proof id is a capability
(``/v1/proofs/{id}`` shows the input and the output to whoever holds it, the way an unlisted
link does), so a job is listed by its ``ref``, the first 16 hex digits of the SHA-256 of its id
(:func:`~zkinfer.service.store.public_ref`; ``/v1/proofs/{id}`` gives it too, so an owner can
find their job); not its statement, not a failure's reason (it may quote an input), not its API
key. Anyone can still see how busy the server is and which models are used when.

The page is a static file (no template: nothing from the server or the user is interpolated
into HTML); its script inserts every value as text (``textContent``), and it is served with a
``Content-Security-Policy`` that allows only this origin's script, style and requests
(``default-src 'none'``: no inline script, no other origin, no framing).

Receipts: with a signer (:mod:`zkinfer.service.receipts`, py_ecc), each inference response
carries ``"receipt": {"scheme", "public_key", "pop", "signature", "statement_digests", "batch",
"batch_index"}``: a BLS signature over the statements (key digest, proof id, input, output,
``max_new_tokens``) of all its items, made after the jobs are stored and before the response
is sent; responses waiting at the same moment share one signature (a batch).

Semantics: an answer is returned only after its jobs are committed to the store
(:meth:`~zkinfer.service.store.Store.submit`), so every answer a client received will be
proven, even if the server is killed right after. Inference (milliseconds for the tiny models)
and verification run in Starlette's thread pool, never on the event loop; proving runs in the
worker processes only. Errors follow OpenAI's shape ``{"error": {"message", "type", "param",
"code"}}``: 400 for malformed JSON and bad values, 400 ``context_length_exceeded`` for an input
longer than the model reads, 401 without a valid key, 404 ``model_not_found``, 413 for a body
over the size limit, 429 with ``Retry-After`` when the key's or the server's queue is full or
the key's request rate is exceeded.

Soundness: nothing the server says is to be trusted by itself; a client verifies each proof
against a key digest it pinned (:mod:`zkinfer.client`). ``/v1/verify`` is a convenience for
clients without Python and is only as trustworthy as the server.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import threading
import time
from dataclasses import dataclass

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from zkinfer.errors import InvalidArgumentError, ModelError, ProofFormatError, VerificationError
from zkinfer.service.store import QueueFull, Store, public_ref

__all__ = ["create_app", "ServiceConfig"]


@dataclass
class ServiceConfig:
    """Limits of the HTTP layer.

    Attributes:
        max_body: largest request body of the inference endpoints (bytes).
        max_verify_body: largest body of ``/v1/verify`` (a base64 proof).
        max_inputs: most inputs in one embeddings request.
        queue_limit: most jobs queued or proving on the whole server.
        max_verifications: verifications running at once (the others wait).
    """

    max_body: int = 1 << 20
    max_verify_body: int = 64 << 20
    max_inputs: int = 64
    queue_limit: int = 1024
    max_verifications: int = 2


class ApiError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers



def _encoded(vector, fmt: str | None):
    """An integer embedding as OpenAI encodes it: a list (``float``), or the base64 of its
    little-endian float32 values (``base64``, what the official client asks for), exact for
    the integer vectors the models return (``|v| <= 2^24``, checked).

    Raises:
        ApiError: a value float32 cannot hold exactly (400: ask for ``float``).
    """
    import base64

    import numpy as np

    values = np.asarray(vector, dtype=np.int64).reshape(-1)
    if fmt != "base64":
        return values.tolist()
    if values.size and int(np.abs(values).max()) > 1 << 24:
        raise ApiError(400, "the embedding has integers float32 cannot hold exactly; ask for "
                            "encoding_format 'float'", param="encoding_format")
    return base64.b64encode(values.astype("<f4").tobytes()).decode("ascii")

#: The web page's files (``zkinfer/service/web``) and their media types.
_WEB_FILES = {"index.html": "text/html; charset=utf-8",
              "app.js": "text/javascript; charset=utf-8",
              "style.css": "text/css; charset=utf-8",
              "favicon.svg": "image/svg+xml"}
#: The page's policy: this origin's script, style and requests only; no inline script, no
#: plugins, no framing, no form posts, no base rewriting.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
                 "Cache-Control": "no-cache"}


def _web_files() -> dict[str, bytes]:
    """The page's files, read once from the package.

    Raises:
        ZkinferError: a file is missing from the installed package.
    """
    from importlib import resources

    from zkinfer.errors import ZkinferError

    root = resources.files("zkinfer.service") / "web"
    out = {}
    for name in _WEB_FILES:
        try:
            out[name] = (root / name).read_bytes()
        except OSError as exc:
            raise ZkinferError(f"the service's web page file {name} is missing from the "
                               f"package: {exc}") from None
    return out


def _error_response(e: ApiError) -> JSONResponse:
    return JSONResponse({"error": {"message": e.message, "type": e.type, "param": e.param,
                                   "code": e.code}}, status_code=e.status, headers=e.headers)


async def _body_json(request: Request, limit: int) -> dict:
    """The request's JSON object, at most ``limit`` bytes.

    Raises:
        ApiError: 413 over the limit, 400 malformed JSON or not an object.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the request body exceeds {limit} bytes", code="request_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the request body exceeds {limit} bytes", code="request_too_large")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "We could not parse the JSON body of your request: it is not valid "
                            "JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalid_json")
    return body


class _RateLimiter:
    """Requests per minute per API key (a sliding window in memory)."""

    def __init__(self) -> None:
        self.windows: dict[str, collections.deque] = {}
        self.lock = threading.Lock()

    def check(self, key_id: str, rpm: int) -> None:
        now = time.monotonic()
        with self.lock:
            window = self.windows.setdefault(key_id, collections.deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= rpm:
                retry = max(1, int(window[0] + 60.0 - now) + 1)
                raise ApiError(429, f"rate limit reached: {rpm} requests per minute for this key",
                               type="rate_limit_error", code="rate_limit_exceeded",
                               headers={"Retry-After": str(retry)})
            window.append(now)


class _Batcher:
    """Signs the responses waiting at the same moment with one signature: while one signature
    is made (in the thread pool), new responses queue; the next signature covers all of them
    (at most :data:`~zkinfer.service.receipts.MAX_BATCH`)."""

    def __init__(self, signer) -> None:
        self.signer = signer
        self.pending: list = []
        self.task: asyncio.Task | None = None

    async def sign(self, digest: bytes):
        """``(signature hex, the batch's response digests, this response's index)``."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((digest, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        from zkinfer.service.receipts import MAX_BATCH

        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            digests = [d for d, _ in batch]
            try:
                signature = await run_in_threadpool(self.signer.sign, digests)
            except Exception as exc:  # pragma: no cover - a bug: fail the waiting requests
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for i, (_, future) in enumerate(batch):
                if not future.done():
                    future.set_result((signature, digests, i))



def _text_pieces(decode, ids) -> list[str]:
    """The answer's text in pieces, one per token where the decoded prefix grows cleanly (a
    token that ends inside a multi-byte character waits for the next): the pieces concatenate
    to ``decode(ids)``."""
    pieces, prev = [], ""
    for k in range(1, len(ids) + 1):
        text = decode(ids[:k])
        if text.startswith(prev) and not text.endswith("\ufffd"):
            if len(text) > len(prev):
                pieces.append(text[len(prev):])
            prev = text
    full = decode(ids)
    if full != prev:  # what the clean prefixes left out (or a final replacement character)
        if full.startswith(prev):
            pieces.append(full[len(prev):])
        else:  # pragma: no cover - decoding is prefix-stable for the served tokenizers
            pieces = [full]
    return pieces


def _chat_chunks(head: dict, tail: dict, decode, shown, finish: str, ref: dict, output_ids):
    """``stream: true``: OpenAI's ``chat.completion.chunk`` server-sent events: the role, the
    text piece by piece, then the finish reason with the proof, the ids, the usage and the
    receipt, then ``[DONE]``. The answer is generated and its proof job stored before the
    first event: the job must be accepted before any of the answer leaves the server, and the
    receipt signs the whole statement."""
    def event(choice: dict, extra: dict | None = None) -> str:
        chunk = {**head, "object": "chat.completion.chunk", "choices": [choice], **(extra or {})}
        return "data: " + json.dumps(chunk) + "\n\n"

    yield event({"index": 0, "delta": {"role": "assistant", "content": ""},
                 "finish_reason": None})
    for piece in _text_pieces(decode, np.asarray(shown)):
        yield event({"index": 0, "delta": {"content": piece}, "finish_reason": None})
    yield event({"index": 0, "delta": {}, "finish_reason": finish, "proof": ref,
                 "output_ids": output_ids}, tail)
    yield "data: [DONE]\n\n"

def create_app(store: Store, served: dict, config: ServiceConfig | None = None,
               signer=None) -> Starlette:
    """The ASGI app over a store and the served models (``name -> ServedModel``); with a
    :class:`~zkinfer.service.receipts.Signer`, every answer carries a signed receipt."""
    config = config or ServiceConfig()
    limiter = _RateLimiter()
    verify_slots = asyncio.Semaphore(config.max_verifications)
    batcher = None if signer is None else _Batcher(signer)
    by_digest = {m.digest: m for m in served.values()}
    web = _web_files()

    async def authenticate(request: Request):
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "You didn't provide an API key. Provide it in the Authorization "
                                "header as 'Bearer YOUR_KEY' (zkinfer apikey create makes one).",
                           code="invalid_api_key")
        key = await run_in_threadpool(store.authenticate, secret.strip())
        if key is None:
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        return key

    def model_of(body: dict, kind: str):
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "you must provide a model parameter", param="model",
                           code="missing_model")
        m = served.get(name)
        if m is None:
            raise ApiError(404, f"The model '{name[:80]}' does not exist on this server; it "
                                f"serves {', '.join(served)}.", param="model",
                           code="model_not_found")
        if m.kind != kind:
            raise ApiError(400, f"model '{name}' is a {m.kind} model, not a {kind} model",
                           param="model", code="wrong_model_kind")
        return m

    def proof_ref(request: Request, job_id: str, status: str = "queued") -> dict:
        return {"id": job_id, "status": status,
                "url": str(request.url_for("proof", job_id=job_id))}

    async def receipt(items: list[dict], job_ids: list[str]) -> dict | None:
        """The response's receipt: its statements, signed in a batch (``None`` without a
        signer)."""
        if batcher is None:
            return None
        from zkinfer.service.receipts import response_digest, statement_digest

        digests = [statement_digest(it["key_digest"], j, it["statement"]["input"],
                                    it["statement"]["output"], it["statement"]["max_new_tokens"])
                   for it, j in zip(items, job_ids)]
        signature, batch, index = await batcher.sign(response_digest(digests))
        return {**signer.public(), "signature": signature,
                "statement_digests": [d.hex() for d in digests],
                "batch": [d.hex() for d in batch], "batch_index": index}

    async def submit(key, items: list[dict]) -> list[str]:
        try:
            return await run_in_threadpool(store.submit, key, items, config.queue_limit)
        except QueueFull as exc:
            raise ApiError(429, str(exc), type="rate_limit_error", code="queue_full",
                           headers={"Retry-After": str(exc.retry_after)}) from None

    def input_ids(m, value, param: str) -> np.ndarray:
        if isinstance(value, str):
            if not value:
                raise ApiError(400, "an input text must not be empty", param=param)
            raw = m.tokenize(value)
        elif isinstance(value, list) and all(type(v) is int for v in value):
            raw = value
        else:
            raise ApiError(400, "each input must be a string or a list of integer token ids",
                           param=param)
        if len(raw) > m.max_len:
            raise ApiError(400, f"This model's maximum context length is {m.max_len} tokens; "
                                f"the input has {len(raw)}.", param=param,
                           code="context_length_exceeded")
        try:
            return m.ids(raw)
        except InvalidArgumentError as exc:
            raise ApiError(400, str(exc), param=param, code="invalid_value") from None

    async def embeddings(request: Request) -> Response:
        key = await authenticate(request)
        limiter.check(key.id, int(key.limits["rpm"]))
        body = await _body_json(request, config.max_body)
        m = model_of(body, "embedding")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64", None):
            raise ApiError(400, "encoding_format must be 'float' or 'base64'",
                           param="encoding_format")
        raw = body.get("input")
        if isinstance(raw, str) or (isinstance(raw, list) and raw
                                    and all(type(v) is int for v in raw)):
            values = [raw]
        elif isinstance(raw, list) and raw:
            values = raw
        else:
            raise ApiError(400, "input must be a string, a list of strings, a list of token ids "
                                "or a list of lists of token ids (not empty)", param="input")
        if len(values) > config.max_inputs:
            raise ApiError(400, f"at most {config.max_inputs} inputs per request", param="input")
        ids = [input_ids(m, v, f"input[{i}]") for i, v in enumerate(values)]
        try:
            outputs = await run_in_threadpool(lambda: [m.infer(x) for x in ids])
        except ModelError as exc:
            raise ApiError(400, str(exc), param="input", code="invalid_value") from None
        items = [{"model": m.name, "kind": "embedding", "key_digest": m.digest,
                  "statement": {"input": x.tolist(), "output": y.tolist(),
                                "max_new_tokens": None}} for x, y in zip(ids, outputs)]
        job_ids = await submit(key, items)
        signed = await receipt(items, job_ids)
        n_tokens = sum(len(x) for x in ids)
        return JSONResponse({
            "object": "list", "model": m.name, "key_digest": m.digest,
            "data": [{"object": "embedding", "index": i, "embedding": _encoded(y, fmt),
                      "input_ids": x.tolist(), "proof": proof_ref(request, j)}
                     for i, (x, y, j) in enumerate(zip(ids, outputs, job_ids))],
            "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens},
            "receipt": signed,
        })

    async def chat(request: Request) -> Response:
        key = await authenticate(request)
        limiter.check(key.id, int(key.limits["rpm"]))
        body = await _body_json(request, config.max_body)
        m = model_of(body, "chat")
        stream = body.get("stream", False)
        if stream not in (True, False, None):
            raise ApiError(400, "stream must be true or false", param="stream")
        if body.get("n", 1) != 1:
            raise ApiError(400, "n must be 1 (one greedy answer)", param="n")
        messages = body.get("messages")
        if not (isinstance(messages, list) and messages and all(
                isinstance(x, dict) and isinstance(x.get("role"), str)
                and isinstance(x.get("content"), str) for x in messages)):
            raise ApiError(400, "messages must be a non-empty list of {\"role\": str, "
                                "\"content\": str}", param="messages")
        limit = body.get("max_tokens", body.get("max_completion_tokens", 16))
        if type(limit) is not int or not 1 <= limit <= m.max_len:
            raise ApiError(400, f"max_tokens must be an integer in [1, {m.max_len}]",
                           param="max_tokens")
        try:
            prompt = await run_in_threadpool(m.chat_prompt, messages)
        except (InvalidArgumentError, ModelError) as exc:
            raise ApiError(400, str(exc), param="messages") from None
        if len(prompt) == 0:
            raise ApiError(400, "the prompt is empty", param="messages")
        if len(prompt) + limit - 1 > m.max_len:
            raise ApiError(400, f"This model's maximum context length is {m.max_len} tokens; "
                                f"the prompt has {len(prompt)} and max_tokens is {limit}.",
                           param="messages", code="context_length_exceeded")
        try:
            prompt = m.ids(prompt.tolist())
            answer = await run_in_threadpool(m.infer, prompt, limit)
        except (InvalidArgumentError, ModelError) as exc:
            raise ApiError(400, str(exc), param="messages", code="invalid_value") from None
        from zkinfer.model.intmodel import stop_ids

        stops = set(stop_ids(m.model).tolist())
        finish = "stop" if answer.size and int(answer[-1]) in stops else "length"
        statement = {"input": prompt.tolist(), "output": answer.tolist(), "max_new_tokens": limit}
        items = [{"model": m.name, "kind": "chat", "key_digest": m.digest,
                  "statement": statement}]
        (job_id,) = await submit(key, items)
        signed = await receipt(items, [job_id])
        ref = proof_ref(request, job_id)
        shown = answer[:-1] if finish == "stop" else answer
        head = {"id": "chatcmpl-" + job_id.removeprefix("proof_"), "created": int(time.time()),
                "model": m.name, "key_digest": m.digest}
        tail = {"input_ids": prompt.tolist(), "max_new_tokens": limit, "proof": ref,
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(answer),
                          "total_tokens": len(prompt) + len(answer)},
                "receipt": signed}
        if stream:
            return StreamingResponse(_chat_chunks(head, tail, m.decode, shown, finish, ref,
                                                  answer.tolist()),
                                     media_type="text/event-stream")
        return JSONResponse({
            **head, "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": m.decode(shown)},
                         "finish_reason": finish, "proof": ref,
                         "output_ids": answer.tolist()}],
            **tail,
        })

    def job_json(request: Request, job, with_proof: bool) -> dict:
        out = {"id": job.id, "ref": public_ref(job.id), "object": "proof", "model": job.model,
               "kind": job.kind,
               "status": job.status, "stage": job.stage, "percent": round(job.percent, 1),
               "reason": job.reason, "created": job.created, "finished": job.finished,
               "key_digest": job.key_digest, "key_url": str(request.url_for(
                   "key", digest=job.key_digest)),
               "statement": job.statement}
        if with_proof and job.status == "done":
            out["proof_sha256"] = job.proof_sha256
            out["proof"] = base64.b64encode(store.read_proof(job.proof_sha256)).decode()
        return out

    async def proof(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        job = await run_in_threadpool(store.get, job_id)
        if job is None:
            raise ApiError(404, f"no proof job {job_id[:80]!r}", param="id", code="not_found")
        return JSONResponse(await run_in_threadpool(job_json, request, job, True))

    async def proofs(request: Request) -> Response:
        key = await authenticate(request)
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            raise ApiError(400, "limit must be an integer", param="limit") from None
        jobs = await run_in_threadpool(store.jobs, key.id, limit)
        return JSONResponse({"object": "list",
                             "data": [job_json(request, j, False) for j in jobs]})

    async def recent(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            raise ApiError(400, "limit must be an integer", param="limit") from None
        if not 1 <= limit <= 200:
            raise ApiError(400, "limit must be in [1, 200]", param="limit")
        jobs = await run_in_threadpool(store.recent, limit)
        return JSONResponse({"object": "list", "data": jobs},
                            headers={"Cache-Control": "no-store"})

    async def page(request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in web:
            raise ApiError(404, "no such file", code="not_found")
        return Response(web[name], media_type=_WEB_FILES[name], headers=_PAGE_HEADERS)

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": m.name, "object": "model", "created": 0, "owned_by": "zkinfer",
             "kind": m.kind, "key_digest": m.digest,
             "key_url": str(request.url_for("key", digest=m.digest)),
             "max_tokens": m.max_len, "vocab_size": m.vocab_size, "tokenizer": m.tokenizer}
            for m in served.values()]})

    async def key(request: Request) -> Response:
        m = by_digest.get(request.path_params["digest"].lower())
        if m is None:
            raise ApiError(404, "no served verifying key has this digest", param="digest",
                           code="not_found")
        return Response(m.vk.to_bytes(), media_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})

    async def receipts_key(request: Request) -> Response:
        if signer is None:
            raise ApiError(404, "this server signs no receipts (py_ecc is not installed)",
                           code="not_found")
        return JSONResponse(signer.public())

    async def verify(request: Request) -> Response:
        import zkinfer
        from zkinfer.proof import Proof

        body = await _body_json(request, config.max_verify_body)
        try:
            data = base64.b64decode(body.get("proof", ""), validate=True)
            parsed = Proof.from_bytes(data)
        except (ValueError, TypeError, ProofFormatError) as exc:
            raise ApiError(400, f"proof must be a base64 zkinfer proof: {exc}",
                           param="proof") from None
        digest = body.get("key_digest") or parsed.vk_digest.hex()
        m = by_digest.get(str(digest).lower())
        if m is None:
            raise ApiError(404, "no served verifying key has this digest", param="key_digest",
                           code="not_found")
        ids = body.get("input", parsed.ids.tolist())
        output = body.get("output", parsed.output.tolist())
        for name, v in (("input", ids), ("output", output)):
            if not (isinstance(v, list) and all(type(x) is int for x in v)):
                raise ApiError(400, f"{name} must be a list of integers", param=name)
        stated = parsed.max_new_tokens or None
        claimed = body.get("max_new_tokens", stated)
        if claimed is not None and type(claimed) is not int:
            raise ApiError(400, "max_new_tokens must be an integer or null",
                           param="max_new_tokens")
        statement = {"input": ids, "output": output, "max_new_tokens": claimed}
        if claimed != stated:
            valid, reason = False, (f"the proof states max_new_tokens {stated}, not the "
                                    f"claimed {claimed}")
        else:
            async with verify_slots:
                try:
                    await run_in_threadpool(zkinfer.verify, m.vk,
                                            np.asarray(ids, dtype=np.int64),
                                            np.asarray(output, dtype=np.int64), data)
                    valid, reason = True, None
                except (VerificationError, InvalidArgumentError, ModelError,
                        ProofFormatError) as exc:
                    valid, reason = False, str(exc)
        text = None
        if valid and m.kind == "chat":
            text = await run_in_threadpool(m.decode, output)
        return JSONResponse({"valid": valid, "reason": reason, "model": m.name, "kind": m.kind,
                             "key_digest": m.digest, "statement": statement, "text": text})

    def wrap(handler):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return _error_response(exc)
        return endpoint

    routes = [
        Route("/v1/embeddings", wrap(embeddings), methods=["POST"]),
        Route("/v1/chat/completions", wrap(chat), methods=["POST"]),
        Route("/v1/proofs", wrap(proofs), methods=["GET"]),
        Route("/v1/proofs/{job_id}", wrap(proof), methods=["GET"], name="proof"),
        Route("/v1/models", wrap(models), methods=["GET"]),
        Route("/v1/keys/{digest}", wrap(key), methods=["GET"], name="key"),
        Route("/v1/verify", wrap(verify), methods=["POST"]),
        Route("/v1/receipts/key", wrap(receipts_key), methods=["GET"]),
        Route("/v1/jobs/recent", wrap(recent), methods=["GET"]),
        Route("/", wrap(page), methods=["GET"]),
        Route("/web/{name}", wrap(page), methods=["GET"]),
    ]

    async def not_found(request: Request, exc) -> Response:
        status = getattr(exc, "status_code", 404)
        return _error_response(ApiError(status, f"{request.method} {request.url.path}: "
                                                f"{getattr(exc, 'detail', 'not found')}",
                                        code="not_found" if status == 404 else None))

    async def internal(request: Request, exc: Exception) -> Response:
        return _error_response(ApiError(500, f"internal error: {type(exc).__name__}",
                                        type="server_error"))

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found,
                                                        Exception: internal})
