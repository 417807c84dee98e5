"""How long each notebook and the unit tests took in a test run: a table from pytest's JUnit report.

``make test`` writes ``artifacts/test-report.xml`` (quick mode); nbval reports
every cell as one test, so a notebook's time is the sum of its cells'.

    .venv/bin/python benchmarks/notebook_times.py [artifacts/test-report.xml]
"""
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def times(report: Path) -> dict:
    totals = defaultdict(float)
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("classname", "") + "::" + case.get("name", "")
        key = next((part for part in name.replace("/", ".").split(".") if part[:2].isdigit() and "_" in part),
                   "unit tests")
        totals[key] += float(case.get("time", 0.0))
    return dict(sorted(totals.items()))


def main():
    report = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "artifacts" / "test-report.xml"
    rows = times(report)
    print("| part | seconds | minutes |\n| --- | --- | --- |")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.0f} | {seconds / 60:.1f} |")
    print(f"| total | {sum(rows.values()):.0f} | {sum(rows.values()) / 60:.1f} |")


if __name__ == "__main__":
    main()
