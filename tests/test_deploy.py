"""deploy/: the JupyterHub config follows the measurements in deploy/README.md, and the nbgitpuller
links have nbgitpuller's documented form."""
import importlib.util
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"

# The measurements deploy/README.md derives the sizes from ("Sizing"); change both together.
MiB = 2**20
KERNEL_MAX = 570 * MiB   # largest kernel peak, 02_sparse after every explorer (bench/notebooks.py --explorers)
KERNEL_MIN = 400 * MiB   # smallest kernel peak (10_app_anomaly_detection)
SERVER = 215 * MiB       # the single-user server's own peak (bench/hub_load.py, N = 8)
OPEN_KERNELS = 3         # a student commonly leaves 2-3 notebooks' kernels open

# The keys config.yaml may use, each found in jupyterhub chart 4.4.0's values.schema.yaml; below
# them the content is free (env names, k8s volume specs, traitlets config). A typo fails here.
KNOWN_KEYS = {
    "singleuser.image.name", "singleuser.image.tag",
    "singleuser.memory.guarantee", "singleuser.memory.limit",
    "singleuser.cpu.guarantee", "singleuser.cpu.limit",
    "singleuser.extraEnv", "singleuser.extraFiles", "singleuser.defaultUrl",
    "singleuser.storage.extraVolumes", "singleuser.storage.extraVolumeMounts",
    "hub.config", "cull.enabled", "cull.timeout", "cull.every",
    "prePuller.hook.enabled", "prePuller.continuous.enabled",
}


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((DEPLOY / "config.yaml").read_text())


@pytest.fixture(scope="module")
def puller():
    spec = importlib.util.spec_from_file_location("nbgitpuller_link", DEPLOY / "nbgitpuller_link.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def jupyterhub_bytes(spec):
    """Bytes of a memory figure as JupyterHub's ByteSpecification reads it (K/M/G/T are powers of 1024;
    k8s suffixes like 'Gi' are rejected there, so here too)."""
    if isinstance(spec, (int, float)):
        return int(spec)
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    assert spec[-1] in units, f"{spec!r}: JupyterHub takes a number of bytes or a K, M, G or T suffix"
    return int(float(spec[:-1]) * units[spec[-1]])


def k8s_bytes(quantity):
    """Bytes of a Kubernetes quantity such as '256Mi'."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    number, suffix = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity).groups()
    return int(float(number) * units.get(suffix, 1))


# ---------------------------------------------------------------- config.yaml


def test_keys_are_the_charts(config):
    def walk(node, prefix):
        for key, value in node.items():
            path = prefix + key
            if path in KNOWN_KEYS:
                continue
            assert isinstance(value, dict) and any(k.startswith(path + ".") for k in KNOWN_KEYS), (
                f"{path} is not a jupyterhub chart key this test knows; check values.schema.yaml, then add it")
            walk(value, path + ".")
    walk(config, "")


def test_image_is_named_and_tagged(config):
    image = config["singleuser"]["image"]
    # the chart wants strings: an unquoted tag like 2026.1 would be a float
    assert isinstance(image["name"], str) and image["name"].strip()
    assert isinstance(image["tag"], str) and image["tag"].strip() and image["tag"] != "latest"


def test_readme_builds_the_image_config_yaml_runs(config):
    readme = (DEPLOY / "README.md").read_text()
    build = re.search(r"jupyter-repo2docker (.*?) \.\n", readme.replace("\\\n", " "), re.S).group(1)
    options = dict(re.findall(r"--([a-z-]+)(?: +(?!-)(\S+))?", build))
    image = config["singleuser"]["image"]
    assert options["image-name"] == f"{image['name']}:{image['tag']}"
    assert int(options["user-id"]) == config["singleuser"].get("uid", 1000)  # the chart's default uid
    # the installed repository must lie outside the home volume that the server starts in
    home = config["hub"]["config"]["KubeSpawner"]["working_dir"]
    assert home == config["singleuser"].get("storage", {}).get("homeMountPath", "/home/jovyan")
    assert not (options["target-repo-dir"] + "/").startswith(home.rstrip("/") + "/")


def test_memory_holds_the_measured_kernels(config):
    memory = config["singleuser"]["memory"]
    guarantee, limit = jupyterhub_bytes(memory["guarantee"]), jupyterhub_bytes(memory["limit"])
    assert limit >= guarantee
    assert guarantee >= SERVER + KERNEL_MAX + KERNEL_MIN  # one kernel at its peak and a second open
    assert limit >= SERVER + OPEN_KERNELS * KERNEL_MAX    # every open kernel at the largest peak


def test_threads_follow_the_cpu_limit(config):
    cpu, env = config["singleuser"]["cpu"], config["singleuser"]["extraEnv"]
    assert 0 < cpu["guarantee"] <= cpu["limit"]
    assert cpu["limit"] == int(cpu["limit"]), "thread counts are whole: use a whole CPU limit"
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        assert env[name] == str(int(cpu["limit"])), name  # k8s env values are strings


def test_dev_shm_is_memory_backed_and_capped(config):
    storage = config["singleuser"]["storage"]
    mounts = [m for m in storage["extraVolumeMounts"].values() if m["mountPath"] == "/dev/shm"]
    assert len(mounts) == 1
    volume = next(v for v in storage["extraVolumes"].values() if v["name"] == mounts[0]["name"])
    assert volume["emptyDir"]["medium"] == "Memory"
    # what is written there counts against the memory limit: the cap must leave room for kernels
    shm = k8s_bytes(volume["emptyDir"]["sizeLimit"])
    assert 64 * 10**6 < shm <= jupyterhub_bytes(config["singleuser"]["memory"]["limit"]) // 4


def test_kernels_and_servers_are_culled(config):
    assert config["cull"]["enabled"] is True and config["cull"]["timeout"] > 0
    kernel_file = config["singleuser"]["extraFiles"]["kernel-culling"]
    # jupyter_server reads jupyter_server_config.json, and only from a directory on its config path
    assert kernel_file["mountPath"] in ("/etc/jupyter/jupyter_server_config.json",
                                        "/usr/local/etc/jupyter/jupyter_server_config.json")
    kernels = kernel_file["data"]["MappingKernelManager"]
    assert 0 < kernels["cull_idle_timeout"] < config["cull"]["timeout"]
    assert kernels["cull_connected"] is True and kernels["cull_busy"] is False
    assert config["singleuser"]["defaultUrl"] == "/lab"
    assert config["prePuller"]["hook"]["enabled"] and config["prePuller"]["continuous"]["enabled"]


def test_jupyter_server_reads_the_kernel_culling_file(config, tmp_path, monkeypatch):
    # the file as the chart renders it (JSON, from the .json mount path), on a config path of its own
    kernel_file = config["singleuser"]["extraFiles"]["kernel-culling"]
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / Path(kernel_file["mountPath"]).name).write_text(json.dumps(kernel_file["data"]))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "etc"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user"))
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    app = ServerApp()
    app.load_config_file()
    # the server's default kernel manager; a misspelt or mistyped option would not arrive or would raise
    manager = AsyncMappingKernelManager(config=app.config)
    for option, value in kernel_file["data"]["MappingKernelManager"].items():
        assert getattr(manager, option) == value, option


def _without_required(schema):
    # helm validates the chart's defaults merged with this file, which alone lacks the defaults; a
    # "required" under oneOf/anyOf chooses between forms (extraFiles' data/stringData) and stays
    out = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):  # names, some of them "required"
            out[key] = {name: _without_required(sub) for name, sub in value.items()}
        elif isinstance(value, dict) and key not in ("oneOf", "anyOf"):
            out[key] = _without_required(value)
        elif key != "required":
            out[key] = value
    return out


def test_config_validates_against_the_chart_schema(config):
    jsonschema = pytest.importorskip("jsonschema")
    path = os.environ.get("Z2JH_SCHEMA")
    if not path:
        pytest.skip("set Z2JH_SCHEMA to a copy of https://raw.githubusercontent.com/jupyterhub/"
                    "zero-to-jupyterhub-k8s/4.4.0/jupyterhub/values.schema.yaml")
    schema = yaml.safe_load(Path(path).read_text())
    jsonschema.Draft7Validator(_without_required(schema)).validate(config)
    for key in KNOWN_KEYS:
        node = schema
        for part in key.split("."):
            node = node["properties"][part]


# ---------------------------------------------------------------- nbgitpuller_link.py

HUB = "https://hub.example.org"
REPO = "https://github.com/aeteach/aeteach"


def test_link_is_nbgitpullers_documented_form(puller):
    # by hand from https://nbgitpuller.readthedocs.io/en/latest/topic/url-options.html: the query
    # percent-encoded (':' %3A, '/' %2F), urlpath = lab/tree/<clone folder>/<path in the repository>
    assert puller.link(HUB, REPO, "main", "notebooks/04_denoising.ipynb") == (
        "https://hub.example.org/hub/user-redirect/git-pull"
        "?repo=https%3A%2F%2Fgithub.com%2Faeteach%2Faeteach"
        "&branch=main"
        "&urlpath=lab%2Ftree%2Faeteach%2Fnotebooks%2F04_denoising.ipynb")


def test_link_parameters_decode_to_what_nbgitpuller_reads(puller):
    url = puller.link(HUB + "/jupyter/", REPO + ".git", "week/2", "notebooks/00_start_here.ipynb",
                      app="classic")
    parts = urlsplit(url)
    assert parts.path == "/jupyter/hub/user-redirect/git-pull"  # a hub under a path prefix
    # nbgitpuller clones into the repository URL's last segment, '.git' included
    assert parse_qs(parts.query, strict_parsing=True) == {
        "repo": [REPO + ".git"], "branch": ["week/2"],
        "urlpath": ["tree/aeteach.git/notebooks/00_start_here.ipynb"]}


def test_link_defaults_open_the_first_notebook_in_lab(puller):
    query = parse_qs(urlsplit(puller.link(HUB)).query)
    assert query["repo"] == [REPO] and query["branch"] == ["main"]
    assert query["urlpath"] == ["lab/tree/aeteach/notebooks/00_start_here.ipynb"]


@pytest.mark.parametrize("kwargs, listed", [
    ({"hub": "hub.example.org"}, "http:// or https://"),
    ({"hub": "ftp://hub.example.org"}, "http:// or https://"),
    ({"hub": HUB + "/?next=x"}, "no ?query"),
    ({"repo": "git@github.com:aeteach/aeteach.git"}, "http:// or https://"),
    ({"branch": ""}, "branch"),
    ({"app": "retro"}, "lab, classic"),
    ({"path": "notebooks/99_missing.ipynb"}, "00_start_here.ipynb, 01_undercomplete.ipynb"),
    ({"path": "../etc/passwd"}, "relative"),
])
def test_bad_input_names_the_valid_choices(puller, kwargs, listed):
    args = {"hub": HUB, **kwargs}
    with pytest.raises(ValueError, match=re.escape(listed)):
        puller.link(**args)


def test_every_suite_notebook_is_offered(puller):
    names = puller.notebook_names()
    assert names == sorted(p.name for p in (DEPLOY.parent / "notebooks").glob("*.ipynb"))
    assert "06_app_image_denoising.ipynb" in names and len(names) >= 11


def test_cli_prints_a_link_per_notebook_or_the_chosen_one(puller, capsys):
    assert puller.main([HUB]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [n[:-len(".ipynb")] for n in puller.notebook_names()]
    assert lines[4].split("\t")[1] == puller.link(HUB, path="notebooks/04_denoising.ipynb")

    assert puller.main([HUB, "04_denoising", "notebooks/05_variational.ipynb", "--app", "classic"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        puller.link(HUB, path="notebooks/04_denoising.ipynb", app="classic"),
        puller.link(HUB, path="notebooks/05_variational.ipynb", app="classic")]

    with pytest.raises(SystemExit) as exit_:
        puller.main([HUB, "99_missing"])
    assert exit_.value.code == 2 and "00_start_here.ipynb" in capsys.readouterr().err
