"""A class on a real JupyterHub on this machine: real Linux users, the instructor's shared models, students
running lessons at the same time, one of them losing a kernel.

Needs root (it creates users and starts the hub that starts their servers), the system's ``python3`` with
``venv``, and ``npm``; skipped otherwise, with the reason. Built from the repository's own
``classroom/course.py`` and ``classroom/jupyterhub_config.py``, the configuration docs/instructor.md documents.
The class environment is kept in ``ADVLAB_TEST_COURSE_DIR`` (default ``/srv/advlab-test``) and reused while the
requirements and helpers do not change; the users and the hub's state are made fresh for each run.

``ADVLAB_HUB_STUDENTS`` sets how many students (default 3).
"""
from __future__ import annotations

import concurrent.futures
import os
import pwd
import signal
import threading
import time

import pytest

from classroom.simulate import CLASS_LESSONS, Hub, kernel_pids, student_names

STUDENTS = int(os.environ.get("ADVLAB_HUB_STUDENTS", "3"))


@pytest.fixture(scope="module")
def hub(class_course):
    names = student_names(STUDENTS)
    with Hub(class_course, names) as running:
        yield running


def test_the_class_runs_its_lessons_at_once_on_the_instructors_models(hub):
    shared_before = hub.shared_models()
    assert shared_before, "the instructor trained no model into the shared folder"
    # student 2 loses their kernel in the middle of lesson 03; everyone else runs undisturbed
    victim = hub.students[min(1, len(hub.students) - 1)]
    killed = threading.Event()

    def run(student):
        results = []
        for lesson in CLASS_LESSONS:
            server = hub.server(student)

            def kill_at_cell(index, student=student, lesson=lesson):
                if student == victim and lesson.startswith("03") and index >= 8 and not killed.is_set():
                    for pid in kernel_pids(student):
                        os.kill(pid, signal.SIGKILL)
                    killed.set()

            result = server.run_notebook(f"advlab/{lesson}", on_cell=kill_at_cell)
            if student == victim and killed.is_set() and lesson.startswith("03") and not result.ok:
                # the kernel died under the student: JupyterHub's server restarts it; the student runs again
                assert any("dead" in e or "restarting" in e or "closed" in e for e in result.errors), result.errors
                server.wait_ready(result.kernel_id, timeout=120)
                results.append(("killed", lesson, result))
                result = server.run_notebook(f"advlab/{lesson}", kernel_id=result.kernel_id)
            results.append(("ran", lesson, result))
        return student, results

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(hub.students)) as pool:
        outcome = dict(pool.map(run, hub.students))
    wall = time.perf_counter() - started

    lines = []
    for student, results in outcome.items():
        for what, lesson, result in results:
            lines.append(f"{student} {lesson} {what}: {'ok' if result.ok else result.errors} "
                         f"({result.seconds:.0f} s, {len(result.cells)} cells)")
    print(f"{len(hub.students)} students, lessons {', '.join(CLASS_LESSONS)}, {wall:.0f} s wall:\n"
          + "\n".join(lines))
    assert killed.is_set(), "the test never killed the victim's kernel"
    for student, results in outcome.items():
        final = [r for what, _, r in results if what == "ran"]
        assert len(final) == len(CLASS_LESSONS) and all(r.ok for r in final), (student, lines)
        loaded = "".join(r.text() for r in final)
        assert "zoo: loaded 'base'" in loaded and "zoo: training" not in loaded, \
            f"{student} trained a model instead of loading the instructor's"
    assert [what for what, _, _ in outcome[victim]].count("killed") == 1
    assert hub.shared_models() == shared_before, "a shared model was written again"
    for student in hub.students:
        own = pwd.getpwnam(student).pw_dir + "/advlab-artifacts/models"
        assert not os.path.isdir(own) or not [f for f in os.listdir(own) if f.endswith(".keras")], \
            f"{student} trained models of their own: {os.listdir(own)}"


def test_no_student_can_write_the_shared_models_or_another_students_folder(hub):
    for k, student in enumerate(hub.students):
        other = hub.students[(k + 1) % len(hub.students)]
        probe = hub.server(student).run_code(f"""
import os, pathlib
results = {{}}
for where in [{str(hub.course / 'models')!r}, {pwd.getpwnam(other).pw_dir!r},
              {pwd.getpwnam(other).pw_dir + '/advlab'!r}]:
    try:
        pathlib.Path(where, 'probe-from-{student}').write_text('x')
        results[where] = 'written'
    except OSError as error:
        results[where] = type(error).__name__
try:
    os.listdir({pwd.getpwnam(other).pw_dir!r})
    results['read other home'] = 'listed'
except OSError as error:
    results['read other home'] = type(error).__name__
mine = pathlib.Path.home() / 'advlab' / 'probe'
mine.write_text('mine')
results['own folder'] = mine.read_text()
print(results)
""")
        assert probe.ok, probe.errors
        seen = eval(probe.text().strip().splitlines()[-1])   # the dict the kernel printed
        assert seen.pop("own folder") == "mine"
        assert seen.pop("read other home") == "PermissionError"
        assert set(seen.values()) == {"PermissionError"}, f"{student} could write: {seen}"
