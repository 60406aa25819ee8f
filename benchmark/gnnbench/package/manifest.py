"""The sha256 manifest of a built dataset, and the checks against it (``gnnbench data verify``,
and :func:`verify_config` before every scoring run).

``manifest.json`` lists every file of the dataset repository (shards, recipes, card) with its
size and sha256, plus per config the recipe hash, LAMMPS version, potential and split sizes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path, PurePosixPath

from .. import DATASET_REPO, DATASET_VERSION
from ..generate.lammps_runtime import sha256_file

MANIFEST = "manifest.json"
VERIFIED_CACHE = ".verified.json"  # {file: [bytes, mtime_ns, sha256]} of files found to match; a dotfile, so not a dataset file


class CorruptDatasetError(ValueError):
    """A file the scorer would read does not match the dataset's manifest."""


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
