"""Hooks for tests of the verifier: proofs of traces the honest prover would never make.

Nothing here is needed to prove or verify. A test that forges a trace (a column changed, a value
outside its range) proves it with :func:`prove_trace` and checks that the verifier rejects the
proof, naming the check that fails.
"""

from __future__ import annotations

import numpy as np

__all__ = ["prove_trace"]


def prove_trace(pk, ids: np.ndarray, columns: dict[str, np.ndarray], output: np.ndarray, *,
                strict: bool = True, answer=None):
    """Prove a given trace with the honest schedule (the honest trace comes from
    :func:`zkinfer.prove`): a trace that breaks the model's semantics yields a proof the
    verifier rejects.

    Arguments:
        pk: the proving key.
        ids: the token ids of the statement.
        columns: every trace column by name (real shapes, integers).
        output: the public output of the statement.
        strict: with ``False``, values outside their range checks are committed anyway (their
            limbs keep the low bits), to test that the verifier rejects such proofs.
        answer: a decoder's statement (:class:`~zkinfer.statement.Answer`; then ``ids`` and
            ``output`` are the forward's ids and the greedy token of every position).

    Returns:
        The :class:`~zkinfer.proof.Proof`.

    Raises:
        ModelError: a trace value does not fit the circuit's range checks (``strict``).
    """
    from zkinfer.prover import _prove_trace

    return _prove_trace(pk, np.asarray(ids, dtype=np.int64), columns,
                        np.asarray(output, dtype=np.int64), strict=strict, answer=answer)
