"""Rollouts: autoregressive prediction from the test states, in two modes, scored against MD.

Every trajectory of ``test`` and ``test_temperature`` starts from its first test anchor (the
exact MD state). All rollouts of a model advance together at the submission's
``rollout_stride_fs``. The Verlet baselines (``ROLLOUT_BASELINES``) are rolled out the same way
at the same stride and reported beside the submission. Two modes (SUBMISSION.md, "Rollouts"):

* ``nve``: no ensemble control. Horizon = the NVE reference window (2 ps); reference = that
  window (the same start state integrated by LAMMPS at 1 fs under NVE). Scored: survival and
  time to failure, total-energy drift (EAM potential energy from LAMMPS + kinetic energy from the
  velocities; for the submission also as a ratio to Verlet k = 1's), temperature drift and mean,
  RDF, MSD and the vibrational density of states (VDOS).
* ``thermostatted``: after every stride the scorer rescales the velocities with a Bussi
  stochastic velocity-rescaling thermostat at the trajectory's set-point (τ = protocol
  ``thermostat_tau_fs``); the cell stays the anchor's. Horizon = the NPT test window; reference =
  the NPT MD at that temperature (the test anchors every 100 fs). Scored: survival and time to
  failure, RDF, MSD, temperature mean and spread, FCC fraction, and the VDOS, against the NVE
  window (the NPT window's 100 fs frames cannot resolve phonons).

The VDOS (:mod:`gnnbench.score.vibrations`) needs every stride's velocities: they are kept,
with the positions, up to the NVE window's length (the span the spectrum covers; the whole
rollout on mini). Model and MD spectra use one interval and one velocity estimator.

RDF and FCC fraction of the model's frames and of the reference's come from the same code,
OVITO's modifiers (:mod:`gnnbench.score.structure`); LAMMPS evaluates the potential energy.
The submission's rollouts and their references are written as extended XYZ
(:mod:`gnnbench.score.rollout_files`) when ``run_mode`` is given a directory.

Per stride: velocities are the model's, or for a positions-only submission the finite
difference Δr/Δt (the mean velocity over the stride, which underestimates T: about −1 % at
10 fs and −25 % at 50 fs on this data; the report says so). Descriptors are recomputed by LAMMPS
if the submission uses them. Failure: non-finite positions or velocities, two atoms closer than
``failure_min_distance_A``, or T above :func:`~gnnbench.score.metrics.failure_temperature_K`; a
failed rollout stops and keeps its time to failure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..generate.config import BuildConfig
from ..load.frames import NveWindow, SplitFrames
from ..predict.submission import Submission, SubmissionOutputError
from ..units import PS_PER_FS
from .baseline_cache import BaselineCache
from .baselines import SUBMISSION, Baseline
from .bootstrap import with_ci
from .inputs import batch_inputs
from .lammps_eval import EamEvaluator
from .metrics import (
    drift_per_ps,
    energy_drift_meV_per_atom_per_ps,
    failure_temperature_K,
    has_close_pair,
    kinetic_energy,
    kinetic_temperature,
    mean,
    mean_squared_displacement,
    plateau,
    ratio_of_means,
    rdf_error_A,
    survival_curve,
    time_to_failure_at_horizon_fs,
)
from .rollout_files import write_rollout_pair
from .structure import fcc_fraction, mean_rdf
from .thermostat import BussiThermostat
from .verlet import VerletEam
from .vibrations import (
    SEGMENT_FS,
    VdosReference,
    VelocityEstimator,
    common_interval_fs,
    reference_vdos,
    segment_samples,
    spectrum_velocities,
    vdos,
    vdos_error,
)

FINITE_DIFFERENCE_NOTE = ("velocities: finite difference Δr/Δt (the submission predicts none); this is the mean velocity over "
                          "the stride, so T, the thermostat's input and the total energy are biased low at large Δt "
                          "(about −1 % of T at 10 fs, −25 % at 50 fs on this data)")


class RolloutMode(str, Enum):
    NVE = "nve"
    THERMOSTATTED = "thermostatted"


@dataclass
class Rollout:
    """State and observations of one rollout."""

    trajectory: str
    setpoint_K: float
    species: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    cell: np.ndarray
    descriptors: np.ndarray
    thermostat: BussiThermostat | None
    alive: bool = True
    failure: dict | None = None
    times: list = field(default_factory=list)             # fs, every stride
    temperatures: list = field(default_factory=list)      # K, every stride
    observed_times: list = field(default_factory=list)    # fs, every observation
    observed_positions: list = field(default_factory=list)
    observed_velocities: list = field(default_factory=list)  # Å/ps, after the thermostat's rescaling
    total_energy: list = field(default_factory=list)      # eV (NVE mode)
    fcc_fraction: list = field(default_factory=list)      # (thermostatted mode)
    frames_until_fs: float = math.inf                     # every stride's frame kept up to this time (the VDOS span)
    stride_positions: list = field(default_factory=list)  # Å, every stride up to frames_until_fs
    stride_velocities: list = field(default_factory=list)  # Å/ps, every stride up to frames_until_fs, after the thermostat
    finite_difference: bool = False                       # the velocities are Δr/Δt: the model returned none


@dataclass
class Reference:
    """The MD a rollout is compared with, from the rollout start to the horizon.

    Temperature and energy at every reference frame; structure (RDF, MSD) at the frames every
    ``rollout_observe_fs``, computed once and shared by every model rolled out in the mode.
    The frames themselves (positions, velocities, cells) are kept for the rollout files.
    """

    times_fs: np.ndarray               # [F]
    positions: np.ndarray              # [F,N,3] Å, unwrapped
    velocities: np.ndarray             # [F,N,3] Å/ps (NVE window: see window_velocities)
    cells: np.ndarray                  # [F,3,3] Å
    temperature_K: np.ndarray          # [F]
    total_energy_eV: np.ndarray | None  # [F] (NVE window only)
    fcc_fraction: np.ndarray | None     # [F] (NPT window only; OVITO CNA, as for the model)
    observed_times_fs: np.ndarray      # [O]
    msd_A2: np.ndarray                 # [O]
    rdf_r_A: np.ndarray
    rdf: np.ndarray                    # g(r) averaged over the observed frames after t = 0
    rdf_noise_floor_A: float           # rdf_error_A between the two halves of those frames


def make_reference(times_fs, positions, velocities, cells, temperature_K, total_energy_eV, fcc_fraction,
                   protocol: dict) -> Reference:
    observed = np.flatnonzero(np.isclose(np.mod(times_fs, protocol["rollout_observe_fs"]), 0.0))
    frames, frame_cells = positions[observed], cells[observed]
    rdf_args = {"r_max_A": protocol["rdf_r_max_A"], "n_bins": protocol["rdf_bins"]}
    radius, g = mean_rdf(frames[1:], frame_cells[1:], **rdf_args)
    half = (len(frames) - 1) // 2
    noise = (rdf_error_A(mean_rdf(frames[1:1 + half], frame_cells[1:1 + half], **rdf_args)[1],
                         mean_rdf(frames[1 + half:], frame_cells[1 + half:], **rdf_args)[1], radius) if half else float("nan"))
    return Reference(times_fs, positions, velocities, cells, temperature_K, total_energy_eV, fcc_fraction, times_fs[observed],
                     mean_squared_displacement(frames), radius, g, noise)


def window_velocities(positions: np.ndarray, interval_fs: float, start_velocities: np.ndarray) -> np.ndarray:
    """Velocities [F,N,3] in Å/ps of an NVE window, which stores positions only (every ``interval_fs``).

    Frame 0 is the anchor and takes its stored velocities. Elsewhere, fourth-order finite
    differences of the positions, h = ``interval_fs``: centred, v_k = (−r_{k+2} + 8 r_{k+1}
    − 8 r_{k−1} + r_{k−2}) / 12h; one-sided at the last two frames, v_k = (25 r_k − 48 r_{k−1}
    + 36 r_{k−2} − 16 r_{k−3} + 3 r_{k−4}) / 12h, and its mirror image at frame 1;
    second-order (numpy.gradient) in windows of fewer than 6 frames. On the mini windows
    (h = 10 fs), the kinetic temperature of the centred estimate is 0.1 to 0.3 % below the stored
    (LAMMPS) one, of the one-sided estimate 0.5 to 1 % below.
    """
    positions = np.asarray(positions, np.float64)
    h_ps = interval_fs * PS_PER_FS
    if len(positions) < 6:
        velocities = np.gradient(positions, h_ps, axis=0, edge_order=2) if len(positions) > 2 else np.zeros_like(positions)
    else:
        velocities = np.empty_like(positions)
        p = positions
        velocities[2:-2] = (-p[4:] + 8 * p[3:-1] - 8 * p[1:-3] + p[:-4]) / (12 * h_ps)
        velocities[:2] = (-25 * p[:2] + 48 * p[1:3] - 36 * p[2:4] + 16 * p[3:5] - 3 * p[4:6]) / (12 * h_ps)
        velocities[-2:] = (25 * p[-2:] - 48 * p[-3:-1] + 36 * p[-4:-2] - 16 * p[-5:-3] + 3 * p[-6:-4]) / (12 * h_ps)
    velocities[0] = start_velocities
    return velocities


def nve_reference(window: NveWindow, start_velocities: np.ndarray, horizon_fs: int, protocol: dict) -> Reference:
    keep = window.time_fs <= horizon_fs
    interval = float(window.time_fs[1] - window.time_fs[0]) if len(window.time_fs) > 1 else 1.0
    velocities = window_velocities(window.positions, interval, start_velocities)
    return make_reference(window.time_fs[keep], window.positions[keep], velocities[keep], np.repeat(window.cell[None], keep.sum(), 0),
                          window.temperature_K[keep], window.total_energy_eV[keep], None, protocol)


def npt_reference(frames: SplitFrames, rows: np.ndarray, horizon_fs: int, protocol: dict, cutoff_A: float) -> Reference:
    times = frames.time_fs[rows] - frames.time_fs[rows[0]]
    keep = times <= horizon_fs
    rows = rows[keep]
    fcc = np.array([fcc_fraction(frames.positions[i], frames.cell[i], cutoff_A=cutoff_A) for i in rows])
    return make_reference(times[keep], frames.positions[rows], frames.velocities[rows], frames.cell[rows], frames.temperature_K[rows],
                          None, fcc, protocol)


@dataclass(frozen=True)
class VdosPlan:
    """How a mode's spectra are sampled: the model every ``model_every`` strides, the MD window
    every ``window_every`` frames, both ``interval_fs`` apart (:func:`vibrations.common_interval_fs`)."""

    interval_fs: float
    model_every: int
    window_every: int
    mass_amu: float


def vdos_plan(stride_fs: int, window_interval_fs: float, mass_amu: float) -> tuple[VdosPlan | None, str]:
    """The mode's VDOS plan, or None where model and MD have no common interval; and a note saying which."""
    interval = common_interval_fs(stride_fs, window_interval_fs)
    if interval is None or round(SEGMENT_FS / interval) < 4:
        return None, (f"VDOS: not computed (the stride, {stride_fs} fs, and the NVE window's interval, {window_interval_fs:g} fs: "
                      + ("neither divides the other)" if interval is None else f"a {SEGMENT_FS:g} fs segment holds under 4 samples)"))
    plan = VdosPlan(interval, round(interval / stride_fs), round(interval / window_interval_fs), mass_amu)
    return plan, (f"VDOS: against the NVE window of the same trajectory, model and MD every {interval:g} fs; Welch, Hann window, "
                  f"{SEGMENT_FS:g} fs segments, 50 % overlap; a positions-only model's velocities and its MD's are both "
                  "Δr/Δt at that interval, a model's own velocities are compared with the window's")


def vdos_reference(window: NveWindow, start_velocities: np.ndarray, plan: VdosPlan,
                   estimator: VelocityEstimator) -> VdosReference | None:
    """The MD VDOS of one trajectory and its noise floor, from its whole NVE window through ``estimator``."""
    interval = float(window.time_fs[1] - window.time_fs[0])
    velocities = (window_velocities(window.positions, interval, start_velocities) if estimator is VelocityEstimator.PREDICTED
                  else None)
    samples = spectrum_velocities(window.positions, velocities, every=plan.window_every, interval_fs=plan.interval_fs,
                                  estimator=estimator)
    return reference_vdos(samples, interval_fs=plan.interval_fs, masses_amu=plan.mass_amu)


# --- the models that can be rolled out -----------------------------------------------------

class SubmissionStepper:
    """Advances all live rollouts with one batched submission call."""

    def __init__(self, submission: Submission):
        self.submission = submission
        self.name = SUBMISSION
        self.uses_descriptors = bool(submission.metadata["uses_descriptors"])

    def step(self, live: list[Rollout], stride_fs: int, context: str):
        inputs = batch_inputs(np.stack([r.positions for r in live]), np.stack([r.velocities for r in live]),
                              np.stack([r.species for r in live]), np.stack([r.cell for r in live]),
                              np.stack([r.descriptors for r in live]) if self.uses_descriptors else None,
                              np.full(len(live), stride_fs, np.float64), np.array([r.setpoint_K for r in live]))
        out = self.submission.predict(inputs, context, allow_nonfinite=True, phase="rollout")
        n_atoms = live[0].positions.shape[0]
        positions = out["positions"].numpy().reshape(len(live), n_atoms, 3)
        velocities = out["velocities"].numpy().reshape(len(live), n_atoms, 3) if "velocities" in out else [None] * len(live)
        return list(zip(positions, velocities, strict=True))

    def close(self) -> None:
        pass


class VerletStepper:
    """A Verlet baseline: one LAMMPS system per trajectory, continued stride after stride."""

    uses_descriptors = False

    def __init__(self, baseline: Baseline, config: BuildConfig, n_atoms: int, name: str | None = None):
        self.baseline, self.name = baseline, name or baseline.value
        self.config, self.n_atoms = config, n_atoms
        self.systems: dict[str, VerletEam] = {}

    def step(self, live: list[Rollout], stride_fs: int, context: str):
        del context
        out = []
        for r in live:
            system = self.systems.get(r.trajectory) or self.systems.setdefault(r.trajectory, VerletEam(self.config, self.n_atoms))
            out.append(system.advance(r.positions, r.velocities, r.cell, float(stride_fs), self.baseline.substeps(stride_fs)))
        return out

    def close(self) -> None:
        for system in self.systems.values():
            system.close()


# --- running ---------------------------------------------------------------------------------

def _start(frames: SplitFrames, row: int, mode: RolloutMode, protocol: dict, config: BuildConfig, index: int,
           frames_until_fs: float) -> Rollout:
    setpoint = float(frames.thermostat_temperature_K[row])
    thermostat = (BussiThermostat(setpoint, protocol["thermostat_tau_fs"], config.mass_amu, seed=protocol["thermostat_seed"] + index)
                  if mode is RolloutMode.THERMOSTATTED else None)
    return Rollout(trajectory=str(frames.trajectory_id[row]), setpoint_K=setpoint, species=frames.species[row],
                   positions=frames.positions[row].copy(), velocities=frames.velocities[row].copy(), cell=frames.cell[row].copy(),
                   descriptors=frames.descriptors[row].copy(), thermostat=thermostat, frames_until_fs=frames_until_fs)


def _observe(r: Rollout, time_fs: float, mode: RolloutMode, evaluator: EamEvaluator, config: BuildConfig) -> None:
    r.observed_times.append(time_fs)
    r.observed_positions.append(r.positions.copy())
    r.observed_velocities.append(np.array(r.velocities, copy=True))
    if mode is RolloutMode.NVE:
        potential = evaluator.evaluate(r.positions, r.cell)["potential_energy_eV"]
        r.total_energy.append(potential + kinetic_energy(r.velocities, config.mass_amu))
    else:
        r.fcc_fraction.append(fcc_fraction(r.positions, r.cell, cutoff_A=config.descriptor_cutoff_A))


def _keep_frame(r: Rollout, time_fs: float) -> None:
    """Keep the rollout's current positions and velocities, if ``time_fs`` is within its VDOS span."""
    if time_fs <= r.frames_until_fs:
        r.stride_positions.append(np.array(r.positions, copy=True))
        r.stride_velocities.append(np.array(r.velocities, copy=True))


def _failure(positions: np.ndarray, velocities: np.ndarray, r: Rollout, protocol: dict, mass_amu: float) -> str | None:
    if not (np.isfinite(positions).all() and np.isfinite(velocities).all()):
        return "non-finite positions or velocities"
    temperature = kinetic_temperature(velocities, mass_amu)
    if temperature > failure_temperature_K(r.setpoint_K):
        return f"temperature {temperature:.0f} K above 2 × set-point + 100 K = {failure_temperature_K(r.setpoint_K):g} K"
    if has_close_pair(positions, r.cell, protocol["failure_min_distance_A"]):
        return f"two atoms closer than {protocol['failure_min_distance_A']} Å"
    return None


def roll_out(stepper, starts: list[Rollout], mode: RolloutMode, stride_fs: int, horizon_fs: int, observe_every: int,
             evaluator: EamEvaluator, config: BuildConfig, protocol: dict) -> list[Rollout]:
    """Advance ``starts`` (modified in place) to ``horizon_fs``; a failing call raises SubmissionOutputError."""
    mass = config.mass_amu
    for r in starts:
        r.times.append(0.0)
        r.temperatures.append(kinetic_temperature(r.velocities, mass))
        _keep_frame(r, 0.0)
        _observe(r, 0.0, mode, evaluator, config)
    steps = horizon_fs // stride_fs
    for step in tqdm(range(1, steps + 1), desc=f"{mode.value} rollouts of {stepper.name} (Δt {stride_fs} fs)", unit="step",
                     leave=False):
        live = [r for r in starts if r.alive]
        if not live:
            break
        time_fs = step * stride_fs
        names = ", ".join(r.trajectory for r in live[:4]) + (" ..." if len(live) > 4 else "")
        context = f"{mode.value} rollout step {step} (t = {time_fs} fs), trajectories {names}"
        for r, (positions, velocities) in zip(live, stepper.step(live, stride_fs, context), strict=True):
            if velocities is None:
                velocities = (positions - r.positions) / (stride_fs * PS_PER_FS)
                r.finite_difference = True
            reason = _failure(positions, velocities, r, protocol, mass)
            if reason:
                r.alive, r.failure = False, {"time_fs": float(time_fs), "reason": reason}
                continue
            if r.thermostat is not None:
                velocities = r.thermostat.apply(velocities, stride_fs)
            r.positions, r.velocities = positions, velocities
            r.times.append(float(time_fs))
            r.temperatures.append(kinetic_temperature(velocities, mass))
            _keep_frame(r, float(time_fs))
            if stepper.uses_descriptors:
                r.descriptors = evaluator.evaluate(r.positions, r.cell, descriptors=True)["descriptors"]
            if step % observe_every == 0:
                _observe(r, float(time_fs), mode, evaluator, config)
    return starts


# --- comparison --------------------------------------------------------------------------------

def compare(r: Rollout, ref: Reference, mode: RolloutMode, protocol: dict, n_atoms: int, vdos_plan: VdosPlan | None = None,
            vdos_references: dict[VelocityEstimator, VdosReference | None] | None = None) -> dict:
    """One rollout against its reference: the per-trajectory entry of scores.json. The MD mean T
    is over the reference frames up to the rollout's last time (all of them unless it failed)."""
    observed = np.asarray(r.observed_positions)
    produced = len(observed) > 1  # an observation beyond its initial (MD) frame
    stepped = len(r.times) > 1    # at least one stride beyond it (else T statistics would be the MD start's alone)
    g_model = (mean_rdf(observed[1:], r.cell, r_max_A=protocol["rdf_r_max_A"], n_bins=protocol["rdf_bins"])[1] if produced
               else np.full(len(ref.rdf), np.nan))
    msd_model = mean_squared_displacement(observed)
    md_plateau = plateau(ref.msd_A2[ref.observed_times_fs <= r.observed_times[-1]]) if produced else None
    model_plateau = plateau(msd_model) if produced else None
    entry = {
        "thermostat_temperature_K": r.setpoint_K,
        "survived": r.alive,
        "time_to_failure_fs": None if r.alive else r.failure["time_fs"],
        "failure_reason": None if r.alive else r.failure["reason"],
        "rdf_error_A": rdf_error_A(ref.rdf, g_model, ref.rdf_r_A) if produced else None,
        "rdf_noise_floor_A": ref.rdf_noise_floor_A,
        "msd_plateau_A2": {"md": md_plateau, "model": model_plateau},
        "msd_plateau_relative_error": (model_plateau - md_plateau) / md_plateau if produced and md_plateau > 0 else None,
        "temperature_mean_K": {"md": float(np.mean(ref.temperature_K[ref.times_fs <= r.times[-1]])),
                               "model": float(np.mean(r.temperatures)) if stepped else None},
    }
    vdos_entry, vdos_curves = compare_vdos(r, vdos_plan, vdos_references)
    entry.update(vdos_entry)
    at_observations = np.isin(r.times, r.observed_times)  # stored curves are sampled at the observations only
    curves = {"rdf_model": g_model.tolist(), "observed_time_fs": r.observed_times, "msd_model_A2": msd_model.tolist(),
              "temperature_K": np.asarray(r.temperatures)[at_observations].tolist()}
    if mode is RolloutMode.NVE:
        entry["total_energy_drift_meV_per_atom_per_ps"] = {
            "md": energy_drift_meV_per_atom_per_ps(ref.times_fs, ref.total_energy_eV, n_atoms),
            "model": energy_drift_meV_per_atom_per_ps(r.observed_times, r.total_energy, n_atoms) if produced else None}
        entry["temperature_drift_K_per_ps"] = {"md": drift_per_ps(ref.times_fs, ref.temperature_K),
                                               "model": drift_per_ps(r.times, r.temperatures) if produced else None}
        curves["total_energy_eV"] = r.total_energy
    else:
        entry["temperature_spread_K"] = {"md": float(np.std(ref.temperature_K)), "model": float(np.std(r.temperatures)) if stepped else None}
        entry["fcc_fraction"] = {"md": float(np.mean(ref.fcc_fraction)), "model": float(np.mean(r.fcc_fraction[1:])) if produced else None}
    entry["curves"] = {**curves, **vdos_curves}
    return entry


def compare_vdos(r: Rollout, plan: VdosPlan | None,
                 references: dict[VelocityEstimator, VdosReference | None] | None) -> tuple[dict, dict]:
    """The rollout's VDOS against its MD's, through the same velocity estimator: ``vdos_error``
    and ``vdos_noise_floor`` for its entry, and the curves (ν in THz, g_MD, g_model; 1/THz).

    The model's spectrum covers its kept frames (up to the window's length, or up to its
    failure); the error is None where they hold less than one segment or never move."""
    none = {"vdos_error": None, "vdos_noise_floor": None}
    if plan is None or references is None:
        return none, {}
    estimator = VelocityEstimator.FINITE_DIFFERENCE if r.finite_difference else VelocityEstimator.PREDICTED
    ref = references[estimator]
    if ref is None:
        return none, {}
    samples = spectrum_velocities(np.asarray(r.stride_positions), np.asarray(r.stride_velocities), every=plan.model_every,
                                  interval_fs=plan.interval_fs, estimator=estimator)
    if len(samples) < segment_samples(interval_fs=plan.interval_fs) or not samples.any():
        return {**none, "vdos_noise_floor": ref.noise_floor}, {}
    frequency, g = vdos(samples, interval_fs=plan.interval_fs, masses_amu=plan.mass_amu)
    return ({"vdos_error": vdos_error(ref.g, g, frequency), "vdos_noise_floor": ref.noise_floor},
            {"vdos_frequency_THz": frequency.tolist(), "vdos_md": ref.g.tolist(), "vdos_model": g.tolist()})


@dataclass(frozen=True)
class Aggregate:
    """A rollout metric averaged over trajectories: ``key`` in scores.json, a table ``label``
    with its unit, and the per-trajectory value it averages (None where undefined; with
    ``survivors_at_horizon``, None means the rollout survived and counts at the horizon)."""

    key: str
    label: str
    value_of: Callable[[dict], float | None]
    signed: bool = False  # printed with an absolute ± (it can be zero or negative)
    survivors_at_horizon: bool = False


TIME_TO_FAILURE = Aggregate("time_to_failure_fs", "time to failure (fs)", lambda t: t["time_to_failure_fs"], survivors_at_horizon=True)
TEMPERATURE_MEAN_ERROR = Aggregate("temperature_mean_error_K", "T mean − MD (K)", lambda t: _difference(t["temperature_mean_K"]),
                                   signed=True)
VDOS = (Aggregate("vdos_error", "VDOS error", lambda t: t["vdos_error"]),
        Aggregate("vdos_noise_floor", "VDOS MD floor", lambda t: t["vdos_noise_floor"]))

AGGREGATES = {
    RolloutMode.NVE: (
        Aggregate("survival_fraction", "survival", lambda t: float(t["survived"]), signed=True),
        TIME_TO_FAILURE,
        Aggregate("abs_total_energy_drift_meV_per_atom_per_ps", "abs. E drift (meV/atom/ps)",
                  lambda t: _abs(t["total_energy_drift_meV_per_atom_per_ps"]["model"])),
        Aggregate("md_abs_total_energy_drift_meV_per_atom_per_ps", "MD abs. E drift",
                  lambda t: _abs(t["total_energy_drift_meV_per_atom_per_ps"]["md"])),
        Aggregate("abs_temperature_drift_K_per_ps", "abs. T drift (K/ps)", lambda t: _abs(t["temperature_drift_K_per_ps"]["model"])),
        Aggregate("md_abs_temperature_drift_K_per_ps", "MD abs. T drift", lambda t: _abs(t["temperature_drift_K_per_ps"]["md"])),
        TEMPERATURE_MEAN_ERROR,
        Aggregate("rdf_error_A", "RDF error (Å)", lambda t: t["rdf_error_A"]),
        Aggregate("rdf_noise_floor_A", "MD noise floor (Å)", lambda t: t["rdf_noise_floor_A"]),
        Aggregate("msd_plateau_relative_error", "MSD plateau rel. err.", lambda t: t["msd_plateau_relative_error"], signed=True),
        *VDOS,
    ),
    RolloutMode.THERMOSTATTED: (
        Aggregate("survival_fraction", "survival", lambda t: float(t["survived"]), signed=True),
        TIME_TO_FAILURE,
        Aggregate("rdf_error_A", "RDF error (Å)", lambda t: t["rdf_error_A"]),
        Aggregate("rdf_noise_floor_A", "MD noise floor (Å)", lambda t: t["rdf_noise_floor_A"]),
        Aggregate("msd_plateau_relative_error", "MSD plateau rel. err.", lambda t: t["msd_plateau_relative_error"], signed=True),
        TEMPERATURE_MEAN_ERROR,
        Aggregate("temperature_spread_error_K", "T spread − MD (K)", lambda t: _difference(t["temperature_spread_K"]), signed=True),
        Aggregate("fcc_fraction_error", "FCC fraction − MD", lambda t: _difference(t["fcc_fraction"]), signed=True),
        *VDOS,
    ),
}


def reference_curves(ref: Reference) -> dict:
    """The MD curves of one trajectory (stored once per mode, beside the models' own curves)."""
    observed = np.isin(ref.times_fs, ref.observed_times_fs)
    curves = {"rdf_r_A": ref.rdf_r_A.tolist(), "rdf_md": ref.rdf.tolist(), "md_time_fs": ref.observed_times_fs.tolist(),
              "md_temperature_K": ref.temperature_K[observed].tolist(), "msd_md_A2": ref.msd_A2.tolist()}
    if ref.total_energy_eV is not None:
        curves["md_total_energy_eV"] = ref.total_energy_eV[observed].tolist()
    return curves


def _difference(pair: dict) -> float | None:
    """model − md, or None where the rollout produced nothing to measure."""
    return None if pair["model"] is None else pair["model"] - pair["md"]


def _abs(value):
    return None if value is None else abs(value)


def aggregate_values(aggregate: Aggregate, per_trajectory: dict[str, dict], *, horizon_fs: float) -> np.ndarray:
    """The per-trajectory values an aggregate averages: the finite ones, or with
    ``survivors_at_horizon`` every rollout's, a survivor's at the horizon."""
    values = [aggregate.value_of(t) for t in per_trajectory.values()]
    if aggregate.survivors_at_horizon:
        return time_to_failure_at_horizon_fs(values, horizon_fs=horizon_fs)
    return np.array([v for v in values if v is not None and math.isfinite(v)])


def summarize(per_trajectory: dict[str, dict], mode: RolloutMode, *, horizon_fs: int, stride_fs: int) -> dict:
    """Mean over trajectories of every aggregate (over those where it is defined), with its CI,
    and the survival curve: the fraction of rollouts alive at every stride time."""
    summary = {}
    for aggregate in AGGREGATES[mode]:
        key = aggregate.key
        values = aggregate_values(aggregate, per_trajectory, horizon_fs=horizon_fs)
        summary.update(with_ci(key, mean, values) if len(values) else {key: None, f"{key}_ci95": [None, None]})
        summary[f"{key}_n"] = len(values)
    times = np.arange(0, horizon_fs + 1, stride_fs, dtype=np.float64)
    alive = survival_curve([t["time_to_failure_fs"] for t in per_trajectory.values()], times_fs=times)
    summary["survival_curve"] = {"time_fs": times.tolist(), "fraction_alive": alive.tolist()}
    return summary


ENERGY_DRIFT = "total_energy_drift_meV_per_atom_per_ps"


def energy_drift_vs_verlet_k1(submission: dict, verlet_k1: dict | None) -> dict:
    """``energy_drift_vs_verlet_k1``: the submission's mean |E drift| over NVE rollouts / Verlet
    k = 1's at the same stride, on the trajectories where both have one (paired), with its CI
    (trajectories resampled); None where either is missing."""
    key = "energy_drift_vs_verlet_k1"
    missing = {key: None, f"{key}_ci95": [None, None], f"{key}_n": 0}
    if not verlet_k1 or verlet_k1.get("failed"):
        return missing
    theirs = verlet_k1["per_trajectory"]
    pairs = [(_abs(t[ENERGY_DRIFT]["model"]), _abs(theirs[name][ENERGY_DRIFT]["model"]))
             for name, t in submission["per_trajectory"].items() if name in theirs]
    pairs = np.array([p for p in pairs if None not in p and math.isfinite(p[0]) and math.isfinite(p[1])]).reshape(-1, 2)
    if not len(pairs):
        return missing
    return {**with_ci(key, ratio_of_means, pairs[:, 0], pairs[:, 1]), f"{key}_n": len(pairs)}


@dataclass
class ModeSetup:
    """What every model's rollouts of one mode share: the start states, their references and the plan."""

    stride: int
    horizon: int
    observe_every: int
    starts: list
    start_windows: list
    references: list
    plan: VdosPlan | None
    vdos_note: str
    vdos_references: list
    n_atoms: int


def mode_setup(mode: RolloutMode, stride: int, splits: dict[str, SplitFrames], windows: dict[str, NveWindow],
               config: BuildConfig, protocol: dict) -> ModeSetup:
    """Start states (the first test anchor of every trajectory), references and VDOS plan of one mode at ``stride`` fs."""
    horizon, observe_every = horizon_and_observation(mode, stride, protocol)
    starts = [(frames, frames.rows_of(t)) for frames in splits.values() for t in frames.trajectories()]
    start_windows = [windows[str(frames.trajectory_id[rows[0]])] for frames, rows in starts]  # the VDOS reference in both modes
    if mode is RolloutMode.NVE:
        references = [nve_reference(w, frames.velocities[rows[0]], horizon, protocol)
                      for w, (frames, rows) in zip(start_windows, starts, strict=True)]
    else:
        references = [npt_reference(frames, rows, horizon, protocol, config.descriptor_cutoff_A) for frames, rows in starts]
    plan, vdos_note = vdos_plan(stride, float(start_windows[0].time_fs[1] - start_windows[0].time_fs[0]), config.mass_amu)
    vdos_references = ([{e: vdos_reference(w, frames.velocities[rows[0]], plan, e) for e in VelocityEstimator}
                        for w, (frames, rows) in zip(start_windows, starts, strict=True)] if plan else [None] * len(starts))
    return ModeSetup(stride, horizon, observe_every, starts, start_windows, references, plan, vdos_note, vdos_references,
                     starts[0][0].n_atoms)


def horizon_and_observation(mode: RolloutMode, stride: int, protocol: dict) -> tuple[int, int]:
    """The rollout horizon (fs, a whole number of strides) and the observation interval (strides) of one mode."""
    horizon_key = "rollout_horizon_nve_fs" if mode is RolloutMode.NVE else "rollout_horizon_thermostatted_fs"
    return (int(protocol[horizon_key]) // stride) * stride, max(1, math.ceil(protocol["rollout_observe_fs"] / stride))


def baseline_cache_key(mode: RolloutMode, name: str, stride: int, protocol: dict, splits: dict[str, SplitFrames]) -> dict:
    """The baseline cache's key of one baseline's rollouts of one mode at ``stride`` fs."""
    horizon, observe_every = horizon_and_observation(mode, stride, protocol)
    return {"rollouts": mode.value, "baseline": name, "stride_fs": stride, "horizon_fs": horizon,
            "observe_every": observe_every, "protocol": protocol,
            "trajectories": [f"{f.split}/{f.trajectory_id[f.rows_of(t)[0]]}" for f in splits.values() for t in f.trajectories()]}


def _roll_and_compare(stepper, setup: ModeSetup, mode: RolloutMode, evaluator: EamEvaluator, config: BuildConfig,
                      protocol: dict) -> tuple[dict, list[Rollout]]:
    """``stepper``'s rollouts of one mode (closing it), compared and summarised; SubmissionOutputError from a failing call."""
    rollouts = [_start(frames, rows[0], mode, protocol, config, i, frames_until_fs=float(w.time_fs[-1]))
                for i, ((frames, rows), w) in enumerate(zip(setup.starts, setup.start_windows, strict=True))]
    try:
        roll_out(stepper, rollouts, mode, setup.stride, setup.horizon, setup.observe_every, evaluator, config, protocol)
    finally:
        stepper.close()
    per_trajectory = {r.trajectory: compare(r, ref, mode, protocol, setup.n_atoms, setup.plan, vdos)
                      for r, ref, vdos in zip(rollouts, setup.references, setup.vdos_references, strict=True)}
    return {**summarize(per_trajectory, mode, horizon_fs=setup.horizon, stride_fs=setup.stride), "per_trajectory": per_trajectory}, rollouts


def baseline_rollouts(mode: RolloutMode, baseline: Baseline, stride: int, splits: dict[str, SplitFrames],
                      windows: dict[str, NveWindow], config: BuildConfig, protocol: dict) -> dict:
    """One Verlet baseline's rollouts of one mode, compared and summarised, with LAMMPS instances of
    its own: what :func:`run_mode` computes for it, run in a worker process while the scorer rolls
    out the submission (the same numbers: every step is deterministic, the thermostat seeded per trajectory)."""
    setup = mode_setup(mode, stride, splits, windows, config, protocol)
    evaluator = EamEvaluator(config, setup.n_atoms)
    try:
        return _roll_and_compare(VerletStepper(baseline, config, setup.n_atoms), setup, mode, evaluator, config, protocol)[0]
    finally:
        evaluator.close()


def start_baseline_rollouts(submission: Submission, splits: dict[str, SplitFrames], windows: dict[str, NveWindow],
                            config: BuildConfig, protocol: dict, baselines, cache: BaselineCache | None,
                            pool: ProcessPoolExecutor | None) -> dict[RolloutMode, dict[str, Future]]:
    """Queue on ``pool`` the rollouts of each of ``baselines`` (both modes, one job each) that
    ``cache`` lacks, at the submission's stride: {mode: {baseline name: future of
    :func:`baseline_rollouts`}}, for :func:`run_mode`'s ``computed``. Nothing without a pool
    (run_mode then computes them itself), and not the baseline a Verlet entry is itself."""
    if pool is None:
        return {}
    own = getattr(submission, "baseline", None)
    stride = int(submission.metadata["rollout_stride_fs"])
    computed: dict[RolloutMode, dict[str, Future]] = {}
    for mode in RolloutMode:  # in the order run_mode needs them
        for baseline in baselines:
            if baseline is not own and (cache is None or cache.peek(baseline_cache_key(mode, baseline.value, stride, protocol, splits)) is None):
                computed.setdefault(mode, {})[baseline.value] = pool.submit(baseline_rollouts, mode, baseline, stride, splits, windows,
                                                                            config, protocol)
    return computed


def run_mode(mode: RolloutMode, submission: Submission, splits: dict[str, SplitFrames], windows: dict[str, NveWindow],
             config: BuildConfig, protocol: dict, baselines=(), out_dir: Path | None = None,
             cache: BaselineCache | None = None, computed: dict | None = None) -> dict:
    """One rollout mode for the submission and each baseline at the submission's stride; a
    baseline's result comes from ``cache`` when it has it, else from ``computed`` (baseline name ->
    a future of :func:`baseline_rollouts`, started elsewhere) or is computed here, and goes into the cache.

    With ``out_dir``, the submission's rollouts and their MD references are written as extended
    XYZ to ``out_dir/rollouts/<mode>/<trajectory>-{model,md}.extxyz.gz`` and listed, relative to
    ``out_dir``, under ``rollout_files``. The submission's NVE summary also gets
    :func:`energy_drift_vs_verlet_k1`, once every model is rolled out.
    """
    stride = int(submission.metadata["rollout_stride_fs"])
    setup = mode_setup(mode, stride, splits, windows, config, protocol)
    starts, references, horizon, observe_every, vdos_note = setup.starts, setup.references, setup.horizon, setup.observe_every, setup.vdos_note
    files = {}
    evaluator = EamEvaluator(config, setup.n_atoms)
    models = {}
    try:
        own = getattr(submission, "baseline", None)  # a Verlet baseline scored as its own entry rolls out as one
        first = VerletStepper(own, config, setup.n_atoms, name=SUBMISSION) if own is not None else SubmissionStepper(submission)
        for stepper in [first] + [VerletStepper(b, config, setup.n_atoms) for b in baselines if b is not own]:
            what = baseline_cache_key(mode, stepper.name, stride, protocol, splits)
            stored = cache.get(what) if cache is not None and stepper is not first else None
            if stored is None and stepper is not first and computed and stepper.name in computed:
                stored = computed[stepper.name].result()
                if cache is not None:
                    cache.put(what, stored)
            if stored is not None:
                stepper.close()
                models[stepper.name] = stored
                continue
            try:
                models[stepper.name], rollouts = _roll_and_compare(stepper, setup, mode, evaluator, config, protocol)
            except SubmissionOutputError as err:
                models[stepper.name] = {"failed": True, "error": str(err)}
                continue
            if cache is not None and stepper is not first:
                cache.put(what, models[stepper.name])
            if out_dir is not None and stepper.name == SUBMISSION:
                files = {r.trajectory: write_rollout_pair(out_dir, mode.value, r, ref, submission.name)
                         for r, ref in zip(rollouts, references, strict=True)}
    finally:
        evaluator.close()
    if mode is RolloutMode.NVE and not models[SUBMISSION].get("failed"):
        verlet_k1 = SUBMISSION if own is Baseline.VERLET_K1 else Baseline.VERLET_K1.value
        models[SUBMISSION].update(energy_drift_vs_verlet_k1(models[SUBMISSION], models.get(verlet_k1)))
    notes = [FINITE_DIFFERENCE_NOTE if not submission.metadata["predicts_velocities"] else "velocities: predicted by the submission",
             "cell: held fixed at the initial state's"]
    if submission.metadata["uses_descriptors"]:
        notes.append("descriptors: recomputed by LAMMPS for every predicted frame")
    if mode is RolloutMode.NVE:
        notes.append(f"reference: the NVE reference window (LAMMPS fix nve at 1 fs from the same start state), {horizon} fs")
    else:
        notes.append(f"thermostat: Bussi stochastic velocity rescaling at the set-point, τ = {protocol['thermostat_tau_fs']:g} fs, "
                     "applied after every stride; reference: the NPT MD test window at that temperature")
    notes.append(vdos_note)
    reference = {str(frames.trajectory_id[rows[0]]): reference_curves(ref) for (frames, rows), ref in zip(starts, references, strict=True)}
    result = {"stride_fs": stride, "horizon_fs": horizon, "observe_fs": observe_every * stride, "n_rollouts": len(starts),
              "notes": notes, "reference": reference, "models": models}
    if files:
        result["rollout_files"] = files
    return result
