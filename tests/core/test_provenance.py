"""Provenance and file safety: recording versions never writes the checkout's git index, the directory lock is
exclusive, and an atomically replaced directory never keeps a file of the previous content."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qrp.core import provenance
from qrp.core.provenance import DirectoryInUse, DirectoryLock, atomic_directory

ROOT = Path(__file__).resolve().parents[2]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_recording_versions_never_writes_the_git_index(tmp_path):
    """A checkout whose index is stale (a tracked file touched since it was staged): ``git status`` would rewrite
    .git/index, ``package_versions`` must not."""
    repo = tmp_path / "checkout"
    (repo / "qrp" / "core").mkdir(parents=True)
    shutil.copy(provenance.__file__, repo / "qrp" / "core" / "provenance.py")
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    index = repo / ".git" / "index"

    def stale() -> tuple[bytes, int]:
        source = repo / "qrp" / "core" / "provenance.py"
        os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 5_000_000_000))
        return index.read_bytes(), index.stat().st_mtime_ns

    before = stale()
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('p', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(m.package_versions()['qrp_git'])")
    out = subprocess.run([sys.executable, "-c", code, str(repo / "qrp" / "core" / "provenance.py")],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == _git(repo, "rev-parse", "--short", "HEAD").strip()  # clean: only the stat info is stale
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    _git(repo, "status", "--porcelain")  # the check can fail: a plain git status does rewrite the stale index
    assert (index.read_bytes(), index.stat().st_mtime_ns) != before


def test_directory_lock_is_exclusive_and_names_the_holder(tmp_path):
    lock = tmp_path / ".lock"
    with DirectoryLock(lock, what="the dir"):
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(DirectoryInUse, match=rf"the dir is in use by another qrp process \(PID {os.getpid()}"):
            with DirectoryLock(lock, what="the dir"):
                pass
    with DirectoryLock(lock, what="the dir"):  # released on exit
        pass
    assert not lock.exists()  # and removed: nothing left behind


def test_a_lock_file_removed_under_a_waiting_opener_is_not_held_twice(tmp_path, monkeypatch):
    """A process that opened the lock file before its holder removed it, and locked it after, holds a file no
    longer at the path: it must let go and lock the path's file, which a third process may hold by then."""
    import qrp.core.provenance as provenance

    lock = tmp_path / ".lock"
    stale = os.open(lock, os.O_RDWR | os.O_CREAT)  # opened before the removal
    lock.unlink()
    opened = iter([stale])
    real = provenance.open_regular
    monkeypatch.setattr(provenance, "open_regular", lambda *a, **k: next(opened, None) or real(*a, **k))
    with DirectoryLock(lock, what="the dir"):
        held = os.fstat(next(iter(provenance._HELD_LOCKS)))
        assert (held.st_ino, held.st_dev) == (lock.stat().st_ino, lock.stat().st_dev)  # the path's file
    with pytest.raises(OSError):
        os.fstat(stale)  # the stale descriptor was let go


def test_atomic_directory_replaces_everything_or_nothing(tmp_path):
    out = tmp_path / "out"
    with atomic_directory(out, replaceable=lambda p: (p / "mark").exists()) as tmp:
        (tmp / "mark").write_text("A")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "stale.json").write_text("A")
    assert (out / "mark").read_text() == "A"
    with pytest.raises(RuntimeError), atomic_directory(out, replaceable=lambda p: True) as tmp:
        (tmp / "mark").write_text("half")
        raise RuntimeError("killed")
    assert (out / "mark").read_text() == "A" and (out / "sub" / "stale.json").exists()
    with atomic_directory(out, replaceable=lambda p: (p / "mark").exists()) as tmp:
        (tmp / "mark").write_text("B")
    assert sorted(p.name for p in out.rglob("*")) == ["mark"] and (out / "mark").read_text() == "B"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary sibling left
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="refusing to replace"), atomic_directory(tmp_path / "mine",
                                                                                   replaceable=lambda p: False):
        pass
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    with pytest.raises(ValueError, match="is a file"), atomic_directory(out / "mark", replaceable=lambda p: True):
        pass


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    """A worker forked while the lock is held closes its copy: once the parent releases the lock (or dies), the
    directory is free even while the child still runs."""
    lock = tmp_path / ".lock"
    go_read, go_write = os.pipe()
    ready_read, ready_write = os.pipe()
    with DirectoryLock(lock, what="the dir"):
        pid = os.fork()
        if pid == 0:  # the child: say it runs (its fork hook has run), then wait until told to exit
            os.write(ready_write, b"r")
            os.read(go_read, 1)
            os._exit(0)
        assert os.read(ready_read, 1) == b"r"
    try:
        with DirectoryLock(lock, what="the dir"):  # the child is alive, the lock is free
            pass
    finally:
        os.write(go_write, b"x")
        os.waitpid(pid, 0)
        for fd in (go_read, go_write, ready_read, ready_write):
            os.close(fd)
