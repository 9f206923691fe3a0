"""Attacks on the public values of a statement and on the key's declared widths.

Each test is an attack against the default Ligero key of a built-in model and asserts the
exact rejection. Where a defence has two layers (the prover refuses, the verifier rejects), the
attacker bypasses the prover-side one, and the test also shows the attack succeeding with the
verifier-side check disabled, so that the rejection is known to come from the check under test.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import zkinfer
import zkinfer.proof as proof_mod
import zkinfer.protocol.model_circuit as model_circuit
import zkinfer.verifier as verifier_mod
from zkinfer.errors import ModelError, ProofFormatError, VerificationError
from zkinfer.field import goldilocks as gl
from zkinfer.model.forward import forward
from zkinfer.model.intmodel import OpLinear, ops
from zkinfer.models import tiny_mlp
from zkinfer.proof import VerifyingKey, encode_public_model
from zkinfer.protocol.bounds import FieldBoundError
from zkinfer.testing import prove_trace

IDS = np.array([3, 1, 4, 1, 5, 9, 2], dtype=np.int64)


@pytest.fixture(scope="module")
def mlp():
    model = tiny_mlp()
    vk, pk = zkinfer.setup(model)
    trace = forward(model, IDS)
    cols = {k: np.array(v) for k, v in trace.items()}
    return model, vk, pk, cols, np.asarray(trace.output, dtype=np.int64)


def _no_bound_check(monkeypatch) -> None:
    """The attacker's prover: builds circuits without the field-bound check."""
    monkeypatch.setattr(model_circuit, "check_field_bounds", lambda circuit: None)


def _forged_outputs(cols: dict, n: int, coord: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Every other remainder ``rem'`` in ``[0, n)`` of one coordinate with the output that keeps
    ``sum 2^P - n out - rem' = 0 (mod p)``: ``out' = mean + (rem - rem') n^-1 mod p``."""
    inv_n = pow(n, gl.P - 2, gl.P)
    mean, rem = int(cols["pool.mean"][coord]), int(cols["pool.rem"][coord])
    out = []
    for other in range(n):
        if other == rem:
            continue
        forged = (mean + (rem - other) * inv_n) % gl.P
        forged = forged - gl.P if forged > gl.P // 2 else forged
        rems = cols["pool.rem"].copy()
        rems[coord] = other
        outputs = cols["pool.mean"].copy()
        outputs[coord] = forged
        out.append((forged, rems, outputs))
    return out


# ---------------------------------------------------------------------------------------------
# item 1: the public output is bounded before it becomes a field element


def test_forged_output_by_another_pooling_remainder_refused_by_the_prover(mlp):
    model, vk, pk, cols, output = mlp
    _, rems, forged = _forged_outputs(cols, IDS.shape[0], 0)[0]
    cheat = dict(cols, **{"pool.rem": rems})
    with pytest.raises(FieldBoundError, match="pool mean"):
        prove_trace(pk, IDS, cheat, forged)


@pytest.mark.parametrize("coord", [0, 17])
def test_forged_output_by_another_pooling_remainder_rejected(mlp, monkeypatch, coord):
    model, vk, pk, cols, output = mlp
    candidates = _forged_outputs(cols, IDS.shape[0], coord)
    # the forged coordinate is far outside any honest output (up to about 2^62 in magnitude)
    assert max(abs(f) for f, _, _ in candidates) > 1 << 60
    for value, rems, forged in candidates:
        with monkeypatch.context() as m:
            _no_bound_check(m)
            proof = prove_trace(pk, IDS, dict(cols, **{"pool.rem": rems}), forged)
        fragment = f"output[{coord}] = {value} is outside the model's output range"
        with pytest.raises(VerificationError, match=re.escape(fragment)) as err:
            zkinfer.verify(vk, IDS, forged, proof)
        assert err.value.check == "statement"


def test_forged_output_rejected_by_the_field_bound_when_the_range_check_is_skipped(mlp, monkeypatch):
    model, vk, pk, cols, output = mlp
    value, rems, forged = max(_forged_outputs(cols, IDS.shape[0], 0), key=lambda c: abs(c[0]))
    with monkeypatch.context() as m:
        _no_bound_check(m)
        proof = prove_trace(pk, IDS, dict(cols, **{"pool.rem": rems}), forged)
    # the second layer: the verifier's circuit refuses an identity that can reach p / 2
    monkeypatch.setattr(verifier_mod, "_check_output_range", lambda model, out: None)
    with pytest.raises(VerificationError, match="the verifying key's model is invalid: identity 'pool mean' "
                       "can reach") as err:
        zkinfer.verify(vk, IDS, forged, proof)
    assert err.value.check == "statement"


def test_forged_output_accepted_without_either_check(mlp, monkeypatch):
    """The control: with the output range check and the field-bound check both disabled on
    the verifier side too, the forged proof verifies. This is the attack the two checks stop."""
    model, vk, pk, cols, output = mlp
    value, rems, forged = _forged_outputs(cols, IDS.shape[0], 0)[0]
    _no_bound_check(monkeypatch)
    proof = prove_trace(pk, IDS, dict(cols, **{"pool.rem": rems}), forged)
    monkeypatch.setattr(verifier_mod, "_check_output_range", lambda model, out: None)
    assert zkinfer.verify(vk, IDS, forged, proof)
    assert not np.array_equal(forged, output)


def test_output_one_past_the_range_rejected(mlp):
    model, vk, pk, cols, output = mlp
    bits = model.widths["pool.mean"][0]
    out = output.copy()
    out[3] = 1 << (bits - 1)
    with pytest.raises(VerificationError, match=r"output\[3\] = .* outside the model's output range"):
        zkinfer.verify(vk, IDS, out, dataclasses.replace(_proof(mlp), output=out))


def test_unsigned_output_beyond_int64_rejected(mlp):
    model, vk, pk, cols, output = mlp
    out = output.astype(np.uint64)
    out[0] = np.uint64(2**64 - 1)  # would wrap to -1 as int64
    with pytest.raises(VerificationError, match="int64"):
        zkinfer.verify(vk, IDS, out, _proof(mlp))


_PROOFS: dict = {}


def _proof(mlp):
    model, vk, pk, cols, output = mlp
    if "honest" not in _PROOFS:
        _PROOFS["honest"] = prove_trace(pk, IDS, cols, output)
    return _PROOFS["honest"]


# ---------------------------------------------------------------------------------------------
# item 2: widths the public parameters fix are derived, not trusted


def _with_widths(model, **changes):
    widths = dict(model.widths)
    for name, width in changes.items():
        widths[name.replace("__", ".")] = width
    return dataclasses.replace(model, widths=widths)


def _key_for(vk: VerifyingKey, model) -> VerifyingKey:
    """The attacker's key: the honest key with its model description replaced."""
    return VerifyingKey(encode_public_model(model), vk.pcs_params, vk.weight_commitment)


def _round_down(model, cols: dict, layer: str) -> dict:
    """Round every entry of ``layer`` down by one, carrying ``2^s`` in the remainder (legal
    only if the remainder's range check is two bits wider than the shift), and recompute the
    rest of the forward from there."""
    from tests.test_inference_attacks import _replay

    cols = {k: v.copy() for k, v in cols.items()}
    op = next(o for o in ops(model) if o.name == layer)
    rq = op.lin.rq
    cols[f"{layer}.q"] -= 1
    cols[f"{layer}.rem"] += 1 << rq.shift
    cols[f"{layer}.out"] = np.clip(cols[f"{layer}.q"], rq.lo, rq.hi)
    _replay(model, cols, layer)
    return cols


def test_remainder_two_bits_wider_than_its_shift_rejected(mlp, monkeypatch):
    model, vk, pk, cols, output = mlp
    layer = "layer0.ffn.up"
    s = next(o for o in ops(model) if o.name == layer).lin.rq.shift
    wide = _with_widths(model, **{f"{layer}.rem": (s + 2, False)})
    # setup refuses the model outright
    with pytest.raises(ModelError, match=f"declared width of {layer}.rem"):
        zkinfer.setup(wide)
    # the attacker commits it anyway (same weights: the honest weight commitment) ...
    cheat_cols = _round_down(model, cols, layer)
    forged_out = cheat_cols["pool.mean"]
    assert not np.array_equal(forged_out, output)
    wide_vk = _key_for(vk, wide)
    monkeypatch.setattr(proof_mod, "check_declared_widths", lambda m: None, raising=False)
    import zkinfer.model.intmodel as intmodel

    monkeypatch.setattr(intmodel, "check_declared_widths", lambda m: None)
    wide_pk = dataclasses.replace(pk, model=wide, vk=wide_vk)
    proof = prove_trace(wide_pk, IDS, cheat_cols, forged_out)
    # ... and without the width check the forgery verifies: an output that is not forward_int
    assert zkinfer.verify(wide_vk, IDS, forged_out, proof)
    monkeypatch.undo()
    with pytest.raises(ProofFormatError, match=f"declared width of {layer}.rem"):
        zkinfer.verify(wide_vk.to_bytes(), IDS, forged_out, proof)
    # a key object (not bytes) too; a fresh one: the one above keeps the model it decoded while
    # the check was switched off (a key validates its model once)
    with pytest.raises(ProofFormatError, match=f"declared width of {layer}.rem"):
        zkinfer.verify(_key_for(vk, wide), IDS, forged_out, proof)


def _derived_cases(model):
    s = {o.name: o for o in ops(model) if isinstance(o, OpLinear)}
    up = s["layer0.ffn.up"].lin.rq
    bits_below = model.widths["layer0.ffn.up.q"][0] + 1
    return {
        "remainder wider": ("layer0.ffn.down.rem", (model.widths["layer0.ffn.down.rem"][0] + 1, False)),
        "remainder narrower": ("layer0.ffn.down.rem", (model.widths["layer0.ffn.down.rem"][0] - 1, False)),
        "remainder signed": ("layer0.ffn.down.rem", (up.shift, True)),
        "quotient wider (clamp advice)": ("layer0.ffn.up.q", (bits_below, True)),
        "output wider than its clamp": ("layer1.ffn.up.out",
                                        (model.widths["layer1.ffn.up.out"][0] + 3, True)),
        "pooling remainder wider": ("pool.rem", (model.widths["pool.rem"][0] + 4, False)),
        "pooled mean wider": ("pool.mean", (model.widths["pool.mean"][0] + 2, True)),
        "embedding sum wider": ("emb.x", (model.widths["emb.x"][0] + 1, True)),
        "table output wider": ("layer0.ffn.act.out", (model.widths["layer0.ffn.act.out"][0] + 1, True)),
        "accumulator beyond its public bound": ("layer0.ffn.up.acc", (61, True)),
        "embedding table wider than emb_bits": ("emb.tok", (model.qconfig.emb_bits + 1, True)),
        "accumulator unsigned": ("layer0.ffn.down.acc", (model.widths["layer0.ffn.down.acc"][0], False)),
    }


@pytest.mark.parametrize("case", list(_derived_cases(tiny_mlp())))
def test_key_with_a_width_its_parameters_do_not_fix_rejected(mlp, case):
    model, vk, pk, cols, output = mlp
    name, width = _derived_cases(model)[case]
    assert tuple(model.widths[name]) != width
    bad_vk = _key_for(vk, _with_widths(model, **{name: width}))
    proof = dataclasses.replace(_proof(mlp), vk_digest=bad_vk.digest)
    with pytest.raises(ProofFormatError, match=f"width of {name}"):
        zkinfer.verify(bad_vk.to_bytes(), IDS, output, proof)
    with pytest.raises(ModelError, match=f"width of {name}"):
        zkinfer.setup(_with_widths(model, **{name: width}))


def test_key_with_an_extra_width_rejected(mlp):
    model, vk, pk, cols, output = mlp
    bad_vk = _key_for(vk, _with_widths(model, **{"layer0.ffn.up.extra": (8, True)}))
    proof = dataclasses.replace(_proof(mlp), vk_digest=bad_vk.digest)
    with pytest.raises(ProofFormatError, match="unexpected"):
        zkinfer.verify(bad_vk.to_bytes(), IDS, output, proof)
