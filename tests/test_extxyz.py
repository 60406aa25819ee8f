"""gnnbench data export: extended XYZ that ASE reads back with the dataset's positions, momenta and NVE targets."""

import ase.io
import ase.units
import numpy as np
import pytest
import yaml

from conftest import run_cli
from gnnbench.load.frames import read_split


@pytest.mark.slow  # needs the tiny LAMMPS build
def test_export_reads_back_in_ase_equal_to_the_dataset(tiny_dataset, tmp_path):
    split = read_split(tiny_dataset, "tiny", "train")
    dt = int(split.dt_fs[-1])
    out = tmp_path / "train.xyz"
    run_cli("data", "export", str(tiny_dataset), "--config", "tiny", "--split", "train", "--dt", str(dt), "-o", str(out))
    frames = ase.io.read(out, index=":")
    assert len(frames) == split.n_anchors
    k = list(split.dt_fs).index(dt)
    ps = 1000 * ase.units.fs
    for row in (0, split.n_anchors - 1):
        atoms = frames[row]
        masses = atoms.get_masses()[:, None]
        assert atoms.get_masses()[0] == pytest.approx(26.9815385)
        np.testing.assert_allclose(atoms.get_positions(), split.positions[row], rtol=0, atol=1e-7)
        np.testing.assert_allclose(atoms.get_velocities() * ps, split.velocities[row], rtol=1e-7, atol=1e-7)  # Å/ps
        np.testing.assert_allclose(atoms.get_cell()[:], split.cell[row], rtol=0, atol=1e-7)
        future = split.positions[row] + split.nve_target_displacement[row, k]
        np.testing.assert_allclose(atoms.arrays["future_positions"], future, rtol=0, atol=1e-6)  # float32 targets
        np.testing.assert_allclose(atoms.arrays["future_momenta"] / masses * ps, split.nve_target_velocities[row, k], rtol=1e-6, atol=1e-5)
        assert atoms.info["dt_fs"] == dt and atoms.info["trajectory_id"] == split.trajectory_id[row]
    options = yaml.safe_load((tmp_path / "options-flashmd.yaml").read_text())
    assert options["architecture"]["training"]["timestep"] == dt
    assert options["training_set"]["targets"]["momentum"]["key"] == "future_momenta"
    assert options["training_set"]["systems"]["read_from"] == "train.xyz"
    assert options["validation_set"]["systems"]["read_from"] == "train-validation.xyz"  # the data's own validation split
    validation = read_split(tiny_dataset, "tiny", "validation")
    assert len(ase.io.read(tmp_path / "train-validation.xyz", index=":")) == validation.n_anchors


def test_the_ase_time_unit_is_ases():
    from gnnbench.units import PS_IN_ASE_TIME

    assert PS_IN_ASE_TIME == pytest.approx(1000 * ase.units.fs, rel=1e-15)


@pytest.mark.slow
def test_export_of_a_missing_stride_is_a_clear_error(tiny_dataset, tmp_path):
    result = run_cli("data", "export", str(tiny_dataset), "--config", "tiny", "--dt", "7", "-o", str(tmp_path / "x.xyz"), check=False)
    assert result.returncode != 0 and "no Δt = 7 fs" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.xyz").exists()
