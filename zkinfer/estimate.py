"""Resource estimates before a proof, and cost breakdowns of a proof (numpy only).

=============================  ==============================================================
function                       what it returns
=============================  ==============================================================
``trace_size(model, n)``       columns, trace elements (real and padded) and weight elements
``estimate(model, n)``         an :class:`Estimate` of prover time and peak memory
``available_memory()``         bytes the machine can still give (``MemAvailable``), or ``None``
``check_memory(est, avail)``   ``None`` if the estimate fits, else the reason it does not
``trace_by_layer(model, n)``   padded trace elements per layer (``emb``, ``layer0``, ...)
``proof_sections(proof)``      bytes of a proof by section (header, trace commitment, steps)
``relation_bytes(proof, vk)``  bytes of each relation step, named by the relation it proves
``group_by_layer(rows)``       those bytes summed per layer and step kind
=============================  ==============================================================

**The estimate is a linear model** fitted to whole ``zkinfer prove`` runs (imports, model load,
setup and proof, kernels already compiled) measured on the 2-core reference machine and recorded
in the repository (``benchmarks/data/estimate_runs.json``, made by
``benchmarks/calibrate_estimate.py``; ``tests/test_estimate.py`` checks every recorded run
against it)::

    seconds = t0 + t_col * columns + t_used * committed + t_pow2 * parts_padded + t_w * weights
    bytes   = m0 + m_used * committed + m_pow2 * 2^part_log2 + m_w * weights

``committed`` is the length of the committed trace (every column the prover commits, advice and
limbs included, each padded to a power of two and packed as the commitment packs them, summed
over the segments' parts); the prover works one segment at a time, so its batching tables are
set by the largest part: ``2^part_log2`` its power-of-two size (memory grows in a step when it
doubles), and ``parts_padded`` the sum of the parts' power-of-two sizes (the openings' work).
All come from the circuit of the statement
(:func:`zkinfer.protocol.model_circuit.build_circuit`, numpy only, under a second for MiniLM);
``columns`` counts the forward's trace columns (per-relation Python overhead); ``weights`` the
committed weight entries (the weight commitment, and the model held in memory).

The recorded runs lie within 16 % of the model in time and 10 % in memory (time 15.2 %, memory
8.7 % at worst, minimax fits): the segmented prover's small runs (a few seconds) vary by that
much from run to run; another machine differs in time (memory much less).
:func:`check_memory` refuses with a 10 % margin. The first run on a machine also compiles the
Numba kernels (about a minute on two cores, not included; ``zkinfer prove`` says so).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "MEMORY_MARGIN",
    "time_features",
    "memory_features",
    "Estimate",
    "TraceSize",
    "trace_size",
    "estimate",
    "available_memory",
    "check_memory",
    "trace_by_layer",
    "proof_sections",
    "relation_bytes",
    "group_by_layer",
    "step_kind",
]

#: Coefficients of :func:`time_features` (seconds) and :func:`memory_features` (bytes), fitted
#: by ``benchmarks/calibrate_estimate.py --fit`` to ``benchmarks/data/estimate_runs.json``.
_TIME_COEF = (1.74196, 0.00094766, 5.34975e-07, 0.0, 2.10968e-06)
_MEMORY_COEF = (192875000.0, 0.0, 46.9499, 71.8996)
#: ``check_memory`` refuses unless the estimate plus this fraction fits: the model's error on the
#: recorded runs is within it.
MEMORY_MARGIN = 0.10


@dataclass(frozen=True)
class TraceSize:
    """The size of one proof's statement.

    Attributes:
        columns: trace columns of the forward (before the prover's advice and limbs).
        elements: their entries.
        padded: their entries with every axis padded to a power of two.
        weights: committed weight entries (embedding tables and linear matrices).
        committed: entries of the committed trace vector (every committed column of the
            circuit, advice and limbs included, padded and packed as the commitment packs them).
        part_log2: ``log2`` of the power-of-two size of the largest segment's part.
        parts_padded: the sum over the parts of their power-of-two sizes.
    """

    columns: int
    elements: int
    padded: int
    weights: int
    committed: int = 0
    part_log2: int = 0
    parts_padded: int = 0


@dataclass(frozen=True)
class Estimate:
    """Estimated cost of ``setup`` plus ``prove`` for ``tokens`` tokens (rough linear model).

    Attributes:
        tokens: sequence length.
        size: the :class:`TraceSize` the estimate was computed from.
        seconds: estimated wall time of setup and proof (kernels compiled).
        peak_bytes: estimated peak resident memory of the process.
    """

    tokens: int
    size: TraceSize
    seconds: float
    peak_bytes: int

    def describe(self) -> str:
        """One line for people: ``estimate: ~12 s, peak ~0.3 GB (16 tokens, ...)``."""
        return (f"estimate: ~{_fmt_seconds(self.seconds)}, peak memory ~{self.peak_bytes / 1e9:.1f} GB "
                f"({self.tokens} tokens, {self.size.committed / 1e6:.2f} M committed trace entries, "
                f"{self.size.weights / 1e6:.2f} M weights; model load, setup and proof on a "
                "2-core machine)")

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return {"tokens": self.tokens, **asdict(self.size), "seconds": round(self.seconds, 1),
                "peak_bytes": int(self.peak_bytes)}


def _fmt_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def _padded_entries(shape: tuple[int, ...]) -> int:
    from zkinfer.protocol.circuit import padded_bits

    return 1 << sum(padded_bits(shape))


def _weight_entries(model) -> int:
    from zkinfer.model.intmodel import OpLinear, ops

    total = int(np.prod(np.shape(model.tok_emb))) + int(np.prod(np.shape(model.pos_emb)))
    for op in ops(model):
        if isinstance(op, OpLinear):
            total += int(np.prod(np.shape(op.lin.w)))
    return total


def trace_size(model, n: int) -> TraceSize:
    """Columns and entries of the trace of ``model`` over ``n`` tokens, and its weight entries.

    Arguments:
        model: an integer model (:class:`~zkinfer.model.intmodel.IntModel`; shapes suffice, so
            ``vk.model()`` works too).
        n: sequence length, ``>= 1``.

    Returns:
        The :class:`TraceSize`.

    Raises:
        ModelError: the model declares no width for some column.
    """
    from zkinfer.model.intmodel import column_specs
    from zkinfer.protocol.engine import segment_parts
    from zkinfer.protocol.model_circuit import build_circuit, placeholder_output

    specs = column_specs(model, n)
    elements = sum(math.prod(s.shape) for s in specs.values())
    padded = forward_padded(model, n, specs)
    circuit = build_circuit(model, n, placeholder_output(model, n))
    used = segment_parts(circuit).shape.used
    logs = [max(0, (u - 1).bit_length()) for u in used]
    return TraceSize(len(specs), int(elements), int(padded), _weight_entries(model),
                     int(sum(used)), int(max(logs)), int(sum(1 << x for x in logs)))


def forward_padded(model, n: int, specs=None) -> int:
    """Entries of the forward's trace columns over ``n`` tokens, each axis padded to a power of
    two as the prover commits them (``specs``: :func:`~zkinfer.model.intmodel.column_specs`,
    if already computed)."""
    if specs is None:
        from zkinfer.model.intmodel import column_specs

        specs = column_specs(model, n)
    return int(sum(_padded_entries(s.shape) for s in specs.values()))


def time_features(size: TraceSize) -> list[float]:
    """The features the time model is linear in: ``1, columns, committed, parts_padded,
    weights``."""
    return [1.0, size.columns, size.committed, float(size.parts_padded), size.weights]


def memory_features(size: TraceSize) -> list[float]:
    """The features the memory model is linear in: ``1, committed, 2^part_log2,
    weights``."""
    return [1.0, size.committed, float(1 << size.part_log2), size.weights]


def _predict(size: TraceSize) -> tuple[float, float]:
    seconds = float(np.dot(_TIME_COEF, time_features(size)))
    peak = float(np.dot(_MEMORY_COEF, memory_features(size)))
    return seconds, peak


def estimate(model, n: int) -> Estimate:
    """Estimate the time and peak memory of ``setup`` plus ``prove`` over ``n`` tokens.

    Arguments:
        model: an integer model.
        n: sequence length.

    Returns:
        The :class:`Estimate` (a rough linear model; see the module docstring).
    """
    size = trace_size(model, n)
    seconds, peak = _predict(size)
    return Estimate(int(n), size, float(seconds), int(peak))


def available_memory() -> int | None:
    """Bytes of memory available to a new process, or ``None`` if it cannot be told.

    Reads ``MemAvailable`` from ``/proc/meminfo`` (Linux); otherwise uses
    ``os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")`` (free pages only, so it
    underestimates what the page cache could give back).
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(est: Estimate, available: int | None) -> str | None:
    """Whether an estimate fits in the memory the machine has.

    Arguments:
        est: the estimate.
        available: bytes available (from :func:`available_memory`), or ``None`` if unknown.

    Returns:
        ``None`` if the estimate plus :data:`MEMORY_MARGIN` fits (or ``available`` is
        unknown), else a one-line reason.
    """
    need = est.peak_bytes * (1 + MEMORY_MARGIN)
    if available is None or need <= available:
        return None
    return (f"the proof needs about {est.peak_bytes / 1e9:.1f} GB of memory (refused below "
            f"{need / 1e9:.1f} GB, the estimate plus {MEMORY_MARGIN:.0%}) but only "
            f"{available / 1e9:.1f} GB is available; use fewer tokens, free memory, "
            "or pass --force to try anyway")


# ---------------------------------------------------------------------------------------------
# cost breakdowns of a proof


def _group(name: str, depth: int) -> str:
    """The first ``depth`` dot-separated parts of a column name: ``layer0`` or ``layer0.attn``."""
    return ".".join(name.split(".")[:depth])


def trace_by_layer(model, n: int, depth: int = 1) -> dict[str, int]:
    """Padded trace entries per layer: columns grouped by the first part(s) of their name.

    Arguments:
        model: an integer model (``vk.model()`` works: only shapes are read).
        n: sequence length.
        depth: name parts to group by: 1 gives layers (``layer0``), 2 gives blocks
            (``layer0.attn``, ``layer0.ffn``, ...).

    Returns:
        ``{"emb": ..., "layer0": ..., ..., "pool": ...}`` in execution order.
    """
    from zkinfer.model.intmodel import column_specs

    out: dict[str, int] = {}
    for name, spec in column_specs(model, n).items():
        key = _group(name, depth)
        out[key] = out.get(key, 0) + _padded_entries(spec.shape)
    return out


def step_kind(step) -> str:
    """A short name of a proof step's kind: ``product``, ``table``, ``column sum``,
    ``zero-check``, ``range``, ``opening`` (each step type names itself)."""
    return getattr(step, "KIND", type(step).__name__)


def _part_bytes(proof) -> list[tuple[str, object, int]]:
    """``(part, step, encoded bytes)`` for every step of the proof, in proof order."""
    from zkinfer.codec import Writer
    from zkinfer.protocol.relation import write_step

    rows = []
    for part, step in proof.body.parts():
        w = Writer()
        if part == "relations":
            write_step(w, step)
        else:
            step.write(w)
        rows.append((part, step, len(w.finish())))
    return rows


def proof_sections(proof) -> dict[str, int]:
    """Bytes of an encoded proof by section.

    Sections: ``header`` (magic, version, vk digest, input, output, step counts), ``trace
    commitment``, the relation steps totalled by kind (``product``, ``table``, ``column sum``),
    the zero-checks (``zero-check``), the range checks (``range``), and the two openings
    (``trace opening``, ``weight opening``). The values add up to ``len(proof.to_bytes())``.

    Arguments:
        proof: a :class:`~zkinfer.proof.Proof`.

    Returns:
        ``section -> bytes``, in proof order.
    """
    rows = _part_bytes(proof)
    commitment = 4 + len(proof.trace_commitment)  # u32 length prefix and the bytes
    header = len(proof.to_bytes()) - commitment - sum(size for _, _, size in rows)
    out: dict[str, int] = {"header": header, "trace commitment": commitment}
    names = {"trace_opening": "trace opening", "weight_opening": "weight opening"}
    for part, step, size in rows:
        key = names.get(part, step_kind(step))
        out[key] = out.get(key, 0) + size
    return out


def relation_bytes(proof, vk) -> list[tuple[str, str, int]]:
    """Bytes of each relation step (products, table look-ups, column sums), by relation name.

    The zero-checks, range checks and openings batch all layers together, so they are not
    attributed here (see :func:`proof_sections`).

    Arguments:
        proof: a :class:`~zkinfer.proof.Proof`.
        vk: its :class:`~zkinfer.proof.VerifyingKey` (the circuit is rebuilt from it).

    Returns:
        ``[(relation name, kind, bytes), ...]`` in proof order, e.g.
        ``("layer0.ffn.up.acc", "product", 2144)``.

    Raises:
        ValueError: the proof's relation steps do not match the circuit's relations.
    """
    from zkinfer.protocol.model_circuit import proof_circuit

    circuit = proof_circuit(vk.model(), proof)
    rows = [(step, size) for part, step, size in _part_bytes(proof) if part == "relations"]
    if len(rows) != len(circuit.relations):
        raise ValueError("the proof has another number of relation steps than its circuit")
    out = []
    for rel, (step, size) in zip(circuit.relations, rows):
        if not isinstance(step, rel.Step):
            raise ValueError(f"step for {rel.out} is a {step_kind(step)}, not the relation's step")
        out.append((rel.out, step_kind(step), size))
    return out


def group_by_layer(rows: list[tuple[str, str, int]], depth: int = 1) -> dict[str, dict[str, int]]:
    """``relation_bytes`` rows summed per layer (first ``depth`` parts of the name) and kind."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for name, kind, size in rows:
        key = _group(name, depth)
        out[key][kind] = out[key].get(kind, 0) + size
    return dict(out)
