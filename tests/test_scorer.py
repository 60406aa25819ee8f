"""The scorer: known answers (oracle, identity, constant velocity), safety, failures, schema."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from conftest import run_cli
from gnnbench.cli import main
from gnnbench.load.frames import TargetKind, read_split
from gnnbench.predict.export import trivial_metadata, write_submission
from gnnbench.predict.submission import SubmissionError, load_submission
from gnnbench.predict.trivial import ConstantVelocity, ZeroDisplacement
from gnnbench.score import SCORER_VERSION
from gnnbench.score.baseline_cache import CACHE_ENV
from gnnbench.score.baselines import ROLLOUT_BASELINES, Baseline
from gnnbench.score.report import validate_scores
from gnnbench.score.run import ScoreOptions, load_model, score

STRIDE_ONLY = ScoreOptions(rollouts=False, cost=False, quiet=True)


def score_path(path: Path, dataset: Path, options: ScoreOptions = STRIDE_ONLY) -> dict:
    return score(load_model(path), dataset, "mini", path.parent, options)


class Identity(torch.nn.Module):
    """Returns its input positions: must score exactly the zero-displacement baseline."""

    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"positions": positions}


class Oracle(torch.nn.Module):
    """Looks the true (NVE-branch) target up by the anchor's first atom position and Δt."""

    def __init__(self, keys: torch.Tensor, dts: torch.Tensor, displacement: torch.Tensor, velocity: torch.Tensor):
        super().__init__()
        self.register_buffer("keys", keys)
        self.register_buffer("dts", dts)
        self.register_buffer("displacement", displacement)
        self.register_buffer("velocity", velocity)

    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> dict[str, torch.Tensor]:
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
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> dict[str, torch.Tensor]:
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


def overall(scores, split, dt, who="submission", kind="nve"):
    return scores["stride_accuracy"][kind][split]["overall"][str(dt)][who]


def test_oracle_scores_zero_error_on_the_nve_targets(mini_dataset, tmp_path, baseline_only):
    frames = list(baseline_only.values())
    keys = torch.tensor(np.concatenate([f.positions[:, 0] for f in frames]))
    displacement = torch.tensor(np.concatenate([f.nve_target_displacement for f in frames]), dtype=torch.float64)
    velocity = torch.tensor(np.concatenate([f.nve_target_velocities for f in frames]), dtype=torch.float64)
    oracle = Oracle(keys, torch.tensor(frames[0].dt_fs, dtype=torch.float64), displacement, velocity)
    scores = score_path(make(oracle, tmp_path, "oracle"), mini_dataset)
    for split in ("test", "test_temperature"):
        for dt in scores["stride_accuracy"]["nve"][split]["dt_fs"]:
            mine = overall(scores, split, dt)
            assert mine["rmse_A"] < 1e-12 and mine["velocity_rmse_A_per_ps"] < 1e-12
            assert 0.0 <= mine["rmse_A_ci95"][0] <= mine["rmse_A"] <= mine["rmse_A_ci95"][1] < 1e-12
            assert overall(scores, split, dt, "zero_displacement")["rmse_A"] > 1e-3
            assert overall(scores, split, dt, kind="npt")["rmse_A"] > 5e-5  # the NVE truth is not the NPT continuation
        assert scores["stride_accuracy"]["nve"][split]["overall"]["10"]["skill_vs_constant_velocity"] == pytest.approx(1.0)


def test_input_returning_submission_scores_exactly_the_zero_displacement_baseline(mini_dataset, tmp_path):
    scores = score_path(make(Identity(), tmp_path, "identity", predicts_velocities=False), mini_dataset)
    for kind, by_split in scores["stride_accuracy"].items():
        for split, result in by_split.items():
            for dt in result["dt_fs"]:
                mine, zero = overall(scores, split, dt, kind=kind), overall(scores, split, dt, "zero_displacement", kind)
                assert mine == {k: v for k, v in zero.items() if not k.startswith("velocity")}  # every metric and CI bound
                assert result["overall"][str(dt)]["skill_vs_zero"] == 0.0
                assert result["overall"][str(dt)]["skill_vs_zero_ci95"] == [0.0, 0.0]
            for by_dt in result["per_temperature"].values():
                assert by_dt["5"]["submission"]["rmse_A"] == by_dt["5"]["zero_displacement"]["rmse_A"]


def test_constant_velocity_submission_equals_the_built_in_baseline(mini_dataset, tmp_path):
    scores = score_path(make(ConstantVelocity(), tmp_path, "constant-velocity"), mini_dataset)
    for kind, by_split in scores["stride_accuracy"].items():
        for split, result in by_split.items():
            for dt in result["dt_fs"]:
                mine, builtin = overall(scores, split, dt, kind=kind), overall(scores, split, dt, "constant_velocity", kind)
                assert mine["mse_A2"] == pytest.approx(builtin["mse_A2"], rel=1e-9)
                assert mine["velocity_rmse_A_per_ps"] == pytest.approx(builtin["velocity_rmse_A_per_ps"], rel=1e-12)
    # and the built-in baselines agree with a direct computation from the rows, for both target kinds
    frames = read_split(mini_dataset, "mini", "test")
    k = list(frames.dt_fs).index(10)
    for kind in TargetKind:
        d = frames.targets(kind)[0][:, k].astype(np.float64)
        expected = np.mean(((d - frames.velocities * 0.010) ** 2).sum(-1))
        assert overall(scores, "test", 10, "constant_velocity", kind.value)["mse_A2"] == pytest.approx(expected, rel=1e-9)
        assert overall(scores, "test", 10, "zero_displacement", kind.value)["mse_A2"] == pytest.approx(np.mean((d**2).sum(-1)), rel=1e-9)


def test_verlet_rows_exact_integrator_floor_and_nve_headline(mini_dataset, tmp_path):
    """The exact integrator (Verlet at the recipe's nve_timestep_fs) reproduces the NVE targets (storage precision) and shows the
    barostat floor against the NPT continuation; Verlet k=1 beats constant velocity at 10 fs."""
    scores = score_path(make(ConstantVelocity(), tmp_path, "cv"), mini_dataset)
    for split in ("test", "test_temperature"):
        for dt in scores["stride_accuracy"]["nve"][split]["dt_fs"]:
            assert overall(scores, split, dt, Baseline.VERLET_EXACT.value)["rmse_A"] <= 1e-7
        assert 1e-4 < overall(scores, split, 1, Baseline.VERLET_EXACT.value, "npt")["rmse_A"] < 6e-4
        assert overall(scores, split, 10, Baseline.VERLET_K1.value)["rmse_A"] < overall(scores, split, 10)["rmse_A"]


def test_a_pickled_payload_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned.txt"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "submission.pt"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(SubmissionError, match="refused, it is a Python pickle"):
        load_submission(path)
    result = CliRunner().invoke(main, ["score", str(path)])  # the command line, in this process
    assert result.exit_code != 0 and "refused, it is a Python pickle" in result.output and "Traceback" not in result.output
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
    result = run_cli("score", str(path), "--data", str(mini_dataset), "--no-progress", "--no-cost", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "output 'positions' is not finite (NaN or inf) for 1 atoms [input: split test, Δt 1 fs, anchors T0005K@" in result.stdout
    scores = json.loads((path.parent / "scores.json").read_text())
    assert scores["stride_accuracy"]["nve"]["test"]["failed"] is True and scores["stride_accuracy"]["npt"]["test"]["failed"] is True
    for mode in ("nve", "thermostatted"):
        mine = scores["rollouts"][mode]["models"]["submission"]
        assert mine["survival_fraction"] == 0.0 and mine["survival_fraction_ci95"] == [0.0, 0.0]  # every rollout fails at its first step
        assert all(r["failure_reason"] == "non-finite positions or velocities" for r in mine["per_trajectory"].values())
        assert scores["rollouts"][mode]["models"]["verlet_eam_k1"]["survival_fraction"] == 1.0


def test_constant_velocity_end_to_end_with_rollouts_cost_plots_and_schema(mini_dataset, tmp_path):
    path = make(ConstantVelocity(), tmp_path, "constant-velocity")
    result = run_cli("score", str(path.parent), "--data", str(mini_dataset), "--no-progress")
    print(result.stdout[-400:])  # the time it took is the last line
    assert "scored 1 of 1 submission(s) in" in result.stdout
    assert "NVE rollouts" in result.stdout and "Thermostatted rollouts" in result.stdout and "speed-up" in result.stdout
    assert "Δt = 10 fs over 2000 fs" in result.stdout and "Δt = 10 fs over 1300 fs" in result.stdout
    assert "Δt 10 fs: constant-velocity LOSES to Verlet k=1, Verlet k=2, Verlet k=4, Verlet k=8" in result.stdout  # said plainly
    assert "FAIL  stride: RMSE at 10 fs" in result.stdout and "=> NOT USABLE at 10 fs" in result.stdout  # and judged
    scores = json.loads((path.parent / "scores.json").read_text())
    validate_scores(scores)
    assert scores["dataset"]["data_sha256"] and scores["scorer_version"] == SCORER_VERSION
    assert scores["cost"]["speedup_vs_lammps"] > 0
    for mode in ("nve", "thermostatted"):
        models = scores["rollouts"][mode]["models"]
        assert set(models) == {"submission", "verlet_eam_k1", "verlet_eam_k4"}
        assert models["verlet_eam_k1"]["survival_fraction"] == 1.0  # Verlet k=1 at 10 fs survives every rollout
        assert len(models["submission"]["per_trajectory"]) == 16
    nve = scores["rollouts"]["nve"]["models"]["verlet_eam_k1"]
    assert nve["abs_total_energy_drift_meV_per_atom_per_ps"] < 0.05  # Verlet conserves energy
    for name in ("error_vs_dt.png", "rollout_summary.png", "rdf.png", "msd.png", "thermo.png"):
        assert (path.parent / "plots" / name).stat().st_size > 5000
    check_rollout_files(scores, path.parent, result.stdout)
    broken = {**scores, "stride_accuracy": {"nve": {"test": {"dt_fs": [1]}}, "npt": {}}}
    with pytest.raises(jsonschema.ValidationError):
        validate_scores(broken)


def check_rollout_files(scores: dict, out_dir: Path, stdout: str) -> None:
    """The submission's rollouts as extended XYZ (model and MD at the same times, every observation)
    and the final-frame pictures of the hottest held-out trajectory (T0750K)."""
    import ase.io

    from gnnbench.score.rollout_files import rendering_unavailable

    for mode in ("nve", "thermostatted"):
        files = scores["rollouts"][mode]["rollout_files"]
        per_trajectory = scores["rollouts"][mode]["models"]["submission"]["per_trajectory"]
        assert set(files) == set(per_trajectory) and len(files) == 16
        for trajectory, pair in files.items():
            assert pair == {"model": f"rollouts/{mode}/{trajectory}-model.extxyz.gz", "md": f"rollouts/{mode}/{trajectory}-md.extxyz.gz"}
            model, md = (ase.io.read(out_dir / pair[source], index=":") for source in ("model", "md"))
            times = [a.info["time_fs"] for a in model]
            assert times == [a.info["time_fs"] for a in md] == per_trajectory[trajectory]["curves"]["observed_time_fs"]
            assert all(len(a) == 256 and a.info["mode"] == mode for a in model + md)
            assert model[0].arrays["position_error_A"].max() < 1e-5  # both start from the anchor (stored to float32)
        picture = out_dir / "plots" / f"rollout_{mode}_final_frame.png"
        if rendering_unavailable():
            assert f"note: {mode} rollout picture not rendered" in stdout
        else:
            assert picture.stat().st_size > 20_000


def test_zero_displacement_rollout_keeps_positions_and_has_no_msd_and_cached_baselines_equal_computed_ones(
        mini_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))  # empty: this scoring computes every baseline
    path = make(ZeroDisplacement(), tmp_path, "zero")
    options = ScoreOptions(cost=False, quiet=True)
    scores = score_path(path, mini_dataset, options)
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2 + 2 * len(ROLLOUT_BASELINES)  # 2 splits; 2 modes × baselines
    from_cache = score_path(path, mini_dataset, options)
    timings = ("wall_seconds", "sandbox")
    assert {k: v for k, v in from_cache.items() if k not in timings} == {k: v for k, v in scores.items() if k not in timings}
    for mode in ("nve", "thermostatted"):
        for r in scores["rollouts"][mode]["models"]["submission"]["per_trajectory"].values():
            assert r["survived"]
            assert r["msd_plateau_A2"]["model"] == 0.0
            assert r["msd_plateau_relative_error"] == -1.0


def test_ablation_table_lists_variants_beside_their_base(mini_dataset, tmp_path):
    base = make(ZeroDisplacement(), tmp_path, "base")
    variant = make(ConstantVelocity(), tmp_path, "variant", ablation_of="base", ablation="adds v·Δt")
    result = run_cli("score", str(base), str(variant), "--data", str(mini_dataset), "--no-progress", "--no-rollouts", "--no-cost")
    table = result.stdout.split("ablations (test, NVE targets, Δt = 10 fs)")[1]
    assert "| base   | base" in table and "| adds v·Δt" in table
