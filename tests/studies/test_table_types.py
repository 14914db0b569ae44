"""Issue 22 item 8: a runs table's column types do not drift across kill and resume (reps / rounds were stored as
text holding both "1" and "1.0" in 8 of 18 resumed tables)."""

import pandas as pd
import pytest

from qrp.studies.table import RUNS_CSV, RUNS_PARQUET, ResultTable, read_table


def _row(run_id, **extra):
    return {"run_id": run_id, "status": "ok", "rc_error": 1e-12, **extra}


@pytest.mark.parametrize("order", ["int_first", "none_first"])
def test_option_columns_keep_a_numeric_type_across_resume(tmp_path, order):
    out = tmp_path / "out"
    first = [_row("a", **{"opt.reps": 1}), _row("b", **{"opt.reps": None})]
    if order == "none_first":
        first.reverse()
    with ResultTable(out, consolidate_every=3600) as table:  # run 1: a classical row without reps, a QAOA row
        for row in first:
            table.add(row)
    for run in range(3):  # killed and resumed: each run adds rows, some of them journalled only
        table = ResultTable(out, consolidate_every=3600)
        table.add(_row(f"c{run}", **{"opt.reps": 1}))
        table.add(_row(f"d{run}", **{"opt.reps": None}))
        if run < 2:
            table.close()
    frame = read_table(out)
    assert frame["opt.reps"].dtype == "float64"
    assert sorted(frame["opt.reps"].dropna().unique()) == [1.0]
    table.close()
    disk = pd.read_parquet(out / RUNS_PARQUET)
    assert disk["opt.reps"].dtype == "float64" and set(disk["opt.reps"].dropna()) == {1.0}
    assert set(pd.read_csv(out / RUNS_CSV)["opt.reps"].dropna()) == {1.0}


def test_text_written_by_an_older_table_is_read_back_as_numbers(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pd.DataFrame({"run_id": ["a", "b", "c"], "status": ["ok"] * 3, "opt.rounds": ["1", "1.0", None]}).to_parquet(
        out / RUNS_PARQUET, index=False)
    with ResultTable(out) as table:
        table.add(_row("d", **{"opt.rounds": 2}))
    disk = pd.read_parquet(out / RUNS_PARQUET)
    assert disk["opt.rounds"].dtype == "float64"
    assert disk["opt.rounds"].tolist()[:2] == [1.0, 1.0] and disk["opt.rounds"].iloc[3] == 2.0


def test_text_stats_stay_text(tmp_path):
    out = tmp_path / "out"
    with ResultTable(out) as table:
        table.add(_row("a", **{"stats.status": "optimal"}))
        table.add(_row("b", **{"stats.status": 3}))
    assert pd.read_parquet(out / RUNS_PARQUET)["stats.status"].tolist() == ["optimal", "3"]


def test_consolidating_row_by_row_after_resume(tmp_path):
    """The case measured in the issue: a resumed table (reps float64 on disk) consolidated after a row without
    reps (an all-None object batch) and then one with reps = 1 (an int) held 1.0 and 1 in one object column."""
    out = tmp_path / "out"
    with ResultTable(out) as table:
        table.add(_row("a", reps=1))
        table.add(_row("b", reps=None))
    with ResultTable(out, consolidate_every=0) as table:  # every add consolidates
        table.add(_row("c", reps=None))
        table.add(_row("d", reps=1))
        table.add(_row("e", reps=2))
    disk = pd.read_parquet(out / RUNS_PARQUET)
    assert disk["reps"].dtype == "float64"
    assert disk["reps"].tolist()[3:] == [1.0, 2.0] and disk["reps"].isna().tolist()[:3] == [False, True, True]
