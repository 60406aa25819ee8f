"""The paper's training recipe (section 2.3), single process or DistributedDataParallel.

    loss = mean_i |Δr_pred,i − Δr_true,i|²  [Å²]  (+ λ · mean_i |v_pred,i − v_true,i|² [(Å/ps)²])

AdamW (lr, weight decay), ReduceLROnPlateau(factor, patience) on the validation loss, gradient
clipping by global norm, ``batch_size`` graphs per process, seeds fixed for torch, numpy and
random, a checkpoint every epoch (``last.pt``) and the best by validation loss (``best.pt``),
a CSV log (``log.csv``) and a loss-curve plot (``loss_curve.png``, the paper's Figure 2).

Under ``torchrun --nproc_per_node N`` (WORLD_SIZE set) each process trains on its
DistributedSampler share and DDP averages gradients: NCCL on GPUs, gloo on CPU. Since the loss
is a mean over atoms and every graph has the same atom count, N processes with batch b take the
same steps as one process with batch N·b.

Resume: rerunning the same command continues from ``last.pt`` (model, optimizer, scheduler,
epoch, RNG states), so a run killed with kill -9 ends where an uninterrupted one would.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import functools
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from ..load.frames import read_split
from .config import build_model
from .data import StrideSamples

LOG_FIELDS = ("epoch", "steps", "train_loss", "validation_loss", "lr", "seconds")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# After every optimizer step the training loop hands the heap's free pages back to the system.
# Graphs have a different number of edges at every step, so glibc's heap fragments and, left
# alone, keeps every page it ever touched: the faithful reference model's RSS grew by up to
# 0.45 GB per step of batch 4 × 256 atoms (20 GB of a 24 GB machine in its fourth epoch on
# mini). Measured on 22 steps of that model (2-core Xeon, median seconds per step, RSS at the
# end): no trimming 3.7–3.9 s (three runs), 10 GB and growing; a trim every step 4.4 s, 0.7 GB;
# a trim every 10 steps 4.4–4.7 s (two runs), up to 8.5 GB; an mmap of its own for every
# allocation of 4 MiB or more (mallopt M_MMAP_THRESHOLD) 5.0 s, 0.9 GB. A bounded run costs
# some speed; a trim every step bounds it best for no more than the others cost.


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once (find_library runs ldconfig: not for every step)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def release_freed_heap() -> bool:
    """Return the free pages of the C heap to the system (glibc's malloc_trim; elsewhere a no-op).

    Returns True where glibc released memory."""
    libc = _libc()
    if libc is None or not hasattr(libc, "malloc_trim"):  # not glibc (musl, macOS): nothing to trim
        return False
    return bool(libc.malloc_trim(0))


def _distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if dist.is_initialized() else 0
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def _loss(model, batch, velocity_weight: float) -> torch.Tensor:
    out = model(batch.positions, batch.velocities, batch.species, batch.batch, batch.cell, batch.descriptors,
                batch.dt_fs, batch.temperature_K)
    predicted = out["positions"] - batch.positions
    loss = ((predicted - batch.y_displacement) ** 2).sum(-1).mean()
    if velocity_weight and "velocities" in out:
        loss = loss + velocity_weight * ((out["velocities"] - batch.y_velocity) ** 2).sum(-1).mean()
    return loss


def _rng_state() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "python": random.getstate()}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])


def _save(path: Path, payload: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def train(config: dict) -> dict:
    """Run (or resume) training; return a summary. Rank 0 writes the run directory and shows the
    progress bar (TQDM_DISABLE=1 hides it)."""
    rank, world, device = _distributed()
    run_dir = Path(config["run_dir"])
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config["seed"])
    data = config["data"]
    targets = data.get("targets", "nve")
    train_set = StrideSamples(read_split(data["root"], data["config"], "train"), data["train_strides_fs"], targets)
    validation_set = StrideSamples(read_split(data["root"], data["config"], "validation"), data["validation_strides_fs"], targets)

    model = build_model(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(config["optimizer"]["lr"]), weight_decay=float(config["optimizer"]["weight_decay"]))
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=config["scheduler"]["factor"], patience=config["scheduler"]["patience"])
    start_epoch, steps, best = 0, 0, float("inf")
    last = run_dir / "last.pt"
    if last.exists():
        state = torch.load(last, map_location=device, weights_only=True)  # our own checkpoint: tensors and plain types only
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, steps, best = state["epoch"], state["steps"], state["best_validation_loss"]
        _set_rng_state(state["rng"])
        if rank == 0:
            print(f"resuming {run_dir} from epoch {start_epoch} ({steps} steps)")
    wrapped = DistributedDataParallel(model) if world > 1 else model

    for epoch in range(start_epoch, config["epochs"]):
        if config["max_steps"] is not None and steps >= config["max_steps"]:
            break
        started = time.perf_counter()
        indices = _epoch_indices(len(train_set), data.get("pairs_per_epoch"), config["seed"], epoch, config["shuffle"])
        subset = torch.utils.data.Subset(train_set, indices)
        sampler = torch.utils.data.distributed.DistributedSampler(subset, num_replicas=world, rank=rank, shuffle=False) if world > 1 else None
        loader = DataLoader(subset, batch_size=config["batch_size"], shuffle=False, sampler=sampler, num_workers=config["num_workers"],
                            persistent_workers=False)
        wrapped.train()
        total, count = 0.0, 0
        batches = tqdm(loader, desc=f"epoch {epoch + 1}/{config['epochs']}", leave=False) if rank == 0 else loader
        for batch in batches:
            batch = batch.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = _loss(wrapped, _cast(batch, model), config["velocity_loss_weight"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config["clip_grad_norm"])
            optimizer.step()
            total, count, steps = total + loss.item(), count + 1, steps + 1
            release_freed_heap()
            if config["max_steps"] is not None and steps >= config["max_steps"]:
                break
        train_loss = _all_mean(total, count, device)
        validation_loss = evaluate(wrapped, model, validation_set, config, rank, world, device)
        release_freed_heap()
        scheduler.step(validation_loss)
        if rank == 0:
            improved = validation_loss < best
            best = min(best, validation_loss)
            payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                       "epoch": epoch + 1, "steps": steps, "best_validation_loss": best, "rng": _rng_state(),
                       "config": json.loads(json.dumps({k: v for k, v in config.items()}))}
            _save(last, payload)
            if improved:
                _save(run_dir / "best.pt", payload)
            _append_log(run_dir / "log.csv", epoch + 1, (epoch + 1, steps, train_loss, validation_loss, optimizer.param_groups[0]["lr"],
                                                          round(time.perf_counter() - started, 3)))
            print(f"epoch {epoch + 1}: train loss {train_loss:.3e} Å², validation loss {validation_loss:.3e} Å²{' (best)' if improved else ''}")
    if rank == 0:
        plot_loss_curve(run_dir)
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return {"run_dir": str(run_dir), "steps": steps, "best_validation_loss": best}


def _cast(batch, model):
    """Inputs arrive as float64; the model casts internally. Targets follow the model dtype."""
    dtype = next(model.parameters()).dtype
    batch.y_displacement = batch.y_displacement.to(dtype)
    batch.y_velocity = batch.y_velocity.to(dtype)
    return batch


def _epoch_indices(n: int, pairs_per_epoch, seed: int, epoch: int, shuffle: bool) -> list[int]:
    """This epoch's sample order: a seeded permutation (or subset) that depends only on (seed, epoch)."""
    if not shuffle and not pairs_per_epoch:
        return list(range(n))
    generator = torch.Generator().manual_seed(seed * 100003 + epoch)
    order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
    return order[: pairs_per_epoch] if pairs_per_epoch else order


def _all_mean(total: float, count: int, device) -> float:
    if dist.is_initialized():
        tensor = torch.tensor([total, count], dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        total, count = float(tensor[0]), int(tensor[1])
    return total / max(count, 1)


@torch.no_grad()
def evaluate(wrapped, model, dataset, config: dict, rank: int, world: int, device) -> float:
    """Mean loss over the validation samples (all processes together)."""
    sampler = torch.utils.data.distributed.DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=False) if world > 1 else None
    loader = DataLoader(dataset, batch_size=config["batch_size"], shuffle=False, sampler=sampler, num_workers=0)
    wrapped.eval()
    total, count = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        total += float(_loss(model, _cast(batch, model), config["velocity_loss_weight"])) * batch.num_graphs
        count += batch.num_graphs
    return _all_mean(total, count, device)


def _append_log(path: Path, epoch: int, row: tuple) -> None:
    """Append one epoch; rows from epochs after a resumed checkpoint are dropped first."""
    rows = []
    if path.exists():
        with open(path, newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if int(r["epoch"]) < epoch]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LOG_FIELDS)
        writer.writerows([[r[f] for f in LOG_FIELDS] for r in rows])
        writer.writerow(row)


def plot_loss_curve(run_dir: Path) -> Path | None:
    """Training and validation loss against epoch, log scale (the paper's Figure 2)."""
    path = run_dir / "log.csv"
    if not path.exists():
        return None
    from matplotlib.figure import Figure  # no pyplot: no backend or global figure state

    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) for r in rows]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.semilogy(epochs, [float(r["train_loss"]) for r in rows], "o-", label="training")
    ax.semilogy(epochs, [float(r["validation_loss"]) for r in rows], "s-", label="validation")
    ax.set(xlabel="epoch", ylabel="loss: mean |Δr_pred − Δr_true|² (Å²)", title=run_dir.name)
    ax.legend()
    fig.tight_layout()
    out = run_dir / "loss_curve.png"
    fig.savefig(out, dpi=110)
    return out
