"""Every notebook in ``notebooks/`` runs top to bottom (code cells in one namespace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, capsys):
    nb = json.loads(path.read_text())
    namespace: dict = {"__name__": "__notebook__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        exec(compile(source, f"{path.name}[cell {i}]", "exec"), namespace)  # noqa: S102
    if path.name == "foundations.ipynb":
        out = capsys.readouterr().out
        assert "verified" in out and "a wrong claim is rejected" in out


def test_there_is_a_notebook():
    assert NOTEBOOKS, "notebooks/ holds no notebook"
