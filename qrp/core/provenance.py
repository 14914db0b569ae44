"""What every result file needs: atomic writes and the versions that produced it.

``atomic_write`` writes to a temporary file in the target's directory, flushes it to disk and ``os.replace``-s it
over the target, so a reader (or a process killed with SIGKILL at any moment) sees the old file or the new one,
never half of one. ``package_versions`` records qrp (with its git commit when run from a checkout), Python and the
numerical packages that shape results.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

#: Packages whose versions are recorded with every result.
VERSIONED = (
    "numpy", "scipy", "numba", "pandas", "dimod", "dwave-samplers", "qiskit", "qiskit-aer", "scikit-learn", "arch",
    "quadprog", "matplotlib",
)


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, fsync it, then atomically rename it to
    ``path`` (parents created). On any error the temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def qrp_version() -> str:
    """The installed distribution's version (the one place it is declared is pyproject.toml)."""
    try:
        return metadata.version("qrp")
    except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of qrp (with its git commit when run from a checkout, "+dirty" if qrp/ has uncommitted changes),
    Python and the numerical packages (``VERSIONED``) in this process."""
    out = {"qrp": qrp_version(), "qrp_git": _git_commit(), "python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        # --no-optional-locks: never rewrite the checkout's .git/index (a plain `git status` refreshes it)
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
