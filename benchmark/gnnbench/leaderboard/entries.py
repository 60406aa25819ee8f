"""Leaderboard rows: the few numbers per entry that the leaderboard shows, read from ``scores.json``.

Every column is defined here once (``COLUMNS``); the Markdown and HTML writers only format them.
Entries are grouped by the dataset they were scored on (name, config, revision and the sha256 of
its shards and recipes): only entries scored on the same frames share a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..score import SCORER_VERSION
from ..score.baselines import SUITE_BASELINE_ENTRIES, Baseline
from ..score.usability import CheckResult, failed, is_usable, usability, verdict_line
from ..untrusted import short, shown_name
from .fresh_seed import leaderboard_text, read_record
from .validate import board_reports, validate_submission_dir

HEADLINE_SPLIT = "test"
SPLITS = {
    "test": "held-out time windows at the training temperatures",
    "test_temperature": "held-out temperatures",
}
TABLE_DT_FS = (1, 10, 50)
SKILL_DT_FS = 10
HEADLINE_TARGETS = "nve"  # stride accuracy against the NVE-branch targets (the Hamiltonian flow)
# Baselines an entry is held against in its verdict; the exact integrator (the data's own 1 fs
# Verlet, Δt force calls per stride) is the targets' definition, not a competitor.
VERDICT_BASELINES = (Baseline.ZERO_DISPLACEMENT, Baseline.CONSTANT_VELOCITY, Baseline.VERLET_K1, Baseline.VERLET_K2, Baseline.VERLET_K4,
                     Baseline.VERLET_K8)


@dataclass(frozen=True)
class Column:
    """One scored column: ``key`` of :meth:`Entry.values`, its header, its definition with unit.

    ``ci`` says how the 95 % CI beside a value is written: "relative" (±half-width in % of the
    value), "absolute" (±half-width in the value's own format) or "" (no CI exists).
    """

    key: str
    header: str
    definition: str
    fmt: str = ".2e"
    better: str = "lower"  # "lower", "higher" or "" (not a score)
    ci: str = "relative"


COLUMNS = [
    Column("usable", "usable at its stride",
           "whether the entry passes every usability check at its rollout stride (gnnbench/score/usability.py: survival, "
           "NVE energy drift, NVE temperature, structure (RDF), dynamics (VDOS, MSD), stride accuracy vs Verlet k=1); "
           "else how many it fails. The verdicts under the table name each failed check with its numbers", "", "", ""),
    *(Column(f"rmse_{dt}", f"RMSE {dt} fs (Å)",
             f"RMSE of the per-atom displacement vector after one stride of Δt = {dt} fs against the NVE-branch targets: "
             "sqrt(mean over atoms of |Δr_pred − Δr_true|²), in Å, "
             "± the relative half-width of its 95 % bootstrap CI over anchors") for dt in TABLE_DT_FS),
    Column("skill_cv", f"skill vs const. vel. {SKILL_DT_FS} fs",
           f"1 − MSE / MSE(constant velocity r + vΔt) at Δt = {SKILL_DT_FS} fs on the same frames "
           "(1 = perfect, 0 = no better than constant velocity, < 0 = worse), ± the half-width of its 95 % bootstrap CI",
           "+.3f", "higher", "absolute"),
    Column("survival", "NVE rollout survival",
           "fraction of the NVE rollouts (one per trajectory, at the entry's rollout stride, over the 2 ps NVE window) "
           "that never produce a NaN, a pair closer than 1.5 Å, or T above 2 × set-point + 100 K", ".2f", "higher", ""),
    Column("ttf_nve", "NVE time to failure (fs)",
           "mean over NVE rollouts of the time of the first failure (NaN, a pair closer than 1.5 Å, or T above 2 × set-point "
           "+ 100 K); a rollout that survives counts at the horizon (2000 fs on mini), ± the half-width of its 95 % bootstrap CI "
           "over trajectories", ".0f", "higher", "absolute"),
    Column("t_err_nve", "NVE T − MD (K)",
           "mean over NVE rollouts of (mean T of the rollout − mean T of the MD window from the same state), in K, "
           "± the half-width of its 95 % bootstrap CI", "+.1f", "", "absolute"),
    Column("e_drift", "NVE energy drift (meV/atom/ps)",
           "mean over NVE rollouts of |slope| of (EAM potential energy + kinetic energy) per atom against time, in meV/atom/ps "
           "(MD itself: below 0.01), ± the relative half-width of its 95 % bootstrap CI over trajectories", ".3g"),
    Column("vdos_nve", "NVE VDOS error",
           "mean over NVE rollouts of ∫|g_MD(ν) − g_pred(ν)| dν between unit-area vibrational densities of states "
           "(velocity power spectra), against the NVE reference window (0 = same spectrum, 2 = disjoint), "
           "± the relative half-width of its 95 % bootstrap CI", ".3f"),
    Column("rdf_nve", "NVE RDF error (Å)",
           "mean over NVE rollouts of ∫|g_MD(r) − g_pred(r)| dr over [0, 8 Å], in Å, against the NVE reference window, "
           "± the relative half-width of its 95 % bootstrap CI over trajectories", ".3f"),
    Column("survival_thermo", "thermostatted survival",
           "fraction of the thermostatted rollouts (Bussi thermostat applied by the scorer between strides) that never fail",
           ".2f", "higher", ""),
    Column("rdf_thermo", "thermostatted RDF error (Å)",
           "mean over thermostatted rollouts of ∫|g_MD(r) − g_pred(r)| dr, in Å, against the NPT MD at that temperature, "
           "± the relative half-width of its 95 % bootstrap CI over trajectories", ".3f"),
    Column("force_calls", f"Verlet force calls matched {SKILL_DT_FS} fs",
           f"force calls per stride that velocity-Verlet with the true EAM forces needs to match the entry's RMSE at Δt = {SKILL_DT_FS} fs "
           "(log-log interpolation on k = 1, 2, 4, 8 sub-steps on the same anchors; '< 1': less accurate than one Verlet step, "
           "'> 8': more accurate than eight). What a learned step saves on a potential dearer than EAM", "", "higher", ""),
    Column("speedup", "speed-up vs LAMMPS",
           "simulated ns/day of the entry at its rollout stride / ns/day of LAMMPS EAM NPT at 1 fs, "
           "timed on the same machine in the same scoring run (> 1 = faster than MD)", ".3g", "higher", ""),
]


@dataclass
class Entry:
    """One scored submission as the leaderboard sees it."""

    name: str
    folder: Path
    scores: dict
    folder_metadata: dict | None = None  # the folder's validated metadata.yaml

    @property
    def metadata(self) -> dict:
        """The validated metadata.yaml (scores.json holds the same, as scored, less a submission_url added later)."""
        return self.folder_metadata if self.folder_metadata is not None else self.scores["submission"]["metadata"]

    @property
    def is_baseline(self) -> bool:
        """One of the suite's own baselines: decided by the list in code, never by the submission's metadata."""
        return self.name in SUITE_BASELINE_ENTRIES

    @property
    def model_format(self) -> str:
        """The model file's format as the scorer read it (scores.json ``submission.format``); scores written
        before formats were recorded were TorchScript, or built into the scorer (the Verlet baselines)."""
        recorded = self.scores["submission"].get("format")
        if recorded:
            return recorded
        builtin = {b.entry_name for b in Baseline if b.is_verlet}
        return "built-in" if self.name in builtin else "torchscript"

    @property
    def own_strides_fs(self) -> list[int] | None:
        """The only Δt the model takes (a metatomic model's own timestep), or None: any."""
        return self.scores["submission"].get("model_strides_fs")

    @property
    def group(self) -> tuple[str, str, str, str]:
        """(dataset, config, revision, data sha256): entries in one group were scored on the same frames."""
        d = self.scores["dataset"]
        return d["name"], d["config"], d["version"], d["data_sha256"]

    def split(self, split: str) -> dict | None:
        """Stride accuracy on ``split`` against the headline (NVE-branch) targets, or None if it failed."""
        result = self.scores["stride_accuracy"][HEADLINE_TARGETS].get(split)
        return None if not result or result.get("failed") else result

    def errors(self, split: str, dt_fs: int, who: str = "submission") -> dict | None:
        result = self.split(split)
        return (result or {}).get("overall", {}).get(str(dt_fs), {}).get(who)

    def rmse(self, split: str, dt_fs: int, who: str = "submission") -> float | None:
        entry = self.errors(split, dt_fs, who)
        return None if entry is None else entry["rmse_A"]

    def rollouts(self, mode: str) -> dict | None:
        """The entry's own rollout summary in ``mode`` (nve, thermostatted), or None if skipped or failed."""
        result = self.scores["rollouts"].get(mode, {})
        mine = result.get("models", {}).get("submission")
        return None if not mine or mine.get("failed") else mine

    @cached_property
    def checks(self) -> list[CheckResult]:
        """The usability checks at the entry's rollout stride (:mod:`gnnbench.score.usability`), from its scores."""
        return usability(self.scores)

    @property
    def usable(self) -> bool:
        return is_usable(self.checks)

    @property
    def rollout_stride_fs(self) -> int:
        return int(self.scores["submission"]["metadata"]["rollout_stride_fs"])

    def force_calls_text(self, split: str, dt_fs: int = SKILL_DT_FS) -> str:
        """Verlet force calls per stride matching the entry's RMSE at ``dt_fs`` ("2.7", "< 1", "> 8", "—")."""
        at = ((self.split(split) or {}).get("overall", {}).get(str(dt_fs)) or {})
        return (at.get("force_calls_to_match") or {}).get("text", "—")

    @property
    def usability_label(self) -> str:
        n = len(failed(self.checks))
        return "usable" if n == 0 else f"no: fails {n} of {len(self.checks)}"

    @property
    def predicts_velocities(self) -> bool:
        return bool(self.metadata.get("predicts_velocities"))

    @property
    def ablation_of(self) -> str | None:
        return self.metadata.get("ablation_of")

    @property
    def seed_group(self) -> str | None:
        """The recipe this entry is one seed of (metadata ``seed_group``; ``gnnbench train --seed``), or None."""
        return self.metadata.get("seed_group")

    @property
    def date_scored(self) -> str | None:
        """UTC date (YYYY-MM-DD) the scorer wrote into scores.json, or None for older scores."""
        return self.scores.get("scored_on")

    def values_with_ci(self, split: str) -> dict[str, tuple[float | None, list | None]]:
        """(value, its 95 % CI [low, high] or None) of every column for ``split``.

        Rollouts and cost do not depend on the split.
        """
        result = self.split(split)
        at_skill = (result or {}).get("overall", {}).get(str(SKILL_DT_FS), {})
        nve, thermo = self.rollouts("nve"), self.rollouts("thermostatted")

        def stride(dt):
            errors = self.errors(split, dt) or {}
            return errors.get("rmse_A"), errors.get("rmse_A_ci95")

        def rollout(summary, key):
            return (summary.get(key), summary.get(f"{key}_ci95")) if summary else (None, None)

        return {
            "usable": (float(self.usable), None),
            "force_calls": (at_skill.get("force_calls_to_match", {}).get("value"), at_skill.get("force_calls_to_match_ci95")),
            **{f"rmse_{dt}": stride(dt) for dt in TABLE_DT_FS},
            "skill_cv": (at_skill.get("skill_vs_constant_velocity"), at_skill.get("skill_vs_constant_velocity_ci95")),
            "survival": rollout(nve, "survival_fraction"),
            "ttf_nve": rollout(nve, "time_to_failure_fs"),
            "t_err_nve": rollout(nve, "temperature_mean_error_K"),
            "vdos_nve": rollout(nve, "vdos_error"),
            "e_drift": rollout(nve, "abs_total_energy_drift_meV_per_atom_per_ps"),
            "rdf_nve": rollout(nve, "rdf_error_A"),
            "survival_thermo": rollout(thermo, "survival_fraction"),
            "rdf_thermo": rollout(thermo, "rdf_error_A"),
            "speedup": (self.scores["cost"].get("speedup_vs_lammps"), None),
        }

    def values(self, split: str) -> dict[str, float | None]:
        """The leaderboard's numbers for ``split``."""
        return {key: value for key, (value, _) in self.values_with_ci(split).items()}

    def rollout_label_of(self, mode: str) -> str:
        mine = self.rollouts(mode)
        if mine is None:
            return "failed or skipped"
        result = self.scores["rollouts"][mode]
        survived = sum(1 for t in mine["per_trajectory"].values() if t["survived"])
        return f"{survived}/{result['n_rollouts']} at {result['stride_fs']} fs"

    @property
    def rollout_sentence(self) -> str:
        parts = []
        for mode in ("nve", "thermostatted"):
            mine = self.rollouts(mode)
            if mine is None:
                parts.append(f"Its {mode} rollouts failed or were skipped.")
                continue
            result = self.scores["rollouts"][mode]
            survived = sum(1 for t in mine["per_trajectory"].values() if t["survived"])
            parts.append(f"{survived} of its {result['n_rollouts']} {mode} rollouts survive {result['horizon_fs']} fs "
                         f"at {result['stride_fs']} fs strides.")
        return " ".join(parts)


MAX_PROBLEMS_SHOWN = 5  # per excluded folder, each cut to a short line


def collect_entries(submissions_dir: Path) -> tuple[list[Entry], dict[str, list[str]]]:
    """Valid entries under ``submissions_dir`` (sorted by name) and, per excluded folder, its problems.

    Valid: every folder passes its own checks, then the board's across them all
    (:func:`~.validate.board_reports`: no model file twice, seed groups and ablations that join only
    their own authors' entries, the same baseline numbers on one dataset build). An entry that breaks
    a board rule is excluded with the reason, so it is left out of any group it claimed.
    An excluded folder is keyed by its name as it may be shown (:func:`shown_name`: the ``repr`` of
    a name outside the safe pattern), with at most MAX_PROBLEMS_SHOWN short problems."""
    entries, excluded = [], {}
    folders = sorted(p for p in Path(submissions_dir).iterdir() if p.is_dir() and not p.name.startswith("."))
    reports = [validate_submission_dir(folder, board=False) for folder in folders]
    board_reports(reports)
    for folder, report in zip(folders, reports, strict=True):
        if not report.ok:  # paths relative to the folder, so the text does not depend on where the repository is
            problems = [short(problem.replace(f"{folder}/", "")) for problem in report.problems[:MAX_PROBLEMS_SHOWN]]
            if len(report.problems) > MAX_PROBLEMS_SHOWN:
                problems.append(f"and {len(report.problems) - MAX_PROBLEMS_SHOWN} more")
            excluded[shown_name(folder.name)] = problems
            continue
        entries.append(Entry(folder.name, folder, report.scores, report.metadata))
    return entries, excluded


def ranked(entries: list[Entry], split: str) -> list[Entry]:
    """Entries in leaderboard order, built on the usability verdict (:mod:`gnnbench.score.usability`).

    1. Tiers: usable entries (every check passes); then entries that pass every physical check
       but lose to Verlet k = 1 per stride; then entries that fail a physical check, fewest
       failed checks first. Within a tier: RMSE at Δt = SKILL_DT_FS on ``split`` (missing
       last), then name.
    2. A learned entry that fails a physical check never ranks above a baseline that passes
       that check: it is held back until every such baseline is placed (the constraints run
       from baselines to learned entries only, so they can always be met).
    """
    def key(entry: Entry):
        physical = failed(entry.checks, physical=True)
        tier = 0 if entry.usable else 1 if not physical else 2
        value = entry.rmse(split, SKILL_DT_FS)
        return (tier, len(failed(entry.checks)) if tier == 2 else 0, value is None or not math.isfinite(value),
                value if value is not None else 0.0, entry.name)

    def must_follow(entry: Entry) -> set[str]:
        if entry.is_baseline:
            return set()
        failing = {r.check for r in failed(entry.checks, physical=True)}
        return {b.name for b in entries if b.is_baseline and any(r.ok and r.check in failing for r in b.checks)}

    remaining, order = sorted(entries, key=key), []
    while remaining:
        placed = {e.name for e in order}
        entry = next(e for e in remaining if must_follow(e) <= placed)
        order.append(entry)
        remaining.remove(entry)
    return order


def format_value(column: Column, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    text = format(value, column.fmt)
    return text.replace("-", "", 1) if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def format_ci(column: Column, value: float | None, ci: list | None) -> str:
    """The CI beside a value as the column writes it ("±9%", "±0.004"), or "" where there is none."""
    if not column.ci or ci is None or value is None or None in ci or not all(map(math.isfinite, [value, *ci])):
        return ""
    half = (ci[1] - ci[0]) / 2
    if column.ci == "absolute":
        return "±" + format(half, column.fmt.lstrip("+"))
    return f"±{100 * half / abs(value):.0f}%" if value else ""


def baseline_rmse(entry: Entry, group: list[Entry], split: str) -> dict[str, dict[int, float]]:
    """RMSE at each of TABLE_DT_FS of every baseline to hold ``entry`` against, by baseline name.

    First the baselines the scorer computed in ``entry``'s own run (zero displacement, constant
    velocity, Verlet k=1, 4: the key ``verlet_eam_k4`` is the entry ``verlet-eam-k4``), then the
    baseline entries of its group that its run did not include; a group shares its frames.
    """
    out: dict[str, dict[int, float]] = {}
    if entry.split(split):
        for baseline in VERDICT_BASELINES:
            out[baseline.entry_name] = {dt: entry.rmse(split, dt, baseline.value) for dt in TABLE_DT_FS}
    for other in group:
        if other.is_baseline and other.name not in out and other.split(split):
            out[other.name] = {dt: other.rmse(split, dt) for dt in TABLE_DT_FS}
    return {name: {dt: v for dt, v in by_dt.items() if v is not None} for name, by_dt in sorted(out.items(), key=lambda kv: _baseline_order(kv[0]))}


def seed_spread(entries: list[Entry], split: str) -> tuple[list[str], list[list[str]]]:
    """One row per recipe scored with two seeds or more (entries sharing ``seed_group``): the number
    of seeds and, at each of TABLE_DT_FS, the mean RMSE over seeds with its min–max (Å)."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.seed_group and entry.split(split):
            groups.setdefault(entry.seed_group, []).append(entry)
    headers = ["recipe", "seeds", *(f"RMSE {dt} fs (Å): mean (min–max)" for dt in TABLE_DT_FS)]
    rows = []
    for recipe, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        cells = [recipe, ", ".join(sorted(e.name for e in members))]
        for dt in TABLE_DT_FS:
            values = [v for v in (e.rmse(split, dt) for e in members) if v is not None]
            cells.append(f"{sum(values) / len(values):.3g} ({min(values):.3g}–{max(values):.3g})" if values else "—")
        rows.append(cells)
    return headers, rows


def _baseline_order(name: str):
    order = [b.entry_name for b in Baseline]
    return (order.index(name), name) if name in order else (len(order), name)


def _dts(dts: list[int]) -> str:
    return (", ".join(map(str, dts[:-1])) + " and " if len(dts) > 1 else "") + f"{dts[-1]} fs"


def verdict(entry: Entry, group: list[Entry], split: str = HEADLINE_SPLIT, name=str) -> str:
    """Plain words: whether the entry is usable at its stride (every failed check named with its
    numbers), then at which of TABLE_DT_FS it loses to which baseline, on the same frames.

    ``name`` formats an entry's name for where the text goes (Markdown passes its escaping)."""
    usable = f"**{verdict_line(entry.checks, entry.rollout_stride_fs)}.** "
    if entry.split(split) is None:
        return usable + "Stride accuracy failed; see its scores.json."
    baselines = baseline_rmse(entry, group, split)
    losses, wins, lost_everywhere = [], [], True
    for other, by_dt in baselines.items():
        mine = {dt: entry.rmse(split, dt) for dt in by_dt}
        lost = [dt for dt in by_dt if mine[dt] is not None and mine[dt] > by_dt[dt]]
        won = [dt for dt in by_dt if dt not in lost and mine[dt] is not None]
        lost_everywhere &= len(lost) == len(TABLE_DT_FS)
        if lost:
            numbers = ", ".join(f"{mine[dt]:.2e} vs {by_dt[dt]:.2e}" for dt in lost)
            losses.append(f"to {name(other)} at {_dts(lost)} ({numbers} Å)")
        if won:
            wins.append(f"{name(other)} at {_dts(won)}")
    if entry.is_baseline:
        return usable + entry.rollout_sentence
    text_after = " " + leaderboard_text(read_record(entry.folder, entry.scores)[0])
    if losses and lost_everywhere:
        worst = min(baselines, key=lambda n: _baseline_order(n))
        text = (f"**loses to every baseline at {_dts(list(TABLE_DT_FS))}**, {name(worst)} included "
                f"({', '.join(f'{entry.rmse(split, dt):.2e} vs {baselines[worst][dt]:.2e}' for dt in TABLE_DT_FS)} Å).")
    elif losses:
        text = "**loses** " + "; ".join(losses) + ". It beats " + ("; ".join(wins) if wins else "none of them") + "."
    else:
        text = f"beats every baseline at {_dts(list(TABLE_DT_FS))}."
    return usable + text + " " + entry.rollout_sentence + text_after

SECONDARY_COLUMNS = [c for c in COLUMNS if c.key.startswith("rmse_") or c.key in ("skill_cv", "force_calls")]
# The tables of each section: the headline split with every column, then the others with accuracy only.
TABLES = [(HEADLINE_SPLIT, COLUMNS), *((split, SECONDARY_COLUMNS) for split in SPLITS if split != HEADLINE_SPLIT)]


def table_cells(entry: Entry, split: str, columns: list[Column]) -> list[tuple[str, str, float | str | None]]:
    """(column key, text shown, value to sort by) for each leading and scored column of a row."""
    values = entry.values_with_ci(split)
    kind = "baseline" if entry.is_baseline else "learned"
    cells = [
        ("entry", entry.name, entry.name),
        ("kind", kind, kind),
        ("params", f"{entry.metadata['parameter_count']:,}", entry.metadata["parameter_count"]),
        ("format", entry.model_format, entry.model_format),
    ]
    for column in columns:
        value, ci = values[column.key]
        if column.key in ("survival", "survival_thermo"):
            text = entry.rollout_label_of("nve" if column.key == "survival" else "thermostatted")
        elif column.key == "usable":
            text = entry.usability_label
        elif column.key == "force_calls":
            text = entry.force_calls_text(split)
        else:
            text = " ".join(filter(None, [format_value(column, value), format_ci(column, value, ci)]))
        cells.append((column.key, text, value))
    cells.append(("scored", entry.date_scored or "—", entry.date_scored))
    return cells


LEADING_HEADERS = {"entry": "entry", "kind": "kind", "params": "parameters", "format": "format"}
DATE_HEADER = {"scored": "date scored"}


def table_layout(entries: list[Entry], split: str, columns: list[Column]) -> tuple[dict[str, str], dict[str, str]]:
    """(key -> header of the columns a table shows, header -> text of the columns it states once).

    A scored column (or the date) whose text is the same for every entry of the table carries
    no information for comparing them, so the table states it once below instead of repeating
    it in every row. A table of one entry keeps all its columns.
    """
    headers = LEADING_HEADERS | {c.key: c.header for c in columns} | DATE_HEADER
    texts: dict[str, set] = {}
    for entry in entries:
        for key, text, _ in table_cells(entry, split, columns):
            texts.setdefault(key, set()).add(text)
    constant = {key for key, shown in texts.items()
                if len(entries) > 1 and len(shown) == 1 and key not in LEADING_HEADERS}
    return ({key: header for key, header in headers.items() if key not in constant},
            {headers[key]: next(iter(texts[key])) for key in headers if key in constant})


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
    dataset, config, version, data_sha256 = key
    return f"{dataset} v{version}, config `{config}` (dataset build {data_sha256[:12]})"


def plot_filename(key: tuple[str, str, str, str]) -> str:
    _, config, version, data_sha256 = key
    return f"error_vs_dt-{config}-v{version}-{data_sha256[:8]}.svg"
