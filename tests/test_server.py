"""The server extension through a real Jupyter server that refuses unauthenticated requests."""

from __future__ import annotations

import json
import os

import pytest
import tornado.httpclient

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


async def test_every_route_refuses_an_unauthenticated_request(jp_base_url, jp_http_port, jp_server_config,
                                                              jp_fetch) -> None:
    # the server is up (jp_fetch starts it); now ask without the token
    await jp_fetch("raiden-lab", "inventory")
    client = tornado.httpclient.AsyncHTTPClient()
    paths = {"clusters": "GET", "clusters/local": "GET", "clusters/local/start": "POST",
             "clusters/local/stop": "POST", "clusters/local/nodes/localhost/restart": "POST",
             "clusters/local/events": "GET", "inventory": "GET"}
    assert len(paths) == len(ROUTES)
    for path, method in paths.items():
        url = f"http://localhost:{jp_http_port}{jp_base_url}raiden-lab/{path}"
        response = await client.fetch(url, method=method, body=b"" if method == "POST" else None, raise_error=False)
        assert response.code == 403, (path, response.code)


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
    assert "no cluster named 'nope'" in info.value.response.reason
    assert "Traceback" not in info.value.response.body.decode()
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await jp_fetch("raiden-lab", "clusters", "local", "nodes", "pi9", "restart", method="POST", body=b"")
    assert info.value.code == 404 and "has no node 'pi9'" in info.value.response.reason


async def test_a_bad_inventory_is_reported_not_raised(jp_fetch, jp_root_dir) -> None:
    (jp_root_dir / "raiden.toml").write_text('[cluster]\nname = "a"\n[[nodes]]\nhost = "localhost"\nengins = 2\n')
    inventory = await _json(jp_fetch, "inventory")
    assert not inventory["ok"]
    assert inventory["error"].endswith("raiden.toml:5: unknown key 'engins' in [[nodes]]; did you mean 'engines'?")


async def test_start_status_restart_stop_through_rest(jp_fetch) -> None:
    started = await _json(jp_fetch, "clusters", "local", "start", method="POST", request_timeout=300)
    assert started["ok"], started
    assert started["cluster"]["state"] == "running"
    assert started["cluster"]["engines"]["alive"] == os.cpu_count()
    model = await _json(jp_fetch, "clusters", "local")
    assert model["nodes"][0]["state"] == "up" and model["controller"]["pid"]
    restarted = await _json(jp_fetch, "clusters", "local", "nodes", "localhost", "restart", method="POST",
                            request_timeout=300)
    assert restarted["ok"], restarted
    kinds = [e["kind"] for e in await _json(jp_fetch, "clusters", "local", "events")]
    assert "cluster-running" in kinds and "node-restarting" in kinds
    stopped = await _json(jp_fetch, "clusters", "local", "stop", method="POST", request_timeout=300)
    assert stopped["ok"] and stopped["cluster"]["state"] == "stopped"
