"""Stochastic velocity rescaling (Bussi, Donadio and Parrinello, J. Chem. Phys. 126, 014101 (2007)).

The scorer applies it between strides in the thermostatted rollout mode, so a thermostat-free
learned integrator gets the same ensemble control as thermostatted MD. One application over a
time interval Δt with relaxation time τ rescales all velocities by α = sqrt(K'/K), where

    K' = K + (1 − c)(K̄ (R₁² + S)/N_f − K) + 2 R₁ sqrt(c (1 − c) K̄ K / N_f),    c = exp(−Δt/τ),

K̄ = N_f k_B T / 2 is the target kinetic energy, N_f = 3N − 3 the degrees of freedom (total
momentum is conserved), R₁ a standard normal number and S a sum of N_f − 1 squared standard
normals (a χ² variate). This samples the canonical distribution of K exactly, whatever Δt/τ.
"""

from __future__ import annotations

import math

import numpy as np

from .metrics import BOLTZMANN_EV_PER_K, kinetic_energy


class BussiThermostat:
    """Stochastic velocity rescaling at ``temperature_K`` with relaxation time ``tau_fs``."""

    def __init__(self, temperature_K: float, tau_fs: float, mass_amu: float, seed: int):
        self.temperature_K = float(temperature_K)
        self.tau_fs = float(tau_fs)
        self.mass_amu = float(mass_amu)
        self.rng = np.random.default_rng(seed)

    def new_kinetic_energy(self, kinetic_eV: float, n_dof: int, interval_fs: float) -> float:
        """K' of the formula above (eV)."""
        target = 0.5 * n_dof * BOLTZMANN_EV_PER_K * self.temperature_K
        c = math.exp(-interval_fs / self.tau_fs)
        r1 = self.rng.standard_normal()
        s = self.rng.chisquare(n_dof - 1) if n_dof > 1 else 0.0
        return (kinetic_eV + (1 - c) * (target * (r1**2 + s) / n_dof - kinetic_eV)
                + 2 * r1 * math.sqrt(max(c * (1 - c) * target * kinetic_eV / n_dof, 0.0)))

    def apply(self, velocities: np.ndarray, interval_fs: float) -> np.ndarray:
        """Velocities [N, 3] (Å/ps) after one application over ``interval_fs``.

        Velocities with zero kinetic energy cannot be rescaled and are returned unchanged.
        """
        kinetic = kinetic_energy(velocities, self.mass_amu)
        if kinetic <= 0.0:
            return velocities
        n_dof = 3 * velocities.shape[0] - 3
        return velocities * math.sqrt(max(self.new_kinetic_energy(kinetic, n_dof, interval_fs), 0.0) / kinetic)
