"""Modelled device time of a ground-state study's QAOA rows (issue 19, item 3), beside the classical wall time.

A QAOA shot of the depth-p circuit on n qubits is charged the hardware time model of
``qrp.quantum.device_model.circuit_seconds``: one job of S shots takes S x (depth x t_2q + t_readout) + latency, with
``depth`` the depth of the circuit transpiled for a heavy-hex fake IBM backend (qiskit's preset pass manager,
``optimization_level`` 1, fixed ``seed_transpiler``: SWAP routing on the coupling map), t_2q and t_readout the
backend's median two-qubit-gate and measurement durations, and ``latency`` the per-job overhead
(``DEFAULT_LATENCY``, an assumed round figure). It leaves out the repetition delay between shots (~250 us on IBM
devices), so it is a lower bound on the device time of the shots themselves.

TTS(99%) in modelled device seconds = circuit_seconds(depth, TTS shots, timings, latency): the TTS(99%) shots
ln(0.01) / ln(1 - p) (training 0 for fixed and ramp angles) in one job. The classical methods' TTS is in wall
seconds of the machine that ran the study (``tts_seconds``: the call's elapsed time x the calls to reach 99%): two
different clocks, shown side by side, not one against the other's hardware.

The depths are measured once per circuit shape (encoding, n, p) by ``experiments/encodings_device_time.py`` and cached
in a JSON file (``save_depths`` / ``load_depths``): the circuit's gates depend on the Ising terms present, not on
their coefficients (those set rotation angles only), so one instance (covariance seed 0, round-0 box) stands for the
shape.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.core.provenance import atomic_write
from qrp.discrete.encodings import ENCODINGS
from qrp.quantum.device_model import DEFAULT_LATENCY, circuit_seconds
from qrp.studies.render import markdown_table, pyplot, save_figure

#: file name of the depth cache next to a study's rows.
DEPTHS_FILE = "device_time.json"
#: the figure ``device_time_section`` draws next to the cache.
FIGURE = "device_time_vs_qubits.png"
_KEYS = ("encoding", "n", "p", "depth")


def shot_seconds(depth: int, timings: dict) -> float:
    """Modelled device seconds of one shot: depth x t_2q + t_readout (``circuit_seconds`` of one shot, no
    latency)."""
    if int(depth) < 0:
        raise ValueError(f"depth must be >= 0, got {depth!r}")
    return circuit_seconds(depth, 1, timings, latency=0.0)


def save_depths(path, record: dict) -> Path:
    """Write the depth cache ``record`` (``backend``, ``timings``, ``latency``, ``command``, ``shapes``: a list of
    dicts with at least ``encoding``, ``n``, ``p``, ``depth``) atomically as JSON, shapes sorted."""
    for key in ("backend", "timings", "latency", "shapes"):
        if key not in record:
            raise ValueError(f"depth cache record lacks {key!r}")
    for shape in record["shapes"]:
        missing = [k for k in _KEYS if k not in shape]
        if missing:
            raise ValueError(f"depth cache shape {shape!r} lacks {missing}")
    out = {**record, "shapes": sorted(record["shapes"], key=lambda s: (s["encoding"], int(s["n"]), int(s["p"])))}
    return atomic_write(path, lambda p: p.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n"))


def load_depths(path) -> dict:
    """The depth cache written by ``save_depths``, with ``by_shape``: (encoding, n, p) -> shape dict."""
    record = json.loads(Path(path).read_text())
    record["by_shape"] = {(s["encoding"], int(s["n"]), int(s["p"])): s for s in record["shapes"]}
    return record


def qaoa_depth_p(frame: pd.DataFrame) -> pd.Series:
    """The QAOA depth p of each QAOA row: ``reps`` where set, else the ``reps`` its stats recorded (ramp: p = n)."""
    reps = pd.to_numeric(frame["reps"], errors="coerce")
    from_stats = frame["stats"].map(lambda s: json.loads(s).get("reps") if isinstance(s, str) else None)
    return reps.fillna(pd.to_numeric(from_stats, errors="coerce"))


def needed_shapes(frame: pd.DataFrame) -> list[tuple[str, int, int]]:
    """Sorted distinct (encoding, n, p) of the QAOA rows of ``frame`` (``solver`` == "qaoa")."""
    q = frame[frame["solver"] == "qaoa"]
    p = qaoa_depth_p(q)
    return sorted({(str(e), int(n), int(r)) for e, n, r in zip(q["encoding"], q["num_qubits"], p, strict=True)})


def device_time_medians(frame: pd.DataFrame, cache: dict) -> pd.DataFrame:
    """One row per QAOA configuration (encoding, method, box round, n) of ``frame`` (``method`` labelled), numeric:
    p, transpiled depth, two-qubit gates, F, modelled seconds per shot, median TTS(99%) shots, median modelled
    device seconds with and without the latency over the covariances, and the smallest median classical TTS in wall
    seconds at the same encoding, box round and n (``classical_s``, ``classical``: its method; NaN / "" if none)."""
    timings, latency = cache["timings"], float(cache["latency"])
    q = frame[frame["solver"] == "qaoa"].assign(_p=lambda f: qaoa_depth_p(f))
    classical = frame[frame["solver"] != "qaoa"]
    wall = (classical.assign(tts_seconds=pd.to_numeric(classical["tts_seconds"], errors="coerce"))
            .groupby(["encoding", "box_round", "num_qubits", "method"])["tts_seconds"].median())
    rows = []
    for (enc, method, box, n, p), g in q.groupby(["encoding", "method", "box_round", "num_qubits", "_p"], sort=True):
        shape = cache["by_shape"].get((str(enc), int(n), int(p)))
        if shape is None:
            raise ValueError(f"no cached depth for encoding {enc!r}, n = {n:g}, p = {p:g}; run "
                             "experiments/encodings_device_time.py")
        shots = pd.to_numeric(g["tts_shots"], errors="coerce").to_numpy(float)
        device = np.array([circuit_seconds(shape["depth"], s, timings, latency) if np.isfinite(s) else math.inf
                           for s in shots])
        best = wall.loc[(enc, box, n)] if (enc, box, n) in wall.index else pd.Series(dtype=float)
        rows.append({"encoding": enc, "box_round": box, "method": method, "n": n, "p": p,
                     "depth": int(shape["depth"]), "two_qubit_gates": int(shape.get("two_qubit_gates", -1)),
                     "fidelity": float(shape.get("fidelity", math.nan)),
                     "shot_s": shot_seconds(shape["depth"], timings), "tts_shots": float(np.median(shots)),
                     "device_s": float(np.median(device)), "device_s_no_latency": float(np.median(device - latency)),
                     "classical_s": float(best.min()) if len(best) else math.nan,
                     "classical": str(best.idxmin()) if len(best) else ""})
    return pd.DataFrame(rows)


def device_time_rows(frame: pd.DataFrame, cache: dict) -> list[dict]:
    """``device_time_medians`` formatted for the report: one dict per QAOA configuration."""
    return _formatted(device_time_medians(frame, cache))


def _formatted(medians: pd.DataFrame) -> list[dict]:
    """The rows of ``device_time_rows`` from the ``device_time_medians`` frame."""
    return [{"encoding": r.encoding, "box round": f"{r.box_round:g}", "QAOA": r.method, "n": f"{r.n:g}",
             "p": f"{r.p:g}", "depth": r.depth, "2q gates": r.two_qubit_gates,
             "F": "-" if math.isnan(r.fidelity) else f"{r.fidelity:.2g}", "us per shot": f"{1e6 * r.shot_s:.1f}",
             "TTS shots (median)": f"{r.tts_shots:.3g}", "TTS device s (modelled, median)": f"{r.device_s:.3g}",
             "without latency": f"{r.device_s_no_latency:.3g}",
             "best classical TTS wall s (median, method)":
                 "-" if math.isnan(r.classical_s) else f"{r.classical_s:.3g} ({r.classical})"}
            for r in medians.itertuples()]


def device_time_figure(medians: pd.DataFrame, path: Path, backend: str) -> None:
    """Per encoding (round-0 box): modelled QAOA TTS device seconds without latency against n per method, and the
    best classical TTS wall seconds (black), log scale."""
    plt = pyplot()  # Agg, imported on the first figure

    sub = medians[medians["box_round"] == medians["box_round"].min()]
    order = {e: i for i, e in enumerate(ENCODINGS)}
    encs = sorted(dict.fromkeys(sub["encoding"]), key=lambda e: order.get(e, len(order)))
    fig, axes = plt.subplots(1, len(encs), figsize=(4.2 * len(encs), 4), squeeze=False)
    for ax, enc in zip(axes[0], encs, strict=True):
        e = sub[sub["encoding"] == enc]
        for method, g in e.groupby("method", sort=True):
            ax.plot(g["n"], g["device_s_no_latency"], "o-", ms=3, label=f"{method} (device model)")
        c = e.drop_duplicates("n").sort_values("n")
        ax.plot(c["n"], c["classical_s"], "ks--", ms=3, label="best classical (wall s here)")
        ax.set_yscale("log")
        ax.set_xlabel("qubits n")
        ax.set_title(enc, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("TTS(99%) seconds (median): two clocks")
    axes[0][-1].legend(fontsize=6)
    fig.suptitle(f"QAOA: modelled {backend} seconds without the per-job latency; classical: wall seconds of this "
                 "machine", fontsize=9)
    save_figure(fig, path)


def device_time_section(frame: pd.DataFrame, path) -> list[str]:
    """Markdown lines of the device-time section (module docstring) from the depth cache at ``path``; none when
    the cache is missing."""
    path = Path(path)
    if not path.exists() or not (frame["solver"] == "qaoa").any():
        return []
    cache = load_depths(path)
    t = cache["timings"]
    medians = device_time_medians(frame, cache)
    rows = _formatted(medians)
    figure = path.parent / FIGURE
    device_time_figure(medians, figure, cache["backend"])
    return [
        "## QAOA in modelled device seconds, beside the classical methods' wall seconds",
        "",
        f"Two different clocks. QAOA: TTS(99%) shots in one job on {cache['backend']} (heavy-hex), modelled as shots "
        f"x (depth x t_2q + t_readout) + latency with t_2q = {t['t_2q'] * 1e9:.0f} ns ({t['two_qubit_gate']}), "
        f"t_readout = {t['t_readout'] * 1e6:.2f} us (the backend's medians) and latency = {cache['latency']:g} s "
        f"(assumed; qrp's DEFAULT_LATENCY = {DEFAULT_LATENCY:g} s); depth of the circuit transpiled once per "
        f"(encoding, n, p) (`{path.name}`, `{cache.get('command', '')}`); training 0 (fixed and ramp angles); the "
        "repetition delay between shots (~250 us on IBM devices) is left out, so it is a lower bound; 'without "
        "latency' drops the assumed per-job latency. Noiseless: p is the state vector's; on the device the white "
        "model gives F p + (1 - F) / 2^n with F = prod(1 - e_g) of the transpiled circuit (column F), so where F "
        "< ~1e-3 the output is indistinguishable from noise (benchmarks/hardware_fidelity.py) and these times are "
        "lower bounds in that sense too. Classical: TTS(99%) in wall seconds of the machine that ran the study "
        "(`tts_seconds` = a call's elapsed time x the calls to reach 99%; 2 cores shared with other jobs, load ~15 "
        "per experiments/encodings.toml), the smallest median over the classical methods.",
        "",
        markdown_table(pd.DataFrame(rows)),
        "",
        f"![{figure.stem}]({figure.name})",
        "",
    ]


__all__ = ["DEPTHS_FILE", "FIGURE", "device_time_figure", "device_time_medians", "device_time_rows",
           "device_time_section", "load_depths", "needed_shapes", "qaoa_depth_p", "save_depths", "shot_seconds"]
