"""Write a model as a submission folder: its model file in one of the formats + ``metadata.yaml``.

=============== ================== ===================================================================
format          model file         written with
=============== ================== ===================================================================
``torchscript`` ``submission.pt``  ``torch.jit.save(torch.jit.script(module))`` (the default)
``torch-export````submission.pt2`` ``torch.export.save(torch.export.export(module, example, dynamic_shapes))``
                                   with dynamic atom (N) and system (B) counts, traced on two 256-atom
                                   FCC Al crystals (:func:`example_inputs`)
``metatomic``   ``submission.pt``  :func:`gnnbench.predict.metatomic_export.save_metatomic`: an
                                   ``AtomisticModel`` in FlashMD's convention, one fixed timestep
=============== ================== ===================================================================

A model that takes a different code path to be traced by ``torch.export`` (PairForce swaps its
cell list for a dense neighbour search) says so with a ``prepare_for_export()`` method.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch
import yaml

from .submission import counted_parameters, load_metadata, sha256_of

EXPORT_FORMATS = ("torchscript", "torch-export", "metatomic")
CONTRACT_INPUTS = ("positions", "velocities", "species", "batch", "cell", "descriptors", "dt_fs", "temperature_K")
PER_SYSTEM_INPUTS = ("cell", "dt_fs", "temperature_K")  # first dimension B; the others' is N (atoms of all systems)


def example_inputs(n_cells: int = 4, systems: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """Contract inputs: ``systems`` FCC Al crystals of 4·n_cells³ atoms (a = 4.05 Å, 0.05 Å noise, ~5 Å/ps), Δt 10, 5 fs."""
    generator = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*(torch.arange(n_cells) for _ in range(3)), indexing="ij"), -1).reshape(-1, 3)
    basis = torch.tensor([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], dtype=torch.float64)
    lattice = ((grid.to(torch.float64)[:, None] + basis[None]) * 4.05).reshape(-1, 3)
    n = lattice.shape[0]
    noise = 0.05 * torch.randn((systems * n, 3), generator=generator, dtype=torch.float64)
    return {"positions": lattice.repeat(systems, 1) + noise,
            "velocities": 5.0 * torch.randn((systems * n, 3), generator=generator, dtype=torch.float64),
            "species": torch.full((systems * n,), 13, dtype=torch.int64),
            "batch": torch.arange(systems).repeat_interleave(n),
            "cell": torch.eye(3, dtype=torch.float64).expand(systems, 3, 3) * n_cells * 4.05,
            "descriptors": torch.zeros((systems * n, 5), dtype=torch.float64),
            "dt_fs": torch.tensor([10.0, 5.0] * systems, dtype=torch.float64)[:systems],
            "temperature_K": torch.full((systems,), 300.0, dtype=torch.float64)}


def save_torchscript(module: torch.nn.Module, path: Path) -> None:
    with warnings.catch_warnings():  # TorchScript is deprecated upstream; it is still the safe format (SUBMISSION.md)
        warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=DeprecationWarning)
        torch.jit.save(torch.jit.script(module.eval()), str(path))


def save_torch_export(module: torch.nn.Module, path: Path) -> None:
    """``torch.export`` of the contract's forward with dynamic N (atoms) and B (systems), non-strict tracing."""
    from torch.export import Dim, export, save

    module = module.eval()
    if callable(getattr(module, "prepare_for_export", None)):
        module.prepare_for_export()
    atoms, systems = Dim("N", min=2, max=1 << 20), Dim("B", min=1, max=4096)
    dynamic = {name: {0: systems if name in PER_SYSTEM_INPUTS else atoms} for name in CONTRACT_INPUTS}
    inputs = example_inputs()
    with torch.no_grad():
        program = export(module, tuple(inputs[name] for name in CONTRACT_INPUTS), dynamic_shapes=dynamic, strict=False)
    save(program, str(path))


def write_submission(module: torch.nn.Module, metadata: dict, out_dir: Path, model_format: str = "torchscript",
                     timestep_fs: float | None = None, masses_u: dict[int, float] | None = None) -> Path:
    """Save ``module`` in ``model_format``, fill in ``submission_sha256`` and ``parameter_count``, validate.

    ``parameter_count`` is counted as the scorer counts it (:func:`~gnnbench.predict.submission.counted_parameters`):
    every tensor element the saved archive stores, buffers and tensor attributes included, not only ``parameters()``.
    A metatomic model takes one timestep (``timestep_fs``, which becomes ``strides_fs`` and ``rollout_stride_fs``)
    and the masses of the data (``masses_u``, u by atomic number).
    """
    if model_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {model_format!r}; one of {', '.join(EXPORT_FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ("submission.pt2" if model_format == "torch-export" else "submission.pt")
    for stale in (out_dir / "submission.pt", out_dir / "submission.pt2"):
        if stale != path and stale.exists():
            stale.unlink()  # a folder holds one model file
    if model_format == "torchscript":
        save_torchscript(module, path)
    elif model_format == "torch-export":
        save_torch_export(module, path)
    else:
        if timestep_fs is None or not masses_u:
            raise ValueError("a metatomic model needs its timestep (fs) and the masses (u) it is trained for")
        from .metatomic_export import save_metatomic

        cutoff = float(getattr(module, "cutoff", 0.0))
        save_metatomic(module, path, timestep_fs, masses_u, name=metadata["name"], authors=metadata.get("authors", []),
                       description=metadata.get("description", ""), interaction_range_A=cutoff)
        metadata = {**metadata, "strides_fs": [int(timestep_fs)], "rollout_stride_fs": int(timestep_fs),
                    "predicts_velocities": True, "uses_descriptors": False}
    return _write_metadata(path, metadata)


def package_model_file(model_path: Path, metadata: dict, out_dir: Path) -> Path:
    """A model file written elsewhere (``mtt export``'s metatomic file, a ``.pt2``, TorchScript) as a submission
    folder: the file copied under its format's name, ``metadata`` completed with ``parameter_count`` and
    ``submission_sha256`` as the scorer counts them, validated. Nothing is loaded or run here."""
    from shutil import copyfile

    from .submission import check_model_file

    model_format = check_model_file(Path(model_path))  # static checks first: a pickle is refused before any copy
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ("submission.pt2" if model_format.NAME == "torch-export" else "submission.pt")
    if Path(model_path).resolve() != path.resolve():
        copyfile(model_path, path)
    for stale in (out_dir / "submission.pt", out_dir / "submission.pt2"):
        if stale != path and stale.exists():
            stale.unlink()
    return _write_metadata(path, metadata)


def _write_metadata(path: Path, metadata: dict) -> Path:
    metadata = {**metadata, "parameter_count": counted_parameters(path), "submission_sha256": sha256_of(path)}
    (path.parent / "metadata.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True))
    load_metadata(path.parent / "metadata.yaml")  # fail here, not at scoring time
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
