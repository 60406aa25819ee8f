"""The velocity-Verlet EAM baseline: equals LAMMPS's own integrator, and is scoreable on its own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from gnnbench.generate.config import load_config
from gnnbench.generate.lammps_runtime import new_lammps
from gnnbench.generate.simulate import potential_commands
from gnnbench.load.frames import read_split
from gnnbench.score.verlet import VerletEam


def lammps_nve(config, positions, velocities, cell, timestep_fs, steps):
    """LAMMPS fix nve (velocity-Verlet) from the same state, fixed cell: the known answer."""
    lmp = new_lammps()
    n = len(positions)
    lx, ly, lz = (repr(float(v)) for v in np.diag(cell))
    for command in ["units metal", "boundary p p p", "atom_style atomic", "atom_modify map array sort 0 0.0",
                    f"region box block 0 {lx} 0 {ly} 0 {lz}", "create_box 1 box"]:
        lmp.command(command)
    lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, np.mod(positions, np.diag(cell)).reshape(-1).tolist(),
                     v=velocities.reshape(-1).tolist())
    for command in potential_commands(config) + [f"timestep {timestep_fs / 1000!r}", "fix 1 all nve", f"run {steps}"]:
        lmp.command(command)
    ids = lmp.numpy.extract_atom("id")[:n]
    order = np.argsort(ids)
    x = np.array(lmp.numpy.extract_atom("x")[:n])[order]
    image = np.array(lmp.numpy.extract_atom("image")[:n])[order]
    v = np.array(lmp.numpy.extract_atom("v")[:n])[order]
    lmp.close()
    # unwrap: LAMMPS packs image flags as 10-bit fields around 512
    shifts = np.stack([(image & 1023) - 512, ((image >> 10) & 1023) - 512, (image >> 20) - 512], axis=1)
    return x + shifts * np.diag(cell), v


@pytest.mark.parametrize("dt_fs,substeps", [(10, 1), (20, 4)])
def test_verlet_baseline_equals_lammps_nve(mini_dataset, dt_fs, substeps):
    config = load_config("mini")
    frames = read_split(mini_dataset, "mini", "test")
    r0, v0, cell = frames.positions[5], frames.velocities[5], frames.cell[5]
    integrator = VerletEam(config, frames.n_atoms, substeps)
    r, v = integrator.advance(r0, v0, cell, dt_fs)
    integrator.close()
    # LAMMPS wraps atoms; compare displacements so the unwrapping is part of the check
    r_ref, v_ref = lammps_nve(config, r0, v0, cell, dt_fs / substeps, substeps)
    wrapped0 = np.mod(r0, np.diag(cell))
    np.testing.assert_allclose(r - r0, r_ref - wrapped0, atol=1e-9)
    np.testing.assert_allclose(v, v_ref, atol=1e-6)  # Å/ps; LAMMPS sums forces in another order
    assert integrator.force_calls == substeps + 1  # anchor force + one per sub-step


def test_verlet_is_scoreable_as_a_builtin_baseline(mini_dataset, tmp_path):
    out = tmp_path / "verlet"
    result = run_cli("score", "--baseline", "verlet-eam", "--substeps", "2", "--data", str(mini_dataset), "--out", str(out),
                     "--no-progress", "--no-rollouts", "--verlet", "")
    assert "verlet-eam-k2 on gnnmd/al-eam" in result.stdout
    scores = json.loads((out / "scores.json").read_text())
    cost = scores["cost"]
    assert cost["submission"]["seconds_per_stride"] == pytest.approx(2 * cost["lammps_eam"]["seconds_per_step"])
    at10 = scores["stride_accuracy"]["test"]["overall"]["10"]
    assert at10["submission"]["rmse_A"] < at10["constant_velocity"]["rmse_A"]
