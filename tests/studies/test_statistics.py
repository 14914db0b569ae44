"""Bootstrap intervals, time-to-solution and scaling-exponent fits of the study reports (issue 11)."""

import math

import numpy as np
import pytest

from qrp.studies.statistics import fit_exponent, median_interval, time_to_solution


def test_median_interval_contains_the_median_and_is_reproducible():
    x = np.random.default_rng(3).lognormal(0.0, 1.0, 41)
    med, lo, hi = median_interval(x, seed=5)
    assert med == pytest.approx(np.median(x))
    assert lo < med < hi
    assert median_interval(x, seed=5) == (med, lo, hi)
    # a wider confidence level gives a wider interval
    _, lo99, hi99 = median_interval(x, seed=5, confidence=0.99)
    assert lo99 <= lo and hi99 >= hi


def test_median_interval_of_a_large_normal_sample_brackets_the_true_median():
    x = np.random.default_rng(0).normal(2.0, 1.0, 2000)
    _, lo, hi = median_interval(x, seed=0)
    assert lo < 2.0 < hi and hi - lo < 0.2


def test_median_interval_degenerate_and_infinite_samples():
    assert median_interval([4.0]) == (4.0, 4.0, 4.0)
    assert all(math.isnan(v) for v in median_interval([math.nan]))
    med, lo, hi = median_interval([1.0, math.inf, math.inf, math.inf, 2.0], seed=1)
    assert med == math.inf and hi == math.inf and lo <= 2.0
    with pytest.raises(ValueError, match="confidence"):
        median_interval([1.0, 2.0], confidence=1.0)


def test_time_to_solution_on_known_probabilities():
    assert time_to_solution(0.5) == pytest.approx(math.log(0.01) / math.log(0.5))  # 6.64 samples
    assert time_to_solution(0.5, samples=1024, overhead=1e5) == pytest.approx(1e5 + 1024 * 6.643856189774724)
    assert time_to_solution(0.995) == 1.0  # one attempt suffices
    assert time_to_solution(0.0) == math.inf
    # small p: about 4.6 / p
    assert time_to_solution(1e-6) == pytest.approx(math.log(100) / 1e-6, rel=1e-5)
    with pytest.raises(ValueError, match="p must be"):
        time_to_solution(1.5)


def test_fit_exponent_recovers_c_from_noisy_synthetic_scaling():
    rng = np.random.default_rng(7)
    sizes = np.repeat(np.arange(4, 25, 2), 20)
    values = 2.0 ** (1.5 + 0.37 * sizes) * rng.lognormal(0.0, 0.5, sizes.size)
    fit = fit_exponent(sizes, values, seed=1)
    assert fit["exponent"] == pytest.approx(0.37, abs=0.02)
    assert fit["lo"] < 0.37 < fit["hi"]
    assert fit["intercept"] == pytest.approx(1.5, abs=0.3)
    assert fit == fit_exponent(sizes, values, seed=1)
    # exact data: the interval collapses on c
    exact = fit_exponent(sizes, 2.0 ** (0.25 * sizes), seed=0)
    assert exact["exponent"] == pytest.approx(0.25) and exact["hi"] - exact["lo"] < 1e-9


def test_fit_exponent_leaves_out_sizes_never_solved():
    sizes = np.array([4, 4, 6, 6, 8, 8, 10, 10])
    values = np.array([16, 16, 64, 64, 256, 256, math.inf, math.inf], dtype=float)
    fit = fit_exponent(sizes, values)
    assert fit["sizes"] == [4.0, 6.0, 8.0] and fit["left_out"] == [10.0]
    assert fit["exponent"] == pytest.approx(1.0)
    assert math.isnan(fit_exponent([4, 6], [16, math.inf])["exponent"])
    with pytest.raises(ValueError, match="> 0"):
        fit_exponent([4, 6], [0.0, 1.0])
