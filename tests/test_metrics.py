"""Fast unit tests of every metric on cases with known answers (no LAMMPS, no data build)."""

from __future__ import annotations

import numpy as np
import pytest

from gnnbench.score.baselines import Baseline
from gnnbench.score.bootstrap import bootstrap_ci, with_ci
from gnnbench.score.metrics import (
    BOLTZMANN_EV_PER_K,
    MVV2E,
    anchor_mae,
    anchor_mse,
    drift_per_ps,
    energy_drift_meV_per_atom_per_ps,
    failure_temperature_K,
    has_close_pair,
    kinetic_temperature,
    mean,
    mean_squared_displacement,
    plateau,
    rdf_error_A,
    root_mean,
    skill,
)
from gnnbench.score.thermostat import BussiThermostat

RNG = np.random.default_rng(0)


def fcc_lattice(cells: int = 4, a0: float = 4.05):
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    lattice = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    return ((lattice[:, None, :] + basis[None]) * a0).reshape(-1, 3), np.eye(3) * a0 * cells


def test_drift_of_a_line_is_its_slope_per_ps():
    times_fs = np.arange(0, 2001, 10.0)
    assert drift_per_ps(times_fs, 3.0 + 0.25 * times_fs) == pytest.approx(250.0)  # 0.25 per fs = 250 per ps
    energy = -850.0 + 2e-3 * times_fs * 1e-3 * 256  # +2 meV/atom/ps on 256 atoms, in eV
    assert energy_drift_meV_per_atom_per_ps(times_fs, energy, 256) == pytest.approx(2.0)
    assert np.isnan(drift_per_ps([0.0], [1.0]))


def test_msd_of_ballistic_motion_is_v_squared_t_squared():
    r0, v = RNG.normal(size=(50, 3)), RNG.normal(size=(50, 3))
    times = np.arange(6.0)
    trajectory = r0[None] + times[:, None, None] * v[None]
    np.testing.assert_allclose(mean_squared_displacement(trajectory), (v**2).sum(-1).mean() * times**2)
    assert plateau(np.array([0.0, 0.0, 1.0, 3.0])) == 2.0


def test_rdf_error_is_the_integral_of_the_absolute_difference_in_angstrom():
    """(The RDF itself is tested in test_structure.py.)"""
    r = (np.arange(600) + 0.5) * 0.01
    g = np.exp(-((r - 2.86) ** 2) / 0.01)
    assert rdf_error_A(g, g, r) == 0.0
    assert rdf_error_A(g, g + 0.5, r) == pytest.approx(0.5 * 6.0)  # ∫|Δg| dr = 0.5 × r_max, in Å


def test_close_pair_detection_across_the_periodic_boundary():
    positions, cell = fcc_lattice()
    assert not has_close_pair(positions, cell, 2.0)
    moved = positions.copy()
    moved[0] = [cell[0, 0] - 0.3, 0.0, 0.0]  # 0.7 Å from atom 1 through the x boundary
    moved[1] = [0.4, 0.0, 0.0]
    assert has_close_pair(moved, cell, 1.5)


def test_per_anchor_errors_and_skill_of_the_oracle():
    true = RNG.normal(size=(7, 20, 3))
    assert np.all(anchor_mse(true, true) == 0) and np.all(anchor_mae(true, true) == 0)
    zero = np.zeros_like(true)
    np.testing.assert_allclose(anchor_mse(zero, true), (true**2).sum(-1).mean(-1))
    np.testing.assert_allclose(anchor_mae(zero, true), np.linalg.norm(true, axis=-1).mean(-1))
    base = anchor_mse(zero, true)
    assert skill(anchor_mse(true, true), base) == 1.0          # the oracle
    assert skill(base, base) == 0.0                              # the baseline itself
    assert root_mean(np.array([4.0, 4.0])) == 2.0 and mean(np.array([1.0, 3.0])) == 2.0
    assert np.isnan(skill(base, np.zeros(7)))


def test_ci_of_a_constant_metric_has_zero_width_and_a_ci_contains_its_estimate():
    low, high = bootstrap_ci(root_mean, np.full(40, 2.5e-3))
    assert low == high == pytest.approx(np.sqrt(2.5e-3))
    samples = RNG.exponential(size=200)
    entry = with_ci("mse", mean, samples)
    low, high = entry["mse_ci95"]
    assert low < entry["mse"] < high
    assert (high - low) == pytest.approx(2 * 1.96 * samples.std() / np.sqrt(200), rel=0.25)
    assert bootstrap_ci(mean, samples) == bootstrap_ci(mean, samples)  # seeded: rescoring reproduces it
    paired = bootstrap_ci(skill, samples * 0.5, samples)  # skill of a model with half the MSE on every anchor
    assert paired[0] == paired[1] == pytest.approx(0.5)


def test_kinetic_temperature_and_failure_threshold():
    n, mass, t = 500, 26.98, 300.0
    v = RNG.normal(size=(n, 3)) * np.sqrt(BOLTZMANN_EV_PER_K * t / (mass * MVV2E))
    assert kinetic_temperature(v, mass) == pytest.approx(t, rel=0.05)
    assert failure_temperature_K(5.0) == 110.0 and failure_temperature_K(800.0) == 1700.0


def test_bussi_thermostat_holds_an_ideal_gas_at_its_temperature():
    """Free particles (no forces): only the thermostat changes T. From 10× the target it relaxes
    to the target, and then samples the canonical distribution of T: mean T and its variance
    2 T² / N_f."""
    n_atoms, mass, target = 64, 26.98, 300.0
    velocities = RNG.normal(size=(n_atoms, 3)) * np.sqrt(BOLTZMANN_EV_PER_K * 3000.0 / (mass * MVV2E))
    velocities -= velocities.mean(0)
    thermostat = BussiThermostat(target, tau_fs=100.0, mass_amu=mass, seed=1)
    temperatures = []
    for _ in range(20000):
        velocities = thermostat.apply(velocities, 10.0)
        temperatures.append(kinetic_temperature(velocities, mass))
    temperatures = np.array(temperatures[500:])
    n_dof = 3 * n_atoms - 3
    assert temperatures.mean() == pytest.approx(target, rel=0.01)
    assert temperatures.var() == pytest.approx(2 * target**2 / n_dof, rel=0.1)
    assert np.allclose(velocities.mean(0), 0.0, atol=1e-12)  # rescaling keeps the total momentum at zero
    assert np.array_equal(BussiThermostat(target, 100.0, mass, seed=1).apply(np.zeros((4, 3)), 10.0), np.zeros((4, 3)))


def test_baseline_keys_are_an_enum_with_sub_steps():
    assert Baseline("verlet_eam_k4") is Baseline.VERLET_K4 and Baseline.VERLET_K4.entry_name == "verlet-eam-k4"
    assert [Baseline.VERLET_K1.substeps(10), Baseline.VERLET_K2.substeps(10), Baseline.VERLET_K4.substeps(10), Baseline.VERLET_K8.substeps(10),
            Baseline.VERLET_EXACT.substeps(30, exact_step_fs=0.1)] == [1, 2, 4, 8, 300]
    with pytest.raises(ValueError, match="exact_step_fs"):
        Baseline.VERLET_EXACT.substeps(30)
    with pytest.raises(ValueError):
        Baseline.CONSTANT_VELOCITY.substeps(10)
    assert all(b.label and b.description for b in Baseline)
