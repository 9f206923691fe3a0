"""Signed receipts: the server signs what it answered, before the proofs exist.

A receipt makes a server accountable for an answer at once: anyone holding the answer, the
receipt and the server's public key can show that the server stated "proof job ``id`` will
prove that the model with key digest ``k`` maps input ``x`` to output ``y`` (with
``max_new_tokens`` ``n``)". If the proof never comes, or a proof of another output comes, the
receipt is the evidence. It says nothing about correctness by itself: only the proof does.

Scheme: BLS signatures over BLS12-381 as the IETF draft (draft-irtf-cfrg-bls-signature-05)
defines them and Ethereum uses them, in the proof-of-possession ciphersuite
(``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_``: 48-byte public keys in G1, 96-byte signatures
in G2), through ``py_ecc``. The server publishes its public key with a proof of possession
(``GET /v1/receipts/key``), which rules out rogue keys should receipts ever be aggregated.

Messages (all integers little-endian, ids as ``int64``):

- an item's statement digest: ``SHA-256("zkinfer-statement/v1" || key digest (32 bytes) ||
  u32 len(proof id) || proof id (ASCII) || u32 n_in || input || u32 n_out || output ||
  u32 max_new_tokens (0 for an encoder))``;
- a response's digest: ``SHA-256("zkinfer-receipt/v1" || u32 count || the items' statement
  digests in order)``;
- the signed message: ``SHA-256("zkinfer-receipt-batch/v1" || u32 count || the digests of the
  responses signed together)``. A signature costs about a second in pure Python, so the server
  signs the responses that wait at the same moment with one signature (a batch; one response
  alone while the server is idle). A receipt carries the statement digests of its response,
  the batch's response digests and its index in both; a client recomputes its item's digest,
  then its response's, and checks the one signature.

The secret key lives in ``<data_dir>/receipt.key`` (32 bytes, mode 0600), made on the first
start from 32 random bytes by the scheme's ``KeyGen``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from pathlib import Path

import numpy as np

from zkinfer.errors import InvalidArgumentError, MissingDependencyError, VerificationError

__all__ = ["SCHEME", "statement_digest", "response_digest", "batch_message", "Signer",
           "covered", "check_receipt", "check_public_key", "available", "MAX_BATCH"]

#: Most responses one signature covers.
MAX_BATCH = 256

SCHEME = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"


def available() -> bool:
    """Whether ``py_ecc`` is installed."""
    try:
        import py_ecc.bls  # noqa: F401
    except ImportError:
        return False
    return True


def _bls():
    try:
        from py_ecc.bls import G2ProofOfPossession
    except ImportError:
        raise MissingDependencyError("signed receipts need py_ecc: pip install py_ecc") from None
    return G2ProofOfPossession


def _ints(values, what: str) -> bytes:
    arr = np.asarray(values, dtype=np.int64)
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{what} must be a 1-D list of integers")
    return struct.pack("<I", arr.shape[0]) + arr.astype("<i8").tobytes()


def statement_digest(key_digest: str, proof_id: str, input_ids, output,
                     max_new_tokens: int | None) -> bytes:
    """The 32-byte digest of one answered statement (module docstring).

    Raises:
        InvalidArgumentError: a key digest that is not 64 hex digits, a non-ASCII proof id, or
            ids that are not 1-D integers.
    """
    try:
        key = bytes.fromhex(key_digest)
        pid = proof_id.encode("ascii")
    except (ValueError, AttributeError, UnicodeEncodeError):
        raise InvalidArgumentError("a key digest is 64 hex digits and a proof id ASCII") from None
    if len(key) != 32:
        raise InvalidArgumentError("a key digest is 64 hex digits")
    h = hashlib.sha256(b"zkinfer-statement/v1")
    h.update(key + struct.pack("<I", len(pid)) + pid)
    h.update(_ints(input_ids, "input") + _ints(output, "output"))
    h.update(struct.pack("<I", int(max_new_tokens or 0)))
    return h.digest()


def _list_digest(label: bytes, digests: list[bytes]) -> bytes:
    h = hashlib.sha256(label)
    h.update(struct.pack("<I", len(digests)))
    for d in digests:
        if len(d) != 32:
            raise InvalidArgumentError("a digest in a receipt is 32 bytes")
        h.update(d)
    return h.digest()


def response_digest(statement_digests: list[bytes]) -> bytes:
    """The digest of one response: its items' statement digests, in order."""
    return _list_digest(b"zkinfer-receipt/v1", statement_digests)


def batch_message(response_digests: list[bytes]) -> bytes:
    """The signed message: the digests of the responses signed together."""
    return _list_digest(b"zkinfer-receipt-batch/v1", response_digests)


class Signer:
    """The server's receipt key, loaded from (or first written to) ``<data_dir>/receipt.key``.

    Raises:
        MissingDependencyError: py_ecc is not installed.
        InvalidArgumentError: the key file is not a valid secret key.
    """

    def __init__(self, data_dir: str | Path) -> None:
        bls = _bls()
        path = Path(data_dir) / "receipt.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            sk = bls.KeyGen(secrets.token_bytes(32))
            tmp = path.with_name(f".receipt.key.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(sk.to_bytes(32, "big"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        data = path.read_bytes()
        sk = int.from_bytes(data, "big")
        from py_ecc.optimized_bls12_381 import curve_order

        if len(data) != 32 or not 0 < sk < curve_order:
            raise InvalidArgumentError(f"{path}: not a BLS12-381 secret key")
        self._sk = sk
        self.public_key = bls.SkToPk(sk)
        self.pop = bls.PopProve(sk)

    def public(self) -> dict:
        """What ``GET /v1/receipts/key`` publishes."""
        return {"scheme": SCHEME, "public_key": self.public_key.hex(), "pop": self.pop.hex()}

    def sign(self, response_digests: list[bytes]) -> str:
        """The signature (hex) of a batch of response digests."""
        if not 1 <= len(response_digests) <= MAX_BATCH:
            raise InvalidArgumentError(f"a batch holds 1..{MAX_BATCH} responses")
        return _bls().Sign(self._sk, batch_message(response_digests)).hex()


def _hex(value, n: int, what: str) -> bytes:
    try:
        data = bytes.fromhex(value)
    except (ValueError, TypeError):
        data = b""
    if len(data) != n:
        raise VerificationError("receipt", f"{what} must be {n} bytes of hex")
    return data


def check_public_key(public_key: str, pop: str) -> bytes:
    """A published receipt key, checked (a valid G1 point with its proof of possession).

    Raises:
        VerificationError: malformed, or the proof of possession fails.
    """
    bls = _bls()
    pk = _hex(public_key, 48, "a public key")
    if not bls.KeyValidate(pk) or not bls.PopVerify(pk, _hex(pop, 96, "a proof of possession")):
        raise VerificationError("receipt key", "the server's receipt key or its proof of "
                                               "possession is invalid")
    return pk


def covered(receipt: dict, index: int, digest: bytes) -> bytes:
    """The batch message a receipt's signature must sign, once ``digest`` is found as item
    ``index`` of the receipt's response and that response in its batch.

    Raises:
        VerificationError: a malformed receipt, or the statement is not covered.
    """
    if not isinstance(receipt, dict):
        raise VerificationError("receipt", "the server sent no receipt with this answer")
    items, batch = receipt.get("statement_digests"), receipt.get("batch")
    at = receipt.get("batch_index")
    if not (isinstance(items, list) and isinstance(batch, list) and type(at) is int
            and len(batch) <= MAX_BATCH):
        raise VerificationError("receipt", "a malformed receipt (statement_digests, batch, "
                                           "batch_index)")
    listed = [_hex(d, 32, "a statement digest") for d in items]
    responses = [_hex(d, 32, "a response digest") for d in batch]
    if not 0 <= index < len(listed) or listed[index] != digest:
        raise VerificationError("receipt", "the receipt does not cover this answer's statement")
    if not 0 <= at < len(responses) or responses[at] != response_digest(listed):
        raise VerificationError("receipt", "the receipt's batch does not hold this response")
    return batch_message(responses)


def check_receipt(public_key: bytes, receipt: dict, index: int, digest: bytes) -> bool:
    """Check that ``digest`` is item ``index`` of a response that ``public_key`` signed.

    Raises:
        VerificationError: the statement is not covered (:func:`covered`), or the signature
            fails.
    """
    message = covered(receipt, index, digest)
    if not _bls().Verify(public_key, message, _hex(receipt.get("signature"), 96, "a signature")):
        raise VerificationError("receipt", "the receipt's signature is invalid")
    return True
