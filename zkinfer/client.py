"""A client of ``zkinfer serve`` that verifies every answer locally, against pinned keys.

::

    from zkinfer.client import Client

    c = Client("http://127.0.0.1:8000", api_key="zk-...",
               trusted_keys={"tiny": "eb57888b...", "tiny-decoder": "669e9224..."})
    [e] = c.embed("hello", model="tiny")        # the integer embedding, at once
    e.wait_verified(timeout=120)                # waits for the proof, verifies it here
    a = c.chat([{"role": "user", "content": "hi"}], model="tiny-decoder", max_tokens=8)
    print(a.text); a.wait_verified(120)

What :meth:`Embedding.verify` / :meth:`ChatAnswer.verify` establish, and how:

- the verifying key is fetched by the digest the caller **pinned** in ``trusted_keys`` (never
  a digest the server names), and its bytes must hash to that digest;
- the proof must be made for that key, and state exactly the input ids and the output the
  server answered (the embedding vector; the answer's ids and ``max_tokens``);
- the input ids must be the caller's: ids the caller sent are compared as they are; a text is
  re-encoded for the byte-tokenized models (``tiny``, ``tiny-mlp``: its UTF-8 bytes;
  ``tiny-decoder``: the messages' contents joined by newlines). For models with a real
  tokenizer (``minilm``, ``smollm2``) the tokenization of text is *not* checked: the proof
  covers the ids in ``input_ids``; send ids to close that gap;
- :func:`zkinfer.verify` accepts the proof (numpy only; the default 100-bit floor).

Signed receipts (:mod:`zkinfer.service.receipts`): a server with a BLS key signs every response
(key digest, proof id, input, output, ``max_new_tokens`` of each item) before sending it, so it
is accountable for an answer before its proof exists. With ``check_receipts`` (by default: when
py_ecc is installed) :meth:`Client.embed` and :meth:`Client.chat` check the receipt on arrival
against ``receipt_key`` (a pinned public key, hex) or else the key the server publishes at
``/v1/receipts/key`` (checked with its proof of possession: that only shows the server holds
the key; pin it to hold the server to it); :meth:`Embedding.check_receipt` does it on demand.

Only the standard library's HTTP (``urllib``) is used; verifying needs numpy (the verifier).

Raises (every method): :class:`ServiceError` for an HTTP error (with the server's OpenAI-shaped
message, ``status``, ``code`` and ``retry_after``), :class:`~zkinfer.errors.VerificationError`
for a proof or key that does not check out.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from zkinfer.errors import InvalidArgumentError, VerificationError, ZkinferError

__all__ = ["Client", "Embedding", "ChatAnswer", "ServiceError", "ProofNotReady", "ProofFailed",
           "ProofTimeout"]

#: Models whose text input is byte-tokenized (the client can re-encode and check it).
_BYTE_MODELS = {"tiny", "tiny-mlp", "tiny-decoder"}


class ServiceError(ZkinferError):
    """The server answered with an error (or could not be reached: ``status`` 0).

    Attributes:
        status: the HTTP status.
        code: the OpenAI-shaped error's ``code``.
        retry_after: seconds from ``Retry-After`` (429), else ``None``.
    """

    def __init__(self, message: str, status: int = 0, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after


class ProofNotReady(ServiceError):
    """The proof is still queued or being proven (``stage`` and ``percent`` say where)."""

    def __init__(self, message: str, stage: str | None = None, percent: float = 0.0) -> None:
        super().__init__(message)
        self.stage, self.percent = stage, percent


class ProofFailed(ServiceError):
    """The server gave up on the proof (``reason`` says why)."""


class ProofTimeout(ServiceError, TimeoutError):
    """:meth:`wait_verified` ran out of time before the proof was done."""


def _digest_hex(value: object, model: str) -> str:
    if isinstance(value, bytes):
        value = value.hex()
    text = str(value).lower()
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise InvalidArgumentError(f"trusted_keys[{model!r}] must be a key digest: 64 hex digits "
                                   "(or 32 bytes)")
    return text


class Client:
    """A client of one server.

    Arguments:
        url: the server's base URL, e.g. ``"http://127.0.0.1:8000"``.
        api_key: the secret ``zkinfer apikey create`` printed (needed by ``embed``, ``chat``
            and ``proofs``).
        trusted_keys: ``{model name: verifying-key digest (hex)}`` obtained out of band (e.g.
            from ``zkinfer keys check`` or a publication you trust): results are verified
            against these keys only.
        timeout: seconds per HTTP request.
        receipt_key: the server's receipt public key (96 hex digits) if pinned.
        check_receipts: check each response's receipt on arrival: ``None`` (default) when
            py_ecc is installed and the server signs, ``True`` always (a response without a
            valid receipt raises), ``False`` never.

    Raises:
        InvalidArgumentError: a malformed URL, digest or receipt key.
    """

    def __init__(self, url: str, api_key: str | None = None,
                 trusted_keys: dict[str, str] | None = None, timeout: float = 60.0,
                 receipt_key: str | None = None, check_receipts: bool | None = None) -> None:
        parsed = urllib.parse.urlsplit(str(url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidArgumentError(f"url must be http(s)://host[:port], got {url!r}")
        self.url = str(url).rstrip("/")
        self.api_key = api_key
        self.trusted_keys = {str(m): _digest_hex(d, str(m)) for m, d in (trusted_keys or {}).items()}
        self.timeout = float(timeout)
        self._keys: dict[str, object] = {}
        if receipt_key is not None:
            try:
                pinned = bytes.fromhex(receipt_key)
            except (ValueError, TypeError):
                pinned = b""
            if len(pinned) != 48:
                raise InvalidArgumentError("receipt_key must be a BLS public key: 96 hex digits")
            receipt_key = pinned
        self.receipt_key: bytes | None = receipt_key
        self.check_receipts = check_receipts
        self._signatures: set = set()

    # -- HTTP --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = False,
                 raw: bool = False):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            if not self.api_key:
                raise InvalidArgumentError("this call spends the server's compute: pass api_key")
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceError(f"cannot reach {self.url}: {exc}") from None
        if raw:
            return payload
        try:
            return json.loads(payload)
        except ValueError:
            raise ServiceError(f"{method} {path}: the server's answer is not JSON") from None

    @staticmethod
    def _http_error(exc: urllib.error.HTTPError) -> ServiceError:
        message, code = f"HTTP {exc.code}", None
        try:
            err = json.loads(exc.read())["error"]
            message, code = f"HTTP {exc.code}: {err.get('message')}", err.get("code")
        except Exception:  # not the OpenAI error shape: keep the status line
            pass
        retry = exc.headers.get("Retry-After") if exc.headers else None
        try:
            retry_after = float(retry) if retry is not None else None
        except ValueError:
            retry_after = None
        return ServiceError(message, exc.code, code, retry_after)

    # -- the API -----------------------------------------------------------------------------

    def models(self) -> list[dict]:
        """The served models with the key digests *the server* claims (to pin them, compare
        with a digest you trust; ``zkinfer keys check`` rebuilds a key from the weights)."""
        return self._request("GET", "/v1/models")["data"]

    def embed(self, inputs, model: str) -> list[Embedding]:
        """Embeddings of a text, a list of texts, a list of ids or a list of lists of ids; one
        :class:`Embedding` per input, in order (the integer vectors the proofs will state).

        Raises:
            ServiceError: an HTTP error (401, 404, 400, 429 ...).
        """
        resp = self._request("POST", "/v1/embeddings", {"model": model, "input": inputs},
                             auth=True)
        sent = [inputs] if isinstance(inputs, str) or (
            isinstance(inputs, list) and inputs and all(type(v) is int for v in inputs)) \
            else list(inputs)
        data = sorted(resp["data"], key=lambda d: d["index"])
        if len(data) != len(sent):
            raise ServiceError(f"the server answered {len(data)} embeddings for {len(sent)} "
                               "inputs")
        results = [Embedding(self, model, d["index"], d["embedding"], d["input_ids"],
                             d["proof"]["id"], s) for d, s in zip(data, sent)]
        return self._received(results, resp)

    def chat(self, messages: list[dict], model: str, max_tokens: int = 16) -> ChatAnswer:
        """A greedy chat answer (:class:`ChatAnswer`), returned before its proof is done.

        Raises:
            ServiceError: an HTTP error.
        """
        resp = self._request("POST", "/v1/chat/completions",
                             {"model": model, "messages": messages, "max_tokens": max_tokens},
                             auth=True)
        choice = resp["choices"][0]
        answer = ChatAnswer(self, model, choice["message"]["content"], choice["output_ids"],
                            resp["input_ids"], max_tokens, choice["proof"]["id"],
                            choice["finish_reason"], messages)
        return self._received([answer], resp)[0]

    def _received(self, results: list, resp: dict) -> list:
        """Attach the response's receipt to its results and check it if asked to."""
        receipt = resp.get("receipt")
        for i, r in enumerate(results):
            r.key_digest, r.receipt, r.receipt_index = resp.get("key_digest"), receipt, i
        check = self.check_receipts
        if check is None:
            from zkinfer.service.receipts import available

            check = receipt is not None and available()
        if check:
            for r in results:
                r.check_receipt()
        return results

    def receipt_public_key(self) -> bytes:
        """The key receipts are checked against: the pinned ``receipt_key``, else the server's
        published key (checked with its proof of possession; fetched once).

        Raises:
            ServiceError: the server publishes no receipt key (404).
            VerificationError: the published key or its proof of possession is invalid.
        """
        if self.receipt_key is None:
            from zkinfer.service.receipts import check_public_key

            published = self._request("GET", "/v1/receipts/key")
            self.receipt_key = check_public_key(published.get("public_key", ""),
                                                published.get("pop", ""))
        return self.receipt_key

    def _check_receipt(self, result, output, max_new_tokens) -> bool:
        from zkinfer.service.receipts import check_receipt, covered, statement_digest

        digest = statement_digest(str(result.key_digest), result.proof_id, result.input_ids,
                                  output, max_new_tokens)
        message = covered(result.receipt, result.receipt_index, digest)
        public_key = self.receipt_public_key()
        signed = (public_key, str(result.receipt.get("signature")), message)
        if signed not in self._signatures:  # one pairing check per signature
            check_receipt(public_key, result.receipt, result.receipt_index, digest)
            self._signatures.add(signed)
        return True

    def proofs(self, limit: int = 100) -> list[dict]:
        """The caller's proof jobs, newest first (status, stage, percent, statement)."""
        return self._request("GET", f"/v1/proofs?limit={int(limit)}", auth=True)["data"]

    def proof(self, proof_id: str) -> dict:
        """One proof job as the server reports it (with the proof, base64, when done)."""
        return self._request("GET", "/v1/proofs/" + urllib.parse.quote(proof_id, safe=""))

    def verifying_key(self, model: str):
        """The verifying key of ``model``, fetched by its pinned digest and checked.

        Raises:
            InvalidArgumentError: no digest pinned for ``model``.
            VerificationError: the fetched bytes are not the pinned key.
        """
        from zkinfer.errors import ProofFormatError
        from zkinfer.proof import VerifyingKey

        digest = self.trusted_keys.get(model)
        if digest is None:
            raise InvalidArgumentError(
                f"no trusted key digest for model {model!r}: pass trusted_keys={{{model!r}: "
                "'<digest hex>'}} (Client.models() lists what the server claims)")
        if digest not in self._keys:
            data = self._request("GET", f"/v1/keys/{digest}", raw=True)
            try:
                vk = VerifyingKey.from_bytes(data)
            except ProofFormatError as exc:
                raise VerificationError("verifying key", f"the server's key bytes do not "
                                                         f"decode: {exc}") from None
            if vk.digest.hex() != digest:
                raise VerificationError("verifying key", "the fetched key is not the pinned one",
                                        expected=digest, got=vk.digest.hex())
            self._keys[digest] = vk
        return self._keys[digest]

    def verify_proof(self, model: str, proof_id: str, input_ids, output,
                     max_new_tokens: int | None = None) -> bool:
        """Verify the server's proof of an answer obtained some other way (e.g. with the
        official ``openai`` client, whose responses carry ``proof``, ``input_ids`` and, for
        chats, ``output_ids``), exactly as a result's :meth:`verify` does: the key is fetched
        by the pinned digest of ``model``, the proof must be for that key and state
        ``input_ids``, ``output`` (and ``max_new_tokens``), then it is verified locally.

        Raises:
            ProofNotReady: the proof is not done yet; ProofFailed: it failed on the server;
            VerificationError: any check fails; ServiceError: an HTTP error.
        """
        return self._verify(model, proof_id, input_ids, output, max_new_tokens)

    def _verify(self, model: str, proof_id: str, input_ids, output, max_new_tokens) -> bool:
        import numpy as np

        import zkinfer
        from zkinfer.errors import ProofFormatError
        from zkinfer.proof import Proof

        vk = self.verifying_key(model)  # before the proof: a missing pin fails fast
        job = self.proof(proof_id)
        status = job.get("status")
        if status == "failed":
            raise ProofFailed(f"proof {proof_id} failed on the server: {job.get('reason')}")
        if status != "done":
            raise ProofNotReady(f"proof {proof_id} is {status} ({job.get('stage')}, "
                                f"{job.get('percent')} %)", job.get("stage"),
                                float(job.get("percent") or 0.0))
        try:
            data = base64.b64decode(job["proof"], validate=True)
            proof = Proof.from_bytes(data)
        except (KeyError, ValueError, TypeError, ProofFormatError) as exc:
            raise VerificationError("proof", f"the server's proof does not decode: {exc}") from None
        if bytes(proof.vk_digest) != vk.digest:
            raise VerificationError("proof key", "the proof is for another key than the pinned "
                                                 "one", expected=vk.digest.hex(),
                                    got=bytes(proof.vk_digest).hex())
        ids = np.asarray(input_ids, dtype=np.int64)
        out = np.asarray(output, dtype=np.int64)
        if not np.array_equal(proof.ids, ids):
            raise VerificationError("statement", "the proof states other input ids than the "
                                                 "answer's")
        if not np.array_equal(proof.output, out):
            raise VerificationError("statement", "the proof states another output than the "
                                                 "answer the server returned")
        if max_new_tokens is not None and proof.max_new_tokens != max_new_tokens:
            raise VerificationError("statement", "the proof states another max_tokens",
                                    expected=max_new_tokens, got=proof.max_new_tokens)
        return zkinfer.verify(vk, ids, out, data)


def _check_ids(model: str, sent, input_ids) -> None:
    """The answer's input ids against what the caller sent (ids, or a byte model's text)."""
    if isinstance(sent, str):
        if model in _BYTE_MODELS and list(sent.encode()) != list(input_ids):
            raise VerificationError("input", "the server's input ids are not the UTF-8 bytes of "
                                             "the text sent")
    elif list(sent) != list(input_ids):
        raise VerificationError("input", "the server's input ids are not the ids sent")


class _Result:
    """``verify()`` / ``wait_verified()`` / ``check_receipt()`` of one answer."""

    proof_id: str
    verified: bool = False
    key_digest: str | None = None
    receipt: dict | None = None
    receipt_index: int = 0

    def check_receipt(self) -> bool:
        """Check the server's signed receipt of this answer (its key digest, proof id, input,
        output and ``max_new_tokens``); ``True`` or raises.

        Raises:
            VerificationError: no receipt, a receipt of another statement, a bad signature, or
                a published key that fails its proof of possession.
            MissingDependencyError: py_ecc is not installed.
        """
        return self.client._check_receipt(self, *self._statement_tail())

    def verify(self) -> bool:
        """Fetch the proof and the pinned key, and verify here; ``True`` or raises.

        Raises:
            ProofNotReady: the proof is not done yet.
            ProofFailed: the server gave up on it.
            VerificationError: the input, output, key or proof does not check out.
            InvalidArgumentError: no key digest pinned for the model.
        """
        self.verified = self._verify()
        return self.verified

    def wait_verified(self, timeout: float = 600.0, poll: float = 0.5) -> bool:
        """:meth:`verify` once the proof is done (polling every ``poll`` seconds).

        Raises:
            ProofTimeout: not done within ``timeout`` seconds.
            ProofFailed, VerificationError, InvalidArgumentError: as :meth:`verify`.
        """
        deadline = time.monotonic() + float(timeout)
        while True:
            try:
                return self.verify()
            except ProofNotReady as exc:
                if time.monotonic() >= deadline:
                    raise ProofTimeout(f"proof {self.proof_id} not done after {timeout} s "
                                       f"({exc.stage}, {exc.percent} %)") from None
                time.sleep(poll)


class Embedding(_Result):
    """One embedding: ``embedding`` (the integer vector), ``input_ids``, ``proof_id``."""

    def __init__(self, client: Client, model: str, index: int, embedding, input_ids,
                 proof_id: str, sent) -> None:
        self.client, self.model, self.index = client, model, index
        self.embedding, self.input_ids, self.proof_id = list(embedding), list(input_ids), proof_id
        self.sent = sent

    def __repr__(self) -> str:
        return (f"Embedding({self.model}, {len(self.input_ids)} tokens -> {len(self.embedding)} "
                f"values, proof {self.proof_id}, verified={self.verified})")

    def _statement_tail(self):
        return self.embedding, None

    def _verify(self) -> bool:
        _check_ids(self.model, self.sent, self.input_ids)
        return self.client._verify(self.model, self.proof_id, self.input_ids, self.embedding, None)


class ChatAnswer(_Result):
    """One chat answer: ``text``, ``output_ids`` (the proven answer, its stop token included),
    ``input_ids`` (the prompt), ``max_tokens``, ``finish_reason``, ``proof_id``."""

    def __init__(self, client: Client, model: str, text: str, output_ids, input_ids,
                 max_tokens: int, proof_id: str, finish_reason: str, messages) -> None:
        self.client, self.model, self.text = client, model, text
        self.output_ids, self.input_ids = list(output_ids), list(input_ids)
        self.max_tokens, self.proof_id, self.finish_reason = max_tokens, proof_id, finish_reason
        self.messages = messages

    def __repr__(self) -> str:
        return (f"ChatAnswer({self.model}, {self.text[:40]!r}, proof {self.proof_id}, "
                f"verified={self.verified})")

    def _statement_tail(self):
        return self.output_ids, self.max_tokens

    def _verify(self) -> bool:
        if self.model == "tiny-decoder":
            _check_ids(self.model, "\n".join(str(m["content"]) for m in self.messages),
                       self.input_ids)
        return self.client._verify(self.model, self.proof_id, self.input_ids, self.output_ids,
                                   self.max_tokens)
