"""A model that takes only its own timestep (a metatomic FlashMD model reports one, and its masses) is
scored at that Δt alone, beside the baselines at every Δt, and refused when its timestep or its
masses do not fit the data (gnnbench.score.run.model_strides_fs)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from gnnbench.generate.config import load_config
from gnnbench.predict.export import trivial_metadata, write_submission
from gnnbench.predict.submission import SubmissionError
from gnnbench.predict.trivial import ConstantVelocity
from gnnbench.score.report import stride_table, validate_scores
from gnnbench.score.run import ScoreOptions, load_model, model_strides_fs, score

AL_MASS = 26.9815
DATA_STRIDES = [1, 2, 5, 10, 15, 20, 30, 40, 50]


def fake(strides_fs, masses_u, rollout_stride_fs=10):
    return SimpleNamespace(path=Path("model.pt"), metadata={"rollout_stride_fs": rollout_stride_fs},
                           model_info={"strides_fs": strides_fs, "masses_u": masses_u})


def test_a_model_without_its_own_timestep_takes_every_stride():
    config = SimpleNamespace(mass_amu=AL_MASS)
    assert model_strides_fs(fake(None, None), config, DATA_STRIDES, {13}) is None
    assert model_strides_fs(SimpleNamespace(path=Path("m"), metadata={}), config, DATA_STRIDES, {13}) is None


def test_own_timestep_and_masses_are_checked_against_the_data():
    config = SimpleNamespace(mass_amu=AL_MASS)
    assert model_strides_fs(fake([10.0], {"13": AL_MASS}), config, DATA_STRIDES, {13}) == [10]
    assert model_strides_fs(fake([10.0], {13: AL_MASS * (1 + 5e-6)}), config, DATA_STRIDES, {13}) == [10]  # within 1e-5
    with pytest.raises(SubmissionError, match="not all Δt of the data"):
        model_strides_fs(fake([7.0], {"13": AL_MASS}), config, DATA_STRIDES, {13})
    with pytest.raises(SubmissionError, match="rollout_stride_fs 5 fs, but the model's own timestep is \\[10\\]"):
        model_strides_fs(fake([10.0], {"13": AL_MASS}, rollout_stride_fs=5), config, DATA_STRIDES, {13})
    with pytest.raises(SubmissionError, match="mass for Z = 13 is 27.5 u"):
        model_strides_fs(fake([10.0], {"13": 27.5}), config, DATA_STRIDES, {13})
    with pytest.raises(SubmissionError, match="mass for Z = 13 is None"):
        model_strides_fs(fake([10.0], {"26": 55.8}), config, DATA_STRIDES, {13})


def test_an_own_timestep_model_is_scored_at_that_stride_alone(mini_dataset, tmp_path):
    path = write_submission(ConstantVelocity(), trivial_metadata("own-timestep", "constant velocity that says it takes 10 fs only"),
                            tmp_path / "own-timestep")
    model = load_model(path, trust=True)
    mass = load_config(mini_dataset / "recipes" / "mini.yaml").mass_amu
    model.model_info = {"strides_fs": [10.0], "masses_u": {13: mass}}
    scores = score(model, mini_dataset, "mini", path.parent, ScoreOptions(rollouts=False, cost=False, quiet=True))
    validate_scores(scores)
    assert scores["submission"]["model_strides_fs"] == [10]
    for split, result in scores["stride_accuracy"]["nve"].items():
        for dt in result["dt_fs"]:
            at = result["overall"][str(dt)]
            assert "constant_velocity" in at and "verlet_eam_k1" in at  # the baselines at every Δt
            if dt == 10:
                assert at["submission"]["rmse_A"] == at["constant_velocity"]["rmse_A"]  # it is constant velocity
            else:
                assert "submission" not in at and "skill_vs_zero" not in at
                assert all("submission" not in by_dt[str(dt)] for by_dt in result["per_temperature"].values())
        table = stride_table("nve", split, result, "own-timestep")
        row = next(line for line in table.splitlines() if line.startswith("| own-timestep"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[result["dt_fs"].index(1) + 1] == "—" and cells[result["dt_fs"].index(10) + 1] != "—"
        assert "Δt 10 fs: own-timestep" in table and "Δt  1 fs" not in table
