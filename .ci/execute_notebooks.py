"""Execute every notebook in a fresh kernel of this Python environment and fail on any error output.

CI runs this in the Colab-pinned environment (.ci/colab.txt), where nbval alone is not enough: an explorer
that cannot display, or whose first training fails, shows that inside a widget and raises nothing. So,
per notebook, this fails on
  - an error output (an exception in a cell) and any traceback printed to stderr or shown as text/HTML;
  - a line on stderr that names an error (`...Error: ...`, `Exception`); other stderr lines (warnings) are printed;
  - a cell that calls `Explorer(` without a live widget among its outputs (shown as text instead);
  - an error shown inside a widget: any widget model whose state holds a traceback or an explorer's
    "Error:" box, from the widget state the kernel sent while the notebook ran;
  - a `# NBVAL_CHECK_OUTPUT` cell whose stdout differs from the committed one after the substitutions in
    notebooks/nbval_sanitize.cfg (the same conclusions nbval checks in the main CI environment);
  - a kernel that is not this environment (its ipywidgets, ipykernel and plotly versions must match ours).

Usage: python .ci/execute_notebooks.py [--jobs 2] [notebooks/NAME.ipynb ...]   (default: notebooks/[0-9]*.ipynb)
Exit status 0 only when every notebook ran clean; 1 otherwise; 2 when there was nothing to run.
"""
import argparse
import concurrent.futures
import configparser
import html
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STDERR_ERROR = re.compile(r"^\s*(\w+\.)*\w*(Error|Exception)\b|Traceback \(most recent call last\)", re.M)
WIDGET_ERROR = re.compile(r"<b>Error:</b>|Traceback \(most recent call last\)")
TEXT_REPRS = ("IntSlider(value=", "FloatSlider(", "VBox(children=", "HBox(children=")
VERSIONS = "import sys, ipywidgets, ipykernel, plotly; print(sys.executable, ipywidgets.__version__, ipykernel.__version__, plotly.__version__)"


def sanitizers():
    """(compiled regex, replacement) pairs from notebooks/nbval_sanitize.cfg, in file order."""
    cfg = configparser.ConfigParser()
    cfg.read(NOTEBOOKS / "nbval_sanitize.cfg")
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


def stdout_text(outputs, subs):
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    for regex, replace in subs:
        text = regex.sub(replace, text)
    return text


def head(source, n=6):
    lines = source.splitlines()
    return "\n      ".join(lines[:n] + (["..."] if len(lines) > n else []))


def plain(value):
    """Text of an HTML widget value (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", value))


def check(nb, committed, subs, versions_cell):
    """Problems found in an executed notebook (a list of strings)."""
    problems, notes = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell is versions_cell:
            continue
        where = f"cell {index}:\n      {head(cell.source)}"
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                tb = ANSI.sub("", "\n".join(out.get("traceback", [])))
                tail = "\n      ".join(tb.strip().splitlines()[-15:])
                problems.append(f"error output {out.get('ename')}: {out.get('evalue')} in {where}\n    traceback:\n      {tail}")
            elif kind == "stream" and out.get("name") == "stderr":
                text = ANSI.sub("", out.get("text", ""))
                if STDERR_ERROR.search(text):
                    problems.append(f"error on stderr in {where}\n    stderr:\n      " + "\n      ".join(text.strip().splitlines()[-15:]))
                elif text.strip():
                    notes.append(f"stderr in cell {index}: " + " | ".join(text.strip().splitlines()[:3])[:300])
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                for mime in ("text/plain", "text/html"):
                    text = data.get(mime, "")
                    text = "".join(text) if isinstance(text, list) else text
                    if "Traceback (most recent call last)" in ANSI.sub("", text):
                        problems.append(f"a traceback shown as {mime} in {where}")
                if "application/vnd.jupyter.widget-view+json" not in data:
                    text = data.get("text/plain", "")
                    if any(r in text for r in TEXT_REPRS):
                        problems.append(f"a widget shown as text ({text[:60]!r}) in {where}")
        if "Explorer(" in cell.source and not any(
                "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.get("outputs", [])):
            problems.append(f"no live widget among the outputs of {where}")
        if "# NBVAL_CHECK_OUTPUT" in cell.source and index in committed:
            got, want = stdout_text(cell.get("outputs", []), subs), committed[index]
            if got != want:
                problems.append(f"checked output differs in {where}\n    expected:\n      "
                                + "\n      ".join(want.splitlines()) + "\n    got:\n      " + "\n      ".join(got.splitlines()))
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for model_id, model in state.items():
        for key, value in (model.get("state") or {}).items():
            if isinstance(value, str) and WIDGET_ERROR.search(value):
                text = " ".join(plain(value).split())
                problems.append(f"an error shown inside a widget ({model.get('model_name')} {model_id[:8]}, {key}): {text[:1500]}")
    return problems, notes


def run(path, timeout):
    """Execute one notebook; return (name, seconds, problems, notes)."""
    import nbformat
    from nbclient import NotebookClient

    start = time.monotonic()
    nb = nbformat.read(path, as_version=4)
    subs = sanitizers()
    committed = {i: stdout_text(c.get("outputs", []), subs) for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in c.source}
    versions_cell = nbformat.v4.new_code_cell(VERSIONS)
    nb.cells.append(versions_cell)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True, store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except Exception as e:  # a cell timeout or a dead kernel: report it with what ran
        problems, notes = check(nb, committed, subs, versions_cell)
        return path.name, time.monotonic() - start, [f"execution stopped: {type(e).__name__}: {e}"] + problems, notes
    problems, notes = check(nb, committed, subs, versions_cell)
    import ipykernel
    import ipywidgets
    import plotly

    want = f"{sys.executable} {ipywidgets.__version__} {ipykernel.__version__} {plotly.__version__}"
    got = stdout_text(versions_cell.get("outputs", []), []).strip()
    if got != want:
        problems.append(f"the kernel is not this environment: it reports {got!r}, expected {want!r}")
    return path.name, time.monotonic() - start, problems, notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2: one per core)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    if not paths:
        print("no notebooks to execute", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one torch thread per kernel, as the main CI run (conftest.py)
    os.environ["JUPYTER_PREFER_ENV_PATH"] = "1"
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")  # kernel = this python
    print(f"executing {len(paths)} notebooks, {args.jobs} at a time, "
          f"AETEACH_RETRAIN={os.environ.get('AETEACH_RETRAIN', '(unset)')}", flush=True)
    failed, start = [], time.monotonic()
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run, p, args.timeout) for p in paths]
        for future in concurrent.futures.as_completed(futures):
            name, seconds, problems, notes = future.result()
            print(f"{'FAIL' if problems else 'ok  '} {name} ({seconds:.1f} s)", flush=True)
            for note in notes:
                print(f"     note: {note}")
            for problem in problems:
                print(f"     - {problem}")
            if problems:
                failed.append(name)
    total = time.monotonic() - start
    print(f"executed {len(paths)} notebooks in {total:.0f} s" + (f"; failed: {', '.join(sorted(failed))}" if failed else ""))
    print(f"{len(paths) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
