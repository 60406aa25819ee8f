"""The dump reader and `gnnbench data convert`: clear errors, unwrapping across the boundary."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import run_cli
from gnnbench.generate.dump_reader import DumpFormatError, LammpsDumpReader
from gnnbench.generate.lammps_runtime import new_lammps, potential_path

HEADER = """ITEM: TIMESTEP
{step}
ITEM: NUMBER OF ATOMS
2
ITEM: BOX BOUNDS pp pp pp
0 10
0 10
0 10
ITEM: ATOMS {columns}
"""


def write_dump(path, frames, columns="id type x y z ix iy iz vx vy vz"):
    with open(path, "w") as handle:
        for step, lines in frames:
            handle.write(HEADER.format(step=step, columns=columns) + "".join(line + "\n" for line in lines))
    return path


def test_image_flags_unwrap_a_crossing_of_the_periodic_boundary(tmp_path):
    dump = write_dump(tmp_path / "cross.dump", [
        (0, ["2 1 5 5 5 0 0 0 0 0 0", "1 1 9.95 5 5 0 0 0 10 0 0"]),
        (10, ["1 1 0.05 5 5 1 0 0 10 0 0", "2 1 5 5 5 0 0 0 0 0 0"]),
    ])
    reader = LammpsDumpReader(dump, required=("id", "positions"))
    r0, r1 = reader[0].unwrapped_positions(), reader[1].unwrapped_positions()
    np.testing.assert_allclose(r1 - r0, [[0.1, 0, 0], [0, 0, 0]], atol=1e-12)  # sorted by id


def test_lammps_atom_crossing_the_boundary_moves_by_v_dt(tmp_path):
    """An isolated atom (its images are beyond the EAM cutoff) moves exactly v·t across x = L."""
    lmp = new_lammps()
    dump = tmp_path / "free.dump"
    for command in [
        "units metal", "boundary p p p", "atom_style atomic", "region box block 0 16 0 16 0 16",
        "create_box 1 box", "create_atoms 1 single 15.9 8 8", "mass 1 26.98", "pair_style eam/fs",
        f"pair_coeff * * {potential_path('Al_mm.eam.fs')} Al", "velocity all set 20 0 0", "timestep 0.001",
        "neigh_modify every 1 delay 0 check no", "fix nve all nve", f"dump d all custom 10 {dump} id type x y z ix iy iz xu yu zu vx vy vz",
        "dump_modify d format float %.17g", "run 20",
    ]:
        lmp.command(command)
    lmp.close()
    reader = LammpsDumpReader(dump, required=("id", "positions", "vx"))
    frames = [reader[i] for i in range(len(reader))]
    assert frames[-1].data["ix"][0] == 1  # it did cross
    for frame in frames:
        expected = 15.9 + 20.0 * frame.timestep * 0.001
        assert frame.unwrapped_positions()[0, 0] == pytest.approx(expected, abs=1e-9)
        # the same through image flags only (x + ix L)
        del frame.data["xu"]
        assert frame.unwrapped_positions()[0, 0] == pytest.approx(expected, abs=1e-9)


def test_displacements_in_the_data_are_small_for_atoms_that_crossed_the_boundary(mini_dataset):
    rows = pq.read_table(mini_dataset / "data" / "mini" / "test_temperature-T0750K.parquet").to_pylist()
    crossings = 0
    for row in rows:
        r0 = np.asarray(row["positions"])
        cell = np.diag(np.asarray(row["cell"]))
        origin = np.asarray(row["cell_origin"])
        for k, (d, d_nve) in enumerate(zip(row["npt_target_displacement"], row["nve_target_displacement"], strict=True)):
            d = np.asarray(d)
            box_before = np.floor((r0 - origin) / cell)
            box_after = np.floor((r0 + d - origin) / np.diag(np.asarray(row["npt_target_cell"][k])))
            assert np.abs(np.asarray(d_nve)).max() < 1.0
            crossings += int((box_before != box_after).any(axis=1).sum())
            assert np.abs(d).max() < 1.0  # no jump by a box length (16 Å)
    assert crossings > 0  # the check above was exercised


def test_convert_rejects_a_dump_with_a_missing_column(tmp_path):
    dump = write_dump(tmp_path / "novel.dump", [(0, ["1 1 1 1 1 0 0 0", "2 1 2 2 2 0 0 0"])], columns="id type x y z ix iy iz")
    result = run_cli("data", "convert", str(dump), "-o", str(tmp_path / "out"), check=False)
    assert result.returncode != 0
    assert str(dump) in result.stderr and "missing column 'vx'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # checked before anything is written


def test_convert_rejects_wrapped_positions_without_image_flags(tmp_path):
    dump = write_dump(tmp_path / "wrapped.dump", [(0, ["1 1 1 1 1 0 0 0", "2 1 2 2 2 0 0 0"])], columns="id type x y z vx vy vz")
    result = run_cli("data", "convert", str(dump), "-o", str(tmp_path / "out"), check=False)
    assert result.returncode != 0 and "image" in result.stderr and str(dump) in result.stderr


def test_convert_rejects_a_truncated_frame_and_keeps_an_earlier_output(tmp_path):
    good = [(0, ["1 1 1 1 1 0 0 0 0 0 0", "2 1 2 2 2 0 0 0 0 0 0"])]
    dump = write_dump(tmp_path / "traj.dump", good * 1)
    out = tmp_path / "out"
    run_cli("data", "convert", str(dump), "-o", str(out))
    before = (out / "traj.dump.parquet").read_bytes()
    text = dump.read_text() + HEADER.format(step=10, columns="id type x y z ix iy iz vx vy vz") + "1 1 1 1 1 0 0 0 0 0 0\n2 1 2"
    dump.write_text(text)
    result = run_cli("data", "convert", str(dump), "-o", str(out), check=False)
    assert result.returncode != 0
    assert "frame 1 (timestep 10) is truncated" in result.stderr and str(dump) in result.stderr
    assert (out / "traj.dump.parquet").read_bytes() == before  # nothing already written was lost


def test_convert_round_trip(tmp_path):
    dump = write_dump(tmp_path / "ok.dump", [
        (0, ["2 1 5 5 5 0 0 0 0.5 0 0", "1 1 9.95 5 5 0 0 0 10 0 0"]),
        (10, ["1 1 0.05 5 5 1 0 0 10 0 0", "2 1 5.005 5 5 0 0 0 0.5 0 0"]),
    ])
    result = run_cli("data", "convert", str(dump), "-o", str(tmp_path / "out"))
    assert "2 frames" in result.stdout
    rows = pq.read_table(tmp_path / "out" / "ok.dump.parquet").to_pylist()
    assert [r["timestep"] for r in rows] == [0, 10]
    assert rows[1]["atom_id"] == [1, 2]
    np.testing.assert_allclose(rows[1]["positions"][0], [10.05, 5, 5])
    np.testing.assert_allclose(rows[0]["velocities"][1], [0.5, 0, 0])


def test_reader_error_names_file_and_line_for_garbage(tmp_path):
    path = tmp_path / "bad.dump"
    path.write_text("hello\n")
    with pytest.raises(DumpFormatError, match=r"bad.dump: line 1: expected 'ITEM: TIMESTEP'"):
        LammpsDumpReader(path)
