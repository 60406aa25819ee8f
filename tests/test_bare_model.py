"""`gnnbench score some/model.pt` with no metadata.yaml beside it: scored for one's own use, with stated defaults."""

from __future__ import annotations

import json

import torch

from conftest import run_cli
from gnnbench.leaderboard.validate import validate_submission_dir
from gnnbench.predict.export import trivial_metadata, write_submission
from gnnbench.predict.trivial import ConstantVelocity


class ShiftedNoVelocity(torch.nn.Module):
    """r + 0.01 Å along x, no velocities: the probe must see that it predicts no velocities."""

    def __init__(self):
        super().__init__()
        self.shift = torch.nn.Parameter(torch.tensor([0.01, 0.0, 0.0], dtype=torch.float64))

    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"positions": positions + self.shift}


def test_a_bare_model_file_scores_with_stated_defaults_and_is_no_leaderboard_entry(tmp_path, mini_dataset):
    model = tmp_path / "My Model.pt"
    torch.jit.save(torch.jit.script(ShiftedNoVelocity()), str(model))
    result = run_cli("score", str(model), "--data", str(mini_dataset), "--config", "mini", "--no-rollouts", "--no-cost", "--no-progress")
    assert "no metadata.yaml beside the model: scored for your own use with these defaults" in result.stdout
    assert "predicts_velocities false (seen from its outputs on one call)" in result.stdout
    assert "parameter_count 3 (counted)" in result.stdout
    scores = json.loads((tmp_path / "scores.json").read_text())
    metadata = scores["submission"]["metadata"]
    assert metadata["name"] == "my-model" and metadata["strides_fs"] == [1, 2, 5, 10, 15, 20, 30, 40, 50]
    assert metadata["rollout_stride_fs"] == 10 and metadata["uses_descriptors"] is True and metadata["predicts_velocities"] is False
    assert "defaults" in scores["submission"]["metadata_defaults"]
    # a constant shift s = (0.01, 0, 0) Å: MSE = MSE(zero displacement) − 2 s·mean(Δr_true) + |s|², and the mean
    # displacement of an NVE branch with zero total momentum is 0, so MSE = MSE(zero) + 1e-4 Å²
    for dt in ("1", "10"):
        at = scores["stride_accuracy"]["nve"]["test"]["overall"][dt]
        assert abs(at["submission"]["mse_A2"] - (at["zero_displacement"]["mse_A2"] + 1e-4)) < 1e-9

    # the same scores in a folder with its metadata.yaml written afterwards are no entry
    folder = tmp_path / "entry"
    write_submission(ConstantVelocity(), trivial_metadata("entry", "r + vΔt"), folder)
    (folder / "scores.json").write_text(json.dumps(scores | {"submission": scores["submission"] | {"name": "entry"}}))
    problems = " ".join(validate_submission_dir(folder).problems)
    assert "scored without metadata.yaml, with defaults" in problems


def test_a_submission_folder_still_needs_its_metadata(tmp_path, mini_dataset):
    folder = tmp_path / "folder"
    folder.mkdir()
    torch.jit.save(torch.jit.script(ShiftedNoVelocity()), str(folder / "submission.pt"))
    result = run_cli("score", str(folder), "--data", str(mini_dataset), "--no-rollouts", "--no-cost", "--no-progress", check=False)
    assert result.returncode == 1 and "metadata.yaml: missing" in result.stderr
