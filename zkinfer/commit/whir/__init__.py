"""WHIR: a multilinear polynomial commitment with polylogarithmic proofs.

After Arnon, Chiesa, Fenzi, Yogev, "WHIR: Reed-Solomon Proximity Testing with Super-Fast
Verification" (eprint 2024/1586). The core (below) commits to **one** multilinear ``f`` over
Goldilocks and proves one weighted sum ``sum_b w(b) f(b) = sigma`` (an evaluation ``f(z) = y``
when ``w = eq(z, .)``) at ``z in F_p2^m``; :class:`~zkinfer.commit.whir.scheme.WhirPCS`
(``scheme``) puts it behind the project's :class:`~zkinfer.commit.base.PCS` interface: batches,
any number of claims as one weighted sum, commitments made of parts. It is not the proof
system's default scheme.

Challenges: every verifier challenge (folding ``alpha``, OOD points, combination ``gamma``, and
the PCS layer's ``beta`` and claim coefficients) is drawn in the quartic extension ``F_p4``
(:mod:`zkinfer.field.quartic`, ``|F| = p^4 ~ 2^256``); the statement's point and value are in
``F_p2`` and embed into ``F_p4``, so every message after round 0's leaves is in ``F_p4``. Over
``F_p2`` the fold terms ``|L_i| / |F|`` capped the union bound near ``128 - (m + r + 3)`` bits
(100 bits at ``2^22`` entries); over ``F_p4`` they are below ``2^-215`` at every size and the
queries alone set the soundness.

==============  ================================================================
module          contents
==============  ================================================================
``params``      :class:`WhirParams`: schedule, domains, query counts, soundness terms
``proof``       :class:`WhirCommitment`, :class:`WhirProof` and their canonical bytes
``verify``      :func:`verify` (numpy + hashlib only, no numba)
``prover``      :func:`commit`, :func:`open_proof` (Numba NTT and multilinear kernels);
                imported lazily by the two functions below
``_common``     formulas and the transcript schedule shared by both sides
``scheme``      :class:`WhirPCS` (the PCS interface), its commitment and proof, the
                verifier of batches and parts (numpy only)
``pcs_params``  :class:`WhirPCSParams`: the PCS parameters and the union-bound figures
``pcs_prover``  commit, commit a part, join, open (Numba; imported on first use)
==============  ================================================================

Encoding
--------
``f`` is given by its ``2^m`` evaluations on ``{0,1}^m`` (variable 1 the most significant index
bit). Its monomial coefficients ``c`` come from the evaluations by the Moebius transform
("evaluations to coefficients"), and the Reed-Solomon code encodes the **univariate twin**
``f^(X) = sum_j c[j] X^(bitrev_m(j)) = f(X, X^2, ..., X^(2^(m-1)))`` (variable ``i`` is
``X^(2^(i-1))``), a polynomial of degree ``< 2^m``, evaluated on the coset
``L_0 = 7 <w_0>`` of size ``2^(m + r)`` (rate ``2^-r``) with the project's NTT. Binding
variable 1 to ``alpha`` is the FRI fold of ``f^`` (even part plus ``alpha`` times odd part).
The Merkle tree (SHA-256, :mod:`zkinfer.commit.ligero.merkle`) has one leaf per point of
``L_0^(2^(k_0))``: leaf ``b`` holds the ``2^(k_0)`` values at ``s w^(b + j |L|/2^(k_0))``, the
points folded together, hashed in one call.

Prover memory
-------------
Codewords are encoded one coset of the ``2^(m_i)``-th roots at a time, straight into leaf order
(:func:`~zkinfer.commit.whir.prover.encode_leaves`), so no whole codeword and leaf-matrix copy
coexist; leaf matrices of later rounds above
:data:`~zkinfer.commit.whir.prover.SPILL_BYTES` go to a temporary file read back at the queried
leaves only (round 1's ``F_p4`` codeword weighs ``2^(r+4)`` bytes per committed entry), and a
part's round-0 leaves do when the caller asks to spill. Round 0 of an opening of parts is
streamed from the parts' base vectors (:class:`~zkinfer.commit.whir.prover.StreamedRound0`):
neither ``f = sum_s beta_s f_s`` nor the weight is ever a table of ``2^m`` ``F_p4`` entries; the
first tables are those of round 1, ``2^(m - k)`` entries.

Protocol (``R`` rounds, :meth:`WhirParams.folds` gives ``k_0 .. k_(R-1)``)
--------------------------------------------------------------------
Statement: the transcript absorbs the label ``zkinfer/whir/v3``, the parameters, the
commitment, ``z`` and ``y``. The claim is ``sigma = y = sum_b w(b) f(b)`` with
``w = eq(z, .)``. Round ``i`` (function ``f_i``, ``m_i`` variables, committed as ``g_i`` on
``L_i``, ``|L_i| = 2^(m + r - i e)``, ``e`` the domain shrink, :class:`WhirParams`):

1. **Sumcheck**, ``k_i`` times: the prover sends ``h(0), h(1), h(2)`` of
   ``h(X) = sum_rest f_i(X, rest) w(X, rest)``; check ``h(0) + h(1) = sigma`` (``"sumcheck"``);
   draw ``alpha``; ``sigma <- h(alpha)``. Now ``f_(i+1) = f_i(alpha_1..alpha_k, .)``.
2. Not the last round: the prover sends the **root** of ``g_(i+1)`` (``f^_(i+1)`` on
   ``L_(i+1) = L_i^(2^e)``); draw ``z_ood in F_p4``; the prover sends the **OOD answer**
   ``f^_(i+1)(z_ood)``. Last round: the prover sends the **final polynomial** ``f_R``'s
   ``2^(m_R)`` monomial coefficients.
3. Optional grinding (``b`` bits): a nonce whose BLAKE2b digest over a drawn seed has ``b``
   zero bits (``"grinding"``).
4. **Shift queries**: draw ``t_i`` indices into ``L_i^(2^(k_i))`` (repeats merged); the prover
   opens those leaves of ``g_i`` with one Merkle multi-proof (``"queries"``: one leaf per
   distinct index; ``"merkle"``: they open the root at those indices); the verifier folds
   each leaf with ``alpha_1..alpha_k`` (``k`` binary folds, inverse of ``2x`` on the coset) to
   the value ``f^_(i+1)(y_q)`` claimed at ``y_q = x0_q^(2^(k_i))``.
5. Not the last round: draw ``gamma``; ``sigma <- sigma + gamma * ood + sum_q gamma^(q+1)
   fold_q`` and ``w <- w(alpha, .) + gamma eq(pow(z_ood), .) + sum_q gamma^(q+1) eq(pow(y_q), .)``
   (``pow(y) = (y, y^2, ..., y^(2^(m_(i+1)-1)))``, so ``eq(pow(y), .)`` summed against
   ``f_(i+1)`` is ``f^_(i+1)(y)``). Last round: each fold must equal ``f^_R(y_q)`` computed
   from the final coefficients (``"final polynomial"``).

Final check (``"final sumcheck"``): ``sigma = sum_b f_R(b) w_R(b)``, computed from the weight
terms: each term ``coef * eq(p, .)`` begun in round ``s`` contributes
``coef * eq(p_head, alphas of rounds s..R-1) * f_R(p_tail)``. Also ``"params"`` (the
commitment's ``m, k, r``) and ``"shape"`` (proof sizes against the schedule).

Soundness terms (unique decoding, :mod:`zkinfer.commit.whir.params`): per sumcheck round
``(3 + |L_i|) / |F|``; per OOD sample ``2^(m_(i+1)) / (2 |F|)``; per shift step
``(1 - delta_i)^(t_i) 2^-b + (t_i + 1) / |F|``; final ``(1 - delta_(R-1))^(t_(R-1)) 2^-b``, with
``delta_i = (1 - rho_i) / 2``, ``|F| = p^4``.

Not implemented (yet): zero knowledge, several OOD samples per round, the Johnson/list-decoding
regime as a proven option.
"""

from __future__ import annotations

from zkinfer.commit.whir.params import WhirParams
from zkinfer.commit.whir.pcs_params import WhirPCSParams
from zkinfer.commit.whir.proof import WhirCommitment, WhirProof, WhirRound
from zkinfer.commit.whir.scheme import WhirPCS
from zkinfer.commit.whir.verify import verify

__all__ = ["WhirParams", "WhirCommitment", "WhirProof", "WhirRound", "verify", "commit",
           "open_proof", "WhirPCS", "WhirPCSParams"]


def commit(params, evals):
    """:func:`zkinfer.commit.whir.prover.commit` (imports the prover and numba on first use)."""
    from zkinfer.commit.whir import prover

    return prover.commit(params, evals)


def open_proof(data, point, transcript, tamper=None):
    """:func:`zkinfer.commit.whir.prover.open_proof` (imports the prover on first use)."""
    from zkinfer.commit.whir import prover

    return prover.open_proof(data, point, transcript, tamper)
