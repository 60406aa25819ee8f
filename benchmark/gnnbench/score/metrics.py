"""Metric definitions. Each is a short function whose docstring gives its formula and unit.

Conventions: positions r in Å, velocities v in Å/ps, times in fs unless named ``_ps``,
energies in eV, temperatures in K, volumes in Å³. "Per-atom displacement error" is the
vector e_i = (r_pred,i − r_i(t)) − (r_true,i(t+Δt) − r_i(t)), computed from displacements so
that a model returning its input gets exactly e_i = −Δr_true,i.
"""

from __future__ import annotations

import numpy as np

BOLTZMANN_EV_PER_K = 8.617343e-5  # LAMMPS metal units (force->boltz)
MVV2E = 1.0364269e-4              # LAMMPS metal units: amu·(Å/ps)² -> eV (force->mvv2e)

DEFINITIONS = {
    "mse_A2": "MSE = mean over atoms i of |e_i|², e_i = predicted − true displacement vector (Å²)",
    "rmse_A": "RMSE = sqrt(MSE): root mean square of the per-atom displacement-vector error (Å); the paper's 'loss in Å'",
    "mae_A": "MAE = mean over atoms i of |e_i|, the Euclidean norm of the per-atom error vector (Å)",
    "velocity_rmse_A_per_ps": "sqrt(mean over atoms of |v_pred − v_true|²) at t + Δt (Å/ps)",
    "skill_vs_zero": "1 − MSE / MSE(zero displacement) on the same frames (1 = perfect, 0 = no better, < 0 = worse)",
    "skill_vs_constant_velocity": "1 − MSE / MSE(constant velocity r + vΔt) on the same frames",
    "rdf_error": "∫|g_ref(r) − g_pred(r)| dr / ∫|g_ref(r) − 1| dr over [0, r_max], each g time-averaged over its frames",
    "msd_plateau_relative_error": "(MSD_pred − MSD_ref) / MSD_ref, each the mean of MSD(t) = mean_i |r_i(t) − r_i(0)|² (Å²) over the last half of the horizon",
    "temperature_K": "T = Σ_i m |v_i|² / ((3N − 3) k_B), from velocities (K)",
    "drift_per_ps": "slope of a least-squares line through the quantity against time (unit per ps)",
    "fcc_fraction": "fraction of atoms that LAMMPS compute cna/atom (same cutoff as the dataset) labels FCC",
    "potential_energy_eV": "EAM potential energy of the frame evaluated by LAMMPS with the dataset's potential (eV)",
    "time_to_failure_fs": "first time at which positions are not finite, a pair is closer than the minimum distance, or T exceeds the temperature factor times the set-point",
}


class ErrorSums:
    """Running sums for MSE/MAE of displacement errors (and velocity errors), mergeable."""

    def __init__(self):
        self.squared = 0.0
        self.norm = 0.0
        self.atoms = 0
        self.velocity_squared = 0.0
        self.velocity_atoms = 0

    def add(self, predicted_displacement: np.ndarray, true_displacement: np.ndarray,
            predicted_velocity: np.ndarray | None = None, true_velocity: np.ndarray | None = None) -> None:
        """Add atoms' errors; arrays are [..., 3]."""
        error = np.asarray(predicted_displacement, np.float64) - np.asarray(true_displacement, np.float64)
        squared = (error**2).sum(-1)
        self.squared += float(squared.sum())
        self.norm += float(np.sqrt(squared).sum())
        self.atoms += squared.size
        if predicted_velocity is not None:
            velocity_error = np.asarray(predicted_velocity, np.float64) - np.asarray(true_velocity, np.float64)
            self.velocity_squared += float((velocity_error**2).sum())
            self.velocity_atoms += velocity_error.shape[0] * int(np.prod(velocity_error.shape[1:-1]))

    def merge(self, other: "ErrorSums") -> "ErrorSums":
        merged = ErrorSums()
        for name in vars(merged):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        return merged

    def summary(self) -> dict:
        mse = self.squared / self.atoms if self.atoms else float("nan")
        out = {"mse_A2": mse, "rmse_A": float(np.sqrt(mse)), "mae_A": self.norm / self.atoms if self.atoms else float("nan")}
        if self.velocity_atoms:
            out["velocity_rmse_A_per_ps"] = float(np.sqrt(self.velocity_squared / self.velocity_atoms))
        return out


def skill(mse: float, mse_baseline: float) -> float:
    """1 − MSE / MSE_baseline."""
    return 1.0 - mse / mse_baseline if mse_baseline > 0 else float("nan")


def kinetic_temperature(velocities: np.ndarray, mass_amu: float) -> float:
    """T = Σ m|v|² · mvv2e / ((3N − 3) k_B) in K, LAMMPS's ``temp`` with momentum removed."""
    n_atoms = velocities.shape[0]
    return float(mass_amu * MVV2E * (velocities**2).sum() / ((3 * n_atoms - 3) * BOLTZMANN_EV_PER_K))


def radial_distribution(positions: np.ndarray, cell: np.ndarray, r_max: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """g(r) of one periodic frame: (bin centres in Å, g).

    g(r) = n(r) / (N ρ 4π r² dr), with n(r) the number of ordered pairs (i ≠ j, all periodic
    images) at distance in [r, r + dr), ρ = N / V.
    """
    from vesin import NeighborList

    distances = NeighborList(cutoff=r_max, full_list=True).compute(points=positions, box=cell, periodic=True, quantities="d")[0]
    edges = np.linspace(0.0, r_max, n_bins + 1)
    counts, _ = np.histogram(distances, bins=edges)
    n_atoms = len(positions)
    density = n_atoms / abs(np.linalg.det(cell))
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    return 0.5 * (edges[1:] + edges[:-1]), counts / (n_atoms * density * shell)


def rdf_error(g_ref: np.ndarray, g_pred: np.ndarray, r: np.ndarray) -> float:
    """∫|g_ref − g_pred| dr / ∫|g_ref − 1| dr (uniform bins, so dr cancels)."""
    del r
    return float(np.abs(g_ref - g_pred).sum() / np.abs(g_ref - 1.0).sum())


def mean_squared_displacement(trajectory: np.ndarray) -> np.ndarray:
    """MSD(t) = mean_i |r_i(t) − r_i(0)|² (Å²) for unwrapped positions [T,N,3]."""
    return ((trajectory - trajectory[:1]) ** 2).sum(-1).mean(-1)


def drift_per_ps(times_fs: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of ``values`` against time, per ps."""
    if len(times_fs) < 2:
        return float("nan")
    return float(np.polyfit(np.asarray(times_fs) / 1000.0, np.asarray(values), 1)[0])


def has_close_pair(positions: np.ndarray, cell: np.ndarray, min_distance: float) -> bool:
    """True if any two atoms (periodic images included) are closer than ``min_distance`` Å."""
    from vesin import NeighborList

    pairs = NeighborList(cutoff=min_distance, full_list=False).compute(points=positions, box=cell, periodic=True, quantities="i")[0]
    return len(pairs) > 0
