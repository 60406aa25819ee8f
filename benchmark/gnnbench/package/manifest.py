"""The sha256 manifest of a built dataset, and the check against it (``gnnbench data verify``).

``manifest.json`` lists every file of the dataset repository (shards, recipes, card) with its
size and sha256, plus per config the recipe hash, LAMMPS version, potential and split sizes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import DATASET_REPO, DATASET_VERSION
from ..generate.lammps_runtime import sha256_file

MANIFEST = "manifest.json"


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


def data_digest(root: Path) -> str:
    """The identity of the data that scores depend on: sha256 of the sorted "path sha256" lines of
    every shard (``data/``) and recipe (``recipes/``) in manifest.json. The card's prose is not in
    it, so editing the card does not make scores made on the same data look foreign."""
    files = read_manifest(Path(root))["files"]
    lines = "".join(f"{name} {files[name]['sha256']}\n" for name in sorted(files) if name.startswith(("data/", "recipes/")))
    return hashlib.sha256(lines.encode()).hexdigest()
