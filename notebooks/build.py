"""Execute notebooks and keep only the outputs CI compares, so committed notebooks diff cleanly.

Outputs stay only in cells marked `# NBVAL_CHECK_OUTPUT` (nbval compares them on every CI run);
every other output and all execution counts are cleared. Runs in fast mode, like CI.

Usage: python notebooks/build.py [notebooks/04_denoising.ipynb ...]   (default: all)
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent


def build(path):
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        if "# NBVAL_CHECK_OUTPUT" not in cell.source:
            cell.outputs = []
        else:
            for out in cell.outputs:
                out.pop("execution_count", None) if out.get("output_type") != "execute_result" else out.update(execution_count=None)
    nb.metadata.pop("widgets", None)  # widget state is large and only valid for a live kernel
    nbformat.write(nb, path)
    print(f"{path.name}: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    os.environ.setdefault("AETEACH_FAST", "1")
    paths = [Path(p) for p in sys.argv[1:]] or sorted(HERE.glob("[0-9]*.ipynb"))
    for p in paths:
        build(p)
