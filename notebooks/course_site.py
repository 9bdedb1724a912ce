"""The course site and lecture slides: every notebook executed, as HTML pages and reveal.js slides, built offline.

Each explorer is replaced by a static picture of its first state (its pictures, texts and control values, taken
once its first training finished) and the note "run the notebook to move the sliders": a page carries no widget
state, so it stays small and needs no kernel. Slides follow the notebooks' slide metadata
(scripts/mark_slides.py), the deck's order being the notebooks' order; live explorers in slides need RISE
(jupyterlab-rise) in a running JupyterLab, where the same metadata applies.

Used by `python notebooks/build.py --site DIR`.
"""
import html
import json
import os
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter, SlidesExporter

WIDGET = "application/vnd.jupyter.widget-view+json"
MARK = "aeteach_static_of"  # output metadata key: the model id of the explorer this picture shows
# run after every cell: a picture of each explorer made since, taken when its first training has finished
SNAPSHOT = """\
import aeteach.widgets as _aeteach_widgets
from IPython.display import display as _aeteach_display
_aeteach_seen = globals().setdefault("_aeteach_seen", set())
for _aeteach_e in _aeteach_widgets._live_explorers():
    if _aeteach_e.widget.model_id not in _aeteach_seen:
        _aeteach_seen.add(_aeteach_e.widget.model_id)
        _aeteach_display(_aeteach_widgets.static_view(_aeteach_e), metadata={"%s": _aeteach_e.widget.model_id})
""" % MARK
NOTE = ("<p style='font-style:italic; color:#555'>An interactive widget: run the notebook to use it.</p>")
MARKER_LINES = re.compile(r"^\s*(# NBVAL_\w+|### (BEGIN|END) (SOLUTION|HIDDEN TESTS))\s*$")


def execute(nb, cwd):
    """nb executed top to bottom, each explorer's output replaced by its static picture."""
    marked = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = []
    for cell in marked.cells:
        cells.append(cell)
        if cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(SNAPSHOT, metadata={"aeteach_snapshot": True}))
    marked.cells = cells
    NotebookClient(marked, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    pictures = {o.metadata[MARK]: o for c in marked.cells if c.metadata.get("aeteach_snapshot")
                for o in c.outputs if MARK in o.get("metadata", {})}
    for cell in marked.cells:
        if cell.cell_type == "code":
            cell.outputs = [_static(o, pictures) for o in cell.outputs]
    marked.cells = [c for c in marked.cells if not c.metadata.get("aeteach_snapshot")]
    marked.metadata.pop("widgets", None)
    return marked


def _static(output, pictures):
    """An output with a widget view becomes its explorer's picture, or a note for any other widget."""
    view = output.get("data", {}).get(WIDGET)
    if view is None:
        return output
    picture = pictures.get(view.get("model_id"))
    if picture is not None:
        return nbformat.v4.new_output("display_data", data={"text/html": picture.data["text/html"]})
    return nbformat.v4.new_output("display_data", data={"text/html": NOTE})


def tidy(nb):
    """What a reader need not see: nbval and nbgrader marker lines, the hidden tests, nbgrader's metadata."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = re.sub(r"\n?### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
        cell.source = "\n".join(l for l in source.split("\n") if not MARKER_LINES.match(l)).strip("\n")
        cell.metadata.pop("nbgrader", None)
    return nb


def title(nb):
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    found = re.search(r"^#\s+(.+)$", first, re.M)
    return found.group(1).strip() if found else "notebook"


def write_pages(nb, stem, out):
    """out/STEM.html (the page) and out/slides/STEM.slides.html (reveal.js, scrolling slides)."""
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    (out / f"{stem}.html").write_text(page, encoding="utf-8")
    slides = SlidesExporter(reveal_scroll=True, reveal_transition="none")
    deck, _ = slides.from_notebook_node(nb)
    (out / "slides").mkdir(exist_ok=True)
    (out / "slides" / f"{stem}.slides.html").write_text(deck, encoding="utf-8")


def index(entries, out):
    rows = "\n".join(f"<li><a href='{s}.html'>{html.escape(t)}</a> &middot; <a href='slides/{s}.slides.html'>slides</a>"
                     f" <small>({html.escape(s)})</small></li>" for s, t in entries)
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>aeteach: autoencoders, the course</title>"
        "<body style='font-family:sans-serif; max-width:46em; margin:2em auto; line-height:1.5'>"
        "<h1>aeteach: autoencoders, the course</h1>"
        "<p>Every notebook of the suite, executed. The explorers are pictures of their first state: open the notebook "
        "in Jupyter, Binder or Colab to move the sliders. The slides are one deck per notebook (arrow keys; a long "
        "slide scrolls), in the order of the lecture deck <i>Autoencoders: an overview</i>: the concepts (0), the five "
        "kinds (1-5), its three applications (6-8); 9 and 10 are this suite's additions.</p>"
        f"<ol start='0'>\n{rows}\n</ol></body>", encoding="utf-8")


def build_site(paths, out, cwd):
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    entries = []
    for path in paths:
        t0 = time.perf_counter()
        nb = tidy(execute(nbformat.read(path, as_version=4), cwd))
        write_pages(nb, path.stem, out)
        entries.append((path.stem, title(nb)))
        size = (out / f"{path.stem}.html").stat().st_size / 1e6
        print(f"{path.name}: {time.perf_counter() - t0:.1f} s, page {size:.1f} MB", flush=True)
    index(entries, out)
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6
    print(f"site in {out}: {len(entries)} notebooks, {total:.1f} MB; open {out / 'index.html'}")
