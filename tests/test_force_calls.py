"""Force calls an entry is worth: its RMSE placed on the Verlet-k curve (gnnbench.score.force_calls)."""

from __future__ import annotations

import math

import pytest

from gnnbench.score.baselines import VERLET_K_CURVE, Baseline
from gnnbench.score.force_calls import force_calls_to_match, verlet_curve

# Verlet's error falling as k^-2, as for a smooth flow: RMSE(k) = 1e-3 / k²
POWER_LAW = [(k, 1e-3 / k**2) for k in (1, 2, 4, 8)]


def test_a_power_law_curve_is_inverted_exactly():
    # RMSE 1e-4 = 1e-3 / k²  =>  k* = sqrt(10), and log-log interpolation is exact on a power law
    assert force_calls_to_match(1e-4, POWER_LAW)["value"] == pytest.approx(math.sqrt(10), rel=1e-12)
    for k, rmse in POWER_LAW:
        assert force_calls_to_match(rmse, POWER_LAW)["value"] == pytest.approx(k, rel=1e-12)


def test_outside_the_measured_range_is_a_bound_not_an_extrapolation():
    worse = force_calls_to_match(2e-3, POWER_LAW)
    better = force_calls_to_match(1e-6, POWER_LAW)
    assert (worse["value"], worse["bound"], worse["text"]) == (None, "below", "< 1")
    assert (better["value"], better["bound"], better["text"]) == (None, "above", "> 8")
    assert force_calls_to_match(float("nan"), POWER_LAW)["value"] is None


def test_a_curve_flat_on_the_targets_floor_gives_the_fewest_calls_that_do_as_well():
    floor = [(1, 1e-6), (2, 3e-8), (4, 1e-8), (8, 1.2e-8)]  # k = 4 and 8 both on the targets' floor
    assert force_calls_to_match(1.1e-8, floor)["value"] == pytest.approx(2 * 2 ** (math.log(3e-8 / 1.1e-8) / math.log(3)), rel=1e-12)
    assert force_calls_to_match(1e-9, floor)["bound"] == "above"


def test_the_curve_is_read_from_a_scores_record_by_baseline_key():
    record = {b.value: {"rmse_A": 1e-3 / b.substeps(0.0) ** 2} for b in VERLET_K_CURVE}
    record[Baseline.CONSTANT_VELOCITY.value] = {"rmse_A": 1.0}
    assert verlet_curve(record) == POWER_LAW
