"""How many true-force calls an entry's stride is worth: its RMSE placed on the Verlet-k curve.

EAM is among the cheapest potentials there are, so wall-time speed-ups measured here do not
carry over to the expensive potentials (DFT, large ML potentials) where learned integrators are
meant to pay off. What does carry over is the number of force evaluations a model replaces at
equal accuracy. For every Δt the scorer runs velocity-Verlet with the true forces and
k = 1, 2, 4, 8 steps per stride (``VERLET_K_CURVE``, k force calls each) on the same anchors
as the entry, so RMSE_Verlet(k) is known at four points. The entry's equivalent is

    k* such that RMSE_Verlet(k*) = RMSE_entry,

found by linear interpolation of log RMSE against log k between the two neighbouring points
(Verlet's error falls as a power of k: k^-2 for a smooth flow). Outside the measured range
k* is not extrapolated: an entry less accurate than one Verlet step is worth "< 1" force call
per stride, one more accurate than eight steps "> 8".
"""

from __future__ import annotations

import itertools
import math
from typing import TypedDict

from .baselines import VERLET_K_CURVE


class ForceCalls(TypedDict):
    value: float | None  # k* (force calls per stride), None outside [k_min, k_max]
    bound: str | None    # None inside the range; "below" (k* < k_min) or "above" (k* > k_max)
    text: str            # "2.7", "< 1", "> 8"


def verlet_curve(at_dt: dict) -> list[tuple[int, float]]:
    """(k, RMSE in Å) of every Verlet-k baseline in one ``at_dt`` record of scores.json."""
    return [(b.substeps(0.0), at_dt[b.value]["rmse_A"]) for b in VERLET_K_CURVE if b.value in at_dt]


def force_calls_to_match(rmse_A: float, curve: list[tuple[int, float]]) -> ForceCalls:
    """k* at which velocity-Verlet with the true forces has RMSE ``rmse_A`` (see the module docstring).

    ``curve`` is [(k, RMSE_Verlet(k))] with k ascending. Where the measured curve is not
    decreasing (at 1 fs k = 4 and 8 can both sit on the targets' own floor), the first point that
    reaches the entry's RMSE decides: k* is the least force calls that do at least as well.
    """
    if not curve or rmse_A is None or not math.isfinite(rmse_A):
        return {"value": None, "bound": None, "text": "—"}
    ks = [k for k, _ in curve]
    if rmse_A >= curve[0][1]:
        return ({"value": float(ks[0]), "bound": None, "text": f"{ks[0]:g}"} if rmse_A == curve[0][1]
                else {"value": None, "bound": "below", "text": f"< {ks[0]:g}"})
    for (k_lo, e_lo), (k_hi, e_hi) in itertools.pairwise(curve):
        if rmse_A >= e_hi:  # between k_lo (worse than the entry) and k_hi (at least as good)
            if e_hi <= 0 or e_lo <= e_hi:
                value = float(k_hi)
            else:
                fraction = math.log(e_lo / rmse_A) / math.log(e_lo / e_hi)
                value = math.exp(math.log(k_lo) + fraction * (math.log(k_hi) - math.log(k_lo)))
            return {"value": value, "bound": None, "text": f"{value:.2g}"}
    return {"value": None, "bound": "above", "text": f"> {ks[-1]:g}"}
