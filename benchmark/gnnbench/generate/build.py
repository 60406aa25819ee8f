"""``gnnbench data build``: simulate every temperature of a config, in parallel, resumably.

Layout of the output directory (a Hugging Face dataset repository)::

    README.md                         dataset card (generated from DATASET_CARD.md)
    manifest.json                     sha256 and size of every file, per-config provenance
    recipes/<config>.yaml             the build config used, byte for byte
    data/<config>/<split>-T0300K.parquet
    .work/<config>/T0300K/            LAMMPS input, thermo.csv, nve_floor.csv (the NVE targets' own error,
                                      summarised per config in manifest.json), markers (not published)

Resume: a temperature is finished when ``.work/<config>/<T>/shards.json`` exists and every
shard it lists has the recorded sha256. A rerun of the same command skips finished
temperatures, re-converts a trajectory whose dumps are complete, and re-simulates (from the
start, with the same seed) one that was interrupted. LAMMPS runs on one rank per temperature,
so every trajectory is deterministic and the shards are byte-identical from run to run.

Interrupt safety (:mod:`.buildsafe`): the build holds ``.build.lock`` in the output directory,
shared with its workers, so a second build of the same directory is refused while any process
of the first is alive; the workers are killed by the kernel when the main process dies (also
by kill -9); ``shards.json`` is written atomically, last, after the shards are fsynced, and
leftovers of an interrupted write (``*.tmp``) are removed before a rerun starts. So kill -9 of
the main process alone, then the same command again, gives the clean build's bytes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue as queue_module
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm import tqdm

from ..package.card import floor_section, write_card
from ..package.manifest import FLOOR_KEY, floor_summary, write_manifest
from ..package.shards import trajectory_id, write_trajectory_shards
from ..package.splits import ROLLOUT_SPLITS, SPLITS, frame_steps
from .buildsafe import SharedLock, build_lock, die_with_parent, fsync_dir, fsync_file, write_atomic
from .config import BuildConfig, load_config
from .lammps_runtime import sha256_file
from .simulate import DONE_MARKER, FLOOR_FILE, FLOOR_REFINEMENT, simulate_temperature

SHARDS_MARKER = "shards.json"
SIMULATION_OUTPUTS = ("anchors.dump", "targets.dump", "nve_targets.dump", "thermo.csv", "nve_thermo.csv", FLOOR_FILE)

_worker_state: dict = {}  # set in each worker process by _init_worker


def work_dir_of(root: Path, config: BuildConfig, temperature_K: float) -> Path:
    return root / ".work" / config.name / trajectory_id(temperature_K)


def _read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None if it is missing or not whole."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def is_finished(root: Path, work_dir: Path) -> bool:
    """True if the temperature's shards are all there with their recorded sha256, and its measured
    NVE-target floor too (a temperature built before dataset 2.1.0 has none: it is built again)."""
    record = _read_json(work_dir / SHARDS_MARKER)
    if not record or "shards" not in record or not (work_dir / FLOOR_FILE).is_file():
        return False
    shards = record["shards"]
    return all((root / name).is_file() and sha256_file(root / name) == info["sha256"] for name, info in shards.items())


def is_simulated(work_dir: Path) -> bool:
    """True if LAMMPS finished this trajectory (its summary is whole) and the outputs are all there
    (not deleted by an earlier build that then lost a shard)."""
    return _read_json(work_dir / DONE_MARKER) is not None and all((work_dir / f).is_file() for f in SIMULATION_OUTPUTS)


def build_temperature(config_path: str, temperature_K: float, root: str, keep_dumps: bool, progress_queue=None) -> dict:
    """Simulate (unless already done) and shard one temperature. Runs in a worker process."""
    config = load_config(config_path)
    root_path = Path(root)
    work_dir = work_dir_of(root_path, config, temperature_K)
    if progress_queue is None:
        progress_queue = _worker_state.get("progress_queue")

    def report(done: int, total: int) -> None:
        if progress_queue is not None and (done % 10 == 0 or done == total):
            progress_queue.put((temperature_K, done, total))

    (work_dir / SHARDS_MARKER).unlink(missing_ok=True)  # this temperature is not finished until it is rewritten
    if not is_simulated(work_dir):
        simulate_temperature(config, temperature_K, work_dir, progress=report)  # empties work_dir first
    written = write_trajectory_shards(config, temperature_K, work_dir, root_path)
    for name in written:  # the shards are on disk before the marker that vouches for them
        fsync_file(root_path / name)
    for directory in {(root_path / name).parent for name in written}:
        fsync_dir(directory)
    record = {
        "temperature_K": temperature_K,
        "shards": {name: {"rows": rows, "sha256": sha256_file(root_path / name)} for name, rows in written.items()},
    }
    write_atomic(work_dir / SHARDS_MARKER, json.dumps(record, indent=2) + "\n")
    if not keep_dumps:
        for dump in work_dir.glob("*.dump"):
            dump.unlink()
    return record


def _remove_partial_files(root: Path, config: BuildConfig, temperature_K: float | None = None) -> None:
    """Temporary files an interrupted build left half-written (shards, markers, recipes): never published.
    With ``temperature_K``, only that temperature's (other temperatures may be building beside it)."""
    if temperature_K is None:
        leftovers = [tmp for directory in (root / "data" / config.name, root / ".work" / config.name, root / "recipes")
                     for tmp in directory.rglob("*.tmp")]
    else:
        tag = trajectory_id(temperature_K)
        leftovers = ([tmp for tmp in (root / "data" / config.name).rglob("*.tmp") if tag in tmp.name]
                     + list(work_dir_of(root, config, temperature_K).rglob("*.tmp")))
    for tmp in leftovers:
        tmp.unlink()


def build(config_name: str, root: Path, jobs: int | None = None, keep_dumps: bool = False) -> dict:
    """Build (or resume) one config into ``root``; return the manifest. TQDM_DISABLE=1 hides the progress bars.

    Raises :class:`~.buildsafe.BuildLocked` if another build of ``root`` is running."""
    config = load_config(config_name)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with build_lock(root) as lock:
        return _build_locked(config, root, jobs, keep_dumps, lock)


def build_one_temperature(config_name: str, root: Path, temperature_K: float, keep_dumps: bool = False) -> None:
    """Simulate and shard one temperature of a config into ``root``, and stop before packaging.

    For a cluster: one process (e.g. one Slurm array task) per temperature, all writing into the
    same ``root`` on a shared file system; each holds a lock of its own temperature only
    (``.work/<config>/<T>/.build.lock``), so they run side by side. Then ``build`` (the plain
    ``gnnbench data build``), run once after every temperature is finished, finds them all built
    and only writes the recipe, the card and the manifest. The shards are byte-identical to a
    one-command build: every temperature is one deterministic LAMMPS run either way.
    """
    config = load_config(config_name)
    if temperature_K not in config.temperatures_K:
        raise ValueError(f"config {config.name!r} has no temperature {temperature_K:g} K; "
                         f"its temperatures are {', '.join(f'{t:g}' for t in config.temperatures_K)} K")
    root = Path(root)
    work_dir = work_dir_of(root, config, temperature_K)
    work_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(work_dir) as lock:
        _remove_partial_files(root, config, temperature_K)
        if is_finished(root, work_dir):
            print(f"{config.name} {trajectory_id(temperature_K)}: already built in {root}")
            return
        started = time.perf_counter()
        _run_parallel(str(config.path), [temperature_K], root, 1, keep_dumps, lock)
        print(f"built {config.name} {trajectory_id(temperature_K)} into {root} in {time.perf_counter() - started:.1f} s; "
              f"once every temperature is built, `gnnbench data build --config {config_name} --out {root}` packages them")


def _build_locked(config: BuildConfig, root: Path, jobs: int | None, keep_dumps: bool, lock: SharedLock) -> dict:
    config_path = str(config.path)  # workers reload the config from its file
    jobs = jobs or min(len(config.temperatures_K), os.cpu_count() or 1)
    _remove_partial_files(root, config)

    pending = [t for t in config.temperatures_K if not is_finished(root, work_dir_of(root, config, t))]
    skipped = len(config.temperatures_K) - len(pending)
    if skipped:
        print(f"resuming: {skipped} of {len(config.temperatures_K)} temperatures already built")
    started = time.perf_counter()
    if pending:
        _run_parallel(config_path, longest_first(config, pending), root, jobs, keep_dumps, lock)
    elapsed = time.perf_counter() - started

    recipe = root / "recipes" / f"{config.name}.yaml"
    recipe.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(recipe, config.source_text)
    summaries = {}
    for recipe_path in sorted((root / "recipes").glob("*.yaml")):  # every config built into root
        summaries[recipe_path.stem] = _config_summary(root, load_config(recipe_path))
    write_card(root, summaries)
    manifest = write_manifest(root, summaries)
    print(f"built config {config.name!r} into {root} in {elapsed:.1f} s ({len(pending)} temperatures simulated, {jobs} processes)")
    print(floor_section(summaries[config.name][FLOOR_KEY]), end="")
    return manifest


def longest_first(config: BuildConfig, temperatures: list[float]) -> list[float]:
    """Temperatures in the order to start them: most anchors (NVE branches) first, so no long
    trajectory starts last and runs alone (on 2 cores, temperature order left the 800 K training
    trajectory alone at the end of the mini build: 243 s, 158 % CPU). Shards do not depend on it."""
    return sorted(temperatures, key=lambda t: (-len(frame_steps(config, t)[0]), t))


def _init_worker(parent_pid: int, lock: SharedLock, progress_queue) -> None:
    """Start of every worker: die with the build, hold its lock, report progress on the queue."""
    die_with_parent(parent_pid)
    progress_queue.cancel_join_thread()  # progress is expendable: never wait on it at exit
    _worker_state.update(lock=lock, progress_queue=progress_queue)


def _run_parallel(config_path: str, temperatures: list[float], root: Path, jobs: int, keep_dumps: bool,
                  lock: SharedLock) -> None:
    # spawn, from this thread: the workers are this process's children (see buildsafe.die_with_parent)
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(os.getpid(), lock, progress_queue)) as pool:
        futures = {pool.submit(build_temperature, config_path, t, str(root), keep_dumps): t for t in temperatures}
        bars = {
            t: tqdm(total=1, desc=f"{trajectory_id(t)}", unit="frame", position=k, leave=True)
            for k, t in enumerate(temperatures)
        }
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                _drain(progress_queue, bars)
                for future in done:
                    future.result()  # re-raise a worker's error here, naming nothing lost
                    bar = bars[futures[future]]
                    bar.n = bar.total
                    bar.set_postfix_str("sharded")
                    bar.refresh()
        finally:
            for bar in bars.values():
                bar.close()


def _drain(progress_queue, bars) -> None:
    while True:
        try:
            temperature, done, total = progress_queue.get_nowait()
        except queue_module.Empty:
            return
        bar = bars[temperature]
        bar.total = total
        bar.n = done
        bar.refresh()


def _config_summary(root: Path, config: BuildConfig) -> dict:
    """Provenance and sizes of one built config, read from its work markers and shards."""
    splits = {s: {"rows": 0, "bytes": 0, "files": []} for s in SPLITS}
    windows = {s: {"rows": 0, "bytes": 0, "files": []} for s in ROLLOUT_SPLITS}
    simulation = None
    floor_files = []
    for t in config.temperatures_K:
        work_dir = work_dir_of(root, config, t)
        marker = work_dir / SHARDS_MARKER
        if not marker.is_file():
            raise RuntimeError(f"{config.name}: temperature {t} K is not built ({marker} missing)")
        for name, info in json.loads(marker.read_text())["shards"].items():
            split = name.split("/")[-1].rsplit("-", 1)[0]
            table = windows if "/nve_window/" in name else splits
            table[split]["rows"] += info["rows"]
            table[split]["bytes"] += (root / name).stat().st_size
            table[split]["files"].append(name)
        simulation = json.loads((work_dir / "simulation.json").read_text())
        floor_files.append(work_dir / FLOOR_FILE)
    return {
        "recipe": f"recipes/{config.name}.yaml",
        "recipe_sha256": config.sha256,
        "description": config.description,
        "n_atoms": config.n_atoms,
        "lammps_version": simulation["lammps_version"],
        "potential": config.potential,
        "potential_sha256": simulation["potential_sha256"],
        "dt_fs": list(config.dt_fs),
        "train_temperatures_K": list(config.train_temperatures_K),
        "held_out_temperatures_K": list(config.held_out_temperatures_K),
        "splits": {s: {**v, "files": sorted(v["files"])} for s, v in splits.items()},
        "nve_window": {s: {**v, "files": sorted(v["files"])} for s, v in windows.items()},
        "nve_window_ps": config.nve_window_ps,
        "nve_window_interval_fs": config.nve_window_interval_fs,
        "nve_timestep_fs": config.nve_timestep_fs,
        FLOOR_KEY: floor_summary(floor_files, list(config.dt_fs), config.nve_timestep_fs, config.nve_timestep_fs / FLOOR_REFINEMENT),
    }

