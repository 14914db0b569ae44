"""qrp.core.registry: declared option tables, validation without solver work, register / unregister."""

import numpy as np
import pytest

import qrp
from qrp.core.options import Option, bool_option, check_options, choice_option, int_option, real_option
from qrp.core.registry import available_solvers, get_solver, unregister_solver
from qrp.core.result import SolverOutput


def _uniform(cov, budgets, *, tol, max_iter, seed=None, scale: float = 1.0):
    return SolverOutput(np.full(len(cov), 1.0 / len(cov)), True, 1, stats={"scale": scale})


def test_every_builtin_declares_its_options_and_validates_them():
    for name, spec in available_solvers().items():
        opts = spec.validate_options({})
        assert list(opts) == spec.option_names(), name
        assert opts == {o.name: o.default for o in spec.options}, name  # every default passes its own check
    assert get_solver("sa").defaults()["bits"] == 4 and get_solver("exact").defaults()["bits"] == 2
    assert get_solver("qaoa").defaults()["reps"] == 2


def test_validate_options_names_unknown_and_bad_values_and_fills_defaults():
    spec = get_solver("exact")
    with pytest.raises(ValueError, match=r"solver 'exact' does not take option\(s\) \['num_reads'\]; it takes"):
        spec.validate_options({"num_reads": 3})
    with pytest.raises(ValueError, match="bits must be an integer >= 1, got 0"):
        spec.validate_options({"bits": 0})
    with pytest.raises(ValueError, match="formulation must be one of"):
        spec.validate_options({"formulation": "cubic"})
    with pytest.raises(ValueError, match=r"shrink must be a finite number in \(0, 1\)"):
        spec.validate_options({"shrink": 1.0})
    opts = spec.validate_options({"bits": np.int64(3)})
    assert opts["bits"] == 3 and type(opts["bits"]) is int and opts["rounds"] is None
    with pytest.raises(ValueError, match="warm_start must be False, True"):
        get_solver("qaoa").validate_options({"warm_start": 1})


def test_option_constructors():
    assert int_option("k", 1, minimum=0).check(0) == 0
    with pytest.raises(ValueError, match="k must be an integer <= 3"):
        int_option("k", 1, maximum=3).check(4)
    r = real_option("a", 1.0, high=1.0)
    assert r.check(1) == 1.0
    for bad in (0.0, 1.5, float("nan"), True, "x"):
        with pytest.raises(ValueError, match=r"a must be a finite number in \(0, 1\]"):
            r.check(bad)
    assert choice_option("c", "x", ("x", "y")).check("y") == "y"
    assert bool_option("b", False).check(np.bool_(True)) is True
    assert check_options((int_option("k", 2),), {}, owner="t", fill=False) == {}
    assert check_options((Option("z", None, float),), {"z": None}, owner="t") == {"z": None}


def test_registered_solver_is_used_with_its_table_and_leaves(registered):
    registered("toy_uniform", _uniform, options=(real_option("scale", 1.0),))
    res = qrp.risk_parity(np.eye(3), solver="toy_uniform", scale=2.0)
    assert res.stats["scale"] == 2.0 and res.solver == "toy_uniform"
    with pytest.raises(ValueError, match="scale must be a finite number"):
        qrp.risk_parity(np.eye(3), solver="toy_uniform", scale=-1.0)
    with pytest.raises(ValueError, match="does not take"):
        qrp.risk_parity(np.eye(3), solver="toy_uniform", other=1)
    with pytest.raises(ValueError, match="already registered"):
        registered("toy_uniform", _uniform)
    unregister_solver("toy_uniform")
    with pytest.raises(ValueError, match="unknown solver 'toy_uniform'"):
        get_solver("toy_uniform")
    registered("toy_uniform", lambda cov, b, **kw: _uniform(cov, b, tol=kw["tol"], max_iter=kw["max_iter"]),
               extra_options=True)  # re-registered, taking any option; the fixture removes it
    assert qrp.risk_parity(np.eye(2), solver="toy_uniform", anything=1).converged


def test_lazy_option_tables_do_not_import_the_solver():
    import subprocess
    import sys

    code = ("import sys, qrp; s = qrp.get_solver('qaoa'); s.validate_options({'reps': 1}); "
            "print('qiskit' in sys.modules, s.qubit_limit({'max_qubits': 9}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "9"]  # the QAOA options are declared without importing qiskit


def test_register_rejects_bad_declarations():
    with pytest.raises(ValueError, match="kind"):
        qrp.register_solver("x", _uniform, kind="quantum")
    with pytest.raises(ValueError, match="max_qubits"):
        qrp.register_solver("x", _uniform, max_qubits=0)
    with pytest.raises(ValueError, match="unknown solver"):
        unregister_solver("never_registered")
