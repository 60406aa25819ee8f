"""The metrics: each a short function whose docstring gives its formula and unit, listed once in
:data:`METRICS` (which ``scores.json`` carries as its ``definitions``).

Conventions: positions r in Å, velocities v in Å/ps, times in fs unless named ``_ps``,
energies in eV, temperatures in K. "Per-atom displacement error" is the vector
e_i = (r_pred,i − r_i(t)) − (r_true,i(t+Δt) − r_i(t)), computed from displacements so that a
model returning its input gets exactly e_i = −Δr_true,i.

Stride metrics are computed per anchor (:func:`anchor_mse`, :func:`anchor_mae`) and aggregated
by the statistics below, which work on a trailing anchor axis so the bootstrap
(:mod:`gnnbench.score.bootstrap`) can call them on resampled arrays [B, R] at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..units import PS_PER_FS

BOLTZMANN_EV_PER_K = 8.617343e-5  # LAMMPS metal units (force->boltz)
MVV2E = 1.0364269e-4              # LAMMPS metal units: amu·(Å/ps)² -> eV (force->mvv2e)


@dataclass(frozen=True)
class Metric:
    key: str
    unit: str
    definition: str


METRICS: tuple[Metric, ...] = (
    Metric("mse_A2", "Å²", "MSE = mean over anchors and atoms of |e_i|², e_i = predicted − true displacement vector"),
    Metric("rmse_A", "Å", "RMSE = sqrt(MSE): root mean square of the per-atom displacement-vector error; the paper's 'loss in Å'"),
    Metric("mae_A", "Å", "MAE = mean over anchors and atoms of |e_i|, the Euclidean norm of the per-atom error vector"),
    Metric("velocity_rmse_A_per_ps", "Å/ps", "sqrt(mean over anchors and atoms of |v_pred − v_true|²) at t + Δt"),
    Metric("skill_vs_zero", "", "1 − MSE / MSE(zero displacement) on the same frames (1 = perfect, 0 = no better, < 0 = worse)"),
    Metric("skill_vs_constant_velocity", "", "1 − MSE / MSE(constant velocity r + vΔt) on the same frames"),
    Metric("ci95", "", "95 % percentile-bootstrap confidence interval: anchors resampled with replacement for stride metrics, "
                       "trajectories for rollout metrics (1000 resamples, fixed seed)"),
    Metric("temperature_K", "K", "T = Σ_i m |v_i|² / ((3N − 3) k_B), from velocities"),
    Metric("total_energy_drift_meV_per_atom_per_ps", "meV/atom/ps",
           "slope of a least-squares line through (EAM potential energy from LAMMPS + kinetic energy) / N against time"),
    Metric("temperature_drift_K_per_ps", "K/ps", "slope of a least-squares line through T against time"),
    Metric("rdf_error_A", "Å", "∫|g_ref(r) − g_pred(r)| dr over [0, r_max], each g averaged over the observed frames "
                               "(OVITO CoordinationAnalysisModifier, the same code for model and MD); "
                               "beside it the MD noise floor, the same integral between the two halves of the reference"),
    Metric("msd_plateau_relative_error", "", "(MSD_pred − MSD_ref) / MSD_ref, each the mean of MSD(t) = mean_i |r_i(t) − r_i(0)|² "
                                             "over the last half of the horizon"),
    Metric("temperature_spread_K", "K", "standard deviation of T over the rollout (thermostatted mode)"),
    Metric("fcc_fraction", "", "fraction of atoms labelled FCC by fixed-cutoff common neighbour analysis at the dataset's "
                               "descriptor cutoff (OVITO CommonNeighborAnalysisModifier, the same code for model and MD; "
                               "the classification of LAMMPS compute cna/atom that made the stored CNA descriptor)"),
    Metric("survival_fraction", "", "fraction of rollouts that reach the horizon without failing"),
    Metric("time_to_failure_fs", "fs", "per rollout, the first stride time at which positions are not finite, two atoms are "
                                       "closer than 1.5 Å, or T exceeds 2 × set-point + 100 K (null if it never fails); "
                                       "averaged over rollouts, a rollout that survives the whole horizon counts at the horizon "
                                       "(so a mean equal to the horizon means no failure, or failures at the last stride only)"),
    Metric("survival_curve", "", "fraction of rollouts alive at each stride time t (fs): those that have not failed at or "
                                 "before t (1 at t = 0; its value at the horizon is the survival fraction)"),
    Metric("temperature_mean_error_K", "K", "mean T of the rollout (every stride) − mean T of the MD reference over the same "
                                            "times, signed; in NVE mode the reference is the NVE window from the same start "
                                            "state, so a dissipative model shows as a negative error"),
    Metric("vdos_error", "", "∫|g_MD(ν) − g_model(ν)| dν over [0, ν_Nyquist], in [0, 2]: g the vibrational density of "
                             "states, the mass-weighted power spectrum of the velocities (Fourier transform of the velocity "
                             "autocorrelation) averaged over atoms and components, Welch's estimate (Hann window, 1 ps "
                             "segments, 50 % overlap), unit area, ν in THz. Both modes against the NVE reference window of "
                             "the same trajectory (2 ps every 10 fs; the NPT window every 100 fs cannot resolve phonons up "
                             "to ~10 THz), model and MD at one common interval (the larger of stride and window interval "
                             "when one divides the other, else not computed) and through the same velocity estimator: the "
                             "model's velocities against the window's, or for a positions-only model the backward "
                             "difference Δr/Δt of positions for both. The model's spectrum covers its rollout up to the "
                             "window's length, or up to its failure (null if that holds less than one segment, or if its "
                             "atoms never move)"),
    Metric("vdos_noise_floor", "", "vdos_error between the first and the second half of the MD reference window "
                                   "(MD against MD, one Welch segment each): below it a model's spectrum is as close to MD "
                                   "as MD is to itself"),
    Metric("energy_drift_vs_verlet_k1", "", "the submission's mean over NVE rollouts of |total-energy drift| / Verlet k = 1's "
                                            "at the same stride on the same trajectories (paired; CI by resampling "
                                            "trajectories): < 1 conserves energy better than one force call per stride"),
)
DEFINITIONS = {m.key: f"{m.definition} ({m.unit})" if m.unit else m.definition for m in METRICS}


# --- stride accuracy: per anchor, then statistics over the (trailing) anchor axis ------------

def anchor_mse(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per-anchor mean over atoms of |x_pred − x_true|² for arrays [R, N, 3] -> [R] (Å² or (Å/ps)²)."""
    error = np.asarray(predicted, np.float64) - np.asarray(true, np.float64)
    return (error**2).sum(-1).mean(-1)


def anchor_mae(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per-anchor mean over atoms of |x_pred − x_true| (Euclidean norm per atom) -> [R] (Å)."""
    error = np.asarray(predicted, np.float64) - np.asarray(true, np.float64)
    return np.sqrt((error**2).sum(-1)).mean(-1)


def mean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis (anchors hold equal atom counts, so this is the per-atom mean)."""
    return np.mean(values, axis=-1)


def root_mean(values: np.ndarray) -> np.ndarray:
    """sqrt(mean over the last axis): RMSE from per-anchor MSEs."""
    return np.sqrt(np.mean(values, axis=-1))


def skill(mse: np.ndarray, mse_baseline: np.ndarray) -> np.ndarray:
    """1 − mean(MSE) / mean(MSE_baseline) over the last axis (paired anchors)."""
    baseline = np.mean(mse_baseline, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(baseline > 0, 1.0 - np.mean(mse, axis=-1) / np.where(baseline > 0, baseline, 1.0), np.nan)


# --- physics of a frame ----------------------------------------------------------------------

def kinetic_energy(velocities: np.ndarray, mass_amu: float) -> float:
    """KE = ½ Σ_i m |v_i|² · mvv2e (eV)."""
    return float(0.5 * mass_amu * MVV2E * (np.asarray(velocities) ** 2).sum())


def kinetic_temperature(velocities: np.ndarray, mass_amu: float) -> float:
    """T = Σ m|v|² · mvv2e / ((3N − 3) k_B) in K, LAMMPS's ``temp`` with momentum removed."""
    n_atoms = velocities.shape[0]
    return 2.0 * kinetic_energy(velocities, mass_amu) / ((3 * n_atoms - 3) * BOLTZMANN_EV_PER_K)


def rdf_error_A(g_ref: np.ndarray, g_pred: np.ndarray, r: np.ndarray) -> float:
    """∫|g_ref(r) − g_pred(r)| dr over the (uniform) bins, in Å. Not normalised, so it does not
    depend on how structured g_ref is, i.e. on temperature."""
    dr = float(r[1] - r[0])
    return float(np.abs(np.asarray(g_ref) - np.asarray(g_pred)).sum() * dr)


def mean_squared_displacement(trajectory: np.ndarray) -> np.ndarray:
    """MSD(t) = mean_i |r_i(t) − r_i(0)|² (Å²) for unwrapped positions [T, N, 3]."""
    trajectory = np.asarray(trajectory)
    return ((trajectory - trajectory[:1]) ** 2).sum(-1).mean(-1)


def plateau(curve: np.ndarray) -> float:
    """Mean of a curve over its last half (the MSD plateau of a crystal)."""
    curve = np.asarray(curve)
    return float(curve[len(curve) // 2:].mean())


def ratio_of_means(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """mean(values) / mean(reference) over the last axis (paired samples; NaN where the reference's mean is 0)."""
    denominator = np.mean(reference, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, np.mean(values, axis=-1) / np.where(denominator != 0, denominator, 1.0), np.nan)


def drift_per_ps(times_fs: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of ``values`` against time, per ps (NaN with fewer than 2 points)."""
    if len(times_fs) < 2:
        return float("nan")
    return float(np.polyfit(np.asarray(times_fs) * PS_PER_FS, np.asarray(values, np.float64), 1)[0])


def energy_drift_meV_per_atom_per_ps(times_fs: np.ndarray, total_energy_eV: np.ndarray, n_atoms: int) -> float:
    """Slope of E_total / N against time, in meV per atom per ps."""
    return drift_per_ps(times_fs, np.asarray(total_energy_eV) / n_atoms * 1e3)


def has_close_pair(positions: np.ndarray, cell: np.ndarray, min_distance: float) -> bool:
    """True if any two atoms (periodic images included) are closer than ``min_distance`` Å."""
    from vesin import NeighborList

    pairs = NeighborList(cutoff=min_distance, full_list=False).compute(points=positions, box=cell, periodic=True, quantities="i")[0]
    return len(pairs) > 0


def failure_temperature_K(setpoint_K: float) -> float:
    """The temperature above which a rollout has failed: 2 × set-point + 100 K.

    An integrator that conserves energy never gets there from an equilibrium state: the
    instantaneous T of 256 atoms fluctuates by a few per cent, and the MD reference windows at
    every temperature stay far below it (tested). At 5 K the bound is 110 K, at 800 K 1700 K.
    """
    return 2.0 * setpoint_K + 100.0


# --- survival of rollouts --------------------------------------------------------------------

def time_to_failure_at_horizon_fs(time_to_failure_fs: Sequence[float | None], *, horizon_fs: float) -> np.ndarray:
    """Per rollout, its time to failure in fs, where a rollout that never failed (None) counts at
    ``horizon_fs``: t_i = min(t_fail,i, horizon). Their mean is horizon for a set that all survive,
    the stride for a model that fails at its first stride."""
    if not horizon_fs >= 0:
        raise ValueError(f"time_to_failure_at_horizon_fs: horizon {horizon_fs} fs")
    times = np.array([horizon_fs if t is None else t for t in time_to_failure_fs], np.float64)
    if (times < 0).any() or (times > horizon_fs).any():
        raise ValueError(f"time_to_failure_at_horizon_fs: times to failure outside [0, {horizon_fs}] fs")
    return times


def survival_curve(time_to_failure_fs: Sequence[float | None], *, times_fs: np.ndarray) -> np.ndarray:
    """S(t) = fraction of rollouts alive at each of ``times_fs``: those that never failed (None) or
    fail after t. A rollout that fails at the stride ending at t_fail is dead from t_fail on."""
    failures = np.array([np.inf if t is None else t for t in time_to_failure_fs], np.float64)
    if len(failures) == 0:
        raise ValueError("survival_curve: no rollouts")
    return (failures[None, :] > np.asarray(times_fs, np.float64)[:, None]).mean(axis=1)
