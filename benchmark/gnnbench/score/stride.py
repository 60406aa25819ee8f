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

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
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


def verlet_workers() -> int:
    """Processes that run the Verlet baselines of one split side by side: one per CPU this process
    may use, at most 4 (each holds its own LAMMPS; on 2 cores, 2 nearly halve that part of a
    cold-cache scoring). 1 where a spawned process could not start: the spawn start method
    re-runs the main script, which a program read from standard input does not have."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.exists(main_file):
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


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


def verlet_pool(workers: int) -> ProcessPoolExecutor | None:
    """Worker processes for the Verlet baselines (None for one: they run in this process). They
    start on the first job, so a scoring whose baselines all come from the cache starts none;
    spawned, not forked: the parent may already hold an MPI-initialised LAMMPS."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1 else None


def _baseline_errors(store: _Accumulator, frames: SplitFrames, strides_fs: list[int], config: BuildConfig, baselines,
                     exact_step_fs: float, pool: ProcessPoolExecutor | None = None) -> None:
    """Every baseline's per-anchor errors on one split, into ``store``. The Verlet baselines (the
    exact integrator steps ``exact_step_fs``, the dataset's NVE-branch step) run in ``pool``'s
    processes, each on a contiguous share of the anchors, or here without one; the numbers do not
    depend on how many processes ran them."""
    dt_index = {dt: list(frames.dt_fs).index(dt) for dt in strides_fs}
    verlets = [b for b in baselines if b.is_verlet]
    shares = pool._max_workers if pool is not None else 1
    chunks = [c for c in np.array_split(np.arange(frames.n_anchors), shares) if len(c)] if verlets else []
    jobs = [(frames, chunk, strides_fs, config, verlets, exact_step_fs) for chunk in chunks]
    if pool is not None and len(jobs) > 1:
        results = list(tqdm(pool.map(_verlet_rows, *zip(*jobs, strict=True)), total=len(jobs),
                            desc=f"Verlet baselines ({frames.split}, {len(jobs)} processes)", unit="share", leave=False))
    else:
        results = [_verlet_rows(*job) for job in jobs]
    for chunk, (values, with_velocity) in zip(chunks, results, strict=True):
        for key, chunk_values in values.items():
            store.values[key][chunk] = chunk_values
        store.has_velocity |= with_velocity
    all_rows = np.arange(frames.n_anchors)
    for dt in strides_fs:
        k = dt_index[dt]
        if Baseline.ZERO_DISPLACEMENT in baselines:
            store.add(all_rows, dt, Baseline.ZERO_DISPLACEMENT.value, frames, k, np.zeros_like(frames.positions), frames.velocities)
        if Baseline.CONSTANT_VELOCITY in baselines:
            store.add(all_rows, dt, Baseline.CONSTANT_VELOCITY.value, frames, k, frames.velocities * (dt * PS_PER_FS), frames.velocities)


def score_split(submission: Submission | None, frames: SplitFrames, strides_fs: list[int], batch_size: int,
                config: BuildConfig, baselines=tuple(Baseline), cache: BaselineCache | None = None,
                pool: ProcessPoolExecutor | None = None) -> dict[TargetKind, dict]:
    """Errors of ``submission`` (None: baselines only) and ``baselines`` on one split.

    Returns {target kind: {"dt_fs", "n_anchors", "n_atoms", "overall": {dt: at_dt}, "per_temperature":
    {T: {dt: at_dt}}}}. A failing submission call raises SubmissionOutputError naming the input.
    The baselines' per-anchor errors come from ``cache`` when it has them, and go into it otherwise.
    """
    names = ([SUBMISSION] if submission is not None else []) + [b.value for b in baselines]
    store = _Accumulator(frames.n_anchors, strides_fs, names)
    what = {"stride_accuracy": frames.split, "strides_fs": list(strides_fs), "baselines": [b.value for b in baselines],
            "n_anchors": frames.n_anchors, "exact_step_fs": config.nve_timestep_fs}
    stored = cache.get(what) if cache is not None else None
    if stored is not None:
        store.restore(stored)
    else:
        _baseline_errors(store, frames, strides_fs, config, baselines, config.nve_timestep_fs, pool)
        if cache is not None:
            cache.put(what, store.of([b.value for b in baselines]))
    dt_index = {dt: list(frames.dt_fs).index(dt) for dt in strides_fs}
    all_rows = np.arange(frames.n_anchors)
    if submission is not None:
        uses_descriptors = submission.metadata["uses_descriptors"]
        work = [(dt, rows) for dt in strides_fs
                for rows in np.array_split(all_rows, max(1, int(np.ceil(frames.n_anchors / batch_size))))]
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

    temperatures = sorted(set(frames.thermostat_temperature_K.tolist()))
    results = {}
    for kind in TargetKind:
        per_temperature = {}
        for t in temperatures:
            rows = np.flatnonzero(frames.thermostat_temperature_K == t)
            per_temperature[f"{t:g}"] = {str(dt): at_dt(store.errors(kind, dt, names, rows)) for dt in strides_fs}
        results[kind] = {"dt_fs": list(strides_fs), "n_anchors": frames.n_anchors, "n_atoms": frames.n_atoms,
                         "overall": {str(dt): at_dt(store.errors(kind, dt, names, all_rows)) for dt in strides_fs},
                         "per_temperature": per_temperature}
    return results


def score_strides(submission: Submission | None, splits: dict[str, SplitFrames], batch_size: int, config: BuildConfig,
                  baselines=tuple(Baseline), cache: BaselineCache | None = None, workers: int | None = None) -> dict[str, dict[str, dict]]:
    """{target kind value: {split: result}}; a split on which the submission fails is reported as
    ``{"failed": true, "error": ...}`` under both kinds, and the other splits are still scored.
    Baselines not in ``cache`` run on ``workers`` processes (default :func:`verlet_workers`)."""
    strides = sorted(set(int(dt) for dt in next(iter(splits.values())).dt_fs))
    results: dict[str, dict[str, dict]] = {kind.value: {} for kind in TargetKind}
    pool = verlet_pool(verlet_workers() if workers is None else workers)
    try:
        for name, frames in splits.items():
            try:
                by_kind = score_split(submission, frames, strides, batch_size, config, baselines, cache, pool)
            except SubmissionOutputError as err:
                by_kind = {kind: {"failed": True, "error": str(err)} for kind in TargetKind}
            for kind, result in by_kind.items():
                results[kind.value][name] = result
    finally:
        if pool is not None:
            pool.shutdown()
    return results
