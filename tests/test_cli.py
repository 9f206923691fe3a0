"""The ``zkinfer`` command: setup -> prove -> verify, exit statuses, inspect, --json, estimates.

Everything runs in-process through :func:`zkinfer.cli.main` on the built-in ``tiny-mlp`` model
with a few tokens; one test runs the installed console script in a subprocess. One setup and one
proof are shared by the module (about 5 s once the Numba kernels are cached).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zkinfer import estimate
from zkinfer.cli import PK_FORMAT, main
from zkinfer.models import tiny, tiny_mlp

TEXT = "hi zk"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """``zkinfer setup`` then ``zkinfer prove --pk`` on tiny-mlp; the files they wrote."""
    root = tmp_path_factory.mktemp("cli")
    assert main(["setup", "--model", "tiny-mlp", "--out", str(root / "keys"), "--quiet"]) == 0
    proof = root / "proof.zkp"
    assert main(["prove", "--pk", str(root / "keys" / "pk"), "--text", TEXT,
                 "--out", str(proof), "--vk-out", str(root / "vk-again.bin"), "--quiet"]) == 0
    return {"root": root, "vk": root / "keys" / "vk.bin", "pk": root / "keys" / "pk",
            "proof": proof, "vk_again": root / "vk-again.bin"}


def _err_line(capsys) -> str:
    """The stderr of the last command, which must be exactly one ``zkinfer: ...`` line."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("zkinfer: ")
    return err[0]


# ---------------------------------------------------------------------------------------------
# the happy path


def test_setup_writes_vk_and_a_key_description(made):
    from zkinfer.proof import ProvingKey

    pk = ProvingKey.load(made["pk"])
    assert pk.vk.to_bytes() == made["vk"].read_bytes()
    assert made["vk"].read_bytes()[:4] == b"ZKVK"
    # prove rebuilt the proving key from the description: the same verifying key
    assert made["vk_again"].read_bytes() == made["vk"].read_bytes()


def test_setup_is_deterministic(made, tmp_path):
    assert main(["setup", "--model", "tiny-mlp", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "vk.bin").read_bytes() == made["vk"].read_bytes()


def test_verify_accepts(made, capsys):
    assert main(["verify", "--vk", str(made["vk"]), "--proof", str(made["proof"])]) == 0
    assert "accepted" in capsys.readouterr().out


def test_verify_checks_the_users_input(made, tmp_path, capsys):
    ids = np.frombuffer(TEXT.encode(), dtype=np.uint8).astype(np.int64)
    np.save(tmp_path / "ids.npy", ids)
    base = ["verify", "--vk", str(made["vk"]), "--proof", str(made["proof"])]
    assert main([*base, "--text", TEXT, "--quiet"]) == 0
    assert main([*base, "--tokens", str(tmp_path / "ids.npy"), "--quiet"]) == 0
    capsys.readouterr()
    assert main([*base, "--text", TEXT + "!"]) == 1
    assert "another input" in _err_line(capsys)


def test_verify_json(made, capsys):
    assert main(["verify", "--vk", str(made["vk"]), "--proof", str(made["proof"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["command"] == "verify"
    assert result["tokens"] == list(TEXT.encode()) and result["soundness_bits"] > 100


# ---------------------------------------------------------------------------------------------
# rejections and bad usage


def test_tampered_proof_is_rejected_with_one_line(made, tmp_path, capsys):
    data = bytearray(made["proof"].read_bytes())
    # bytes spread over the proof: statement, relation steps, openings
    for pos in (60, len(data) // 50, len(data) // 4, len(data) // 2, len(data) - 100):
        bad = bytearray(data)
        bad[pos] ^= 0x01
        path = tmp_path / f"bad{pos}.zkp"
        path.write_bytes(bytes(bad))
        status = main(["verify", "--vk", str(made["vk"]), "--proof", str(path)])
        assert status in (1, 2), pos
        line = _err_line(capsys)
        assert ("rejected" in line) == (status == 1), line


def test_non_canonical_field_element_is_malformed(made, tmp_path, capsys):
    data = bytearray(made["proof"].read_bytes())
    pos = len(data) // 50  # inside the relation steps: field elements
    data[pos:pos + 16] = b"\xff" * 16  # covers one whole 8-byte word >= p, wherever words start
    path = tmp_path / "noncanonical.zkp"
    path.write_bytes(bytes(data))
    assert main(["verify", "--vk", str(made["vk"]), "--proof", str(path)]) == 2
    assert "malformed proof" in _err_line(capsys)


def test_wrong_vk_is_rejected(made, tmp_path, capsys):
    assert main(["setup", "--model", "tiny", "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["verify", "--vk", str(tmp_path / "vk.bin"), "--proof", str(made["proof"])]) == 1
    assert "another verifying key" in _err_line(capsys)


def test_truncated_proof_is_malformed(made, tmp_path, capsys):
    path = tmp_path / "short.zkp"
    path.write_bytes(made["proof"].read_bytes()[:1000])
    assert main(["verify", "--vk", str(made["vk"]), "--proof", str(path)]) == 2
    assert "malformed proof" in _err_line(capsys)


def test_vk_swapped_for_a_proof_is_malformed(made, capsys):
    assert main(["verify", "--vk", str(made["proof"]), "--proof", str(made["proof"])]) == 2
    assert "malformed verifying key" in _err_line(capsys)


@pytest.mark.parametrize("which", ["vk", "proof"])
def test_missing_file(made, tmp_path, capsys, which):
    paths = {"vk": str(made["vk"]), "proof": str(made["proof"])}
    paths[which] = str(tmp_path / "absent")
    assert main(["verify", "--vk", paths["vk"], "--proof", paths["proof"]]) == 2
    assert "not found" in _err_line(capsys)


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["verify", "--proof", "x.zkp"],                                   # --vk missing
    ["prove", "--model", "tiny", "--out", "p.zkp"],                   # no input
    ["prove", "--model", "tiny", "--text", "a", "--tokens", "t.npy", "--out", "p.zkp"],
    ["selfcheck", "--log-n", "2"],
])
def test_bad_usage_exits_2(argv, capsys):
    assert main(argv) == 2
    capsys.readouterr()


@pytest.mark.parametrize("argv, reason", [
    (["prove", "--model", "tiny-mlp", "--text", "x" * 40, "--out", "p.zkp"], "1..32"),
    (["prove", "--model", "nope", "--text", "a", "--out", "p.zkp"], "unknown model"),
    (["prove", "--model", "absent.safetensors", "--text", "a", "--out", "p.zkp"], "not found"),
])
def test_bad_model_input_exits_2(argv, reason, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert reason in _err_line(capsys)
    assert not (tmp_path / "p.zkp").exists()


def test_other_safetensors_refused(tmp_path, capsys):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"not the MiniLM checkpoint")
    assert main(["setup", "--model", str(path), "--out", str(tmp_path / "k")]) == 2
    assert "only the all-MiniLM-L6-v2 checkpoint" in _err_line(capsys)


def test_bad_token_file(tmp_path, capsys):
    np.save(tmp_path / "f.npy", np.ones((2, 2), dtype=np.int64))
    assert main(["prove", "--model", "tiny-mlp", "--tokens", str(tmp_path / "f.npy"),
                 "--out", str(tmp_path / "p.zkp")]) == 2
    assert "1-D integer" in _err_line(capsys)


def test_malformed_key_description(tmp_path, capsys):
    (tmp_path / "pk.json").write_text('{"format": "something else"}')
    assert main(["prove", "--pk", str(tmp_path / "pk.json"), "--text", "a",
                 "--out", str(tmp_path / "p.zkp")]) == 2
    assert "not a zkinfer proving-key description" in _err_line(capsys)


def test_json_errors_are_json(tmp_path, capsys):
    assert main(["verify", "--vk", str(tmp_path / "a"), "--proof", str(tmp_path / "b"),
                 "--json"]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result == {"ok": False, "exit": 2, "error": result["error"]}
    assert "not found" in result["error"] and captured.err.count("\n") == 1


# ---------------------------------------------------------------------------------------------
# inspect


def test_inspect_without_vk(made, capsys):
    assert main(["inspect", str(made["proof"])]) == 0
    out = capsys.readouterr().out
    assert f"input:  {len(TEXT)} tokens: {list(TEXT.encode())}" in out
    for section in ("header", "trace commitment", "product", "table", "zero-check", "range",
                    "trace opening", "weight opening"):
        assert section in out
    assert "security: unknown" in out


def test_inspect_json_sections_add_up(made, capsys):
    assert main(["inspect", str(made["proof"]), "--vk", str(made["vk"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sum(result["sections"].values()) == made["proof"].stat().st_size == result["proof_bytes"]
    assert result["soundness_bits"] > 100
    assert set(result["relation_bytes_by_layer"]) == {"emb", "layer0", "layer1", "pool"}


def test_inspect_with_a_foreign_vk(made, tmp_path, capsys):
    assert main(["setup", "--model", "tiny", "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["inspect", str(made["proof"]), "--vk", str(tmp_path / "vk.bin")]) == 2
    assert "another verifying key" in _err_line(capsys)


# ---------------------------------------------------------------------------------------------
# estimates


def test_estimate_grows_with_tokens():
    small, large = estimate.estimate(tiny(), 4), estimate.estimate(tiny(), 32)
    assert small.seconds < large.seconds and small.peak_bytes < large.peak_bytes


def test_available_memory_is_read(monkeypatch):
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():  # Linux: MemAvailable, in kB (it moves between two reads)
        kb = next(int(line.split()[1]) for line in meminfo.read_text().splitlines()
                  if line.startswith("MemAvailable:"))
        assert abs(estimate.available_memory() - kb * 1024) < 1 << 30
    # no /proc/meminfo: the free pages sysconf reports; neither: unknown

    def no_file(*args, **kwargs):
        raise OSError("no /proc/meminfo")

    monkeypatch.setattr(estimate, "open", no_file, raising=False)
    pages = {"SC_AVPHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(estimate.os, "sysconf", lambda name: pages[name])
    assert estimate.available_memory() == 4096000

    def no_sysconf(name):
        raise ValueError(name)

    monkeypatch.setattr(estimate.os, "sysconf", no_sysconf)
    assert estimate.available_memory() is None


def test_refusal_when_memory_is_short(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(estimate, "available_memory", lambda: 10_000_000)
    argv = ["prove", "--model", "tiny-mlp", "--text", "ab", "--out", str(tmp_path / "p.zkp")]
    assert main(argv) == 2
    line = _err_line(capsys)
    assert "refusing to prove" in line and "0.0 GB is available" in line and "--force" in line
    assert not (tmp_path / "p.zkp").exists()
    assert main([*argv, "--json"]) == 2
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["estimate"]["available_bytes"] == 10_000_000


def test_force_overrides_the_refusal(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(estimate, "available_memory", lambda: 10_000_000)
    assert main(["prove", "--model", "tiny-mlp", "--text", "ab", "--out", str(tmp_path / "p.zkp"),
                 "--force", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["proof_bytes"] == (tmp_path / "p.zkp").stat().st_size
    assert result["estimate"]["tokens"] == 2


def test_estimate_command(capsys):
    assert main(["estimate", "--model", "tiny", "--n-tokens", "16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["estimate"]["tokens"] == 16 and result["estimate"]["seconds"] > 0


# ---------------------------------------------------------------------------------------------
# the installed console script


def test_console_script(made):
    exe = shutil.which("zkinfer", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "zkinfer"]
    ok = subprocess.run([*cmd, "verify", "--vk", str(made["vk"]), "--proof", str(made["proof"]),
                         "--text", TEXT, "--json"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    bad = subprocess.run([*cmd, "verify", "--vk", str(made["vk"]), "--proof", str(made["proof"]),
                          "--text", "other"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("zkinfer: rejected:")


# ---------------------------------------------------------------------------------------------
# exit statuses, paths checked before work, errors a person can read


def _no_work(monkeypatch) -> None:
    """Make any setup fail loudly: the command must refuse before it starts the work."""
    import zkinfer

    def refuse(*args, **kwargs):
        raise AssertionError("the command started work before checking its paths")

    monkeypatch.setattr(zkinfer, "setup", refuse)


def test_internal_error_exits_3_with_one_line(monkeypatch, capsys):
    from zkinfer import cli

    def broken(args, out):
        raise RuntimeError("a bug " + "x" * 1000)

    monkeypatch.setitem(cli._COMMANDS, "inspect", broken)
    assert main(["inspect", "p.zkp"]) == 3
    line = _err_line(capsys)
    assert line.startswith("zkinfer: internal error: RuntimeError: a bug xxx")
    assert line.endswith("...") and len(line) <= 300
    assert main(["--debug", "inspect", "p.zkp"]) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "--debug" not in err.splitlines()[-1]


def test_usage_error_under_json_is_json(capsys):
    assert main(["prove", "--model", "tiny", "--json"]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["ok"] is False and result["exit"] == 2
    assert result["error"] == "prove: the following arguments are required: --out"
    assert captured.err.strip().splitlines() == [f"zkinfer: {result['error']}"]


def test_version(capsys):
    import zkinfer

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"zkinfer {zkinfer.__version__}"


@pytest.mark.parametrize("command", [None, "demo", "setup", "prove", "verify", "inspect", "estimate",
                                     "selfcheck", "keys"])
def test_help_pages_have_examples_and_no_markup(command, capsys):
    assert main(([command] if command else []) + ["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:\n  zkinfer " in text
    assert "``" not in text and ":func:" not in text


def test_selfcheck_takes_json_and_quiet(capsys):
    assert main(["selfcheck", "--log-n", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["log_n"] == 4
    assert result["checks"][-1].startswith("all checks passed")
    assert main(["selfcheck", "--log-n", "4", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "self-check passed"


def test_prove_to_a_directory_refused_before_work(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    assert main(["prove", "--model", "tiny", "--text", "a", "--out", str(tmp_path)]) == 2
    assert _err_line(capsys) == f"zkinfer: {tmp_path} is a directory; give a file name for the proof"


def test_prove_under_a_file_refused_before_work(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    (tmp_path / "f").write_text("")
    for flag in ("--out", "--vk-out"):
        argv = ["prove", "--model", "tiny", "--text", "a", "--out", str(tmp_path / "p.zkp")]
        argv += [flag, str(tmp_path / "f" / "x.bin")] if flag == "--vk-out" else []
        if flag == "--out":
            argv[-1] = str(tmp_path / "f" / "p.zkp")
        assert main(argv) == 2
        assert _err_line(capsys).endswith(f"{tmp_path / 'f'} is not a directory")


def test_demo_into_an_existing_file_refused_before_work(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    (tmp_path / "f").write_text("")
    assert main(["demo", "--out", str(tmp_path / "f")]) == 2
    assert "exists and is not a directory" in _err_line(capsys)


def test_setup_into_an_existing_file_refused_before_work(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    (tmp_path / "f").write_text("")
    assert main(["setup", "--model", "tiny", "--out", str(tmp_path / "f")]) == 2
    assert "exists and is not a directory" in _err_line(capsys)


def test_directories_given_as_files_named_as_such(made, tmp_path, capsys):
    assert main(["verify", "--vk", str(tmp_path), "--proof", str(made["proof"])]) == 2
    assert _err_line(capsys) == f"zkinfer: {tmp_path} is a directory; expected the verifying key file"
    assert main(["verify", "--vk", str(made["vk"]), "--proof", str(tmp_path)]) == 2
    assert _err_line(capsys) == f"zkinfer: {tmp_path} is a directory; expected the proof file"


def test_a_verifying_key_given_as_pk_gives_a_short_error(made, tmp_path, capsys):
    assert main(["prove", "--pk", str(made["vk"]), "--text", "a",
                 "--out", str(tmp_path / "p.zkp")]) == 2
    line = _err_line(capsys)
    assert len(line) < 300 and "is it a vk.bin" in line and "\\x" not in line


def test_a_text_file_given_as_tokens_gets_no_unpickling_advice(tmp_path, capsys):
    (tmp_path / "x.npy").write_text("1 2 3\n")
    assert main(["prove", "--model", "tiny", "--tokens", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "p.zkp")]) == 2
    line = _err_line(capsys)
    assert "not a .npy file" in line and "pickle" not in line
    np.save(tmp_path / "o.npy", np.array([object()]), allow_pickle=True)
    assert main(["prove", "--model", "tiny", "--tokens", str(tmp_path / "o.npy"),
                 "--out", str(tmp_path / "p.zkp")]) == 2
    line = _err_line(capsys)
    assert "allow_pickle" not in line and "refused" in line


def test_demo_writes_to_a_temporary_directory_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--model", "tiny-mlp", "--text", "hi", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    out = Path(result["out"])
    assert list(tmp_path.iterdir()) == []  # the current directory stays clean
    assert sorted(p.name for p in out.iterdir()) == ["proof.zkp", "summary.json", "vk.bin"]
    shutil.rmtree(out)


# ---------------------------------------------------------------------------------------------
# saved proving keys and batches


def test_prove_with_a_saved_key_is_the_proof_of_a_fresh_setup(made, tmp_path, capsys):
    import zkinfer

    assert main(["prove", "--pk", str(made["pk"]), "--text", TEXT, "--out", str(tmp_path / "p.zkp"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["loaded_pk"] is True
    _, pk = zkinfer.setup(tiny_mlp())
    ids = np.frombuffer(TEXT.encode(), dtype=np.uint8).astype(np.int64)
    assert (tmp_path / "p.zkp").read_bytes() == zkinfer.prove(pk, ids).to_bytes()


def test_older_key_descriptions_still_work(made, tmp_path):
    desc = {"format": PK_FORMAT, "model": "tiny-mlp", "model_path": None,
            "pcs_params": _pcs_params_hex(made), "vk_digest": _vk_digest_hex(made)}
    (tmp_path / "pk.json").write_text(json.dumps(desc))
    assert main(["prove", "--pk", str(tmp_path / "pk.json"), "--text", TEXT,
                 "--out", str(tmp_path / "p.zkp"), "--quiet"]) == 0
    assert (tmp_path / "p.zkp").read_bytes() == made["proof"].read_bytes()


def _pcs_params_hex(made) -> str:
    from zkinfer.proof import VerifyingKey

    return VerifyingKey.from_bytes(made["vk"].read_bytes()).pcs_params.hex()


def _vk_digest_hex(made) -> str:
    from zkinfer.proof import VerifyingKey

    return VerifyingKey.from_bytes(made["vk"].read_bytes()).digest.hex()


def test_a_directory_that_is_not_a_key_refused(tmp_path, capsys):
    assert main(["prove", "--pk", str(tmp_path), "--text", "a", "--out", str(tmp_path / "p.zkp")]) == 2
    assert "not a proving-key directory (no vk.bin" in _err_line(capsys)


def test_batch_proves_every_line_with_one_key(made, tmp_path, capsys):
    lines = ['"hi"', '{"text": "zk"}', "", '{"tokens": [1, 2, 3]}']
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "proofs"
    assert main(["prove", "--pk", str(made["pk"]), "--batch", str(tmp_path / "in.jsonl"),
                 "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [p["tokens"] for p in result["proofs"]] == [[104, 105], [122, 107], [1, 2, 3]]
    summary = json.loads((out / "batch.json").read_text())
    assert summary["proofs"] == result["proofs"]
    for k, p in enumerate(result["proofs"], 1):
        assert p["proof"] == str(out / f"proof-{k:04d}.zkp")
        tokens = tmp_path / f"t{k}.npy"
        np.save(tokens, np.array(p["tokens"], dtype=np.int64))
        assert main(["verify", "--vk", str(made["vk"]), "--proof", p["proof"],
                     "--tokens", str(tokens), "--quiet"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(("content", "reason"), [
    ('"ok"\n{"tokens": [1, 2, 999]}\n', "line 2: token ids must be in [0, 256)"),
    ('"ok"\nnot json\n', "line 2: not JSON"),
    ('{"tokens": [1, 99999999999999999999999]}\n', "line 1: token ids must be in [0, 256)"),
    ('{"text": 3}\n', 'line 1: expected a JSON string, {"text": "..."} or {"tokens": [ids]}'),
    ('{"tokens": [1.5]}\n', "line 1: expected a JSON string"),
    ("\n\n", "no inputs"),
    ('"' + "x" * 40 + '"\n', "line 1: the input has 40 tokens; this model reads 1..32"),
])
def test_bad_batch_refused_before_any_work(made, tmp_path, monkeypatch, content, reason, capsys):
    _no_work(monkeypatch)
    (tmp_path / "in.jsonl").write_text(content)
    assert main(["prove", "--model", "tiny-mlp", "--batch", str(tmp_path / "in.jsonl"),
                 "--out", str(tmp_path / "out")]) == 2
    assert reason in _err_line(capsys)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# cold start


def test_kernels_cold_reads_the_cache_index(tmp_path, monkeypatch):
    from zkinfer import cli

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert cli.kernels_cold() is True  # an empty cache directory
    for name in ("_kernels.f-1.py311.nbi", "_float_kernels.g-2.py311.nbi"):
        (tmp_path / name).write_bytes(b"")
    assert cli.kernels_cold() is True  # the decoder's kernels are still missing
    (tmp_path / "_decoder_kernels.h-3.py311.nbi").write_bytes(b"")
    assert cli.kernels_cold() is False


def test_cold_kernels_announced_before_the_work(tmp_path, monkeypatch, capsys):
    from zkinfer import cli

    monkeypatch.setattr(cli, "kernels_cold", lambda: True)
    assert main(["estimate", "--model", "tiny", "--n-tokens", "4"]) == 0
    assert "plus about 60 s compiling kernels (first run only)" in capsys.readouterr().out
    assert main(["prove", "--model", "tiny-mlp", "--text", "a", "--out", str(tmp_path / "p.zkp"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["estimate"]["compile_s"] == 60
    assert main(["demo", "--model", "tiny-mlp", "--text", "a", "--out", str(tmp_path / "d")]) == 0
    assert "compiling the prover's kernels (first run only" in capsys.readouterr().out


def test_selfcheck_warm_proves_the_tiny_models(capsys):
    assert main(["selfcheck", "--log-n", "4", "--warm", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["warm_s"] > 0 and result["was_cold"] in (True, False)
