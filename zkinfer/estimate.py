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

**The estimate is a rough linear model**, fitted by least squares to measurements of the whole
``zkinfer prove`` process (setup plus proof, kernels already compiled) on the 2-core reference
machine (see :data:`CALIBRATION`)::

    seconds = t0 + t_col * columns + t_trace * padded_trace + t_weight * weights
    bytes   = m0 + m_trace * padded_trace + m_weight * weights

``columns`` and ``padded_trace`` come from :func:`zkinfer.model.intmodel.column_specs` (every
trace column of a forward over ``n`` tokens, each axis padded to a power of two as the prover
commits it); ``weights`` counts the committed weight entries (embedding tables and every linear
``W``). The prover's real cost also depends on the limb and advice columns it adds, the look-up
table sizes and the machine, so read the figures as "within a factor of about 1.5 on a machine
like the reference one", not as a promise. The first run on a machine also compiles the Numba
kernels (about 30 s, not included).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "CALIBRATION",
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

#: Measurements the constants below were fitted to: ``(model, tokens, columns, padded trace
#: elements, weight elements, seconds of setup + prove, peak RSS in bytes)``, on the 2-core
#: reference machine with 24 GiB, quiet, default PCS (Ligero, rate 1/4), kernels compiled, in one
#: process (a warm-up proof, then ``setup`` + ``prove`` timed).
#: MiniLM's load (a few seconds, about 0.8 GB of float and integer models) is in the memory
#: figures but not in the times.
CALIBRATION: tuple[tuple[str, int, int, int, int, float, int], ...] = (
    ("tiny-mlp", 8, 26, 34_496, 83_968, 0.19, 187_629_568),
    ("tiny-mlp", 32, 26, 112_832, 83_968, 0.33, 210_411_520),
    ("tiny", 4, 146, 104_620, 116_736, 0.41, 204_062_720),
    ("tiny", 16, 146, 205_936, 116_736, 0.41, 222_715_904),
    ("tiny", 32, 146, 362_528, 116_736, 0.58, 258_351_104),
    ("minilm", 16, 402, 3_079_600, 22_435_584, 11.87, 4_582_178_816),
    ("minilm", 32, 402, 6_247_776, 22_435_584, 14.39, 4_893_450_240),
    ("minilm", 128, 402, 31_449_984, 22_435_584, 34.76, 7_881_916_416),
    ("minilm", 256, 402, 81_568_000, 22_435_584, 89.5, 18_340_000_000),
)

# Least-squares fit to CALIBRATION in relative error (every row within 16 % in time, 12 % in
# memory; memory grows in steps where a committed vector passes a power of two, which a linear
# model smooths over). Seconds (imports, about 0.45 s, not included): per process, per trace
# column (Python overhead per relation), per padded trace entry, per weight entry. Bytes: per
# process, per padded trace entry, per weight entry.
_T0, _T_COL, _T_TRACE, _T_WEIGHT = 0.13, 6.4e-4, 9.1e-7, 3.75e-7
_M0, _M_TRACE, _M_WEIGHT = 1.73e8, 157.0, 166.0


@dataclass(frozen=True)
class TraceSize:
    """The size of one proof's statement.

    Attributes:
        columns: trace columns of the forward (before the prover's advice and limbs).
        elements: their entries.
        padded: their entries with every axis padded to a power of two.
        weights: committed weight entries (embedding tables and linear matrices).
    """

    columns: int
    elements: int
    padded: int
    weights: int


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
                f"({self.tokens} tokens, {self.size.columns} trace columns, "
                f"{self.size.padded / 1e6:.2f} M padded trace entries, "
                f"{self.size.weights / 1e6:.2f} M weights; rough linear model)")

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

    specs = column_specs(model, n)
    elements = sum(math.prod(s.shape) for s in specs.values())
    padded = sum(_padded_entries(s.shape) for s in specs.values())
    return TraceSize(len(specs), int(elements), int(padded), _weight_entries(model))


def _predict(size: TraceSize) -> tuple[float, float]:
    seconds = _T0 + _T_COL * size.columns + _T_TRACE * size.padded + _T_WEIGHT * size.weights
    peak = _M0 + _M_TRACE * size.padded + _M_WEIGHT * size.weights
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
        ``None`` if it fits (or ``available`` is unknown), else a one-line reason.
    """
    if available is None or est.peak_bytes <= available:
        return None
    return (f"the proof needs about {est.peak_bytes / 1e9:.1f} GB of memory but only "
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
    ``zero-check``, ``range``, ``opening``."""
    from zkinfer.protocol.engine import MatmulStep, TableStep, ValueStep
    from zkinfer.protocol.openings import OpeningsProof
    from zkinfer.protocol.range import RangeProof
    from zkinfer.protocol.zerocheck import ZerocheckProof

    kinds = ((MatmulStep, "product"), (TableStep, "table"), (ValueStep, "column sum"),
             (ZerocheckProof, "zero-check"), (RangeProof, "range"), (OpeningsProof, "opening"))
    for cls, name in kinds:
        if isinstance(step, cls):
            return name
    return type(step).__name__


def _step_bytes(proof) -> tuple[int, list[int]]:
    """Encoded size of the proof without steps, and of each step (by re-encoding)."""
    from zkinfer.proof import Proof

    def encoded(steps: tuple) -> int:
        return len(Proof(proof.vk_digest, proof.ids, proof.output, proof.trace_commitment,
                         steps).to_bytes())

    empty = encoded(())
    return empty, [encoded((s,)) - empty for s in proof.steps]


def proof_sections(proof) -> dict[str, int]:
    """Bytes of an encoded proof by section.

    Sections: ``header`` (magic, version, vk digest, input, output, step count), ``trace
    commitment``, the relation steps totalled by kind (``product``, ``table``, ``column sum``,
    ``zero-check``, ``range``), and the two openings (``trace opening``, ``weight opening``).
    The values add up to ``len(proof.to_bytes())``.

    Arguments:
        proof: a :class:`~zkinfer.proof.Proof`.

    Returns:
        ``section -> bytes``, in proof order.
    """
    empty, sizes = _step_bytes(proof)
    commitment = 4 + len(proof.trace_commitment)  # u32 length prefix and the bytes
    out: dict[str, int] = {"header": empty - commitment, "trace commitment": commitment}
    openings = [i for i, s in enumerate(proof.steps) if step_kind(s) == "opening"]
    names = dict(zip(openings[-2:], ("trace opening", "weight opening")))
    for i, (step, size) in enumerate(zip(proof.steps, sizes)):
        key = names.get(i, step_kind(step))
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
    """
    from zkinfer.protocol.model_circuit import build_circuit

    # the schedule of zkinfer.protocol.engine: one step per relation, in circuit order, first
    expected = {"MatmulRel": "product", "OneHotRel": "product", "ContractRel": "product",
                "TableRel": "table", "AxisSumRel": "column sum"}
    circuit = build_circuit(vk.model(), int(proof.ids.shape[0]), proof.output)
    if len(proof.steps) < len(circuit.relations):
        raise ValueError("the proof has fewer steps than its circuit has relations")
    _, sizes = _step_bytes(proof)
    rows = []
    for rel, step, size in zip(circuit.relations, proof.steps, sizes):
        kind = step_kind(step)
        if expected.get(type(rel).__name__, kind) != kind:
            raise ValueError(f"step for {rel.out} is a {kind}, not the relation's step")
        rows.append((rel.out, kind, size))
    return rows


def group_by_layer(rows: list[tuple[str, str, int]], depth: int = 1) -> dict[str, dict[str, int]]:
    """``relation_bytes`` rows summed per layer (first ``depth`` parts of the name) and kind."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for name, kind, size in rows:
        key = _group(name, depth)
        out[key][kind] = out[key].get(kind, 0) + size
    return dict(out)
