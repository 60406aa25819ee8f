"""Corrupt, truncated and edited datasets: the scorer checks every file of the config against the
dataset's manifest before reading any (hashed every time, never trusted by size and mtime), and
the manifest's split map against the recipe; it names each problem and writes nothing; the
data_sha256 it records is made from the files it checked. ``validate --data`` and ``data
verify`` refuse the same edits."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from hostile_corpus import MESSAGE_LIMIT, changed, copy_valid, fake_dataset, tree

from gnnbench.cli import main
from gnnbench.leaderboard.validate import validate_submission_dir
from gnnbench.package import manifest as manifest_module
from gnnbench.package.manifest import CorruptDatasetError, data_digest, verify, verify_config


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
                                                  r"manifest's [0-9a-f]{16}… \(corrupt, truncated or edited\); rebuild or re-download"):
        verify_config(root, "mini")


def test_a_truncated_shard_is_refused_without_hashing_it(tmp_path, monkeypatch):
    root = fake_dataset(tmp_path / "al-eam")
    shard = root / "data/mini/nve_window/test-T0005K.parquet"
    size = shard.stat().st_size
    shard.write_bytes(shard.read_bytes()[:-100])
    real = manifest_module.sha256_file
    monkeypatch.setattr(manifest_module, "sha256_file", lambda path: pytest.fail(f"hashed {path}") if path == shard else real(path))
    with pytest.raises(CorruptDatasetError) as refused:
        verify_config(root, "mini")
    assert str(refused.value).endswith(f"nothing was scored: {shard}: {size - 100} bytes, the manifest says {size} (corrupt or truncated shard); "
                                       "rebuild or re-download")


def test_a_manifest_cannot_point_the_scorer_outside_the_dataset(tmp_path):
    root = fake_dataset(tmp_path / "al-eam")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["configs"]["mini"]["splits"]["test"]["files"] = ["../../outside.parquet"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptDatasetError, match=r"lists '\.\./\.\./outside\.parquet' for config 'mini', which is not a dataset file"):
        verify_config(root, "mini")


def edit_keeping_mtime(path, old: str, new: str) -> None:
    """Edit a text file and restore its modification time: what a cache by size and mtime misses."""
    info = os.stat(path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def only_the_coldest_test_shard(root) -> None:
    """The split-map attack: the manifest lists one test shard of five (14 of 70 anchors on mini,
    constant velocity 1.3e-3 Å at 10 fs instead of 1.04e-2), every listed file intact."""
    manifest = json.loads((root / "manifest.json").read_text())
    split = manifest["configs"]["mini"]["splits"]["test"]
    split["files"] = split["files"][:1]
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_verification_hashes_every_file_every_time(tmp_path):
    root = fake_dataset(tmp_path / "al-eam")
    verified = verify_config(root, "mini")
    assert data_digest(root, verified) == data_digest(root) and verify(root) == []
    recipe = root / "recipes/mini.yaml"
    edit_keeping_mtime(recipe, "timestep_fs: 1.0", "timestep_fs: 0.1")  # the 1180× "speed-up"
    with pytest.raises(CorruptDatasetError, match=r"recipes/mini.yaml: sha256 [0-9a-f]{16}… differs from the manifest's"):
        verify_config(root, "mini")
    assert any("recipes/mini.yaml: corrupt (sha256 differs" in p for p in verify(root))


def test_a_split_map_that_is_not_the_recipes_is_refused_by_name(tmp_path):
    root = fake_dataset(tmp_path / "al-eam")
    only_the_coldest_test_shard(root)
    message = r"config 'mini': splits.test lists 1 shards, the recipe gives 5; missing data/mini/test-T0100K.parquet"
    with pytest.raises(CorruptDatasetError, match=message):
        verify_config(root, "mini")
    assert any("splits.test lists 1 shards, the recipe gives 5" in p for p in verify(root))


@pytest.mark.parametrize("edit, message", [
    (lambda entry: entry["splits"]["test"].update(rows=14), "splits.test says 14 rows, the recipe gives 70"),
    (lambda entry: entry["nve_window"]["test"]["files"].pop(), "nve_window.test lists 4 shards, the recipe gives 5"),
    (lambda entry: entry.update(dt_fs=[1, 10]), "dt_fs [1, 10] is not the recipe's"),
    (lambda entry: entry.update(recipe_sha256="0" * 64), "recipe_sha256 is not the sha256 of recipes/mini.yaml"),
    (lambda entry: entry["splits"].update(secret={"files": [], "rows": 0, "bytes": 0}), "splits has splits the recipe does not give: secret"),
])
def test_every_manifest_field_that_repeats_the_recipe_must_agree_with_it(tmp_path, edit, message):
    root = fake_dataset(tmp_path / "al-eam")
    manifest = json.loads((root / "manifest.json").read_text())
    edit(manifest["configs"]["mini"])
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptDatasetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        verify_config(root, "mini")


@pytest.mark.parametrize("attack", ["split map", "recipe with its mtime restored"])
def test_score_and_data_verify_refuse_an_edited_dataset(tmp_path, attack):
    root = fake_dataset(tmp_path / "al-eam")
    if attack == "split map":
        only_the_coldest_test_shard(root)
    else:
        edit_keeping_mtime(root / "recipes/mini.yaml", "timestep_fs: 1.0", "timestep_fs: 0.1")
    folder = copy_valid(tmp_path / "submissions")
    before = tree(tmp_path)
    result = score_cli(str(folder), "--data", str(root), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "nothing was scored" in result.output
    assert ("splits.test lists 1 shards" if attack == "split map" else "recipes/mini.yaml: sha256") in result.output
    assert changed(before, tree(tmp_path)) == []
    verified = CliRunner().invoke(main, ["data", "verify", str(root)])
    assert verified.exit_code == 1
    assert ("splits.test lists 1 shards" if attack == "split map" else "recipes/mini.yaml: corrupt") in verified.output
    report = validate_submission_dir(folder, data_root=root)
    assert not report.ok and any("cannot be checked against" in p and ("splits.test lists 1 shards" if attack == "split map"
                                                                     else "recipes/mini.yaml: sha256") in p for p in report.problems)
    assert max(len(p) for p in report.problems) < MESSAGE_LIMIT


def test_the_scorer_refuses_a_corrupt_shard_and_writes_nothing(tmp_path):
    root = fake_dataset(tmp_path / "al-eam")
    flip_one_byte(root / "data/mini/test_temperature-T0050K.parquet")
    folder = copy_valid(tmp_path / "submissions")
    before = tree(tmp_path)
    result = score_cli(str(folder), "--data", str(root), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "nothing was scored" in result.output and "test_temperature-T0050K.parquet: sha256" in result.output
    assert not (tmp_path / "out").exists() and changed(before, tree(tmp_path)) == []


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
