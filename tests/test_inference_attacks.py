"""Soundness of inference proofs: one test per attack, each asserting the exact rejection.

A cheating prover here controls everything the real prover computes: it may run
:func:`zkinfer.prover.prove_trace` on any trace (``strict=False`` commits values outside their
range checks), prove with weights other than the committed ones, and edit, swap, replay or
truncate the proof's steps and bytes. The attacks:

- the public output changed by one (against an honest proof, and proven by a cheating prover);
- one activation changed (the rest of the trace recomputed from it, so it looks consistent);
- one value of any committed trace column changed;
- one weight changed after setup (prove with other weights, with or without recommitting them);
- another model's verifying key; a different input;
- a requantization rounded the other way; a clamp skipped; a table look-up with a wrong value;
- swapped, replayed, dropped or extra round messages; a truncated proof; trailing bytes;
- every single-byte change of a small proof and of a verifying key (a deterministic sample that
  covers every section, plus hypothesis over the positions).

Every one must raise :class:`~zkinfer.errors.VerificationError` (with the failing check named)
or :class:`~zkinfer.errors.ProofFormatError`, never accept and never raise anything else.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkinfer
from zkinfer.commit import TrivialPCS
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.model.config import TransformerConfig
from zkinfer.model.forward import forward
from zkinfer.model.intmodel import OpLinear, OpPool, OpTable, declare_widths, ops
from zkinfer.models import random_transformer
from zkinfer.proof import Proof, VerifyingKey
from zkinfer.protocol.engine import MatmulStep
from zkinfer.protocol.model_circuit import build_circuit
from zkinfer.protocol.openings import OpeningsProof
from zkinfer.protocol.range import RangeProof
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.prover import prove_trace

CFG = TransformerConfig(n_layers=2, d_model=8, n_heads=1, d_ff=12, max_seq_len=8, vocab_size=32,
                        block="mlp")
IDS = np.array([3, 1, 4, 1, 5], dtype=np.int64)
OTHER_IDS = np.array([2, 7, 1, 8, 2], dtype=np.int64)
REJECTED = (VerificationError, ProofFormatError)

# Where a value outside its range check is caught: a wide value's 16-bit limbs no longer
# recompose it ("identities"); a value of at most 16 bits is looked up directly, so a prover that
# looks up the true value fails the LogUp ("range ..."), and one that looks up the wrapped value
# (what `strict=False` commits) fails the trace opening, whose claims then disagree with the
# committed column ("trace openings").
RANGE_REJECTIONS = ("identities", "range", "trace openings")


# ---------------------------------------------------------------------------------------------
# fixtures and helpers


@dataclasses.dataclass
class Setup:
    model: object
    vk: VerifyingKey
    pk: object
    cols: dict
    output: np.ndarray
    proof: Proof


def _setup(model, pcs, ids=IDS) -> Setup:
    vk, pk = zkinfer.setup(model, pcs)
    trace = forward(model, ids)
    cols = {k: np.array(v) for k, v in trace.items()}
    proof = prove_trace(pk, ids, cols, np.asarray(trace.output, dtype=np.int64))
    # the honest proof verifies (TrivialPCS keys need the opt-in: they make no security claim)
    assert zkinfer.verify(vk, ids, proof.output, proof, allow_insecure=isinstance(pcs, TrivialPCS))
    return Setup(model, vk, pk, cols, np.asarray(trace.output, dtype=np.int64), proof)


@pytest.fixture(scope="module")
def honest() -> Setup:
    return _setup(random_transformer(CFG, 3), TrivialPCS())


@pytest.fixture(scope="module")
def honest_ligero() -> Setup:
    return _setup(random_transformer(CFG, 3), None)


def _copy(cols: dict) -> dict:
    return {k: v.copy() for k, v in cols.items()}


def _replay(model, cols: dict, after: str) -> np.ndarray:
    """Recompute (in place) every column of the ops after op ``after`` from the (edited) columns
    before them, with the model's integer semantics; returns the new pooled output."""
    started = False
    for op in ops(model):
        if started and isinstance(op, OpLinear):
            lin, rq = op.lin, op.lin.rq
            acc = cols[op.src] @ lin.w + lin.b
            pre = acc * rq.m + (cols[op.res] * lin.res_m if op.res is not None else 0)
            # q = floor((pre + 2^(s-1)) / 2^s), rem the remainder, out = clamp(q, lo, hi)
            t = pre + (1 << (rq.shift - 1))
            q = t >> rq.shift
            cols[f"{op.name}.acc"], cols[f"{op.name}.q"] = acc, q
            cols[f"{op.name}.rem"], cols[f"{op.name}.out"] = t - (q << rq.shift), np.clip(q, rq.lo, rq.hi)
        elif started and isinstance(op, OpTable):
            cols[f"{op.name}.out"] = op.table[cols[op.src] + (1 << (op.in_bits - 1))]
        elif started and isinstance(op, OpPool):
            h = cols[op.src]
            s = h.sum(axis=0)
            cols["pool.sum"], cols["pool.mean"] = s, (s << op.shift) // h.shape[0]
            cols["pool.rem"] = (s << op.shift) - cols["pool.mean"] * h.shape[0]
        started = started or op.name == after
    return cols["pool.mean"].copy()


def _cheat(s: Setup, cols: dict, output=None, ids=IDS, pk=None, strict=False) -> Proof:
    """A proof of an arbitrary trace (the cheating prover)."""
    output = s.output if output is None else output
    return prove_trace(pk or s.pk, ids, cols, np.asarray(output, dtype=np.int64), strict=strict)


def _rejects(vk, proof, ids=IDS, output=None, kind=VerificationError):
    """Verify and return the exception (``kind`` exactly); fails if the proof is accepted.

    ``allow_insecure``: most setups here use ``TrivialPCS`` (fast); it does not affect Ligero keys.
    """
    out = proof.output if output is None else output
    with pytest.raises(kind) as err:
        zkinfer.verify(vk, ids, out, proof, allow_insecure=True)
    assert type(err.value) is kind
    return err.value


def _with_weight(model, layer: int, which: str, index: tuple[int, int], delta: int):
    """A copy of ``model`` with one weight of ``layer{layer}.ffn.{which}`` changed by ``delta``."""
    layers = list(model.layers)
    ffn = layers[layer].ffn
    lin = getattr(ffn, which)
    w = lin.w.copy()
    w[index] += delta
    ffn = dataclasses.replace(ffn, **{which: dataclasses.replace(lin, w=w)})
    layers[layer] = dataclasses.replace(layers[layer], ffn=ffn)
    return dataclasses.replace(model, layers=tuple(layers))


def _with_clamp(model, layer: int, which: str, lo: int, hi: int):
    """A copy of ``model`` whose ``layer{layer}.ffn.{which}`` clamps to ``[lo, hi]`` (widths
    rederived: the declared width of ``out`` is then wider than ``[lo, hi]`` unless the bounds
    are powers of two, so the circuit range-checks ``out`` against both bounds)."""
    layers = list(model.layers)
    ffn = layers[layer].ffn
    lin = getattr(ffn, which)
    lin = dataclasses.replace(lin, rq=dataclasses.replace(lin.rq, lo=lo, hi=hi))
    layers[layer] = dataclasses.replace(layers[layer], ffn=dataclasses.replace(ffn, **{which: lin}))
    model = dataclasses.replace(model, layers=tuple(layers))
    return dataclasses.replace(model, widths=declare_widths(model))


# ---------------------------------------------------------------------------------------------
# the statement: output, input, verifying key


def test_output_changed_by_one_rejected(honest):
    err = _rejects(honest.vk, honest.proof, output=honest.output + np.eye(CFG.d_model, dtype=np.int64)[0])
    assert err.check == "statement" and "another output" in str(err)


def test_output_changed_by_one_in_the_proof_rejected(honest):
    out = honest.output.copy()
    out[3] -= 1
    forged = dataclasses.replace(honest.proof, output=out)
    err = _rejects(honest.vk, forged, output=out)
    assert err.check != "statement"  # the output is in the transcript: every challenge moves


@pytest.mark.parametrize("fix_remainder", [False, True], ids=["rem-kept", "rem-adjusted"])
def test_output_changed_by_one_by_cheating_prover_rejected(honest, fix_remainder):
    cols = _copy(honest.cols)
    out = honest.output.copy()
    out[0] += 1
    if fix_remainder:
        # keep sum 2^P - mean n - rem = 0 exact: rem becomes negative (out of its range check)
        cols["pool.rem"][0] -= IDS.shape[0]
    err = _rejects(honest.vk, _cheat(honest, cols, out))
    assert err.check.startswith(RANGE_REJECTIONS if fix_remainder else "identities")


def test_another_models_verifying_key_rejected(honest):
    other_vk, _ = zkinfer.setup(random_transformer(CFG, 4), TrivialPCS())
    err = _rejects(other_vk, honest.proof)
    assert err.check == "statement" and "another verifying key" in str(err)


def test_proof_relabelled_for_another_models_verifying_key_rejected(honest):
    # same architecture, other weights: the circuit is the same, the transcript and weights not
    other_vk, _ = zkinfer.setup(random_transformer(CFG, 4), TrivialPCS())
    forged = dataclasses.replace(honest.proof, vk_digest=other_vk.digest)
    err = _rejects(other_vk, forged)
    assert err.check != "statement"


def test_different_input_rejected(honest):
    err = _rejects(honest.vk, honest.proof, ids=OTHER_IDS)
    assert err.check == "statement" and "another input" in str(err)


def test_proof_relabelled_for_a_different_input_rejected(honest):
    forged = dataclasses.replace(honest.proof, ids=OTHER_IDS)
    err = _rejects(honest.vk, forged, ids=OTHER_IDS)
    assert err.check != "statement"


def test_trace_of_one_input_proven_for_another_input_rejected(honest):
    # the honest trace of IDS, its honest output, claimed for OTHER_IDS
    err = _rejects(honest.vk, _cheat(honest, _copy(honest.cols), ids=OTHER_IDS), ids=OTHER_IDS)
    assert err.check == "embedding emb.tok"


def test_input_longer_than_the_model_allows_rejected(honest):
    ids = np.arange(CFG.max_seq_len + 1) % CFG.vocab_size
    err = _rejects(honest.vk, dataclasses.replace(honest.proof, ids=ids), ids=ids)
    assert err.check == "statement"


# ---------------------------------------------------------------------------------------------
# the trace: activations, rounding, clamps, look-ups


def test_activation_changed_rejected(honest):
    cols = _copy(honest.cols)
    up = "layer0.ffn.up"
    lo, hi = honest.model.layers[0].ffn.up.rq.lo, honest.model.layers[0].ffn.up.rq.hi
    assert lo < cols[f"{up}.out"][0, 0] < hi
    cols[f"{up}.out"][0, 0] += 1
    out = _replay(honest.model, cols, up)  # everything after it follows the changed value
    err = _rejects(honest.vk, _cheat(honest, cols, out))
    assert err.check.startswith("identities")  # out - q - below + above, below (out - lo)


def test_activation_changed_with_its_quotient_rejected(honest):
    # out and q both +1 (no clamp involved): the rounding identity breaks
    cols = _copy(honest.cols)
    up = "layer0.ffn.up"
    cols[f"{up}.out"][1, 2] += 1
    cols[f"{up}.q"][1, 2] += 1
    out = _replay(honest.model, cols, up)
    err = _rejects(honest.vk, _cheat(honest, cols, out))
    assert err.check.startswith("identities")


#: one column per relation kind runs by default; ``-m slow`` runs every committed column
_REPRESENTATIVE = {"emb.tok", "layer0.ffn.up.acc", "layer0.ffn.up.rem", "layer1.ffn.act.out",
                   "layer1.ffn.down.out", "pool.sum"}


def _committed_trace_columns():
    model = random_transformer(CFG, 3)
    circuit = build_circuit(model, IDS.shape[0], np.zeros(CFG.d_model, dtype=np.int64))
    names = [n for n in forward(model, IDS) if n in circuit.trace]
    assert _REPRESENTATIVE <= set(names)
    return [n if n in _REPRESENTATIVE else pytest.param(n, marks=pytest.mark.slow) for n in names]


@pytest.mark.parametrize("column", _committed_trace_columns())
def test_one_committed_trace_value_changed_rejected(honest, column):
    cols = _copy(honest.cols)
    cols[column].reshape(-1)[-1] += 1
    err = _rejects(honest.vk, _cheat(honest, cols))
    assert err.check != "statement"


@pytest.mark.parametrize("direction", [1, -1], ids=["q+1", "q-1"])
def test_requantization_rounded_the_other_way_rejected(honest, direction):
    # acc m + 2^(s-1) = q 2^s + rem still holds, with rem outside [0, 2^s)
    cols = _copy(honest.cols)
    up = "layer1.ffn.up"
    s = honest.model.layers[1].ffn.up.rq.shift
    lo, hi = honest.model.layers[1].ffn.up.rq.lo, honest.model.layers[1].ffn.up.rq.hi
    i, j = 2, 5
    assert lo < cols[f"{up}.q"][i, j] < hi
    cols[f"{up}.q"][i, j] += direction
    cols[f"{up}.rem"][i, j] -= direction << s
    cols[f"{up}.out"][i, j] += direction
    out = _replay(honest.model, cols, up)
    with pytest.raises(Exception):  # noqa: B017 - the honest prover refuses this trace
        _cheat(honest, cols, out, strict=True)
    err = _rejects(honest.vk, _cheat(honest, cols, out))
    assert err.check.startswith(RANGE_REJECTIONS)  # rem leaves [0, 2^s)


@pytest.fixture(scope="module")
def clamping() -> Setup:
    """A model whose last linear clamps to a narrower range than its declared width."""
    base = random_transformer(CFG, 3)
    q = forward(base, IDS)["layer1.ffn.down.q"]
    lo, hi = int(np.percentile(q, 20)), int(np.percentile(q, 80))
    return _setup(_with_clamp(base, 1, "down", lo, hi), TrivialPCS())


def test_clamp_skipped_rejected(clamping):
    cols = _copy(clamping.cols)
    name = "layer1.ffn.down"
    rq = clamping.model.layers[1].ffn.down.rq
    q = cols[f"{name}.q"]
    assert ((q < rq.lo) | (q > rq.hi)).any()  # the honest trace clamps
    cols[f"{name}.out"] = q.copy()  # out = q beyond [lo, hi]: below = above = 0
    out = _replay(clamping.model, cols, name)
    assert not np.array_equal(out, clamping.output)
    err = _rejects(clamping.vk, _cheat(clamping, cols, out))
    assert err.check.startswith(RANGE_REJECTIONS)  # the [lo, hi] range check of out


def test_clamp_to_the_wrong_bound_rejected(clamping):
    cols = _copy(clamping.cols)
    name = "layer1.ffn.down"
    rq = clamping.model.layers[1].ffn.down.rq
    q, o = cols[f"{name}.q"], cols[f"{name}.out"]
    i, j = np.argwhere(q > rq.hi)[0]
    o[i, j] = rq.hi - 1  # inside the range, but not the clamp of q
    out = _replay(clamping.model, cols, name)
    err = _rejects(clamping.vk, _cheat(clamping, cols, out))
    assert err.check.startswith("identities")  # above (hi - out) != 0


def test_table_lookup_with_wrong_value_rejected(honest):
    cols = _copy(honest.cols)
    act = honest.model.layers[0].ffn.table
    half = 1 << (honest.model.layers[0].ffn.in_bits - 1)
    u = int(cols["layer0.ffn.up.out"][2, 3])
    wrong = next(int(v) for v in act[::-1] if int(v) != int(act[u + half]))  # another row's value
    cols["layer0.ffn.act.out"][2, 3] = wrong
    out = _replay(honest.model, cols, "layer0.ffn.act")
    err = _rejects(honest.vk, _cheat(honest, cols, out))
    assert err.check == "table layer0.ffn.act" and "not in the table" in str(err)


# ---------------------------------------------------------------------------------------------
# the weights


def test_weight_changed_after_setup_rejected(honest):
    # the prover runs (and proves) the model with one weight changed, against the original
    # commitment: the weight claims of the matmul sumcheck do not open
    cheat_model = _with_weight(honest.model, 0, "up", (1, 2), 3)
    trace = forward(cheat_model, IDS)
    _, cheat_pk = zkinfer.setup(cheat_model, TrivialPCS())
    pk = dataclasses.replace(honest.pk, model=cheat_model, weight_tables=cheat_pk.weight_tables)
    proof = _cheat(honest, dict(trace.items()), trace.output, pk=pk, strict=True)
    err = _rejects(honest.vk, proof)
    assert err.check == "weights openings" or "pcs" in err.check


def test_weight_changed_and_recommitted_rejected(honest):
    # the prover commits the changed weights and proves honestly against its own commitment,
    # but the verifier only knows the original verifying key
    cheat_model = _with_weight(honest.model, 1, "down", (0, 0), -2)
    trace = forward(cheat_model, IDS)
    _, cheat_pk = zkinfer.setup(cheat_model, TrivialPCS())
    pk = dataclasses.replace(cheat_pk, vk=honest.vk)
    proof = _cheat(honest, dict(trace.items()), trace.output, pk=pk, strict=True)
    err = _rejects(honest.vk, proof)
    assert err.check == "weights openings" or "pcs" in err.check


# ---------------------------------------------------------------------------------------------
# the messages: swapped, replayed, dropped, truncated


def _indices(proof: Proof, kind: type) -> list[int]:
    return [k for k, s in enumerate(proof.steps) if isinstance(s, kind)]


def _swap(proof: Proof, a: int, b: int) -> Proof:
    steps = list(proof.steps)
    steps[a], steps[b] = steps[b], steps[a]
    return dataclasses.replace(proof, steps=tuple(steps))


# (all range checks are one step: swapping it with another step is the different-types case)
@pytest.mark.parametrize("kind", [MatmulStep, ZerocheckProof, OpeningsProof])
def test_swapped_round_messages_rejected(honest, kind):
    idx = _indices(honest.proof, kind)
    assert len(idx) >= 2
    _rejects(honest.vk, _swap(honest.proof, idx[0], idx[-1]))


def test_swapped_steps_of_different_types_rejected(honest):
    a, b = _indices(honest.proof, MatmulStep)[0], _indices(honest.proof, ZerocheckProof)[0]
    err = _rejects(honest.vk, _swap(honest.proof, a, b))
    assert "expected" in str(err)


def test_swapped_sumcheck_rounds_rejected(honest):
    k = _indices(honest.proof, MatmulStep)[-1]
    step = honest.proof.steps[k]
    polys = step.proof.sumcheck.round_polys.copy()
    assert polys.shape[0] >= 2
    polys[[0, 1]] = polys[[1, 0]]
    sc = dataclasses.replace(step.proof.sumcheck, round_polys=polys)
    forged = dataclasses.replace(step, proof=dataclasses.replace(step.proof, sumcheck=sc))
    steps = list(honest.proof.steps)
    steps[k] = forged
    err = _rejects(honest.vk, dataclasses.replace(honest.proof, steps=tuple(steps)))
    assert err.check.startswith("matmul") and err.round is not None


@pytest.fixture(scope="module")
def other_proof(honest) -> Proof:
    """An honest proof of the same model on another input (a source of replayed messages)."""
    proof = zkinfer.prove(honest.pk, OTHER_IDS)
    assert zkinfer.verify(honest.vk, OTHER_IDS, proof.output, proof, allow_insecure=True)
    return proof


@pytest.mark.parametrize("kind", [MatmulStep, ZerocheckProof, RangeProof, OpeningsProof])
def test_replayed_round_message_from_another_proof_rejected(honest, other_proof, kind):
    k = _indices(honest.proof, kind)[-1]
    steps = list(honest.proof.steps)
    steps[k] = other_proof.steps[k]
    _rejects(honest.vk, dataclasses.replace(honest.proof, steps=tuple(steps)))


def test_replayed_proof_of_another_input_rejected(honest, other_proof):
    # the whole transcript of another run, with this run's statement
    forged = dataclasses.replace(other_proof, ids=IDS, output=honest.output)
    _rejects(honest.vk, forged)


def test_replayed_trace_commitment_rejected(honest, other_proof):
    forged = dataclasses.replace(honest.proof, trace_commitment=other_proof.trace_commitment)
    _rejects(honest.vk, forged)


def test_dropped_step_rejected(honest):
    forged = dataclasses.replace(honest.proof, steps=honest.proof.steps[:-1])
    err = _rejects(honest.vk, forged)
    assert err.check == "proof" and "number of steps" in str(err)


def test_duplicated_step_rejected(honest):
    forged = dataclasses.replace(honest.proof, steps=honest.proof.steps + honest.proof.steps[-1:])
    err = _rejects(honest.vk, forged)
    assert err.check == "proof" and "number of steps" in str(err)


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.01, 0.3, 0.9, 0.999999, -1])
def test_truncated_proof_rejected(honest, keep):
    data = honest.proof.to_bytes()
    cut = data[:-1] if keep == -1 else data[: int(len(data) * keep)]
    _rejects(honest.vk, cut, output=honest.output, kind=ProofFormatError)


def test_trailing_bytes_rejected(honest):
    _rejects(honest.vk, honest.proof.to_bytes() + b"\x00", output=honest.output, kind=ProofFormatError)


def test_truncated_verifying_key_rejected(honest):
    data = honest.vk.to_bytes()
    for cut in (0, 7, len(data) // 2, len(data) - 1):
        _rejects(data[:cut], honest.proof, kind=ProofFormatError)


# ---------------------------------------------------------------------------------------------
# single-byte changes (every section of a small Ligero proof and of its verifying key)


def _sections(proof: Proof) -> list[tuple[str, int, int]]:
    """``(name, start, end)`` byte ranges of the encoded proof: prefix fields, each step."""
    data = proof.to_bytes()
    head = len(dataclasses.replace(proof, steps=()).to_bytes())
    tc = len(proof.trace_commitment)
    n_ids, n_out = len(proof.ids), len(proof.output)
    # magic 4 | version 2 | digest 32 | ids (u32 count + u32s) | output (u32 + i64s) | commitment
    marks = [("magic", 0, 4), ("version", 4, 6), ("vk digest", 6, 38)]
    ids_end = 38 + 4 + 4 * n_ids
    out_end = ids_end + 4 + 8 * n_out
    marks += [("ids", 38, ids_end), ("output", ids_end, out_end), ("trace commitment", out_end, head - 4),
              ("step count", head - 4, head)]
    assert head - 4 - out_end >= tc
    start = head
    for k in range(len(proof.steps)):
        end = len(dataclasses.replace(proof, steps=proof.steps[: k + 1]).to_bytes())
        marks.append((f"step {k} {type(proof.steps[k]).__name__}", start, end))
        start = end
    assert start == len(data)
    return marks


def _flip(data: bytes, pos: int, xor: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= xor
    return bytes(b)


def _assert_byte_change_rejected(vk, data: bytes, output, pos: int, xor: int) -> None:
    try:
        zkinfer.verify(vk, IDS, output, _flip(data, pos, xor))
    except REJECTED:
        return
    except Exception as exc:  # a crash is a bug, reported with the position
        raise AssertionError(f"byte {pos} ^ {xor:#x}: {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"byte {pos} ^ {xor:#x}: the changed proof was ACCEPTED")


def _sample_positions(proof: Proof) -> list[int]:
    """First, middle and last byte of every section (openings: two more inside)."""
    out = set()
    for name, a, b in _sections(proof):
        out.update({a, (a + b) // 2, b - 1})
        if name.endswith("OpeningsProof"):
            out.update({a + (b - a) // 5, a + 4 * (b - a) // 5})
    return sorted(out)


def test_single_byte_changes_in_every_section_rejected(honest_ligero):
    s = honest_ligero
    data, vk = s.proof.to_bytes(), s.vk.to_bytes()
    for k, pos in enumerate(_sample_positions(s.proof)):
        _assert_byte_change_rejected(vk, data, s.output, pos, (0x01, 0x80, 0xFF)[k % 3])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_single_byte_change_rejected(honest_ligero, data):
    s = honest_ligero
    proof_bytes = s.proof.to_bytes()
    pos = data.draw(st.integers(0, len(proof_bytes) - 1), label="position")
    xor = data.draw(st.integers(1, 255), label="xor")
    _assert_byte_change_rejected(s.vk.to_bytes(), proof_bytes, s.output, pos, xor)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_single_byte_change_of_the_verifying_key_rejected(honest_ligero, data):
    s = honest_ligero
    vk_bytes = s.vk.to_bytes()
    pos = data.draw(st.integers(0, len(vk_bytes) - 1), label="position")
    xor = data.draw(st.integers(1, 255), label="xor")
    mutated = _flip(vk_bytes, pos, xor)
    try:
        vk = VerifyingKey.from_bytes(mutated)
    except ProofFormatError:
        return
    # a key that decodes but differs: the honest proof is for another key...
    err = _rejects(vk, s.proof)
    assert err.check == "statement"
    # ... and a proof relabelled for it must still be rejected, never crash
    forged = dataclasses.replace(s.proof, vk_digest=vk.digest)
    try:
        zkinfer.verify(vk, IDS, s.output, forged)
    except REJECTED:
        return
    raise AssertionError(f"vk byte {pos} ^ {xor:#x}: relabelled proof accepted")
