"""The velocity-Verlet EAM baseline: equals an independent Verlet loop, and is scoreable on its own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from gnnbench.generate.config import load_config
from gnnbench.load.frames import read_split
from gnnbench.score.lammps_eval import EamEvaluator
from gnnbench.score.metrics import MVV2E
from gnnbench.score.verlet import VerletEam


def numpy_verlet(config, positions, velocities, cell, dt_fs, substeps):
    """The known answer: velocity-Verlet written out in numpy, forces from LAMMPS `run 0`."""
    evaluator = EamEvaluator(config, len(positions))
    h, to_acceleration = dt_fs * 1e-3 / substeps, 1.0 / (config.mass_amu * MVV2E)
    r, v = positions.copy(), velocities.copy()
    force = evaluator.evaluate(r, cell, forces=True)["forces"]
    for _ in range(substeps):
        v = v + 0.5 * h * force * to_acceleration
        r = r + h * v
        force = evaluator.evaluate(r, cell, forces=True)["forces"]
        v = v + 0.5 * h * force * to_acceleration
    evaluator.close()
    return r, v


@pytest.mark.parametrize("dt_fs,substeps", [(10, 1), (20, 4)])
def test_verlet_baseline_equals_an_independent_verlet_loop(mini_dataset, dt_fs, substeps):
    config = load_config("mini")
    frames = read_split(mini_dataset, "mini", "test")
    r0, v0, cell = frames.positions[5], frames.velocities[5], frames.cell[5]
    integrator = VerletEam(config, frames.n_atoms)
    r, v = integrator.advance(r0, v0, cell, dt_fs, substeps)
    # continuing from the returned state (no LAMMPS set-up) equals starting afresh from it
    r2, v2 = integrator.advance(r, v, cell, dt_fs, substeps)
    integrator.close()
    r_ref, v_ref = numpy_verlet(config, r0, v0, cell, dt_fs, substeps)
    np.testing.assert_allclose(r - r0, r_ref - r0, atol=1e-9)  # unwrapped: displacements across the boundary included
    np.testing.assert_allclose(v, v_ref, atol=1e-6)  # Å/ps; LAMMPS sums forces in another order
    fresh = VerletEam(config, frames.n_atoms)
    r3, v3 = fresh.advance(r.copy(), v.copy(), cell, dt_fs, substeps)
    fresh.close()
    np.testing.assert_allclose(r2, r3, atol=1e-9)
    np.testing.assert_allclose(v2, v3, atol=1e-6)


def test_verlet_is_scoreable_as_a_builtin_baseline(mini_dataset, tmp_path):
    out = tmp_path / "verlet"
    result = run_cli("score", "--baseline", "verlet-eam-k4", "--data", str(mini_dataset), "--out", str(out), "--no-progress", "--no-rollouts")
    assert "verlet-eam-k4 on gnnmd/al-eam" in result.stdout
    scores = json.loads((out / "scores.json").read_text())
    cost = scores["cost"]
    assert cost["submission"]["seconds_per_stride"] == pytest.approx(4 * cost["lammps_eam"]["seconds_per_step"])
    at10 = scores["stride_accuracy"]["nve"]["test"]["overall"]["10"]
    assert at10["submission"]["rmse_A"] == pytest.approx(at10["verlet_eam_k4"]["rmse_A"], rel=1e-9)  # it is its own baseline
    assert at10["submission"]["rmse_A"] < at10["constant_velocity"]["rmse_A"]


def test_baselines_on_worker_processes_equal_those_computed_in_the_scorer(mini_dataset):
    """The scorer's worker pool (score/workers.py) changes when a baseline runs, never its numbers:
    stride errors split into shares over 2 spawned workers, and one baseline's rollouts run in a
    worker, equal (bit for bit, NaN where unset) what this process computes alone."""
    from gnnbench.load.frames import read_nve_windows
    from gnnbench.score.baselines import Baseline
    from gnnbench.score.protocol import load_protocol
    from gnnbench.score.rollout import RolloutMode, run_mode, start_baseline_rollouts
    from gnnbench.score.stride import StrideBaselines, _Accumulator
    from gnnbench.score.workers import worker_pool

    config, protocol = load_config("mini"), load_protocol("mini")
    frames = read_split(mini_dataset, "mini", "test")
    strides, baselines = [1, 10], (Baseline.CONSTANT_VELOCITY, Baseline.VERLET_K1, Baseline.VERLET_K2)
    splits = {split: read_split(mini_dataset, "mini", split) for split in ("test", "test_temperature")}
    windows = {t: w for split in splits for t, w in read_nve_windows(mini_dataset, "mini", split).items()}
    here = _Accumulator(frames.n_anchors, strides, [b.value for b in baselines])
    StrideBaselines(frames, strides, config, baselines).fill(here)
    on_workers = _Accumulator(frames.n_anchors, strides, [b.value for b in baselines])
    with worker_pool(2) as pool:
        shares = StrideBaselines(frames, strides, config, baselines, pool=pool)
        assert len(shares.jobs) == 2 * StrideBaselines.JOBS_PER_WORKER
        shares.fill(on_workers)
        verlet_entry = type("VerletEntry", (), {"baseline": Baseline.VERLET_K2, "metadata": {
            "rollout_stride_fs": 10, "predicts_velocities": True, "uses_descriptors": False}})()
        queued = start_baseline_rollouts(verlet_entry, splits, windows, config, protocol, (Baseline.VERLET_K1, Baseline.VERLET_K2),
                                         None, pool)
        assert {mode: set(jobs) for mode, jobs in queued.items()} == {mode: {"verlet_eam_k1"} for mode in RolloutMode}  # not itself
        in_worker = queued[RolloutMode.NVE]["verlet_eam_k1"].result()
        for future in queued[RolloutMode.THERMOSTATTED].values():
            future.cancel()
    assert here.values.keys() == on_workers.values.keys()
    for key, values in here.values.items():
        np.testing.assert_array_equal(values, on_workers.values[key], err_msg=str(key))
    assert here.has_velocity == on_workers.has_velocity == {b.value for b in baselines}
    # run_mode's own (in-process) rollouts of Verlet k = 1 beside a Verlet entry: the worker's numbers
    inline = run_mode(RolloutMode.NVE, verlet_entry, splits, windows, config, protocol, (Baseline.VERLET_K1,))
    assert json.dumps(inline["models"]["verlet_eam_k1"], sort_keys=True) == json.dumps(in_worker, sort_keys=True)
