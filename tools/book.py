#!/usr/bin/env python3
"""Build the course as a static website with Jupyter Book: every lesson, executed in quick mode, in order.

    python tools/book.py                 # execute the lessons (quick mode), then build: build/book/_build/html
    python tools/book.py --no-execute    # build from the lessons as committed (no outputs), in a minute
    python tools/book.py --executed DIR  # build from lessons already executed (nbval's copies: artifacts/executed)

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


# Environment variables that override docs/_config.yml when the site is built: (variable, keys in the config).
CONFIG_OVERRIDES = {
    "ADVLAB_REPOSITORY_URL": ("repository", "url"),
    "ADVLAB_JUPYTERHUB_URL": ("launch_buttons", "jupyterhub_url"),
    "ADVLAB_BINDERHUB_URL": ("launch_buttons", "binderhub_url"),
}


def site_config() -> dict:
    """``docs/_config.yml`` with the overrides of :data:`CONFIG_OVERRIDES` from the environment applied."""
    import yaml

    config = yaml.safe_load((DOCS / "_config.yml").read_text())
    for variable, (section, key) in CONFIG_OVERRIDES.items():
        if os.environ.get(variable):
            config.setdefault(section, {})[key] = os.environ[variable]
    return config


def write_config(src: Path) -> None:
    """The site's ``_config.yml``, and MathJax in ``_static/mathjax`` (from jupyter-server-mathjax) so that the
    maths renders with no internet."""
    import yaml

    import mathjax      # MathJax 3's files, from the django-static-mathjax package (it needs nothing else)

    # Not in _static: Jupyter Book adds every script found there to every page. Sphinx copies the contents of
    # _vendor into the site's _static, where docs/_config.yml's mathjax_path finds it.
    shutil.copytree(Path(mathjax.__file__).parent / "static" / "mathjax" / "es5", src / "_vendor" / "mathjax")
    shutil.copy(DOCS / "favicon.svg", src / "favicon.svg")
    shutil.copy(DOCS / "site.css", src / "_vendor" / "advlab.css")        # the site's own styles (html_css_files)
    config = site_config()
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["html_static_path"] = ["_vendor"]
    sphinx["html_css_files"] = ["advlab.css"]
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))


# The site's pages besides the lessons, at their places in the repository (the site mirrors its layout, so that
# every relative link between pages, and from a lesson to a page, works as it does on GitHub).
PAGES = ["docs/intro.md", "docs/instructor.md", "docs/slides.md", "docs/reference.md", "README.md"]
_LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s#]+)(?:#[^)\s]*)?\)")


def _markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                         if c["cell_type"] == "markdown")
    return path.read_text()


def linked_files(starts: list[Path] | None = None) -> list[Path]:
    """Every file of the repository a page links to (relative links), following links between Markdown pages.

    The site includes them: a Markdown file becomes a page, any other file a download, so no link leads nowhere.
    """
    queue = list(starts or [REPO / p for p in PAGES] + lessons())
    seen, found = {p.resolve() for p in queue}, []
    while queue:
        page = queue.pop(0)
        for target in _LINK.findall(_markdown_of(page)):
            path = (page.parent / target).resolve()
            if not path.is_file() or REPO not in path.parents or path in seen:
                continue
            seen.add(path)
            found.append(path)
            if path.suffix == ".md":
                queue.append(path)
    return sorted(found)


def site_pages() -> list[str]:
    """The HTML pages the site has, relative to its root: the pages, the lessons, then the linked Markdown files."""
    extra = [p.relative_to(REPO).as_posix() for p in linked_files() if p.suffix == ".md"]
    return [str(Path(p).with_suffix(".html")) for p in PAGES + [f"notebooks/{nb.name}" for nb in lessons()] + extra]


def write_sources(src: Path, executed: Path | None = None) -> list[Path]:
    """Copy configuration, pages, lessons and linked files into ``src`` (mirroring the repository) and write its
    ``_toc.yml``; return the lessons there.

    ``executed``: a folder holding every lesson already executed (same file names), copied instead of the
    committed lessons.
    """
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    write_config(src)
    extra = []
    for path in [REPO / p for p in PAGES] + linked_files():
        relative = path.relative_to(REPO)
        if relative.suffix == ".ipynb":
            continue
        (src / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, src / relative)
        if relative.suffix == ".md" and relative.as_posix() not in PAGES:
            extra.append(relative.with_suffix("").as_posix())
    shutil.copy(REPO / "notebooks" / "rise.css", src / "notebooks" / "rise.css")
    copied = []
    for notebook in lessons():
        origin = notebook if executed is None else Path(executed) / notebook.name
        if not origin.is_file():
            raise FileNotFoundError(f"{origin}: no executed copy of {notebook.name} in {executed}")
        copied.append(Path(shutil.copy(origin, src / "notebooks" / notebook.name)))
    toc = ["format: jb-book", "root: docs/intro", "parts:", "  - caption: Lessons", "    chapters:"]
    toc += [f"      - file: notebooks/{nb.stem}" for nb in copied]
    toc += ["  - caption: Teaching and reference", "    chapters:"]
    toc += [f"      - file: {Path(p).with_suffix('').as_posix()}" for p in PAGES[1:]]
    if extra:
        toc += ["  - caption: Results and more", "    chapters:"] + [f"      - file: {p}" for p in extra]
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


def build(out: Path, *, run: bool = True, executed: Path | None = None) -> Path:
    """Build the site under ``out``; returns the HTML folder. Raises ``RuntimeError`` if a lesson is missing.

    ``run``: execute the lessons first (quick mode). ``executed``: a folder of lessons executed already (then
    nothing runs); either way a warning a lesson prints without explaining it fails the build.
    """
    src = out / "src"
    copied = write_sources(src, executed)
    if run and executed is None:
        from tqdm.auto import tqdm

        for notebook in tqdm(copied, desc="executing lessons (quick mode)", unit="lesson"):
            seconds = execute(notebook)
            tqdm.write(f"{notebook.name}: {seconds:.0f} s")
    if run or executed is not None:
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
    point_hub_buttons(html)
    check(html, copied)
    return html


# On the course's JupyterHub every student already has a copy of the lessons in ~/advlab (classroom/
# jupyterhub_config.py gives it at first login), so a lesson's JupyterHub button opens that copy; the theme's
# own button would clone the repository with nbgitpuller, which the course's hub does not need.
HUB_LESSONS_FOLDER = "advlab"
_GIT_PULL = re.compile(r'(/hub/user-redirect/)git-pull\?[^"]*?urlpath=lab/tree/'
                       r'[^"&]*?/?notebooks/([^"&/]+\.ipynb)[^"]*')


def point_hub_buttons(html: Path) -> int:
    """Make every lesson page's JupyterHub launch button open the student's own copy; returns how many changed."""
    changed = 0
    for page in (html / "notebooks").glob("*.html"):
        text = page.read_text()
        new, count = _GIT_PULL.subn(rf"\1lab/tree/{HUB_LESSONS_FOLDER}/\2", text)
        if count:
            page.write_text(new)
            changed += count
    return changed


def check(html: Path, copied: list[Path]) -> None:
    """Every lesson has a page, and the home page's table of contents links each one by its title."""
    index = (html / "docs" / "intro.html").read_text()
    missing = [nb.stem for nb in copied
               if not (html / "notebooks" / f"{nb.stem}.html").is_file() or f"notebooks/{nb.stem}.html" not in index]
    if missing:
        raise RuntimeError(f"the site's table of contents lacks {', '.join(missing)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="build from the lessons as committed")
    parser.add_argument("--executed", type=Path, metavar="DIR",
                        help="build from lessons already executed in DIR (nbval writes them to artifacts/executed)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "book", help="build folder (default build/book)")
    args = parser.parse_args(argv)
    html = build(args.out, run=not args.no_execute, executed=args.executed)
    print(f"site: {html / 'index.html'} ({len(lessons())} lessons)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
