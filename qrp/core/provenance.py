"""What every result file needs: atomic writes, one writer at a time, and the versions that produced it.

``atomic_write`` writes to a temporary file in the target's directory, flushes it to disk and ``os.replace``-s it
over the target, so a reader (or a process killed with SIGKILL at any moment) sees the old file or the new one,
never half of one. ``atomic_directory`` does the same for a whole output directory (written beside it, then
swapped in). ``DirectoryLock`` is an exclusive ``fcntl.flock`` on a lock file, held for the lifetime of a run, so
that two processes never write one result directory (the kernel releases it when its holder dies, even by
SIGKILL). ``package_versions`` records qrp (with its git commit when run from a checkout), Python and the numerical
packages that shape results.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def open_regular(path, flags: int, *, what: str) -> int:
    """``os.open`` of a regular file that is never a symbolic link: created with ``O_EXCL`` when missing, else
    opened with ``O_NOFOLLOW``; ``ValueError`` when ``path`` is a symlink (a link planted at a lock or journal path
    would otherwise have its target truncated or appended to) or not a regular file (a FIFO, a directory)."""
    path = Path(path)
    base = flags | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, base | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        try:
            fd = os.open(path, base | os.O_NONBLOCK)  # O_NONBLOCK: a FIFO planted there must not block the open
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ValueError(f"{path}: is a symbolic link; refusing to use it as a {what} (remove it)") from None
            raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{path}: is not a regular file; refusing to use it as a {what} (remove it)")
    os.set_blocking(fd, True)
    return fd


def read_regular(path, *, what: str) -> bytes | None:
    """The bytes of the regular file ``path`` (None when it does not exist), read from one open descriptor; the
    same ``ValueError`` as ``open_regular`` for a symbolic link or a special file (a FIFO would block the read)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"{path}: is a symbolic link; refusing to read it as a {what} (remove it)") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: is not a regular file; refusing to read it as a {what} (remove it)")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


class DirectoryInUse(RuntimeError):
    """Another live process holds the lock of a result directory (``pid`` is its process id, or None)."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


#: descriptors of the locks this process holds: a forked child closes its copies at once, so that a worker that
#: outlives a killed parent never keeps the parent's directory locked.
_HELD_LOCKS: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _HELD_LOCKS:
        try:
            os.close(fd)  # the parent's descriptor, and so its lock, stays
        except OSError:
            pass
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


class DirectoryLock:
    """Exclusive, non-blocking ``flock`` on ``lock_file`` for the lifetime of a ``with`` block; the holder's PID is
    written into the file. A second holder gets ``DirectoryInUse`` naming that PID. The holder removes the file
    when it is done (no ``.qrp.lock`` is left behind); a process that locked a file already removed (it had opened
    it before the removal) sees that the path no longer names the inode it holds, lets go and tries again on the
    new file, so two processes never hold the lock at once."""

    def __init__(self, lock_file, *, what: str) -> None:
        self.path = Path(lock_file)
        self.what = what
        self._fd = -1

    def __enter__(self) -> DirectoryLock:
        while True:
            fd = open_regular(self.path, os.O_RDWR, what="lock file")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _holder(fd)
                os.close(fd)
                raise DirectoryInUse(f"{self.what} is in use by another qrp process (PID {pid or 'unknown'}, lock "
                                     f"{self.path}); wait for it to finish or choose another directory",
                                     pid) from None
            except BaseException:
                os.close(fd)
                raise
            if self._names(fd):
                break
            os.close(fd)  # the holder removed this file as it let go: lock the one at the path now
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        _HELD_LOCKS.add(fd)
        return self

    def _names(self, fd: int) -> bool:
        """Whether the path still names the file open at ``fd``."""
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)

    def __exit__(self, *exc) -> None:
        if self._fd >= 0:
            _HELD_LOCKS.discard(self._fd)
            if self._names(self._fd):
                self.path.unlink(missing_ok=True)  # removed while still held (class docstring)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = -1


def _holder(fd: int) -> int | None:
    """The PID in a lock file (its holder may be between taking the lock and writing the PID: wait a moment)."""
    for _ in range(20):
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.01)
    return None


#: Linux renameat2 flag: exchange two paths atomically.
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directory entries ``a`` and ``b`` (Linux ``renameat2(RENAME_EXCHANGE)``, through ctypes:
    the standard library has no binding); False where the system or file system does not offer it."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


@contextmanager
def atomic_directory(path, *, replaceable: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``path``; when the block ends without error it replaces ``path``
    as a whole (atomically where the system can exchange two directories, else by two renames; a reader never
    sees files of two runs mixed, and no file of the previous content survives). On error the temporary directory
    is removed and ``path`` is untouched. ``path`` must not exist, be empty, or pass ``replaceable`` (a guard
    against replacing a directory that is not a previous output). The caller holds a lock on ``path``, so leftover
    temporary siblings of killed runs are removed first."""
    path = Path(path).absolute()
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path}: is a file, not a directory")
    if path.is_dir() and any(path.iterdir()) and not replaceable(path):
        raise ValueError(f"--out {path}: the directory exists and is not an output of this command; refusing to "
                         "replace it (choose a new or empty directory)")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.partial"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700; results are meant to be shared
        if path.exists() and _exchange(tmp, path):
            pass  # tmp now holds the previous content
        elif path.exists():
            os.replace(path, tmp.with_name(tmp.name + ".old.partial"))
            os.replace(tmp, path)
            tmp = tmp.with_name(tmp.name + ".old.partial")
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def qrp_version() -> str:
    """The installed distribution's version (the one place it is declared is pyproject.toml)."""
    try:
        return metadata.version("qrp")
    except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of qrp (with its git commit when run from a checkout, "+dirty" if qrp/ has uncommitted changes),
    Python, the BLAS kernels (``blas_kernels``) and the numerical packages (``VERSIONED``) in this process."""
    out = {"qrp": qrp_version(), "qrp_git": _git_commit(), "python": platform.python_version(),
           "blas": blas_kernels()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def blas_kernels() -> str:
    """The kernels of the BLAS libraries loaded in this process, e.g. "openblas Haswell". OpenBLAS picks its
    kernels for the CPU when it loads (``OPENBLAS_CORETYPE=NAME`` overrides the choice), and two kernels may round
    the same product differently in the last bits (SLSQP then takes another iteration: the committed quickstart,
    made under "SkylakeX", re-runs bit for bit on an AMD EPYC only with ``OPENBLAS_CORETYPE=SkylakeX``), so a row
    is reproducible bit for bit under the kernel it records."""
    import numpy  # noqa: F401  (numpy loads its BLAS; numpy is imported by every caller anyway)
    from threadpoolctl import threadpool_info  # scans the loaded libraries (0.1 s): once, by package_versions

    kinds = {f"{i.get('internal_api', '?')} {i.get('architecture') or '?'}" for i in threadpool_info()
             if i.get("user_api") == "blas"}
    return ", ".join(sorted(kinds)) or "none loaded"


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
