"""Numbers edited by hand in scores.json (issue #21): validate recomputes what follows from the file's own records.

Without ``--rescore``, validate used to trust scores.json: the RMSE × 0.01 and the speed-up × 1000 by hand
validated and ranked #2. Every edit here also rewrites the stored usability verdict to what the edited
numbers give, so the verdict check (which existed) passes and only the recomputation
(gnnbench.leaderboard.consistency) can refuse it. With ``--rescore``, the comparison covers every field
but the machine, the day and the timings (gnnbench.leaderboard.validate.compare_rescored); it is tested
here on a rescoring made by hand from the file itself, so no scoring has to run.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hostile_corpus import SUBMISSIONS, copy_valid, edit_scores, problems, rescale_stride

from gnnbench.leaderboard.build import render_leaderboard
from gnnbench.leaderboard.consistency import inconsistencies
from gnnbench.leaderboard.validate import COST_TOLERANCE, QUIET_COST_TOLERANCE, ValidationReport, compare_rescored, validate_submission_dir
from gnnbench.score.usability import usability

LEARNED = "gns-mini-seed0"
COMMITTED = sorted(p.name for p in SUBMISSIONS.iterdir()
                   if p.is_dir() and json.loads((p / "scores.json").read_text())["scorer_version"] == "3.0.0")


def with_verdict(change):
    """``change``, then the usability verdict its numbers give (so the old verdict check cannot see the edit)."""
    def edit(scores):
        change(scores)
        scores["usability"] = [check.as_dict() for check in usability(scores)]
    return edit


def at_10(s: dict) -> dict:
    return s["stride_accuracy"]["nve"]["test"]["overall"]["10"]


def nve(s: dict) -> dict:
    return s["rollouts"]["nve"]["models"]["submission"]


@pytest.mark.parametrize("name", COMMITTED)
def test_every_committed_entry_follows_from_its_own_records(name):
    assert inconsistencies(json.loads((SUBMISSIONS / name / "scores.json").read_text())) == []


def test_the_issues_edit_rmse_x_001_and_speedup_x_1000_is_refused_and_not_ranked(tmp_path):
    submissions = tmp_path / "submissions"
    for name in ("zero-displacement", "constant-velocity"):
        copy_valid(submissions, name)
    folder = copy_valid(submissions, LEARNED)
    edit_scores(folder, with_verdict(lambda s: (
        [at_10(s)["submission"].update({k: v * 0.01}) for k, v in list(at_10(s)["submission"].items()) if k == "rmse_A"],
        s["cost"].update(speedup_vs_lammps=s["cost"]["speedup_vs_lammps"] * 1000))))
    text = problems(folder)
    assert "scores.json: its numbers do not follow from its own records" in text
    assert "stride_accuracy/nve/test/overall/10/submission/rmse_A: 2.37697e-05 stored, its records give 0.00237697" in text
    speedup = scores_of()["cost"]["speedup_vs_lammps"]
    assert f"cost/speedup_vs_lammps: {speedup * 1000:.6g} stored, its records give {speedup:.6g}" in text
    files, excluded, n = render_leaderboard(submissions, tmp_path / "leaderboard")
    assert n == 2 and LEARNED in excluded and f"[{LEARNED}]" not in files["README.md"].decode()


EDITS = {
    "RMSE alone": (lambda s: at_10(s)["submission"].update(rmse_A=1e-4), "overall/10/submission/rmse_A"),
    "RMSE and MSE of the overall record": (lambda s: at_10(s)["submission"].update(rmse_A=1e-4, mse_A2=1e-8),
                                           "overall/10/skill_vs_zero"),
    "the overall record and all that follows from it": (lambda s: _overall_only(s, 0.01), "overall/10/submission/mse_A2"),
    "RMSE's CI": (lambda s: at_10(s)["submission"].update(rmse_A_ci95=[1e-5, 2e-5]), "submission/rmse_A_ci95/0"),
    "skill": (lambda s: at_10(s).update(skill_vs_constant_velocity=0.999), "overall/10/skill_vs_constant_velocity"),
    "force calls": (lambda s: at_10(s).update(force_calls_to_match={"value": 6.0, "bound": None, "text": "6"}),
                    "overall/10/force_calls_to_match/bound"),
    "one temperature": (lambda s: s["stride_accuracy"]["nve"]["test"]["per_temperature"]["800"]["10"]["submission"].update(
        mse_A2=1e-10), "per_temperature/800/10/submission/rmse_A"),
    "speed-up x 1.5": (lambda s: s["cost"].update(speedup_vs_lammps=s["cost"]["speedup_vs_lammps"] * 1.5), "cost/speedup_vs_lammps"),
    "ns/day x 1.5": (lambda s: s["cost"]["submission"].update(ns_per_day=s["cost"]["submission"]["ns_per_day"] * 1.5),
                     "cost/submission/ns_per_day"),
    "LAMMPS slower": (lambda s: s["cost"]["lammps_eam"].update(seconds_per_step=s["cost"]["lammps_eam"]["seconds_per_step"] * 10),
                      "cost/lammps_eam/us_per_atom_step"),
    "every timing / 1000, consistently": (lambda s: _faster(s, 1000.0), "sandbox/process_boundary/model_seconds"),
    "cpu_model": (lambda s: s["cost"]["hardware"].update(cpu_model="a faster CPU"), "cost/hardware"),
    "survival": (lambda s: nve(s).update(survival_fraction=1.0), "rollouts/nve/models/submission/survival_fraction"),
    "survival curve": (lambda s: nve(s)["survival_curve"].update(fraction_alive=[1.0] * len(nve(s)["survival_curve"]["fraction_alive"])),
                       "survival_curve"),
    "a trajectory survives": (lambda s: nve(s)["per_trajectory"]["T0300K"].update(survived=True, time_to_failure_fs=None,
                                                                                   failure_reason=None),
                              "rollouts/nve/models/submission/survival_fraction"),
    "time to failure off the strides": (lambda s: nve(s)["per_trajectory"]["T0300K"].update(time_to_failure_fs=465.0),
                                        "per_trajectory/T0300K/time_to_failure_fs"),
    "RDF error of a trajectory": (lambda s: nve(s)["per_trajectory"]["T0300K"].update(rdf_error_A=0.01),
                                  "per_trajectory/T0300K/rdf_error_A"),
    "energy drift": (lambda s: nve(s).update(abs_total_energy_drift_meV_per_atom_per_ps=0.001),
                     "abs_total_energy_drift_meV_per_atom_per_ps"),
    "energy drift of a trajectory and its mean": (lambda s: _trajectory_drift(s, 0.001), "total_energy_drift_meV_per_atom_per_ps/model"),
    "VDOS": (lambda s: nve(s).update(vdos_error=0.01), "rollouts/nve/models/submission/vdos_error"),
    "energy drift ratio": (lambda s: nve(s).update(energy_drift_vs_verlet_k1=1.0), "energy_drift_vs_verlet_k1"),
    "rollout stride": (lambda s: s["rollouts"]["thermostatted"].update(stride_fs=5), "rollouts/thermostatted/stride_fs"),
    "an error removed": (lambda s: (s["rollouts"]["nve"]["models"].update(submission={"failed": True, "error": "it raised"}),
                                    s.update(errors=[])), "errors: nothing for the failed part nve rollouts"),
    "an error added": (lambda s: s.update(errors=["stride accuracy on test: something"]), "is no failure its records show"),
    "scored in the future": (lambda s: s.update(scored_on="2999-01-01"), "scored_on: 2999-01-01 is in the future"),
    "scored on no day": (lambda s: s.update(scored_on="2026-02-31"), "scored_on: 2026-02-31 is not a date"),
}


def _overall_only(s: dict, factor: float) -> None:
    """The overall record at 10 fs scaled, with its skills and force calls, but not the per-temperature records
    it is the mean of."""
    per_temperature = copy.deepcopy(s["stride_accuracy"]["nve"]["test"]["per_temperature"])
    others = {dt: copy.deepcopy(at) for dt, at in s["stride_accuracy"]["nve"]["test"]["overall"].items() if dt != "10"}
    rescale_stride(s, "submission", factor)
    s["stride_accuracy"]["nve"]["test"]["per_temperature"] = per_temperature
    s["stride_accuracy"]["nve"]["test"]["overall"].update(others)


def _faster(s: dict, factor: float) -> None:
    """Every timing of the cost divided by ``factor``, consistently: only the sandbox's record of the same calls shows it."""
    mine = s["cost"]["submission"]
    for shape in mine["shapes"].values():
        shape["seconds_per_call"] /= factor
        shape["us_per_atom_stride"] /= factor
        shape["ns_per_day"] *= factor
    mine.update(seconds_per_stride=mine["seconds_per_stride"] / factor, us_per_atom_stride=mine["us_per_atom_stride"] / factor,
                ns_per_day=mine["ns_per_day"] * factor)
    s["cost"]["speedup_vs_lammps"] *= factor


def _trajectory_drift(s: dict, value: float) -> None:
    """One trajectory's energy drift edited, and the summary recomputed from the edited records: its curve still shows it."""
    from gnnbench.score.rollout import RolloutMode, summarize

    nve(s)["per_trajectory"]["T0300K"]["total_energy_drift_meV_per_atom_per_ps"]["model"] = value
    again = summarize(nve(s)["per_trajectory"], RolloutMode.NVE, horizon_fs=s["rollouts"]["nve"]["horizon_fs"],
                      stride_fs=s["rollouts"]["nve"]["stride_fs"])
    nve(s).update(again)


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_an_edited_number_is_refused_naming_it(tmp_path, edit):
    change, expected = EDITS[edit]
    folder = copy_valid(tmp_path / "submissions", LEARNED)
    edit_scores(folder, with_verdict(change))
    text = problems(folder)
    assert expected in text, text


def test_a_consistent_rescaling_of_every_stride_record_needs_rescoring(tmp_path):
    """What the recomputation cannot see (the per-anchor errors are not shipped): every stride error of the
    submission × 0.01 with its skills, force calls and verdict. Its rescoring (here: the file as it was)
    shows it, field by field."""
    folder = copy_valid(tmp_path / "submissions", LEARNED)
    honest = json.loads((folder / "scores.json").read_text())
    edit_scores(folder, lambda s: rescale_stride(s, "submission", 0.01))
    assert validate_submission_dir(folder).ok
    report = ValidationReport(folder)
    compare_rescored(folder, json.loads((folder / "scores.json").read_text()), honest, False, report)
    assert "the scorer does not reproduce it: stride_accuracy/" in " ".join(report.problems)


# ------------------------------------------------------------------------------------------ rescore

def rescored(scores: dict, factor: float = 1.0, cpu_model: str | None = None) -> dict:
    """``scores`` as a rescoring on another day (and machine) would give it: every timing × ``factor``."""
    again = copy.deepcopy(scores)
    again["scored_on"], again["wall_seconds"] = "2027-01-02", scores["wall_seconds"] * 1.3
    if cpu_model:
        again["hardware"] = again["cost"]["hardware"] = {**scores["hardware"], "cpu_model": cpu_model}
    boundary = again["sandbox"]["process_boundary"]
    boundary.update(model_seconds=boundary["model_seconds"] * factor, round_trip_seconds=boundary["round_trip_seconds"] * factor)
    again["sandbox"]["worker_startup_seconds"] = [2.5]
    _faster(again, 1 / factor)
    return again


def compared(recorded: dict, again: dict) -> ValidationReport:
    report = ValidationReport(Path("entry"))
    compare_rescored(Path("entry"), recorded, again, False, report)
    return report


def scores_of(name: str = LEARNED) -> dict:
    return json.loads((SUBMISSIONS / name / "scores.json").read_text())


def test_a_rescoring_on_another_day_and_machine_reproduces_an_honest_file():
    report = compared(scores_of(), rescored(scores_of(), factor=1.8, cpu_model="another CPU"))
    assert report.ok, report.problems
    assert any("every other field but the machine, the day and the timings" in n for n in report.notes)
    assert any("re-time it on an idle machine" in n for n in report.notes)  # 1.8 is more than an idle machine's spread


RESCORE_EDITS = {
    "notes": lambda s: s["rollouts"]["nve"]["notes"].__setitem__(0, "velocities: predicted by the submission (exactly)"),
    "errors": lambda s: s.update(errors=["cost: none"]),
    "graphs per call": lambda s: s["cost"]["submission"].update(graphs_per_call=16.0),
    "calls": lambda s: s["sandbox"]["process_boundary"].update(calls=400),
    "limits": lambda s: s["sandbox"]["limits"].update(memory_gib=64.0),
    "threads": lambda s: s["cost"]["submission"].update(torch_threads=2),
    "verdict detail": lambda s: s["usability"][0].update(detail="all survive"),
    "the targets' floor": lambda s: s["dataset"]["nve_target_floor_A"].update({"10": 1e-9}),
    "a rollout file": lambda s: s["rollouts"]["nve"]["rollout_files"]["T0005K"].update(model="rollouts/nve/x.extxyz.gz"),
}


@pytest.mark.parametrize("edit", RESCORE_EDITS, ids=list(RESCORE_EDITS))
def test_rescoring_compares_every_field_it_reproduces(edit):
    recorded = scores_of()
    RESCORE_EDITS[edit](recorded)
    report = compared(recorded, rescored(scores_of()))
    assert "the scorer does not reproduce it" in " ".join(report.problems)


def test_timings_on_the_same_hardware_are_compared_one_by_one():
    """ns/day × 4 and LAMMPS × 4, consistently (the speed-up unchanged): on the same hardware the re-timing shows it."""
    recorded = scores_of()
    for record in (recorded["cost"]["submission"], recorded["cost"]["lammps_eam"]):
        record["ns_per_day"] *= 4
    report = compared(recorded, rescored(scores_of()))
    text = " ".join(report.problems)
    assert "cost/submission/ns_per_day" in text and "cost/lammps_eam/ns_per_day" in text and "same hardware" in text
    assert compared(recorded, rescored(scores_of(), cpu_model="another CPU")).ok  # other hardware: only the ratio


def test_the_cost_tolerance_is_wider_than_the_spread_measured_and_refuses_beyond_it():
    recorded = scores_of()
    assert compared(recorded, rescored(recorded, factor=2.42)).ok  # the largest gap measured between recorded and re-timed
    report = compared(recorded, rescored(recorded, factor=COST_TOLERANCE * 1.2))
    speedup = recorded["cost"]["speedup_vs_lammps"]
    assert (f"speed-up over LAMMPS {speedup:.3g}x, but it re-times at {speedup / (COST_TOLERANCE * 1.2):.3g}x (more than a factor 3 apart"
            in " ".join(report.problems))
    assert 1 < QUIET_COST_TOLERANCE < 1.5 < COST_TOLERANCE
