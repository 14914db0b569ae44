"""Does a committed study re-run identically? Re-execute a seeded sample of its rows with the current code and
compare every result field bit for bit.

    python -m benchmarks.reproduce quickstart                       # 8 sampled rows of results/quickstart
    python -m benchmarks.reproduce scaling_qubits --sample 12 --seed 1 --max-qubits 12 --budget 2
    python -m benchmarks.reproduce results/quickstart --run-id 3f0c... --run-id 9a1b...

STUDY is a study name (``results/NAME`` against ``experiments/NAME.toml``) or a result directory (its rows' study
name picks ``experiments/NAME.toml``; ``--study-file`` names another). Each sampled row is rebuilt by the runner's
own code: the study file is loaded and expanded (``qrp.studies.study.load_study``), the row's grid point found by
its ``run_id`` (the hash of everything that determines the row: covariance source, baseline, reference, solver,
size, seed, options, instance), its task built (``qrp.studies.tasks.build_tasks``, covariance included) and
executed (``qrp.studies.rows.run_task``: warm-up, one-thread BLAS, baseline and exact reference, as ``qrp run``),
in grid order, in this process. The new rows go through the results table's own write and read path
(``ResultTable`` into a temporary directory, then ``read_table``), so they are compared as ``qrp run`` would
have stored them.

Comparison: every field of the committed row against the rerun's. JSON fields (weights, risk contributions,
history, stats, angles, options, instance) are parsed and compared leaf by leaf. Numbers are identical when their
float64 values are (bit for bit, no tolerance; NaN equals NaN; an integer and a float of the same value count as
the same number, a number's text as stored by an older table does not: kind "stored as text"), everything else by
equality; a field that is absent on one side equals a null on the other (a solver adds its own ``stats.*``
columns); a difference that is only a field present on one side is of kind "new in rerun" / "gone in rerun". A row
whose only differences are "new in rerun" (a diagnostic added to results since it was made, e.g. QAOA's
``stats.noise_model``) gets the verdict "new fields" and passes: every value it holds re-ran identically; a value
that changed or disappeared fails.
Per row and field the verifier prints how many values differ, the max absolute and relative
(|a - b| / max(|a|, |b|)) difference of the numeric ones and the first difference, then the differences by leaf
over the sample (``by_leaf``).

Exempt fields (``EXEMPT``; at any depth of a JSON field too): measured times, which no rerun repeats, the
provenance of the run, and the hash of the study file, which changes when a study grows though no row changes.

Sample: ``--sample K`` rows of the ``ok`` rows, drawn by a random permutation (``--seed``) taken round-robin over
the solvers (every solver is drawn before any is drawn twice). Rows the current study file no longer holds are
reported as ``not in grid`` (the table cannot be rebuilt from the file). ``--max-qubits M`` skips rows with more
than M qubits, ``--budget S`` rows whose committed solve took more than S seconds (``elapsed`` plus any
``exact_seconds``); skipped rows are never drawn and are listed as skipped (``--run-id`` rows are never skipped).

BLAS: OpenBLAS picks its kernels for the CPU (``OPENBLAS_CORETYPE`` overrides), and kernels round differently in the
last bits, so rows are reproducible bit for bit under the kernel they were made with. Rows record it
(``versions["blas"]``, ``qrp.core.provenance.blas_kernels``; rows older than 2026-12-07 do not); the verifier prints
both and, when they differ, the ``OPENBLAS_CORETYPE`` to rerun with.

Exit status: 0 when every checked row is identical, 1 when a row differs or is not in the grid, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: fields not compared, with why (also skipped at any depth inside JSON fields: ``history[r].elapsed``,
#: ``history[r].stats.wall_time``, ``stats.resources.simulation_seconds``).
EXEMPT = {
    "elapsed": "wall time of the run's solve (and of each refinement round inside history)",
    "classical_elapsed": "wall time of the classical baseline's solve",
    "exact_seconds": "wall time of a ground-state study's exact reference",
    "tts_seconds": "time to solution in seconds: the call's wall time times a factor",
    "wall_time": "QAOA optimization and readout wall time (history / stats)",
    "simulation_seconds": "the part of wall_time spent simulating (stats.resources)",
    "finished_at": "timestamp of the row",
    "versions": "package versions and git commit of the run (provenance)",
    "config_hash": "hash of the whole study file at run time: it changes when the study grows, rows keep theirs; "
                   "run_id, compared, hashes everything that determines a row",
}
#: skipped rows listed one by one up to this many (beyond: counted by solver and reason).
MAX_SKIPPED_LINES = 20
#: the qubit count of a row (ground-state and refinement studies alike).
QUBITS = "num_qubits"


@dataclass
class FieldDiff:
    """One field of one row: ``total`` values compared (the leaves of a JSON field) and the ``(path, committed,
    rerun)`` of those that differ."""

    field: str
    total: int = 0
    leaves: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.leaves)

    def line(self) -> str:
        return f"{self.field}: {self.count} of {self.total} values differ{_sizes(self.leaves)}  " \
               f"({_kind(self.leaves)}; first: {_first(self.leaves)})"


def _sizes(leaves: list[tuple[str, Any, Any]]) -> str:
    """"  max abs A  max rel R" over the numeric pairs of ``leaves`` (rel = |a - b| / max(|a|, |b|)); "" if none."""
    pairs = [(float(a), float(b)) for _, a, b in leaves if _is_number(a) and _is_number(b)]
    if not pairs:
        return ""
    abs_ = max(abs(a - b) for a, b in pairs)
    rel = max(abs(a - b) / max(abs(a), abs(b)) if max(abs(a), abs(b)) > 0 else 0.0 for a, b in pairs)
    return f"  max abs {abs_:.3g}  max rel {rel:.3g}"


def _kind(leaves: list[tuple[str, Any, Any]]) -> str:
    """"new in rerun" when every difference is a value the committed row lacks, "gone in rerun" for the reverse
    (a field added or removed since: the schema changed), "stored as text" when every difference is a number the
    committed table holds as its text (an older table's column type; the same value), else "values"."""
    if all(a is None and b is not None for _, a, b in leaves):
        return "new in rerun"
    if all(b is None and a is not None for _, a, b in leaves):
        return "gone in rerun"
    if all(_number(a) is not None and _number(a) == _number(b) for _, a, b in leaves):
        return "stored as text"
    return "values"


def _first(leaves: list[tuple[str, Any, Any]]) -> str:
    path, a, b = leaves[0]
    return f"{path}: {_short(a)} -> {_short(b)}"


#: Verdicts that pass: a rerun may fill fields added since the row was made (``new fields``), never change one.
PASSING = ("identical", "new fields", "skipped")


def _verdict(diffs: list[FieldDiff]) -> str:
    """``identical`` without differences, ``new fields`` when every difference is a value the committed row lacks
    (``_kind`` "new in rerun"), else ``differs``."""
    if not diffs:
        return "identical"
    return "new fields" if all(_kind(d.leaves) == "new in rerun" for d in diffs) else "differs"


@dataclass
class RowCheck:
    """The verdict on one committed row: ``identical``, ``new fields`` (every committed value identical; the rerun
    also fills fields the committed row lacks: a diagnostic added since), ``differs``, ``skipped`` or ``not in
    grid``."""

    run_id: str
    label: str
    verdict: str
    reason: str = ""
    diffs: list[FieldDiff] = field(default_factory=list)
    seconds: float = 0.0


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(v: Any) -> Any:
    """A table cell as a plain Python value; None for every kind of null."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(v: Any) -> float | None:
    """``v`` as a float when it is a number or a number's text (an older table's column type), else None."""
    if _is_number(v):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _as_json(v: Any) -> Any:
    """A JSON text cell (list or object) parsed; anything else unchanged."""
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _same(a: Any, b: Any) -> bool:
    """Identical leaves: numbers by their float64 value bit for bit (integers exactly), NaN equal to NaN."""
    if _is_number(a) and _is_number(b):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        x, y = np.float64(a), np.float64(b)
        return (math.isnan(x) and math.isnan(y)) or x.view(np.int64) == y.view(np.int64)
    return type(a) is type(b) and a == b


def compare_values(a: Any, b: Any, path: str, diff: FieldDiff) -> None:
    """Walk two parsed values together, counting leaves in ``diff.total`` and recording those that differ; dict keys
    in ``EXEMPT`` are not compared, a missing key equals a null, lists of different lengths differ in length."""
    a, b = _scalar(a), _scalar(b)
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in EXEMPT:
                compare_values(a.get(key), b.get(key), f"{path}.{key}", diff)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diff.total += 1
            diff.leaves.append((f"len({path})", len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            compare_values(x, y, f"{path}[{i}]", diff)
        return
    diff.total += 1
    if not _same(a, b):
        diff.leaves.append((path, a, b))


def compare_rows(committed: dict[str, Any], rerun: dict[str, Any]) -> list[FieldDiff]:
    """The fields (not ``EXEMPT``) in which two rows differ; a field absent from one row equals a null there."""
    diffs = []
    for name in [*committed, *(k for k in rerun if k not in committed)]:
        if name in EXEMPT or name.rsplit(".", 1)[-1] in EXEMPT:  # stats.* columns: flattened JSON
            continue
        a, b = _scalar(committed.get(name)), _scalar(rerun.get(name))
        diff = FieldDiff(name)
        compare_values(_as_json(a), _as_json(b), name, diff)
        if diff.count:
            diffs.append(diff)
    return diffs


def sample_rows(frame: pd.DataFrame, k: int, seed: int) -> list[str]:
    """``k`` run_ids of ``frame``: a random permutation (``seed``) taken round-robin over the solvers, in the order
    each solver first appears in the permutation."""
    order = np.random.default_rng(seed).permutation(len(frame))
    queues: dict[str, list[str]] = {}
    for i in order:
        queues.setdefault(str(frame["solver"].iat[i]), []).append(str(frame["run_id"].iat[i]))
    picked: list[str] = []
    while len(picked) < min(k, len(frame)):
        for q in queues.values():
            if q and len(picked) < k:
                picked.append(q.pop(0))
    return picked


def too_expensive(row: pd.Series, max_qubits: int | None, budget: float | None) -> str:
    """Why ``row`` is skipped ("" when it is not): more qubits than ``max_qubits``, or a committed solve longer
    than ``budget`` seconds."""
    qubits = _number(_scalar(row.get(QUBITS)))
    if max_qubits is not None and qubits is not None and qubits > max_qubits:
        return f"{int(qubits)} qubits > --max-qubits {max_qubits}"
    seconds = sum(_number(_scalar(row.get(k))) or 0.0 for k in ("elapsed", "exact_seconds"))
    if budget is not None and seconds > budget:
        return f"committed solve took {seconds:.3g} s > --budget {budget:g}"
    return ""


def rerun_rows(study, run_ids: list[str]) -> pd.DataFrame:
    """The rows of ``run_ids`` re-executed as ``qrp run`` does (module docstring), in grid order, stored and read
    back through the results table."""
    from qrp.studies.rows import run_task  # heavy: solvers and their engines
    from qrp.studies.table import ResultTable, read_table
    from qrp.studies.tasks import build_tasks

    wanted = set(run_ids)
    tasks = build_tasks(study, skip={s.run_id for s in study.runs} - wanted)
    with tempfile.TemporaryDirectory(prefix="qrp-reproduce-") as tmp:
        with ResultTable(tmp) as table:
            for task in tasks:
                start = time.perf_counter()
                row = run_task(task)
                row["_seconds"] = time.perf_counter() - start
                table.add(row)
        return read_table(tmp)


def _label(row: pd.Series) -> str:
    parts = [str(row["solver"]), f"N={_scalar(row.get('n_assets'))}"]
    options = _as_json(_scalar(row.get("options")))
    if isinstance(options, dict):
        parts += [f"{k}={v}" for k, v in options.items()]
    return " ".join(parts)


def _resolve(study: str, study_file: str | None) -> tuple[Path, Path]:
    """(result directory, study file) of the STUDY argument."""
    out = Path(study) if Path(study).is_dir() else Path("results") / study
    if not (out / "runs.parquet").is_file():
        raise ValueError(f"STUDY {study!r}: no runs.parquet in {out} (expected a study name under results/ or a "
                         "result directory)")
    if study_file is not None:
        path = Path(study_file)
    else:
        names = pd.read_parquet(out / "runs.parquet", columns=["study"])["study"].dropna().unique()
        name = str(names[0]) if len(names) == 1 else out.name
        path = Path("experiments") / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"study file {path}: not found (pass --study-file)")
    return out, path


@dataclass
class Verification:
    """What ``verify`` found: the study, its committed row count, and one ``RowCheck`` per row it looked at."""

    study: str
    committed: int
    checks: list[RowCheck]
    committed_blas: str | None = None
    blas: str = ""

    @property
    def ok(self) -> bool:
        return all(c.verdict in PASSING for c in self.checks)


def verify(study: str, *, sample: int = 8, seed: int = 0, run_ids: list[str] | None = None,
           max_qubits: int | None = None, budget: float | None = None, study_file: str | None = None) -> Verification:
    """Re-execute ``sample`` rows (or the rows ``run_ids``) of committed study ``study`` and compare them with the
    committed ones (module docstring)."""
    from qrp.core.provenance import package_versions  # after the solvers: records every loaded BLAS
    from qrp.studies.study import load_study  # heavy: the solver registry
    from qrp.studies.table import read_table

    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValueError(f"--sample must be an integer >= 1, got {sample!r}")
    if max_qubits is not None and max_qubits < 0:
        raise ValueError(f"--max-qubits must be >= 0, got {max_qubits}")
    if budget is not None and not budget > 0:
        raise ValueError(f"--budget must be > 0 seconds, got {budget}")
    out, path = _resolve(study, study_file)
    frame = read_table(out)
    ok = frame[frame["status"] == "ok"].reset_index(drop=True)
    if run_ids:
        unknown = sorted(set(run_ids) - set(ok["run_id"]))
        if unknown:
            raise ValueError(f"--run-id {unknown[0]}: no ok row of {out} has this run_id")
    loaded = load_study(path)
    grid = {s.run_id for s in loaded.runs}
    checks: list[RowCheck] = []
    skipped = {} if run_ids else {r["run_id"]: why for _, r in ok.iterrows()
                                  if (why := too_expensive(r, max_qubits, budget))}
    pool = ok[~ok["run_id"].isin(skipped)] if not run_ids else ok[ok["run_id"].isin(run_ids)]
    picked = list(run_ids) if run_ids else sample_rows(pool, sample, seed)
    by_id = {r["run_id"]: r for _, r in ok.iterrows()}
    checks += [RowCheck(rid, _label(by_id[rid]), "skipped", reason) for rid, reason in skipped.items()
               if rid not in picked]
    todo = [rid for rid in picked if rid in grid]
    checks += [RowCheck(rid, _label(by_id[rid]), "not in grid", f"{path} no longer holds this grid point")
               for rid in picked if rid not in grid]
    fresh = rerun_rows(loaded, todo) if todo else pd.DataFrame(columns=["run_id"])
    new = {r["run_id"]: r for _, r in fresh.iterrows()}
    for rid in [s.run_id for s in loaded.runs if s.run_id in set(todo)]:
        got = new[rid].to_dict()
        seconds = float(got.pop("_seconds"))
        diffs = compare_rows(by_id[rid].to_dict(), got)
        checks.append(RowCheck(rid, _label(by_id[rid]), _verdict(diffs), diffs=diffs, seconds=seconds))
    return Verification(str(out), len(frame), checks, recorded_blas(frame[frame["run_id"].isin(picked)]),
                        package_versions()["blas"])


def recorded_blas(frame: pd.DataFrame) -> str | None:
    """The BLAS kernels the rows of ``frame`` recorded (``versions["blas"]``, ``qrp.core.provenance.blas_kernels``;
    several joined by " | "), or None when none recorded one (rows older than the record)."""
    kinds = set()
    for text in frame.get("versions", pd.Series(dtype=object)).dropna():
        kind = _as_json(text).get("blas") if isinstance(_as_json(text), dict) else None
        if kind:
            kinds.add(kind)
    return " | ".join(sorted(kinds)) or None


def coretype(kernels: str | None) -> str | None:
    """The ``OPENBLAS_CORETYPE`` value that selects ``kernels`` (a ``blas_kernels`` text naming OpenBLAS only, e.g.
    "openblas SkylakeX" -> "SkylakeX"), else None."""
    parts = (kernels or "").split()
    return parts[1] if len(parts) == 2 and parts[0] == "openblas" and parts[1] != "?" else None


def blas_line(v: Verification) -> str:
    """Which BLAS kernels the committed rows and this process use, with how to rerun under the committed one."""
    if v.committed_blas is None:
        return f"BLAS kernels: this process {v.blas}; the committed rows do not record theirs (older rows)"
    if v.committed_blas == v.blas:
        return f"BLAS kernels: {v.blas}, as the committed rows"
    hint = coretype(v.committed_blas)
    return (f"BLAS kernels: committed rows {v.committed_blas}, this process {v.blas}: rows that call BLAS may differ "
            "in the last bits" + (f" (rerun with OPENBLAS_CORETYPE={hint} for the committed kernel)" if hint else ""))


def by_leaf(v: Verification) -> list[str]:
    """The differences of all checked rows by leaf (list indices dropped: ``history[].stats.evaluations``): rows in
    which it differs, max abs / rel difference, kind and first example; one line each, most rows first."""
    groups: dict[str, list[tuple[str, list[tuple[str, Any, Any]]]]] = {}
    for c in v.checks:
        for d in c.diffs:
            for leaf in d.leaves:
                key = re.sub(r"\[\d+\]", "[]", leaf[0])
                rows = groups.setdefault(key, [])
                if not rows or rows[-1][0] != c.run_id:
                    rows.append((c.run_id, []))
                rows[-1][1].append(leaf)
    lines = []
    for key, rows in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        leaves = [leaf for _, ls in rows for leaf in ls]
        lines.append(f"{key}: {len(rows)} rows{_sizes(leaves)}  ({_kind(leaves)}; first: {_first(leaves)})")
    return lines


def report(v: Verification, *, brief: bool = False) -> str:
    """The verdicts as text: one line per checked row (then, unless ``brief``, one per differing field), skipped
    rows, then the differences by leaf (``by_leaf``)."""
    checked = [c for c in v.checks if c.verdict != "skipped"]
    lines = [f"{v.study}: {len(checked)} of {v.committed} committed rows re-executed; "
             f"exempt fields: {', '.join(EXEMPT)}", blas_line(v)]
    for c in checked:
        extra = f"  ({c.reason})" if c.reason else f"  [{c.seconds:.2f} s]"
        lines.append(f"{c.verdict:>11}  {c.run_id[:12]}  {c.label}{extra}")
        lines += [] if brief else [f"             {d.line()}" for d in c.diffs]
    skipped = [c for c in v.checks if c.verdict == "skipped"]
    if skipped:
        lines.append(f"{len(skipped)} rows skipped as too expensive (not drawn):")
        if len(skipped) <= MAX_SKIPPED_LINES:
            lines += [f"    skipped  {c.run_id[:12]}  {c.label}  ({c.reason})" for c in skipped]
        else:
            counts: dict[str, int] = {}
            for c in skipped:
                key = f"{c.label.split()[0]}: over {c.reason.split(' > ')[-1]}"
                counts[key] = counts.get(key, 0) + 1
            lines += [f"    {n:>6}  {key}" for key, n in sorted(counts.items())]
    leaves = by_leaf(v)
    if leaves:
        lines.append("differences by field:")
        lines += [f"    {line}" for line in leaves]
    bad = sum(c.verdict not in PASSING for c in v.checks)
    added = sum(c.verdict == "new fields" for c in v.checks)
    note = f" ({added} rows also fill fields the committed rows lack)" if added else ""
    lines.append(f"{v.study}: " + (f"every checked row is identical{note}" if v.ok else f"{bad} rows are not "
                                   "identical"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("study", help="study name (results/NAME) or result directory")
    parser.add_argument("--sample", type=int, default=8, help="rows to re-execute (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    parser.add_argument("--run-id", action="append", dest="run_ids", help="re-execute this row (repeatable; "
                                                                         "replaces the sample)")
    parser.add_argument("--max-qubits", type=int, help="skip rows with more qubits")
    parser.add_argument("--budget", type=float, help="skip rows whose committed solve took more seconds")
    parser.add_argument("--study-file", help="study TOML (default experiments/NAME.toml)")
    parser.add_argument("--brief", action="store_true", help="per row only its verdict (fields: by leaf, at the end)")
    args = parser.parse_args(argv)
    try:
        v = verify(args.study, sample=args.sample, seed=args.seed, run_ids=args.run_ids,
                   max_qubits=args.max_qubits, budget=args.budget, study_file=args.study_file)
    except ValueError as exc:
        print(f"reproduce: error: {exc}", file=sys.stderr)
        return 2
    print(report(v, brief=args.brief))
    return 0 if v.ok else 1


if __name__ == "__main__":
    sys.exit(main())
