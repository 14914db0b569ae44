"""benchmarks.all --readme: the README's performance table is the benchmark's output, rewritten in place."""

import pytest

from benchmarks.all import README_END, README_START, readme_table, row, write_readme_table


def _rows():
    a = row("goal row", "1 ms", "2 ms", 0.5, "<= 1x", True, "a note")
    b = row("stated row", "3 ms", "", None, "stated", None)
    c = row("missed row", "4 ms", "1 ms", 4.0, "<= 2x", False)
    for r in (a, b, c):
        r["load"], r["cores"] = 1.25, 0.5
    return [a, b, c]


def test_table_keeps_only_rows_with_a_goal():
    text = readme_table(_rows(), command="python -m benchmarks.all", head="box")
    assert "| goal row | 1 ms | 2 ms | 0.50 | 1.2 | 0.50 | <= 1x | yes |" in text
    assert "| missed row | 4 ms | 1 ms | 4.00 | 1.2 | 0.50 | <= 2x | **no** |" in text
    assert "stated row" not in text and "a note" not in text


def test_block_is_replaced_and_the_rest_kept(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(f"top\n{README_START}\nold table\n{README_END}\nbottom\n")
    write_readme_table(path, _rows(), command="cmd", head="box")
    first = path.read_text()
    assert first.startswith(f"top\n{README_START}\nOutput of `cmd`") and first.endswith(f"{README_END}\nbottom\n")
    assert "old table" not in first
    write_readme_table(path, _rows(), command="cmd", head="box")
    assert path.read_text() == first


def test_missing_block_is_refused(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("no markers\n")
    with pytest.raises(SystemExit, match="has no"):
        write_readme_table(path, _rows(), command="cmd", head="box")
    assert path.read_text() == "no markers\n"
