"""``zkinfer chat`` on the built-in tiny decoder: the answer is printed as it is generated, then
proven, verified and written with its key; ``zkinfer verify`` prints the verified answer; bad
usage exits 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zkinfer.cli import main


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    d = tmp_path_factory.mktemp("chat")
    argv = ["chat", "--model", "tiny-decoder", "hi!", "--max-new-tokens", "5",
            "--out", str(d / "a.zkp"), "--vk-out", str(d / "a.vk"), "--json"]
    return d, argv


def test_chat_proves_and_writes_the_answer(chat, capsys):
    d, argv = chat
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ok"] and res["model"] == "tiny-decoder"
    assert res["prompt"] == list(b"hi!")
    assert 1 <= len(res["answer"]) <= 5 and res["max_new_tokens"] == 5
    assert (d / "a.zkp").stat().st_size == res["proof_bytes"]
    assert main(["verify", "--vk", str(d / "a.vk"), "--proof", str(d / "a.zkp"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["output"] == res["answer"] and out["text"] == res["text"]
    assert out["max_new_tokens"] == 5


def test_verify_prints_the_answer_text(chat, capsys):
    d, argv = chat
    if not (d / "a.zkp").exists():
        assert main(argv) == 0
        capsys.readouterr()
    assert main(["verify", "--vk", str(d / "a.vk"), "--proof", str(d / "a.zkp")]) == 0
    text = capsys.readouterr().out
    assert "greedy answer" in text and "max_new_tokens 5" in text


@pytest.mark.parametrize("argv, reason", [
    (["chat", "--model", "tiny-decoder", "x", "--max-new-tokens", "0"], "--max-new-tokens"),
    (["chat", "--model", "tiny-decoder", "x" * 70], "prompt has 70 tokens"),
    (["chat", "--model", "gpt5", "x"], "invalid choice"),
])
def test_bad_chat_usage_exits_2(argv, reason, tmp_path, capsys):
    argv = argv + ["--out", str(tmp_path / "a.zkp"), "--vk-out", str(tmp_path / "a.vk")]
    assert main(argv) == 2
    assert reason in capsys.readouterr().err
    assert not (tmp_path / "a.zkp").exists()


def test_a_proof_of_another_prompt_is_rejected_by_verify(chat, tmp_path, capsys):
    d, argv = chat
    if not (d / "a.zkp").exists():
        assert main(argv) == 0
        capsys.readouterr()
    np.save(tmp_path / "p.npy", np.array(list(b"ho!"), dtype=np.int64))
    status = main(["verify", "--vk", str(d / "a.vk"), "--proof", str(d / "a.zkp"),
                   "--tokens", str(tmp_path / "p.npy")])
    assert status == 1
    assert "another input" in capsys.readouterr().err
