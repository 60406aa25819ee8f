"""The usability verdict (gnnbench.score.usability) and the ranking built on it (leaderboard.entries.ranked).

Fast tests on synthetic scores with known answers; the slow test scores a real dissipative model
(Verlet k = 8 followed by v ← 0.97 v: better than Verlet k = 1 per stride, wrong dynamics) on mini.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from gnnbench.leaderboard.entries import Entry, ranked, verdict
from gnnbench.score.baselines import Baseline
from gnnbench.score.run import ScoreOptions, builtin_model, score
from gnnbench.score.usability import Check, failed, is_usable, usability, verdict_line
from gnnbench.score.verlet import VerletEamSubmission


def rollout_summary(*, survived: int = 16, drift: float = 0.02, t_model: float = 300.0, t_drift: float = 0.8, rdf: float = 0.1,
                    vdos: float = 0.05, msd: float = 0.01) -> dict:
    """One mode's summary of the submission, with 16 trajectories at 300 K (MD's mean T 300 K)."""
    per_trajectory = {f"T{i:04d}K": {"survived": i < survived, "temperature_mean_K": {"md": 300.0, "model": t_model}} for i in range(16)}
    return {"survival_fraction": survived / 16, "survival_fraction_n": 16, "time_to_failure_fs": 2000.0 if survived == 16 else 500.0,
            "abs_total_energy_drift_meV_per_atom_per_ps": drift, "abs_temperature_drift_K_per_ps": t_drift,
            "md_abs_temperature_drift_K_per_ps": 0.7, "rdf_error_A": rdf, "rdf_noise_floor_A": 0.2, "vdos_error": vdos,
            "vdos_noise_floor": 0.05, "msd_plateau_relative_error": msd, "per_trajectory": per_trajectory}


def synthetic_scores(name: str, *, rmse_10: float, verlet_k1_10: float = 1.5e-3, **rollout) -> dict:
    at10 = {"submission": {"rmse_A": rmse_10}, Baseline.VERLET_K1.value: {"rmse_A": verlet_k1_10},
            "force_calls_to_match": {"value": None, "bound": "below", "text": "< 1"}}
    summary = rollout_summary(**rollout)
    return {"submission": {"name": name, "metadata": {"name": name, "rollout_stride_fs": 10, "parameter_count": 0}},
            "dataset": {"name": "gnnmd/al-eam", "config": "mini", "version": "2.1.0", "data_sha256": "0" * 64},
            "stride_accuracy": {"nve": {"test": {"dt_fs": [10], "overall": {"10": at10}, "n_anchors": 70, "n_atoms": 256}}},
            "rollouts": {mode: {"n_rollouts": 16, "stride_fs": 10, "horizon_fs": 2000, "models": {"submission": copy.deepcopy(summary)}}
                         for mode in ("nve", "thermostatted")},
            "cost": {}}


def checks_of(scores: dict) -> dict[Check, bool | None]:
    return {r.check: r.passed for r in usability(scores)}


def test_verlet_like_numbers_pass_every_check():
    results = usability(synthetic_scores("verlet-eam-k1", rmse_10=1.5e-3))
    assert is_usable(results) and verdict_line(results, 10) == "usable at 10 fs: passes all 6 checks"


@pytest.mark.parametrize("change,check", [
    ({"survived": 15}, Check.SURVIVAL),
    ({"drift": 35.0}, Check.ENERGY),                # the dissipative model of issue 19
    ({"t_model": 250.0}, Check.TEMPERATURE),        # 17 % cooler than MD
    ({"t_drift": 135.0}, Check.TEMPERATURE),
    ({"rdf": 0.53}, Check.STRUCTURE),               # 2.65 × the floor
    ({"vdos": 0.2}, Check.DYNAMICS),
    ({"msd": -0.4}, Check.DYNAMICS),
    ({"rmse_10": 2e-3}, Check.STRIDE),              # loses to one Verlet step per stride
])
def test_each_bound_fails_only_its_own_check(change, check):
    scores = synthetic_scores("model", **{"rmse_10": 1e-3, **change})
    results = checks_of(scores)
    assert results[check] is False and all(passed for c, passed in results.items() if c is not check)
    line = verdict_line(usability(scores), 10)
    assert line.startswith("not usable at 10 fs: fails " + check.value)


def test_missing_numbers_are_not_measured_and_do_not_pass():
    scores = synthetic_scores("model", rmse_10=1e-3)
    scores["rollouts"]["thermostatted"] = {"skipped": "--no-rollouts"}
    results = checks_of(scores)
    assert results[Check.SURVIVAL] is None and results[Check.STRUCTURE] is None and not is_usable(usability(scores))


def test_a_learned_entry_failing_a_physical_check_never_ranks_above_a_baseline_that_passes_it():
    zero = synthetic_scores("zero-displacement", rmse_10=5.5e-2, rdf=0.45, vdos=1.5, msd=-1.0)     # frozen: fails structure, dynamics
    verlet = synthetic_scores("verlet-eam-k1", rmse_10=1.5e-3)
    dissipative = synthetic_scores("dissipative", rmse_10=5.6e-4, drift=35.0, t_model=200.0)       # beats Verlet per stride
    blowing_up = synthetic_scores("blows-up", rmse_10=2e-3, survived=0, drift=270.0, t_model=500.0, rdf=0.8, vdos=0.9, msd=30.0)
    entries = [Entry(s["submission"]["name"], Path("."), s) for s in (zero, verlet, dissipative, blowing_up)]
    order = [e.name for e in ranked(entries, "test")]
    assert order[0] == "verlet-eam-k1"
    # zero displacement passes energy and temperature, which the dissipative model fails: it ranks above it,
    # although it fails more checks (structure, dynamics, stride) than the dissipative model (energy, temperature)
    assert order.index("zero-displacement") < order.index("dissipative") < order.index("blows-up")
    text = verdict(entries[2], entries)
    assert "not usable at 10 fs: fails energy (NVE |dE/dt| 35 meV/atom/ps" in text and "temperature (NVE mean T off MD's by 33.3 %" in text
    assert [r.check for r in failed(entries[2].checks)] == [Check.ENERGY, Check.TEMPERATURE]


class DampedVerlet:
    """A dissipative integrator: velocity-Verlet with the true forces and 8 steps per stride (far
    better than one Verlet step per stride), then every velocity scaled by 0.97."""

    def __init__(self, config, n_atoms: int):
        self.inner = VerletEamSubmission(config, n_atoms, Baseline.VERLET_K8)
        self.metadata = {**self.inner.metadata, "name": "damped-verlet", "baseline": False}
        self.device = self.inner.device

    name = property(lambda self: self.metadata["name"])

    def predict(self, inputs: dict, context: str, allow_nonfinite: bool = False, phase: str = "other") -> dict:
        out = self.inner.predict(inputs, context, allow_nonfinite, phase)
        return {"positions": out["positions"], "velocities": out["velocities"] * 0.97}

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def damped_and_verlet(mini_dataset, tmp_path_factory):
    from gnnbench.generate.config import load_config

    options = ScoreOptions(cost=False, quiet=True)
    config = load_config(mini_dataset / "recipes" / "mini.yaml")
    damped = DampedVerlet(config, 256)
    verlet = builtin_model(Baseline.VERLET_K1, mini_dataset, "mini")
    try:
        damped_scores = score(damped, mini_dataset, "mini", tmp_path_factory.mktemp("damped"), options)
        verlet_scores = score(verlet, mini_dataset, "mini", tmp_path_factory.mktemp("verlet"), options)
    finally:
        damped.close()
        verlet.close()
    return damped_scores, verlet_scores


def test_a_damped_integrator_that_beats_verlet_per_stride_ranks_below_it_and_is_named_unphysical(damped_and_verlet):
    damped_scores, verlet_scores = damped_and_verlet
    at10 = damped_scores["stride_accuracy"]["nve"]["test"]["overall"]["10"]
    assert at10["submission"]["rmse_A"] < at10[Baseline.VERLET_K1.value]["rmse_A"]  # it wins per stride
    damped, verlet = Entry("damped-verlet", Path("."), damped_scores), Entry("verlet-eam-k1", Path("."), verlet_scores)
    assert is_usable(verlet.checks), verdict_line(verlet.checks, 10)
    assert [e.name for e in ranked([damped, verlet], "test")] == ["verlet-eam-k1", "damped-verlet"]
    failing = {r.check for r in failed(damped.checks)}
    assert {Check.ENERGY, Check.TEMPERATURE} <= failing and Check.STRIDE not in failing
    line = verdict_line(damped.checks, 10)
    assert "fails energy (NVE |dE/dt|" in line and "temperature (NVE mean T off MD's by" in line
    # it cools: its NVE rollouts end far below the MD window's temperature
    nve = damped_scores["rollouts"]["nve"]["models"]["submission"]["per_trajectory"]
    assert np.mean([t["temperature_mean_K"]["model"] / t["temperature_mean_K"]["md"] for t in nve.values()]) < 0.8
    assert damped_scores["usability"] == [r.as_dict() for r in damped.checks]  # the scorer wrote what the leaderboard recomputes
