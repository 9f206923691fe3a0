"""Evaluation claims: what a relation leaves for a later relation or a PCS opening to prove."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Claim"]


@dataclass(frozen=True, eq=False)
class Claim:
    """``poly(point) == value``.

    Attributes:
        poly: the name of the (committed or public) multilinear, e.g. ``"layer0.ffn.w1"``.
        point: extension point, shape ``(n, 2)``, variable 1 first (the index's top bit).
        value: extension element, shape ``(2,)``.
    """

    poly: str
    point: npt.NDArray[np.uint64]
    value: npt.NDArray[np.uint64]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Claim)
            and self.poly == other.poly
            and np.array_equal(self.point, other.point)
            and np.array_equal(self.value, other.value)
        )

    __hash__ = None  # type: ignore[assignment]
