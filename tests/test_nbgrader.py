"""nbgrader round trip, offline, in a temporary course: generate_assignment, then autograde two submissions.

One marked notebook (10, the fastest) is the assignment ps1. The released notebook must hold no solution; the
teacher edition handed in scores full marks, the released notebook handed in unchanged scores zero (no crash).
Skipped where nbgrader is not installed, except under CI=true (requirements-test.txt installs it).
"""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from aeteach import classroom

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAME = "10_app_anomaly_detection"
CONFIG = """c = get_config()
c.CourseDirectory.course_id = "aeteach"
from aeteach.classroom import configure_nbgrader
configure_nbgrader(c)
"""

try:
    import nbgrader  # noqa: F401
    from nbgrader.api import Gradebook
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("nbgrader is not installed (pip install -r requirements-test.txt)", allow_module_level=True)


def nbgrader_cli(course, *args):
    env = dict(os.environ, JUPYTER_PREFER_ENV_PATH="1", OMP_NUM_THREADS="1",  # the kernel: this python, one thread
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def test_generate_and_autograde(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG)
    teacher = nbformat.read(NOTEBOOKS / f"{NAME}.ipynb", as_version=4)
    nbformat.write(teacher, course / "source" / "ps1" / f"{NAME}.ipynb")
    nbgrader_cli(course, "generate_assignment", "ps1")

    released = course / "release" / "ps1" / f"{NAME}.ipynb"
    text = "\n".join(c.source for c in nbformat.read(released, as_version=4).cells)
    left = [line for line in classroom.solution_lines(teacher) if line in text]
    assert not left and "<summary>Solution" not in text and "assert passed" not in text, left[:5]
    # nbgrader's release is the student edition of notebooks/build.py --student
    assert text == "\n".join(c.source for c in classroom.student(teacher).cells)

    for student, notebook in (("correct", NOTEBOOKS / f"{NAME}.ipynb"), ("empty", released)):
        (course / "submitted" / student / "ps1").mkdir(parents=True)
        (course / "submitted" / student / "ps1" / f"{NAME}.ipynb").write_bytes(notebook.read_bytes())
    nbgrader_cli(course, "autograde", "ps1")

    points = sum(1 for _, _, c in classroom.exercises(teacher))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: (gb.find_submission("ps1", s).score, gb.find_submission("ps1", s).max_score) for s in ("correct", "empty")}
    assert scores == {"correct": (points, points), "empty": (0, points)}, scores
