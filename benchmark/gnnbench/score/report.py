"""Scores out: ``scores.json`` (validated against scores.schema.yaml), tables on stdout, PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import yaml
from tabulate import tabulate

SCHEMA_PATH = Path(__file__).with_name("scores.schema.yaml")


def _clean(value):
    """JSON-safe copy: NaN/inf -> null, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def validate_scores(scores: dict) -> None:
    """Raise jsonschema.ValidationError if ``scores`` breaks the scores.json schema."""
    jsonschema.Draft202012Validator(yaml.safe_load(SCHEMA_PATH.read_text())).validate(scores)


def write_scores(scores: dict, path: Path) -> dict:
    scores = _clean(scores)
    validate_scores(scores)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(scores, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)
    return scores


def _fmt(x, spec=".2e"):
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def stride_table(split: str, result: dict, name: str) -> str:
    """Error vs Δt: the submission beside the two trivial baselines, with skill scores."""
    if result.get("failed"):
        return f"{split}: FAILED — {result['error']}"
    verlets = verlet_names(result)
    rows = []
    for dt in result["dt_fs"]:
        at = result["overall"][str(dt)]
        sub = at.get("submission", {})
        verdict = ""
        if sub:
            beaten_by = sorted((at[b]["rmse_A"], b) for b in ("zero_displacement", "constant_velocity", *verlets)
                               if at[b]["rmse_A"] <= sub["rmse_A"])
            if not beaten_by:
                verdict = "beats all baselines"
            elif len(beaten_by) == 2 + len(verlets):
                verdict = "loses to every baseline"
            else:
                verdict = "loses to " + ", ".join(baseline_label(b) for _, b in beaten_by)
        rows.append((dt, _fmt(sub.get("rmse_A")), _fmt(at["zero_displacement"]["rmse_A"]), _fmt(at["constant_velocity"]["rmse_A"]),
                     *[_fmt(at[v]["rmse_A"]) for v in verlets],
                     _fmt(at.get("skill_vs_zero"), "+.3f"), _fmt(at.get("skill_vs_constant_velocity"), "+.3f"),
                     _fmt(sub.get("velocity_rmse_A_per_ps")), verdict))
    title = (f"{split}: RMSE of the per-atom displacement vector, sqrt(mean_i |e_i|²) in Å "
             f"({result['n_anchors']} anchors x {result['n_atoms']} atoms per Δt); skill = 1 − MSE/MSE_baseline; "
             "Verlet k = velocity-Verlet with true EAM forces, k sub-steps per Δt, NVE")
    headers = ["Δt (fs)", name, "zero disp.", "const. velocity", *[f"Verlet k={v.rsplit('k', 1)[1]}" for v in verlets],
               "skill vs zero", "skill vs const. vel.", "velocity RMSE (Å/ps)", "verdict"]
    return title + "\n" + tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def baseline_label(key: str) -> str:
    if key.startswith("verlet_eam_k"):
        return f"Verlet k={key.rsplit('k', 1)[1]}"
    return key.replace("_", " ")


def verlet_names(result: dict) -> list[str]:
    first = next(iter(result["overall"].values()))
    return sorted((k for k in first if k.startswith("verlet_eam_k")), key=lambda k: int(k.rsplit("k", 1)[1]))


def temperature_table(split: str, result: dict) -> str:
    """The paper's Table 6 layout: submission RMSE (Å) per temperature and Δt."""
    if result.get("failed") or not any("submission" in v for v in result["overall"].values()):
        return ""
    dts = result["dt_fs"]
    rows = [[t] + [_fmt(result["per_temperature"][t][str(dt)]["submission"]["rmse_A"]) for dt in dts] for t in result["per_temperature"]]
    return f"{split}: submission RMSE (Å) per temperature\n" + tabulate(rows, headers=["T (K)"] + [f"{dt} fs" for dt in dts], tablefmt="github", disable_numparse=True)


def rollout_table(rollouts: dict) -> str:
    if rollouts.get("failed"):
        return f"rollouts: FAILED — {rollouts['error']}"
    if "skipped" in rollouts:
        return f"rollouts: skipped ({rollouts['skipped']})"
    rows = []
    for name, r in rollouts["per_trajectory"].items():
        rows.append((name, "yes" if r["survived"] else f"no: {r['failure_reason']} at {r['time_to_failure_fs']:g} fs",
                     _fmt(r["rdf_error"], ".3f"), _fmt(r["msd_plateau_relative_error"], "+.2f"),
                     f"{r['temperature_K']['md_mean']:.0f} / {r['temperature_K']['submission_mean']:.0f}",
                     f"{_fmt(r['temperature_K']['submission_drift_per_ps'], '+.1f')}",
                     f"{r['volume_A3']['md_mean']:.0f} / {r['volume_A3']['submission_mean']:.0f}",
                     _fmt(r["potential_energy_eV"]["submission_drift_per_ps"], "+.3f"),
                     f"{r['fcc_fraction']['md_mean']:.2f} / {_fmt(r['fcc_fraction']['submission_final'], '.2f')}"))
    table5 = [(name, f"{r['end_of_horizon']['time_fs']:g}", f"{r['end_of_horizon']['md_temperature_K']:.1f}", f"{r['end_of_horizon']['submission_temperature_K']:.1f}",
               f"{r['end_of_horizon']['md_volume_A3']:.1f}", f"{r['end_of_horizon']['submission_volume_A3']:.1f}") for name, r in rollouts["per_trajectory"].items()]
    title = (f"rollouts at Δt = {rollouts['stride_fs']} fs over {rollouts['horizon_fs']} fs: survival {rollouts['survival_fraction']:.0%}, "
             f"mean RDF error {_fmt(rollouts['mean_rdf_error'], '.3f')} (" + "; ".join(rollouts["notes"]) + ")")
    headers = ["trajectory", "survived", "RDF error", "MSD plateau rel. err.", "T mean MD / sub (K)", "T drift (K/ps)",
               "V mean MD / sub (Å³)", "PE drift (eV/ps)", "FCC fraction MD / sub (end)"]
    return (title + "\n" + tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
            + "\n\nend of each rollout (the paper's Table 5 layout; a failed rollout ends at its failure)\n"
            + tabulate(table5, headers=["trajectory", "t (fs)", "T MD (K)", "T sub (K)", "V MD (Å³)", "V sub (Å³)"], tablefmt="github", disable_numparse=True))


def cost_line(cost: dict) -> str:
    if cost.get("failed"):
        return f"cost: FAILED — {cost['error']}"
    if "skipped" in cost:
        return f"cost: skipped ({cost['skipped']})"
    s, m = cost["submission"], cost["lammps_eam"]
    return (f"cost ({s['n_atoms']} atoms, {cost['hardware']['cpu']}): submission {s['us_per_atom_stride']:.2f} µs/atom per {s['stride_fs']} fs stride "
            f"on {s['device']} = {s['ns_per_day']:.3g} ns/day; LAMMPS EAM {m['us_per_atom_step']:.2f} µs/atom-step = {m['ns_per_day']:.3g} ns/day; "
            f"speed-up {cost['speedup_vs_lammps']:.3g}x")


def print_report(scores: dict) -> None:
    name = scores["submission"]["name"]
    print(f"\n== {name} on {scores['dataset']['name']} {scores['dataset']['version']} ({scores['dataset']['config']}), scorer {scores['scorer_version']}")
    for split, result in scores["stride_accuracy"].items():
        print("\n" + stride_table(split, result, name))
        table = temperature_table(split, result)
        if table:
            print("\n" + table)
    print("\n" + rollout_table(scores["rollouts"]))
    print("\n" + cost_line(scores["cost"]))
    if scores["errors"]:
        print("\nERRORS:\n" + "\n".join(f"- {e}" for e in scores["errors"]))


def plot_all(scores: dict, out_dir: Path) -> list[Path]:
    """error_vs_dt.png, and with rollouts rdf.png, msd.png, thermo.png; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    name = scores["submission"]["name"]
    splits = {k: v for k, v in scores["stride_accuracy"].items() if not v.get("failed")}
    if splits:
        fig, axes = plt.subplots(1, len(splits), figsize=(5.5 * len(splits), 4.2), squeeze=False)
        for ax, (split, result) in zip(axes[0], splits.items()):
            dts = result["dt_fs"]
            curves = [("submission", name, "o-"), ("zero_displacement", "zero displacement", "s--"), ("constant_velocity", "constant velocity r + vΔt", "^--")]
            curves += [(v, f"Verlet, true EAM, k={v.rsplit('k', 1)[1]}", "d:") for v in verlet_names(result)]
            for key, label, style in curves:
                values = [result["overall"][str(dt)].get(key, {}).get("rmse_A") for dt in dts]
                if any(v is not None for v in values):
                    ax.loglog(dts, [v if v else np.nan for v in values], style, label=label)
            ax.set(xlabel="Δt (fs)", ylabel="RMSE of per-atom displacement (Å)", title=split)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "error_vs_dt.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    rollouts = scores["rollouts"]
    if "per_trajectory" in rollouts:
        chosen = list(rollouts["per_trajectory"].items())
        chosen = [chosen[0], chosen[len(chosen) // 2], chosen[-1]] if len(chosen) > 3 else chosen
        fig, axes = plt.subplots(1, len(chosen), figsize=(5 * len(chosen), 3.8), squeeze=False)
        for ax, (traj, r) in zip(axes[0], chosen):
            c = r["curves"]
            ax.plot(c["rdf_r_A"], c["rdf_md"], label="MD")
            ax.plot(c["rdf_r_A"], c["rdf_submission"], "--", label=name)
            status = "" if r["survived"] else f" (failed at {r['time_to_failure_fs']:g} fs)"
            ax.set(xlabel="r (Å)", ylabel="g(r)", title=f"{traj}: RDF error {_fmt(r['rdf_error'], '.3f')}{status}")
            ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "rdf.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(6, 4))
        for traj, r in chosen:
            c = r["curves"]
            line, = ax.plot(c["md_time_fs"], c["msd_md_A2"], label=f"{traj} MD")
            ax.plot(c["observed_time_fs"], c["msd_submission_A2"], "--", color=line.get_color(), label=f"{traj} {name}")
        ax.set(xlabel="t (fs)", ylabel="MSD (Å²)", title="mean squared displacement")
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(out_dir / "msd.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
        fig, (ax_t, ax_v) = plt.subplots(1, 2, figsize=(11, 4))
        for traj, r in chosen:
            c = r["curves"]
            line, = ax_t.plot(c["md_time_fs"], c["md_temperature_K"], label=f"{traj} MD")
            ax_t.plot(c["time_fs"], c["temperature_K"], "--", color=line.get_color(), label=f"{traj} {name}")
            ax_v.plot(c["md_time_fs"], c["md_volume_A3"], color=line.get_color())
            ax_v.plot(c["time_fs"], c["volume_A3"], "--", color=line.get_color())
        ax_t.set(xlabel="t (fs)", ylabel="T (K)", title="temperature")
        ax_v.set(xlabel="t (fs)", ylabel="V (Å³)", title="volume (solid MD, dashed submission)")
        ax_t.legend(fontsize=7)
        fig.tight_layout()
        paths.append(out_dir / "thermo.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
