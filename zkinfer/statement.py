"""The public statement's arrays, checked once: token ids and integer vectors.

Every entry point that takes token ids (``zkinfer.prove``, the integer forward, the verifier,
the command line, the embedding relation) validates them with :func:`token_ids`, so a bad input
gets the same message everywhere; each layer reports it in its own terms (the verifier as a
rejected statement, the command line as a usage error). numpy only: the verifier imports it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zkinfer.errors import InvalidArgumentError

__all__ = ["int64_vector", "token_ids"]


def int64_vector(values: object, what: str) -> npt.NDArray[np.int64]:
    """``values`` as a C-contiguous 1-D ``int64`` array.

    Arguments:
        values: a 1-D integer array or sequence (an unsigned array is accepted when every value
            fits ``int64``: a ``uint64`` above ``2^63 - 1`` would otherwise wrap to a negative).
        what: the name used in messages (``"input ids"``, ``"output"``).

    Raises:
        InvalidArgumentError: text, not an array, not 1-D, not integers, or beyond ``int64``.
    """
    if isinstance(values, (str, bytes)):
        raise InvalidArgumentError(f"{what} must be a 1-D integer array, not text: tokenize "
                                   "first (e.g. zkinfer.models.minilm().tokenize(text)[0])")
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu") \
            or arr.dtype == object:
        got = "not an array" if arr is None else f"shape {arr.shape}, dtype {arr.dtype}"
        raise InvalidArgumentError(f"{what} must be a 1-D integer array, got "
                                   f"{type(values).__name__} ({got})")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise InvalidArgumentError(f"{what} holds a value beyond int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


def token_ids(ids: object, vocab_size: int | None = None, max_len: int | None = None,
              what: str = "ids") -> npt.NDArray[np.int64]:
    """Token ids as a C-contiguous 1-D ``int64`` array, within a model's bounds if given.

    Arguments:
        ids: a 1-D integer array or sequence.
        vocab_size: every id must lie in ``[0, vocab_size)`` (unchecked if ``None``).
        max_len: there must be ``1..max_len`` ids (unchecked if ``None``).
        what: the name used in the messages of :func:`int64_vector`.

    Raises:
        InvalidArgumentError: as :func:`int64_vector`, or a length or an id outside the bounds.
    """
    arr = int64_vector(ids, what)
    if max_len is not None and not 1 <= arr.shape[0] <= max_len:
        raise InvalidArgumentError(f"the input has {arr.shape[0]} tokens; this model reads "
                                   f"1..{max_len}")
    if vocab_size is not None and arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise InvalidArgumentError(f"token ids must be in [0, {vocab_size})")
    return arr
