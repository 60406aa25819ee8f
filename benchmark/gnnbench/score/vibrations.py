"""Vibrational density of states (VDOS) of a rollout against MD.

The VDOS is the mass-weighted power spectrum of the atoms' velocities: by Wiener–Khinchin, the
Fourier transform of the velocity autocorrelation,

    g(ν) ∝ Σ_i m_i Σ_α |ṽ_iα(ν)|²,   normalised so that ∫ g dν = 1 over [0, ν_max],

with ν_max = 1 / (2h) the Nyquist frequency of the sampling interval h. Frequencies are in THz
(times in ps). ṽ is estimated with Welch's method: Hann-windowed segments of ``segment_fs``,
50 % overlap, their periodograms averaged. Comparing two spectra: ∫|g_ref − g_model| dν, which is
dimensionless and lies in [0, 2] (0: identical shapes; 2: no overlap).

Why 1 ps segments (:data:`SEGMENT_FS`): the frequency resolution of a segment of length L is
1/L, 1 THz at 1 ps, enough to separate the transverse (~5 THz) and longitudinal (~8–9 THz) peaks
of Al's phonon spectrum (which ends near 10 THz). The reference is a 2 ps NVE window, so 1 ps is
the longest segment for which each half of it (the MD noise floor, MD against MD) still holds
one segment; the whole window holds three (50 % overlap). Averaging over 256 atoms × 3
components makes even one segment a smooth estimate.

Velocities for the spectrum come in two estimators (:class:`VelocityEstimator`), and model and MD
always go through the same one, at one common interval (:func:`common_interval_fs`), so that both
spectra see the same filter: a model's own velocities against the MD window's
(``rollout.window_velocities``), or, for a positions-only model, the backward difference
Δr/Δt of positions at the common interval for both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from ..units import PS_PER_FS

SEGMENT_FS = 1000.0  # Welch segment length: 1 THz resolution, and one segment per half of the 2 ps MD window (see above)


class VelocityEstimator(str, Enum):
    """Where the velocities of a spectrum come from (the same for the model and its MD reference)."""

    PREDICTED = "predicted"                  # the model's velocities; MD: the window's (4th-order finite differences)
    FINITE_DIFFERENCE = "finite_difference"  # Δr/Δt, backward difference of positions at the common interval, for both


def vdos(velocities: np.ndarray, *, interval_fs: float, segment_fs: float = SEGMENT_FS,
         masses_amu: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(ν in THz [K], g(ν) in 1/THz [K]): the VDOS of velocities [T, N, 3] (Å/ps) sampled every ``interval_fs``.

    Welch's estimate: segments of n = round(segment_fs / interval_fs) samples, hop n − n//2
    (50 % overlap), each multiplied by the periodic Hann window w_k = ½ − ½ cos(2πk/n) and Fourier
    transformed; P(ν) = mean over segments of Σ_i m_i Σ_α |FFT(w · v_iα)|², one-sided (doubled
    except at 0 and the Nyquist frequency). No mean is removed: a diffusing atom's g(0) ∝ D stays.
    g = P / (Σ P · Δν), Δν = 1 / (n h), so that Σ g Δν = 1 (the rectangle rule that
    :func:`vdos_error` also uses). Samples beyond the last full segment are not used.
    """
    velocities = np.asarray(velocities, np.float64)
    if velocities.ndim != 3 or velocities.shape[2] != 3:
        raise ValueError(f"vdos: velocities must be [T, N, 3], got {velocities.shape}")
    if not np.isfinite(velocities).all():
        raise ValueError("vdos: velocities are not all finite")
    n = segment_samples(interval_fs=interval_fs, segment_fs=segment_fs)
    if len(velocities) < n:
        raise ValueError(f"vdos: {len(velocities)} samples, fewer than one segment of {n} ({segment_fs:g} fs at {interval_fs:g} fs)")
    masses = np.broadcast_to(np.asarray(masses_amu, np.float64), velocities.shape[1:2])
    hop = n - n // 2
    starts = range(0, len(velocities) - n + 1, hop)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    power = np.zeros(n // 2 + 1)
    for start in starts:
        spectrum = np.fft.rfft(window[:, None, None] * velocities[start:start + n], axis=0)  # [K, N, 3]
        power += np.einsum("kna,n->k", np.abs(spectrum) ** 2, masses)
    power[1:(n + 1) // 2] *= 2.0  # one-sided: the negative frequencies' share, except at 0 and (n even) Nyquist
    frequency = np.fft.rfftfreq(n, d=interval_fs * PS_PER_FS)  # THz
    total = power.sum() * frequency[1]
    if total <= 0:
        raise ValueError("vdos: the velocities are all zero")
    return frequency, power / total


def vdos_error(g_ref: np.ndarray, g_model: np.ndarray, frequency_THz: np.ndarray) -> float:
    """∫|g_ref(ν) − g_model(ν)| dν = Σ |g_ref − g_model| Δν over the (uniform) frequency grid.

    Dimensionless, in [0, 2] for two spectra of unit area: 0 for the same shape, 2 for spectra
    with no frequency in common."""
    g_ref, g_model, frequency = (np.asarray(a, np.float64) for a in (g_ref, g_model, frequency_THz))
    if not (g_ref.shape == g_model.shape == frequency.shape) or frequency.ndim != 1 or len(frequency) < 2:
        raise ValueError(f"vdos_error: spectra {g_ref.shape}, {g_model.shape} on a frequency grid {frequency.shape}")
    return float(np.abs(g_ref - g_model).sum() * (frequency[1] - frequency[0]))


def segment_samples(*, interval_fs: float, segment_fs: float = SEGMENT_FS) -> int:
    """Samples per Welch segment, n = round(segment_fs / interval_fs) (at least 4)."""
    if not (interval_fs > 0 and segment_fs > 0):
        raise ValueError(f"segment_samples: interval {interval_fs} fs and segment {segment_fs} fs must be positive")
    n = round(segment_fs / interval_fs)
    if n < 4:
        raise ValueError(f"a {segment_fs:g} fs segment holds {n} samples at {interval_fs:g} fs: too few for a spectrum")
    return n


def common_interval_fs(stride_fs: float, window_interval_fs: float) -> float | None:
    """The interval at which model (every ``stride_fs``) and MD (every ``window_interval_fs``)
    are compared: the larger when one divides the other (the finer one subsampled), else None."""
    fine, coarse = sorted((float(stride_fs), float(window_interval_fs)))
    ratio = coarse / fine
    return coarse if math.isclose(ratio, round(ratio), rel_tol=0, abs_tol=1e-9) else None


def backward_difference(positions: np.ndarray, interval_fs: float) -> np.ndarray:
    """Velocities [T−1, N, 3] in Å/ps from unwrapped positions [T, N, 3] (Å) every ``interval_fs``:
    v_k = (r_k − r_{k−1}) / h, the mean velocity over each interval (what a positions-only
    submission's Δr/Δt is)."""
    positions = np.asarray(positions, np.float64)
    return np.diff(positions, axis=0) / (interval_fs * PS_PER_FS)


def spectrum_velocities(positions: np.ndarray, velocities: np.ndarray | None, *, every: int, interval_fs: float,
                        estimator: VelocityEstimator) -> np.ndarray:
    """The velocities [S, N, 3] (Å/ps) a spectrum is computed from, for a run stored at every
    frame of ``positions`` / ``velocities`` [T, N, 3] and compared every ``every``-th frame
    (``interval_fs`` apart). The one function for model and MD, so both see the same filter:

    * ``PREDICTED``: the stored velocities, v[::every] (S = ⌈T / every⌉);
    * ``FINITE_DIFFERENCE``: (r_k − r_{k−1}) / h of r[::every], h = ``interval_fs`` (S one fewer).
    """
    if every < 1:
        raise ValueError(f"spectrum_velocities: every = {every}")
    if estimator is VelocityEstimator.PREDICTED:
        if velocities is None:
            raise ValueError("spectrum_velocities: the predicted-velocity estimator needs velocities")
        return np.asarray(velocities, np.float64)[::every]
    return backward_difference(np.asarray(positions)[::every], interval_fs)


@dataclass(frozen=True)
class VdosReference:
    """The MD VDOS of one trajectory, and the MD noise floor: the error between its two halves."""

    frequency_THz: np.ndarray
    g: np.ndarray
    noise_floor: float | None  # None when a half holds less than one segment


def reference_vdos(velocities: np.ndarray, *, interval_fs: float, segment_fs: float = SEGMENT_FS,
                   masses_amu: float | np.ndarray = 1.0) -> VdosReference | None:
    """The MD VDOS from velocities [T, N, 3] (Å/ps) every ``interval_fs``, with its noise floor
    ∫|g_first half − g_second half| dν; None if the window holds less than one segment."""
    n = segment_samples(interval_fs=interval_fs, segment_fs=segment_fs)
    if len(velocities) < n:
        return None
    args = {"interval_fs": interval_fs, "segment_fs": segment_fs, "masses_amu": masses_amu}
    frequency, g = vdos(velocities, **args)
    half = len(velocities) // 2
    floor = (vdos_error(vdos(velocities[:half], **args)[1], vdos(velocities[half:], **args)[1], frequency)
             if half >= n else None)
    return VdosReference(frequency, g, floor)
