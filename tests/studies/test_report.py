"""``qrp report``: plots and summary written and non-empty; the crossover map finds the smallest passing config."""

import json
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qrp.cli import main
from qrp.studies.report import crossover_table, write_report
from qrp.studies.runner import RUNS_PARQUET, run_study

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_of_a_classical_study(tmp_path, capfd):
    study = tmp_path / "mini.toml"
    study.write_text('seeds = [0]\n[covariance]\nsource = "synthetic"\nseed = 1\n'
                     '[[grid]]\nsolver = ["auto", "slsqp_seed"]\nn_assets = [3, 6]\n')
    out = tmp_path / "res"
    run_study(study, out, progress=False)
    capfd.readouterr()
    assert main(["report", str(out)]) == 0
    progress = capfd.readouterr().err.splitlines()  # one line per step on stderr while the user waits
    assert progress[0].startswith("qrp: report: 4 rows from")
    assert {"qrp: report: wrote rc_vs_n.png", "qrp: report: wrote compare_vs_n.png"} <= set(progress)  # both cores
    for name in ("rc_vs_n.png", "time_vs_n.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    md = (out / "summary.md").read_text()
    assert "# Study `mini`" in md and "![rc_vs_n](rc_vs_n.png)" in md
    assert "## Crossover map (threshold rc_error <= 1e-06)" in md
    assert "| auto | 3, 6 | none |" in md  # the default solver reaches 1e-6 ...
    assert "| slsqp_seed | none | 3 (" in md  # ... the seed's SLSQP as written does not (rc_error ~ 1e-3)
    assert not (out / "rc_vs_bits.png").exists()  # no bits axis in this grid: not drawn, and said so
    assert "Not drawn" in md


def _fake_discrete_rows():
    """A hand-made table: rc_error = 2^-(bits+rounds) / N, two seeds (median = that value)."""
    rows = []
    for n in (4, 8):
        for bits in (2, 3, 4):
            for rounds in (1, 5, 10):
                for seed in (0, 1):
                    err = 2.0 ** -(bits * rounds) / n * (1 + 0.1 * seed)
                    rows.append({"run_id": f"{n}-{bits}-{rounds}-{seed}", "status": "ok", "solver": "toy",
                                 "n_assets": n, "bits": bits, "rounds": rounds, "reps": np.nan, "seed": seed,
                                 "rc_error": err, "classical_rc_error": 1e-13, "weight_distance": 0.0,
                                 "elapsed": 0.01 * bits * rounds, "classical_elapsed": 1e-3,
                                 "num_qubits": n * bits, "energy_gap": np.nan, "study": "toy",
                                 "config_hash": "h", "versions": json.dumps({"numpy": np.__version__})})
    return pd.DataFrame(rows)


def test_crossover_table_finds_the_smallest_bits_and_rounds():
    frame = _fake_discrete_rows()
    table = crossover_table(frame, threshold=1e-6).set_index("N")
    # N=4: need 2^-(b r) * 1.05 / 4 <= 1e-6, i.e. b r >= 18: bits 2 needs rounds 10, rounds 5 needs bits 4
    assert table.loc[4, "reached"] == "yes"
    assert table.loc[4, "smallest bits"] == "2 (rounds=10)"
    assert table.loc[4, "smallest rounds"] == "5 (bits=4)"
    assert table.loc[4, "smallest depth p"] == "-"  # not an axis of this solver
    strict = crossover_table(frame, threshold=1e-15).set_index("N")
    assert (strict["reached"] == "never").all() and (strict["smallest bits"] == "never").all()
    assert strict.loc[8, "best rc_error"].startswith(f"{2.0 ** -40 / 8 * 1.05:.2e} (bits=4, rounds=10)")


def test_report_draws_bits_rounds_and_crossover_plots(tmp_path):
    _fake_discrete_rows().to_parquet(tmp_path / RUNS_PARQUET)
    written = {p.name for p in write_report(tmp_path, threshold=1e-6)}
    assert {"rc_vs_n.png", "rc_vs_bits.png", "rc_vs_rounds.png", "time_vs_qubits.png", "crossover.png",
            "summary.md"} <= written
    for name in written - {"summary.md"}:
        assert (tmp_path / name).read_bytes().startswith(PNG)
    md = (tmp_path / "summary.md").read_text()
    assert "| toy | 4 | yes | " in md


def test_report_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"no runs\.parquet"):
        write_report(tmp_path)
    _fake_discrete_rows().to_parquet(tmp_path / RUNS_PARQUET)
    with pytest.raises(ValueError, match="threshold must be a finite number > 0, got -1"):
        write_report(tmp_path, threshold=-1)


def test_small_things_of_the_first_hour(monkeypatch, capsys):
    """The 8-solver summary fits 80 columns uncut; an axis says "95% CI" only over several runs; the CLI's
    --solver and --estimator list their choices, --leverage and --seed say what they do."""
    from qrp.studies.configs import interval_label
    from qrp.studies.terminal import print_summary

    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(8)], "status": "ok",
                          "solver": ["auto", "newton", "ccd", "exact", "slsqp_seed", "slsqp", "sa", "qaoa"],
                          "rc_error": 1e-13, "classical_rc_error": 3.06e-13, "weight_distance": 2.27e-13,
                          "elapsed": 0.000435, "n_assets": 4})
    monkeypatch.setenv("COLUMNS", "80")
    print_summary(frame, title="quickstart")
    table = capsys.readouterr().out
    assert "…" not in table and "classical" in table and max(map(len, table.splitlines())) <= 80
    assert interval_label(frame, ["n_assets"]) == "one run per point"
    assert interval_label(pd.concat([frame, frame]), ["n_assets"]) == "median, 95% CI"
    for command, words in (("solve", ("qaoa", "slsqp_seed", "multiplies the weights", "seed of a stochastic")),
                           ("rebalance", ("ledoit_wolf", "garch", "pca", "tabu"))):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert all(w in text for w in words), (command, text)


def test_energy_evaluations_charge_qaoa_optimizer_shots():
    import pandas as pd

    from qrp.studies.report import energy_evaluations

    frame = pd.DataFrame({
        "solver": ["sa", "qaoa", "qaoa", "exact"],
        "stats.resources.evaluations": [2000, 100, 10, 0],
        "stats.resources.samples": [20, 1024, 10 * 64 + 1024, 64],
        "stats.resources.circuit_executions": [0, 101, 11, 0],
        "opt.shots": [None, None, 64, None],
    })
    # SA: its proposals; exact-expectation QAOA: 100 evaluations x 1024 + readout; sampled QAOA: its shots;
    # exact enumeration: its states
    assert energy_evaluations(frame).tolist() == [2000, 100 * 1024 + 1024, 10 * 64 + 1024, 64]
    assert energy_evaluations(frame.drop(columns="stats.resources.evaluations")) is None


#: a committed 37-row run (the quickstart study) and the summary.md its report wrote before the report was made
#: faster (issue 23.3); ``{RUNS}`` stands for the path of the copy the report reads.
QUICKSTART = Path(__file__).parent / "data" / "quickstart_report"
#: the figures of that report and their pixel sizes (figure inches x 110 dpi).
QUICKSTART_FIGURES = {
    "compare_vs_n.png": (1320, 528), "crossover.png": (1815, 495), "rc_vs_bits.png": (1232, 660),
    "rc_vs_depth.png": (616, 440), "rc_vs_n.png": (1848, 880), "rc_vs_rounds.png": (1848, 440),
    "rc_vs_time.png": (1980, 550), "round0_approximation_ratio_vs_depth.png": (616, 440),
    "round0_ground_state_probability_vs_depth.png": (616, 440), "time_vs_n.png": (1848, 880),
    "time_vs_qubits.png": (1232, 440),
}


@pytest.mark.parametrize("fork", [False, True], ids=["sequential", "forked"])
def test_quickstart_report_text_unchanged_and_figures_drawn(tmp_path, monkeypatch, fork):
    """summary.md byte for byte as before the speed-ups (tables, numbers, figure list), on the sequential path and
    on the forked one (where this process may fork: no other thread running); every figure a PNG of its size."""
    import qrp.studies.report as report

    monkeypatch.setattr(report, "_idle_core", lambda: fork)
    shutil.copy(QUICKSTART / RUNS_PARQUET, tmp_path / RUNS_PARQUET)
    written = write_report(tmp_path)
    expected = (QUICKSTART / "summary.md").read_text().replace("{RUNS}", str(tmp_path / RUNS_PARQUET))
    assert (tmp_path / "summary.md").read_text() == expected
    assert [p.name for p in written] == [*re.findall(r"!\[\w+\]\((\w+\.png)\)", expected), "summary.md"]
    assert {p.name for p in written} - {"summary.md"} == set(QUICKSTART_FIGURES)
    for name, (width, height) in QUICKSTART_FIGURES.items():
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG)
        assert struct.unpack(">II", data[16:24]) == (width, height), name  # IHDR: width, height


def _layout_faults(fig) -> list[str]:
    """What a reader would see wrong in a laid-out figure: a panel (its tick labels, axis labels, title and legend)
    or the suptitle or a figure legend reaching past the figure's edge, or two of them overlapping."""
    renderer = fig.canvas.get_renderer()
    edge = fig.bbox.padded(1.0)  # a pixel of rounding
    boxes = {f"panel {i} ({ax.get_title() or ax.get_ylabel()})": ax.get_tightbbox(renderer)
             for i, ax in enumerate(fig.axes) if ax.get_visible()}
    if fig._suptitle is not None:
        boxes["suptitle"] = fig._suptitle.get_window_extent(renderer)
    boxes.update({f"figure legend {i}": leg.get_window_extent(renderer) for i, leg in enumerate(fig.legends)})
    faults = [f"{name} reaches past the figure: {box.extents} vs {fig.bbox.extents}" for name, box in boxes.items()
              if not (edge.x0 <= box.x0 and box.x1 <= edge.x1 and edge.y0 <= box.y0 and box.y1 <= edge.y1)]
    names = list(boxes)
    for i, a in enumerate(names):
        faults += [f"{a} overlaps {b}" for b in names[i + 1:] if boxes[a].overlaps(boxes[b].shrunk(0.999, 0.999))]
    for i, ax in enumerate(fig.axes):  # a panel's legend (under it, or inside) clear of its own x labels
        legend = ax.get_legend()
        if legend is not None and ax.get_visible():
            box = legend.get_window_extent(renderer)
            texts = [ax.xaxis.label, *ax.xaxis.get_ticklabels()]
            faults += [f"panel {i}'s legend overlaps {t.get_text()!r}" for t in texts
                       if t.get_visible() and t.get_text() and box.overlaps(t.get_window_extent(renderer))]
    return faults


@pytest.mark.parametrize("study", ["quickstart", "null_baselines", "qaoa_depth"])
def test_figures_laid_out_within_the_figure_and_apart(tmp_path, monkeypatch, study):
    """The report's fixed margins (``render.Margins``, no tight_layout) leave every panel, with its tick labels,
    labels, title and legend (a legend of many lines hangs under its panel), inside the figure and clear of the
    other panels, the suptitle and the figure legend, in every figure of three committed studies: the quickstart
    (13 figures), null_baselines (three rows of panels: the suptitle over a tall figure) and qaoa_depth (legends of
    17 entries under their panels)."""
    import qrp.studies.report as report
    from qrp.studies import render

    write_png, faults = render.write_png, {}

    def checked(fig, path, **kwargs):
        write_png(fig, path, **kwargs)  # laid out and drawn: the extents below are those of the PNG
        faults[path.name] = _layout_faults(fig)

    monkeypatch.setattr(render, "write_png", checked)
    monkeypatch.setattr(report, "_idle_core", lambda: False)  # every figure drawn in this process
    shutil.copy(Path(__file__).parents[2] / "results" / study / RUNS_PARQUET, tmp_path / RUNS_PARQUET)
    write_report(tmp_path)
    assert len(faults) >= 10
    assert {name: f for name, f in faults.items() if f} == {}


def test_shade_interval_draws_a_band_only_where_an_interval_has_width():
    """Point intervals (one run per point; NaN) draw no band, an interval with width draws one."""
    from qrp.studies.render import pyplot, shade_interval

    plt = pyplot()
    fig, ax = plt.subplots()
    shade_interval(ax, [1.0, 2.0], [0.5, np.nan], [0.5, np.nan], alpha=0.15)
    assert len(ax.collections) == 0
    shade_interval(ax, [1.0, 2.0], [0.5, 0.4], [0.5, 0.6], alpha=0.15)
    assert len(ax.collections) == 1
    plt.close(fig)
