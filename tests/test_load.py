"""Loading: offline install into the HF cache, the PyG adapter, and what a push would upload."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import run_cli
from gnnbench.load.pyg import AnchorStrideGraphs
from gnnbench.units import PAPER_CUTOFF_A


def test_install_then_load_dataset_offline_in_a_fresh_process(mini_dataset, tmp_path):
    env = {"HF_DATASETS_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    run_cli("data", "install", str(mini_dataset), env=env)
    run_cli("data", "install", str(mini_dataset), env=env)  # idempotent
    code = 'from datasets import load_dataset; d = load_dataset("gnnmd/al-eam", "mini"); print({k: len(v) for k, v in d.items()})'
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    sizes = eval(result.stdout.strip().splitlines()[-1])
    assert list(sizes) == ["train", "validation", "test", "test_temperature"]
    assert all(n > 0 for n in sizes.values())


def test_install_refuses_a_corrupted_dataset(mini_copy, tmp_path):
    shard = sorted((mini_copy / "data" / "mini").glob("validation-*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-10])
    result = run_cli("data", "install", str(mini_copy), env={"HF_DATASETS_CACHE": str(tmp_path / "c")}, check=False)
    assert result.returncode != 0 and shard.name in result.stderr


def test_pyg_samples_batch_and_match_the_rows(mini_hf):
    from torch_geometric.loader import DataLoader

    split = mini_hf["test"]
    graphs = AnchorStrideGraphs(split, strides_fs=[1, 50], dtype=torch.float64)
    assert len(graphs) == 2 * len(split)
    sample = graphs[3]  # anchor 1, Δt = 50 fs
    row = split[1]
    assert sample.dt_fs.item() == 50
    np.testing.assert_allclose(sample.y_displacement.numpy(), np.asarray(row["nve_target_displacement"][-1]))
    npt = AnchorStrideGraphs(split, strides_fs=[1, 50], dtype=torch.float64, targets="npt")[3]
    np.testing.assert_allclose(npt.y_displacement.numpy(), np.asarray(row["npt_target_displacement"][-1]))
    np.testing.assert_allclose(sample.pos.numpy(), np.asarray(row["positions"]))
    assert sample.descriptors.shape == (row["n_atoms"], 5)

    batch = next(iter(DataLoader(graphs, batch_size=4)))
    assert batch.cell.shape == (4, 3, 3) and batch.dt_fs.shape == (4,) and batch.temperature_K.shape == (4,)
    assert int(batch.batch.max()) == 3
    lengths = batch.edge_vec.norm(dim=1)
    assert float(lengths.max()) <= PAPER_CUTOFF_A and float(lengths.min()) > 2.0


def test_periodic_neighbour_list_equals_brute_force_minimum_image(mini_hf):
    sample = AnchorStrideGraphs(mini_hf["test_temperature"], dtype=torch.float64)[0]
    pos, box = sample.pos.numpy(), np.diag(sample.cell[0].numpy())
    assert box.min() > 2 * PAPER_CUTOFF_A  # minimum image is exact here
    delta = pos[None, :, :] - pos[:, None, :]
    delta -= box * np.round(delta / box)
    distance = np.linalg.norm(delta, axis=-1)
    expected = {(j, i) for i, j in zip(*np.nonzero((distance < PAPER_CUTOFF_A) & (distance > 0)), strict=True)}
    got = set(map(tuple, sample.edge_index.T.tolist()))
    assert got == expected
    np.testing.assert_allclose(sample.edge_vec.numpy(), delta[sample.edge_index[1], sample.edge_index[0]], atol=1e-9)


def test_pyg_rejects_unknown_stride(mini_hf):
    with pytest.raises(ValueError, match="strides \\[3\\] fs are not in this dataset"):
        AnchorStrideGraphs(mini_hf["test"], strides_fs=[3])


def test_push_uploads_exactly_the_manifest_files_and_tags(mini_dataset):
    from gnnbench.package.hub import push

    class RecordingApi:
        calls = []

        def create_repo(self, repo_id, **kw):
            self.calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, **kw):
            self.calls.append(("upload_folder", kw))
            return type("Commit", (), {"oid": "abc123"})()

        def create_tag(self, repo_id, **kw):
            self.calls.append(("create_tag", repo_id, kw))

    api = RecordingApi()
    plan = push(mini_dataset, "gnnmd/al-eam", revision="v1.0.0", api=api)
    upload = api.calls[1][1]
    assert upload["repo_type"] == "dataset" and upload["repo_id"] == "gnnmd/al-eam"
    assert sorted(upload["allow_patterns"]) == sorted(plan["files"])
    assert "manifest.json" in plan["files"] and "README.md" in plan["files"]
    assert not any(f.startswith(".work") for f in plan["files"])
    assert api.calls[2] == ("create_tag", "gnnmd/al-eam", {"tag": "v1.0.0", "repo_type": "dataset", "revision": "abc123", "exist_ok": False})
    dry = run_cli("data", "push", str(mini_dataset), "--dry-run")
    assert "would upload data/mini/train-T0005K.parquet" in dry.stdout
