"""The dataset repository's README.md: YAML metadata + DATASET_CARD.md + this build's numbers.

The card is made with huggingface_hub's ``DatasetCard`` / ``DatasetCardData``; the parts of the
metadata that describe the data come from the ``datasets`` library's own classes, as
``push_to_hub`` would write them:

* ``configs`` (``MetadataConfigs``) maps each config and split to its parquet shards, which is
  what makes ``load_dataset("gnnmd/al-eam", "mini")`` return the four splits, and
  ``load_dataset("gnnmd/al-eam", "mini-nve-window")`` the NVE reference windows;
* ``dataset_info`` (``DatasetInfosDict``) gives per config the features, derived from the Arrow
  schemas of ``schema.py``, and per split the row count (``num_examples``), the in-memory Arrow
  size (``num_bytes``, as ``datasets`` counts it when it prepares the split) and, per config, the
  parquet bytes to download (``download_size``). ``datasets`` checks ``num_examples`` against
  the shards when it prepares a split;
* ``size_categories`` is the Hub's bucket of the number of rows, i.e. anchors, summed over the
  configs built into the repository (NVE window frames are a rollout reference, not examples).

The prose is ``DATASET_CARD.md`` at the repository root, shipped in the package as
``gnnbench/package/DATASET_CARD.md`` (a symlink to it in the source tree, a copy in a wheel)
and read with ``importlib.resources``, so the card can be built from a non-editable install.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, DatasetCardData
from tabulate import tabulate

from .. import DATASET_REPO, DATASET_VERSION
from .manifest import FLOOR_KEY
from .schema import SCHEMA, WINDOW_SCHEMA
from .splits import ROLLOUT_SPLITS, SPLITS

CARD_TEMPLATE = "DATASET_CARD.md"  # package data of gnnbench.package

PRETTY_NAME = "al-eam: FCC aluminium EAM trajectories for learned MD integrators"
LICENSE = "cc-by-4.0"
TAGS = ["molecular-dynamics", "lammps", "eam", "aluminium", "graph-neural-networks", "physics"]
# The Hub's task taxonomy (huggingface.js packages/tasks/src/pipelines.ts) has no physics or
# simulation task. A row is one periodic atomic configuration, which a model reads as a graph
# (atoms are nodes, neighbours within a cutoff are edges) to regress per-atom displacements and
# velocities: "graph-ml" (Graph Machine Learning) fits. "tabular-regression" fits worse: its
# targets are columns of a flat table (its one sub-task is single-column regression), ours are
# nested per-atom arrays. The taxonomy has no graph sub-tasks, so there are no task_ids.
TASK_CATEGORIES = ["graph-ml"]
ANNOTATIONS_CREATORS = ["machine-generated"]  # every value is computed by LAMMPS
SOURCE_DATASETS = ["original"]  # simulated here, not derived from another dataset
# language, language_creators and multilinguality describe text: there is none.

# The Hub's size_categories, by number of rows: (upper bound, exclusive; label).
SIZE_CATEGORIES: tuple[tuple[float, str], ...] = (
    (1e3, "n<1K"), (1e4, "1K<n<10K"), (1e5, "10K<n<100K"), (1e6, "100K<n<1M"), (1e7, "1M<n<10M"),
    (1e8, "10M<n<100M"), (1e9, "100M<n<1B"), (1e10, "1B<n<10B"), (1e11, "10B<n<100B"), (1e12, "100B<n<1T"),
    (float("inf"), "n>1T"),
)
# The order of the YAML keys in README.md.
KEY_ORDER = ["pretty_name", "license", "annotations_creators", "source_datasets", "task_categories",
             "size_categories", "tags", "configs", "dataset_info"]


def window_config_name(config: str) -> str:
    """Card config of a config's NVE reference windows: ``load_dataset("gnnmd/al-eam", "mini-nve-window")``."""
    return f"{config}-nve-window"


def size_category(n_rows: int) -> str:
    """The Hub's size category of a dataset of ``n_rows`` rows: 999 -> n<1K, 1000 -> 1K<n<10K."""
    if n_rows < 0:
        raise ValueError(f"negative row count {n_rows}")
    return next(label for bound, label in SIZE_CATEGORIES if n_rows < bound)


def card_template() -> str:
    """The card's prose: the packaged DATASET_CARD.md."""
    source = resources.files(__package__) / CARD_TEMPLATE
    if not source.is_file():
        raise FileNotFoundError(f"{source}: the dataset card template is missing from the gnnbench package")
    return source.read_text(encoding="utf-8")


def card_configs(summaries: dict[str, dict]) -> dict[str, tuple[str, dict[str, dict], pa.Schema]]:
    """Every card config: {name: (folder of its shards, {split: summary of its shards}, Arrow schema)}.

    Splits without shards are left out (a split whose data_files match no file would not load)."""
    configs = {}
    for name, summary in sorted(summaries.items()):
        configs[name] = (f"data/{name}", {s: summary["splits"][s] for s in SPLITS if summary["splits"][s]["files"]}, SCHEMA)
        configs[window_config_name(name)] = (
            f"data/{name}/nve_window",
            {s: summary["nve_window"][s] for s in ROLLOUT_SPLITS if summary["nve_window"][s]["files"]},
            WINDOW_SCHEMA,
        )
    return configs


def arrow_bytes(root: Path, files: list[str]) -> int:
    """In-memory Arrow size of some shards, what ``datasets`` records as a split's ``num_bytes``
    (read one row group at a time, so a large shard never sits in memory whole)."""
    total = 0
    for name in files:
        parquet = pq.ParquetFile(Path(root) / name)
        total += sum(parquet.read_row_group(i).nbytes for i in range(parquet.num_row_groups))
    return total


def dataset_infos(root: Path, summaries: dict[str, dict]):
    """``datasets.DatasetInfosDict`` of every card config: features and split sizes."""
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict

    infos = DatasetInfosDict()
    for config_name, (_, splits, schema) in card_configs(summaries).items():
        split_dict = SplitDict()
        for split, info in splits.items():
            split_dict.add(SplitInfo(name=split, num_bytes=arrow_bytes(root, info["files"]), num_examples=int(info["rows"])))
        infos[config_name] = DatasetInfo(
            config_name=config_name,
            features=Features.from_arrow_schema(schema),
            splits=split_dict,
            download_size=int(sum(info["bytes"] for info in splits.values())),
            dataset_size=int(sum(s.num_bytes for s in split_dict.values())),
        )
    return infos


def metadata_configs(summaries: dict[str, dict]):
    """``datasets``' ``configs`` metadata: the parquet files of every config and split."""
    from datasets.utils.metadata import MetadataConfigs

    default = "full" if "full" in summaries else (next(iter(summaries)) if len(summaries) == 1 else None)
    configs = {}
    for config_name, (data_dir, splits, _) in card_configs(summaries).items():
        configs[config_name] = {
            **({"default": True} if config_name == default else {}),
            "data_files": [{"split": split, "path": f"{data_dir}/{split}-*.parquet"} for split in splits],
        }
    return MetadataConfigs(configs)


def card_data(root: Path, summaries: dict[str, dict]) -> DatasetCardData:
    """The YAML metadata of the card."""
    n_rows = sum(info["rows"] for summary in summaries.values() for info in summary["splits"].values())
    data = DatasetCardData(
        pretty_name=PRETTY_NAME,
        license=LICENSE,
        annotations_creators=ANNOTATIONS_CREATORS,
        source_datasets=SOURCE_DATASETS,
        task_categories=TASK_CATEGORIES,
        size_categories=[size_category(n_rows)],
        tags=TAGS,
    )
    metadata_configs(summaries).to_dataset_card_data(data)
    dataset_infos(root, summaries).to_dataset_card_data(data)
    return data


def check_card_data(data: DatasetCardData) -> None:
    """Offline checks of the metadata (the Hub's own validation, ``DatasetCard.validate``, needs the
    network): the values the Hub enumerates, and that ``datasets`` parses configs and dataset_info
    back to the same configs. Raises ValueError."""
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs

    problems = []
    labels = {label for _, label in SIZE_CATEGORIES}
    problems += [f"size_categories: {v!r} is not a Hub size category" for v in _as_list(data.get("size_categories")) if v not in labels]
    problems += [f"annotations_creators: {v!r} is not allowed" for v in _as_list(data.get("annotations_creators"))
                 if v not in ("found", "crowdsourced", "expert-generated", "machine-generated", "no-annotation", "other")]
    problems += [f"source_datasets: {v!r} is not allowed" for v in _as_list(data.get("source_datasets"))
                 if v not in ("original", "extended") and not v.startswith("extended|")]
    configs = MetadataConfigs.from_dataset_card_data(data)  # raises on malformed data_files
    infos = DatasetInfosDict.from_dataset_card_data(data)
    if set(configs) != set(infos):
        problems.append(f"configs {sorted(configs)} and dataset_info {sorted(infos)} name different configs")
    for name, info in infos.items():
        splits = [item["split"] for item in configs.get(name, {}).get("data_files", [])]
        if list(info.splits or {}) != splits:
            problems.append(f"{name}: dataset_info splits {list(info.splits or {})} differ from its data_files {splits}")
    configs.get_default_config_name()  # raises on several defaults
    if problems:
        raise ValueError("dataset card metadata: " + "; ".join(problems))


def _as_list(value) -> list:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def build_section(summaries: dict[str, dict]) -> str:
    """A table of what this build holds: rows (anchors) and sizes per config and split."""
    lines = [
        f"## This build\n\nDataset `{DATASET_REPO}`, version {DATASET_VERSION}. The YAML header's `dataset_info` gives "
        "the same rows per split, with the in-memory Arrow size (`num_bytes`) and the parquet size (`download_size`).\n"
    ]
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
            + f"\n\nTotal {total_bytes / 1e6:.1f} MB.\n\n" + floor_section(summary[FLOOR_KEY])
        )
    return "\n".join(lines)


def floor_table(floor: dict) -> str:
    """The targets' own error per Δt (Å), max and mean over the measured anchors, as a markdown table."""
    rows = [(dt, f"{values['max_A']:.2e}", f"{values['mean_A']:.2e}")
            for dt, values in sorted(floor["by_dt_fs"].items(), key=lambda item: int(item[0]))]
    return tabulate(rows, headers=["Δt (fs)", "max (Å)", "mean (Å)"], tablefmt="github", disable_numparse=True)


def floor_section(floor: dict) -> str:
    """The build's measured NVE-target floor (the manifest's ``nve_target_floor``) with its method."""
    return (
        f"Targets' own error (the floor of the NVE targets): velocity-Verlet at {floor['target_timestep_fs']:g} fs (the targets) "
        f"against the same branch at {floor['reference_timestep_fs']:g} fs, from the rollout-start anchor of each of the "
        f"{floor['anchors']} trajectories; RMSE of the per-atom displacement vector, sqrt(mean over atoms |r_target − r_finer|²), "
        "in Å, max and mean over those anchors (manifest `nve_target_floor`).\n\n" + floor_table(floor) + "\n"
    )


def make_card(root: Path, summaries: dict[str, dict]) -> DatasetCard:
    data = card_data(root, summaries)
    check_card_data(data)
    body = f"{card_template().rstrip()}\n\n{build_section(summaries)}"
    return DatasetCard(f"---\n{data.to_yaml(original_order=KEY_ORDER)}\n---\n\n{body}")


def write_card(root: Path, summaries: dict[str, dict]) -> None:
    """Write ``root/README.md``; ``summaries`` are the per-config build summaries of the manifest."""
    make_card(Path(root), summaries).save(Path(root) / "README.md")
