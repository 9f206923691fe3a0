"""Shared test configuration: hypothesis profiles and the galois oracle fields.

Profiles: ``dev`` (default, quick: 60 examples), ``ci`` (selected when ``CI`` is set, or with
``HYPOTHESIS_PROFILE=ci``: derandomized so a CI failure reproduces, 100 examples). Both have
``deadline=None`` because the first call of a Numba kernel may compile (or load from the cache)
inside an example. The central properties (field laws, sumcheck completeness and soundness,
LogUp, honest proofs verify) set their own budgets with :func:`examples`, larger under ``ci``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
#: The profile in use: ``HYPOTHESIS_PROFILE`` if set, else ``ci`` when ``CI`` is set, else ``dev``.
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)


def examples(dev: int, ci: int) -> int:
    """The example budget of a central property (an explicit ``max_examples``, which overrides
    the profile's): ``dev`` in a local run, ``ci`` under the ``ci`` profile, which is
    derandomized, so the larger budget buys coverage without making CI flaky."""
    return ci if PROFILE == "ci" else dev


def written(obj) -> bytes:
    """The bytes ``obj.write`` writes (a proof, a step: anything with ``write(Writer)``)."""
    from zkinfer.codec import Writer

    w = Writer()
    obj.write(w)
    return w.finish()

P = 2**64 - 2**32 + 1


@pytest.fixture(scope="session")
def gf():
    """``galois.GF(p)``, constructed with an explicit generator (fast, no primality search)."""
    galois = pytest.importorskip("galois")
    return galois.GF(P, primitive_element=7, verify=False)


@pytest.fixture(scope="session")
def gf2(gf):
    """``galois.GF(p^2)`` with modulus ``x^2 - 7`` (vectors are ``[c1, c0]``)."""
    import galois

    return galois.GF(
        P**2,
        irreducible_poly=galois.Poly([1, 0, P - 7], field=gf),
        primitive_element=galois.Poly([1, 1], field=gf),
        verify=False,
    )
