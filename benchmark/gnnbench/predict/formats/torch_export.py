"""torch.export: an ExportedProgram saved with ``torch.export.save`` (a ``.pt2`` archive).

PyTorch's successor to TorchScript. The program has the contract's signature (the 8 tensors of
SUBMISSION.md in order, returning the dict) with dynamic atom and system counts; SUBMISSION.md
shows the ``dynamic_shapes`` to export with. It can be called at any Δt.

``torch.export.load`` is not inert: a weight or constant marked ``use_pickle``, an ``opaque_obj``
or ``custom_obj`` constant, the sample inputs (read with a ``weights_only=False`` fallback) and a
packaged AOTInductor library can all run code when the file is loaded, and a graph node may name
any callable reachable from ``torch``. So the file is loaded in the sandbox only, like every
format, and :func:`check` refuses what gnnbench's models never need before that: the legacy
(torch ≤ 2.7) export zip, pickled weights or constants, opaque and custom objects, compiled
libraries, and any graph node that calls something other than an ATen or prims operator, a
``getitem`` or a higher-order operator of ``torch.ops.higher_order``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

NAME = "torch-export"
MAX_JSON_BYTES = 64 * 2**20  # the graph and the weights' configs: text, kilobytes to megabytes
ALLOWED_TARGET_PREFIXES = ("torch.ops.aten.", "torch.ops.prims.", "_operator.", "torch.ops.higher_order.")  # _operator: symbolic-shape arithmetic
REFUSED_FOLDERS = ("data/aotinductor/", "data/executorch/")
# bytes per element by torch.export's ScalarType number (torch/_export/serde/schema.py); an unknown one counts per byte
ITEMSIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 2, 7: 4, 8: 8, 9: 4, 10: 8, 11: 16, 12: 1, 13: 2, 28: 2, 29: 1, 30: 1, 31: 1, 32: 1,
            33: 1, 34: 4, 35: 8}


def matches(members: frozenset[str]) -> bool:
    """A PT2 archive: its ``archive_format`` member (whose content :func:`check` reads)."""
    return "archive_format" in members


def _read_json(archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    if info.file_size > MAX_JSON_BYTES:
        raise ValueError(f"refused, its member {info.filename!r} is {info.file_size / 2**20:.0f} MiB of JSON")
    try:
        return json.loads(archive.read(info))
    except ValueError as err:
        raise ValueError(f"refused, its member {info.filename!r} is not JSON ({err})") from None


def _targets(node):
    """Every string under a "target" key of the graph JSON, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "target" and isinstance(value, str):
                yield value
            else:
                yield from _targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from _targets(value)


def _pickled(node) -> bool:
    if isinstance(node, dict):
        return node.get("use_pickle") is True or any(_pickled(v) for v in node.values())
    if isinstance(node, list):
        return any(_pickled(v) for v in node)
    return False


def check(path: Path, members: frozenset[str]) -> None:
    with zipfile.ZipFile(path) as archive:
        infos = {info.filename.split("/", 1)[-1]: info for info in archive.infolist()}
        kind = archive.read(infos["archive_format"])[:16]
        if kind != b"pt2":
            raise ValueError(f"refused, its archive_format says {kind!r}, not b'pt2'")
        for name in infos:
            if name.startswith(REFUSED_FOLDERS):
                raise ValueError(f"refused, it packages compiled code ({name}): export the program alone, with torch.export.save")
            if "/opaque_obj_" in name or "/custom_obj_" in name:
                raise ValueError(f"refused, it holds a pickled or custom object ({name}): gnnbench models hold tensors only")
        graphs = [n for n in infos if n.startswith("models/") and n.endswith(".json")]
        if not graphs:
            raise ValueError("refused, it holds no models/<name>.json graph")
        for name in infos:
            if name.endswith(".json") and (name.startswith("data/weights/") or name.startswith("data/constants/")):
                if _pickled(_read_json(archive, infos[name])):
                    raise ValueError(f"refused, {name} stores a tensor as a pickle (use_pickle): loading it would run Python")
        for name in graphs:
            foreign = sorted({t for t in _targets(_read_json(archive, infos[name])) if not t.startswith(ALLOWED_TARGET_PREFIXES)})
            if foreign:
                raise ValueError(f"refused, its graph calls {', '.join(foreign[:5])}: only ATen, prims, Python operator and "
                                 "torch.ops.higher_order operators are allowed")


def count_parameters(path: Path) -> int:
    """Every tensor element stored as a weight or constant: each file's size over its element size."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        infos = {info.filename.split("/", 1)[-1]: info for info in archive.infolist()}
        for name, info in infos.items():
            if not (name.endswith("_config.json") and (name.startswith("data/weights/") or name.startswith("data/constants/"))):
                continue
            folder = name.rsplit("/", 1)[0]
            config = _read_json(archive, info)
            for entry in _tensor_entries(config):
                record = infos.get(f"{folder}/{entry['path_name']}")
                if record is not None:
                    dtype = entry.get("tensor_meta", {}).get("dtype") if isinstance(entry.get("tensor_meta"), dict) else None
                    total += record.file_size // ITEMSIZE.get(dtype, 1)  # the stored bytes, not the sizes the author wrote
    return total


def _tensor_entries(config):
    """The entries of a weights/constants config that name a stored file (``path_name``)."""
    if isinstance(config, dict):
        if "path_name" in config:
            yield config
        else:
            for value in config.values():
                yield from _tensor_entries(value)
    elif isinstance(config, list):
        for value in config:
            yield from _tensor_entries(value)


def load(path: str, device):
    """(the program's module, info); in the sandboxed worker only."""
    import torch

    program = torch.export.load(path)
    module = program.module()
    if str(device) != "cpu":
        module = module.to(device)
    return module, {"strides_fs": None, "masses_u": None}
