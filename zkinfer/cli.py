"""The ``zkinfer`` command.

Sub-commands:

- ``zkinfer demo [--text T] [--out DIR] [--model tiny|tiny-mlp]``: set up, prove and verify the
  built-in tiny model, print what was proven with times, sizes and the security level, and
  write the verifying key, the proof and a JSON summary to ``DIR``.
- ``zkinfer selfcheck [--log-n N]``: exercise field, NTT and sumcheck and print what was checked.

Exit status: 0 on success, 1 when a check or a verification fails, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys

from zkinfer.errors import ZkinferError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zkinfer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="prove and verify the built-in tiny model")
    demo.add_argument("--text", default="zkinfer proves inference",
                      help="input text; its UTF-8 bytes are the token ids (at most 32)")
    demo.add_argument("--model", choices=("tiny", "tiny-mlp"), default="tiny")
    demo.add_argument("--out", default="zkinfer-demo", help="directory for the files written")
    check = sub.add_parser("selfcheck", help="check field, NTT and sumcheck on this machine")
    check.add_argument("--log-n", type=int, default=16, help="instance size 2^N (4..24, default 16)")
    check.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args, parser)
    if args.command == "selfcheck":
        if not 4 <= args.log_n <= 24:
            parser.error("--log-n must be in 4..24")
        from zkinfer import selfcheck

        try:
            selfcheck.run(args.log_n, args.seed)
        except (RuntimeError, ZkinferError) as exc:
            print(f"zkinfer: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def _demo(args, parser) -> int:
    import json
    import time
    from pathlib import Path

    import numpy as np

    import zkinfer
    from zkinfer.models import tiny, tiny_mlp
    from zkinfer.proof import soundness_bits

    ids = np.frombuffer(args.text.encode(), dtype=np.uint8).astype(np.int64)
    if not 1 <= ids.shape[0] <= 32:
        parser.error("--text must be 1..32 bytes (the tiny model reads at most 32 tokens)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = tiny() if args.model == "tiny" else tiny_mlp()
    cfg = model.config
    print(f"model: built-in {args.model} ({cfg.n_layers} layers, d_model {cfg.d_model}, "
          f"{cfg.block}), input {ids.shape[0]} tokens: {args.text!r}")
    t0 = time.perf_counter()
    vk, pk = zkinfer.setup(model)
    t_setup = time.perf_counter() - t0
    print(f"setup:  {t_setup:7.2f} s  (weights committed; the first run also compiles kernels)")
    t0 = time.perf_counter()
    proof = zkinfer.prove(pk, ids)
    t_prove = time.perf_counter() - t0
    data = proof.to_bytes()
    print(f"prove:  {t_prove:7.2f} s  proof {len(data) / 1e3:.0f} kB")
    t0 = time.perf_counter()
    try:
        zkinfer.verify(vk.to_bytes(), ids, proof.output, data)
    except ZkinferError as exc:  # pragma: no cover - an honest proof verifies
        print(f"zkinfer: verification failed: {exc}", file=sys.stderr)
        return 1
    t_verify = time.perf_counter() - t0
    bits = soundness_bits(proof, pk.pcs.security_bits)
    print(f"verify: {t_verify:7.2f} s  accepted; soundness {bits:.1f} bits ({pk.pcs!r})")
    print(f"proved: the committed model maps these {ids.shape[0]} tokens to the pooled output "
          f"(int, first 8 of {proof.output.shape[0]}): {proof.output[:8].tolist()}")
    (out / "vk.bin").write_bytes(vk.to_bytes())
    (out / "proof.zkp").write_bytes(data)
    summary = {"model": args.model, "tokens": ids.tolist(), "output": proof.output.tolist(),
               "setup_s": t_setup, "prove_s": t_prove, "verify_s": t_verify,
               "proof_bytes": len(data), "vk_bytes": len(vk.to_bytes()), "soundness_bits": bits}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {out / 'vk.bin'}, {out / 'proof.zkp'}, {out / 'summary.json'}")
    return 0
