"""Rollout files (gnnbench.score.rollout_files): extended XYZ that ASE and OVITO read back, and
the rendered final-frame picture. Fast: synthetic frames, no LAMMPS."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gnnbench.score.rollout import window_velocities
from gnnbench.score.rollout_files import minimum_image_distance, render_final_frames, rendering_unavailable, write_rollout_pair

RNG = np.random.default_rng(11)


def fcc_lattice(cells: int = 4, a0: float = 4.05):
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    lattice = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    return ((lattice[:, None, :] + basis[None]) * a0).reshape(-1, 3), np.eye(3) * a0 * cells


@pytest.fixture
def pair(tmp_path):
    """A model rollout observed at 0, 100, 200, 230 fs and an MD reference every 50 fs to 300 fs
    (its cell breathing): the files hold the common times 0, 100, 200 fs."""
    lattice, cell = fcc_lattice()
    ref_times = np.arange(0.0, 301.0, 50.0)
    ref_positions = lattice[None] + RNG.normal(scale=0.1, size=(len(ref_times), *lattice.shape))
    ref_cells = cell[None] * (1 + 0.001 * np.arange(len(ref_times)))[:, None, None]
    reference = SimpleNamespace(times_fs=ref_times, positions=ref_positions, velocities=RNG.normal(size=ref_positions.shape) * 5,
                                cells=ref_cells)
    model_times = [0.0, 100.0, 200.0, 230.0]
    model_positions = [ref_positions[0]] + [lattice + RNG.normal(scale=0.15, size=lattice.shape) for _ in model_times[1:]]
    model_positions[2][7] += cell[0]  # one atom a whole box away (a model that wraps): its error is through the nearest image
    rollout = SimpleNamespace(trajectory="T0750K", setpoint_K=750.0, species=np.full(len(lattice), 13), cell=cell,
                              observed_times=model_times, observed_positions=model_positions,
                              observed_velocities=[RNG.normal(size=lattice.shape) * 5 for _ in model_times])
    paths = write_rollout_pair(tmp_path, "thermostatted", rollout, reference, "test-model")
    return tmp_path, paths, rollout, reference


def test_extxyz_rollout_reads_back_in_ase_with_positions_velocities_and_error(pair):
    """ASE: 3 frames of 256 Al atoms; positions and error to 1e-6 Å, velocities to 1e-5 Å/ps as written."""
    import ase.io

    out_dir, paths, rollout, reference = pair
    assert paths == {"model": "rollouts/thermostatted/T0750K-model.extxyz.gz", "md": "rollouts/thermostatted/T0750K-md.extxyz.gz"}
    model = ase.io.read(out_dir / paths["model"], index=":")
    md = ase.io.read(out_dir / paths["md"], index=":")
    assert len(model) == len(md) == 3 and all(len(a) == 256 for a in model + md)
    for k, (m, r, ref_index) in enumerate(zip(model, md, [0, 2, 4], strict=True)):
        assert m.info["time_fs"] == r.info["time_fs"] == [0.0, 100.0, 200.0][k]
        assert m.info["source"] == "model" and r.info["source"] == "md" and m.info["units"].startswith("pos:Angstrom velo:Angstrom/ps")
        assert set(m.get_chemical_symbols()) == {"Al"} and m.pbc.all()
        np.testing.assert_allclose(m.cell[:], rollout.cell, atol=1e-9)
        np.testing.assert_allclose(r.cell[:], reference.cells[ref_index], atol=1e-9)
        np.testing.assert_allclose(m.positions, rollout.observed_positions[k], atol=1e-6)
        np.testing.assert_allclose(r.positions, reference.positions[ref_index], atol=1e-6)
        np.testing.assert_allclose(m.arrays["velo"], rollout.observed_velocities[k], atol=1e-5)  # Å/ps, not ASE units
        np.testing.assert_allclose(r.arrays["velo"], reference.velocities[ref_index], atol=1e-5)
        error = minimum_image_distance(rollout.observed_positions[k], reference.positions[ref_index], reference.cells[ref_index])
        np.testing.assert_allclose(m.arrays["position_error_A"], error, atol=1e-6)
        np.testing.assert_array_equal(m.arrays["position_error_A"], r.arrays["position_error_A"])
    assert model[0].arrays["position_error_A"].max() == 0.0  # the same start state
    assert model[1].arrays["position_error_A"][7] < 1.0  # a whole box away counts as its nearest image


def test_extxyz_rollout_reads_back_in_ovito(pair):
    from ovito.io import import_file

    out_dir, paths, rollout, reference = pair
    pipeline = import_file(str(out_dir / paths["model"]), multiple_frames=True)
    assert pipeline.num_frames == 3
    data = pipeline.compute(2)
    assert data.particles.count == 256 and data.attributes["time_fs"] == 200.0
    np.testing.assert_allclose(np.asarray(data.particles["Position"]), rollout.observed_positions[2], atol=1e-6)
    np.testing.assert_allclose(np.asarray(data.particles["Velocity"]), rollout.observed_velocities[2], atol=1e-5)
    error = minimum_image_distance(rollout.observed_positions[2], reference.positions[4], reference.cells[4])
    np.testing.assert_allclose(np.asarray(data.particles["position_error_A"]), error, atol=1e-6)
    np.testing.assert_allclose(np.asarray(data.cell[:, :3]), rollout.cell, atol=1e-9)
    assert data.particles.particle_types.types[0].name == "Al"


@pytest.mark.slow  # an OVITO render (Vulkan)
def test_final_frame_picture_is_a_non_trivial_png(pair):
    """1200 x 600 PNG, not one colour, in seconds (OVITO Tachyon). OVITO needs a Vulkan loader and driver even for
    software rendering: scripts/test.sh installs libvulkan1 and mesa-vulkan-drivers, so this test fails, not skips, without them."""
    assert rendering_unavailable() is None, rendering_unavailable()
    import matplotlib.image

    out_dir, paths, _, _ = pair
    png = out_dir / "plots" / "picture.png"
    seconds = render_final_frames(out_dir / paths["model"], out_dir / paths["md"], png, 3.46, "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (600, 1200) and image[..., :3].std() > 0.05
    assert seconds < 60


def test_window_velocities_are_fourth_order_and_keep_the_start_velocities():
    """x(t) = A sin(ωt) at ω h = 0.3 (h = 10 fs): centred error ≤ (ωh)⁴/30 ~ 3e-4, one-sided ≤ (ωh)⁴/5 ~ 2e-3 of Aω."""
    h_fs, omega = 10.0, 30.0  # ω in 1/ps
    t = np.arange(21) * h_fs * 1e-3
    positions = np.sin(omega * t)[:, None, None] * np.ones((1, 4, 3))
    start = np.full((4, 3), 123.0)
    velocities = window_velocities(positions, h_fs, start)
    exact = omega * np.cos(omega * t)
    np.testing.assert_array_equal(velocities[0], start)
    assert np.abs(velocities[2:-2, 0, 0] - exact[2:-2]).max() < 3e-4 * omega
    assert np.abs(velocities[[1, -2, -1], 0, 0] - exact[[1, -2, -1]]).max() < 2e-3 * omega
