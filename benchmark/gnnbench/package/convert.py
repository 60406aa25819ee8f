"""``gnnbench data convert``: a user's LAMMPS dump -> parquet frames, via the build's reader.

One row per frame: ``timestep``, ``n_atoms``, ``atom_id`` [N], ``type`` [N], unwrapped
``positions`` [N,3] (Å in ``units metal``), ``velocities`` [N,3] (Å/ps) unless
``velocities=False``, ``cell`` [3,3] (rows a, b, c), ``cell_origin`` [3], and every other
per-atom column of the dump as a float64 list named after it (``c_csp`` -> ``c_csp``,
``c_q[1]`` -> ``c_q_1``). The whole file is indexed and checked before anything is written,
and the output appears under its final name only when complete.

Every frame must hold each atom id once, the same set of ids as the first frame (atoms are
matched across frames by id), and finite positions, velocities and box: a dump that breaks any
of these is refused with its file, frame and timestep named, and nothing is written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..generate.dump_reader import DumpFormatError, LammpsDumpReader

POSITION_AND_VELOCITY = {"id", "type", "x", "y", "z", "xu", "yu", "zu", "xs", "ys", "zs", "ix", "iy", "iz", "vx", "vy", "vz"}


def _column_name(name: str) -> str:
    return re.sub(r"\[(\d+)\]", r"_\1", name)


def _check_frame(frame, first_ids: np.ndarray | None, velocities: bool) -> np.ndarray:
    """Raise DumpFormatError unless ``frame`` has unique ids, the first frame's ids, and finite numbers;
    return the ids of the first frame."""
    where = f"{frame.path}: frame {frame.index} (timestep {frame.timestep})"
    for name in ("id", "type"):
        raw = frame.column(name)
        if not np.isfinite(raw).all() or (raw != np.round(raw)).any():
            raise DumpFormatError(f"{where} has a non-integer or non-finite atom {name}")
    ids = frame.ids  # sorted by the reader
    repeated = np.unique(ids[1:][ids[1:] == ids[:-1]])
    if repeated.size:
        raise DumpFormatError(f"{where} has duplicate atom ids: {_some(repeated)}")
    if first_ids is not None and not np.array_equal(ids, first_ids):
        gone, new = np.setdiff1d(first_ids, ids), np.setdiff1d(ids, first_ids)
        raise DumpFormatError(f"{where} has other atom ids than frame 0 ({len(gone)} gone: {_some(gone)}; {len(new)} new: {_some(new)}); "
                              "atoms are matched across frames by id, so every frame must hold the same atoms")
    arrays = {"positions": frame.unwrapped_positions(), "box": np.concatenate([frame.cell.ravel(), frame.origin])}
    if velocities:
        arrays["velocities"] = frame.velocities()
    for name, values in arrays.items():
        bad = ~np.isfinite(values)
        if bad.any():
            atoms = f" (atom ids {_some(ids[bad.any(axis=1)])})" if values.ndim == 2 else ""
            raise DumpFormatError(f"{where} has non-finite {name} (NaN or inf){atoms}")
    return ids if first_ids is None else first_ids


def _some(values: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(v)) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "") if len(values) else "none"


def convert_dump(path: Path, out_dir: Path, velocities: bool = True) -> tuple[Path, int]:
    """Convert one dump; return (output path, frame count)."""
    required = ("id", "type", "positions") + (("vx", "vy", "vz") if velocities else ())
    reader = LammpsDumpReader(path, required=required)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{Path(path).name.removesuffix('.gz')}.parquet"
    tmp = target.with_name(target.name + ".tmp")
    writer = None
    first_ids = None
    try:
        for frame in reader:
            first_ids = _check_frame(frame, first_ids, velocities)
            row = {
                "timestep": [frame.timestep],
                "n_atoms": [len(frame.ids)],
                "atom_id": [frame.ids.tolist()],
                "type": [frame.column("type").astype(int).tolist()],
                "positions": [frame.unwrapped_positions().tolist()],
                "cell": [frame.cell.tolist()],
                "cell_origin": [frame.origin.tolist()],
            }
            if velocities:
                row["velocities"] = [frame.velocities().tolist()]
            for name, values in frame.data.items():
                if name not in POSITION_AND_VELOCITY:
                    row[_column_name(name)] = [values.tolist()]
            table = pa.table(row)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            elif table.schema != writer.schema:
                raise ValueError(f"{path}: frame {frame.index} (timestep {frame.timestep}) has different columns from frame 0")
            writer.write_table(table)
        writer.close()
        writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        if created and not target.exists() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a refused dump leaves nothing behind, not even the folder
    return target, len(reader)
