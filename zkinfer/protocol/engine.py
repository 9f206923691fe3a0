"""Prove and verify a :class:`~zkinfer.protocol.circuit.Circuit` (one schedule, two sides).

Schedule, after the caller has absorbed the statement and the trace commitment:

1. ``circuit.relations`` in order (matmuls, one-hot products, table look-ups, column sums);
2. one zero-check per number of variables (sorted) over all identities of that size;
3. one LogUp over all limb columns, tagged by their width (:mod:`zkinfer.protocol.range`);
4. the openings: all claims on the trace commitment, then all claims on the weights.

:func:`prove_circuit` returns the list of step proofs; :func:`verify_circuit` consumes the same
list in the same order. Each step's messages are absorbed by the sub-protocol that sends them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.commit.base import PCS, Commitment, ProverData
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.lookup.logup import LookupProof, prove_lookup, range_table_eval, verify_lookup
from zkinfer.poly.multilinear import eq_prefix_sum, evaluate
from zkinfer.protocol.circuit import (
    AxisSumRel,
    Circuit,
    ContractRel,
    MatmulRel,
    OneHotRel,
    TableRel,
)
from zkinfer.protocol.claims import Claim
from zkinfer.protocol.constraints import prove_identities, verify_identities
from zkinfer.protocol.embedding import onehot, onehot_eval
from zkinfer.protocol.matmul import MatmulProof, prove_matmul, verify_matmul
from zkinfer.protocol.openings import (
    Combination,
    OpeningsProof,
    prove_openings,
    verify_openings,
)
from zkinfer.protocol.range import prove_ranges, verify_ranges
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.transcript import Transcript

__all__ = ["Statement", "MatmulStep", "TableStep", "ValueStep", "prove_circuit", "verify_circuit"]

U64 = npt.NDArray[np.uint64]
_INV2 = (gl.P + 1) // 2


@dataclass(frozen=True, eq=False)
class Statement:
    """What both sides know besides the circuit: the token ids."""

    ids: npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class MatmulStep:
    """A product relation: the output's value at the random point, and the matmul proof."""

    value: U64
    proof: MatmulProof


@dataclass(frozen=True, eq=False)
class TableStep:
    """A pair look-up: the LogUp proof and ``[src(r), out(r)]`` at its look-up point."""

    lookup: LookupProof
    evals: U64


@dataclass(frozen=True, eq=False)
class ValueStep:
    """A single value sent by the prover (a column sum's value at a random point)."""

    value: U64


_LABEL_POINT = b"circuit/point"
_LABEL_VALUE = b"circuit/value"
_LABEL_BETA = b"circuit/beta"
_LABEL_TABLE_EVALS = b"circuit/table-evals"
_LABEL_CONTRACT = b"circuit/contract"


# ---------------------------------------------------------------------------------------------
# helpers shared by both sides


def _split(point: U64, bits: tuple[int, ...]) -> list[U64]:
    out, pos = [], 0
    for b in bits:
        out.append(point[pos: pos + b])
        pos += b
    return out


def _ids_for(rel: OneHotRel, st: Statement) -> npt.NDArray[np.int64]:
    return st.ids if rel.ids_name == "input" else np.arange(st.ids.shape[0], dtype=np.int64)


def _bias_term(circuit: Circuit, rel: MatmulRel, r_i: U64, r_j: U64, rows: int) -> U64:
    """``Ind_rows(r_i) b~(r_j)``."""
    if rel.bias is None:
        return ext.zeros(())
    b = circuit.vectors[rel.bias]
    return ext.mul(eq_prefix_sum(r_i, rows), evaluate(b, r_j))


def _table_f(circuit: Circuit, rel: TableRel, beta: U64, src_v: U64, out_v: U64, ind: U64) -> U64:
    """``f(r) = src(r) + offset Ind(r) + beta out(r) + (1 - Ind(r)) (offset + beta T[offset])``."""
    off = ext.from_base(np.uint64(rel.offset))
    t_off = ext.from_base(circuit.tables[rel.table][rel.offset])
    real = ext.add(ext.add(src_v, ext.mul(off, ind)), ext.mul(beta, out_v))
    pad = ext.mul(ext.sub(ext.ones(()), ind), ext.add(off, ext.mul(beta, t_off)))
    return ext.add(real, pad)


def _output_claim(circuit: Circuit, name: str, transcript: Transcript,
                  tables: dict[str, U64] | None = None, value: U64 | None = None) -> Claim:
    """Draw the point of a relation's output column and absorb the output's value there
    (computed from ``tables`` by the prover, as sent for the verifier): the claim on it."""
    r = transcript.challenge_exts(_LABEL_POINT, circuit.trace[name].num_vars)
    if tables is not None:
        from zkinfer.poly import fast

        value = fast.evaluate(tables[name], r)
    value = ext.as_ext(value, "value")
    transcript.append_ext(_LABEL_VALUE, value)
    return Claim(name, r, value)


def _route(circuit: Circuit, claims: list[Claim]) -> tuple[list[Combination], list[Combination]]:
    """Named claims as linear combinations on the trace and on the weight commitment.

    Views and linear columns resolve to their committed columns (:meth:`Circuit.resolve`); all
    terms of one claim lie in one commitment.
    """
    trace_idx = {n: k for k, n in enumerate(circuit.trace)}
    weight_idx = {n: k for k, n in enumerate(circuit.weights)}
    tr, wt = [], []
    for c in claims:
        terms, value = circuit.resolve(c.poly, c.point, c.value)
        if all(n in trace_idx for n, _, _ in terms):
            tr.append(Combination(tuple((trace_idx[n], p, a) for n, p, a in terms), value))
        elif all(n in weight_idx for n, _, _ in terms):
            wt.append(Combination(tuple((weight_idx[n], p, a) for n, p, a in terms), value))
        else:  # pragma: no cover - the circuit only names its own columns
            raise KeyError(c.poly)
    return tr, wt


# ---------------------------------------------------------------------------------------------
# prover


def prove_circuit(
    circuit: Circuit,
    st: Statement,
    tables: dict[str, U64],
    weights: dict[str, U64],
    pcs: PCS,
    trace_commitment: tuple[Commitment, ProverData],
    weight_commitment: tuple[Commitment, ProverData],
    transcript: Transcript,
    progress=None,
) -> list:
    """Run the schedule as the prover; returns the step proofs in order.

    ``progress(stage, done, total)``, if given, is called before each step, and the two
    openings report their own steps as ``"opening the ... commitment: <step>"``
    (:func:`~zkinfer.protocol.openings.prove_openings`).
    """
    from zkinfer.poly import fast
    from zkinfer.progress import listening, prefixed

    total = len(circuit.relations) + len(circuit.identities) + 1 + 2  # one range step

    def tick(stage: str) -> None:
        if progress is not None:
            progress(stage, len(steps), total)

    steps: list = []
    claims: list[Claim] = []

    def table(name: str) -> U64:
        return tables[name] if name in tables else weights[name]

    def matrix(name: str) -> U64:
        col = circuit.col(name)
        return table(name).reshape(col.padded_shape[0], -1)

    for rel in circuit.relations:
        tick(f"relation {getattr(rel, 'out', getattr(rel, 'name', ''))}")
        if isinstance(rel, (MatmulRel, OneHotRel)):
            claims.append(_output_claim(circuit, rel.out, transcript, tables=tables))
            r, value = claims[-1].point, claims[-1].value
            if isinstance(rel, MatmulRel):
                proof, cl = prove_matmul(matrix(rel.left), matrix(rel.right), r, transcript,
                                         names=(rel.left, rel.right))
                claims += cl
            else:
                tab = circuit.weights[rel.table]
                rows = circuit.trace[rel.out].padded_shape[0]
                a = onehot(_ids_for(rel, st), rows, tab.padded_shape[0])
                proof, cl = prove_matmul(a, matrix(rel.table), r, transcript,
                                         names=("onehot", rel.table))
                claims.append(cl[1])
            steps.append(MatmulStep(value, proof))
        elif isinstance(rel, TableRel):
            from zkinfer.protocol import _kernels as PK

            beta = transcript.challenge_ext(_LABEL_BETA)
            src = circuit.trace[rel.src]
            real = (circuit.publics[src.indicator].table(src.num_vars)
                    if src.indicator in circuit.publics
                    else np.ones(1 << src.num_vars, dtype=np.uint64))
            tvals = circuit.tables[rel.table]
            # f = src + offset Ind + beta out + (1 - Ind)(offset + beta T[offset])
            pad = _table_f(circuit, rel, beta, ext.zeros(()), ext.zeros(()), ext.zeros(()))
            f = np.empty((1 << src.num_vars, 2), dtype=np.uint64)
            PK.pair_column(tables[rel.src], tables[rel.out], real, np.uint64(rel.offset),
                           beta[0], beta[1], pad[0], pad[1], f)
            t = ext.add(ext.from_base(np.arange(tvals.shape[0], dtype=np.uint64)),
                        ext.mul_base(np.broadcast_to(beta, (tvals.shape[0], 2)), tvals))
            lk_proof, lk = prove_lookup(f, t, tables[rel.mult], transcript)
            evals = np.stack([fast.evaluate(tables[rel.src], lk.f_point),
                              fast.evaluate(tables[rel.out], lk.f_point)])
            transcript.append_ext(_LABEL_TABLE_EVALS, evals)
            claims += [Claim(rel.src, lk.f_point, evals[0]), Claim(rel.out, lk.f_point, evals[1]),
                       Claim(rel.mult, lk.t_point, lk.m_value)]
            steps.append(TableStep(lk_proof, evals))
        elif isinstance(rel, ContractRel):
            from zkinfer.sumcheck.prover import prove as prove_sumcheck

            claims.append(_output_claim(circuit, rel.out, transcript, tables=tables))
            r, value = claims[-1].point, claims[-1].value
            segs = _out_segments(rel, r)
            a = _operand_table(table(rel.a), rel.a_axes, rel, segs)
            b = _operand_table(table(rel.b), rel.b_axes, rel, segs)
            bb = rel.bit(rel.batch) if rel.batch else 0
            e = np.repeat(fast.eq_table(segs[rel.batch]) if rel.batch else ext.ones(1),
                          1 << rel.bit(rel.y), axis=0)
            transcript.append_bytes(_LABEL_CONTRACT, rel.out.encode())
            out_sc = prove_sumcheck([e, a, b], _contract_expr(), transcript)
            a_val, b_val = out_sc.evaluations[1].copy(), out_sc.evaluations[2].copy()
            transcript.append_ext(_LABEL_VALUE, np.stack([a_val, b_val]))
            s_pt = out_sc.point
            claims.append(Claim(rel.a, _operand_point(rel.a_axes, segs, s_pt[:bb], s_pt[bb:], rel),
                                a_val))
            claims.append(Claim(rel.b, _operand_point(rel.b_axes, segs, s_pt[:bb], s_pt[bb:], rel),
                                b_val))
            steps.append(MatmulStep(value, MatmulProof(out_sc.proof, a_val, b_val)))
        elif isinstance(rel, AxisSumRel):
            claims.append(_output_claim(circuit, rel.out, transcript, tables=tables))
            r, value = claims[-1].point, claims[-1].value
            claims.append(_axis_sum_claim(circuit.trace[rel.src], rel.axis, r, value))
            steps.append(ValueStep(value))
    views = {}
    for v in circuit.views.values():
        views[v.name] = v.table(tables[v.base], circuit.trace[v.base].bits)
    tables = {**tables, **views}
    for nv in sorted(circuit.identities):
        tick(f"identities over 2^{nv}")
        proof, cl = prove_identities(circuit.identities[nv], tables, circuit.publics, nv,
                                     transcript)
        claims += cl
        steps.append(proof)
    # one LogUp over all limb widths; claims per width: multiplicities, then the limbs
    widths = circuit.range_widths()
    tick("range checks")
    with listening(transcript, _range_listener(progress, {
            w: [tables[x].shape[0] for x in limbs] for w, limbs in widths.items()})):
        proof, cl = prove_ranges({w: [tables[x] for x in limbs] for w, limbs in widths.items()},
                                 {w: tables[circuit.range_mult_name(w)] for w in widths},
                                 transcript, widths, {w: circuit.range_mult_name(w) for w in widths})
    claims += cl
    steps.append(proof)
    tr, wt = _route(circuit, claims)
    for stage, (com, data), items in (("opening the trace commitment", trace_commitment, tr),
                                      ("opening the weight commitment", weight_commitment, wt)):
        tick(stage)
        # (progress passed only when reporting: tests substitute prove_openings without it)
        extra = {} if progress is None else {"progress": prefixed(progress, stage)}
        steps.append(prove_openings(pcs, com, data, items, transcript, **extra))
    return steps


def _range_listener(progress, sizes: dict[int, list[int]]):
    """A transcript listener reporting the range step as ``("range checks: leaves", done,
    total)``: the fraction trees' leaves, a tree counted half when its first GKR round is
    absorbed (its layers are built) and whole when its block values are (its layers proven).
    ``None`` without ``progress``."""
    if progress is None:
        return None
    from zkinfer.protocol import range as rng
    from zkinfer.sumcheck.common import _LABEL_ROUND

    plan = rng._plan(rng._blocks(sizes), rng.MAX_TREE_VARS)
    leaves = [1 << tree.num_vars for tree in plan]
    total = max(1, sum(leaves))
    state = {"tree": 0, "done": 0, "half": False}
    progress("range checks: leaves", 0, total)

    def listen(label: bytes) -> None:
        k = state["tree"]
        if k >= len(leaves):
            return
        if label == _LABEL_ROUND and not state["half"]:
            state["half"] = True
            progress("range checks: leaves", state["done"] + leaves[k] // 2, total)
        elif label == rng._LABEL_BLOCK_EVALS:
            state["done"] += leaves[k]
            state["tree"], state["half"] = k + 1, False
            progress("range checks: leaves", state["done"], total)

    return listen


def _axis_sum_claim(src, axis: int, r: U64, value: U64) -> Claim:
    """``sum_k src(.., k, ..) = 2^b src~(.., 1/2, .., ..)``: the claim on ``src``."""
    start = sum(src.bits[:axis])
    b = src.bits[axis]
    half = ext.from_base(np.full(b, _INV2, dtype=np.uint64))
    scale = ext.from_base(np.uint64(pow(_INV2, b, gl.P)))
    return Claim(src.name, np.concatenate([r[:start], half, r[start:]]), ext.mul(value, scale))


def _out_segments(rel: ContractRel, r: U64) -> dict[str, U64]:
    """The output point cut into one segment per output axis label."""
    segs, pos = {}, 0
    for label in rel.out_axes:
        b = rel.bit(label)
        segs[label] = r[pos: pos + b]
        pos += b
    return segs


def _operand_point(axes: tuple[str, ...], segs: dict[str, U64], s_batch: U64, s_y: U64,
                   rel: ContractRel) -> U64:
    parts = []
    for label in axes:
        if label == rel.y:
            parts.append(s_y)
        elif label == rel.batch:
            parts.append(s_batch)
        else:
            parts.append(segs[label])
    return np.concatenate(parts) if parts else ext.zeros(0)


def _contract_expr():
    from zkinfer.sumcheck.common import Expression

    return Expression.product(3)


def _operand_table(table: U64, axes: tuple[str, ...], rel: ContractRel,
                   segs: dict[str, U64]) -> U64:
    """``A'(h, y) = sum_fixed eq(r_fixed, fixed) A[..]`` as an extension table over (batch, y)."""
    from zkinfer.poly import fast
    from zkinfer.protocol import _kernels as K

    shape = tuple(1 << rel.bit(label) for label in axes)
    fixed = [k for k, label in enumerate(axes) if label not in (rel.y, rel.batch)]
    free = [k for k, label in enumerate(axes) if label == rel.batch]
    free += [k for k, label in enumerate(axes) if label == rel.y]
    arr = np.ascontiguousarray(np.transpose(table.reshape(shape), fixed + free))
    rows = int(np.prod([shape[k] for k in fixed], dtype=np.int64))
    arr = arr.reshape(rows, -1)
    point = np.concatenate([segs[axes[k]] for k in fixed]) if fixed else ext.zeros(0)
    out = np.empty((arr.shape[1], 2), dtype=np.uint64)
    K.combine_rows(arr, fast.eq_table(point.reshape(-1, 2)), out)
    return out


def _contract_final(rel: ContractRel, segs, s: U64, a_val: U64, b_val: U64) -> U64:
    """``eq(r_h, s_h) a b`` (just ``a b`` without a batch axis)."""
    from zkinfer.poly.multilinear import eq_eval

    bb = rel.bit(rel.batch) if rel.batch else 0
    e = eq_eval(segs[rel.batch], s[:bb]) if rel.batch else ext.ones(())
    return ext.mul(e, ext.mul(a_val, b_val))


# ---------------------------------------------------------------------------------------------
# verifier


def verify_circuit(
    circuit: Circuit,
    st: Statement,
    steps: list,
    pcs: PCS,
    trace_commitment: Commitment,
    weight_commitment: Commitment,
    transcript: Transcript,
) -> None:
    """Replay the schedule as the verifier.

    Raises:
        VerificationError: any relation, look-up, range check or opening fails (the error names
            which).
    """
    expected = len(circuit.relations) + len(circuit.identities) + 1 + 2  # one range step
    if len(steps) != expected:
        raise VerificationError("proof", "wrong number of steps", expected=expected, got=len(steps))
    it = iter(steps)
    claims: list[Claim] = []
    for rel in circuit.relations:
        step = next(it)
        if isinstance(rel, (MatmulRel, OneHotRel)):
            if not isinstance(step, MatmulStep):
                raise VerificationError(rel.out, "expected a product proof")
            out = circuit.trace[rel.out]
            claims.append(_output_claim(circuit, rel.out, transcript, value=step.value))
            r = claims[-1].point
            r_i, r_j = r[: out.bits[0]], r[out.bits[0]:]
            if isinstance(rel, MatmulRel):
                left, right = circuit.col(rel.left), circuit.col(rel.right)
                shape = (left.padded_shape[0], left.padded_shape[1], right.padded_shape[1])
                value = ext.sub(step.value, _bias_term(circuit, rel, r_i, r_j, out.shape[0]))
                claims += verify_matmul(shape, r, value, step.proof, transcript,
                                        names=(rel.left, rel.right), check=f"matmul {rel.out}")
            else:
                tab = circuit.weights[rel.table]
                shape = (out.padded_shape[0], tab.padded_shape[0], tab.padded_shape[1])
                cl = verify_matmul(shape, r, step.value, step.proof, transcript,
                                   names=("onehot", rel.table), check=f"embedding {rel.out}")
                want = onehot_eval(_ids_for(rel, st), shape[0], shape[1], cl[0].point)
                if not np.array_equal(want, cl[0].value):
                    raise VerificationError(f"embedding {rel.out}",
                                            "the looked-up rows are not the public token ids")
                claims.append(cl[1])
        elif isinstance(rel, TableRel):
            if not isinstance(step, TableStep):
                raise VerificationError(rel.name, "expected a look-up proof")
            beta = transcript.challenge_ext(_LABEL_BETA)
            src = circuit.trace[rel.src]
            tvals = circuit.tables[rel.table]
            lk = verify_lookup(1 << src.num_vars, tvals.shape[0], step.lookup, transcript,
                               check=f"table {rel.name}")
            evals = ext.as_ext(step.evals, "table evaluations")
            if evals.shape != (2, 2):
                raise VerificationError(f"table {rel.name}", "expected two evaluations")
            ind = circuit.publics[src.indicator].evaluate(lk.f_point) \
                if src.indicator in circuit.publics else ext.ones(())
            if not np.array_equal(_table_f(circuit, rel, beta, evals[0], evals[1], ind),
                                  lk.f_value):
                raise VerificationError(f"table {rel.name}",
                                        "looked-up pairs do not match the columns")
            # t(r) = r as an index + beta T~(r)
            want_t = ext.add(range_table_eval(lk.t_point), ext.mul(beta, evaluate(tvals, lk.t_point)))
            if not np.array_equal(want_t, lk.t_value):
                raise VerificationError(f"table {rel.name}", "table evaluation is wrong")
            transcript.append_ext(_LABEL_TABLE_EVALS, evals)
            claims += [Claim(rel.src, lk.f_point, evals[0]), Claim(rel.out, lk.f_point, evals[1]),
                       Claim(rel.mult, lk.t_point, lk.m_value)]
        elif isinstance(rel, ContractRel):
            from zkinfer.sumcheck.verifier import verify as verify_sumcheck

            if not isinstance(step, MatmulStep):
                raise VerificationError(rel.out, "expected a product proof")
            check = f"product {rel.out}"
            claims.append(_output_claim(circuit, rel.out, transcript, value=step.value))
            r = claims[-1].point
            segs = _out_segments(rel, r)
            bb = rel.bit(rel.batch) if rel.batch else 0
            transcript.append_bytes(_LABEL_CONTRACT, rel.out.encode())
            s_pt, final = verify_sumcheck(step.value, bb + rel.bit(rel.y), _contract_expr(),
                                          step.proof.sumcheck, transcript, check=check)
            a_val = ext.as_ext(step.proof.a_eval, "a")
            b_val = ext.as_ext(step.proof.b_eval, "b")
            # s_last(r_last) == eq(r_h, s_h) A~(..) B~(..)
            if not np.array_equal(_contract_final(rel, segs, s_pt, a_val, b_val), final):
                raise VerificationError(check, "final evaluation does not match")
            transcript.append_ext(_LABEL_VALUE, np.stack([a_val, b_val]))
            claims.append(Claim(rel.a, _operand_point(rel.a_axes, segs, s_pt[:bb], s_pt[bb:], rel),
                                a_val))
            claims.append(Claim(rel.b, _operand_point(rel.b_axes, segs, s_pt[:bb], s_pt[bb:], rel),
                                b_val))
        elif isinstance(rel, AxisSumRel):
            if not isinstance(step, ValueStep):
                raise VerificationError(rel.out, "expected a value")
            claims.append(_output_claim(circuit, rel.out, transcript, value=step.value))
            r, value = claims[-1].point, claims[-1].value
            claims.append(_axis_sum_claim(circuit.trace[rel.src], rel.axis, r, value))
        else:
            raise VerificationError("proof", f"unknown relation {type(rel).__name__}")
    for nv in sorted(circuit.identities):
        step = next(it)
        if not isinstance(step, ZerocheckProof):
            raise VerificationError(f"identities ({nv} variables)", "expected a zero-check")
        claims += verify_identities(circuit.identities[nv], circuit.publics, nv, step, transcript,
                                    check=f"identities ({nv} variables)")
    widths = circuit.range_widths()
    step = next(it)
    # verify_ranges checks that the step is a range proof (check "range")
    claims += verify_ranges(
        {w: [1 << circuit.limb_cols[x].num_vars for x in limbs] for w, limbs in widths.items()},
        step, transcript, widths, {w: circuit.range_mult_name(w) for w in widths}, check="range")
    tr, wt = _route(circuit, claims)
    for commitment, group, name in ((trace_commitment, tr, "trace"), (weight_commitment, wt, "weights")):
        step = next(it)
        if not isinstance(step, OpeningsProof):
            raise VerificationError(f"{name} openings", "expected an opening proof")
        verify_openings(pcs, commitment, group, step, transcript, check=f"{name} openings")
