#!/usr/bin/env python3
"""The numbers each lesson measured in one run: what its Summary's "Measured in this run" cell printed.

nbval writes every lesson it runs, with its outputs, to ``artifacts/executed/`` (notebooks/conftest.py); this
script reads each lesson's Summary cell there and keeps its lines, so that the instructor's guide can say what a
class should expect to see (quick mode) without a number typed by hand:

    .venv/bin/python benchmarks/lesson_numbers.py [--executed artifacts/executed] [--write]

``--write`` saves ``benchmarks/results/lesson_numbers-<mode>.json``; then ``benchmarks/report.py --write``
renders it into docs/instructor.md. Prints the numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def summary_lines(notebook: dict) -> list[str]:
    """The bullet lines of the output of the code cell in a lesson's ``## Summary`` section."""
    inside = False
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.match(r"\s*## ", source):
            inside = source.lstrip().startswith("## Summary")
            continue
        if inside and cell["cell_type"] == "code":
            for output in cell.get("outputs", []):
                text = "".join(output.get("data", {}).get("text/markdown", ""))
                if text:
                    return [line[2:].strip() for line in text.splitlines() if line.startswith("- ")]
    return []


def title(notebook: dict) -> str:
    first = "".join(notebook["cells"][0]["source"]).splitlines()[0]
    return first.lstrip("# ").strip()


def collect(folder: Path) -> dict:
    lessons = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        notebook = json.loads(path.read_text())
        meta = notebook.get("metadata", {}).get("advlab", {})
        lessons[path.name[:2]] = {"title": title(notebook), "points": summary_lines(notebook),
                                  "complete": bool(meta.get("complete"))}
    return lessons


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=ROOT / "artifacts" / "executed",
                        help="the executed lessons (default artifacts/executed, where nbval writes them)")
    parser.add_argument("--mode", default="quick", choices=("quick", "full"), help="the mode they ran in")
    parser.add_argument("--write", action="store_true", help="save benchmarks/results/lesson_numbers-MODE.json")
    args = parser.parse_args(argv)
    lessons = collect(args.executed)
    if not lessons:
        parser.error(f"no executed lessons in {args.executed}: run `make test` (or nbval on the lessons) first")
    for number, lesson in lessons.items():
        print(f"{number} · {lesson['title']}" + ("" if lesson["complete"] else " (incomplete run)"))
        for point in lesson["points"]:
            print(f"  - {point}")
    if args.write:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        payload = {"benchmark": "lesson_numbers", "mode": args.mode,
                   "measured": f"{datetime.date.today()}, commit {commit}, {platform.machine()}, "
                               f"{os.cpu_count()} CPU cores",
                   "lessons": lessons}
        target = ROOT / "benchmarks" / "results" / f"lesson_numbers-{args.mode}.json"
        target.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
