"""``qrp.RiskParity``: risk budgeting as a scikit-learn / skfolio estimator.

``RiskParity(...).fit(X)`` estimates the covariance (or keeps the scenarios) of the returns X (T, N) with
``prior_estimator`` and solves the risk-budgeting problem; ``predict(X)`` gives a skfolio ``Portfolio``. It
subclasses skfolio's ``BaseOptimization``, so it works wherever skfolio's optimizers do: ``Pipeline``,
``skfolio.model_selection.cross_val_predict`` with ``WalkForward``, ``GridSearchCV`` (``score`` is the Sharpe ratio
of the predicted portfolio), ``fallback``, ``previous_weights``.

Which solver runs:

* volatility, weight bounds only: ``qrp.risk_parity`` with ``solver`` (any registry name, classical or discrete;
  bounds through the Richard & Roncalli (2019) bounded problem of ``qrp.classical.bounded``);
* CVaR / semi-deviation, linear or group constraints, ``max_turnover``: ``qrp.finance.constrained``
  (the same Richard & Roncalli definition, solved by Clarabel), for ``solver="auto"`` or ``"clarabel"``.

``linear_constraints`` are skfolio's equation strings over ``groups`` ("Equity <= 0.6", "Bond >= 0.2 * Equity";
parsed by ``skfolio.utils.equations.equations_to_matrix``), or, without ``groups``, over the asset names of a
DataFrame X ("AAPL <= 0.1", as skfolio), or a pair (C, d) for C w <= d.

Labelled ``risk_budget``, ``min_weights`` and ``max_weights`` (pandas Series) are aligned to the columns of X by
label, mismatched labels refused (as ``qrp.risk_parity`` aligns its budgets); plain arrays are positional.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sklearn
from skfolio.exceptions import NonPositiveVarianceError, SkfolioError
from skfolio.optimization import BaseOptimization
from skfolio.prior import BasePrior, EmpiricalPrior
from skfolio.utils.equations import equations_to_matrix
from sklearn.utils.validation import validate_data

from qrp.api import risk_parity
from qrp.core.registry import available_solvers
from qrp.core.validation import align_labels
from qrp.finance.constrained import constrained_risk_budgeting
from qrp.finance.risk_measures import canonical_measure

#: The conic solver of ``qrp.finance.constrained``, accepted as ``solver`` besides the registry names.
CONIC_SOLVER = "clarabel"


def _equations(groups: np.ndarray, equations) -> tuple:
    """skfolio's ``equations_to_matrix`` as (a_ub, b_ub, a_eq, b_eq); its errors as ``ValueError`` naming the
    equation. skfolio (1.x) returns the equality pair first: (a_eq, b_eq, a_ub, b_ub)."""
    eqs = np.atleast_1d(np.asarray(equations))
    try:
        a_eq, b_eq, a_ub, b_ub = equations_to_matrix(groups, eqs, sum_to_one=False, raise_if_group_missing=True)
    except SkfolioError as exc:
        for one in eqs:  # name the first equation that fails on its own
            try:
                equations_to_matrix(groups, np.array([one]), sum_to_one=False, raise_if_group_missing=True)
            except SkfolioError as inner:
                raise ValueError(f"linear_constraints: equation {str(one)!r}: {inner}") from None
        raise ValueError(f"linear_constraints: {exc}") from None
    return a_ub, b_ub, a_eq, b_eq


def prior_moments(fitted, returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(covariance, scenario returns) of a fitted prior or covariance estimator.

    ``fitted``: a skfolio prior (``return_distribution_``: its covariance and scenarios) or any object whose
    ``fit`` set ``covariance_`` (scikit-learn and skfolio covariance estimators; scenarios = ``returns``).
    """
    if isinstance(fitted, BasePrior):
        dist = fitted.return_distribution_
        return np.asarray(dist.covariance, dtype=np.float64), np.asarray(dist.returns, dtype=np.float64)
    cov = getattr(fitted, "covariance_", None)
    if cov is None:
        raise ValueError(f"prior_estimator {type(fitted).__name__} set neither return_distribution_ (skfolio "
                         "prior) nor covariance_ (covariance estimator) when fitted")
    return np.asarray(cov, dtype=np.float64), returns


class RiskParity(BaseOptimization):
    """Risk budgeting portfolio estimator (module docstring).

    Parameters
    ----------
    risk_budget : (N,) positive budgets (normalized to sum 1), or None for equal risk contributions.
    solver : a ``qrp.available_solvers()`` name ("auto", "newton", "sa", "qaoa", ...) or "clarabel".
    risk_measure : a measure of ``qrp.finance.risk_measures.RISK_MEASURES`` by skfolio's ``RiskMeasure`` value in
        lower case ("volatility" / "variance" / "standard_deviation", "cvar", "semi_deviation", "evar", "cdar",
        "edar", "mean_absolute_deviation", "first_lower_partial_moment", "worst_realization", "max_drawdown",
        "average_drawdown", "ulcer_index", "gini_mean_difference") or the enum member itself.
    cvar_beta, evar_beta, cdar_beta, edar_beta : levels of CVaR, EVaR, CDaR, EDaR (0.95), as skfolio's.
    min_weights, max_weights : scalar or (N,) weight bounds (0 and 1: long-only, no bound).
    linear_constraints : skfolio equation strings (with ``groups``) or (C, d) for C w <= d.
    groups : (n_groups, N) array of group labels per asset, as skfolio's ``groups``.
    max_turnover : cap on sum |w - previous_weights| (needs ``previous_weights``).
    formulation : "richard_roncalli" (default, as ``qrp.risk_parity``'s bounds and pyrb) or "homogeneous" (as
        skfolio's ``RiskBudgeting``); see ``qrp.finance.constrained``.
    prior_estimator : None (skfolio ``EmpiricalPrior``: sample mean and covariance), a skfolio prior, or any
        scikit-learn / skfolio covariance estimator.
    solver_options : dict of options for ``qrp.risk_parity`` (``tol``, ``bits``, ``rounds``, ...).
    seed : seed for stochastic solvers.
    portfolio_params, fallback, previous_weights, raise_on_failure : as skfolio's ``BaseOptimization``.

    Attributes
    ----------
    weights_ : (N,) weights (sum 1).
    risk_contributions_ : (N,) Euler risk contributions of the risk measure under the fitted prior.
    rc_error_ : max_i |RC_i / sum RC - b_i|.
    result_ : the full ``RiskParityResult``.
    prior_estimator_ : the fitted prior or covariance estimator.
    """

    def __init__(self, risk_budget=None, solver: str = "auto", risk_measure: str = "volatility",
                 cvar_beta: float = 0.95, evar_beta: float = 0.95, cdar_beta: float = 0.95,
                 edar_beta: float = 0.95, min_weights=0.0, max_weights=1.0, linear_constraints=None, groups=None,
                 max_turnover: float | None = None, formulation: str = "richard_roncalli",
                 prior_estimator=None, solver_options: dict | None = None,
                 seed: int | None = None, portfolio_params: dict | None = None, fallback=None,
                 previous_weights=None, raise_on_failure: bool = True):
        super().__init__(portfolio_params=portfolio_params, fallback=fallback, previous_weights=previous_weights,
                         raise_on_failure=raise_on_failure)
        self.risk_budget = risk_budget
        self.solver = solver
        self.risk_measure = risk_measure
        self.cvar_beta = cvar_beta
        self.evar_beta = evar_beta
        self.cdar_beta = cdar_beta
        self.edar_beta = edar_beta
        self.min_weights = min_weights
        self.max_weights = max_weights
        self.linear_constraints = linear_constraints
        self.groups = groups
        self.max_turnover = max_turnover
        self.formulation = formulation
        self.prior_estimator = prior_estimator
        self.solver_options = solver_options
        self.seed = seed

    def _budgets(self, n: int, names) -> np.ndarray | None:
        if self.risk_budget is None:
            return None
        b = np.asarray(align_labels(self.risk_budget, names, "risk_budget"), dtype=np.float64)
        if b.shape != (n,) or not np.all(np.isfinite(b)) or np.any(b <= 0):
            raise ValueError(f"risk_budget must be {n} finite positive numbers, got {self.risk_budget!r}")
        return b / b.sum()

    def _bounds(self, n: int, names) -> np.ndarray | None:
        arrays = []
        for what in ("min_weights", "max_weights"):
            v = np.asarray(align_labels(getattr(self, what), names, what), dtype=np.float64)
            if v.ndim > 1 or (v.ndim == 1 and v.shape[0] not in (1, n)):
                raise ValueError(f"{what} must be a scalar or {n} values (one per asset), got shape {v.shape}")
            arrays.append(np.broadcast_to(v, (n,)))
        lo, hi = arrays
        if np.all(lo == 0.0) and np.all(hi >= 1.0):
            return None
        return np.column_stack([lo, np.minimum(hi, 1.0)])

    def _linear(self, n: int, names):
        lc = self.linear_constraints
        if lc is None:
            return None, None
        if isinstance(lc, tuple) and len(lc) == 2 and not isinstance(lc[0], str):
            return lc, None
        if self.groups is not None:
            groups = np.asarray(self.groups)
        elif names is not None:  # as skfolio: equations over the asset names of a DataFrame X
            groups = np.asarray([names])
        else:
            raise ValueError("linear_constraints given as equations need groups (n_groups, n_assets) or X as a "
                             "DataFrame whose columns name the assets")
        if groups.ndim != 2 or groups.shape[1] != n:
            raise ValueError(f"groups must be an (n_groups, {n}) array of labels, got shape {groups.shape}")
        a_ub, b_ub, a_eq, b_eq = _equations(groups, lc)
        ub = (a_ub, b_ub) if len(b_ub) else None
        eq = (a_eq, b_eq) if len(b_eq) else None
        return ub, eq

    def _fit_prior(self, x: np.ndarray, names) -> tuple:
        """Fit a clone of the prior estimator (default ``EmpiricalPrior``) to returns ``x`` (sets
        ``prior_estimator_``): (covariance, labelled when ``names``; scenarios)."""
        prior = self.prior_estimator if self.prior_estimator is not None else EmpiricalPrior()
        try:
            self.prior_estimator_ = sklearn.clone(prior).fit(x)
        except NonPositiveVarianceError as exc:
            var = x.var(axis=0, ddof=1)
            bad = [names[k] if names is not None else k for k in np.flatnonzero(~(var >= 1e-15))]
            raise ValueError(f"X: the returns of asset(s) {bad or str(exc)} have (near) zero variance: no risk to "
                             "budget; drop them or rescale") from None
        cov, scenarios = prior_moments(self.prior_estimator_, x)
        if names is not None:
            cov = pd.DataFrame(cov, index=list(names), columns=list(names))
        return cov, scenarios

    def _solve(self, cov, budgets, scenarios, measure: str, alpha: float, bounds, ub, eq, n: int):
        """``constrained_risk_budgeting`` for another measure than volatility, linear or turnover constraints, another
        formulation or the conic solver; else ``risk_parity`` with ``solver``."""
        conic = (measure != "volatility" or ub is not None or eq is not None
                 or self.max_turnover is not None or self.formulation != "richard_roncalli")
        if self.solver != CONIC_SOLVER and self.solver not in available_solvers():
            raise ValueError(f"unknown solver {self.solver!r}; available: {CONIC_SOLVER}, "
                             f"{', '.join(available_solvers())}")
        if not (conic or self.solver == CONIC_SOLVER):
            return risk_parity(cov, budgets, solver=self.solver, bounds=bounds, seed=self.seed,
                               **(self.solver_options or {}))
        if self.solver not in ("auto", CONIC_SOLVER):
            raise ValueError(f"solver {self.solver!r} handles volatility with weight bounds only; "
                             f"risk_measure={self.risk_measure!r} and linear or turnover constraints need "
                             f"solver='auto' or {CONIC_SOLVER!r}")
        previous = None
        if self.max_turnover is not None:
            previous = self._clean_input(self.previous_weights, n_assets=n, fill_value=0.0, name="previous_weights")
            previous = np.broadcast_to(previous, (n,)).astype(np.float64)
        return constrained_risk_budgeting(cov, budgets, returns=scenarios, risk_measure=measure, alpha=alpha,
                                          bounds=bounds, linear_constraints=ub, equality_constraints=eq,
                                          turnover=self.max_turnover, previous_weights=previous,
                                          formulation=self.formulation)

    def fit(self, X, y=None, **fit_params) -> RiskParity:
        """Estimate the prior on returns X (T, N) and solve; sets ``weights_`` and the attributes above."""
        measure = canonical_measure(self.risk_measure)
        alpha = {"evar": self.evar_beta, "cdar": self.cdar_beta, "edar": self.edar_beta}.get(measure, self.cvar_beta)
        x = validate_data(self, X, dtype=np.float64, ensure_min_samples=2, ensure_min_features=1)
        n = x.shape[1]
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else tuple(str(a) for a in names)
        budgets = self._budgets(n, names)
        bounds = self._bounds(n, names)
        ub, eq = self._linear(n, names)
        cov, scenarios = self._fit_prior(x, names)
        res = self._solve(cov, budgets, scenarios, measure, alpha, bounds, ub, eq, n)
        self.result_ = res
        self.weights_ = res.weights / res.weights.sum()
        self.risk_contributions_ = res.risk_contributions
        self.rc_error_ = res.rc_error
        return self

    def predict(self, X):
        """The skfolio ``Portfolio`` of ``weights_`` on returns X (checked: finite, the fitted number of assets)."""
        validate_data(self, X, reset=False, dtype=np.float64)
        return super().predict(X)

    def fit_predict(self, X, y=None, **fit_params):
        """``fit(X, y, **fit_params).predict(X)``."""
        return self.fit(X, y, **fit_params).predict(X)
