"""Proving-key directories: save/load round trip, memory mapping, and every corruption the loader
must refuse (zkinfer/pkfile.py).

Every test runs on Ligero and TrivialPCS keys of the tiny models; the weight commitment is made
of parts, one per segment (at least two for each tiny model), so part files ``parts/000.*`` and
``parts/001.*`` exist for both.
"""

from __future__ import annotations

import functools
import json
import mmap
import shutil

import numpy as np
import pytest

from zkinfer.commit import TrivialPCS
from zkinfer.commit.ligero.prover import LigeroPartData, LigeroPartsData
from zkinfer.commit.trivial import TrivialPartsData
from zkinfer.errors import ProofFormatError, ZkinferError
from zkinfer.models import tiny, tiny_mlp
from zkinfer.pkfile import ProvingKeyError
from zkinfer.proof import ProvingKey, VerifyingKey
from zkinfer.prover import prove, prove_many, setup

IDS = np.array([3, 1, 4, 1, 5], dtype=np.int64)
MODELS = {"tiny": tiny, "tiny-mlp": tiny_mlp}
KINDS = [("tiny", "ligero"), ("tiny", "trivial"), ("tiny-mlp", "ligero"),
         ("tiny-mlp", "trivial")]


@functools.cache
def _keys(model: str, scheme: str, seed: int = 0):
    return setup(MODELS[model](seed), TrivialPCS() if scheme == "trivial" else None)


class Saved:
    """A key saved once per module: ``model``, ``scheme``, ``vk``, ``pk``, ``path`` and the
    in-memory key's proof of ``IDS`` (``honest``, made on first use)."""

    def __init__(self, model: str, scheme: str, path) -> None:
        self.model, self.scheme, self.path = model, scheme, path
        self.vk, self.pk = _keys(model, scheme)
        self.pk.save(path)

    @functools.cached_property
    def honest(self) -> bytes:
        """The in-memory key's proof of ``IDS``."""
        return prove(self.pk, IDS).to_bytes()

    @property
    def kind(self) -> tuple[str, str]:
        return self.model, self.scheme

    @property
    def ligero(self) -> bool:
        return self.scheme == "ligero"

    def other(self, tmp_path):
        """The same model of seed 1, saved with the same scheme at ``tmp_path / "other"``."""
        _keys(self.model, self.scheme, 1)[1].save(tmp_path / "other")
        return tmp_path / "other"


@pytest.fixture(scope="module", params=KINDS, ids=["-".join(k) for k in KINDS])
def saved(request, tmp_path_factory) -> Saved:
    model, scheme = request.param
    return Saved(model, scheme, tmp_path_factory.mktemp("pk") / f"{model}-{scheme}.pk")


@pytest.fixture()
def copy(saved, tmp_path):
    """A private copy of the saved key, to corrupt."""
    out = tmp_path / "pk"
    shutil.copytree(saved.path, out)
    return out


@pytest.fixture()
def ligero(saved):
    if not saved.ligero:
        pytest.skip("Ligero files only")
    return saved


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


def _load_error(path, match: str | None = None, **kwargs) -> ProvingKeyError:
    with pytest.raises(ProvingKeyError, match=match) as info:
        ProvingKey.load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    return info.value


def _mapped(a) -> bool:
    """Whether ``a`` is a read-only view of a memory-mapped file (not private memory)."""
    if not isinstance(a, np.memmap) or a.flags.writeable:
        return False
    base = a
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, mmap.mmap)


def _write_key(path, vk: VerifyingKey) -> None:
    """Replace the key's ``vk.bin``, ``commitment.bin`` and the manifest's digest by ``vk``'s."""
    (path / "vk.bin").write_bytes(vk.to_bytes())
    (path / "commitment.bin").write_bytes(vk.weight_commitment)
    manifest = json.loads((path / "zkinfer-pk.json").read_text())
    manifest["vk_digest"] = vk.digest.hex()
    (path / "zkinfer-pk.json").write_text(json.dumps(manifest))


# ---------------------------------------------------------------------------------------------
# round trip


def test_round_trip_gives_the_same_proof_bytes(saved):
    loaded = ProvingKey.load(saved.path, expected_digest=saved.vk.digest)
    assert loaded.vk.to_bytes() == saved.vk.to_bytes()
    assert prove(loaded, IDS).to_bytes() == saved.honest


def test_the_files_of_the_format(saved):
    files = sorted(str(p.relative_to(saved.path)) for p in saved.path.rglob("*") if p.is_file())
    com = saved.pk.weight_commitment
    assert com.parts.count >= 2
    parts = [f"parts/{s:03d}.{what}.npy" for s in range(com.parts.count)
             for what in (("rows", "encoded") if saved.ligero else ("rows",))]
    weights = [f"weights/{k:03d}.npy" for k in range(len(json.loads(
        (saved.path / "zkinfer-pk.json").read_text())["weights"]))]
    assert files == sorted(["commitment.bin", "vk.bin", "zkinfer-pk.json", *parts, *weights,
                            *(["tree.npy"] if saved.ligero else [])])
    manifest = json.loads((saved.path / "zkinfer-pk.json").read_text())
    assert manifest["version"] == 2 and manifest["pcs"] == saved.pk.pcs.name
    for s, used in enumerate(com.parts.used):
        rows = np.load(saved.path / "parts" / f"{s:03d}.rows.npy")
        if saved.ligero:
            assert rows.shape == (com.part_rows[s], 1 << com.log_cols)
            assert np.load(saved.path / "parts" / f"{s:03d}.encoded.npy").shape == (
                1 << com.log_length, com.part_rows[s])
        else:
            assert rows.shape == (used,)
        assert np.array_equal(rows.reshape(-1)[:used], saved.pk.weight_data.part(s))


def test_expected_digest_may_be_hex(saved):
    loaded = ProvingKey.load(saved.path, expected_digest=saved.vk.digest.hex())
    assert loaded.vk.digest == saved.vk.digest


def test_loaded_prover_data_is_made_of_mapped_parts(saved):
    pk = ProvingKey.load(saved.path)
    data = pk.weight_data
    arrays = [pk.model.tok_emb, *pk.weight_tables.values()]
    if saved.ligero:
        assert type(data) is LigeroPartsData
        assert all(type(p) is LigeroPartData for p in data.pieces)
        assert [p.spill_file for p in data.pieces] == [None] * len(data.pieces)
        arrays += [data.levels[0], data.levels[-1]]
        arrays += [a for p in data.pieces for a in (p.rows, p.encoded, p.vector)]
    else:
        assert type(data) is TrivialPartsData
        arrays += [p.values for p in data.pieces]
    assert data.parts == pk.weight_commitment.parts == saved.pk.weight_commitment.parts
    assert all(_mapped(a) for a in arrays)
    # the weight tables are views into the parts (no second copy)
    for name, table in pk.weight_tables.items():
        assert any(np.shares_memory(table, data.part(s)) for s in range(data.parts.count)), name
        assert np.array_equal(table, saved.pk.weight_tables[name])


def test_closing_a_loaded_key_keeps_its_files(saved, tmp_path):
    shutil.copytree(saved.path, tmp_path / "pk")
    before = sorted(p.name for p in (tmp_path / "pk" / "parts").iterdir())
    pk = ProvingKey.load(tmp_path / "pk")
    pk.weight_data.close()
    del pk
    assert sorted(p.name for p in (tmp_path / "pk" / "parts").iterdir()) == before
    ProvingKey.load(tmp_path / "pk", expected_digest=saved.vk.digest)


def test_saving_a_loaded_key_writes_the_same_files(saved, tmp_path):
    ProvingKey.load(saved.path).save(tmp_path / "again")
    files = sorted(p.relative_to(saved.path) for p in saved.path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "again")
                           for p in (tmp_path / "again").rglob("*") if p.is_file())
    for f in files:
        assert (saved.path / f).read_bytes() == (tmp_path / "again" / f).read_bytes(), f
    ProvingKey.load(tmp_path / "again", expected_digest=saved.vk.digest)


def test_a_key_with_spilled_parts_saves_the_same_files(ligero, tmp_path):
    """Setup spills the encoded matrices of large parts to mapped files (MiniLM's): saved from
    those maps, the directory is the same."""
    import dataclasses

    from zkinfer.protocol.engine import commit_segments
    from zkinfer.protocol.model_circuit import weight_parts

    pk = ligero.pk
    split = weight_parts(pk.model)
    (tmp_path / "spill").mkdir()
    com, data = commit_segments(pk.pcs, split, dict(pk.weight_tables), spill=tmp_path / "spill")
    with data:
        assert com.to_bytes() == pk.weight_commitment.to_bytes()
        assert all(p.spill_file is not None for p in data.pieces)
        spilled = dataclasses.replace(pk, weight_data=data, weight_tables=split.views(data))
        spilled.save(tmp_path / "pk")
    assert list((tmp_path / "spill").iterdir()) == []
    for f in (p for p in ligero.path.rglob("*") if p.is_file()):
        assert (tmp_path / "pk" / f.relative_to(ligero.path)).read_bytes() == f.read_bytes(), f


def test_save_refuses_an_existing_path_unless_overwriting_a_key(saved, tmp_path):
    with pytest.raises(ProvingKeyError, match="exists"):
        saved.pk.save(saved.path)
    other = tmp_path / "not-a-key"
    other.mkdir()
    with pytest.raises(ProvingKeyError, match="exists"):
        saved.pk.save(other, overwrite=True)
    shutil.copytree(saved.path, tmp_path / "pk")
    saved.pk.save(tmp_path / "pk", overwrite=True)
    ProvingKey.load(tmp_path / "pk", expected_digest=saved.vk.digest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-key", "pk"]


def test_save_refuses_prover_data_not_made_of_parts(saved, tmp_path):
    import dataclasses

    plain = saved.pk.pcs.commit([np.zeros(8, dtype=np.uint64)])[1]
    with pytest.raises(ProvingKeyError, match="cannot save prover data of type .*ProverData "
                                              r"\(a weight commitment made of parts"):
        dataclasses.replace(saved.pk, weight_data=plain).save(tmp_path / "pk")
    assert not (tmp_path / "pk").exists()


def test_load_reports_progress(saved):
    stages = []
    ProvingKey.load(saved.path, progress=lambda s, d, t: stages.append((s, d, t)))
    steps = list(dict.fromkeys(s.split(": ", 1)[1] for s, _, _ in stages))
    assert all(s.startswith("loading the proving key: ") for s, _, _ in stages)
    assert steps == (["checking the Merkle tree", "hashing columns", "checking the encoding",
                      "checking the weights"] if saved.ligero
                     else ["checking the commitment", "checking the weights"])
    assert all(0 <= d <= t for _, d, t in stages)
    last = {}
    for s, d, t in stages:
        last[s] = (d, t)
    assert all(d == t for d, t in last.values())


def test_error_is_a_proof_format_error():
    assert issubclass(ProvingKeyError, ProofFormatError)
    assert issubclass(ProvingKeyError, ZkinferError)


# ---------------------------------------------------------------------------------------------
# refusals: manifest, verifying key, commitment


def test_wrong_expected_digest(saved):
    _load_error(saved.path, r"verifying key digest [0-9a-f]{16}\.\.\. differs from the expected "
                            r"0000000000000000\.\.\.", expected_digest=b"\x00" * 32)


def test_expected_digest_must_be_a_digest(saved):
    from zkinfer.errors import InvalidArgumentError

    for bad in (5, "zz", b"\x00" * 31, "ab" * 31):
        with pytest.raises(InvalidArgumentError, match="expected_digest must be the verifying "
                                                       "key's 32-byte digest"):
            ProvingKey.load(saved.path, expected_digest=bad)


def test_not_a_proving_key(tmp_path):
    _load_error(tmp_path, "not a zkinfer proving key: .* is not a directory with "
                          "zkinfer-pk.json")
    (tmp_path / "file").write_bytes(b"hello")
    _load_error(tmp_path / "file", "not a zkinfer proving key")
    _load_error(tmp_path / "missing", "not a zkinfer proving key")


def test_manifest_of_another_format(copy):
    (copy / "zkinfer-pk.json").write_text(json.dumps({"format": "something-else"}))
    _load_error(copy, "not a zkinfer proving key: zkinfer-pk.json does not name the format "
                      "'zkinfer-proving-key'")


def test_manifest_not_json(copy):
    (copy / "zkinfer-pk.json").write_bytes(b"\x80{")
    _load_error(copy, "zkinfer-pk.json: not JSON")


@pytest.mark.parametrize("version", [1, 3])
def test_other_format_versions_are_refused(copy, version):
    """A version-1 directory (one plain commitment) is no longer read."""
    manifest = json.loads((copy / "zkinfer-pk.json").read_text())
    manifest["version"] = version
    (copy / "zkinfer-pk.json").write_text(json.dumps(manifest))
    _load_error(copy, rf"unsupported proving-key format version {version} \(this zkinfer reads "
                      r"version 2\)")


def test_a_version_1_directory_is_refused(copy):
    """The files of version 1 as they were: ``vector.npy`` and ``encoded.npy``, no parts."""
    manifest = json.loads((copy / "zkinfer-pk.json").read_text())
    manifest["version"] = 1
    (copy / "zkinfer-pk.json").write_text(json.dumps(manifest))
    shutil.rmtree(copy / "parts")
    np.save(copy / "vector.npy", np.zeros(8, dtype=np.uint64))
    _load_error(copy, r"^unsupported proving-key format version 1 \(this zkinfer reads "
                      r"version 2\)$")


def test_manifest_with_extra_fields(copy):
    manifest = json.loads((copy / "zkinfer-pk.json").read_text())
    manifest["extra"] = 1
    (copy / "zkinfer-pk.json").write_text(json.dumps(manifest))
    _load_error(copy, "zkinfer-pk.json: fields must be exactly")


def test_flipped_byte_in_the_verifying_key(copy):
    _flip(copy / "vk.bin", 20)  # inside the commitment's digest or root
    _load_error(copy, r"^vk.bin: its digest [0-9a-f]{16}\.\.\. is not the manifest's vk_digest")
    _flip(copy / "vk.bin", 20)
    _flip(copy / "vk.bin", offset=2)  # the magic
    _load_error(copy, r"^vk.bin: ")


def test_swapped_commitment(saved, copy, tmp_path):
    other = saved.other(tmp_path)
    shutil.copy(other / "commitment.bin", copy / "commitment.bin")
    _load_error(copy, "commitment.bin: not the verifying key's weight commitment")


def test_verifying_key_and_manifest_both_swapped(saved, copy, tmp_path):
    """Another model's key with a manifest that agrees: refused by expected_digest, and without
    it by the commitment check (the stored data is not what that key commits to)."""
    other = saved.other(tmp_path)
    for name in ("vk.bin", "zkinfer-pk.json"):
        shutil.copy(other / name, copy / name)
    _load_error(copy, "differs from the expected", expected_digest=saved.vk.digest)
    _load_error(copy, "commitment.bin: not the verifying key's weight commitment")
    shutil.copy(other / "commitment.bin", copy / "commitment.bin")
    _load_error(copy, "^tree.npy: its root is not the commitment's root" if saved.ligero
                else r"^parts/\*: not the committed parts \(the commitment's digest")


def test_a_plain_commitment_is_refused(saved, copy):
    """A key whose weight commitment is one plain batch (as in format 1) is not of this format."""
    plain = saved.pk.pcs.commit([np.zeros(8, dtype=np.uint64)])[0]
    _write_key(copy, VerifyingKey(saved.vk.model_bytes, saved.vk.pcs_params, plain.to_bytes()))
    _load_error(copy, "^commitment.bin: a plain commitment, not one made of parts")


def test_a_commitment_of_other_parts_is_refused(saved, copy):
    from zkinfer.commit import Parts

    parts = saved.pk.weight_commitment.parts
    other = Parts(parts.num_vars, (*parts.used[:-1], parts.used[-1] - 1))
    com, _ = saved.pk.pcs.commit_parts(other, [np.zeros(u, dtype=np.uint64) for u in other.used])
    _write_key(copy, VerifyingKey(saved.vk.model_bytes, saved.vk.pcs_params, com.to_bytes()))
    _load_error(copy, rf"^commitment.bin: parts {parts.count} of used \[.*\] and 2\^\d+ entries, "
                      rf"the model's weights make {parts.count} of")


# ---------------------------------------------------------------------------------------------
# refusals: array files


def test_truncated_array(saved, copy):
    name = "parts/000.encoded.npy" if saved.ligero else "parts/000.rows.npy"
    (copy / name).write_bytes((copy / name).read_bytes()[:-8])
    _load_error(copy, rf"^{name}: truncated: \d+ bytes, expected \d+")


def test_truncated_header(ligero, copy):
    (copy / "tree.npy").write_bytes((copy / "tree.npy").read_bytes()[:20])
    _load_error(copy, r"^tree.npy: not a valid .npy file")


def test_trailing_bytes(copy):
    with open(copy / "parts" / "001.rows.npy", "ab") as f:
        f.write(b"\x00" * 8)
    _load_error(copy, "^parts/001.rows.npy: trailing bytes")


@pytest.mark.parametrize("name", ["weights/001.npy", "parts/001.rows.npy",
                                  "parts/000.encoded.npy", "tree.npy"])
def test_missing_array(saved, copy, name):
    if not saved.ligero and name in ("parts/000.encoded.npy", "tree.npy"):
        pytest.skip("Ligero files only")
    (copy / name).unlink()
    _load_error(copy, f"^{name}: missing$")


def test_wrong_dtype_or_shape_or_pickle(copy, saved):
    w = np.load(saved.path / "weights" / "000.npy")
    target = copy / "weights" / "000.npy"
    np.save(target, w.astype(np.int32))
    _load_error(copy, r"weights/000.npy: dtype int32, expected int64")
    np.save(target, w[:-1])
    _load_error(copy, r"weights/000.npy: shape \(\d+, \d+\), expected")
    np.save(target, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    _load_error(copy, r"weights/000.npy: dtype object, expected int64")
    np.save(target, np.asfortranarray(w))
    _load_error(copy, r"weights/000.npy: dtype int64 \(Fortran order\)")
    shutil.copy(saved.path / "weights" / "000.npy", target)
    rows = np.load(saved.path / "parts" / "001.rows.npy")
    np.save(copy / "parts" / "001.rows.npy", rows.view(np.int64))
    _load_error(copy, r"^parts/001.rows.npy: dtype int64, expected uint64")


@pytest.mark.parametrize("suffix", ["rows", "encoded"])
def test_part_files_swapped_with_each_other(saved, copy, suffix):
    if suffix == "encoded" and not saved.ligero:
        pytest.skip("Ligero files only")
    a, b = copy / "parts" / f"000.{suffix}.npy", copy / "parts" / f"001.{suffix}.npy"
    a.rename(copy / "tmp.npy")
    b.rename(a)
    (copy / "tmp.npy").rename(b)
    _load_error(copy, rf"^parts/000.{suffix}.npy: shape \(\d+,( \d+)?\), expected")


@pytest.mark.parametrize("suffix", ["rows", "encoded"])
def test_part_files_of_the_same_shape_swapped(saved, copy, suffix):
    """Two parts of the same shape (two blocks of a model) swapped: refused by content."""
    if suffix == "encoded" and not saved.ligero:
        pytest.skip("Ligero files only")
    shapes = [np.load(copy / "parts" / f"{s:03d}.{suffix}.npy", mmap_mode="r").shape
              for s in range(saved.pk.weight_commitment.parts.count)]
    pairs = [(a, b) for a in range(len(shapes)) for b in range(a + 1, len(shapes))
             if shapes[a] == shapes[b]]
    if not pairs:
        pytest.skip("no two parts of the same shape")
    a, b = pairs[0]
    fa, fb = copy / "parts" / f"{a:03d}.{suffix}.npy", copy / "parts" / f"{b:03d}.{suffix}.npy"
    fa.rename(copy / "tmp.npy")
    fb.rename(fa)
    (copy / "tmp.npy").rename(fb)
    if suffix == "encoded":
        _load_error(copy, rf"^parts/{a:03d}.encoded.npy: not the committed matrix \(leaf")
    elif saved.ligero:
        _load_error(copy, rf"^parts/{a:03d}.rows.npy: not the rows parts/{a:03d}.encoded.npy "
                          r"encodes$")
    else:
        _load_error(copy, rf"^parts/{a:03d}.rows.npy: not the committed part \(")


# ---------------------------------------------------------------------------------------------
# refusals: contents


def test_flipped_byte_in_a_weight_array(saved, copy):
    path = copy / "weights" / "002.npy"
    _flip(path, offset=_npy_data_offset(path) + 8 * 5)
    name = "layer0.attn.q.w" if saved.model == "tiny" else "layer0.ffn.up.w"
    _load_error(copy, rf"^weights/002.npy \({name}\): not the committed weights$")


@pytest.mark.parametrize("part", [0, 1])
def test_flipped_byte_in_a_parts_rows(saved, copy, part):
    path = copy / "parts" / f"{part:03d}.rows.npy"
    _flip(path, offset=_npy_data_offset(path) + 8 * 100)
    _load_error(copy, rf"^parts/00{part}.rows.npy: not the rows parts/00{part}.encoded.npy "
                      r"encodes$" if saved.ligero else
                rf"^parts/00{part}.rows.npy: not the committed part \(the commitment's digest "
                r"is not that of the parts; this part is not the weights of weights/")


@pytest.mark.parametrize("part", [0, 1])
def test_flipped_byte_in_a_parts_encoded_matrix(ligero, copy, part):
    _flip(copy / "parts" / f"{part:03d}.encoded.npy", 1000)
    _load_error(copy, rf"^parts/00{part}.encoded.npy: not the committed matrix \(leaf \d+ of "
                      r"tree.npy is not the combination of the parts' column \d+\)$")


def test_flipped_byte_in_the_tree(ligero, copy):
    path = copy / "tree.npy"
    _flip(path, offset=_npy_data_offset(path) + 7)  # a leaf
    _load_error(copy, "^tree.npy: Merkle level 1 is not the hash of the level below$")


def test_flipped_byte_in_the_root(ligero, copy):
    _flip(copy / "tree.npy", 1)
    _load_error(copy, "^tree.npy: Merkle level|^tree.npy: its root")


def test_a_leaf_and_its_parents_rehashed(ligero, copy):
    """A tree made consistent again after a leaf changed: its root is not the commitment's."""
    from zkinfer.commit.ligero import merkle

    tree = np.load(copy / "tree.npy")
    length = (tree.shape[0] + 1) // 2
    leaves = tree[:length].copy()
    leaves[3, 0] ^= 1
    np.save(copy / "tree.npy", np.concatenate(merkle.build(leaves)))
    _load_error(copy, "^tree.npy: its root is not the commitment's root$")


def test_a_non_canonical_entry_in_a_parts_rows(ligero, copy):
    """``p`` in place of a zero of the padding: the same field element, not the same bytes."""
    from zkinfer.field import goldilocks as gl

    path = copy / "parts" / "001.rows.npy"
    rows = np.load(path)
    flat = rows.reshape(-1)
    flat[int(np.flatnonzero(flat == 0)[0])] = gl.P
    np.save(path, rows)
    _load_error(copy, "^parts/001.rows.npy: an entry is not a canonical field element$")


def test_non_zero_entries_after_the_used_ones():
    """Parts of the tiny models fill whole rows, so the check is tested on the helper."""
    from zkinfer import pkfile

    rows = np.zeros((3, 4), dtype=np.uint64)
    rows[:2] = 7
    pkfile._check_rows(1, rows, 8)
    pkfile._check_rows(1, rows, 10)
    rows[2, 3] = 1
    with pytest.raises(ProvingKeyError, match=r"^parts/001.rows.npy: non-zero entries after the "
                                              r"part's 10 used entries$"):
        pkfile._check_rows(1, rows, 10)


def test_parts_of_another_key(saved, copy, tmp_path):
    """Part files of the same model with other weights (same shapes): each swap is named."""
    other = saved.other(tmp_path)
    rows, enc = "parts/001.rows.npy", "parts/001.encoded.npy"
    shutil.copy(other / rows, copy / rows)
    _load_error(copy, rf"^{rows}: not the rows {enc} encodes$" if saved.ligero
                else rf"^{rows}: not the committed part")
    if not saved.ligero:
        return
    shutil.copy(saved.path / rows, copy / rows)
    shutil.copy(other / enc, copy / enc)
    _load_error(copy, rf"^{enc}: not the committed matrix \(leaf")
    # rows and encoded matrix agree with each other: named by the weights they hold
    shutil.copy(other / rows, copy / rows)
    _load_error(copy, rf"^{enc}: not the committed part \(leaf \d+ of tree.npy .*; this part is "
                      "not the weights of weights/, a part of another key\\?\\)$")


def test_weights_of_another_key(saved, copy, tmp_path):
    other = saved.other(tmp_path)
    shutil.copy(other / "weights" / "003.npy", copy / "weights" / "003.npy")
    _load_error(copy, r"^weights/003.npy \(.*\): not the committed weights$")


# ---------------------------------------------------------------------------------------------
# prove_many


def test_prove_many_gives_the_proofs_of_prove(saved):
    if saved.kind != ("tiny", "ligero"):
        pytest.skip("one key is enough")
    short = np.array([7, 8, 9], dtype=np.int64)
    one_by_one = [saved.honest, prove(saved.pk, short).to_bytes()]
    assert [p.to_bytes() for p in prove_many(saved.pk, [IDS, short])] == one_by_one
    loaded = ProvingKey.load(saved.path)
    stages = []
    got = [p.to_bytes() for p in prove_many(loaded, iter([IDS, short]),
                                            progress=lambda s, d, t: stages.append(s))]
    assert got == one_by_one
    assert stages[0] == "proof 1: integer forward" and stages[-1].startswith("proof 2: ")


def test_prove_many_reports_the_batch():
    class Recorder:
        def __init__(self):
            self.stages, self.fractions = [], []

        def __call__(self, stage, done, total):
            self.stages.append(stage)

        def overall(self, fraction):
            self.fractions.append(fraction)

    rec = Recorder()
    short = np.array([1, 2], dtype=np.int64)
    proofs = list(prove_many(_keys("tiny", "ligero")[1], [short, short], progress=rec))
    assert len(proofs) == 2
    assert {s.split(":")[0] for s in rec.stages} == {"proof 1/2", "proof 2/2"}
    assert rec.fractions == sorted(rec.fractions) and rec.fractions[-1] == 1.0
    assert max(f for f in rec.fractions if f <= 0.5) >= 0.4  # the first proof is half the batch
