"""qrp.core.frames: pandas inputs are recognized, and NumPy callers never import pandas."""

import subprocess
import sys

import numpy as np
import pandas as pd

from qrp.core.frames import is_exact_frame, is_frame, is_labelled


def test_recognizes_pandas_objects():
    class Sub(pd.DataFrame):
        pass

    frame, series = pd.DataFrame(np.eye(2)), pd.Series([1.0, 2.0])
    assert is_frame(frame) and is_exact_frame(frame) and is_labelled(frame)
    assert is_labelled(series) and not is_frame(series)
    assert is_frame(Sub(frame)) and not is_exact_frame(Sub(frame))
    assert not any(f(np.eye(2)) for f in (is_frame, is_exact_frame, is_labelled))


def test_numpy_caller_does_not_import_pandas():
    code = ("import sys, numpy as np, qrp; r = qrp.risk_parity(np.array([[0.04, 0.01], [0.01, 0.09]])); "
            "r2 = qrp.risk_parity(np.array([[0.04, 0.01], [0.01, 0.09]]), budgets=[0.3, 0.7]); "
            "assert r.converged and r2.converged; print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
