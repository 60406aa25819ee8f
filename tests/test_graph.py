"""The periodic radius graph (baselines/common/graph.py): the O(N) cell list against the O(N²)
minimum-image search it replaced and against an explicit enumeration of periodic images.

Synthetic systems only (random triclinic boxes, FCC Al with a0 = 4.05 Å); CPU, fast tier.
"""

import itertools
import warnings

import numpy as np
import pytest
import torch

from baselines.common.graph import radius_graph_pbc, radius_graph_pbc_bruteforce
from gnnbench.units import PAPER_CUTOFF_A

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit is deprecated upstream (SUBMISSION.md)

A0 = 4.05
CUTOFF = PAPER_CUTOFF_A
F64 = torch.float64
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    SCRIPTED = torch.jit.script(radius_graph_pbc)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread (a 2-core machine shared with other processes; see test_reference_gnn.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fcc(n_cells, gen=None, noise=0.05):
    """FCC Al, n_cells = (nx, ny, nz) conventional cells, Gaussian thermal noise (Å)."""
    grid = torch.stack(torch.meshgrid(*(torch.arange(n) for n in n_cells), indexing="ij"), -1).reshape(-1, 3)
    basis = torch.tensor([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], dtype=F64)
    pos = ((grid.to(F64)[:, None] + basis[None]) * A0).reshape(-1, 3)
    if noise:
        pos = pos + noise * torch.randn(pos.shape, generator=gen, dtype=F64)
    return pos, torch.diag(torch.tensor(n_cells, dtype=F64) * A0)


def random_box(n_atoms, cell, gen):
    frac = torch.rand(n_atoms, 3, generator=gen, dtype=F64) * 4.0 - 1.5  # unwrapped: well outside the cell too
    return frac @ cell


def single(pos):
    return torch.zeros(pos.shape[0], dtype=torch.long)


def enumerate_images(pos, cell, cutoff):
    """Every (i, j, shift, r_j + shift @ cell - r_i) with distance < cutoff and j != i, over all
    periodic images that can be within the cutoff (numpy, float64), ordered by i, j, shift."""
    pos = np.asarray(pos)
    cell = np.asarray(cell)
    inv = np.linalg.inv(cell)
    widths = 1.0 / np.linalg.norm(inv, axis=0)
    wrap = np.floor(pos @ inv)
    inside = pos - wrap @ cell  # wrapped into the cell: fewer images to enumerate
    n_image = [int(np.ceil(cutoff / w)) + 1 for w in widths]
    shifts = np.array(list(itertools.product(*(range(-m, m + 1) for m in n_image))), dtype=float)
    images = shifts @ cell
    out = []
    for i in range(len(pos)):
        d = inside[None, :, :] - inside[i][None, None, :] + images[:, None, :]  # [image, j, 3]
        dist = np.linalg.norm(d, axis=-1)
        for s, j in zip(*np.nonzero(dist < cutoff), strict=True):
            if j != i:
                shift = shifts[s] - wrap[j] + wrap[i]  # the same image, from the unwrapped positions
                out.append((i, j, tuple(shift.astype(int)), d[s, j]))
    return sorted(out, key=lambda t: (t[0], t[1], t[2]))


def as_records(pos, cell, edge_index, edge_vec):
    """(i, j, integer shift, vector) per edge, the shift recovered from the vector."""
    inv = np.linalg.inv(np.asarray(cell))
    pos = np.asarray(pos)
    records = []
    for (j, i), vec in zip(edge_index.t().tolist(), edge_vec.detach().numpy(), strict=True):
        shift = np.rint((vec - pos[j] + pos[i]) @ inv).astype(int)
        records.append((i, j, tuple(shift), vec))
    return records


def assert_same_graph(a, b):
    """Bitwise-equal edge lists and vectors."""
    assert torch.equal(a[0], b[0])
    assert torch.equal(a[1], b[1])


def all_methods(pos, cell, batch, cutoff=CUTOFF, **kwargs):
    """The cell list (auto, forced, scripted, small chunks) on one input: all must agree."""
    runs = [radius_graph_pbc(pos, cell, batch, cutoff, **kwargs),
            radius_graph_pbc(pos, cell, batch, cutoff, method="cell_list"),
            radius_graph_pbc(pos, cell, batch, cutoff, 5000, "cell_list"),  # many atom chunks
            SCRIPTED(pos, cell, batch, cutoff, 4194304, "cell_list")]
    for other in runs[1:]:
        assert_same_graph(runs[0], other)
    return runs[0]


# ------------------------------------------------------------------ minimum-image regime: = brute force
def test_random_triclinic_batch_equals_brute_force():
    gen = torch.Generator().manual_seed(1)
    cells = [torch.tensor([[20.5, 1.2, -0.8], [-0.9, 21.0, 1.1], [1.3, -0.6, 22.2]], dtype=F64),
             torch.tensor([[24.0, 0.0, 0.0], [9.0, 21.5, 0.0], [-6.0, 4.5, 20.8]], dtype=F64),  # strongly tilted
             torch.tensor([[13.0, 0.5, 0.0], [0.0, 13.5, 0.7], [0.4, 0.0, 14.0]], dtype=F64)]  # small: dense path in auto
    sizes = [300, 280, 60]
    pos = torch.cat([random_box(n, c, gen) for n, c in zip(sizes, cells, strict=True)])
    # pairs within 1e-9 Å of the cutoff, on both sides, one pair across the periodic boundary
    direction = torch.tensor([0.48, -0.6, 0.64], dtype=F64)
    for k, delta in enumerate([-1e-9, 1e-9, -1e-9, 1e-9]):
        pos[2 * k + 1] = pos[2 * k] + (CUTOFF + delta) * direction + (cells[0][0] if k >= 2 else 0.0)
    batch = torch.cat([torch.full((n,), g, dtype=torch.long) for g, n in enumerate(sizes)])
    perm = torch.randperm(pos.shape[0], generator=gen)  # interleaved systems
    pos, batch = pos[perm], batch[perm]
    cell = torch.stack(cells)

    new = all_methods(pos, cell, batch)
    old = radius_graph_pbc_bruteforce(pos, cell, batch, CUTOFF)
    assert_same_graph(new, old)
    assert new[0].shape[1] > 5000 and bool((new[0][0] != new[0][1]).all())
    # ordered by system, then target, then source
    ei = new[0]
    key = (batch[ei[1]] * pos.shape[0] + ei[1]) * pos.shape[0] + ei[0]
    assert bool((key[1:] > key[:-1]).all())
    # and what the brute force finds is what the explicit image enumeration finds (first system)
    idx = torch.nonzero(batch == 0).squeeze(1)
    mask = batch[ei[1]] == 0
    local = torch.searchsorted(idx, ei[:, mask])
    got = as_records(pos[idx], cells[0], local, new[1][mask])
    want = enumerate_images(pos[idx], cells[0], CUTOFF)
    assert [r[:3] for r in got] == [r[:3] for r in want]
    np.testing.assert_allclose(np.array([r[3] for r in got]), np.array([r[3] for r in want]), rtol=0, atol=1e-9)
    # the four pairs at the cutoff: the -1e-9 ones are edges, the +1e-9 ones are not
    pairs = set(zip(ei[0].tolist(), ei[1].tolist(), strict=True))
    where = {int(p): q for q, p in enumerate(perm.tolist())}  # original index -> position after the permutation
    for k, inside in enumerate([True, False, True, False]):
        assert ((where[2 * k + 1], where[2 * k]) in pairs) is inside


@pytest.mark.parametrize("n_cells", [(4, 4, 4), (6, 6, 6), (7, 6, 8)])
def test_fcc_lattice_equals_brute_force(n_cells):
    gen = torch.Generator().manual_seed(2)
    for noise in (0.0, 0.05):  # the perfect lattice puts atoms exactly on bin boundaries
        pos, cell = fcc(n_cells, gen, noise)
        new = all_methods(pos, cell[None], single(pos))
        assert_same_graph(new, radius_graph_pbc_bruteforce(pos, cell[None], single(pos), CUTOFF))
        if noise == 0.0:
            assert new[0].shape[1] == pos.shape[0] * 54  # shells within 6.287 Å: 12 + 6 + 24 + 12


def test_displaced_atom_crossing_the_boundary():
    """An atom moved across a face of the cell (and by whole box lengths: unwrapped input) keeps its
    neighbours on the other side; both searches agree at every step."""
    pos0, cell = fcc((6, 6, 6), noise=0.0)
    atom = 0  # at the origin corner: its neighbours are spread over the periodic images
    batch = single(pos0)
    counts = []
    for dx in (0.3, 1e-12, 0.0, -1e-12, -0.3, -0.3 + 3 * 24.3, 0.3 - 2 * 24.3):
        pos = pos0.clone()
        pos[atom] += torch.tensor([dx, 0.5 * dx, -0.25 * dx], dtype=F64)
        new = all_methods(pos, cell[None], batch)
        assert_same_graph(new, radius_graph_pbc_bruteforce(pos, cell[None], batch, CUTOFF))
        counts.append(int((new[0][1] == atom).sum()))
    assert counts[2] == 54 and min(counts) > 40


def test_batch_with_empty_and_single_atom_systems():
    gen = torch.Generator().manual_seed(3)
    systems = [fcc((6, 6, 6), gen), fcc((4, 4, 4), gen), (torch.zeros(1, 3, dtype=F64), torch.eye(3, dtype=F64) * 20.0),
               (torch.zeros(0, 3, dtype=F64), torch.eye(3, dtype=F64) * 20.0), fcc((4, 4, 5), gen)]
    pos = torch.cat([p for p, _ in systems])
    batch = torch.cat([torch.full((p.shape[0],), g, dtype=torch.long) for g, (p, _) in enumerate(systems)])
    cell = torch.stack([c for _, c in systems])
    new = all_methods(pos, cell, batch)
    assert_same_graph(new, radius_graph_pbc_bruteforce(pos, cell, batch, CUTOFF))
    assert set(batch[new[0][1]].tolist()) == {0, 1, 4}
    # no pair at all: an empty graph of the right shapes and dtypes
    far = torch.tensor([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]], dtype=F64)
    ei, ev = radius_graph_pbc(far, torch.eye(3, dtype=F64)[None] * 30.0, single(far), CUTOFF)
    assert ei.shape == (2, 0) and ei.dtype == torch.long and ev.shape == (0, 3) and ev.dtype == F64


def test_edge_vector_gradients_equal_the_brute_force():
    gen = torch.Generator().manual_seed(4)
    pos, cell = fcc((6, 6, 6), gen)
    cell = cell[None].clone().requires_grad_(True)
    weights = torch.randn(pos.shape[0] * 60, 3, generator=gen, dtype=F64)
    grads = []
    for fn in (radius_graph_pbc, radius_graph_pbc_bruteforce):
        p = pos.clone().requires_grad_(True)
        ei, ev = fn(p, cell, single(pos), CUTOFF)
        (torch.linalg.vector_norm(ev, dim=1) * weights[: ev.shape[0], 0] + (ev * weights[: ev.shape[0]]).sum(1) ** 2).sum().backward()
        grads.append((p.grad.clone(), cell.grad.clone()))
        cell.grad = None
    assert grads[0][0].abs().max() > 0 and grads[0][1].abs().max() > 0
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])


def test_gradcheck_cell_list_small_system():
    gen = torch.Generator().manual_seed(5)
    cell = torch.tensor([[[9.0, 0.5, 0.0], [0.0, 9.5, 0.7], [0.4, 0.0, 10.0]]], dtype=F64)  # several images
    pos = random_box(6, cell[0], gen).requires_grad_(True)

    def f(p, c):
        return radius_graph_pbc(p, c, single(p), CUTOFF, method="cell_list")[1]

    assert f(pos, cell).shape[0] > 0
    assert torch.autograd.gradcheck(f, (pos, cell.clone().requires_grad_(True)))


# ------------------------------------------------------------------ beyond the minimum image
@pytest.mark.parametrize("cell_rows", [
    [[9.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 11.0]],      # 2 cutoff > widths > cutoff
    [[8.5, 0.3, -0.4], [1.5, 9.0, 0.2], [-2.0, 1.0, 9.5]],      # triclinic
    [[4.05, 0.0, 0.0], [0.0, 4.05, 0.0], [0.0, 0.0, 24.3]],     # narrower than the cutoff along two axes
])
def test_small_box_all_images_against_explicit_enumeration(cell_rows):
    gen = torch.Generator().manual_seed(6)
    cell = torch.tensor(cell_rows, dtype=F64)
    pos = random_box(14, cell, gen)
    ei, ev = all_methods(pos, cell[None], single(pos))
    got = as_records(pos, cell, ei, ev)
    want = enumerate_images(pos, cell, CUTOFF)
    assert len(got) == len(want) > len({r[:2] for r in want})  # several images of some pairs
    assert [r[:3] for r in got] == [r[:3] for r in want]  # same pairs and images, same order
    np.testing.assert_allclose(np.array([r[3] for r in got]), np.array([r[3] for r in want]), rtol=0, atol=1e-9)
    assert bool((ei[0] != ei[1]).all())  # an atom's own images are not edges
    # every directed edge has its reverse, with the opposite vector
    fwd = {(r[0], r[1], r[2]) for r in got}
    assert all((j, i, tuple(-s for s in shift)) in fwd for i, j, shift in fwd)
    # the brute force refuses such a box; forcing the dense path does too
    with pytest.raises(ValueError, match="half of the smallest perpendicular"):
        radius_graph_pbc_bruteforce(pos, cell[None], single(pos), CUTOFF)
    with pytest.raises(ValueError, match="needs a cutoff below half"):
        radius_graph_pbc(pos, cell[None], single(pos), CUTOFF, method="dense")


def test_fcc_unit_cell_has_the_lattice_coordination():
    """One conventional cell (4 atoms, a 4.05 Å box, far narrower than the cutoff) still finds every
    atom's 54 lattice neighbours within 6.287 Å as images, less the images of the atom itself
    (6 at a0 and 12 at a0 sqrt(2)), which are not edges."""
    pos, cell = fcc((1, 1, 1), noise=0.0)
    ei, ev = radius_graph_pbc(pos, cell[None], single(pos), CUTOFF)
    per_atom = torch.bincount(ei[1], minlength=4)
    own = sum(1 for shift in itertools.product(range(-2, 3), repeat=3)
              if 0 < np.linalg.norm(np.array(shift) * A0) < CUTOFF)
    assert own == 18 and per_atom.tolist() == [54 - own] * 4
    assert float(torch.linalg.vector_norm(ev, dim=1).max()) < CUTOFF
