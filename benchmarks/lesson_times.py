#!/usr/bin/env python3
"""How long each lesson takes top to bottom in a fresh kernel, and what it had to train: one JSON per mode.

Each lesson runs alone (nbclient, a new kernel, the course's own environment variables), the way a student
opens it. In full mode it reads full MNIST from ``ADVLAB_DATA_DIR`` and its models from the artifacts folders,
then ``shipped_models/``: run it with an empty ``--artifacts`` folder to time what a student who has only
cloned the course waits for. The models named in the zoo's ``training``, ``saved`` and ``loaded`` lines are
kept, so the JSON says what a lesson still trains (through the zoo, or by its own code, as lessons 02 and 04
do: training is what they teach) and what it loaded from where.

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/lesson_times.py --mode full \\
        --artifacts /tmp/empty-artifacts [--lessons 02 03] [--write]

``--write`` saves ``benchmarks/results/lesson_times-<mode>-mode.json`` (merged with the lessons it already
holds); ``benchmarks/report.py --write`` renders its minutes into README.md's lesson table. Prints the
numbers; asserts nothing.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TRAINED = re.compile(r"zoo: training '([^']+)'")
SAVED = re.compile(r"zoo: saved '([^']+)'")
LOADED = re.compile(r"zoo: loaded '([^']+)' \(([^)]*)\) from (.+?)(?: \(shipped with the course\))?$", re.M)


def results_file(mode: str) -> Path:
    return RESULTS / f"lesson_times-{mode}-mode.json"


def run_lesson(path: Path, env: dict, timeout: int) -> dict:
    """Execute one lesson in a fresh kernel; its seconds, its slowest cell, and what it trained and loaded."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    cell_seconds, error = [], None
    start = time.perf_counter()
    with client.setup_kernel(env=dict(os.environ, **env)):   # the kernel's environment; this process's is untouched
        for index, cell in enumerate(notebook.cells):
            began = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except Exception as failure:  # the lesson stopped: say where, keep the time so far
                error = f"cell {index}: {type(failure).__name__}: {str(failure).splitlines()[-1][:200]}"
                break
            finally:
                cell_seconds.append(time.perf_counter() - began)
    text = "\n".join("".join(o.get("text", "")) for c in notebook.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if o.get("output_type") == "stream")
    shipped = {m.group(1) for m in re.finditer(r"zoo: loaded '([^']+)'.*\(shipped with the course\)", text)}
    longest = max(range(len(cell_seconds)), key=cell_seconds.__getitem__) if cell_seconds else None
    return {
        "seconds": round(time.perf_counter() - start, 1),
        "longest_cell": longest, "longest_cell_seconds": round(cell_seconds[longest], 1) if cell_seconds else None,
        "code_cell_seconds": [round(s, 1) for s, c in zip(cell_seconds, notebook.cells) if c.cell_type == "code"],
        "trained": sorted(set(TRAINED.findall(text))),                                 # by the zoo
        "trained_in_lesson": sorted(set(SAVED.findall(text)) - set(TRAINED.findall(text))),  # by the lesson's code
        "loaded_shipped": sorted(shipped),
        "loaded_artifacts": sorted({m.group(1) for m in LOADED.finditer(text)} - shipped),
        "error": error,
    }


def write(args, argv, rows: dict) -> Path:
    """Merge ``rows`` into ``lesson_times-<mode>-mode.json`` (after each lesson, so a stopped run keeps them)."""
    target = results_file(args.mode)
    kept = json.loads(target.read_text()) if target.is_file() else {"lessons": {}}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    for number, row in rows.items():
        kept["lessons"][number] = dict(row, measured=datetime.date.today().isoformat(), commit=commit)
    kept["lessons"] = dict(sorted(kept["lessons"].items()))
    kept.update(mode=args.mode, machine=f"{platform.machine()}, {os.cpu_count()} CPU cores",
                data="full MNIST from a local folder (ADVLAB_DATA_DIR)" if args.mode == "full" else "the sample",
                artifacts="an empty folder per lesson: only the shipped models" if args.artifacts
                else "the default artifacts folder",
                command="benchmarks/lesson_times.py " + " ".join(
                    "EMPTY" if a == args.artifacts else a for a in (argv if argv is not None else sys.argv[1:])),
                context=args.context)
    target.write_text(json.dumps(kept, indent=1) + "\n")
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("quick", "full"), default="full")
    parser.add_argument("--lessons", nargs="*", metavar="NN", help="two-digit lesson numbers (default: all)")
    parser.add_argument("--artifacts", help="an empty folder: each lesson gets an artifacts folder of its own in "
                                            "it, so it finds only the shipped models")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take (default 3600)")
    parser.add_argument("--context", default="", help="a sentence on the conditions (a quiet machine?)")
    parser.add_argument("--write", action="store_true",
                        help="merge into benchmarks/results/lesson_times-<mode>-mode.json")
    args = parser.parse_args(argv)

    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        unknown = set(args.lessons) - {p.name[:2] for p in lessons}
        if unknown:
            parser.error(f"no lesson {', '.join(sorted(unknown))}; there are {', '.join(p.name[:2] for p in lessons)}")
        lessons = [p for p in lessons if p.name[:2] in args.lessons]
    if args.mode == "full" and not os.environ.get("ADVLAB_DATA_DIR"):
        parser.error("full mode needs full MNIST: set ADVLAB_DATA_DIR to the folder with mnist.npz")
    env = {"ADVLAB_QUICK": "1" if args.mode == "quick" else "0", "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows = {}
    for path in lessons:
        if args.artifacts:            # a folder of its own per lesson: nothing one lesson saves helps the next
            env["ADVLAB_ARTIFACTS"] = str(Path(args.artifacts).resolve() / path.stem)
        row = run_lesson(path, env, args.timeout)
        rows[path.name[:2]] = dict(row, lesson=path.stem)
        print(f"{path.stem:28s} {row['seconds'] / 60:5.1f} min, slowest cell {row['longest_cell']} "
              f"({row['longest_cell_seconds']} s); the zoo trained: {', '.join(row['trained']) or 'nothing'}; "
              f"the lesson trained: {', '.join(row['trained_in_lesson']) or 'nothing'}; "
              f"shipped models loaded: {len(row['loaded_shipped'])}"
              + (f"; STOPPED: {row['error']}" if row["error"] else ""), flush=True)
        print("  code cells, seconds:", " ".join(f"{s:g}" for s in row["code_cell_seconds"]), flush=True)
        if args.write:
            print(f"wrote {write(args, argv, {path.name[:2]: rows[path.name[:2]]}).relative_to(ROOT)}", flush=True)

    return 0


if __name__ == "__main__":
    sys.exit(main())
