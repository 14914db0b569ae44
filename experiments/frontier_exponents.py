"""Exponents on common n-ranges and the extrapolated QAOA/classical crossing of a ground-state study.

Reads the study's rows (``qrp.studies.table.read_table(DIR)``: the classical samplers) and the fixed-angle QAOA
rows of ``experiments/qaoa_fixed_angles.py`` (``QAOA_DIR/rows.jsonl``), on the same instances (checked: the uniform
probability g / 2^n of every QAOA row equals the study's for that instance and n). Writes ``OUT/frontier.md`` and
``OUT/frontier.png``.

Resources in one unit: oracle evaluations (cost-function evaluations; issue 19's unit): TTS_eval = TTS(99%) in
samples x the median evaluations per sample of that method at that n (SA: sweeps x n flip proposals per read;
greedy: its descent's evaluations per start; tabu: moves per read; random and a QAOA shot: 1). "Best classical" is,
per instance and n, the smallest TTS_eval among the classical methods. Per method and range, log2 median TTS_eval =
a + c n is fitted by least squares over the sizes with at least ``MIN_INSTANCES`` instances
(``qrp.studies.statistics.fit_exponent``: bootstrap 95% interval resampling instances within each size).

Crossing: where QAOA's fitted line meets a classical method's, n* = (a_q - a_k) / (c_k - c_q), from paired
bootstrap draws of both fits on their common sizes. A draw counts as crossing when n* lies beyond the largest fitted
n and the method ahead there has the larger slope; otherwise n* = inf ("never"). Reported: median [2.5%, 97.5%] of
n*, the fraction of draws in which QAOA is cheaper at the largest n, and the slope difference. So n* is where QAOA's
lead ends (QAOA ahead and steeper) or where it would begin (QAOA behind and flatter).

Usage: python experiments/frontier_exponents.py results/scaling_frontier --qaoa results/scaling_frontier_qaoa
       [--ranges 14-24 14-18 18-24] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write
from qrp.studies.render import markdown_table, save_figure
from qrp.studies.statistics import fit_exponent, format_interval, median_interval

RESAMPLES = 2000
#: fewer instances than this at a size (a run still under way): that size is shown but not fitted.
MIN_INSTANCES = 5
EXTRAPOLATE = 40
UNIFORM = "uniform (exact g/2^n)"
BEST = "best classical (min per instance)"


def _label(row) -> str:
    opts = json.loads(row["options"]) if isinstance(row.get("options"), str) else {}
    if row["solver"] == "qaoa":
        angles = opts.get("angles", "optimized")
        return f"qaoa {angles} " + ("p=n" if angles == "ramp" else f"p={opts.get('reps', 2)}")
    extra = {"sa": "num_reads", "greedy": "starts", "tabu": "num_reads", "random": "shots"}.get(row["solver"])
    return f"{row['solver']}" + (f" {extra}={opts[extra]}" if extra in opts else "")


def load(study_dir: Path, qaoa_dir: Path | None) -> pd.DataFrame:
    """Rows of every method with ``method``, ``num_qubits``, ``instance``, ``tts`` (samples), ``evals_per_sample``."""
    from qrp.studies.table import read_table

    t = read_table(study_dir)
    t = t[t["status"] == "ok"].copy()
    t["method"] = t.apply(_label, axis=1)
    if pd.to_numeric(t["bits"]).nunique() > 1:  # one line per encoding resolution
        t["method"] = t["method"] + ", " + pd.to_numeric(t["bits"]).astype(int).astype(str) + " bits"
    t["evals_per_sample"] = pd.to_numeric(t["oracle_evaluations"]) / pd.to_numeric(t["samples"])
    t["tts"] = pd.to_numeric(t["tts_shots"])  # classical samplers: no training
    frames = [t[["method", "num_qubits", "instance", "tts", "evals_per_sample", "ground_state_probability",
                 "found", "uniform_probability", "elapsed"]]]
    uni = t.drop_duplicates(["instance", "num_qubits"])
    frames.append(pd.DataFrame({"method": UNIFORM, "num_qubits": uni["num_qubits"], "instance": uni["instance"],
                                "tts": pd.to_numeric(uni["uniform_tts"]), "evals_per_sample": 1.0,
                                "ground_state_probability": uni["uniform_probability"], "found": np.nan,
                                "uniform_probability": uni["uniform_probability"], "elapsed": np.nan}))
    if qaoa_dir is not None:
        q = pd.read_json(qaoa_dir / "rows.jsonl", lines=True)
        q["tts"] = pd.to_numeric(q["tts"].replace("inf", np.inf))
        q["evals_per_sample"] = 1.0
        q["method"] = ("qaoa transfer-once p=" + q["reps"].astype(str)
                       + np.where(q["noise"] == "noiseless", "", " " + q["noise"]))
        ref = uni.set_index(["instance", "num_qubits"])["uniform_probability"]
        both = q.join(ref.rename("study_uniform"), on=["instance", "num_qubits"])
        bad = both["study_uniform"].notna() & ~np.isclose(both["study_uniform"], both["uniform_probability"],
                                                          rtol=1e-12, atol=0)
        if bad.any():
            raise ValueError(f"{int(bad.sum())} QAOA rows disagree with the study on the ground-state degeneracy")
        frames.append(q[frames[0].columns])
    out = pd.concat(frames, ignore_index=True)
    out["num_qubits"] = out["num_qubits"].astype(int)
    per = out.groupby(["method", "num_qubits"])["evals_per_sample"].transform("median")
    out["tts_eval"] = out["tts"].astype(float) * per
    classical = out[~out["method"].str.startswith("qaoa") & (out["method"] != UNIFORM)]
    classical = classical.assign(bits=classical["method"].str.extract(r", (\d) bits$", expand=False).fillna(""))
    keys = ["instance", "num_qubits", "bits"]
    best = classical.groupby(keys, as_index=False)["tts_eval"].min()
    count = classical.groupby(keys)["method"].nunique().to_numpy()
    best = best[count == count.max()]  # only where every classical method ran
    best["method"] = BEST + best["bits"].map(lambda b: f", {b} bits" if b else "")
    best = best.assign(tts=best["tts_eval"], evals_per_sample=1.0, ground_state_probability=np.nan,
                       found=np.nan, uniform_probability=np.nan, elapsed=np.nan)
    return pd.concat([out, best[out.columns]], ignore_index=True)


def _eval_tts(g: pd.DataFrame) -> np.ndarray:
    """TTS in oracle evaluations: samples x the method's median evaluations per sample at this n."""
    return g["tts_eval"].to_numpy(float)


def _boot_fit(g: pd.DataFrame, sizes: list[int], rng) -> np.ndarray:
    """(RESAMPLES, 2) bootstrap (slope, intercept) of log2 median TTS_eval on ``sizes`` (inf where a median is)."""
    meds = []
    for s in sizes:
        v = np.log2(_eval_tts(g[g["num_qubits"] == s]))
        meds.append(np.median(v[rng.integers(0, v.size, size=(RESAMPLES, v.size))], axis=1))
    meds = np.column_stack(meds)
    x = np.asarray(sizes, float)
    xc = x - x.mean()
    out = np.full((RESAMPLES, 2), np.inf)
    ok = np.all(np.isfinite(meds), axis=1)
    slope = (meds[ok] - meds[ok].mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    out[ok, 0], out[ok, 1] = slope, meds[ok].mean(axis=1) - slope * x.mean()
    return out


def exponents(frame: pd.DataFrame, ranges: list[tuple[int, int]]) -> pd.DataFrame:
    rows = []
    for method, g in frame.groupby("method", sort=True):
        rec = {"method": method}
        for lo, hi in ranges:
            sub = g[(g["num_qubits"] >= lo) & (g["num_qubits"] <= hi)]
            if sub["num_qubits"].nunique() < 2:
                rec[f"c, n = {lo}-{hi}"] = "-"
                continue
            fit = fit_exponent(sub["num_qubits"], _eval_tts(sub))
            left = f" (left out {', '.join(str(int(s)) for s in fit['left_out'])})" if fit["left_out"] else ""
            rec[f"c, n = {lo}-{hi}"] = format_interval(fit["exponent"], fit["lo"], fit["hi"], ".3f") + left
        rows.append(rec)
    return pd.DataFrame(rows)


def crossings(frame: pd.DataFrame, lo: int, hi: int, horizon: int) -> pd.DataFrame:
    """QAOA against each classical method on [lo, hi]: n* median [95%], fraction of draws crossing."""
    sub = frame[(frame["num_qubits"] >= lo) & (frame["num_qubits"] <= hi)]
    qaoa = sorted(m for m in sub["method"].unique() if m.startswith("qaoa"))
    classical = sorted(m for m in sub["method"].unique() if not m.startswith("qaoa"))
    rows = []
    for q in qaoa:
        gq = sub[sub["method"] == q]
        for k in classical:
            if k.endswith(" bits") and q[-7:] != k[-7:]:
                continue  # compare like with like: the same bits per asset
            gk = sub[sub["method"] == k]
            sizes = sorted(set(gq["num_qubits"]) & set(gk["num_qubits"]))
            if len(sizes) < 2:
                continue
            bq = _boot_fit(gq, sizes, np.random.default_rng(0))
            bk = _boot_fit(gk, sizes, np.random.default_rng(1))
            with np.errstate(divide="ignore", invalid="ignore"):
                n_star = (bq[:, 1] - bk[:, 1]) / (bk[:, 0] - bq[:, 0])
            valid = np.isfinite(bq[:, 0]) & np.isfinite(bk[:, 0])
            top = sizes[-1]
            ahead = valid & (bq[:, 1] + bq[:, 0] * top < bk[:, 1] + bk[:, 0] * top)  # QAOA cheaper at n = top
            # beyond the data, the lines meet where the one ahead at hi has the larger slope
            meets = valid & np.isfinite(n_star) & (n_star > top) & (ahead == (bq[:, 0] > bk[:, 0]))
            n_all = np.where(meets, n_star, np.inf)
            med, l95, h95 = (float(np.quantile(n_all, q_)) for q_ in (0.5, 0.025, 0.975))

            def fmt(v):
                return "never" if not math.isfinite(v) else f"{v:.0f}"

            rows.append({"QAOA": q, "classical": k, "n fitted": f"{sizes[0]}-{sizes[-1]}",
                         "QAOA cheaper at the largest n (fraction of draws)": f"{ahead.mean():.2f}",
                         "slope difference c_QAOA - c_classical": format_interval(
                             float(np.median(bq[valid, 0] - bk[valid, 0])),
                             *np.quantile(bq[valid, 0] - bk[valid, 0], [0.025, 0.975]), ".3f") if valid.any() else "-",
                         "lines meet beyond the data at n* median [95%]": f"{fmt(med)} [{fmt(l95)}, {fmt(h95)}]",
                         f"n* - {horizon}": "-" if not math.isfinite(med) else f"{med - horizon:+.0f}"})
    return pd.DataFrame(rows)


def fittable(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of (method, n) groups with at least ``MIN_INSTANCES`` instances: the only ones fitted."""
    count = frame.groupby(["method", "num_qubits"])["instance"].transform("nunique")
    return frame[count >= MIN_INSTANCES]


def per_size(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (method, n), g in frame.groupby(["method", "num_qubits"], sort=True):
        p = median_interval(pd.to_numeric(g["ground_state_probability"]))
        tts = median_interval(_eval_tts(g))
        found = pd.to_numeric(g["found"], errors="coerce")
        rows.append({"method": method, "n": int(n), "instances": g["instance"].nunique(),
                     "found": "-" if found.isna().all() else f"{found.mean():.2f}",
                     "p per sample [95% CI]": format_interval(*p, ".3g"),
                     "evaluations per sample": f"{g['evals_per_sample'].median():.3g}",
                     "TTS(99%) evaluations [95% CI]": format_interval(*tts, ".3g"),
                     "time s": "-" if g["elapsed"].isna().all() else f"{g['elapsed'].median():.3g}"})
    return pd.DataFrame(rows)


def plot(frame: pd.DataFrame, lo: int, hi: int, path: Path) -> None:
    import matplotlib  # heavy: only when drawing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(13, 6))
    for i, (method, g) in enumerate(frame.groupby("method", sort=True)):
        med = g.assign(t=_eval_tts(g)).groupby("num_qubits")["t"].median()
        style = {"color": "k", "ls": "--"} if method == UNIFORM else {"marker": "o", "color": plt.cm.tab20(i % 20)}
        line, = ax.plot(med.index, med.to_numpy(), label=method, **style)
        sub = g[(g["num_qubits"] >= lo) & (g["num_qubits"] <= hi)]
        fit = fit_exponent(sub["num_qubits"], _eval_tts(sub)) if sub["num_qubits"].nunique() > 1 else None
        if fit and math.isfinite(fit["exponent"]):
            xs = np.linspace(lo, EXTRAPOLATE, 50)
            ax.plot(xs, 2.0 ** (fit["intercept"] + fit["exponent"] * xs), color=line.get_color(), lw=0.7, ls=":")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("qubits n")
    ax.set_ylabel("TTS(99%) in oracle evaluations (median over instances)")
    ax.axvline(28, color="grey", lw=0.6)
    ax.set_title(f"fits on n = {lo}-{hi} extrapolated to n = {EXTRAPOLATE} (dotted); grey line: n = 28", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save_figure(fig, path)


def main(argv=None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study_dir")
    ap.add_argument("--qaoa", default=None)
    ap.add_argument("--ranges", nargs="+", default=["14-24", "14-18", "18-24"])
    ap.add_argument("--horizon", type=int, default=28)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    ranges = [tuple(int(v) for v in r.split("-")) for r in args.ranges]
    frame = load(Path(args.study_dir), Path(args.qaoa) if args.qaoa else None)
    full, frame = frame, fittable(frame)
    out = Path(args.out or args.study_dir)
    lo, hi = ranges[0]
    md = [f"# Frontier: exponents on common ranges and the extrapolated crossing ({args.study_dir})", "",
          "Generated by `python experiments/frontier_exponents.py " + " ".join(_args(argv)) + "`. Unit: oracle "
          "(cost-function) evaluations; TTS(99%) = ln(0.01)/ln(1-p) samples x evaluations per sample. Medians over "
          "instances, bootstrap 95% intervals. QAOA: transferred angles evaluated once (no optimizer on the "
          "instance), exact state vector; its p is exact, its readout 1024 shots.", "",
          "## Exponents c of TTS ~ 2^(c n), per range", "", markdown_table(exponents(frame, ranges)), "",
          f"## Crossing of QAOA's fitted line with each classical method's (fit on n = {lo}-{hi})", "",
          markdown_table(crossings(frame, lo, hi, args.horizon)), "",
          "## Per method and n", "", markdown_table(per_size(full)), "", "![frontier](frontier.png)", ""]
    plot(frame, lo, hi, out / "frontier.png")
    text = "\n".join(md)
    atomic_write(out / "frontier.md", lambda p: p.write_text(text))
    return text


def _args(argv) -> list[str]:
    return sys.argv[1:] if argv is None else list(argv)


if __name__ == "__main__":
    print(main())
