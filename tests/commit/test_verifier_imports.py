"""The verifier side imports no numba: a fresh interpreter verifies proofs loaded from bytes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np

from zkinfer.commit import OpeningClaim
from zkinfer.commit.base import Parts
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript

from .helpers import SCHEMES, single

_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from zkinfer.commit import OpeningClaim, LigeroPCS, TrivialPCS, WhirPCS
    from zkinfer.commit.ligero import verify  # noqa: F401  (the verifier module itself)
    from zkinfer.errors import ProofFormatError, VerificationError
    from zkinfer.transcript import Transcript

    cases = json.load(sys.stdin)  # produced by the parent test; bytes as hex
    schemes = {"trivial": TrivialPCS(), "ligero1": LigeroPCS(1), "ligero2": LigeroPCS(2),
               "whir": WhirPCS(target_bits=32, max_vars=24)}
    for name, com, proof, claims, domain in cases:
        com, proof, domain = bytes.fromhex(com), bytes.fromhex(proof), bytes.fromhex(domain)
        pcs = schemes[name]
        claims = [OpeningClaim(k, np.array(p, dtype=np.uint64), np.array(v, dtype=np.uint64))
                  for k, p, v in claims]
        t = Transcript(domain)
        t.append_bytes(b"test/prior", b"earlier protocol messages")
        pcs.verify(com, claims, proof, t)
        bad = bytearray(proof)
        bad[-1] ^= 1
        t = Transcript(domain)
        t.append_bytes(b"test/prior", b"earlier protocol messages")
        try:
            pcs.verify(com, claims, bytes(bad), t)
        except (VerificationError, ProofFormatError):
            pass
        else:
            raise SystemExit("tampered proof accepted")
    banned = [m for m in sys.modules if m == "numba" or m.startswith("numba.")
              or m.endswith("._kernels") or m in ("zkinfer.poly.fast", "zkinfer.poly.ntt",
                                                   "zkinfer.commit.ligero.prover",
                                                   "zkinfer.commit.whir.prover",
                                                   "zkinfer.commit.whir.pcs_prover")]
    if banned:
        raise SystemExit(f"verifier imported {banned}")
    print("ok", len(cases))
    """
)


def test_verifier_runs_without_numba():
    names = ["trivial", "ligero1", "ligero2", "whir"]
    cases = []
    for name, pcs in zip(names, SCHEMES, strict=True):
        for n in (0, 5, 11):
            com, proof, claims = single(pcs, n, seed=n)
            cases.append((
                name,
                com.to_bytes().hex(),
                proof.to_bytes().hex(),
                [(c.poly, np.asarray(c.point).tolist(), np.asarray(c.value).tolist())
                 for c in claims],
                b"zkinfer/tests/commit".hex(),
            ))
        # a commitment made of parts: claims on two parts and on the whole vector
        parts = Parts(6, (64, 20, 3))
        rng = np.random.default_rng(len(cases))
        vectors = [gl.random(u, rng) for u in parts.used]
        com, data = pcs.commit_parts(parts, vectors)
        points = [(0, ext.random(6, rng)), (2, ext.random(6, rng)), (None, ext.random(8, rng))]
        claims = [OpeningClaim(k, p, data.evaluate(k, p)) for k, p in points]
        t = Transcript(b"zkinfer/tests/commit")
        t.append_bytes(b"test/prior", b"earlier protocol messages")
        proof = pcs.open(data, claims, t)
        cases.append((name, com.to_bytes().hex(), proof.to_bytes().hex(),
                      [(c.poly, np.asarray(c.point).tolist(), np.asarray(c.value).tolist())
                       for c in claims], b"zkinfer/tests/commit".hex()))
    assert all(isinstance(c, OpeningClaim) for c in single(SCHEMES[0], 1)[2])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(cases).encode(),
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode() + out.stdout.decode()
    assert out.stdout.decode().strip() == f"ok {len(cases)}"
