"""End-to-end in the legacy front ends students still meet: JupyterLab 3.6 and the classic Notebook 6.5,
both with ipywidgets 7.8 (the environment of .ci/colab.txt + .ci/legacy.txt). What each check does:
tests/browser/harness.py (open, Run All, no error output, live widgets, sliders change the pictures).

  - JupyterLab 3.6: 01_undercomplete (BottleneckExplorer: the slider retrains in a background thread) and
    05_variational (LatentExplorer: inference-only sliders, the latent scatter, traversal and samples);
  - classic Notebook 6.5: 04_denoising (NoiseExplorer: inference-only noise sliders, a retrain button).

Run in that environment:  python -m pytest -m "browser and legacy" tests/browser -q
Elsewhere these tests skip (and fail in CI, where CI=true and AETEACH_BROWSER=1), naming what is missing.
"""
from pathlib import Path

import pytest

from .conftest import VIEWPORT, notebooks_dir, require_versions
from .harness import Classic, JupyterLab, check_notebook, expect_kernel, shutdown

LAB3_NOTEBOOKS = ["01_undercomplete.ipynb", "05_variational.ipynb"]
CLASSIC_NOTEBOOKS = ["04_denoising.ipynb"]
LAB3 = JupyterLab("JupyterLab 3.6")
CLASSIC = Classic()
CLASSIC.name = "classic Notebook 6.5"

pytestmark = [pytest.mark.browser, pytest.mark.legacy]


def notebook(name):
    nb_path = notebooks_dir() / name
    if not nb_path.exists():
        pytest.fail(f"{nb_path} is gone: pick another notebook with an explorer for this test")
    return nb_path


@pytest.mark.parametrize("name", LAB3_NOTEBOOKS)
def test_notebook_in_jupyterlab3(name, browser, jupyter_servers, artifacts):
    require_versions(jupyterlab="3.6", ipywidgets="7.8", jupyterlab_widgets="1")
    server = jupyter_servers.get("lab", {"AETEACH_RETRAIN": None})
    nb_path = notebook(name)
    rel = nb_path.relative_to(server.root).as_posix()
    page = browser.new_page(viewport=VIEWPORT)
    url = f"{server.url}/lab/tree/{rel}?reset&token={server.token}"
    try:
        check_notebook(page, server, url, rel, nb_path, f"{Path(name).stem}.lab3", artifacts, LAB3,
                       on_open=expect_kernel(server, rel, AETEACH_RETRAIN=None))
    finally:
        shutdown(page, server, rel)


@pytest.mark.parametrize("name", CLASSIC_NOTEBOOKS)
def test_notebook_in_classic_notebook(name, browser, jupyter_servers, artifacts):
    require_versions(notebook="6.5", ipywidgets="7.8", widgetsnbextension="3.6")
    server = jupyter_servers.get("classic", {"AETEACH_RETRAIN": None})
    nb_path = notebook(name)
    rel = nb_path.relative_to(server.root).as_posix()
    page = browser.new_page(viewport=VIEWPORT)
    url = f"{server.url}/notebooks/{rel}?token={server.token}"
    try:
        check_notebook(page, server, url, rel, nb_path, f"{Path(name).stem}.classic", artifacts, CLASSIC,
                       on_open=expect_kernel(server, rel, AETEACH_RETRAIN=None))
    finally:
        shutdown(page, server, rel)
