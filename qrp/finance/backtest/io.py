"""Backtest input and output: the [data] table's returns, and the result directory of ``qrp backtest --out``.

The whole output (returns, weights, rebalances, metrics, plots, targets/, summary.json) is written into a temporary
sibling directory and swapped in for ``--out`` when complete (``qrp.core.provenance.atomic_directory``), under an
exclusive lock (``.NAME.lock`` beside it): a reader sees the previous run or the new one, never files of both, no
file of a previous run survives, and a backtest killed at any moment leaves the previous output as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from qrp.core.provenance import DirectoryLock, atomic_directory, atomic_write, package_versions
from qrp.data.returns import load_sp500_returns, read_csv, select_dates
from qrp.finance.backtest.config import load_config
from qrp.finance.backtest.engine import BacktestResult, run_backtest
from qrp.finance.backtest.plots import plot_results
from qrp.finance.execution import target_weights, write_target_weights

log = logging.getLogger(__name__)


def load_returns(data: dict[str, Any], base: Path) -> pd.DataFrame:
    """Returns for a [data] table: ``source = "sp500"`` (bundled) or ``"csv"`` (``path`` relative to ``base``, the
    config file's directory; any file the user can read)."""
    source = data.get("source", "sp500")
    if source == "sp500":
        frame = load_sp500_returns()
    elif source == "csv":
        if "path" not in data:
            raise ValueError("[data] source = 'csv' needs a path")
        frame = read_csv(base / data["path"], kind=data.get("kind", "prices"))
    else:
        raise ValueError(f"[data] source must be 'sp500' or 'csv', got {source!r}")
    if "assets" in data:
        missing = sorted(set(data["assets"]) - set(frame.columns))
        if missing:
            raise ValueError(f"[data] assets not in the data: {missing}")
        frame = frame[list(data["assets"])]
    return select_dates(frame, start=data.get("start"), end=data.get("end"))


#: the file that marks a directory as a backtest output (written last): only such a directory is ever replaced.
SUMMARY = "summary.json"
#: the list of every file a backtest wrote into its output (relative paths), written just before ``SUMMARY``.
MANIFEST = "manifest.json"
#: what an output written before manifests existed may hold (any other entry makes it not replaceable).
LEGACY_ENTRIES = ("returns.parquet", "weights.parquet", "rebalances.csv", "metrics.csv", "targets", SUMMARY)


def _is_output(path: Path) -> bool:
    """Whether ``path`` holds a backtest output and nothing else: every file in it is listed in its manifest (for
    an output from before manifests: only the known entries and PNG plots). A user's own file in ``--out`` makes it
    not replaceable, so replacing the output never deletes it."""
    if not (path / SUMMARY).is_file():
        return False
    present = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() or p.is_symlink()}
    try:
        listed = set(json.loads((path / MANIFEST).read_text())["files"])
    except FileNotFoundError:
        return all(p.split("/")[0] in LEGACY_ENTRIES or ("/" not in p and p.endswith(".png")) for p in present)
    except (ValueError, KeyError, TypeError):
        return False
    return present <= listed | {MANIFEST}


def target_stems(names) -> dict[str, str]:
    """``targets/`` file stem per strategy name; ``ValueError`` when two names map to one stem ("ERC (a)" and
    "ERC _a_" both to ``ERC__a_``: one would silently overwrite the other)."""
    stems: dict[str, str] = {}
    for name in names:
        stem = _slug(name)
        other = next((k for k, v in stems.items() if v == stem), None)
        if other is not None:
            raise ValueError(f"strategies {other!r} and {name!r} would both write targets/{stem}.csv; rename one")
        stems[name] = stem
    return stems


@contextmanager
def _output(out_dir) -> Iterator[Path]:
    """Lock ``out_dir`` (a ``.NAME.lock`` file beside it) and yield the temporary directory that replaces it as a
    whole when the block succeeds; nothing is changed if the block fails or the process dies."""
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with DirectoryLock(out.parent / f".{out.name}.lock", what=str(out)), \
            atomic_directory(out, replaceable=_is_output) as tmp:
        yield tmp


def write_results(result: BacktestResult, out_dir, *, data: dict[str, Any] | None = None,
                  inputs: pd.DataFrame | None = None, config_file: str | None = None) -> Path:
    """Replace ``out_dir`` by a directory holding returns.parquet, weights.parquet (long: date, strategy, asset,
    weight, risk_share), rebalances.csv, metrics.csv, three PNG plots, the last targets of every strategy under
    targets/ (via ``qrp.finance.execution``) and summary.json (metrics, seed, config, data, package versions); see
    the module docstring for the guarantees."""
    with _output(out_dir) as tmp:
        _write_files(result, tmp, data=data, inputs=inputs, config_file=config_file)
    return Path(out_dir)


def _write_files(result: BacktestResult, out: Path, *, data: dict[str, Any] | None, inputs: pd.DataFrame | None,
                 config_file: str | None) -> None:
    atomic_write(out / "returns.parquet", lambda p: result.returns.to_parquet(p))
    long = pd.concat(
        [pd.DataFrame({"weight": result.weights[k].stack(), "risk_share": result.risk_shares[k].stack()})
         .rename_axis(["date", "asset"]).reset_index().assign(strategy=k) for k in result.weights],
        ignore_index=True,
    )[["date", "strategy", "asset", "weight", "risk_share"]]
    atomic_write(out / "weights.parquet", lambda p: long.to_parquet(p, index=False))
    atomic_write(out / "rebalances.csv", lambda p: result.rebalances.to_csv(p, index=False, float_format="%.10g"))
    atomic_write(out / "metrics.csv", lambda p: result.metrics.to_csv(p, float_format="%.10g"))
    plot_results(result, out)
    stems = target_stems(result.weights)
    for name, frame in result.weights.items():
        as_of = frame.index[-1]
        tw = target_weights(frame.iloc[-1], timestamp=None, inputs={
            "strategy": next(s for s in result.config["strategies"] if s["name"] == name),
            "backtest": {k: v for k, v in result.config.items() if k != "strategies"},
            "data": data or {}, "as_of": str(as_of),
            "returns": inputs.loc[:as_of].iloc[:-1] if inputs is not None else None,
        }, metadata={"strategy": name, "as_of": str(as_of.date()),
                     "rc_error": float(result.rebalances.query("strategy == @name").rc_error.iloc[-1])})
        write_target_weights(tw, out / "targets" / stems[name])
    summary = {
        "metrics": result.metrics.to_dict(orient="index"), "seed": result.seed, "config": result.config,
        "data": data, "period": [str(result.returns.index[0].date()), str(result.returns.index[-1].date())],
        "n_assets": next(iter(result.weights.values())).shape[1],
        "elapsed_seconds": result.elapsed, "versions": package_versions(), "config_file": config_file,
    }
    files = [*sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()), SUMMARY]
    atomic_write(out / MANIFEST, lambda p: p.write_text(json.dumps({"files": files}, indent=2)))
    atomic_write(out / SUMMARY, lambda p: p.write_text(json.dumps(summary, indent=2, default=str)))


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def run_backtest_config(path, out_dir=None) -> BacktestResult:
    """Load a TOML config and its data, run the backtest and (``out_dir``) write the results. ``out_dir`` is
    checked and locked before the backtest starts, and replaced only once every file is written."""
    config, data, base = load_config(path)
    target_stems(s.name for s in config.strategies)  # refused before the backtest runs
    if out_dir is None:
        return run_backtest(load_returns(data, base), config)
    with _output(out_dir) as tmp:
        returns = load_returns(data, base)
        result = run_backtest(returns, config)
        log.info("backtest: writing the results and figures into %s", out_dir)
        _write_files(result, tmp, data=data, inputs=returns, config_file=str(path))
    return result
