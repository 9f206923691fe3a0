"""A verifier-only install: the wheel installed without extras (numpy only, no numba) verifies a
proof made by the full install, and the prover commands there exit 2 naming the extra.

Builds the wheel and a fresh virtual environment (pip fetches numpy and the build backend from
the package index): about half a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zkinfer

ROOT = Path(__file__).resolve().parent.parent
IDS = np.frombuffer(b"verify me", dtype=np.uint8).astype(np.int64)

CHECK = r"""
import importlib.util, json, sys
from pathlib import Path
import numpy as np
import zkinfer
assert importlib.util.find_spec("numba") is None, "numba is installed"
assert importlib.util.find_spec("tqdm") is None, "tqdm is installed"
where = Path(zkinfer.__file__).resolve()
assert "site-packages" in where.parts, where
d = Path(sys.argv[1])
ids = np.load(d / "ids.npy")
proof = (d / "proof.zkp").read_bytes()
output = zkinfer.Proof.from_bytes(proof).output
print(json.dumps({"verified": zkinfer.verify((d / "vk.bin").read_bytes(), ids, output, proof),
                  "numba_loaded": "numba" in sys.modules}))
"""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    # no PYTHONPATH: the fresh environment must see its installed wheel, not a source tree
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, **kw)


@pytest.fixture(scope="module")
def verifier_env(tmp_path_factory) -> Path:
    """A fresh venv holding only the wheel and what it requires."""
    root = tmp_path_factory.mktemp("verifier-install")
    # build from a copy: setuptools writes build/ and *.egg-info beside the sources
    src = root / "src"
    shutil.copytree(ROOT / "zkinfer", src / "zkinfer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    for name in ("pyproject.toml", "setup.cfg", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(root / "dist"),
                  str(src)])
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((root / "dist").glob("zkinfer-*.whl"))
    made = _run([sys.executable, "-m", "venv", str(root / "venv")])
    assert made.returncode == 0, made.stderr
    py = root / "venv" / "bin" / "python"
    installed = _run([str(py), "-m", "pip", "install", "--quiet", str(wheel)])
    assert installed.returncode == 0, installed.stderr[-2000:]
    return root / "venv" / "bin"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A proof from the full install (default PCS, so the verifier's floor applies)."""
    d = tmp_path_factory.mktemp("full-install")
    vk, pk = zkinfer.setup("tiny-mlp")
    proof = zkinfer.prove(pk, IDS)
    (d / "vk.bin").write_bytes(vk.to_bytes())
    (d / "proof.zkp").write_bytes(proof.to_bytes())
    np.save(d / "ids.npy", IDS)
    return d


def test_wheel_without_extras_verifies_a_proof_of_the_full_install(verifier_env, made, tmp_path):
    run = _run([str(verifier_env / "python"), "-c", CHECK, str(made)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout) == {"verified": True, "numba_loaded": False}
    cli = _run([str(verifier_env / "zkinfer"), "verify", "--vk", str(made / "vk.bin"),
                "--proof", str(made / "proof.zkp"), "--tokens", str(made / "ids.npy"), "--json"],
               cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["ok"] is True


def test_tampered_proof_rejected_by_the_verifier_only_install(verifier_env, made, tmp_path):
    data = bytearray((made / "proof.zkp").read_bytes())
    data[-100] ^= 1
    (tmp_path / "bad.zkp").write_bytes(bytes(data))
    cli = _run([str(verifier_env / "zkinfer"), "verify", "--vk", str(made / "vk.bin"),
                "--proof", str(tmp_path / "bad.zkp")], cwd=tmp_path)
    assert cli.returncode == 1, cli.stderr
    assert cli.stderr == ("zkinfer: rejected: ligero pcs: merkle: opened columns do not hash to "
                          "the root\n")


@pytest.mark.parametrize("argv", [
    ["prove", "--model", "tiny", "--text", "a", "--out", "p.zkp"],
    ["demo"],
    ["setup", "--model", "tiny-mlp", "--out", "keys"],
])
def test_prover_commands_without_the_prover_extra_exit_2_naming_it(verifier_env, argv, tmp_path):
    run = _run([str(verifier_env / "zkinfer"), *argv], cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [
        "zkinfer: proving needs numba, which this install lacks: pip install 'zkinfer[prover]' "
        "(verifying does not)"]
    assert list(tmp_path.iterdir()) == []
