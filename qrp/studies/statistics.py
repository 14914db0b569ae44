"""Statistics of the study reports: bootstrap intervals of medians, time-to-solution, scaling exponents.

* ``median_interval``: the median of a sample with a percentile-bootstrap confidence interval (Efron & Tibshirani
  1993, ch. 13): resample the values with replacement ``n_resamples`` times (seeded), take each resample's median,
  and report the (1 - confidence)/2 and (1 + confidence)/2 quantiles of those medians. Reports pool instances
  (covariances) and solver seeds of one configuration into one sample.
* ``time_to_solution``: TTS(target) = overhead + samples x ln(1 - target) / ln(1 - p), the expected number of
  samples (each a ground state with probability p, independently) needed to see a ground state with probability
  ``target`` (0.99), at least one attempt; as in the annealing benchmarks of Ronnow et al. (2014, Science 345, 420)
  and the QAOA scaling study of Shaydulin et al. (2024, Sci. Adv. 10, eadm6761, arXiv:2308.02342).
* ``fit_exponent``: the exponent c of TTS ~ 2^(a + c n): least squares of log2 of the per-size median against n,
  with a bootstrap interval that resamples the instances within each size (a stratified bootstrap).

The bootstrap is a seeded numpy loop rather than ``scipy.stats.bootstrap``: the quantities here are often infinite
(a method that never found the ground state has TTS = inf), and scipy's interpolated percentiles turn those into NaN,
while the inverted-CDF quantiles used here keep them as +inf (an interval "[x, inf]" says what was measured).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: default bootstrap resamples and confidence level.
N_RESAMPLES = 2000
CONFIDENCE = 0.95
#: default success target of TTS.
TARGET = 0.99
#: shots charged per exact-expectation evaluation of a variational optimizer (the readout's size): the ground-state
#: rows' samples and the refinement report's energy evaluations. Here, not in ``ground_state``, so that ``qrp report``
#: does not import the solver stack (numba, scipy.cluster: 0.5 s) for a constant.
NOMINAL_SHOTS = 1024


def _check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(confidence)


def _quantiles(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(draws, [tail, 1.0 - tail], method="inverted_cdf")
    return float(lo), float(hi)


def median_interval(values, *, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                    seed: int = 0) -> tuple[float, float, float]:
    """(median, lo, hi): the sample median and its percentile-bootstrap ``confidence`` interval (module docstring).

    ``values``: finite numbers or +inf (NaN are dropped); an empty sample gives (nan, nan, nan), a single value
    (v, v, v). The same ``seed`` always gives the same interval.
    """
    confidence = _check_confidence(confidence)
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    med = float(np.median(x))
    if x.size == 1:
        return med, med, med
    rng = np.random.default_rng(seed)
    draws = np.median(x[rng.integers(0, x.size, size=(int(n_resamples), x.size))], axis=1)
    lo, hi = _quantiles(draws, confidence)
    return med, lo, hi


def time_to_solution(p, *, samples: float = 1.0, overhead: float = 0.0, target: float = TARGET) -> float:
    """TTS = overhead + samples x max(1, ln(1 - target) / ln(1 - p)) (module docstring).

    ``p``: probability that one attempt of ``samples`` samples succeeds (for per-sample probabilities, samples = 1);
    p = 0 gives +inf, p >= target gives one attempt. ``overhead``: samples spent once, before the attempts (a
    variational optimizer's training shots).
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be in (0, 1), got {target!r}")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    if p == 0.0:
        return math.inf
    attempts = 1.0 if p >= target else math.log1p(-target) / math.log1p(-p)
    return float(overhead) + float(samples) * max(1.0, attempts)


def fit_exponent(sizes, values, *, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                 seed: int = 0) -> dict:
    """Fit median(values | n) ~ 2^(intercept + exponent n) over the sizes n (module docstring).

    ``sizes``, ``values``: one entry per instance (and solver seed); values > 0, +inf allowed. Sizes whose median
    is infinite are left out of the fit (listed in ``left_out``); at least two finite sizes are needed, else the
    exponent is NaN. The interval resamples the values within each fitted size; a resample whose median is
    infinite counts as an infinite exponent, so an upper bound of +inf means "may not be finite".

    Returns {"exponent", "lo", "hi", "intercept", "sizes" (fitted), "left_out", "points" (values used)}.
    """
    confidence = _check_confidence(confidence)
    n = np.asarray(sizes, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if n.shape != v.shape:
        raise ValueError(f"sizes and values must have the same length, got {n.size} and {v.size}")
    if np.any(v <= 0) or np.any(np.isnan(v)):
        raise ValueError("values must be > 0 (TTS in samples; +inf for never)")
    groups = {float(s): np.log2(v[n == s]) for s in np.unique(n)}
    fitted = [s for s, g in groups.items() if np.isfinite(np.median(g))]
    out = {"sizes": fitted, "left_out": [s for s in groups if s not in fitted],
           "points": int(sum(groups[s].size for s in fitted))}
    if len(fitted) < 2:
        return {**out, "exponent": math.nan, "lo": math.nan, "hi": math.nan, "intercept": math.nan}
    x = np.array(fitted)
    slope, intercept = np.polyfit(x, [np.median(groups[s]) for s in fitted], 1)
    rng = np.random.default_rng(seed)
    meds = np.column_stack([np.median(g[rng.integers(0, g.size, size=(int(n_resamples), g.size))], axis=1)
                            for g in (groups[s] for s in fitted)])
    finite = np.all(np.isfinite(meds), axis=1)
    draws = np.full(int(n_resamples), math.inf)
    xc = x - x.mean()
    draws[finite] = (meds[finite] - meds[finite].mean(axis=1, keepdims=True)) @ xc / (xc @ xc)  # OLS slopes
    lo, hi = _quantiles(draws, confidence)
    return {**out, "exponent": float(slope), "lo": lo, "hi": hi, "intercept": float(intercept)}


def grouped_intervals(frame: pd.DataFrame, keys: list[str], y: str, *, confidence: float = CONFIDENCE,
                      seed: int = 0) -> pd.DataFrame:
    """One row per group of ``keys``: the keys, ``y`` (the median), ``y_lo``, ``y_hi`` (its bootstrap interval) and
    ``count`` (rows pooled: instances x solver seeds)."""
    rows = []
    narrow = frame[list(dict.fromkeys([*keys, y]))]  # groups of two columns, not of the whole table (3x faster)
    for k, g in narrow.groupby(keys, sort=True, dropna=False):
        med, lo, hi = median_interval(pd.to_numeric(g[y], errors="coerce"), confidence=confidence, seed=seed)
        rows.append({**dict(zip(keys, k if isinstance(k, tuple) else (k,), strict=True)),
                     y: med, f"{y}_lo": lo, f"{y}_hi": hi, "count": len(g)})
    return pd.DataFrame(rows, columns=[*keys, y, f"{y}_lo", f"{y}_hi", "count"])


def format_interval(med: float, lo: float, hi: float, fmt: str = ".2e") -> str:
    """``median [lo, hi]`` as report tables print it (one value when the interval is a point)."""
    if math.isnan(med):
        return "-"
    text = [format(v, fmt) for v in (med, lo, hi)]
    return text[0] if len(set(text)) == 1 else f"{text[0]} [{text[1]}, {text[2]}]"


__all__ = ["NOMINAL_SHOTS", "fit_exponent", "format_interval", "grouped_intervals", "median_interval",
           "time_to_solution"]
