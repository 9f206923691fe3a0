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
- the signed message of a response: ``SHA-256("zkinfer-receipt/v1" || u32 count || the items'
  statement digests in order)``: one signature per response (a signature costs about a
  second in pure Python), which each item checks by recomputing its own digest at its index.

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

__all__ = ["SCHEME", "statement_digest", "receipt_message", "Signer", "check_receipt",
           "check_public_key", "available"]

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


def receipt_message(digests: list[bytes]) -> bytes:
    """The signed message of a response's statement digests."""
    h = hashlib.sha256(b"zkinfer-receipt/v1")
    h.update(struct.pack("<I", len(digests)))
    for d in digests:
        if len(d) != 32:
            raise InvalidArgumentError("a statement digest is 32 bytes")
        h.update(d)
    return h.digest()


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

    def sign(self, digests: list[bytes]) -> str:
        """The signature (hex) of a response's statement digests."""
        return _bls().Sign(self._sk, receipt_message(digests)).hex()


def _hex(value: str, n: int, what: str) -> bytes:
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


def check_receipt(public_key: bytes, signature: str, digests: list[str], index: int,
                  digest: bytes) -> bool:
    """Check that ``digest`` is item ``index`` of a response signed by ``public_key``.

    Raises:
        VerificationError: the digest is not at its index, or the signature fails.
    """
    listed = [_hex(d, 32, "a statement digest") for d in digests]
    if not 0 <= index < len(listed) or listed[index] != digest:
        raise VerificationError("receipt", "the receipt does not cover this answer's statement")
    if not _bls().Verify(public_key, receipt_message(listed), _hex(signature, 96, "a signature")):
        raise VerificationError("receipt", "the receipt's signature is invalid")
    return True
