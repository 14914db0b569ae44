"""Optional dependencies: which extra of pyproject.toml installs each, and the error that says so.

``pip install qrp`` installs the core (numpy, SciPy, numba, threadpoolctl): ``qrp.risk_parity`` with every classical
solver and exact enumeration. Everything else comes with an extra (``pip install "qrp[EXTRA]"``); a feature whose
package is missing raises ``ModuleNotFoundError`` naming the package and the extra (``missing_extra``): from a
public name of ``qrp`` (``qrp.run_study``), from a registry solver (``solver="sa"``) and from the command line.
"""

from __future__ import annotations

#: module (its top-level name, or a dotted prefix where one namespace spans extras) -> the extra that installs it
EXTRAS = {
    "qiskit": "quantum", "qiskit_aer": "quantum", "dimod": "quantum", "dwave": "quantum",
    "dwave.samplers": "quantum", "dwave.system": "backends", "hybrid": "backends", "qiskit_ibm_runtime": "backends",
    "pandas": "studies", "pyarrow": "studies", "matplotlib": "studies", "rich": "studies",
    "sklearn": "finance", "arch": "finance", "quadprog": "finance", "cvxpy": "finance", "clarabel": "finance",
    "statsmodels": "finance", "skfolio": "finance",
    "mlflow": "tracking", "sqlalchemy": "tracking", "alembic": "tracking", "flask": "ui",
    "distributed": "distributed", "dask": "distributed", "qiskit_optimization": "interop",
}


def extra_for(module: str) -> str | None:
    """The extra that installs ``module`` (a dotted name: its longest listed prefix decides), or None."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        extra = EXTRAS.get(".".join(parts[:end]))
        if extra is not None:
            return extra
    return None


def install_hint(module: str) -> str:
    """The pip command that installs ``module``: ``pip install "qrp[EXTRA]"``, or ``pip install TOP`` if unlisted."""
    extra = extra_for(module)
    return f'pip install "qrp[{extra}]"' if extra else f"pip install {module.split('.')[0]}"


def missing_extra(exc: ModuleNotFoundError, what: str, extra: str | None = None) -> ModuleNotFoundError | None:
    """``exc`` (a missing optional package) restated for the user: ``what`` needs it, and ``extra`` (default: the
    package's own extra, ``extra_for``) installs it; None for a module that no extra installs (qrp's own, or an
    unnamed one), to be raised as it is. The module name is kept (``.name``)."""
    name = exc.name or ""
    if not name or extra_for(name) is None:
        return None
    how = f'pip install "qrp[{extra}]"' if extra else install_hint(name)
    return ModuleNotFoundError(f"{what} needs the optional package {name.split('.')[0]!r}, which is not "
                               f"installed: {how}", name=name)


__all__ = ["EXTRAS", "extra_for", "install_hint", "missing_extra"]
