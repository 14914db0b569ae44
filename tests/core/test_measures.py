"""qrp.core.measures: the one rc_error kernel (used by every solver and by qrp.rc_error)."""

import numpy as np

import qrp
from qrp.core.measures import contributions_kernel, rc_error_kernel


def test_rc_error_kernel_is_scale_free_and_keeps_nan():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    s = a @ a.T + 5 * np.eye(5)
    w = rng.uniform(0.1, 1.0, 5)
    b = np.full(5, 0.2)
    rc = contributions_kernel(w / w.sum(), s)
    ref = float(np.max(np.abs(rc / rc.sum() - b)))
    assert rc_error_kernel(rc, b) == ref == qrp.rc_error(w / w.sum(), s)
    assert abs(rc_error_kernel(w * (s @ w), b) - ref) < 1e-15  # any positive multiple of the contributions
    for bad in ([np.nan, 1, 1, 1, 1], [1, 1, np.nan, 1, 1], [1, 1, 1, 1, np.inf]):
        assert np.isnan(rc_error_kernel(np.array(bad, dtype=float), b))
