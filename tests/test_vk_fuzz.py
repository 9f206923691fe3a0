"""Fuzzing the verifying key: single-byte changes of every section, each verified against an
honest proof relabelled for the changed key.

The attacker of :mod:`tests.test_crafted_keys` without the aim: any byte of a key may change
(the model description field by field, the PCS parameters, the weight commitment, the key's own
header and lengths), and the attacker writes the changed key's digest into an honest proof, so
the verifier gets past the statement check and runs on whatever the key decodes to. Each case
must end in :class:`~zkinfer.errors.ProofFormatError` (the key does not decode) or
:class:`~zkinfer.errors.VerificationError` (the proof is rejected): never an acceptance, never
another exception, never an allocation above 1 GB (``tracemalloc`` sees numpy's buffers) and
never a run above a second.

The cases: a deterministic sample (first, middle and last byte of every leaf of the model
description and of every container header, every byte of the short sections) of three tiny
keys (an MLP and a post-norm transformer with ``TrivialPCS``, the MLP with the default Ligero
PCS), over 1000 cases, plus hypothesis over the sections and the positions in them.
"""

from __future__ import annotations

import dataclasses
import inspect
import struct
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkinfer
from zkinfer.commit import TrivialPCS
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.model.config import TransformerConfig
from zkinfer.models import random_transformer
from zkinfer.proof import Proof, VerifyingKey, _model_classes

MLP = TransformerConfig(n_layers=2, d_model=8, n_heads=1, d_ff=12, max_seq_len=8, vocab_size=32,
                        block="mlp")
TRANSFORMER = TransformerConfig(n_layers=1, d_model=8, n_heads=2, d_ff=16, max_seq_len=8,
                                vocab_size=32)
IDS = np.array([3, 1, 4, 1, 5], dtype=np.int64)
#: No case may allocate more (tracemalloc's peak) or run longer.
MAX_BYTES = 1 << 30
MAX_SECONDS = 1.0
#: TrivialPCS keys need the verifier's explicit opt-in (the security floor), where it exists.
OPT_IN = {"allow_insecure": True} if "allow_insecure" in inspect.signature(zkinfer.verify).parameters else {}
XORS = (0x01, 0x80, 0xFF, 0x10, 0x7F)


# ---------------------------------------------------------------------------------------------
# the sections of a key


def model_spans(data: bytes) -> list[tuple[str, int, int]]:
    """``(path, start, end)`` of every leaf value and every container header (tag, count, class
    name, mapping key) of an encoded model description, read independently of the decoder."""
    out: list[tuple[str, int, int]] = []
    pos = 0

    def u32() -> int:
        nonlocal pos
        (v,) = struct.unpack_from("<I", data, pos)
        pos += 4
        return v

    def value(path: str) -> None:
        nonlocal pos
        start = pos
        tag = data[pos]
        pos += 1
        if tag in (1, 2, 3):  # bool, u64, f64
            pos += {1: 1, 2: 8, 3: 8}[tag]
        elif tag == 4:  # string
            n = u32()
            pos += n
        elif tag in (5, 6, 10):  # array (shape, then 8 bytes per entry) or shape only
            ndim = u32()
            shape = struct.unpack_from(f"<{ndim}I", data, pos)
            pos += 4 * ndim
            if tag != 10:
                pos += 8 * int(np.prod(shape, dtype=object))
        elif tag == 7:  # tuple
            n = u32()
            out.append((f"{path} (tuple header)", start, pos))
            for i in range(n):
                value(f"{path}[{i}]")
            return
        elif tag == 8:  # mapping
            n = u32()
            out.append((f"{path} (mapping header)", start, pos))
            for _ in range(n):
                key_start = pos
                length = u32()
                key = data[pos: pos + length].decode()
                pos += length
                out.append((f"{path} key {key!r}", key_start, pos))
                value(f"{path}[{key!r}]")
            return
        elif tag == 9:  # dataclass
            length = u32()
            name = data[pos: pos + length].decode()
            pos += length
            out.append((f"{path} ({name} header)", start, pos))
            for f in dataclasses.fields(_model_classes()[name]):
                value(f"{path}.{f.name}")
            return
        elif tag != 0:
            raise AssertionError(f"unknown tag {tag} at {start}")
        out.append((path, start, pos))

    value("model")
    assert pos == len(data)
    return out


def key_sections(vk: VerifyingKey) -> list[tuple[str, int, int]]:
    """``(name, start, end)`` of every part of ``vk.to_bytes()``: header, lengths, every span of
    the model description, the PCS parameters and the weight commitment."""
    data = vk.to_bytes()
    out = [("magic", 0, 4), ("version", 4, 6), ("model description length", 6, 10)]
    out += [(p, 10 + a, 10 + b) for p, a, b in model_spans(vk.model_bytes)]
    pos = 10 + len(vk.model_bytes)
    for name, part in (("pcs params", vk.pcs_params), ("weight commitment", vk.weight_commitment)):
        out += [(f"{name} length", pos, pos + 4), (name, pos + 4, pos + 4 + len(part))]
        pos += 4 + len(part)
    assert pos == len(data)
    return out


def sample_positions(sections: list[tuple[str, int, int]], per_span: int = 3, thin: int = 1) -> list[int]:
    """Every byte of the key's header, lengths, PCS parameters and weight commitment; of every
    span of the model description its first, middle and last byte (``per_span=1``: its middle
    byte only); of the spans of the widths and scales mappings (hundreds of alike entries)
    every ``thin``-th one only."""
    out = set()
    alike = 0
    for name, a, b in sections:
        if not name.startswith("model"):
            out.update(range(a, b))
            continue
        if name.startswith(("model.widths", "model.scales")):
            alike += 1
            if alike % thin:
                continue
        out.update({(a + b) // 2} if per_span == 1 else {a, (a + b) // 2, b - 1})
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# one case


@dataclasses.dataclass
class Honest:
    vk: VerifyingKey
    data: bytes
    sections: list[tuple[str, int, int]]
    proof: Proof
    output: np.ndarray
    opt_in: dict


@dataclasses.dataclass
class Stats:
    cases: int = 0
    decoded_keys: int = 0
    max_seconds: float = 0.0
    max_bytes: int = 0


STATS = Stats()


def _setup(config: TransformerConfig, pcs) -> Honest:
    model = random_transformer(config, 3)
    vk, pk = zkinfer.setup(model, pcs)
    proof = zkinfer.prove(pk, IDS)
    opt_in = OPT_IN if isinstance(pcs, TrivialPCS) else {}
    assert zkinfer.verify(vk.to_bytes(), IDS, proof.output, proof, **opt_in)
    return Honest(vk, vk.to_bytes(), key_sections(vk), proof, np.asarray(proof.output), opt_in)


@pytest.fixture(scope="module")
def trivial_mlp() -> Honest:
    return _setup(MLP, TrivialPCS())


@pytest.fixture(scope="module")
def trivial_transformer() -> Honest:
    return _setup(TRANSFORMER, TrivialPCS())


@pytest.fixture(scope="module")
def ligero_mlp() -> Honest:
    return _setup(MLP, None)


@pytest.fixture(scope="module", autouse=True)
def _trace_allocations():
    tracemalloc.start()
    yield
    tracemalloc.stop()
    _report("the whole module", STATS.cases)


def _flip(data: bytes, pos: int, xor: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= xor
    return bytes(b)


def _relabelled(h: Honest, key_bytes: bytes) -> Proof:
    """The honest proof with the changed key's digest (computed from the key's three framed
    sections, without decoding them); the honest digest if even the frame is broken."""
    if key_bytes[:6] != h.data[:6]:
        return h.proof
    parts, pos = [], 6
    for _ in range(3):
        if pos + 4 > len(key_bytes):
            return h.proof
        (n,) = struct.unpack_from("<I", key_bytes, pos)
        parts.append(key_bytes[pos + 4: pos + 4 + n])
        pos += 4 + n
    if pos != len(key_bytes):
        return h.proof
    return dataclasses.replace(h.proof, vk_digest=VerifyingKey(*parts).digest)


def _verify_changed_key(h: Honest, key_bytes: bytes) -> None:
    """Verify the relabelled honest proof against the changed key's bytes; raises the
    rejection, or AssertionError if the proof is accepted."""
    zkinfer.verify(key_bytes, IDS, h.output, _relabelled(h, key_bytes), **h.opt_in)
    raise AssertionError("ACCEPTED")


def _timed(h: Honest, key_bytes: bytes) -> tuple[float, int, BaseException | None]:
    """Seconds, bytes allocated at the peak (above what was allocated before) and the crash."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    try:
        _verify_changed_key(h, key_bytes)
    except VerificationError:
        STATS.decoded_keys += 1  # the key decoded: the verifier rejected the proof
        err = None
    except ProofFormatError:
        err = None
    except Exception as exc:  # a crash (or an acceptance): reported with the position
        err = exc
    return time.perf_counter() - start, tracemalloc.get_traced_memory()[1] - before, err


def check_case(h: Honest, pos: int, xor: int) -> None:
    """One single-byte change: rejected with a library error, within the memory and time bounds."""
    key_bytes = _flip(h.data, pos, xor)
    seconds, peak, err = _timed(h, key_bytes)
    where = next(name for name, a, b in h.sections if a <= pos < b)
    if err is not None:
        raise AssertionError(f"byte {pos} ({where}) ^ {xor:#x}: {type(err).__name__}: {err}") from err
    if seconds > MAX_SECONDS:  # a machine shared with other jobs: a slow case must be slow twice
        seconds = min(seconds, _timed(h, key_bytes)[0])
    assert peak < MAX_BYTES, f"byte {pos} ({where}) ^ {xor:#x}: peak {peak / 2**20:.0f} MiB"
    assert seconds < MAX_SECONDS, f"byte {pos} ({where}) ^ {xor:#x}: {seconds:.2f} s"
    STATS.cases += 1
    STATS.max_seconds = max(STATS.max_seconds, seconds)
    STATS.max_bytes = max(STATS.max_bytes, peak)


def _report(label: str, cases: int) -> None:
    print(f"\n{label}: {cases} cases; all so far: {STATS.cases} cases, {STATS.decoded_keys} changed "
          f"keys decoded, max {STATS.max_seconds * 1e3:.0f} ms, peak {STATS.max_bytes / 2**20:.1f} MiB")


# ---------------------------------------------------------------------------------------------
# the tests


def test_sections_cover_the_whole_key(trivial_mlp, trivial_transformer, ligero_mlp):
    for h in (trivial_mlp, trivial_transformer, ligero_mlp):
        sections = h.sections
        assert sections[0][1] == 0 and sections[-1][2] == len(h.data)
        assert all(a[2] == b[1] for a, b in zip(sections, sections[1:]))  # no gap, no overlap
        names = " ".join(n for n, _, _ in sections)
        for part in ("widths", "scales", "layers[1]" if h.vk.model().config.n_layers > 1 else "layers[0]",
                     "config", "qconfig", "pcs params", "weight commitment"):
            assert part in names


@pytest.mark.parametrize("which, per_span, thin, minimum", [("trivial_mlp", 3, 1, 600),
                                                            ("trivial_transformer", 1, 4, 250),
                                                            ("ligero_mlp", 1, 2, 200)])
def test_single_byte_changes_of_every_section_rejected(request, which, per_span, thin, minimum):
    h = request.getfixturevalue(which)
    positions = sample_positions(h.sections, per_span, thin)
    for k, pos in enumerate(positions):
        check_case(h, pos, XORS[k % len(XORS)])
    assert len(positions) >= minimum  # the three samples: over 1000 cases in all
    _report(which, len(positions))


_FUZZ = settings(max_examples=100, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _draw_case(h: Honest, data) -> tuple[int, int]:
    sections = h.sections
    _, a, b = sections[data.draw(st.integers(0, len(sections) - 1), label="section")]
    return data.draw(st.integers(a, b - 1), label="position"), data.draw(st.integers(1, 255), label="xor")


@_FUZZ
@given(st.data())
def test_single_byte_change_of_the_mlp_key_rejected(trivial_mlp, data):
    check_case(trivial_mlp, *_draw_case(trivial_mlp, data))


@_FUZZ
@given(st.data())
def test_single_byte_change_of_the_transformer_key_rejected(trivial_transformer, data):
    check_case(trivial_transformer, *_draw_case(trivial_transformer, data))


@_FUZZ
@given(st.data())
def test_single_byte_change_of_the_ligero_key_rejected(ligero_mlp, data):
    check_case(ligero_mlp, *_draw_case(ligero_mlp, data))
