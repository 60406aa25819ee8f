"""The ``gnnbench`` command line. Each command is a thin wrapper over one pipeline module."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .score.baselines import VERLET_K_CURVE  # an enum only: no torch, LAMMPS or data is imported

DEFAULT_DATA_DIR = Path("datasets/al-eam")


def _no_progress_bars(context: click.Context, parameter: click.Parameter, no_progress: bool) -> None:
    """Turn tqdm's bars off for this process and its workers: tqdm reads TQDM_DISABLE when it is
    first imported, which the commands do only after their options are parsed."""
    if no_progress:
        os.environ["TQDM_DISABLE"] = "1"


no_progress_option = click.option("--no-progress", is_flag=True, expose_value=False, callback=_no_progress_bars,
                                  help="no progress bars (the same as TQDM_DISABLE=1)")


def sandbox_options(command):
    """The sandbox's flags (gnnbench.predict.sandbox): limits, and the way out of it."""
    from .predict.limits import SandboxLimits

    defaults = SandboxLimits()
    for option in reversed([
        click.option("--trust-submission", is_flag=True,
                     help="run the model in this process, unsandboxed and without limits (TorchScript can read and write your files): "
                          "only for a model you trust, or where the sandbox cannot be set up"),
        click.option("--max-memory", type=click.FloatRange(min=0.5), default=defaults.memory_gib, show_default=True,
                     help="GiB of address space for the sandboxed model (its worker process)"),
        click.option("--call-timeout", type=click.FloatRange(min=0.1), default=defaults.call_timeout_s, show_default=True,
                     help="seconds one call of the model may take; then its worker is stopped and the call fails"),
        click.option("--submission-timeout", type=click.FloatRange(min=1), default=defaults.submission_timeout_s, show_default=True,
                     help="seconds all calls of one submission (and its worker starts) may take together"),
    ]):
        command = option(command)
    return command


def _limits(max_memory: float, call_timeout: float, submission_timeout: float):
    from .predict.limits import SandboxLimits

    return SandboxLimits(memory_gib=max_memory, call_timeout_s=call_timeout, submission_timeout_s=submission_timeout)


@click.group()
@click.version_option(package_name="gnnbench")
def main() -> None:
    """gnnbench: a dataset and benchmark for learned molecular-dynamics integrators."""


@main.group()
def data() -> None:
    """Build, check, install and publish the gnnmd/al-eam dataset."""


@data.command("build")
@click.option("--config", "config_name", default="mini", show_default=True, help="config name (mini, full) or a YAML file")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True, help="dataset directory")
@click.option("--jobs", "-j", type=int, default=None, help="temperatures simulated in parallel [default: number of cores]")
@click.option("--keep-dumps", is_flag=True, help="keep the LAMMPS dump files under .work/ after sharding")
@click.option("--temperature", type=float, default=None,
              help="build only this temperature (K) and stop before packaging: one process per temperature, "
                   "e.g. one Slurm array task each; then the command without --temperature packages them")
@no_progress_option
def data_build(config_name: str, out: Path, jobs: int | None, keep_dumps: bool, temperature: float | None) -> None:
    """Generate a config with LAMMPS into OUT (resumes an interrupted build)."""
    from .generate.build import build, build_one_temperature
    from .generate.buildsafe import BuildLocked

    try:
        if temperature is None:
            build(config_name, out, jobs=jobs, keep_dumps=keep_dumps)
        else:
            build_one_temperature(config_name, out, temperature, keep_dumps=keep_dumps)
    except (BuildLocked, ValueError) as err:
        raise click.ClickException(str(err)) from None


@data.command("convert")
@click.argument("dumps", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="output directory for the parquet files")
@click.option("--no-velocities", is_flag=True, help="accept dumps without vx vy vz")
def data_convert(dumps: tuple[Path, ...], out: Path, no_velocities: bool) -> None:
    """Convert LAMMPS text dumps into parquet frames (the reader the build uses)."""
    from .generate.dump_reader import DumpFormatError
    from .package.convert import convert_dump

    for dump in dumps:
        try:
            target, n_frames = convert_dump(dump, out, velocities=not no_velocities)
        except (DumpFormatError, FileNotFoundError) as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"{dump} -> {target} ({n_frames} frames)")


@data.command("verify")
@click.argument("root", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR)
def data_verify(root: Path) -> None:
    """Check every file of a built dataset against its sha256 manifest."""
    from .package.manifest import read_manifest, verify

    try:
        problems = verify(root)
        n_files = len(read_manifest(root)["files"])
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if problems:
        for problem in problems:
            click.echo(f"FAIL {problem}", err=True)
        sys.exit(1)
    click.echo(f"OK: {n_files} files match {root / 'manifest.json'}")


@data.command("install")
@click.argument("root", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR)
@click.option("--config", "configs", multiple=True, help="config(s) to install [default: all built]")
def data_install(root: Path, configs: tuple[str, ...]) -> None:
    """Register a built dataset in the local HF datasets cache (works offline afterwards)."""
    from .load.install import install

    try:
        for name, path in install(root, configs or None).items():
            click.echo(f"installed gnnmd/al-eam config {name!r} -> {path}")
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo('load it with: load_dataset("gnnmd/al-eam", "<config>")  (HF_HUB_OFFLINE=1 works)')


@data.command("export")
@click.argument("root", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR)
@click.option("--config", "config_name", default="mini", show_default=True)
@click.option("--split", default="train", show_default=True)
@click.option("--dt", "dt_fs", type=int, default=10, show_default=True, help="the stride Δt (fs) of the targets")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the .xyz file to write")
@click.option("--no-options", is_flag=True, help="do not write metatrain's options-flashmd.yaml beside it")
def data_export(root: Path, config_name: str, split: str, dt_fs: int, out: Path, no_options: bool) -> None:
    """Write a split at one stride as extended XYZ (ASE; metatrain's FlashMD trainer takes it as it is).

    With the options file (the default) and --split train, the validation split at the same stride
    is written beside it (OUT's stem + -validation.xyz) and the options validate on it."""
    from .load.extxyz import write_extxyz
    from .load.frames import read_split
    from .package.manifest import verify_config

    try:
        verify_config(root, config_name)
        validation = read_split(root, config_name, "validation") if split == "train" and not no_options else None
        written = write_extxyz(read_split(root, config_name, split), dt_fs, out, options=not no_options, validation=validation)
    except (FileNotFoundError, ValueError, KeyError) as err:
        raise click.ClickException(str(err)) from None
    for path in written:
        click.echo(f"wrote {path}")
    if not no_options:
        click.echo(f"train FlashMD on it: cd {out.parent} && mtt train options-flashmd.yaml")


@data.command("push")
@click.argument("root", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR)
@click.option("--repo", default="gnnmd/al-eam", show_default=True)
@click.option("--revision", default=None, help="tag to create for this upload, e.g. v1.0.0")
@click.option("--dry-run", is_flag=True, help="list what would be uploaded, upload nothing")
def data_push(root: Path, repo: str, revision: str | None, dry_run: bool) -> None:
    """Upload a verified dataset to the Hugging Face hub (huggingface_hub)."""
    from .package.hub import push

    try:
        plan = push(root, repo, revision=revision, dry_run=dry_run)
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    for name in plan["files"]:
        click.echo(f"{'would upload' if dry_run else 'uploaded'} {name}")
    click.echo(f"{len(plan['files'])} files, {plan['bytes'] / 1e6:.1f} MB -> {repo} (tag {plan['tag']})")


def _not_inside_another_submission(submissions, targets: list[Path]) -> None:
    """Refuse an output folder below another submission's folder (``--out submissions/other/plots``): plan_outputs
    checks the output folder itself; here every folder above it (symbolic links resolved) that holds a
    ``metadata.yaml`` or model file must be the scored submission's own. Nothing is scored otherwise."""
    from .predict.formats import MODEL_FILE_NAMES  # the standard library only

    for path, target in zip(submissions or [None], targets, strict=True):
        own = None if path is None else (Path(path) if Path(path).is_dir() else Path(path).parent).resolve()
        for above in Path(target).resolve().parents:
            if above != own and any((above / name).exists() or (above / name).is_symlink() for name in ("metadata.yaml", *MODEL_FILE_NAMES)):
                from .untrusted import short

                raise click.ClickException(f"{short(target, 200)}: inside {short(above, 200)}, the folder of another submission; the "
                                           "scorer writes only into the folder of the submission it scores, or a folder of its own; "
                                           "nothing was scored")


@main.command("score")
@click.argument("submissions", nargs=-1, type=click.Path(path_type=Path))
@click.option("--baseline", type=click.Choice([b.entry_name for b in VERLET_K_CURVE]), default=None,
              help="score a built-in Verlet baseline (k force calls per stride) as an entry of its own instead")
@click.option("--data", "data_root", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True, help="built dataset directory")
@click.option("--config", "config_name", default="mini", show_default=True, help="dataset config to score on")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="output folder [default: beside each submission]")
@click.option("--no-rollouts", is_flag=True, help="skip rollouts")
@click.option("--no-cost", is_flag=True, help="skip the cost measurement")
@click.option("--ablation-dt", type=int, default=10, show_default=True, help="Δt (fs) of the ablation table")
@sandbox_options
@no_progress_option
def score_command(submissions, baseline, data_root, config_name, device, out, no_rollouts, no_cost, ablation_dt,
                  trust_submission, max_memory, call_timeout, submission_timeout) -> None:
    """Score SUBMISSIONS (a model file, or its folder) on the al-eam test splits.

    The model file may be TorchScript, a torch.export program or a metatomic model (predict/SUBMISSION.md,
    "Formats"), read from its content.

    Every submission is shown beside zero displacement, constant velocity and velocity-Verlet
    with the true EAM forces (k = 1, 4 and 1 fs sub-steps), on the same frames, with 95 % CIs.
    Each submission runs in a sandboxed worker process (no network, no files but its own,
    the limits below); what it prints goes to submission.log beside scores.json.
    """
    import time

    from .package.manifest import CorruptDatasetError
    from .predict.submission import SubmissionError
    from .score.baselines import Baseline
    from .score.outputs import OutputError, plan_outputs, write_metadata
    from .score.run import DatasetVersionError, ScoreOptions, ablation_table, builtin_model, load_model, score

    if not submissions and not baseline:
        raise click.UsageError("give SUBMISSIONS or --baseline")
    options = ScoreOptions(rollouts=not no_rollouts, cost=not no_cost)
    started = time.perf_counter()
    results, failed = [], False
    try:  # every output folder, checked before anything is loaded or written
        targets = plan_outputs(list(submissions), out, Baseline(baseline.replace("-", "_")) if baseline else None)
    except OutputError as err:
        raise click.ClickException(str(err)) from None
    _not_inside_another_submission(submissions, targets)
    for path, target in zip(submissions or [None], targets, strict=True):
        try:
            if baseline:
                model = builtin_model(Baseline(baseline.replace("-", "_")), data_root, config_name)
            else:
                model = load_model(path, device=device, data_root=data_root, config_name=config_name, trust=trust_submission,
                                   limits=_limits(max_memory, call_timeout, submission_timeout))
            try:
                scores = score(model, data_root, config_name, target, options)
            finally:
                getattr(model, "close", lambda: None)()
            if baseline:  # only once it is scored: a refused or failed run leaves no metadata.yaml behind
                write_metadata(target, model.metadata)
        except (SubmissionError, FileNotFoundError, DatasetVersionError, CorruptDatasetError) as err:
            click.echo(f"error: {err}", err=True)
            failed = True
            continue
        results.append(scores)
        failed |= bool(scores["errors"])
    table = ablation_table(results, ablation_dt)
    if table:
        click.echo("\n" + table)
    click.echo(f"\nscored {len(results)} of {len(submissions) or 1} submission(s) in {time.perf_counter() - started:.1f} s")
    if failed:
        sys.exit(1)


@main.command("validate")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--data", "data_root", type=click.Path(path_type=Path), default=None,
              help="built dataset directory: also check scores.json was made on this build (sha256 of its shards and recipes)")
@click.option("--fetch", is_flag=True, help="download the model file from submission_url when it is not here, and check its sha256")
@click.option("--rescore", is_flag=True, help="score again on --data (in the sandbox) and require every accuracy and rollout number to be "
              "reproduced, and the speed-up to agree with the re-timed one")
@click.option("--fresh-seed/--no-fresh-seed", default=True, show_default=True,
              help="with --rescore: also score on data built with an unpublished seed ($GNNBENCH_FRESH_SEED, "
              "~/.config/gnnbench/fresh-seed, else random) and refuse an entry that does worse there than its public CIs allow")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help="device of --rescore")
@sandbox_options
def validate_command(folders: tuple[Path, ...], data_root: Path | None, fetch: bool, rescore: bool, fresh_seed: bool, device: str,
                     trust_submission: bool, max_memory: float, call_timeout: float, submission_timeout: float) -> None:
    """Check submission FOLDERS: metadata schema, checksum, scorer version and dataset revision of scores.json."""
    import contextlib
    import tempfile

    from .leaderboard.validate import validate_submission_dir
    from .score.baseline_cache import CACHE_ENV
    from .untrusted import short

    if rescore and data_root is None:
        raise click.UsageError("--rescore needs --data (the dataset to score on)")
    failed = 0
    with contextlib.ExitStack() as stack:
        if rescore:  # baselines computed afresh, once for this run, never read from the user's cache (anyone could edit it)
            os.environ[CACHE_ENV] = stack.enter_context(tempfile.TemporaryDirectory(prefix="gnnbench-rescore-baselines-"))
        for folder in folders:
            report = validate_submission_dir(folder, data_root=data_root, fetch=fetch, rescore=rescore, trust=trust_submission,
                                             limits=_limits(max_memory, call_timeout, submission_timeout), device=device,
                                             fresh_seed=fresh_seed)
            for note in report.notes:
                click.echo(f"  note: {note}")
            for problem in report.problems:
                click.echo(f"  FAIL: {problem}", err=True)
            click.echo(f"{'OK' if report.ok else 'INVALID'}: {short(str(folder), 200)}")  # a folder's name may hold control characters
            failed += not report.ok
    if failed:
        click.echo(f"{failed} of {len(folders)} folder(s) invalid", err=True)
        sys.exit(1)


@main.command("leaderboard")
@click.option("--submissions", "submissions_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("submissions"),
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("leaderboard"), show_default=True)
@click.option("--check", is_flag=True, help="write nothing; exit 1 if the leaderboard is not what the submissions give")
def leaderboard_command(submissions_dir: Path, out: Path, check: bool) -> None:
    """Regenerate OUT/README.md, OUT/index.html and the error-vs-Δt plots from SUBMISSIONS/*/scores.json."""
    from .leaderboard.build import check_leaderboard, write_leaderboard

    if not submissions_dir.is_dir():
        raise click.ClickException(f"{submissions_dir}: no such directory")
    if check:
        differ = check_leaderboard(submissions_dir, out)
        if differ:
            click.echo(f"{out} is out of date ({', '.join(differ)}); run gnnbench leaderboard", err=True)
            sys.exit(1)
        click.echo(f"{out} is up to date with {submissions_dir}")
        return
    changed, excluded, n_entries = write_leaderboard(submissions_dir, out)
    for name, problems in excluded.items():
        click.echo(f"not listed: {name}: {'; '.join(problems)}", err=True)
    click.echo(f"{n_entries} entries; {', '.join(changed) + ' written' if changed else 'no change'} in {out} "
               f"(open {out / 'index.html'} in a browser, or read {out / 'README.md'})")


@main.command("train")
@click.argument("config_path", type=click.Path(path_type=Path))
@click.option("--run-dir", type=click.Path(path_type=Path), default=None, help="override the config's run_dir")
@click.option("--epochs", type=int, default=None, help="override the config's epochs")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="train this seed: RUN_DIR and the submission name get the suffix -seedN, and the exported "
                   "metadata says seed N of the recipe (the leaderboard shows the spread over seeds)")
@no_progress_option
def train_command(config_path: Path, run_dir: Path | None, epochs: int | None, seed: int | None) -> None:
    """Train a baseline from a YAML CONFIG (resumes from RUN_DIR/last.pt). Use torchrun for DDP."""
    from .train.config import load_train_config
    from .train.loop import train

    try:
        config = load_train_config(config_path)
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if run_dir is not None:
        config["run_dir"] = str(run_dir)
    if epochs is not None:
        config["epochs"] = epochs
    if seed is not None:
        recipe = config["submission"]["name"]
        config["seed"] = seed
        config["run_dir"] = f"{config['run_dir']}-seed{seed}" if run_dir is None else config["run_dir"]
        config["submission"] = {**config["submission"], "name": f"{recipe}-seed{seed}", "seed": seed, "seed_group": recipe}
    summary = train(config)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 tracks the best loss
        click.echo(f"done: {summary['steps']} steps, best validation loss {summary['best_validation_loss']:.3e} Å² in {summary['run_dir']}")


@main.command("export")
@click.argument("checkpoint", type=click.Path(path_type=Path, exists=True))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="submission folder to write")
@click.option("--format", "model_format", type=click.Choice(["torchscript", "torch-export", "metatomic"]), default="torchscript",
              show_default=True, help="the model file's format (SUBMISSION.md): submission.pt, submission.pt2, or a metatomic submission.pt")
@click.option("--timestep-fs", type=float, default=None, help="metatomic only: the model's one timestep (fs), FlashMD's convention")
@click.option("--metadata", "metadata_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="for a model file made elsewhere: its metadata.yaml without parameter_count and submission_sha256, which are filled in")
def export_command(checkpoint: Path, out: Path, model_format: str, timestep_fs: float | None, metadata_path: Path | None) -> None:
    """Write CHECKPOINT's model as a submission folder (model file + metadata.yaml).

    CHECKPOINT is a checkpoint of gnnbench train, or, with --metadata, a model file made elsewhere
    (mtt export's metatomic model, a .pt2, TorchScript), copied in as it is."""
    from .train.export import export_checkpoint

    if metadata_path is not None:
        from .predict.export import package_model_file
        from .predict.submission import SubmissionError
        from .untrusted import UntrustedInputError, load_yaml, read_capped

        try:
            written = package_model_file(checkpoint, load_yaml(read_capped(metadata_path, 1 << 20)) or {}, out)
        except (SubmissionError, UntrustedInputError) as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"wrote {written} and {written.parent / 'metadata.yaml'}")
        return
    if model_format == "metatomic" and timestep_fs is None:
        raise click.UsageError("--format metatomic needs --timestep-fs (a metatomic model advances by one fixed timestep)")
    try:
        written = export_checkpoint(checkpoint, out, model_format=model_format, timestep_fs=timestep_fs)
    except ImportError as err:
        raise click.ClickException(f"{err}; the metatomic format needs the optional extra: pip install -e \".[metatomic]\"") from None
    except ValueError as err:
        raise click.ClickException(f"{checkpoint}: {err}") from None
    click.echo(f"wrote {written}")


if __name__ == "__main__":
    main()
