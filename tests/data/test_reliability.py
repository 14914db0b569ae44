"""Issue 9, API half: covariance estimates that over- or underflow are rejected like constant columns."""

import numpy as np
import pandas as pd
import pytest

import qrp


@pytest.mark.parametrize("method", ["sample", "ledoit_wolf", "ewma", "pca"])
@pytest.mark.parametrize("scale, ppy", [(1e160, 1.0), (1e-160, 1.0), (1e-170, 1.0), (1.0, 1e-320)])
def test_overflowing_or_vanishing_estimates_rejected(method, scale, ppy):
    r = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 4)) * scale, columns=list("abcd"))
    with pytest.raises(ValueError, match=r"not usable|overflow"):
        qrp.estimate_covariance(r, method=method, periods_per_year=ppy)


def test_ordinary_scales_still_work():
    r = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 4)) * 1e-100, columns=list("abcd"))
    cov = qrp.estimate_covariance(r, periods_per_year=252)
    assert np.all(np.isfinite(cov.to_numpy())) and np.all(np.diag(cov) > 0)
