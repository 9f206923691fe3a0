"""Timing, peak memory and accuracy helpers shared by the zkinfer and EZKL runners."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["timed", "peak_rss_bytes", "accuracy", "mem_available_bytes", "load_average"]


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call ``fn`` once and measure its wall-clock time.

    Arguments:
        fn: the function.
        *args: positional arguments.
        **kwargs: keyword arguments.

    Returns:
        ``(result, seconds)``.
    """
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (``ru_maxrss``), in bytes.

    Returns:
        Bytes (Linux reports KiB, macOS bytes).
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def accuracy(got: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Cosine similarity and maximum absolute error of an output against its float64 reference.

    Arguments:
        got: the system's dequantized output vector.
        ref: the float64 reference vector.

    Returns:
        ``{"cosine": ..., "max_abs_err": ..., "ref_max_abs": ...}``.
    """
    got = np.asarray(got, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    denom = max(float(np.linalg.norm(got) * np.linalg.norm(ref)), 1e-300)
    return {
        "cosine": float(got @ ref / denom),
        "max_abs_err": float(np.abs(got - ref).max()),
        "ref_max_abs": float(np.abs(ref).max()),
    }


def mem_available_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` (memory usable now without swapping), or ``None``.

    Returns:
        Bytes, or ``None`` off Linux.
    """
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, or ``None`` where unavailable."""
    try:
        return os.getloadavg()
    except OSError:
        return None
