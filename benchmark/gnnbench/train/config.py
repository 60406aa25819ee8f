"""Training configs: one YAML file per run recipe, kept in each baseline's folder.

Keys (all required unless marked optional):

    model: "baselines.reference_gnn.model:ReferenceGNN"   # import path of the nn.Module
    model_args: {...}                                      # its constructor arguments
    data: {root, config, train_strides_fs, validation_strides_fs, pairs_per_epoch (optional: a
           random subset of (anchor, Δt) pairs each epoch; default all), targets (optional:
           nve, the default, or npt)}
    optimizer: {lr, weight_decay}                          # AdamW
    scheduler: {factor, patience}                          # ReduceLROnPlateau on validation loss
    clip_grad_norm: 1.0
    batch_size: 4                                          # per process
    num_workers: 4
    epochs: 50
    seed: 0
    velocity_loss_weight: 0.0      # λ in loss = MSE(Δr) [Å²] + λ · MSE(v) [(Å/ps)²]
    shuffle: true                  # optional
    max_steps: null                # optional: stop after this many optimizer steps (tests)
    run_dir: runs/<name>
    submission: {name, description, rollout_stride_fs, ...}  # metadata for gnnbench export
"""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

REQUIRED = {"model", "model_args", "data", "optimizer", "scheduler", "clip_grad_norm", "batch_size", "num_workers",
            "epochs", "seed", "velocity_loss_weight", "run_dir", "submission"}
OPTIONAL = {"shuffle", "max_steps", "description"}


def load_train_config(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such training config")
    config = yaml.safe_load(path.read_text())
    unknown, missing = set(config) - REQUIRED - OPTIONAL, REQUIRED - set(config)
    if unknown or missing:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    config.setdefault("shuffle", True)
    config.setdefault("max_steps", None)
    config["source"] = str(path)
    return config


def build_model(config: dict):
    """Instantiate ``config['model']`` ("module.path:ClassName") with ``model_args``."""
    module_name, class_name = config["model"].split(":")
    return getattr(importlib.import_module(module_name), class_name)(**config["model_args"])
