"""Does the suite work on a GPU? One script for whoever gets one (Colab's T4, an A100 ...).

1. prints torch, CUDA and cuDNN versions, the device, its compute capability and the precision aeteach picks;
2. trains every kind, with every architecture it accepts (mlp or linear, conv, unet), for one epoch on
   the embedded digits (segmentation on generated shapes) and prints each one's time and test loss;
3. executes every notebook in a fresh kernel with AETEACH_DEVICE set (there is one mode: what students run
   is what CI checks), and prints its wall time, GPU memory, error and whether the conclusions its
   `# NBVAL_CHECK_OUTPUT` cells print still match the committed ones. The notebooks are not modified.

Any error, non-finite loss or changed conclusion is a failure. The summary lists the failures and the exit
status is then 1. On a machine without a GPU, `--device cpu` checks the script itself:

    python bench/gpu_check.py                                   # on the GPU machine: everything
    python bench/gpu_check.py --notebooks-only                  # the notebooks only, conclusions compared
    python bench/gpu_check.py --device cpu --kinds-only         # a quick check of the script here
    python bench/gpu_check.py --precisions fp32,bf16            # time both precisions (bf16 on a T4 is emulated)
"""
import argparse
import math
import os
import re
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import torch

import aeteach as ae
from aeteach.models import ARCHS, make_config

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in the kernel's tracebacks
DECIMAL = re.compile(r"-?\d+\.\d+(e[-+]?\d+)?")  # as notebooks/nbval_sanitize.cfg: conclusions must match, numbers may vary
# appended to each notebook: where it ran and the peak GPU memory it used
PROBE = ("import torch, aeteach as ae\n"
         "print(ae.describe_device())\n"
         "print(torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0)")


def environment(device):
    """The versions and the device, as printed lines."""
    lines = [f"python {sys.version.split()[0]}, torch {torch.__version__}, aeteach {ae.__version__}",
             f"CUDA build {torch.version.cuda}, cuDNN {torch.backends.cudnn.version() if torch.cuda.is_available() else None}, "
             f"CUDA available {torch.cuda.is_available()}"]
    dev = ae.choose_device(device)
    if dev.type == "cuda":
        lines.append(f"driver sees {torch.cuda.device_count()} GPU(s); "
                     f"torch.cuda.is_bf16_supported() = {torch.cuda.is_bf16_supported()} (True even where bf16 is emulated)")
    lines.append(f"device: {ae.describe_device(dev)}")
    return lines


def cases():
    """(kind, arch) for every kind and every architecture it accepts."""
    out = []
    for kind in ae.KINDS:
        for arch in ARCHS:
            try:
                make_config(kind, (1, 8, 8), 8, arch)
            except ValueError:
                continue
            out.append((kind, arch))
    return out


def train_kind(kind, arch, device, epochs, data):
    """One kind for `epochs` epochs: (seconds, steps, final test loss, precision)."""
    train, test = data["shapes" if kind == "segmentation" else "digits"]
    bottleneck = 32 if kind in ("sparse_l1", "sparse_kl", "topk") else 8
    model = ae.make_model(kind, train.shape, bottleneck, arch=arch)
    t0 = time.perf_counter()
    history = ae.fit(model, train, test, epochs=epochs, device=device, progress=False)
    seconds = time.perf_counter() - t0  # fit ends by reading the losses back, so the GPU is done
    with torch.no_grad():  # inference on the device too, as the explorers do
        model(test.x[:64].to(ae.choose_device(device)))
    loss = history.final("test")["total"]
    if not math.isfinite(loss):
        raise RuntimeError(f"test loss is {loss}")
    return seconds, len(history.steps["total"]), loss, history.precision


def check_kinds(device, epochs, precisions):
    """Train every (kind, arch) under each precision; returns (name, seconds, failure or None) per run."""
    data = {"digits": (ae.load_dataset("digits"), ae.load_dataset("digits", "test")),
            "shapes": (ae.load_dataset("shapes", n=1000, size=16), ae.load_dataset("shapes", "test", n=200, size=16))}
    for arch in ("mlp", "conv", "unet"):  # warm-up, not timed: the CUDA context, cuDNN, first kernels
        ae.fit(ae.make_model("undercomplete", (1, 8, 8), 4, arch=arch), data["digits"][0].subset(128), epochs=1,
               device=device, progress=False)
    results = []
    print(f"\n{'kind':14s} {'arch':6s} {'precision':9s} {'seconds':>8s} {'steps':>6s} {'ms/step':>8s} {'test loss':>10s}")
    for precision in precisions:
        with env(AETEACH_PRECISION=None if precision == "auto" else precision):
            for kind, arch in cases():
                try:
                    seconds, steps, loss, used = train_kind(kind, arch, device, epochs, data)
                    print(f"{kind:14s} {arch:6s} {used:9s} {seconds:8.2f} {steps:6d} {1000 * seconds / steps:8.1f} {loss:10.4g}", flush=True)
                    results.append((f"{kind} {arch} {used}", seconds, None))
                except Exception as err:  # noqa: BLE001 -- report every failure, then go on
                    print(f"{kind:14s} {arch:6s} {precision:9s} FAILED: {type(err).__name__}: {err}", flush=True)
                    traceback.print_exc()
                    results.append((f"{kind} {arch} {precision}", math.nan, f"{type(err).__name__}: {err}"))
    return results


@contextmanager
def env(**values):
    """Set (or, with None, unset) environment variables inside a with block."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            _setenv(k, v)
        yield
    finally:
        for k, v in saved.items():
            _setenv(k, v)


def _setenv(name, value):
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _text(cell):
    """What a cell printed (streams and plain-text results), decimals replaced as nbval does."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return DECIMAL.sub("DECIMAL", "".join(parts)).strip()


def run_notebook(path, device, timeout):
    """Execute one notebook in memory: (seconds, GPU MiB, describe_device line, checks, changed conclusions). Raises on error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    expected = {i: _text(c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in c.source}
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    t0 = time.perf_counter()
    with env(AETEACH_DEVICE=device):  # the kernel inherits the environment
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    seconds = time.perf_counter() - t0
    where, mib = nb.cells[-1].outputs[0]["text"].strip().splitlines()
    changed = [f"cell {i}: expected {want!r}, got {_text(nb.cells[i])!r}"
               for i, want in expected.items() if want and _text(nb.cells[i]) != want]
    return seconds, float(mib), where, len(expected), changed


def check_notebooks(paths, device, timeout):
    """Run every notebook; returns (name, seconds, failure or None) per notebook."""
    results = []
    print(f"\n{'notebook':28s} {'seconds':>8s} {'GPU MiB':>8s} {'checks':>8s}  where (checks: conclusions as committed)")
    for path in paths:
        try:
            seconds, mib, where, checks, changed = run_notebook(path, device, timeout)
        except Exception as err:  # noqa: BLE001 -- nbclient's CellExecutionError carries the cell's traceback
            lines = ANSI.sub("", str(err)).strip().splitlines() or [type(err).__name__]
            print(f"{path.stem:28s} FAILED", flush=True)
            print("\n".join("    " + line for line in lines[-25:]))
            results.append((path.stem, math.nan, lines[-1]))
            continue
        print(f"{path.stem:28s} {seconds:8.1f} {mib:8.0f} {f'{checks - len(changed)}/{checks}':>8s}  {where}", flush=True)
        print("".join(f"    {c}\n" for c in changed), end="")
        failed = f"{len(changed)} conclusion(s) changed: {changed[0]}" if changed else None
        results.append((path.stem, seconds, failed))
    return results


def summary(sections):
    """Print one row per section (runs, failures, total and slowest time); return every failure as a line."""
    print(f"\n{'check':10s} {'runs':>5s} {'failed':>7s} {'total s':>8s}  slowest")
    failures = []
    for section, results in sections.items():
        if not results:
            continue
        times = [(s, n) for n, s, _ in results if s == s]  # nan: failed
        slowest = "{1} ({0:.1f} s)".format(*max(times)) if times else "-"
        bad = [(n, f) for n, _, f in results if f]
        failures += [f"{section} {n}: {f}" for n, f in bad]
        print(f"{section:10s} {len(results):5d} {len(bad):7d} {sum(s for s, _ in times):8.1f}  {slowest}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, cpu or mps")
    parser.add_argument("--kinds-only", action="store_true", help="skip the notebooks")
    parser.add_argument("--notebooks-only", action="store_true", help="skip training the kinds")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per kind (default 1)")
    parser.add_argument("--precisions", default="auto",
                        help="comma-separated: auto (aeteach's choice), fp32, bf16; each trains every kind (default auto)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per notebook cell (default 600)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all in notebooks/)")
    args = parser.parse_args()
    precisions = args.precisions.split(",")
    if not set(precisions) <= {"auto", "fp32", "bf16"}:
        parser.error(f"--precisions takes auto, fp32 and bf16, got {args.precisions}")

    t0 = time.perf_counter()
    try:
        print("\n".join(environment(args.device)))
    except Exception as err:  # noqa: BLE001 -- no such device: nothing else can run
        print(f"FAILED: {type(err).__name__}: {err}")
        return 1
    sections = {"kinds": [], "notebooks": []}
    if not args.notebooks_only:
        sections["kinds"] = check_kinds(args.device, args.epochs, precisions)
    if not args.kinds_only:
        paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
        sections["notebooks"] = check_notebooks(paths, args.device, args.timeout)

    failures = summary(sections)
    print(f"{ae.describe_device(args.device)}; {time.perf_counter() - t0:.0f} s in all")
    if failures:
        print(f"{len(failures)} FAILURE(S):")
        print("\n".join("  " + f for f in failures))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
