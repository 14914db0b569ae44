"""qrp.core.figures.write_png: one draw per PNG, the same pixels as tight_layout + savefig."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from qrp.core.figures import write_png


def _figure():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 3], [1, 4, 9])
    ax.set_title("t")
    draws = []
    fig.canvas.mpl_connect("draw_event", lambda event: draws.append(event))
    return fig, draws


def test_one_draw_and_the_pixels_of_the_double_draw(tmp_path):
    fig, draws = _figure()
    write_png(fig, tmp_path / "one.png", dpi=100, rect=(0, 0.05, 1, 0.97))
    assert len(draws) == 1
    plt.close(fig)

    fig, draws = _figure()
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(tmp_path / "two.png", dpi=100, format="png")
    assert len(draws) == 2  # what write_png saves: the layout engine's dry-run draw
    plt.close(fig)
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert not list(tmp_path.glob("*.tmp*"))
