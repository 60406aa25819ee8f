"""Stride accuracy: one prediction per (anchor, Δt), against both target kinds, beside the baselines.

For every split and Δt the scorer computes, per anchor, the displacement errors of the
submission and of every baseline in ``STRIDE_BASELINES`` on the same frames, against

* the NVE-branch targets (``TargetKind.NVE``, the headline: the Hamiltonian flow), and
* the NPT-continuation targets (``TargetKind.NPT``, the paper's protocol; its
  exact-integrator row, Verlet at the NVE branches' step, shows the barostat floor).

Each metric is reported for all anchors and per trajectory temperature (the paper's Table 6),
with a 95 % bootstrap confidence interval over anchors (:mod:`gnnbench.score.bootstrap`).
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import TypedDict

import numpy as np
from tqdm import tqdm

from ..generate.config import BuildConfig
from ..load.frames import SplitFrames, TargetKind
from ..predict.submission import Submission, SubmissionOutputError
from ..units import PS_PER_FS
from .baseline_cache import BaselineCache
from .baselines import SUBMISSION, Baseline
from .bootstrap import with_ci
from .force_calls import force_calls_to_match, verlet_curve
from .inputs import batch_inputs
from .metrics import anchor_mae, anchor_mse, mean, root_mean, skill
from .verlet import VerletEam


@dataclass
class AnchorErrors:
    """Per-anchor errors of one model at one Δt against one target kind (arrays [R])."""

    mse: np.ndarray                    # mean over atoms of |e_i|², Å²
    mae: np.ndarray                    # mean over atoms of |e_i|, Å
    velocity_mse: np.ndarray | None    # mean over atoms of |v_pred − v_true|², (Å/ps)²; None if not predicted


class ModelErrors(TypedDict, total=False):
    mse_A2: float
    mse_A2_ci95: list[float]
    rmse_A: float
    rmse_A_ci95: list[float]
    mae_A: float
    mae_A_ci95: list[float]
    velocity_rmse_A_per_ps: float
    velocity_rmse_A_per_ps_ci95: list[float]


def model_errors(errors: AnchorErrors) -> ModelErrors:
    """Aggregate per-anchor errors into the reported metrics, each with its CI."""
    out: ModelErrors = {**with_ci("mse_A2", mean, errors.mse), **with_ci("rmse_A", root_mean, errors.mse),
                        **with_ci("mae_A", mean, errors.mae)}
    if errors.velocity_mse is not None:
        out.update(with_ci("velocity_rmse_A_per_ps", root_mean, errors.velocity_mse))
    return out


def at_dt(errors: dict[str, AnchorErrors]) -> dict:
    """{model key: ModelErrors, skill_vs_zero (+_ci95), skill_vs_constant_velocity (+_ci95),
    force_calls_to_match (+_ci95)} on the same anchors.

    ``force_calls_to_match``: the Verlet force calls per stride with the submission's RMSE
    (:mod:`gnnbench.score.force_calls`); its CI maps the ends of the RMSE's CI through the same
    (monotone) curve, None where an end falls outside k = 1–8."""
    out: dict = {name: model_errors(e) for name, e in errors.items()}
    if SUBMISSION in errors:
        for baseline, key in ((Baseline.ZERO_DISPLACEMENT, "skill_vs_zero"), (Baseline.CONSTANT_VELOCITY, "skill_vs_constant_velocity")):
            out.update(with_ci(key, skill, errors[SUBMISSION].mse, errors[baseline.value].mse))
        curve = verlet_curve(out)
        if curve:
            low, high = out[SUBMISSION]["rmse_A_ci95"]
            out["force_calls_to_match"] = force_calls_to_match(out[SUBMISSION]["rmse_A"], curve)
            out["force_calls_to_match_ci95"] = [force_calls_to_match(high, curve)["value"], force_calls_to_match(low, curve)["value"]]
    return out


class _Accumulator:
    """Per-anchor errors of every model, per target kind and Δt, filled row by row."""

    def __init__(self, n_anchors: int, strides: list[int], names: list[str]):
        shape = (n_anchors,)
        self.values = {(kind, dt, name, field): np.full(shape, np.nan)
                       for kind in TargetKind for dt in strides for name in names for field in ("mse", "mae", "velocity_mse")}
        self.has_velocity: set[str] = set()

    def add(self, rows: np.ndarray, dt: int, name: str, frames: SplitFrames, k: int, displacement: np.ndarray,
            velocities: np.ndarray | None) -> None:
        for kind in TargetKind:
            true_d, true_v = frames.targets(kind)
            self.values[(kind, dt, name, "mse")][rows] = anchor_mse(displacement, true_d[rows, k])
            self.values[(kind, dt, name, "mae")][rows] = anchor_mae(displacement, true_d[rows, k])
            if velocities is not None:
                self.values[(kind, dt, name, "velocity_mse")][rows] = anchor_mse(velocities, true_v[rows, k])
                self.has_velocity.add(name)

    def of(self, names: list[str]) -> dict[str, list]:
        """The per-anchor values of ``names`` as JSON ("kind|dt|name|field": list; NaN where unset)."""
        return {f"{kind.value}|{dt}|{name}|{field}": v.tolist() for (kind, dt, name, field), v in self.values.items() if name in names}

    def restore(self, stored: dict[str, list]) -> None:
        """Put back what :meth:`of` returned (a name stored with velocities has them)."""
        for key, v in stored.items():
            kind, dt, name, field = key.split("|")
            self.values[(TargetKind(kind), int(dt), name, field)] = np.asarray(v, dtype=np.float64)
            if field == "velocity_mse" and not np.isnan(self.values[(TargetKind(kind), int(dt), name, field)]).all():
                self.has_velocity.add(name)

    def errors(self, kind: TargetKind, dt: int, names: list[str], rows: np.ndarray) -> dict[str, AnchorErrors]:
        def get(name: str, field: str) -> np.ndarray:
            return self.values[(kind, dt, name, field)][rows]

        return {name: AnchorErrors(get(name, "mse"), get(name, "mae"), get(name, "velocity_mse") if name in self.has_velocity else None)
                for name in names}


def _verlet_rows(frames: SplitFrames, rows: np.ndarray, strides_fs: list[int], config: BuildConfig, baselines,
                 exact_step_fs: float) -> tuple[dict, set[str]]:
    """The Verlet baselines' per-anchor errors on ``rows`` of one split, with a LAMMPS of its own
    (run in a worker process): {accumulator key: values at ``rows``}, and the names with velocities."""
    store = _Accumulator(frames.n_anchors, strides_fs, [b.value for b in baselines])
    dt_index = {dt: list(frames.dt_fs).index(dt) for dt in strides_fs}
    # (baseline, Δt) pairs by step size h = Δt / k: pairs of one h lie on one run (Δt = 10 fs with k = 4
    # and 20 fs with k = 8 both take 2.5 fs steps), which saves a third of the steps and LAMMPS set-ups
    by_step: dict[Fraction, list[tuple[Baseline, int]]] = {}
    for baseline in baselines:
        for dt in strides_fs:
            step = Fraction(exact_step_fs).limit_denominator(1000) if baseline is Baseline.VERLET_EXACT else Fraction(dt, baseline.substeps(dt))
            by_step.setdefault(step, []).append((baseline, dt))
    verlet = VerletEam(config, frames.n_atoms)
    try:
        for row in rows:
            r0, v0, cell = frames.positions[row], frames.velocities[row], frames.cell[row]
            for step, pairs in by_step.items():
                dts = sorted({dt for _, dt in pairs})
                states = dict(zip(dts, verlet.along(r0, v0, cell, dts, timestep_fs=float(step)), strict=True))
                for baseline, dt in pairs:
                    r, v = states[dt]
                    store.add(np.array([row]), dt, baseline.value, frames, dt_index[dt], (r - r0)[None], v[None])
    finally:
        verlet.close()
    return {key: values[rows] for key, values in store.values.items()}, store.has_velocity


class StrideBaselines:
    """The baselines' per-anchor errors on one split: read from ``cache``, or started at once on
    ``pool``'s workers (each job a share of the anchors, the Verlet rows; the exact integrator
    steps the dataset's NVE-branch step), or, without a pool, computed when first needed."""

    JOBS_PER_WORKER = 4  # shares small enough that the workers finish together

    def __init__(self, frames: SplitFrames, strides_fs: list[int], config: BuildConfig, baselines,
                 cache: BaselineCache | None = None, pool: ProcessPoolExecutor | None = None):
        self.frames, self.strides_fs, self.baselines, self.cache = frames, strides_fs, tuple(baselines), cache
        self.what = {"stride_accuracy": frames.split, "strides_fs": list(strides_fs), "baselines": [b.value for b in baselines],
                     "n_anchors": frames.n_anchors, "exact_step_fs": config.nve_timestep_fs}
        self.stored = cache.get(self.what) if cache is not None else None
        self.jobs: list[tuple[np.ndarray, tuple, Future | None]] = []
        verlets = [b for b in self.baselines if b.is_verlet]
        if self.stored is None and verlets:
            shares = pool._max_workers * self.JOBS_PER_WORKER if pool is not None else 1
            for rows in np.array_split(np.arange(frames.n_anchors), min(shares, frames.n_anchors)):
                args = (frames, rows, strides_fs, config, verlets, config.nve_timestep_fs)
                self.jobs.append((rows, args, pool.submit(_verlet_rows, *args) if pool is not None else None))

    def fill(self, store: _Accumulator) -> None:
        """Put every baseline's per-anchor errors into ``store`` (waiting for the workers), and
        into the cache if they were computed."""
        if self.stored is not None:
            store.restore(self.stored)
            return
        frames, strides_fs = self.frames, self.strides_fs
        for rows, args, future in self.jobs:
            values, with_velocity = future.result() if future is not None else _verlet_rows(*args)
            for key, row_values in values.items():
                store.values[key][rows] = row_values
            store.has_velocity |= with_velocity
        all_rows = np.arange(frames.n_anchors)
        for dt in strides_fs:
            k = list(frames.dt_fs).index(dt)
            if Baseline.ZERO_DISPLACEMENT in self.baselines:
                store.add(all_rows, dt, Baseline.ZERO_DISPLACEMENT.value, frames, k, np.zeros_like(frames.positions), frames.velocities)
            if Baseline.CONSTANT_VELOCITY in self.baselines:
                store.add(all_rows, dt, Baseline.CONSTANT_VELOCITY.value, frames, k, frames.velocities * (dt * PS_PER_FS), frames.velocities)
        if self.cache is not None:
            self.cache.put(self.what, store.of([b.value for b in self.baselines]))


def start_stride_baselines(splits: dict[str, SplitFrames], config: BuildConfig, baselines, cache: BaselineCache | None = None,
                           pool: ProcessPoolExecutor | None = None) -> dict[str, StrideBaselines]:
    """{split: its :class:`StrideBaselines`}, every split's jobs queued on ``pool`` now."""
    strides = stride_list(splits)
    return {name: StrideBaselines(frames, strides, config, baselines, cache, pool) for name, frames in splits.items()}


def stride_list(splits: dict[str, SplitFrames]) -> list[int]:
    """Every Δt (fs) of the data, ascending."""
    return sorted(set(int(dt) for dt in next(iter(splits.values())).dt_fs))


def _submission_errors(submission: Submission, frames: SplitFrames, batch_size: int, strides_fs: list[int],
                       store: _Accumulator) -> None:
    """The submission's per-anchor errors on one split, ``batch_size`` anchors per call; a failing
    call raises SubmissionOutputError naming the input."""
    dt_index = {dt: list(frames.dt_fs).index(dt) for dt in strides_fs}
    uses_descriptors = submission.metadata["uses_descriptors"]
    work = [(dt, rows) for dt in strides_fs
            for rows in np.array_split(np.arange(frames.n_anchors), max(1, int(np.ceil(frames.n_anchors / batch_size))))]
    for dt, rows in tqdm(work, desc=f"stride accuracy ({frames.split})", unit="batch", leave=False):
        r0, v0 = frames.positions[rows], frames.velocities[rows]
        anchors = ", ".join(f"{frames.trajectory_id[r]}@{frames.time_fs[r]:.0f}fs" for r in rows[:3])
        context = f"split {frames.split}, Δt {dt} fs, anchors {anchors}" + (" ..." if len(rows) > 3 else "")
        inputs = batch_inputs(r0, v0, frames.species[rows], frames.cell[rows],
                              frames.descriptors[rows] if uses_descriptors else None,
                              np.full(len(rows), dt, np.float64), frames.thermostat_temperature_K[rows])
        out = submission.predict(inputs, context, phase="stride")
        predicted_r = out["positions"].numpy().reshape(r0.shape)
        predicted_v = out["velocities"].numpy().reshape(v0.shape) if "velocities" in out else None
        store.add(rows, dt, SUBMISSION, frames, dt_index[dt], predicted_r - r0, predicted_v)


def score_split(submission: Submission | None, frames: SplitFrames, batch_size: int, baselines: StrideBaselines,
                model_strides_fs: list[int] | None = None) -> dict[TargetKind, dict]:
    """Errors of ``submission`` (None: baselines only) and ``baselines`` on one split.

    ``model_strides_fs``: the only Δt the model can take (a metatomic model's own timestep; None:
    any); at every other Δt the result has the baselines alone, without a ``submission`` entry.

    Returns {target kind: {"dt_fs", "n_anchors", "n_atoms", "overall": {dt: at_dt}, "per_temperature":
    {T: {dt: at_dt}}}}. A failing submission call raises SubmissionOutputError naming the input.
    The submission runs first, while the baselines' workers compute theirs.
    """
    strides_fs = baselines.strides_fs
    names = ([SUBMISSION] if submission is not None else []) + [b.value for b in baselines.baselines]
    store = _Accumulator(frames.n_anchors, strides_fs, names)
    submission_strides = [dt for dt in strides_fs if submission is not None and (model_strides_fs is None or dt in model_strides_fs)]
    if submission is not None:
        try:
            _submission_errors(submission, frames, batch_size, submission_strides, store)
        except SubmissionOutputError:
            baselines.fill(store)  # wait for them all the same, and cache them: the next scoring needs them
            raise
    baselines.fill(store)

    all_rows = np.arange(frames.n_anchors)
    temperatures = sorted(set(frames.thermostat_temperature_K.tolist()))
    names_at = {dt: names if dt in submission_strides or submission is None else [n for n in names if n != SUBMISSION] for dt in strides_fs}
    results = {}
    for kind in TargetKind:
        per_temperature = {}
        for t in temperatures:
            rows = np.flatnonzero(frames.thermostat_temperature_K == t)
            per_temperature[f"{t:g}"] = {str(dt): at_dt(store.errors(kind, dt, names_at[dt], rows)) for dt in strides_fs}
        results[kind] = {"dt_fs": list(strides_fs), "n_anchors": frames.n_anchors, "n_atoms": frames.n_atoms,
                         "overall": {str(dt): at_dt(store.errors(kind, dt, names_at[dt], all_rows)) for dt in strides_fs},
                         "per_temperature": per_temperature}
    return results


def score_strides(submission: Submission | None, splits: dict[str, SplitFrames], batch_size: int,
                  baselines: dict[str, StrideBaselines], model_strides_fs: list[int] | None = None) -> dict[str, dict[str, dict]]:
    """{target kind value: {split: result}}, beside ``baselines`` (:func:`start_stride_baselines`);
    a split on which the submission fails is reported as ``{"failed": true, "error": ...}`` under
    both kinds, and the other splits are still scored. ``model_strides_fs``: as in :func:`score_split`."""
    results: dict[str, dict[str, dict]] = {kind.value: {} for kind in TargetKind}
    for name, frames in splits.items():
        try:
            by_kind = score_split(submission, frames, batch_size, baselines[name], model_strides_fs)
        except SubmissionOutputError as err:
            by_kind = {kind: {"failed": True, "error": str(err)} for kind in TargetKind}
        for kind, result in by_kind.items():
            results[kind.value][name] = result
    return results
