"""Progress bars for the lessons: tqdm's text bars, written to standard output.

Text, not widgets. A widget bar (``tqdm.auto`` in Jupyter) shows as "Error displaying widget: model not
found" in a lesson saved and opened again without its kernel, freezes at "0/1" in a slideshow and on the
website, and needs JavaScript from the internet there. A text bar is plain output: it updates in place in
JupyterLab and stays readable wherever the lesson is shown. Bars redraw at most once per
``config.PROGRESS_INTERVAL_S`` seconds (see notebooks/conftest.py for why).
"""
from __future__ import annotations

import sys

from tqdm import tqdm as _text_tqdm

from .config import PROGRESS_INTERVAL_S

__all__ = ["bar", "tqdm_class"]


def bar(iterable=None, **kwargs) -> _text_tqdm:
    """A text progress bar (``tqdm.tqdm``) on standard output; keyword arguments go to tqdm."""
    _defaults(kwargs)
    return _text_tqdm(iterable, **kwargs)


def _defaults(kwargs: dict) -> None:
    kwargs.setdefault("file", sys.stdout)
    kwargs.setdefault("mininterval", PROGRESS_INTERVAL_S)
    kwargs.setdefault("dynamic_ncols", False)
    # a finished bar stays, saying what ran and how long it took: a bar that erases itself leaves an empty line
    kwargs.setdefault("leave", True)


class tqdm_class(_text_tqdm):  # tqdm's own naming: a class handed to code that wants one
    """:func:`bar`'s defaults as a class, for code that takes a ``tqdm_class`` (tqdm's Keras callback)."""

    def __init__(self, *args, **kwargs):
        _defaults(kwargs)
        super().__init__(*args, **kwargs)
