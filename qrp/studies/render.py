"""Output helpers shared by the study reports: markdown tables and atomically written PNG figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qrp.core.provenance import atomic_write


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table of ``frame`` (floats to 3 significant digits, everything else as text)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in rec) + " |")
    return "\n".join(lines)


def save_figure(fig, path: Path) -> None:
    """Lay out ``fig``, write it to ``path`` as a PNG (atomically) and close it."""
    import matplotlib.pyplot as plt  # optional heavy dependency, imported only when a report draws

    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


__all__ = ["markdown_table", "save_figure"]
