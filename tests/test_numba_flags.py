"""numba compiles a jitted callee that states no ``fastmath`` of its own with its caller's flags, and keeps the first
copy it compiled for a signature: called from a fastmath function and from a plain one, its arithmetic (contractions
to FMA, reordered sums) would then depend on which caller ran first in the process, or wrote the on-disk cache. So
every jitted function called from a fastmath one states its flags or is ``inline="always"`` (then it is compiled
into each caller under that caller's flags)."""

import ast
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "qrp"


def _jitted(tree):
    """{name: (fastmath source or None, inline)} of the module's ``numba.njit``-decorated functions."""
    out = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            if "njit" not in ast.unparse(call.func if call else dec):
                continue
            kw = {k.arg: ast.unparse(k.value) for k in (call.keywords if call else [])}
            out[node.name] = (kw.get("fastmath"), kw.get("inline", "").strip("'\"") == "always", node)
    return out


def test_callees_of_fastmath_kernels_state_their_flags():
    jitted = {}
    for path in ROOT.rglob("*.py"):
        for name, info in _jitted(ast.parse(path.read_text())).items():
            jitted.setdefault(name, []).append((path.relative_to(ROOT.parent), *info))
    assert len(jitted) > 50  # the scan sees the package's kernels
    bad = []
    for name, defs in jitted.items():
        for path, fastmath, _, node in defs:
            if fastmath in (None, "False"):
                continue
            called = {ast.unparse(c.func).rsplit(".", 1)[-1] for c in ast.walk(node) if isinstance(c, ast.Call)}
            for callee in sorted(called & jitted.keys()):
                for cpath, cfast, cinline, _ in jitted[callee]:
                    if cfast is None and not cinline:
                        bad.append(f"{path}:{name} (fastmath={fastmath}) calls {cpath}:{callee}")
    assert not bad, "jitted callees of fastmath kernels without flags of their own:\n" + "\n".join(bad)


def test_the_inheritance_this_guards_against():
    # the behaviour the scan above exists for: a flagless callee compiled first from a contracting caller keeps
    # that caller's FMAs for its plain calls too
    def plain_dot(a, b):
        acc = 0.0
        for i in range(a.shape[0]):
            acc += a[i] * b[i]
        return acc

    dot = numba.njit(plain_dot)  # no flags of its own
    dot_plain = numba.njit(fastmath=False)(plain_dot)  # flags stated
    caller = numba.njit(fastmath={"reassoc", "contract"})(lambda a, b: dot(a, b))
    caller_plain = numba.njit(fastmath={"reassoc", "contract"})(lambda a, b: dot_plain(a, b))

    rng = np.random.default_rng(0)
    a, b = rng.random(1000), rng.random(1000)
    reference = 0.0
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        reference += x * y  # Python: no FMA, in order
    caller(a, b)
    caller_plain(a, b)
    assert dot_plain(a, b) == reference  # flags stated: the plain call is the plain sum, whoever compiled first
    assert " contract " not in next(iter(dot_plain.inspect_llvm().values()))
    # flagless: the one copy of ``dot`` is the caller's, with its fast-math flags on the arithmetic
    assert " contract " in next(iter(dot.inspect_llvm().values()))
