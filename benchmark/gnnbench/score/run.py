"""``gnnbench score``: score one submission end to end (stride accuracy, rollouts, cost, report)."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from .. import DATASET_REPO
from ..generate.config import load_config
from ..load.frames import read_split
from ..package.manifest import manifest_digest, read_manifest
from ..predict.submission import SubmissionOutputError, load_submission
from . import SCORER_VERSION, SCORES_SCHEMA_VERSION
from .cost import hardware, measure_cost
from .metrics import DEFINITIONS
from .report import plot_all, print_report, write_scores
from .rollout import run_rollouts
from .stride import score_strides
from .verlet import VerletEam, VerletEamSubmission

PROTOCOL_PATH = Path(__file__).with_name("protocol.yaml")
SCORED_SPLITS = ("test", "test_temperature")


def load_protocol(config: str) -> dict:
    protocols = yaml.safe_load(PROTOCOL_PATH.read_text())
    if config not in protocols:
        raise ValueError(f"no scoring protocol for dataset config {config!r} in {PROTOCOL_PATH}")
    return protocols[config]


def resolve_submission_path(path: Path) -> Path:
    """Accept ``submission.pt`` or the folder holding it."""
    path = Path(path)
    return path / "submission.pt" if path.is_dir() else path


def score(submission_path: Path | None, data_root: Path, config_name: str, device: str = "cpu", out_dir: Path | None = None,
          rollouts: bool = True, cost: bool = True, show_progress: bool = True, quiet: bool = False,
          verlet_substeps: tuple[int, ...] = (1,), baseline_substeps: int | None = None) -> dict:
    """Score a submission; write ``scores.json`` and plots to ``out_dir`` (default: beside it).

    ``verlet_substeps``: the velocity-Verlet baselines shown beside the submission (k values; empty
    for none). ``baseline_substeps``: score the built-in Verlet baseline itself with that k
    (``submission_path`` is then ignored).
    """
    started = time.perf_counter()
    if baseline_substeps is None:  # check the submission before touching anything else
        submission_path = resolve_submission_path(submission_path)
        submission = load_submission(submission_path, device=device)
    data_root = Path(data_root)
    manifest = read_manifest(data_root)
    config = load_config(data_root / "recipes" / f"{config_name}.yaml")
    protocol = load_protocol(config_name)
    splits = {name: read_split(data_root, config_name, name) for name in SCORED_SPLITS}
    n_atoms = splits["test"].n_atoms
    if baseline_substeps is not None:
        submission = VerletEamSubmission(config, n_atoms, baseline_substeps)
        out_dir = Path(out_dir) if out_dir else Path(submission.name)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metadata.yaml").write_text(yaml.safe_dump(submission.metadata, sort_keys=False, allow_unicode=True))
    else:
        out_dir = Path(out_dir) if out_dir else submission_path.parent
    errors = []

    verlet = {f"verlet_eam_k{k}": VerletEam(config, n_atoms, k) for k in verlet_substeps}
    try:
        stride = score_strides(submission, splits, protocol["stride_batch_size"], show_progress, verlet)
    finally:
        for integrator in verlet.values():
            integrator.close()
    errors += [f"stride accuracy on {name}: {r['error']}" for name, r in stride.items() if r.get("failed")]
    if rollouts:
        rollout = run_rollouts(submission, splits, config, protocol, show_progress)
        if rollout.get("failed"):
            errors.append(f"rollouts: {rollout['error']}")
    else:
        rollout = {"skipped": "--no-rollouts"}
    if cost:
        try:
            cost_result = measure_cost(submission, config, splits["test"], protocol)
        except SubmissionOutputError as err:
            cost_result = {"failed": True, "error": str(err)}
            errors.append(f"cost: {err}")
    else:
        cost_result = {"skipped": "--no-cost"}

    scores = {
        "schema_version": SCORES_SCHEMA_VERSION,
        "scorer_version": SCORER_VERSION,
        "dataset": {"name": manifest.get("dataset", DATASET_REPO), "version": manifest["version"], "config": config_name,
                    "manifest_sha256": manifest_digest(data_root)},
        "submission": {"name": submission.name, "sha256": submission.metadata["submission_sha256"], "metadata": submission.metadata},
        "hardware": hardware(device),
        "definitions": DEFINITIONS,
        "stride_accuracy": stride,
        "rollouts": rollout,
        "cost": cost_result,
        "errors": errors,
        "wall_seconds": time.perf_counter() - started,
    }
    scores = write_scores(scores, out_dir / "scores.json")
    plot_all(scores, out_dir / "plots")
    if not quiet:
        print_report(scores)
        print(f"\nwrote {out_dir / 'scores.json'} and plots in {out_dir / 'plots'} ({scores['wall_seconds']:.1f} s)")
    return scores


def ablation_table(all_scores: list[dict], dt_fs: int, split: str = "test") -> str | None:
    """The paper's Tables 7/8 layout: each variant's RMSE at a fixed Δt, beside its base."""
    from tabulate import tabulate

    by_name = {s["submission"]["name"]: s for s in all_scores}
    variants = [s for s in all_scores if s["submission"]["metadata"].get("ablation_of")]
    if not variants:
        return None
    rows = []
    for base_name in sorted({s["submission"]["metadata"]["ablation_of"] for s in variants}):
        family = ([by_name[base_name]] if base_name in by_name else []) + [s for s in variants if s["submission"]["metadata"]["ablation_of"] == base_name]
        for s in family:
            result = s["stride_accuracy"].get(split, {})
            at = result.get("overall", {}).get(str(dt_fs), {}) if not result.get("failed") else {}
            rows.append((base_name, s["submission"]["metadata"].get("ablation", "base") if s["submission"]["name"] != base_name else "base",
                         s["submission"]["name"], s["submission"]["metadata"]["parameter_count"],
                         _rmse(at.get("submission")), _rmse(at.get("zero_displacement")), _rmse(at.get("constant_velocity"))))
    return (f"ablations ({split}, Δt = {dt_fs} fs): RMSE of the per-atom displacement vector (Å)\n"
            + tabulate(rows, headers=["base", "variant", "submission", "parameters", "RMSE", "zero disp.", "const. velocity"], tablefmt="github"))


def _rmse(entry):
    return "—" if not entry else f"{entry['rmse_A']:.2e}"
