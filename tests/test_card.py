"""The dataset card: its YAML header (made with huggingface_hub / datasets classes) against the data."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from gnnbench.package import card
from gnnbench.package.manifest import FLOOR_KEY
from gnnbench.package.schema import SCHEMA, WINDOW_SCHEMA
from gnnbench.package.splits import ROLLOUT_SPLITS, SPLITS

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("rows", "category"), [
    (0, "n<1K"), (654, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (6990, "1K<n<10K"), (9999, "1K<n<10K"),
    (10_000, "10K<n<100K"), (99_999, "10K<n<100K"), (100_000, "100K<n<1M"), (1_000_000, "1M<n<10M"),
    (10**9, "1B<n<10B"), (10**12 - 1, "100B<n<1T"), (10**12, "n>1T"),
])
def test_size_category_buckets(rows, category):
    assert card.size_category(rows) == category


def test_size_category_rejects_a_negative_count():
    with pytest.raises(ValueError):
        card.size_category(-1)


def test_card_template_is_package_data_and_the_top_level_card():
    """One source: the packaged template is a symlink to DATASET_CARD.md (a copy in a wheel)."""
    packaged = resources.files("gnnbench.package") / card.CARD_TEMPLATE
    assert packaged.read_text(encoding="utf-8") == (REPO / "DATASET_CARD.md").read_text(encoding="utf-8")
    in_tree = Path(card.__file__).parent / card.CARD_TEMPLATE
    assert in_tree.is_symlink() and in_tree.resolve() == (REPO / "DATASET_CARD.md").resolve()
    assert '"package/*.md"' in (REPO / "pyproject.toml").read_text()


def _fake_build(root: Path, rows: dict[str, int]) -> dict[str, dict]:
    """Summaries of configs whose shards hold null rows: ``rows[config]`` anchors per split."""
    summaries = {}
    for name, n in rows.items():
        def shards(kind, schema, splits, n=n, name=name):
            out = {}
            for split in splits:
                relative = f"data/{name}/{kind}{split}-T0300K.parquet"
                (root / relative).parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pylist([{}] * n, schema=schema), root / relative)
                out[split] = {"rows": n, "bytes": (root / relative).stat().st_size, "files": [relative]}
            return out

        summaries[name] = {
            "description": f"fake {name}", "recipe": f"recipes/{name}.yaml", "recipe_sha256": "0" * 64,
            "lammps_version": "test", "potential": "Al_mm.eam.fs", "potential_sha256": "0" * 64, "n_atoms": 4000,
            "dt_fs": [1, 2], "splits": shards("", SCHEMA, SPLITS), "nve_window": shards("nve_window/", WINDOW_SCHEMA, ROLLOUT_SPLITS),
            FLOOR_KEY: {"target_timestep_fs": 0.1, "reference_timestep_fs": 0.025, "anchors": 16, "unit": "Å",
                        "by_dt_fs": {"2": {"max_A": 2.5e-8, "mean_A": 2e-8}, "1": {"max_A": 1.25e-8, "mean_A": 1e-8}}},
        }
    return summaries


def test_card_metadata_of_two_configs(tmp_path):
    """size_categories counts the anchors of every config (not atoms); full is the default config;
    every config has its dataset_info; datasets parses the header back."""
    summaries = _fake_build(tmp_path, {"full": 200, "mini": 100})  # 4 splits: 800 + 400 anchors
    card.write_card(tmp_path, summaries)
    data = DatasetCard.load(tmp_path / "README.md").data
    assert data.size_categories == ["1K<n<10K"]
    assert data.task_categories == ["graph-ml"] and data.annotations_creators == ["machine-generated"]
    assert data.source_datasets == ["original"] and data.license == "cc-by-4.0"
    names = ["full", "full-nve-window", "mini", "mini-nve-window"]
    assert [c["config_name"] for c in data.configs] == names
    assert [c["config_name"] for c in data.configs if c.get("default")] == ["full"]
    assert [i["config_name"] for i in data.dataset_info] == names
    card.check_card_data(data)
    assert (tmp_path / "README.md").read_text().split("\n---\n", 1)[1].lstrip().startswith("# al-eam")


def test_build_section_states_the_targets_own_error_per_stride(tmp_path):
    """Each config's build section carries its measured NVE-target floor, Δt ascending, with the method."""
    section = card.build_section(_fake_build(tmp_path, {"mini": 3}))
    assert "velocity-Verlet at 0.1 fs (the targets) against the same branch at 0.025 fs" in section
    assert "rollout-start anchor of each of the 16 trajectories" in section
    table = [[cell.strip() for cell in line.split("|")[1:-1]] for line in section[section.index("| Δt (fs)"):].splitlines()]
    assert table[0] == ["Δt (fs)", "max (Å)", "mean (Å)"]
    assert table[2:] == [["1", "1.25e-08", "1.00e-08"], ["2", "2.50e-08", "2.00e-08"]]


def test_check_card_data_rejects_bad_metadata(tmp_path):
    data = card.card_data(tmp_path, _fake_build(tmp_path, {"mini": 3}))
    card.check_card_data(data)
    data.size_categories = ["n<2K"]
    data.dataset_info[0]["splits"] = data.dataset_info[0]["splits"][:2]
    with pytest.raises(ValueError, match="not a Hub size category.*differ from its data_files"):
        card.check_card_data(data)


@pytest.mark.slow
def test_built_card_header_matches_the_data(mini_dataset, tmp_path):
    """The YAML header of the built mini dataset against its parquet shards, and against the
    split sizes ``datasets`` itself records when it prepares them."""
    from datasets import Features

    from gnnbench.load.install import install

    data = DatasetCard.load(mini_dataset / "README.md").data
    card.check_card_data(data)
    anchors = sum(pq.ParquetFile(p).metadata.num_rows for p in (mini_dataset / "data" / "mini").glob("*.parquet"))
    assert data.size_categories == [card.size_category(anchors)]
    assert data.task_categories == ["graph-ml"]
    assert data.annotations_creators == ["machine-generated"] and data.source_datasets == ["original"]

    infos = {info["config_name"]: info for info in data.dataset_info}
    assert sorted(infos) == sorted(c["config_name"] for c in data.configs) == ["mini", "mini-nve-window"]
    covered = []
    for config in data.configs:
        info = infos[config["config_name"]]
        schema = Features._from_yaml_list(info["features"]).arrow_schema
        splits = {s["name"]: s for s in info["splits"]}
        assert list(splits) == [item["split"] for item in config["data_files"]]
        config_files = []
        for item in config["data_files"]:
            files = sorted(mini_dataset.glob(item["path"]))
            assert files, f"{config['config_name']}/{item['split']}: {item['path']} matches no file"
            config_files += files
            for path in files:
                assert pq.read_schema(path).remove_metadata() == schema, path
            assert splits[item["split"]]["num_examples"] == sum(pq.ParquetFile(p).metadata.num_rows for p in files)
        assert info["download_size"] == sum(p.stat().st_size for p in config_files)
        assert info["dataset_size"] == sum(s["num_bytes"] for s in splits.values())
        covered += config_files
    assert sorted(covered) == sorted((mini_dataset / "data").rglob("*.parquet"))  # every shard in exactly one config

    installed = install(mini_dataset, cache_dir=tmp_path / "hf-cache")  # datasets checks num_examples itself
    for name, path in installed.items():
        recorded = json.loads((path / "dataset_info.json").read_text())
        assert {s: v["num_bytes"] for s, v in recorded["splits"].items()} == {s["name"]: s["num_bytes"] for s in infos[name]["splits"]}
        assert Features.from_dict(recorded["features"]) == Features._from_yaml_list(infos[name]["features"])
        assert recorded["download_size"] == infos[name]["download_size"]



def test_the_cards_floor_table_is_what_the_mini_build_measures(mini_dataset):
    """DATASET_CARD.md states the mini floor in prose (max and mean over the 16 rollout-start anchors,
    2 digits); builds are deterministic, so a fresh build must give those numbers, and its README
    (card + build section) must carry the same table from the manifest."""
    from gnnbench.package.manifest import target_floor_A

    text = (REPO / "DATASET_CARD.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]] for line in text.splitlines()
            if line.startswith(("| max over the 16 rollout-start anchors", "| mean over them"))}
    header = next(line for line in text.splitlines() if line.startswith("| targets' own error (Å) at Δt"))
    dts = [int(cell.strip().removesuffix(" fs")) for cell in header.split("|")[2:-1]]
    for label, statistic in (("max over the 16 rollout-start anchors", "max"), ("mean over them", "mean")):
        measured = target_floor_A(mini_dataset, "mini", statistic)
        assert list(measured) == dts
        assert rows[label] == [f"{measured[dt]:.1e}" for dt in dts], statistic
    readme = (mini_dataset / "README.md").read_text(encoding="utf-8")
    assert card.floor_table(json.loads((mini_dataset / "manifest.json").read_text())["configs"]["mini"][FLOOR_KEY]) in readme
