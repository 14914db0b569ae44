"""The ``qrp`` command line: ``solve``, ``rebalance``, ``solvers``, ``backtest``, ``run`` and ``report``.

Every user error (bad input, a file that cannot be read or written, a busy result directory, a missing optional
package) ends the command with exit status 2 and one line on stderr naming the problem (for a missing optional
package, the ``pip install "qrp[EXTRA]"`` that provides it); an unexpected error gives exit status 1 and one line.
Tracebacks are printed only with ``--debug``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from qrp.core.extras import install_hint
from qrp.core.provenance import DirectoryInUse, qrp_version
from qrp.data import ESTIMATORS

#: exit status of user errors (argparse's own) and of unexpected errors.
USER_ERROR, INTERNAL_ERROR = 2, 1


def _json_options(text: str | None) -> dict:
    if not text:
        return {}
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"--options: not valid JSON ({exc})") from None
    if not isinstance(options, dict):
        raise ValueError(f"--options: expected a JSON object such as '{{\"bits\": 4}}', got {text!r}")
    return options


def _budgets(text: str | None) -> np.ndarray | None:
    try:
        return None if text is None else np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise ValueError(f"--budgets: expected comma-separated numbers, got {text!r}") from None


def _solve(args: argparse.Namespace) -> int:
    if args.cov is not None and Path(args.cov).is_dir():
        raise ValueError(f"--cov {args.cov}: is a directory, expected a CSV file")
    options = _json_options(args.options)
    budgets = _budgets(args.budgets)
    from rich.console import Console  # rich and pandas (the studies extra): imported once the arguments are read
    from rich.table import Table

    from qrp.api import risk_parity
    from qrp.data.loaders import example_covariance, read_covariance_csv

    cov = example_covariance() if args.cov is None else read_covariance_csv(args.cov)
    res = risk_parity(cov, budgets, solver=args.solver, leverage=args.leverage,
                      target_volatility=args.target_volatility, seed=args.seed, **options)
    if args.mlflow:
        _log_result(args.mlflow, "qrp-solve", res, cov, {"cov": args.cov or "example", "solver": args.solver,
                                                          "leverage": args.leverage, "seed": args.seed, **options})
    if args.json:
        print(json.dumps(res.to_dict(), default=float, indent=2))
        return 0
    frame = res.to_frame()
    table = Table(title=f"risk parity: {args.cov or 'bundled example covariance'}")
    for col in ("asset", "weight", "risk contribution", "risk share", "budget"):
        table.add_column(col, justify="left" if col == "asset" else "right")
    for name, row in frame.iterrows():
        table.add_row(str(name), f"{row.weight:.6f}", f"{row.risk_contribution:.6f}", f"{row.risk_share:.6%}",
                      f"{row.budget:.6%}")
    console = Console()
    console.print(table)
    console.print(
        f"solver={res.solver}  volatility={res.volatility:.6f}  rc_error={res.rc_error:.2e}  "
        f"converged={res.converged}  iterations={res.iterations}  elapsed={res.elapsed * 1e3:.2f} ms"
    )
    return 0 if res.converged else 1


def _log_result(uri: str, experiment: str, res, cov, params: dict) -> None:
    import pandas as pd  # cli start-up stays light: pandas and MLflow only with --mlflow

    from qrp.finance.tracking import log_to_mlflow

    metrics = {"rc_error": res.rc_error, "volatility": res.volatility, "elapsed": res.elapsed,
               "iterations": res.iterations, "converged": float(res.converged)}
    log_to_mlflow(uri, experiment, run_name=f"{experiment}-{res.solver}", params=params, metrics=metrics,
                  table=res.to_frame(), covariance=pd.DataFrame(cov))


class _StderrHandler(logging.StreamHandler):
    """A handler writing to ``sys.stderr`` as it is when a line is emitted, not as it was when the handler was
    made: ``main`` may run many times in one process (tests, notebooks) with stderr replaced in between, and a
    handler holding the first stream sent later commands' progress lines to it (``test_report`` then saw no line
    whenever an earlier test in the same process had run ``qrp backtest``, ``rebalance`` or ``report``)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; the property always reads sys.stderr
        pass


def _progress_to_stderr() -> None:
    """Show qrp's progress lines (logger ``qrp``, level INFO) on stderr, as ``qrp: ...``, for a command users wait
    on (report, backtest, rebalance); library callers see them only if they configure logging."""
    logger = logging.getLogger("qrp")
    if not any(getattr(h, "qrp_progress", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("qrp: %(message)s"))
        handler.qrp_progress = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _rebalance(args: argparse.Namespace) -> int:
    _progress_to_stderr()
    options = _json_options(args.options)
    budgets = _budgets(args.budgets)
    from qrp.data.returns import load_sp500_returns, read_csv  # imported only once the arguments are read
    from qrp.finance.rebalance import rebalance, write_rebalance

    returns = load_sp500_returns() if args.returns == "sp500" else read_csv(args.returns, kind=args.kind)
    reb = rebalance(returns, estimator=args.estimator, window=args.window, solver=args.solver, budgets=budgets,
                    solver_options=options, seed=args.seed)
    csv_path, json_path = write_rebalance(reb, args.out)
    if args.mlflow:
        _log_result(args.mlflow, "qrp-rebalance", reb.result, reb.covariance,
                    {"returns": args.returns, "estimator": args.estimator, "window": args.window,
                     "solver": args.solver, "as_of": reb.target.metadata["as_of"],
                     "input_hash": reb.target.input_hash})
    res = reb.result
    print(f"targets for the day after {reb.target.metadata['as_of']}: {csv_path} {json_path}")
    print(f"solver={res.solver}  rc_error={res.rc_error:.2e}  converged={res.converged}  "
          f"input_hash={reb.target.input_hash[:16]}")
    return 0 if res.converged else 1


def _solvers(args: argparse.Namespace) -> int:
    from rich.console import Console  # cli start-up stays light: only for `qrp solvers`
    from rich.table import Table

    from qrp.core.registry import available_solvers

    table = Table(title="qrp solvers")
    for col in ("name", "kind", "default tol", "description"):
        table.add_column(col)
    for spec in available_solvers().values():
        table.add_row(spec.name, spec.kind, f"{spec.default_tol:g}", spec.description)
    Console().print(table)
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from rich.console import Console  # cli start-up stays light: only for `qrp backtest`
    from rich.table import Table

    from qrp.finance.backtest import run_backtest_config

    _progress_to_stderr()
    res = run_backtest_config(args.config, args.out)
    table = Table(title=f"backtest: {args.config} ({res.returns.index[0].date()} to {res.returns.index[-1].date()})")
    columns = {"annualized_return": "ann. return", "annualized_volatility": "ann. vol", "sharpe": "Sharpe",
               "max_drawdown": "max DD", "annual_turnover": "turnover/yr", "avg_rc_error": "avg rc_error",
               "weights_seconds": "weights s"}
    table.add_column("strategy")
    for label in columns.values():
        table.add_column(label, justify="right")
    for name, row in res.metrics.iterrows():
        table.add_row(str(name), *(f"{row[k]:.4g}" for k in columns))
    console = Console(width=max(Console().width, 150))  # strategy names and seven metrics need the room
    console.print(table)
    console.print(f"elapsed {res.elapsed:.2f} s" + (f"; results in {args.out}" if args.out else ""))
    if args.mlflow:
        from qrp.finance.tracking import log_to_mlflow  # MLflow (optional extra): only with --mlflow

        metrics = {f"{name}.{k}": float(v) for name, row in res.metrics.iterrows() for k, v in row.items()
                   if isinstance(v, (int, float, np.floating, np.integer))}
        params = {"config": str(args.config),
                  **{k: v for k, v in res.config.items() if not isinstance(v, (list, dict))}}
        log_to_mlflow(args.mlflow, "qrp-backtest", run_name=Path(args.config).stem, params=params, metrics=metrics,
                      table=res.metrics, artifacts={"config.toml": Path(args.config).read_text()})
    return 0



def _run(args: argparse.Namespace) -> int:
    from qrp.studies.runner import run_study  # cli start-up stays light: the study stack only for `qrp run`
    from qrp.studies.study import load_study

    study = load_study(args.study)
    if args.dry_run:
        print(f"{study.name}: {len(study.runs)} grid points, config hash {study.config_hash}")
        return 0
    frame = run_study(study, args.out, workers=args.workers, scheduler=args.scheduler, mlflow_uri=args.mlflow,
                      scheduler_timeout=args.scheduler_timeout, force=args.force)
    return 0 if (frame["status"] == "ok").all() and len(frame) >= len(study.runs) else 1


def _report(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        enabled = gc.isenabled()  # a caller's disabled collector stays disabled
        gc.disable()  # the report's imports, not walked by the collector: see below
        try:
            # cli start-up stays light: pandas and plots only for `qrp report`
            from qrp.studies.render import pyplot
            from qrp.studies.report import collector_frozen, write_report

            pyplot()
            # pandas, pyarrow and matplotlib (some 300,000 objects) out of the collector's walks while the report
            # runs (the report's drawing freezes more; unfrozen when this block ends, also on error): the
            # collections that the imports and the table set off walked them again and again (0.1 s CPU of a
            # quickstart report)
            stack.enter_context(collector_frozen())
        finally:
            if enabled:
                gc.enable()
        _progress_to_stderr()
        for path in write_report(args.dir, threshold=args.threshold):
            print(path)
    return 0


class _SolverNames:
    """The registered solvers' names, read when a help text is printed (the registry imports numba: not at every
    start of the command line)."""

    def __str__(self) -> str:
        from qrp.core.registry import available_solvers  # numba (heavy): only for --help

        return ", ".join(available_solvers())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qrp", description="Quantum/classical hybrid risk parity.")
    parser.add_argument("--version", action="version", version=f"qrp {qrp_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="print the full traceback of an error")

    solver_help = "registry name: %(solvers)s (default auto; details: `qrp solvers`)"

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    p = add("solve", help="solve ERC / risk budgeting for a covariance and print the table")
    p.add_argument("--cov", help="CSV covariance with asset names (default: the bundled 8-asset example)")
    p.add_argument("--solver", default="auto", help=solver_help).solvers = _SolverNames()
    p.add_argument("--budgets", help="comma-separated risk budgets summing to 1")
    p.add_argument("--leverage", type=float, default=1.0,
                   help="multiplies the weights (default 1: fully invested; risk shares do not change)")
    p.add_argument("--target-volatility", type=float, default=None,
                   help="rescale the weights to this volatility, in the units of the covariance")
    p.add_argument("--seed", type=int, default=None, help="seed of a stochastic solver (sa, qaoa, ...)")
    p.add_argument("--options", help='solver options as JSON, e.g. \'{"bits": 4, "rounds": 10}\'')
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--mlflow", help="MLflow tracking URI: log parameters, metrics, risk contributions, covariance")
    p.set_defaults(func=_solve)

    p = add("rebalance", help="today's target weights from a returns history (CSV + JSON)")
    p.add_argument("--returns", required=True, help="CSV of daily returns (date column first) or 'sp500'")
    p.add_argument("--kind", choices=("returns", "prices"), default="returns", help="what the CSV holds")
    p.add_argument("--estimator", default="ledoit_wolf",
                   help=f"covariance estimator: {', '.join(ESTIMATORS)} (default ledoit_wolf)")
    p.add_argument("--window", type=int, default=252, help="rows of history for the covariance (default 252)")
    p.add_argument("--solver", default="auto", help=solver_help).solvers = _SolverNames()
    p.add_argument("--budgets", help="comma-separated risk budgets summing to 1")
    p.add_argument("--options", help="solver options as JSON")
    p.add_argument("--seed", type=int, default=None, help="seed of a stochastic solver (sa, qaoa, ...)")
    p.add_argument("--out", required=True, help="directory for target_weights.csv and target_weights.json")
    p.add_argument("--mlflow", help="MLflow tracking URI: log parameters, metrics, risk contributions, covariance")
    p.set_defaults(func=_rebalance)

    p = add("solvers", help="list the registered solvers")
    p.set_defaults(func=_solvers)

    p = add("backtest", help="rolling risk parity backtest against comparison strategies (TOML config)")
    p.add_argument("config", help="backtest TOML file (see experiments/backtest.toml)")
    p.add_argument("--out", help="directory for returns, weights, metrics, plots and summary.json")
    p.add_argument("--mlflow", help="MLflow tracking URI: log the config, per-strategy metrics and the metrics table")
    p.set_defaults(func=_backtest)

    p = add("run", help="run (or resume) a study: experiments/NAME.toml -> DIR/runs.parquet")
    p.add_argument("study", help="study file (TOML), e.g. experiments/quickstart.toml")
    p.add_argument("--out", help="result directory (default: results/NAME)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: one per core; 1 runs in this process)")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:port): run the grid on that cluster")
    p.add_argument("--scheduler-timeout", type=float, default=10.0,
                   help="seconds to wait for the Dask scheduler before giving up (default 10)")
    p.add_argument("--mlflow", help="MLflow tracking URI (e.g. sqlite:///mlflow.db): the study as a parent run, "
                                    "one nested run per grid point")
    p.add_argument("--dry-run", action="store_true", help="validate the study and print its size; run nothing")
    p.add_argument("--force", action="store_true",
                   help="add this study's runs to an --out that holds runs of another study (config hash)")
    p.set_defaults(func=_run)

    p = add("report", help="plots (PNG) and summary.md of a result directory")
    p.add_argument("dir", help="result directory holding runs.parquet")
    p.add_argument("--threshold", type=float, default=1e-6,
                   help="classical-accuracy threshold on rc_error for the crossover map (default 1e-6)")
    p.set_defaults(func=_report)
    return parser


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def describe_error(exc: BaseException) -> tuple[int, str]:
    """Exit status and one-line message for an exception that ended a command."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        return USER_ERROR, f"this needs the optional package {top!r}, which is not installed: {install_hint(exc.name)}"
    if isinstance(exc, MemoryError):
        return USER_ERROR, (f"out of memory ({_one_line(exc) or 'MemoryError'}): the problem is too large for this "
                            "machine; use fewer assets, bits, sweeps or samples")
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return USER_ERROR, f"{exc.strerror}: {exc.filename}"
    if isinstance(exc, (ValueError, TypeError, OSError, DirectoryInUse)):
        return USER_ERROR, _one_line(exc) or type(exc).__name__
    return INTERNAL_ERROR, (f"internal error: {type(exc).__name__}: {_one_line(exc)} "
                            "(run again with --debug for the traceback)")


def _ending_process() -> None:
    """The objects alive now moved out of the garbage collector's walks (``gc.freeze``) when this process is about to
    exit: the interpreter's shutdown collections then no longer walk everything a command imported and built
    (pandas, matplotlib, a report's figures: 0.3 s CPU after ``qrp report``) only to free memory that the exit frees
    anyway. Buffered files are still flushed and ``atexit`` handlers still run."""
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv`` (default: this program's own arguments, ``sys.argv[1:]``; the process then
    ends after it, see ``_ending_process``) and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("qrp: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        code, message = describe_error(exc)
        print(f"qrp: error: {message}", file=sys.stderr)
        return code
    finally:
        if argv is None:  # the program's own command line (qrp, python -m qrp): the process exits next
            _ending_process()


if __name__ == "__main__":
    sys.exit(main())
