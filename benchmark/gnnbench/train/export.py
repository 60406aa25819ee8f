"""``gnnbench export CHECKPOINT -o DIR [--format ...]``: a training checkpoint -> model file + metadata.yaml."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from .. import DATASET_REPO
from ..generate.config import load_config
from ..package.manifest import read_manifest
from ..package.shards import ALUMINIUM_Z
from ..predict.export import write_submission
from .config import build_model


def export_checkpoint(checkpoint: Path, out_dir: Path, model_format: str = "torchscript", timestep_fs: float | None = None) -> Path:
    """A training checkpoint -> a submission folder in ``model_format`` (a metatomic model at ``timestep_fs``,
    with the masses of the training data's recipe)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)  # our own checkpoint format
    config = state["config"]
    model = build_model(config)
    model.load_state_dict(state["model"])
    data = config["data"]
    try:
        revision = f"v{read_manifest(Path(data['root']))['version']}"
    except FileNotFoundError:
        revision = "unknown"
    metadata = {
        "version": "1.0.0",
        "authors": ["gnnbench maintainers"],
        "license": "MIT",
        "code_url": "https://github.com/gnnmd/gnnbench",
        **config["submission"],
        "training_data": {"dataset": DATASET_REPO, "revision": revision, "config": data["config"], "splits": ["train", "validation"]},
        "strides_fs": sorted(set(data["train_strides_fs"])),
        "hardware": config["submission"].get("hardware", f"{platform.machine()} CPU, torch {torch.__version__}"),
    }
    masses = None
    if model_format == "metatomic":
        recipe = load_config(Path(data["root"]) / "recipes" / f"{data['config']}.yaml")
        masses = {ALUMINIUM_Z: recipe.mass_amu}
    return write_submission(model.eval(), metadata, out_dir, model_format=model_format, timestep_fs=timestep_fs, masses_u=masses)
