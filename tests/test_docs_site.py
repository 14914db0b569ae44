"""The documentation site's structure: the API reference follows ``qrp.__all__``, every page is in the nav, and the
docstring converter reads qrp's compact ``name : description`` entries as numpydoc (docs/griffe_compact_numpydoc.py)."""

import importlib.util
import re
from pathlib import Path

import pytest

import qrp

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: documented beside qrp.__all__: the type of ``RiskParityResult.history`` entries
EXTRA_API = {"qrp.core.result.RefinementRound"}


def test_api_reference_documents_exactly_the_public_names():
    documented = [m for page in sorted((DOCS / "api").glob("*.md"))
                  for m in re.findall(r"^::: (\S+)", page.read_text(), re.M)]
    assert len(documented) == len(set(documented)), "a name is documented twice"
    assert set(documented) - EXTRA_API == {f"qrp.{name}" for name in qrp.__all__}


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(DOCS).as_posix() for sub in ("guide", "api") for p in (DOCS / sub).glob("*.md")]
    missing = [p for p in pages if not re.search(rf"(: |- ){re.escape(p)}\s*$", nav, re.M)]
    assert pages and not missing


def _extension():
    pytest.importorskip("griffe")  # the docs extra
    spec = importlib.util.spec_from_file_location("griffe_compact_numpydoc", DOCS / "griffe_compact_numpydoc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _converter():
    return _extension().convert


def test_compact_entries_become_numpydoc_entries():
    convert = _converter()
    text = """Summary.

Parameters
----------
cov : (N, N) covariance, the
    continuation.
lo, hi : bounds.  tol : > 0, tolerance.
**options : passed on.

Returns
-------
RiskParityResult with fields
below.

Raises
------
ValueError : on bad input.

Prose after the sections: kept as : written."""
    assert convert(text).splitlines() == [
        "Summary.", "", "Parameters", "----------",
        "cov", "    (N, N) covariance, the continuation.",
        "lo", "    bounds.", "hi", "    bounds.", "tol", "    \\> 0, tolerance.",
        "**options", "    passed on.", "",
        "Returns", "-------", "RiskParityResult", "    with fields", "    below.", "",
        "Raises", "------", "ValueError", "    on bad input.", "",
        "Notes", "-----", "Prose after the sections: kept as : written.",
    ]


def test_every_public_docstring_section_parses_into_named_entries():
    """Loaded with the extension, each Parameters / Attributes entry of a public object names a parameter or field,
    and no default is shown as a constant's expression (``DEFAULTS.radius``) instead of its value."""
    griffe = pytest.importorskip("griffe")
    extension = _extension()
    package = griffe.load("qrp", docstring_parser="numpy", resolve_aliases=True, resolve_external=False,
                          extensions=griffe.load_extensions(extension.CompactNumpydoc))
    bad = []
    for name in [*qrp.__all__, *(path.removeprefix("qrp.") for path in EXTRA_API)]:
        obj = package[name].final_target if package[name].is_alias else package[name]
        functions = [obj, *(m for m in obj.members.values() if m.is_function)] if obj.is_class else [obj]
        bad += [f"{name}: default {p.name}={p.default}" for f in functions for p in getattr(f, "parameters", ())
                if p.default is not None and extension._CONSTANT.fullmatch(str(p.default))]
        if obj.docstring is None:
            continue
        for section in obj.docstring.parse("numpy"):
            if section.kind.value in ("parameters", "attributes"):
                bad += [f"{name}: {item.name}" for item in section.value if " " in item.name or not item.description]
    assert not bad
