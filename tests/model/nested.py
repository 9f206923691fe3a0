"""Walking a nested dataclass (an integer model's parameters) for tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np


def tokens(obj: object) -> Iterator[tuple[str, object]]:
    """Depth first: ``("field", name)`` before each dataclass field's value, ``("key", repr(k))``
    before each dict value (keys sorted), ``("array", a)`` for each numpy array and
    ``("scalar", x)`` for anything else; lists and tuples are walked in order."""
    if isinstance(obj, np.ndarray):
        yield "array", obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield "field", f.name
            yield from tokens(getattr(obj, f.name))
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            yield from tokens(x)
    elif isinstance(obj, dict):
        for k in sorted(obj):
            yield "key", repr(k)
            yield from tokens(obj[k])
    else:
        yield "scalar", obj


def arrays(obj: object) -> list[np.ndarray]:
    """Every numpy array of ``obj`` (:func:`tokens`)."""
    return [v for kind, v in tokens(obj) if kind == "array"]
