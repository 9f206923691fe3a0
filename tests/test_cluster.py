"""Proving on a Dask cluster (:mod:`zkinfer.cluster`): a real ``LocalCluster`` of two worker
processes, the proof byte for byte the local one, a worker killed in the middle of a proof,
weights placed once, clear errors."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import zkinfer
from zkinfer import cluster
from zkinfer.errors import InvalidArgumentError, ModelError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as c:
        yield c


@pytest.fixture(scope="module")
def tiny():
    model = zkinfer.models.tiny()
    vk, pk = zkinfer.setup(model)
    ids = np.arange(7, dtype=np.int64) % model.config.vocab_size
    return vk, pk, ids, zkinfer.prove(pk, ids)


def test_tiny_proof_on_two_worker_processes_is_the_local_proof(client, tiny):
    vk, pk, ids, local = tiny
    proof = zkinfer.prove(pk, ids, executor=client)
    assert proof.to_bytes() == local.to_bytes()
    zkinfer.verify(vk, ids, proof.output, proof)


def test_mlp_proof_on_the_cluster_is_the_local_proof(client):
    model = zkinfer.models.tiny_mlp(seed=3)
    vk, pk = zkinfer.setup(model)
    for n in (1, 5):
        ids = (np.arange(n, dtype=np.int64) * 5 + 2) % model.config.vocab_size
        proof = zkinfer.prove(pk, ids, executor=client)
        assert proof.to_bytes() == zkinfer.prove(pk, ids).to_bytes()
        zkinfer.verify(vk, ids, proof.output, proof)


def test_a_decoder_answer_on_the_cluster_is_the_local_proof(client):
    # the LM head's segment borrows the tied token table from the embedding's part
    model = zkinfer.models.tiny_decoder()
    assert cluster.weight_imports(model)[-1] == {"tok_emb": 0}
    vk, pk = zkinfer.setup(model)
    prompt = np.array([5, 17, 42, 99, 7], dtype=np.int64)
    proof = zkinfer.prove(pk, prompt, max_new_tokens=3, executor=client)
    assert proof.to_bytes() == zkinfer.prove(pk, prompt, max_new_tokens=3).to_bytes()
    assert zkinfer.verify(vk, prompt, proof.output, proof)


def test_segments_are_spread_over_both_workers(client, tiny):
    _, pk, _, _ = tiny
    placement = pk.scatter(client)
    assert set(placement.workers) == set(client.scheduler_info()["workers"])
    assert len(placement.workers) == len(pk.weight_data.pieces)


def test_weights_are_placed_once_and_not_sent_with_a_proof(client, tiny):
    _, pk, ids, local = tiny
    assert pk.scatter(client) is pk.scatter(client)
    with distributed.get_task_stream(client) as stream:
        proof = zkinfer.prove(pk, ids, executor=client)
    assert proof.to_bytes() == local.to_bytes()
    names = {t["key"].split("-")[0] if isinstance(t["key"], str) else str(t["key"])
             for t in stream.data}
    assert "_prove_segment" in names and "_commit_trace" in names
    assert "_weight_part" not in names  # the weights stayed where scatter put them


def test_a_worker_killed_in_the_middle_of_a_proof(client, tiny):
    """SIGKILL one worker process once the first segment is proven: Dask recomputes what it
    held (its weight parts, its trace parts) on the other worker and the nanny restarts it; the
    proof completes, byte for byte the local one."""
    vk, pk, ids, local = tiny
    pk.scatter(client)
    pids = client.run(os.getpid)
    killed = []

    def progress(stage, done, total):
        if stage == "proving segments" and done == 1 and not killed:
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(pids[victim])

    proof = zkinfer.prove(pk, ids, progress, executor=client)
    assert killed, "the proof never reached its segments"
    assert proof.to_bytes() == local.to_bytes()
    zkinfer.verify(vk, ids, proof.output, proof)
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()


def test_progress_reports_every_stage_and_an_overall_fraction(client, tiny):
    _, pk, ids, _ = tiny
    stages, fractions = [], []

    class Callback:
        def __call__(self, stage, done, total):
            assert 0 <= done <= total
            stages.append(stage)

        def overall(self, f):
            fractions.append(f)

    zkinfer.prove(pk, ids, Callback(), executor=client)
    for stage in ("integer forward", "committing the trace: segments", "proving segments",
                  "opening the trace commitment: batching sumcheck",
                  "opening the weight commitment: opening columns"):
        assert stage in stages
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_bad_input_is_refused_before_any_work(client, tiny):
    _, pk, _, _ = tiny
    with pytest.raises(ModelError, match=r"token ids must be in \[0, "):
        zkinfer.prove(pk, np.array([0, pk.model.config.vocab_size]), executor=client)
    with pytest.raises(ModelError):
        zkinfer.prove(pk, np.zeros(pk.model.config.max_seq_len + 1, dtype=np.int64),
                      executor=client)


def test_executor_must_be_a_running_client(tiny):
    _, pk, ids, _ = tiny
    with pytest.raises(InvalidArgumentError, match="distributed.Client"):
        zkinfer.prove(pk, ids, executor="tcp://127.0.0.1:8786")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as lc, \
            distributed.Client(lc) as c:
        pass
    with pytest.raises(InvalidArgumentError, match="not running"):
        zkinfer.prove(pk, ids, executor=c)


def test_a_key_of_another_pcs_is_refused(client):
    from zkinfer.commit import TrivialPCS

    _, pk = zkinfer.setup(zkinfer.models.tiny_mlp(), pcs=TrivialPCS())
    with pytest.raises(InvalidArgumentError, match="Ligero"):
        zkinfer.prove(pk, np.array([1, 2]), executor=client)


def test_a_key_whose_weight_digests_differ_from_the_workers_is_refused(client):
    _, pk = zkinfer.setup(zkinfer.models.tiny_mlp(seed=5))
    piece = pk.weight_data.pieces[1]
    digests = np.array(piece.digests)
    digests[0, 0] ^= 1
    piece.digests = digests
    with pytest.raises(ModelError, match="segment 1's weights"):
        pk.scatter(client)


@pytest.mark.parametrize("name", ["tiny", "tiny_mlp"])
def test_segment_imports_are_every_column_a_segment_reads_from_another(name, monkeypatch):
    """The columns a worker receives from other segments (:func:`segment_imports`) are exactly
    those the local prover reads from another segment's tables while it proves a segment."""
    from zkinfer import prover
    from zkinfer.protocol import engine, witness

    model = getattr(zkinfer.models, name)()
    _, pk = zkinfer.setup(model)
    ids = np.arange(5, dtype=np.int64) % model.config.vocab_size
    seen: dict[int, set] = {}
    current = {"segment": None}
    get = witness.Tables.__getitem__

    def recording_get(self, key):
        s = current["segment"]
        if key in self.base and s is not None and self.circuit.segments.get(key, 0) != s:
            seen.setdefault(s, set()).add(key)
        return get(self, key)

    schedule, segment_witness = engine.segment_schedule, prover.segment_witness

    def recording_schedule(circuit, s):
        current["segment"] = s
        return schedule(circuit, s)

    def recording_witness(circuit, real, s, tables, strict=True):
        current["segment"] = s
        return segment_witness(circuit, real, s, tables, strict)

    monkeypatch.setattr(witness.Tables, "__getitem__", recording_get)
    monkeypatch.setattr(engine, "segment_schedule", recording_schedule)
    monkeypatch.setattr(prover, "segment_witness", recording_witness)
    zkinfer.prove(pk, ids)
    imports = cluster.segment_imports(model, ids.shape[0])
    assert seen  # the blocks read the residual stream
    for s, names in seen.items():
        assert names <= set(imports[s]), s


def test_cli_proves_on_the_cluster_of_a_scheduler_address(client, tmp_path, capsys):
    """``zkinfer prove --dask ADDRESS`` connects to the scheduler and writes the local proof."""
    from zkinfer.cli import main

    keys = tmp_path / "keys"
    assert main(["setup", "--model", "tiny-mlp", "--out", str(keys), "--quiet"]) == 0
    address = client.scheduler.address
    for flag, name in (("--dask", "cluster.zkp"), (None, "local.zkp")):
        argv = ["prove", "--pk", str(keys / "pk"), "--text", "hi there", "--out",
                str(tmp_path / name), "--quiet"]
        assert main(argv + ([flag, address] if flag else [])) == 0
    assert (tmp_path / "cluster.zkp").read_bytes() == (tmp_path / "local.zkp").read_bytes()
    assert main(["verify", "--vk", str(keys / "vk.bin"), "--proof", str(tmp_path / "cluster.zkp"),
                 "--quiet"]) == 0


def test_cli_refuses_an_unreachable_scheduler(tmp_path, capsys):
    from zkinfer.cli import main

    code = main(["prove", "--model", "tiny-mlp", "--text", "hi", "--out",
                 str(tmp_path / "p.zkp"), "--dask", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "p.zkp").exists()
