"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium for the whole session.

Browser tests run only when selected (`-m browser` or AETEACH_BROWSER=1). Without /usr/bin/chromium or the
playwright package they are skipped, except in CI (CI=true with AETEACH_BROWSER=1), where they fail instead.
AETEACH_NOTEBOOKS_DIR points the tests at another folder of notebooks (the server's root is its parent).
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("AETEACH_CHROMIUM", "/usr/bin/chromium")  # Debian's; playwright install is not used
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}  # a laptop screen
ARTIFACTS = REPO / "artifacts" / "browser"

# JupyterLab user settings for the temporary settings dir: no news toast over the notebook, and never
# autosave, so running the notebooks in the browser cannot write outputs into the repository's files
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def notebooks_dir():
    """Folder whose *.ipynb are tested: AETEACH_NOTEBOOKS_DIR or <repo>/notebooks."""
    return Path(os.environ.get("AETEACH_NOTEBOOKS_DIR") or REPO / "notebooks").resolve()


def notebook_names():
    return sorted(p.name for p in notebooks_dir().glob("*.ipynb"))


def pytest_generate_tests(metafunc):
    # parametrize over the notebooks present at collection time
    if "notebook_name" in metafunc.fixturenames:
        metafunc.parametrize("notebook_name", notebook_names())


def _selected(config):
    markexpr = config.getoption("markexpr", "") or ""
    return os.environ.get("AETEACH_BROWSER") == "1" or "browser" in markexpr


def _strict():
    """In CI with the browser tests switched on, missing tools are a failure, not a skip."""
    return os.environ.get("CI", "").lower() == "true" and os.environ.get("AETEACH_BROWSER") == "1"


def missing_tools():
    """Why the browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if not browser_items:
        return
    if not _selected(config):
        reason = "browser test: select with -m browser or AETEACH_BROWSER=1"
    else:
        reason = missing_tools()
        if reason is None or _strict():
            return  # run; in strict mode the browser fixture fails with the reason
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=reason))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """A running jupyter server: base URL, token, and a small REST client."""

    def __init__(self, url, token, root, proc, log):
        self.url, self.token, self.root, self.proc, self.log = url, token, root, proc, log

    def api(self, method, path, timeout=10):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_sessions(self, path=None):
        """Delete the sessions (and so the kernels) of one notebook path, or all of them."""
        for s in self.api("GET", "/api/sessions"):
            if path is None or s["path"] == path:
                try:
                    self.api("DELETE", f"/api/sessions/{s['id']}", timeout=30)
                except urllib.error.HTTPError:
                    pass  # already gone

    def log_tail(self, n=40):
        return "\n".join(Path(self.log).read_text(errors="replace").splitlines()[-n:])


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    """`jupyter lab` on 127.0.0.1 with a free port, a random token and throwaway config dirs."""
    tmp = tmp_path_factory.mktemp("jupyter")
    root = notebooks_dir().parent
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTER_DATA_DIR", "data"), ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"), ("IPYTHONDIR", "ipython")]:
        (tmp / sub).mkdir()
        env[var] = str(tmp / sub)
    for name, value in LAB_SETTINGS.items():
        f = tmp / "lab-settings" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    # checkpoints mirror the notebooks' folder; without it the server falls back to <system temp>/jupyter_checkpoints
    (tmp / "checkpoints" / notebooks_dir().name).mkdir(parents=True)
    env["AETEACH_FAST"] = "1"  # kernels inherit it; notebooks then run in fast mode
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           # JupyterLab makes a checkpoint of a notebook it opens: keep those out of the repository
           f"--FileCheckpoints.root_dir={tmp / 'checkpoints'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log = tmp / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = JupyterServer(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                server.api("GET", "/api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer /api/status in 90 s:\n{server.log_tail()}")
                time.sleep(0.3)
        yield server
    finally:
        if proc.poll() is None:
            try:
                server.shutdown_sessions()
            except Exception:
                pass  # the server is going away anyway
        _kill_group(proc)


def _kill_group(proc):
    """SIGTERM the server's process group (it shuts its kernels down), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    for sig, wait in [(signal.SIGTERM, 15), (signal.SIGKILL, 5)]:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium, driven by Playwright, for the whole session."""
    reason = missing_tools()
    if reason:
        (pytest.fail if _strict() else pytest.skip)(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
