"""Shared test configuration: hypothesis profiles and the galois oracle fields.

Profiles: ``dev`` (default, quick), ``ci`` (selected when ``CI`` is set: derandomized so a CI
failure reproduces). Both have ``deadline=None`` because the first call of a Numba kernel may
compile (or load from the cache) inside an example.
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
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

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
