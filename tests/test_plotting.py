import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers import plotting

RNG = np.random.default_rng(0)
IMAGES = RNG.random((6, 28, 28, 1), dtype=np.float32)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_image_grid_lays_out_rows_and_refuses_nothing():
    fig = plotting.image_grid(IMAGES, titles=list("abcdef"), ncols=4)
    assert len(fig.axes) == 8 and fig.axes[0].get_title() == "a"
    with pytest.raises(ValueError, match="the batch of images is empty"):
        plotting.image_grid(IMAGES[:0])


def test_prediction_grid_titles_name_every_model_and_mark_mistakes():
    labels = np.array([1, 2, 3, 4, 5, 6])
    fig = plotting.prediction_grid(IMAGES, labels, {"base": labels, "robust": np.array([1, 2, 3, 4, 5, 0])}, ncols=3)
    titles = [ax.get_title() for ax in fig.axes[:6]]
    assert titles[0] == "true 1\nbase 1\nrobust 1" and titles[5] == "true 6\nbase 6\nrobust 0"
    assert fig.axes[5].title.get_color() == "crimson" and fig.axes[0].title.get_color() == "black"
    with pytest.raises(ValueError, match="predictions for 6 images"):
        plotting.prediction_grid(IMAGES, labels, {"base": labels[:3]})


def test_confidence_bars_colour_truth_and_wrong_prediction():
    clean = np.full(10, 0.01)
    clean[7] = 0.91
    attacked = np.full(10, 0.02)
    attacked[3] = 0.82
    fig = plotting.confidence_bars({"clean": clean, "attacked": attacked}, true_label=7)
    bars = fig.axes[1].patches
    assert matplotlib.colors.to_hex(bars[7].get_facecolor()) == plotting.PAIR_STYLE["clean"]["color"].lower()
    assert matplotlib.colors.to_hex(bars[3].get_facecolor()) == plotting.PAIR_STYLE["attacked"]["color"].lower()
    assert bars[3].get_hatch() == "//" and not bars[7].get_hatch()          # not by colour alone
    assert "says 3" in fig.axes[1].get_title() and "wrong; true 7" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="sums to 1"):
        plotting.confidence_bars({"logits": np.arange(10.0)}, true_label=0)


def test_accuracy_vs_epsilon_draws_one_line_per_model_and_attack():
    table = pd.DataFrame([{"model": m, "attack": a, "eps": e, "accuracy": 1 - e}
                          for m in ("base", "robust") for a in ("FGSM", "PGD") for e in (0.0, 0.1, 0.3)])
    fig = plotting.accuracy_vs_epsilon(table, title="L-inf")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    np.testing.assert_allclose(lines[0].get_ydata(), [100, 90, 70])
    with pytest.raises(KeyError, match="accuracy"):
        plotting.accuracy_vs_epsilon(table.drop(columns="accuracy"))


def test_loss_along_directions_and_heatmaps():
    steps = np.linspace(0, 0.3, 4)
    fig = plotting.loss_along_directions(steps, {"base": {"gradient": steps * 10, "random": steps},
                                                 "robust": {"gradient": steps, "random": steps / 2}})
    assert [ax.get_title() for ax in fig.axes] == ["base", "robust"]
    with pytest.raises(ValueError, match="3 losses for 4 steps"):
        plotting.loss_along_directions(steps, {"base": {"gradient": steps[:3]}})
    fig = plotting.signed_heatmaps([IMAGES[0] - 0.5, IMAGES[1] - 0.5], ["a", "b"])
    assert fig.axes[0].images[0].get_cmap().name == "RdBu_r"


def test_save_figure_writes_a_png(tmp_path):
    fig = plotting.image_grid(IMAGES[:2])
    path = plotting.save_figure(fig, "grid", folder=tmp_path)
    assert path == tmp_path / "grid.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_style_for_the_collection():
    plotting.use_style()
    assert plt.rcParams["image.cmap"] == plotting.IMAGE_CMAP == "gray"
    assert plt.rcParams["font.size"] >= 12                                   # readable from the back of a room
    fig = plotting.image_grid(IMAGES[:2])
    assert fig.axes[0].images[0].get_cmap().name == "gray"


def test_signed_maps_share_one_symmetric_scale_and_wrap_into_rows():
    arrays = [IMAGES[i] - 0.5 for i in range(6)]
    arrays[0] = arrays[0] * 4                                                # one panel much stronger
    fig = plotting.signed_heatmaps(arrays, list("abcdef"), ncols=3)
    panels = [ax for ax in fig.axes if ax.images]
    limits = {tuple(ax.images[0].get_clim()) for ax in panels}
    assert len(panels) == 6 and len(limits) == 1                             # colours compare across panels
    low, high = limits.pop()
    assert low == -high and high == pytest.approx(np.abs(arrays[0]).max())
    rows = {round(ax.get_position().y0, 2) for ax in panels}
    assert len(rows) == 2                                                    # 3 a row, not 6 slivers
    own = plotting.signed_heatmaps(arrays[:2], ["a", "b"], shared_scale=False)
    assert len({tuple(ax.images[0].get_clim()) for ax in own.axes if ax.images}) == 2


def test_legends_sit_below_the_panels_and_do_not_squeeze_them():
    runs = {f"run {i}": pd.DataFrame({"step": range(5), "loss": np.arange(5) * i, "acc": np.ones(5)})
            for i in range(6)}
    fig = plotting.step_curves(runs, {"loss": "loss", "acc": "accuracy"})
    fig.canvas.draw()
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    legend_top = fig.legends[0].get_window_extent().y1
    for ax in fig.axes:
        box = ax.get_window_extent()
        assert box.y0 >= legend_top - 1                                     # below the panels, not over them
        assert box.width > 0.3 * fig.bbox.width                             # each of two panels keeps its width


def test_a_table_reads_for_a_room_numbers_booleans_wrapped_text():
    import pandas as pd

    from helpers import plotting as p

    df = pd.DataFrame({"eps": [0.1, 0.3], "accuracy": [0.9341, 0.05], "passed": [True, False],
                       "images": [1000, 200], "numbers": ["a long sentence " * 6, "short"]})
    shown = p.table(df, percent=["accuracy"], index=False)
    cells = shown.formatted()
    assert list(cells["eps"]) == ["0.1", "0.3"] and list(cells["accuracy"]) == ["93.4%", "5.0%"]
    assert list(cells["passed"]) == ["✓", "✗"] and list(cells["images"]) == ["1,000", "200"]
    html = shown._repr_html_()
    assert "white-space: normal" in html and "0.100000" not in html and "✓" in html
    assert "Styler" not in repr(shown) and "93.4%" in repr(shown)
    with pytest.raises(KeyError, match="no column"):
        p.table(df, percent=["nope"])
    wide = pd.DataFrame([[0.5, 0.25]], index=[0.1], columns=pd.MultiIndex.from_tuples([("FGSM", 0.1), ("PGD", 0.3)]))
    shown = p.table(wide, percent=True).formatted()
    assert list(shown.columns) == [("FGSM", "0.1"), ("PGD", "0.3")] and list(shown.index) == ["0.1"]
    assert list(shown.iloc[0]) == ["50.0%", "25.0%"]
