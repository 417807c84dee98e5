"""Progress bars are text on standard output, never widgets: they survive saving, slides and the website."""
import io
import sys

import tqdm.notebook

from helpers import progress, training


def test_a_bar_is_text_on_stdout_even_in_a_notebook(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with progress.bar(range(3), desc="attacking", mininterval=0) as bar:
        for _ in bar:
            pass
    assert not isinstance(bar, tqdm.notebook.tqdm)
    text = out.getvalue()
    assert "attacking" in text and "3/3" in text and "\r" in text


def test_training_bars_use_the_text_class():
    (callback,) = training.progress_bar(verbose=1)
    assert isinstance(callback.epoch_bar, progress.tqdm_class)
    assert not isinstance(callback.epoch_bar, tqdm.notebook.tqdm)
    callback.epoch_bar.close()
    assert training.progress_bar(verbose=0) == []
