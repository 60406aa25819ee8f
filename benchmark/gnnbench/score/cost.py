"""Cost: the submission's wall time per stride beside LAMMPS EAM MD timed in the same run.

    time per atom per stride  = t_call / N                      (µs)
    simulated ns/day          = Δt [fs] · 1e-6 ns/fs · 86400 s / t_call
    speed-up vs LAMMPS        = ns/day(submission) / ns/day(LAMMPS EAM, 1 fs timestep)

Both are timed on one frame of the dataset's size (``cost_reference_atoms``): the submission on
the chosen device (one graph per call, after two warm-up calls), LAMMPS with the dataset's NPT
protocol on one MPI rank. A ratio above 1 means the submission simulates more time per day.
"""

from __future__ import annotations

import platform
import time

import numpy as np
import torch

from ..generate.config import BuildConfig
from ..generate.simulate import copy_state_in, npt_commands, system_with_potential
from ..load.frames import SplitFrames
from ..predict.submission import Submission
from .inputs import batch_inputs

NS_PER_FS = 1e-6
SECONDS_PER_DAY = 86400.0


def _repeat_timed(call, min_seconds: float, max_calls: int = 200) -> float:
    """Mean wall seconds per call over at least ``min_seconds`` (and at least 3 calls)."""
    calls, started = 0, time.perf_counter()
    while calls < 3 or (time.perf_counter() - started < min_seconds and calls < max_calls):
        call()
        calls += 1
    return (time.perf_counter() - started) / calls


def time_lammps(config: BuildConfig, frames: SplitFrames, row: int, min_seconds: float) -> dict:
    """LAMMPS EAM NPT (the dataset's integrator, :func:`npt_commands`) on the frame ``row``: seconds per step."""
    n = frames.n_atoms
    lmp = system_with_potential(config, n)
    try:
        copy_state_in(lmp, frames.positions[row], frames.velocities[row], frames.cell[row])
        # LAMMPS's default spatial sort, which the dataset's runs have (system_with_potential turns it off)
        for command in ["atom_modify sort 1000 0.0", *npt_commands(config, frames.thermostat_temperature_K[row]), "thermo 1000", "run 10"]:
            lmp.command(command)
        steps = 100
        seconds = _repeat_timed(lambda: lmp.command(f"run {steps} pre no post no"), min_seconds) / steps
    finally:
        lmp.close()
    return {"seconds_per_step": seconds, "timestep_fs": config.timestep_fs, "n_atoms": n,
            "us_per_atom_step": seconds / n * 1e6, "ns_per_day": config.timestep_fs * NS_PER_FS * SECONDS_PER_DAY / seconds,
            "ranks": 1}


def time_submission(submission: Submission, frames: SplitFrames, row: int, min_seconds: float) -> dict:
    stride = int(submission.metadata["rollout_stride_fs"])
    inputs = batch_inputs(frames.positions[row:row + 1], frames.velocities[row:row + 1], frames.species[row:row + 1],
                          frames.cell[row:row + 1], frames.descriptors[row:row + 1], np.array([stride], np.float64),
                          frames.thermostat_temperature_K[row:row + 1])
    context = f"cost timing on {frames.trajectory_id[row]}"

    def call():
        submission.predict(inputs, context)
        if submission.device.type == "cuda":
            torch.cuda.synchronize()

    call(), call()  # warm-up
    seconds = _repeat_timed(call, min_seconds)
    n = frames.n_atoms
    return {"seconds_per_stride": seconds, "stride_fs": stride, "n_atoms": n, "us_per_atom_stride": seconds / n * 1e6,
            "ns_per_day": stride * NS_PER_FS * SECONDS_PER_DAY / seconds, "device": str(submission.device),
            "torch_threads": torch.get_num_threads()}


def measure_cost(submission: Submission, config: BuildConfig, frames: SplitFrames, protocol: dict) -> dict:
    """Both timings and their ratio, with the hardware they ran on."""
    row = 0
    md = time_lammps(config, frames, row, protocol["cost_min_seconds"])
    steps = getattr(submission, "lammps_steps_per_stride", None)
    if steps is not None:  # the Verlet baseline *is* LAMMPS: k steps of size Δt/k per stride
        stride = int(submission.metadata["rollout_stride_fs"])
        seconds = steps * md["seconds_per_step"]
        model = {"seconds_per_stride": seconds, "stride_fs": stride, "n_atoms": md["n_atoms"], "us_per_atom_stride": seconds / md["n_atoms"] * 1e6,
                 "ns_per_day": stride * NS_PER_FS * SECONDS_PER_DAY / seconds, "device": "cpu (LAMMPS, 1 rank)", "torch_threads": 0}
    else:
        model = time_submission(submission, frames, row, protocol["cost_min_seconds"])
    return {
        "submission": model,
        "lammps_eam": md,
        "speedup_vs_lammps": model["ns_per_day"] / md["ns_per_day"],
        "hardware": hardware(submission.device),
        "definition": "speed-up = simulated ns/day of the submission at its rollout stride / ns/day of LAMMPS EAM NPT at 1 fs, "
                      "same machine, same frame",
    }


def hardware(device: torch.device | str = "cpu") -> dict:
    info = {"cpu": platform.processor() or platform.machine(), "platform": platform.platform(), "torch": torch.__version__}
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info
