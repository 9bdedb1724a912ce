"""End-to-end: every notebook runs in JupyterLab (one also in Notebook 7, one with inline retraining) and its
explorers respond in Chromium. What each check does: tests/browser/harness.py.

These tests run with today's stack (requirements-test.txt: JupyterLab 4, Notebook 7, ipywidgets 8) against
one `jupyter lab` server whose kernels run with one torch thread; each notebook's kernel is shut down after it.
test_inline_retraining_in_lab starts a second server whose kernels have AETEACH_RETRAIN=inline (the explorers
then train inside the slider callback, as on Colab). The legacy front ends are in test_legacy.py.

Run:  python -m pytest tests/browser -m "browser and not legacy" -x -q   (or AETEACH_BROWSER=1 python -m pytest)
Needs the playwright package and Debian's /usr/bin/chromium (`playwright install` is not used).
AETEACH_NOTEBOOKS_DIR=/some/dir/notebooks tests another folder of notebooks.
"""
from pathlib import Path

import pytest

from .conftest import VIEWPORT, notebooks_dir
from .harness import JupyterLab, check_notebook, expect_kernel, shutdown

LAB = JupyterLab("JupyterLab 4")
NOTEBOOK7 = JupyterLab("Notebook 7")
INLINE_NOTEBOOK = "00_start_here.ipynb"  # a BottleneckExplorer: its slider retrains


def pick(preferred):
    names = sorted(p.name for p in notebooks_dir().glob("*.ipynb"))
    if not names:
        pytest.fail(f"no notebooks in {notebooks_dir()}")
    return preferred if preferred in names else names[0]


@pytest.mark.browser
def test_there_are_notebooks():
    assert list(notebooks_dir().glob("*.ipynb")), f"no notebooks in {notebooks_dir()}"


@pytest.mark.browser
def test_notebook_in_lab(notebook_name, browser, jupyter_server, artifacts):
    nb_path = notebooks_dir() / notebook_name
    rel = nb_path.relative_to(jupyter_server.root).as_posix()
    page = browser.new_page(viewport=VIEWPORT)
    url = f"{jupyter_server.url}/lab/tree/{rel}?reset&token={jupyter_server.token}"
    try:
        check_notebook(page, jupyter_server, url, rel, nb_path, Path(notebook_name).stem, artifacts, LAB,
                       on_open=expect_kernel(jupyter_server, rel, AETEACH_RETRAIN=None))
    finally:
        shutdown(page, jupyter_server, rel)


@pytest.mark.browser
def test_notebook_in_notebook7(browser, jupyter_server, artifacts):
    name = pick("00_start_here.ipynb")
    nb_path = notebooks_dir() / name
    rel = nb_path.relative_to(jupyter_server.root).as_posix()
    page = browser.new_page(viewport=VIEWPORT)
    url = f"{jupyter_server.url}/notebooks/{rel}?token={jupyter_server.token}"
    try:
        check_notebook(page, jupyter_server, url, rel, nb_path, f"{Path(name).stem}.notebook7", artifacts, NOTEBOOK7,
                       on_open=expect_kernel(jupyter_server, rel))
    finally:
        shutdown(page, jupyter_server, rel)


@pytest.mark.browser
def test_inline_retraining_in_lab(browser, jupyter_servers, artifacts):
    """A retraining explorer with AETEACH_RETRAIN=inline in its kernel (training runs in the slider callback and
    sends partial results from there): moving the slider must still change the pictures."""
    server = jupyter_servers.get("lab", {"AETEACH_RETRAIN": "inline"})
    name = pick(INLINE_NOTEBOOK)
    nb_path = notebooks_dir() / name
    rel = nb_path.relative_to(server.root).as_posix()
    page = browser.new_page(viewport=VIEWPORT)
    url = f"{server.url}/lab/tree/{rel}?reset&token={server.token}"
    try:
        check_notebook(page, server, url, rel, nb_path, f"{Path(name).stem}.inline", artifacts, LAB,
                       on_open=expect_kernel(server, rel, AETEACH_RETRAIN="inline"))
    finally:
        shutdown(page, server, rel)
