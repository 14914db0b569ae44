"""Every user error through the real ``qrp`` command (``python -m qrp`` in a subprocess): exit status 2, exactly one
line on stderr naming the problem, no traceback. ``--debug`` brings the traceback back."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qrp.core.provenance import DirectoryLock

ROOT = Path(__file__).resolve().parents[1]

GOOD_STUDY = """
seeds = [0]
[covariance]
source = "synthetic"
seed = 1
[[grid]]
solver = "newton"
n_assets = 3
"""


def _returns_csv(path: Path, t: int = 80, n: int = 3) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(0, 0.01, (t, n)), index=pd.bdate_range("2020-01-01", periods=t),
                         columns=[f"A{i}" for i in range(n)])
    frame.index.name = "date"
    frame.to_csv(path)


def _backtest_toml(tmp: Path, estimator: str = "sample") -> Path:
    _returns_csv(tmp / "r.csv")
    path = tmp / "bt.toml"
    path.write_text(f'[data]\nsource = "csv"\npath = "r.csv"\nkind = "returns"\n[backtest]\nwindow = 20\n'
                    f'estimator = "{estimator}"\n[[strategies]]\ntype = "equal_weight"\n')
    return path


def _stub_missing(tmp: Path, *modules: str) -> Path:
    """A directory of stand-in packages that fail to import as if not installed (an environment without the
    extra)."""
    stubs = tmp / "stubs"
    for name in modules:
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{name}'\", "
                                                  f"name='{name}')\n")
    return stubs


def _study(tmp: Path, text: str = GOOD_STUDY) -> str:
    path = tmp / "s.toml"
    path.write_text(text)
    return str(path)


def _foreign_parquet(tmp: Path) -> str:
    out = tmp / "out"
    out.mkdir()
    pd.DataFrame({"a": [1]}).to_parquet(out / "runs.parquet")
    return str(out)


# (id, setup(tmp) -> (argv, extra PYTHONPATH or None), text the message must contain)
CASES = [
    ("solve-options-list", lambda t: (["solve", "--options", "[1,2]"], None), "--options: expected a JSON object"),
    ("solve-options-json", lambda t: (["solve", "--options", "{bits: 4"], None), "--options: not valid JSON"),
    ("solve-cov-dir", lambda t: (["solve", "--cov", str(t)], None), "is a directory"),
    ("solve-cov-missing", lambda t: (["solve", "--cov", str(t / "no.csv")], None), "no.csv"),
    ("solve-cov-text", lambda t: ((t / "c.csv").write_text(",a,b\na,x,1\nb,1,y\n"),
                                  (["solve", "--cov", str(t / "c.csv")], None))[1], "numeric"),
    ("solve-budgets", lambda t: (["solve", "--budgets", "a,b"], None), "--budgets"),
    ("solve-solver", lambda t: (["solve", "--solver", "nosuch"], None), "nosuch"),
    ("solve-option-name", lambda t: (["solve", "--options", '{"nosuch": 1}'], None), "nosuch"),
    ("run-study-missing", lambda t: (["run", str(t / "no.toml")], None), "no.toml"),
    ("run-study-syntax", lambda t: (["run", _study(t, "seeds = [0\n")], None), "s.toml"),
    ("run-study-shape", lambda t: (["run", _study(t, "grid = 3\n[covariance]\nsource = 'synthetic'\n")], None),
     "grid"),
    ("run-negative-seed", lambda t: (["run", _study(t, GOOD_STUDY.replace("[0]", "[-1]"))], None), "seed"),
    ("run-bad-option-value", lambda t: (["run", _study(t, GOOD_STUDY.replace('"newton"', '"sa"') + "bits = 0\n")],
                                        None), "bits"),
    ("run-non-psd-csv", lambda t: ((t / "c.csv").write_text(",a,b\na,0.04,0.1\nb,0.1,0.09\n"),
                                   (["run", _study(t, '[covariance]\nsource = "covariance_csv"\npath = "c.csv"\n'
                                                      '[[grid]]\nsolver = "newton"\n')], None))[1],
     "positive semi-definite"),
    ("run-out-is-file", lambda t: ((t / "f").write_text("x"), (["run", _study(t), "--out", str(t / "f")], None))[1],
     "is a file"),
    ("run-out-unwritable", lambda t: (["run", _study(t), "--out", "/sys/qrp-cli-test/out"], None), "/sys/"),
    ("run-workers", lambda t: (["run", _study(t), "--out", str(t / "o"), "--workers", "0"], None), "workers"),
    ("run-foreign-parquet", lambda t: (["run", _study(t), "--out", _foreign_parquet(t)], None),
     "not a qrp runs table"),
    ("run-scheduler", lambda t: (["run", _study(t), "--out", str(t / "o"), "--scheduler", "tcp://127.0.0.1:9",
                                  "--scheduler-timeout", "0.5"], None), "--scheduler"),
    ("run-mlflow-uri", lambda t: (["run", _study(t), "--out", str(t / "o"), "--mlflow", "nosuchscheme://x"], None),
     "--mlflow"),
    ("run-mlflow-missing", lambda t: (["run", _study(t), "--out", str(t / "o"), "--mlflow", "sqlite:///m.db"],
                                      _stub_missing(t, "mlflow")), 'pip install "qrp[tracking]"'),
    ("run-dask-missing", lambda t: (["run", _study(t), "--out", str(t / "o"), "--scheduler", "tcp://x:1"],
                                    _stub_missing(t, "distributed")), 'pip install "qrp[distributed]"'),
    ("backtest-missing", lambda t: (["backtest", str(t / "no.toml")], None), "no.toml"),
    ("backtest-shape", lambda t: ((t / "b.toml").write_text("strategies = 3\n"), (["backtest", str(t / "b.toml")],
                                                                                  None))[1], "strategies"),
    ("backtest-params-shape", lambda t: ((t / "b.toml").write_text('[[strategies]]\ntype = "equal_weight"\n'
                                                                   'params = 3\n'),
                                         (["backtest", str(t / "b.toml")], None))[1], "params"),
    ("backtest-data-shape", lambda t: ((t / "b.toml").write_text('data = "x"\n'),
                                       (["backtest", str(t / "b.toml")], None))[1], "[data]"),
    ("backtest-out-is-file", lambda t: ((t / "f").write_text("x"),
                                        (["backtest", str(_backtest_toml(t)), "--out", str(t / "f")], None))[1],
     "is a file"),
    ("backtest-out-not-ours", lambda t: ((t / "mine").mkdir(), (t / "mine" / "notes.txt").write_text("keep"),
                                         (["backtest", str(_backtest_toml(t)), "--out", str(t / "mine")], None))[2],
     "refusing to replace"),
    ("backtest-sklearn-missing", lambda t: (["backtest", str(_backtest_toml(t, "ledoit_wolf"))],
                                            _stub_missing(t, "sklearn")), 'pip install "qrp[finance]"'),
    ("backtest-arch-missing", lambda t: (["backtest", str(_backtest_toml(t, "garch"))], _stub_missing(t, "arch")),
     'pip install "qrp[finance]"'),
    ("report-empty-dir", lambda t: (["report", str(t)], None), "runs.parquet"),
    ("report-foreign-parquet", lambda t: (["report", _foreign_parquet(t)], None), "not a qrp runs table"),
]


def _qrp(argv, stubs=None, cwd=None):
    path = os.pathsep.join(str(p) for p in (stubs, ROOT) if p is not None)
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run([sys.executable, "-m", "qrp", *argv], env=env, capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_user_error_exits_2_with_one_line(case, tmp_path):
    _, setup, expected = case
    argv, stubs = setup(tmp_path)
    proc = _qrp(argv, stubs, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("qrp: error: ") and expected in lines[0], lines[0]


def test_busy_study_directory_names_the_holder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with DirectoryLock(out / ".qrp.lock", what=str(out)):
        proc = _qrp(["run", _study(tmp_path), "--out", str(out)])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"PID {os.getpid()}" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes files whatever their mode")
def test_unreadable_and_read_only_paths(tmp_path):
    unreadable = tmp_path / "secret.toml"
    unreadable.write_text(GOOD_STUDY)
    unreadable.chmod(0)
    readable = Path(_study(tmp_path))
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for argv in (["run", str(unreadable)], ["run", str(readable), "--out", str(locked / "out")],
                     ["solve", "--cov", str(unreadable)]):
            proc = _qrp(argv)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
            assert "Permission denied" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    finally:
        unreadable.chmod(0o644)
        locked.chmod(0o755)


def test_debug_shows_the_traceback(tmp_path):
    proc = _qrp(["solve", "--options", "[1,2]", "--debug"])
    assert proc.returncode != 0 and "Traceback" in proc.stderr
