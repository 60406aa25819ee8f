"""The reference models every submission is shown beside, as one typed list.

Keys in ``scores.json`` are the enum values (``"verlet_eam_k4"``); code never parses them.
A built-in baseline scored as its own leaderboard entry lives in ``submissions/<entry_name>``.
"""

from __future__ import annotations

from enum import Enum

SUBMISSION = "submission"  # the key of the model being scored, beside the baselines' keys


class Baseline(str, Enum):
    """A baseline, with a label for tables and a description for the report."""

    ZERO_DISPLACEMENT = "zero_displacement"
    CONSTANT_VELOCITY = "constant_velocity"
    VERLET_K1 = "verlet_eam_k1"
    VERLET_K4 = "verlet_eam_k4"
    VERLET_1FS = "verlet_eam_1fs"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def entry_name(self) -> str:
        """Folder name of this baseline's own leaderboard entry, e.g. ``verlet-eam-k4``."""
        return self.value.replace("_", "-")

    @property
    def is_verlet(self) -> bool:
        return self in (Baseline.VERLET_K1, Baseline.VERLET_K4, Baseline.VERLET_1FS)

    def substeps(self, dt_fs: float) -> int:
        """Velocity-Verlet sub-steps per stride Δt (k1: 1, k4: 4, 1 fs: Δt / 1 fs)."""
        if self is Baseline.VERLET_K1:
            return 1
        if self is Baseline.VERLET_K4:
            return 4
        if self is Baseline.VERLET_1FS:
            return max(1, round(dt_fs))
        raise ValueError(f"{self.value} is not a Verlet baseline")


_LABELS = {
    Baseline.ZERO_DISPLACEMENT: "zero disp.",
    Baseline.CONSTANT_VELOCITY: "const. velocity",
    Baseline.VERLET_K1: "Verlet k=1",
    Baseline.VERLET_K4: "Verlet k=4",
    Baseline.VERLET_1FS: "exact integrator (Verlet, 1 fs sub-steps)",
}
_DESCRIPTIONS = {
    Baseline.ZERO_DISPLACEMENT: "r(t+Δt) = r(t), v(t+Δt) = v(t)",
    Baseline.CONSTANT_VELOCITY: "r(t+Δt) = r(t) + v(t)Δt, v(t+Δt) = v(t)",
    Baseline.VERLET_K1: "velocity-Verlet with the true EAM forces (LAMMPS), one step of size Δt: one force call per stride",
    Baseline.VERLET_K4: "velocity-Verlet with the true EAM forces (LAMMPS), 4 steps of size Δt/4: four force calls per stride",
    Baseline.VERLET_1FS: "velocity-Verlet with the true EAM forces (LAMMPS), Δt/1 fs steps of 1 fs: the data's own integrator, "
                         "so it reproduces the NVE-branch targets (to storage precision) and shows the floor of the NPT-continuation targets",
}

# The suite's own baseline entries (submissions/<name>): the only folders the leaderboard lists as
# kind "baseline". A list in code, not a metadata field: a submission cannot make itself one.
SUITE_BASELINE_ENTRIES = tuple(b.entry_name for b in Baseline)

# Which baselines each part of the report shows beside a submission.
STRIDE_BASELINES = (Baseline.ZERO_DISPLACEMENT, Baseline.CONSTANT_VELOCITY, Baseline.VERLET_K1, Baseline.VERLET_K4, Baseline.VERLET_1FS)
ROLLOUT_BASELINES = (Baseline.VERLET_K1, Baseline.VERLET_K4)
