"""Print the measured side of REPRODUCTION.md: the paper's Tables 4-8 beside our scores.

    python scripts/reproduction_tables.py [--submissions submissions] > /tmp/tables.md

Every number comes from a committed ``submissions/<entry>/scores.json`` (``ablations/<entry>/`` for
the Tables 7/8 ablations, scored on strides only) (the learned entries and
the baselines the scorer computed in the same run, on the same frames). Errors are the RMSE of the
per-atom displacement vector, sqrt(mean_i |r_pred,i − r_true,i|²) in Å, with the 95 % bootstrap
CI over anchors in brackets; "NVE" = against the NVE branch from the anchor (the task), "NPT" =
against the NPT continuation (the paper's protocol, with its barostat floor).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import yaml

PAPER_TABLE_4 = {1: 0.00022, 5: 0.00065, 10: 0.0019, 15: 0.033, 20: 0.049, 30: 0.079, 40: 0.118, 50: 0.13}
PAPER_TABLE_6 = {5: 0.00047, 50: 0.00092, 100: 0.00055, 150: 0.00068, 200: 0.00043, 300: 0.00066, 350: 0.00065,
                 400: 0.00076, 450: 0.00053, 500: 0.00072, 550: 0.00066, 600: 0.00063, 650: 0.00083, 700: 0.00082,
                 750: 0.00084, 800: 0.00084}
BASELINES = {"zero_displacement": "zero displacement", "constant_velocity": "constant velocity r + vΔt",
             "verlet_eam_k1": "Verlet k = 1 (true EAM)", "verlet_eam_k4": "Verlet k = 4 (true EAM)"}


def cell(errors: dict | None) -> str:
    if not errors:
        return "—"
    low, high = errors["rmse_A_ci95"]
    return f"{errors['rmse_A']:.2g} [{low:.2g}, {high:.2g}]"


def learned_entries(submissions: Path) -> list[tuple[str, dict, dict]]:
    """(shown name, metadata, scores) of every learned entry: those scored by the current scorer on
    the current dataset first (the baseline rows come from the first entry's run), then any older
    scores, each named with the dataset and scorer that gave them (other frames: not comparable)."""
    from gnnbench import DATASET_VERSION
    from gnnbench.score import SCORER_VERSION

    current, older = [], []
    for folder in sorted(p for p in submissions.iterdir() if (p / "scores.json").is_file()):
        metadata = yaml.safe_load((folder / "metadata.yaml").read_text())
        if metadata.get("baseline"):
            continue
        scores = json.loads((folder / "scores.json").read_text())
        if (scores["dataset"]["version"], scores["scorer_version"]) == (DATASET_VERSION, SCORER_VERSION):
            current.append((folder.name, metadata, scores))
        else:
            older.append((f"{folder.name} (dataset {scores['dataset']['version']}, scorer {scores['scorer_version']})", metadata, scores))
    return current + older


def stride_table(entries, targets: str, split: str, temperature: str | None, dts: list[int], paper: dict | None) -> str:
    """Rows: the paper (if given), each learned entry, then the baselines of the first entry's run."""
    header = "| model | " + " | ".join(f"{dt} fs" for dt in dts) + " |\n|---|" + "---|" * len(dts) + "\n"
    rows = []
    if paper:
        rows.append("| paper (definition unknown; NPT continuation) | " + " | ".join(f"{paper[dt]:.2g}" if dt in paper else "—" for dt in dts) + " |")

    def errors_of(scores, who):
        result = scores["stride_accuracy"][targets].get(split) or {}
        by_dt = result.get("per_temperature", {}).get(temperature, {}) if temperature else result.get("overall", {})
        return [cell(by_dt.get(str(dt), {}).get(who)) for dt in dts]

    for name, _, scores in entries:
        rows.append(f"| {name} | " + " | ".join(errors_of(scores, "submission")) + " |")
    if entries:
        for key, label in BASELINES.items():
            rows.append(f"| {label} | " + " | ".join(errors_of(entries[0][2], key)) + " |")
    return header + "\n".join(rows) + "\n"


def temperature_table(entries, targets: str, dt: int) -> str:
    """Table 6: RMSE at one Δt per temperature, training temperatures (split test) and held-out ones (test_temperature)."""
    per_t: dict[int, dict[str, str]] = {}
    columns = [name for name, _, _ in entries] + list(BASELINES)
    for split in ("test", "test_temperature"):
        for name, _, scores in entries:
            result = scores["stride_accuracy"][targets].get(split) or {}
            for temperature, by_dt in result.get("per_temperature", {}).items():
                row = per_t.setdefault(int(float(temperature)), {"split": split})
                row[name] = cell(by_dt.get(str(dt), {}).get("submission"))
                for key in BASELINES:
                    row.setdefault(key, cell(by_dt.get(str(dt), {}).get(key)))
    header = ("| T (K) | split | paper | " + " | ".join(BASELINES.get(c, c) for c in columns) + " |\n|---|---|---|"
              + "---|" * len(columns) + "\n")
    rows = [f"| {t} | {row['split']} | {PAPER_TABLE_6.get(t, '—')} | " + " | ".join(row.get(c, "—") for c in columns) + " |"
            for t, row in sorted(per_t.items())]
    return header + "\n".join(rows) + "\n"


def rollout_table(entries) -> str:
    """Table 5's measured counterpart: thermostatted rollouts at the entry's stride (the cell is held fixed)."""
    keys = [("survival_fraction", "survived (fraction)"), ("temperature_mean_error_K", "mean T error (K)"),
            ("rdf_error_A", "RDF error (Å)"), ("rdf_noise_floor_A", "RDF MD noise floor (Å)")]
    header = ("| model | mode | stride (fs) | horizon (fs) | " + " | ".join(label for _, label in keys) + " |\n"
              + "|---|---|---|---|" + "---|" * len(keys) + "\n")
    rows = []
    for name, _, scores in entries:
        for mode in ("thermostatted", "nve"):
            result = scores.get("rollouts", {}).get(mode) or {}
            mine = result.get("models", {}).get("submission")
            if not mine or mine.get("failed"):
                rows.append(f"| {name} | {mode} | — | — | " + " | ".join("—" for _ in keys) + " |")
                continue
            values = []
            for key, _ in keys:  # NVE rollouts have no thermostat set-point, so no mean T error
                if mine.get(key) is None:
                    values.append("—")
                    continue
                low, high = mine[f"{key}_ci95"]
                values.append(f"{mine[key]:.3g} [{low:.3g}, {high:.3g}]")
            rows.append(f"| {name} | {mode} | {result['stride_fs']} | {result['horizon_fs']} | " + " | ".join(values) + " |")
    return header + "\n".join(rows) + "\n"


# The paper's ablation rows (MSE loss in Å², "loss in Å" = its square root) and our entry for each.
PAPER_TABLE_7 = [("depth 6", 6e-7, 0.0008, "reference-gnn-mini"),
                 ("depth 4", 9e-7, 0.0009, "reference-gnn-mini-depth4-width128"),
                 ("depth 2", 1e-6, 0.0010, "reference-gnn-mini-depth2-width128")]
PAPER_TABLE_8 = [("width 128", 9e-7, 0.0009, "reference-gnn-mini-depth4-width128"),
                 ("width 64", 1e-6, 0.0010, "reference-gnn-mini-depth4-width64"),
                 ("width 32", 9e-6, 0.0030, "reference-gnn-mini-depth4-width32")]


def best_validation_loss(folder: Path) -> float | None:
    """The lowest validation loss in the entry's committed training log (MSE of Δr, Å²), or None."""
    log = folder / "log.csv"
    if not log.is_file():
        return None
    with log.open() as handle:
        return min(float(row["validation_loss"]) for row in csv.DictReader(handle))


def ablation_table(entries, folders: list[Path], paper_rows: list | None) -> str:
    """Tables 7/8: the paper's loss beside ours (best validation MSE, the paper's quantity) and the
    scored test RMSE at 5 and 10 fs with its CI. ``paper_rows=None``: our own ablations of the base."""
    by_name = {metadata["name"]: (shown, metadata, scores) for shown, metadata, scores in entries}
    if paper_rows is None:
        rows = [("—", None, None, metadata["name"]) for _, metadata, _ in entries
                if metadata.get("ablation_of") == "reference-gnn-mini" and metadata["name"] not in
                {row[3] for row in PAPER_TABLE_7 + PAPER_TABLE_8}]
        rows = [("base", None, None, "reference-gnn-mini")] + rows
    else:
        rows = paper_rows
    header = ("| paper row | paper MSE (Å²) | paper loss (Å) | our entry | ablation | our best validation MSE (Å²) "
              "| its square root (Å) | test NVE RMSE at 5 fs (Å) | at 10 fs (Å) | constant velocity at 10 fs, same frames |\n"
              "|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for label, paper_mse, paper_loss, name in rows:
        shown, metadata, scores = by_name.get(name, (name, {}, None))
        validation = next((best_validation_loss(folder / name) for folder in folders if (folder / name).is_dir()), None)
        overall = scores["stride_accuracy"]["nve"]["test"]["overall"] if scores else {}
        at_5, at_10 = overall.get("5", {}), overall.get("10", {})
        lines.append(f"| {label} | {paper_mse if paper_mse is not None else '—'} | {paper_loss if paper_loss is not None else '—'} "
                     f"| {shown if scores else name + ' (not scored)'} | {'base' if name == 'reference-gnn-mini' else metadata.get('ablation', '—')} "
                     f"| {f'{validation:.2g}' if validation is not None else '—'} "
                     f"| {f'{math.sqrt(validation):.2g}' if validation is not None else '—'} "
                     f"| {cell(at_5.get('submission'))} | {cell(at_10.get('submission'))} | {cell(at_10.get('constant_velocity'))} |")
    return header + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=Path, default=Path("submissions"))
    parser.add_argument("--ablations", type=Path, default=Path("ablations"), help="scored ablations (strides only)")
    args = parser.parse_args()
    entries = learned_entries(args.submissions)
    every_entry = entries + (learned_entries(args.ablations) if args.ablations.is_dir() else [])
    entries = [entry for entry in entries if not entry[1].get("ablation_of")]  # Tables 4-6: no ablations
    dts = [1, 5, 10, 15, 20, 30, 40, 50]
    print("### Table 4: RMSE (Å) against Δt at 350 K (a held-out temperature: split test_temperature)\n")
    for targets in ("nve", "npt"):
        print(f"Targets: {targets.upper()}.\n")
        print(stride_table(entries, targets, "test_temperature", "350", dts, PAPER_TABLE_4 if targets == "npt" else None))
    print("### Table 4 on every test frame (split test, training temperatures)\n")
    for targets in ("nve", "npt"):
        print(f"Targets: {targets.upper()}.\n")
        print(stride_table(entries, targets, "test", None, dts, None))
    print("### Table 5: rollouts (thermostatted at the trajectory's temperature, and NVE)\n")
    print(rollout_table(entries))
    for dt in (1, 10):
        print(f"### Table 6: RMSE (Å) per temperature at Δt = {dt} fs, NVE targets (the paper gives no Δt)\n")
        print(temperature_table(entries, "nve", dt))
    print("### Table 7: depth (width 128)\n")
    print(ablation_table(every_entry, [args.submissions, args.ablations], PAPER_TABLE_7))
    print("### Table 8: width (4 blocks)\n")
    print(ablation_table(every_entry, [args.submissions, args.ablations], PAPER_TABLE_8))
    print("### Our ablations of the same base (not in the paper)\n")
    print(ablation_table(every_entry, [args.submissions, args.ablations], None))


if __name__ == "__main__":
    main()
