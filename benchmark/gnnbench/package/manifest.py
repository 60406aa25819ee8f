"""The sha256 manifest of a built dataset, and the checks against it (``gnnbench data verify``,
and :func:`verify_config` before every scoring run).

``manifest.json`` lists every file of the dataset repository (shards, recipes, card) with its
size and sha256, plus per config the recipe hash, LAMMPS version, potential, split sizes and the
NVE targets' own error (``nve_target_floor``, read back with :func:`target_floor_A`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from pathlib import Path, PurePosixPath

from .. import DATASET_REPO, DATASET_VERSION
from ..generate.lammps_runtime import sha256_file

MANIFEST = "manifest.json"
VERIFIED_CACHE = ".verified.json"  # {file: [bytes, mtime_ns, sha256]} of files found to match; a dotfile, so not a dataset file


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
    """Check every file of ``config`` (:func:`config_files`) against manifest.json before it is read;
    return {file: sha256}. Raises CorruptDatasetError naming each bad file (at most five).

    A file whose size differs is reported without hashing (a truncated download or build). A file
    whose size and mtime are those recorded in ``.verified.json`` when it last matched is not
    hashed again, so a second scoring costs one ``stat`` per file; the cache is written atomically,
    and not at all where the dataset directory is read-only. It guards against corruption and
    truncation, not against someone who edits a shard and restores its mtime.
    """
    root = Path(root)
    manifest = read_manifest(root)
    if config not in manifest.get("configs", {}):
        raise CorruptDatasetError(f"{root / MANIFEST}: config {config!r} is not built (built: {', '.join(sorted(manifest.get('configs', {})))})")
    cache = _read_cache(root)
    problems, failed, verified, fresh = [], [], {}, {}
    for name in config_files(manifest, config):
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or name not in manifest["files"]:
            problems.append(f"{root / MANIFEST}: lists {name!r} for config {config!r}, which is not a dataset file it has a sha256 for")
            continue
        expected, where = manifest["files"][name], root / name
        try:
            info = os.stat(where)
        except FileNotFoundError:
            problems.append(f"{where}: missing; rebuild or re-download the dataset")
            failed.append(name)
            continue
        if info.st_size != expected["bytes"]:
            problems.append(f"{where}: {info.st_size} bytes, the manifest says {expected['bytes']} (corrupt or truncated shard); "
                            "rebuild or re-download")
            failed.append(name)
            continue
        key = [info.st_size, info.st_mtime_ns]
        cached = cache.get(name)
        actual = cached[2] if isinstance(cached, list) and len(cached) == 3 and cached[:2] == key else sha256_file(where)
        if actual != expected["sha256"]:
            problems.append(f"{where}: sha256 {actual[:16]}… differs from the manifest's {expected['sha256'][:16]}… "
                            "(corrupt or truncated shard); rebuild or re-download")
            failed.append(name)
            continue
        verified[name] = actual
        fresh[name] = [*key, actual]
    updated = {name: entry for name, entry in cache.items() if name not in failed} | fresh
    if updated != cache:
        _write_cache(root, updated)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise CorruptDatasetError(f"{root}: the dataset does not match its manifest, nothing was scored: {shown}")
    return verified


def _read_cache(root: Path) -> dict:
    try:
        cache = json.loads((root / VERIFIED_CACHE).read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(root: Path, cache: dict) -> None:
    try:
        handle, tmp = tempfile.mkstemp(dir=root, prefix=VERIFIED_CACHE + ".", suffix=".tmp")
    except OSError:  # a read-only dataset: it is verified again next time
        return
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(cache, out, indent=0, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, root / VERIFIED_CACHE)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
