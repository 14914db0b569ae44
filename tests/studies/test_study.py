"""Study files: grid expansion, stable run_ids, and validation errors that name the key (issue 5)."""

import numpy as np
import pytest

from qrp.core.registry import get_solver
from qrp.data.synthetic import factor_covariance
from qrp.discrete.plan import plan
from qrp.studies.study import load_study

BASE = """
seeds = [0, 1]
[covariance]
source = "synthetic"
seed = 3
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_expands_to_the_product_per_block_times_seeds(tmp_path):
    study = load_study(write(tmp_path, BASE + """
[[grid]]
solver = ["auto", "newton"]
n_assets = [4, 8, 16]
[[grid]]
solver = "slsqp"
n_assets = 5
tol = [1e-6, 1e-8]
seeds = [7]
"""))
    assert len(study.runs) == 2 * 3 * 2 + 1 * 2 * 1
    assert study.name == "s"
    assert {r.solver for r in study.runs} == {"auto", "newton", "slsqp"}
    assert sorted({r.run_args.get("tol") for r in study.runs if r.solver == "slsqp"}) == [1e-8, 1e-6]
    assert {r.seed for r in study.runs if r.solver == "slsqp"} == {7}
    ids = [r.run_id for r in study.runs]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 16 for i in ids)


def test_run_ids_are_stable_and_follow_the_parameters(tmp_path):
    text = BASE + '[[grid]]\nsolver = ["auto"]\nn_assets = [4, 8]\n'
    a = load_study(write(tmp_path, text, "a.toml"))
    b = load_study(write(tmp_path, text.replace("seeds = [0, 1]", "seeds = [0, 1]\ndescription = 'x'"), "b.toml"))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]  # name/description do not change a run
    c = load_study(write(tmp_path, text.replace("seed = 3", "seed = 4"), "c.toml"))
    assert not {r.run_id for r in a.runs} & {r.run_id for r in c.runs}  # another covariance: other runs
    assert a.config_hash != c.config_hash


def test_csv_sources_take_the_first_n_assets(tmp_path):
    cov = factor_covariance(6, seed=1)
    cov.to_csv(tmp_path / "cov.csv")
    rng = np.random.default_rng(0)
    returns = rng.normal(size=(200, 5)) @ np.diag([0.01, 0.02, 0.01, 0.03, 0.02])
    import pandas as pd

    pd.DataFrame(returns, columns=list("ABCDE")).to_csv(tmp_path / "ret.csv")
    s = load_study(write(tmp_path, '[covariance]\nsource = "covariance_csv"\npath = "cov.csv"\n'
                                   '[[grid]]\nsolver = "auto"\nn_assets = [3, 6]\n'))
    np.testing.assert_array_equal(s.covariance_matrix(3).to_numpy(), cov.to_numpy()[:3, :3])
    s = load_study(write(tmp_path, '[covariance]\nsource = "returns_csv"\npath = "ret.csv"\nannualization = 252\n'
                                   '[[grid]]\nsolver = "auto"\n'))
    assert s.runs[0].n_assets == 5  # omitted: all of them
    np.testing.assert_allclose(s.covariance_matrix(5).to_numpy(), np.cov(returns, rowvar=False) * 252)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + 'colour = 1\n[[grid]]\nsolver = "auto"\nn_assets = 4\n', "colour: unknown key"),
        (BASE.replace("seed = 3", "seed = 3\nfactors = 2") + '[[grid]]\nsolver = "auto"\nn_assets = 4\n',
         "covariance.factors: unknown key"),
        (BASE.replace("seed = 3", 'seed = "3"') + '[[grid]]\nsolver = "auto"\nn_assets = 4\n',
         "covariance.seed: expected Integral, got str"),
        (BASE + '[[grid]]\nsolver = "auto"\nn_assets = "4"\n', "grid[0].n_assets: expected Integral, got str"),
        (BASE + '[[grid]]\nsolver = "auto"\nn_assets = []\n', "grid[0].n_assets: empty list"),
        (BASE + '[[grid]]\nsolver = "auto"\nn_assets = [0]\n', "grid[0].n_assets: must be >= 1"),
        (BASE.replace("seeds = [0, 1]", "seeds = []") + '[[grid]]\nsolver = "auto"\nn_assets = 4\n',
         "seeds: empty list"),
        (BASE + '[[grid]]\nsolver = "nope"\nn_assets = 4\n', "grid[0].solver: unknown solver 'nope'"),
        (BASE + '[[grid]]\nsolver = "auto"\nn_assets = 4\nnum_reads = 10\n',
         "grid[0].num_reads: solver 'auto' does not take option 'num_reads'"),
        (BASE + '[[grid]]\nsolver = "auto"\nn_assets = 4\ntol = "small"\n', "grid[0].tol: expected Real, got str"),
        (BASE + '[[grid]]\nsolver = "auto"\n', "grid[0].n_assets: required"),
        (BASE + '[[grid]]\nn_assets = 4\n', "grid[0].solver: required"),
        (BASE, "grid: required"),
        ("[[grid]]\nsolver = 'auto'\nn_assets = 4\n", "covariance: required"),
        ('[covariance]\nsource = "covariance_csv"\npath = "missing.csv"\n[[grid]]\nsolver = "auto"\n',
         "covariance.path: file not found"),
        ('[covariance]\nsource = "magic"\n[[grid]]\nsolver = "auto"\n', "covariance.source: expected one of"),
        ('baseline = "nope"\n' + BASE, "baseline: unknown solver 'nope'"),
        ('reference = "auto"\n' + BASE, "reference: must be a discrete solver, got 'auto'"),
        (BASE + '[[grid]]\nsolver = "auto"\nn_assets = [4, 4]\n', "appears twice"),
    ],
)
def test_invalid_studies_name_the_key(tmp_path, text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        load_study(write(tmp_path, text))


def test_too_many_csv_assets(tmp_path):
    factor_covariance(3, seed=1).to_csv(tmp_path / "cov.csv")
    with pytest.raises(ValueError, match=r"grid\[0\].n_assets: 5 assets requested but cov.csv has 3"):
        load_study(write(tmp_path, '[covariance]\nsource = "covariance_csv"\npath = "cov.csv"\n'
                                   '[[grid]]\nsolver = "auto"\nn_assets = 5\n'))


def test_qubit_limit_is_checked_before_anything_runs(tmp_path, toy_solver):
    spec = get_solver(toy_solver)
    assert plan(spec, 4, spec.validate_options({"bits": 3})).limit == 12
    layout = plan(spec, 10, spec.validate_options({"max_qubits": 30, "bits": 3, "block_size": 4}))
    assert (layout.limit, layout.assets_per_solve, layout.qubits_per_solve, layout.blocks) == (30, 4, 12, True)
    assert plan(get_solver("auto"), 4, get_solver("auto").validate_options({})).limit is None
    ok = BASE + '[[grid]]\nsolver = "toy_discrete"\nn_assets = [2, 4]\nbits = 3\n'
    assert len(load_study(write(tmp_path, ok)).runs) == 4
    with pytest.raises(ValueError, match=r"grid\[0\]: solver 'toy_discrete' on 15 qubits "
                                         r"\(N = 5 assets x 3 qubits per asset\).* over its limit max_qubits = 12"):
        load_study(write(tmp_path, ok.replace("[2, 4]", "[2, 5]")))
    # the grid point's own max_qubits raises the limit; a wrong option type is caught too
    assert len(load_study(write(tmp_path, ok.replace("[2, 4]", "[2, 5]") + "max_qubits = 16\n")).runs) == 4
    with pytest.raises(ValueError, match=r"grid\[0\].bits: expected Integral, got float"):
        load_study(write(tmp_path, ok.replace("bits = 3", "bits = 3.0")))


def test_factor_covariance_is_seeded_and_positive_definite():
    a = factor_covariance(30, n_factors=4, seed=5)
    np.testing.assert_array_equal(a.to_numpy(), factor_covariance(30, n_factors=4, seed=5).to_numpy())
    assert not np.array_equal(a.to_numpy(), factor_covariance(30, n_factors=4, seed=6).to_numpy())
    np.testing.assert_array_equal(a.to_numpy(), a.to_numpy().T)
    assert np.linalg.eigvalsh(a.to_numpy())[0] > 0
    vols = np.sqrt(np.diag(a.to_numpy()))
    assert 0.1 < vols.min() and vols.max() < 0.8  # annualized volatilities of plausible size
    with pytest.raises(ValueError, match="idio_vol"):
        factor_covariance(3, idio_vol=(0.3, 0.1))


def test_sp500_source_estimates_from_the_bundled_dataset(tmp_path):
    from qrp.data.covariance import estimate_covariance
    from qrp.data.returns import load_sp500_returns

    s = load_study(write(tmp_path, '[covariance]\nsource = "sp500"\nstart = "2020-01-01"\nend = "2021-12-31"\n'
                                   'method = "sample"\n[[grid]]\nsolver = "auto"\nn_assets = [3, 20]\n'))
    expected = estimate_covariance(load_sp500_returns(start="2020-01-01", end="2021-12-31"), method="sample",
                                   periods_per_year=252)
    got = s.covariance_matrix(3)
    assert list(got.columns) == list(expected.columns[:3])
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy()[:3, :3])
    with pytest.raises(ValueError, match=r"grid\[0\].n_assets: 21 assets requested but source 'sp500' has 20"):
        load_study(write(tmp_path, '[covariance]\nsource = "sp500"\n[[grid]]\nsolver = "auto"\nn_assets = 21\n'))
    with pytest.raises(ValueError, match=r"covariance\.method: expected one of"):
        load_study(write(tmp_path, '[covariance]\nsource = "sp500"\nmethod = "magic"\n'
                                   '[[grid]]\nsolver = "auto"\nn_assets = 3\n'))


def test_negative_seeds_and_oversized_grids_are_refused_before_expanding(tmp_path):
    path = tmp_path / "s.toml"
    base = '[covariance]\nsource = "synthetic"\n[[grid]]\nsolver = "newton"\nn_assets = [3, 4]\n'
    path.write_text("seeds = [0, -1]\n" + base)
    with pytest.raises(ValueError, match=r"seeds: a seed must be an integer >= 0, got -1"):
        load_study(path)
    path.write_text(base + "seeds = [-2]\n")
    with pytest.raises(ValueError, match=r"grid\[0\]\.seeds: a seed must be"):
        load_study(path)
    # 10^4 x 10^4 x 2 points: refused from the axis lengths alone (expanding them would take minutes)
    path.write_text(f"seeds = {list(range(10_000))}\n" + base.replace("[3, 4]", str(list(range(1, 10_001)))))
    with pytest.raises(ValueError, match=r"grid\[0\]: the grid reaches 100000000 points, more than max_runs = 100000"):
        load_study(path)
    path.write_text("max_runs = 3\nseeds = [0, 1]\n" + base)
    with pytest.raises(ValueError, match="more than max_runs = 3"):
        load_study(path)
    path.write_text("max_runs = 4\nseeds = [0, 1]\n" + base)
    assert len(load_study(path).runs) == 4


@pytest.mark.parametrize("text, message", [
    (",a,b\na,0.04,x\nb,x,0.09\n", "must be numeric"),
    (",a,b\na,0.04,0.1\nb,0.1,0.09\n", "positive semi-definite"),
    (",a,b\na,0.04,0.01\nb,0.02,0.09\n", "not symmetric"),
    (",a,b\na,0.04,0.01\nc,0.01,0.09\n", "identical index and columns"),
])
def test_covariance_csv_is_checked_when_the_study_loads(tmp_path, text, message):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cov.csv").write_text(text)
    path = tmp_path / "s.toml"
    path.write_text('[covariance]\nsource = "covariance_csv"\npath = "data/cov.csv"\n[[grid]]\nsolver = "newton"\n')
    with pytest.raises(ValueError, match=rf"covariance.path {tmp_path / 'data' / 'cov.csv'}: .*{message}"):
        load_study(path)


def test_csv_paths_are_relative_to_the_study_file(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cov.csv").write_text(",a,b\na,0.04,0.01\nb,0.01,0.09\n")
    path = tmp_path / "s.toml"
    path.write_text('[covariance]\nsource = "covariance_csv"\npath = "data/cov.csv"\n[[grid]]\nsolver = "newton"\n')
    monkeypatch.chdir(tmp_path / "data")  # a working directory where "data/cov.csv" does not exist
    study = load_study(path)
    assert study.covariance.path == (tmp_path / "data" / "cov.csv").resolve() and study.runs[0].n_assets == 2


@pytest.mark.parametrize("line, message", [
    ("seed = -3", "covariance.seed: a seed must be an integer >= 0, got -3"),
    ("market_vol = -0.1", "covariance: market_vol"),
    ("n_factors = 0", "covariance: n_factors"),
    ("idio_vol = [0.3, 0.1]", "covariance: idio_vol"),
])
def test_synthetic_parameters_are_checked_when_the_study_loads(tmp_path, line, message):
    path = tmp_path / "s.toml"
    path.write_text(f'[covariance]\nsource = "synthetic"\n{line}\n[[grid]]\nsolver = "newton"\nn_assets = 3\n')
    with pytest.raises(ValueError, match=message):
        load_study(path)
