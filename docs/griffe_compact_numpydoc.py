"""Griffe extension: qrp's compact numpydoc entries, read as numpydoc.

qrp's docstrings write each entry of a Parameters / Attributes / Other Parameters section as
``name : description`` (the type is in the signature), and sometimes two names on one entry (``lo, hi : ...``).
Numpydoc reads the text after the colon as the *type*, so the rendered tables put descriptions in the Type column,
and griffe gives every name of a shared entry the first name's default. This extension rewrites such entries to
numpydoc's own form before griffe parses them,

    name
        description

one entry per name (so each takes its type and default from the signature), and a Returns entry
``TypeName description`` to ``TypeName`` with the description below. Prose after the last section goes under
Notes. A default written as a module constant's field (``DEFAULTS.radius``) is shown as its value. Only qrp's objects
are touched.
"""

from __future__ import annotations

import importlib
import re

import griffe

_HEADER = re.compile(r"-{3,}")
_ENTRY = re.compile(r"(?P<names>\*{0,2}[A-Za-z_]\w*(?:,\s*\*{0,2}[A-Za-z_]\w*)*)\s+:\s+(?P<text>.+)")
_SAME_LINE = re.compile(r"(?<=\.)\s{2,}(?=[A-Za-z_]\w*(?:,\s*[A-Za-z_]\w*)*\s+:\s)")
_RETURN = re.compile(r"(?P<type>[A-Z][\w.]*(?:\[[^\]]*\])?)\s+(?P<text>\S.*)")
_ENTRY_SECTIONS = {"Parameters", "Attributes", "Other Parameters", "Keyword Arguments", "Raises", "Warns"}


def convert(text: str) -> str:
    """Rewrite the compact entries of ``text`` (a cleaned docstring) as numpydoc entries."""
    lines = text.splitlines()
    out: list[str] = []
    section = None
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if i < len(lines) and line.strip() and _HEADER.fullmatch(lines[i].strip()):
            section = line.strip()
        elif not line.strip():
            following = next((x for x in lines[i:] if x.strip()), "")
            if section and not (section in _ENTRY_SECTIONS and _ENTRY.fullmatch(following)):
                # prose after a section: numpydoc's sections run to the next header, so it gets one
                section = None if _is_header(lines, following) else "Notes"
                if section:
                    out += ["", "Notes", "-----"]
                    continue
        elif line[:1] == " ":
            pass
        elif section in _ENTRY_SECTIONS and _ENTRY.fullmatch(line):
            entries = _SAME_LINE.split(line)  # "a : x.  b : y." holds two entries
            while i < len(lines) and lines[i][:1] == " " and lines[i].strip():
                entries[-1] += " " + lines[i].strip()
                i += 1
            for entry in entries:
                m = _ENTRY.fullmatch(entry)
                for name in re.split(r",\s*", m["names"]):
                    out += [name, "    " + _escape(m["text"])]
            continue
        elif section == "Returns" and (m := _RETURN.fullmatch(line)):
            out += [m["type"], "    " + m["text"]]
            while i < len(lines) and lines[i].strip():  # its description, indented as numpydoc wants
                out.append("    " + lines[i].strip())
                i += 1
            continue
        out.append(line)
    return "\n".join(out)


def _is_header(lines: list[str], line: str) -> bool:
    """Whether ``line`` (a line of ``lines``) is a section title, underlined by dashes on the next line."""
    k = lines.index(line)
    return k + 1 < len(lines) and bool(_HEADER.fullmatch(lines[k + 1].strip()))


def _escape(text: str) -> str:
    """A description starting with ``>`` or ``<`` ("> 0, ...") would render as a Markdown quote or tag."""
    return "\\" + text if text[:1] in "<>" else text


_CONSTANT = re.compile(r"[A-Z_][A-Z0-9_]*(?:\.\w+|\[[^\]]+\])+")


def _shown_default(module: str, default: str) -> str | None:
    """A default written as a module constant's field (``DEFAULTS.radius``) shown as its value (``0.5``)."""
    if not _CONSTANT.fullmatch(default):
        return None
    try:
        return repr(eval(default, vars(importlib.import_module(module))))  # qrp's own module constants
    except Exception:  # keep the expression when it cannot be evaluated
        return None


class CompactNumpydoc(griffe.Extension):
    """Applies ``convert`` to the docstring of every qrp object griffe loads, and shows the values of defaults
    written as module constants (``radius=DEFAULTS.radius`` renders as ``0.5``)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if not obj.path.startswith("qrp"):
            return
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
        for param in getattr(obj, "parameters", None) or ():
            if param.default is not None and (value := _shown_default(obj.module.path, str(param.default))):
                param.default = value
