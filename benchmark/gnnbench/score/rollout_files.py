"""Rollouts people can open: the submission's rollouts and their MD references as extended XYZ,
and a rendered picture of one final frame per mode.

Files (written by :func:`write_rollout_pair`, one pair per trajectory and rollout mode)::

    <out_dir>/rollouts/<mode>/<trajectory>-model.extxyz.gz   the submission's rollout
    <out_dir>/rollouts/<mode>/<trajectory>-md.extxyz.gz      the MD reference at the same times

Both are gzip-compressed extended XYZ, which ASE (``ase.io.read(path, index=":")``) and OVITO
(``ovito.io.import_file(path, multiple_frames=True)``, or the OVITO application) read directly. One frame per observation of the rollout
(every ``observe_fs``, 100 fs at a 10 fs stride) at which the reference has a frame too, so
frame k of the two files is the same time; a failed rollout ends at its last observation before
the failure. Per atom: ``species`` (element symbol), ``pos`` (Å; unwrapped, as the rollout
and the dataset keep them), ``velo`` (Å/ps) and ``position_error_A`` = |r_model − r_MD| (Å) of
that atom at that time, the difference taken through the nearest periodic image of the MD
frame's cell (the same values in both files). In NVE mode the model's trajectory should follow
the MD one; in thermostatted mode the two decorrelate within a few hundred fs (the thermostat's
noise and the MD's barostat differ), so there the error measures divergence, not accuracy.

Each frame's comment line carries ``Lattice`` (the cell vectors a, b, c in Å, row by row),
``Properties``, ``pbc="T T T"``, ``time_fs`` (time since the rollout start, fs), ``units``,
``trajectory``, ``mode``, ``source`` (``model`` or ``md``), ``setpoint_K`` and
``velocities`` (where the velocities come from). The model's cell is held at the start state's;
the MD's is its own (NPT: it breathes). The MD reference velocities: in thermostatted mode the
stored NPT anchors'; in NVE mode frame 0's are the anchor's and the others are fourth-order
finite differences of the 10 fs NVE window positions
(:func:`gnnbench.score.rollout.window_velocities`).

Written by the small writer below (no ASE at run time; ASE reads them in the tests).
"""

from __future__ import annotations

import ctypes
import gzip
import sys
import time
from pathlib import Path

import numpy as np

ELEMENTS = ("H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr").split()
PROPERTIES = "species:S:1:pos:R:3:velo:R:3:position_error_A:R:1"
UNITS = "pos:Angstrom velo:Angstrom/ps position_error_A:Angstrom time_fs:fs Lattice:Angstrom"
ERROR_NOTE = {"nve": "position_error_A: |r_model - r_MD| per atom at the same time (nearest periodic image)",
              "thermostatted": "position_error_A: |r_model - r_MD| per atom at the same time (nearest periodic image); "
                               "thermostatted trajectories decorrelate, so this measures divergence, not accuracy"}


def symbol(atomic_number: int) -> str:
    if not 1 <= atomic_number <= len(ELEMENTS):
        raise ValueError(f"no element symbol for atomic number {atomic_number}")
    return ELEMENTS[atomic_number - 1]


def minimum_image_distance(a: np.ndarray, b: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """|a_i − b_i| in Å per atom [N], the difference taken through the nearest periodic image of
    ``cell`` (rows are the cell vectors)."""
    reduced = np.linalg.solve(cell.T, (np.asarray(a) - np.asarray(b)).T).T
    return np.linalg.norm((reduced - np.round(reduced)) @ cell, axis=1)


def _quote(value) -> str:
    text = str(value)
    return f'"{text}"' if any(c in text for c in ' ="') else text


def write_extxyz(path: Path, species: np.ndarray, positions: np.ndarray, velocities: np.ndarray, cells: np.ndarray,
                 error_A: np.ndarray, times_fs, info: dict) -> Path:
    """Write frames [F] of N atoms as gzip-compressed extended XYZ (positions [F,N,3] Å,
    velocities [F,N,3] Å/ps, cells [F,3,3] Å with rows a, b, c, error_A [F,N] Å, times in fs);
    ``info`` adds key=value pairs to every comment line. Positions and errors are written to
    1e-6 Å, velocities to 1e-5 Å/ps."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    symbols = np.array([symbol(int(z)) for z in species])
    extra = " ".join(f"{key}={_quote(value)}" for key, value in info.items())
    with gzip.open(path, "wt", encoding="ascii", compresslevel=6) as out:
        for frame in range(len(positions)):
            lattice = " ".join(f"{v:.10g}" for v in np.asarray(cells[frame], np.float64).reshape(-1))
            out.write(f"{len(symbols)}\n")
            out.write(f'Lattice="{lattice}" Properties={PROPERTIES} pbc="T T T" time_fs={float(times_fs[frame]):g} '
                      f'units="{UNITS}" {extra}\n')
            p, v, e = positions[frame], velocities[frame], error_A[frame]
            out.write("".join(f"{s} {x:.6f} {y:.6f} {z:.6f} {vx:.5f} {vy:.5f} {vz:.5f} {err:.6f}\n"
                              for s, (x, y, z), (vx, vy, vz), err in zip(symbols, p, v, e, strict=True)))
    return path


def write_rollout_pair(out_dir: Path, mode: str, rollout, reference, model_name: str) -> dict[str, str]:
    """Write one rollout (:class:`~gnnbench.score.rollout.Rollout`) and its
    :class:`~gnnbench.score.rollout.Reference` at their common times; return the two paths
    relative to ``out_dir``."""
    out_dir = Path(out_dir)
    times = np.asarray(rollout.observed_times, np.float64)
    ref_times = np.asarray(reference.times_fs, np.float64)
    pairs = [(k, int(np.flatnonzero(np.isclose(ref_times, t))[0])) for k, t in enumerate(times) if np.isclose(ref_times, t).any()]
    mine, theirs = [k for k, _ in pairs], [j for _, j in pairs]
    model_positions = np.asarray(rollout.observed_positions)[mine]
    md_positions, md_cells = reference.positions[theirs], reference.cells[theirs]
    error = np.array([minimum_image_distance(a, b, c) for a, b, c in zip(model_positions, md_positions, md_cells, strict=True)])
    common = {"trajectory": rollout.trajectory, "mode": mode, "setpoint_K": f"{rollout.setpoint_K:g}"}
    paths = {}
    for source, positions, velocities, cells, velocity_note in (
        ("model", model_positions, np.asarray(rollout.observed_velocities)[mine], np.repeat(rollout.cell[None], len(mine), 0),
         "the model's (positions-only submission: mean velocity dr/dt over the stride), after the thermostat if any"),
        ("md", md_positions, reference.velocities[theirs], md_cells,
         "stored NPT anchor velocities" if mode == "thermostatted" else
         "frame 0 stored, others 4th-order finite differences of the 10 fs NVE window positions"),
    ):
        name = f"{rollout.trajectory}-{source}.extxyz.gz"
        info = {**common, "source": source, "submission": model_name, "velocities": velocity_note, "error": ERROR_NOTE[mode]}
        write_extxyz(out_dir / "rollouts" / mode / name, rollout.species, positions, velocities, cells, error, times[mine], info)
        paths[source] = f"rollouts/{mode}/{name}"
    return paths


# --- the picture --------------------------------------------------------------------------------

def rendering_unavailable() -> str | None:
    """Why OVITO cannot render here, or None. OVITO 3.17 sets up Vulkan (Qt RHI) for every
    rendered image, the software Tachyon renderer included; on Linux that needs a Vulkan
    loader and driver (mesa-vulkan-drivers provides a software one, no GPU needed)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libvulkan.so.1")
        except OSError:
            return ("OVITO needs a Vulkan loader (libvulkan.so.1) to render, even with its software Tachyon renderer; "
                    "install libvulkan1 and mesa-vulkan-drivers (apt) to get the rollout pictures")
    return None


def render_final_frames(model_path: Path, md_path: Path, png_path: Path, cutoff_A: float, title: str,
                        size: tuple[int, int] = (1200, 600)) -> float:
    """Render the last frame of a model/MD pair of rollout files side by side (model left, MD
    right), atoms coloured by fixed-cutoff common neighbour analysis at ``cutoff_A`` Å (green
    FCC, red HCP, blue BCC, yellow ICO, white other), with OVITO's Tachyon software renderer.
    Returns the wall time in seconds; raises RuntimeError if OVITO cannot render."""
    from ovito.io import import_file
    from ovito.modifiers import AffineTransformationModifier, CommonNeighborAnalysisModifier, WrapPeriodicImagesModifier
    from ovito.pipeline import Pipeline, StaticSource
    from ovito.qt_compat import QtCore
    from ovito.vis import ColorLegendOverlay, TachyonRenderer, TextLabelOverlay, Viewport

    started = time.perf_counter()
    pipelines, labels = [], []
    for index, path in enumerate((model_path, md_path)):
        # multiple_frames=True: OVITO 3.17 detects the frames of a file by itself only until it first rendered in the process
        source = import_file(str(path), multiple_frames=True)
        data = source.compute(source.num_frames - 1)
        data.particles_.vis.scaling = 0.7  # smaller spheres than touching ones, to see into the crystal
        pipeline = Pipeline(source=StaticSource(data=data))
        pipeline.modifiers.append(WrapPeriodicImagesModifier())
        cna = CommonNeighborAnalysisModifier(mode=CommonNeighborAnalysisModifier.Mode.FixedCutoff, cutoff=float(cutoff_A))
        pipeline.modifiers.append(cna)
        if index:  # the MD frame to the right of the model's, a third of a box apart
            shift = 1.35 * np.asarray(pipelines[0].compute().cell[:, 0])
            pipeline.modifiers.append(AffineTransformationModifier(
                transformation=[[1, 0, 0, shift[0]], [0, 1, 0, shift[1]], [0, 0, 1, shift[2]]], operate_on={"particles", "cell"}))
        out = pipeline.compute()
        labels.append(f"{out.attributes['CommonNeighborAnalysis.counts.FCC'] / out.particles.count:.2f} FCC, "
                      f"t = {data.attributes.get('time_fs', float('nan')):g} fs")
        pipeline.add_to_scene()
        pipelines.append(pipeline)
    flags = QtCore.Qt.AlignmentFlag
    viewport = Viewport(type=Viewport.Type.Ortho, camera_dir=(0.3, 1.0, -0.25))  # +x to the right, z up
    viewport.overlays.append(TextLabelOverlay(text=f"model: {labels[0]}", alignment=flags.AlignLeft | flags.AlignTop,
                                              font_size=0.04, offset_x=0.02, offset_y=-0.02))
    viewport.overlays.append(TextLabelOverlay(text=f"MD: {labels[1]}", alignment=flags.AlignRight | flags.AlignTop,
                                              font_size=0.04, offset_x=-0.02, offset_y=-0.02))
    viewport.overlays.append(TextLabelOverlay(text=title, alignment=flags.AlignHCenter | flags.AlignBottom, font_size=0.03,
                                              offset_y=0.02))
    viewport.overlays.append(ColorLegendOverlay(property="particles/Structure Type", pipeline=pipelines[0], caption="CNA",
                                                alignment=flags.AlignHCenter | flags.AlignTop, font_size=0.12, legend_size=0.4,
                                                offset_y=-0.035))
    try:
        viewport.zoom_all(size=size)
        Path(png_path).parent.mkdir(parents=True, exist_ok=True)
        viewport.render_image(size=size, filename=str(png_path), background=(1.0, 1.0, 1.0),
                              renderer=TachyonRenderer(antialiasing_samples=4, ambient_occlusion_samples=8))
    finally:
        for pipeline in pipelines:
            pipeline.remove_from_scene()
    return time.perf_counter() - started


def render_pictures(scores: dict, out_dir: Path, trajectory: str, cutoff_A: float) -> tuple[list[Path], list[str]]:
    """``plots/rollout_<mode>_final_frame.png`` of ``trajectory`` for every mode that wrote its
    rollout files; returns (the pictures, notes on what was not rendered and why)."""
    out_dir = Path(out_dir)
    pictures, notes = [], []
    reason = rendering_unavailable()
    for mode, result in scores["rollouts"].items():
        files = result.get("rollout_files", {}).get(trajectory)
        if not files:
            continue
        if reason:
            notes.append(f"{mode} rollout picture not rendered: {reason}")
            continue
        png = out_dir / "plots" / f"rollout_{mode}_final_frame.png"
        entry = result["models"]["submission"]["per_trajectory"][trajectory]
        end = "final frame" if entry["survived"] else f"last observation before failing at {entry['time_to_failure_fs']:g} fs"
        title = f"{scores['submission']['name']}, {mode} rollout of {trajectory}: {end}"
        try:
            render_final_frames(out_dir / files["model"], out_dir / files["md"], png, cutoff_A, title)
        except RuntimeError as err:
            notes.append(f"{mode} rollout picture not rendered: {str(err).splitlines()[0]}")
            continue
        pictures.append(png)
    return pictures, notes
