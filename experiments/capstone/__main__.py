"""``python -m experiments.capstone``: print every spec as a Markdown table; ``--write`` puts it in README.md."""
import argparse
import sys
from pathlib import Path

import helpers  # noqa: F401  (before TensorFlow)

from . import table

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- specs: begin (python -m experiments.capstone --write) -->", "<!-- specs: end -->"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.capstone",
                                     description="Print every capstone spec as a Markdown table.")
    parser.add_argument("--write", action="store_true", help=f"replace the table between the markers of {README}")
    args = parser.parse_args(argv)
    text = table()
    if not args.write:
        print(text)
        return 0
    readme = README.read_text()
    if BEGIN not in readme or END not in readme:
        parser.error(f"{README} has no {BEGIN} ... {END} markers")
    head, rest = readme.split(BEGIN, 1)
    README.write_text(f"{head}{BEGIN}\n{text}\n{END}{rest.split(END, 1)[1]}")
    print(f"wrote the runs of experiments.capstone to {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
