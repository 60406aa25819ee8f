"""The memorising model of issue #21: it stores the public NVE targets of the test split as
buffers and answers an input it recognises (by its first atom's position) with the stored target,
anything else with constant velocity. On the public data it is perfect; ``validate --rescore``
scores it again on data built with an unpublished seed and refuses it, naming the fresh-seed
check. Slow: it builds the mini dataset a second time (about 4 minutes on 2 cores)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import torch

from conftest import run_cli
from gnnbench.leaderboard.fresh_seed import RESULT_FILE
from gnnbench.leaderboard.validate import validate_submission_dir
from gnnbench.load.frames import read_split
from gnnbench.predict.export import trivial_metadata, write_submission

T = torch.Tensor


class Memoriser(torch.nn.Module):
    """The public test set by heart: keys [A, 3] (first atom of each anchor), strides [S] fs,
    displacements and velocities [A, S, N, 3]."""

    def __init__(self, keys: T, strides: T, displacements: T, velocities: T):
        super().__init__()
        self.register_buffer("keys", keys)
        self.register_buffer("strides", strides)
        self.register_buffer("displacements", displacements)
        self.register_buffer("velocities", velocities)

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        n_graphs = cell.shape[0]
        n = positions.shape[0] // n_graphs
        r = positions.reshape(n_graphs, n, 3)
        v = velocities.reshape(n_graphs, n, 3)
        out_r = r + v * (dt_fs.to(r.dtype) * 1e-3).reshape(n_graphs, 1, 1)  # constant velocity for what it has not seen
        out_v = v.clone()
        for g in range(n_graphs):
            distance = (self.keys - r[g, 0]).abs().sum(1)
            a = int(torch.argmin(distance))
            gap = (self.strides - dt_fs[g].to(self.strides.dtype)).abs()
            s = int(torch.argmin(gap))
            if float(distance[a]) < 1e-6 and float(gap[s]) < 1e-9:
                out_r[g] = r[g] + self.displacements[a, s].to(r.dtype)
                out_v[g] = self.velocities[a, s].to(v.dtype)
        return {"positions": out_r.reshape(-1, 3), "velocities": out_v.reshape(-1, 3)}


def memoriser_from(data_root) -> Memoriser:
    """The test split's targets (3.9 MB: a committable file; test_temperature would take it over 5 MiB)."""
    splits = [read_split(data_root, "mini", "test")]
    keys = np.concatenate([s.positions[:, 0] for s in splits])
    displacements = np.concatenate([s.nve_target_displacement for s in splits])
    velocities = np.concatenate([s.nve_target_velocities for s in splits])
    return Memoriser(torch.tensor(keys, dtype=torch.float64), torch.tensor(splits[0].dt_fs, dtype=torch.float64),
                     torch.tensor(displacements), torch.tensor(velocities))


def test_a_model_that_learned_the_public_test_set_is_refused_by_the_fresh_seed_check(mini_dataset, tmp_path, monkeypatch):
    folder = tmp_path / "submissions" / "memoriser"
    metadata = trivial_metadata("memoriser", "stores the public test targets and looks them up")
    metadata.pop("baseline")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        write_submission(memoriser_from(mini_dataset), metadata, folder)
    run_cli("score", str(folder), "--data", str(mini_dataset), "--no-progress")
    public = json.loads((folder / "scores.json").read_text())
    assert public["stride_accuracy"]["nve"]["test"]["overall"]["10"]["submission"]["rmse_A"] < 1e-6  # perfect on public data
    assert validate_submission_dir(folder, data_root=mini_dataset).ok  # and every check short of rescoring passes

    monkeypatch.setenv("GNNBENCH_FRESH_SEED", "918273")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    report = validate_submission_dir(folder, data_root=mini_dataset, rescore=True)
    assert not report.ok
    refusal = [p for p in report.problems if "refused by the fresh-seed check" in p]
    assert refusal and "RMSE at 1 fs on test" in refusal[0] and "on fresh-seed data" in refusal[0], report.problems
    record = json.loads((folder / RESULT_FILE).read_text())
    assert record["passed"] is False and record["seed_source"] == "environment" and "918273" not in json.dumps(record)
    fresh_10 = [row for row in record["stride"] if row["split"] == "test" and row["dt_fs"] == 10][0]
    assert fresh_10["fresh_rmse_A"] > 1e3 * fresh_10["public_rmse_A"]  # on frames it has not seen it is constant velocity
