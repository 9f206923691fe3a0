"""Verification time of saved proofs, in this fresh process (the proof's statement is its own:
its input and output fields).

Run: ``python benchmarks/verify_time.py VK PROOF [--repeat 3]``, e.g. on the files that
``benchmarks/llm_proof.py --json DIR/llm_proof.json`` or ``benchmarks/gpt2_shape.py --out DIR``
write. Reported: the key and proof decoding, then each ``zkinfer.verify`` (default security floor)
in wall and CPU seconds, and the fastest; a machine that runs other work shows it as CPU time well
below the wall time.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vk", help="verifying key file")
    ap.add_argument("proof", help="proof file")
    ap.add_argument("--repeat", type=int, default=3, help="verifications (default 3)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import zkinfer
    from zkinfer.proof import Proof, VerifyingKey

    vk = VerifyingKey.from_bytes(open(args.vk, "rb").read())
    proof = Proof.from_bytes(open(args.proof, "rb").read())
    print(f"import and decode {time.perf_counter() - t0:.2f} s")
    walls = []
    for i in range(max(1, args.repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        zkinfer.verify(vk, proof.ids, proof.output, proof)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        walls.append(wall)
        print(f"verify {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"fastest {min(walls):.2f} s")


if __name__ == "__main__":
    main()
