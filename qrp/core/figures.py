"""Writing a matplotlib figure to a PNG file: laid out once, drawn once, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qrp.core.provenance import atomic_write


def write_png(fig: Any, path: Path, *, dpi: float, rect: tuple[float, float, float, float] | None = None,
              pil_kwargs: dict | None = None) -> None:
    """``fig.tight_layout(rect=rect)`` then ``fig.savefig(path, dpi=dpi)`` as a PNG, atomically; one draw.

    tight_layout leaves a placeholder layout engine on the figure, and savefig then draws the whole figure once more
    (a dry run for that engine) before the draw it writes; removing the engine after the layout gives the same
    pixels from one draw. ``rect``: the (left, bottom, right, top) fractions of the figure the axes are laid out in.
    """
    fig.tight_layout(rect=rect)
    fig.set_layout_engine(None)
    atomic_write(Path(path), lambda p: fig.savefig(p, dpi=dpi, format="png", pil_kwargs=pil_kwargs))
