"""Write a model as a submission folder: ``submission.pt`` (TorchScript) + ``metadata.yaml``."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch
import yaml

from .submission import counted_parameters, load_metadata, sha256_of


def write_submission(module: torch.nn.Module, metadata: dict, out_dir: Path) -> Path:
    """Script ``module``, save it, fill in ``submission_sha256`` and ``parameter_count``, validate.

    ``parameter_count`` is counted as the scorer counts it (:func:`~gnnbench.predict.submission.counted_parameters`):
    every tensor element the saved archive stores, buffers and tensor attributes included, not only ``parameters()``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "submission.pt"
    with warnings.catch_warnings():  # TorchScript is deprecated upstream; it is still the safe format (SUBMISSION.md)
        warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=DeprecationWarning)
        torch.jit.save(torch.jit.script(module.eval()), str(path))
    metadata = {
        **metadata,
        "parameter_count": counted_parameters(path),
        "submission_sha256": sha256_of(path),
    }
    (out_dir / "metadata.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True))
    load_metadata(out_dir / "metadata.yaml")  # fail here, not at scoring time
    return path


def builtin_baseline_sha256(name: str) -> str:
    """The ``submission_sha256`` of a scorer built-in baseline, which has no file: sha256 of its name."""
    return hashlib.sha256(name.encode()).hexdigest()


def trivial_metadata(name: str, description: str, rollout_stride_fs: int = 10) -> dict:
    """Metadata of a suite baseline that needs no training."""
    from .. import DATASET_REPO, DATASET_VERSION

    return {
        "name": name,
        "version": "1.0.0",
        "description": description,
        "authors": ["gnnbench maintainers"],
        "license": "MIT",
        "code_url": "https://github.com/gnnmd/gnnbench",
        "baseline": True,
        "training_data": {"dataset": DATASET_REPO, "revision": f"v{DATASET_VERSION}", "config": "none", "splits": []},
        "strides_fs": [1, 2, 5, 10, 15, 20, 30, 40, 50],
        "rollout_stride_fs": rollout_stride_fs,
        "predicts_velocities": True,
        "uses_descriptors": False,
        "hardware": "none (no training)",
    }
