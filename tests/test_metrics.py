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
    ratio_of_means,
    rdf_error_A,
    root_mean,
    skill,
    survival_curve,
    time_to_failure_at_horizon_fs,
)
from gnnbench.score.rollout import TIME_TO_FAILURE, aggregate_values, energy_drift_vs_verlet_k1
from gnnbench.score.thermostat import BussiThermostat
from gnnbench.score.vibrations import (
    VelocityEstimator,
    backward_difference,
    common_interval_fs,
    reference_vdos,
    spectrum_velocities,
    vdos,
    vdos_error,
)

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


# --- rollout survival --------------------------------------------------------------------------

def test_time_to_failure_counts_a_survivor_at_the_horizon():
    horizon, stride = 2000.0, 10.0
    assert time_to_failure_at_horizon_fs([None] * 16, horizon_fs=horizon).mean() == horizon  # every rollout survives
    assert time_to_failure_at_horizon_fs([stride] * 16, horizon_fs=horizon).mean() == stride  # every one fails at its first stride
    mix = [None, 10.0, 500.0, None]
    assert time_to_failure_at_horizon_fs(mix, horizon_fs=horizon).mean() == (2000 + 10 + 500 + 2000) / 4
    # the rollout aggregate: per-trajectory None (survived) counted at the horizon, every rollout counted
    per_trajectory = {f"T{i}": {"time_to_failure_fs": t} for i, t in enumerate(mix)}
    np.testing.assert_array_equal(aggregate_values(TIME_TO_FAILURE, per_trajectory, horizon_fs=horizon), [2000, 10, 500, 2000])
    with pytest.raises(ValueError):
        time_to_failure_at_horizon_fs([2010.0], horizon_fs=horizon)


def test_survival_curve_drops_at_each_failure_time():
    times = np.arange(0.0, 2001.0, 10.0)
    alive = survival_curve([None, 10.0, 500.0, None], times_fs=times)
    assert alive[0] == 1.0                                   # every rollout starts alive
    assert alive[times == 10.0][0] == 0.75                   # one failed at its first stride
    assert alive[times == 490.0][0] == 0.75 and alive[times == 500.0][0] == 0.5
    assert alive[-1] == 0.5                                  # the survival fraction
    assert np.all(np.diff(alive) <= 0)
    np.testing.assert_array_equal(survival_curve([None, None], times_fs=times), np.ones(len(times)))


def test_energy_drift_ratio_to_verlet_k1_is_paired_on_trajectories():
    def model(drifts):
        return {"per_trajectory": {name: {"total_energy_drift_meV_per_atom_per_ps": {"md": 0.0, "model": d}} for name, d in drifts.items()}}
    verlet = model({"a": 1.0, "b": -1.0, "c": 2.0})
    ratio = energy_drift_vs_verlet_k1(model({"a": 2.0, "b": -4.0, "c": None}), verlet)  # c: no drift, so not paired
    assert ratio["energy_drift_vs_verlet_k1"] == pytest.approx(3.0) and ratio["energy_drift_vs_verlet_k1_n"] == 2
    assert energy_drift_vs_verlet_k1(model({"a": 2.0}), None)["energy_drift_vs_verlet_k1"] is None
    assert energy_drift_vs_verlet_k1(model({"a": 2.0}), {"failed": True, "error": "x"})["energy_drift_vs_verlet_k1"] is None
    assert ratio_of_means(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == 2.0
    assert np.isnan(ratio_of_means(np.array([1.0]), np.array([0.0])))


# --- vibrational density of states ---------------------------------------------------------------

def oscillators(frequencies_THz, *, n_atoms: int = 64, interval_fs: float = 10.0, duration_fs: float = 2000.0,
                damping_ps: float | None = None, seed: int = 0) -> np.ndarray:
    """Velocities [T, N, 3]: every component a sum of harmonic oscillators at ``frequencies_THz``,
    random (Rayleigh) amplitudes and uniform phases, as a thermal phonon gas; optionally damped,
    v · exp(−t/τ)."""
    rng = np.random.default_rng(seed)
    t_ps = np.arange(0.0, duration_fs + interval_fs / 2, interval_fs) * 1e-3
    nu = np.asarray(frequencies_THz, np.float64)[:, None, None, None]
    amplitude = rng.rayleigh(size=(len(nu), 1, n_atoms, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(len(nu), 1, n_atoms, 3))
    velocities = (amplitude * np.cos(2 * np.pi * nu * t_ps[None, :, None, None] + phase)).sum(0)
    return velocities * np.exp(-t_ps / damping_ps)[:, None, None] if damping_ps else velocities


def test_vdos_of_harmonic_oscillators_peaks_at_their_frequencies_and_has_unit_area():
    frequency, g = vdos(oscillators([3.0, 7.0]), interval_fs=10.0)  # 1 ps segments: a 1 THz grid up to 50 THz
    assert frequency[1] == pytest.approx(1.0) and frequency[-1] == pytest.approx(50.0)
    assert g.sum() * frequency[1] == pytest.approx(1.0)
    assert frequency[np.argmax(g[:5])] == 3.0 and frequency[5 + np.argmax(g[5:])] == 7.0
    near = (np.abs(frequency - 3.0) <= 1) | (np.abs(frequency - 7.0) <= 1)  # the Hann window's main lobe
    assert g[near].sum() * frequency[1] > 0.999
    # off the grid, at 20 fs sampling (Nyquist 25 THz) and with 0.5 ps segments: still unit area, peak within a bin
    frequency, g = vdos(oscillators([4.3], interval_fs=20.0), interval_fs=20.0, segment_fs=500.0)
    assert g.sum() * frequency[1] == pytest.approx(1.0) and abs(frequency[np.argmax(g)] - 4.3) <= frequency[1]


def test_vdos_is_mass_weighted():
    """Half the atoms at 3 THz, half (three times heavier) at 7 THz, every component of unit mean
    square: the 7 THz line holds 3/4 of the area (m |v|², not |v|²)."""
    velocities = np.concatenate([oscillators([3.0], n_atoms=32, seed=1), oscillators([7.0], n_atoms=32, seed=2)], axis=1)
    velocities /= np.sqrt((velocities**2).mean(0, keepdims=True))
    frequency, g = vdos(velocities, interval_fs=10.0, masses_amu=np.repeat([1.0, 3.0], 32))
    assert g[np.abs(frequency - 7.0) <= 1].sum() * frequency[1] == pytest.approx(0.75, abs=1e-3)


def test_vdos_error_is_small_for_one_process_and_large_for_a_damped_oscillator():
    frequencies = [3.0, 7.0]
    frequency, g_a = vdos(oscillators(frequencies, seed=1), interval_fs=10.0)
    _, g_b = vdos(oscillators(frequencies, seed=2), interval_fs=10.0)
    assert vdos_error(g_a, g_a, frequency) == 0.0
    assert vdos_error(g_a, g_b, frequency) < 0.1  # two independent samples of the same process
    # an oscillator damped in 0.1 ps (half a period at 5 THz): its line broadens to ~1/(2πτ) = 1.6 THz half-width
    _, undamped = vdos(oscillators([5.0], seed=3), interval_fs=10.0)
    _, damped = vdos(oscillators([5.0], seed=3, damping_ps=0.1), interval_fs=10.0)
    assert vdos_error(undamped, damped, frequency) > 0.3
    assert vdos_error(np.eye(1, len(frequency), 3)[0], np.eye(1, len(frequency), 8)[0], frequency) == 2.0  # disjoint, unit-area spectra
    floor = reference_vdos(oscillators(frequencies, seed=1), interval_fs=10.0).noise_floor  # the two halves of one run
    assert floor < 0.05


def test_vdos_inputs_are_checked():
    with pytest.raises(ValueError, match="fewer than one segment"):
        vdos(oscillators([5.0], duration_fs=500.0), interval_fs=10.0)
    with pytest.raises(ValueError, match="finite"):
        vdos(np.full((200, 4, 3), np.nan), interval_fs=10.0)
    with pytest.raises(ValueError, match=r"\[T, N, 3\]"):
        vdos(np.zeros((200, 4)), interval_fs=10.0)
    with pytest.raises(ValueError, match="all zero"):
        vdos(np.zeros((200, 4, 3)), interval_fs=10.0)
    with pytest.raises(ValueError):
        vdos_error(np.ones(3), np.ones(4), np.arange(3.0))
    assert reference_vdos(oscillators([5.0], duration_fs=500.0), interval_fs=10.0) is None  # less than one segment
    assert reference_vdos(oscillators([5.0], duration_fs=1500.0), interval_fs=10.0).noise_floor is None  # halves too short


def test_model_and_md_spectra_share_one_interval_and_one_estimator():
    assert [common_interval_fs(s, 10) for s in (1, 5, 10, 20, 30, 15, 7)] == [10, 10, 10, 20, 30, None, None]
    times_ps = np.arange(0, 41) * 5e-3  # every 5 fs
    positions = np.stack([np.sin(2 * np.pi * 4.0 * times_ps)] * 3, axis=-1)[:, None, :]  # one atom at 4 THz
    velocities = np.gradient(positions, times_ps, axis=0)
    predicted = spectrum_velocities(positions, velocities, every=2, interval_fs=10.0, estimator=VelocityEstimator.PREDICTED)
    np.testing.assert_array_equal(predicted, velocities[::2])
    finite = spectrum_velocities(positions, None, every=2, interval_fs=10.0, estimator=VelocityEstimator.FINITE_DIFFERENCE)
    np.testing.assert_allclose(finite, (positions[2::2] - positions[:-2:2]) / 10e-3)  # Δr/Δt at 10 fs, one sample fewer
    np.testing.assert_allclose(backward_difference(np.arange(4.0)[:, None, None] * np.ones((1, 2, 3)), 10.0), 100.0)  # 1 Å per 10 fs
    with pytest.raises(ValueError, match="needs velocities"):
        spectrum_velocities(positions, None, every=1, interval_fs=5.0, estimator=VelocityEstimator.PREDICTED)
