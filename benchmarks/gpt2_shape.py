"""Proving cost at GPT-2-124M's shape, with seeded random weights (cost does not depend on the
values; GPT-2's real weights do not ship offline).

Run: ``python benchmarks/gpt2_shape.py [--tokens 128] [--layers 12] [--new 2] [--out DIR]``
(``--out``: also write ``vk.bin`` and ``proof.zkp`` there, to re-verify in a fresh process with
``zkinfer verify``).

The model is this library's GPT-2-style decoder (``block="gpt2"``) at GPT-2-124M's sizes: 12
blocks, width 768, 12 heads, FFN 3072 (GELU), vocabulary 50257, learned positions, LayerNorm,
biases, causal attention and the LM head tied to the token table, with greedy decoding. The
statement is a prompt of ``tokens - new + 1`` ids and a greedy answer of ``new`` ids, so the
proven forward covers ``tokens`` positions (every position's logits, argmax over the whole
vocabulary). Reported: model build, setup, integer forward, prove, verify, proof bytes, the
ratio of proving to the integer forward, and the process's peak resident memory (setup
included). The float weights are calibrated with bidirectional attention (the quantizer's float
forward); the integer model is causal (scales only; the widths are worst-case bounds either way).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=128, help="positions of the proven forward")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--new", type=int, default=2, help="generated tokens (max_new_tokens)")
    ap.add_argument("--out", help="directory to write vk.bin and proof.zkp to")
    args = ap.parse_args()

    import zkinfer
    from zkinfer.model.config import TransformerConfig
    from zkinfer.model.forward import forward
    from zkinfer.models import random_transformer

    cfg = TransformerConfig(n_layers=args.layers, d_model=768, n_heads=12, d_ff=3072,
                            max_seq_len=max(128, args.tokens), vocab_size=50257, norm="pre",
                            activation="gelu", block="gpt2")
    t0 = time.perf_counter()
    model = random_transformer(cfg, seed=0)
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    vk, pk = zkinfer.setup(model)
    t_setup = time.perf_counter() - t0
    prompt = (np.arange(args.tokens - args.new + 1, dtype=np.int64) * 7919 + 11) % cfg.vocab_size
    t0 = time.perf_counter()
    proof = zkinfer.prove(pk, prompt, max_new_tokens=args.new)
    t_prove = time.perf_counter() - t0
    ids = np.concatenate([prompt, proof.output[:-1]])
    forward(model, ids)  # kernels loaded
    t0 = time.perf_counter()
    forward(model, ids)
    t_fwd = time.perf_counter() - t0
    data = proof.to_bytes()
    from zkinfer.security import soundness

    bits = soundness(vk, proof).interactive_bits
    if args.out:
        from pathlib import Path

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "vk.bin").write_bytes(vk.to_bytes())
        (out / "proof.zkp").write_bytes(data)
    t0, c0 = time.perf_counter(), time.process_time()
    zkinfer.verify(vk, prompt, proof.output, data)  # at the default security floor
    t_verify, c_verify = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"GPT-2-124M shape (causal decoder, tied LM head), {args.layers} blocks, "
          f"{ids.shape[0]} positions ({prompt.shape[0]} prompt + {args.new} generated)")
    print(f"model {t_model:.1f} s, setup {t_setup:.1f} s, integer forward {t_fwd:.2f} s")
    print(f"prove {t_prove:.1f} s (includes generating {args.new} tokens by whole forwards; "
          f"{t_prove / t_fwd:.0f}x the integer forward), verify {t_verify:.2f} s "
          f"({c_verify:.2f} s CPU), "
          f"proof {len(data):,} bytes, peak {peak / 1e9:.2f} GB, "
          f"{bits:.1f} bits of interactive soundness")


if __name__ == "__main__":
    main()
