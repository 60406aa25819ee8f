"""Structure of a periodic frame through OVITO's modifiers: the radial distribution function and
the common neighbour analysis (FCC fraction).

The scorer computes both the same way for the model's frames and for the MD reference's, so the
two sides of every RDF and FCC comparison come from the same code. Each function takes one frame:
``positions`` [N, 3] in Å (wrapped or unwrapped, any periodic image) and ``cell`` [3, 3] in Å
whose rows are the cell vectors a, b, c; the frame is periodic in all three directions. Inputs
are checked (finite, the right shapes, a cell of positive volume) and the keyword arguments
after them are required by name. An OVITO ``DataCollection`` is built directly from the arrays
(no file); atoms are wrapped into the cell first.

Checked against the code they replace (tests/test_structure.py): :func:`rdf` equals the
previous vesin-based histogram to floating-point rounding (max |Δg| ~1e-13 on a perfect and a
thermally displaced 256-atom FCC crystal), and :func:`fcc_fraction` equals LAMMPS ``compute
cna/atom`` at the dataset's cutoff atom for atom on dataset frames.
"""

from __future__ import annotations

import numbers

import numpy as np


def _frame(positions, cell) -> tuple[np.ndarray, np.ndarray]:
    """(positions [N,3], cell [3,3]) as float64, checked finite and non-degenerate."""
    positions = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3 or len(positions) < 2:
        raise ValueError(f"positions must be [N, 3] with N >= 2, got shape {positions.shape}")
    if cell.shape != (3, 3):
        raise ValueError(f"cell must be [3, 3] (rows are the cell vectors, Å), got shape {cell.shape}")
    if not np.isfinite(positions).all():
        raise ValueError(f"positions are not finite for {int((~np.isfinite(positions).all(1)).sum())} atoms")
    if not np.isfinite(cell).all():
        raise ValueError("cell is not finite")
    if abs(np.linalg.det(cell)) < 1e-9:
        raise ValueError(f"cell has no volume: det = {np.linalg.det(cell):g} Å³")
    return positions, cell


def _positive(name: str, value, kind=numbers.Real):
    if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite {'integer' if kind is numbers.Integral else 'number'}, got {value!r}")
    return value


def minimum_image_radius_A(cell) -> float:
    """Half the smallest distance between opposite faces of the cell, in Å: the largest r for
    which every pair within r is counted once, through its nearest periodic image (r_max of the
    RDF must not exceed it). Face distance along a = V / |b × c|, V = |det(cell)|."""
    cell = np.asarray(cell, dtype=np.float64)
    volume = abs(np.linalg.det(cell))
    areas = [np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    return float(0.5 * volume / max(areas))


def _data_collection(positions: np.ndarray, cell: np.ndarray):
    """An OVITO DataCollection: a fully periodic SimulationCell and the atoms wrapped into it."""
    from ovito.data import DataCollection, Particles, SimulationCell

    reduced = np.linalg.solve(cell.T, positions.T).T  # r = s · cell  ->  s
    wrapped = np.mod(reduced, 1.0) @ cell
    data = DataCollection()
    simulation_cell = SimulationCell(pbc=(True, True, True))
    matrix = np.zeros((3, 4))
    matrix[:, :3] = cell.T  # OVITO: the columns are the cell vectors, the last column the origin (0)
    simulation_cell[...] = matrix
    data.objects.append(simulation_cell)
    particles = Particles()
    particles.create_property("Position", data=wrapped)
    data.objects.append(particles)
    return data


def rdf(positions, cell, *, r_max_A: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Radial distribution function of one frame: (r, g(r)), r the bin centres in Å.

    g(r) = n(r) / (N ρ ΔV(r)), with n(r) the number of ordered pairs (i ≠ j, through the
    periodic images) whose distance lies in the bin [r − Δr/2, r + Δr/2), Δr = r_max / n_bins,
    ρ = N / V (Å⁻³) and ΔV(r) = 4π/3 ((r + Δr/2)³ − (r − Δr/2)³) the shell volume (Å³), so
    g → 1 at large r for an uncorrelated system. Computed by
    ``ovito.modifiers.CoordinationAnalysisModifier(cutoff=r_max_A, number_of_bins=n_bins)``.

    ``r_max_A`` must lie inside the minimum-image radius (:func:`minimum_image_radius_A`;
    8.1 Å for the 256-atom mini box) and ``n_bins`` be a positive integer.
    """
    from ovito.modifiers import CoordinationAnalysisModifier

    positions, cell = _frame(positions, cell)
    _positive("r_max_A", r_max_A)
    _positive("n_bins", n_bins, numbers.Integral)
    radius = minimum_image_radius_A(cell)
    if r_max_A > radius:
        raise ValueError(f"r_max_A = {r_max_A} Å exceeds the cell's minimum-image radius {radius:.4f} Å")
    data = _data_collection(positions, cell)
    data.apply(CoordinationAnalysisModifier(cutoff=float(r_max_A), number_of_bins=int(n_bins)))
    curve = np.asarray(data.tables["coordination-rdf"].xy(), dtype=np.float64)
    return curve[:, 0], curve[:, 1]


def mean_rdf(frames, cells, *, r_max_A: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(r in Å, g(r) averaged over the frames [F, N, 3]) by :func:`rdf`; ``cells`` is one
    [3, 3] cell for every frame or one per frame [F, 3, 3]."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 3 or len(frames) == 0:
        raise ValueError(f"frames must be [F, N, 3] with F >= 1, got shape {frames.shape}")
    cells = np.asarray(cells, dtype=np.float64)
    cells = np.broadcast_to(cells, (len(frames), 3, 3)) if cells.ndim == 2 else cells
    if len(cells) != len(frames):
        raise ValueError(f"{len(cells)} cells for {len(frames)} frames")
    curves = [rdf(p, c, r_max_A=r_max_A, n_bins=n_bins) for p, c in zip(frames, cells, strict=True)]
    return curves[0][0], np.mean([g for _, g in curves], axis=0)


# OVITO CommonNeighborAnalysisModifier.Type: 0 other, 1 FCC, 2 HCP, 3 BCC, 4 ICO
OTHER, FCC, HCP, BCC, ICO = range(5)


def structure_types(positions, cell, *, cutoff_A: float) -> np.ndarray:
    """Per-atom structure type [N] by conventional (fixed-cutoff) common neighbour analysis:
    0 other, 1 FCC, 2 HCP, 3 BCC, 4 ICO.

    An atom with exactly 12 neighbours within ``cutoff_A`` (Å) is FCC if all 12 bonds to its
    neighbours have the CNA signature (4,2,1) (4 common neighbours, 2 bonds among them, longest
    chain 1), HCP if 6 have (4,2,1) and 6 (4,2,2), ICO if all have (5,5,5); one with 14 is BCC if
    8 have (6,6,6) and 6 (4,4,4); every other atom is "other". Computed by
    ``ovito.modifiers.CommonNeighborAnalysisModifier(mode=FixedCutoff, cutoff=cutoff_A)``: the
    algorithm of LAMMPS ``compute cna/atom cutoff`` that made the dataset's stored CNA
    descriptor, with its cutoff ``descriptor_cutoff_A`` (3.46 Å = 0.854 a0, between the first
    and second FCC shells). The labels agree with LAMMPS's except that OVITO folds LAMMPS's
    0 (unknown: not 12 or 14 neighbours) and 5 (other) into 0. Adaptive CNA is not used: it
    picks a per-atom cutoff and would disagree with the stored descriptor on hot frames.
    """
    from ovito.modifiers import CommonNeighborAnalysisModifier

    positions, cell = _frame(positions, cell)
    _positive("cutoff_A", cutoff_A)
    data = _data_collection(positions, cell)
    data.apply(CommonNeighborAnalysisModifier(mode=CommonNeighborAnalysisModifier.Mode.FixedCutoff, cutoff=float(cutoff_A)))
    return np.asarray(data.particles["Structure Type"], dtype=np.int64)


def fcc_fraction(positions, cell, *, cutoff_A: float) -> float:
    """Fraction of the N atoms that :func:`structure_types` labels FCC (dimensionless, 0 to 1):
    1 for a perfect FCC crystal, about 0 for a liquid or a gas."""
    return float(np.mean(structure_types(positions, cell, cutoff_A=cutoff_A) == FCC))
