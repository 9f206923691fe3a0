"""The integer Llama is a bit-reproducible function of its checkpoint and calibration inputs.

Its scales (hence its integer parameters and its verifying key) come from a float64 forward;
:func:`zkinfer.model.int_llama.calibrate_llama` and the tables of
:func:`~zkinfer.model.int_llama.quantize_llama` use only fixed-order products and basic
operations, so processes with 1 and 2 threads (BLAS, OpenMP, Numba), and one computing like a
more basic CPU (numpy without its SIMD dispatch, Numba for a generic CPU, OpenBLAS's kernels for
an older CPU), build identical models.
Also here: the basic-operation ``cos``/``sin`` and ``log`` against the C library, the parallel
fixed-order product against the written-out sum, and the calibration against a pure-Python
forward that adds every sum in index order.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.model.nested import tokens
from zkinfer.errors import ModelError
from zkinfer.model import int_llama as il
from zkinfer.model.float_model import cos_sin, exp, log, matmul
from zkinfer.model.gguf import LlamaConfig
from zkinfer.model.synthetic import random_llama_checkpoint

ROOT = Path(__file__).resolve().parents[2]

# wide enough that the calibration's projections use the parallel product (>= 2^20 multiply-adds)
SMALL = LlamaConfig(n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, d_ff=160, vocab_size=200,
                    rope_theta=10000.0, rms_eps=1e-5, head_dim=16, max_seq_len=512, bos_id=1,
                    eos_id=2, pad_id=None, tied=True)


def small_calibration() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, SMALL.vocab_size, n) for n in (40, 17, 64, 9)]


def parameter_digest(obj: object) -> str:
    """SHA-256 over every array (dtype, shape, bytes) and scalar of a nested dataclass."""
    h = hashlib.sha256()
    for kind, v in tokens(obj):
        if kind == "array":
            h.update(f"{v.dtype}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        else:  # field names, dict keys (already repr) and scalars
            h.update((v if kind in ("field", "key") else repr(v)).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# across processes, thread counts and CPUs


_SCRIPT = """
    import sys
    import zkinfer
    from zkinfer.model.int_llama import LlamaQuantConfig, quantize_llama
    from zkinfer.model.synthetic import random_llama_checkpoint
    from zkinfer.models import tiny_decoder
    from tests.model.test_llama_reproducible import SMALL, parameter_digest, small_calibration
    model = quantize_llama(random_llama_checkpoint(SMALL, 3), small_calibration(), LlamaQuantConfig())
    vk, _ = zkinfer.setup(tiny_decoder())
    print(parameter_digest(model), vk.digest.hex())
"""


def _another_cpu(tmp_path: Path) -> dict[str, str]:
    """numpy without its CPU-specific SIMD code, Numba compiling for a generic CPU into a cache
    of its own (as in ``tests/test_reproducible_keys.py``), and OpenBLAS with another CPU's
    kernels (no FMA: the BLAS-based calibration this replaced gave another model here)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    disable = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    env = {"NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": str(tmp_path / "numba-generic"),
           "OPENBLAS_CORETYPE": "Sandybridge"}
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
    return env


def _run_everywhere(script: str, tmp_path: Path, timeout: float,
                    variants: dict[str, dict[str, str]]) -> dict[str, str]:
    procs = {}
    for label, settings in variants.items():
        env = {**os.environ, **settings}
        threads = env.pop("threads")
        for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = threads
        procs[label] = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env,
                                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = {}
    for label, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"{label}: {stderr.decode()[-2000:]}"
        out[label] = stdout.decode().strip()
    return out


def test_integer_llama_is_identical_across_thread_counts_and_cpus(tmp_path):
    """A random Llama's integer parameters and the tiny decoder's key, built in processes with
    1 and 2 threads and one computing like a more basic CPU, are identical (and the same as in
    this process)."""
    from zkinfer import setup
    from zkinfer.models import tiny_decoder

    made = _run_everywhere(_SCRIPT, tmp_path, 300, {
        "1 thread": {"threads": "1"},
        "2 threads": {"threads": "2"},
        "another CPU": {"threads": "2", **_another_cpu(tmp_path)},
    })  # fmt: skip
    model = il.quantize_llama(random_llama_checkpoint(SMALL, 3), small_calibration())
    vk, _ = setup(tiny_decoder())
    here = f"{parameter_digest(model)} {vk.digest.hex()}"
    for label, line in made.items():
        assert line == here, label


# ---------------------------------------------------------------------------------------------
# the basic-operation functions


def test_cos_sin_are_within_an_ulp_or_two_of_the_c_library():
    rng = np.random.default_rng(0)
    k = np.arange(-2000, 2001, dtype=np.float64)
    near = k * (math.pi / 2)  # the nearest doubles to multiples of pi/2: cancellation
    x = np.concatenate([
        np.linspace(-2.0**20, 2.0**20, 100_001), rng.normal(0.0, 10.0, 50_000),
        rng.uniform(-2.0**20, 2.0**20, 20_000), near, np.nextafter(near, np.inf),
        (np.arange(4096.0)[:, None] * il.rope_frequencies(10000.0, 64)[None, :]).ravel(),  # RoPE
        [0.0, -0.0, 5e-324, -1e-300, 1e-8, math.pi / 4, -math.pi / 4, 2.0**20, -(2.0**20)],
    ])  # fmt: skip
    cos, sin = cos_sin(x)
    for got, fn in ((cos, math.cos), (sin, math.sin)):
        ref = np.array([fn(v) for v in x])
        assert np.all(np.abs(got - ref) <= 2 * np.spacing(np.abs(ref))), fn.__name__
    c0, s0 = cos_sin(0.0)
    assert c0 == 1.0 and s0 == 0.0
    assert cos_sin(np.zeros((2, 3)))[0].shape == (2, 3)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, 2.0**20 + 1.0, -3e6])
def test_cos_sin_reject_values_they_cannot_reduce(bad):
    with pytest.raises(ModelError, match="2\\^20"):
        cos_sin(np.array([0.5, bad]))


def test_log_is_within_an_ulp_or_two_and_rejects_bad_values():
    rng = np.random.default_rng(1)
    x = np.concatenate([np.exp(rng.uniform(-740.0, 709.0, 50_000)), rng.uniform(0.5, 2.0, 20_000),
                        [5e-324, 1.0, 2.0, 0.5, np.nextafter(1.0, 0.0), 1e308, 10000.0, 1e5]])
    got = log(x)
    ref = np.array([math.log(v) for v in x])
    assert np.all(np.abs(got - ref) <= 2 * np.spacing(np.abs(ref)))
    assert log(1.0) == 0.0
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ModelError):
            log(np.array([2.0, bad]))


@pytest.mark.parametrize("theta,dh", [(10000.0, 64), (100000.0, 64), (100.0, 8), (500000.0, 128)])
def test_rope_frequencies_are_close_to_pow(theta, dh):
    got = il.rope_frequencies(theta, dh)
    ref = np.array([theta ** (-(2 * i) / dh) for i in range(dh // 2)])
    assert got[0] == 1.0
    assert np.all(np.abs(got - ref) <= 16 * np.spacing(ref))


@pytest.mark.parametrize("shape", [(37, 1027, 301), (64, 64, 256), (5, 3, 7)])
def test_parallel_matmul_adds_in_the_fixed_order(shape):
    n, k, m = shape
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=(n, k)), rng.normal(size=(k, m))
    ref = np.zeros((n, m))
    for p in range(k):  # ((a0 b0 + a1 b1) + a2 b2) + ... elementwise
        ref = ref + a[:, p : p + 1] * b[p : p + 1, :]
    assert np.array_equal(matmul(a, b, parallel=True), ref)
    assert np.array_equal(matmul(a, b), ref)


# ---------------------------------------------------------------------------------------------
# the calibration against a pure-Python forward


TINY = LlamaConfig(n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=12, vocab_size=20,
                   rope_theta=50.0, rms_eps=1e-5, head_dim=4, max_seq_len=16, bos_id=1, eos_id=2,
                   pad_id=None, tied=True)


def _scalar(fn, v: float) -> float:
    return float(fn(np.array([v]))[0])


def _reference_calibration(cfg: LlamaConfig, weights, seqs) -> dict[str, list[float]]:
    """Per-channel max |x| of the float forward, in Python floats, every sum added in index
    order from 0.0 (the documented semantics of calibrate_llama)."""
    H, G, dh = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    half = dh // 2
    inv = [float(v) for v in il.rope_frequencies(cfg.rope_theta, dh)]
    W = {k: v.tolist() for k, v in weights.items()}
    amax: dict[str, list[float]] = {}

    def note(name, rows):
        m = [max(abs(r[c]) for r in rows) for c in range(len(rows[0]))]
        amax[name] = m if name not in amax else [max(a, b) for a, b in zip(amax[name], m)]

    def lin(rows, w):  # rows @ w^T, w (out, in)
        out = []
        for r in rows:
            o = []
            for wr in w:
                acc = 0.0
                for xv, wv in zip(r, wr):
                    acc += xv * wv
                o.append(acc)
            out.append(o)
        return out

    def rms(rows, g):
        out = []
        for r in rows:
            ss = 0.0
            for v in r:
                ss += v * v
            den = math.sqrt(ss / len(r) + cfg.rms_eps)
            out.append([(v / den) * gc for v, gc in zip(r, g)])
        return out

    def rot(rows, heads):
        out = []
        for t, r in enumerate(rows):
            o = list(r)
            for hh in range(heads):
                for i in range(half):
                    c, s = (float(v[0]) for v in cos_sin(np.array([t * inv[i]])))
                    a, b = r[hh * dh + i], r[hh * dh + half + i]
                    o[hh * dh + i] = a * c - b * s
                    o[hh * dh + half + i] = b * c + a * s
            out.append(o)
        return out

    for seq in seqs:
        n = len(seq)
        x = [list(W["model.embed_tokens.weight"][t]) for t in seq]
        note("embed", x)
        for li in range(cfg.n_layers):
            P, p = f"model.layers.{li}.", f"layer{li}"
            h = rms(x, W[P + "input_layernorm.weight"])
            note(f"{p}.attn_norm", h)
            q = lin(h, W[P + "self_attn.q_proj.weight"])
            k = lin(h, W[P + "self_attn.k_proj.weight"])
            v = lin(h, W[P + "self_attn.v_proj.weight"])
            note(f"{p}.q", q)
            note(f"{p}.k", k)
            note(f"{p}.v", v)
            q, k = rot(q, H), rot(k, G)
            note(f"{p}.rope_q", q)
            note(f"{p}.rope_k", k)
            ctx = [[0.0] * (H * dh) for _ in range(n)]
            for hh in range(H):
                g = hh // (H // G)
                for i in range(n):
                    scores = []
                    for j in range(n):
                        acc = 0.0
                        for e in range(dh):
                            acc += q[i][hh * dh + e] * k[j][g * dh + e]
                        scores.append(acc / math.sqrt(dh) if j <= i else -math.inf)
                    top = max(scores)
                    ex = [_scalar(exp, s - top) for s in scores]
                    total = 0.0
                    for e in ex:
                        total += e
                    probs = [e / total for e in ex]
                    for e in range(dh):
                        acc = 0.0
                        for j in range(n):
                            acc += probs[j] * v[j][g * dh + e]
                        ctx[i][hh * dh + e] = acc
            note(f"{p}.ctx", ctx)
            x = [[a + b for a, b in zip(r, o)] for r, o in zip(x, lin(ctx, W[P + "self_attn.o_proj.weight"]))]
            note(f"{p}.o", x)
            h = rms(x, W[P + "post_attention_layernorm.weight"])
            note(f"{p}.mlp_norm", h)
            gate = lin(h, W[P + "mlp.gate_proj.weight"])
            up = lin(h, W[P + "mlp.up_proj.weight"])
            note(f"{p}.gate", gate)
            note(f"{p}.up", up)
            f = [[(gv / (1.0 + _scalar(exp, -gv))) * uv for gv, uv in zip(gr, ur)]
                 for gr, ur in zip(gate, up)]
            note(f"{p}.swiglu", f)
            x = [[a + b for a, b in zip(r, o)] for r, o in zip(x, lin(f, W[P + "mlp.down_proj.weight"]))]
            note(f"{p}.down", x)
        note("final_norm", rms(x, W["model.norm.weight"]))
    return amax


def test_calibration_equals_a_pure_python_forward_bit_for_bit():
    ck = random_llama_checkpoint(TINY, 5)
    rng = np.random.default_rng(11)
    seqs = [rng.integers(0, TINY.vocab_size, n) for n in (5, 1, 7)]
    got = il.calibrate_llama(TINY, ck.weights, seqs)
    ref = _reference_calibration(TINY, ck.weights, seqs)
    assert set(got) == set(ref)
    for name, channels in ref.items():
        per_channel = np.maximum(np.array(channels), 1e-8)
        assert np.array_equal(got[name][1], per_channel), name
        assert got[name][0] == max(float(per_channel.max()), 1e-8), name


@pytest.mark.parametrize("seqs", [[[1, 2, 3], []], [[1, 20]], [[-1, 2]], [[[1, 2]]], [[0.5, 1.0]]])
def test_calibration_rejects_bad_sequences(seqs):
    ck = random_llama_checkpoint(TINY, 0)
    with pytest.raises(ModelError):
        il.calibrate_llama(TINY, ck.weights, [np.asarray(s) for s in seqs])


# ---------------------------------------------------------------------------------------------
# SmolLM2 (slow: two processes quantize the real model; needs the weights package)


_SMOLLM2_SCRIPT = """
    import zkinfer
    from tests.model.test_llama_reproducible import parameter_digest
    print(parameter_digest(zkinfer.models.smollm2().int_llama()))
"""


@pytest.mark.slow
def test_smollm2_integer_model_does_not_depend_on_the_thread_count(tmp_path):
    """About a minute: SmolLM2-135M quantized with 1 and with 2 threads."""
    pytest.importorskip("gguf", reason='needs the extra "llm" (pip install "zkinfer[llm]")')
    pytest.importorskip("tokenizers", reason='needs the extra "llm" (pip install "zkinfer[llm]")')
    from zkinfer.errors import MissingDependencyError
    from zkinfer.model.llama import smollm2_path

    try:
        smollm2_path()  # the weights package is located, not imported
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    made = _run_everywhere(_SMOLLM2_SCRIPT, tmp_path, 900, {"1 thread": {"threads": "1"},
                                                              "2 threads": {"threads": "2"}})
    assert made["1 thread"] == made["2 threads"]
