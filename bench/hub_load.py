"""A class on one machine: N students run one notebook at the same time through a local JupyterHub.

For each class size N a fresh hub is started (DummyAuthenticator, SimpleLocalProcessSpawner, the
configurable-http-proxy from npm), everything on 127.0.0.1 at free ports. With an admin API token the script
creates N users and starts their single-user servers through the hub's REST API, all at once; then every
student at once starts a kernel through the proxy (/user/NAME/api/kernels) and runs each code cell of the
notebook in order over the kernel's websocket, waiting for the reply and the idle status of each.

Columns, per class size: all ok (every student finished, no cell with an error output: a raising cell fails);
err cells; each student's time from asking for a kernel to the last cell's idle (min/median/max); servers s
(until the last of the N servers was ready); CPU s/stu (user + system of a student's server and kernel while
the notebook ran, median); server MiB (one server before its kernel) and srv peak (a server process's own
peak); peak MiB/stu (largest peak of one student's server + kernel); total MiB (peak of all students' together);
PSS end MiB (all students' proportional set size once all finished); hub+proxy MiB (peak); others % (CPU that
other work on the machine used meanwhile, in % of all cores: the benchmark shares the machine).

Memory is RSS sampled every 0.2 s from /proc. RSS counts shared library pages (torch's) once per process, so
the RSS total overstates what one machine holds (PSS is the closer figure, read once rather than a peak); a
per-student container limit is charged about the RSS. Kernels use one torch thread (the setup cell) and the
spawner sets OMP_NUM_THREADS=1, as a deploy would from its CPU limit; kernels stay until every student
finished. Each student's home is in a temporary folder with a copy of notebooks/; the hub, proxy, servers and
kernels are ended on every exit (deadline, error, Ctrl-C, SIGTERM). Linux only (reads /proc). Not collected
by the test suite.

Setup (a separate venv, so the dev venv stays as it is; torch==2.13.0 is the CPU build):
  python3 -m venv /tmp/hubenv
  /tmp/hubenv/bin/pip install torch==2.13.0
  /tmp/hubenv/bin/pip install -e . jupyterhub jupyterlab
  npm install --prefix ~/.cache/aeteach-hub configurable-http-proxy

Usage: /tmp/hubenv/bin/python bench/hub_load.py [--students 1 4 8] [--notebook notebooks/01_undercomplete.ipynb]
           [--timeout 900] [--json FILE]
"""
import argparse
import asyncio
import datetime
import importlib.util
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NPM_PREFIX = Path.home() / ".cache" / "aeteach-hub"
MARKER = "AETEACH_HUB_LOAD"  # in the environment of every process a run starts, to find (and end) them all
HOST = "127.0.0.1"
REQUEST_S = 30  # one REST request
SAMPLE_S = 0.2
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
MIB = 2 ** 20


# --- environment ------------------------------------------------------------------------------------------

def find_proxy():
    """The configurable-http-proxy command: from the npm prefix of the setup, else on PATH."""
    local = NPM_PREFIX / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.exists() else shutil.which("configurable-http-proxy")
    if not found:
        sys.exit(f"configurable-http-proxy not found in {local.parent} nor on PATH: "
                 f"npm install --prefix {NPM_PREFIX} configurable-http-proxy")
    if not shutil.which("node"):
        sys.exit("configurable-http-proxy needs node on PATH")
    return found


def check_python():
    """The single-user server runs in this interpreter's environment: it needs jupyterhub, a server, a kernel and
    aeteach (with torch) there, or the students' kernels could not import what the notebook does."""
    missing = [m for m in ("jupyterhub", "jupyter_server", "ipykernel", "tornado", "aeteach", "torch")
               if importlib.util.find_spec(m) is None]
    singleuser = Path(sys.executable).parent / "jupyterhub-singleuser"
    if missing or not singleuser.exists():
        sys.exit(f"{sys.executable} lacks {', '.join(missing) or 'jupyterhub-singleuser'}; see the setup in "
                 f"{__file__}'s docstring (a venv with torch==2.13.0, -e . jupyterhub jupyterlab)")
    return str(singleuser)


def free_port():
    """A port free on the loopback now (the hub binds it a moment later; a clash would fail the start loudly)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def hub_config(workdir, token, ports, proxy, singleuser, run_id):
    """jupyterhub_config.py text: loopback only, an admin service token, homes under workdir."""
    public, hub, api = ports
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", MARKER: run_id,
           "MPLCONFIGDIR": f"{workdir}/mplconfig"}  # a font cache built once, as a deploy's homes would keep it
    return f"""\
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://{HOST}:{public}"
c.JupyterHub.hub_bind_url = "http://{HOST}:{hub}"
c.ConfigurableHTTPProxy.api_url = "http://{HOST}:{api}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = "{workdir}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{workdir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{workdir}/cookie_secret"
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.JupyterHub.services = [{{"name": "load-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["load-test"]}}]
c.JupyterHub.cleanup_servers = True  # the hub's own shutdown stops every server (and so their kernels)
c.SimpleLocalProcessSpawner.home_dir_template = "{workdir}/home/{{username}}"
c.Spawner.ip = "{HOST}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = ["--allow-root"]  # this benchmark runs as root; a real deploy would not
c.Spawner.environment = {env!r}
c.Spawner.start_timeout = 180  # N servers starting at once on two cores are slow
c.Spawner.http_timeout = 180
c.LocalProcessSpawner.interrupt_timeout = 10  # bounded teardown
c.LocalProcessSpawner.term_timeout = 5
"""


def warm_matplotlib(workdir, timeout):
    """Build matplotlib's font cache once in the shared MPLCONFIGDIR, so no kernel pays for it."""
    env = dict(os.environ, MPLCONFIGDIR=f"{workdir}/mplconfig")
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], env=env, check=True, timeout=timeout)


def code_cells(path):
    """The source of each non-empty code cell, in order."""
    nb = json.loads(Path(path).read_text())
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
             for c in nb["cells"] if c["cell_type"] == "code"]
    return [c for c in cells if c.strip()]


def make_homes(workdir, names):
    """Each student's home with a copy of notebooks/ (what a course's first login would bring)."""
    for name in names:
        home = Path(workdir) / "home" / name
        home.mkdir(parents=True)
        shutil.copytree(ROOT / "notebooks", home / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


# --- processes --------------------------------------------------------------------------------------------

def proc_stat(pid):
    """(RSS bytes, CPU seconds incl. reaped children, parent pid) of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # fields[0] is field 3 of proc(5): the name may hold spaces
    cpu = sum(int(v) for v in fields[11:15]) / TICK  # utime stime cutime cstime
    return int(fields[21]) * PAGE, cpu, int(fields[1])


def proc_cmdline(pid):
    """A process's command line as raw bytes (None if gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


def unexecd_fork(pid, ppid):
    """Whether pid is a fork that has not exec'd yet (the hub starting a server, a server a kernel): it holds
    its parent's pages copy-on-write, and counting its RSS would count the parent twice."""
    return proc_cmdline(pid) == proc_cmdline(ppid)


def proc_environ(pid):
    """A process's environment as it was started ({} if gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def proc_pss_mib(pid):
    """Proportional set size: shared pages (torch's libraries) split among the processes that map them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024
    except (OSError, StopIteration):
        return 0.0


def marked_pids(run_id):
    """{pid: group} of every live process of this run: 'hub' (hub and proxy) or the student's name
    (server and kernel: jupyterhub sets JUPYTERHUB_USER for the server and the kernel inherits it)."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            env = proc_environ(int(entry))
            if env.get(MARKER) == run_id:
                out[int(entry)] = env.get("JUPYTERHUB_USER", "hub")
    return out


class Usage:
    """RSS and CPU of this run's processes, by group, sampled from /proc."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.foreign = set()  # pids of other processes on the machine: looked at once
        self.cpu = {}  # pid -> (group, last CPU seconds seen); a process that ended keeps its last count
        self.peak = {}  # group -> peak MiB
        self.peak_server = {}  # student -> peak MiB of the server process alone (without its kernel)
        self.peak_students = 0.0  # peak of all students' trees together, at one sample

    def sample(self):
        """One sample; returns {group: MiB now}."""
        now, servers, live = {}, {}, set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            live.add(pid)
            if pid in self.foreign:
                continue
            # read again each time: a process forked by the hub has the hub's environment until it execs
            env = proc_environ(pid)
            if env.get(MARKER) != self.run_id:
                if env:  # an unreadable or exiting one is looked at again
                    self.foreign.add(pid)
                continue
            group, stat = env.get("JUPYTERHUB_USER", "hub"), proc_stat(pid)
            if stat and not unexecd_fork(pid, stat[2]):
                now[group] = now.get(group, 0.0) + stat[0] / MIB
                self.cpu[pid] = group, stat[1]
                if group != "hub" and "JPY_PARENT_PID" not in env:  # jupyter_client sets it for kernels
                    servers[group] = servers.get(group, 0.0) + stat[0] / MIB
        self.foreign &= live  # a pid freed now may come back as one of ours
        for group, mib in now.items():
            self.peak[group] = max(self.peak.get(group, 0.0), mib)
        for group, mib in servers.items():
            self.peak_server[group] = max(self.peak_server.get(group, 0.0), mib)
        self.peak_students = max(self.peak_students, sum(v for g, v in now.items() if g != "hub"))
        return now

    def cpu_of(self, group):
        """CPU seconds of a group's processes, the ended ones' at their last sample."""
        return sum(cpu for g, cpu in self.cpu.values() if g == group)

    def students_pss(self):
        """MiB the students' servers and kernels hold together now, shared pages counted once (read once: slower
        than RSS)."""
        return sum(proc_pss_mib(pid) for pid, g in marked_pids(self.run_id).items() if g != "hub")


def busy_cpu_s():
    """CPU seconds the whole machine has been busy (all but idle and iowait), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / TICK


def own_cpu_s():
    """This script's CPU seconds and its reaped children's: the hub, which reaped the proxy and the servers,
    which reaped their kernels."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def start_hub(workdir, config, run_id):
    """The hub in its own session (its process group is ours to kill), logging to workdir/hub.log."""
    path = Path(workdir) / "jupyterhub_config.py"
    path.write_text(config)
    env = dict(os.environ, **{MARKER: run_id})
    with open(Path(workdir) / "hub.log", "wb") as log:  # the hub keeps its own copy of the file
        return subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(path)], cwd=workdir, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def stop_everything(hub, run_id):
    """Ask the hub to stop (it stops the servers, which stop their kernels, and the proxy), then kill whatever
    of this run is still there. Bounded: about a minute at most."""
    if hub is not None and hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=40)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(hub.pid, signal.SIGKILL)  # the hub and anything left in its group
        except ProcessLookupError:
            pass
        hub.wait(timeout=10)
    for _ in range(40):  # servers and kernels have sessions of their own: find them by the marker
        left = marked_pids(run_id)
        if not left:
            return []
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.25)
    return sorted(marked_pids(run_id))


def log_tail(workdir, lines=30):
    """The hub log's last lines, for an error message."""
    try:
        return "\n".join((Path(workdir) / "hub.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no hub log)"


# --- kernel messages ----------------------------------------------------------------------------------------

def execute_request(code, session):
    """A Jupyter execute_request in jupyter_server's JSON websocket protocol (the default, 'legacy' one)."""
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "student", "session": session,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "version": "5.3"}
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    return msg_id, json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                               "channel": "shell", "buffers": []})


def decode_message(frame):
    """A websocket frame as a dict: text is JSON; a binary frame (a message with buffers, e.g. a widget's image)
    is jupyter_server's serialize_binary_message: count, offsets (32-bit big-endian), JSON, buffers."""
    if isinstance(frame, str):
        return json.loads(frame)
    count = struct.unpack("!I", frame[:4])[0]
    offsets = struct.unpack(f"!{count}I", frame[4:4 + 4 * count])
    end = offsets[1] if count > 1 else len(frame)
    return json.loads(frame[offsets[0]:end])


@dataclass
class Student:
    name: str
    server_s: float = float("nan")  # from asking the hub to start the server until it is ready
    server_mib: float = float("nan")  # the server alone, before its kernel
    server_peak_mib: float = float("nan")  # the server process's own peak (its kernel not counted)
    seconds: float = float("nan")  # from asking for a kernel to the last cell's idle
    cells: int = 0  # cells that ran to their idle status
    error_cells: int = 0  # cells with an error output or reply
    cpu_s: float = float("nan")  # server + kernel CPU while the notebook ran
    peak_mib: float = float("nan")
    failure: str = ""  # why it did not finish, if it did not
    errors: list = field(default_factory=list)  # the first error of each failing cell: ename: evalue

    @property
    def ok(self):
        return not self.failure and self.error_cells == 0


# --- the class --------------------------------------------------------------------------------------------

def remaining(deadline, cap=None):
    """Seconds to the deadline (at least 0.1: a late step fails fast rather than not at all), at most cap."""
    left = max(0.1, deadline - time.monotonic())
    return min(left, cap) if cap else left


async def rest(client, method, url, token, body=None, deadline=None):
    """(status, JSON body or None) of one request with the token; a failure to connect is status 0."""
    from tornado.httpclient import HTTPRequest
    timeout = remaining(deadline, REQUEST_S) if deadline else REQUEST_S
    request = HTTPRequest(url, method=method, headers={"Authorization": f"token {token}"},
                          body=None if body is None else json.dumps(body), allow_nonstandard_methods=True,
                          connect_timeout=timeout, request_timeout=timeout)
    try:
        response = await client.fetch(request, raise_error=False)
    except OSError:  # refused: not listening yet
        return 0, None
    text = response.body.decode(errors="replace") if response.body else ""
    try:
        return response.code, json.loads(text) if text else None
    except json.JSONDecodeError:
        return response.code, text


async def wait_hub(client, base, hub, workdir, deadline):
    """Until the hub's API answers through the proxy (at most a minute)."""
    end = min(deadline, time.monotonic() + 60)
    while time.monotonic() < end:
        if hub.poll() is not None:
            raise RuntimeError(f"the hub exited ({hub.returncode}):\n{log_tail(workdir)}")
        code, _ = await rest(client, "GET", f"{base}/hub/api/", "", deadline=end)
        if code == 200:
            return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"the hub did not answer within a minute:\n{log_tail(workdir)}")


async def start_server(client, base, token, student, deadline):
    """Ask the hub for the student's server and poll (every 0.5 s, until the deadline) until it is ready."""
    t0 = time.monotonic()
    code, body = await rest(client, "POST", f"{base}/hub/api/users/{student.name}/server", token, {}, deadline)
    if code not in (201, 202):
        raise RuntimeError(f"starting {student.name}'s server: {code} {body}")
    while time.monotonic() < deadline:
        code, body = await rest(client, "GET", f"{base}/hub/api/users/{student.name}", token, deadline=deadline)
        server = (body or {}).get("servers", {}).get("", {}) if code == 200 else {}
        if server.get("ready"):
            student.server_s = time.monotonic() - t0
            return
        if code == 200 and not server:  # the spawn failed: the hub forgot the server
            raise RuntimeError(f"{student.name}'s server stopped while starting")
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{student.name}'s server was not ready by the deadline")


async def run_cell(ws, code, session, deadline):
    """Send one cell, wait for its execute_reply and its idle status; returns the errors it gave."""
    msg_id, text = execute_request(code, session)
    await ws.write_message(text)
    errors, replied, idle = [], False, False
    while not (replied and idle):
        frame = await asyncio.wait_for(ws.read_message(), remaining(deadline))
        if frame is None:
            raise ConnectionError("the kernel's websocket closed")
        msg = decode_message(frame)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue  # another cell's late output, or a widget's background thread
        kind, content = msg.get("msg_type") or msg["header"]["msg_type"], msg.get("content", {})
        if kind == "error":
            errors.append(f"{content.get('ename')}: {content.get('evalue')}")
        elif kind == "execute_reply":
            replied = True
            if content.get("status") == "error" and not errors:
                errors.append(f"{content.get('ename')}: {content.get('evalue')}")
        elif kind == "status" and content.get("execution_state") == "idle":
            idle = True
    return errors


async def run_notebook(client, base, ws_base, token, student, cells, usage, deadline):
    """One student: a kernel through the proxy, then every cell in order over its websocket. Returns the kernel id
    (so the kernel can be shut down after the whole class finished)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect
    t0, cpu0 = time.monotonic(), usage.cpu_of(student.name)
    code, body = await rest(client, "POST", f"{base}/user/{student.name}/api/kernels", token,
                            {"name": "python3", "path": "notebooks"}, deadline)  # path: the kernel's cwd
    if code != 201:
        raise RuntimeError(f"starting a kernel: {code} {body}")
    kernel, session = body["id"], uuid.uuid4().hex
    url = f"{ws_base}/user/{student.name}/api/kernels/{kernel}/channels?session_id={session}"
    request = HTTPRequest(url, headers={"Authorization": f"token {token}"},
                          connect_timeout=remaining(deadline, REQUEST_S), request_timeout=remaining(deadline))
    ws = await websocket_connect(request, max_message_size=256 * MIB)
    try:
        for source in cells:
            errors = await run_cell(ws, source, session, deadline)
            student.cells += 1
            if errors:
                student.error_cells += 1
                student.errors.append(errors[0])
        student.seconds = time.monotonic() - t0
        usage.sample()
        student.cpu_s = usage.cpu_of(student.name) - cpu0
    finally:
        ws.close()
    return kernel


async def run_class(n, cells, workdir, hub, ports, token, usage, deadline):
    """Users, servers, then every student's notebook at once; all bounded by the deadline."""
    from tornado.httpclient import AsyncHTTPClient
    base, ws_base = f"http://{HOST}:{ports[0]}", f"ws://{HOST}:{ports[0]}"
    client = AsyncHTTPClient(max_clients=4 * n + 8)  # tornado's default of 10 would queue a class's requests
    students = [Student(f"student{i + 1}") for i in range(n)]
    stop = asyncio.Event()

    async def sampler():
        while not stop.is_set():
            usage.sample()
            await asyncio.sleep(SAMPLE_S)

    sampling = asyncio.ensure_future(sampler())
    kernels = {}
    try:
        await wait_hub(client, base, hub, workdir, deadline)
        code, body = await rest(client, "POST", f"{base}/hub/api/users", token,
                                {"usernames": [s.name for s in students]}, deadline)
        if code != 201:
            raise RuntimeError(f"creating users: {code} {body}")
        t0 = time.monotonic()
        await asyncio.gather(*(start_server(client, base, token, s, deadline) for s in students))
        servers_s = time.monotonic() - t0
        await asyncio.sleep(1)  # let the servers settle before weighing them alone
        alone = usage.sample()
        for s in students:
            s.server_mib = alone.get(s.name, float("nan"))

        async def one(student):
            try:
                kernels[student.name] = await run_notebook(client, base, ws_base, token, student, cells, usage,
                                                           deadline)
            except (asyncio.TimeoutError, TimeoutError):
                student.failure = "timeout"
            except Exception as e:  # one student's failure is a result, not the end of the class
                student.failure = f"{type(e).__name__}: {e}"

        await asyncio.gather(*(one(s) for s in students))
        for s in students:
            s.peak_mib = usage.peak.get(s.name, float("nan"))
            s.server_peak_mib = usage.peak_server.get(s.name, float("nan"))
        pss = usage.students_pss()
        # the students close their notebooks: shut the kernels down, then the hub stops the servers
        await asyncio.gather(*(rest(client, "DELETE", f"{base}/user/{name}/api/kernels/{k}", token,
                                    deadline=time.monotonic() + REQUEST_S) for name, k in kernels.items()))
        return students, servers_s, pss
    finally:
        stop.set()
        await sampling
        client.close()


def one_class(n, args, deadline):
    """A fresh hub for a class of n, measured and torn down; a dict of the results."""
    workdir = tempfile.mkdtemp(prefix="aeteach-hub-")
    run_id, token = uuid.uuid4().hex, uuid.uuid4().hex + uuid.uuid4().hex
    ports = free_port(), free_port(), free_port()
    usage, hub, load = Usage(run_id), None, os.getloadavg()
    t0, busy0, own0 = time.monotonic(), busy_cpu_s(), own_cpu_s()
    try:
        make_homes(workdir, [f"student{i + 1}" for i in range(n)])
        warm_matplotlib(workdir, remaining(deadline, 120))
        hub = start_hub(workdir, hub_config(workdir, token, ports, args.proxy, args.singleuser, run_id), run_id)
        students, servers_s, pss = asyncio.run(run_class(n, code_cells(args.notebook), workdir, hub, ports,
                                                         token, usage, deadline))
    except Exception as e:
        print(f"N={n}: {type(e).__name__}: {e}\nthe hub's log ends:\n{log_tail(workdir)}", file=sys.stderr)
        students, servers_s, pss = [], float("nan"), float("nan")
    finally:
        left = stop_everything(hub, run_id)
        if left:
            print(f"N={n}: processes still there after teardown: {left}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    # how busy the machine was with other work meanwhile, in % of all its cores
    others = (busy_cpu_s() - busy0 - (own_cpu_s() - own0)) / ((time.monotonic() - t0) * os.cpu_count())
    return {"n": n, "load_before": [round(v, 2) for v in load],
            "others_cpu_pct": round(max(0.0, 100 * others), 1), "servers_s": servers_s,
            "hub_proxy_mib": usage.peak.get("hub", float("nan")), "total_peak_mib": usage.peak_students,
            "end_pss_mib": pss,
            "students": [dict(asdict(s), ok=s.ok) for s in students]}


# --- report -----------------------------------------------------------------------------------------------

def spread(values):
    """(min, median, max) of the finite values; NaNs if none."""
    values = [v for v in values if v == v]
    if not values:
        return (float("nan"),) * 3
    return min(values), statistics.median(values), max(values)


COLUMNS = ("N", "all ok", "err cells", "time min/med/max s", "servers s", "CPU s/stu", "server MiB", "srv peak",
           "peak MiB/stu", "total MiB", "PSS end MiB", "hub+proxy MiB", "others %")


def row(r):
    """One class size's figures, by column."""
    st = r["students"]
    col = lambda key, i: spread([s[key] for s in st])[i]  # i: 0 min, 1 median, 2 max
    return {"N": f"{r['n']}",
            "all ok": "yes" if st and len(st) == r["n"] and all(s["ok"] for s in st) else "NO",
            "err cells": f"{sum(s['error_cells'] for s in st)}",
            "time min/med/max s": "/".join(f"{col('seconds', i):.1f}" for i in range(3)),
            "servers s": f"{r['servers_s']:.1f}",
            "CPU s/stu": f"{col('cpu_s', 1):.1f}",
            "server MiB": f"{col('server_mib', 1):.0f}",
            "srv peak": f"{col('server_peak_mib', 2):.0f}",
            "peak MiB/stu": f"{col('peak_mib', 2):.0f}",
            "total MiB": f"{r['total_peak_mib']:.0f}",
            "PSS end MiB": f"{r['end_pss_mib']:.0f}",
            "hub+proxy MiB": f"{r['hub_proxy_mib']:.0f}",
            "others %": f"{r['others_cpu_pct']:.1f}"}


def table(results):
    """The printed table, one row per class size, columns right-aligned under their names."""
    rows = [row(r) for r in results]
    widths = [max([len(n)] + [len(r[n]) for r in rows]) for n in COLUMNS]
    lines = [" ".join(n.rjust(w) for n, w in zip(COLUMNS, widths))]
    lines += [" ".join(r[n].rjust(w) for n, w in zip(COLUMNS, widths)) for r in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[1, 4, 8], help="class sizes, one hub each")
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "01_undercomplete.ipynb")
    parser.add_argument("--timeout", type=float, default=900, help="overall deadline, seconds, for all sizes")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if any(n < 1 or n > 64 for n in args.students):
        parser.error("class sizes from 1 to 64")
    args.proxy, args.singleuser = find_proxy(), check_python()
    # Ctrl-C or a SIGTERM ends the whole run, still tearing the hub down (the finally blocks run); asyncio's
    # own Ctrl-C handling would only cancel the current class and go on with the next
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _: sys.exit(128 + signum))
    deadline = time.monotonic() + args.timeout
    print(f"{args.notebook.name}, {len(code_cells(args.notebook))} code cells; {os.cpu_count()} CPUs; "
          f"load before {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    results = []
    for n in args.students:
        if time.monotonic() >= deadline:
            print(f"N={n}: skipped, past the deadline", file=sys.stderr)
            continue
        results.append(one_class(n, args, deadline))
        for s in results[-1]["students"]:
            if not s["ok"]:
                print(f"N={n} {s['name']}: {s['failure'] or '; '.join(s['errors'])}", file=sys.stderr)
        print(f"N={n} done, load {' '.join(f'{v:.2f}' for v in os.getloadavg())}; other work used "
              f"{results[-1]['others_cpu_pct']:.1f}% of the CPUs meanwhile", flush=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"notebook": str(args.notebook), "cpus": os.cpu_count(),
                                         "results": results}, indent=1))
    sys.exit(0 if results and all(len(r["students"]) == r["n"] and all(s["ok"] for s in r["students"])
                                  for r in results) else 1)


if __name__ == "__main__":
    main()
