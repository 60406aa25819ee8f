"""The dataset repository's README.md: YAML metadata + DATASET_CARD.md + this build's numbers.

The Hugging Face hub reads the YAML front matter; its ``configs`` entry maps each config and
split to its parquet shards, which is what makes ``load_dataset("gnnmd/al-eam", "mini")``
return the four splits. The prose is ``DATASET_CARD.md`` at the repository root, shipped in the
package as ``gnnbench/package/DATASET_CARD.md`` (a symlink to it in the source tree, a copy in a
wheel) and read with ``importlib.resources``, so the card can be built from a non-editable install.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from tabulate import tabulate

from .. import DATASET_REPO, DATASET_VERSION
from .splits import ROLLOUT_SPLITS, SPLITS


def window_config_name(config: str) -> str:
    """Card config of a config's NVE reference windows: ``load_dataset("gnnmd/al-eam", "mini-nve-window")``."""
    return f"{config}-nve-window"

CARD_TEMPLATE = "DATASET_CARD.md"  # package data of gnnbench.package


def card_template() -> str:
    """The card's prose: the packaged DATASET_CARD.md."""
    source = resources.files(__package__) / CARD_TEMPLATE
    if not source.is_file():
        raise FileNotFoundError(f"{source}: the dataset card template is missing from the gnnbench package")
    return source.read_text(encoding="utf-8")


def front_matter(summaries: dict[str, dict]) -> dict:
    return {
        "pretty_name": "al-eam: FCC aluminium EAM trajectories for learned MD integrators",
        "license": "cc-by-4.0",
        "tags": ["molecular-dynamics", "lammps", "eam", "aluminium", "graph-neural-networks", "physics"],
        "size_categories": ["n<1K"] if all(s["n_atoms"] < 1000 for s in summaries.values()) else ["1K<n<10K"],
        "configs": [
            {
                "config_name": name,
                **({"default": True} if name == "full" or len(summaries) == 1 else {}),
                "data_files": [{"split": split, "path": f"data/{name}/{split}-*.parquet"} for split in SPLITS],
            }
            for name in sorted(summaries)
        ] + [
            {
                "config_name": window_config_name(name),
                "data_files": [{"split": split, "path": f"data/{name}/nve_window/{split}-*.parquet"} for split in ROLLOUT_SPLITS],
            }
            for name in sorted(summaries)
        ],
    }


def build_section(summaries: dict[str, dict]) -> str:
    """A table of what this build holds: rows (anchors) and sizes per config and split."""
    lines = [f"## This build\n\nDataset `{DATASET_REPO}`, version {DATASET_VERSION}.\n"]
    for name, summary in sorted(summaries.items()):
        rows = [
            (split, info["rows"], info["rows"] * len(summary["dt_fs"]), f"{info['bytes'] / 1e6:.1f}", len(info["files"]))
            for split, info in summary["splits"].items()
        ]
        rows += [(f"{window_config_name(name)} / {split}", info["rows"], "—", f"{info['bytes'] / 1e6:.1f}", len(info["files"]))
                 for split, info in summary["nve_window"].items()]
        total_bytes = sum(info["bytes"] for info in summary["splits"].values()) + sum(info["bytes"] for info in summary["nve_window"].values())
        lines.append(
            f"### Config `{name}`: {summary['description']}\n\n"
            f"Recipe `{summary['recipe']}` (sha256 `{summary['recipe_sha256'][:16]}…`), LAMMPS {summary['lammps_version']}, "
            f"potential `{summary['potential']}` (sha256 `{summary['potential_sha256']}`).\n\n"
            + tabulate(rows, headers=["split", "rows (anchors; window frames)", "(anchor, Δt) pairs", "MB", "shards"], tablefmt="github")
            + f"\n\nTotal {total_bytes / 1e6:.1f} MB.\n"
        )
    return "\n".join(lines)


def write_card(root: Path, summaries: dict[str, dict]) -> None:
    body = card_template()
    header = yaml.safe_dump(front_matter(summaries), sort_keys=False, allow_unicode=True)
    (root / "README.md").write_text(f"---\n{header}---\n\n{body.rstrip()}\n\n{build_section(summaries)}")
