"""End-to-end in Voila, which shows a notebook's outputs as a dashboard (no code, no menus): a teacher's way
to hand out explorers. Voila executes the notebook when the page is requested; the test waits for the explorers,
fails on an error output, on a widget shown as text or on a cell Voila reports as failed, then moves each
explorer's first slider and requires the pictures to change (tests/browser/harness.py: check_explorer).

  - 00_start_here: a BottleneckExplorer (its slider retrains in a background thread);
  - 08_app_inpainting: an OcclusionExplorer (inference-only sliders).

Run:  python -m pytest -m browser tests/browser/test_voila.py -q   (needs voila, from requirements-test.txt)
"""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import VIEWPORT, _free_port, _kill_group, _strict, installed, notebooks_dir
from .harness import TEXT_REPRS, Console, check_explorer, is_traceback, wait_until

NOTEBOOKS = ["00_start_here.ipynb", "08_app_inpainting.ipynb"]
RENDER_TIMEOUT_S = 240  # Voila runs the whole notebook before the last explorer appears

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """`voila notebooks/` on 127.0.0.1 (free port), kernels with one torch thread; its base URL."""
    if installed("voila") is None:
        (pytest.fail if _strict() else pytest.skip)("voila is not installed (pip install -r requirements-test.txt)")
    tmp = tmp_path_factory.mktemp("voila")
    env = dict(os.environ, OMP_NUM_THREADS="1", JUPYTER_PREFER_ENV_PATH="1",
               PYDEVD_DISABLE_FILE_VALIDATION="1", JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_DATA_DIR=str(tmp / "data"))
    env.pop("AETEACH_RETRAIN", None)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    port = _free_port()
    cmd = [sys.executable, "-m", "voila", str(notebooks_dir()), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--show_tracebacks=True"]  # a failing cell shows its traceback, which the test then reports
    log = tmp / "voila.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=notebooks_dir(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        ok = wait_until(lambda: proc.poll() is None and _answers(url), 90)
        if not ok:
            pytest.fail(f"voila did not answer in 90 s:\n{log.read_text(errors='replace')[-3000:]}")
        yield url
    finally:
        _kill_group(proc)


def _answers(url):
    try:
        urllib.request.urlopen(url, timeout=2).read()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_in_voila(name, browser, voila, artifacts):
    nb_path = notebooks_dir() / name
    if not nb_path.exists():
        pytest.fail(f"{nb_path} is gone: pick another notebook with an explorer for this test")
    cells = json.loads(nb_path.read_text())["cells"]
    n_explorers = sum("Explorer(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")
    page = browser.new_page(viewport=VIEWPORT)
    console, problems = Console(page), []
    shot = artifacts / f"{Path(name).stem}.voila.png"
    try:
        page.goto(f"{voila}/voila/render/{name}", timeout=RENDER_TIMEOUT_S * 1000)
        explorers = page.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-slider"))
        if not wait_until(lambda: explorers.count() >= n_explorers, RENDER_TIMEOUT_S, interval=1.0):
            problems.append(f"{explorers.count()} of {n_explorers} explorers rendered in {RENDER_TIMEOUT_S} s")
        text = page.locator("body").inner_text()
        if is_traceback(text) or "There was an error when executing cell" in text:
            problems.append("an error output:\n" + text[-3000:])
        problems += [f"widget not rendered live ({p!r} shown)" for p in TEXT_REPRS if p in text]
        for k in range(explorers.count()):
            problems += check_explorer(page, explorers.nth(k), cells, -1, artifacts / f"{Path(name).stem}.voila.{k}.png")
    except Exception as e:  # a Playwright timeout: report it with the rest
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        page.screenshot(path=str(shot))
        page.close()
    problems += console.failures()
    if problems:
        pytest.fail(f"{name} in Voila:\n- " + "\n- ".join(problems) + f"\nconsole:\n{console.dump()}\nscreenshot: {shot}",
                    pytrace=False)
