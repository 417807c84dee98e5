"""The class on a real JupyterHub: the course folder, built once per test session (classroom/simulate.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from classroom.simulate import CLASS_MODELS, prepare_course, why_not_here


@pytest.fixture(scope="session")
def class_course():
    reason = why_not_here()
    if reason:
        pytest.skip(f"a class on JupyterHub {reason}")
    course = Path(os.environ.get("ADVLAB_TEST_COURSE_DIR", "/srv/advlab-test"))
    return prepare_course(course, CLASS_MODELS)
