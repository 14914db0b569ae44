"""Issue 22, files and security: backtest target names that collide, `qrp backtest --out` keeps the user's own
files, symlinks at lock and journal paths are refused, errors never echo a file's content."""

import os

import pandas as pd
import pytest

from qrp.cli import main
from qrp.core.provenance import DirectoryLock, open_regular
from qrp.data.returns import read_csv
from qrp.finance.regimes import read_regime_labels
from qrp.studies.table import JOURNAL, ResultTable
from tests.finance.test_backtest import _two_configs

SECRET = "API_KEY=sk-live-0123456789abcdef"


def test_colliding_target_names_refused_before_the_run(tmp_path, capsys):
    a, _ = _two_configs(tmp_path)
    text = a.read_text().replace('name = "ERC"', 'name = "ERC (a)"')
    text += '[[strategies]]\nname = "ERC _a_"\ntype = "risk_parity"\n'
    a.write_text(text)
    assert main(["backtest", str(a), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "'ERC (a)' and 'ERC _a_' would both write targets/ERC__a_.csv" in err
    assert not (tmp_path / "out").exists()


def test_backtest_out_keeps_the_users_files(tmp_path, capsys):
    a, b = _two_configs(tmp_path)
    out = tmp_path / "out"
    assert main(["backtest", str(a), "--out", str(out)]) == 0
    assert "manifest.json" in os.listdir(out)
    (out / "my_notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["backtest", str(b), "--out", str(out)]) == 2
    assert "is not an output of this command" in capsys.readouterr().err
    assert (out / "my_notes.txt").read_text() == "mine"
    (out / "my_notes.txt").unlink()
    assert main(["backtest", str(b), "--out", str(out)]) == 0  # only qrp's files: replaced whole


@pytest.mark.parametrize("make", ["symlink", "fifo"])
def test_lock_and_journal_paths_refuse_links_and_special_files(tmp_path, make):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for target in (tmp_path / ".qrp.lock", tmp_path / "out" / JOURNAL):
        target.parent.mkdir(exist_ok=True)
        if make == "symlink":
            target.symlink_to(victim)
        else:
            os.mkfifo(target)
    with pytest.raises(ValueError, match=r"symbolic link|not a regular file"):
        with DirectoryLock(tmp_path / ".qrp.lock", what="x"):
            pass
    with pytest.raises(ValueError, match=r"symbolic link|not a regular file"):
        ResultTable(tmp_path / "out")
    assert victim.read_text() == "precious\n"


def test_study_out_with_a_planted_lock_symlink_exits_2(tmp_path, write_study, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "o"
    out.mkdir()
    (out / ".qrp.lock").symlink_to(victim)
    path = write_study('[covariance]\nsource = "synthetic"\n[[grid]]\nsolver = "newton"\nn_assets = [3]\n')
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "precious\n"


def test_open_regular_creates_exclusively(tmp_path):
    fd = open_regular(tmp_path / "f", os.O_RDWR, what="lock file")
    os.close(fd)
    assert (tmp_path / "f").is_file()


@pytest.mark.parametrize("content", [f"{SECRET}\nOTHER=1\n", f"date,x\n2020-01-02,1\n{SECRET},2\n"])
def test_errors_do_not_echo_file_content(tmp_path, content, capsys):
    path = tmp_path / "secrets.env"
    path.write_text(content)
    for call in (lambda: read_csv(path, kind="returns"), lambda: read_csv(path, kind="prices"),
                 lambda: read_regime_labels(path, pd.bdate_range("2020-01-01", periods=3))):
        with pytest.raises(ValueError) as info:
            call()
        assert "sk-live" not in str(info.value) and "API_KEY" not in str(info.value)
    assert main(["rebalance", "--returns", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "sk-live" not in capsys.readouterr().err
