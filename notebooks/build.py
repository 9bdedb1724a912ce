"""Execute notebooks and keep only the outputs CI compares, so committed notebooks diff cleanly.

Outputs stay only in cells marked `# NBVAL_CHECK_OUTPUT` (nbval compares them on every CI run);
every other output and all execution counts are cleared. One torch thread, like CI.

Diagrams: a markdown cell that shows `![alt text](attachment:NAME.svg)` gets notebooks/figures/NAME.png
(rendered from the SVG by scripts/render_figures.py) and NAME.svg embedded as a cell attachment, so the notebook carries its pictures wherever it is opened (Colab opens one
file from GitHub and has no folder beside it). Edit the SVG file, then rebuild.

Editions (aeteach/classroom.py; mark the exercises first with scripts/mark_exercises.py): the committed notebooks
are the teacher edition.
  --student DIR  writes the student edition to DIR (no execution): each solution replaced by a stub that raises
                 NotImplementedError with a hint, the <details> solutions and hidden tests removed, outputs cleared;
  --teacher DIR  copies the teacher edition to DIR unchanged (e.g. an nbgrader course's source/ps1).

Course site (notebooks/course_site.py): --site DIR executes every notebook and writes DIR/index.html, one HTML page
per notebook and DIR/slides/ (reveal.js), each explorer shown as a picture of its first state. Offline.

Usage: python notebooks/build.py [--student DIR | --teacher DIR | --site DIR] [notebooks/04_denoising.ipynb ...]   (default: all)
"""
import argparse
import base64
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aeteach import classroom  # noqa: E402

HERE = Path(__file__).parent
FIGURES = HERE / "figures"
ATTACHMENT = re.compile(r"\(attachment:([\w.-]+\.svg)\)")


def _b64(path):
    return base64.b64encode(path.read_bytes()).decode()


def embed_figures(nb):
    """Attach notebooks/figures/NAME.svg to each markdown cell that refers to attachment:NAME.svg."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        names = ATTACHMENT.findall(cell.source)
        if names:
            # the PNG first: JupyterLab 3 draws only an attachment's first mime type, and no SVG
            # (scripts/render_figures.py makes the PNG); other front ends may take the SVG
            cell["attachments"] = {n: {"image/png": _b64(FIGURES / n.replace(".svg", ".png")), "image/svg+xml": _b64(FIGURES / n)}
                                   for n in names}
        else:
            cell.pop("attachments", None)


def build(path):
    nb = nbformat.read(path, as_version=4)
    embed_figures(nb)
    classroom.mark_slides(nb)  # lecture mode (nbconvert --to slides, RISE)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    checked = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if "# NBVAL_CHECK_OUTPUT" not in cell.source:
            cell.execution_count, cell.outputs = None, []
        else:  # nbval skips comparing a cell without an execution count, so number the checked ones 1, 2, ...
            checked += 1
            cell.execution_count = checked
            for out in cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = checked
    nb.metadata.pop("widgets", None)  # widget state is large and only valid for a live kernel
    nbformat.write(nb, path)
    print(f"{path.name}: {time.perf_counter() - t0:.1f} s")


def edition(path, out_dir, student):
    """Write the student (or teacher) edition of path into out_dir, without executing it."""
    nb = nbformat.read(path, as_version=4)
    if student:
        nb = classroom.student(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    print(f"{path.name}: {'student' if student else 'teacher'} edition in {out_dir}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--student", metavar="DIR", type=Path, help="write the student edition to DIR")
    group.add_argument("--teacher", metavar="DIR", type=Path, help="copy the teacher edition to DIR")
    group.add_argument("--site", metavar="DIR", type=Path, help="write the course site (pages and slides) to DIR")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted(HERE.glob("[0-9]*.ipynb"))
    if args.student or args.teacher:
        for p in paths:
            edition(p, args.student or args.teacher, student=bool(args.student))
        sys.exit()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as in CI (see conftest.py)
    if args.site:
        sys.path.insert(0, str(HERE))
        from course_site import build_site
        build_site(paths, args.site, HERE)
        sys.exit()
    for p in paths:
        build(p)
