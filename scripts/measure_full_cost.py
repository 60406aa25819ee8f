"""Measure the `full` config's build cost on one temperature and extrapolate to the whole build.

Runs the full config's protocol (4000 atoms, same potential, thermostat, dumps and sharding)
for one training temperature with shortened runs, times each stage, measures bytes per
stored anchor row, and extrapolates with the full config's own frame and row counts:

    simulation time  = equilibration steps x (s/step measured) + production steps x (s/step measured)
    dump/shard time  = frames x (s/frame measured)
    size             = rows x (bytes/row measured)

Usage: python scripts/measure_full_cost.py [--temperature 300] [--equilibration-ps 2] [--production-ps 12]
Prints a table; the numbers go into DATASET_CARD.md ("Size and build cost").
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml
from tabulate import tabulate

from gnnbench.generate.build import build_temperature, work_dir_of
from gnnbench.generate.config import CONFIG_DIR, load_config
from gnnbench.package.splits import frame_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--temperature", type=float, default=300.0)
    parser.add_argument("--equilibration-ps", type=float, default=2.0)
    parser.add_argument("--production-ps", type=float, default=12.0)
    args = parser.parse_args()

    full = load_config("full")
    raw = yaml.safe_load((CONFIG_DIR / "full.yaml").read_text())
    raw.update(name="fullprobe", equilibration_ps=args.equilibration_ps, production_ps=args.production_ps,
               train_temperatures_K=[args.temperature], held_out_temperatures_K=[])
    with tempfile.TemporaryDirectory(prefix="gnnbench-cost-") as tmp:
        config_path = Path(tmp) / "fullprobe.yaml"
        config_path.write_text(yaml.safe_dump(raw))
        probe = load_config(config_path)
        root = Path(tmp) / "data"
        started = time.perf_counter()
        record = build_temperature(str(config_path), args.temperature, str(root), keep_dumps=True)
        total = time.perf_counter() - started
        work = work_dir_of(root, probe, args.temperature)
        sim = json.loads((work / "simulation.json").read_text())
        dump_bytes = sum(p.stat().st_size for p in work.glob("*.dump"))
        shard_bytes = sum((root / name).stat().st_size for name in record["shards"])
        rows = sum(info["rows"] for info in record["shards"].values())
        frames = sim["anchor_frames"] + sim["target_frames"]

    equil_per_step = sim["wall_seconds"]["equilibration"] / probe.equilibration_steps
    production_per_step = sim["wall_seconds"]["production"] / probe.production_steps
    shard_per_row = (total - sum(sim["wall_seconds"].values())) / rows
    bytes_per_row = shard_bytes / rows

    full_rows = full_frames = 0
    for t in full.temperatures_K:
        anchors, targets = frame_steps(full, t)
        full_rows += len(anchors)
        full_frames += len(anchors) + len(targets)
    steps_per_temperature = full.equilibration_steps + full.production_steps
    sim_seconds = len(full.temperatures_K) * (full.equilibration_steps * equil_per_step + full.production_steps * production_per_step)
    shard_seconds = full_rows * shard_per_row
    table = [
        ("measured on", f"T = {args.temperature:g} K, {probe.n_atoms} atoms, {args.equilibration_ps:g} ps + {args.production_ps:g} ps, 1 core"),
        ("equilibration", f"{equil_per_step * 1e6 / probe.n_atoms:.2f} µs per atom-step"),
        ("production (incl. dumps, descriptors)", f"{production_per_step * 1e6 / probe.n_atoms:.2f} µs per atom-step"),
        ("sharding", f"{shard_per_row:.3f} s per anchor row"),
        ("shard size", f"{bytes_per_row / 1e6:.3f} MB per anchor row ({rows} rows, {shard_bytes / 1e6:.1f} MB)"),
        ("dump size (temporary)", f"{dump_bytes / frames / 1e6:.3f} MB per frame"),
        ("full: temperatures x steps", f"{len(full.temperatures_K)} x {steps_per_temperature}"),
        ("full: anchor rows / frames written", f"{full_rows} / {full_frames}"),
        ("full: CPU time (1 core)", f"{(sim_seconds + shard_seconds) / 3600:.1f} core-hours"),
        ("full: wall time with 16 processes", f"{(sim_seconds + shard_seconds) / 16 / 3600:.2f} h (one temperature per process)"),
        ("full: dataset size", f"{full_rows * bytes_per_row / 1e9:.1f} GB of parquet"),
        ("full: peak temporary dumps per temperature", f"{dump_bytes / frames * full_frames / len(full.temperatures_K) / 1e9:.1f} GB"),
    ]
    print(tabulate(table, tablefmt="github", headers=["quantity", "value"]))


if __name__ == "__main__":
    main()
