"""Time the periodic radius graph, old (O(N²) minimum-image search) against new (O(N) cell list),
per rebuild and inside the reference model's forward pass (issue #10, item 2).

Systems: FCC Al, a0 = 4.05 Å, cubic boxes of 4³, 10³ and 20³ conventional cells (256, 4000 and
32,000 atoms), Gaussian thermal noise of 0.05 Å per coordinate, float64 positions as the scorer
passes them; cutoff 6.287 Å. The model is ReferenceGNN with the model_args of
baselines/reference_gnn/mini.yaml (float32 parameters, float64 inputs), eager, no_grad, batch of one
system; "old forward" is the same model with its graph function swapped for the brute force. Both
searches return the same edges (checked here on every system), so the model's outputs agree.

Times are the minimum over repeats (fewer for the big systems) of wall-clock seconds with the torch
threads as set (``torch.get_num_threads()``, printed). Where the old forward pass would take longer
than ``--max-old-forward-s`` (the 32,000-atom system), it is not run: it is estimated as
6 x old rebuild + the measured non-graph part of the new forward pass (new forward - 6 x new
rebuild), and marked "(est.)".

Usage: PYTHONPATH=benchmark:. python scripts/benchmark_neighbour_list.py [--sizes 4 10 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch
import yaml

import baselines.reference_gnn.model as reference_model
from baselines.common.graph import radius_graph_pbc, radius_graph_pbc_bruteforce

A0 = 4.05
ROOT = Path(__file__).resolve().parents[1]
N_BLOCKS = 6  # the graph is rebuilt once per block


def fcc(n_cells: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*(torch.arange(n_cells) for _ in range(3)), indexing="ij"), -1).reshape(-1, 3)
    basis = torch.tensor([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], dtype=torch.float64)
    pos = ((grid.to(torch.float64)[:, None] + basis[None]) * A0).reshape(-1, 3)
    pos = pos + noise * torch.randn(pos.shape, generator=gen, dtype=torch.float64)
    return pos, torch.eye(3, dtype=torch.float64)[None] * (n_cells * A0)


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} torch threads; "
            f"load average at start {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 10, 20], help="conventional cells per box edge")
    parser.add_argument("--noise", type=float, default=0.05, help="thermal noise per coordinate, Å")
    parser.add_argument("--max-old-forward-s", type=float, default=120.0,
                        help="estimate the old forward pass instead of running it when 6 old rebuilds exceed this")
    parser.add_argument("--config", default=str(ROOT / "baselines/reference_gnn/mini.yaml"), help="model_args source")
    args = parser.parse_args()

    model_args = yaml.safe_load(Path(args.config).read_text())["model_args"]
    torch.manual_seed(0)
    model = reference_model.ReferenceGNN(**model_args).eval()
    cutoff = model.cutoff
    print(f"machine: {machine()}")
    print(f"model: ReferenceGNN({model_args}) from {Path(args.config).name}, "
          f"{next(model.parameters()).dtype} parameters, float64 inputs; cutoff {cutoff} Å\n")

    header = ["atoms", "edges", "old rebuild (s)", "new rebuild (s)", "speed-up", "old forward (s)", "new forward (s)", "speed-up"]
    rows = []
    for n_cells in args.sizes:
        pos, cell = fcc(n_cells, args.noise, seed=n_cells)
        n = pos.shape[0]
        batch = torch.zeros(n, dtype=torch.long)
        repeats = 5 if n <= 5000 else 2
        inputs = dict(positions=pos, velocities=5.0 * torch.randn(n, 3, dtype=torch.float64),
                      species=torch.full((n,), 13, dtype=torch.long), batch=batch, cell=cell,
                      descriptors=torch.rand(n, 5, dtype=torch.float64), dt_fs=torch.tensor([10.0], dtype=torch.float64),
                      temperature_K=torch.tensor([300.0], dtype=torch.float64))

        new_rebuild, new_graph = best_time(lambda: radius_graph_pbc(pos, cell, batch, cutoff), repeats)  # noqa: B023
        old_rebuild, old_graph = best_time(lambda: radius_graph_pbc_bruteforce(pos, cell, batch, cutoff),  # noqa: B023
                                           repeats if n <= 5000 else 1)
        if not (torch.equal(new_graph[0], old_graph[0]) and torch.equal(new_graph[1], old_graph[1])):
            raise SystemExit(f"{n} atoms: the two searches disagree")
        edges = new_graph[0].shape[1]

        with torch.no_grad():
            new_forward, _ = best_time(lambda: model(**inputs), 3 if n <= 5000 else 1)  # noqa: B023
            if N_BLOCKS * old_rebuild <= args.max_old_forward_s:
                reference_model.radius_graph_pbc = radius_graph_pbc_bruteforce
                try:
                    old_forward, _ = best_time(lambda: model(**inputs), 3 if n <= 5000 else 1)  # noqa: B023
                finally:
                    reference_model.radius_graph_pbc = radius_graph_pbc
                old_text = f"{old_forward:.3f}"
            else:
                old_forward = N_BLOCKS * old_rebuild + (new_forward - N_BLOCKS * new_rebuild)
                old_text = f"{old_forward:.1f} (est.)"
        rows.append([f"{n:,}", f"{edges:,}", f"{old_rebuild:.4f}", f"{new_rebuild:.4f}", f"{old_rebuild / new_rebuild:.1f}x",
                     old_text, f"{new_forward:.3f}", f"{old_forward / new_forward:.1f}x"])
        print(f"done: {n} atoms", flush=True)

    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    print("\n| " + " | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |")
    print(f"\nforward = one call of the model ({N_BLOCKS} graph rebuilds); (est.) = {N_BLOCKS} x old rebuild + "
          f"measured non-graph part (new forward - {N_BLOCKS} x new rebuild)")


if __name__ == "__main__":
    main()
