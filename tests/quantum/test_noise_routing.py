"""What is simulated is what is recorded, over every combination of (noise_method, backend, sampler, shots, engine).

``noise_method="white"`` is the global white-noise model of a backend's calibration on the exact state, exact or
sampled from that distribution (docs/guide/qaoa.md); the backend is only transpiled for. Before, "auto" with
``shots`` ran the backend's sampler with its full noise model (or, with ``noise=BackendV2``, Aer without noise)
while ``stats["white_noise"]`` and ``device_seconds`` recorded the white-noise budget. Every combination is listed
here with what it runs; the refused ones with the error they give.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from qiskit.primitives import StatevectorSampler
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

import qrp
from qrp.data.synthetic import random_covariance
from qrp.quantum import statevector as sv
from qrp.quantum.qaoa import QAOA
from qrp.quantum.simulators import AerCircuitSimulator, StateVectorSimulator, white_probabilities

BACKEND = FakeManilaV2()
NOISE = {"p1": 0.01, "p2": 0.05, "readout": 0.02}
ANGLES = np.array([0.7, -0.4])
SHOTS = 64

# errors (regexes of the ValueError)
NEEDS_SHOTS = "pass shots"
STATE_ONLY = "noiseless \\(or white-noise\\) exact mode"
WHITE_NOT_AER = "noise_method='white' is simulated on the state vector \\(engine='auto'"
WHITE_NOT_SAMPLER = "noise_method='white' is simulated on the state vector, never on a sampler"
NO_BACKEND = "takes its errors from a backend"
ONE_SOURCE = "both set the noise"

# (noise_method, backend, sampler, shots) -> {engine: (engine that runs, noise simulated) or an error}; noise:
# "none" (noiseless), "white" (the white-noise model on the state), "backend" (the backend's own run: for a fake
# backend its full noise model), "sampler" (the sampler's own run). fast_poly and cuda are checked as "fast" is.
TABLE = {
    ("aer", False, False, False): {"auto": ("fast", "none"), "fast": ("fast", "none"), "aer": ("aer", "none")},
    ("aer", False, False, True): {"auto": ("aer", "none"), "fast": STATE_ONLY, "aer": ("aer", "none")},
    ("aer", False, True, False): dict.fromkeys(("auto", "fast", "aer"), NEEDS_SHOTS),
    ("aer", False, True, True): {"auto": ("aer", "sampler"), "fast": STATE_ONLY, "aer": ("aer", "sampler")},
    ("aer", True, False, False): dict.fromkeys(("auto", "fast", "aer"), NEEDS_SHOTS),
    ("aer", True, False, True): {"auto": ("aer", "backend"), "fast": STATE_ONLY, "aer": ("aer", "backend")},
    ("aer", True, True, False): dict.fromkeys(("auto", "fast", "aer"), NEEDS_SHOTS),
    ("aer", True, True, True): {"auto": ("aer", "sampler"), "fast": STATE_ONLY, "aer": ("aer", "sampler")},
    **{("white", False, s, k): dict.fromkeys(("auto", "fast", "aer"), NO_BACKEND)
       for s in (False, True) for k in (False, True)},
    # aer: was Aer's noiseless estimator for the objective, the backend's full model for the readout
    ("white", True, False, False): {"auto": ("fast", "white"), "fast": ("fast", "white"), "aer": WHITE_NOT_AER},
    # auto, aer: were the backend's full noise model (the defect)
    ("white", True, False, True): {"auto": ("fast", "white"), "fast": ("fast", "white"), "aer": WHITE_NOT_AER},
    ("white", True, True, False): dict.fromkeys(("auto", "fast", "aer"), NEEDS_SHOTS),
    # auto: was the sampler's own run
    ("white", True, True, True): {"auto": WHITE_NOT_SAMPLER, "fast": WHITE_NOT_SAMPLER, "aer": WHITE_NOT_AER},
}
CASES = [(*key, engine, want) for key, row in TABLE.items() for engine, want in row.items()]


def problem(n: int = 3, seed: int = 5) -> tuple[SparsePauliOp, float]:
    rng = np.random.default_rng(seed)
    terms = [("Z", [i], rng.normal()) for i in range(n)]
    terms += [("ZZ", [i, j], rng.normal()) for i in range(n) for j in range(i + 1, n)]
    return SparsePauliOp.from_sparse_list(terms, n), float(rng.normal())


def simulated(q: QAOA) -> str:
    """The noise the engine actually runs, read off its simulator (not off what it records)."""
    sim = q.simulator
    if isinstance(sim, StateVectorSimulator):
        return "none" if sim.white is None else "white"
    assert isinstance(sim, AerCircuitSimulator)
    runner = sim.circuits.runner
    if runner.kind != "aer":
        return runner.kind
    return "none" if runner.sampler._backend.options.noise_model is None else "model"


def recorded(q: QAOA, stats: dict) -> str:
    """The noise the result records: the white-noise budget, or the runner of the circuit engine, and
    ``stats["noise_model"]`` (which noise model ran: "aer" was the runner with and without one)."""
    model = stats["noise_model"]
    assert model == {"backend": BACKEND.name}.get(model, model)  # JSON: a backend by its name
    if "white_noise" in stats:
        assert model == "white"
        return "white"
    runner = {None: "none", "aer": "none", "backend": "backend", "sampler": "sampler"}[stats.get("runner")]
    assert model == (BACKEND.name if runner == "backend" else runner)
    return runner


def options(noise_method, backend, sampler, shots, engine) -> dict:
    return {"noise_method": noise_method, "backend": BACKEND if backend else None,
            "sampler": StatevectorSampler(seed=1) if sampler else None, "shots": SHOTS if shots else None,
            "engine": engine}


@pytest.mark.parametrize(("noise_method", "backend", "sampler", "shots", "engine", "want"), CASES)
def test_the_noise_simulated_is_the_noise_recorded(noise_method, backend, sampler, shots, engine, want):
    op, offset = problem()
    kw = options(noise_method, backend, sampler, shots, engine)
    if isinstance(want, str):
        with pytest.raises(ValueError, match=want):
            QAOA(op, offset, reps=1, seed=3, **kw)
        return
    q = QAOA(op, offset, reps=1, seed=3, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the first-job timing warning of a slow sampler
        stats = q.fixed(ANGLES, readout_shots=32).stats
    assert (q.engine, simulated(q)) == want
    assert recorded(q, stats) == want[1]
    assert (q.white is not None) == (want[1] == "white")


@pytest.mark.parametrize("shots", [None, SHOTS])
def test_white_noise_from_a_noise_backend_runs_on_the_state(shots):
    """noise=BackendV2 with noise_method="white": with shots, "auto" ran Aer without any noise before."""
    op, offset = problem()
    q = QAOA(op, offset, reps=1, seed=3, shots=shots, noise=BACKEND, noise_method="white")
    assert (q.engine, simulated(q), q.white is not None) == ("fast", "white", True)
    assert "white_noise" in q.fixed(ANGLES, readout_shots=32).stats


@pytest.mark.parametrize(("kw", "want", "model"), [
    ({"noise": NOISE}, ("aer", "model"), NOISE),
    ({"noise": BACKEND}, ("aer", "model"), BACKEND.name),
    ({"noise": "NoiseModel"}, ("aer", "model"), "NoiseModel"),
])
def test_a_noise_model_runs_on_aer_and_is_recorded(kw, want, model):
    """stats["runner"] is "aer" with or without a noise model: stats["noise_model"] says which ran (JSON)."""
    import json

    from qiskit_aer.noise import NoiseModel

    if kw["noise"] == "NoiseModel":
        kw = {"noise": NoiseModel.from_backend(BACKEND)}
    op, offset = problem()
    q = QAOA(op, offset, reps=1, seed=3, shots=SHOTS, **kw)
    assert (q.engine, simulated(q)) == want and q.white is None
    stats = q.fixed(ANGLES, readout_shots=32).stats
    assert "white_noise" not in stats and stats["runner"] == "aer"
    assert stats["noise_model"] == model and json.loads(json.dumps(stats["noise_model"])) == model


@pytest.mark.parametrize(("engine", "shots"), [("auto", None), ("fast", None), ("aer", None), ("auto", SHOTS),
                                               ("aer", SHOTS)])
def test_noise_method_aer_without_a_backend_or_noise_model_is_noiseless_and_recorded(engine, shots):
    """noise_method="aer" is the default: it says how a backend's noise runs, and with neither backend= nor noise=
    the run is noiseless (committed studies pass it so, e.g. experiments/noise_fake_backend.toml). Not refused;
    the result records it (stats["noise_model"] = "none"; before, nothing told it from a noise model's run)."""
    op, offset = problem()
    q = QAOA(op, offset, reps=1, seed=3, shots=shots, engine=engine, noise_method="aer")
    assert simulated(q) == "none" and q.device_timing is None
    assert q.fixed(ANGLES, readout_shots=32).stats["noise_model"] == "none"


@pytest.mark.parametrize(("kw", "match"), [
    ({"noise": NOISE, "backend": BACKEND}, ONE_SOURCE),  # was: the backend's full model, the dict dropped
    ({"noise": NOISE, "sampler": StatevectorSampler(seed=1)}, ONE_SOURCE),  # was: the sampler, the dict dropped
    ({"noise": BACKEND, "backend": FakeManilaV2(), "noise_method": "white"}, ONE_SOURCE),
    ({"backend": BACKEND, "noise_method": "white", "method": "matrix_product_state"}, "Aer's options"),
    ({"backend": BACKEND, "noise_method": "white", "device": "GPU"}, "Aer's options"),
    # were: the backend's (or sampler's) own simulator with its default method, Aer's options dropped
    ({"backend": BACKEND, "method": "matrix_product_state"}, "options of Aer's own run"),
    ({"sampler": StatevectorSampler(seed=1), "method": "matrix_product_state", "bond_dimension": 4},
     "options of Aer's own run"),
])
def test_combinations_that_dropped_a_noise_or_an_option_are_refused(kw, match):
    op, offset = problem()
    with pytest.raises(ValueError, match=match):
        QAOA(op, offset, reps=1, seed=3, shots=SHOTS, **kw)


def test_aer_options_apply_to_a_noise_backends_model():
    """noise=BackendV2 with Aer's method options: Aer.from_backend ran with its default method before."""
    op, offset = problem()
    q = QAOA(op, offset, reps=1, seed=3, shots=SHOTS, noise=BACKEND, method="matrix_product_state",
             bond_dimension=2)
    aer = q.simulator.circuits.runner.sampler._backend
    assert aer.options.method == "matrix_product_state"
    assert aer.options.matrix_product_state_max_bond_dimension == 2 and aer.options.noise_model is not None
    states, counts = q.sample(ANGLES, SHOTS)
    assert counts.sum() == SHOTS and np.all(states < 8)


def test_white_noise_with_shots_samples_the_white_noise_distribution():
    """The samples are draws from F p + (1 - F) / 2^n with readout flips (the state engine's own rng), and the
    sampled objective is their mean energy."""
    op, offset = problem()
    q = QAOA(op, offset, reps=1, seed=11, shots=SHOTS, backend=BACKEND, noise_method="white")
    probs = white_probabilities(sv.probabilities(q.state(ANGLES)), q.white)
    assert not np.allclose(probs, sv.probabilities(q.state(ANGLES)), atol=1e-3)
    counts = np.random.default_rng(11).multinomial(SHOTS, probs)
    states, got = q.sample(ANGLES, SHOTS)
    np.testing.assert_array_equal(states, np.flatnonzero(counts))
    np.testing.assert_array_equal(got, counts[counts > 0])


def test_the_white_noise_budget_is_of_the_circuit_the_given_pass_manager_transpiles():
    """pass_manager= was dropped by the white-noise model: its budget (fidelity, depth, device time) came from the
    preset pass manager at optimization_level whatever pass manager was given."""
    from qiskit.transpiler import generate_preset_pass_manager

    from qrp.quantum.circuits import qaoa_circuit

    op, offset = problem(4, 5)
    pm = generate_preset_pass_manager(optimization_level=0, backend=BACKEND, seed_transpiler=1)
    q = QAOA(op, offset, reps=1, backend=BACKEND, noise_method="white", pass_manager=pm)
    preset = QAOA(op, offset, reps=1, backend=BACKEND, noise_method="white").white
    qc = qaoa_circuit(q.normalized, 1)[0]
    qc.measure_all()
    transpiled = pm.run(qc)
    assert q.white["depth"] == transpiled.depth() != preset["depth"]
    assert q.white["two_qubit_gates"] == transpiled.count_ops().get("cx", 0) != preset["two_qubit_gates"]
    assert q.white["fidelity"] != preset["fidelity"]


def test_the_solver_with_white_noise_and_shots_records_what_it_ran():
    res = qrp.risk_parity(random_covariance(2, 50), solver="qaoa", bits=2, reps=1, shots=128, max_evals=5,
                          rounds=1, seed=4, backend=BACKEND, noise_method="white", resources=False)
    s = res.history[0].stats
    assert s["engine"] == "fast" and "runner" not in s
    assert 0.0 < s["white_noise"]["fidelity"] < 1.0 and s["device_seconds"] > 0


@pytest.mark.parametrize("kw", [{"backend": BACKEND}, {"noise": BACKEND},
                                {"backend": BACKEND, "sampler": StatevectorSampler(seed=1)}])
def test_the_backends_own_noise_gets_the_device_time_of_the_white_noise_model(kw):
    """device_seconds was recorded only for white noise: the time model (depth of the transpiled circuit, the
    backend's durations) is the same for the circuit the backend's own noise runs, and gives the same inputs."""
    from qrp.quantum.device_model import backend_timings

    op, offset = problem()
    white = QAOA(op, offset, reps=1, seed=3, backend=BACKEND, noise_method="white").device_timing
    q = QAOA(op, offset, reps=1, seed=3, shots=SHOTS, **kw)
    assert q.device_timing == {"depth": q.simulator.circuits.runner.depth(), "timings": backend_timings(BACKEND)}
    assert (q.device_timing["depth"], q.device_timing["timings"]) == (white["depth"], white["timings"])


def test_the_solver_records_device_seconds_for_the_backends_own_noise():
    from qrp.quantum.device_model import circuit_seconds

    res = qrp.risk_parity(random_covariance(2, 50), solver="qaoa", bits=2, reps=1, shots=128, max_evals=5,
                          rounds=1, seed=4, backend=BACKEND, resources=False, readout_shots=64)
    s = res.history[0].stats
    assert s["engine"] == "aer" and s["runner"] == "backend" and s["noise_model"] == BACKEND.name
    t = QAOA(*problem(), reps=1, shots=SHOTS, backend=BACKEND).device_timing["timings"]
    want = (s["evaluations"] * circuit_seconds(s["transpiled_depth"], 128, t)
            + circuit_seconds(s["transpiled_depth"], 64, t))
    assert s["device_seconds"] == pytest.approx(want, rel=1e-12)
    noiseless = qrp.risk_parity(random_covariance(2, 50), solver="qaoa", bits=2, reps=1, shots=128, max_evals=5,
                                rounds=1, seed=4, resources=False, readout_shots=64).history[0].stats
    assert "device_seconds" not in noiseless and noiseless["noise_model"] == "none"


def test_the_white_noise_budget_cache_never_matches_another_backend_of_a_recycled_id(monkeypatch):
    """The cache was keyed by id(backend) and its name: a backend made after another was collected may get its id,
    and two GenericBackendV2 of other seeds share a name and not their errors. Every id made the same here."""
    from qiskit.providers.fake_provider import GenericBackendV2

    from qrp.quantum import primitives

    monkeypatch.setattr(primitives, "id", lambda obj: 1, raising=False)
    op, offset = problem()
    a, b = GenericBackendV2(4, seed=1), GenericBackendV2(4, seed=2)
    assert a.name == b.name
    fa = QAOA(op, offset, reps=1, backend=a, noise_method="white").white["fidelity"]
    fb = QAOA(op, offset, reps=1, backend=b, noise_method="white").white["fidelity"]
    expected = [primitives._white_noise_budget(QAOA(op, offset, reps=1).normalized, 1, None, x, 1, None,
                                               None)["fidelity"] for x in (a, b)]
    assert [fa, fb] == expected and fa != fb
    assert QAOA(op, offset, reps=1, backend=a, noise_method="white").white["fidelity"] == fa


# Seeded results of combinations that were already right, from before this change (commit 6a33c6e): QAOA.optimize
# with max_evals=6, readout_shots=64, seed=7 on problem(3, 5), p = 1 -> (engine, value, expectation).
GOLDEN = {
    "white_exact": ({"backend": BACKEND, "noise_method": "white"},
                    ("fast", -1.955892671760533, -1.9558926717605334)),
    "white_shots_fast": ({"backend": BACKEND, "noise_method": "white", "shots": 128, "engine": "fast"},
                         ("fast", -2.038677182090135, -2.1210846733153703)),
    "backend_shots": ({"backend": BACKEND, "shots": 128}, ("aer", -1.8920867992841413, -1.652923298113369)),
    "noise_dict_shots": ({"noise": NOISE, "shots": 128},
                         ("aer", -1.8332775727414075, -1.96258132245816)),
    "sampler_backend_shots": ({"sampler": StatevectorSampler(seed=1), "backend": BACKEND, "shots": 128},
                              ("aer", -2.3858940444573755, -2.1897452731213507)),
    "noiseless_shots": ({"shots": 128}, ("aer", -2.242522780120094, -2.2661766273869945)),
    # the new meaning of white noise + shots under "auto": what engine="fast" gave (and gives)
    "white_shots_auto": ({"backend": BACKEND, "noise_method": "white", "shots": 128},
                         ("fast", -2.038677182090135, -2.1210846733153703)),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_seeded_results_of_combinations_that_were_right_are_unchanged(name):
    kw, want = GOLDEN[name]
    op, offset = problem()
    q = QAOA(op, offset, reps=1, seed=7, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = q.optimize(max_evals=6, readout_shots=64)
    assert (q.engine, r.value, r.expectation) == want
