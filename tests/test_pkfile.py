"""Proving-key directories: save/load round trip, memory mapping, and every corruption the loader
must refuse (zkinfer/pkfile.py)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from zkinfer.commit import TrivialPCS
from zkinfer.errors import ProofFormatError, ZkinferError
from zkinfer.models import tiny
from zkinfer.pkfile import ProvingKeyError
from zkinfer.proof import ProvingKey
from zkinfer.prover import prove, prove_many, setup

IDS = np.array([3, 1, 4, 1, 5], dtype=np.int64)


@pytest.fixture(scope="module")
def keys():
    return setup(tiny())


@pytest.fixture(scope="module")
def saved(keys, tmp_path_factory):
    path = tmp_path_factory.mktemp("pk") / "tiny.pk"
    keys[1].save(path)
    return path


@pytest.fixture(scope="module")
def honest(keys):
    """The in-memory key's proof of ``IDS``."""
    return prove(keys[1], IDS).to_bytes()


@pytest.fixture()
def copy(saved, tmp_path):
    """A private copy of the saved key, to corrupt."""
    out = tmp_path / "pk"
    shutil.copytree(saved, out)
    return out


def _flip(path, offset_from_end: int | None = None, offset: int | None = None) -> None:
    """Flip one bit of a file's byte (at ``offset``, or ``offset_from_end`` bytes from its end)."""
    data = bytearray(path.read_bytes())
    pos = offset if offset is not None else len(data) - offset_from_end
    data[pos] ^= 0x01
    path.write_bytes(bytes(data))


def _npy_data_offset(path) -> int:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()


def _load_error(path, **kwargs) -> ProvingKeyError:
    with pytest.raises(ProvingKeyError) as info:
        ProvingKey.load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    return info.value


# ---------------------------------------------------------------------------------------------
# round trip


def test_round_trip_gives_the_same_proof_bytes(keys, saved, honest):
    vk, pk = keys
    loaded = ProvingKey.load(saved, expected_digest=vk.digest)
    assert loaded.vk.to_bytes() == vk.to_bytes()
    assert prove(loaded, IDS).to_bytes() == honest


def test_expected_digest_may_be_hex(keys, saved):
    loaded = ProvingKey.load(saved, expected_digest=keys[0].digest.hex())
    assert loaded.vk.digest == keys[0].digest


def test_loaded_arrays_are_read_only_memory_maps(saved):
    pk = ProvingKey.load(saved)
    data = pk.weight_data
    arrays = [data.vector, data.encoded, data.levels[0], data.levels[-1], pk.model.tok_emb,
              pk.model.layers[0].attn.q.w, *pk.weight_tables.values()]
    for a in arrays:
        assert isinstance(a, np.memmap)
        assert not a.flags.writeable


def test_trivial_pcs_round_trip(tmp_path):
    vk, pk = setup(tiny(), TrivialPCS())
    pk.save(tmp_path / "pk")
    loaded = ProvingKey.load(tmp_path / "pk", expected_digest=vk.digest)
    assert isinstance(loaded.weight_data.vector, np.memmap)
    assert prove(loaded, IDS).to_bytes() == prove(pk, IDS).to_bytes()
    _flip(tmp_path / "pk" / "vector.npy", 3)
    assert "vector.npy" in str(_load_error(tmp_path / "pk"))


def test_saving_a_loaded_key_writes_the_same_files(saved, tmp_path, keys):
    ProvingKey.load(saved).save(tmp_path / "again")
    files = sorted(p.relative_to(saved) for p in saved.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "again")
                           for p in (tmp_path / "again").rglob("*") if p.is_file())
    for f in files:
        assert (saved / f).read_bytes() == (tmp_path / "again" / f).read_bytes(), f
    ProvingKey.load(tmp_path / "again", expected_digest=keys[0].digest)


def test_save_refuses_an_existing_path_unless_overwriting_a_key(keys, saved, tmp_path):
    with pytest.raises(ProvingKeyError, match="exists"):
        keys[1].save(saved)
    other = tmp_path / "not-a-key"
    other.mkdir()
    with pytest.raises(ProvingKeyError, match="exists"):
        keys[1].save(other, overwrite=True)
    shutil.copytree(saved, tmp_path / "pk")
    keys[1].save(tmp_path / "pk", overwrite=True)
    ProvingKey.load(tmp_path / "pk", expected_digest=keys[0].digest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-key", "pk"]


def test_error_is_a_proof_format_error():
    assert issubclass(ProvingKeyError, ProofFormatError)
    assert issubclass(ProvingKeyError, ZkinferError)


# ---------------------------------------------------------------------------------------------
# refusals


def test_wrong_expected_digest(saved):
    _load_error(saved, expected_digest=b"\x00" * 32)
    with pytest.raises(ProvingKeyError, match=r"verifying key digest [0-9a-f]{16}\.\.\. differs "
                                              r"from the expected 0000000000000000\.\.\."):
        ProvingKey.load(saved, expected_digest=b"\x00" * 32)


def test_expected_digest_must_be_a_digest(saved):
    from zkinfer.errors import InvalidArgumentError

    for bad in (5, "zz", b"\x00" * 31, "ab" * 31):
        with pytest.raises(InvalidArgumentError, match="expected_digest must be the verifying "
                                                       "key's 32-byte digest"):
            ProvingKey.load(saved, expected_digest=bad)


def test_not_a_proving_key(tmp_path):
    with pytest.raises(ProvingKeyError, match="not a zkinfer proving key: .* is not a directory "
                                              "with zkinfer-pk.json"):
        ProvingKey.load(tmp_path)
    (tmp_path / "file").write_bytes(b"hello")
    with pytest.raises(ProvingKeyError, match="not a zkinfer proving key"):
        ProvingKey.load(tmp_path / "file")
    with pytest.raises(ProvingKeyError, match="not a zkinfer proving key"):
        ProvingKey.load(tmp_path / "missing")


def test_manifest_of_another_format(copy):
    (copy / "zkinfer-pk.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ProvingKeyError, match="not a zkinfer proving key: zkinfer-pk.json does "
                                              "not name the format 'zkinfer-proving-key'"):
        ProvingKey.load(copy)


def test_manifest_not_json(copy):
    (copy / "zkinfer-pk.json").write_bytes(b"\x80{")
    with pytest.raises(ProvingKeyError, match="zkinfer-pk.json: not JSON"):
        ProvingKey.load(copy)


def test_unknown_format_version(copy):
    manifest = json.loads((copy / "zkinfer-pk.json").read_text())
    manifest["version"] = 2
    (copy / "zkinfer-pk.json").write_text(json.dumps(manifest))
    with pytest.raises(ProvingKeyError, match=r"unsupported proving-key format version 2 \(this "
                                              r"zkinfer reads version 1\)"):
        ProvingKey.load(copy)


def test_manifest_with_extra_fields(copy):
    manifest = json.loads((copy / "zkinfer-pk.json").read_text())
    manifest["extra"] = 1
    (copy / "zkinfer-pk.json").write_text(json.dumps(manifest))
    with pytest.raises(ProvingKeyError, match="zkinfer-pk.json: fields must be exactly"):
        ProvingKey.load(copy)


def test_truncated_array(copy):
    path = copy / "encoded.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ProvingKeyError, match=r"encoded.npy: truncated: \d+ bytes, expected \d+"):
        ProvingKey.load(copy)


def test_truncated_header(copy):
    (copy / "tree.npy").write_bytes((copy / "tree.npy").read_bytes()[:20])
    with pytest.raises(ProvingKeyError, match=r"tree.npy: not a valid .npy file"):
        ProvingKey.load(copy)


def test_trailing_bytes(copy):
    with open(copy / "vector.npy", "ab") as f:
        f.write(b"\x00" * 8)
    with pytest.raises(ProvingKeyError, match="vector.npy: trailing bytes"):
        ProvingKey.load(copy)


def test_missing_array(copy):
    (copy / "weights" / "001.npy").unlink()
    with pytest.raises(ProvingKeyError, match="weights/001.npy: missing"):
        ProvingKey.load(copy)


def test_wrong_dtype_or_shape_or_pickle(copy, saved):
    w = np.load(saved / "weights" / "000.npy")
    np.save(copy / "weights" / "000.npy", w.astype(np.int32))
    with pytest.raises(ProvingKeyError, match=r"weights/000.npy: dtype int32, expected int64"):
        ProvingKey.load(copy)
    np.save(copy / "weights" / "000.npy", w[:-1])
    with pytest.raises(ProvingKeyError, match=r"weights/000.npy: shape \(\d+, \d+\), expected"):
        ProvingKey.load(copy)
    np.save(copy / "weights" / "000.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ProvingKeyError, match=r"weights/000.npy: dtype object, expected int64"):
        ProvingKey.load(copy)
    np.save(copy / "weights" / "000.npy", np.asfortranarray(w))
    with pytest.raises(ProvingKeyError, match=r"weights/000.npy: dtype int64 \(Fortran order\)"):
        ProvingKey.load(copy)


def test_flipped_byte_in_a_weight_array(copy):
    path = copy / "weights" / "002.npy"
    _flip(path, offset=_npy_data_offset(path) + 8 * 5)
    with pytest.raises(ProvingKeyError,
                       match=r"weights/002.npy \(layer0.attn.q.w\): not the committed weights"):
        ProvingKey.load(copy)


def test_flipped_byte_in_the_encoded_matrix(copy):
    _flip(copy / "encoded.npy", 1000)
    with pytest.raises(ProvingKeyError, match=r"encoded.npy: column \d+ does not hash to its "
                                              r"Merkle leaf"):
        ProvingKey.load(copy)


def test_flipped_byte_in_the_tree(copy):
    path = copy / "tree.npy"
    _flip(path, offset=_npy_data_offset(path) + 7)  # a leaf
    with pytest.raises(ProvingKeyError, match="tree.npy: Merkle level 1 is not the hash of the "
                                              "level below"):
        ProvingKey.load(copy)


def test_flipped_byte_in_the_root(copy):
    _flip(copy / "tree.npy", 1)
    with pytest.raises(ProvingKeyError, match="tree.npy: Merkle level|tree.npy: its root"):
        ProvingKey.load(copy)


def test_flipped_byte_in_the_vector(copy, keys):
    path = copy / "vector.npy"
    _flip(path, offset=_npy_data_offset(path) + 8 * 100)
    with pytest.raises(ProvingKeyError, match="vector.npy: its committed rows are not what "
                                              "encoded.npy encodes"):
        ProvingKey.load(copy)


def test_non_zero_tail_of_the_vector(copy, keys):
    com = keys[1].weight_commitment
    if com.rows << com.log_cols == com.layout.size:
        pytest.skip("no tail after the committed rows")
    _flip(copy / "vector.npy", 8)
    with pytest.raises(ProvingKeyError, match="vector.npy: non-zero entries after the committed "
                                              "rows"):
        ProvingKey.load(copy)


def test_flipped_byte_in_the_verifying_key(copy):
    _flip(copy / "vk.bin", 20)  # inside the commitment's root
    with pytest.raises(ProvingKeyError, match=r"^vk.bin: its digest [0-9a-f]{16}\.\.\. is not the "
                                              r"manifest's vk_digest"):
        ProvingKey.load(copy)
    _flip(copy / "vk.bin", 20)
    _flip(copy / "vk.bin", offset=2)  # the magic
    with pytest.raises(ProvingKeyError, match=r"^vk.bin: "):
        ProvingKey.load(copy)


def test_verifying_key_and_manifest_both_swapped(copy, tmp_path, keys):
    """Another model's key with a manifest that agrees: refused by expected_digest, and without
    it by the commitment check (the stored data is not what that key commits to)."""
    other_vk, other_pk = setup(tiny(seed=1))
    other_pk.save(tmp_path / "other")
    for name in ("vk.bin", "zkinfer-pk.json"):
        shutil.copy(tmp_path / "other" / name, copy / name)
    with pytest.raises(ProvingKeyError, match="differs from the expected"):
        ProvingKey.load(copy, expected_digest=keys[0].digest)
    with pytest.raises(ProvingKeyError, match="commitment.bin: not the verifying key's weight "
                                              "commitment"):
        ProvingKey.load(copy)
    shutil.copy(tmp_path / "other" / "commitment.bin", copy / "commitment.bin")
    with pytest.raises(ProvingKeyError, match="^tree.npy: "):
        ProvingKey.load(copy)


def test_swapped_commitment(copy, tmp_path):
    setup(tiny(seed=1))[1].save(tmp_path / "other")
    shutil.copy(tmp_path / "other" / "commitment.bin", copy / "commitment.bin")
    with pytest.raises(ProvingKeyError, match="commitment.bin: not the verifying key's weight "
                                              "commitment"):
        ProvingKey.load(copy)


def test_swapped_weights_and_vector(copy, tmp_path):
    """Arrays of another model of the same shapes: the first one checked is named."""
    setup(tiny(seed=1))[1].save(tmp_path / "other")
    shutil.copy(tmp_path / "other" / "weights" / "003.npy", copy / "weights" / "003.npy")
    with pytest.raises(ProvingKeyError, match=r"weights/003.npy \(.*\): not the committed"):
        ProvingKey.load(copy)
    shutil.copy(tmp_path / "other" / "vector.npy", copy / "vector.npy")
    with pytest.raises(ProvingKeyError, match="vector.npy: its committed rows are not what "
                                              "encoded.npy encodes"):
        ProvingKey.load(copy)


# ---------------------------------------------------------------------------------------------
# prove_many


def test_prove_many_gives_the_proofs_of_prove(keys, saved, honest):
    vk, pk = keys
    short = np.array([7, 8, 9], dtype=np.int64)
    one_by_one = [honest, prove(pk, short).to_bytes()]
    assert [p.to_bytes() for p in prove_many(pk, [IDS, short])] == one_by_one
    loaded = ProvingKey.load(saved)
    stages = []
    got = [p.to_bytes() for p in prove_many(loaded, iter([IDS, short]),
                                            progress=lambda s, d, t: stages.append(s))]
    assert got == one_by_one
    assert stages[0] == "proof 1: integer forward" and stages[-1].startswith("proof 2: ")


def test_prove_many_reports_the_batch(keys):
    class Recorder:
        def __init__(self):
            self.stages, self.fractions = [], []

        def __call__(self, stage, done, total):
            self.stages.append(stage)

        def overall(self, fraction):
            self.fractions.append(fraction)

    rec = Recorder()
    short = np.array([1, 2], dtype=np.int64)
    proofs = list(prove_many(keys[1], [short, short], progress=rec))
    assert len(proofs) == 2
    assert {s.split(":")[0] for s in rec.stages} == {"proof 1/2", "proof 2/2"}
    assert rec.fractions == sorted(rec.fractions) and rec.fractions[-1] == 1.0
    assert max(f for f in rec.fractions if f <= 0.5) >= 0.4  # the first proof is half the batch
