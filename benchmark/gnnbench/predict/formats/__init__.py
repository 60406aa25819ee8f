"""Submission file formats: one module per format, each answering the same questions.

=============== ======================== ==============================================================
format          module                   what the file is
=============== ======================== ==============================================================
``torchscript`` :mod:`.torchscript`      ``torch.jit.save(torch.jit.script(model))`` of a module with
                                         gnnbench's 8-argument forward (SUBMISSION.md)
``metatomic``   :mod:`.metatomic`        a metatomic ``AtomisticModel`` (``mtt export``, FlashMD) with
                                         ``position`` and ``momentum`` outputs; scored at its own timestep
``torch-export`` :mod:`.torch_export`    ``torch.export.save`` of an ExportedProgram with the contract's
                                         signature (``.pt2``, PyTorch's successor to TorchScript)
=============== ======================== ==============================================================

The format is read from the file's content (its zip members, root folder stripped: every format
here is a zip written by torch's ``PyTorchStreamWriter``), never from its name, by
:func:`detect`. Each module defines:

* ``NAME``: how scores.json and the leaderboard state the format;
* ``matches(members)``: whether the member names are this format's;
* ``check(path, members)``: static checks, run in the scorer's process, that read member names and
  small JSON or text members only (nothing unpickled, nothing run); raises ``ValueError``;
* ``count_parameters(path)``: every tensor element the file stores, read without loading it;
* ``load(path, device)``: only ever called in the sandboxed worker. Returns ``(step, info)``:
  ``step(positions, velocities, species, batch, cell, descriptors, dt_fs, temperature_K)`` answers
  as SUBMISSION.md says, and ``info`` (JSON) has ``strides_fs``, the strides the model can take
  (``None``: any), and ``masses_u``, the masses it assumes by atomic number (``None``: none).

This package imports only the standard library (and torch, and a format's own libraries inside
``load``): the sandbox binds it read-only into the worker, which sees nothing else of gnnbench.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from . import metatomic, torch_export, torchscript

FORMATS = (metatomic, torch_export, torchscript)  # the more specific first: a metatomic model is also TorchScript
FORMAT_NAMES = tuple(f.NAME for f in FORMATS)
DEFAULT_FORMAT = torchscript.NAME  # what scores written before formats were recorded were
MODEL_FILE_NAMES = ("submission.pt", "submission.pt2")  # the model file of a submission folder, in any format


def archive_members(path: Path) -> frozenset[str]:
    """Member names of a zip without their root folder (``archive/code/x.py`` -> ``code/x.py``); raises ValueError."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as stream:
            head = stream.read(1)
        kind = "a Python pickle" if head == b"\x80" else "not a zip archive"
        raise ValueError(f"refused, it is {kind}; the scorer never unpickles a submission. Submit one of the formats "
                         f"{', '.join(FORMAT_NAMES)} (SUBMISSION.md)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    members = set()
    for name in names:
        if name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"refused, its zip member {name[:120]!r} is an absolute path or climbs out of the archive")
        members.add(name.split("/", 1)[1] if "/" in name else name)
    return frozenset(members)


def detect(path: Path):
    """The format module of the model file ``path``, from its content; raises ValueError naming what it is instead."""
    members = archive_members(Path(path))
    found = [f for f in FORMATS if f.matches(members)]
    if not found:
        if "data.pkl" in members and "constants.pkl" not in members:
            what = "a torch.save checkpoint (weights and pickled Python, no model code)"
        else:
            what = "a zip that is none of them"
        raise ValueError(f"refused, it is {what}. Submit a TorchScript archive "
                         "(torch.jit.save(torch.jit.script(model), 'submission.pt')), a metatomic model or a torch.export "
                         "program (SUBMISSION.md)")
    return found[0]


def model_file(folder: Path) -> Path:
    """The model file of a submission folder: the one of ``MODEL_FILE_NAMES`` it holds (``submission.pt`` if none)."""
    present = [folder / name for name in MODEL_FILE_NAMES if (folder / name).exists() or (folder / name).is_symlink()]
    if len(present) > 1:
        raise ValueError(f"{folder}: holds {' and '.join(p.name for p in present)}; a submission has one model file")
    return present[0] if present else folder / MODEL_FILE_NAMES[0]
