"""bench/hub_load.py's pure helpers (no hub is started here: the load test itself is a benchmark)."""
import importlib.util
import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("hub_load", ROOT / "bench" / "hub_load.py")
hub_load = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hub_load)


def test_execute_request_is_a_shell_message_for_one_cell():
    msg_id, text = hub_load.execute_request("print(1)", "s1")
    msg = json.loads(text)
    assert msg["channel"] == "shell" and msg["header"]["msg_type"] == "execute_request"
    assert msg["header"]["msg_id"] == msg_id and msg["header"]["session"] == "s1"
    assert msg["content"]["code"] == "print(1)" and msg["content"]["allow_stdin"] is False


def test_decode_message_reads_text_and_jupyter_servers_binary_frames():
    msg = {"header": {"msg_id": "a"}, "parent_header": {"msg_id": "b"}, "msg_type": "comm_msg", "content": {},
           "channel": "iopub"}
    assert hub_load.decode_message(json.dumps(msg)) == msg
    base = pytest.importorskip("jupyter_server.services.kernels.connection.base")
    for buffers in ([], [b"\x89PNG..."], [b"one", b"two"]):
        frame = base.serialize_binary_message(dict(msg, buffers=buffers))
        assert hub_load.decode_message(frame) == msg


def test_hub_config_is_loopback_only_and_python():
    text = hub_load.hub_config("/tmp/w", "tok", (8000, 8081, 8001), "/x/chp", "/x/singleuser", "run1")
    compile(text, "jupyterhub_config.py", "exec")
    hosts = re.findall(r"://([^:/\"]+)", text) + re.findall(r"Spawner\.ip = \"([^\"]*)\"", text)
    assert hosts and set(hosts) == {"127.0.0.1"}
    assert "0.0.0.0" not in text and "'OMP_NUM_THREADS': '1'" in text and "--allow-root" in text


def test_code_cells_skips_markdown_and_empty_cells(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": "# x"}, {"cell_type": "code", "source": ["a = 1\n", "b"]},
                    {"cell_type": "code", "source": "  \n"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb))
    assert hub_load.code_cells(tmp_path / "n.ipynb") == ["a = 1\nb"]


def test_spread_and_table():
    assert hub_load.spread([3.0, float("nan"), 1.0, 2.0]) == (1.0, 2.0, 3.0)
    assert all(math.isnan(v) for v in hub_load.spread([]))
    student = dict(name="s1", seconds=8.0, cpu_s=7.0, server_mib=129.0, server_peak_mib=170.0, peak_mib=590.0,
                   error_cells=0, ok=True)
    result = dict(n=1, students=[student], servers_s=3.0, total_peak_mib=590.0, end_pss_mib=560.0,
                  hub_proxy_mib=183.0, others_cpu_pct=0.5)
    header, line = hub_load.table([result]).splitlines()
    assert list(hub_load.row(result)) == list(hub_load.COLUMNS)
    assert line.split() == ["1", "yes", "0", "8.0/8.0/8.0", "3.0", "7.0", "129", "170", "590", "590", "560", "183",
                            "0.5"]
    assert hub_load.row(dict(result, n=2))["all ok"] == "NO"  # a student missing is not a finished class
