"""Mark the exercises of source notebooks for the student edition and nbgrader (idempotent: run it after any edit).

Per exercise (a check cell calling ex.check_..., after its answer cell) it puts the answer between
`### BEGIN SOLUTION` / `### END SOLUTION` (lines `# Your answer here ...` and `from aeteach.exercises import ...`
stay outside), stores the student's stub in the cell's metadata (aeteach.stub, recomputed each run), adds the hidden
test `assert passed` to the check cell, and gives both cells nbgrader's metadata (schema 3; ids kept once given).
Outputs are untouched: rebuild a notebook after marking it (python notebooks/build.py NOTEBOOK); a bare
`ex.check_...(...)` becomes `passed = ex.check_...(...)`, which changes that cell's output.

Usage: python scripts/mark_exercises.py [notebooks/NN_name.ipynb ...]   (default: all)
"""
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aeteach import classroom  # noqa: E402

if __name__ == "__main__":
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    for path in [Path(p) for p in sys.argv[1:]] or sorted(notebooks.glob("[0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        n = len(classroom.exercises(classroom.mark(nb)))
        changed = nbformat.writes(nb) != before
        if changed:
            nbformat.write(nb, path)
        print(f"{path.name}: {n} exercises, {'marked' if changed else 'unchanged'}")
