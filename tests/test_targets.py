"""Dataset 2.0's two target kinds: the NVE branch is the Hamiltonian flow, the NPT run is untouched."""

from __future__ import annotations

import filecmp

import numpy as np
import pytest

from conftest import TINY_CONFIG
from gnnbench.generate.config import load_config
from gnnbench.generate.simulate import simulate_temperature
from gnnbench.load.frames import read_nve_windows, read_split
from gnnbench.score.metrics import failure_temperature_K, has_close_pair
from gnnbench.score.verlet import VerletEam

ENERGY_BOUND_MEV_PER_ATOM = 0.05  # |E(t) − E(0)| / N along any stored NVE branch or window


def rmse(a, b):
    return float(np.sqrt(((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).sum(-1).mean()))


@pytest.mark.parametrize("split", ["test", "test_temperature"])
def test_verlet_with_1fs_substeps_reproduces_the_nve_targets_and_shows_the_npt_floor(mini_dataset, split):
    """The acceptance check that the NVE targets are the Hamiltonian flow: LAMMPS velocity-Verlet
    at 1 fs from the stored anchor state lands on every stored target to float32 precision,
    while the NPT continuation sits a barostat floor (~3e-4 Å at 1 fs) away."""
    frames = read_split(mini_dataset, "mini", split)
    integrator = VerletEam(load_config("mini"), frames.n_atoms)
    worst_nve, npt_at_1fs = np.zeros(len(frames.dt_fs)), []
    for row in range(frames.n_anchors):
        states = integrator.along(frames.positions[row], frames.velocities[row], frames.cell[row], frames.dt_fs)
        for k, (r, _) in enumerate(states):
            worst_nve[k] = max(worst_nve[k], rmse(r - frames.positions[row], frames.nve_target_displacement[row, k]))
        npt_at_1fs.append(rmse(states[0][0] - frames.positions[row], frames.npt_target_displacement[row, 0]))
    integrator.close()
    assert worst_nve.max() <= 1e-7, f"worst RMSE against the NVE targets per Δt: {worst_nve}"
    floor = float(np.sqrt(np.mean(np.square(npt_at_1fs))))
    assert 1e-4 < floor < 6e-4, f"the NPT floor at 1 fs is {floor:.2e} Å"


def test_the_stored_nve_branches_and_windows_conserve_energy(mini_dataset):
    for split in ("train", "test", "test_temperature"):
        frames = read_split(mini_dataset, "mini", split)
        start = (frames.potential_energy_eV + frames.kinetic_energy_eV)[:, None]
        worst = np.abs(frames.nve_target_total_energy_eV - start).max() / frames.n_atoms * 1e3
        assert worst < ENERGY_BOUND_MEV_PER_ATOM, f"{split}: NVE branch energy changes by {worst:.3g} meV/atom"
    for split in ("test", "test_temperature"):
        for trajectory, window in read_nve_windows(mini_dataset, "mini", split).items():
            assert window.time_fs[-1] >= 2000 and np.diff(window.time_fs).max() <= 10
            change = np.abs(window.total_energy_eV - window.total_energy_eV[0]).max() / window.positions.shape[1] * 1e3
            assert change < ENERGY_BOUND_MEV_PER_ATOM, f"{trajectory}: window energy changes by {change:.3g} meV/atom"


def test_the_failure_criterion_never_trips_on_md_at_any_temperature(mini_dataset):
    """A correct integrator never fails a rollout: the MD windows at all 16 temperatures stay
    below the temperature bound and keep every pair farther apart than 1.5 Å."""
    for split in ("test", "test_temperature"):
        for trajectory, window in read_nve_windows(mini_dataset, "mini", split).items():
            assert window.temperature_K.max() < failure_temperature_K(window.thermostat_temperature_K), trajectory
            assert not any(has_close_pair(p, window.cell, 1.5) for p in window.positions[::20]), trajectory


@pytest.mark.slow  # runs LAMMPS itself (two tiny trajectories)
def test_the_npt_trajectory_is_identical_with_and_without_nve_branches(tmp_path):
    config = load_config(TINY_CONFIG)
    temperature = config.held_out_temperatures_K[0]
    simulate_temperature(config, temperature, tmp_path / "with", branches=True)
    simulate_temperature(config, temperature, tmp_path / "without", branches=False)
    assert (tmp_path / "with" / "nve_targets.dump").stat().st_size > 0 and not (tmp_path / "without" / "nve_targets.dump").exists()
    for name in ("anchors.dump", "targets.dump", "thermo.csv"):
        assert filecmp.cmp(tmp_path / "with" / name, tmp_path / "without" / name, shallow=False), name
