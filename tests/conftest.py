"""Shared fixtures: solvers registered for one test (and unregistered after it), and study files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qrp.core.options import int_option
from qrp.core.registry import available_solvers, register_solver, unregister_solver
from qrp.discrete.options import discrete_options
from qrp.discrete.refine import SampleResult


@pytest.fixture
def registered():
    """``registered(name, target, **register_solver_kwargs)`` registers a solver for this test only."""
    names: list[str] = []

    def add(name, target, **kwargs):
        spec = register_solver(name, target, **kwargs)
        names.append(name)
        return spec

    yield add
    for name in dict.fromkeys(names):
        if name in available_solvers():
            unregister_solver(name)


def zeros_sampler(**_):
    """A toy discrete solver (factory): every round's sample is all zeros (the lowest level of every asset)."""

    def sample_solver(problem, *, seed, state):
        x = np.zeros(problem.num_qubits, dtype=np.int64)
        return SampleResult(x, problem.energy(x))

    return sample_solver


def failing_sampler(**_):
    """A toy discrete solver that accepts its options and fails when it runs (a run-time error)."""

    def sample_solver(problem, *, seed, state):
        raise ValueError("toy_failing refuses every problem")

    return sample_solver


@pytest.fixture
def toy_solver(registered):
    """A discrete solver "toy_discrete": the shared options plus ``max_qubits`` (default 12), its qubit limit."""
    registered("toy_discrete", zeros_sampler, kind="discrete",
               options=(*discrete_options(), int_option("max_qubits", 12)), max_qubits=lambda o: o["max_qubits"])
    return "toy_discrete"


@pytest.fixture
def failing_solver(registered):
    """A discrete solver "toy_failing" whose every run raises ``ValueError`` (options pass the dry run)."""
    registered("toy_failing", failing_sampler, kind="discrete", options=discrete_options())
    return "toy_failing"


@pytest.fixture
def write_study(tmp_path):
    """``write_study(text, name="s.toml")``: the path of a study file with that text, in the test's tmp dir."""

    def write(text: str, name: str = "s.toml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="session")
def _mlflow_template(tmp_path_factory):
    """An empty MLflow sqlite store, its schema migrated once per test process (about 8 s; a copy opens at once)."""
    client = pytest.importorskip("mlflow.tracking")
    pytest.importorskip("sqlalchemy")
    path = tmp_path_factory.mktemp("mlflow") / "template.db"
    client.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_uri(tmp_path, _mlflow_template):
    """A fresh ``sqlite:///`` MLflow store in the test's tmp dir (artifacts in ``tmp_path / "mlartifacts"``)."""
    path = tmp_path / "mlflow.db"
    shutil.copyfile(_mlflow_template, path)
    return f"sqlite:///{path}"
