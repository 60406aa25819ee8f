"""``gnnbench data install``: make ``load_dataset("gnnmd/al-eam", config)`` work offline.

When the hub cannot be reached (``HF_HUB_OFFLINE=1``, or no network), ``datasets`` falls back
to the prepared Arrow cache of the repository id:
``$HF_DATASETS_CACHE/gnnmd___al-eam/<config>/<version>/<hash>/`` holding ``dataset_info.json``
(whose ``config_name`` must equal the folder name) and ``al-eam-<split>.arrow``. Among several
hashes of one config it takes the most recently modified one, and any folder there without
``dataset_info.json`` breaks the lookup.

We produce that cache with datasets' own parquet builder rather than by hand: the local
directory is presented under the repository's name (a symlink named ``al-eam``), the
builder resolves the config from the card's YAML ``configs``, and ``download_and_prepare``
writes it to the hub-style path. The hash is the sha256 of the manifest, which pins every
shard, so reinstalling the same build is a no-op and a new build replaces the old entry.

Set ``HF_DATASETS_CACHE`` (if at all) before Python starts: ``datasets`` reads it at import.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .. import DATASET_REPO
from ..package.card import window_config_name
from ..package.manifest import manifest_digest, read_manifest, verify


def cache_entry(cache_root: Path, repo_id: str, config_name: str) -> Path:
    """The config's folder in the datasets cache (``gnnmd___al-eam/<config>``)."""
    from datasets.naming import camelcase_to_snakecase

    namespace, name = repo_id.split("/")
    return cache_root / f"{namespace}___{camelcase_to_snakecase(name)}" / config_name


def install(root: Path, configs: list[str] | None = None, repo_id: str = DATASET_REPO, cache_dir: Path | None = None) -> dict[str, Path]:
    """Verify ``root`` and prepare the offline cache for each config; return their paths."""
    import datasets

    root = Path(root).resolve()
    problems = verify(root)
    if problems:
        raise ValueError(f"{root} does not match its manifest, refusing to install: " + "; ".join(problems))
    built = sorted(read_manifest(root)["configs"])
    built += [window_config_name(name) for name in built]
    configs = list(configs or built)
    for name in configs:
        if name not in built:
            raise ValueError(f"config {name!r} is not built in {root} (built: {', '.join(built)})")
    cache_root = Path(cache_dir or datasets.config.HF_DATASETS_CACHE).expanduser().resolve()
    digest = manifest_digest(root)[:40]
    installed = {}
    with tempfile.TemporaryDirectory(prefix="gnnbench-install-") as tmp:
        link = Path(tmp) / repo_id.split("/")[1]  # datasets names a local dataset after its folder
        link.symlink_to(root, target_is_directory=True)
        for name in configs:
            builder = datasets.load_dataset_builder(str(link), name, cache_dir=str(Path(tmp) / "cache"))
            entry = cache_entry(cache_root, repo_id, name)
            target = entry / str(builder.config.version) / digest
            builder.download_and_prepare(output_dir=str(target))  # no-op if already prepared
            _remove_other_entries(entry, keep=target)
            installed[name] = target
    return installed


def _remove_other_entries(entry: Path, keep: Path) -> None:
    """Delete older hashes/versions of this config so the fallback cannot pick a stale one."""
    for version_dir in entry.iterdir():
        for child in [version_dir] if version_dir != keep.parent else list(version_dir.iterdir()):
            if child not in (keep, keep.parent):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
