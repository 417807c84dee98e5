"""Every lesson as a RISE slideshow on a 1280 x 720 projector: the slides the metadata promises, none empty,
none running off the screen, and every sentence about an output on the slide that shows that output.

The slideshow is the executed lesson (nbval's copy), as an instructor presents it after running it once.
A screenshot of every slide goes to ``artifacts/browser/slides/<lesson>/``.
"""
from __future__ import annotations

import json
import re

import pytest

from browser_support import LESSONS, load_tool, shots_dir

slides = load_tool("slides")

# An exercise as rendered: "2. A single-step model's landscape. ..." (its source opens with **2.)
EXERCISE_TEXT = re.compile(r"\s*\d+\.\s")
# A sentence that points back at an output ("printed above", "the figure above"), as tools/slides.py reads it.
ABOVE = slides.POINTS_ABOVE

MEASURE = """() => {
  const reveal = document.querySelector('.reveal').getBoundingClientRect();
  const leaf = [...document.querySelectorAll('.reveal .slides section.present')]
      .find(s => !s.querySelector(':scope > section'));
  if (!leaf) return null;
  const cells = [...leaf.querySelectorAll(':scope .jp-Cell')];
  const all = [...document.querySelectorAll('.reveal .slides .jp-Cell')];
  let bottom = 0, right = 0;
  const wide = [];
  for (const el of leaf.querySelectorAll('.jp-Cell, .jp-OutputArea-output, img, .cm-line, table')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    bottom = Math.max(bottom, r.bottom);
    right = Math.max(right, r.right);
  }
  for (const el of leaf.querySelectorAll('.cm-scroller, .jp-OutputArea-output pre, .jp-RenderedHTMLCommon')) {
    const clips = getComputedStyle(el).overflowX !== 'visible';      // content beyond it is cut off or scrolls
    if (clips && el.scrollWidth > el.clientWidth + 2) {
      const edge = el.getBoundingClientRect().right + 2;
      const inner = [...el.querySelectorAll('*')].find(e => e.getBoundingClientRect().right > edge);
      wide.push(`${el.className.split(' ')[0]} by ${el.scrollWidth - el.clientWidth} px` +
                (inner ? ` at <${inner.tagName.toLowerCase()}> '${inner.innerText.slice(0, 30)}'` : ''));
    }
  }
  const texts = cells.map(c => ({
    markdown: c.classList.contains('jp-MarkdownCell'),
    heading: !!c.querySelector('.jp-RenderedMarkdown > h1:first-child, .jp-RenderedMarkdown > h2:first-child'),
    text: (c.querySelector('.jp-RenderedMarkdown') || {}).innerText || '',
    source: ((c.querySelector('.cm-content') || c.querySelector('.jp-RenderedMarkdown') || {}).innerText || '')
              .trim().slice(0, 60),
    outputs: c.querySelectorAll('.jp-OutputArea-output').length,
    index: all.indexOf(c),
    top: c.getBoundingClientRect().top - reveal.top,
    bottom: c.getBoundingClientRect().bottom - reveal.top,
  }));
  return {id: leaf.id, text: leaf.innerText.trim(), images: leaf.querySelectorAll('img').length,
          bottom: bottom - reveal.top, right: right - reveal.left, height: reveal.height, width: reveal.width,
          wide, cells: texts};
}"""


# What a widget shows where its JavaScript is missing, and a text progress bar that never finished.
WIDGET_TEXT = ("VBox(children", "HBox(children", "IntSlider(", "FloatSlider(", "Error displaying widget",
               "model not found")
FROZEN_BAR = re.compile(r"(?<![\d.])(\d{1,2})%\|")


def expected_slides(lesson_json: dict) -> int:
    """The number of slides (and sub-slides) the lesson's cell metadata asks for."""
    types = [(c.get("metadata", {}).get("slideshow") or {}).get("slide_type") for c in lesson_json["cells"]]
    return sum(1 for t in types if t in ("slide", "subslide"))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_the_slideshow_fits_a_projector_and_keeps_each_output_with_its_words(page, lab, lesson, console):
    executed = json.loads((lab.root / "executed" / lesson.name).read_text())
    page.goto(lab.url(f"rise/executed/{lesson.name}"))
    page.wait_for_selector(".reveal .slides section.present", timeout=60_000)
    page.wait_for_timeout(1500)
    count = page.evaluate("[...document.querySelectorAll('.reveal .slides section')]"
                          ".filter(s => !s.querySelector(':scope > section')).length")
    assert count == expected_slides(executed), f"{lesson.name}: {count} slides, the metadata asks for " \
                                               f"{expected_slides(executed)}"
    folder = shots_dir("slides", lesson.stem)
    problems, measured = [], {}
    for number in range(1, count + 1):
        page.wait_for_timeout(250)
        seen = page.evaluate(MEASURE)
        assert seen is not None, f"{lesson.name}: no slide is shown at slide {number}"
        page.screenshot(path=folder / f"{number:02d}.png")
        for cell in seen["cells"]:
            measured[cell["index"]] = {"top": cell["top"], "bottom": cell["bottom"]}
        where = f"slide {number} ({seen['id']}, {' '.join(seen['text'].split())[:50]!r})"
        if not seen["text"] and not seen["images"]:
            problems.append(f"{where}: empty")
        if seen["bottom"] > seen["height"] + 1:
            first = next((c for c in seen["cells"] if c["bottom"] > seen["height"] + 1), seen["cells"][-1])
            problems.append(f"{where}: runs {seen['bottom'] - seen['height']:.0f} px below the screen, from the "
                            f"cell {first['source'][:40]!r} (split the slide there: tag it slide-break)")
        for needle in WIDGET_TEXT:
            if needle in seen["text"]:
                problems.append(f"{where}: shows a widget as text ({needle!r}): it needs a still fallback")
        for stuck in FROZEN_BAR.findall(seen["text"]):
            problems.append(f"{where}: a progress bar stopped at {stuck}%: a finished run ends at 100%")
        if seen["right"] > seen["width"] + 1 or seen["wide"]:
            problems.append(f"{where}: runs off the right edge ({', '.join(seen['wide']) or 'content'})")
        output_before = False
        for cell in seen["cells"]:       # a section's heading, or an exercise, points back at the lesson
            about_output = cell["markdown"] and not cell["heading"] and not EXERCISE_TEXT.match(cell["text"])
            if about_output and ABOVE.search(cell["text"]) and not output_before:
                problems.append(f"{where}: {' '.join(cell['text'].split())[:60]!r}... points above, but no "
                                "output is above it on this slide")
            output_before = output_before or cell["outputs"] > 0
        if number < count:
            page.keyboard.press("Space")
            page.wait_for_function(f"document.querySelector('.reveal .slides section.present') && "
                                   f"[...document.querySelectorAll('.reveal .slides section.present')]"
                                   f".find(s => !s.querySelector(':scope > section')).id !== '{seen['id']}'",
                                   timeout=10_000)
    (folder / "problems.txt").write_text("\n".join(problems) + "\n")
    # every shown cell's place on its slide: `python tools/slides.py --fit artifacts/browser/slides` reads it
    (folder / "cells.json").write_text(json.dumps({"screen": seen["height"], "cells": measured}, indent=1))
    assert not problems, f"{lesson.name} at 1280 x 720:\n" + "\n".join(problems)
