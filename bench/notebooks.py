"""What each notebook costs in the one mode there is (what students run and CI checks): wall time, the kernel's
CPU seconds and its peak memory, against the suite's budget: 20 s per notebook and 2 minutes for the suite on
one idle core, and 1 GiB of kernel memory (mybinder's guarantee).

Wall time depends on how busy the machine is; the kernel's CPU seconds (user + system, every thread) hardly do,
so on a shared machine read the CPU column: on one idle core the two agree within a second or so.

Usage: python bench/notebooks.py [--repeats 1] [notebooks/04_denoising.ipynb ...]
"""
import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
BUDGET_S, SUITE_BUDGET_S, BUDGET_MIB = 20.0, 120.0, 1024
# the kernel's own view: peak resident memory (KiB on Linux) and CPU seconds since it started
USAGE = ("import resource; u = resource.getrusage(resource.RUSAGE_SELF); "
         "print('AETEACH_USAGE', u.ru_maxrss, u.ru_utime + u.ru_stime)")


def run(path):
    """(wall seconds, kernel CPU seconds, peak MiB) for one notebook executed top to bottom in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(USAGE))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    seconds = time.perf_counter() - t0
    # an explorer's thread may still print into the last cell: find the line this cell printed
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    _, peak_kib, cpu = next(line for line in text.splitlines() if line.startswith("AETEACH_USAGE")).split()
    return seconds, float(cpu), int(peak_kib) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1, help="runs per notebook; the median is shown")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as CI and the setup cell
    paths = args.paths or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    print(f"{'notebook':28s} {'wall s':>7s} {'CPU s':>7s} {'peak MiB':>9s}")
    rows = []
    for p in paths:
        runs = sorted(run(p) for _ in range(args.repeats))
        wall, cpu, mib = runs[len(runs) // 2]
        rows.append((p.stem, wall, cpu, mib))
        flag = "" if max(wall, cpu) <= BUDGET_S else f"  over the {BUDGET_S:.0f} s budget"
        print(f"{p.stem:28s} {wall:7.1f} {cpu:7.1f} {mib:9.0f}{flag}", flush=True)
    wall, cpu = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total':28s} {wall:7.1f} {cpu:7.1f}")
    slowest = max(rows, key=lambda r: r[2])
    largest = max(rows, key=lambda r: r[3])
    print(f"slowest notebook {slowest[0]}: {slowest[2]:.1f} CPU s ({slowest[2] / BUDGET_S:.0%} of {BUDGET_S:.0f} s); "
          f"suite {cpu:.0f} CPU s ({cpu / SUITE_BUDGET_S:.0%} of {SUITE_BUDGET_S:.0f} s); "
          f"largest kernel {largest[0]} {largest[3]:.0f} MiB ({largest[3] / BUDGET_MIB:.0%} of 1 GiB)")


if __name__ == "__main__":
    main()
