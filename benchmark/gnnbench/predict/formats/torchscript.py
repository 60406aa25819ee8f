"""TorchScript: ``torch.jit.save(torch.jit.script(model), "submission.pt")``, gnnbench's own contract.

The model's ``forward`` takes the 8 tensors of SUBMISSION.md and returns a dict of ``positions``
(and ``velocities``, ``cell``). It can be called at any Δt.

Loading runs no Python pickle: ``data.pkl`` and ``constants.pkl`` are read by TorchScript's own
unpickler, which builds TorchScript types only, and ``code/`` is compiled by TorchScript. The code
can still call any registered op (``aten::from_file`` reads files): it is loaded in the sandbox only.
"""

from __future__ import annotations

import pickletools
import warnings
import zipfile
from pathlib import Path

NAME = "torchscript"
# A zip bomb is refused before anything unpacks it: TorchScript code and pickles are compressed
# members of a few KiB to MiB; tensor data is stored uncompressed (check).
MAX_COMPRESSED_MEMBER_BYTES = 64 * 2**20
MAX_ARCHIVE_BYTES = 4 * 2**30


def matches(members: frozenset[str]) -> bool:
    """TorchScript code and constants (``constants.pkl`` is what torch itself tests for)."""
    return "constants.pkl" in members and any(m.startswith("code/") for m in members)


def check(path: Path, members: frozenset[str], max_total_bytes: int = MAX_ARCHIVE_BYTES) -> None:
    """Refuse a zip bomb from the archive's declared sizes, before any member is unpacked.

    ``torch.jit.save`` stores tensor data uncompressed and deflates only code and pickles, which
    are small; a compressed member that unpacks to more than ``MAX_COMPRESSED_MEMBER_BYTES``, or
    an archive that unpacks to more than ``max_total_bytes``, is refused. A member whose real size
    exceeds its declared one fails inside torch's reader; the worker's memory limit contains the rest.
    """
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    total = sum(m.file_size for m in infos)
    for member in infos:
        if member.compress_type != zipfile.ZIP_STORED and member.file_size > MAX_COMPRESSED_MEMBER_BYTES:
            raise ValueError(f"refused, its compressed member {member.filename!r} unpacks to {member.file_size / 2**20:.0f} MiB "
                             f"(from {member.compress_size / 2**20:.1f} MiB; at most {MAX_COMPRESSED_MEMBER_BYTES // 2**20} MiB): "
                             "code and pickles are small, so this is a zip bomb or not a torch.jit.save archive")
    if total > max_total_bytes:
        raise ValueError(f"refused, it unpacks to {total / 2**30:.1f} GiB, more than the {max_total_bytes / 2**30:.1f} GiB allowed")


def count_parameters(path: Path) -> int:
    """Every tensor element the archive stores (:func:`stored_tensor_elements`)."""
    return stored_tensor_elements(path)


def load(path: str, device):
    """(the loaded module, info); in the sandboxed worker only."""
    import torch

    with warnings.catch_warnings():  # TorchScript is deprecated upstream (SUBMISSION.md)
        warnings.filterwarnings("ignore", message=".*torch.jit.*", category=DeprecationWarning)
        module = torch.jit.load(path, map_location=device)
    module.eval()
    return module, {"strides_fs": None, "masses_u": None}


# Bytes per element of the storage types torch.jit.save writes (``torch FloatStorage`` ...); an unknown one counts per byte.
STORAGE_ITEMSIZE = {"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8, "IntStorage": 4,
                    "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "ComplexDoubleStorage": 16,
                    "ComplexFloatStorage": 8, "QInt8Storage": 1, "QUInt8Storage": 1, "QInt32Storage": 4}
MAX_PICKLE_BYTES = 64 * 2**20  # data.pkl and constants.pkl describe the tensors, they do not hold them: a few KiB to MiB


def stored_tensor_elements(path) -> int:
    """Elements of every tensor a TorchScript archive stores: the model's parameter count, buffers included.

    ``parameters()`` and ``buffers()`` (and ``state_dict()``) of a ScriptModule list only what was
    registered as a parameter or a buffer. A plain tensor attribute (``self.table = torch.zeros(n)``
    in ``__init__``), a tensor in a ``List[Tensor]``, ``Dict[str, Tensor]`` or tuple attribute,
    one held by a TorchScript class object, and a tensor constant of the code (``torch.jit.trace``
    folds captured tensors into the graph) are in none of them, so a model could keep data there
    and report 0 parameters. Walking the loaded module's attributes does not reach all of them
    either (a TorchScript class attribute cannot even be read in a process that lacks its Python
    class, as the worker does). What ``torch.jit.load`` reads, though, is every storage that
    ``data.pkl`` (the module's state) and ``constants.pkl`` (the code's constants) name: this
    counts those, each once, as the size of its record in the archive divided by the size of an
    element of its type (the record's size, not the element count the pickle states: the
    archive's author writes both).

    The pickles are only decoded (``pickletools.genops``, which executes nothing): the persistent
    id of a storage is ``('storage', <type>, key, device, numel)``. Data kept as numbers in code
    or in ``List[float]`` or string attributes is not counted: that is not what a parameter count
    measures. Raises ValueError for an archive whose pickles cannot be decoded.
    """
    total = 0
    with zipfile.ZipFile(path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        for name, info in infos.items():
            folder, _, base = name.rpartition("/")
            if base not in ("data.pkl", "constants.pkl") or "/" in folder:
                continue
            if info.file_size > MAX_PICKLE_BYTES:
                raise ValueError(f"{name} is {info.file_size / 2**20:.0f} MiB (at most {MAX_PICKLE_BYTES // 2**20} MiB)")
            records = f"{folder}/{'data' if base == 'data.pkl' else 'constants'}/"
            storages = {}
            for key, kind in _storages_named(archive.read(info)):
                record = infos.get(records + key)
                if record is not None:
                    storages[key] = record.file_size // STORAGE_ITEMSIZE.get(kind.rpartition(" ")[2], 1)
            total += sum(storages.values())
    return total


def _storages_named(data: bytes):
    """(key, type) of every storage a TorchScript pickle names, from its opcodes alone (nothing is run)."""
    memo, frame, last = {}, [], None
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name == "MARK":
                frame, last = [], None
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = last
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name == "TUPLE":
                last = None  # frame stays: the tuple just built, the persistent id's when BINPERSID follows
            elif name == "BINPERSID":
                if len(frame) >= 5 and frame[-5] == "storage" and isinstance(frame[-3], str) and isinstance(frame[-4], str):
                    yield frame[-3], frame[-4]
                frame, last = [], None
            else:
                last = memo.get(arg) if name in ("BINGET", "LONG_BINGET", "GET") else arg if isinstance(arg, (str, int)) else None
                frame.append(last)
    except (ValueError, KeyError, IndexError) as err:
        raise ValueError(f"a pickle of the archive cannot be decoded ({err})") from None
