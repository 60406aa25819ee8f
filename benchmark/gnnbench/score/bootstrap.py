"""95 % percentile-bootstrap confidence intervals.

A statistic is a function of one or more arrays whose *last* axis holds the samples (anchors,
or trajectories), e.g. ``metrics.root_mean``. The bootstrap draws B resamples of the sample
indices with replacement, applies the statistic to all of them at once (arrays [..., B, n]),
and takes the 2.5 % and 97.5 % quantiles. Several arrays are resampled with the same indices
(paired), which is what a skill score 1 − MSE/MSE_baseline on the same anchors needs.
The seed is fixed, so rescoring reproduces every interval exactly; a statistic that is the
same on every resample (a constant metric) gets a zero-width interval.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

N_RESAMPLES = 1000
LEVEL = 0.95
SEED = 20251124


def bootstrap_ci(statistic: Callable[..., np.ndarray], *samples: np.ndarray, n_resamples: int = N_RESAMPLES,
                 level: float = LEVEL, seed: int = SEED) -> tuple[float, float]:
    """(low, high) of the ``level`` percentile-bootstrap interval of ``statistic(*samples)``.

    Every array in ``samples`` has the samples on its last axis, all of the same length n ≥ 1.
    NaN where the statistic is NaN on the resamples (e.g. a skill with a zero baseline).
    """
    n = np.shape(samples[0])[-1]
    if any(np.shape(s)[-1] != n for s in samples):
        raise ValueError("bootstrap_ci: paired samples must have the same length")
    if n == 0:
        return float("nan"), float("nan")
    indices = _resample_indices(n, n_resamples, seed)
    values = np.asarray(statistic(*(np.asarray(s, np.float64)[..., indices] for s in samples)), np.float64)
    if np.isnan(values).any():
        return float("nan"), float("nan")
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def with_ci(key: str, statistic: Callable[..., np.ndarray], *samples: np.ndarray) -> dict[str, float | list[float]]:
    """``{key: statistic(*samples), key + "_ci95": [low, high]}``, the layout of scores.json."""
    value = float(statistic(*(np.asarray(s, np.float64) for s in samples)))
    return {key: value, f"{key}_ci95": list(bootstrap_ci(statistic, *samples))}


@lru_cache(maxsize=64)
def _resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """The [B, n] resample indices for n samples (the same for every metric of that size)."""
    indices = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    indices.flags.writeable = False
    return indices
