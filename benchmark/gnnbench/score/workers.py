"""Worker processes for the scorer's own work, run while the scorer runs the submission.

A cold-cache scoring spends most of its CPU time on the baselines (LAMMPS: the exact integrator's
500 steps of 0.1 fs per anchor, and the Verlet rollouts), work that does not depend on the
submission. :func:`worker_pool` gives one pool for all of it; the stride baselines
(:func:`gnnbench.score.stride.start_stride_baselines`) and the baselines' rollouts
(:func:`gnnbench.score.rollout.start_baseline_rollouts`) are queued on it at the start, in the
order the scorer needs them, and the scorer runs the submission meanwhile. Every job builds
its own LAMMPS from the same inputs, so the numbers do not depend on how many workers ran them.
The rollout pictures (OVITO) are drawn on a worker too, while this process draws the plots.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

MAX_WORKERS = 4  # each holds its own LAMMPS; past 4, the queue has too few jobs per worker


def worker_count() -> int:
    """One worker per CPU this process may use, at most :data:`MAX_WORKERS`; 0 (no pool: the
    scorer computes the baselines itself) on one CPU, or where a spawned process could not
    start: the spawn start method re-runs the main script, which a program read from standard
    input does not have."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.exists(main_file):
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(MAX_WORKERS, cpus) if cpus > 1 else 0


@contextlib.contextmanager
def worker_pool(workers: int | None = None) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` (default :func:`worker_count`) spawned processes, or None for 0.

    Workers start on the first job, so a scoring whose baselines all come from the cache starts
    none. Spawned, not forked: this process may already hold an MPI-initialised LAMMPS. Jobs not
    started when the block is left (an error, Ctrl-C) are cancelled."""
    workers = worker_count() if workers is None else workers
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 0 else None
    try:
        yield pool
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown()
