"""What each notebook costs in the one mode there is (what students run and CI checks): wall time, the kernel's
CPU seconds and its peak memory, against the suite's budget: 20 s per notebook and 2 minutes for the suite on
one idle core, and 1 GiB of kernel memory (mybinder's guarantee).

Wall time depends on how busy the machine is; the kernel's CPU seconds (user + system, every thread) hardly do,
so on a shared machine read the CPU column: on one idle core the two agree within a second or so.

--explorers also measures a student who uses every explorer: after the notebook ran, each control of each explorer
is moved through its values one at a time (every option of a selection, five points along a slider, each button
pressed once), waiting for each retraining; the columns say how many settings that was, the CPU seconds they took
and the kernel's peak memory afterwards (explorers keep up to 32 trained settings each).

Usage: python bench/notebooks.py [--repeats 1] [--explorers] [notebooks/04_denoising.ipynb ...]
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
# a student trying every value of every control, one control at a time; prints explorers, settings, CPU s spent
EXPLORE = """
import resource, numpy as np, ipywidgets as W
from aeteach import widgets as _w
def _controls(w):
    if isinstance(w, W.Box):
        for child in w.children:
            yield from _controls(child)
    elif isinstance(w, (W.SelectionSlider, W.Dropdown, W.ToggleButtons)):
        yield lambda i, w=w: setattr(w, "index", i), range(len(w.options))
    elif isinstance(w, (W.IntSlider, W.FloatSlider)):
        points = np.linspace(w.min, w.max, 5)
        points = sorted({int(round(p)) for p in points}) if isinstance(w, W.IntSlider) else list(points)
        yield lambda v, w=w: setattr(w, "value", v), points
    elif isinstance(w, W.Button):
        yield lambda _, w=w: w.click(), [None]
def _pictures(w):
    if isinstance(w, W.Box):
        return tuple(p for child in w.children for p in _pictures(child))
    return (w.value,) if isinstance(w, W.Image) else ()
def _cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
_explorers = _w._live_explorers()
for _e in _explorers:
    _e.wait(600)
_start, _settings, _changed = _cpu(), 0, 0
for _e in _explorers:
    for _set, _values in list(_controls(_e.widget)):
        for _v in _values:
            _before = _pictures(_e.widget)
            _set(_v)
            assert _e.wait(600), "an explorer did not finish within 600 s"
            _settings, _changed = _settings + 1, _changed + (_pictures(_e.widget) != _before)
        assert not _e.error.value, _e.error.value
print("AETEACH_EXPLORE", len(_explorers), _settings, _cpu() - _start, _changed)
"""


def run(path, explore=False):
    """(wall seconds, kernel CPU seconds, peak MiB[, explorers, settings, CPU s exploring, peak MiB after]) for one
    notebook executed top to bottom in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(USAGE))
    if explore:
        nb.cells += [nbformat.v4.new_code_cell(EXPLORE), nbformat.v4.new_code_cell(USAGE)]
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    seconds = time.perf_counter() - t0
    # an explorer's thread may still print into a cell: find the lines these cells printed
    text = "".join(o.get("text", "") for c in nb.cells[-3:] for o in c.outputs)
    lines = [line.split() for line in text.splitlines() if line.startswith(("AETEACH_USAGE", "AETEACH_EXPLORE"))]
    _, peak_kib, cpu = lines[0]
    if not explore:
        return seconds, float(cpu), int(peak_kib) / 1024
    (_, explorers, settings, explore_cpu, changed), (_, peak_after, _) = lines[1], lines[2]
    return seconds, float(cpu), int(peak_kib) / 1024, int(explorers), int(settings), float(explore_cpu), \
        int(peak_after) / 1024, int(changed)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1, help="runs per notebook; the median is shown")
    parser.add_argument("--explorers", action="store_true", help="also use every explorer (see above)")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as CI and the setup cell
    paths = args.paths or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    extra = f" {'explorers':>9s} {'settings':>8s} {'changed':>7s} {'using CPU s':>11s} {'then MiB':>8s}" \
        if args.explorers else ""
    print(f"{'notebook':28s} {'wall s':>7s} {'CPU s':>7s} {'peak MiB':>9s}{extra}")
    rows = []
    for p in paths:
        runs = sorted(run(p, args.explorers) for _ in range(args.repeats))
        wall, cpu, mib, *use = runs[len(runs) // 2]
        rows.append((p.stem, wall, cpu, max([mib] + use[3:4])))
        # exploring adds to the wall time, not to the notebook's own CPU column: judge the notebook by that
        flag = "" if max(cpu, 0 if use else wall) <= BUDGET_S else f"  over the {BUDGET_S:.0f} s budget"
        extra = f" {use[0]:9d} {use[1]:8d} {use[4]:7d} {use[2]:11.2f} {use[3]:8.0f}" if use else ""
        print(f"{p.stem:28s} {wall:7.1f} {cpu:7.1f} {mib:9.0f}{extra}{flag}", flush=True)
    wall, cpu = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total':28s} {wall:7.1f} {cpu:7.1f}")
    slowest = max(rows, key=lambda r: r[2])
    largest = max(rows, key=lambda r: r[3])
    print(f"slowest notebook {slowest[0]}: {slowest[2]:.1f} CPU s ({slowest[2] / BUDGET_S:.0%} of {BUDGET_S:.0f} s); "
          f"suite {cpu:.0f} CPU s ({cpu / SUITE_BUDGET_S:.0%} of {SUITE_BUDGET_S:.0f} s); "
          f"largest kernel {largest[0]} {largest[3]:.0f} MiB ({largest[3] / BUDGET_MIB:.0%} of 1 GiB)")


if __name__ == "__main__":
    main()
