import numpy as np

import qrp


def test_example_solves_to_equal_risk():
    from qrp.data.loaders import example_covariance

    res = qrp.risk_parity(example_covariance())
    assert res.converged
    assert res.rc_error <= 1e-10
    np.testing.assert_allclose(res.weights.sum(), 1.0)
