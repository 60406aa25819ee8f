"""Leaderboard rows: the few numbers per entry that the leaderboard shows, read from ``scores.json``.

Every column is defined here once (``COLUMNS``); the Markdown and HTML writers only format them.
Entries are grouped by the dataset they were scored on (name, config, revision and the sha256 of
its manifest): only entries scored on the same frames share a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..score import SCORER_VERSION
from .validate import validate_submission_dir

HEADLINE_SPLIT = "test"
SPLITS = {
    "test": "held-out time windows at the training temperatures",
    "test_temperature": "held-out temperatures",
}
TABLE_DT_FS = (1, 10, 50)
SKILL_DT_FS = 10
BASELINE_LABELS = {"zero_displacement": "zero displacement", "constant_velocity": "constant velocity"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    definition: str
    fmt: str = ".2e"
    better: str = "lower"  # "lower", "higher" or "" (not a score)


COLUMNS = [
    *(Column(f"rmse_{dt}", f"RMSE {dt} fs (Å)",
             f"RMSE of the per-atom displacement vector after one stride of Δt = {dt} fs: "
             "sqrt(mean over atoms of |Δr_pred − Δr_true|²), in Å") for dt in TABLE_DT_FS),
    Column("skill_cv", f"skill vs const. vel. {SKILL_DT_FS} fs",
           f"1 − MSE / MSE(constant velocity r + vΔt) at Δt = {SKILL_DT_FS} fs on the same frames "
           "(1 = perfect, 0 = no better than constant velocity, < 0 = worse)", "+.3f", "higher"),
    Column("survival", "rollout survival",
           "fraction of the rollouts (one per trajectory, at the entry's rollout stride, over the protocol's horizon) "
           "that never produce a NaN, a pair closer than 1.5 Å, or T above 3× the set-point", ".2f", "higher"),
    Column("rdf_error", "RDF error",
           "mean over rollouts of ∫|g_MD(r) − g_pred(r)| dr / ∫|g_MD(r) − 1| dr (dimensionless)", ".3f"),
    Column("t_drift", "T drift (K/ps)",
           "mean over rollouts of |dT/dt(pred) − dT/dt(MD)|, each dT/dt the slope of a least-squares line "
           "through the kinetic temperature against time (K/ps)", ".3g"),
    Column("v_drift", "V drift (Å³/ps)",
           "mean over rollouts of |dV/dt(pred) − dV/dt(MD)|, slopes of least-squares lines through the cell "
           "volume against time (Å³/ps). An entry that does not predict the cell holds it fixed, so its value is "
           "the MD volume drift it misses", ".3g"),
    Column("speedup", "speed-up vs LAMMPS",
           "simulated ns/day of the entry at its rollout stride / ns/day of LAMMPS EAM NPT at 1 fs, "
           "timed on the same machine in the same scoring run (> 1 = faster than MD)", ".3g", "higher"),
]


@dataclass
class Entry:
    """One scored submission as the leaderboard sees it."""

    name: str
    folder: Path
    scores: dict

    @property
    def metadata(self) -> dict:
        return self.scores["submission"]["metadata"]

    @property
    def is_baseline(self) -> bool:
        return bool(self.metadata.get("baseline"))

    @property
    def group(self) -> tuple[str, str, str, str]:
        """(dataset, config, revision, manifest sha256): entries in one group were scored on the same frames."""
        d = self.scores["dataset"]
        return d["name"], d["config"], d["version"], d["manifest_sha256"]

    def split(self, split: str) -> dict | None:
        result = self.scores["stride_accuracy"].get(split)
        return None if not result or result.get("failed") else result

    def rmse(self, split: str, dt_fs: int, who: str = "submission") -> float | None:
        result = self.split(split)
        entry = (result or {}).get("overall", {}).get(str(dt_fs), {}).get(who)
        return None if entry is None else entry["rmse_A"]

    def values(self, split: str) -> dict[str, float | None]:
        """The leaderboard's numbers for ``split`` (rollouts and cost do not depend on the split)."""
        result = self.split(split)
        at_skill = (result or {}).get("overall", {}).get(str(SKILL_DT_FS), {})
        rollouts = self.scores["rollouts"] if "per_trajectory" in self.scores["rollouts"] else None
        cost = self.scores["cost"]
        return {
            **{f"rmse_{dt}": self.rmse(split, dt) for dt in TABLE_DT_FS},
            "skill_cv": at_skill.get("skill_vs_constant_velocity"),
            "survival": rollouts["survival_fraction"] if rollouts else None,
            "rdf_error": rollouts["mean_rdf_error"] if rollouts else None,
            "t_drift": _mean_drift_excess(rollouts, "temperature_K"),
            "v_drift": _mean_drift_excess(rollouts, "volume_A3"),
            "speedup": cost.get("speedup_vs_lammps"),
        }

    @property
    def rollout_label(self) -> str:
        r = self.scores["rollouts"]
        if "per_trajectory" not in r:
            return "failed" if r.get("failed") else "skipped"
        survived = sum(1 for t in r["per_trajectory"].values() if t["survived"])
        return f"{survived}/{r['n_rollouts']} at {r['stride_fs']} fs"


    @property
    def rollout_sentence(self) -> str:
        r = self.scores["rollouts"]
        if "per_trajectory" not in r:
            return f"Rollouts {'failed' if r.get('failed') else 'were skipped'}."
        survived = sum(1 for t in r["per_trajectory"].values() if t["survived"])
        return f"{survived} of its {r['n_rollouts']} rollouts survive {r['horizon_fs']} fs at {r['stride_fs']} fs strides."


def _mean_drift_excess(rollouts: dict | None, quantity: str) -> float | None:
    if not rollouts:
        return None
    excess = [abs(t[quantity]["submission_drift_per_ps"] - t[quantity]["md_drift_per_ps"])
              for t in rollouts["per_trajectory"].values()
              if t[quantity].get("submission_drift_per_ps") is not None and t[quantity].get("md_drift_per_ps") is not None]
    return float(sum(excess) / len(excess)) if excess else None


def collect_entries(submissions_dir: Path) -> tuple[list[Entry], dict[str, list[str]]]:
    """Valid entries under ``submissions_dir`` (sorted by name) and, per excluded folder, its problems."""
    entries, excluded = [], {}
    for folder in sorted(p for p in Path(submissions_dir).iterdir() if p.is_dir() and not p.name.startswith(".")):
        report = validate_submission_dir(folder)
        if not report.ok:  # paths relative to the folder, so the text does not depend on where the repository is
            excluded[folder.name] = [problem.replace(f"{folder}/", "") for problem in report.problems]
            continue
        entries.append(Entry(folder.name, folder, report.scores))
    return entries, excluded


def ranked(entries: list[Entry], split: str) -> list[Entry]:
    """Entries ordered by RMSE at Δt = SKILL_DT_FS on ``split`` (missing last), then by name."""
    def key(entry: Entry):
        value = entry.rmse(split, SKILL_DT_FS)
        return (value is None or not math.isfinite(value), value if value is not None else 0.0, entry.name)

    return sorted(entries, key=key)


def format_value(column: Column, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    text = format(value, column.fmt)
    return text.replace("-", "", 1) if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def baseline_rmse(entry: Entry, group: list[Entry], split: str) -> dict[str, dict[int, float]]:
    """RMSE at each of TABLE_DT_FS of every baseline to hold ``entry`` against, by baseline name.

    First the baselines the scorer computed in ``entry``'s own run (zero displacement, constant
    velocity, Verlet k=…: the key ``verlet_eam_k4`` is the entry ``verlet-eam-k4``), then the
    baseline entries of its group that its run did not include; a group shares its frames.
    """
    out: dict[str, dict[int, float]] = {}
    result = entry.split(split)
    if result:
        for key in result["overall"][str(TABLE_DT_FS[0])]:
            if key in BASELINE_LABELS or key.startswith("verlet_eam_k"):
                out[key.replace("_", "-")] = {dt: entry.rmse(split, dt, key) for dt in TABLE_DT_FS}
    for other in group:
        if other.is_baseline and other.name not in out and other.split(split):
            out[other.name] = {dt: other.rmse(split, dt) for dt in TABLE_DT_FS}
    return {name: {dt: v for dt, v in by_dt.items() if v is not None} for name, by_dt in sorted(out.items(), key=lambda kv: _baseline_order(kv[0]))}


def _baseline_order(name: str):
    fixed = ["zero-displacement", "constant-velocity"]
    return (fixed.index(name), 0, name) if name in fixed else (2, int(name.rsplit("k", 1)[1]) if name.startswith("verlet-eam-k") else 0, name)


def _dts(dts: list[int]) -> str:
    return (", ".join(map(str, dts[:-1])) + " and " if len(dts) > 1 else "") + f"{dts[-1]} fs"


def verdict(entry: Entry, group: list[Entry], split: str = HEADLINE_SPLIT) -> str:
    """Plain words: at which of TABLE_DT_FS the entry loses to which baseline, on the same frames."""
    if entry.split(split) is None:
        return "stride accuracy failed; see its scores.json."
    baselines = baseline_rmse(entry, group, split)
    losses, wins, lost_everywhere = [], [], True
    for name, by_dt in baselines.items():
        mine = {dt: entry.rmse(split, dt) for dt in by_dt}
        lost = [dt for dt in by_dt if mine[dt] is not None and mine[dt] > by_dt[dt]]
        won = [dt for dt in by_dt if dt not in lost and mine[dt] is not None]
        lost_everywhere &= len(lost) == len(TABLE_DT_FS)
        if lost:
            numbers = ", ".join(f"{mine[dt]:.2e} vs {by_dt[dt]:.2e}" for dt in lost)
            losses.append(f"to {name} at {_dts(lost)} ({numbers} Å)")
        if won:
            wins.append(f"{name} at {_dts(won)}")
    if losses and lost_everywhere:
        worst = min(baselines, key=lambda n: _baseline_order(n))
        text = (f"**loses to every baseline at {_dts(list(TABLE_DT_FS))}**, {worst} included "
                f"({', '.join(f'{entry.rmse(split, dt):.2e} vs {baselines[worst][dt]:.2e}' for dt in TABLE_DT_FS)} Å).")
    elif losses:
        text = "**loses** " + "; ".join(losses) + ". It beats " + ("; ".join(wins) if wins else "none of them") + "."
    else:
        text = f"beats every baseline at {_dts(list(TABLE_DT_FS))}."
    return text + " " + entry.rollout_sentence

SECONDARY_COLUMNS = [c for c in COLUMNS if c.key.startswith("rmse_") or c.key == "skill_cv"]
# The tables of each section: the headline split with every column, then the others with accuracy only.
TABLES = [(HEADLINE_SPLIT, COLUMNS), *((split, SECONDARY_COLUMNS) for split in SPLITS if split != HEADLINE_SPLIT)]


def table_cells(entry: Entry, split: str, columns: list[Column]) -> list[tuple[str, str, float | str | None]]:
    """(column key, text shown, value to sort by) for each leading and scored column of a row."""
    values = entry.values(split)
    cells = [
        ("entry", entry.name, entry.name),
        ("kind", "baseline" if entry.is_baseline else "learned", "baseline" if entry.is_baseline else "learned"),
        ("params", f"{entry.metadata['parameter_count']:,}", entry.metadata["parameter_count"]),
    ]
    for column in columns:
        text = entry.rollout_label if column.key == "survival" else format_value(column, values[column.key])
        cells.append((column.key, text, values[column.key]))
    return cells


def group_entries(entries: list[Entry]) -> dict[tuple[str, str, str, str], list[Entry]]:
    """Entries by the dataset build they were scored on, groups in a fixed order."""
    groups: dict[tuple[str, str, str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    return dict(sorted(groups.items()))


def split_caption(entries: list[Entry], split: str) -> str:
    """'70 anchors × 256 atoms per Δt', or a warning if entries disagree (they should not, in one group)."""
    sizes = sorted({(e.split(split)["n_anchors"], e.split(split)["n_atoms"]) for e in entries if e.split(split)})
    if not sizes:
        return "no entry scored it"
    text = ", ".join(f"{a} anchors × {n} atoms per Δt" for a, n in sizes)
    return text if len(sizes) == 1 else f"entries disagree: {text}"


SCORER_NOTE = (f"Every entry was scored by gnnbench scorer {SCORER_VERSION}; `gnnbench validate` turns away scores "
               "from any other scorer version or dataset revision.")


def group_title(key: tuple[str, str, str, str]) -> str:
    dataset, config, version, manifest_sha256 = key
    return f"{dataset} v{version}, config `{config}` (dataset build {manifest_sha256[:12]})"


def plot_filename(key: tuple[str, str, str, str]) -> str:
    _, config, version, manifest_sha256 = key
    return f"error_vs_dt-{config}-v{version}-{manifest_sha256[:8]}.svg"
