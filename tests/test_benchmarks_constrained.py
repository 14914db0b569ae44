"""benchmarks.constrained_vs_peers: the peers solve the problem qrp's homogeneous form certifies (the premise of the
equal-accuracy comparison), with and without the binding group + bounds."""

import pytest

pytest.importorskip("skfolio")
pytest.importorskip("riskfolio")


@pytest.mark.parametrize("measure", ["volatility", "cvar"])
@pytest.mark.parametrize("constrained", [False, True])
def test_peers_solve_the_certified_homogeneous_problem(measure, constrained):
    from benchmarks.constrained_vs_peers import _inputs, line, measure_case

    r = measure_case(_inputs(10, measure, constrained), 1)
    assert r["qrp_hom_kkt"] <= 1e-12 and r["qrp_rr_kkt"] <= 1e-12
    assert r["skfolio_w_err"] < 1e-4 and r["riskfolio_w_err"] < 1e-4  # the same portfolio to the peers' accuracy
    assert r["hom_w_err"] == 0.0
    if not constrained:  # without constraints both formulations are the risk-budgeting portfolio
        assert r["rr_w_err"] < 1e-12 and r["rr_rc_err"] < 1e-12
    else:  # the group cap binds: Richard-Roncalli is another portfolio, the contributions off their budgets
        assert r["rr_w_err"] > 1e-4 and r["hom_rc_err"] > 1e-3
    assert line(r).startswith(f"| {measure} | 10 |")
