"""The hostile-submission corpus: each attack of issue #11, generated into a temporary directory.

Nothing hostile is committed: every input is written by the tests from the committed submissions
(a valid folder to start from) and one of the functions here. Each test then asserts that the
attack is refused or contained with a clear, short message, that nothing was written outside the
directory the command was given, and that nothing was executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SUBMISSIONS = REPO / "submissions"
VALID = "zero-displacement"  # a small valid entry (a committed TorchScript file, every plot) to start from
MESSAGE_LIMIT = 600  # no problem line of validate may be longer (a path plus a short quote)


def copy_valid(submissions: Path, name: str = VALID, new_name: str | None = None, same_file: bool = False) -> Path:
    """A copy of a committed submission under ``submissions/``, renamed (folder, metadata and scores) if
    asked; a renamed copy is no longer one of the suite's baselines, so its ``baseline: true`` goes, and
    it gets a model file of its own (:func:`own_model_file`) unless ``same_file``: one model file is one
    entry on a board, so the same bytes beside the original under a new name are refused."""
    target = submissions / (new_name or name)
    shutil.copytree(SUBMISSIONS / name, target, ignore=shutil.ignore_patterns("rollouts", "submission.log"))  # what git ignores
    if new_name:
        rename(target, new_name)
        edit_metadata(target, lambda m: m.pop("baseline", None))
        if not same_file and (target / "submission.pt").is_file():
            own_model_file(target)
    return target


def own_model_file(folder: Path) -> None:
    """Give a copied submission.pt bytes of its own, the same model: a zip comment naming the copy (TorchScript
    ignores it), and its new sha256 in metadata.yaml and scores.json."""
    model = folder / "submission.pt"
    with zipfile.ZipFile(model, "a") as archive:
        archive.comment = f"a copy named {folder.name}".encode()
    sha256 = hashlib.sha256(model.read_bytes()).hexdigest()
    edit_metadata(folder, lambda m: m.update(submission_sha256=sha256))
    edit_scores(folder, lambda s: s["submission"].update(sha256=sha256))
    (folder / "fresh_seed.json").unlink(missing_ok=True)  # the original's fresh-seed record is not this file's


def rename(folder: Path, name: str) -> None:
    """Give the copy its folder's name in metadata.yaml and scores.json, as its author would."""
    edit_metadata(folder, lambda m: m.update(name=name))
    edit_scores(folder, lambda s: s["submission"].update(name=name))


def edit_metadata(folder: Path, change, scores_too: bool = True) -> None:
    """Change metadata.yaml, and the metadata scores.json records (so only the change is under test)."""
    metadata = yaml.safe_load((folder / "metadata.yaml").read_text())
    change(metadata)
    (folder / "metadata.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True))
    if scores_too:
        edit_scores(folder, lambda s: change(s["submission"]["metadata"]))


def edit_scores(folder: Path, change) -> None:
    scores = json.loads((folder / "scores.json").read_text())
    change(scores)
    (folder / "scores.json").write_text(json.dumps(scores, ensure_ascii=False))


def rescale_stride(scores: dict, who: str, factor: float) -> None:
    """Scale every stride error of ``who`` (the submission or a baseline key) by ``factor``, as a careful forger
    would: MSE by factor², RMSE, MAE and velocity RMSE and their CIs by factor, overall and per temperature,
    then the skills, force calls and verdict that follow. The file stays consistent with its own records
    (gnnbench.leaderboard.consistency), which is what only rescoring, or the board's comparison of
    baseline numbers, can catch."""
    from gnnbench.score.baselines import SUBMISSION, Baseline
    from gnnbench.score.force_calls import force_calls_to_match, verlet_curve
    from gnnbench.score.usability import usability

    for by_split in scores["stride_accuracy"].values():
        for result in by_split.values():
            if result.get("failed"):
                continue
            for by_dt in [result["overall"], *result["per_temperature"].values()]:
                for at in by_dt.values():
                    record = at.get(who)
                    if not record:
                        continue
                    for key in list(record):
                        power = 2 if key.startswith("mse_A2") else 1
                        value = record[key]
                        record[key] = [v * factor**power for v in value] if isinstance(value, list) else value * factor**power
                    mine = at.get(SUBMISSION)
                    if not mine:
                        continue
                    for baseline, key in ((Baseline.ZERO_DISPLACEMENT, "skill_vs_zero"), (Baseline.CONSTANT_VELOCITY, "skill_vs_constant_velocity")):
                        at[key] = 1 - mine["mse_A2"] / at[baseline.value]["mse_A2"]
                    curve = verlet_curve(at)
                    low, high = mine["rmse_A_ci95"]
                    at["force_calls_to_match"] = force_calls_to_match(mine["rmse_A"], curve)
                    at["force_calls_to_match_ci95"] = [force_calls_to_match(high, curve)["value"], force_calls_to_match(low, curve)["value"]]
    scores["usability"] = [check.as_dict() for check in usability(scores)]


def billion_laughs() -> str:
    """The classic YAML bomb: nine levels of nine aliases, about 1 KB that expands to 9⁹ strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        previous, current = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{current}: &{current} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under ``root``: what a command may not have touched."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            info = os.stat(path)
            out[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return out


def changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def fake_dataset(root: Path, config: str = "mini") -> Path:
    """A dataset directory with the packaged ``mini`` recipe, every shard that recipe gives as a
    stand-in (random bytes) and a manifest that says exactly what the recipe gives: enough for
    everything the scorer does before it reads a shard, which is where a corrupt, truncated or
    edited file, or a manifest that does not match its recipe, must be caught."""
    from gnnbench.generate.config import load_config
    from gnnbench.package.manifest import RECIPE_FIELDS, layout_from_recipe, write_manifest

    recipe = root / "recipes" / f"{config}.yaml"
    recipe.parent.mkdir(parents=True)
    shutil.copy(REPO / "benchmark" / "gnnbench" / "configs" / "mini.yaml", recipe)
    built = load_config(recipe)
    layout = layout_from_recipe(built)
    for part in layout.values():
        for split in part.values():
            for k, name in enumerate(split["files"]):
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(os.urandom(20_000 + k))
            split["bytes"] = sum((root / name).stat().st_size for name in split["files"])
    entry = {key: list(value) if isinstance(value, tuple) else value for key in RECIPE_FIELDS for value in [getattr(built, key)]}
    write_manifest(root, {config: {**entry, **layout, "recipe": f"recipes/{config}.yaml", "recipe_sha256": built.sha256}})
    return root


def problems(folder) -> str:
    """The problems validate finds in ``folder`` (there must be some), each one short line, joined."""
    from gnnbench.leaderboard.validate import validate_submission_dir

    report = validate_submission_dir(folder)
    assert not report.ok
    for problem in report.problems:
        assert len(problem) < MESSAGE_LIMIT and "\n" not in problem, f"{len(problem)} characters: {problem[:200]}…"
    return " ".join(report.problems)

