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
    VERLET_K2 = "verlet_eam_k2"
    VERLET_K4 = "verlet_eam_k4"
    VERLET_K8 = "verlet_eam_k8"
    VERLET_EXACT = "verlet_eam_exact"

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
        return self in _FIXED_SUBSTEPS or self is Baseline.VERLET_EXACT

    def substeps(self, dt_fs: float, exact_step_fs: float | None = None) -> int:
        """Velocity-Verlet sub-steps (force calls) per stride Δt: k for ``verlet_eam_k{k}``;
        Δt / ``exact_step_fs`` for the exact integrator, whose step is the dataset's NVE-branch
        step (the recipe's ``nve_timestep_fs``), so it must be given."""
        if self in _FIXED_SUBSTEPS:
            return _FIXED_SUBSTEPS[self]
        if self is Baseline.VERLET_EXACT:
            if exact_step_fs is None:
                raise ValueError("the exact integrator's sub-steps depend on the dataset's NVE step: pass exact_step_fs")
            return max(1, round(dt_fs / exact_step_fs))
        raise ValueError(f"{self.value} is not a Verlet baseline")


_FIXED_SUBSTEPS = {Baseline.VERLET_K1: 1, Baseline.VERLET_K2: 2, Baseline.VERLET_K4: 4, Baseline.VERLET_K8: 8}

# Velocity-Verlet with k = 1, 2, 4, 8 force calls per stride, on the same frames: the curve on
# which an entry's RMSE is placed to say how many force calls it is worth (score/force_calls.py).
VERLET_K_CURVE = tuple(_FIXED_SUBSTEPS)

_LABELS = {
    Baseline.ZERO_DISPLACEMENT: "zero disp.",
    Baseline.CONSTANT_VELOCITY: "const. velocity",
    Baseline.VERLET_K1: "Verlet k=1",
    Baseline.VERLET_K2: "Verlet k=2",
    Baseline.VERLET_K4: "Verlet k=4",
    Baseline.VERLET_K8: "Verlet k=8",
    Baseline.VERLET_EXACT: "exact integrator (Verlet at the targets' step)",
}
_DESCRIPTIONS = {
    Baseline.ZERO_DISPLACEMENT: "r(t+Δt) = r(t), v(t+Δt) = v(t)",
    Baseline.CONSTANT_VELOCITY: "r(t+Δt) = r(t) + v(t)Δt, v(t+Δt) = v(t)",
    Baseline.VERLET_K1: "velocity-Verlet with the true EAM forces (LAMMPS), one step of size Δt: one force call per stride",
    Baseline.VERLET_K2: "velocity-Verlet with the true EAM forces (LAMMPS), 2 steps of size Δt/2: two force calls per stride",
    Baseline.VERLET_K4: "velocity-Verlet with the true EAM forces (LAMMPS), 4 steps of size Δt/4: four force calls per stride",
    Baseline.VERLET_K8: "velocity-Verlet with the true EAM forces (LAMMPS), 8 steps of size Δt/8: eight force calls per stride",
    Baseline.VERLET_EXACT: "velocity-Verlet with the true EAM forces (LAMMPS) at the dataset's NVE-branch step (nve_timestep_fs): "
                           "the integrator that made the NVE-branch targets, so it reproduces them (to storage precision) and "
                           "shows the floor of the NPT-continuation targets",
}

# The suite's own baseline entries (submissions/<name>): the only folders the leaderboard lists as
# kind "baseline". A list in code, not a metadata field: a submission cannot make itself one.
SUITE_BASELINE_ENTRIES = tuple(b.entry_name for b in Baseline)

# Which baselines each part of the report shows beside a submission.
STRIDE_BASELINES = (Baseline.ZERO_DISPLACEMENT, Baseline.CONSTANT_VELOCITY, *VERLET_K_CURVE, Baseline.VERLET_EXACT)
ROLLOUT_BASELINES = (Baseline.VERLET_K1, Baseline.VERLET_K4)
