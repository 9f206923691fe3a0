"""Signed receipts without a server: a batch signature covers each response's statements; a
statement, response or batch position other than the signed one is refused, as is a signature
under another key; the secret key is kept (mode 0600) across restarts."""

from __future__ import annotations

import stat

import pytest

from zkinfer.errors import InvalidArgumentError, VerificationError

pytest.importorskip("py_ecc")

from zkinfer.service.receipts import (  # noqa: E402
    Signer,
    check_public_key,
    check_receipt,
    covered,
    response_digest,
    statement_digest,
)

KEY = "ab" * 32


def _statements(n: int, proof: str) -> list[bytes]:
    return [statement_digest(KEY, f"{proof}_{i}", [1, 2, i], [7, -8], None) for i in range(n)]


def test_a_batch_signature_covers_every_response_and_nothing_else(tmp_path):
    signer = Signer(tmp_path)
    responses = [_statements(2, "a"), _statements(1, "b"), _statements(3, "c")]
    batch = [response_digest(r) for r in responses]
    signature = signer.sign(batch)
    receipts = [{"signature": signature, "statement_digests": [d.hex() for d in r],
                 "batch": [d.hex() for d in batch], "batch_index": k}
                for k, r in enumerate(responses)]
    pk = check_public_key(signer.public()["public_key"], signer.public()["pop"])
    assert check_receipt(pk, receipts[2], 1, responses[2][1])
    message = covered(receipts[0], 0, responses[0][0])
    assert all(covered(r, i, d) == message for r, resp in zip(receipts, responses)
               for i, d in enumerate(resp))
    # another statement: another output, another max_new_tokens, another proof id
    for other in (statement_digest(KEY, "a_0", [1, 2, 0], [7, -9], None),
                  statement_digest(KEY, "a_0", [1, 2, 0], [7, -8], 4),
                  statement_digest(KEY, "a_1", [1, 2, 0], [7, -8], None)):
        with pytest.raises(VerificationError, match="does not cover"):
            covered(receipts[0], 0, other)
    with pytest.raises(VerificationError, match="batch does not hold"):
        covered({**receipts[0], "batch_index": 1}, 0, responses[0][0])
    forged = {**receipts[1], "batch": [d.hex() for d in batch[:2]]}  # a batch never signed
    with pytest.raises(VerificationError, match="signature is invalid"):
        check_receipt(pk, forged, 0, responses[1][0])
    other = Signer(tmp_path / "other")
    with pytest.raises(VerificationError, match="signature is invalid"):
        check_receipt(other.public_key, receipts[2], 1, responses[2][1])
    with pytest.raises(VerificationError, match="malformed"):
        covered({"signature": signature}, 0, responses[0][0])


def test_the_secret_key_is_private_and_kept(tmp_path):
    first = Signer(tmp_path)
    path = tmp_path / "receipt.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Signer(tmp_path).public_key == first.public_key
    path.write_bytes(b"\0" * 32)
    with pytest.raises(InvalidArgumentError, match="not a BLS12-381 secret key"):
        Signer(tmp_path)
    with pytest.raises(VerificationError, match="proof of possession"):
        check_public_key(first.public()["public_key"], Signer(tmp_path / "x").public()["pop"])
    with pytest.raises(InvalidArgumentError):
        first.sign([])
