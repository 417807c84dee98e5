"""How long each notebook and the unit tests took in a test run, and each notebook's longest cell.

``make test`` writes ``artifacts/test-report.xml`` (quick mode); nbval reports every cell as one test, so a
notebook's time is the sum of its cells' and its longest cell is its slowest test. The class budget
(CONTRIBUTING.md): each lesson in quick mode at most 2 minutes once its models are saved, no cell over 60 s.

    .venv/bin/python benchmarks/notebook_times.py [artifacts/test-report.xml ...]

With several reports (for example one per notebook), their rows are put together.
"""
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSON_SECONDS, CELL_SECONDS = 120, 60


def _part(case) -> str:
    name = case.get("classname", "") + "::" + case.get("name", "")
    return next((part for part in name.replace("/", ".").split(".") if part[:2].isdigit() and "_" in part),
                "unit tests")


def times(report: Path) -> dict:
    """``{part: seconds}``: each notebook's total time and the unit tests' total, in name order."""
    return {part: row["seconds"] for part, row in cells(report).items()}


def cells(report: Path) -> dict:
    """``{part: {"seconds": total, "longest": seconds of its slowest test, "longest_name": that test}}``."""
    rows = defaultdict(lambda: {"seconds": 0.0, "longest": 0.0, "longest_name": ""})
    for case in ET.parse(report).getroot().iter("testcase"):
        row, seconds = rows[_part(case)], float(case.get("time", 0.0))
        row["seconds"] += seconds
        if seconds > row["longest"]:
            row["longest"], row["longest_name"] = seconds, case.get("name", "")
    return dict(sorted(rows.items()))


def table(rows: dict) -> str:
    """A Markdown table; a notebook over the class budget is marked."""
    lines = ["| part | seconds | minutes | longest cell (s) | that cell | within budget |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, row in rows.items():
        notebook = name != "unit tests"
        ok = row["seconds"] <= LESSON_SECONDS and row["longest"] <= CELL_SECONDS
        lines.append(f"| {name} | {row['seconds']:.0f} | {row['seconds'] / 60:.1f} | {row['longest']:.0f} | "
                     f"{row['longest_name'] if notebook else ''} | {('yes' if ok else 'NO') if notebook else ''} |")
    total = sum(r["seconds"] for r in rows.values())
    lines.append(f"| total | {total:.0f} | {total / 60:.1f} | | | |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    reports = [Path(a) for a in argv] or [ROOT / "artifacts" / "test-report.xml"]
    rows = {}
    for report in reports:
        if not report.is_file():
            raise SystemExit(f"no JUnit report at {report}: run `make test` first (it writes one)")
        rows.update(cells(report))
    print(table(dict(sorted(rows.items()))))
    print(f"budget: each lesson at most {LESSON_SECONDS} s once its models are saved, no cell over {CELL_SECONDS} s")


if __name__ == "__main__":
    main()
