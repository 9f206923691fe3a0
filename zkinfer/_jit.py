"""The prover's one import of numba, with a clear error when the ``prover`` extra is missing.

Every Numba kernel module imports ``numba`` through here, so a verifier-only install
(``pip install zkinfer``, no numba) that reaches prover code gets a
:class:`~zkinfer.errors.MissingDependencyError` naming the extra to install, not a bare
``ModuleNotFoundError``.
"""

from __future__ import annotations

from zkinfer.errors import MissingDependencyError

try:
    import numba
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a venv without numba
    if exc.name not in ("numba", "llvmlite"):
        raise
    raise MissingDependencyError(
        "proving needs numba, which this install lacks: pip install 'zkinfer[prover]' "
        "(verifying does not)") from None

__all__ = ["numba"]
