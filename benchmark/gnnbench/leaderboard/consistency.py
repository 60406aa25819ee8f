"""What ``gnnbench validate`` recomputes from a ``scores.json``'s own records, without the model or the data.

A scores.json holds, beside its headline numbers, the records they were computed from: every
model's stride errors per trajectory temperature beside the overall ones, every rollout's own
record (with its RDF, MSD, energy and VDOS curves), and the timings of the cost. A number edited
by hand (the RMSE at 10 fs × 0.01, the speed-up × 1000) no longer follows from them. This module
recomputes, with the scorer's own functions, every number that does follow from them:

* stride accuracy, for every model, split, target kind, Δt and temperature: RMSE = √MSE, and the
  ends of its 95 % CI = √ of the MSE's (the same bootstrap resamples; np.quantile interpolates
  between two resamples, so these agree to ``CI_RTOL``); each overall MSE, MAE and velocity MSE is
  the anchor-weighted mean of the per-temperature ones, with one set of whole anchor counts that
  sums to ``n_anchors`` for every model and Δt; the skills 1 − MSE/MSE(baseline); the Verlet force
  calls to match and their CI, from the Verlet-k curve and the RMSE's CI in the same record
  (:mod:`gnnbench.score.force_calls`);
* rollouts: each mode's stride, horizon and observation interval from the entry's
  ``rollout_stride_fs`` and the scoring protocol; every summary (mean over trajectories, its
  bootstrap CI, its count, the survival curve) from the per-trajectory records, through
  :func:`gnnbench.score.rollout.summarize` itself; the energy-drift ratio to Verlet k = 1; per
  trajectory, survived ⇔ no time and no reason of failure, a time of failure on a stride within the
  horizon, and the RDF error, MSD plateaus and their relative error, VDOS error and NVE
  total-energy drift from its stored curves (curves keep 6 significant digits, so these are
  compared within the bound that rounding gives, computed for each number);
* cost: the speed-up = ns/day of the entry / ns/day of LAMMPS, each ns/day and µs per atom from
  the seconds per call (or per LAMMPS step) and the graphs per call it stores, the headline timing
  being the rollout calls' (the stride calls' when there are none), a built-in Verlet entry's
  time k × LAMMPS's step; and these timings within what the sandbox recorded of the same calls
  (their count, and the model's total seconds, of which the calls not timed take at most the call
  time limit each), which is within the wall time of the run;
* ``errors``: one entry for each part that failed (a stride split, a rollout mode, the cost), and
  none that no failure explains; ``scored_on``: a real date, not after today.

The usability verdict is recomputed in :mod:`.validate` (:mod:`gnnbench.score.usability`).

What cannot be recomputed without scoring again (``gnnbench validate --rescore``): the per-anchor
errors themselves are not shipped, so a consistent rescaling of *every* stride record of the
submission (overall, per temperature, CIs, skills, force calls) is found only by rescoring; nor
are the skills' CIs (paired per-anchor resamples), the baselines' numbers (they come from the
data: :mod:`.board` compares them across the entries scored on one dataset build), the mean and
spread of T of a rollout (every stride's T is not stored, only those at the observations), the
temperature drifts, the FCC fraction, the MD side's energy drift (the reference curves are kept
at the observations only), and the timings themselves, which only a re-timing checks, within
its noise (``validate.COST_TOLERANCE``).
"""

from __future__ import annotations

import datetime
import itertools
import math

import numpy as np

from ..score.baselines import SUBMISSION, Baseline
from ..score.cost import NS_PER_FS, SECONDS_PER_DAY, WARMUP_CALLS
from ..score.force_calls import force_calls_to_match, verlet_curve
from ..score.metrics import energy_drift_meV_per_atom_per_ps, plateau, rdf_error_A
from ..score.protocol import load_protocol
from ..score.report import CURVE_DIGITS, DIGITS
from ..score.rollout import AGGREGATES, RolloutMode, energy_drift_vs_verlet_k1, summarize
from ..score.vibrations import vdos_error
from ..untrusted import short

RTOL = 1e-6      # every number is stored with DIGITS (9) significant digits: what follows from them agrees far better
ATOL = 1e-12     # numbers that are zero up to rounding (a skill of constant velocity against itself)
CI_RTOL = 1e-5   # √(quantile of MSE) against quantile of √MSE: np.quantile interpolates between two resamples (measured: 9e-7)
MAX_SHOWN = 3    # differences named in one problem line (each message of validate stays one short line)


def inconsistencies(scores: dict) -> list[str]:
    """'path: stored vs recomputed' for every number of ``scores`` that does not follow from its own
    records (empty: consistent). ``scores`` follows the scores schema (validate checks that first);
    a record that breaks a recomputation is reported, never raised."""
    found: list[str] = []
    for part in (_stride, _rollouts, _cost, _errors, _scored_on):
        try:
            found += part(scores)
        except (ArithmeticError, LookupError, TypeError, ValueError) as err:
            found.append(f"{part.__name__.strip('_')}: cannot be recomputed from its records ({type(err).__name__}: {short(err, 120)})")
    return found


def summary_line(found: list[str]) -> str:
    """The differences as one line: the first MAX_SHOWN, then how many more."""
    shown = short("; ".join(found[:MAX_SHOWN]), 360)
    return shown + (f"; and {len(found) - MAX_SHOWN} more" if len(found) > MAX_SHOWN else "")


# --- comparing -----------------------------------------------------------------------------------

def _differs(stored, recomputed, rtol: float = RTOL, atol: float = ATOL) -> bool:
    if stored is None or recomputed is None or (isinstance(recomputed, float) and not math.isfinite(recomputed)):
        return not (stored is None and (recomputed is None or not math.isfinite(recomputed)))
    return not math.isclose(stored, recomputed, rel_tol=rtol, abs_tol=atol)


def _show(value) -> str:
    return "null" if value is None else f"{value:.6g}" if isinstance(value, (int, float)) else short(repr(value), 40)


def _check(found: list[str], where: str, stored, recomputed, rtol: float = RTOL, atol: float = ATOL) -> None:
    if _differs(stored, recomputed, rtol, atol):
        found.append(f"{where}: {_show(stored)} stored, its records give {_show(recomputed)}")


def _rounding(values, digits: int) -> np.ndarray:
    """Per value, the most that rounding to ``digits`` significant digits moved it (a unit in the last digit)."""
    values = np.abs(np.asarray(values, np.float64))
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.where(values > 0, values, 1.0)))
    return np.where(values > 0, 10.0 ** (exponent - digits + 1), 0.0)


# --- stride accuracy ------------------------------------------------------------------------------

def _is_errors(record) -> bool:
    return isinstance(record, dict) and "mse_A2" in record


def _stride(scores: dict) -> list[str]:
    found: list[str] = []
    for kind, by_split in scores["stride_accuracy"].items():
        for split, result in by_split.items():
            if result.get("failed"):
                continue
            where = f"stride_accuracy/{kind}/{short(split, 40)}"
            tables = [("overall", result["overall"]), *((f"per_temperature/{t}", d) for t, d in result["per_temperature"].items())]
            for label, by_dt in tables:
                for dt, at in by_dt.items():
                    _at_dt(found, f"{where}/{short(label, 40)}/{short(dt, 10)}", at)
            found += _overall_from_temperatures(where, result)
    return found


def _at_dt(found: list[str], where: str, at: dict) -> None:
    for who, record in at.items():
        if not _is_errors(record):
            continue
        _check(found, f"{where}/{who}/rmse_A", record["rmse_A"], math.sqrt(record["mse_A2"]))
        for end, (rmse, mse) in enumerate(zip(record["rmse_A_ci95"], record["mse_A2_ci95"], strict=True)):
            if rmse is not None and mse is not None:
                _check(found, f"{where}/{who}/rmse_A_ci95/{end}", rmse, math.sqrt(mse), CI_RTOL)
    mine = at.get(SUBMISSION)
    if not _is_errors(mine):
        return
    for baseline, key in ((Baseline.ZERO_DISPLACEMENT, "skill_vs_zero"), (Baseline.CONSTANT_VELOCITY, "skill_vs_constant_velocity")):
        theirs = at.get(baseline.value)
        if _is_errors(theirs) and key in at and theirs["mse_A2"] > 0:
            # 1 − a/b from two 9-digit numbers: a rounding error of a/b in the 9th digit is absolute
            _check(found, f"{where}/{key}", at[key], 1 - mine["mse_A2"] / theirs["mse_A2"], RTOL, 1e-8 * mine["mse_A2"] / theirs["mse_A2"])
    curve = verlet_curve({k: v for k, v in at.items() if _is_errors(v)})
    if curve and "force_calls_to_match" in at:
        _force_calls(found, f"{where}/force_calls_to_match", at["force_calls_to_match"], mine["rmse_A"], curve)
        low, high = mine["rmse_A_ci95"]
        for end, (value, rmse) in enumerate(zip(at.get("force_calls_to_match_ci95", [None, None]), (high, low), strict=True)):
            _force_calls(found, f"{where}/force_calls_to_match_ci95/{end}", {"value": value}, rmse, curve)


def _force_calls(found: list[str], where: str, stored: dict, rmse: float | None, curve: list[tuple[int, float]]) -> None:
    """The force calls to match ``rmse`` on ``curve``, against ``stored`` (its value, and its bound and text when stored).

    Near a point of the curve the log-log interpolation magnifies the rounding of its inputs (at
    1 fs on the NPT targets, k = 4 and 8 sit on the same floor): the stored answer must be what
    the inputs give when each is moved by up to its rounding, one way or the other."""
    def answers(rmse_factor: float, curve_factors: tuple[float, ...]) -> dict:
        moved = [(k, e * f) for (k, e), f in zip(curve, curve_factors, strict=True)]
        return force_calls_to_match(None if rmse is None else rmse * rmse_factor, moved)

    exact = answers(1.0, (1.0,) * len(curve))
    if all(stored[f] == exact[f] for f in ("bound", "text") if f in stored) and not _differs(stored.get("value"), exact["value"]):
        return  # the usual case: no need to move the inputs
    corners = [exact] + [answers(r, c) for r in (1 - EPS, 1 + EPS) for c in itertools.product((1 - EPS, 1 + EPS), repeat=len(curve))]
    for field in ("bound", "text"):
        if field in stored and all(stored[field] != a[field] for a in corners):
            found.append(f"{where}/{field}: {short(stored[field], 20)} stored, the Verlet curve in the same record gives {exact[field]}")
            return
    values = [a["value"] for a in corners if a["value"] is not None]
    if stored.get("value") is None or exact["value"] is None:
        if stored.get("value") is not None or exact["value"] is not None:
            if not (stored.get("value") is None and any(a["value"] is None for a in corners)):
                _check(found, f"{where}/value", stored.get("value"), exact["value"])
        return
    spread = max(abs(v - exact["value"]) for v in values) if values else 0.0
    _check(found, f"{where}/value", stored["value"], exact["value"], RTOL, 2 * spread + ATOL)


EPS = 10.0 ** (1 - DIGITS)  # the relative rounding of a stored number, at most


def _overall_from_temperatures(where: str, result: dict) -> list[str]:
    """Each overall number is the mean over anchors; a temperature's is the mean over its anchors: so the
    overall one is the per-temperature ones weighted by their anchor counts n_T / n_anchors, the same
    whole counts for every model, Δt and metric. The counts are not stored: they are solved for from the
    MSEs of every model and Δt (least squares; an edited row would pull the fit, so while some row does
    not fit, the worst is set aside and the fit made again, up to half of them), must be whole and sum
    to n_anchors, and then every overall MSE, MAE and velocity MSE must follow, the set-aside rows too."""
    temperatures = list(result["per_temperature"])
    if not temperatures:
        return [f"{where}/per_temperature: empty"]
    rows: list[tuple[str, str, list[float], float]] = []  # (label, how, per-temperature values, overall value)
    for dt, at in result["overall"].items():
        for who, record in at.items():
            if not _is_errors(record):
                continue
            per = [result["per_temperature"][t].get(dt, {}).get(who) for t in temperatures]
            if not all(_is_errors(p) for p in per):
                return [f"{where}: {who} at {short(dt, 10)} fs has an overall record but not one for every temperature"]
            rows.append((f"{dt}/{who}/mse_A2", "mean", [p["mse_A2"] for p in per], record["mse_A2"]))
            rows.append((f"{dt}/{who}/mae_A", "mean", [p["mae_A"] for p in per], record["mae_A"]))
            if "velocity_rmse_A_per_ps" in record and all("velocity_rmse_A_per_ps" in p for p in per):
                rows.append((f"{dt}/{who}/velocity_rmse_A_per_ps", "rms", [p["velocity_rmse_A_per_ps"] for p in per],
                             record["velocity_rmse_A_per_ps"]))
    mse = [(values, overall) for label, how, values, overall in rows if label.endswith("/mse_A2")]
    if not mse:
        return []
    a = np.array([values for values, _ in mse], np.float64)
    b = np.array([overall for _, overall in mse], np.float64)
    scale = np.maximum(np.abs(a).max(axis=1), np.abs(b))
    keep = scale > 0
    a, b = a[keep] / scale[keep, None], b[keep] / scale[keep]
    fitted = np.ones(len(b), bool)
    while True:
        weights = np.linalg.lstsq(a[fitted], b[fitted], rcond=None)[0]
        residual = np.where(fitted, np.abs(a @ weights - b), 0.0)
        if residual.max() <= 10 * RTOL or fitted.sum() <= max(len(temperatures), len(b) // 2):
            break
        fitted[np.argmax(residual)] = False
    n_anchors = result["n_anchors"]
    counts = np.rint(weights * n_anchors)
    if not (np.all(np.abs(weights * n_anchors - counts) < 1e-2) and np.all(counts >= 1) and counts.sum() == n_anchors):
        shown = ", ".join(f"{short(t, 10)} K: {w * n_anchors:.3g}" for t, w in zip(temperatures, weights, strict=True))
        return [f"{where}/overall: not the anchor-weighted mean of per_temperature (the anchor counts it implies, {short(shown, 200)}, "
                f"are not whole numbers summing to n_anchors {n_anchors})"]
    exact = counts / n_anchors
    found: list[str] = []
    for label, how, values, overall in rows:
        values = np.asarray(values, np.float64)
        mean = float(exact @ values) if how == "mean" else math.sqrt(float(exact @ values**2))
        _check(found, f"{where}/overall/{short(label, 60)}", overall, mean)
    return found


# --- rollouts -------------------------------------------------------------------------------------

def _n_atoms(scores: dict) -> int:
    for by_split in scores["stride_accuracy"].values():
        for result in by_split.values():
            if "n_atoms" in result:
                return int(result["n_atoms"])
    return int(scores["cost"]["submission"]["n_atoms"])


def _rollouts(scores: dict) -> list[str]:
    found: list[str] = []
    metadata = scores["submission"]["metadata"]
    stride = int(metadata["rollout_stride_fs"])
    protocol = load_protocol(scores["dataset"]["config"])
    for mode_name, result in scores["rollouts"].items():
        if "skipped" in result:
            continue
        mode, where = RolloutMode(mode_name), f"rollouts/{mode_name}"
        key = "rollout_horizon_nve_fs" if mode is RolloutMode.NVE else "rollout_horizon_thermostatted_fs"
        expected = {"stride_fs": stride, "horizon_fs": (int(protocol[key]) // stride) * stride,
                    "observe_fs": max(1, math.ceil(protocol["rollout_observe_fs"] / stride)) * stride,
                    "n_rollouts": len(result["reference"])}
        for field, value in expected.items():
            if result[field] != value:
                found.append(f"{where}/{field}: {_show(result[field])} stored, its metadata and the protocol give {value}")
        if found:
            return found
        horizon = result["horizon_fs"]
        for who, model in result["models"].items():
            if model.get("failed"):
                continue
            if set(model["per_trajectory"]) != set(result["reference"]):
                found.append(f"{where}/models/{short(who, 40)}/per_trajectory: not the trajectories of its reference")
                continue
            for name, record in model["per_trajectory"].items():  # the records first: the summaries follow from them
                found += _trajectory(f"{where}/models/{short(who, 40)}/per_trajectory/{short(name, 20)}", record,
                                     result["reference"][name], mode, horizon, stride, _n_atoms(scores))
            found += _summary(f"{where}/models/{short(who, 40)}", model, mode, horizon, stride)
        mine = result["models"].get(SUBMISSION, {})
        if mode is RolloutMode.NVE and "energy_drift_vs_verlet_k1" in mine and not mine.get("failed"):
            k1 = result["models"].get(Baseline.VERLET_K1.value)
            if k1 is None and scores["submission"]["name"] == Baseline.VERLET_K1.entry_name:
                k1 = mine  # the Verlet k = 1 entry is its own reference
            again = energy_drift_vs_verlet_k1(mine, k1)
            found += _compare_dict(f"{where}/models/submission", {k: mine.get(k) for k in again}, again)
    return found


def _compare_dict(where: str, stored: dict, recomputed: dict, atol: dict[str, float] | None = None) -> list[str]:
    """Every number of ``recomputed`` against ``stored`` (lists element by element); ``atol`` by key (its ``_ci95`` too)."""
    found: list[str] = []
    for key, value in recomputed.items():
        tolerance = (atol or {}).get(key.removesuffix("_ci95"), ATOL)
        if isinstance(value, list):
            theirs = stored.get(key)
            if not isinstance(theirs, list) or len(theirs) != len(value):
                found.append(f"{where}/{key}: {short(theirs, 40)} stored, its records give a list of {len(value)}")
                continue
            for i, (a, b) in enumerate(zip(theirs, value, strict=True)):
                _check(found, f"{where}/{key}/{i}", a, b, RTOL, tolerance)
        elif isinstance(value, dict):
            found += _compare_dict(f"{where}/{key}", stored.get(key) or {}, value)
        else:
            _check(found, f"{where}/{key}", stored.get(key), value, RTOL, tolerance)
    return found


DIFFERENCES = {"temperature_mean_error_K": "temperature_mean_K", "temperature_spread_error_K": "temperature_spread_K",
               "fcc_fraction_error": "fcc_fraction"}  # aggregates of model − md: rounding of each side is absolute


def _summary(where: str, model: dict, mode: RolloutMode, horizon: int, stride: int) -> list[str]:
    """The mean over trajectories of every aggregate, its CI and count, and the survival curve: the scorer's own summarize.

    A mean or a bootstrap quantile of values moves by at most the most any of them was moved by
    rounding: a unit in the 9th digit of the value, or for a difference model − md of the larger side."""
    again = summarize(model["per_trajectory"], mode, horizon_fs=horizon, stride_fs=stride)
    curve = again.pop("survival_curve")
    atol = {}
    for aggregate in AGGREGATES[mode]:
        sizes = []
        for record in model["per_trajectory"].values():
            pair = record.get(DIFFERENCES.get(aggregate.key, ""))
            value = aggregate.value_of(record) if aggregate.key not in DIFFERENCES else None
            sizes += [abs(v) for v in ([pair.get("model"), pair.get("md")] if isinstance(pair, dict) else [value])
                      if isinstance(v, (int, float)) and math.isfinite(v)]
        atol[aggregate.key] = 2 * float(_rounding([max(sizes, default=0.0)], DIGITS)[0]) + ATOL
    found = _compare_dict(where, model, again, atol)
    stored = model.get("survival_curve") or {}
    if stored.get("time_fs") != curve["time_fs"] or stored.get("fraction_alive") != curve["fraction_alive"]:
        found.append(f"{where}/survival_curve: not the one its rollouts' times of failure give")
    return found


def _trajectory(where: str, record: dict, reference: dict, mode: RolloutMode, horizon: int, stride: int, n_atoms: int) -> list[str]:
    found: list[str] = []
    failed_at, reason = record["time_to_failure_fs"], record["failure_reason"]
    if record["survived"] != (failed_at is None) or (failed_at is None) != (reason is None):
        return [f"{where}: survived {record['survived']}, time_to_failure_fs {_show(failed_at)} and failure_reason disagree"]
    if failed_at is not None and not (0 < failed_at <= horizon and math.isclose(failed_at / stride, round(failed_at / stride))):
        return [f"{where}/time_to_failure_fs: {_show(failed_at)} is not a stride ({stride} fs) within the horizon ({horizon} fs)"]
    curves = record.get("curves") or {}
    if record["rdf_error_A"] is not None and "rdf_model" in curves:
        g_md, g_model, radius = (np.asarray(x, np.float64) for x in (reference["rdf_md"], curves["rdf_model"], reference["rdf_r_A"]))
        bound = float((_rounding(g_md, CURVE_DIGITS) + _rounding(g_model, CURVE_DIGITS)).sum() * (radius[1] - radius[0]))
        _check(found, f"{where}/rdf_error_A", record["rdf_error_A"], rdf_error_A(g_md, g_model, radius), RTOL, bound)
    plateaus = record["msd_plateau_A2"]
    if plateaus["model"] is not None and curves.get("msd_model_A2") and curves.get("observed_time_fs"):
        msd = np.asarray(curves["msd_model_A2"], np.float64)
        _check(found, f"{where}/msd_plateau_A2/model", plateaus["model"], plateau(msd), RTOL,
               float(_rounding(msd[len(msd) // 2:], CURVE_DIGITS).mean()))
        md_times, md_msd = np.asarray(reference["md_time_fs"], np.float64), np.asarray(reference["msd_md_A2"], np.float64)
        upto = md_msd[md_times <= curves["observed_time_fs"][-1]]
        if len(upto):
            _check(found, f"{where}/msd_plateau_A2/md", plateaus["md"], plateau(upto), RTOL,
                   float(_rounding(upto[len(upto) // 2:], CURVE_DIGITS).mean()))
    if plateaus["model"] is not None and plateaus["md"]:
        model, md = plateaus["model"], plateaus["md"]
        e_model, e_md = _rounding([model, md], DIGITS)
        _check(found, f"{where}/msd_plateau_relative_error", record["msd_plateau_relative_error"], (model - md) / md, RTOL,
               (e_model + e_md) / abs(md) + abs(model - md) * e_md / md**2)
    if record.get("vdos_error") is not None and {"vdos_md", "vdos_model", "vdos_frequency_THz"} <= set(curves):
        g_md, g_model, frequency = (np.asarray(curves[k], np.float64) for k in ("vdos_md", "vdos_model", "vdos_frequency_THz"))
        bound = float((_rounding(g_md, CURVE_DIGITS) + _rounding(g_model, CURVE_DIGITS)).sum() * (frequency[1] - frequency[0]))
        _check(found, f"{where}/vdos_error", record["vdos_error"], vdos_error(g_md, g_model, frequency), RTOL, bound)
    drift = (record.get("total_energy_drift_meV_per_atom_per_ps") or {}).get("model")
    if mode is RolloutMode.NVE and drift is not None and len(curves.get("total_energy_eV") or []) > 1:
        times, energy = np.asarray(curves["observed_time_fs"], np.float64), np.asarray(curves["total_energy_eV"], np.float64)
        # a least-squares slope moves by at most Σ|t − t̄| ε / Σ(t − t̄)² when each value moves by at most ε
        centred = (times - times.mean()) * 1e-3  # ps
        epsilon = _rounding(energy, CURVE_DIGITS) / n_atoms * 1e3  # meV/atom
        bound = float((np.abs(centred) * epsilon).sum() / (centred**2).sum())
        _check(found, f"{where}/total_energy_drift_meV_per_atom_per_ps/model", drift,
               energy_drift_meV_per_atom_per_ps(times, energy, n_atoms), RTOL, bound)
    return found


# --- cost -----------------------------------------------------------------------------------------

def _ns_per_day(stride_fs: float, seconds_per_atom: float, n_atoms: int) -> float:
    return stride_fs * NS_PER_FS * SECONDS_PER_DAY / (seconds_per_atom * n_atoms)


def _cost(scores: dict) -> list[str]:
    cost = scores["cost"]
    if "skipped" in cost or cost.get("failed"):
        return []
    found: list[str] = []
    mine, md = cost["submission"], cost["lammps_eam"]
    stride = int(scores["submission"]["metadata"]["rollout_stride_fs"])
    n_atoms = _n_atoms(scores)
    for who, record in (("submission", mine), ("lammps_eam", md)):
        if record["n_atoms"] != n_atoms:
            found.append(f"cost/{who}/n_atoms: {_show(record['n_atoms'])} stored, the stride records have {n_atoms}")
    if mine["stride_fs"] != stride:
        found.append(f"cost/submission/stride_fs: {_show(mine['stride_fs'])} stored, its rollout_stride_fs is {stride}")
    if found:
        return found
    _check(found, "cost/lammps_eam/us_per_atom_step", md["us_per_atom_step"], md["seconds_per_step"] / n_atoms * 1e6)
    _check(found, "cost/lammps_eam/ns_per_day", md["ns_per_day"], _ns_per_day(md["timestep_fs"], md["seconds_per_step"] / n_atoms, n_atoms))
    shapes = mine.get("shapes")
    if shapes:
        for kind, shape in shapes.items():
            seconds_per_atom = shape["seconds_per_call"] / (shape["graphs_per_call"] * n_atoms)
            _check(found, f"cost/submission/shapes/{short(kind, 20)}/us_per_atom_stride", shape["us_per_atom_stride"], seconds_per_atom * 1e6)
            _check(found, f"cost/submission/shapes/{short(kind, 20)}/ns_per_day", shape["ns_per_day"], _ns_per_day(stride, seconds_per_atom, n_atoms))
        headline = "rollout" if "rollout" in shapes else "stride"
        if mine.get("timed_on") != f"{headline} calls" or headline not in shapes:
            found.append(f"cost/submission/timed_on: {short(mine.get('timed_on'), 30)} stored; the headline is the {headline} calls")
            return found
        head = shapes[headline]
        for field, key in (("seconds_per_stride", "seconds_per_call"), ("graphs_per_call", "graphs_per_call"),
                           ("us_per_atom_stride", "us_per_atom_stride"), ("ns_per_day", "ns_per_day")):
            _check(found, f"cost/submission/{field}", mine.get(field), head[key])
        found += _sandbox(scores, shapes)
    else:
        name = scores["submission"]["name"]
        builtin = {b.entry_name: b for b in Baseline if b.is_verlet and b is not Baseline.VERLET_EXACT}.get(name)
        if builtin is None:
            found.append(f"cost/submission: no timed calls (shapes), which only a built-in Verlet entry may have, not {short(name, 64)}")
            return found
        _check(found, "cost/submission/seconds_per_stride", mine["seconds_per_stride"], builtin.substeps(stride) * md["seconds_per_step"])
        _check(found, "cost/submission/us_per_atom_stride", mine["us_per_atom_stride"], mine["seconds_per_stride"] / n_atoms * 1e6)
        _check(found, "cost/submission/ns_per_day", mine["ns_per_day"], _ns_per_day(stride, mine["seconds_per_stride"] / n_atoms, n_atoms))
    _check(found, "cost/speedup_vs_lammps", cost["speedup_vs_lammps"], mine["ns_per_day"] / md["ns_per_day"])
    if cost.get("hardware") != scores.get("hardware"):
        found.append("cost/hardware: not the hardware the scores were made on (hardware)")
    return found


def _sandbox(scores: dict, shapes: dict) -> list[str]:
    """The timed calls are some of the calls the sandbox counted (after WARMUP_CALLS of each kind), and their
    seconds part of the model's total, which is part of the round trips, which is part of the run; the calls
    that were not timed took the rest of the model's total, at most the call time limit each. (Timings made
    faster everywhere, the sandbox's record included, are for rescoring to find.)"""
    sandbox = scores.get("sandbox") or {}
    boundary = sandbox.get("process_boundary")
    if not boundary:
        return []
    found: list[str] = []
    calls = sum(shape["calls"] for shape in shapes.values()) + WARMUP_CALLS * len(shapes)
    seconds = sum(shape["calls"] * shape["seconds_per_call"] for shape in shapes.values())
    if boundary["calls"] < calls:
        found.append(f"sandbox/process_boundary/calls: {_show(boundary['calls'])}, fewer than the {calls} its cost timed")
    if boundary["model_seconds"] < seconds * (1 - RTOL):
        found.append(f"sandbox/process_boundary/model_seconds: {_show(boundary['model_seconds'])} s, less than the "
                     f"{seconds:.6g} s of the calls its cost timed")
    limit = (sandbox.get("limits") or {}).get("call_timeout_s")
    untimed = boundary["calls"] - sum(shape["calls"] for shape in shapes.values())
    if isinstance(limit, (int, float)) and boundary["model_seconds"] - seconds > untimed * limit * (1 + RTOL):
        found.append(f"sandbox/process_boundary/model_seconds: {_show(boundary['model_seconds'])} s, but the calls its cost timed "
                     f"took {seconds:.6g} s, and the {untimed} other calls could take at most {limit:g} s each")
    if boundary["round_trip_seconds"] < boundary["model_seconds"] * (1 - RTOL):
        found.append("sandbox/process_boundary: round trips shorter than the model's own time")
    if scores["wall_seconds"] < boundary["round_trip_seconds"] * (1 - RTOL):
        found.append(f"wall_seconds: {_show(scores['wall_seconds'])} s, less than the {boundary['round_trip_seconds']:.6g} s "
                     "the scorer waited for the model")
    return found


# --- errors and date --------------------------------------------------------------------------------

def _failures(scores: dict) -> list[tuple[str, str]]:
    """(prefix of its errors entry, its error) of every part that failed, as the scorer writes them."""
    failures = [(f"stride accuracy on {split}: ", result.get("error", "")) for split, result in scores["stride_accuracy"]["nve"].items()
                if result.get("failed")]
    failures += [(f"{mode} rollouts: ", result["models"][SUBMISSION].get("error", "")) for mode, result in scores["rollouts"].items()
                 if result.get("models", {}).get(SUBMISSION, {}).get("failed")]
    if scores["cost"].get("failed"):
        failures.append(("cost: ", scores["cost"].get("error", "")))
    return failures


def _errors(scores: dict) -> list[str]:
    """Each failed part has its entry in ``errors`` (the same text, up to the cap on a string), and every entry a failed part."""
    failures, errors = _failures(scores), list(scores["errors"])
    found: list[str] = []
    for prefix, error in failures:
        match = next((e for e in errors if e.startswith(prefix) and _same_text(e[len(prefix):], error)), None)
        if match is None:
            found.append(f"errors: nothing for the failed part {short(prefix.rstrip(': '), 40)}")
        else:
            errors.remove(match)
    if scores["submission"].get("metadata_defaults"):
        errors = [e for e in errors if not e.startswith("first call: ")]
    for error in errors[:2]:
        found.append(f"errors: {short(error, 80)} is no failure its records show")
    return found


def _same_text(recorded: str, error: str) -> bool:
    """Equal, or equal up to where the scorer cut the longer of the two ("… (N more characters)")."""
    cut = "… ("
    a, b = (s.split(cut)[0] if s.endswith(" more characters)") else s for s in (recorded, error))
    return a == b or a.startswith(b) or b.startswith(a) if (cut in recorded or cut in error) else recorded == error


def _scored_on(scores: dict) -> list[str]:
    day = scores.get("scored_on")
    if day is None:
        return []
    try:
        date = datetime.date.fromisoformat(day)
    except ValueError:
        return [f"scored_on: {short(day, 20)} is not a date"]
    tomorrow = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1)
    return [f"scored_on: {day} is in the future"] if date > tomorrow else []

