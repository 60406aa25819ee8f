"""Time one training step of the reference GNN, with the old graph search (O(N²) minimum image)
against the new one (O(N) cell list) (issue #10: per-step training cost before and after).

A step is what ``gnnbench train`` does per batch: forward pass, MSE loss on the displacement,
backward, gradient clipping at 1.0, AdamW step. The batch is the mini recipe's: 4 systems of 256
atoms (FCC Al, a0 = 4.05 Å, 4³ cells, 0.05 Å thermal noise), float64 inputs, float32 parameters,
model_args of baselines/reference_gnn/mini.yaml. Both searches give the same edges, so the two
steps compute the same numbers; only the time differs. ``--atoms-per-system 4000`` times the
`full` config's system size (10³ cells).

Times are the median of ``--steps`` steps after two warm-up steps, wall clock, with the torch
threads printed.

``--count-flops`` instead counts the floating-point operations of one step with
``torch.utils.flop_counter.FlopCounterMode`` (matrix products only: the gathers and scatters of
message passing are memory-bound and not counted), the basis of REPRODUCTION.md's GPU estimates.

Usage: PYTHONPATH=benchmark:. python scripts/benchmark_training_step.py [--cells 4] [--batch 4] [--steps 10] [--count-flops]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import yaml

import baselines.reference_gnn.model as reference_model
from baselines.common.graph import radius_graph_pbc, radius_graph_pbc_bruteforce

ROOT = Path(__file__).resolve().parents[1]
A0 = 4.05


def batch_of(n_cells: int, n_systems: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*(torch.arange(n_cells) for _ in range(3)), indexing="ij"), -1).reshape(-1, 3)
    basis = torch.tensor([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], dtype=torch.float64)
    lattice = ((grid.to(torch.float64)[:, None] + basis[None]) * A0).reshape(-1, 3)
    n = lattice.shape[0]
    pos = torch.cat([lattice + 0.05 * torch.randn(lattice.shape, generator=gen, dtype=torch.float64) for _ in range(n_systems)])
    return dict(positions=pos, velocities=5.0 * torch.randn(pos.shape, generator=gen, dtype=torch.float64),
                species=torch.full((n * n_systems,), 13, dtype=torch.long),
                batch=torch.arange(n_systems).repeat_interleave(n),
                cell=torch.eye(3, dtype=torch.float64).repeat(n_systems, 1, 1) * (n_cells * A0),
                descriptors=torch.rand(n * n_systems, 5, generator=gen, dtype=torch.float64),
                dt_fs=torch.full((n_systems,), 10.0, dtype=torch.float64),
                temperature_K=torch.full((n_systems,), 300.0, dtype=torch.float64))


def time_steps(model_args: dict, inputs: dict, steps: int) -> float:
    torch.manual_seed(0)
    model = reference_model.ReferenceGNN(**model_args)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-5)
    target = 1e-3 * torch.randn(inputs["positions"].shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        optimizer.zero_grad()
        displacement = model(**inputs)["positions"] - inputs["positions"]
        loss = ((displacement - target) ** 2).sum(-1).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def count_step_flops(model_args: dict, inputs: dict) -> int:
    """Matrix-product FLOPs of one forward + backward pass (FlopCounterMode's count)."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = reference_model.ReferenceGNN(**model_args)
    counter = FlopCounterMode(display=False)
    with counter:
        displacement = model(**inputs)["positions"] - inputs["positions"]
        (displacement ** 2).sum(-1).mean().backward()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=4, help="conventional cells per box edge (4: 256 atoms, 10: 4000)")
    parser.add_argument("--batch", type=int, default=4, help="systems per batch (the mini recipe's batch_size)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--config", default=str(ROOT / "baselines/reference_gnn/mini.yaml"), help="model_args source")
    parser.add_argument("--count-flops", action="store_true", help="count one step's matrix-product FLOPs instead of timing")
    args = parser.parse_args()
    model_args = yaml.safe_load(Path(args.config).read_text())["model_args"]
    inputs = batch_of(args.cells, args.batch)
    atoms = inputs["positions"].shape[0] // args.batch
    if args.count_flops:
        flops = count_step_flops(model_args, inputs)
        print(f"ReferenceGNN({model_args}); batch {args.batch} x {atoms} atoms: "
              f"{flops / 1e9:.1f} GFLOP of matrix products per training step (forward + backward)")
        return
    print(f"ReferenceGNN({model_args}); batch {args.batch} x {atoms} atoms; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; median of {args.steps} steps after 2 warm-up steps")
    new = time_steps(model_args, inputs, args.steps)
    reference_model.radius_graph_pbc = radius_graph_pbc_bruteforce
    try:
        old = time_steps(model_args, inputs, args.steps)
    finally:
        reference_model.radius_graph_pbc = radius_graph_pbc
    print(f"training step, old graph (brute force): {old:.3f} s")
    print(f"training step, new graph (cell list):   {new:.3f} s")
    print(f"ratio old / new: {old / new:.2f}x")


if __name__ == "__main__":
    main()
