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


def test_opaque_rgb_same_pixels_as_savefig(tmp_path):
    import numpy as np
    from PIL import Image

    fig, draws = _figure()
    fig.set_dpi(110)
    write_png(fig, tmp_path / "rgb.png", dpi=110, opaque_rgb=True)
    assert len(draws) == 1
    plt.close(fig)
    fig, _ = _figure()
    fig.set_dpi(110)
    write_png(fig, tmp_path / "rgba.png", dpi=110)
    plt.close(fig)
    rgb, rgba = Image.open(tmp_path / "rgb.png"), Image.open(tmp_path / "rgba.png")
    assert (rgb.mode, rgba.mode) == ("RGB", "RGBA")
    assert rgb.info["Software"] == rgba.info["Software"] and rgb.info["dpi"] == rgba.info["dpi"]
    assert np.array_equal(np.asarray(rgb), np.asarray(rgba)[..., :3])
    assert not list(tmp_path.glob("*.tmp*"))


def test_opaque_rgb_keeps_rgba_when_transparent(tmp_path):
    from PIL import Image

    fig, _ = _figure()
    fig.set_dpi(110)
    fig.patch.set_alpha(0.0)
    write_png(fig, tmp_path / "t.png", dpi=110, opaque_rgb=True)
    plt.close(fig)
    assert Image.open(tmp_path / "t.png").mode == "RGBA"
