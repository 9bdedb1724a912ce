"""End-to-end: every notebook runs in JupyterLab (and one in Notebook 7) and its explorers respond in Chromium.

What a test does, per notebook, in a 1366x768 headless Chromium against one `jupyter lab` server:
  1. opens /lab/tree/notebooks/NAME (`?reset` so no workspace state carries over), waits for an idle kernel,
     runs Run > Run All Cells from the menu bar and waits until no cell shows [*] and the kernel is idle;
  2. fails on any error output (tracebacks), on widgets shown as text (`IntSlider(value=...`) or as
     "Error displaying widget"/"Loading widget...", and, when the source contains `Explorer(`, on no live widget;
  3. in every cell whose output holds a slider, presses ArrowRight on the first slider's handle and waits (up to
     20 s, retraining runs in a thread) until the pictures of that explorer change on screen, and a PSNR/MSE
     readout too if it shows one;
  4. fails on uncaught page errors and on console errors about widgets/plotly/anywidget (offline noise ignored);
  5. saves artifacts/browser/NAME.png (the window after the last slider move) and NAME.cellK.png per explorer.
Kernels run with AETEACH_FAST=1. Notebook files are never saved (autosave is off in the throwaway settings).

Run:  python -m pytest tests/browser -m browser -x -q      (or AETEACH_BROWSER=1 python -m pytest)
Needs the playwright package and Debian's /usr/bin/chromium (`playwright install` is not used).
AETEACH_NOTEBOOKS_DIR=/some/dir/notebooks tests another folder of notebooks.
"""
import hashlib
import json
import re
import time
from pathlib import Path

import pytest

from .conftest import VIEWPORT, notebooks_dir

RUN_TIMEOUT_S = 180  # a notebook takes up to ~30 s in fast mode on 2 cores
SLIDER_TIMEOUT_S = 20  # some sliders retrain in a background thread
MAX_EXPLORERS = 8  # per notebook, to keep the run inside its time budget

HANDLE = ".noUi-handle, .ui-slider-handle"  # ipywidgets 8 (noUiSlider), ipywidgets 7 (jQuery UI)
VISUALS = "img, canvas, .js-plotly-plot"
TEXT_REPRS = ["IntSlider(value=", "FloatSlider(", "VBox(children=", "HBox(children=",
              "Error displaying widget", "Loading widget..."]
JS_RELEVANT = re.compile(r"widget|plotly|anywidget", re.I)
# offline and housekeeping noise: no internet here, so fonts/CDNs/extension listings fail to load
JS_NOISE = re.compile(r"favicon|fonts\.googleapis|fonts\.gstatic|cdn\.|mathjax|jsdelivr|unpkg\.com|pypi\.org"
                      r"|lab/api/extensions|lab/api/news|ERR_INTERNET_DISCONNECTED|ERR_NAME_NOT_RESOLVED", re.I)


# ---------------------------------------------------------------- page helpers

class Console:
    """Collects console messages and page errors of one page."""

    def __init__(self, page):
        self.messages, self.page_errors = [], []
        page.on("console", lambda m: self.messages.append((m.type, m.text, (m.location or {}).get("url", ""))))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def failures(self):
        bad = [f"pageerror: {e}" for e in self.page_errors if not JS_NOISE.search(e)]
        bad += [f"console.error: {t} ({u})" for kind, t, u in self.messages
                if kind == "error" and JS_RELEVANT.search(t + u) and not JS_NOISE.search(t + " " + u)]
        return bad

    def dump(self):
        lines = [f"  {kind}: {t[:300]} ({u})" for kind, t, u in self.messages if kind in ("error", "warning")]
        lines += [f"  pageerror: {e[:300]}" for e in self.page_errors]
        return "\n".join(lines) or "  (none)"


def wait_until(check, timeout, interval=0.5):
    """Poll check() until it returns a truthy value; return the last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def kernel_idle(page):
    return page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count() > 0


def open_notebook(page, url):
    page.goto(url)
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    assert wait_until(lambda: kernel_idle(page), 90), "kernel did not become idle after opening the notebook"


def run_all_cells(page):
    """Run > Run All Cells, from the menu bar, as a student would (JupyterLab and Notebook 7 share it)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()


PROMPTS_JS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt'))
                       .map(e => e.textContent.trim())"""
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'


def run_finished(page):
    """Kernel idle, no cell running or queued, and every code cell ran (or an error stopped the run)."""
    prompts = page.evaluate(PROMPTS_JS)
    if not kernel_idle(page) or any("*" in p for p in prompts):
        return False
    return all(re.fullmatch(r"\[\d+\]:?", p) for p in prompts) or page.locator(ERROR_OUTPUT).count() > 0


CELL_OF_JS = """(sel) => {
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
  return Array.from(document.querySelectorAll(sel)).map(e => [cells.indexOf(e.closest('.jp-Cell')), e.innerText]);
}"""


def cells_matching(page, selector):
    """[(cell index, text of the matching element)] for the elements matching selector."""
    return page.evaluate(CELL_OF_JS, selector)


def describe_cell(source_cells, index):
    src = "".join(source_cells[index]["source"]) if 0 <= index < len(source_cells) else "?"
    return f"cell {index}:\n    " + "\n    ".join(src.splitlines()[:12])


# what the student sees of one explorer: its pictures, and numbers next to PSNR / MSE outside the slider
READOUT_JS = """(area) => {
  const c = area.cloneNode(true);
  c.querySelectorAll('.widget-slider, .widget-readout, input, textarea').forEach(e => e.remove());
  return Array.from(c.textContent.matchAll(/(PSNR|MSE)[^0-9\\-]{0,24}(-?\\d+(?:\\.\\d+)?)/gi)).map(m => m[0]);
}"""


def explorer_state(area):
    shots = []
    visuals = area.locator(VISUALS)
    for i in range(min(visuals.count(), 6)):
        v = visuals.nth(i)
        if v.is_visible() and (v.bounding_box() or {}).get("width", 0) > 4:
            # a plotly plot holds its own canvases/svgs: the plot's screenshot covers them
            if v.evaluate("e => !!e.parentElement.closest('.js-plotly-plot')"):
                continue
            shots.append(hashlib.sha1(v.screenshot(animations="disabled", timeout=10_000)).hexdigest())
    return shots, area.evaluate(READOUT_JS)


def slider_value(slider):
    readout = slider.locator(".widget-readout")
    if readout.count():
        return readout.first.inner_text()
    return slider.locator(HANDLE).first.get_attribute("aria-valuenow")


def move_slider(page, slider):
    """Focus the handle and press arrow keys until the value changes; return (before, after)."""
    before = slider_value(slider)
    handle = slider.locator(HANDLE).first
    for key in ["ArrowRight", "ArrowLeft", "ArrowUp", "ArrowDown"]:
        handle.focus()
        for _ in range(3):
            page.keyboard.press(key)
            time.sleep(0.15)
        after = slider_value(slider)
        if after != before:
            return before, after
    return before, before


# ---------------------------------------------------------------- the checks

def check_notebook(page, server, url, nb_path, shot_name, artifacts):
    """Open, run, inspect and poke one notebook; raise AssertionError with what was seen."""
    console = Console(page)
    cells = json.loads(nb_path.read_text())["cells"]
    source = "".join("".join(c["source"]) for c in cells)
    shot = artifacts / f"{shot_name}.png"
    problems = []
    try:
        open_notebook(page, url)
        run_all_cells(page)
        if not wait_until(lambda: run_finished(page), RUN_TIMEOUT_S, interval=1.0):
            prompts = page.evaluate(PROMPTS_JS)
            problems.append(f"Run All did not finish in {RUN_TIMEOUT_S} s; prompts: {prompts}")
        # widget views render asynchronously after the run
        wait_until(lambda: "Loading widget..." not in page.locator(".jp-Notebook").inner_text(), 15)

        for index, text in cells_matching(page, ERROR_OUTPUT):
            problems.append(f"error output in {describe_cell(cells, index)}\n  {text.strip()[-1500:]}")
        for index, text in cells_matching(page, ".jp-OutputArea-output"):
            for pattern in TEXT_REPRS:
                if pattern in text:
                    problems.append(f"widget not rendered live ({pattern!r}) in {describe_cell(cells, index)}")
        if "Explorer(" in source and page.locator(".jp-OutputArea .jupyter-widgets").count() == 0:
            problems.append("the source calls Explorer( but no live widget (.jupyter-widgets) is on the page")

        areas = page.locator(".jp-Notebook .jp-Cell").filter(has=page.locator(f".jp-Cell-outputArea {HANDLE}"))
        for k in range(min(areas.count(), MAX_EXPLORERS)):
            cell = areas.nth(k)
            index = cell.evaluate("c => Array.from(c.parentElement.children).filter(e => e.classList.contains('jp-Cell')).indexOf(c)")
            problems += check_explorer(page, cell.locator(".jp-Cell-outputArea").first, cells, index,
                                       artifacts / f"{shot_name}.cell{index}.png")
        problems += console.failures()
    except Exception as e:  # a timeout in Playwright: report it with the rest of what was seen
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        page.screenshot(path=str(shot))
    if problems:
        pytest.fail(f"{nb_path.name} ({url.split('?')[0]}):\n- " + "\n- ".join(problems)
                    + f"\nconsole (errors and warnings, ignored ones included):\n{console.dump()}"
                    + f"\nscreenshot: {shot}", pytrace=False)


def check_explorer(page, area, cells, index, shot):
    """Move the first slider of one cell's output; what the student sees must change."""
    slider = area.locator(".widget-slider").filter(has=page.locator(HANDLE)).first
    slider.scroll_into_view_if_needed()
    wait_until(lambda: explorer_state(area)[0], 10)  # give pictures time to draw
    pics, readouts = explorer_state(area)
    whole = masked_shot(page, area) if not pics else None
    before, after = move_slider(page, slider)
    if before == after:
        return [f"slider value stayed {before!r} after arrow keys in {describe_cell(cells, index)}"]

    def changed():
        new_pics, new_readouts = explorer_state(area)
        if pics:
            seen = bool(new_pics) and new_pics != pics
        else:  # no picture: anything outside the sliders counts
            seen = masked_shot(page, area) != whole
        return seen and (not readouts or new_readouts != readouts)

    ok = wait_until(changed, SLIDER_TIMEOUT_S)
    area.screenshot(path=str(shot), animations="disabled")
    if ok:
        return []
    new_pics, new_readouts = explorer_state(area)
    return [f"slider {before} -> {after} did not change what the student sees within {SLIDER_TIMEOUT_S} s in "
            f"{describe_cell(cells, index)}\n  pictures {len(pics)} -> {len(new_pics)} (identical: {pics == new_pics}),"
            f" PSNR/MSE readouts {readouts} -> {new_readouts}; see {shot}"]


def masked_shot(page, area):
    """Hash of the output area's screenshot with its sliders masked (their own readouts always change)."""
    png = area.screenshot(animations="disabled", mask=[area.locator(".widget-slider")], timeout=10_000)
    return hashlib.sha1(png).hexdigest()


# ---------------------------------------------------------------- tests

@pytest.mark.browser
def test_there_are_notebooks():
    assert list(notebooks_dir().glob("*.ipynb")), f"no notebooks in {notebooks_dir()}"


def _shutdown(page, server, rel):
    page.close()
    server.shutdown_sessions(rel)  # frees the kernel's memory before the next notebook


def _checked_unchanged(nb_path, before):
    assert nb_path.read_bytes() == before, f"{nb_path} was modified by the browser run (autosave?)"


@pytest.mark.browser
def test_notebook_in_lab(notebook_name, jupyter_server, browser, artifacts):
    nb_path = notebooks_dir() / notebook_name
    rel = nb_path.relative_to(jupyter_server.root).as_posix()
    content = nb_path.read_bytes()
    page = browser.new_page(viewport=VIEWPORT)
    url = f"{jupyter_server.url}/lab/tree/{rel}?reset&token={jupyter_server.token}"
    try:
        check_notebook(page, jupyter_server, url, nb_path, Path(notebook_name).stem, artifacts)
    finally:
        _shutdown(page, jupyter_server, rel)
    _checked_unchanged(nb_path, content)


@pytest.mark.browser
def test_notebook_in_notebook7(jupyter_server, browser, artifacts):
    names = [n for n in sorted(p.name for p in notebooks_dir().glob("*.ipynb"))]
    if not names:
        pytest.fail(f"no notebooks in {notebooks_dir()}")
    name = "00_start_here.ipynb" if "00_start_here.ipynb" in names else names[0]
    nb_path = notebooks_dir() / name
    rel = nb_path.relative_to(jupyter_server.root).as_posix()
    content = nb_path.read_bytes()
    page = browser.new_page(viewport=VIEWPORT)
    url = f"{jupyter_server.url}/notebooks/{rel}?token={jupyter_server.token}"
    try:
        check_notebook(page, jupyter_server, url, nb_path, f"{Path(name).stem}.notebook7", artifacts)
    finally:
        _shutdown(page, jupyter_server, rel)
    _checked_unchanged(nb_path, content)
