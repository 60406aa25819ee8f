"""Cost: the submission's time per atom per stride, beside LAMMPS EAM MD timed in the same run.

    time per atom per stride  = t_call / (graphs per call × atoms per graph)          (µs)
    simulated ns/day          = Δt [fs] · 1e-6 ns/fs · 86400 s / (time per atom per stride · N)
                                (N = the dataset's atoms per system: the throughput of batched calls,
                                spent on one system of that size)
    speed-up vs LAMMPS        = ns/day(submission) / ns/day(LAMMPS EAM, 1 fs timestep)

The submission is not timed on a call of its own: its cost is the time of the scoring calls
themselves, as the model ran them (inside the sandboxed worker, so the process boundary is not
counted: :func:`process_boundary` measures it apart). The headline is the rollout calls (every
live trajectory in one call at ``rollout_stride_fs``, exactly what a simulation runs); the
stride-accuracy calls (``stride_batch_size`` anchors a call) are reported beside it, and are the
headline when rollouts were skipped. The first ``WARMUP_CALLS`` calls of each kind are left out
(TorchScript's executor optimises the graph on its first calls). A model cannot be fast only
when timed: every call it answers is timed. LAMMPS runs the dataset's NPT protocol on one frame
of the dataset's size, one MPI rank. A ratio above 1 means the submission simulates more time per day.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np
import torch

from ..generate.config import BuildConfig
from ..generate.simulate import copy_state_in, npt_commands, system_with_potential
from ..load.frames import SplitFrames
from ..predict.submission import CallRecord, SubmissionOutputError

WARMUP_CALLS = 2
MIN_TIMED_CALLS = 3
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


def calls_cost(calls: list[CallRecord], stride_fs: int, n_atoms: int) -> dict | None:
    """The cost of one kind of call, from the call log (None: too few calls to time)."""
    timed = calls[WARMUP_CALLS:]
    if len(timed) < MIN_TIMED_CALLS:
        return None
    seconds = float(sum(c.seconds for c in timed))
    atoms = sum(c.n_graphs * c.n_atoms for c in timed)
    us_per_atom = seconds / atoms * 1e6
    return {"calls": len(timed), "graphs_per_call": float(np.mean([c.n_graphs for c in timed])), "seconds_per_call": seconds / len(timed),
            "us_per_atom_stride": us_per_atom, "ns_per_day": stride_fs * NS_PER_FS * SECONDS_PER_DAY / (us_per_atom * 1e-6 * n_atoms)}


def time_submission(submission, n_atoms: int) -> dict:
    """The submission's cost from the calls it answered while being scored (module docstring)."""
    stride = int(submission.metadata["rollout_stride_fs"])
    log = getattr(submission, "call_log", [])
    shapes = {kind: calls_cost([c for c in log if c.phase == kind], stride, n_atoms) for kind in ("rollout", "stride")}
    shapes = {kind: cost for kind, cost in shapes.items() if cost is not None}
    if not shapes:
        raise SubmissionOutputError(f"too few successful calls to time (at least {WARMUP_CALLS + MIN_TIMED_CALLS} of one kind)", "cost")
    headline = "rollout" if "rollout" in shapes else "stride"
    head = shapes[headline]
    sandbox = getattr(submission, "sandbox_info", lambda: {"sandboxed": False})()
    return {"seconds_per_stride": head["seconds_per_call"], "stride_fs": stride, "n_atoms": n_atoms,
            "graphs_per_call": head["graphs_per_call"], "us_per_atom_stride": head["us_per_atom_stride"], "ns_per_day": head["ns_per_day"],
            "timed_on": f"{headline} calls", "shapes": shapes, "device": str(submission.device),
            "torch_threads": (sandbox.get("worker") or {}).get("threads") or torch.get_num_threads(),
            "sandboxed": bool(sandbox.get("sandboxed"))}


def process_boundary(calls: list[CallRecord]) -> dict:
    """What the process boundary adds to the scoring calls: round trip minus the model's own time."""
    model = float(sum(c.seconds for c in calls))
    round_trip = float(sum(c.round_trip_seconds for c in calls))
    overhead = round_trip - model
    return {"calls": len(calls), "model_seconds": model, "round_trip_seconds": round_trip, "overhead_seconds": overhead,
            "overhead_us_per_call": overhead / len(calls) * 1e6 if calls else None,
            "overhead_fraction": overhead / model if model > 0 else None,
            "note": "not part of the cost figures, which are the model's own time measured where it runs"}


def measure_cost(submission, config: BuildConfig, frames: SplitFrames, protocol: dict) -> dict:
    """Both timings and their ratio, with the hardware they ran on (after the scoring calls: they are the submission's timing)."""
    row = 0
    md = time_lammps(config, frames, row, protocol["cost_min_seconds"])
    steps = getattr(submission, "lammps_steps_per_stride", None)
    if steps is not None:  # the Verlet baseline *is* LAMMPS: k steps of size Δt/k per stride
        stride = int(submission.metadata["rollout_stride_fs"])
        seconds = steps * md["seconds_per_step"]
        model = {"seconds_per_stride": seconds, "stride_fs": stride, "n_atoms": md["n_atoms"], "us_per_atom_stride": seconds / md["n_atoms"] * 1e6,
                 "ns_per_day": stride * NS_PER_FS * SECONDS_PER_DAY / seconds, "device": "cpu (LAMMPS, 1 rank)", "torch_threads": 0}
    else:
        model = time_submission(submission, frames.n_atoms)
    return {
        "submission": model,
        "lammps_eam": md,
        "speedup_vs_lammps": model["ns_per_day"] / md["ns_per_day"],
        "hardware": hardware(submission.device),
        "definition": "speed-up = simulated ns/day of the submission at its rollout stride / ns/day of LAMMPS EAM NPT at 1 fs, "
                      "same machine; the submission's time per atom per stride from its own scoring calls (the rollouts: all "
                      "trajectories in one call), LAMMPS on one frame of the same size",
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device | str = "cpu") -> dict:
    info = {"cpu": platform.processor() or platform.machine(), "cpu_model": cpu_model(), "logical_cpus": os.cpu_count(),
            "platform": platform.platform(), "torch": torch.__version__}
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info
