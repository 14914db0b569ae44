"""The comparison figure of ``qrp report`` (issue 14): every solver and the classical baseline on one axis."""

import numpy as np
import pandas as pd
import pytest

from qrp.studies.plots_compare import baseline_per_n, best_per_n, compared_solvers, comparison_figure
from qrp.studies.report import write_report
from qrp.studies.runner import run_study


def _frame() -> pd.DataFrame:
    """Two solvers, N in {4, 8}, 3 instances; "sa" has two bit depths: 2 bits is worse at N = 4, better at N = 8."""
    rows = []
    for n in (4, 8):
        for inst in range(3):
            base = {"n_assets": n, "instance": f"{n}-{inst}", "classical_rc_error": 1e-12 * (inst + 1),
                    "classical_elapsed": 1e-3 * n, "rounds": np.nan, "reps": np.nan}
            rows.append({**base, "solver": "newton", "bits": np.nan, "rc_error": 1e-13, "elapsed": 2e-3})
            for bits, err in ((2, 1e-3 if n == 4 else 1e-6), (3, 1e-4 if n == 4 else 1e-5)):
                rows.append({**base, "solver": "sa", "bits": bits, "rc_error": err * (inst + 1), "elapsed": 0.1 * bits})
    return pd.DataFrame(rows)


def test_best_configuration_per_n_and_one_baseline_value_per_instance():
    frame = _frame()
    best, configs = best_per_n(frame[frame["solver"] == "sa"], ["n_assets", "bits", "rounds", "reps"])
    assert configs == 2
    assert list(best["n_assets"]) == [4, 8]
    assert list(best["bits"]) == [3, 2]  # the most accurate configuration at each N
    np.testing.assert_allclose(best["rc_error"], [2e-4, 2e-6])  # medians over the three instances
    np.testing.assert_allclose(best["elapsed"], [0.3, 0.2])  # that configuration's time
    base = baseline_per_n(frame)
    np.testing.assert_allclose(base["classical_rc_error"], [2e-12, 2e-12])
    assert (base["classical_rc_error_lo"] <= base["classical_rc_error"]).all()
    np.testing.assert_allclose(base["classical_elapsed"], [4e-3, 8e-3])


def test_a_solver_run_at_one_size_is_drawn_beside_the_others(tmp_path):
    frame = _frame()
    qaoa = frame[(frame["solver"] == "newton") & (frame["n_assets"] == 4)].assign(solver="qaoa", rc_error=1e-2)
    both = pd.concat([frame, qaoa], ignore_index=True)
    assert compared_solvers(both) == ["newton", "sa", "qaoa"]
    assert compared_solvers(both[both["n_assets"] == 4]) == []  # no solver with two sizes: no figure
    assert comparison_figure(both, tmp_path / "q.png") and (tmp_path / "q.png").stat().st_size > 0


def test_figure_written_only_when_a_solver_has_two_sizes(tmp_path):
    frame = _frame()
    assert comparison_figure(frame, tmp_path / "c.png") and (tmp_path / "c.png").stat().st_size > 0
    assert not comparison_figure(frame[frame["n_assets"] == 4], tmp_path / "d.png")
    assert not (tmp_path / "d.png").exists()
    assert not comparison_figure(frame.drop(columns="classical_elapsed"), tmp_path / "e.png")


def test_report_draws_the_comparison(write_study, tmp_path):
    pytest.importorskip("matplotlib")
    path = write_study('seeds = [0]\n[covariance]\nsource = "synthetic"\nseed = 3\n[[grid]]\n'
                       'solver = ["newton", "slsqp"]\nn_assets = [4, 6]\n')
    run_study(path, tmp_path / "out", progress=False)
    written = write_report(tmp_path / "out")
    assert tmp_path / "out" / "compare_vs_n.png" in written
    assert "![compare_vs_n](compare_vs_n.png)" in (tmp_path / "out" / "summary.md").read_text()


def test_resource_figure_keeps_one_colour_per_solver_across_panels(tmp_path, monkeypatch):
    """A solver absent at one N must not shift the others' colours there (the cycle restarts per axis)."""
    import pandas as pd

    from qrp.studies import report_plots

    rows = []
    for n, solvers in ((4, ("exact", "sa")), (16, ("sa",))):
        for solver in solvers:
            for bits in (1, 2):
                rows.append({"solver": solver, "n_assets": n, "bits": bits, "seed": 0, "rc_error": 1e-3 / bits,
                             "elapsed": 0.01 * bits, "classical_rc_error": 1e-13,
                             "classical_elapsed": 1e-4})
    figures = []
    monkeypatch.setattr(report_plots, "save_figure", lambda fig, path, **kw: figures.append(fig))
    assert report_plots.resource_figure(pd.DataFrame(rows), "elapsed", "wall time", tmp_path / "x.png")
    (fig,) = figures
    colours = [{h.get_label(): h.lines[0].get_color() for h in ax.containers} for ax in fig.axes]
    assert set(colours[0]) == {"exact", "sa"} and set(colours[1]) == {"sa"}
    assert colours[0]["sa"] == colours[1]["sa"] != colours[0]["exact"]
