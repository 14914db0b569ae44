"""Recognizing pandas inputs without importing pandas.

An object can only be a pandas Series or DataFrame once pandas has been imported, so these checks look pandas up in
``sys.modules`` instead of importing it: a caller who passes NumPy arrays never pays pandas' import (about 0.5 s,
a third of the first ``qrp.risk_parity`` call in a fresh process).
"""

from __future__ import annotations

import sys


def is_frame(x) -> bool:
    """True when ``x`` is a ``pandas.DataFrame`` (or a subclass)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(x, pd.DataFrame)


def is_exact_frame(x) -> bool:
    """True when ``x`` is exactly a ``pandas.DataFrame`` (not a subclass)."""
    pd = sys.modules.get("pandas")
    return pd is not None and type(x) is pd.DataFrame


def is_labelled(x) -> bool:
    """True when ``x`` is a ``pandas.Series`` or ``pandas.DataFrame`` (or a subclass)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(x, (pd.Series, pd.DataFrame))
