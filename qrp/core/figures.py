"""Writing a matplotlib figure to a PNG file: laid out once (or not at all), drawn once, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qrp.core.provenance import atomic_write


def write_png(fig: Any, path: Path, *, dpi: float, rect: tuple[float, float, float, float] | None = None,
              pil_kwargs: dict | None = None, opaque_rgb: bool = False, tight: bool = True) -> None:
    """``fig.tight_layout(rect=rect)`` then ``fig.savefig(path, dpi=dpi)`` as a PNG, atomically; one draw.
    ``tight=False``: no layout, the figure keeps the subplot parameters it was given (``rect`` must then be None).

    tight_layout leaves a placeholder layout engine on the figure, and savefig then draws the whole figure once more
    (a dry run for that engine) before the draw it writes; removing the engine after the layout gives the same
    pixels from one draw. ``rect``: the (left, bottom, right, top) fractions of the figure the axes are laid out in.

    ``opaque_rgb``: the figure (already at ``dpi``) drawn once on its Agg canvas and, where every pixel is opaque,
    written as an RGB PNG (the same colours as savefig's RGBA file, with savefig's metadata and resolution): PNG's
    per-row filter search then runs over 3 bytes a pixel instead of 4 (a quarter of the encoding time). A figure
    with any transparent pixel is written by savefig as before.
    """
    if tight:
        fig.tight_layout(rect=rect)
        fig.set_layout_engine(None)
    elif rect is not None:
        raise ValueError(f"rect={rect!r} lays the figure out: it needs tight=True")
    if opaque_rgb and fig.get_dpi() == dpi:
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        if rgba[..., 3].min() == 255:
            _write_rgb(rgba, Path(path), dpi, pil_kwargs or {})
            return
    atomic_write(Path(path), lambda p: fig.savefig(p, dpi=dpi, format="png", pil_kwargs=pil_kwargs))


def _write_rgb(rgba: Any, path: Path, dpi: float, pil_kwargs: dict) -> None:
    """The RGB channels of an opaque Agg buffer as a PNG at ``path``, with the metadata savefig writes."""
    import matplotlib  # heavy, optional (the studies extra): only when a figure is written
    from PIL import Image, PngImagePlugin  # Pillow comes with matplotlib: the same

    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]), mode="RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
    atomic_write(path, lambda p: image.save(p, format="png", dpi=(dpi, dpi), pnginfo=info, **pil_kwargs))
