"""Write the golden proof of the current format version (run after bumping FORMAT_VERSION).

Usage: ``python tests/golden/regenerate.py`` from the repository root. Proofs are deterministic
(Fiat-Shamir, no randomness), so running it twice gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import zkinfer
from zkinfer.models import tiny_decoder, tiny_mlp
from zkinfer.proof import FORMAT_VERSION

IDS = [104, 105, 33, 7]
#: The tiny decoder's golden statement: a prompt and the limit of its greedy answer.
PROMPT, MAX_NEW = [5, 17, 42, 99, 7], 6


def main() -> None:
    out = Path(__file__).parent
    vk, pk = zkinfer.setup(tiny_mlp())
    ids = np.array(IDS, dtype=np.int64)
    proof = zkinfer.prove(pk, ids)
    name = f"tiny_mlp_v{FORMAT_VERSION}"
    (out / f"{name}.vk").write_bytes(vk.to_bytes())
    (out / f"{name}.proof").write_bytes(proof.to_bytes())
    meta = {"ids": IDS, "output": [int(x) for x in proof.output], "format_version": FORMAT_VERSION}
    (out / f"{name}.json").write_text(json.dumps(meta))
    vk, pk = zkinfer.setup(tiny_decoder())
    proof = zkinfer.prove(pk, PROMPT, max_new_tokens=MAX_NEW)
    name = f"tiny_decoder_v{FORMAT_VERSION}"
    (out / f"{name}.vk").write_bytes(vk.to_bytes())
    (out / f"{name}.proof").write_bytes(proof.to_bytes())
    meta = {"ids": PROMPT, "output": [int(x) for x in proof.output], "max_new_tokens": MAX_NEW,
            "format_version": FORMAT_VERSION}
    (out / f"{name}.json").write_text(json.dumps(meta))
    print(f"wrote {name}: proof {len(proof.to_bytes())} bytes")


if __name__ == "__main__":
    main()
