"""The course website: tools/book.py builds every lesson into a Jupyter Book site with a table of contents."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("book", REPO / "tools" / "book.py")
book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book)


def test_the_site_builds_and_its_table_of_contents_lists_every_lesson_in_order(tmp_path):
    html = book.build(tmp_path / "site", run=False)
    index = (html / "docs" / "intro.html").read_text()
    lessons = book.lessons()
    assert len(lessons) == 9
    positions = [index.index(f"notebooks/{nb.stem}.html") for nb in lessons]
    assert positions == sorted(positions), "the table of contents is not in lesson order"
    for nb in lessons:
        page = (html / "notebooks" / f"{nb.stem}.html").read_text()
        assert book.title(nb).split("·")[-1].strip()[:20] in page
    assert (html / "docs" / "instructor.html").is_file()


def test_the_answers_stay_off_the_site_and_the_slide_notes_name_real_slides():
    import re
    pages = book.site_pages()
    assert "docs/slides.html" in pages and not any("answers" in p for p in pages), \
        "docs/answers.md is for instructors: no page of the site may link to it"
    notes = (REPO / "docs" / "slides.md").read_text()
    sections = re.split(r"^## (\d\d) · .*$", notes, flags=re.M)
    assert [sections[k] for k in range(1, len(sections), 2)] == [nb.name[:2] for nb in book.lessons()], \
        "docs/slides.md has one section per lesson, in order"
    for number, body in zip(sections[1::2], sections[2::2]):
        markdown = book._markdown_of(next(nb for nb in book.lessons() if nb.name.startswith(number)))
        for name in re.findall(r"^- \*\*(.+?)\*\*", body, flags=re.M):
            name = name.rstrip(".").split(" ... ")[0]
            assert name in markdown or name.split(";")[0] in markdown, f"{number}: no slide named {name!r}"


def test_the_check_fails_when_a_lesson_is_missing(tmp_path):
    html = book.build(tmp_path / "site", run=False)
    (html / "notebooks" / f"{book.lessons()[3].stem}.html").unlink()
    with pytest.raises(RuntimeError, match=book.lessons()[3].stem):
        book.check(html, [tmp_path / nb.name for nb in book.lessons()])


def test_execute_runs_a_notebook_in_quick_mode_and_keeps_its_outputs(tmp_path):
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": "code", "id": "a", "metadata": {}, "execution_count": None, "outputs": [],
                   "source": "import os; print('quick', os.environ['ADVLAB_QUICK'])"}]}))
    book.execute(notebook, timeout=120)
    outputs = json.loads(notebook.read_text())["cells"][0]["outputs"]
    assert outputs and "quick 1" in "".join(outputs[0]["text"])


def test_a_warning_a_lesson_prints_must_be_explained_in_its_markdown(tmp_path):
    def lesson(markdown):
        notebook = tmp_path / "lesson.ipynb"
        notebook.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": markdown},
            {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 1, "source": "x", "outputs": [
                {"output_type": "stream", "name": "stderr",
                 "text": "progress 10%|#\rWARNING:absl:Cannot perturb non-Tensor input: dict_keys(['label'])\n"
                         "/x.py:3: UserWarning: something odd happened\n"}]}]}))
        return notebook

    found = book.unexplained_warnings(lesson("Nothing said."))
    assert found == ["WARNING:absl:Cannot perturb non-Tensor input: dict_keys(['label'])",
                     "/x.py:3: UserWarning: something odd happened"]
    explained = lesson("NSL prints `Cannot perturb non-Tensor input: ...` because ...; "
                       "and something odd happened, because ...")
    assert book.unexplained_warnings(explained) == []
