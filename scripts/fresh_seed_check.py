"""Run the fresh-seed check alone (gnnbench.leaderboard.fresh_seed) on scored entries, and print
per entry and per (split, Δt) how its fresh-seed RMSE compares with its public 95 % CI.

    python scripts/fresh_seed_check.py submissions/gns-mini-seed0 submissions/constant-velocity ...
        [--data datasets/al-eam] [--max-memory 16]

The same check ``gnnbench validate --rescore`` runs after it has reproduced the public numbers;
this script skips that reproduction, so it costs one scoring (without cost) per entry plus the
fresh build (once per seed; about 4 minutes for mini on 2 cores). The seed comes from
$GNNBENCH_FRESH_SEED or ~/.config/gnnbench/fresh-seed (else a random one for this run). Each
entry's result is written to its fresh_seed.json, as validate does. The last lines print the
largest fresh / public-CI-high ratio over every entry, split and Δt compared with the public CI
(not with 10 × the targets' floor):
the measured spread behind the check's margin (MARGIN in gnnbench/leaderboard/fresh_seed.py).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gnnbench.leaderboard.fresh_seed import MARGIN, check_fresh_seed, fresh_seed
from gnnbench.predict.limits import SandboxLimits
from gnnbench.score.run import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, default=Path("datasets/al-eam"))
    parser.add_argument("--max-memory", type=float, default=8.0, help="GiB of address space for the sandboxed worker")
    args = parser.parse_args()
    seed = fresh_seed()
    worst_overall = []
    for folder in args.folders:
        public = json.loads((folder / "scores.json").read_text())
        started = time.perf_counter()
        model = load_model(folder, limits=SandboxLimits(memory_gib=args.max_memory))
        try:
            result, record = check_fresh_seed(model, folder, public, args.data, seed=seed)
        finally:
            model.close()
        print(f"{'PASSED' if result.passed else 'REFUSED'}: {folder.name} ({time.perf_counter() - started:.0f} s): {result.summary()}")
        for failure in result.failures:
            print(f"    {failure}")
        for row in record["stride"]:
            compared = row["bounded_by"] == "public CI"
            ratio = row["fresh_rmse_A"] / row["public_ci95_high_A"]
            print(f"    {row['split']:<16} {row['dt_fs']:>3} fs  public {row['public_rmse_A']:.3e} (CI high {row['public_ci95_high_A']:.3e})"
                  f"  fresh {row['fresh_rmse_A']:.3e}  fresh/CI-high {ratio:.3f}{'' if compared else '  (≈ floor: not compared)'}")
            if compared:
                worst_overall.append((ratio, folder.name, row["split"], row["dt_fs"]))
    if worst_overall:
        ratio, name, split, dt = max(worst_overall)
        print(f"largest fresh / public-CI-high RMSE ratio over {len(worst_overall)} comparisons: {ratio:.3f} "
              f"({name}, {split}, {dt} fs); the check refuses above {MARGIN:g}")


if __name__ == "__main__":
    main()
