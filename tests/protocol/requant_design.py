"""The standalone requantization of the tests: ``out = clamp((acc m + 2^(s-1)) >> s, lo, hi)``
with the quotient ``q`` committed (the circuit makes ``q`` the linear column
``out - below + above`` instead), its witness, identities and range checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.protocol.constraints import Identity
from zkinfer.protocol.requant import rounding_and_clamp

_HALF_P_BITS = 62  # every integer identity here stays below 2^62 < p / 2


@dataclass(frozen=True)
class RangeCheck:
    """``0 <= scale * column + offset < 2^bits`` (``scale`` is +1 or -1)."""

    column: str
    bits: int
    scale: int = 1
    offset: int = 0

    def values(self, column: npt.ArrayLike) -> np.ndarray:
        """The checked integers ``scale * column + offset``."""
        return self.scale * np.asarray(column, dtype=np.int64) + self.offset


@dataclass(frozen=True)
class RequantSpec:
    """One requantization: column prefix, shift, clamp bounds and declared widths.

    Attributes:
        name: prefix of the columns (``name.q``, ``name.rem``, ...); ``acc`` and ``m`` are named
            by the caller.
        shift: ``s >= 1``.
        lo, hi: clamp bounds, ``lo < hi``.
        acc_bits: declared signed width of ``acc``; m_bits: signed width of the multipliers.
    """

    name: str
    shift: int
    lo: int
    hi: int
    acc_bits: int
    m_bits: int

    def __post_init__(self) -> None:
        if self.shift < 1 or self.lo >= self.hi:
            raise FieldRangeError(f"{self.name}: need shift >= 1 and lo < hi")
        if self.acc_bits + self.m_bits > _HALF_P_BITS:
            raise FieldRangeError(f"{self.name}: acc * m may reach 2^{self.acc_bits + self.m_bits},"
                                  " beyond p / 2")

    @property
    def q_bits(self) -> int:
        """Width of ``below`` / ``above``: ``|q| < 2^(acc_bits + m_bits - 1 - s) + 1``."""
        return max(1, self.acc_bits + self.m_bits - self.shift + 1)


def requant_witness(acc: npt.ArrayLike, m: npt.ArrayLike, spec: RequantSpec) -> dict[str, np.ndarray]:
    """The advice columns for integer ``acc`` (``(rows, channels)``) and multipliers ``m``."""
    a = np.asarray(acc, dtype=np.int64)
    pre = a * np.asarray(m, dtype=np.int64)[None, :] + (1 << (spec.shift - 1))
    q = pre >> spec.shift
    out = np.clip(q, spec.lo, spec.hi)
    return {
        f"{spec.name}.q": q,
        f"{spec.name}.rem": pre - (q << spec.shift),
        f"{spec.name}.out": out,
        f"{spec.name}.below": np.maximum(spec.lo - q, 0),
        f"{spec.name}.above": np.maximum(q - spec.hi, 0),
    }


def requant_identities(spec: RequantSpec, acc: str, m: str) -> list[Identity]:
    """The four identities for ``pre = acc m`` (``m`` names a public column)."""
    return rounding_and_clamp(spec.name, [(1, [acc, m])], spec.shift, spec.lo, spec.hi)


def requant_ranges(spec: RequantSpec) -> list[RangeCheck]:
    """The range checks that make the identities exact (see the module docstring)."""
    n = spec.name
    span = spec.hi - spec.lo
    out_bits = max(1, span.bit_length())
    checks = [
        RangeCheck(f"{n}.rem", spec.shift),
        RangeCheck(f"{n}.below", spec.q_bits),
        RangeCheck(f"{n}.above", spec.q_bits),
        RangeCheck(f"{n}.out", out_bits, offset=-spec.lo),  # out - lo >= 0
    ]
    if (1 << out_bits) - 1 != span:
        # out - lo < 2^bits is looser than out <= hi: also check hi - out >= 0
        checks.append(RangeCheck(f"{n}.out", out_bits, scale=-1, offset=spec.hi))
    return checks
