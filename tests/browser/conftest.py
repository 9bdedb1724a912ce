"""Fixtures for the browser tests: jupyter servers and one headless Chromium for the whole session.

Browser tests run only when selected (`-m browser` or AETEACH_BROWSER=1). Without /usr/bin/chromium or the
playwright package they are skipped, except in CI (CI=true with AETEACH_BROWSER=1), where they fail instead.
AETEACH_NOTEBOOKS_DIR points the tests at another folder of notebooks (the server's root is its parent).

Servers come from `jupyter_servers.get(app, env)`: app "lab" (`jupyter lab`: JupyterLab, and Notebook 7 where it
is installed) or "classic" (`jupyter notebook` of Notebook 6.5), with extra environment variables for its
kernels; each distinct (app, env) starts once, on first use, and all stop at the end of the session.
Tests marked `legacy` need the legacy front ends of .ci/legacy.txt (JupyterLab 3.6, Notebook 6.5,
ipywidgets 7.8) and run in that environment: `python -m pytest -m "browser and legacy" tests/browser`.
"""
from importlib import metadata
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


def pytest_configure(config):
    config.addinivalue_line("markers", "legacy: browser tests of the legacy front ends (.ci/legacy.txt environment)")


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


def _wait_ready(server, app):
    deadline = time.monotonic() + 90
    while True:
        if server.proc.poll() is not None:
            pytest.fail(f"jupyter {app} exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter {app} did not answer /api/status in 90 s:\n{server.log_tail()}")
            time.sleep(0.3)


def start_server(tmp, app="lab", extra_env=None):
    """Start `jupyter lab` or the classic `jupyter notebook` on 127.0.0.1 (free port, random token, throwaway
    config dirs); extra_env is added to its kernels' environment (a value None removes the variable)."""
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
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # ipykernel's debugger: no frozen-modules warning on each start
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for var, value in (extra_env or {}).items():
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value
    port, token = _free_port(), secrets.token_hex(24)
    if app == "lab":
        cmd = [sys.executable, "-m", "jupyter", "lab", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}"]
    elif app == "classic":  # Notebook 6.5's own server (notebook.notebookapp), not jupyter_server
        cmd = [sys.executable, "-m", "notebook", "--NotebookApp.port_retries=0", f"--NotebookApp.token={token}",
               f"--NotebookApp.notebook_dir={root}"]
    else:
        raise ValueError(f"app must be 'lab' or 'classic', got {app!r}")
    cmd += ["--no-browser", "--ip=127.0.0.1", f"--port={port}",
            # the server makes a checkpoint of a notebook it opens: keep those out of the repository
            f"--FileCheckpoints.root_dir={tmp / 'checkpoints'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log = tmp / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = JupyterServer(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        _wait_ready(server, app)
    except BaseException:
        _kill_group(proc)
        raise
    return server


def stop_server(server):
    if server.proc.poll() is None:
        try:
            server.shutdown_sessions()
        except Exception:
            pass  # the server is going away anyway
    _kill_group(server.proc)


class Servers:
    """Servers started on first use, one per (app, kernel environment), stopped together at the end."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory, self.running = tmp_path_factory, {}

    def get(self, app="lab", env=None):
        key = (app, tuple(sorted((env or {}).items(), key=lambda kv: kv[0])))
        if key not in self.running:
            self.running[key] = start_server(self.tmp_path_factory.mktemp(f"jupyter-{app}"), app, env)
        return self.running[key]

    def close(self):
        for server in self.running.values():
            stop_server(server)
        self.running.clear()


@pytest.fixture(scope="session")
def jupyter_servers(tmp_path_factory):
    servers = Servers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def jupyter_server(jupyter_servers):
    """`jupyter lab` whose kernels train explorers the default way (AETEACH_RETRAIN removed from their env)."""
    return jupyter_servers.get("lab", {"AETEACH_RETRAIN": None})


def kernel_process(server, rel):
    """(argv, environment) of the kernel process of notebook `rel` (Linux: read from /proc), or None if not found."""
    sessions = [s for s in server.api("GET", "/api/sessions") if s["path"] == rel]
    if len(sessions) != 1:
        return None
    needle = f"kernel-{sessions[0]['kernel']['id']}.json".encode()  # the kernel's connection file is on its command line
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if needle in cmdline:
                pairs = (proc / "environ").read_bytes().split(b"\0")
                env = dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)
                return [a.decode(errors="replace") for a in cmdline.split(b"\0") if a], env
        except OSError:
            continue  # gone, or not ours to read
    return None


def installed(dist):
    """Installed version of a distribution, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def require_versions(**prefixes):
    """Skip (fail in CI) unless each distribution's installed version starts with the given prefix."""
    wrong = [f"{d} {installed(d) or 'not installed'} (want {p}.*)" for d, p in prefixes.items()
             if not (installed(d) or "").startswith(p + ".") and installed(d) != p]
    if wrong:
        reason = "this environment lacks the front end under test: " + ", ".join(wrong) + " (see .ci/legacy.txt)"
        (pytest.fail if _strict() else pytest.skip)(reason)


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
