"""The course site and lecture slides (python notebooks/build.py --site DIR): executed pages, explorers as pictures."""
import base64
import re
import subprocess
import sys
from pathlib import Path

import ipywidgets as W
import nbformat
import numpy as np
import pytest

from aeteach import classroom, plots
from aeteach.widgets import STATIC_NOTE, static_html

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def test_static_html_shows_pictures_texts_and_control_values_but_not_hidden_parts():
    png = plots.png(np.full((4, 4, 3), 200, np.uint8))
    hidden = W.HTML("secret", layout=W.Layout(display="none"))
    tree = W.VBox([W.HTML("<b>MSE 0.012</b>"), W.HBox([W.IntSlider(3, 1, 8, description="bottleneck k"),
                                                          W.FloatSlider(0.25, description="sigma", readout_format=".2f")]),
                   W.Dropdown(options=[("Gaussian", "gaussian"), ("salt and pepper", "sp")], value="sp",
                              description="noise kind"), W.Image(value=png, format="png"), hidden])
    page = static_html(tree)
    assert "<b>MSE 0.012</b>" in page and base64.b64encode(png).decode() in page
    assert re.search(r"bottleneck k</span> <b>3</b>", page) and re.search(r"sigma</span> <b>0.25</b>", page)
    assert "salt and pepper" in page and "secret" not in page
    assert "flex-direction:row" in page and "flex-direction:column" in page


def test_slide_types_follow_headings_and_steps():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\ngoals"), nbformat.v4.new_code_cell("setup"),
        nbformat.v4.new_markdown_cell("why"), nbformat.v4.new_code_cell("a = 1"),
        nbformat.v4.new_markdown_cell("next step"), nbformat.v4.new_markdown_cell("more prose"),
        nbformat.v4.new_markdown_cell("## 1. Section"), nbformat.v4.new_code_cell("b"),
        nbformat.v4.new_markdown_cell("### Exercise 1"), nbformat.v4.new_code_cell("c")])
    assert classroom.slide_types(nb) == ["slide", "subslide", "subslide", "-", "subslide", "-", "slide", "-", "subslide", "-"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_carry_their_slide_metadata(path):
    # notebooks/build.py writes it; RISE and nbconvert --to slides read it
    nb = nbformat.read(path, as_version=4)
    assert [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells] == classroom.slide_types(nb)


def test_the_site_of_a_notebook_is_executed_static_small_and_has_slides(tmp_path):
    path = ROOT / "notebooks" / "00_start_here.ipynb"
    run = subprocess.run([sys.executable, str(ROOT / "notebooks" / "build.py"), "--site", str(tmp_path), str(path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    page = (tmp_path / "00_start_here.html").read_text()
    slides = (tmp_path / "slides" / "00_start_here.slides.html").read_text()
    index = (tmp_path / "index.html").read_text()
    assert "href='00_start_here.html'" in index and "slides/00_start_here.slides.html" in index
    # the explorer is a picture of its first state, with the note, and no widget state is left
    assert "application/vnd.jupyter.widget-view+json" not in page and STATIC_NOTE in page
    static = page[page.index("aeteach-static"):]
    assert "data:image/png;base64" in static[:200_000] and "bottleneck" in static[:200_000].lower()
    assert "Traceback" not in page  # and a cell that raises fails the build (nbclient's default)
    # executed: the setup cell's printed device line and the figures are in
    assert "aeteach " in page and page.count("data:image/png;base64") >= 4
    # nothing a reader need not see; small enough to host
    for marker in ("### BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "NBVAL_"):
        assert marker not in page and marker not in slides
    assert len(page) < 2_000_000 and len(slides) < 2_000_000
    # slides: one section per slide or subslide
    nb = nbformat.read(path, as_version=4)
    types = classroom.slide_types(nb)
    assert slides.count("<section") >= types.count("slide") + types.count("subslide")
    assert "manual_seed" in page and "manual_seed" in slides  # the setup cell is a slide (highlighting splits the name)
