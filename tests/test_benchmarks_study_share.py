"""benchmarks.study_share: CPU charged to the innermost category, exceptions restoring the stack."""

import time

import pytest

from benchmarks.study_share import Ledger


def _busy(seconds: float) -> None:
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


def test_ledger_charges_the_innermost_category():
    ledger = Ledger()
    inner = ledger.wrap("import", lambda: _busy(0.05))
    outer = ledger.wrap("solver", lambda: (_busy(0.05), inner(), _busy(0.05)))
    outer()
    ledger.charge()
    assert 0.1 <= ledger.cpu["solver"] < 0.14
    assert 0.05 <= ledger.cpu["import"] < 0.07
    assert ledger.stack == ["other"]


def test_ledger_restores_its_stack_when_a_call_raises():
    ledger = Ledger()

    def fail():
        _busy(0.02)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        ledger.wrap("solver", fail)()
    _busy(0.02)
    ledger.charge()
    assert ledger.stack == ["other"] and ledger.cpu["solver"] >= 0.02 and ledger.cpu["other"] >= 0.02
