"""The sha256 manifest of a built dataset, and the checks against it (``gnnbench data verify``,
and :func:`verify_config` before every scoring run and ``gnnbench validate --data``).

``manifest.json`` lists every file of the dataset repository (shards, recipes, card) with its
size and sha256, plus per config the recipe hash, LAMMPS version, potential, split sizes and the
NVE targets' own error (``nve_target_floor``, read back with :func:`target_floor_A`).

What decides what is scored, and how each part is tied to ``data_sha256`` (:func:`data_digest`):

* the shards' bytes and the recipe's bytes: hashed into the digest, and every one is hashed
  again from disk before a scoring run reads it (no cache by size or modification time: a file
  edited with its mtime restored is caught; hashing the 85 MB of ``mini`` takes about 0.3 s);
* the split-to-shard map and the row counts (``configs.<config>.splits`` and ``nve_window``), and
  the fields that repeat the recipe (Δt list, temperatures, atom count, steps): not hashed, but
  required to be exactly what the recipe gives (:func:`layout_from_recipe`), so they add nothing
  the recipe's hash does not already pin. A manifest that lists only the coldest test shard, say,
  is refused by name, by ``score``, ``validate --data`` and ``data verify`` alike.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path, PurePosixPath

from .. import DATASET_REPO, DATASET_VERSION
from ..generate.config import BuildConfig, load_config
from ..generate.lammps_runtime import sha256_file
from .shards import shard_path, window_shard_path
from .splits import ROLLOUT_SPLITS, SPLITS, anchor_steps, rollout_start_step, split_of

MANIFEST = "manifest.json"
RECIPE_FIELDS = ("dt_fs", "train_temperatures_K", "held_out_temperatures_K", "n_atoms", "nve_timestep_fs", "nve_window_ps",
                 "nve_window_interval_fs", "description", "potential")  # manifest fields that repeat the recipe


FLOOR_KEY = "nve_target_floor"  # per config in manifest.json


class CorruptDatasetError(ValueError):
    """A file the scorer would read does not match the dataset's manifest."""


def floor_summary(floor_files: list[Path], dt_fs: list[int], target_timestep_fs: float, reference_timestep_fs: float) -> dict:
    """The manifest's ``nve_target_floor`` of one config, from the trajectories' ``nve_floor.csv``
    files (rows ``anchor_step, dt_fs, rmse_A`` written by the build, one anchor per trajectory):
    per Δt the max and the mean over the measured anchors of the RMSE (Å), and how it was measured.
    Raises ValueError unless every measured anchor has every Δt, and at least one anchor was measured."""
    per_anchor: dict[tuple[str, int], dict[int, float]] = {}
    for path in floor_files:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                per_anchor.setdefault((str(path), int(row["anchor_step"])), {})[int(row["dt_fs"])] = float(row["rmse_A"])
    if not per_anchor:
        raise ValueError(f"no anchor of the NVE targets' floor was measured ({len(floor_files)} floor files)")
    for (path, step), values in per_anchor.items():
        if sorted(values) != sorted(dt_fs):
            raise ValueError(f"{path}: anchor step {step} has the floor at Δt {sorted(values)} fs, not at every Δt {sorted(dt_fs)} fs")
    by_dt = {}
    for dt in sorted(dt_fs):
        values = [anchor[dt] for anchor in per_anchor.values()]
        by_dt[str(dt)] = {"max_A": max(values), "mean_A": sum(values) / len(values)}
    return {
        "unit": "Å",
        "definition": "RMSE of the per-atom displacement vector, sqrt(mean over atoms |r_target − r_finer|²), between the NVE "
                      "targets' integration (velocity-Verlet, fix nve, at target_timestep_fs) and the same branch from the same "
                      "anchor at reference_timestep_fs, in float64 before storage; max and mean over the measured anchors "
                      "(each trajectory's rollout-start anchor)",
        "target_timestep_fs": target_timestep_fs,
        "reference_timestep_fs": reference_timestep_fs,
        "anchors": len(per_anchor),
        "by_dt_fs": by_dt,
    }


def target_floor_A(data_root: Path, config: str, statistic: str = "max") -> dict[int, float]:
    """The NVE targets' own discretisation error of ``config``, {Δt in fs: RMSE in Å}, as the build
    measured it and recorded it in ``data_root/manifest.json``.

    RMSE is of the per-atom displacement vector, sqrt(mean over atoms |r_target − r_finer|²), in Å
    (the scorer's metric), between the targets (velocity-Verlet at the recipe's ``nve_timestep_fs``)
    and the same NVE branch integrated at a quarter of that step, from the rollout-start anchor of
    every trajectory. ``statistic`` is ``"max"`` (default: the largest over those anchors, the floor
    below which a model's error against these targets says nothing) or ``"mean"`` over them.
    Raises ValueError for a dataset built before 2.1.0 (no floor recorded) or an unknown statistic.
    """
    if statistic not in ("max", "mean"):
        raise ValueError(f"statistic must be 'max' or 'mean', not {statistic!r}")
    manifest = read_manifest(Path(data_root))
    entry = manifest.get("configs", {}).get(config)
    if entry is None:
        raise ValueError(f"{Path(data_root) / MANIFEST}: config {config!r} is not built (built: {', '.join(sorted(manifest.get('configs', {})))})")
    if FLOOR_KEY not in entry:
        raise ValueError(f"{Path(data_root) / MANIFEST}: config {config!r} records no NVE-target floor "
                         f"(dataset version {manifest.get('version')}; it is recorded from 2.1.0 on)")
    return {int(dt): float(values[f"{statistic}_A"]) for dt, values in sorted(entry[FLOOR_KEY]["by_dt_fs"].items(), key=lambda item: int(item[0]))}


def dataset_files(root: Path) -> list[str]:
    """Files that belong to the published dataset: everything but dotfiles and the manifest."""
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts) and relative.as_posix() != MANIFEST:
            files.append(relative.as_posix())
    return files


def write_manifest(root: Path, configs: dict[str, dict]) -> dict:
    """Hash every dataset file under ``root`` and write ``manifest.json``."""
    manifest = {
        "dataset": DATASET_REPO,
        "version": DATASET_VERSION,
        "configs": configs,
        "files": {
            name: {"sha256": sha256_file(root / name), "bytes": (root / name).stat().st_size}
            for name in dataset_files(root)
        },
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest; is {root} a built dataset (gnnbench data build)?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def verify(root: Path) -> list[str]:
    """Problems found comparing ``root`` with its manifest; an empty list means all good."""
    manifest = read_manifest(root)
    problems = []
    for name, expected in sorted(manifest["files"].items()):
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != expected["bytes"]:
            problems.append(f"{name}: corrupt (size {path.stat().st_size} bytes, manifest says {expected['bytes']})")
        elif sha256_file(path) != expected["sha256"]:
            problems.append(f"{name}: corrupt (sha256 differs from the manifest)")
    for name in dataset_files(root):
        if name not in manifest["files"]:
            problems.append(f"{name}: not in the manifest")
    if not problems:  # the recipes on disk are the manifest's: now check what the manifest says they give
        for config in sorted(manifest.get("configs", {})):
            problems += layout_problems(root, manifest, config)
    return problems


def manifest_digest(root: Path) -> str:
    """sha256 of manifest.json: one hash that pins every file of the dataset."""
    return sha256_file(root / MANIFEST)


def data_digest(root: Path, verified: dict[str, str] | None = None) -> str:
    """The identity of the data that scores depend on: sha256 of the sorted "path sha256" lines of
    every shard (``data/``) and recipe (``recipes/``) in manifest.json. The card's prose is not in
    it, so editing the card does not make scores made on the same data look foreign.

    ``verified`` ({file: sha256}, from :func:`verify_config`) gives the hashes of the files just
    checked on disk; the scorer passes it, so the digest it records is made from what it read."""
    files = {name: info["sha256"] for name, info in read_manifest(Path(root))["files"].items()} | (verified or {})
    lines = "".join(f"{name} {files[name]}\n" for name in sorted(files) if name.startswith(("data/", "recipes/")))
    return hashlib.sha256(lines.encode()).hexdigest()


def config_files(manifest: dict, config: str) -> list[str]:
    """Every file of ``config`` the scorer may read: its shards (every split and NVE window the
    manifest lists, and anything else under ``data/<config>/``) and its recipe."""
    entry = manifest["configs"][config]
    listed = [name for part in ("splits", "nve_window") for split in entry.get(part, {}).values() for name in split.get("files", [])]
    under = [name for name in manifest["files"] if name.startswith(f"data/{config}/")]
    return sorted({*listed, *under, entry.get("recipe", f"recipes/{config}.yaml")})


def verify_config(root: Path, config: str) -> dict[str, str]:
    """Check every file of ``config`` (:func:`config_files`) against manifest.json before it is read,
    and the manifest's split map against the recipe (:func:`layout_problems`); return {file: sha256}.
    Raises CorruptDatasetError naming each problem (at most five).

    A file whose size differs is reported without hashing (a truncated download or build). Every
    other file is hashed from disk, every time: trusting a cache of sizes and modification times
    let a recipe edited with its mtime restored be scored under the official ``data_sha256``.
    """
    root = Path(root)
    manifest = read_manifest(root)
    if config not in manifest.get("configs", {}):
        raise CorruptDatasetError(f"{root / MANIFEST}: config {config!r} is not built (built: {', '.join(sorted(manifest.get('configs', {})))})")
    problems, verified = [], {}
    for name in config_files(manifest, config):
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or name not in manifest["files"]:
            problems.append(f"{root / MANIFEST}: lists {name!r} for config {config!r}, which is not a dataset file it has a sha256 for")
            continue
        expected, where = manifest["files"][name], root / name
        try:
            size = os.stat(where).st_size
        except FileNotFoundError:
            problems.append(f"{where}: missing; rebuild or re-download the dataset")
            continue
        if size != expected["bytes"]:
            problems.append(f"{where}: {size} bytes, the manifest says {expected['bytes']} (corrupt or truncated shard); "
                            "rebuild or re-download")
            continue
        actual = sha256_file(where)
        if actual != expected["sha256"]:
            problems.append(f"{where}: sha256 {actual[:16]}… differs from the manifest's {expected['sha256'][:16]}… "
                            "(corrupt, truncated or edited); rebuild or re-download")
            continue
        verified[name] = actual
    if not problems:
        problems += layout_problems(root, manifest, config)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise CorruptDatasetError(f"{root}: the dataset does not match its manifest, nothing was scored: {shown}")
    return verified


def layout_from_recipe(config: BuildConfig) -> dict:
    """What a build of ``config`` writes, from the recipe alone: ``{"splits": {split: {"files",
    "rows"}}, "nve_window": {split: {"files", "rows"}}}`` as in the manifest's config entry
    (files sorted; rows = anchors for a split, window frames for an NVE window)."""
    splits = {s: {"files": [], "rows": 0} for s in SPLITS}
    windows = {s: {"files": [], "rows": 0} for s in ROLLOUT_SPLITS}
    interval = round(config.nve_window_interval_fs / config.timestep_fs)
    for t in config.temperatures_K:
        counts: dict[str, int] = {}
        for step in anchor_steps(config):
            split = split_of(config, t, step)
            if split is not None:
                counts[split] = counts.get(split, 0) + 1
        for split, n in counts.items():
            splits[split]["files"].append(shard_path(config, split, t))
            splits[split]["rows"] += n
        start = rollout_start_step(config, t)
        if start is not None:
            split = split_of(config, t, start)
            windows[split]["files"].append(window_shard_path(config, split, t))
            windows[split]["rows"] += len(range(start, start + config.nve_window_steps + 1, interval))
    return {"splits": {s: {**v, "files": sorted(v["files"])} for s, v in splits.items()},
            "nve_window": {s: {**v, "files": sorted(v["files"])} for s, v in windows.items()}}


def layout_problems(root: Path, manifest: dict, config: str) -> list[str]:
    """Where the manifest's entry for ``config`` differs from what its recipe gives: the recipe's
    file and hash, the split-to-shard map and row counts (:func:`layout_from_recipe`), each part's
    byte count, and the fields that repeat the recipe (``RECIPE_FIELDS``). The recipe file must
    already match its sha256 (:func:`verify` or :func:`verify_config` check that first)."""
    where = f"{Path(root) / MANIFEST}: config {config!r}"
    entry = manifest["configs"][config]
    recipe_name = f"recipes/{config}.yaml"
    if entry.get("recipe") != recipe_name:
        return [f"{where}: its recipe is {entry.get('recipe')!r}, not {recipe_name!r}"]
    try:
        recipe = load_config(Path(root) / recipe_name)
    except (OSError, ValueError, TypeError, KeyError) as err:
        return [f"{where}: its recipe {recipe_name} cannot be read ({str(err)[:200]})"]
    problems = []
    if recipe.name != config:
        problems.append(f"{where}: its recipe names config {recipe.name!r}")
    if entry.get("recipe_sha256") != recipe.sha256 or manifest["files"].get(recipe_name, {}).get("sha256") != recipe.sha256:
        problems.append(f"{where}: recipe_sha256 is not the sha256 of {recipe_name}")
    for key in RECIPE_FIELDS:
        value = getattr(recipe, key)
        if entry.get(key) != (list(value) if isinstance(value, tuple) else value):
            problems.append(f"{where}: {key} {str(entry.get(key))[:80]} is not the recipe's {str(value)[:80]}")
    expected = layout_from_recipe(recipe)
    for part in ("splits", "nve_window"):
        for split, want in expected[part].items():
            have = entry.get(part, {}).get(split, {})
            label = f"{part}.{split}" if part == "splits" else f"nve_window.{split}"
            if have.get("files") != want["files"]:
                missing = sorted(set(want["files"]) - set(have.get("files") or []))
                extra = sorted(set(have.get("files") or []) - set(want["files"]))
                problems.append(f"{where}: {label} lists {len(have.get('files') or [])} shards, the recipe gives "
                                f"{len(want['files'])}" + (f"; missing {', '.join(missing[:3])}" if missing else "")
                                + (f"; not the recipe's {', '.join(extra[:3])}" if extra else ""))
            elif have.get("rows") != want["rows"]:
                problems.append(f"{where}: {label} says {have.get('rows')} rows, the recipe gives {want['rows']}")
            elif have.get("bytes") != sum(manifest["files"].get(name, {}).get("bytes", -1) for name in want["files"]):
                problems.append(f"{where}: {label} says {have.get('bytes')} bytes, not the sum of its shards' sizes")
        extra_splits = sorted(set(entry.get(part, {})) - set(expected[part]))
        if extra_splits:
            problems.append(f"{where}: {part} has splits the recipe does not give: {', '.join(map(str, extra_splits))[:200]}")
    return problems
