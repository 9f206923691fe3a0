"""Shared helpers of the commitment tests: the schemes under test and honest openings."""

from __future__ import annotations

import numpy as np

from zkinfer.commit import PCS, LigeroPCS, OpeningClaim, TrivialPCS, WhirPCS
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear
from zkinfer.transcript import Transcript

WHIR_TEST = WhirPCS(target_bits=32, max_vars=24)
"""WHIR with few queries (32 bits) so the shared suites stay fast; ``test_whir_pcs.py`` also runs
the default parameters."""

SCHEMES: list[PCS] = [TrivialPCS(), LigeroPCS(log_blowup=1), LigeroPCS(log_blowup=2), WHIR_TEST]
SCHEME_IDS = ["trivial", "ligero-rate1/2", "ligero-rate1/4", "whir-test"]
LIGERO = SCHEMES[1:3]
LIGERO_IDS = SCHEME_IDS[1:3]

DOMAIN = b"zkinfer/tests/commit"


def transcript(domain: bytes = DOMAIN) -> Transcript:
    """A fresh transcript with some prior protocol messages absorbed."""
    t = Transcript(domain)
    t.append_bytes(b"test/prior", b"earlier protocol messages")
    return t


def random_batch(rng: np.random.Generator, sizes: list[int]) -> list[np.ndarray]:
    """Random evaluation tables of ``2^n`` entries for each ``n`` in ``sizes``."""
    return [gl.random(1 << n, rng) for n in sizes]


def honest(pcs: PCS, polys: list[np.ndarray], points: list[tuple[int | None, np.ndarray]]):
    """Commit, open honestly; returns ``(commitment, proof, claims with values)``."""
    com, data = pcs.commit(polys)
    claims = [OpeningClaim(k, p) for k, p in points]
    proof = pcs.open(data, claims, transcript())
    vector = data.vector
    valued = []
    for k, p in points:
        table = polys[k] if k is not None else vector
        valued.append(OpeningClaim(k, p, multilinear.evaluate(table, p)))
    return com, proof, valued


def single(pcs: PCS, n: int, seed: int = 0):
    """An honest opening of one random ``n``-variable polynomial at a random point."""
    rng = np.random.default_rng(seed)
    polys = random_batch(rng, [n])
    return honest(pcs, polys, [(0, ext.random(n, rng))])
