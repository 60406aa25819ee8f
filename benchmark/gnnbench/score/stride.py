"""Stride accuracy: one prediction per (anchor, Δt), against the truth and the trivial baselines.

For every split, Δt and trajectory temperature the scorer accumulates the displacement errors
of the submission and of two baselines it computes itself on the same frames:
zero displacement (Δr = 0) and constant velocity (Δr = v Δt). Metrics: MSE, RMSE, MAE of the
per-atom displacement vector (see metrics.DEFINITIONS), velocity RMSE where predicted, and skill
scores against both baselines. The paper's Table 6 is the per-temperature RMSE.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..load.frames import SplitFrames
from ..predict.submission import Submission, SubmissionOutputError
from .inputs import batch_inputs
from .metrics import ErrorSums, skill

BASELINES = ("zero_displacement", "constant_velocity")


def _summaries(sums: dict[str, ErrorSums]) -> dict:
    out = {name: s.summary() for name, s in sums.items()}
    if "submission" in out:
        out["skill_vs_zero"] = skill(out["submission"]["mse_A2"], out["zero_displacement"]["mse_A2"])
        out["skill_vs_constant_velocity"] = skill(out["submission"]["mse_A2"], out["constant_velocity"]["mse_A2"])
    return out


def score_split(submission: Submission | None, frames: SplitFrames, strides_fs: list[int], batch_size: int,
                show_progress: bool = True, verlet: dict | None = None) -> dict:
    """Errors of ``submission`` (None: baselines only) on one split, per Δt and temperature.

    Returns {"dt_fs": [...], "overall": {dt: {...}}, "per_temperature": {T: {dt: {...}}}} where
    each leaf maps "submission"/"zero_displacement"/"constant_velocity" (and "verlet_eam_k<k>" for
    each integrator in ``verlet``, a {name: VerletEam}) to their metrics.
    A failing call raises SubmissionOutputError naming the input.
    """
    uses_descriptors = submission is not None and submission.metadata["uses_descriptors"]
    temperatures = sorted(set(frames.thermostat_temperature_K.tolist()))
    verlet = verlet or {}
    names = (("submission",) if submission is not None else ()) + BASELINES + tuple(verlet)
    sums = {(t, dt): {n: ErrorSums() for n in names} for t in temperatures for dt in strides_fs}
    work = [(k, dt, rows) for k, dt in enumerate(frames.dt_fs.tolist()) if dt in strides_fs
            for rows in np.array_split(np.arange(frames.n_anchors), max(1, int(np.ceil(frames.n_anchors / batch_size))))]
    for k, dt, rows in tqdm(work, desc=f"stride accuracy ({frames.split})", unit="batch", disable=not show_progress, leave=False):
        r0, v0 = frames.positions[rows], frames.velocities[rows]
        true_d, true_v = frames.target_displacement[rows, k], frames.target_velocities[rows, k]
        predictions = {"zero_displacement": (np.zeros_like(r0), v0), "constant_velocity": (v0 * (dt * 1e-3), v0)}
        for name, integrator in verlet.items():
            advanced = [integrator.advance(r0[i], v0[i], frames.cell[row], dt) for i, row in enumerate(rows)]
            predictions[name] = (np.stack([a[0] for a in advanced]) - r0, np.stack([a[1] for a in advanced]))
        if submission is not None:
            context = (f"split {frames.split}, Δt {dt} fs, anchors {', '.join(f'{frames.trajectory_id[r]}@{frames.time_fs[r]:.0f}fs' for r in rows[:3])}"
                       + (" ..." if len(rows) > 3 else ""))
            inputs = batch_inputs(r0, v0, frames.species[rows], frames.cell[rows],
                                  frames.descriptors[rows] if uses_descriptors else None,
                                  np.full(len(rows), dt, np.float64), frames.thermostat_temperature_K[rows])
            out = submission.predict(inputs, context)
            predicted_r = out["positions"].numpy().reshape(r0.shape)
            predicted_v = out["velocities"].numpy().reshape(v0.shape) if "velocities" in out else None
            predictions["submission"] = (predicted_r - r0, predicted_v)
        for i, row in enumerate(rows):
            t = frames.thermostat_temperature_K[row]
            for name, (displacement, velocity) in predictions.items():
                sums[(t, dt)][name].add(displacement[i], true_d[i], None if velocity is None else velocity[i], true_v[i])
    per_temperature = {f"{t:g}": {str(dt): _summaries(sums[(t, dt)]) for dt in strides_fs} for t in temperatures}
    overall = {}
    for dt in strides_fs:
        merged = {n: ErrorSums() for n in names}
        for t in temperatures:
            for n in names:
                merged[n] = merged[n].merge(sums[(t, dt)][n])
        overall[str(dt)] = _summaries(merged)
    return {"dt_fs": list(strides_fs), "n_anchors": frames.n_anchors, "n_atoms": frames.n_atoms,
            "overall": overall, "per_temperature": per_temperature}


def score_strides(submission: Submission | None, splits: dict[str, SplitFrames], batch_size: int, show_progress: bool = True,
                  verlet: dict | None = None) -> dict:
    """Stride accuracy on every split given; a failing split is reported, the others still scored."""
    strides = sorted(set(int(dt) for dt in next(iter(splits.values())).dt_fs))
    results = {}
    for name, frames in splits.items():
        try:
            results[name] = score_split(submission, frames, strides, batch_size, show_progress, verlet)
        except SubmissionOutputError as err:
            results[name] = {"failed": True, "error": str(err)}
    return results
