"""The encoding sections of a ground-state report (a study with an ``encoding`` axis, ``experiments/encodings.toml``).

Everything is in one resource unit, energy evaluations of the cost function (``tts_evaluations``,
``qrp.studies.ground_state.evaluation_cost``), per encoding:

* exponents c of TTS ~ 2^(a + c n) for every method on the encoding's *common* n-range (the qubit counts every
  method of the encoding was run at), with the stratified bootstrap interval of ``fit_exponent``, and the same on the
  lower and upper halves of that range (fit-range sensitivity);
* where each QAOA line would cross the best classical one (the classical method of smallest exponent):
  n* = (a_q - a_c) / (c_c - c_q) over bootstrap resamples of both methods' per-size medians (``crossing``);
* the training cost of each method as its own constant (evaluations spent before sampling: 0 for fixed and ramp
  angles; the tables' one-off calibration on training covariances is stated in ``qrp/discrete/fixed_angles.json``);
* the landscape of each encoding (``qrp.discrete.encodings.encoding_table``) on the study's covariances, default
  (round-0) box, at the largest asset count whose problem has at most ``LANDSCAPE_MAX_QUBITS`` qubits in every
  encoding: single-flip local minima, ground-state degeneracy, steepest-descent success from random starts.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from qrp.data.synthetic import factor_covariance
from qrp.discrete.encodings import ENCODINGS, encoding_table
from qrp.discrete.problem import discretize
from qrp.studies.render import markdown_table
from qrp.studies.statistics import CONFIDENCE, N_RESAMPLES, fit_exponent, format_interval

#: a crossing beyond this many qubits is reported as none ahead.
MAX_CROSSING = 1000.0
#: descents per instance in the landscape table, and the qubit count it is measured at (at most).
LANDSCAPE_STARTS = 1000
LANDSCAPE_MAX_QUBITS = 12


def common_sizes(frame: pd.DataFrame) -> list[float]:
    """The qubit counts at which every method of ``frame`` has rows."""
    sets = [set(g["num_qubits"].astype(float)) for _, g in frame.groupby("method")]
    return sorted(set.intersection(*sets)) if sets else []


def _bootstrap_lines(g: pd.DataFrame, sizes: list[float], rng) -> np.ndarray | None:
    """(resamples, 2) of (slope, intercept) of log2 TTS medians over ``sizes`` (None when a size is missing)."""
    meds = []
    for s in sizes:
        v = np.log2(g.loc[g["num_qubits"] == s, "tts_evaluations"].to_numpy(float))
        if v.size == 0:
            return None
        meds.append(np.median(v[rng.integers(0, v.size, size=(N_RESAMPLES, v.size))], axis=1))
    meds = np.column_stack(meds)
    x = np.asarray(sizes)
    xc = x - x.mean()
    with np.errstate(invalid="ignore"):
        slope = (meds - meds.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
        intercept = meds.mean(axis=1) - slope * x.mean()
    return np.column_stack([slope, intercept])


def crossing(quantum: pd.DataFrame, classical: pd.DataFrame, sizes: list[float], seed: int = 0) -> dict:
    """Over bootstrap resamples of both lines (module docstring): ``flatter`` the fraction in which the quantum
    exponent is the smaller, ``below`` the fraction in which the quantum line is below the classical one at the
    largest size, and n* (median, interval) over the resamples that cross ahead (flatter, n* beyond the largest
    size and below ``MAX_CROSSING``), ``ahead`` their fraction."""
    rng = np.random.default_rng(seed)
    q, c = _bootstrap_lines(quantum, sizes, rng), _bootstrap_lines(classical, sizes, rng)
    nan = {"n": math.nan, "lo": math.nan, "hi": math.nan, "ahead": math.nan, "flatter": math.nan, "below": math.nan}
    if q is None or c is None:
        return nan
    top = max(sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = (q[:, 1] - c[:, 1]) / (c[:, 0] - q[:, 0])
        below = (q[:, 1] + q[:, 0] * top) < (c[:, 1] + c[:, 0] * top)
    flatter = q[:, 0] < c[:, 0]
    ok = flatter & np.isfinite(n) & (n > top) & (n < MAX_CROSSING)
    out = {**nan, "ahead": float(ok.mean()), "flatter": float(flatter.mean()), "below": float(below.mean())}
    if ok.any():
        tail = (1.0 - CONFIDENCE) / 2.0
        lo, hi = np.quantile(n[ok], [tail, 1.0 - tail])
        out |= {"n": float(np.median(n[ok])), "lo": float(lo), "hi": float(hi)}
    return out


def _fraction(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


def _fit(g: pd.DataFrame, sizes: list[float]) -> dict:
    sub = g[g["num_qubits"].isin(sizes)]
    return fit_exponent(sub["num_qubits"], sub["tts_evaluations"])


def _interval(fit: dict) -> str:
    return format_interval(fit["exponent"], fit["lo"], fit["hi"], ".3f")


def _is_quantum(method: str) -> bool:
    return method.startswith("qaoa")


def exponent_rows(frame: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """(exponent rows, crossing rows) of every encoding and box round (module docstring)."""
    rows, crossings = [], []
    order = {e: i for i, e in enumerate(ENCODINGS)}
    for (_, enc, box), e in frame.assign(_order=frame["encoding"].map(order)).groupby(
            ["_order", "encoding", "box_round"], sort=True):
        sizes = common_sizes(e)
        if len(sizes) < 2:
            continue
        fits = {}
        for method, g in e.groupby("method", sort=True):
            fits[method] = _fit(g, sizes)
            rows.append(_exponent_row(enc, box, method, g, sizes, fits[method]))
        crossings += _crossing_rows(enc, box, e, sizes, fits)
    return rows, crossings


def _exponent_row(enc: str, box: float, method: str, g: pd.DataFrame, sizes: list, fit: dict) -> dict:
    """One method's exponent row: its fit on the common sizes and on their low and high halves."""
    half = len(sizes) // 2
    training = pd.to_numeric(g["training_samples"], errors="coerce").median()
    return {
        "encoding": enc, "box round": f"{box:g}", "method": method,
        "c on n = " + f"{sizes[0]:g}-{sizes[-1]:g} [95% CI]": _interval(fit),
        "c low half": _interval(_fit(g, sizes[: half + 1])), "c high half": _interval(_fit(g, sizes[half:])),
        "left out (TTS infinite)": ", ".join(f"{s:g}" for s in fit["left_out"]) or "-",
        "training evaluations (median)": f"{training:.3g}",
    }


def _crossing_rows(enc: str, box: float, e: pd.DataFrame, sizes: list, fits: dict) -> list[dict]:
    """Each QAOA method against the classical method of smallest exponent fitted on every common size (none: [])."""
    classical = {m: f for m, f in fits.items() if not _is_quantum(m) and np.isfinite(f["exponent"])
                 and len(f["sizes"]) == len(sizes)}
    if not classical:
        return []
    best = min(classical, key=lambda m: classical[m]["exponent"])
    top = e[(e["num_qubits"] == sizes[-1]) & ~e["method"].map(_is_quantum)]
    meds = top.groupby("method")["tts_evaluations"].median()
    lowest = f"{meds.idxmin()} ({meds.min():.3g})" if len(meds) else "-"
    out = []
    for method in (m for m in fits if _is_quantum(m)):
        cr = crossing(e[e["method"] == method], e[e["method"] == best], sizes)
        q_med = e.loc[(e["method"] == method) & (e["num_qubits"] == sizes[-1]), "tts_evaluations"].median()
        c_med = e.loc[(e["method"] == best) & (e["num_qubits"] == sizes[-1]), "tts_evaluations"].median()
        out.append({
            "encoding": enc, "box round": f"{box:g}", "QAOA": method, "best classical (smallest c)": best,
            "c QAOA": _interval(fits[method]), "c classical": _interval(fits[best]),
            "TTS QAOA / classical at the largest n (medians)": f"{q_med:.3g} / {c_med:.3g} (n = {sizes[-1]:g})",
            "lowest classical TTS there": lowest,
            "P(c QAOA < c classical)": _fraction(cr["flatter"]),
            "P(QAOA line below at the largest n)": _fraction(cr["below"]),
            "crossing ahead: fraction, n* median [95% CI]": f"{_fraction(cr['ahead'])}, "
            + format_interval(cr["n"], cr["lo"], cr["hi"], ".0f"),
        })
    return out


def _with_header(rows: list[dict]) -> list[dict]:
    """Rows of different common ranges share one table: the range goes into its own column."""
    out = []
    for r in rows:
        key = next(k for k in r if k.startswith("c on n = "))
        out.append({"encoding": r["encoding"], "box round": r["box round"], "method": r["method"],
                    "n range": key[len("c on n = "):-len(" [95% CI]")], "c [95% CI]": r[key],
                    **{k: v for k, v in r.items() if k not in ("encoding", "box round", "method", key)}})
    return out


def landscape_rows(frame: pd.DataFrame) -> list[dict]:
    """``encoding_table`` per encoding on the study's covariances at the largest common asset count whose problem
    has at most ``LANDSCAPE_MAX_QUBITS`` qubits in every encoding: medians over the covariances."""
    inst = frame["instance"].map(json.loads)
    seeds = sorted({int(i["covariance_seed"]) for i in inst})
    counts = sorted({int(i["n"]) for i in inst})
    fits = [n for n in counts if all(n * (2 if e in ("binary", "gray") else 3) <= LANDSCAPE_MAX_QUBITS
                                     for e in ENCODINGS)]
    if not fits or set(frame["encoding"]) - set(ENCODINGS):
        return []
    n_assets = fits[-1]
    bits = int(pd.to_numeric(frame["opt.bits"], errors="coerce").dropna().iloc[0]) if "opt.bits" in frame else 2
    rows = []
    for enc in [e for e in ENCODINGS if e in set(frame["encoding"])]:
        tab = pd.DataFrame([encoding_table(discretize(np.asarray(factor_covariance(n_assets, n_factors=3, seed=s)),
                                                      bits, encoding=enc), starts=LANDSCAPE_STARTS, seed=s)
                            for s in seeds])
        rows.append({"encoding": enc, "N": n_assets, "qubits per asset": int(tab["qubits_per_asset"].iloc[0]),
                     "n": int(tab["num_qubits"].iloc[0]),
                     "single-flip local minima (median, range)":
                         f"{tab['local_minima'].median():g} ({tab['local_minima'].min()}-{tab['local_minima'].max()})",
                     "not ground states": f"{tab['nonground_local_minima'].median():g}",
                     "ground degeneracy (median)": f"{tab['ground_degeneracy'].median():g}",
                     "steepest descent reaches ground (median)": f"{tab['descent_success'].median():.2f}"})
    return rows


def encoding_sections(frame: pd.DataFrame) -> list[str]:
    """Markdown lines of the encoding sections (module docstring); the frame has ``method``, ``encoding``,
    ``tts_evaluations`` and the ground-state row columns."""
    frame = frame.copy()
    frame["tts_evaluations"] = pd.to_numeric(frame["tts_evaluations"], errors="coerce")
    frame = frame[frame["tts_evaluations"].notna()]
    rows, crossings = exponent_rows(frame)
    lines = [
        "## Per encoding: exponents in energy evaluations, TTS ~ 2^(a + c n)",
        "",
        "Unit: energy evaluations of the cost function (one per SA Metropolis proposal, greedy / tabu flip "
        "evaluated, random string, QAOA shot; a QAOA optimizer's evaluations x shots as training). Fitted on the "
        "qubit counts every method of the encoding ran at (its common n-range), and on the lower and upper halves "
        "of it (fit-range sensitivity); bootstrap 95% intervals over covariances. QAOA angles are fixed (a "
        "shipped table per encoding and p) or the linear ramp with p = n (calibrated slopes): 0 evaluations on the "
        "instance, so training is 0; the tables' one-off calibration on training covariances (seeds 2000-2007) is "
        "a constant outside these numbers.",
        "",
        markdown_table(pd.DataFrame(_with_header(rows))) if rows else "(no encoding with two common sizes)",
        "",
        "## Where QAOA's line would cross the best classical line",
        "",
        "Lines log2 TTS = a + c n fitted on the common n-range, over bootstrap resamples of both: the fraction "
        "of resamples in which QAOA's exponent is the smaller, the fraction in which QAOA's line is already below at "
        "the largest n, and the fraction with a crossing ahead, n* = (a_QAOA - a_classical) / (c_classical - "
        "c_QAOA) beyond the largest n (its median and interval over those resamples). An extrapolation, not a "
        "measurement; a QAOA shot counts one evaluation, whatever its circuit depth (p = n for the ramp).",
        "",
        markdown_table(pd.DataFrame(crossings)) if crossings else "(no QAOA rows)",
        "",
    ]
    land = landscape_rows(frame)
    if land:
        lines += ["## Landscape per encoding (same grid, 2^bits levels per asset)", "",
                  f"`qrp.discrete.encodings.encoding_table` on the study's covariances ({LANDSCAPE_STARTS} steepest "
                  "descents from uniform random strings per covariance); every string is enumerated.", "",
                  markdown_table(pd.DataFrame(land)), ""]
    return lines


__all__ = ["common_sizes", "crossing", "encoding_sections", "exponent_rows", "landscape_rows"]
