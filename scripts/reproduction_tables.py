"""Print the measured side of REPRODUCTION.md: the paper's Tables 4-8 beside our scores.

    python scripts/reproduction_tables.py [--submissions submissions] > /tmp/tables.md

Every number comes from a committed ``submissions/<entry>/scores.json`` (the learned entries and
the baselines the scorer computed in the same run, on the same frames). Errors are the RMSE of the
per-atom displacement vector, sqrt(mean_i |r_pred,i − r_true,i|²) in Å, with the 95 % bootstrap
CI over anchors in brackets; "NVE" = against the NVE branch from the anchor (the task), "NPT" =
against the NPT continuation (the paper's protocol, with its barostat floor).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

PAPER_TABLE_4 = {1: 0.00022, 5: 0.00065, 10: 0.0019, 15: 0.033, 20: 0.049, 30: 0.079, 40: 0.118, 50: 0.13}
PAPER_TABLE_6 = {5: 0.00047, 50: 0.00092, 100: 0.00055, 150: 0.00068, 200: 0.00043, 300: 0.00066, 350: 0.00065,
                 400: 0.00076, 450: 0.00053, 500: 0.00072, 550: 0.00066, 600: 0.00063, 650: 0.00083, 700: 0.00082,
                 750: 0.00084, 800: 0.00084}
PAPER_TABLE_7 = {"depth 6": 0.0008, "depth 4": 0.0009, "depth 2": 0.0010}
PAPER_TABLE_8 = {"width 128": 0.0009, "width 64": 0.0010, "width 32": 0.0030}
BASELINES = {"zero_displacement": "zero displacement", "constant_velocity": "constant velocity r + vΔt",
             "verlet_eam_k1": "Verlet k = 1 (true EAM)", "verlet_eam_k4": "Verlet k = 4 (true EAM)"}


def cell(errors: dict | None) -> str:
    if not errors:
        return "—"
    low, high = errors["rmse_A_ci95"]
    return f"{errors['rmse_A']:.2g} [{low:.2g}, {high:.2g}]"


def learned_entries(submissions: Path) -> list[tuple[str, dict, dict]]:
    out = []
    for folder in sorted(p for p in submissions.iterdir() if (p / "scores.json").is_file()):
        metadata = yaml.safe_load((folder / "metadata.yaml").read_text())
        if metadata.get("baseline"):
            continue
        out.append((folder.name, metadata, json.loads((folder / "scores.json").read_text())))
    return out


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


def ablation_table(entries, paper: dict, parent_prefix: str) -> str:
    ablations = [(name, metadata, scores) for name, metadata, scores in entries if metadata.get("ablation_of", "").startswith(parent_prefix)]
    if not ablations:
        return ("| paper | Å |\n|---|---|\n" + "\n".join(f"| {label} | {value} |" for label, value in paper.items())
                + "\n\nNot measured yet: no scored ablation entry under `submissions/` (issue #10).\n")
    header = "| entry | ablation | NVE RMSE 10 fs (Å), split test |\n|---|---|---|\n"
    body = "\n".join(f"| {name} | {metadata.get('ablation', '')} | "
                     f"{cell(scores['stride_accuracy']['nve']['test']['overall'].get('10', {}).get('submission'))} |"
                     for name, metadata, scores in ablations)
    paper_text = ", ".join(f"{label} {value} Å" for label, value in paper.items())
    return header + body + f"\n\nThe paper: {paper_text} (Δt not stated).\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=Path, default=Path("submissions"))
    args = parser.parse_args()
    entries = learned_entries(args.submissions)
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
    print(ablation_table(entries, PAPER_TABLE_7, "reference-gnn"))
    print("### Table 8: width (4 blocks)\n")
    print(ablation_table(entries, PAPER_TABLE_8, "reference-gnn"))


if __name__ == "__main__":
    main()
