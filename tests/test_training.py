"""Training: DDP equals one process with the combined batch; kill -9 and resume; export = eager."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from conftest import run_cli
from gnnbench.load.frames import read_split
from gnnbench.predict.submission import load_submission
from gnnbench.score.inputs import batch_inputs
from gnnbench.train.config import build_model


def write_config(tmp_path, root, name, **overrides):
    config = {
        "model": "baselines.gns.model:GNS",
        "model_args": {"latent": 16, "steps": 1, "cutoff": 5.0},
        "data": {"root": str(root), "config": "mini", "train_strides_fs": [1, 10], "validation_strides_fs": [10]},
        "optimizer": {"lr": 1.0e-3, "weight_decay": 1.0e-5},
        "scheduler": {"factor": 0.5, "patience": 5},
        "clip_grad_norm": 1.0,
        "batch_size": 4,
        "num_workers": 0,
        "epochs": 1,
        "seed": 3,
        "velocity_loss_weight": 1.0e-4,
        "shuffle": False,
        "max_steps": 3,
        "run_dir": str(tmp_path / name),
        "submission": {"name": name, "description": "test", "rollout_stride_fs": 10, "predicts_velocities": True, "uses_descriptors": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def parameters(run_dir):
    return torch.load(run_dir / "last.pt", weights_only=True)["model"]


@pytest.mark.slow  # DDP: torchrun with two processes
def test_ddp_with_two_cpu_processes_equals_one_process_with_the_combined_batch(mini_dataset, tmp_path):
    single = write_config(tmp_path, mini_dataset, "single", batch_size=4)
    double = write_config(tmp_path, mini_dataset, "ddp", batch_size=2)
    run_cli("train", str(single), "--no-progress")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "gnnbench.cli", "train", str(double), "--no-progress"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = parameters(tmp_path / "single"), parameters(tmp_path / "ddp")
    initial = build_model(yaml.safe_load(single.read_text()))  # same seed -> same initial weights
    moved = 0
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-7)
        moved += int(not torch.equal(a[name], initial.state_dict()[name]))
    assert moved > 0  # the three steps changed the weights


@pytest.mark.slow  # three training subprocesses, one killed
def test_killed_training_resumes_to_the_same_result(mini_dataset, tmp_path):
    overrides = dict(epochs=3, max_steps=None, shuffle=True, data={"pairs_per_epoch": 24})
    reference = write_config(tmp_path, mini_dataset, "straight", **overrides)
    killed = write_config(tmp_path, mini_dataset, "killed", **overrides)
    one_thread = {"OMP_NUM_THREADS": "1"}  # same summation order in both runs
    run_cli("train", str(reference), "--no-progress", env=one_thread)
    process = subprocess.Popen([sys.executable, "-m", "gnnbench.cli", "train", str(killed), "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **one_thread})
    log = tmp_path / "killed" / "log.csv"
    deadline = time.time() + 300
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert process.poll() is None, process.stdout.read().decode()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert torch.load(tmp_path / "killed" / "last.pt", weights_only=True)["epoch"] < 3
    result = run_cli("train", str(killed), "--no-progress", env=one_thread)
    assert "resuming" in result.stdout
    a, b = parameters(tmp_path / "straight"), parameters(tmp_path / "killed")
    for name in a:  # float32 weights: a lost optimizer state or a skipped epoch differs by far more
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-7)
    assert len((tmp_path / "killed" / "log.csv").read_text().splitlines()) == 4  # header + 3 epochs, no duplicates
    assert (tmp_path / "killed" / "loss_curve.png").stat().st_size > 3000


def test_exported_torchscript_gives_the_eager_outputs(mini_dataset, tmp_path):
    """Trained with --seed 5: its own run folder, and metadata naming the seed and its recipe."""
    config_path = write_config(tmp_path, mini_dataset, "exported")
    run_cli("train", str(config_path), "--seed", "5", "--no-progress")
    out = tmp_path / "submission"
    run_cli("export", str(tmp_path / "exported-seed5" / "best.pt"), "-o", str(out))
    submission = load_submission(out / "submission.pt")
    assert submission.metadata["training_data"]["splits"] == ["train", "validation"]
    assert submission.metadata["strides_fs"] == [1, 10]
    assert (submission.metadata["name"], submission.metadata["seed"], submission.metadata["seed_group"]) == ("exported-seed5", 5, "exported")
    state = torch.load(tmp_path / "exported-seed5" / "best.pt", weights_only=True)
    assert state["config"]["seed"] == 5
    eager = build_model(state["config"])
    eager.load_state_dict(state["model"])
    eager.eval()
    frames = read_split(mini_dataset, "mini", "test")
    rows = [0, 7]
    inputs = batch_inputs(frames.positions[rows], frames.velocities[rows], frames.species[rows], frames.cell[rows],
                          frames.descriptors[rows], np.array([10.0, 5.0]), frames.thermostat_temperature_K[rows])
    scripted = submission.predict(inputs, "test")
    with torch.no_grad():
        expected = eager(*[inputs[k] for k in ("positions", "velocities", "species", "batch", "cell", "descriptors", "dt_fs", "temperature_K")])
    for key in ("positions", "velocities"):
        torch.testing.assert_close(scripted[key], expected[key].to(torch.float64), rtol=0, atol=1e-9)


def test_training_config_is_strict(tmp_path, mini_dataset):
    path = write_config(tmp_path, mini_dataset, "bad")
    path.write_text(path.read_text() + "learning_rate: 3\n")
    result = run_cli("train", str(path), check=False)
    assert result.returncode != 0 and "unknown keys ['learning_rate']" in result.stderr


# Run in a fresh interpreter: glibc's malloc state is per process. It first frees a 16 MiB array
# (glibc then raises its mmap threshold to 16 MiB, so the next 8 MiB array lives on the heap),
# then frees an 8 MiB one and prints how many MiB the process still holds; a small array
# allocated after it keeps the freed block off the heap's top, where glibc would trim it anyway.
HEAP_PROBE = """
import sys
import numpy as np
from gnnbench.train.loop import release_freed_heap
def resident(): return int(open("/proc/self/statm").read().split()[1]) * 4096
big = np.ones(16 << 20, dtype=np.uint8); del big
before = resident()
block = np.ones(8 << 20, dtype=np.uint8); pin = np.ones(64, dtype=np.uint8); del block
if sys.argv[1] == "trim":
    assert release_freed_heap()
print((resident() - before) / 2**20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.exists("/proc/self/statm"), reason="glibc and /proc only")
def test_release_freed_heap_gives_a_freed_block_back_to_the_system():
    """The training loop calls release_freed_heap() after every step: a freed 8 MiB block inside the
    heap goes back to the system, where glibc alone keeps it resident."""
    held = {mode: float(subprocess.run([sys.executable, "-c", HEAP_PROBE, mode], capture_output=True, text=True,
                                       check=True).stdout) for mode in ("keep", "trim")}
    assert held["keep"] > 7, held  # the probe sees glibc keep the block, so it can tell the two apart
    assert held["trim"] < 1, held
