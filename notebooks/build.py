"""Execute notebooks and keep only the outputs CI compares, so committed notebooks diff cleanly.

Outputs stay only in cells marked `# NBVAL_CHECK_OUTPUT` (nbval compares them on every CI run);
every other output and all execution counts are cleared. One torch thread, like CI.

Diagrams: a markdown cell that shows `![alt text](attachment:NAME.svg)` gets notebooks/figures/NAME.svg
embedded as a cell attachment, so the notebook carries its pictures wherever it is opened (Colab opens one
file from GitHub and has no folder beside it). Edit the SVG file, then rebuild.

Usage: python notebooks/build.py [notebooks/04_denoising.ipynb ...]   (default: all)
"""
import base64
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent
FIGURES = HERE / "figures"
ATTACHMENT = re.compile(r"\(attachment:([\w.-]+\.svg)\)")


def embed_figures(nb):
    """Attach notebooks/figures/NAME.svg to each markdown cell that refers to attachment:NAME.svg."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        names = ATTACHMENT.findall(cell.source)
        if names:
            cell["attachments"] = {n: {"image/svg+xml": base64.b64encode((FIGURES / n).read_bytes()).decode()}
                                   for n in names}
        else:
            cell.pop("attachments", None)


def build(path):
    nb = nbformat.read(path, as_version=4)
    embed_figures(nb)
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


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as in CI (see conftest.py)
    paths = [Path(p) for p in sys.argv[1:]] or sorted(HERE.glob("[0-9]*.ipynb"))
    for p in paths:
        build(p)
