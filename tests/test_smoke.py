import numpy as np

import qrp


def test_example_solves_to_equal_risk():
    from qrp.data.loaders import example_covariance

    res = qrp.risk_parity(example_covariance())
    assert res.converged
    assert res.rc_error <= 1e-10
    np.testing.assert_allclose(res.weights.sum(), 1.0)


def test_public_api_is_listed_once():
    """``qrp.__all__`` and the lazy loader come from ``_EXPORTS``; the TYPE_CHECKING imports (for static analysers)
    name exactly the same (module, name) pairs, and every name resolves to an object of that module."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(qrp.__file__).read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {(imp.module, alias.name) for imp in guarded.body for alias in imp.names}
    assert all(alias.asname == alias.name for imp in guarded.body for alias in imp.names)  # explicit re-exports
    assert imported == {(module, name) for module, names in qrp._EXPORTS.items() for name in names}
    assert qrp.__all__ == sorted(name for _, name in imported) and len(qrp.__all__) == len(set(qrp.__all__))
    for name in qrp.__all__:
        assert getattr(qrp, name).__module__.startswith(qrp._MODULE_OF[name].rsplit(".", 1)[0]), name
