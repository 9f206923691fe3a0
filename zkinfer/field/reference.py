"""Pure-Python twins of the field kernels, on Python integers.

Slow and obviously correct: the tests compare every Numba kernel and every numpy function with
these. An extension element is a tuple ``(c0, c1)`` meaning ``c0 + c1*X`` with ``X^2 = 7``.
"""

from __future__ import annotations

P = 2**64 - 2**32 + 1
W = 7

Ext = tuple[int, int]


def add(a: int, b: int) -> int:
    return (a + b) % P


def sub(a: int, b: int) -> int:
    return (a - b) % P


def neg(a: int) -> int:
    return -a % P


def mul(a: int, b: int) -> int:
    return a * b % P


def power(a: int, e: int) -> int:
    return pow(a, e, P)


def inv(a: int) -> int:
    if a % P == 0:
        raise ZeroDivisionError("inverse of zero in F_p")
    return pow(a, P - 2, P)


def encode_signed(x: int) -> int:
    return x % P


def decode_signed(a: int) -> int:
    return a - P if a > P // 2 else a


def ext_add(a: Ext, b: Ext) -> Ext:
    return (a[0] + b[0]) % P, (a[1] + b[1]) % P


def ext_sub(a: Ext, b: Ext) -> Ext:
    return (a[0] - b[0]) % P, (a[1] - b[1]) % P


def ext_mul(a: Ext, b: Ext) -> Ext:
    return (a[0] * b[0] + W * a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P


def ext_power(a: Ext, e: int) -> Ext:
    result: Ext = (1, 0)
    while e:
        if e & 1:
            result = ext_mul(result, a)
        a = ext_mul(a, a)
        e >>= 1
    return result


def ext_inv(a: Ext) -> Ext:
    norm = (a[0] * a[0] - W * a[1] * a[1]) % P
    n_inv = inv(norm)
    return a[0] * n_inv % P, -a[1] * n_inv % P
