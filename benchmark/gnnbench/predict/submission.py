"""Load a submission without running its author's Python, and call it through one checked door.

A submission is ``submission.pt``, a TorchScript archive written by ``torch.jit.save``, with
``metadata.yaml`` beside it. The scorer:

* opens the archive only with ``torch.jit.load`` after checking it *is* one (a zip with
  TorchScript ``code/`` and ``constants.pkl``). A Python pickle or a ``torch.save`` checkpoint
  is refused before anything reads it: no code path hands a submission to
  Python's unpickler (``pickle``, ``torch.load``). TorchScript code runs in TorchScript's
  interpreter, which has no access to Python;
* validates ``metadata.yaml`` against ``metadata.schema.yaml`` (unknown keys rejected) and
  checks its ``submission_sha256`` against the file. A bare ``model.pt`` with no
  ``metadata.yaml`` beside it can be scored for oneself with stated defaults
  (:func:`own_use_metadata`); a leaderboard entry always needs the full, validated file;
* checks every output (type, shape, dtype, finite) and reports a failing call with the input
  that caused it.

The call contract is in SUBMISSION.md beside this file.
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import torch
import yaml

from ..untrusted import METADATA_MAX_BYTES, UntrustedInputError, load_yaml, read_capped, schema_message, short

SCHEMA_PATH = Path(__file__).with_name("metadata.schema.yaml")


class SubmissionError(ValueError):
    """The submission file or its metadata is unacceptable."""


class SubmissionOutputError(RuntimeError):
    """A call to the submission failed or returned something invalid; ``context`` says on what input."""

    def __init__(self, message: str, context: str):
        super().__init__(f"{message} [input: {context}]")
        self.context = context


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_torchscript_archive(path: Path) -> None:
    """Raise SubmissionError unless ``path`` is a TorchScript archive (checked without unpickling)."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    head = path.read_bytes()[:2]
    if not zipfile.is_zipfile(path):
        kind = "a Python pickle" if head[:1] == b"\x80" else "not a zip archive"
        raise SubmissionError(
            f"{path}: refused, it is {kind}, not a TorchScript archive. The scorer never unpickles "
            "submissions; export your model with torch.jit.save(torch.jit.script(model), 'submission.pt')."
        )
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    has_code = any("/code/" in name for name in names)
    has_constants = any(name.endswith("/constants.pkl") for name in names)
    if not (has_code and has_constants):
        raise SubmissionError(
            f"{path}: refused, it is a zip without TorchScript code (a torch.save checkpoint?). "
            "Submit a TorchScript archive: torch.jit.save(torch.jit.script(model), 'submission.pt')."
        )


def load_metadata(path: Path) -> dict:
    """Read and validate ``metadata.yaml``; errors name the file and the offending key.

    The file is untrusted (:mod:`gnnbench.untrusted`): at most ``METADATA_MAX_BYTES``, a regular
    file, YAML without anchors or aliases; the errors quote at most a short line of it.
    """
    path = Path(path)
    if not path.is_file() and not path.is_symlink():
        raise SubmissionError(f"{path}: missing; every submission needs a metadata.yaml beside submission.pt")
    try:
        metadata = load_yaml(read_capped(path, METADATA_MAX_BYTES))
    except UntrustedInputError as err:
        raise SubmissionError(f"{path}: {err}" if not str(err).startswith(str(path)) else str(err)) from None
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(metadata), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(f"{short('/'.join(map(str, e.path)) or '(top level)', 60)}: {schema_message(e)}" for e in errors[:3])
        more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
        raise SubmissionError(f"{path}: does not follow the metadata schema: {short(details, 400)}{more}")
    if metadata["rollout_stride_fs"] not in metadata["strides_fs"]:
        raise SubmissionError(f"{path}: rollout_stride_fs {metadata['rollout_stride_fs']} is not one of strides_fs")
    return metadata


OWN_USE_AUTHOR = "unknown (scored without metadata.yaml)"


def own_use_metadata(path: Path, module: torch.jit.ScriptModule, dt_fs: list[int], dataset: str, revision: str, config: str) -> dict:
    """Metadata for scoring a bare ``model.pt`` for oneself, when no ``metadata.yaml`` lies beside it.

    Schema-valid defaults, every one stated in the report: the name from the file name, every
    Δt of the dataset config as a stride, rollouts at 10 fs (the leaderboard's headline stride;
    else the nearest Δt), ``uses_descriptors: true`` (descriptors are recomputed by LAMMPS every
    rollout stride: correct for any model, only slower), ``predicts_velocities: false`` until the
    scorer has called the model once and seen its outputs, and the parameter count read from the
    module. Such scores are for the user; ``gnnbench validate`` turns them away as an entry.
    """
    stem = re.sub(r"[^a-z0-9._-]+", "-", Path(path).stem.lower()).strip("-._")[:64] or "model"
    return {
        "name": stem if stem[0].isalnum() else f"m{stem}"[:64],
        "version": "0",
        "description": f"{Path(path).name}, scored without metadata.yaml (defaults)",
        "authors": [OWN_USE_AUTHOR],
        "license": "unknown",
        "code_url": "https://unknown.invalid/",
        "training_data": {"dataset": dataset, "revision": revision, "config": config, "splits": ["train"]},
        "strides_fs": list(dt_fs),
        "rollout_stride_fs": min(dt_fs, key=lambda dt: abs(dt - 10)),
        "predicts_velocities": False,
        "uses_descriptors": True,
        "parameter_count": sum(int(p.numel()) for p in module.parameters()),
        "hardware": "unknown",
        "submission_sha256": sha256_of(path),
    }


@dataclass
class Submission:
    """A loaded, validated submission. Call :meth:`predict` with one batch of inputs."""

    path: Path
    metadata: dict
    module: torch.jit.ScriptModule
    device: torch.device
    metadata_defaults: bool = False  # True: no metadata.yaml, scored with own_use_metadata()

    @property
    def name(self) -> str:
        return self.metadata["name"]

    def predict(self, inputs: dict[str, torch.Tensor], context: str, allow_nonfinite: bool = False) -> dict[str, torch.Tensor]:
        """Run the model on ``inputs`` (see SUBMISSION.md) and return checked float64 outputs.

        ``allow_nonfinite`` leaves NaN/inf to the caller (rollouts count them as failures per graph).
        """
        moved = {k: v.to(self.device) for k, v in inputs.items()}
        n_atoms, n_graphs = inputs["positions"].shape[0], inputs["cell"].shape[0]
        try:
            with torch.no_grad():
                out = self.module(
                    moved["positions"], moved["velocities"], moved["species"], moved["batch"], moved["cell"],
                    moved["descriptors"], moved["dt_fs"], moved["temperature_K"],
                )
        except Exception as err:  # the model itself raised: report, do not crash the scorer
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SubmissionOutputError(f"the submission raised {type(err).__name__}: {first_line}", context) from None
        if not isinstance(out, dict) or "positions" not in out:
            raise SubmissionOutputError("the submission must return a Dict[str, Tensor] with key 'positions'", context)
        expected = {"positions": (n_atoms, 3), "velocities": (n_atoms, 3), "cell": (n_graphs, 3, 3)}
        checked = {}
        for key, value in out.items():
            if key not in expected:
                continue
            if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                raise SubmissionOutputError(f"output {key!r} must be a floating-point tensor", context)
            if tuple(value.shape) != expected[key]:
                raise SubmissionOutputError(f"output {key!r} has shape {tuple(value.shape)}, expected {expected[key]}", context)
            if not allow_nonfinite and not torch.isfinite(value).all():
                bad = int((~torch.isfinite(value)).any(dim=-1).sum()) if value.dim() > 1 else 1
                raise SubmissionOutputError(f"output {key!r} is not finite (NaN or inf) for {bad} atoms", context)
            checked[key] = value.detach().to("cpu", torch.float64)
        if self.metadata["predicts_velocities"] and "velocities" not in checked:
            raise SubmissionOutputError("metadata says predicts_velocities: true but no 'velocities' output", context)
        return checked


def load_submission(path: Path, device: str = "cpu", metadata_path: Path | None = None,
                    own_use: dict | None = None) -> Submission:
    """Check and load ``submission.pt`` (TorchScript) and its ``metadata.yaml``.

    ``own_use`` (dt_fs, dataset, revision, config of the data to score on) allows a file with no
    ``metadata.yaml`` beside it: its metadata are then :func:`own_use_metadata`'s defaults.
    """
    path = Path(path)
    check_torchscript_archive(path)
    metadata_path = Path(metadata_path or path.with_name("metadata.yaml"))
    bare = own_use is not None and not metadata_path.exists()
    metadata = None if bare else load_metadata(metadata_path)
    actual = sha256_of(path)
    if metadata and metadata["submission_sha256"] != actual:
        raise SubmissionError(f"{path}: sha256 {actual} differs from metadata submission_sha256 {metadata['submission_sha256']}")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device)
    except Exception as err:
        raise SubmissionError(f"{path}: torch.jit.load failed: {str(err).strip().splitlines()[0]}") from None
    module.eval()
    if bare:
        metadata = own_use_metadata(path, module, **own_use)
    return Submission(path, metadata, module, torch.device(device), metadata_defaults=bare)
