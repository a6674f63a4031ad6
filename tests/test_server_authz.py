"""Authorization of the REST routes under a custom Authorizer: a collaborator who may watch, not act."""

from __future__ import annotations

import json

import pytest
import tornado.httpclient
from jupyter_server.auth.authorizer import Authorizer

from raiden_lab.server.handlers import ROUTES, BaseHandler

pytest_plugins = ["pytest_jupyter.jupyter_server"]


class ReadOnlyRaiden(Authorizer):
    """May read everything; may not write to the ``raiden`` resource (start, stop, restart, copy)."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return not (resource == "raiden" and action != "read")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"raiden_lab": True}, "authorizer_class": ReadOnlyRaiden}}


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RAIDEN_HOME", str(tmp_path / "raiden-home"))


async def test_a_read_only_collaborator_sees_clusters_but_cannot_start_or_stop_them(jp_fetch) -> None:
    view = json.loads((await jp_fetch("raiden-lab", "view")).body)
    assert view["clusters"] == ["local"] and view["cluster"]["name"] == "local"
    writes = [p for p, h in ROUTES if "post" in h.__dict__]
    assert writes  # every POST route is refused, GET routes are not
    for path in writes:
        path = (
            path.replace("(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,63})", "local")
            .replace("(?P<host>[A-Za-z0-9.:_-]+)", "localhost")
            .replace("(?P<user>[A-Za-z_][A-Za-z0-9_.-]{0,31})", "alice")
            .replace("(?P<verb>start|stop)", "start")
            .replace("(?P<verb>take|end)", "take")
            .replace("(?P<action>on|off|cycle|status)", "off")
            .replace(r"(?P<file>[0-9]{2}-[a-z0-9-]{1,64}\.ipynb)", "00-tour.ipynb")
        )
        with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
            await jp_fetch("raiden-lab", *path.split("/"), method="POST", body=b"")
        assert refused.value.code == 403, path
    for path in ("clusters", "clusters/local", "inventory", "lessons", "clusters/local/events"):
        assert (await jp_fetch("raiden-lab", *path.split("/"))).code == 200


def test_an_empty_sentence_is_still_a_4xx_with_a_message() -> None:
    sent = {}

    class Handler:
        set_status = staticmethod(lambda code: sent.update(code=code))
        set_header = staticmethod(lambda *_: None)
        finish = staticmethod(lambda body: sent.update(body=json.loads(body)))

    BaseHandler.refuse(Handler(), 409, "")
    assert sent == {"code": 409, "body": {"message": "refused (409)"}}
    BaseHandler.refuse(Handler(), 409, "\nsecond line only")
    assert sent["body"] == {"message": "second line only"}
