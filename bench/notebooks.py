"""Wall time and the kernel's peak memory for every notebook, in fast mode (what CI runs) and, with --full, in
the normal mode students run, side by side, against the suite's budget: 30 s per notebook in fast mode and
1 GiB of kernel memory (mybinder's guarantee).

Usage: python bench/notebooks.py [--full] [notebooks/04_denoising.ipynb ...]
"""
import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"  # KiB on Linux


def run(path, fast):
    """(seconds, peak MiB) for one notebook executed top to bottom in a fresh kernel."""
    os.environ["AETEACH_FAST"] = "1" if fast else "0"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    seconds = time.perf_counter() - t0
    peak_kib = int(nb.cells[-1].outputs[0]["text"].strip())
    return seconds, peak_kib / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also run in normal (non-fast) mode")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as CI
    paths = args.paths or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    modes = [True, False] if args.full else [True]
    head = f"{'notebook':28s} {'fast s':>7s} {'fast MiB':>9s}" + (f" {'full s':>7s} {'full MiB':>9s}" if args.full else "")
    print(head)
    totals = {m: 0.0 for m in modes}
    worst = {m: (0.0, 0.0) for m in modes}
    for p in paths:
        cols = []
        for fast in modes:
            s, mib = run(p, fast)
            totals[fast] += s
            worst[fast] = (max(worst[fast][0], s), max(worst[fast][1], mib))
            cols.append(f"{s:7.1f} {mib:9.0f}")
        print(f"{p.stem:28s} " + " ".join(cols), flush=True)
    print(f"{'total':28s} " + " ".join(f"{totals[m]:7.1f} {'':9s}" for m in modes))
    s, mib = worst[True]
    print(f"fast mode: slowest notebook {s:.1f} s ({s / 30:.0%} of the 30 s budget), "
          f"largest kernel {mib:.0f} MiB ({mib / 1024:.0%} of 1 GiB)")
    if args.full:
        s, mib = worst[False]
        print(f"normal mode: slowest notebook {s:.1f} s, largest kernel {mib:.0f} MiB ({mib / 1024:.0%} of 1 GiB)")


if __name__ == "__main__":
    main()
