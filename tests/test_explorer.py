"""The class's interactive attack explorer: draws headless, redraws when a control moves, refuses bad input."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import data, explorer  # noqa: E402


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
    assert f"clean, true label {ui.y[3]}" in titles and "PGD-20, eps 0.30" in titles and "perturbation" in titles
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
    assert "digit 2: PGD-20" in ui.figure._suptitle.get_text()


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
    assert "digit 3: PGD-20" in ui.figure._suptitle.get_text() and "eps 0.30" in ui.figure._suptitle.get_text()
    with pytest.raises(ValueError, match="attack must be one of FGSM, PGD-20"):
        ui.controls(attack="CW")
    with pytest.raises(ValueError, match="index must be in 0..9"):
        ui.controls(index=10)
