"""Corrupt and truncated dataset shards: the scorer checks every file of the config against the
dataset's manifest before reading any (cached by size and mtime), names each bad file, and writes
nothing; the data_sha256 it records is made from the files it checked."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hostile_corpus import changed, copy_valid, fake_dataset, tree

from gnnbench.cli import main
from gnnbench.package import manifest as manifest_module
from gnnbench.package.manifest import VERIFIED_CACHE, CorruptDatasetError, data_digest, verify_config


def score_cli(*args: str):
    return CliRunner().invoke(main, ["score", *args, "--no-progress"])



def flip_one_byte(path, at: int = 1000) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_shard_with_one_flipped_byte_is_refused_by_name(tmp_path):
    root = fake_dataset(tmp_path / "al-eam")
    flip_one_byte(root / "data/mini/test-T0005K.parquet")
    with pytest.raises(CorruptDatasetError, match=r"data/mini/test-T0005K.parquet: sha256 [0-9a-f]{16}… differs from the "
                                                  r"manifest's [0-9a-f]{16}… \(corrupt or truncated shard\); rebuild or re-download"):
        verify_config(root, "mini")


def test_a_truncated_shard_is_refused_without_hashing_it(tmp_path, monkeypatch):
    root = fake_dataset(tmp_path / "al-eam")
    shard = root / "data/mini/nve_window/test-T0005K.parquet"
    shard.write_bytes(shard.read_bytes()[:-100])
    real = manifest_module.sha256_file
    monkeypatch.setattr(manifest_module, "sha256_file", lambda path: pytest.fail(f"hashed {path}") if path == shard else real(path))
    with pytest.raises(CorruptDatasetError) as refused:
        verify_config(root, "mini")
    assert str(refused.value).endswith(f"nothing was scored: {shard}: 19902 bytes, the manifest says 20002 (corrupt or truncated shard); "
                                       "rebuild or re-download")


def test_a_manifest_cannot_point_the_scorer_outside_the_dataset(tmp_path):
    root = fake_dataset(tmp_path / "al-eam")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["configs"]["mini"]["splits"]["test"]["files"] = ["../../outside.parquet"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptDatasetError, match=r"lists '\.\./\.\./outside\.parquet' for config 'mini', which is not a dataset file"):
        verify_config(root, "mini")


def test_verification_is_cached_by_size_and_mtime(tmp_path, monkeypatch):
    root = fake_dataset(tmp_path / "al-eam")
    verified = verify_config(root, "mini")
    assert len(verified) == 4 and (root / VERIFIED_CACHE).is_file()
    assert data_digest(root, verified) == data_digest(root)
    hashed = []
    monkeypatch.setattr(manifest_module, "sha256_file", lambda path: hashed.append(path) or "0" * 64)
    assert verify_config(root, "mini") == verified and hashed == []  # a second scoring only stats the files
    flip_one_byte(root / "data/mini/test-T0005K.parquet")  # a new mtime: hashed again, and caught
    with pytest.raises(CorruptDatasetError):
        verify_config(root, "mini")
    assert [p.name for p in hashed] == ["test-T0005K.parquet"]


def test_the_scorer_refuses_a_corrupt_shard_and_writes_nothing(tmp_path):
    root = fake_dataset(tmp_path / "al-eam")
    flip_one_byte(root / "data/mini/test_temperature-T0050K.parquet")
    folder = copy_valid(tmp_path / "submissions")
    before = tree(tmp_path)
    result = score_cli(str(folder), "--data", str(root), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "nothing was scored" in result.output and "test_temperature-T0050K.parquet: sha256" in result.output
    assert not (tmp_path / "out").exists() and changed(before, tree(tmp_path)) == [f"al-eam/{VERIFIED_CACHE}"]


def test_a_flipped_byte_in_a_built_shard_stops_the_scorer(mini_copy, tmp_path):
    """The same on the real mini dataset (slow tier: it needs the LAMMPS build)."""
    verified = verify_config(mini_copy, "mini")
    assert data_digest(mini_copy, verified) == data_digest(mini_copy)
    flip_one_byte(mini_copy / "data/mini/test-T0005K.parquet", at=(mini_copy / "data/mini/test-T0005K.parquet").stat().st_size // 2)
    folder = copy_valid(tmp_path / "submissions")
    before = (folder / "scores.json").read_bytes()
    result = score_cli(str(folder), "--data", str(mini_copy), "--config", "mini")
    assert result.exit_code == 1 and "test-T0005K.parquet: sha256" in result.output and "differs from the manifest's" in result.output
    assert (folder / "scores.json").read_bytes() == before
