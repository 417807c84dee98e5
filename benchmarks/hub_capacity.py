#!/usr/bin/env python3
"""How many students one machine serves: 1, 2, 4 and 8 simulated students run a lesson at once on the course's
JupyterHub, each in their own Linux account and server (quick mode, the instructor's models shared).

    sudo .venv/bin/python benchmarks/hub_capacity.py                      # every lesson, 1 2 4 8 students
    sudo .venv/bin/python benchmarks/hub_capacity.py --lessons 03 05 --students 1 4

Per lesson and class size it measures, while the students run the lesson top to bottom through their servers'
kernel API (``classroom/client.py``, the messages JupyterLab sends):

- ``wall_s``: from the first student's start to the last student's end;
- ``kernel_cpu_s``: CPU-seconds of all the students' kernels together (``per_student_cpu_s`` per student);
- ``peak_kernel_mb``: the largest resident memory one kernel reached (sampled every 0.5 s);
- ``hub_cpu_s``: CPU-seconds of the hub itself (JupyterHub, its proxy, the idle culler) and, apart,
  ``servers_cpu_s`` of the students' Jupyter servers (not their kernels).

Writes ``benchmark hub_capacity`` JSON and Markdown to ``<artifacts>/benchmarks/`` (copy them to
``benchmarks/results/`` and run ``benchmarks/report.py --write``: the table and the sizing rule of
docs/instructor.md are generated from it). Needs root, like the class test. Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from classroom.simulate import Hub, prepare_course, student_names, why_not_here  # noqa: E402

LESSONS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


class Sampler:
    """Samples, every ``interval`` seconds, the CPU times and memory of the students' kernels and servers and of
    the hub's own processes."""

    def __init__(self, students: list[str], hub_pids, interval: float = 0.5):
        self.students, self.hub_pids, self.interval = set(students), hub_pids, interval
        self.cpu: dict[int, tuple[str, float]] = {}       # pid -> (role, CPU seconds at the last sample)
        self.first: dict[int, float] = {}
        self.peak_rss: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _role(self, process: psutil.Process, hub: list[int]) -> str | None:
        try:
            user, cmdline = process.username(), " ".join(process.cmdline())
        except psutil.Error:                      # it ended while we looked
            return None
        if user in self.students:
            return "kernel" if "ipykernel_launcher" in cmdline else "server"
        return "hub" if process.pid in hub else None

    def sample(self):
        hub = self.hub_pids()                     # once per sample, not once per process
        for process in psutil.process_iter():
            role = self._role(process, hub)
            if role is None:
                continue
            try:
                times = process.cpu_times()
                cpu = times.user + times.system + times.children_user + times.children_system
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            self.cpu[process.pid] = (role, cpu)
            if role == "kernel":
                self.peak_rss[process.pid] = max(self.peak_rss.get(process.pid, 0), rss)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self.sample()
        self.first = {pid: cpu for pid, (_, cpu) in self.cpu.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()

    def cpu_seconds(self, role: str) -> float:
        """CPU-seconds of ``role``'s processes since the sampler started (a process started since: all of it)."""
        return sum(cpu - self.first.get(pid, 0.0) for pid, (r, cpu) in self.cpu.items() if r == role)


def measure(hub: Hub, lesson: str, students: list[str]) -> dict:
    """``students`` run ``lesson`` at once on ``hub``; returns one row of measurements."""
    for student in students:                      # no kernel left from an earlier round
        server = hub.server(student)
        for kernel in server.api("GET", "kernels"):
            server.api("DELETE", f"kernels/{kernel['id']}")
    with Sampler(students, hub.hub_pids) as sampler:
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(students)) as pool:
            results = list(pool.map(lambda s: hub.server(s).run_notebook(f"advlab/{lesson}", cell_timeout=900),
                                    students))
        wall = time.perf_counter() - started
    kernel_cpu = sampler.cpu_seconds("kernel")
    failures = [f"{s}: {r.errors[0]}" for s, r in zip(students, results) if not r.ok]
    return {
        "lesson": lesson.split("_")[0], "students": len(students), "wall_s": round(wall, 1),
        "slowest_student_s": round(max(r.seconds for r in results), 1),
        "kernel_cpu_s": round(kernel_cpu, 1), "per_student_cpu_s": round(kernel_cpu / len(students), 1),
        "peak_kernel_mb": round(max(sampler.peak_rss.values(), default=0) / 2**20),
        "hub_cpu_s": round(sampler.cpu_seconds("hub"), 2), "servers_cpu_s": round(sampler.cpu_seconds("server"), 2),
        "failures": failures,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", help="lesson numbers (default: every lesson)")
    parser.add_argument("--students", nargs="*", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--course", type=Path, default=Path("/srv/advlab-bench"),
                        help="the course folder to build and use (default /srv/advlab-bench)")
    args = parser.parse_args(argv)
    reason = why_not_here()
    if reason:
        parser.error(f"the capacity benchmark {reason}")
    lessons = [name for name in LESSONS if not args.lessons or name[:2] in args.lessons]
    shared = args.course / "models" / "models"
    trained = REPO / "artifacts" / "models"
    if trained.is_dir() and not shared.is_dir():       # the quick models CI or `make models` trained: the same files
        shutil.copytree(trained, shared, ignore=shutil.ignore_patterns("*.lock", "*.owner"))
    prepare_course(args.course, models=None)           # every lesson's models
    os.environ["ADVLAB_QUICK"] = "1"
    import helpers  # noqa: F401  (before TensorFlow)
    from common import write_results

    rows = []
    students = student_names(max(args.students))
    with Hub(args.course, students) as hub:
        for lesson in lessons:
            for count in sorted(args.students):
                row = measure(hub, lesson, students[:count])
                rows.append(row)
                print(row, flush=True)
    cores, memory = psutil.cpu_count(), psutil.virtual_memory().total
    write_results("hub_capacity", rows, extra={"cores": cores, "memory_gb": round(memory / 2**30, 1)},
                  note=f"{cores} cores, {memory / 2**30:.0f} GB; quick mode; lessons run top to bottom as students' "
                       "copies (exercises left open)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
