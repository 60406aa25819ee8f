"""Temporal splits, decided per anchor when the data is written (not in loader code).

Per trajectory, production time [0, P) is cut into three segments:

    train       [0,            0.7 P)
    validation  [0.7 P + gap,  0.8 P)
    test        [0.8 P + gap,  P)

An anchor at time t belongs to a segment only if its whole target window [t, t + max Δt] lies
inside the segment, so no target crosses a boundary, and consecutive segments are separated by
at least ``gap`` (1 ps) of unused trajectory. Trajectories at held-out temperatures contribute
only their test segment, as split ``test_temperature``. Times here are in production steps
(1 step = ``timestep_fs``).
"""

from __future__ import annotations

from ..generate.config import BuildConfig

SPLITS = ("train", "validation", "test", "test_temperature")
ROLLOUT_SPLITS = ("test", "test_temperature")  # the splits whose trajectories are rolled out and have NVE windows


def segment_windows(config: BuildConfig) -> dict[str, tuple[int, int]]:
    """Half-open step windows [start, end) of the train, validation and test segments."""
    total = config.production_steps
    gap = round(config.split_gap_fs / config.timestep_fs)
    fractions = config.split_fractions
    train_end = round(fractions["train"] * total)
    validation_end = round((fractions["train"] + fractions["validation"]) * total)
    return {
        "train": (0, train_end),
        "validation": (train_end + gap, validation_end),
        "test": (validation_end + gap, total),
    }


def anchor_steps(config: BuildConfig) -> list[int]:
    """Production steps of all anchor frames (every ``anchor_interval_fs``)."""
    interval = round(config.anchor_interval_fs / config.timestep_fs)
    return list(range(0, config.production_steps, interval))


def target_offsets(config: BuildConfig) -> list[int]:
    """Target offsets in steps, one per Δt."""
    return [round(dt / config.timestep_fs) for dt in config.dt_fs]


def split_of(config: BuildConfig, temperature_K: float, step: int) -> str | None:
    """Split of the anchor at production ``step``, or None if it falls in a gap."""
    last_target = step + max(target_offsets(config))
    for segment, (start, end) in segment_windows(config).items():
        if start <= step and last_target < end:
            if config.is_held_out(temperature_K):
                return "test_temperature" if segment == "test" else None
            return segment
    return None


def frame_steps(config: BuildConfig, temperature_K: float) -> tuple[list[int], list[int]]:
    """(anchor steps kept in some split, all target steps of those anchors), both sorted.

    Only these frames are dumped, so nothing is simulated-and-stored that no split uses.
    """
    anchors = [s for s in anchor_steps(config) if split_of(config, temperature_K, s) is not None]
    targets = sorted({a + o for a in anchors for o in target_offsets(config)})
    return anchors, targets


def rollout_start_step(config: BuildConfig, temperature_K: float) -> int | None:
    """Production step of the trajectory's first test (or test_temperature) anchor: where rollouts
    start and the NVE reference window begins. None for a trajectory with no test anchor."""
    anchors, _ = frame_steps(config, temperature_K)
    tests = [s for s in anchors if split_of(config, temperature_K, s) in ROLLOUT_SPLITS]
    return tests[0] if tests else None
