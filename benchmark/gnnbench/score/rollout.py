"""Rollouts: autoregressive prediction from fixed test states, scored against the MD reference.

For every trajectory of ``test`` and ``test_temperature`` the initial state is its first test
anchor; the reference is that trajectory's test anchors in time order (every 100 fs). All
rollouts advance together, one batched call per stride, at the submission's
``rollout_stride_fs``, for the protocol's horizon. Per step:

* velocities: the submission's, or, if it predicts none, the finite difference Δr/Δt (the
  report says so); cell: the submission's ``cell`` output if it has one, else held fixed;
* descriptors: recomputed by LAMMPS with the dataset's definitions if the submission uses them;
* failure: positions not finite, a pair closer than ``failure_min_distance_A``, or T above
  ``failure_temperature_factor`` × set-point. A failed rollout stops; its time to failure is kept.

Observed at every step: T (from velocities) and V; at every observation interval: positions
(for RDF and MSD), EAM potential energy (LAMMPS) and the FCC fraction by CNA.
"""

from __future__ import annotations

import math

import numpy as np
from tqdm import tqdm

from ..generate.config import BuildConfig
from ..load.frames import SplitFrames
from ..predict.submission import Submission, SubmissionOutputError
from .inputs import batch_inputs
from .lammps_eval import EamEvaluator
from .metrics import drift_per_ps, has_close_pair, kinetic_temperature, mean_squared_displacement, radial_distribution, rdf_error

FCC = 1  # LAMMPS cna/atom label


def reference_windows(splits: dict[str, SplitFrames]) -> list[tuple[SplitFrames, np.ndarray]]:
    """(frames, row indices in time order) of every trajectory's test window."""
    windows = []
    for name in ("test", "test_temperature"):
        if name in splits:
            frames = splits[name]
            windows += [(frames, frames.rows_of(t)) for t in frames.trajectories()]
    return windows


class _Rollout:
    """State and observations of one rollout."""

    def __init__(self, frames: SplitFrames, rows: np.ndarray):
        first = rows[0]
        self.trajectory = str(frames.trajectory_id[first])
        self.setpoint_K = float(frames.thermostat_temperature_K[first])
        self.species = frames.species[first]
        self.positions = frames.positions[first].copy()
        self.velocities = frames.velocities[first].copy()
        self.cell = frames.cell[first].copy()
        self.descriptors = frames.descriptors[first].copy()
        self.alive = True
        self.failure: dict | None = None
        self.times, self.temperatures, self.volumes = [0.0], [float(frames.temperature_K[first])], [float(np.linalg.det(self.cell))]
        self.observed_times, self.observed_positions, self.potential_energy, self.fcc_fraction = [], [], [], []


def _observe(rollout: _Rollout, time_fs: float, evaluator: EamEvaluator) -> None:
    result = evaluator.evaluate(rollout.positions, rollout.cell, descriptors=True)
    rollout.observed_times.append(time_fs)
    rollout.observed_positions.append(rollout.positions.copy())
    rollout.potential_energy.append(result["potential_energy_eV"])
    rollout.fcc_fraction.append(float(np.mean(result["descriptors"][:, 1] == FCC)))


def run_rollouts(submission: Submission, splits: dict[str, SplitFrames], config: BuildConfig, protocol: dict,
                 show_progress: bool = True) -> dict:
    """Roll every test trajectory forward and compare with its MD reference; see module docstring."""
    stride = int(submission.metadata["rollout_stride_fs"])
    horizon = (int(protocol["rollout_horizon_fs"]) // stride) * stride
    observe_every = max(1, math.ceil(protocol["rollout_observe_fs"] / stride))
    uses_descriptors = bool(submission.metadata["uses_descriptors"])
    windows = reference_windows(splits)
    rollouts = [_Rollout(frames, rows) for frames, rows in windows]
    n_atoms = rollouts[0].positions.shape[0]
    evaluator = EamEvaluator(config, n_atoms)
    notes = []
    try:
        for r in rollouts:
            _observe(r, 0.0, evaluator)
        velocity_source = "predicted"
        for step in tqdm(range(1, horizon // stride + 1), desc=f"rollouts (Δt {stride} fs)", unit="step", disable=not show_progress, leave=False):
            live = [r for r in rollouts if r.alive]
            if not live:
                break
            time_fs = step * stride
            inputs = batch_inputs(
                np.stack([r.positions for r in live]), np.stack([r.velocities for r in live]), np.stack([r.species for r in live]),
                np.stack([r.cell for r in live]), np.stack([r.descriptors for r in live]) if uses_descriptors else None,
                np.full(len(live), stride, np.float64), np.array([r.setpoint_K for r in live]),
            )
            context = f"rollout step {step} (t = {time_fs} fs), trajectories {', '.join(r.trajectory for r in live[:4])}{' ...' if len(live) > 4 else ''}"
            out = submission.predict(inputs, context, allow_nonfinite=True)
            new_positions = out["positions"].numpy().reshape(len(live), n_atoms, 3)
            new_velocities = out["velocities"].numpy().reshape(len(live), n_atoms, 3) if "velocities" in out else None
            new_cells = out["cell"].numpy() if "cell" in out else None
            for i, r in enumerate(live):
                velocities = new_velocities[i] if new_velocities is not None else (new_positions[i] - r.positions) / (stride * 1e-3)
                if new_velocities is None:
                    velocity_source = "finite difference Δr/Δt (the submission predicts no velocities)"
                cell = new_cells[i] if new_cells is not None else r.cell
                reason = _failure(new_positions[i], velocities, cell, r, protocol, config)
                if reason:
                    r.alive = False
                    r.failure = {"time_fs": float(time_fs), "reason": reason}
                    continue
                r.positions, r.velocities, r.cell = new_positions[i], velocities, cell
                r.times.append(float(time_fs))
                r.temperatures.append(kinetic_temperature(velocities, config.mass_amu))
                r.volumes.append(float(np.linalg.det(cell)))
                if uses_descriptors:
                    r.descriptors = evaluator.evaluate(r.positions, r.cell, descriptors=True)["descriptors"]
                if step % observe_every == 0:
                    _observe(r, float(time_fs), evaluator)
    except SubmissionOutputError as err:
        return {"failed": True, "error": str(err)}
    finally:
        evaluator.close()
    notes.append(f"velocities: {velocity_source}")
    notes.append("cell: predicted by the submission" if submission.metadata.get("predicts_cell") else "cell: held fixed at the initial state's (the submission predicts no cell)")
    if uses_descriptors:
        notes.append("descriptors: recomputed by LAMMPS for every predicted frame")
    return _compare(rollouts, windows, protocol, stride, horizon, notes, config)


def _failure(positions: np.ndarray, velocities: np.ndarray, cell: np.ndarray, rollout: _Rollout, protocol: dict, config: BuildConfig) -> str | None:
    if not (np.isfinite(positions).all() and np.isfinite(velocities).all() and np.isfinite(cell).all()):
        return "non-finite positions, velocities or cell"
    temperature = kinetic_temperature(velocities, config.mass_amu)
    if temperature > protocol["failure_temperature_factor"] * max(rollout.setpoint_K, 1.0):
        return f"temperature {temperature:.0f} K above {protocol['failure_temperature_factor']:g} x set-point {rollout.setpoint_K:g} K"
    if has_close_pair(positions, cell, protocol["failure_min_distance_A"]):
        return f"two atoms closer than {protocol['failure_min_distance_A']} Å"
    return None


def _compare(rollouts: list[_Rollout], windows, protocol: dict, stride: int, horizon: int, notes: list[str], config: BuildConfig) -> dict:
    r_max, bins = protocol["rdf_r_max_A"], protocol["rdf_bins"]
    per_trajectory = {}
    for r, (frames, rows) in zip(rollouts, windows):
        ref_times = frames.time_fs[rows] - frames.time_fs[rows[0]]
        keep = ref_times <= horizon
        ref_rows, ref_times = rows[keep], ref_times[keep]
        ref_positions = frames.positions[ref_rows]
        radius, g_ref = _mean_rdf(ref_positions, frames.cell[ref_rows], r_max, bins)
        msd_ref = mean_squared_displacement(ref_positions)
        # a failed rollout is compared with MD over the span it produced; with nothing beyond
        # its initial (MD) frame there is nothing to compare
        produced = len(r.observed_positions) > 1
        _, g_pred = _mean_rdf(np.asarray(r.observed_positions[1:] or r.observed_positions), [r.cell] * max(1, len(r.observed_positions) - 1), r_max, bins)
        msd_pred = mean_squared_displacement(np.asarray(r.observed_positions))
        span = ref_times <= r.observed_times[-1]
        msd_span = msd_ref[span]
        plateau_ref = float(msd_span[len(msd_span) // 2:].mean()) if produced else None
        plateau_pred = float(msd_pred[len(msd_pred) // 2:].mean()) if produced else None
        end_ref = int(np.argmin(np.abs(ref_times - r.times[-1])))
        per_trajectory[r.trajectory] = {
            "thermostat_temperature_K": r.setpoint_K,
            "survived": r.alive,
            "time_to_failure_fs": None if r.alive else r.failure["time_fs"],
            "failure_reason": None if r.alive else r.failure["reason"],
            "rdf_error": rdf_error(g_ref, g_pred, radius) if produced else None,
            "msd_plateau_A2": {"md": plateau_ref, "submission": plateau_pred},
            "msd_plateau_relative_error": (plateau_pred - plateau_ref) / plateau_ref if produced and plateau_ref > 0 else None,
            "temperature_K": {"md_mean": float(frames.temperature_K[ref_rows].mean()), "submission_mean": float(np.mean(r.temperatures)),
                              "md_drift_per_ps": drift_per_ps(ref_times, frames.temperature_K[ref_rows]),
                              "submission_drift_per_ps": drift_per_ps(r.times, r.temperatures)},
            "volume_A3": {"md_mean": float(frames.volume_A3[ref_rows].mean()), "submission_mean": float(np.mean(r.volumes)),
                          "md_drift_per_ps": drift_per_ps(ref_times, frames.volume_A3[ref_rows]),
                          "submission_drift_per_ps": drift_per_ps(r.times, r.volumes)},
            "end_of_horizon": {"time_fs": r.times[-1], "md_time_fs": float(ref_times[end_ref]),
                               "md_temperature_K": float(frames.temperature_K[ref_rows][end_ref]), "submission_temperature_K": r.temperatures[-1],
                               "md_volume_A3": float(frames.volume_A3[ref_rows][end_ref]), "submission_volume_A3": r.volumes[-1]},
            "potential_energy_eV": {"md_mean": float(frames.potential_energy_eV[ref_rows].mean()), "submission_mean": float(np.mean(r.potential_energy)),
                                    "md_drift_per_ps": drift_per_ps(ref_times, frames.potential_energy_eV[ref_rows]),
                                    "submission_drift_per_ps": drift_per_ps(r.observed_times, r.potential_energy)},
            "fcc_fraction": {"md_mean": float(np.mean(frames.descriptors[ref_rows, :, 1] == FCC)), "submission_final": r.fcc_fraction[-1]},
            "curves": {
                "rdf_r_A": radius.tolist(), "rdf_md": g_ref.tolist(), "rdf_submission": g_pred.tolist(),
                "md_time_fs": ref_times.tolist(), "msd_md_A2": msd_ref.tolist(),
                "md_temperature_K": frames.temperature_K[ref_rows].tolist(), "md_volume_A3": frames.volume_A3[ref_rows].tolist(),
                "observed_time_fs": r.observed_times, "msd_submission_A2": msd_pred.tolist(),
                "potential_energy_eV": r.potential_energy, "fcc_fraction": r.fcc_fraction,
                "time_fs": r.times, "temperature_K": r.temperatures, "volume_A3": r.volumes,
            },
        }
    survived = [v["survived"] for v in per_trajectory.values()]
    return {
        "stride_fs": stride,
        "horizon_fs": horizon,
        "n_rollouts": len(survived),
        "survival_fraction": float(np.mean(survived)),
        "mean_rdf_error": _mean_or_none([v["rdf_error"] for v in per_trajectory.values()]),
        "notes": notes,
        "per_trajectory": per_trajectory,
    }


def _mean_or_none(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _mean_rdf(positions, cells, r_max: float, bins: int):
    curves = [radial_distribution(p, c, r_max, bins) for p, c in zip(positions, cells)]
    return curves[0][0], np.mean([g for _, g in curves], axis=0)
