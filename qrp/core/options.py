"""Solver options, declared once and validated once: ``Option`` (name, default, check, doc), the one-line
constructors, ``check_options`` (every option of a table checked, defaults filled), ``OptionTable`` (a table with
its cross-field check and its sections), ``OptionSection`` (a frozen dataclass of options several solvers share or
a composite owns) and ``Settings``, the frozen result of ``qrp.core.registry.SolverSpec.validate_options``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from qrp.core.validation import finite_float, plain, positive_int


@dataclass(frozen=True)
class Option:
    """One declared solver option. ``check(value)`` returns the validated (normalized) value or raises
    ``ValueError`` naming the option; it does no solver work. ``default`` is what an absent option means; an
    option whose default is None ("automatic" / "none") accepts None without calling ``check``."""

    name: str
    default: Any
    check: Callable[[Any], Any]
    doc: str = ""


# ---- option constructors: a declaration is one line ---------------------------------------------------------
def int_option(name: str, default: int | None, doc: str = "", *, minimum: int = 1,
               maximum: int | None = None) -> Option:
    """An integer option in [minimum, maximum]."""

    def check(value):
        v = positive_int(value, name, minimum=minimum)
        if maximum is not None and v > maximum:
            raise ValueError(f"{name} must be an integer <= {maximum}, got {plain(value)!r}")
        return v

    return Option(name, default, check, doc)


def real_option(name: str, default: float | None, doc: str = "", *, low: float = 0.0, high: float = np.inf,
                low_open: bool = True, high_open: bool = False) -> Option:
    """A finite real option in the interval (low, high] (openness of each end as given)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open or high == np.inf else ']'}"

    def check(value):
        v = finite_float(value)  # any finite numbers.Real (Fraction too), not bool
        bad = v is None or v < low or (low_open and v == low) or v > high or (high_open and v == high)
        if bad:
            raise ValueError(f"{name} must be a finite number in {interval}, got {plain(value)!r}")
        return v

    return Option(name, default, check, doc)


def choice_option(name: str, default: str, choices: tuple[str, ...], doc: str = "") -> Option:
    """One of ``choices`` (strings)."""

    def check(value):
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name} must be one of {choices}, got {plain(value)!r}")
        return value

    return Option(name, default, check, doc)


def bool_option(name: str, default: bool, doc: str = "") -> Option:
    """True or False (not 0 / 1)."""

    def check(value):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {plain(value)!r}")
        return bool(value)

    return Option(name, default, check, doc)


def check_options(table: tuple[Option, ...], options: Mapping[str, Any], *, owner: str, extra: bool = False,
                  fill: bool = True) -> dict[str, Any]:
    """``options`` checked against ``table``: each value through its option's ``check`` (None accepted without a
    check where the default is None), absent ones filled with their defaults when ``fill``; an unknown name is a
    ``ValueError`` naming ``owner`` and the accepted names, unless ``extra`` (then passed through unchecked)."""
    names = [o.name for o in table]
    unknown = sorted(set(options) - set(names))
    if unknown and not extra:
        raise ValueError(f"{owner} does not take option(s) {unknown}; it takes {sorted(names)}")
    out = {}
    for o in table:
        if o.name not in options and not fill:
            continue
        value = options.get(o.name, o.default)
        out[o.name] = None if value is None and o.default is None else o.check(value)
    out.update({k: options[k] for k in unknown})
    return out


class OptionTable(tuple):
    """A solver's declared options (a tuple of ``Option``) with what a plain tuple cannot say:

    ``joint(values: dict) -> None``: the cross-field check (e.g. QAOA's noise needs shots), run once by
    ``SolverSpec.validate_options`` after every option's own ``check``; it raises ``ValueError`` and does no
    solver work. ``sections``: ``OptionSection`` types whose fields are some of the options (the discrete
    solvers' ``Discretization``, the block decomposition's ``Blocks``); the validated ``Settings`` carries those
    values as instances of them (``Settings.section``), the rest as the solver's own dataclass
    (``Settings.own``)."""

    joint: Callable[[dict[str, Any]], None] | None
    sections: tuple[type, ...]

    def __new__(cls, options=(), *, joint=None, sections=()):
        table = super().__new__(cls, options)
        table.joint, table.sections = joint, tuple(sections)
        return table

    def __add__(self, other) -> OptionTable:
        """The options of both, both joint checks (this one first) and both tables' sections."""
        joints = [t.joint for t in (self, other) if getattr(t, "joint", None) is not None]

        def joint(values: dict[str, Any]) -> None:
            for check in joints:
                check(values)

        return OptionTable((*self, *other), joint=joint if joints else None,
                           sections=(*self.sections, *getattr(other, "sections", ())))


def declare(option: Option):
    """A dataclass field of an ``OptionSection`` whose default and metadata come from ``option`` (declared once)."""
    return dataclasses.field(default=option.default, metadata={"option": option})


class OptionSection:
    """Base of a frozen dataclass whose fields are declared options (``declare``): a group of options several
    solvers share (``Discretization``) or a composite owns (``Blocks``), declared once and carried typed in
    ``Settings``."""

    @classmethod
    def options(cls, **defaults: Any) -> tuple[Option, ...]:
        """The declared options, in field order, with ``defaults`` replacing declared defaults (a solver's own)."""
        unknown = sorted(set(defaults) - set(cls.names()))
        if unknown:
            raise ValueError(f"not {cls.__name__.lower()} options: {unknown}")
        out = []
        for f in dataclasses.fields(cls):
            opt = f.metadata["option"]
            out.append(dataclasses.replace(opt, default=defaults[f.name]) if f.name in defaults else opt)
        return tuple(out)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def validated(cls, options: Mapping[str, Any] | None = None, /, **kwargs: Any):
        """Run every option's check on ``options`` (and keyword arguments); absent ones take the defaults."""
        return cls(**check_options(cls.options(), {**(options or {}), **kwargs}, owner=cls.__name__))


@dataclass(frozen=True, eq=False)
class Settings(Mapping):
    """A solver's validated options, frozen: ``SolverSpec.validate_options``'s result.

    A read-only mapping {option: validated value} in the table's declared order (``extra`` pass-through options
    last), typed behind it: ``sections`` are the table's ``OptionSection`` instances (a discrete solver's
    ``Discretization`` and ``Blocks``; ``section(cls)``) and ``own`` the solver's own options as a frozen dataclass
    built from its ``Option`` table. Every check, cross-field ones included, has run; nothing downstream checks
    again."""

    solver: str
    own: Any
    sections: tuple[Any, ...] = ()
    extra: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    order: tuple[str, ...] = ()

    def section(self, cls: type):
        """The validated ``cls`` section (an ``OptionSection`` type of the table), or None."""
        return next((s for s in self.sections if type(s) is cls), None)

    def __getitem__(self, key: str) -> Any:
        for part in (*self.sections, self.own):
            if key in part.__dataclass_fields__:
                return getattr(part, key)
        return self.extra[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.order
        yield from self.extra

    def __len__(self) -> int:
        return len(self.order) + len(self.extra)

    def __repr__(self) -> str:
        return f"Settings({self.solver!r}, {dict(self)!r})"
