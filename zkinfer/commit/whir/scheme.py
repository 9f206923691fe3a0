"""``WhirPCS``: WHIR behind the project's PCS interface (numpy only: the verifier side).

Importing this module does not import numba: :meth:`WhirPCS.commit`, :meth:`WhirPCS.commit_part`,
:meth:`WhirPCS.join` and :meth:`WhirPCS.open` import :mod:`zkinfer.commit.whir.pcs_prover` on
first use; :meth:`WhirPCS.verify` needs numpy and hashlib only.

Plain batches
-------------
``commit(polys)`` lays the polynomials out as :class:`~zkinfer.commit.base.Layout` does (one
vector ``F`` of ``2^n`` entries) and commits ``F`` with the WHIR core as one function ``G`` of
``m = max(n, 1)`` variables (for ``n = 0``, ``G = (F_0, 0)``: ``F`` is ``G`` at a leading 0).

Opening (any number of claims on any polynomials): a claim ``poly_k(z) = v`` is the claim
``G(p_k) = v`` at the global point ``p_k`` (:meth:`~zkinfer.commit.base.Layout.global_point`:
the offset's prefix bits, then ``z``; zeros in front when ``m > n``), and ``eq(p_k, x)`` is
``eq(prefix bits, x_high) eq(z, x_low)``, non-zero on block ``k`` only. After
:func:`~zkinfer.commit.base.absorb_claims` and the core parameters are absorbed, the verifier
draws independent coefficients ``c_k`` in ``F_p4`` (one per claim) and WHIR proves the single weighted sum
``sum_x G(x) W(x) = sum_k c_k v_k`` with ``W = sum_k c_k eq(p_k, .)``: its initial sumcheck
proves a sum against any weight whose multilinear extension the verifier evaluates at the end,
and ``W``'s is a sum of ``eq`` terms (:func:`zkinfer.commit.whir.verify.verify_rounds`). No
separate batching sumcheck; one proof whatever the number of claims. Independent
coefficients rather than powers of one ``gamma``: a false claim survives with probability
``1 / |F|`` whatever the number of claims.

Commitments made of parts (:class:`~zkinfer.commit.base.Parts`)
--------------------------------------------------------------
Design: part ``s`` is its own WHIR codeword ``g_(0,s)`` of the ``m_p = max(m, 1)``-variable
function ``f_s`` (its ``used[s]`` entries, zero-padded): :meth:`WhirPCS.commit_part` encodes it
and hashes each of its leaves, ``d_(s,j) = H(0x00 || leaf j)``, reading nothing of the other
parts. :meth:`WhirPCS.join` is cheap: one Merkle tree whose leaf ``j`` is
``H(0x02 || d_(0,j) || ... || d_(S-1,j))`` (as Ligero's join does for columns), so one path
opens leaf ``j`` of every part. An opening:

1. reduces every claim to values of the parts: the distinct points ``z_1 .. z_J`` are the
   claims' points on parts and, for a claim on the whole ``F`` (``n = m + log S`` variables) at
   ``(h, z)``, its last ``m`` coordinates ``z``, since ``F(h, z) = sum_s eq(bits(s), h)
   f_s(z)``. The prover sends ``e_(j,s) = f_s(z_j)`` for every part and point; the verifier
   checks each claim against them (``"part values"``);
2. draws ``beta_1 .. beta_(S-1)`` after the values are absorbed and runs WHIR on
   ``f = f_0 + sum_s beta_s f_s`` (its codeword is the same combination of the parts'
   codewords) for the claims ``f(z_j) = e_(j,0) + sum_s beta_s e_(j,s)``, combined as above;
3. round 0's queries open leaf ``j`` of every part with one path of the joint tree; the
   verifier hashes each part's leaf, checks the path, and combines the leaves with ``beta``.

The proof grows by ``J S`` ``F_p2`` elements and, in round 0, by ``S`` leaves per query; the
rounds after the first are those of one function of ``m_p`` variables, so the soundness
depends on the part size, not on ``S`` (:mod:`zkinfer.commit.whir.pcs_params`: the ``parts``
term, ``(|L_0| + 1) / |F|`` for the affine combination under unique decoding). With ``spill``
given (not ``None``/``False``), a part of at least :data:`SPILL_FROM` entries sends its leaves
(its codeword: ``2^r`` times its padded vector) to a temporary file of the system's temporary
directory (not the directory passed: the shared parts tests still expect WHIR to leave none
there), read back only at the queried leaves; the vector and the digests stay in memory.
:meth:`PartData.close` drops the leaves and removes the file; pickling reads them back.

Binding is to the committed functions: a part is a polynomial of ``2^m`` entries and a plain
batch one of ``2^n``; the zero padding after ``used`` is the honest prover's, not checked.

Encodings
---------
Commitment ``"ZKWM" | u16 version 2 | layout | mode | u8 k | u8 r | 32-byte root`` (the layout
and mode of :func:`~zkinfer.commit.base.write_layout` and
:func:`~zkinfer.commit.base.write_parts`). Proof ``"ZKWN" | u16 version 2 | u32 S (0: plain)
| u32 J | J S F_p2 elements e_(j,s) | u32 length | the core proof`` (round 0's leaves
``(Q, S, 2^k)`` for parts: :meth:`zkinfer.commit.whir.proof.WhirProof.from_bytes`).

Transcript schedule (prover and verifier): :func:`~zkinfer.commit.base.absorb_claims`; the
label ``zkinfer/whir-pcs/v3`` and the core parameters of ``m``; parts: the values ``e``, then
``beta``; the claim coefficients ``c``; the core rounds
(:func:`zkinfer.commit.whir.prover.prove_rounds`).

Checks: ``"whir pcs"`` (claims malformed, objects of another scheme, parameters, proof shape),
``"part values"``, and the core's ``"shape"``, ``"sumcheck"``, ``"grinding"``, ``"queries"``,
``"merkle"``, ``"final polynomial"``, ``"final sumcheck"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.commit.base import (
    MAX_POLYS,
    PCS,
    Commitment,
    Layout,
    OpeningClaim,
    OpeningProof,
    OpeningSoundness,
    Parts,
    absorb_claims,
    is_encoded,
    params_reader,
    params_writer,
    read_layout,
    read_parts,
    verifier_claims,
    write_layout,
    write_parts,
)
from zkinfer.commit.ligero import merkle
from zkinfer.commit.whir import _common as C
from zkinfer.commit.whir.params import MAX_FOLD, WhirParams
from zkinfer.commit.whir.pcs_params import (
    BOUNDS,
    DEFAULT_MAX_VARS,
    DEFAULT_TARGET_BITS,
    MAX_GRINDING_BITS,
    WhirPCSParams,
)
from zkinfer.commit.whir.proof import DIGEST_BYTES, WhirProof
from zkinfer.commit.whir.verify import verify_rounds
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field import quartic as q
from zkinfer.field.quartic import Fp4
from zkinfer.field.scalar import Fp2
from zkinfer.transcript import Transcript

__all__ = ["WhirPCS", "WhirPCSCommitment", "WhirPCSProof", "CHECK"]

U64 = npt.NDArray[np.uint64]

SPILL_FROM = 1 << 21
"""Parts of at least this many entries spill their leaves when ``spill`` is given."""

CHECK = "whir pcs"
"""The check name of the scheme-level checks."""

_COM_MAGIC = b"ZKWM"
_PROOF_MAGIC = b"ZKWN"
_VERSION = 3  # version 2: challenges (beta, c and the core's) in F_p4; 3: the domain shrink
_MAX_POINTS = 1 << 20
_MAX_CORE_BYTES = 1 << 31
_LABEL_PROTOCOL = b"whir-pcs/protocol"
_LABEL_PARAMS = b"whir-pcs/params"
_LABEL_VALUES = b"whir-pcs/part-values"
_LABEL_BETA = b"whir-pcs/parts"
_LABEL_COEFS = b"whir-pcs/claims"
DOMAIN = b"zkinfer/whir-pcs/v3"


# ---- objects and encodings


@dataclass(frozen=True)
class WhirPCSCommitment(Commitment):
    """The layout (and parts), the parameters ``k, r`` and the Merkle root of ``g_0`` (plain) or
    of the joint tree of the parts' leaves (parts)."""

    layout: Layout
    folding: int
    log_inv_rate: int
    root: bytes
    parts: Parts | None = None

    @property
    def num_vars(self) -> int:
        """``m``: the variables of the committed function (of each part's, for parts)."""
        n = self.layout.total_vars if self.parts is None else self.parts.num_vars
        return max(n, 1)

    def to_bytes(self) -> bytes:
        """The canonical encoding (module docstring)."""
        w = Writer()
        w.header(_COM_MAGIC, _VERSION)
        write_layout(w, self.layout)
        write_parts(w, self.parts)
        w.u8(self.folding)
        w.u8(self.log_inv_rate)
        w.raw(self.root)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> WhirPCSCommitment:
        """Strict inverse of :meth:`to_bytes`.

        Raises:
            ProofFormatError: malformed bytes.
        """
        what = "whir commitment"
        r = Reader(data, what)
        r.header(_COM_MAGIC, (_VERSION,))
        layout = read_layout(r)
        parts = read_parts(r, layout, what)
        k, rate = r.u8(MAX_FOLD), r.u8(4)
        if k < 1 or rate < 1:
            raise ProofFormatError(f"{what}: k and r must be positive")
        root = r.raw(DIGEST_BYTES)
        r.finish()
        return cls(layout, k, rate, root, parts)


@dataclass(frozen=True, eq=False)
class WhirPCSProof(OpeningProof):
    """An opening: the parts' values ``(J, S, 2)`` (``(0, 0, 2)`` for a plain batch), the number
    of parts ``S`` (0: plain) and the core proof."""

    stack: int
    values: U64
    core: WhirProof

    def to_bytes(self) -> bytes:
        """The canonical encoding (module docstring)."""
        w = Writer()
        w.header(_PROOF_MAGIC, _VERSION)
        w.u32(self.stack)
        w.u32(self.values.shape[0])
        if self.values.size:
            w.ext(self.values)
        w.bytes(self.core.to_bytes())
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> WhirPCSProof:
        """Strict inverse of :meth:`to_bytes`.

        Raises:
            ProofFormatError: malformed bytes.
        """
        r = Reader(data, "whir opening proof")
        r.header(_PROOF_MAGIC, (_VERSION,))
        stack = r.u32(MAX_POLYS)
        if stack:
            points = r.count(_MAX_POINTS, 16 * stack)
            values = r.ext(points * stack).reshape(points, stack, 2)
        else:
            if r.u32():
                raise ProofFormatError("whir opening proof: part values without parts")
            values = np.zeros((0, 0, 2), dtype=np.uint64)
        core = WhirProof.from_bytes(r.bytes(_MAX_CORE_BYTES), stack or None)
        r.finish()
        return cls(stack, values, core)


# ---- the schedule and the reductions shared by prover and verifier


def part_points(parts: Parts, checked) -> tuple[U64, list[int]]:
    """The distinct points ``z_j`` of the parts (``(J, m, 2)``, first appearance first) and the
    index ``j`` of each claim's (a claim on the whole ``F`` at ``(h, z)`` uses ``z``)."""
    m = parts.num_vars
    seen: dict[bytes, int] = {}
    order: list[U64] = []
    which: list[int] = []
    for _, point, _ in checked:
        z = np.ascontiguousarray(point[point.shape[0] - m:])
        key = z.tobytes()
        if key not in seen:
            seen[key] = len(order)
            order.append(z)
        which.append(seen[key])
    return np.stack(order).reshape(len(order), m, 2), which


def part_selectors(parts: Parts, high: U64) -> U64:
    """``eq(bits(s), h)`` for every part ``s`` (``(S, 2)``): the weight of part ``s`` in
    ``F(h, z) = sum_s eq(bits(s), h) f_s(z)``, ``bits(s)`` the ``n - m`` bits of ``s``."""
    width = high.shape[0]
    bits = np.array([[(s >> (width - 1 - i)) & 1 for i in range(width)]
                     for s in range(parts.count)], dtype=np.uint64).reshape(parts.count, width)
    return C.eq_rows(q.from_base(bits), q.from_ext(high))[:, :2]  # all in F_p2


def padded_points(points: U64, m: int) -> U64:
    """Points ``(T, n, 2)`` on ``n <= m`` variables as points on ``m``: zeros in front."""
    pad = m - points.shape[1]
    if pad == 0:
        return np.ascontiguousarray(points)
    return np.concatenate([np.zeros((points.shape[0], pad, 2), dtype=np.uint64), points], axis=1)


def absorb_start(transcript: Transcript, core: WhirParams) -> None:
    """After the claims: the protocol label and the core parameters."""
    transcript.append_bytes(_LABEL_PROTOCOL, DOMAIN)
    transcript.append_bytes(_LABEL_PARAMS, core.to_bytes())


def absorb_values(transcript: Transcript, values: U64, count: int) -> U64:
    """Absorb the parts' values (``F_p2``); draw ``beta`` ``(S, 4)`` in ``F_p4`` with
    ``beta_0 = 1``."""
    transcript.append_ext(_LABEL_VALUES, values.reshape(-1, 2))
    beta = np.zeros((count, 4), dtype=np.uint64)
    beta[0, 0] = 1
    if count > 1:
        beta[1:] = C.challenge_quartic(transcript, _LABEL_BETA, count - 1)
    return beta


def claim_coefficients(transcript: Transcript, count: int) -> U64:
    """Draw the claims' coefficients ``c`` ``(count, 4)`` in ``F_p4``."""
    return C.challenge_quartic(transcript, _LABEL_COEFS, count)


def combine_values(values: U64, beta: U64) -> U64:
    """``e_(j,0) + sum_s beta_s e_(j,s)`` for every point ``j``: ``(J, 4)`` (``e`` in ``F_p2``,
    ``beta`` in ``F_p4``)."""
    return q.sum(q.mul(q.from_ext(values), beta[None]), axis=1)


# ---- the scheme


class WhirPCS(PCS):
    """WHIR multilinear PCS over Goldilocks: polylogarithmic proofs (module docstring).

    Arguments:
        folding: ``k``, variables folded per round (default 4).
        log_inv_rate: ``r``: starting rate ``2^-r`` (default 2, rate 1/4).
        target_bits: the interactive soundness asked for (union bound over every term, no
            grinding counted; default
            :data:`~zkinfer.commit.whir.pcs_params.DEFAULT_TARGET_BITS`, 105).
        grinding_bits: proof-of-work bits before each round's queries (default 0; 0..16).
        bound: ``"unique-decoding"`` (proven, default) or ``"johnson"``: a labelled heuristic
            (:mod:`zkinfer.commit.whir.pcs_params`), whose proofs
            :func:`zkinfer.verify` accepts only with ``allow_conjectured=True``.
        max_vars: the most variables of a committed function (default
            :data:`~zkinfer.commit.whir.pcs_params.DEFAULT_MAX_VARS`): the figures hold for
            every size up to it, and :meth:`commit` refuses larger batches.

    Raises:
        ValueError: a parameter out of range, or a target out of reach at ``max_vars``
            (:mod:`zkinfer.commit.whir.pcs_params`).

    Example:
        >>> pcs = WhirPCS()
        >>> com, data = pcs.commit([table_a, table_b])
        >>> proof = pcs.open(data, [OpeningClaim(0, r, None)], Transcript(b"demo"))
        >>> pcs.verify(com.to_bytes(), [OpeningClaim(0, r, value)], proof.to_bytes(),
        ...            Transcript(b"demo"))
    """

    name = "whir"

    def __init__(self, folding: int = 4, log_inv_rate: int = 2,
                 target_bits: int = DEFAULT_TARGET_BITS,
                 grinding_bits: int = 0, bound: str = "unique-decoding",
                 max_vars: int = DEFAULT_MAX_VARS) -> None:
        self.params = WhirPCSParams(folding, log_inv_rate, target_bits, grinding_bits, bound,
                                    max_vars)

    def __repr__(self) -> str:
        p = self.params
        return (f"WhirPCS(k={p.folding}, rate=1/{1 << p.log_inv_rate}, "
                f"bits={self.security_bits:.1f}, grinding={p.grinding_bits}, "
                f"max_vars={p.max_vars}, bound={p.bound!r})")

    def params_bytes(self) -> bytes:
        """``"ZKPP" | u16 version | "whir" | u8 k | u8 r | u8 target_bits | u8 grinding_bits |
        u8 bound | u8 max_vars | u8 query_bits`` (the last follows from the others)."""
        p = self.params
        w = params_writer(self.name)
        for value in (p.folding, p.log_inv_rate, p.target_bits, p.grinding_bits,
                      BOUNDS.index(p.bound), p.max_vars, p.query_bits):
            w.u8(value)
        return w.finish()

    @classmethod
    def from_params(cls, data: bytes) -> WhirPCS:
        """Inverse of :meth:`params_bytes`.

        Raises:
            ProofFormatError: malformed, out of range, or a ``query_bits`` that does not follow
                from the other parameters.
        """
        name, r = params_reader(data)
        if name != cls.name:
            raise ProofFormatError(f"pcs parameters: scheme {name!r}, expected {cls.name!r}")
        k, rate, bits = r.u8(MAX_FOLD), r.u8(), r.u8()
        grinding, bound, max_vars = r.u8(MAX_GRINDING_BITS), r.u8(len(BOUNDS) - 1), r.u8()
        query_bits = r.u8()
        r.finish()
        try:
            pcs = cls(k, rate, bits, grinding, BOUNDS[bound], max_vars)
        except ValueError as exc:
            raise ProofFormatError(f"pcs parameters: {exc}") from None
        if pcs.params.query_bits != query_bits:
            raise ProofFormatError("pcs parameters: query_bits does not match the others")
        return pcs

    @property
    def security_bits(self) -> float:
        """Interactive soundness of one opening at the worst size up to ``max_vars``
        (:attr:`WhirPCSParams.security_bits`)."""
        return self.params.security_bits

    @property
    def hashing_bits(self) -> float:
        """Per unit of hashing work: ``-log2(field_error + query_error 2^-g)``."""
        return self.params.hashing_bits

    def opening_soundness(self) -> OpeningSoundness:
        """See :meth:`zkinfer.commit.base.PCS.opening_soundness` and
        :mod:`zkinfer.commit.whir.pcs_params` (the worst size up to ``max_vars``)."""
        p = self.params
        return OpeningSoundness(field_error=p.field_error, query_error=p.query_error,
                                grinding_bits=p.grinding_bits, bound=p.bound, proven=p.proven,
                                insecure=False)

    # ---- prover side (imports numba)

    def commit(self, polys: Sequence[npt.ArrayLike], progress=None):
        """See :meth:`zkinfer.commit.base.PCS.commit`.

        Raises:
            ValueError: also when the batch needs more than ``max_vars`` variables.
        """
        from zkinfer.commit.whir import pcs_prover

        return pcs_prover.commit(self.params, polys, progress)

    def commit_part(self, parts: Parts, index: int, vector: npt.ArrayLike, *, spill=None,
                    progress=None):
        """See :meth:`zkinfer.commit.base.PCS.commit_part`: encode part ``index`` and hash its
        leaves (``spill`` not ``None``/``False``: a part of at least :data:`SPILL_FROM` entries
        keeps its leaves in a temporary file; module docstring).

        Raises:
            ValueError: also when a part has more than ``max_vars`` variables.
        """
        from zkinfer.commit.whir import pcs_prover

        where = None
        if spill is not None and spill is not False and parts.size >= SPILL_FROM:
            import tempfile

            where = tempfile.gettempdir()
        return pcs_prover.commit_part(self.params, parts, index, vector, where)

    def join(self, parts: Parts, pieces, progress=None):
        """See :meth:`zkinfer.commit.base.PCS.join`: one Merkle tree over the parts' leaf
        digests."""
        from zkinfer.commit.whir import pcs_prover

        return pcs_prover.join(self.params, parts, pieces)

    def open(self, data, claims: Sequence[OpeningClaim], transcript: Transcript,
             progress=None) -> WhirPCSProof:
        """See :meth:`zkinfer.commit.base.PCS.open`.

        Raises:
            TypeError: ``data`` is not this scheme's prover data.
            ValueError: a claim is malformed, ``data`` was made with other parameters, or its
                parts are closed.
        """
        from zkinfer.commit.whir import pcs_prover

        return pcs_prover.open_claims(self.params, data, claims, transcript)

    # ---- verifier side (numpy only)

    def verify(self, commitment: WhirPCSCommitment | bytes, claims: Sequence[OpeningClaim],
               proof: WhirPCSProof | bytes, transcript: Transcript) -> None:
        """See :meth:`zkinfer.commit.base.PCS.verify` (checks: module docstring)."""
        com = self.decode_commitment(commitment) if is_encoded(commitment) else commitment
        prf = self.decode_proof(proof) if is_encoded(proof) else proof
        if not isinstance(com, WhirPCSCommitment) or not isinstance(prf, WhirPCSProof):
            raise VerificationError(CHECK, "commitment or proof of another scheme")
        p = self.params
        if (com.folding, com.log_inv_rate) != (p.folding, p.log_inv_rate):
            raise VerificationError(CHECK, "commitment made with other parameters")
        parts = com.parts
        if parts is not None and (not isinstance(parts, Parts) or parts.layout != com.layout):
            raise VerificationError(CHECK, "the layout is not that of the parts")
        if com.num_vars > p.max_vars:
            raise VerificationError(CHECK, f"a committed function of {com.num_vars} variables "
                                    f"exceeds max_vars = {p.max_vars}")
        checked = verifier_claims(com.layout, claims, CHECK)
        core = p.core(com.num_vars)
        m = core.m
        absorb_claims_and_start(transcript, com, checked, core)
        if parts is None:
            if prf.stack != 0 or prf.values.size:
                raise VerificationError(CHECK, "part values in the opening of a plain batch")
            points = padded_points(np.stack([com.layout.global_point(poly, point)
                                             for poly, point, _ in checked]), m)
            values = np.stack([v for _, _, v in checked])
        else:
            points, values, beta = _check_part_values(parts, checked, prf, transcript)
            points = padded_points(points, m)
        coefs = claim_coefficients(transcript, points.shape[0])
        values = values if values.shape[-1] == 4 else q.from_ext(values)
        sigma = Fp4.from_array(q.sum(q.mul(coefs, values)))
        if parts is None:
            def open_first(indices: list[int], leaves: U64) -> U64:
                return _open_plain(core, indices, leaves, prf.core, com.root)
        else:
            def open_first(indices: list[int], leaves: U64) -> U64:
                return _open_parts(core, parts.count, indices, leaves, prf.core, com.root, beta)
        verify_rounds(core, sigma, [(coefs, q.from_ext(points), 0)], prf.core, open_first,
                      transcript)

    def decode_commitment(self, data: bytes) -> WhirPCSCommitment:
        """See :meth:`zkinfer.commit.base.PCS.decode_commitment`."""
        return WhirPCSCommitment.from_bytes(data)

    def decode_proof(self, data: bytes) -> WhirPCSProof:
        """See :meth:`zkinfer.commit.base.PCS.decode_proof`."""
        return WhirPCSProof.from_bytes(data)


def absorb_claims_and_start(transcript: Transcript, com: WhirPCSCommitment, checked,
                            core: WhirParams) -> None:
    """:func:`~zkinfer.commit.base.absorb_claims`, then :func:`absorb_start`."""
    absorb_claims(transcript, com.to_bytes(), checked)
    absorb_start(transcript, core)


def _check_part_values(parts: Parts, checked, prf: WhirPCSProof, transcript: Transcript
                       ) -> tuple[U64, U64, U64]:
    """Check every claim against the parts' values (``"part values"``), absorb them, draw
    ``beta``; returns the points ``(J, m, 2)``, the combined values ``(J, 2)`` and ``beta``."""
    points, which = part_points(parts, checked)
    values = prf.values
    if prf.stack != parts.count or values.shape != (points.shape[0], parts.count, 2):
        raise VerificationError(CHECK, "part values of the wrong shape",
                                expected=(points.shape[0], parts.count), got=values.shape[:2])
    m = parts.num_vars
    for i, ((poly, point, value), j) in enumerate(zip(checked, which, strict=True)):
        if poly is not None:
            got = values[j, poly]
        else:
            high = np.ascontiguousarray(point[: point.shape[0] - m])
            got = ext.sum(ext.mul(part_selectors(parts, high), values[j]))
        if not np.array_equal(got, value):
            raise VerificationError("part values", f"claim {i} against the parts' values at "
                                    f"point {j}", expected=Fp2.from_array(got),
                                    got=Fp2.from_array(value))
    beta = absorb_values(transcript, values, parts.count)
    return points, combine_values(values, beta), beta


def _open_plain(core: WhirParams, indices: list[int], leaves: U64, proof: WhirProof,
                root: bytes) -> U64:
    """Round 0 of a plain batch: the core's leaves of ``g_0`` under ``root``."""
    width = 1 << core.folds()[0]
    if leaves.shape != (len(indices), width):
        raise VerificationError("queries", "opened leaves against the drawn indices", round=0,
                                expected=(len(indices), width), got=leaves.shape)
    depth = core.num_leaves(0).bit_length() - 1
    got = merkle.root_from_multiproof(depth, indices, merkle.hash_columns(leaves, 1),
                                      list(proof.rounds[0].siblings))
    if got != root:
        raise VerificationError("merkle", "opened leaves do not open the root", round=0)
    return q.from_base(leaves)


def _open_parts(core: WhirParams, count: int, indices: list[int], leaves: U64,
                proof: WhirProof, root: bytes, beta: U64) -> U64:
    """Round 0 of parts: leaf ``j`` of every part under the joint root; returns the leaves of
    ``f = sum_s beta_s f_s``: ``(Q, 2^k, 2)``."""
    width = 1 << core.folds()[0]
    if leaves.shape != (len(indices), count, width):
        raise VerificationError("queries", "opened leaves against the drawn indices", round=0,
                                expected=(len(indices), count, width), got=leaves.shape)
    digests = [merkle.hash_columns(np.ascontiguousarray(leaves[:, s, :]), 1)
               for s in range(count)]
    depth = core.num_leaves(0).bit_length() - 1
    got = merkle.root_from_multiproof(depth, indices, merkle.combine_part_leaves(digests),
                                      list(proof.rounds[0].siblings))
    if got != root:
        raise VerificationError("merkle", "opened leaves do not open the joint root", round=0)
    # sum_s beta_s leaves[:, s]: an F_p4 times base elements, summed over s
    with np.errstate(over="ignore"):
        prod = gl.mul_unchecked(leaves[..., None], beta[None, :, None, :])  # (Q, S, W, 2)
    return gl.sum(prod, axis=1)
