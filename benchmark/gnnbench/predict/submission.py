"""Load a submission without running its author's Python, and call it through one checked door.

A submission is a model file (``submission.pt`` or ``submission.pt2``) in one of the formats of
:mod:`gnnbench.predict.formats` (TorchScript, torch.export, metatomic), with ``metadata.yaml`` beside
it. The scorer:

* reads the format from the file's content and runs that format's static checks (zip member
  names and small JSON members only) before anything loads it: a Python pickle or a
  ``torch.save`` checkpoint is refused before anything reads it. The file is then loaded only in
  the sandboxed worker (:mod:`gnnbench.predict.sandbox`), or in this process with
  ``--trust-submission`` (:func:`load_submission`), never by Python's unpickler here;
* validates ``metadata.yaml`` against ``metadata.schema.yaml`` (unknown keys rejected) and
  checks its ``submission_sha256`` against the file. A bare ``model.pt`` with no
  ``metadata.yaml`` beside it can be scored for oneself with stated defaults
  (:func:`own_use_metadata`); a leaderboard entry always needs the full, validated file;
* checks the file's size before reading any of it (:data:`MAX_FILE_BYTES`), and reads it in
  chunks (copy, sha256): a huge or sparse file costs neither memory nor much time;
* checks the metadata's ``parameter_count`` against the tensors the archive stores
  (``count_parameters`` of its format, e.g. :func:`~gnnbench.predict.formats.torchscript.stored_tensor_elements`: parameters and buffers, tensor
  attributes and constants included), so that a model cannot hide data outside its parameters;
* checks every output (type, shape, dtype, finite, physically possible: :func:`check_outputs`)
  and reports a failing call with the input that caused it, and the real cause of a TorchScript
  error (:func:`describe_error`).

Scoring does not call :func:`load_submission`'s in-process model: ``gnnbench score`` loads the
archive in a sandboxed worker process (:mod:`gnnbench.predict.sandbox`), since TorchScript
itself can read and write files (``torch.save``, ``torch.from_file``). The in-process
:class:`Submission` is for one's own models (tests, export checks) and ``--trust-submission``.
Both answer :meth:`Submission.predict` the same way, with the same output checks
(:func:`check_outputs`), and record each call's time in ``call_log`` (the cost is measured on
the scoring calls themselves, :mod:`gnnbench.score.cost`).

The call contract is in SUBMISSION.md beside this file.
"""

from __future__ import annotations

import hashlib
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import torch
import yaml

from ..untrusted import METADATA_MAX_BYTES, UntrustedInputError, load_yaml, read_capped, schema_message, short
from . import formats
from .worker import describe_error, describe_outputs, timed_call

SCHEMA_PATH = Path(__file__).with_name("metadata.schema.yaml")
# The file itself, checked by its size on disk before any byte of it is read (check_file_size). A learned
# integrator for MD has 1e5 to 1e7 parameters (the reference GNN 2.1e6, GNS 1.8e5: 8 MB and 0.7 MB in float32);
# 1 GiB holds 2.7e8 float32 parameters, more than the largest published interatomic-potential models, and is what
# the worker's 8 GiB address space can load beside torch and a batch's activations. A sparse 1 GiB file used to be
# read whole into memory before any check.
MAX_FILE_BYTES = 2**30
CHUNK_BYTES = 2**20
# A call's outputs beyond these are no physics the scorer can measure (check_outputs). Aluminium's thermal speed
# sqrt(3kT/m) is 8.6 Å/ps at 800 K and 12.5 Å/ps at 1700 K, where a rollout at the hottest set-point counts as failed
# (2 × set-point + 100 K); all the kinetic energy of N atoms at 1700 K in one atom would give it sqrt(N) × 12.5 Å/ps:
# 200 Å/ps for 256 atoms, 790 Å/ps for the full config's 4000. So no output a rollout would carry on from reaches
# 1e4 Å/ps, and squared sums of values below these stay far from float64 overflow (1e300 overflowed the metrics).
MAX_SPEED_A_PER_PS = 1e4
PS_PER_FS = 1e-3


class SubmissionError(ValueError):
    """The submission file or its metadata is unacceptable."""


class SubmissionOutputError(RuntimeError):
    """A call to the submission failed or returned something invalid; ``context`` says on what input."""

    def __init__(self, message: str, context: str):
        super().__init__(f"{message} [input: {context}]")
        self.context = context


def sha256_of(path: Path) -> str:
    """sha256 of a file, read in chunks (a submission file is never read whole into memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file_size(path: Path, max_bytes: int = MAX_FILE_BYTES) -> int:
    """Refuse a submission file over ``max_bytes`` from its size on disk, before any of it is read; its size.

    A sparse file reports its full length: a 1 GiB hole is refused as 1 GiB, in microseconds.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SubmissionError(f"{path}: cannot be read ({err.strerror or err})") from None
    if size > max_bytes:
        raise SubmissionError(f"{path}: refused, it is {_size(size)}, more than the {_size(max_bytes)} a submission file may have "
                              "(gnnbench.predict.submission.MAX_FILE_BYTES); nothing of it was read")
    return size


def copy_capped(source: Path, target: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Copy ``source`` in chunks, refusing it (and removing the copy) once more than ``max_bytes`` came: a file that
    grows after its size was checked is refused too."""
    check_file_size(source, max_bytes)
    copied = 0
    with open(source, "rb") as reader, open(target, "wb") as writer:
        for chunk in iter(lambda: reader.read(CHUNK_BYTES), b""):
            copied += len(chunk)
            if copied > max_bytes:
                break
            writer.write(chunk)
    if copied > max_bytes:
        Path(target).unlink(missing_ok=True)
        raise SubmissionError(f"{source}: refused, it grew past the {_size(max_bytes)} a submission file may have while it was copied")


def _size(n: int) -> str:
    return f"{n:,} bytes ({n / 2**30:.2f} GiB)"


def check_model_file(path: Path):
    """The format module of the model file ``path`` (:mod:`gnnbench.predict.formats`), after its size and its
    format's static checks (nothing unpickled or run); SubmissionError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    check_file_size(path)
    try:
        model_format = formats.detect(path)
        model_format.check(path, formats.archive_members(path))
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as err:
        raise SubmissionError(f"{path}: {err}") from None
    return model_format


def counted_parameters(path: Path) -> int:
    """The model's parameter count as the scorer counts it: every tensor element the file stores."""
    model_format = check_model_file(path)
    try:
        return model_format.count_parameters(path)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as err:
        raise SubmissionError(f"{path}: refused, its tensors cannot be counted ({err})") from None


def load_metadata(path: Path) -> dict:
    """Read and validate ``metadata.yaml``; errors name the file and the offending key.

    The file is untrusted (:mod:`gnnbench.untrusted`): at most ``METADATA_MAX_BYTES``, a regular
    file, YAML without anchors or aliases; the errors quote at most a short line of it.
    """
    path = Path(path)
    if not path.is_file() and not path.is_symlink():
        raise SubmissionError(f"{path}: missing; every submission needs a metadata.yaml beside its model file")
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


def own_use_metadata(path: Path, parameter_count: int, dt_fs: list[int], dataset: str, revision: str, config: str) -> dict:
    """Metadata for scoring a bare ``model.pt`` for oneself, when no ``metadata.yaml`` lies beside it.

    Schema-valid defaults, every one stated in the report: the name from the file name, every
    Δt of the dataset config as a stride, rollouts at 10 fs (the leaderboard's headline stride;
    else the nearest Δt), ``uses_descriptors: true`` (descriptors are recomputed by LAMMPS every
    rollout stride: correct for any model, only slower), ``predicts_velocities: false`` until the
    scorer has called the model once and seen its outputs, and the parameter count read from the
    archive (:func:`counted_parameters`). Such scores are for the user; ``gnnbench validate`` turns them away as an entry.
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
        "parameter_count": int(parameter_count),
        "hardware": "unknown",
        "submission_sha256": sha256_of(path),
    }


@dataclass(frozen=True)
class CallRecord:
    """One successful call: what the scorer was doing (``phase``), its shape, and its time.

    ``seconds`` is the model's own time (moving the inputs to the device and the call, measured
    where the model runs: inside the sandboxed worker); ``round_trip_seconds`` is what the
    scorer waited, process boundary included (equal to ``seconds`` for an in-process model).
    ``cpu_seconds / seconds`` is how many CPUs the call kept busy: at most the threads the scorer
    states for a sandboxed worker, which is pinned to that many CPUs; ``cpu_seconds_between`` is
    work that went on in the worker between calls (a ``torch.jit.fork`` never waited for).
    """

    phase: str
    n_graphs: int
    n_atoms: int  # per graph
    seconds: float
    round_trip_seconds: float
    cpu_seconds: float | None = None          # CPU time of the call (every thread of the process that ran it)
    cpu_seconds_between: float | None = None  # CPU time the sandboxed worker used since its previous answer, outside calls


def expected_shapes(inputs: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    n_atoms, n_graphs = inputs["positions"].shape[0], inputs["cell"].shape[0]
    return {"positions": (n_atoms, 3), "velocities": (n_atoms, 3), "cell": (n_graphs, 3, 3)}


def check_outputs(is_dict: bool, infos: dict[str, dict], tensors: dict[str, torch.Tensor], expected: dict[str, tuple[int, ...]],
                  predicts_velocities: bool, context: str, allow_nonfinite: bool = False,
                  inputs: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The scorer's checks on what a model returned (:func:`~gnnbench.predict.worker.describe_outputs`).

    Every output must be a floating-point tensor of the expected shape and, unless
    ``allow_nonfinite``, finite; ``positions`` is required, and ``velocities`` too when the metadata
    says ``predicts_velocities``. Given the call's ``inputs``, finite outputs must also be
    physically possible (:func:`check_physical`): no atom faster than ``MAX_SPEED_A_PER_PS``, none
    moved further in one call than that speed allows over its Δt plus the cell's three edges (a
    model may wrap positions into the cell). A failing output is a SubmissionOutputError naming
    the largest value; a rollout counts such a call as failed (its rollouts stop with the error).
    Returns the outputs as float64 CPU tensors.
    """
    if not is_dict or "positions" not in infos:
        raise SubmissionOutputError("the submission must return a Dict[str, Tensor] with key 'positions'", context)
    checked = {}
    for key, info in infos.items():
        if not info.get("tensor") or not info.get("floating"):
            raise SubmissionOutputError(f"output {key!r} must be a floating-point tensor", context)
        if tuple(info["shape"]) != tuple(expected[key]) or key not in tensors:
            raise SubmissionOutputError(f"output {key!r} has shape {tuple(info['shape'])}, expected {expected[key]}", context)
        value = tensors[key]
        if not allow_nonfinite and not torch.isfinite(value).all():
            bad = int((~torch.isfinite(value)).any(dim=-1).sum()) if value.dim() > 1 else 1
            raise SubmissionOutputError(f"output {key!r} is not finite (NaN or inf) for {bad} atoms", context)
        checked[key] = value
    if predicts_velocities and "velocities" not in checked:
        raise SubmissionOutputError("metadata says predicts_velocities: true but no 'velocities' output", context)
    if inputs is not None:
        check_physical(checked, inputs, context)
    return checked


def check_physical(outputs: dict[str, torch.Tensor], inputs: dict[str, torch.Tensor], context: str) -> None:
    """Refuse finite outputs beyond the physical bounds of :func:`check_outputs` (NaN and inf are left to its other checks)."""
    batch, cell, dt_fs = inputs["batch"].long(), inputs["cell"].double(), inputs["dt_fs"].double()
    if "velocities" in outputs:
        velocities = outputs["velocities"].double().reshape(-1, 3)
        speed = _norms(velocities, torch.isfinite(velocities).all(-1))
        worst = int(torch.argmax(speed)) if speed.numel() else 0
        if speed.numel() and float(speed[worst]) > MAX_SPEED_A_PER_PS:
            raise SubmissionOutputError(f"output 'velocities' is not physical: atom {worst} (graph {int(batch[worst])}) has a speed of "
                                        f"{float(speed[worst]):.3g} Å/ps, more than {MAX_SPEED_A_PER_PS:.0e} Å/ps", context)
    positions = outputs["positions"].double().reshape(-1, 3)
    moved = _norms(positions - inputs["positions"].double().reshape(-1, 3), torch.isfinite(positions).all(-1))
    if moved.numel():
        edges = torch.linalg.vector_norm(cell, dim=-1).sum(-1)  # |a| + |b| + |c| per graph
        limit = (MAX_SPEED_A_PER_PS * dt_fs * PS_PER_FS + edges)[batch]
        worst = int(torch.argmax(moved / limit))
        if float(moved[worst]) > float(limit[worst]):
            g = int(batch[worst])
            raise SubmissionOutputError(f"output 'positions' is not physical: atom {worst} (graph {g}) moved {float(moved[worst]):.3g} Å in one "
                                        f"call, more than the {float(limit[worst]):.3g} Å possible at Δt {float(dt_fs[g]):g} fs "
                                        f"({MAX_SPEED_A_PER_PS:.0e} Å/ps × Δt plus the cell's edges)", context)


def _norms(values: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """|row| of the rows selected by ``rows`` (overflow-free: scaled by the row's largest entry; inf past float64), 0 for the others."""
    safe = torch.where(rows[:, None], values, torch.zeros_like(values))
    scale = safe.abs().amax(-1).clamp_min(1e-300)
    norms = torch.linalg.vector_norm(torch.nan_to_num(safe / scale[:, None], nan=1.0, posinf=1.0, neginf=1.0), dim=-1) * scale
    return torch.where(rows, norms, torch.zeros_like(norms))


@dataclass
class Submission:
    """A loaded, validated submission, called in this process. Call :meth:`predict` with one batch of inputs.

    Only for models one trusts (``--trust-submission``, tests, export checks): TorchScript can
    read and write files. ``gnnbench score`` uses :class:`~gnnbench.predict.sandbox.SandboxedSubmission`.
    """

    path: Path
    metadata: dict
    module: Callable  # answers the 8-tensor call (SUBMISSION.md), whatever the file's format
    device: torch.device
    model_format: str = formats.DEFAULT_FORMAT
    model_info: dict = field(default_factory=lambda: {"strides_fs": None, "masses_u": None})
    metadata_defaults: bool = False  # True: no metadata.yaml, scored with own_use_metadata()
    call_log: list[CallRecord] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.metadata["name"]

    def sandbox_info(self) -> dict:
        return {"sandboxed": False, "note": "--trust-submission: the submission ran inside the scorer's own process, "
                "with this user's rights (no sandbox, no limits)"}

    def predict(self, inputs: dict[str, torch.Tensor], context: str, allow_nonfinite: bool = False,
                phase: str = "other") -> dict[str, torch.Tensor]:
        """Run the model on ``inputs`` (see SUBMISSION.md) and return checked float64 outputs.

        ``allow_nonfinite`` leaves NaN/inf to the caller (rollouts count them as failures per graph);
        ``phase`` labels the call in ``call_log`` ("stride", "rollout", ...).
        """
        expected = expected_shapes(inputs)
        started = time.perf_counter()
        try:
            out, seconds, cpu_seconds = timed_call(self.module, inputs, self.device)
        except Exception as err:  # the model itself raised: report, do not crash the scorer
            raise SubmissionOutputError(f"the submission raised {describe_error(err)}", context) from None
        is_dict, infos, tensors = describe_outputs(out, expected)
        round_trip = time.perf_counter() - started
        checked = check_outputs(is_dict, infos, tensors, expected, self.metadata["predicts_velocities"], context, allow_nonfinite, inputs)
        self.call_log.append(CallRecord(phase, expected["cell"][0], expected["positions"][0] // max(1, expected["cell"][0]),
                                        seconds, round_trip, cpu_seconds))
        return checked

    def close(self) -> None:
        pass


def checked_metadata(path: Path, metadata_path: Path | None = None, own_use: dict | None = None) -> tuple[dict | None, bool]:
    """The archive check, ``metadata.yaml`` (validated), its sha256 and parameter count checks; (metadata, bare).

    ``bare``: no ``metadata.yaml`` and ``own_use`` given, so the metadata are to be
    :func:`own_use_metadata`'s defaults, with the counted parameters (metadata is then None).
    """
    path = Path(path)
    check_model_file(path)
    metadata_path = Path(metadata_path or path.with_name("metadata.yaml"))
    bare = own_use is not None and not metadata_path.exists()
    metadata = None if bare else load_metadata(metadata_path)
    actual = sha256_of(path)
    if metadata and metadata["submission_sha256"] != actual:
        raise SubmissionError(f"{path}: sha256 {actual} differs from metadata submission_sha256 {metadata['submission_sha256']}")
    if metadata:
        check_parameter_count(path, metadata)
    return metadata, bare


def check_parameter_count(path: Path, metadata: dict) -> int:
    """Refuse metadata whose ``parameter_count`` is not the model's: every tensor element its archive stores."""
    counted = counted_parameters(path)
    if metadata["parameter_count"] != counted:
        raise SubmissionError(f"{path}: metadata parameter_count {metadata['parameter_count']:,} differs from the model's {counted:,} "
                              "(every tensor element the archive stores: parameters, buffers, tensor attributes and constants; "
                              "gnnbench.predict.export.write_submission counts them)")
    return counted


def load_submission(path: Path, device: str = "cpu", metadata_path: Path | None = None,
                    own_use: dict | None = None) -> Submission:
    """Check and load a model file (any format of :mod:`gnnbench.predict.formats`) and its ``metadata.yaml`` into this process.

    ``own_use`` (dt_fs, dataset, revision, config of the data to score on) allows a file with no
    ``metadata.yaml`` beside it: its metadata are then :func:`own_use_metadata`'s defaults.
    """
    path = Path(path)
    metadata, bare = checked_metadata(path, metadata_path, own_use)
    model_format = check_model_file(path)
    try:
        module, info = model_format.load(str(path), torch.device(device))
    except Exception as err:
        raise SubmissionError(f"{path}: loading it as {model_format.NAME} failed: {describe_error(err)}") from None
    if bare:
        metadata = own_use_metadata(path, counted_parameters(path), **own_use)
    return Submission(path, metadata, module, torch.device(device), model_format.NAME, info, metadata_defaults=bare)
