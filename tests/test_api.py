"""The Python API a user meets first: what ``setup``, ``prove`` and ``verify`` accept, the errors
they raise for anything else, and short representations of keys and proofs."""

from __future__ import annotations

import re
import subprocess
import sys
import types

import numpy as np
import pytest

import zkinfer
from zkinfer.errors import InvalidArgumentError, ZkinferError
from zkinfer.models import tiny

IDS = np.array([104, 105, 33], dtype=np.int64)


@pytest.fixture(scope="module")
def keys():
    return zkinfer.setup(tiny())


@pytest.fixture(scope="module")
def proof(keys):
    return zkinfer.prove(keys[1], IDS)


def test_models_reachable_after_import_zkinfer_without_numba():
    code = ("import sys, zkinfer; m = zkinfer.models; assert callable(m.tiny) and "
            "callable(m.minilm); assert 'numba' not in sys.modules, 'numba imported'; print('ok')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"


@pytest.mark.parametrize("model", ["tiny", "object", "wrapper"])
def test_setup_accepts_names_models_and_wrappers(keys, model):
    arg = {"tiny": "tiny", "object": tiny(),
           # what zkinfer.models.minilm() returns: an object carrying .int_model
           "wrapper": types.SimpleNamespace(int_model=tiny())}[model]
    vk, pk = zkinfer.setup(arg)
    assert vk.digest == keys[0].digest
    assert pk.vk.digest == vk.digest


@pytest.mark.parametrize(("model", "match"), [
    (None, r"setup\(\): model must be a model of zkinfer\.models .* got NoneType"),
    (3, r"got int"),
    ("nope", r"unknown model name 'nope'; the names are minilm, smollm2, tiny, tiny-decoder, "
             r"tiny-mlp, tiny_decoder, tiny_mlp"),
    (types.SimpleNamespace(int_model="x"), r"got SimpleNamespace"),
])
def test_setup_refuses_anything_else_naming_what_it_expects(model, match):
    with pytest.raises(InvalidArgumentError, match=match) as info:
        zkinfer.setup(model)
    assert isinstance(info.value, ZkinferError) and isinstance(info.value, TypeError)


def test_prove_with_the_verifying_key_refused(keys):
    with pytest.raises(InvalidArgumentError,
                       match=r"pk must be the ProvingKey .* got VerifyingKey \(a VerifyingKey only "
                             r"verifies: pass the second value of zkinfer\.setup\)"):
        zkinfer.prove(keys[0], IDS)


@pytest.mark.parametrize(("ids", "match"), [
    ("hello", r"not text: tokenize first"),
    (b"hello", r"not text: tokenize first"),
    ([[1, 2]], r"ids must be a 1-D integer array, got list \(shape \(1, 2\), dtype int64\)"),
    ([1.5, 2.0], r"got list \(shape \(2,\), dtype float64\)"),
    (np.array([object()]), r"dtype object"),
])
def test_prove_refuses_ids_that_are_not_1d_integers(keys, ids, match):
    with pytest.raises(InvalidArgumentError, match=match):
        zkinfer.prove(keys[1], ids)


def test_prove_takes_a_list_of_ids(keys, proof):
    again = zkinfer.prove(keys[1], IDS.tolist())
    assert again.to_bytes() == proof.to_bytes()


@pytest.mark.parametrize(("which", "match"), [
    ("pk", r"verify\(\): vk must be the VerifyingKey .* got ProvingKey"),
    ("str-vk", r"vk must be .* got str"),
    ("proof-none", r"verify\(\): proof must be a Proof or its bytes, got NoneType"),
])
def test_verify_refuses_the_wrong_kind_of_key_or_proof(keys, proof, which, match):
    vk, pk = keys
    args = {"pk": (pk, proof), "str-vk": ("vk.bin", proof), "proof-none": (vk, None)}[which]
    with pytest.raises(InvalidArgumentError, match=match):
        zkinfer.verify(args[0], IDS, proof.output, args[1])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"min_bits": "100"}, r"min_bits must be a number of bits"),
    ({"min_bits": float("nan")}, r"min_bits must be a finite number >= 0"),
    ({"allow_insecure": "yes"}, r"allow_insecure must be True or False, got 'yes'"),
])
def test_verify_refuses_bad_security_arguments_as_a_library_error(keys, proof, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        zkinfer.verify(keys[0], IDS, proof.output, proof, **kwargs)


def test_reprs_are_short_and_name_the_key(keys, proof):
    vk, pk = keys
    digest = vk.digest.hex()[:16]
    text = repr(vk)
    assert re.fullmatch(rf"VerifyingKey\(tiny: 2 layers, d_model 64, up to 32 tokens; LigeroPCS; "
                        rf"\d+ kB; digest {digest}\.\.\.\)", text), text
    assert len(text) < 200
    p = repr(proof)
    assert p.startswith(f"Proof(vk {digest}..., 3 tokens -> 64 outputs [") and len(p) < 200
    assert len(repr(pk)) < 300 and digest in repr(pk)


def test_repr_of_a_malformed_proof_does_not_raise():
    bad = zkinfer.Proof(b"\x00" * 32, None, None, b"", ())
    assert repr(bad) == "Proof(<malformed>)"


def test_prove_many_gives_the_single_proofs_and_checks_its_arguments(keys, proof):
    vk, pk = keys
    proofs = list(zkinfer.prove_many(pk, [IDS, IDS[:2].tolist()]))
    assert proofs[0].to_bytes() == proof.to_bytes()
    assert proofs[1].to_bytes() == zkinfer.prove(pk, IDS[:2]).to_bytes()
    with pytest.raises(InvalidArgumentError, match=r"prove_many\(\): pk must be the ProvingKey .* "
                                                   r"got VerifyingKey"):
        zkinfer.prove_many(vk, [IDS])
    with pytest.raises(InvalidArgumentError, match="not text: tokenize first"):
        zkinfer.prove_many(pk, [IDS, "text"])  # a sized batch is checked before any proof


def test_no_thread_of_ours_outlives_a_proof_that_spilled(keys, monkeypatch, tmp_path):
    # every part spills (the threshold lowered, the directory a test's own): the background
    # writer's thread has ended when prove returns, so a verification in this process may fork
    import tempfile
    import threading

    from zkinfer.commit.ligero import prover as ligero_prover
    from zkinfer.protocol import engine

    writes = []
    submit = ligero_prover._submit
    monkeypatch.setattr(ligero_prover, "_submit", lambda *a: writes.append(a) or submit(*a))
    monkeypatch.setattr(engine, "SPILL_FROM", 1)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    vk, pk = keys
    ids = np.array([1, 2, 3])
    proof = zkinfer.prove(pk, ids)
    assert writes  # the parts were spilled by the writer
    assert not [t.name for t in threading.enumerate() if t.name.startswith("zkinfer-spill")]
    assert engine.parallel_verification_allowed() == (threading.active_count() == 1)
    assert zkinfer.verify(vk, ids, proof.output, proof)
    proofs = list(zkinfer.prove_many(pk, [ids, ids]))
    assert not [t.name for t in threading.enumerate() if t.name.startswith("zkinfer-spill")]
    assert all(zkinfer.verify(vk, ids, p.output, p) for p in proofs)
