"""Proving cost at GPT-2-124M's shape, with seeded random weights (cost does not depend on the
values; GPT-2's real weights do not ship offline).

Run: ``python benchmarks/gpt2_shape.py [--tokens 128] [--layers 12]``.

The model is this library's pre-norm transformer at GPT-2-124M's sizes: 12 blocks, width 768,
12 heads, FFN 3072 (GELU), vocabulary 50257, learned positions, LayerNorm, biases. It is **not
yet GPT-2**: attention is not causal and the output is the mean-pooled last hidden state rather
than the LM head's logits and their argmax (decoder support is issue 15's work in progress), so
the figures are a lower bound on a GPT-2 proof's cost (the LM head over 50257 entries adds a
product with the 38.6 M-entry embedding table). Reported: model build, setup, integer forward,
prove, verify, proof bytes, the ratio of proving to the integer forward, and the process's
peak resident memory (setup included).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--layers", type=int, default=12)
    args = ap.parse_args()

    import zkinfer
    from zkinfer.model.config import TransformerConfig
    from zkinfer.model.forward import forward
    from zkinfer.models import random_transformer

    cfg = TransformerConfig(n_layers=args.layers, d_model=768, n_heads=12, d_ff=3072,
                            max_seq_len=max(128, args.tokens), vocab_size=50257, norm="pre",
                            activation="gelu")
    t0 = time.perf_counter()
    model = random_transformer(cfg, seed=0)
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    vk, pk = zkinfer.setup(model)
    t_setup = time.perf_counter() - t0
    ids = (np.arange(args.tokens, dtype=np.int64) * 7919 + 11) % cfg.vocab_size
    forward(model, ids)  # kernels loaded
    t0 = time.perf_counter()
    forward(model, ids)
    t_fwd = time.perf_counter() - t0
    t0 = time.perf_counter()
    proof = zkinfer.prove(pk, ids)
    t_prove = time.perf_counter() - t0
    data = proof.to_bytes()
    t0 = time.perf_counter()
    zkinfer.verify(vk, ids, proof.output, data)
    t_verify = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"GPT-2-124M shape (encoder proxy), {args.layers} blocks, {args.tokens} tokens")
    print(f"model {t_model:.1f} s, setup {t_setup:.1f} s, integer forward {t_fwd:.2f} s")
    print(f"prove {t_prove:.1f} s ({t_prove / t_fwd:.0f}x the integer forward), "
          f"verify {t_verify:.2f} s, proof {len(data):,} bytes, peak {peak / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
