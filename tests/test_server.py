"""The server extension through a real Jupyter server that refuses unauthenticated requests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import power_switch
import pytest
import tornado.httpclient

from raiden_lab import classroom
from raiden_lab.server.handlers import ROUTES

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"raiden_lab": True}}}


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RAIDEN_HOME", str(tmp_path / "raiden-home"))


async def _json(jp_fetch, *parts, method="GET", **kwargs):
    body = b"" if method == "POST" else None
    response = await jp_fetch("raiden-lab", *parts, method=method, body=body, **kwargs)
    return json.loads(response.body)


async def test_every_route_refuses_an_unauthenticated_request(
    jp_base_url, jp_http_port, jp_server_config, jp_fetch
) -> None:
    # the server is up (jp_fetch starts it); now ask without the token
    await jp_fetch("raiden-lab", "inventory")
    client = tornado.httpclient.AsyncHTTPClient()
    paths = {
        "clusters": "GET",
        "clusters/local": "GET",
        "clusters/local/start": "POST",
        "clusters/local/stop": "POST",
        "clusters/local/nodes/localhost/restart": "POST",
        "clusters/local/nodes/localhost/power/off": "POST",
        "clusters/local/interrupt": "POST",
        "clusters/local/events": "GET",
        "clusters/local/tasks": "GET",
        "view": "GET",
        "clusters/local/class.csv": "GET",
        "clusters/local/class/start": "POST",
        "clusters/local/class/seats/alice/end": "POST",
        "seat/take": "POST",
        "seat/tasks": "GET",
        "inventory": "GET",
        "lessons": "GET",
        "lessons/00-tour.ipynb/copy": "POST",
    }
    assert len(paths) == len(ROUTES)
    for path, method in paths.items():
        url = f"http://localhost:{jp_http_port}{jp_base_url}raiden-lab/{path}"
        response = await client.fetch(url, method=method, body=b"" if method == "POST" else None, raise_error=False)
        assert response.code == 403, (path, response.code)


async def test_a_cookie_authenticated_post_without_xsrf_is_refused(
    jp_base_url, jp_http_port, jp_serverapp, jp_fetch, jp_root_dir
) -> None:
    """A browser's cookie alone must not be enough to start a cluster: a page on another site could send it."""
    await jp_fetch("raiden-lab", "inventory")
    client = tornado.httpclient.AsyncHTTPClient()
    base = f"http://localhost:{jp_http_port}{jp_base_url}"
    token = jp_serverapp.identity_provider.token
    login = await client.fetch(f"{base}?token={token}", follow_redirects=False, raise_error=False)
    cookies = [c.split(";")[0] for c in login.headers.get_list("Set-Cookie")]
    login_cookie = next(c for c in cookies if c.startswith("username-"))
    # the cookie alone authenticates a GET ...
    got = await client.fetch(f"{base}raiden-lab/lessons", headers={"Cookie": login_cookie}, raise_error=False)
    assert got.code == 200
    # ... but no POST without the XSRF token
    assert sum("post" in vars(handler) for _, handler in ROUTES) == 9  # a new POST route must be added below
    for path in (
        "clusters/local/start",
        "clusters/local/stop",
        "clusters/local/nodes/localhost/restart",
        "clusters/local/nodes/localhost/power/off",
        "clusters/local/interrupt",
        "lessons/00-tour.ipynb/copy",
        "clusters/local/class/start",
        "clusters/local/class/seats/alice/end",
        "seat/take",
    ):
        refused = await client.fetch(
            f"{base}raiden-lab/{path}", method="POST", body=b"", headers={"Cookie": login_cookie}, raise_error=False
        )
        assert refused.code == 403, (path, refused.code)
    assert not (jp_root_dir / "raiden-workshop").exists()
    # with the XSRF cookie echoed in the header, as JupyterLab sends it, the same POST goes through
    xsrf = "2|00000000|0123456789abcdef0123456789abcdef|1700000000"
    allowed = await client.fetch(
        f"{base}raiden-lab/lessons/00-tour.ipynb/copy",
        method="POST",
        body=b"",
        headers={"Cookie": f"{login_cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
        raise_error=False,
    )
    assert allowed.code == 200, allowed.code
    assert (jp_root_dir / "raiden-workshop" / "00-tour.ipynb").is_file()


async def test_lessons_are_listed_and_copied_into_the_workshop_folder(jp_fetch, jp_root_dir) -> None:
    lessons = await _json(jp_fetch, "lessons")
    assert [lesson["number"] for lesson in lessons] == [f"{i:02d}" for i in range(9)]
    assert lessons[2] == {
        "file": "02-monte-carlo-pi.ipynb",
        "number": "02",
        "title": "Scatter, gather, reduce: Monte Carlo pi",
        "copy": None,
    }
    copied = await _json(jp_fetch, "lessons", "02-monte-carlo-pi.ipynb", "copy", method="POST")
    assert copied["copy"] == "raiden-workshop/02-monte-carlo-pi.ipynb"
    target = jp_root_dir / copied["copy"]
    assert "".join(json.loads(target.read_text())["cells"][0]["source"]).startswith("# 02")
    target.write_text("{}")  # the student's own work is never overwritten by a second click
    again = await _json(jp_fetch, "lessons", "02-monte-carlo-pi.ipynb", "copy", method="POST")
    assert again["copy"] == copied["copy"] and target.read_text() == "{}"
    assert (await _json(jp_fetch, "lessons"))[2]["copy"] == copied["copy"]
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await jp_fetch("raiden-lab", "lessons", "42-nope.ipynb", "copy", method="POST", body=b"")
    assert (
        info.value.code == 404 and "no lesson named '42-nope.ipynb'" in json.loads(info.value.response.body)["message"]
    )


async def test_clusters_and_inventory_of_a_stopped_default_cluster(jp_fetch) -> None:
    clusters = await _json(jp_fetch, "clusters")
    assert [c["name"] for c in clusters] == ["local"]
    assert clusters[0]["state"] == "stopped" and clusters[0]["nodes"][0]["host"] == "localhost"
    inventory = await _json(jp_fetch, "inventory")
    assert inventory["ok"] and not inventory["exists"] and inventory["name"] == "local"
    assert await _json(jp_fetch, "clusters", "local", "events") == []


async def test_unknown_cluster_and_node_are_404_with_a_sentence(jp_fetch) -> None:
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await jp_fetch("raiden-lab", "clusters", "nope")
    assert info.value.code == 404
    assert "no cluster named 'nope'" in json.loads(info.value.response.body)["message"]
    assert "Traceback" not in info.value.response.body.decode()
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await jp_fetch("raiden-lab", "clusters", "local", "nodes", "pi9", "restart", method="POST", body=b"")
    assert info.value.code == 404 and "has no node 'pi9'" in json.loads(info.value.response.body)["message"]


async def test_a_bad_inventory_is_reported_not_raised(jp_fetch, jp_root_dir) -> None:
    (jp_root_dir / "raiden.toml").write_text('[cluster]\nname = "a"\n[[nodes]]\nhost = "localhost"\nengins = 2\n')
    inventory = await _json(jp_fetch, "inventory")
    assert not inventory["ok"]
    assert inventory["error"].endswith("raiden.toml:5: unknown key 'engins' in [[nodes]]; did you mean 'engines'?")


MODELS_TS = Path(__file__).resolve().parent.parent / "extension" / "src" / "models.ts"


def ts_interfaces() -> dict[str, set[str]]:
    """The field names of each interface in the extension's models.ts."""
    found = {}
    for name, body in re.findall(r"export interface (\w+) \{\n(.*?)\n\}", MODELS_TS.read_text(), re.S):
        found[name] = {m for m in re.findall(r"^  (\w+)\??:", body, re.M)}
    return found


def assert_mirrors(interface: str, model: dict) -> None:
    assert set(model) == ts_interfaces()[interface], f"models.ts {interface} differs from the server's JSON"


async def test_start_status_restart_stop_through_rest(jp_fetch) -> None:
    try:
        started = await _json(jp_fetch, "clusters", "local", "start", method="POST", request_timeout=300)
        assert started["ok"], started
        assert started["cluster"]["state"] == "running"
        assert started["cluster"]["engines"]["alive"] == os.cpu_count()
        model = await _json(jp_fetch, "clusters", "local")
        assert model["nodes"][0]["state"] == "up" and model["controller"]["pid"]
        # the TypeScript interfaces mirror what the server sends, key for key
        deadline = time.monotonic() + 30
        while model["nodes"][0]["sample"] is None and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            model = await _json(jp_fetch, "clusters", "local")
        assert_mirrors("ICommandResult", started)
        assert_mirrors("ICluster", model)
        assert_mirrors("INode", model["nodes"][0])
        assert_mirrors("IEngine", model["nodes"][0]["engines"][0])
        assert_mirrors("ISample", model["nodes"][0]["sample"])
        assert_mirrors("IEvent", (await _json(jp_fetch, "clusters", "local", "events"))[0])
        assert_mirrors("ILesson", (await _json(jp_fetch, "lessons"))[0])
        view = await _json(jp_fetch, "view", params={"cluster": "local", "events": "3"})
        assert_mirrors("IView", view)
        assert view["cluster"]["name"] == "local" and len(view["events"]) == 3 and "local" in view["clusters"]
        # the task stream: a map run from a script shows there, a lane per engine, within the flush's second
        mapped = subprocess.run(
            [sys.executable, "-c", "import raiden_lab\nc = raiden_lab.connect()\n"
             "def f(x):\n    import time; time.sleep(0.01); print('did', x); return x\n"
             "assert c.map(f, range(40)) == list(range(40))"],
            env=os.environ, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert mapped.returncode == 0, mapped.stderr
        stream = await _json(jp_fetch, "clusters", "local", "tasks", params={"seconds": "120"})
        assert_mirrors("IStream", stream)
        assert_mirrors("IStreamTask", stream["tasks"][0])
        assert_mirrors("IStreamNode", stream["nodes"][0])
        assert sum(t["items"] for t in stream["tasks"] if t["function"] == "f") == 40
        assert sorted(t["said"] for t in stream["tasks"] if t["function"] == "f") == sorted(
            f"did {x}\n" for x in range(40)
        )
        assert {t["engine"] for t in stream["tasks"]} <= set(stream["nodes"][0]["engines"])
        assert (await jp_fetch("raiden-lab", "clusters", "local", "tasks", params={"seconds": "x"},
                               raise_error=False)).code == 400  # fmt: skip
        restarted = await _json(
            jp_fetch, "clusters", "local", "nodes", "localhost", "restart", method="POST", request_timeout=300
        )
        assert restarted["ok"], restarted
        kinds = [e["kind"] for e in await _json(jp_fetch, "clusters", "local", "events")]
        assert "cluster-running" in kinds and "node-restarting" in kinds
        stopped = await _json(jp_fetch, "clusters", "local", "stop", method="POST", request_timeout=300)
        assert stopped["ok"] and stopped["cluster"]["state"] == "stopped"
    finally:  # a failed assertion must not leave a cluster running
        await _json(jp_fetch, "clusters", "local", "stop", method="POST", request_timeout=300)


async def test_power_off_and_on_through_rest(jp_fetch, jp_root_dir) -> None:
    hooks = power_switch.hook_lines(power_switch.local_switch(jp_root_dir)[0])
    (jp_root_dir / "raiden.toml").write_text(
        f'[cluster]\nname = "powered"\n{hooks}\n\n[[nodes]]\nhost = "localhost"\nengines = 2\n'
    )
    try:
        started = await _json(jp_fetch, "clusters", "powered", "start", method="POST", request_timeout=300)
        assert started["ok"], started
        assert started["cluster"]["nodes"][0]["power"]["hooks"] == ["on", "off", "status"]
        off = await _json(
            jp_fetch, "clusters", "powered", "nodes", "localhost", "power", "off", method="POST", request_timeout=300
        )
        assert off["ok"] and off["output"] == "localhost: off", off
        node = off["cluster"]["nodes"][0]
        assert node["state"] == "off" and node["power"]["state"] == "off" and off["cluster"]["engines"]["alive"] == 0
        on = await _json(
            jp_fetch, "clusters", "powered", "nodes", "localhost", "power", "on", method="POST", request_timeout=300
        )
        assert on["ok"] and on["cluster"]["engines"]["alive"] == 2, on
        idle = await _json(jp_fetch, "clusters", "powered", "interrupt", method="POST", request_timeout=60)
        assert idle["ok"] and idle["output"] == "no engine was busy", idle
        with pytest.raises(tornado.httpclient.HTTPClientError) as unknown:
            await jp_fetch("raiden-lab", "clusters", "powered", "nodes", "pi9", "power", "on", method="POST", body=b"")
        assert unknown.value.code == 404
    finally:
        await _json(jp_fetch, "clusters", "powered", "stop", method="POST", request_timeout=300)


async def test_the_teachers_view_carries_the_class_grid_and_its_csv(jp_fetch, tmp_path) -> None:
    """While a class of the cluster runs, the sidebar's one poll brings its grid; the CSV downloads."""
    socket = tmp_path / "class" / "c.sock"
    started = subprocess.run(
        [sys.executable, "-m", "raiden_lab", "class", "start", "--open", "--socket", str(socket)],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    try:
        assert (await _json(jp_fetch, "view", params={"cluster": "local", "events": "0"}))["progress"]["students"] == []
        assert classroom.ask(str(socket), {"op": "report", "exercise": "02.pi", "passed": True})["ok"]
        view = await _json(jp_fetch, "view", params={"cluster": "local", "events": "0"})
        assert_mirrors("IView", view)
        assert_mirrors("IProgress", view["progress"])
        [student] = view["progress"]["students"]
        assert_mirrors("IStudent", student)
        assert student["results"]["02.pi"] == "passed" and student["passed"] == 1
        response = await jp_fetch("raiden-lab", "clusters", "local", "class.csv")
        assert response.headers["Content-Type"].startswith("text/csv")
        lines = response.body.decode().splitlines()
        assert lines[0].startswith("student,00.engines,") and lines[1].startswith(f"{student['user']},")
    finally:
        subprocess.run([sys.executable, "-m", "raiden_lab", "class", "stop"], capture_output=True)
    assert (await _json(jp_fetch, "view", params={"cluster": "local", "events": "0"}))["progress"] is None
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await jp_fetch("raiden-lab", "clusters", "local", "class.csv")
    assert info.value.code == 404 and "no class of cluster 'local'" in json.loads(info.value.response.body)["message"]
