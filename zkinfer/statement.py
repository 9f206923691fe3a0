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

__all__ = ["int64_vector", "token_ids", "Answer"]


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


class Answer:
    """A decoder's public statement: a prompt, the greedy answer that follows it, and the rule
    that ended the answer.

    The model's causal forward runs over ``prompt + generated[:-1]`` (``n = P + m - 1``
    positions, ``P`` prompt and ``m`` generated tokens); position ``i``'s logits choose token
    ``i + 1``. The circuit's public output is the greedy token of every position:
    ``predictions`` (positions ``0 .. P-2``, inside the prompt, where the prompt's own next
    token need not be the greedy one) followed by ``generated`` (positions ``P-1 .. n-1``). The
    stop rule (:meth:`check`): no stop id before the last generated token, and the last is a
    stop id or the answer has ``max_new_tokens`` tokens.

    Attributes:
        prompt: int64 ``(P,)``.
        generated: int64 ``(m,)``.
        max_new_tokens: the generation limit the answer was produced under.
        predictions: int64 ``(P - 1,)``.
    """

    __slots__ = ("prompt", "generated", "max_new_tokens", "predictions")

    def __init__(self, prompt, generated, max_new_tokens: int, predictions) -> None:
        self.prompt = int64_vector(prompt, "prompt ids")
        self.generated = int64_vector(generated, "generated ids")
        self.predictions = int64_vector(predictions, "predictions")
        if isinstance(max_new_tokens, (bool, np.bool_)) or not isinstance(
                max_new_tokens, (int, np.integer)):
            raise InvalidArgumentError(f"max_new_tokens must be an int, got {max_new_tokens!r}")
        self.max_new_tokens = int(max_new_tokens)

    @property
    def ids(self) -> npt.NDArray[np.int64]:
        """The forward's token ids: ``prompt + generated[:-1]``."""
        return np.concatenate([self.prompt, self.generated[:-1]])

    @property
    def output(self) -> npt.NDArray[np.int64]:
        """The circuit's output, the greedy token of every position: ``predictions + generated``."""
        return np.concatenate([self.predictions, self.generated])

    def check(self, vocab_size: int, max_len: int, stop_ids) -> None:
        """The stop rule and the sizes (module docstring of the class).

        Raises:
            InvalidArgumentError: an empty prompt or answer, ``max_new_tokens`` below the
                answer's length, a stop id inside the answer, an answer that ends without a
                stop id before ``max_new_tokens``, predictions of the wrong length, an id
                outside the vocabulary, or more than ``max_len`` positions.
        """
        P, m = self.prompt.shape[0], self.generated.shape[0]
        if P < 1 or m < 1:
            raise InvalidArgumentError(f"a prompt and an answer of at least one token each "
                                       f"(got {P} and {m})")
        if not m <= self.max_new_tokens <= 1 << 20:
            raise InvalidArgumentError(f"max_new_tokens = {self.max_new_tokens} is below the "
                                       f"answer's {m} tokens (or above 2^20)")
        if self.predictions.shape[0] != P - 1:
            raise InvalidArgumentError(f"{self.predictions.shape[0]} predictions for a prompt "
                                       f"of {P} tokens (expected {P - 1})")
        token_ids(self.ids, vocab_size, max_len, "the forward's ids")
        for what, arr in (("generated ids", self.generated), ("predictions", self.predictions)):
            if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
                raise InvalidArgumentError(f"{what} must be in [0, {vocab_size})")
        stops = {int(s) for s in np.asarray(stop_ids).reshape(-1)}
        early = [i for i, t in enumerate(self.generated[:-1].tolist()) if t in stops]
        if early:
            raise InvalidArgumentError(f"the answer goes on after a stop token (position "
                                       f"{early[0]} of {m})")
        if int(self.generated[-1]) not in stops and m != self.max_new_tokens:
            raise InvalidArgumentError(f"the answer ends after {m} tokens without a stop token "
                                       f"and below max_new_tokens = {self.max_new_tokens}")
