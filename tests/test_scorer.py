"""The scorer: known answers (oracle, identity, constant velocity), safety, failures, schema."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Dict

import jsonschema
import numpy as np
import pytest
import torch
import yaml

from conftest import run_cli
from gnnbench.load.frames import read_split
from gnnbench.predict.export import trivial_metadata, write_submission
from gnnbench.predict.submission import SubmissionError, load_submission
from gnnbench.predict.trivial import ConstantVelocity, ZeroDisplacement
from gnnbench.score.metrics import radial_distribution, rdf_error
from gnnbench.score.report import validate_scores
from gnnbench.score.run import score


class Identity(torch.nn.Module):
    """Returns its input positions: must score exactly the zero-displacement baseline."""

    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"positions": positions}


class Oracle(torch.nn.Module):
    """Looks the true target up by the anchor's first atom position and Δt."""

    def __init__(self, keys: torch.Tensor, dts: torch.Tensor, displacement: torch.Tensor, velocity: torch.Tensor):
        super().__init__()
        self.register_buffer("keys", keys)
        self.register_buffer("dts", dts)
        self.register_buffer("displacement", displacement)
        self.register_buffer("velocity", velocity)

    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> Dict[str, torch.Tensor]:
        n_graphs = cell.shape[0]
        n = positions.shape[0] // n_graphs
        out_r = positions.clone()
        out_v = velocities.clone()
        for g in range(n_graphs):
            m = int(torch.argmin((self.keys - positions[g * n]).abs().sum(1)))
            k = int(torch.argmin((self.dts - dt_fs[g]).abs()))
            out_r[g * n:(g + 1) * n] = positions[g * n:(g + 1) * n] + self.displacement[m, k]
            out_v[g * n:(g + 1) * n] = self.velocity[m, k]
        return {"positions": out_r, "velocities": out_v}


class EmitsNaN(torch.nn.Module):
    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> Dict[str, torch.Tensor]:
        out = positions.clone()
        out[3] = float("nan")
        return {"positions": out}


def make(module, tmp_path: Path, name: str, **overrides) -> Path:
    metadata = {**trivial_metadata(name, f"test submission {name}"), **overrides}
    return write_submission(module, metadata, tmp_path / name)


@pytest.fixture(scope="module")
def baseline_only(mini_dataset):
    """What the scorer's built-in baselines give (from the constant-velocity run's tables)."""
    return {split: read_split(mini_dataset, "mini", split) for split in ("test", "test_temperature")}


def overall(scores, split, dt, who="submission"):
    return scores["stride_accuracy"][split]["overall"][str(dt)][who]


def test_oracle_scores_zero_error(mini_dataset, tmp_path, baseline_only):
    frames = list(baseline_only.values())
    keys = torch.tensor(np.concatenate([f.positions[:, 0] for f in frames]))
    displacement = torch.tensor(np.concatenate([f.target_displacement for f in frames]), dtype=torch.float64)
    velocity = torch.tensor(np.concatenate([f.target_velocities for f in frames]), dtype=torch.float64)
    oracle = Oracle(keys, torch.tensor(frames[0].dt_fs, dtype=torch.float64), displacement, velocity)
    path = make(oracle, tmp_path, "oracle")
    scores = score(path, mini_dataset, "mini", rollouts=False, cost=False, show_progress=False, quiet=True, verlet_substeps=())
    for split in ("test", "test_temperature"):
        for dt in scores["stride_accuracy"][split]["dt_fs"]:
            assert overall(scores, split, dt)["rmse_A"] < 1e-12
            assert overall(scores, split, dt)["velocity_rmse_A_per_ps"] < 1e-12
            assert overall(scores, split, dt, "zero_displacement")["rmse_A"] > 1e-3
        assert scores["stride_accuracy"][split]["overall"]["10"]["skill_vs_constant_velocity"] == pytest.approx(1.0)


def test_input_returning_submission_scores_exactly_the_zero_displacement_baseline(mini_dataset, tmp_path):
    path = make(Identity(), tmp_path, "identity", predicts_velocities=False)
    scores = score(path, mini_dataset, "mini", rollouts=False, cost=False, show_progress=False, quiet=True, verlet_substeps=())
    for split, result in scores["stride_accuracy"].items():
        for dt in result["dt_fs"]:
            mine, zero = overall(scores, split, dt), overall(scores, split, dt, "zero_displacement")
            assert mine["mse_A2"] == zero["mse_A2"] and mine["mae_A"] == zero["mae_A"]
            assert result["overall"][str(dt)]["skill_vs_zero"] == 0.0
        for t, by_dt in result["per_temperature"].items():
            assert by_dt["5"]["submission"]["rmse_A"] == by_dt["5"]["zero_displacement"]["rmse_A"]


def test_constant_velocity_submission_equals_the_built_in_baseline(mini_dataset, tmp_path):
    path = make(ConstantVelocity(), tmp_path, "constant-velocity")
    scores = score(path, mini_dataset, "mini", rollouts=False, cost=False, show_progress=False, quiet=True, verlet_substeps=())
    for split, result in scores["stride_accuracy"].items():
        for dt in result["dt_fs"]:
            mine, builtin = overall(scores, split, dt), overall(scores, split, dt, "constant_velocity")
            assert mine["mse_A2"] == pytest.approx(builtin["mse_A2"], rel=1e-9)
            assert mine["velocity_rmse_A_per_ps"] == pytest.approx(builtin["velocity_rmse_A_per_ps"], rel=1e-12)
    # and the built-in baselines agree with a direct computation from the rows
    frames = read_split(mini_dataset, "mini", "test")
    k = list(frames.dt_fs).index(10)
    d = frames.target_displacement[:, k].astype(np.float64)
    expected = np.mean(((d - frames.velocities * 0.010) ** 2).sum(-1))
    assert overall(scores, "test", 10, "constant_velocity")["mse_A2"] == pytest.approx(expected, rel=1e-9)
    assert overall(scores, "test", 10, "zero_displacement")["mse_A2"] == pytest.approx(np.mean((d**2).sum(-1)), rel=1e-9)


def test_rdf_error_of_a_frame_against_itself_is_zero_and_fcc_has_12_first_neighbours(mini_dataset):
    frames = read_split(mini_dataset, "mini", "test")
    r, g = radial_distribution(frames.positions[0], frames.cell[0], 8.0, 160)
    assert rdf_error(g, g, r) == 0.0
    # perfect FCC, a0 = 4.05 Å: 12 neighbours at a0/√2 = 2.864 Å
    a0, cells = 4.05, 4
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    lattice = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    positions = ((lattice[:, None, :] + basis[None]) * a0).reshape(-1, 3)
    cell = np.eye(3) * a0 * cells
    r, g = radial_distribution(positions, cell, 6.0, 600)
    density = len(positions) / np.linalg.det(cell)
    dr = r[1] - r[0]
    first_shell = (4 * np.pi * r**2 * density * g * dr)[r < 3.4].sum()
    assert first_shell == pytest.approx(12, abs=0.05)
    assert r[np.argmax(g)] == pytest.approx(a0 / np.sqrt(2), abs=dr)


def test_a_pickled_payload_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned.txt"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "submission.pt"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(SubmissionError, match="refused, it is a Python pickle"):
        load_submission(path)
    result = run_cli("score", str(path), check=False)
    assert result.returncode != 0 and "not a TorchScript archive" in result.stderr
    assert not marker.exists()


def test_a_torch_save_checkpoint_is_refused(tmp_path):
    path = tmp_path / "submission.pt"
    torch.save({"state_dict": ConstantVelocity().state_dict()}, path)
    with pytest.raises(SubmissionError, match="torch.save checkpoint"):
        load_submission(path)


def test_metadata_is_strict(tmp_path):
    path = make(ZeroDisplacement(), tmp_path, "zero")
    metadata_path = path.with_name("metadata.yaml")
    metadata = yaml.safe_load(metadata_path.read_text())
    metadata_path.write_text(yaml.safe_dump({**metadata, "favourite_colour": "blue"}))
    with pytest.raises(SubmissionError, match="Additional properties are not allowed \\('favourite_colour'"):
        load_submission(path)
    metadata_path.write_text(yaml.safe_dump({**metadata, "training_data": {**metadata["training_data"], "splits": ["test"]}}))
    with pytest.raises(SubmissionError, match="training_data/splits/0"):
        load_submission(path)
    metadata_path.write_text(yaml.safe_dump({**metadata, "submission_sha256": "0" * 64}))
    with pytest.raises(SubmissionError, match="differs from metadata submission_sha256"):
        load_submission(path)


def test_a_submission_emitting_nan_gets_a_clear_report(mini_dataset, tmp_path):
    path = make(EmitsNaN(), tmp_path, "nan", predicts_velocities=False)
    result = run_cli("score", str(path), "--data", str(mini_dataset), "--no-progress", "--no-cost", "--verlet", "", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "output 'positions' is not finite (NaN or inf) for 1 atoms [input: split test, Δt 1 fs, anchors T0005K@" in result.stdout
    scores = json.loads((path.parent / "scores.json").read_text())
    assert scores["stride_accuracy"]["test"]["failed"] is True
    assert scores["rollouts"]["survival_fraction"] == 0.0  # every rollout fails at its first step
    assert all(r["failure_reason"] == "non-finite positions, velocities or cell" for r in scores["rollouts"]["per_trajectory"].values())


def test_constant_velocity_end_to_end_with_rollouts_cost_plots_and_schema(mini_dataset, tmp_path):
    path = make(ConstantVelocity(), tmp_path, "constant-velocity")
    result = run_cli("score", str(path.parent), "--data", str(mini_dataset), "--no-progress")
    print(result.stdout[-400:])  # the time it took is the last line
    assert "scored 1 of 1 submission(s) in" in result.stdout
    assert "rollouts at Δt = 10 fs over 1300 fs" in result.stdout and "speed-up" in result.stdout
    assert "Verlet k=1" in result.stdout and "loses to Verlet k=1" in result.stdout  # said plainly
    scores = json.loads((path.parent / "scores.json").read_text())
    validate_scores(scores)
    assert scores["dataset"]["manifest_sha256"] and scores["scorer_version"]
    assert scores["cost"]["speedup_vs_lammps"] > 0
    assert len(scores["rollouts"]["per_trajectory"]) == 16
    for name in ("error_vs_dt.png", "rdf.png", "msd.png", "thermo.png"):
        assert (path.parent / "plots" / name).stat().st_size > 5000
    broken = {**scores, "stride_accuracy": {"test": {"dt_fs": [1]}}}
    with pytest.raises(jsonschema.ValidationError):
        validate_scores(broken)


def test_zero_displacement_rollout_keeps_positions_and_has_no_msd(mini_dataset, tmp_path):
    path = make(ZeroDisplacement(), tmp_path, "zero")
    scores = score(path, mini_dataset, "mini", cost=False, show_progress=False, quiet=True, verlet_substeps=())
    for r in scores["rollouts"]["per_trajectory"].values():
        assert r["survived"]
        assert r["msd_plateau_A2"]["submission"] == 0.0
        assert r["msd_plateau_relative_error"] == -1.0


def test_ablation_table_lists_variants_beside_their_base(mini_dataset, tmp_path):
    base = make(ZeroDisplacement(), tmp_path, "base")
    variant = make(ConstantVelocity(), tmp_path, "variant", ablation_of="base", ablation="adds v·Δt")
    result = run_cli("score", str(base), str(variant), "--data", str(mini_dataset), "--no-progress", "--no-rollouts", "--no-cost", "--verlet", "")
    table = result.stdout.split("ablations (test, Δt = 10 fs)")[1]
    assert "| base   | base" in table and "| adds v·Δt" in table
