#!/usr/bin/env python3
"""Build the course as a static website with Jupyter Book: every lesson, executed in quick mode, in order.

    python tools/book.py                 # execute the lessons (quick mode), then build: build/book/_build/html
    python tools/book.py --no-execute    # build from the lessons as committed (no outputs), in a minute

``make book`` runs the first. The lessons are copied to ``<out>/src/`` with ``docs/_config.yml``,
``docs/intro.md`` and ``docs/instructor.md``; the table of contents is written there from ``notebooks/`` in
lesson order (so a new lesson appears without editing a list); each lesson is executed in its own kernel
with ``ADVLAB_QUICK=1`` (models come from the zoo: run ``make models`` first for a quick build); then
``jupyter-book build`` makes the HTML. The build checks that the site's table of contents lists every lesson
and exits non-zero when it does not.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def lessons(folder: Path = REPO / "notebooks") -> list[Path]:
    """The lesson notebooks, in order (``NN_name.ipynb``)."""
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no lessons (NN_name.ipynb) in {folder}")
    return found


def title(notebook: Path) -> str:
    """A lesson's title: its first ``# `` heading."""
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError(f"{notebook} has no '# ' title")


def write_sources(src: Path) -> list[Path]:
    """Copy configuration, pages and lessons into ``src`` and write its ``_toc.yml``; return the lessons there."""
    if src.exists():
        shutil.rmtree(src)
    (src / "lessons").mkdir(parents=True)
    for name in ("_config.yml", "intro.md", "instructor.md", "reference.md"):
        shutil.copy(DOCS / name, src / name)
    shutil.copy(REPO / "README.md", src / "README.md")      # the lessons link to its sections
    copied = []
    for notebook in lessons():
        copied.append(Path(shutil.copy(notebook, src / "lessons" / notebook.name)))
    toc = ["format: jb-book", "root: intro", "parts:", "  - caption: Lessons", "    chapters:"]
    toc += [f"      - file: lessons/{nb.stem}" for nb in copied]
    toc += ["  - caption: Teaching and reference", "    chapters:", "      - file: instructor", "      - file: reference",
            "      - file: README"]
    (src / "_toc.yml").write_text("\n".join(toc) + "\n")
    return copied


def execute(notebook: Path, timeout: int = 600) -> float:
    """Run ``notebook`` in place in quick mode, in its own kernel, from the lessons' folder; returns seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    os.environ["ADVLAB_QUICK"] = "1"
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    nbformat.write(nb, notebook)
    return time.perf_counter() - start


_WARNING = re.compile(r"(?:^WARNING:[\w.]+:|\b\w*Warning: )(?P<message>.+)$")


def unexplained_warnings(notebook: Path) -> list[str]:
    """The library warnings an executed lesson printed (stderr) that none of its Markdown cells quotes.

    A lesson may let a warning through only where it explains it: its Markdown must contain the warning's
    message (its first 30 characters, after the ``WARNING:logger:`` or ``SomethingWarning:`` prefix).
    """
    cells = json.loads(notebook.read_text())["cells"]
    prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    found = []
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream" or output.get("name") != "stderr":
                continue
            for line in "".join(output["text"]).replace("\r", "\n").splitlines():
                match = _WARNING.search(line.strip())
                if match and match["message"].strip()[:30] not in prose and line.strip() not in found:
                    found.append(line.strip())
    return found


def build(out: Path, *, run: bool = True) -> Path:
    """Build the site under ``out``; returns the HTML folder. Raises ``RuntimeError`` if a lesson is missing."""
    src = out / "src"
    copied = write_sources(src)
    if run:
        from tqdm.auto import tqdm

        for notebook in tqdm(copied, desc="executing lessons (quick mode)", unit="lesson"):
            seconds = execute(notebook)
            tqdm.write(f"{notebook.name}: {seconds:.0f} s")
        unexplained = {nb.name: unexplained_warnings(nb) for nb in copied}
        unexplained = {name: lines for name, lines in unexplained.items() if lines}
        if unexplained:
            raise RuntimeError("warnings a lesson lets through without explaining them in its Markdown:\n" +
                               "\n".join(f"  {name}: {line}" for name, lines in unexplained.items() for line in lines))
    html = out / "_build" / "html"
    if html.exists():
        shutil.rmtree(html)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "--path-output", str(out),
               "--quiet"]
    subprocess.run(command, check=True)
    check(html, copied)
    return html


def check(html: Path, copied: list[Path]) -> None:
    """Every lesson has a page, and the home page's table of contents links each one by its title."""
    index = (html / "intro.html").read_text()
    missing = [nb.stem for nb in copied
               if not (html / "lessons" / f"{nb.stem}.html").is_file() or f"lessons/{nb.stem}.html" not in index]
    if missing:
        raise RuntimeError(f"the site's table of contents lacks {', '.join(missing)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="build from the lessons as committed")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "book", help="build folder (default build/book)")
    args = parser.parse_args(argv)
    html = build(args.out, run=not args.no_execute)
    print(f"site: {html / 'index.html'} ({len(lessons())} lessons)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
