"""Every identity, range check and declared width of the circuit guards something: for each, a
forged trace that keeps every *other* constraint true, proven with the real schedule and
rejected by that constraint.

Each forgery is a trace of the model's semantics with one step changed (the later columns
recomputed from it, :func:`tests.cheating.engine.forward_with`) and, where the circuit's advice
would expose it, the advice chosen by the cheating prover. Each test checks that the verifier
rejects the forgery where that constraint is checked (an identity: the final check of its
group's zero-check, whose sum over the cube is the broken identity's instead of 0;
a range check: the LogUp, a limb outside its table), then that the forged witness breaks
exactly that constraint and nothing else (:func:`~tests.cheating.engine.broken_identities`,
:func:`~tests.cheating.engine.out_of_range`), in that order: with the constraint removed from
the circuit (``tools/mutation.py``: identity-emptied, range-dropped, width-dropped) the forged
proof is accepted and the test fails there. Most forgeries change the public output (the entry
or row changed is one whose change reaches it); a few are a second witness the circuit must not
admit (a non-boolean selector at a tie of the scores, an exponent index in the table's zero
padding, a reciprocal square root off by 8 whose output rounds the same).

The clamp advice ``below`` (and ``above``): a forged output pushed to a clamp bound it does not
reach keeps every identity true with ``below < 0``; its range check alone rejects it, and the
control shows the forgery accepted by the circuit without that range check (the field-bound
check, which refuses that circuit at build time today, bypassed too).
"""

from __future__ import annotations

import dataclasses
from unittest import mock

import numpy as np
import pytest

import zkinfer
from tests.cheating import engine as ce
from tests.protocol.requant_design import RequantSpec, requant_identities, requant_witness
from zkinfer.commit import TrivialPCS
from zkinfer.errors import VerificationError
from zkinfer.field import goldilocks as gl
from zkinfer.model.intmodel import declare_widths, ops
from zkinfer.proof import Proof
from zkinfer.protocol import circuit as circuit_mod
from zkinfer.protocol import model_circuit
from zkinfer.protocol.constraints import Broadcast, debug_check, prove_identities, verify_identities
from zkinfer.transcript import Transcript

IDS = ce.IDS


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with ce.single_threaded():
        yield


@pytest.fixture(scope="module")
def mlp() -> ce.Honest:
    return ce.honest("mlp")


@pytest.fixture(scope="module")
def transformer() -> ce.Honest:
    return ce.honest("transformer")


@pytest.fixture(scope="module")
def wide() -> ce.Honest:
    return ce.honest("wide")


@dataclasses.dataclass
class Forgery:
    """A forged proof and what its witness is claimed to break."""

    proof: Proof
    circuit: object
    witness: dict
    broken: tuple
    out_of_range: tuple

    def check_witness(self) -> None:
        """The witness breaks exactly the identities ``broken`` and the range-check bounds
        ``out_of_range`` (``"col >= lo"``, ``"col <= hi"``).

        Checked after the rejection: with the constraint under test removed from the circuit
        (a mutant), the forged proof must make its test fail by being accepted."""
        assert sorted(ce.broken_identities(self.circuit, self.witness)) == sorted(self.broken)
        assert sorted(ce.out_of_range(self.circuit, self.witness)) == sorted(self.out_of_range)


#: The zero-check's final check (``eq(tau, r) E(f(r))`` against the last round's claim).
ZEROCHECK_FINAL = r"final evaluation eq\(tau, r\) E\(f\(r\)\) does not match"


def _forge(h: ce.Honest, cols: dict, *, broken=(), out_of_range=(), edit_circuit=None,
           advice=None, padding=None) -> Forgery:
    """Prove the forged trace ``cols`` (its own output, ``h``'s ids) with the real schedule."""
    output, ids = cols["pool.mean"], h.ids
    circuit, witness = ce.forged_witness(h.pk, ids, cols, output, edit_circuit=edit_circuit,
                                         advice=advice, padding=padding)
    proof = ce.prove_forged(h.pk, ids, cols, output, edit_circuit=edit_circuit, advice=advice,
                            padding=padding)
    return Forgery(proof, circuit, witness, tuple(broken), tuple(out_of_range))


def _rejected(h: ce.Honest, proof, check: str, match: str) -> VerificationError:
    with pytest.raises(VerificationError, match=match) as err:
        zkinfer.verify(h.vk, h.ids, proof.output, proof, allow_insecure=True)
    assert err.value.check == check
    return err.value


def _rejected_by_identities(h: ce.Honest, forgery: Forgery, column: str) -> None:
    """Rejected by the final check of the zero-check of the cube ``column`` lives on."""
    nv = h.circuit.col(column).num_vars
    _rejected(h, forgery.proof, f"identities ({nv} variables)", ZEROCHECK_FINAL)
    forgery.check_witness()


def _rejected_by_range(h: ce.Honest, forgery: Forgery) -> None:
    _rejected(h, forgery.proof, "range", "look-up fractions do not cancel")
    forgery.check_witness()


def _forged_output(h: ce.Honest, cols: dict) -> None:
    """The forged trace's output is not the honest one."""
    assert not np.array_equal(cols["pool.mean"], h.output)


def _reaching(h: ce.Honest, candidates, forge) -> tuple[object, dict]:
    """The first candidate whose forged trace ``forge(candidate)`` changes the public output,
    and that trace (the forgeries below are about one entry or row; not every one of them
    survives the rounding of the layers after it)."""
    for c in candidates:
        cols = forge(c)
        if not np.array_equal(cols["pool.mean"], h.output):
            return c, cols
    raise AssertionError("no candidate changes the output")


def _unclamped(h: ce.Honest, name: str, margin: int = 4) -> list[tuple[int, int]]:
    """The entries of requantization ``name`` more than ``margin`` inside its clamp bounds."""
    op = next(op for op in ops(h.model) if op.name == name)
    rq = op.lin.rq if hasattr(op, "lin") else op.ln.rq
    q = h.cols[f"{name}.q"]
    return [(int(i), int(j)) for i, j in np.argwhere((q > rq.lo + margin) & (q < rq.hi - margin))]


# ---------------------------------------------------------------------------------------------
# embedding and pooling


def test_embedding_sum_changed_rejected_by_its_identity(mlp):
    def edit(cols) -> None:
        cols["emb.x"][0, 1] += 1

    cols = ce.forward_with(mlp.model, IDS, {"emb": edit})
    _forged_output(mlp, cols)
    _rejected_by_identities(mlp, _forge(mlp, cols, broken=["emb.x = tok + pos"]), "emb.x")


def test_pooled_mean_changed_rejected_by_its_identity(transformer):
    h = transformer
    cols = h.copy_cols()
    cols["pool.mean"][2] += 1
    _rejected_by_identities(h, _forge(h, cols, broken=["pool mean"]), "pool.sum")


def test_pooled_mean_one_lower_with_remainder_n_rejected_by_its_bound(mlp):
    # sum 2^P = (mean - 1) n + (rem + n): the remainder fits its 2-bit width but exceeds n - 1
    cols = mlp.copy_cols()
    k = int(np.argmax(cols["pool.rem"] + IDS.shape[0] < 1 << mlp.model.widths["pool.rem"][0]))
    assert cols["pool.rem"][k] + IDS.shape[0] < 1 << mlp.model.widths["pool.rem"][0]
    cols["pool.mean"][k] -= 1
    cols["pool.rem"][k] += IDS.shape[0]
    _rejected_by_range(mlp, _forge(mlp, cols, out_of_range=[f"pool.rem <= {IDS.shape[0] - 1}"]))


def test_pooled_mean_one_higher_with_negative_remainder_rejected_by_its_width(transformer):
    # sum 2^P = (mean + 1) n + (rem - n): rem - n is still <= n - 1, but negative
    h = transformer
    cols = h.copy_cols()
    k = int(np.argmax(cols["pool.rem"]))
    assert cols["pool.rem"][k] - IDS.shape[0] >= IDS.shape[0] - (1 << h.model.widths["pool.rem"][0])
    cols["pool.mean"][k] += 1
    cols["pool.rem"][k] -= IDS.shape[0]
    _rejected_by_range(h, _forge(h, cols, out_of_range=["pool.rem >= 0"]))


# ---------------------------------------------------------------------------------------------
# requantization: rounding, clamp, and the ranges that make them exact


def _requant_forgery(h: ce.Honest, change) -> tuple[tuple[int, int], dict]:
    """``change(cols, (i, j))`` applied to ``layer0.ffn.up`` at the first unclamped entry where
    it reaches the output (everything after that linear recomputed)."""
    def forge(e):
        return ce.forward_with(h.model, IDS, {"layer0.ffn.up": lambda cols: change(cols, e)})

    return _reaching(h, _unclamped(h, "layer0.ffn.up"), forge)


def test_quotient_raised_with_the_same_remainder_rejected_by_rounding(mlp):
    def change(cols, e) -> None:
        cols["layer0.ffn.up.q"][e] += 4
        cols["layer0.ffn.up.out"][e] += 4

    _, cols = _requant_forgery(mlp, change)
    forgery = _forge(mlp, cols, broken=["layer0.ffn.up rounding"])
    _rejected_by_identities(mlp, forgery, "layer0.ffn.up.acc")


def test_output_above_its_quotient_rejected_by_the_low_clamp(mlp):
    # out = q + 4 with below = 4: out - below + above = q, but below > 0 with out > lo
    def change(cols, e) -> None:
        cols["layer0.ffn.up.out"][e] += 4

    _, cols = _requant_forgery(mlp, change)
    forgery = _forge(mlp, cols, broken=["layer0.ffn.up clamp low"])
    _rejected_by_identities(mlp, forgery, "layer0.ffn.up.acc")


def test_output_below_its_quotient_rejected_by_the_high_clamp(mlp):
    # out = q - 4 with above = 4: out - below + above = q, but above > 0 with out < hi
    def change(cols, e) -> None:
        cols["layer0.ffn.up.out"][e] -= 4

    _, cols = _requant_forgery(mlp, change)
    forgery = _forge(mlp, cols, broken=["layer0.ffn.up clamp high"])
    _rejected_by_identities(mlp, forgery, "layer0.ffn.up.acc")


def test_requantization_rounded_down_with_a_negative_remainder_rejected_by_its_width(mlp):
    # q + 1 and rem - 2^s: the rounding identity holds, the remainder leaves [0, 2^s)
    shift = mlp.model.layers[0].ffn.up.rq.shift

    def change(cols, e) -> None:
        cols["layer0.ffn.up.q"][e] += 1
        cols["layer0.ffn.up.out"][e] += 1
        cols["layer0.ffn.up.rem"][e] -= 1 << shift

    _, cols = _requant_forgery(mlp, change)
    _rejected_by_range(mlp, _forge(mlp, cols, out_of_range=["layer0.ffn.up.rem >= 0"]))


def test_standalone_requantization_output_not_its_clamped_quotient_rejected_by_the_clamp():
    # requant_identities (q committed, unlike the circuit, whose q is the linear column
    # out - below + above, so the circuit drops this identity): out = q + 1 with
    # below = above = 0 keeps the rounding and both clamp products true
    rng = np.random.default_rng(8)
    spec = RequantSpec("r", shift=6, lo=-128, hi=127, acc_bits=12, m_bits=8)
    acc, m = rng.integers(-(1 << 9), 1 << 9, (4, 8)), rng.integers(1, 1 << 6, 8)
    w = requant_witness(acc, m, spec)
    i, j = np.argwhere((w["r.q"] > spec.lo + 1) & (w["r.q"] < spec.hi - 1))[0]
    w["r.out"][i, j] += 1
    cols = {"acc": gl.encode_signed(acc.reshape(-1))}
    cols.update({k: gl.encode_signed(v.reshape(-1)) for k, v in w.items()})
    publics = {"m": Broadcast(gl.encode_signed(m))}
    identities = requant_identities(spec, "acc", "m")
    proof, _ = prove_identities(identities, cols, publics, 5, Transcript(b"tests/requant"))
    with pytest.raises(VerificationError, match=ZEROCHECK_FINAL) as err:
        verify_identities(identities, publics, 5, proof, Transcript(b"tests/requant"),
                          check="requant")
    assert err.value.check == "requant"
    assert [name for name, _ in debug_check(identities, cols, publics, 5)] == ["r clamp"]


def _clamped_to(h: ce.Honest, bound: str) -> tuple[dict, dict]:
    """The trace with one unclamped output of ``layer0.ffn.up`` moved to its clamp bound
    ``lo`` (or ``hi``) and the advice that keeps every identity true: ``below = lo - q < 0``
    (or ``above = q - hi < 0``): ``out - below + above`` is still ``q``, and
    ``below (out - lo) = 0``, ``above (hi - out) = 0`` since ``out`` sits at that bound."""
    name = "layer0.ffn.up"
    rq = h.model.layers[0].ffn.up.rq
    target = rq.lo if bound == "lo" else rq.hi

    def change(cols, e) -> None:
        cols[f"{name}.out"][e] = target

    (i, j), cols = _requant_forgery(h, change)
    q, out = cols[f"{name}.q"], cols[f"{name}.out"]
    below, above = np.maximum(out - q, 0), np.maximum(q - out, 0)  # the honest rules
    if bound == "lo":
        below[i, j], above[i, j] = out[i, j] - q[i, j], 0
    else:
        below[i, j], above[i, j] = 0, q[i, j] - out[i, j]
    return cols, {f"{name}.below": below, f"{name}.above": above}


def test_forged_output_with_negative_below_rejected_by_the_range_check_of_below(mlp):
    # the clamp pushed to lo although q > lo: every identity holds (checked), and only the
    # range check of the clamp advice below (below >= 0) is broken
    cols, advice = _clamped_to(mlp, "lo")
    _forged_output(mlp, cols)
    forgery = _forge(mlp, cols, advice=advice,
                   out_of_range=["layer0.ffn.up.below >= 0"])
    _rejected_by_range(mlp, forgery)


def test_forged_output_with_negative_below_accepted_without_that_range_check(mlp):
    # the control: the circuit without the range check of below (both sides build it; the
    # field-bound check, which would refuse that circuit, is bypassed too) accepts the forgery
    real = circuit_mod.Circuit.add_trace

    def add_trace(self, name, shape, width, padded_zero=True):
        return real(self, name, shape, None if name.endswith(".below") else width, padded_zero)

    cols, advice = _clamped_to(mlp, "lo")
    with mock.patch.object(circuit_mod.Circuit, "add_trace", add_trace), \
            mock.patch.object(model_circuit, "check_field_bounds", lambda c: None):
        proof = ce.prove_forged(mlp.pk, IDS, cols, cols["pool.mean"],
                                advice=advice)
        assert zkinfer.verify(mlp.vk, IDS, proof.output, proof, allow_insecure=True)
    _forged_output(mlp, cols)


def test_forged_output_with_negative_above_rejected_by_the_range_check_of_above(mlp):
    cols, advice = _clamped_to(mlp, "hi")
    _forged_output(mlp, cols)
    forgery = _forge(mlp, cols, advice=advice,
                   out_of_range=["layer0.ffn.up.above >= 0"])
    _rejected_by_range(mlp, forgery)


@pytest.fixture(scope="module")
def clamping(mlp) -> ce.Honest:
    """The MLP with ``layer1.ffn.down`` clamped to a range narrower than its declared width,
    so the circuit range-checks ``out`` against both clamp bounds."""
    base = mlp.model
    q = mlp.cols["layer1.ffn.down.q"]
    lo, hi = int(np.percentile(q, 25)), int(np.percentile(q, 75))
    layers = list(base.layers)
    down = layers[1].ffn.down
    down = dataclasses.replace(down, rq=dataclasses.replace(down.rq, lo=lo, hi=hi))
    layers[1] = dataclasses.replace(layers[1], ffn=dataclasses.replace(layers[1].ffn, down=down))
    model = dataclasses.replace(base, layers=tuple(layers))
    model = dataclasses.replace(model, widths=declare_widths(model))
    vk, pk = zkinfer.setup(model, TrivialPCS())
    cols = ce.forward_with(model, IDS)
    c = model_circuit.build_circuit(model, IDS.shape[0], cols["pool.mean"])
    return ce.Honest(model, vk, pk, IDS, cols, cols["pool.mean"], None, c)


@pytest.mark.parametrize("side", ["lo", "hi"])
def test_clamp_skipped_rejected_by_the_clamp_range_check(clamping, side):
    # out = q beyond the clamp bound (below = above = 0: every identity holds), inside the
    # declared width: only the range check of that bound is broken
    h = clamping
    rq = h.model.layers[1].ffn.down.rq
    name = "layer1.ffn.down"
    q = h.cols[f"{name}.q"]
    i, j = np.argwhere(q < rq.lo if side == "lo" else q > rq.hi)[0]

    def edit(cols) -> None:
        cols[f"{name}.out"][i, j] = cols[f"{name}.q"][i, j]

    cols = ce.forward_with(h.model, IDS, {name: edit})
    _forged_output(h, cols)
    bound = f"{name}.out >= {rq.lo}" if side == "lo" else f"{name}.out <= {rq.hi}"
    _rejected_by_range(h, _forge(h, cols, out_of_range=[bound]))


# ---------------------------------------------------------------------------------------------
# softmax


S = "layer0.attn.softmax"


def _softmax_forgery(h: ce.Honest, stage: str, change) -> dict:
    """The trace with ``change(cols)`` applied to the softmax columns and everything after
    ``stage`` recomputed."""
    def edit(cols) -> None:
        change(cols)
        ce.attention_from(h.model, "layer0.attn", cols, stage)

    return ce.forward_with(h.model, h.ids, {"layer0.attn": edit})


def _entries(h: ce.Honest, where) -> list[tuple[int, ...]]:
    """Every ``(h, i, j)`` (or ``(h, i)``) where ``where(cols)`` holds."""
    return [tuple(int(x) for x in e) for e in np.argwhere(where(h.cols))]


def _table_size(h: ce.Honest) -> int:
    return len(h.model.layers[0].attn.exp_table)


def test_softmax_difference_not_max_minus_score_rejected(transformer):
    h = transformer

    def forge(e):
        def change(cols) -> None:
            cols[f"{S}.diff"][e] += 30
        return _softmax_forgery(h, "diff", change)

    _, cols = _reaching(h, _entries(h, lambda c: c[f"{S}.diff"] > 0), forge)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{S} diff"]), f"{S}.diff")


def _raised_max(h: ce.Honest, row, sel=None) -> dict:
    def change(cols) -> None:
        cols[f"{S}.max"][row] += 40

    return _softmax_forgery(h, "max", change)


def test_row_maximum_raised_rejected_because_the_selected_score_is_not_it(transformer):
    # max + 40 in one row (diff + 40 there): the selector still points at the old maximum,
    # where diff is now 40
    h = transformer
    _, cols = _reaching(h, _entries(h, lambda c: c[f"{S}.max"] > -1 << 20),
                        lambda row: _raised_max(h, row))
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{S} sel at max"]), f"{S}.diff")


def test_row_maximum_raised_with_no_selected_score_rejected_by_one_max_per_row(transformer):
    # max + 40 in one row and a selector of all zeros there: no identity but the one that
    # says each row selects one score is broken
    h = transformer
    row, cols = _reaching(h, _entries(h, lambda c: c[f"{S}.max"] > -1 << 20),
                          lambda row: _raised_max(h, row))
    sel = np.zeros(h.cols[f"{S}.diff"].shape, dtype=np.int64)
    np.put_along_axis(sel, h.cols[f"{S}.argmax"][..., None], 1, axis=-1)
    sel[row] = 0
    forgery = _forge(h, cols, advice={f"{S}.sel": sel, f"{S}.selsum": sel.sum(axis=2)},
                   broken=[f"{S} one max per row"])
    _rejected_by_identities(h, forgery, f"{S}.max")


def test_row_maximum_raised_with_its_selector_on_a_padded_key_rejected_by_the_padding(transformer):
    # max + 40 in one row, the selector of that row on a padded key: there diff = 0 (the
    # padded scores are 0 and diff = max - scores only on real entries), so sel is boolean, at
    # a maximum and sums to 1; only the identity that sel is zero on the padding is broken
    h = transformer
    n = IDS.shape[0]
    row, cols = _reaching(h, _entries(h, lambda c: c[f"{S}.max"] > -1 << 20),
                          lambda row: _raised_max(h, row))
    sel = np.zeros(h.cols[f"{S}.diff"].shape, dtype=np.int64)
    np.put_along_axis(sel, h.cols[f"{S}.argmax"][..., None], 1, axis=-1)
    sel[row] = 0
    padded = np.zeros(h.circuit.trace[f"{S}.sel"].padded_shape, dtype=np.int64)
    padded[:, :n, :n] = sel
    padded[row + (n,)] = 1
    forgery = _forge(h, cols, advice={f"{S}.sel": sel},
                   padding={f"{S}.sel": padded}, broken=[f"{S}.sel padding"])
    _rejected_by_identities(h, forgery, f"{S}.diff")


def test_non_boolean_selector_at_a_tie_rejected(transformer):
    # a second witness: in a row whose maximum is attained twice, the selector (2, -1) sums to
    # 1 and is 0 off the maximum; only its booleanity excludes it
    h = transformer
    diff = h.cols[f"{S}.diff"]
    hh, i = next((a, b) for a in range(diff.shape[0]) for b in range(diff.shape[1])
                 if (diff[a, b] == 0).sum() >= 2)
    j0, j1 = np.flatnonzero(diff[hh, i] == 0)[:2]
    sel = np.zeros(diff.shape, dtype=np.int64)
    np.put_along_axis(sel, h.cols[f"{S}.argmax"][..., None], 1, axis=-1)
    sel[hh, i] = 0
    sel[hh, i, j0], sel[hh, i, j1] = 2, -1
    forgery = _forge(h, h.copy_cols(), advice={f"{S}.sel": sel},
                   broken=[f"{S} sel boolean"])
    _rejected_by_identities(h, forgery, f"{S}.diff")


def test_exponent_index_not_the_clamped_difference_rejected(transformer):
    # idx = diff + 20 (inside the table, over = 0)
    h = transformer
    T = _table_size(h)

    def forge(e):
        def change(cols) -> None:
            cols[f"{S}.idx"][e] += 20
        return _softmax_forgery(h, "idx", change)

    _, cols = _reaching(h, _entries(h, lambda c: c[f"{S}.diff"] < T - 21), forge)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{S} idx"]), f"{S}.diff")


def test_exponent_index_zero_with_overflow_rejected_by_the_clamp(transformer):
    # idx = 0 and over = diff keep idx = diff - over (the largest weight for any score), but
    # over > 0 with idx < T - 1
    h = transformer

    def forge(e):
        def change(cols) -> None:
            cols[f"{S}.idx"][e] = 0
        return _softmax_forgery(h, "idx", change)

    e, cols = _reaching(h, _entries(h, lambda c: c[f"{S}.diff"] > 0), forge)
    over = np.maximum(h.cols[f"{S}.diff"] - (_table_size(h) - 1), 0)
    over[e] = h.cols[f"{S}.diff"][e]
    forgery = _forge(h, cols, advice={f"{S}.over": over},
                   broken=[f"{S} idx clamp"])
    _rejected_by_identities(h, forgery, f"{S}.diff")


def test_exponent_index_clamped_early_with_negative_overflow_rejected_by_its_width(transformer):
    # a difference inside the table looked up at its last row (weight 0): over = diff - (T - 1)
    # < 0 keeps both idx identities true; only the range check of over is broken
    h = transformer
    T = _table_size(h)

    def forge(e):
        def change(cols) -> None:
            cols[f"{S}.idx"][e] = T - 1
        return _softmax_forgery(h, "idx", change)

    e, cols = _reaching(h, _entries(h, lambda c: (c[f"{S}.diff"] > 0) & (c[f"{S}.diff"] < T - 1)),
                        forge)
    over = np.maximum(h.cols[f"{S}.diff"] - (T - 1), 0)
    over[e] = h.cols[f"{S}.diff"][e] - (T - 1)
    forgery = _forge(h, cols, advice={f"{S}.over": over},
                   out_of_range=[f"{S}.over >= 0"])
    _rejected_by_range(h, forgery)


def test_probability_raised_rejected_by_the_division(transformer):
    h = transformer

    def forge(e):
        def change(cols) -> None:
            cols[f"{S}.p"][e] += 30
        return _softmax_forgery(h, "p", change)

    _, cols = _reaching(h, _entries(h, lambda c: c[f"{S}.p"] >= 0), forge)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{S} division"]), f"{S}.diff")


def test_probability_one_lower_with_remainder_above_the_sum_rejected_by_the_slack(transformer):
    # p - 1 and rem + sum: the division holds and rem fits its width, but rem > sum - 1
    h = transformer
    width = 1 << h.model.widths[f"{S}.rem"][0]
    ssum = h.cols[f"{S}.sum"][:, :, None]

    def forge(e):
        def change(cols) -> None:
            cols[f"{S}.p"][e] -= 1
            cols[f"{S}.rem"][e] += cols[f"{S}.sum"][e[:2]]
        return _softmax_forgery(h, "p", change)

    _, cols = _reaching(h, _entries(h, lambda c: (c[f"{S}.p"] > 0) & (c[f"{S}.rem"] + ssum < width)),
                        forge)
    _rejected_by_range(h, _forge(h, cols, out_of_range=[f"{S}.slack >= 0"]))


def test_probability_raised_with_negative_remainder_rejected_by_its_width(transformer):
    # p + 1 and rem - sum: the division holds and rem <= sum - 1, but rem < 0
    h = transformer
    width = 1 << h.model.widths[f"{S}.rem"][0]
    ssum = h.cols[f"{S}.sum"][:, :, None]

    def forge(e):
        def change(cols) -> None:
            cols[f"{S}.p"][e] += 1
            cols[f"{S}.rem"][e] -= cols[f"{S}.sum"][e[:2]]
        return _softmax_forgery(h, "p", change)

    _, cols = _reaching(h, _entries(h, lambda c: 2 * ssum - 1 - c[f"{S}.rem"] < width), forge)
    _rejected_by_range(h, _forge(h, cols, out_of_range=[f"{S}.rem >= 0"]))


def test_exponent_index_beyond_the_table_rejected_by_its_bound(wide):
    # a second witness: a difference in [T, 64) looked up as itself (over = 0) in the padded
    # rows of the table, which hold 0 = EXP[T - 1]; the index fits its 6-bit width, only the
    # bound idx <= T - 1 excludes it
    h = wide
    T = _table_size(h)
    diff = h.cols[f"{S}.diff"]
    e = tuple(int(x) for x in np.argwhere((diff >= T) & (diff < 64))[0])
    cols = h.copy_cols()
    cols[f"{S}.idx"][e] = diff[e]
    over = np.maximum(diff - (T - 1), 0)
    over[e] = 0
    forgery = _forge(h, cols, advice={f"{S}.over": over},
                     out_of_range=[f"{S}.idx <= {T - 1}"])
    _rejected_by_range(h, forgery)


# ---------------------------------------------------------------------------------------------
# LayerNorm: mean, variance, the reciprocal square root and its limbs


L = "layer0.ln1"


def _ln_forgery(h: ce.Honest, stage: str, change) -> dict:
    def edit(cols) -> None:
        change(cols)
        ce.layernorm_from(h.model, L, cols, stage)

    return ce.forward_with(h.model, h.ids, {L: edit})


def _ln_advice(h: ce.Honest, t: np.ndarray, y: np.ndarray, var: np.ndarray) -> dict:
    """The LayerNorm advice of ``L`` for ``t`` (``= rsqrt^2`` for an honest prover),
    ``y`` (``= rsqrt``) and ``var`` as given: limbs of ``L = 61 - V`` bits and their products
    with ``var``."""
    bits = 61 - h.model.widths[f"{L}.var"][0]
    mask = (1 << bits) - 1
    out = {f"{L}.t": t}
    plan = model_circuit.witness_plan(h.model, h.ids.shape[0])
    for i in range(sum(1 for k in plan if k.startswith(f"{L}.ta"))):
        out[f"{L}.t{i}"] = (t >> (bits * i)) & mask
        out[f"{L}.ta{i}"] = out[f"{L}.t{i}"] * var
    for i in range(sum(1 for k in plan if k.startswith(f"{L}.wa"))):
        out[f"{L}.y{i}"] = (y >> (bits * i)) & mask
        out[f"{L}.wa{i}"] = out[f"{L}.y{i}"] * var
    return out


def _rows(h: ce.Honest) -> range:
    return range(h.ids.shape[0])


def test_layernorm_mean_raised_rejected(transformer):
    h = transformer

    def forge(r):
        def change(cols) -> None:
            cols[f"{L}.mean"][r] += 10
        return _ln_forgery(h, "mean", change)

    _, cols = _reaching(h, _rows(h), forge)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{L} mean"]), f"{L}.sum")


def test_layernorm_mean_one_lower_with_remainder_d_or_more_rejected_by_its_bound(wide):
    # sum = (mean - 1) d + (mean_rem + d): the remainder fits its 3-bit width but exceeds
    # d - 1 = 5
    h = wide
    d = h.model.config.d_model
    width = 1 << h.model.widths[f"{L}.mean_rem"][0]

    def forge(r):
        def change(cols) -> None:
            cols[f"{L}.mean"][r] -= 1
            cols[f"{L}.mean_rem"][r] += d
        return _ln_forgery(h, "mean", change)

    rows = [r for r in _rows(h) if h.cols[f"{L}.mean_rem"][r] + d < width]
    _, cols = _reaching(h, rows, forge)
    _rejected_by_range(h, _forge(h, cols, out_of_range=[f"{L}.mean_rem <= {d - 1}"]))


def test_layernorm_variance_tripled_rejected(transformer):
    h = transformer

    def forge(r):
        def change(cols) -> None:
            cols[f"{L}.var"][r] *= 3
        return _ln_forgery(h, "var", change)

    _, cols = _reaching(h, _rows(h), forge)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{L} var"]), f"{L}.sum")


def test_layernorm_centred_value_changed_rejected(transformer):
    h = transformer

    def forge(r):
        def change(cols) -> None:
            cols[f"{L}.c"][r, 1] += 20
        return _ln_forgery(h, "c", change)

    _, cols = _reaching(h, _rows(h), forge)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{L} center"]), f"{L}.c")


def test_layernorm_square_changed_rejected(transformer):
    # one square c^2 raised by the row's variance (its row's sum and variance follow)
    h = transformer
    eps = h.model.layers[0].ln1.eps

    def squares(r) -> np.ndarray:
        csq = h.cols[f"{L}.c"] ** 2
        csq[r, 2] += h.cols[f"{L}.var"][r]
        return csq

    def forge(r):
        def change(cols) -> None:
            cols[f"{L}.var"] = squares(r).sum(axis=1) + eps
        return _ln_forgery(h, "var", change)

    r, cols = _reaching(h, _rows(h), forge)
    csq = squares(r)
    advice = {f"{L}.csq": csq, f"{L}.csum": csq.sum(axis=1)}
    _rejected_by_identities(h, _forge(h, cols, advice=advice, broken=[f"{L} square"]),
                            f"{L}.c")


def test_layernorm_scaled_value_changed_rejected(transformer):
    h = transformer

    def forge(r):
        def change(cols) -> None:
            cols[f"{L}.z"][r, 3] += 300_000
        return _ln_forgery(h, "z", change)

    _, cols = _reaching(h, _rows(h), forge)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{L} scale"]), f"{L}.c")


def _rsqrt_forgery(h: ce.Honest, row: int, new: int, lo: str, hi: str) -> dict:
    """The trace with ``rsqrt = new`` in ``row``; ``rsqrt_lo`` ``kept`` or ``exact``
    (``2^k - rsqrt^2 var``), ``rsqrt_hi`` ``kept`` or ``fit`` (``(2 rsqrt + 1) var - lo - 1``, so
    the high bound's identity holds); ``z`` and everything after recomputed."""
    two_k = 1 << h.model.layers[0].ln1.k

    def change(cols) -> None:
        y, var = cols[f"{L}.rsqrt"], cols[f"{L}.var"]
        y[row] = new
        if lo == "exact":
            cols[f"{L}.rsqrt_lo"][row] = two_k - y[row] * y[row] * var[row]
        if hi == "fit":
            cols[f"{L}.rsqrt_hi"][row] = (2 * y[row] + 1) * var[row] - cols[f"{L}.rsqrt_lo"][row] - 1

    return _ln_forgery(h, "bounds", change)


def _larger_rsqrt(h: ce.Honest, lo: str = "kept", hi: str = "fit") -> tuple[int, dict]:
    """rsqrt raised by a third in the first row where that reaches the output (t var then stays
    below 2^(k+1), the range of the products t_i var)."""
    y = h.cols[f"{L}.rsqrt"]
    return _reaching(h, _rows(h), lambda r: _rsqrt_forgery(h, r, y[r] + y[r] // 3, lo, hi))


def test_rsqrt_raised_with_a_low_bound_that_does_not_hold_rejected(transformer):
    # the old rsqrt_lo: rsqrt^2 var + lo = 2^k is false, all else holds
    h = transformer
    _, cols = _larger_rsqrt(h)
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{L} rsqrt low"]), f"{L}.sum")


def test_rsqrt_halved_with_a_high_bound_that_does_not_hold_rejected(transformer):
    h = transformer
    y = h.cols[f"{L}.rsqrt"]
    _, cols = _reaching(h, _rows(h), lambda r: _rsqrt_forgery(h, r, y[r] // 2, "exact", "kept"))
    _rejected_by_identities(h, _forge(h, cols, broken=[f"{L} rsqrt high"]), f"{L}.sum")


def test_rsqrt_raised_with_a_negative_low_remainder_rejected_by_its_width(transformer):
    # rsqrt^2 var + lo = 2^k and the high bound both hold with lo < 0: rsqrt^2 var > 2^k,
    # excluded only by lo >= 0
    h = transformer
    _, cols = _larger_rsqrt(h, lo="exact")
    _rejected_by_range(h, _forge(h, cols, out_of_range=[f"{L}.rsqrt_lo >= 0"]))


def test_rsqrt_halved_with_a_negative_high_remainder_rejected_by_its_width(transformer):
    # both bound identities hold with hi < 0: (rsqrt + 1)^2 var <= 2^k, excluded only by hi >= 0
    h = transformer
    y = h.cols[f"{L}.rsqrt"]
    _, cols = _reaching(h, _rows(h), lambda r: _rsqrt_forgery(h, r, y[r] // 2, "exact", "fit"))
    _rejected_by_range(h, _forge(h, cols, out_of_range=[f"{L}.rsqrt_hi >= 0"]))


def test_rsqrt_raised_with_the_square_of_the_true_rsqrt_rejected(transformer):
    # t (its limbs and their products) of the true rsqrt: the low bound holds for it, only
    # t = rsqrt^2 is broken
    h = transformer
    _, cols = _larger_rsqrt(h)
    y0, var = h.cols[f"{L}.rsqrt"], cols[f"{L}.var"]
    advice = _ln_advice(h, y0 * y0, cols[f"{L}.rsqrt"], var)
    _rejected_by_identities(h, _forge(h, cols, advice=advice, broken=[f"{L} t"]),
                            f"{L}.sum")


def test_rsqrt_raised_with_limbs_of_the_true_square_rejected(transformer):
    h = transformer
    _, cols = _larger_rsqrt(h)
    y, y0, var = cols[f"{L}.rsqrt"], h.cols[f"{L}.rsqrt"], cols[f"{L}.var"]
    advice = _ln_advice(h, y0 * y0, y, var)
    advice[f"{L}.t"] = y * y
    forgery = _forge(h, cols, advice=advice, broken=[f"{L} t limbs"])
    _rejected_by_identities(h, forgery, f"{L}.sum")


def test_rsqrt_raised_with_products_of_the_true_square_rejected(transformer):
    # t and its limbs of the new rsqrt, the products t_i var of the true one
    h = transformer
    _, cols = _larger_rsqrt(h)
    y, y0, var = cols[f"{L}.rsqrt"], h.cols[f"{L}.rsqrt"], cols[f"{L}.var"]
    advice = _ln_advice(h, y * y, y, var)
    true = _ln_advice(h, y0 * y0, y0, var)
    products = [k for k in advice if k.startswith(f"{L}.ta")]
    advice.update({k: true[k] for k in products})
    broken = [f"{L} ta{i}" for i in range(len(products)) if not np.array_equal(
        advice[f"{L}.ta{i}"], advice[f"{L}.t{i}"] * var)]
    assert broken
    _rejected_by_identities(h, _forge(h, cols, advice=advice, broken=broken),
                            f"{L}.sum")


def test_rsqrt_lowered_with_limbs_of_a_larger_value_rejected(transformer):
    # rsqrt - 8 (its low bound exact); the limbs y_i of a larger Y make
    # 2 Y var + var - lo - 1 = hi >= 0 hold: only rsqrt = sum y_i 2^(L i) is broken (a wrong
    # reciprocal square root; the output happens to round to the same values)
    h = transformer
    y0 = h.cols[f"{L}.rsqrt"]
    cols = _rsqrt_forgery(h, 0, y0[0] - 8, "exact", "kept")
    y, var, lo = cols[f"{L}.rsqrt"], cols[f"{L}.var"], cols[f"{L}.rsqrt_lo"]
    big = y.copy()  # the smallest Y >= rsqrt with (2 Y + 1) var - lo - 1 >= 0
    big[0] = y[0] + max(0, -(-(lo[0] + 1 - (2 * y[0] + 1) * var[0]) // (2 * var[0])))
    cols[f"{L}.rsqrt_hi"] = (2 * big + 1) * var - lo - 1
    advice = _ln_advice(h, y * y, big, var)
    forgery = _forge(h, cols, advice=advice, broken=[f"{L} rsqrt limbs"])
    _rejected_by_identities(h, forgery, f"{L}.sum")


def test_rsqrt_lowered_with_products_that_fit_the_high_bound_rejected(transformer):
    # rsqrt - 8 (low bound exact, old high bound): w_0 = (hi + lo + 1 - var) / 2 in place of
    # y_0 var makes the high bound's identity hold; only w_0 = y_0 var is broken
    h = transformer
    y0 = h.cols[f"{L}.rsqrt"]
    cols = _rsqrt_forgery(h, 0, y0[0] - 8, "exact", "kept")
    y, var = cols[f"{L}.rsqrt"], cols[f"{L}.var"]
    lo, hi = cols[f"{L}.rsqrt_lo"], cols[f"{L}.rsqrt_hi"]
    hi[0] += (hi[0] + lo[0] + 1 - var[0]) % 2
    advice = _ln_advice(h, y * y, y, var)
    assert [k for k in advice if k.startswith(f"{L}.wa")] == [f"{L}.wa0"]
    advice[f"{L}.wa0"][0] = (hi[0] + lo[0] + 1 - var[0]) // 2
    forgery = _forge(h, cols, advice=advice, broken=[f"{L} wa0"])
    _rejected_by_identities(h, forgery, f"{L}.sum")
