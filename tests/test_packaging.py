"""Packaging metadata: version flag, license, typing marker, citation and changelog agree with pyproject."""

import tomllib
from pathlib import Path

import pytest

from qrp.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    import qrp

    assert capsys.readouterr().out.strip() == f"qrp {qrp.__version__}"


def test_metadata_files_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "qrp" / "py.typed").exists()
    assert f"version: {project['version']}" in (ROOT / "CITATION.cff").read_text()
    assert f"## [{project['version']}]" in (ROOT / "CHANGELOG.md").read_text()
