"""``gnnbench score``: score one model end to end (stride accuracy, rollouts, cost, report).

A model is a TorchScript submission loaded in a sandboxed worker
(:func:`gnnbench.predict.sandbox.load_sandboxed`; in this process only with ``trust=True``,
``--trust-submission``) or a built-in baseline (:func:`builtin_model`, the suite's own code);
all answer ``predict`` the same way. A sandboxed submission's output goes to ``submission.log``
beside ``scores.json``.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import DATASET_REPO, DATASET_VERSION
from ..generate.config import load_config
from ..load.frames import read_nve_windows, read_split
from ..package.manifest import data_digest, read_manifest, target_floor_A, verify_config
from ..package.splits import ROLLOUT_SPLITS
from ..predict.formats import model_file
from ..predict.sandbox import SandboxLimits, load_sandboxed
from ..predict.submission import SubmissionError, SubmissionOutputError, check_model_file, load_submission
from ..untrusted import short
from . import SCORER_VERSION, SCORES_SCHEMA_VERSION
from .baseline_cache import BaselineCache
from .baselines import ROLLOUT_BASELINES, STRIDE_BASELINES, Baseline
from .cost import hardware, measure_cost, process_boundary
from .inputs import batch_inputs
from .metrics import DEFINITIONS
from .protocol import load_protocol
from .report import plot_all, print_report, write_scores
from .rollout import RolloutMode, run_mode, start_baseline_rollouts
from .rollout_files import render_pictures
from .stride import score_strides, start_stride_baselines
from .usability import usability
from .verlet import VerletEamSubmission
from .workers import worker_count, worker_pool


class DatasetVersionError(ValueError):
    """The dataset directory holds another version than the one this scorer scores."""


@dataclass(frozen=True)
class ScoreOptions:
    """What to run besides stride accuracy, and how loudly."""

    rollouts: bool = True
    cost: bool = True
    quiet: bool = False  # no report on stdout


def resolve_submission_path(path: Path) -> Path:
    """Accept a model file or the folder holding it (its ``submission.pt`` or ``submission.pt2``)."""
    path = Path(path)
    return model_file(path) if path.is_dir() else path


TRUST_NOTE = ("--trust-submission: the submission runs inside the scorer's own process, unsandboxed and without limits: "
               "TorchScript can read and write any file you can (torch.save, torch.from_file). Use it only for a model you trust.")


def load_model(path: Path, device: str = "cpu", data_root: Path | None = None, config_name: str | None = None,
               trust: bool = False, limits: SandboxLimits | None = None):
    """A submission (any format of :mod:`gnnbench.predict.formats`), checked before anything else is touched, loaded in a sandboxed
    worker (``trust=True``: in this process, as for one's own model).

    Given the data to score on, a bare model file (a path to a file, not a submission folder)
    with no ``metadata.yaml`` beside it is accepted with stated defaults (``own_use_metadata``).
    Raises SubmissionError, or SandboxUnavailable (a SubmissionError) when the sandbox cannot
    be set up here: the message says why, and ``trust=True`` is then the only way to score.
    """
    check_model_file(resolve_submission_path(path))  # first: a pickle or a broken file is refused before anything else
    own_use = None
    if data_root is not None and config_name is not None and not Path(path).is_dir():
        manifest = read_manifest(Path(data_root))
        own_use = {"dt_fs": manifest["configs"][config_name]["dt_fs"], "dataset": manifest.get("dataset", DATASET_REPO),
                   "revision": f"v{manifest['version']}", "config": config_name}
    if trust:
        return load_submission(resolve_submission_path(path), device=device, own_use=own_use)
    return load_sandboxed(resolve_submission_path(path), device=device, own_use=own_use, limits=limits)


def model_strides_fs(model, config, data_strides_fs: list[int], data_species: set[int]) -> list[int] | None:
    """The Δt the model can take (None: any), after checking what its format reports against the data.

    A metatomic model (FlashMD) has its own timestep and the masses it was trained with: it is
    scored at that timestep only, which must be a Δt of the data and its rollout stride, and its
    mass for every species of the data must be the data's (``mass_amu``, relative 1e-5)."""
    info = getattr(model, "model_info", None) or {}
    masses = info.get("masses_u")
    if masses is not None:
        for z in sorted(data_species):
            own = masses.get(str(z), masses.get(z)) if isinstance(masses, dict) else None  # str keys: JSON from the worker
            if not isinstance(own, (int, float)) or abs(own - config.mass_amu) > 1e-5 * config.mass_amu:
                raise SubmissionError(f"{model.path}: the model's mass for Z = {z} is {short(repr(own), 40)} u, the data's "
                                      f"{config.mass_amu} u: a model trained with other masses is not scored on this data")
    strides = info.get("strides_fs")
    if strides is None:
        return None
    if not isinstance(strides, list) or not strides or not all(isinstance(x, (int, float)) for x in strides):
        raise SubmissionError(f"{model.path}: the model reports strides {short(str(strides), 80)}, not a list of Δt in fs")
    own_strides = sorted({int(round(x)) for x in strides if abs(x - round(x)) < 1e-9 and int(round(x)) in data_strides_fs})
    if len(own_strides) != len(strides):
        raise SubmissionError(f"{model.path}: the model's own timestep(s) {strides} fs are not all Δt of the data {data_strides_fs}")
    if model.metadata["rollout_stride_fs"] not in own_strides:
        raise SubmissionError(f"{model.path}: metadata rollout_stride_fs {model.metadata['rollout_stride_fs']} fs, but the model's own "
                              f"timestep is {own_strides} fs")
    return own_strides


def probe_velocities(model, frames) -> bool:
    """Whether ``model`` returns velocities: one call on the first anchor at its rollout stride."""
    inputs = batch_inputs(frames.positions[:1], frames.velocities[:1], frames.species[:1], frames.cell[:1], frames.descriptors[:1],
                          np.array([model.metadata["rollout_stride_fs"]], np.float64), frames.thermostat_temperature_K[:1])
    return "velocities" in model.predict(inputs, f"first call, to see its outputs ({frames.trajectory_id[0]})", phase="probe")


def own_use_note(metadata: dict) -> str:
    """The defaults a bare model file was scored with, in words (printed and stored in scores.json)."""
    return ("no metadata.yaml beside the model: scored for your own use with these defaults "
            f"(name {metadata['name']}; strides_fs {metadata['strides_fs']} = every Δt of the data; rollout_stride_fs "
            f"{metadata['rollout_stride_fs']}; predicts_velocities {str(metadata['predicts_velocities']).lower()} "
            "(seen from its outputs on one call); uses_descriptors true (LAMMPS recomputes them every rollout stride: "
            f"right for any model, only slower); parameter_count {metadata['parameter_count']} (counted)). "
            "These scores cannot be a leaderboard entry: write metadata.yaml (predict/SUBMISSION.md) and score again.")


def builtin_model(baseline: Baseline, data_root: Path, config_name: str) -> VerletEamSubmission:
    """A Verlet baseline as a model of its own (it needs the dataset's potential and atom count)."""
    config = load_config(Path(data_root) / "recipes" / f"{config_name}.yaml")
    n_atoms = read_manifest(Path(data_root))["configs"][config_name]["n_atoms"]
    return VerletEamSubmission(config, n_atoms, baseline)


def score(model, data_root: Path, config_name: str, out_dir: Path, options: ScoreOptions = ScoreOptions()) -> dict:
    """Score ``model`` on ``config_name`` of the dataset in ``data_root``; write ``scores.json``,
    ``plots/`` and the submission's rollouts (``rollouts/<mode>/``) into ``out_dir``; return the scores.

    The config's shards and recipe are checked against the dataset's manifest first
    (:func:`verify_config`, every file hashed, the split map checked against the recipe): a corrupt, truncated or edited file raises
    CorruptDatasetError before anything is read or written."""
    started = time.perf_counter()
    data_root, out_dir = Path(data_root), Path(out_dir)
    manifest = read_manifest(data_root)
    if manifest.get("version") != DATASET_VERSION:
        raise DatasetVersionError(f"{data_root}: dataset version {manifest.get('version')}, scorer {SCORER_VERSION} needs {DATASET_VERSION}; "
                         f"rebuild it with gnnbench data build --config {config_name} --out {data_root}")
    verified = verify_config(data_root, config_name)  # every shard and the recipe against the manifest, before any is read
    config = load_config(data_root / "recipes" / f"{config_name}.yaml")
    protocol = load_protocol(config_name)
    splits = {name: read_split(data_root, config_name, name) for name in ROLLOUT_SPLITS}
    errors, notes = [], []
    out_dir.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "attach_log"):  # the sandboxed worker's stdout and stderr, never the report
        model.attach_log(out_dir / "submission.log")
    if hasattr(model, "sandbox_info") and not model.sandbox_info()["sandboxed"]:
        notes.append(TRUST_NOTE)
        if not options.quiet:
            print("WARNING: " + TRUST_NOTE)
    if getattr(model, "metadata_defaults", False):
        try:
            model.metadata["predicts_velocities"] = probe_velocities(model, splits["test"])
        except SubmissionOutputError as err:
            errors.append(f"first call: {err}")
        notes.append(own_use_note(model.metadata))
        if not options.quiet:
            print(notes[-1])

    data_sha256 = data_digest(data_root, verified)
    cache = BaselineCache.default(data_sha256, config_name)
    windows = ({t: w for split in ROLLOUT_SPLITS for t, w in read_nve_windows(data_root, config_name, split).items()}
               if options.rollouts else {})
    model_strides = model_strides_fs(model, config, [int(dt) for dt in splits["test"].dt_fs], set(np.unique(splits["test"].species).tolist()))
    rollouts = {}
    with worker_pool() as pool:
        # every baseline the cache lacks is queued now, in the order needed, and runs on the pool's
        # workers while this process runs the submission (score/workers.py)
        stride_baselines = start_stride_baselines(splits, config, STRIDE_BASELINES, cache, pool)
        rollout_baselines = (start_baseline_rollouts(model, splits, windows, config, protocol, ROLLOUT_BASELINES, cache, pool)
                             if options.rollouts else {})
        stride = score_strides(model, splits, protocol["stride_batch_size"], stride_baselines, model_strides_fs=model_strides)
        errors += [f"stride accuracy on {split}: {r['error']}" for split, r in stride["nve"].items() if r.get("failed")]
        for mode in RolloutMode:
            if not options.rollouts:
                rollouts[mode.value] = {"skipped": "--no-rollouts"}
                continue
            rollouts[mode.value] = run_mode(mode, model, splits, windows, config, protocol, ROLLOUT_BASELINES, out_dir=out_dir,
                                            cache=cache, computed=rollout_baselines.get(mode))
            failed = rollouts[mode.value]["models"].get("submission", {})
            if failed.get("failed"):
                errors.append(f"{mode.value} rollouts: {failed['error']}")

    if options.cost:
        try:
            cost = measure_cost(model, config, splits["test"], protocol)
        except SubmissionOutputError as err:
            cost = {"failed": True, "error": str(err)}
            errors.append(f"cost: {err}")
    else:
        cost = {"skipped": "--no-cost"}

    scores = {
        "schema_version": SCORES_SCHEMA_VERSION,
        "scorer_version": SCORER_VERSION,
        "dataset": {"name": manifest.get("dataset", DATASET_REPO), "version": manifest["version"], "config": config_name,
                    "data_sha256": data_sha256,
                    "nve_target_floor_A": {str(dt): rmse for dt, rmse in target_floor_A(data_root, config_name).items()}},
        "submission": {"name": model.name, "sha256": model.metadata["submission_sha256"], "metadata": model.metadata,
                       "format": getattr(model, "model_format", "built-in"),
                       **({"model_strides_fs": model_strides} if model_strides is not None else {}),
                       **({"metadata_defaults": own_use_note(model.metadata)} if getattr(model, "metadata_defaults", False) else {})},
        "hardware": hardware(model.device),
        "definitions": DEFINITIONS,
        "baselines": {b.value: {"label": b.label, "description": b.description} for b in Baseline},
        "stride_accuracy": stride,
        "rollouts": rollouts,
        "cost": cost,
        "errors": errors,
        **({"sandbox": {**model.sandbox_info(), "process_boundary": process_boundary(model.call_log)}} if hasattr(model, "sandbox_info") else {}),
        "wall_seconds": time.perf_counter() - started,
        "scored_on": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
    }
    scores["usability"] = [check.as_dict() for check in usability(scores)]
    scores = write_scores(scores, out_dir / "scores.json")
    # the final frames of the hottest held-out-temperature trajectory, the one most likely to lose its crystal
    pictured = splits["test_temperature"].trajectories()[-1] if options.rollouts else None
    picture_notes = draw_figures(scores, out_dir, pictured, config.descriptor_cutoff_A)
    if not options.quiet:
        print_report(scores)
        for note in picture_notes + notes:
            print("\nNOTE: " + note)
        if cache.directory is not None:
            print(f"\nbaselines: {cache.hits} of {cache.hits + cache.misses} results read from the cache in {cache.directory} "
                  "(GNNBENCH_CACHE=off recomputes them)")
        print(f"\nwrote {out_dir / 'scores.json'} and plots in {out_dir / 'plots'} ({scores['wall_seconds']:.1f} s)")
    return scores


def draw_figures(scores: dict, out_dir: Path, pictured: str | None, cutoff_A: float) -> list[str]:
    """``plots/`` (matplotlib, :func:`plot_all`) and, for trajectory ``pictured`` (None: none), the
    rollouts' final frames (OVITO, :func:`render_pictures`), side by side where there are two CPUs.
    Returns notes on pictures not rendered."""
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    with worker_pool(min(1, worker_count())) as pool:
        pictures = pool.submit(render_pictures, scores, out_dir, pictured, cutoff_A) if pool is not None and pictured else None
        plot_all(scores, out_dir / "plots")
        if pictures is not None:
            return pictures.result()[1]
    return render_pictures(scores, out_dir, pictured, cutoff_A)[1] if pictured else []


def ablation_table(all_scores: list[dict], dt_fs: int, split: str = "test") -> str | None:
    """The paper's Tables 7/8 layout: each variant's RMSE (NVE targets) at a fixed Δt, beside its base."""
    from tabulate import tabulate

    from .report import fmt_ci

    by_name = {s["submission"]["name"]: s for s in all_scores}
    variants = [s for s in all_scores if s["submission"]["metadata"].get("ablation_of")]
    if not variants:
        return None
    rows = []
    for base_name in sorted({s["submission"]["metadata"]["ablation_of"] for s in variants}):
        family = ([by_name[base_name]] if base_name in by_name else []) + [
            s for s in variants if s["submission"]["metadata"]["ablation_of"] == base_name]
        for s in family:
            result = s["stride_accuracy"]["nve"].get(split, {})
            at = result.get("overall", {}).get(str(dt_fs), {}) if not result.get("failed") else {}
            rows.append((base_name, s["submission"]["metadata"].get("ablation", "base") if s["submission"]["name"] != base_name else "base",
                         s["submission"]["name"], s["submission"]["metadata"]["parameter_count"],
                         fmt_ci(at.get("submission"), "rmse_A"), fmt_ci(at.get(Baseline.CONSTANT_VELOCITY.value), "rmse_A"),
                         fmt_ci(at.get(Baseline.VERLET_K1.value), "rmse_A")))
    return (f"ablations ({split}, NVE targets, Δt = {dt_fs} fs): RMSE of the per-atom displacement vector (Å), ± half-width of the 95 % CI\n"
            + tabulate(rows, headers=["base", "variant", "submission", "parameters", "RMSE", "const. velocity", "Verlet k=1"], tablefmt="github"))
