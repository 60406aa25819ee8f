"""Scores out: ``scores.json`` (validated against scores.schema.yaml), tables on stdout, PNG plots.

Every number printed or plotted carries its 95 % bootstrap CI: "3.46e-04 ±1.6%" in tables
(half-width of the interval, relative), error bars in plots; the exact bounds are in scores.json.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import jsonschema
import jsonschema_rs
import numpy as np
import yaml
from matplotlib.figure import Figure
from tabulate import tabulate

from .baselines import STRIDE_BASELINES, SUBMISSION, Baseline
from .rollout import AGGREGATES, RolloutMode

SCHEMA_PATH = Path(__file__).with_name("scores.schema.yaml")
LEAF_OBJECT = re.compile(r"\{[^{}\[\]]*(?:\[[^\[\]{}]*\][^{}\[\]]*)*\}")  # no nested object or list of lists
NUMBER_LIST = re.compile(r"\[((?:\s*(?:-?[0-9][0-9.eE+-]*|null)\s*,)*\s*(?:-?[0-9][0-9.eE+-]*|null)\s*)\]")
TARGET_TITLES = {
    "nve": "HEADLINE — NVE-branch targets (the Hamiltonian flow from the exact anchor state)",
    "npt": "Paper protocol — NPT-continuation targets "
           "(they carry the barostat's box breathing: the exact-integrator row is the floor no model can beat)",
}
MODE_TITLES = {
    "nve": "NVE rollouts (no ensemble control; reference: the NVE window from the same start)",
    "thermostatted": "Thermostatted rollouts (Bussi thermostat applied by the scorer between strides; reference: NPT MD at that temperature)",
}


DIGITS = 9        # significant digits of every reported number (rescoring compares with rtol 1e-6)
CURVE_DIGITS = 6  # significant digits kept in plotted curves


def _clean(value, digits: int = DIGITS):
    """JSON-safe copy: NaN/inf -> null, numpy scalars -> Python, a str subclass (torch.__version__) ->
    str, floats rounded to ``digits`` significant digits (CURVE_DIGITS under a ``curves`` or
    ``reference`` key)."""
    if isinstance(value, dict):
        return {str(k): _clean(v, CURVE_DIGITS if k in ("curves", "reference") else digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, digits) for v in value]
    if isinstance(value, (np.floating, float)):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    return value


@functools.lru_cache(maxsize=1)
def _scores_validators() -> tuple[jsonschema_rs.Draft202012Validator, jsonschema.Draft202012Validator]:
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    return jsonschema_rs.Draft202012Validator(schema), jsonschema.Draft202012Validator(schema)


def validate_scores(scores: dict) -> None:
    """Raise jsonschema.ValidationError if ``scores`` breaks the scores.json schema.

    A scores.json holds ~70,000 values: jsonschema-rs checks it in ~4 ms, where jsonschema takes
    ~0.8 s. Only a document that fails is checked again by jsonschema, for its error (the path and
    the oneOf context that ``gnnbench validate`` reports). Both implement JSON Schema 2020-12.
    """
    fast, explaining = _scores_validators()
    try:
        if fast.is_valid(scores):
            return
        first_error = next(fast.iter_errors(scores)).message
    except ValueError:  # a value JSON has no type for (e.g. a numpy scalar): jsonschema alone decides
        first_error = None
    explaining.validate(scores)
    if first_error is not None:  # the two disagree: the stricter one wins
        raise jsonschema.ValidationError(f"breaks the scores schema: {first_error}")


TEXT_MAX_CHARS = 2000  # the schema's cap on a free-text field ($defs/text): a model's error message can be any length


def _cap_text(value):
    """Copy with every string over TEXT_MAX_CHARS cut (a submission's metadata is left as it is: it must match its file)."""
    if isinstance(value, dict):
        return {k: v if k == "metadata" else _cap_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_text(v) for v in value]
    if isinstance(value, str) and len(value) > TEXT_MAX_CHARS:
        return value[:TEXT_MAX_CHARS - 40] + f"… ({len(value) - TEXT_MAX_CHARS + 40} more characters)"
    return value


def write_scores(scores: dict, path: Path) -> dict:
    scores = _cap_text(_clean(scores))
    validate_scores(scores)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(scores, indent=1, sort_keys=False, ensure_ascii=False)
    text = NUMBER_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)  # a list of numbers on one line
    text = LEAF_OBJECT.sub(lambda m: re.sub(r"\s*\n\s*", " ", m.group(0)), text)  # an object of numbers on one line
    tmp.write_text(text + "\n")
    tmp.replace(path)
    return scores


def _fmt(x, spec=".2e"):
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def fmt_ci(entry: dict | None, key: str, spec: str = ".2e", absolute: bool = False) -> str:
    """'value ±h%' with h the relative half-width of the 95 % CI; '±h' in the value's unit for
    signed quantities (``absolute``, or a spec with '+') and for a zero value."""
    if not entry or entry.get(key) is None:
        return "—"
    value, (low, high) = entry[key], entry.get(f"{key}_ci95") or (None, None)
    if low is None or high is None:
        return _fmt(value, spec)
    half = (high - low) / 2
    if absolute or spec.startswith("+") or value == 0:
        return f"{_fmt(value, spec)} ±{_fmt(half, spec.lstrip('+'))}"
    return f"{_fmt(value, spec)} ±{100 * half / abs(value):.0f}%"


def model_label(key: str, name: str) -> str:
    return name if key == SUBMISSION else Baseline(key).label


FLOOR_MARGIN = 10  # a stride RMSE within this factor of the targets' own error is marked: it measures the targets too


def stride_table(kind: str, split: str, result: dict, name: str, target_floor_A: dict | None = None) -> str:
    """Models as rows, Δt as columns: RMSE with CIs, then skill rows, the Verlet force calls the
    submission matches, and per-Δt verdicts. With ``target_floor_A`` ({Δt: the NVE targets' own
    error in Å}, DATASET_CARD.md) a value within FLOOR_MARGIN × of it is marked "(≈ floor)"."""
    if result.get("failed"):
        return f"{split}: FAILED — {result['error']}"
    dts = result["dt_fs"]
    overall = result["overall"]
    floor = {str(dt): v for dt, v in (target_floor_A or {}).items()}

    def cell(dt: int, key: str) -> str:
        entry = overall[str(dt)].get(key)
        near = entry and str(dt) in floor and entry["rmse_A"] <= FLOOR_MARGIN * floor[str(dt)]
        return fmt_ci(entry, "rmse_A") + (" (≈ floor)" if near else "")

    keys = ([SUBMISSION] if scored_dts(result) else []) + [b.value for b in STRIDE_BASELINES]
    rows = [[model_label(k, name)] + [cell(dt, k) for dt in dts] for k in keys]
    if floor:
        rows.append(["targets' own error (floor)"] + [f"{floor[str(dt)]:.1e}" if str(dt) in floor else "—" for dt in dts])
    if SUBMISSION in keys:
        for skill_key, label in (("skill_vs_zero", "skill vs zero"), ("skill_vs_constant_velocity", "skill vs const. vel.")):
            rows.append([label] + [fmt_ci(overall[str(dt)], skill_key, "+.3f") for dt in dts])
        rows.append(["Verlet force calls matched"] + [(overall[str(dt)].get("force_calls_to_match") or {}).get("text", "—") for dt in dts])
    title = (f"{TARGET_TITLES[kind]}\nsplit {split}: RMSE of the per-atom displacement vector, sqrt(mean_i |e_i|²) in Å, "
             f"± = half-width of the 95 % bootstrap CI over {result['n_anchors']} anchors ({result['n_atoms']} atoms each); "
             "skill = 1 − MSE/MSE_baseline; Verlet force calls matched = k at which velocity-Verlet with k steps per stride has "
             "the submission's RMSE (log-log interpolation on k = 1, 2, 4, 8)"
             + (f"; (≈ floor) = within {FLOOR_MARGIN} × the targets' own error" if floor else ""))
    table = tabulate(rows, headers=["model"] + [f"{dt} fs" for dt in dts], tablefmt="github", disable_numparse=True)
    return title + "\n" + table + ("\n" + "\n".join(verdicts(result, name)) if SUBMISSION in keys else "")


def scored_dts(result: dict) -> list[int]:
    """The Δt at which the submission was scored: all of the split's, or a metatomic model's own timestep."""
    return [dt for dt in result["dt_fs"] if SUBMISSION in result["overall"][str(dt)]]


def verdicts(result: dict, name: str, rtol: float = 1e-9) -> list[str]:
    """One plain line per scored Δt: which baselines (exact integrator aside) the submission loses to or ties with."""
    lines = []
    compared = [b for b in STRIDE_BASELINES if b is not Baseline.VERLET_EXACT]
    for dt in scored_dts(result):
        at = result["overall"][str(dt)]
        mine = at[SUBMISSION]["rmse_A"]
        losing = [b.label for b in compared if at[b.value]["rmse_A"] < mine * (1 - rtol)]
        tying = [b.label for b in compared if abs(at[b.value]["rmse_A"] - mine) <= rtol * mine]
        if len(losing) == len(compared):
            verdict = "LOSES to every baseline"
        elif losing:
            verdict = "LOSES to " + ", ".join(losing)
        else:
            verdict = "beats " + ", ".join(b.label for b in compared if b.label not in tying)
        if tying:
            verdict += "; ties with " + ", ".join(tying)
        lines.append(f"  Δt {dt:>2} fs: {name} {verdict}")
    return lines


def temperature_table(kind: str, split: str, result: dict) -> str:
    """The paper's Table 6 layout: submission RMSE (Å) per temperature and Δt, with CIs."""
    if result.get("failed") or not scored_dts(result):
        return ""
    dts = result["dt_fs"]
    rows = [[t] + [fmt_ci(result["per_temperature"][t][str(dt)].get(SUBMISSION), "rmse_A") for dt in dts] for t in result["per_temperature"]]
    return (f"split {split} ({kind.upper()} targets): submission RMSE (Å) per temperature, ± = 95 % CI over that temperature's anchors\n"
            + tabulate(rows, headers=["T (K)"] + [f"{dt} fs" for dt in dts], tablefmt="github", disable_numparse=True))


ROLLOUT_SPECS = {"time_to_failure_fs": ".0f"}  # printed format of a rollout aggregate, where not ".3g"


def rollout_table(mode: str, result: dict, name: str) -> str:
    """Models as rows, the mode's aggregates (mean over trajectories, ± CI) as columns."""
    if "skipped" in result:
        return f"{MODE_TITLES[mode]}: skipped ({result['skipped']})"
    aggregates = AGGREGATES[RolloutMode(mode)]
    rows = []
    for key, model in result["models"].items():
        if model.get("failed"):
            rows.append([model_label(key, name), f"FAILED — {model['error']}"] + [""] * (len(aggregates) - 1))
            continue
        rows.append([model_label(key, name)] + [fmt_ci(model, a.key, ROLLOUT_SPECS.get(a.key, ".3g"), absolute=a.signed) for a in aggregates])
    title = (f"{MODE_TITLES[mode]}\nΔt = {result['stride_fs']} fs over {result['horizon_fs']} fs, {result['n_rollouts']} trajectories; "
             f"mean over trajectories, ± = half-width of the 95 % bootstrap CI over trajectories; time to failure: a survivor "
             f"counts at the horizon ({'; '.join(result['notes'])})")
    table = tabulate(rows, headers=["model"] + [a.label for a in aggregates], tablefmt="github", disable_numparse=True)
    return title + "\n" + table + energy_drift_ratio_line(result, name)


def energy_drift_ratio_line(result: dict, name: str) -> str:
    """The submission's mean |E drift| over Verlet k=1's at the same stride (NVE), as a line under the table."""
    mine = result["models"].get(SUBMISSION, {})
    if "energy_drift_vs_verlet_k1" not in mine:
        return ""
    return (f"\n{name}: NVE |E drift| / Verlet k=1's at {result['stride_fs']} fs = "
            f"{fmt_ci(mine, 'energy_drift_vs_verlet_k1', '.3g')} (paired over {mine['energy_drift_vs_verlet_k1_n']} trajectories)")


def rollout_details(mode: str, result: dict) -> str:
    """Per trajectory, the submission's rollout (the paper's Table 5 layout and more)."""
    model = result.get("models", {}).get(SUBMISSION)
    if not model or model.get("failed"):
        return ""
    rows = []
    for trajectory, t in model["per_trajectory"].items():
        status = "yes" if t["survived"] else f"no: {t['failure_reason']} at {t['time_to_failure_fs']:g} fs"
        extra = ([_fmt(t["total_energy_drift_meV_per_atom_per_ps"]["md"], "+.3f"), _fmt(t["total_energy_drift_meV_per_atom_per_ps"]["model"], "+.3f")]
                 if mode == "nve" else [f"{t['temperature_spread_K']['md']:.1f} / {_fmt(t['temperature_spread_K']['model'], '.1f')}",
                                        f"{t['fcc_fraction']['md']:.2f} / {_fmt(t['fcc_fraction']['model'], '.2f')}"])
        rows.append([trajectory, status, f"{t['temperature_mean_K']['md']:.1f} / {_fmt(t['temperature_mean_K']['model'], '.1f')}",
                     _fmt(t["rdf_error_A"], ".3f"), _fmt(t["rdf_noise_floor_A"], ".3f"), _fmt(t["msd_plateau_relative_error"], "+.2f"),
                     f"{_fmt(t.get('vdos_error'), '.3f')} / {_fmt(t.get('vdos_noise_floor'), '.3f')}", *extra])
    headers = ["trajectory", "survived", "T mean MD / sub (K)", "RDF error (Å)", "MD noise floor (Å)", "MSD plateau rel. err.",
               "VDOS error / MD floor"]
    headers += ["E drift MD (meV/atom/ps)", "E drift sub"] if mode == "nve" else ["T spread MD / sub (K)", "FCC fraction MD / sub"]
    return f"{mode} rollouts of the submission, per trajectory\n" + tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def cost_line(cost: dict) -> str:
    if cost.get("failed"):
        return f"cost: FAILED — {cost['error']}"
    if "skipped" in cost:
        return f"cost: skipped ({cost['skipped']})"
    s, m = cost["submission"], cost["lammps_eam"]
    hardware = cost["hardware"].get("cpu_model") or cost["hardware"]["cpu"]
    timed = (f", timed on its {s['timed_on']} ({s['graphs_per_call']:.3g} × {s['n_atoms']} atoms a call)" if "timed_on" in s
             else f" ({s['n_atoms']} atoms)")
    shapes = "".join(f"; its {kind} calls ({c['graphs_per_call']:.3g} graphs): {c['us_per_atom_stride']:.3g} µs/atom"
                     for kind, c in s.get("shapes", {}).items() if f"{kind} calls" != s.get("timed_on"))
    return (f"cost on {hardware}, {s['device']}{', ' + str(s['torch_threads']) + ' torch threads' if s.get('torch_threads') else ''}: "
            f"submission {s['us_per_atom_stride']:.3g} µs/atom per {s['stride_fs']} fs stride{timed} "
            f"= {s['ns_per_day']:.3g} ns/day{shapes}; LAMMPS EAM {m['us_per_atom_step']:.3g} µs/atom-step = {m['ns_per_day']:.3g} ns/day; "
            f"speed-up {cost['speedup_vs_lammps']:.3g}x")


def sandbox_line(sandbox: dict) -> str:
    """How the submission ran: in the sandbox (limits, worker starts, process-boundary overhead) or trusted."""
    if not sandbox.get("sandboxed"):
        return "sandbox: NONE — " + sandbox.get("note", "")
    limits, boundary = sandbox["limits"], sandbox.get("process_boundary", {})
    overhead = (f"; process boundary {boundary['overhead_us_per_call']:.0f} µs a call over {boundary['calls']} calls "
                f"({boundary['overhead_seconds']:.2f} s in all, {100 * boundary['overhead_fraction']:.0f} % of the model's own time; "
                "not in the cost)" if boundary.get("calls") and boundary.get("overhead_fraction") is not None else "")
    return (f"sandbox: {sandbox['mechanism']}; limits {limits['memory_gib']:g} GiB, {limits['call_timeout_s']:g} s a call, "
            f"{limits['submission_timeout_s']:g} s in all; {sandbox['worker_starts']} worker start(s), "
            f"{', '.join(f'{s:.1f}' for s in sandbox['worker_startup_seconds'])} s to load{overhead}; "
            f"its output: {sandbox['log']}"
            + (f" ({sandbox['log_bytes_dropped']} bytes over the cap dropped)" if sandbox["log_bytes_dropped"] else ""))


def print_report(scores: dict) -> None:
    name = scores["submission"]["name"]
    dataset = scores["dataset"]
    print(f"\n== {name} on {dataset['name']} {dataset['version']} ({dataset['config']}), scorer {scores['scorer_version']}")
    for kind, by_split in scores["stride_accuracy"].items():
        for split, result in by_split.items():
            floor = scores["dataset"].get("nve_target_floor_A") if kind == "nve" else None
            print("\n" + stride_table(kind, split, result, name, floor))
    for split, result in scores["stride_accuracy"]["nve"].items():
        table = temperature_table("nve", split, result)
        if table:
            print("\n" + table)
    for mode, result in scores["rollouts"].items():
        print("\n" + rollout_table(mode, result, name))
        details = rollout_details(mode, result)
        if details:
            print("\n" + details)
    print("\n" + cost_line(scores["cost"]))
    if "sandbox" in scores:
        print(sandbox_line(scores["sandbox"]))
    if scores["errors"]:
        print("\nERRORS:\n" + "\n".join(f"- {e}" for e in scores["errors"]))
    if "usability" in scores:
        print("\n" + usability_lines(scores))


def usability_lines(scores: dict) -> str:
    """The verdict (gnnbench/score/usability.py): one line per check, then usable or not."""
    stride = scores["submission"]["metadata"]["rollout_stride_fs"]
    lines = [f"usability at {stride} fs (bounds and reasons: gnnbench/score/usability.py, leaderboard/README.md):"]
    lines += [f"  {'PASS' if c['passed'] else 'not measured' if c['passed'] is None else 'FAIL'}  {c['check']}: {c['detail']}"
              for c in scores["usability"]]
    usable = all(c["passed"] for c in scores["usability"])
    lines.append(f"=> {'USABLE' if usable else 'NOT USABLE'} at {stride} fs")
    return "\n".join(lines)


# --- plots -----------------------------------------------------------------------------------

STYLES = {SUBMISSION: "o-", Baseline.ZERO_DISPLACEMENT.value: "s--", Baseline.CONSTANT_VELOCITY.value: "^--",
          Baseline.VERLET_K1.value: "d:", Baseline.VERLET_K2.value: "<:", Baseline.VERLET_K4.value: "v:", Baseline.VERLET_K8.value: ">:",
          Baseline.VERLET_EXACT.value: "x:"}


def _errorbar(ax, xs, entries, key, style, label):
    values = [e.get(key) if e else None for e in entries]
    if not any(v is not None for v in values):
        return
    lows = [(e.get(f"{key}_ci95") or [None, None])[0] if e else None for e in entries]
    highs = [(e.get(f"{key}_ci95") or [None, None])[1] if e else None for e in entries]
    v = np.array([np.nan if x is None else x for x in values])
    lo = np.array([np.nan if x is None else x for x in lows])
    hi = np.array([np.nan if x is None else x for x in highs])
    ax.errorbar(xs, v, yerr=[np.nan_to_num(v - lo), np.nan_to_num(hi - v)], fmt=style, capsize=2, label=label, markersize=4)


def _subplots(rows: int, cols: int, figsize: tuple[float, float], squeeze: bool = False):
    """(figure, axes) drawn with matplotlib's object-oriented Figure: no pyplot, no backend selected."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, squeeze=squeeze)


def plot_error_vs_dt(scores: dict, path: Path) -> Path | None:
    """RMSE against Δt with CI error bars: rows = target kind, columns = split."""
    name = scores["submission"]["name"]
    panels = [(kind, split, r) for kind, by_split in scores["stride_accuracy"].items() for split, r in by_split.items() if not r.get("failed")]
    if not panels:
        return None
    splits = sorted({p[1] for p in panels}, key=lambda s: s != "test")
    fig, axes = _subplots(2, len(splits), figsize=(5.8 * len(splits), 8.4), squeeze=False)
    for kind, split, result in panels:
        ax = axes[0 if kind == "nve" else 1][splits.index(split)]
        dts = result["dt_fs"]
        for key, style in STYLES.items():
            entries = [result["overall"][str(dt)].get(key) for dt in dts]
            _errorbar(ax, dts, entries, "rmse_A", style, model_label(key, name))
        ax.set(xscale="log", yscale="log", xlabel="Δt (fs)", ylabel="RMSE of per-atom displacement (Å)",
               title=f"{split}, {'NVE-branch targets (headline)' if kind == 'nve' else 'NPT-continuation targets (paper)'}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _rollout_models(scores: dict):
    for mode, result in scores["rollouts"].items():
        if "models" in result:
            yield mode, result, {k: m for k, m in result["models"].items() if not m.get("failed")}


def plot_rollout_summary(scores: dict, path: Path) -> Path | None:
    """Each mode's aggregates per model, as bars with CI error bars."""
    modes = list(_rollout_models(scores))
    if not modes:
        return None
    name = scores["submission"]["name"]
    n_cols = max(len(AGGREGATES[RolloutMode(mode)]) for mode, _, _ in modes)
    fig, axes = _subplots(len(modes), n_cols, figsize=(2.6 * n_cols, 3.2 * len(modes)), squeeze=False)
    for row, (mode, _, models) in enumerate(modes):
        for col, aggregate in enumerate(AGGREGATES[RolloutMode(mode)]):
            ax, key = axes[row][col], aggregate.key
            labels, values, errors = [], [], [[], []]
            for model_key, m in models.items():
                value, (low, high) = m.get(key), (m.get(f"{key}_ci95") or [None, None])
                labels.append(model_label(model_key, name))
                values.append(np.nan if value is None else value)
                errors[0].append(0 if value is None or low is None else value - low)
                errors[1].append(0 if value is None or high is None else high - value)
            ax.bar(range(len(values)), values, yerr=errors, capsize=3, color=["C0", "C3", "C4"][: len(values)])
            ax.set_xticks(range(len(values)), labels, rotation=30, ha="right", fontsize=7)
            ax.set_title(f"{mode}: {aggregate.label}", fontsize=8)
        for col in range(len(AGGREGATES[RolloutMode(mode)]), n_cols):
            axes[row][col].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _chosen_trajectories(per_trajectory: dict) -> list[str]:
    names = list(per_trajectory)
    return [names[0], names[len(names) // 2], names[-1]] if len(names) > 3 else names


def plot_rollout_curves(scores: dict, out_dir: Path) -> list[Path]:
    """rdf.png, msd.png, thermo.png: MD against the submission and the Verlet baselines on three trajectories per mode."""
    modes = list(_rollout_models(scores))
    if not modes:
        return []
    name = scores["submission"]["name"]
    paths = []
    figures = {"rdf": _subplots(len(modes), 3, figsize=(15, 3.8 * len(modes)), squeeze=False),
               "msd": _subplots(len(modes), 3, figsize=(15, 3.6 * len(modes)), squeeze=False),
               "thermo": _subplots(len(modes), 3, figsize=(15, 3.6 * len(modes)), squeeze=False)}
    for row, (mode, result, models) in enumerate(modes):
        reference = result["reference"]
        for col, trajectory in enumerate(_chosen_trajectories(reference)):
            md = reference[trajectory]
            ax_rdf, ax_msd, ax_thermo = (figures[k][1][row][col] for k in ("rdf", "msd", "thermo"))
            ax_rdf.plot(md["rdf_r_A"], md["rdf_md"], "k-", label="MD")
            ax_msd.plot(md["md_time_fs"], md["msd_md_A2"], "k-", label="MD")
            if mode == "nve":
                n_atoms = scores["stride_accuracy"]["nve"].get("test", {}).get("n_atoms") or 1
                ax_thermo.plot(md["md_time_fs"], np.asarray(md["md_total_energy_eV"]) / n_atoms, "k-", label="MD")
            else:
                ax_thermo.plot(md["md_time_fs"], md["md_temperature_K"], "k-", label="MD")
            for model_key, m in models.items():
                c = m["per_trajectory"][trajectory]["curves"]
                label = model_label(model_key, name)
                style = STYLES.get(model_key, "-").replace("o", "").replace("d", "").replace("v", "") or "-"
                ax_rdf.plot(md["rdf_r_A"], c["rdf_model"], style, label=label)
                ax_msd.plot(c["observed_time_fs"], c["msd_model_A2"], style, label=label)
                if mode == "nve":
                    ax_thermo.plot(c["observed_time_fs"], np.asarray(c["total_energy_eV"]) / n_atoms, style, label=label)
                else:
                    ax_thermo.plot(c["observed_time_fs"], c["temperature_K"], style, label=label)
            ax_rdf.set(xlabel="r (Å)", ylabel="g(r)", title=f"{mode}, {trajectory}")
            ax_msd.set(xlabel="t (fs)", ylabel="MSD (Å²)", title=f"{mode}, {trajectory}")
            ax_thermo.set(xlabel="t (fs)", ylabel="total energy (eV/atom)" if mode == "nve" else "T (K)", title=f"{mode}, {trajectory}")
            for ax in (ax_rdf, ax_msd, ax_thermo):
                ax.legend(fontsize=7)
    for key, (fig, _) in figures.items():
        fig.tight_layout()
        paths.append(out_dir / f"{key}.png")
        fig.savefig(paths[-1], dpi=90)
    return paths


def plot_survival(scores: dict, path: Path) -> Path | None:
    """Fraction of rollouts alive against time, one panel per mode, the submission beside the Verlet baselines."""
    modes = [(mode, result, {k: m for k, m in models.items() if "survival_curve" in m}) for mode, result, models in _rollout_models(scores)]
    modes = [entry for entry in modes if entry[2]]
    if not modes:
        return None
    name = scores["submission"]["name"]
    fig, axes = _subplots(1, len(modes), figsize=(6.0 * len(modes), 3.8), squeeze=False)
    for ax, (mode, result, models) in zip(axes[0], modes, strict=True):
        for model_key, m in models.items():
            curve = m["survival_curve"]
            ax.step(curve["time_fs"], curve["fraction_alive"], STYLES.get(model_key, "x-")[1:], where="post",  # the line, no marker
                    label=model_label(model_key, name))
        ax.set(xlabel="t (fs)", ylabel="fraction of rollouts alive", ylim=(-0.03, 1.03), xlim=(0, result["horizon_fs"]),
               title=f"{mode} rollouts at {result['stride_fs']} fs ({result['n_rollouts']} trajectories)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_vdos(scores: dict, path: Path) -> Path | None:
    """The VDOS of MD (its NVE window) and of each model, on three trajectories per mode (the last: the hottest held-out one)."""
    modes = list(_rollout_models(scores))
    if not any("vdos_model" in t["curves"] for _, _, models in modes for m in models.values() for t in m["per_trajectory"].values()):
        return None
    name = scores["submission"]["name"]
    fig, axes = _subplots(len(modes), 3, figsize=(15, 3.6 * len(modes)), squeeze=False)
    for row, (mode, result, models) in enumerate(modes):
        for col, trajectory in enumerate(_chosen_trajectories(result["reference"])):
            ax, md_drawn = axes[row][col], False
            for model_key, m in models.items():
                c = m["per_trajectory"][trajectory]["curves"]
                if "vdos_model" not in c:
                    continue
                if not md_drawn:  # the MD spectrum through the first model's velocity estimator (the submission's)
                    ax.plot(c["vdos_frequency_THz"], c["vdos_md"], "k-", lw=2, label="MD (NVE window)")
                    md_drawn = True
                error = m["per_trajectory"][trajectory]["vdos_error"]
                ax.plot(c["vdos_frequency_THz"], c["vdos_model"], STYLES.get(model_key, "-").replace("o", "") or "-", markersize=3,
                        label=f"{model_label(model_key, name)} (error {_fmt(error, '.3f')})")
            floor = next((m["per_trajectory"][trajectory].get("vdos_noise_floor") for m in models.values()), None)
            ax.set(xlabel="ν (THz)", ylabel="g(ν) (1/THz)", xlim=(0, 16),
                   title=f"{mode}, {trajectory} (MD floor {_fmt(floor, '.3f')})")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return path


def plot_all(scores: dict, out_dir: Path) -> list[Path]:
    """error_vs_dt.png, and with rollouts rollout_summary.png, survival.png, vdos.png, rdf.png, msd.png, thermo.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [plot_error_vs_dt(scores, out_dir / "error_vs_dt.png"), plot_rollout_summary(scores, out_dir / "rollout_summary.png"),
             plot_survival(scores, out_dir / "survival.png"), plot_vdos(scores, out_dir / "vdos.png")]
    paths += plot_rollout_curves(scores, out_dir)
    return [p for p in paths if p is not None]
