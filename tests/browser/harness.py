"""What a browser test does to one notebook, for every front end: open it, Run All, inspect, move sliders.

`check_notebook(page, server, url, rel, nb_path, shot_name, artifacts, front_end)`, per notebook, in a 1366x768
headless Chromium:
  1. opens the notebook's URL, waits for an idle kernel, runs all cells from the menu bar (JupyterLab and
     Notebook 7: Run > Run All Cells; classic Notebook: Cell > Run All) and waits until no cell shows [*] and
     the kernel is idle;
  2. fails on any error output (tracebacks), on widgets shown as text (`IntSlider(value=...`) or as
     "Error displaying widget"/"Loading widget...", and, when the source contains `Explorer(`, on no live widget;
  3. in every cell whose output holds a slider, drags the first slider's handle a quarter of its track with the
     mouse (arrow keys as fallback) and waits up to 20 s (retraining runs in a thread, or inline) until the
     pictures of that explorer change on screen (or, with no picture, anything outside the sliders), and its
     PSNR/MSE numbers too if it shows any; then waits up to 10 s for a retrain to settle;
  4. fails on uncaught page errors and on console errors about widgets/plotly/anywidget (offline noise ignored);
  5. saves artifacts/browser/NAME.png (the 1366x768 window at the end) and NAME.cellK.png (the whole output
     of the explorer in cell K, after its slider moved).
Tests pass on_open=expect_kernel(server, rel, VAR=value): the kernel must run this environment's python and
have those variables. The browser must never save a notebook: autosave is off (throwaway JupyterLab settings; the classic Notebook's
timer is switched off once the page is loaded), and any write to the contents API fails the test.
"""
import hashlib
import json
import os
import re
import sys
import time

import pytest

from .conftest import VIEWPORT, kernel_process

RUN_TIMEOUT_S = 180  # a notebook takes under 20 s on one idle core, several times that on a loaded one
SLIDER_TIMEOUT_S = 20  # some sliders retrain in a background thread
SETTLE_S = 10  # after the first visible change, how long to wait for the explorer to stop changing
MAX_EXPLORERS = 8  # per notebook, to keep the run inside its time budget

HANDLE = ".noUi-handle, .ui-slider-handle"  # ipywidgets 8 (noUiSlider), ipywidgets 7 (jQuery UI)
TRACK = ".noUi-base, .ui-slider"
VISUALS = "img, canvas, .js-plotly-plot"
TEXT_REPRS = ["IntSlider(value=", "FloatSlider(", "VBox(children=", "HBox(children=",
              "Error displaying widget", "Loading widget..."]
JS_RELEVANT = re.compile(r"widget|plotly|anywidget", re.I)
# offline and housekeeping noise: no internet here, so fonts/CDNs/extension listings fail to load
JS_NOISE = re.compile(r"favicon|fonts\.googleapis|fonts\.gstatic|cdn\.|mathjax|jsdelivr|unpkg\.com|pypi\.org"
                      r"|lab/api/extensions|lab/api/news|ERR_INTERNET_DISCONNECTED|ERR_NAME_NOT_RESOLVED"
                      # Notebook 7.6 frontend bugs at page load, before any notebook code runs: its shortcut
                      # settings code, and its file browser restore on a page that has no file browser
                      r"|reading 'schema'\)[\s\S]*notebook_core|Command 'filebrowser:open-path' not registered", re.I)
EXCEPTION_LINE = re.compile(r"^\s*\w+(Error|Exception|Interrupt)\b", re.M)


# ---------------------------------------------------------------- front ends

class FrontEnd:
    """Where things are on the page of one front end. Subclasses: JupyterLab (4 and 3.6, Notebook 7), Classic."""

    name = "?"
    notebook = cell = prompt = output_area = output = error_output = widget = ""
    prompt_done = re.compile(r"\[\d+\]:?")

    def kernel_idle(self, page):
        raise NotImplementedError

    def run_all(self, page):
        raise NotImplementedError

    def after_open(self, page):
        """Anything to set up once the notebook is open and its kernel idle."""


class JupyterLab(FrontEnd):
    """JupyterLab 4 and 3.6 and Notebook 7 (built from JupyterLab's components) share this DOM."""

    def __init__(self, name="JupyterLab"):
        self.name = name

    notebook = ".jp-Notebook"
    cell = ".jp-Notebook .jp-Cell"
    prompt = ".jp-Notebook .jp-CodeCell .jp-InputArea-prompt"
    output_area = ".jp-Cell-outputArea"
    output = ".jp-OutputArea-output"
    # JupyterLab renders an error (traceback) with the stderr mime type, so tell them apart by the text
    error_output = ('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
                    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
    widget = ".jp-OutputArea .jupyter-widgets"

    def kernel_idle(self, page):
        return page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count() > 0

    def run_all(self, page):
        """Run > Run All Cells, from the menu bar, as a student would (Lumino 1 and 2 both have lm- classes)."""
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()


class Classic(FrontEnd):
    """The classic Notebook (6.5): jQuery and Bootstrap, one page per notebook."""

    name = "classic Notebook"
    notebook = "#notebook-container"
    cell = "#notebook-container .cell"
    prompt = "#notebook-container .code_cell .input_prompt"
    prompt_done = re.compile(r"(In\s*)?\[\d+\]:?")  # "In [3]:" ("In [*]:" running, "In [ ]:" not run)
    output_area = ".output_wrapper"
    output = ".output_area .output_subarea"
    error_output = ".output_subarea.output_error, .output_subarea.output_stderr"
    widget = ".output_area .jupyter-widgets"

    def kernel_idle(self, page):
        return page.locator("#kernel_indicator_icon.kernel_idle_icon").count() > 0

    def run_all(self, page):
        """Cell > Run All, from the menu bar."""
        page.locator("#celllink").click()
        page.locator("#run_all_cells > a").click()

    def after_open(self, page):
        # the page starts a 2-minute autosave timer once loaded; stop it, so the test cannot write the notebook
        interval = page.evaluate("() => { Jupyter.notebook.set_autosave_interval(0); return Jupyter.notebook.autosave_interval; }")
        assert interval == 0, f"could not switch the classic Notebook's autosave off (interval {interval!r})"


LAB = JupyterLab()


# ---------------------------------------------------------------- page helpers

class Console:
    """Collects console messages, page errors and notebook saves of one page."""

    def __init__(self, page):
        self.messages, self.page_errors, self.saves = [], [], []
        page.on("request", self._on_request)
        page.on("console", lambda m: self.messages.append((m.type, m.text, (m.location or {}).get("url", ""))))
        page.on("pageerror", lambda e: self.page_errors.append(f"{e}\n{getattr(e, 'stack', '') or ''}"[:2000]))

    def _on_request(self, request):
        # writes to the contents API: save (PUT), rename (PATCH), new file or restore (POST); only making a
        # checkpoint (POST .../checkpoints, which lands in the server's temp dir) leaves the notebook alone
        url = request.url.split("?")[0]
        if "/api/contents/" in url and request.method in ("PUT", "PATCH", "POST") and not url.endswith("/checkpoints"):
            self.saves.append(f"{request.method} {url}")

    def failures(self):
        bad = [f"the browser wrote the notebook: {s}" for s in self.saves]
        bad += [f"pageerror: {e}" for e in self.page_errors if not JS_NOISE.search(e)]
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


def kernel_ready(page, server, rel, fe):
    """The server has an idle kernel for the notebook, connected to this page, and the page shows it idle."""
    sessions = [s for s in server.api("GET", "/api/sessions") if s["path"] == rel]
    # the page's indicator reads 'idle' for a moment before any kernel exists ("No Kernel"): ask the server too
    return (len(sessions) == 1 and sessions[0]["kernel"]["execution_state"] == "idle"
            and sessions[0]["kernel"].get("connections", 1) > 0 and fe.kernel_idle(page))


def open_notebook(page, server, url, rel, fe):
    page.goto(url)
    page.locator(fe.notebook).first.wait_for(timeout=60_000)
    assert wait_until(lambda: kernel_ready(page, server, rel, fe), 90), "kernel not idle 90 s after opening"
    fe.after_open(page)


def prompts(page, fe):
    return page.evaluate("(sel) => Array.from(document.querySelectorAll(sel)).map(e => e.textContent.trim())", fe.prompt)


def is_traceback(text):
    return "Traceback (most recent call last)" in text or ("Cell In[" in text and bool(EXCEPTION_LINE.search(text)))


def error_outputs(page, fe):
    """[(cell index, text)] of the outputs that show a traceback (also inside widgets' Output areas)."""
    return [(i, t) for i, t in cells_matching(page, fe, fe.error_output) if is_traceback(t)]


def run_finished(page, fe):
    """Kernel idle, no cell running or queued, and every code cell ran (or an error stopped the run)."""
    shown = prompts(page, fe)
    if not fe.kernel_idle(page) or any("*" in p for p in shown):
        return False
    return all(fe.prompt_done.fullmatch(p) for p in shown) or bool(error_outputs(page, fe))


CELL_OF_JS = """([cellSel, sel]) => {
  const cells = Array.from(document.querySelectorAll(cellSel));
  return Array.from(document.querySelectorAll(sel)).map(e => [cells.indexOf(e.closest(cellSel)), e.innerText]);
}"""


def cells_matching(page, fe, selector):
    """[(cell index, text of the matching element)] for the elements matching selector."""
    return page.evaluate(CELL_OF_JS, [fe.cell, selector])


def describe_cell(source_cells, index):
    src = "".join(source_cells[index]["source"]) if 0 <= index < len(source_cells) else "?"
    lines = src.splitlines()
    return f"cell {index}:\n    " + "\n    ".join(lines[:12] + (["..."] if len(lines) > 12 else []))


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
    """Drag the handle a quarter of the track with the mouse (arrow keys as fallback); return (before, after)."""
    before = slider_value(slider)
    handle = slider.locator(HANDLE).first
    handle.scroll_into_view_if_needed()
    box, track = handle.bounding_box(), slider.locator(TRACK).first.bounding_box()
    if box and track:
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        # drag right unless the handle sits in the right half, where there is little room
        dx = track["width"] / 4 * (1 if x < track["x"] + track["width"] / 2 else -1)
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(1, 6):
            page.mouse.move(x + dx * step / 5, y)
        page.mouse.up()
        time.sleep(0.3)
        if slider_value(slider) != before:
            return before, slider_value(slider)
    for key in ["ArrowRight", "ArrowLeft"]:
        handle.focus()
        for _ in range(3):
            # only while the handle has the focus: in the notebook, ArrowLeft would collapse a heading
            if not handle.evaluate("h => h === document.activeElement"):
                break
            page.keyboard.press(key)
            time.sleep(0.15)
        if slider_value(slider) != before:
            break
    return before, slider_value(slider)


# ---------------------------------------------------------------- the checks

def check_notebook(page, server, url, rel, nb_path, shot_name, artifacts, fe=LAB, on_open=None):
    """Open, run, inspect and poke one notebook; fail with what was seen.

    on_open(page) may return more problems (strings), checked once the notebook is open and its kernel idle."""
    console = Console(page)
    cells = json.loads(nb_path.read_text())["cells"]
    shot = artifacts / f"{shot_name}.png"
    problems, times, start = [], {}, time.monotonic()
    try:
        open_notebook(page, server, url, rel, fe)
        if on_open is not None:
            problems += on_open(page)
        times["open"] = time.monotonic() - start
        fe.run_all(page)
        if not wait_until(lambda: run_finished(page, fe), RUN_TIMEOUT_S, interval=1.0):
            problems.append(f"Run All did not finish in {RUN_TIMEOUT_S} s; prompts: {prompts(page, fe)}")
        # widget views render asynchronously after the run
        wait_until(lambda: "Loading widget..." not in page.locator(fe.notebook).first.inner_text(), 15)
        times["run all"] = time.monotonic() - start - sum(times.values())
        explorers = page.locator(fe.cell).filter(has=page.locator(f"{fe.output_area} {HANDLE}"))
        for k in range(min(explorers.count(), MAX_EXPLORERS)):
            cell = explorers.nth(k)
            index = cell.evaluate("(c, sel) => Array.from(document.querySelectorAll(sel)).indexOf(c)", fe.cell)
            problems += check_explorer(page, cell.locator(fe.output_area).first, cells, index,
                                       artifacts / f"{shot_name}.cell{index}.png")
            times[f"explorer in cell {index}"] = time.monotonic() - start - sum(times.values())
    except Exception as e:  # a Playwright timeout: report it with the rest of what was seen
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        try:  # after the slider moves, so errors raised by widget callbacks count too
            problems = check_outputs(page, cells, fe) + problems
        except Exception as e:
            problems.append(f"could not inspect the outputs: {type(e).__name__}: {e}")
        page.screenshot(path=str(shot))
    timing = f"{nb_path.name} in {fe.name}: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
    print(timing)  # shown by pytest -rP, and with the failure below
    problems = list(dict.fromkeys(problems + console.failures()))  # one line per distinct problem
    if problems:
        pytest.fail(f"{nb_path.name} in {fe.name} ({url.split('?')[0]}):\n- " + "\n- ".join(problems)
                    + f"\nconsole (errors and warnings, ignored ones included):\n{console.dump()}"
                    + f"\nscreenshot: {shot}\ntimes: {timing}", pytrace=False)


def check_outputs(page, cells, fe):
    """Tracebacks, widgets shown as text, and explorers that did not render."""
    problems = []
    for index, text in error_outputs(page, fe):
        tb = "\n    ".join(text.strip().splitlines()[-25:])
        problems.append(f"error output in {describe_cell(cells, index)}\n  traceback:\n    {tb}")
    for index, text in cells_matching(page, fe, fe.output):
        for pattern in TEXT_REPRS:
            if pattern in text:
                problems.append(f"widget not rendered live ({pattern!r} shown) in {describe_cell(cells, index)}")
    source = "".join("".join(c["source"]) for c in cells)
    if "Explorer(" in source and page.locator(fe.widget).count() == 0:
        problems.append(f"the source calls Explorer( but no live widget ({fe.widget}) is on the page")
    return problems


def check_explorer(page, area, cells, index, shot):
    """Move the first slider of one cell's output; what the student sees must change."""
    slider = area.locator(".widget-slider").filter(has=page.locator(HANDLE)).first
    slider.scroll_into_view_if_needed()
    wait_until(lambda: explorer_state(area)[0], 10)  # give pictures time to draw
    pics, readouts = explorer_state(area)
    whole = masked_shot(page, area) if not pics else None
    before, after = move_slider(page, slider)
    if before == after:
        return [f"slider value stayed {before!r} after a mouse drag and arrow keys in {describe_cell(cells, index)}"]

    def changed():
        new_pics, new_readouts = explorer_state(area)
        if pics:
            seen = bool(new_pics) and new_pics != pics
        else:  # no picture: anything outside the sliders counts
            seen = masked_shot(page, area) != whole
        return seen and (not readouts or new_readouts != readouts)

    ok = wait_until(changed, SLIDER_TIMEOUT_S)
    if ok:  # let a background retrain finish (bounded) so the saved picture shows the end state
        wait_settled(area, SETTLE_S)
    save_tall_screenshot(page, area, shot)
    for note in layout_notes(area):
        print(f"layout, cell {index}: {note}")
    if ok:
        return []
    new_pics, new_readouts = explorer_state(area)
    return [f"slider {before} -> {after} did not change what the student sees within {SLIDER_TIMEOUT_S} s in "
            f"{describe_cell(cells, index)}\n  pictures {len(pics)} -> {len(new_pics)} (identical: {pics == new_pics}),"
            f" PSNR/MSE readouts {readouts} -> {new_readouts}; see {shot}"]


LAYOUT_JS = """(area) => {
  const notes = [], right = area.getBoundingClientRect().right;
  for (const e of area.querySelectorAll('.widget-button, .widget-label, .widget-readout, .widget-html-content, label')) {
    if (e.offsetParent && e.scrollWidth > e.clientWidth + 1)
      notes.push(`text cut off: "${e.textContent.trim().slice(0, 60)}"`);
  }
  for (const e of area.querySelectorAll('.jupyter-widgets, img, canvas, .js-plotly-plot')) {
    const box = e.getBoundingClientRect();
    if (box.width && box.right > right + 2)
      notes.push(`wider than the output area by ${Math.round(box.right - right)} px: ${e.tagName.toLowerCase()}.${e.className}`);
  }
  return [...new Set(notes)];
}"""


def layout_notes(area):
    """What looks broken at this window size (cut-off labels, overflowing widgets): reported, never failed."""
    return area.evaluate(LAYOUT_JS)


def wait_settled(area, timeout):
    """Poll the explorer once a second until two polls agree, at most timeout seconds."""
    previous, deadline = explorer_state(area), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        current = explorer_state(area)
        if current == previous:
            return
        previous = current


def save_tall_screenshot(page, area, path):
    """Screenshot of the whole explorer: the page scrolls inside a panel, so grow the window for a moment."""
    height = int((area.bounding_box() or {}).get("height", 0))
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(VIEWPORT["height"] + height, 4000)})
    try:
        area.scroll_into_view_if_needed()
        area.screenshot(path=str(path), animations="disabled")
    finally:
        page.set_viewport_size(VIEWPORT)


def masked_shot(page, area):
    """Hash of the output area's screenshot with its sliders masked (their own readouts always change)."""
    png = area.screenshot(animations="disabled", mask=[area.locator(".widget-slider")], timeout=10_000)
    return hashlib.sha1(png).hexdigest()


def expect_kernel(server, rel, **env):
    """An on_open check: the notebook's kernel runs this environment's python (so the versions under test) and
    has the given environment variables (a value None: the variable is unset)."""
    def check(page):
        found = kernel_process(server, rel)
        if found is None:
            return [f"could not find the kernel process of {rel} (to check its python and environment)"]
        argv, kernel_env = found
        # the same environment's bin folder: its python and python3 are the same interpreter
        same = bool(argv) and os.path.dirname(os.path.abspath(argv[0])) == os.path.dirname(os.path.abspath(sys.executable))
        problems = [] if same else [
            f"the kernel runs {argv[:1]}, not this environment's {sys.executable}"]
        problems += [f"the kernel has {k}={kernel_env.get(k)!r}, expected {v!r}" for k, v in env.items() if kernel_env.get(k) != v]
        return problems
    return check


def shutdown(page, server, rel):
    page.close()
    server.shutdown_sessions(rel)  # frees the kernel's memory before the next notebook
