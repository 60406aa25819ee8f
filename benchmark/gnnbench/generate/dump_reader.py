"""A lazy, indexed reader of LAMMPS text dump files (``dump custom`` / ``write_dump``).

Opening a dump scans it once and records, for every frame, its timestep, atom count, box and
the byte range of its ``ITEM: ATOMS`` block (the index). Frames are parsed only when asked
for, so a multi-GB dump costs one sequential pass plus the frames actually used — the paper's
"lazy-loading indexer". Both the dataset build and ``gnnbench data convert`` read dumps
through this class, so a user's own dump is held to the same checks as ours:

* every frame has the expected headers and exactly ``NUMBER OF ATOMS`` complete lines;
* required columns are present (names as LAMMPS writes them: ``id``, ``xu``, ``vx``, ``c_csp``);
* positions are unwrapped: ``xu yu zu`` directly, or ``x y z`` (or scaled ``xs ys zs``) plus
  image flags ``ix iy iz``. Wrapped positions without image flags are refused, because a
  displacement across the periodic boundary cannot be recovered from them.

Errors are :class:`DumpFormatError` and name the file, the frame and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DumpFormatError(ValueError):
    """A dump file is malformed, truncated or lacks a needed column."""


@dataclass(frozen=True)
class FrameIndex:
    """Where one frame lives in the file. Offsets are byte positions of the atom lines."""

    timestep: int
    n_atoms: int
    box_header: str
    box_lines: tuple[str, str, str]
    columns: tuple[str, ...]
    start: int
    end: int


@dataclass
class DumpFrame:
    """One parsed frame. Arrays are sorted by atom id.

    ``cell`` rows are the lattice vectors a, b, c in Å; ``origin`` is the box corner (xlo, ylo,
    zlo) in Å; ``pbc`` the periodicity per axis. ``data`` maps column name -> array [N].
    """

    path: Path
    index: int
    timestep: int
    cell: np.ndarray
    origin: np.ndarray
    pbc: tuple[bool, bool, bool]
    data: dict[str, np.ndarray]

    def column(self, name: str) -> np.ndarray:
        if name not in self.data:
            raise DumpFormatError(
                f"{self.path}: frame {self.index} (timestep {self.timestep}) has no column "
                f"{name!r}; columns are: {' '.join(self.data)}"
            )
        return self.data[name]

    @property
    def ids(self) -> np.ndarray:
        return self.column("id").astype(np.int64)

    def unwrapped_positions(self) -> np.ndarray:
        """Unwrapped positions [N, 3] in Å (float64)."""
        if all(c in self.data for c in ("xu", "yu", "zu")):
            return np.stack([self.data[c] for c in ("xu", "yu", "zu")], axis=1)
        images = ("ix", "iy", "iz")
        has_images = all(c in self.data for c in images)
        if has_images and all(c in self.data for c in ("x", "y", "z")):
            wrapped = np.stack([self.data[c] for c in ("x", "y", "z")], axis=1)
            return wrapped + np.stack([self.data[c] for c in images], axis=1) @ self.cell
        if has_images and all(c in self.data for c in ("xs", "ys", "zs")):
            scaled = np.stack([self.data[c] for c in ("xs", "ys", "zs")], axis=1)
            shifts = np.stack([self.data[c] for c in images], axis=1)
            return self.origin + (scaled + shifts) @ self.cell
        raise DumpFormatError(
            f"{self.path}: frame {self.index} (timestep {self.timestep}) has no unwrapped "
            f"positions: need columns 'xu yu zu', or 'x y z' (or 'xs ys zs') with image flags "
            f"'ix iy iz'; columns are: {' '.join(self.data)}"
        )

    def velocities(self) -> np.ndarray:
        """Velocities [N, 3] in the dump's units (Å/ps for ``units metal``)."""
        return np.stack([self.column(c) for c in ("vx", "vy", "vz")], axis=1)


POSITION_CHOICES = (("xu", "yu", "zu"), ("x", "y", "z", "ix", "iy", "iz"), ("xs", "ys", "zs", "ix", "iy", "iz"))


class LammpsDumpReader:
    """Index a LAMMPS text dump and parse its frames on demand.

    ``required`` lists column names every frame must have; the pseudo-column ``"positions"``
    stands for any unwrapped position set (see module docstring).
    """

    def __init__(self, path: str | Path, required: tuple[str, ...] = ("id",)):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such dump file")
        self.frames = self._scan()
        if not self.frames:
            raise DumpFormatError(f"{self.path}: no frames (expected 'ITEM: TIMESTEP' on line 1)")
        for position, frame in enumerate(self.frames):
            self._check_columns(position, frame, required)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def timesteps(self) -> list[int]:
        return [f.timestep for f in self.frames]

    def __getitem__(self, i: int) -> DumpFrame:
        frame = self.frames[i]
        with open(self.path, "rb") as handle:
            handle.seek(frame.start)
            block = handle.read(frame.end - frame.start)
        values = np.array(block.split(), dtype=np.float64)
        width = len(frame.columns)
        if values.size != frame.n_atoms * width:
            raise DumpFormatError(
                f"{self.path}: frame {i} (timestep {frame.timestep}) has {values.size} values in "
                f"its ATOMS block, expected {frame.n_atoms} atoms x {width} columns: "
                f"the frame is truncated or a line is malformed"
            )
        table = values.reshape(frame.n_atoms, width)
        if "id" in frame.columns:
            table = table[np.argsort(table[:, frame.columns.index("id")], kind="stable")]
        cell, origin, pbc = _parse_box(frame.box_header, frame.box_lines, self.path, i)
        data = {name: table[:, k] for k, name in enumerate(frame.columns)}
        return DumpFrame(self.path, i, frame.timestep, cell, origin, pbc, data)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def index_of(self, timestep: int) -> int:
        """Position of the frame with this timestep."""
        if not hasattr(self, "_by_step"):
            self._by_step = {f.timestep: k for k, f in enumerate(self.frames)}
        if timestep not in self._by_step:
            raise KeyError(f"{self.path}: no frame at timestep {timestep}")
        return self._by_step[timestep]

    # -- indexing -------------------------------------------------------------------------
    def _scan(self) -> list[FrameIndex]:
        frames: list[FrameIndex] = []
        with open(self.path, "rb") as handle:
            line_no = 0

            def next_line(expect: str) -> str:
                nonlocal line_no
                raw = handle.readline()
                line_no += 1
                if not raw:
                    raise DumpFormatError(
                        f"{self.path}: frame {len(frames)} is truncated: file ends at line "
                        f"{line_no} where {expect} was expected"
                    )
                return raw.decode("ascii", errors="replace").rstrip("\n")

            while True:
                raw = handle.readline()
                line_no += 1
                if not raw:
                    break
                if not raw.strip():
                    continue
                header = raw.decode("ascii", errors="replace").strip()
                if header != "ITEM: TIMESTEP":
                    raise DumpFormatError(f"{self.path}: line {line_no}: expected 'ITEM: TIMESTEP', found {header[:60]!r}")
                timestep = _as_int(next_line("a timestep"), self.path, line_no)
                _expect(next_line("'ITEM: NUMBER OF ATOMS'"), "ITEM: NUMBER OF ATOMS", self.path, line_no)
                n_atoms = _as_int(next_line("an atom count"), self.path, line_no)
                box_header = next_line("'ITEM: BOX BOUNDS'")
                _expect(box_header, "ITEM: BOX BOUNDS", self.path, line_no)
                box_lines = tuple(next_line("a box bounds line") for _ in range(3))
                atoms_header = next_line("'ITEM: ATOMS'")
                _expect(atoms_header, "ITEM: ATOMS", self.path, line_no)
                columns = tuple(atoms_header.split()[2:])
                start = handle.tell()
                for k in range(n_atoms):
                    raw = handle.readline()
                    line_no += 1
                    if not raw or not raw.endswith(b"\n"):
                        raise DumpFormatError(
                            f"{self.path}: frame {len(frames)} (timestep {timestep}) is truncated: "
                            f"{k} of {n_atoms} atom lines complete before the end of the file"
                        )
                frames.append(FrameIndex(timestep, n_atoms, box_header, box_lines, columns, start, handle.tell()))
        return frames

    def _check_columns(self, position: int, frame: FrameIndex, required: tuple[str, ...]) -> None:
        have = set(frame.columns)
        for name in required:
            if name == "positions":
                if not any(set(choice) <= have for choice in POSITION_CHOICES):
                    raise DumpFormatError(
                        f"{self.path}: frame {position} (timestep {frame.timestep}) has no unwrapped "
                        f"positions: need columns 'xu yu zu', or 'x y z' (or 'xs ys zs') with image "
                        f"flags 'ix iy iz'; columns are: {' '.join(frame.columns)}"
                    )
            elif name not in have:
                raise DumpFormatError(
                    f"{self.path}: frame {position} (timestep {frame.timestep}) is missing column "
                    f"{name!r}; columns are: {' '.join(frame.columns)}"
                )


def _expect(line: str, prefix: str, path: Path, line_no: int) -> None:
    if not line.startswith(prefix):
        raise DumpFormatError(f"{path}: line {line_no}: expected {prefix!r}, found {line[:60]!r}")


def _as_int(text: str, path: Path, line_no: int) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise DumpFormatError(f"{path}: line {line_no}: expected an integer, found {text[:60]!r}") from None


def _parse_box(header: str, lines: tuple[str, str, str], path: Path, index: int):
    """Cell matrix (rows a, b, c), origin and pbc from a dump's BOX BOUNDS section.

    Orthogonal boxes give ``lo hi`` per axis. Triclinic boxes (``xy xz yz`` in the header)
    give bounding-box extents plus a tilt factor per line; LAMMPS's dump documentation gives
    the conversion back to ``lo``/``hi`` used here.
    """
    try:
        rows = [[float(v) for v in line.split()] for line in lines]
    except ValueError:
        raise DumpFormatError(f"{path}: frame {index}: unreadable BOX BOUNDS lines {lines}") from None
    flags = header.split()[3:]
    triclinic = flags[:3] == ["xy", "xz", "yz"]
    if triclinic:
        flags = flags[3:]
    pbc = tuple(f == "pp" for f in flags[:3]) if len(flags) >= 3 else (True, True, True)
    if triclinic:
        (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = rows
        xlo = xlo_b - min(0.0, xy, xz, xy + xz)
        xhi = xhi_b - max(0.0, xy, xz, xy + xz)
        ylo = ylo_b - min(0.0, yz)
        yhi = yhi_b - max(0.0, yz)
    else:
        (xlo, xhi), (ylo, yhi), (zlo, zhi) = (r[:2] for r in rows)
        xy = xz = yz = 0.0
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    return cell, np.array([xlo, ylo, zlo]), pbc
