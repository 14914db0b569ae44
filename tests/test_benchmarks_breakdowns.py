"""benchmarks.default_small / default_breakdown / certificate_overlap: sizes outside what they break down are
refused with exit status 2 and one line naming the size, before any work (they raised an IndexError or KeyError deep
inside)."""

import pytest


@pytest.mark.parametrize("module, argv, message", [
    ("default_small", ["5", "96"], "N must be 1 to 95"),
    ("default_small", ["0"], "N must be 1 to 95"),
    ("default_small", ["five"], "invalid int value"),
    ("default_breakdown", ["499"], "N must be at least 500"),
    ("certificate_overlap", ["1000", "95"], "N must be at least 96"),
])
def test_sizes_out_of_range_exit_2_naming_them(module, argv, message, capsys):
    import importlib

    main = importlib.import_module(f"benchmarks.{module}").main
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and argv[-1] in err


def test_classical_row_counts_overlapped_certificates(monkeypatch):
    """benchmarks.all's classical row at N = OVERLAP_MIN_N: the default call with its certificate in a second thread
    (a free core claimed) against the sequential call and rpp, the count of overlapped calls in the note, and the
    certificate class put back afterwards."""
    pytest.importorskip("riskparityportfolio")
    from benchmarks.all import bench_classical
    from qrp.classical import default

    real = default._Certificate
    monkeypatch.setattr(default, "_second_core_free", lambda: True)
    (row,) = bench_classical((default.OVERLAP_MIN_N,), 3)
    assert default._Certificate is real
    assert "in 4 of 4 calls" in row["note"] and "certificate first in the calling thread" in row["note"]
    assert row["ratio"] > 0
