"""``qrp report DIR`` for ground-state studies (``kind = "ground_state"``, rows of ``qrp.studies.ground_state``).

A method is a solver with the options that vary in the grid besides the problem's (``bits``, ``box_round``), e.g.
"qaoa reps=3". Per method, box round and qubit count n (pooling covariance instances and solver seeds):

* ``summary.md``: the fraction of runs whose sample is a ground state, the per-sample ground-state probability p
  and TTS(99%) as median [bootstrap 95% interval], p over the uniform baseline g / 2^n, the approximation ratio next
  to the uniform distribution's; the fitted exponents c of TTS ~ 2^(c n) with bootstrap intervals over instances
  (``qrp.studies.statistics.fit_exponent``), for the uniform baseline too; and the qubit count from which the
  method's readout stops finding the ground state (found in fewer than half of the runs);
* ``ground_state_probability_vs_qubits.png``, ``tts_vs_qubits.png`` (with the fitted lines),
  ``approximation_ratio_vs_qubits.png``: one panel per box round, every method on it, the uniform baseline dashed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write
from qrp.studies.device_time import DEPTHS_FILE, device_time_section
from qrp.studies.encodings_report import encoding_sections
from qrp.studies.render import markdown_table, pyplot, save_figure
from qrp.studies.statistics import fit_exponent, format_interval, grouped_intervals

#: option columns that define the problem, not the method.
PROBLEM_OPTIONS = ("opt.bits", "opt.box_round", "opt.check_ground_state", "opt.encoding")
#: "stops finding": the readout found the ground state in fewer than this fraction of runs.
FOUND_FRACTION = 0.5
#: the uniform-sampling baseline's name in tables and plots.
UNIFORM = "uniform (exact g / 2^n)"


def _fmt(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def methods(frame: pd.DataFrame) -> pd.Series:
    """Each row's method label: the solver and the values of the options that vary for that solver."""
    labels = pd.Series(frame["solver"].astype(str), index=frame.index)
    for _, sub in frame.groupby("solver", sort=False):
        cols = [c for c in sub.columns if c.startswith("opt.") and c not in PROBLEM_OPTIONS
                and sub[c].astype(str).nunique(dropna=False) > 1]
        for c in cols:  # a row that leaves the option at its default is not labelled with it
            set_ = sub[c].notna() & ~sub[c].astype(str).isin(["nan", "None", ""])
            labels[sub.index[set_]] += " " + c[4:] + "=" + sub.loc[set_, c].map(_fmt).astype(str)
    return labels


def _uniform_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct (instance, box round, n): the uniform baseline as a method of its own."""
    keys = ["instance", "box_round", "num_qubits"]
    base = frame.drop_duplicates(keys)[[*keys, "uniform_probability", "uniform_tts", "uniform_approximation_ratio"]]
    return base.assign(method=UNIFORM, ground_state_probability=base["uniform_probability"], tts=base["uniform_tts"],
                       tts_shots=base["uniform_tts"], approximation_ratio=base["uniform_approximation_ratio"])


def _ratio(values: pd.Series) -> str:
    med = pd.to_numeric(values, errors="coerce").median()
    return "-" if np.isnan(med) else f"{med:.3f}"


def scaling_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method, box round and n: the medians with intervals (module docstring)."""
    keys = ["method", "box_round", "num_qubits"]
    p, tts = grouped_intervals(frame, keys, "ground_state_probability"), grouped_intervals(frame, keys, "tts")
    rows = []
    for (_, a), (_, b) in zip(p.iterrows(), tts.iterrows(), strict=True):
        g = frame[(frame["method"] == a["method"]) & (frame["box_round"] == a["box_round"])
                  & (frame["num_qubits"] == a["num_qubits"])]
        rows.append({
            "method": a["method"], "box round": _fmt(a["box_round"]), "n": _fmt(a["num_qubits"]),
            "runs": int(a["count"]), "instances": int(g["instance"].nunique()),
            "found": f"{g['found'].astype(float).mean():.2f}",
            "p median [95% CI]": format_interval(a["ground_state_probability"], a["ground_state_probability_lo"],
                                                 a["ground_state_probability_hi"], ".3g"),
            "p / uniform": f"{g['probability_ratio'].median():.3g}",
            "TTS median [95% CI]": format_interval(b["tts"], b["tts_lo"], b["tts_hi"], ".3g"),
            "TTS sampling only": f"{g['tts_shots'].median():.3g}",
            "uniform TTS": f"{g['uniform_tts'].median():.3g}",
            "approx. ratio": _ratio(g["approximation_ratio"]),
            "uniform ratio": _ratio(g["uniform_approximation_ratio"]),
            "time s": f"{g['elapsed'].median():.3g}",
            "TTS s": f"{pd.to_numeric(g['tts_seconds'], errors='coerce').median():.3g}" if "tts_seconds" in g else "-",
        })
    return pd.DataFrame(rows)


def exponent_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Per method and box round: c of TTS ~ 2^(c n) (TTS counting optimizer shots, and sampling only) with
    bootstrap 95% intervals, the sizes fitted and those left out (median TTS infinite); the uniform baseline too."""
    rows, fits = [], {}
    both = pd.concat([frame, _uniform_rows(frame)], ignore_index=True)
    for (method, box), g in both.groupby(["method", "box_round"], sort=False):
        rec = {"method": method, "box round": _fmt(box)}
        for col, name in (("tts", "TTS"), ("tts_shots", "TTS sampling only")):
            fit = fit_exponent(g["num_qubits"], g[col])
            fits[(method, box, col)] = fit
            rec[f"c ({name}) [95% CI]"] = format_interval(fit["exponent"], fit["lo"], fit["hi"], ".3f")
        fit = fits[(method, box, "tts")]
        rec["n fitted"] = ", ".join(_fmt(s) for s in fit["sizes"]) or "-"
        rec["left out (never found)"] = ", ".join(_fmt(s) for s in fit["left_out"]) or "-"
        rows.append(rec)
    return pd.DataFrame(rows), fits


def stops_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method and box round: the smallest n from which the readout finds the ground state in fewer than
    ``FOUND_FRACTION`` of the runs (and stays there), or that it never stopped within the grid."""
    rows = []
    for (method, box), g in frame.groupby(["method", "box_round"], sort=False):
        found = g.groupby("num_qubits")["found"].apply(lambda s: s.astype(float).mean()).sort_index()
        ok = found >= FOUND_FRACTION
        stop = next((n for i, n in enumerate(found.index) if not ok.iloc[i:].any()), None)
        rows.append({"method": method, "box round": _fmt(box),
                     "n tested": f"{_fmt(found.index.min())}-{_fmt(found.index.max())}",
                     "stops finding the ground state at n": _fmt(stop) if stop is not None
                     else f"never (up to {_fmt(found.index.max())})",
                     "found fraction at the largest n": f"{found.iloc[-1]:.2f}"})
    return pd.DataFrame(rows)


def _panels(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows) per panel: one per encoding and box round when the study has several encodings, else one per
    box round."""
    keys = ["encoding", "box_round"] if "encoding" in frame and frame["encoding"].nunique(dropna=True) > 1 \
        else ["box_round"]
    out = []
    for k, part in frame.groupby(keys, sort=True):
        k = k if isinstance(k, tuple) else (k,)
        title = f"box of refinement round {_fmt(k[-1])}"
        out.append((f"encoding {k[0]}, {title}" if len(k) == 2 else title, part))
    return out


def _figure(frame: pd.DataFrame, y: str, *, ylabel: str, path: Path, log2: bool = False, logy: bool = True,
            fits: dict | None = None) -> None:
    plt = pyplot()  # Agg, imported on the first figure

    panels = _panels(frame)
    cols = frame["box_round"].nunique()  # one column per box round, one row per encoding when there are several
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 5.0 * rows), squeeze=False, sharey=True)
    for ax, (title, part) in zip(axes.ravel(), panels, strict=True):
        box = part["box_round"].iloc[0]
        both = pd.concat([part, _uniform_rows(part)], ignore_index=True)
        sub = both[pd.to_numeric(both[y], errors="coerce").notna()]
        for i, (method, g) in enumerate(sub.groupby("method", sort=True)):
            med = grouped_intervals(g, ["num_qubits"], y).sort_values("num_qubits")
            x = med["num_qubits"].to_numpy(float)
            # tab20: more methods than the default 10-colour cycle without two lines sharing a colour
            style = {"color": "k", "ls": "--"} if method == UNIFORM else {"marker": "o", "color": plt.cm.tab20(i % 20)}
            line, = ax.plot(x, med[y].to_numpy(float), label=method, **style)
            ax.fill_between(x, med[f"{y}_lo"].to_numpy(float), med[f"{y}_hi"].to_numpy(float),
                            color=line.get_color(), alpha=0.12, lw=0)
            fit = (fits or {}).get((method, box, y))
            if fit is not None and np.isfinite(fit["exponent"]):
                xs = np.array(fit["sizes"])
                ax.plot(xs, 2.0 ** (fit["intercept"] + fit["exponent"] * xs), color=line.get_color(), lw=0.8,
                        ls=":")
        if logy:
            ax.set_yscale("log", base=2 if log2 else 10)
        ax.set_xlabel("qubits n")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for row in axes:
        row[0].set_ylabel(ylabel)
    save_figure(fig, path)


def write_ground_state_report(out: Path, table: pd.DataFrame, frame: pd.DataFrame) -> list[Path]:
    """Plots and ``summary.md`` of a ground-state study into ``out`` (module docstring); returns the paths."""
    frame = frame.copy()
    for col in ("num_qubits", "box_round", "ground_state_probability", "tts", "tts_shots", "uniform_tts",
                "probability_ratio", "elapsed", "approximation_ratio", "uniform_approximation_ratio"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame["found"] = frame["found"].astype(bool)
    frame["method"] = methods(frame)
    encoded = "encoding" in frame and frame["encoding"].nunique(dropna=True) > 1
    by_encoding = frame.assign(method=frame["encoding"].astype(str) + ": " + frame["method"]) if encoded else frame
    exponents, fits = exponent_table(by_encoding)
    written = []
    if encoded:
        frame["tts_evaluations"] = pd.to_numeric(frame["tts_evaluations"], errors="coerce")
        by_encoding = by_encoding.assign(tts_evaluations=frame["tts_evaluations"])
        _, eval_fits = exponent_table(by_encoding.assign(tts=frame["tts_evaluations"]))
        _figure(by_encoding, "tts_evaluations", ylabel="TTS(99%) in energy evaluations (median, 95% CI)",
                path=out / "tts_evaluations_vs_qubits.png", log2=True,
                fits={(m, b, "tts_evaluations"): f for (m, b, y), f in eval_fits.items() if y == "tts"})
        written.append(out / "tts_evaluations_vs_qubits.png")
    for name, y, label, kw in (
        ("ground_state_probability_vs_qubits.png", "ground_state_probability",
         "ground-state probability per sample (median, 95% CI)", {}),
        ("tts_vs_qubits.png", "tts", "TTS(99%) in samples, optimizer shots counted (median, 95% CI)",
         {"log2": True, "fits": fits}),
        ("approximation_ratio_vs_qubits.png", "approximation_ratio", "approximation ratio (median, 95% CI)",
         {"logy": False}),
    ):
        if frame[y].notna().any():
            _figure(by_encoding, y, ylabel=label, path=out / name, **kw)
            written.append(out / name)
    first = table.iloc[0]
    versions = json.loads(first["versions"]) if isinstance(first.get("versions"), str) else {}
    md = [
        f"# Ground-state study `{first['study']}`",
        "",
        f"{len(frame)} successful runs ({len(table) - len(frame)} errors) from `{out / 'runs.parquet'}`. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "p: probability that one sample of the method's final distribution is a ground state (QAOA: exact, from the "
        "optimized state; samplers: the fraction of their samples at the ground energy). TTS(99%) = training "
        "samples + ln(0.01) / ln(1 - p): samples to see a ground state with 99% probability, counting a variational "
        "optimizer's evaluations x shots (an exact-expectation evaluation charged as 1024 shots); 'sampling only' "
        "leaves the training out. Uniform: p = g / 2^n exactly (g degenerate ground states). Medians over covariance "
        "instances and solver seeds with bootstrap 95% intervals.",
        "",
        *(encoding_sections(frame) if encoded else []),
        *(device_time_section(frame, out / DEPTHS_FILE) if encoded else []),
        "## Scaling exponents, TTS ~ 2^(c n)" + (" in samples (each method's own unit)" if encoded else ""),
        "",
        markdown_table(exponents),
        "",
        "## Where the readout stops finding the ground state",
        "",
        markdown_table(stops_table(by_encoding)),
        "",
        "## Per method, box round and qubit count",
        "",
        markdown_table(scaling_table(by_encoding)),
        "",
        "## Plots",
        "",
        *[f"![{p.stem}]({p.name})" for p in written],
    ]
    atomic_write(out / "summary.md", lambda p: p.write_text("\n".join(md) + "\n"))
    written.append(out / "summary.md")
    return written


__all__ = ["exponent_table", "methods", "scaling_table", "stops_table", "write_ground_state_report"]
