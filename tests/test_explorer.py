"""The class's interactive attack explorer: draws headless, redraws when a control moves, refuses bad input."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from helpers import data, explorer


@pytest.fixture(scope="module")
def ui():
    model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)],
                                name="tiny")
    other = tf.keras.models.clone_model(model)
    x, y = data.load_normalized("test", limit=10, verbose=False)
    return explorer.AttackExplorer({"tiny": model, "other": other}, x, y)


def test_draw_shows_digit_attack_perturbation_and_every_model(ui):
    fig = ui.draw(index=3, attack="PGD-20", eps=0.3)
    titles = [ax.get_title() for ax in fig.axes]
    assert f"clean, true class {ui.y[3]}" in titles and "PGD-20, eps 0.30" in titles and "perturbation" in titles
    delta = ui.attacked(3, "PGD-20", 0.3) - ui.x[3:4]
    assert np.abs(delta).max() <= 0.3 + 1e-6 and np.abs(delta).max() > 0.1
    bars = next(ax for ax in fig.axes if ax.get_xlabel() == "probability of the predicted class")
    assert [t.get_text() for t in bars.get_yticklabels()] == ["tiny (source)", "other"]
    assert len(bars.patches) == 4                                   # clean and attacked, for each model
    plt.close(fig)


def test_eps_zero_leaves_the_digit_alone(ui):
    np.testing.assert_array_equal(ui.attacked(0, "FGSM", 0.0), ui.x[:1])


def test_controls_draw_once_then_redraw_when_a_slider_moves(ui):
    box = ui.controls()
    index, attack, eps = box.children[0].children
    first = ui.figure
    assert first is not None and "eps 0.20" in first._suptitle.get_text()
    eps.value = 0.1
    assert ui.figure is not first and "eps 0.10" in ui.figure._suptitle.get_text()
    attack.value = "PGD-20"
    index.value = 2
    assert "test image 2: PGD-20" in ui.figure._suptitle.get_text()


def test_bad_input_is_named(ui):
    with pytest.raises(ValueError, match="index must be in 0..9"):
        ui.attacked(10, "FGSM", 0.1)
    with pytest.raises(ValueError, match="unknown attack 'CW'"):
        ui.attacked(0, "CW", 0.1)
    with pytest.raises(ValueError, match="explorer.AttackExplorer: images have shape"):
        explorer.AttackExplorer(ui.models, ui.x[..., 0], ui.y)
    with pytest.raises(ValueError, match="source 'robust' is not one of"):
        explorer.AttackExplorer(ui.models, ui.x, ui.y, source="robust")


def test_controls_start_where_the_static_drawing_above_them_is(ui):
    box = ui.controls(index=3, attack="PGD-20", eps=0.3)
    index, attack, eps = box.children[0].children
    assert (index.value, attack.value, eps.value) == (3, "PGD-20", 0.3)
    assert "test image 3: PGD-20" in ui.figure._suptitle.get_text() and "eps 0.30" in ui.figure._suptitle.get_text()
    with pytest.raises(ValueError, match="attack must be one of FGSM, PGD-20"):
        ui.controls(attack="CW")
    with pytest.raises(ValueError, match="index must be in 0..9"):
        ui.controls(index=10)


def test_one_figure_and_none_left_for_the_notebook_to_show_again(ui):
    """The doubled figure of lesson 03: the explorer never leaves a pyplot figure for Jupyter to show after the
    cell, so its own figure is the only one, before and after a control moves."""
    plt.close("all")
    box = ui.controls(index=1, attack="FGSM", eps=0.1)
    first = box.png
    assert plt.get_fignums() == [] and first
    box.children[0].children[2].value = 0.3
    assert plt.get_fignums() == [] and box.png != first and "eps 0.30" in box.text
    assert len(box.out.outputs) == 1 and box.out.outputs[0]["data"]["text/plain"] == box.text


def test_where_widgets_cannot_run_the_output_is_the_figure_and_what_it_shows(ui):
    import base64
    import io

    from PIL import Image

    box = ui.controls(index=2, attack="PGD-20", eps=0.2)
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    image = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert image.size[0] > 600 and image.mode in ("RGB", "RGBA")
    text = bundle["text/plain"]
    assert text.startswith("attack explorer: test image 2: PGD-20 at L-inf eps 0.20, crafted on tiny")
    assert f"(true class {ui.y[2]})" in text and "tiny: clean says" in text and "other: clean says" in text
    assert box.readout.value.count(text.removeprefix("attack explorer: ")) == 1


def test_the_readout_names_the_predicted_and_the_true_class(ui):
    sentence = ui.describe(index=4, attack="FGSM", eps=0.0)
    label = ui.y[4]
    said = int(np.argmax(ui.predictions(ui.x[4:5])["tiny"]))
    probability = ui.predictions(ui.x[4:5])["tiny"]
    expected = f"says {said} ({probability[said]:.0%}" + (")" if said == label else f"; true {label}: ")
    assert f"tiny: clean {expected}" in sentence
